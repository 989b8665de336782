// clex_kernels.h's entry points: one switch on the type id, to the per-type files.
#include <string.h>
#include "kernels_internal.h"

enum { F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 8, Q4_K = 12, Q5_K = 13, Q6_K = 14, BF16 = 30 };

int clex_kernels_support(int type) {
    switch (type) {
    case F32: case F16: case BF16: case Q4_0: case Q4_1: case Q8_0: case Q4_K: case Q5_K: case Q6_K: return 1;
    default: return 0;
    }
}

size_t clex_activation_row_bytes(int type, int64_t k) {
    switch (type) {
    case Q4_0: case Q4_1: case Q8_0: return clex_q8_32_row_bytes(k);
    case Q4_K: case Q5_K: case Q6_K: return clex_q8_k_row_bytes(k);
    default: return (size_t)k * sizeof(float);
    }
}

void clex_prepare_activations(int type, const float *x, int64_t tokens, int64_t k, void *xq) {
    switch (type) {
    case Q4_0: case Q4_1: case Q8_0: clex_q8_32_prepare(x, tokens, k, xq); break;
    case Q4_K: case Q5_K: case Q6_K: clex_q8_k_prepare(x, tokens, k, xq); break;
    default: memcpy(xq, x, (size_t)(tokens * k) * sizeof(float)); break;
    }
}

void clex_activations_to_float(int type, const void *xq, int64_t tokens, int64_t k, float *out) {
    switch (type) {
    case Q4_0: case Q4_1: case Q8_0: clex_q8_32_to_float(xq, tokens, k, out); break;
    case Q4_K: case Q5_K: case Q6_K: clex_q8_k_to_float(xq, tokens, k, out); break;
    default: memcpy(out, xq, (size_t)(tokens * k) * sizeof(float)); break;
    }
}

void clex_matmul(int type, const void *w, size_t w_row_bytes, int64_t rows, const void *xq, int64_t tokens,
                 int64_t k, float *y, int64_t ldy, int accumulate) {
    switch (type) {
    case F32: clex_matmul_f32(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case F16: clex_matmul_f16(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case BF16: clex_matmul_bf16(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case Q4_0: clex_matmul_q4_0(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case Q4_1: clex_matmul_q4_1(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case Q8_0: clex_matmul_q8_0(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case Q4_K: clex_matmul_q4_k(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case Q5_K: clex_matmul_q5_k(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    case Q6_K: clex_matmul_q6_k(w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); break;
    default: break;
    }
}

const char *clex_kernels_path(void) {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    return "avx512vnni";
#elif defined(__AVX2__)
    return "avx2";
#else
    return "scalar";
#endif
}
