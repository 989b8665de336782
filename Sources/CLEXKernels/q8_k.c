// Activations for the k-quant kernels: each run of 256 elements of a row becomes one Q8_K block
// (layout in kquant_blocks.h): a Float32 step d = max|x| / 127, the 256 values rounded to the
// nearest multiple of d (ties to even, as ggml's nearest_int) as int8 in −127…127, and the
// int16 sums of each 16 of them, which the kernels use to apply the weights' mins (Q4_K, Q5_K)
// and Q6_K's offset of 32 without touching every element. ggml's quantize_row_q8_K_ref takes
// d = −max/127 with the sign of the largest element; a positive step gives the same magnitudes.
//
// Non-finite input never traps: NaN elements become 0; a block holding ±inf gets d = inf and
// all-zero quants (so its dequantised values are NaN, as any product with inf would be).
#include <math.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include "kernels_internal.h"
#include "kquant_blocks.h"

/// Bytes of one prepared row of `k` elements (a multiple of 256).
size_t clex_q8_k_row_bytes(int64_t k) {
    return (size_t)(k / KQ_ELEMENTS) * Q8K_BYTES;
}

/// Writes the 16 sums of 16 quants of a block.
static void store_bsums(const int8_t *qs, uint8_t *out) {
    for (int g = 0; g < 16; g++) {
        int16_t s = 0;
        for (int i = 0; i < 16; i++) s = (int16_t)(s + qs[16 * g + i]);
        memcpy(out + Q8K_BSUMS + 2 * g, &s, 2);
    }
}

/// Quantises one block of 256 floats into `out` (Q8K_BYTES bytes), scalar.
static void quantize_block_scalar(const float *x, uint8_t *out) {
    float amax = 0;
    for (int i = 0; i < KQ_ELEMENTS; i++) {
        float a = fabsf(x[i]);
        amax = a > amax ? a : amax;  // NaN compares false and is skipped
    }
    float d = amax / 127, id = isfinite(amax) && amax > 0 ? 127 / amax : 0;
    int8_t *qs = (int8_t *)(out + Q8K_QS);
    for (int i = 0; i < KQ_ELEMENTS; i++) {
        float v = isfinite(id) ? x[i] * id : x[i] / d;  // 127 / amax overflows for subnormal amax
        // |v| ≤ 127 for finite x; NaN fails both comparisons and becomes 0
        qs[i] = (int8_t)(v >= -127.5f && v <= 127.5f ? (int)rintf(v) : 0);
    }
    store_bsums(qs, out);
    memcpy(out + Q8K_D, &d, 4);
    memset(out + Q8K_D + 4, 0, Q8K_BYTES - Q8K_D - 4);
}

#if defined(__AVX512F__) && defined(__AVX512BW__)

/// Quantises one block as quantize_block_scalar does, 16 floats a register (the conversion
/// rounds to nearest even, as rintf does; NaN lanes are cleared). Blocks whose largest
/// magnitude is 0, not finite or so small that 127 / amax overflows go the scalar way.
static void quantize_block(const float *x, uint8_t *out) {
    __m512 amax = _mm512_setzero_ps();
    for (int i = 0; i < KQ_ELEMENTS; i += 16) amax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), amax);
    float m = _mm512_reduce_max_ps(amax), id = 127 / m;
    if (!(m > 0 && isfinite(id))) {
        quantize_block_scalar(x, out);
        return;
    }
    __m512 scale = _mm512_set1_ps(id);
    for (int i = 0; i < KQ_ELEMENTS; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), scale);
        __m512i q = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), _mm512_cvtps_epi32(v));
        _mm_storeu_si128((__m128i *)(out + Q8K_QS + i), _mm512_cvtepi32_epi8(q));
        int16_t s = (int16_t)_mm512_reduce_add_epi32(q);
        memcpy(out + Q8K_BSUMS + i / 8, &s, 2);
    }
    float d = m / 127;
    memcpy(out + Q8K_D, &d, 4);
    memset(out + Q8K_D + 4, 0, Q8K_BYTES - Q8K_D - 4);
}

#else

/// Quantises one block of 256 floats into `out` (Q8K_BYTES bytes).
static void quantize_block(const float *x, uint8_t *out) { quantize_block_scalar(x, out); }

#endif

/// Quantises `tokens` rows of `k` floats into consecutive Q8_K rows.
void clex_q8_k_prepare(const float *x, int64_t tokens, int64_t k, void *xq) {
    uint8_t *out = xq;
    int64_t blocks = k / KQ_ELEMENTS;
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t b = 0; b < blocks; b++)
            quantize_block(x + t * k + b * KQ_ELEMENTS, out + (t * blocks + b) * Q8K_BYTES);
}

/// The values the kernels multiply by, d·q, for `tokens` prepared rows.
void clex_q8_k_to_float(const void *xq, int64_t tokens, int64_t k, float *out) {
    const uint8_t *in = xq;
    int64_t blocks = tokens * (k / KQ_ELEMENTS);
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *blk = in + b * Q8K_BYTES;
        float d = kq_f32(blk + Q8K_D);
        for (int i = 0; i < KQ_ELEMENTS; i++) out[b * KQ_ELEMENTS + i] = d * (float)(int8_t)blk[Q8K_QS + i];
    }
}
