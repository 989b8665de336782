// Matrix kernels over weights in their stored element type (ggml's block layouts, read where
// they lie: a memory-mapped GGUF or safetensors file). C because Swift cannot reach the integer
// dot-product instructions (AVX-512 VNNI `vpdpbusd`, AVX2 `vpmaddubsw`); every kernel has a
// scalar path and is tested against the Swift dequantise-then-Float32 reference.
//
// Types are ggml's ids (`enum ggml_type`): F32 0, F16 1, Q4_0 2, Q4_1 3, Q8_0 8, Q4_K 12,
// Q5_K 13, Q6_K 14, BF16 30. Quantised weights pair with activations quantised to 8 bits in
// blocks (ggml's `vec_dot_type`: Q8_0-like blocks of 32 for Q4_0/Q4_1/Q8_0, Q8_K blocks of 256
// for the k-quants); F32/F16/BF16 weights read Float32 activations unchanged.
#ifndef CLEX_KERNELS_H
#define CLEX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Whether `type` is one the kernels read.
int clex_kernels_support(int type);

/// Bytes one activation row of `k` elements takes once prepared for weights of `type`
/// (`k` a multiple of the type's block size).
size_t clex_activation_row_bytes(int type, int64_t k);

/// Prepares `tokens` rows of x [tokens, k] (row stride k) for weights of `type` into `xq`
/// (tokens × clex_activation_row_bytes bytes): quantised blocks for quantised types, a copy for
/// F32/F16/BF16.
void clex_prepare_activations(int type, const float *x, int64_t tokens, int64_t k, void *xq);

/// The prepared activations back as Float32 [tokens, k] (what the kernels multiply by: the
/// reference for tests).
void clex_activations_to_float(int type, const void *xq, int64_t tokens, int64_t k, float *out);

/// y[t·ldy + r] = (accumulate ? y[t·ldy + r] : 0) + Σ_j W[r, j]·x[t, j] for r < rows, t < tokens.
///
/// - w: `rows` rows of `k` elements of `type`, row r at w + r·w_row_bytes (ggml block layout)
/// - xq: `tokens` prepared activation rows (clex_prepare_activations), row t at
///   xq + t·clex_activation_row_bytes(type, k)
/// Single-threaded: callers split rows across threads. Works for any tokens ≥ 1 (decoding: 1–8;
/// prefill: hundreds, tiled inside for cache reuse).
void clex_matmul(int type, const void *w, size_t w_row_bytes, int64_t rows, const void *xq, int64_t tokens,
                 int64_t k, float *y, int64_t ldy, int accumulate);

/// Which instruction path the kernels were built with ("avx512vnni", "avx2", "scalar").
const char *clex_kernels_path(void);

#ifdef __cplusplus
}
#endif

#endif
