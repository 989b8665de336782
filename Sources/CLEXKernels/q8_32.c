// Activations for weights in blocks of 32 (Q4_0, Q4_1, Q8_0): each block of 32 elements of a
// row becomes int8 values q = round(x/d) (ties to even) with d = amax/127, a Float32 scale d and
// the integer sum Σq (layout, in interleaved block pairs, in block32.h). The sum lets the integer kernels multiply by unsigned
// weight bytes and account for the weights' offset afterwards: Σ (n − c)·q = Σ n·q − c·Σq (Q4_0's
// nibbles with c = 8, Q8_0's bytes moved up by c = 128), and Q4_1's min m adds m·d·Σq.
//
// The AVX2 path (also taken on AVX-512 machines: preparation is a small share of any matmul)
// rounds with vcvtps2dq under the default rounding mode, the scalar path with nearbyintf: both
// give the same bytes.
#include <math.h>
#include <stdlib.h>
#include "block32.h"
#if defined(__AVX2__)
#include <immintrin.h>
#endif

/// One growing buffer per thread, never freed while the thread lives (block32.h); NULL when
/// memory runs out.
void *clex_block32_scratch(size_t bytes) {
    static _Thread_local void *buffer;
    static _Thread_local size_t capacity;
    if (bytes > capacity) {
        free(buffer);
        capacity = (bytes + 4095) / 4096 * 4096;
        buffer = aligned_alloc(64, capacity);
        if (!buffer) capacity = 0;
    }
    return buffer;
}

/// k bytes of values, then nb scales and nb sums (block32.h).
size_t clex_q8_32_row_bytes(int64_t k) { return (size_t)k + 8 * (size_t)(k / 32); }

#if defined(__AVX2__)
/// Quantises one block of 32 floats: returns its bytes in element order, Σq in *sum, the scale
/// in *scale.
static __m256i quantize_block(const float *x, int32_t *sum, float *scale) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], m = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float amax = _mm_cvtss_f32(m4);
    *scale = amax / 127;
    __m256 inv = _mm256_set1_ps(amax > 0 ? 127 / amax : 0);
    __m256i i32[4];
    for (int i = 0; i < 4; i++) i32[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], inv));
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    *sum = _mm_cvtsi128_si32(s4);
    // the packs work within 128-bit lanes: the dwords (4 elements each) come out as 0 2 4 6 1 3 5 7
    __m256i w = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
    return _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// Quantises one row of k elements into the layout of block32.h.
static void prepare_row(const float *x, int64_t k, char *row) {
    const int64_t nb = k / 32;
    float *d = (float *)(row + k);
    int32_t *s = (int32_t *)(d + nb);
    for (int64_t b = 0; b < nb; b += 2) {
        __m256i a = quantize_block(x + 32 * b, s + b, d + b);
        if (b + 1 == nb) {
            _mm256_storeu_si256((__m256i *)(row + 32 * b), a);
            break;
        }
        __m256i c = quantize_block(x + 32 * b + 32, s + b + 1, d + b + 1);
        // interleave the blocks' dwords: A0 B0 A1 B1 … within each 128-bit lane, then lanes
        __m256i lo = _mm256_unpacklo_epi32(a, c), hi = _mm256_unpackhi_epi32(a, c);
        _mm256_storeu_si256((__m256i *)(row + 32 * b), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(row + 32 * b + 32), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}
#else
/// Quantises one row of k elements into the layout of block32.h.
static void prepare_row(const float *x, int64_t k, char *row) {
    const int64_t nb = k / 32;
    float *d = (float *)(row + k);
    int32_t *s = (int32_t *)(d + nb);
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        for (int e = 0; e < 32; e++) amax = fmaxf(amax, fabsf(xb[e]));
        d[b] = amax / 127;
        float inv = amax > 0 ? 127 / amax : 0;
        int32_t sum = 0;
        for (int e = 0; e < 32; e++) {
            int v = (int)nearbyintf(xb[e] * inv);
            row[q8_32_offset(b, e, nb)] = (int8_t)v;
            sum += v;
        }
        s[b] = sum;
    }
}
#endif

/// Quantises `tokens` rows of k floats, one prepared row after another.
void clex_q8_32_prepare(const float *x, int64_t tokens, int64_t k, void *xq) {
    size_t bytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++) prepare_row(x + t * k, k, (char *)xq + t * bytes);
}

/// d·q for every element, in element order: exactly what the kernels multiply by.
void clex_q8_32_to_float(const void *xq, int64_t tokens, int64_t k, float *out) {
    size_t bytes = clex_q8_32_row_bytes(k);
    const int64_t nb = k / 32;
    for (int64_t t = 0; t < tokens; t++) {
        const void *row = (const char *)xq + t * bytes;
        const int8_t *q = q8_32_values(row);
        const float *d = q8_32_scales(row, k);
        for (int64_t b = 0; b < nb; b++)
            for (int e = 0; e < 32; e++) out[t * k + 32 * b + e] = d[b] * (float)q[q8_32_offset(b, e, nb)];
    }
}
