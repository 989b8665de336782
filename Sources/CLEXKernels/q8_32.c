// Activations for weights in blocks of 32 (Q4_0, Q4_1, Q8_0): each block of 32 elements of a
// row becomes int8 values q = round(x/d) (ties to even) with d = amax/127, a Float32 scale d and
// the integer sum Σq (layout in block32.h). The sum lets the integer kernels multiply by unsigned
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

void *clex_block32_scratch(size_t bytes) {
    static _Thread_local void *buffer;
    static _Thread_local size_t capacity;
    if (bytes > capacity) {
        free(buffer);
        capacity = (bytes + 4095) / 4096 * 4096;
        buffer = aligned_alloc(64, capacity);
    }
    return buffer;
}

size_t clex_q8_32_row_bytes(int64_t k) { return (size_t)k + 8 * (size_t)(k / 32); }

#if defined(__AVX2__)
/// Quantises one block of 32 floats into q; returns Σq and stores the scale in *scale.
static int32_t quantize_block(const float *x, int8_t *q, float *scale) {
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
    // the packs work within 128-bit lanes: the dwords (4 elements each) come out as 0 2 4 6 1 3 5 7
    __m256i w = _mm256_packs_epi16(_mm256_packs_epi32(i32[0], i32[1]), _mm256_packs_epi32(i32[2], i32[3]));
    w = _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, w);
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    return _mm_cvtsi128_si32(s4);
}
#else
/// Quantises one block of 32 floats into q; returns Σq and stores the scale in *scale.
static int32_t quantize_block(const float *x, int8_t *q, float *scale) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    *scale = amax / 127;
    float inv = amax > 0 ? 127 / amax : 0;
    int32_t sum = 0;
    for (int j = 0; j < 32; j++) {
        int v = (int)nearbyintf(x[j] * inv);
        q[j] = (int8_t)v;
        sum += v;
    }
    return sum;
}
#endif

void clex_q8_32_prepare(const float *x, int64_t tokens, int64_t k, void *xq) {
    size_t bytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++) {
        char *row = (char *)xq + t * bytes;
        float *d = (float *)(row + k);
        int32_t *s = (int32_t *)(d + k / 32);
        for (int64_t b = 0; b < k / 32; b++) {
            float scale;
            int32_t sum = quantize_block(x + t * k + 32 * b, (int8_t *)row + 32 * b, &scale);
            memcpy(d + b, &scale, 4);
            memcpy(s + b, &sum, 4);
        }
    }
}

void clex_q8_32_to_float(const void *xq, int64_t tokens, int64_t k, float *out) {
    size_t bytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++) {
        const void *row = (const char *)xq + t * bytes;
        const int8_t *q = q8_32_values(row);
        const float *d = q8_32_scales(row, k);
        for (int64_t j = 0; j < k; j++) out[t * k + j] = d[j / 32] * (float)q[j];
    }
}
