// Per-type entry points behind clex_kernels.h's dispatch (dispatch.c). Each type's file defines
// its activation format, preparation and matmul; the signatures are those of the public API.
#ifndef CLEX_KERNELS_INTERNAL_H
#define CLEX_KERNELS_INTERNAL_H

#include "clex_kernels.h"

// Activations quantised in blocks of 32 (for Q4_0, Q4_1, Q8_0): q8_32.c
size_t clex_q8_32_row_bytes(int64_t k);
void clex_q8_32_prepare(const float *x, int64_t tokens, int64_t k, void *xq);
void clex_q8_32_to_float(const void *xq, int64_t tokens, int64_t k, float *out);

// Activations quantised in blocks of 256 (for the k-quants): q8_k.c
size_t clex_q8_k_row_bytes(int64_t k);
void clex_q8_k_prepare(const float *x, int64_t tokens, int64_t k, void *xq);
void clex_q8_k_to_float(const void *xq, int64_t tokens, int64_t k, float *out);

#define CLEX_MATMUL_ARGS const void *w, size_t w_row_bytes, int64_t rows, const void *xq, int64_t tokens, \
                         int64_t k, float *y, int64_t ldy, int accumulate

void clex_matmul_f32(CLEX_MATMUL_ARGS);   // float_types.c (x: Float32 rows)
void clex_matmul_f16(CLEX_MATMUL_ARGS);
void clex_matmul_bf16(CLEX_MATMUL_ARGS);
void clex_matmul_q4_0(CLEX_MATMUL_ARGS);  // q4_0.c (x: q8_32)
void clex_matmul_q4_1(CLEX_MATMUL_ARGS);  // q4_1.c (x: q8_32)
void clex_matmul_q8_0(CLEX_MATMUL_ARGS);  // q8_0.c (x: q8_32)
void clex_matmul_q4_k(CLEX_MATMUL_ARGS);  // q4_k.c (x: q8_k)
void clex_matmul_q5_k(CLEX_MATMUL_ARGS);  // q5_k.c (x: q8_k)
void clex_matmul_q6_k(CLEX_MATMUL_ARGS);  // q6_k.c (x: q8_k)

#endif
