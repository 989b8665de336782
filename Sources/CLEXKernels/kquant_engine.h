// The decoding engine of the k-quant kernels (q4_k.c, q5_k.c, q6_k.c), for the AVX-512 VNNI
// and AVX2 paths: each type supplies one function that unpacks a super-block of 256 weights into
// a `kq_block` in registers; the dot products with Q8_K activations (kquant_blocks.h), scaling,
// and the cache-blocked loops are here, written once. (Prefill on AVX-512 uses kquant_gemm.h.)
//
// A super-block's contribution to y[t, r] is
//   d_w·d_x·Σ_pairs scale·(q·a + q'·a') − Σ_g offset_g·d_x·bsum_g
// where the weights' unsigned quants q (0…63) multiply the activations' int8 a with
// `vpmaddubsw` (pairs summed into int16, never saturating: 2·63·127 < 2^15) and the pair sums
// are multiplied by the per-sub-block integer scales and accumulated in int32 (`vpdpwssd` on
// AVX-512 VNNI, `vpmaddwd` + `vpaddd` on AVX2); the offset term carries Q4_K/Q5_K's mins
// (offset = dmin·m) in Float32. Q6_K's offset of 32 is integer and folded into the int32 sum
// through `offset_words` (exact).
//
// Each super-block is unpacked once and multiplied by up to 8 tokens (all of them when decoding,
// so the weights are read once, straight from memory). With more tokens, a slice of the row's
// super-blocks is taken at a time so that a group's activations stay in L1 while a block of rows'
// weights for that slice stays in L2 across the token groups.
#ifndef CLEX_KQUANT_ENGINE_H
#define CLEX_KQUANT_ENGINE_H

#if (defined(__AVX512VNNI__) && defined(__AVX512BW__)) || (defined(__AVX2__) && defined(__FMA__))

#include <immintrin.h>
#include <stdlib.h>
#include "kernels_internal.h"
#include "kquant_blocks.h"

#define KQ_INLINE static inline __attribute__((always_inline))

/// Cache blocking: activations of a group of 3 to 8 tokens over a slice of KQ_SLICE_ELEMENTS / T
/// elements (≤ 20 KB) stay in L1 while KQ_ROW_BLOCK rows' weights for that slice stay in L2 and
/// are reused by every token group. One or two tokens take whole rows (measured faster: the
/// weights then stream contiguously, and 2 tokens' activations of a 11008-long row still mostly
/// stay in L1).
enum { KQ_GROUP = 8, KQ_SLICE_ELEMENTS = 16384, KQ_ROW_BLOCK = 128 };

/// How far ahead of its use each weight super-block is prefetched, in bytes of the order the rows'
/// slices are read in (a sliced row is not contiguous, so the hardware prefetchers lose the
/// stream at each row: measured 2–3× slower without this when weights come from memory).
enum { KQ_PREFETCH_BYTES = 4096 };

/// Prefetches the `bytes` at `p` into L1.
KQ_INLINE void kq_prefetch(const uint8_t *p, int bytes) {
    for (int line = 0; line < bytes; line += 64) _mm_prefetch((const char *)p + line, _MM_HINT_T0);
}

/// Writes (or adds) `value` to y[t·ldy + r].
KQ_INLINE void kq_store(float *y, int64_t ldy, int64_t t, int64_t r, float value, int accumulate) {
    float *out = y + t * ldy + r;
    *out = accumulate ? *out + value : value;
}

/// The activations' per-group sums times their step, d_x·bsum_g as 16 floats per Q8_K block,
/// for `tokens` rows of `blocks` blocks: the factor the weights' offsets multiply. `table` has
/// room for tokens·blocks·16 floats.
KQ_INLINE void kq_bsum_table(const uint8_t *xq, int64_t tokens, int64_t blocks, float *table) {
    for (int64_t i = 0; i < tokens * blocks; i++) {
        const uint8_t *x = xq + i * Q8K_BYTES;
        float d = kq_f32(x + Q8K_D);
        for (int g = 0; g < 16; g++) table[16 * i + g] = d * (float)kq_i16(x + Q8K_BSUMS + 2 * g);
    }
}

/// The activations' steps d_x regrouped per super-block: table[(group·blocks + b)·8 + t] for
/// token t of each group of KQ_GROUP (unused places 0), so that one multiplication gives d_w·d_x
/// for all of a group's tokens.
KQ_INLINE void kq_step_table(const uint8_t *xq, int64_t tokens, int64_t blocks, float *table) {
    int64_t groups = (tokens + KQ_GROUP - 1) / KQ_GROUP;
    memset(table, 0, sizeof(float) * KQ_GROUP * (size_t)(groups * blocks));
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t b = 0; b < blocks; b++)
            table[((t / KQ_GROUP) * blocks + b) * KQ_GROUP + t % KQ_GROUP] =
                kq_f32(xq + (t * blocks + b) * Q8K_BYTES + Q8K_D);
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

/// One super-block of one weight row, unpacked for the dot products (held in registers).
typedef struct {
    __m512i q[4];          // chunk c: the unsigned quants of elements 64c…64c+63, one per byte
    __m512i scale[4];      // chunk c: the int16 scale of each of vpmaddubsw's 32 pair sums
    __m512i offset_words;  // Q6_K: −32·scale_g as 16 int16 (words 16… zero), dotted with bsums
    __m512 offset;         // Q4_K/Q5_K: dmin·m_j for each group of 16 (g → j = g/2), in Float32
    float d;               // the super-block scale d_w
} kq_block;

/// Unpacks the super-block at `w` (ggml layout) into `u`.
typedef void (*kq_unpack_fn)(const uint8_t *w, kq_block *u);

/// Word indices that broadcast word `a` over words 0…15 and word `b` over words 16…31.
KQ_INLINE __m512i kq_two_words(int a, int b) {
    return _mm512_inserti64x4(_mm512_set1_epi16((short)a), _mm256_set1_epi16((short)b), 1);
}

/// Word indices that broadcast words a, b, c, d over words 0–7, 8–15, 16–23, 24–31.
KQ_INLINE __m512i kq_four_words(int a, int b, int c, int d) {
    __m256i lo = _mm256_inserti128_si256(_mm256_set1_epi16((short)a), _mm_set1_epi16((short)b), 1);
    __m256i hi = _mm256_inserti128_si256(_mm256_set1_epi16((short)c), _mm_set1_epi16((short)d), 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/// Sum of the 16 lanes.
KQ_INLINE float kq_sum(__m512 v) { return _mm512_reduce_add_ps(v); }

/// One super-block of one row times one token's Q8_K block: the int32 partial sums (16 lanes).
KQ_INLINE __m512i kq_dot_int(const kq_block *u, const uint8_t *x, int int_offset) {
    __m512i acc = _mm512_setzero_si512();
    for (int c = 0; c < 4; c++) {
        __m512i pairs = _mm512_maddubs_epi16(u->q[c], _mm512_loadu_si512(x + Q8K_QS + 64 * c));
        acc = _mm512_dpwssd_epi32(acc, pairs, u->scale[c]);
    }
    if (int_offset) acc = _mm512_dpwssd_epi32(acc, u->offset_words, _mm512_loadu_si512(x + Q8K_BSUMS));
    return acc;
}

/// Rows × T tokens over super-blocks [b0, b0 + nb): y[t·ldy + r] = (assign ? 0 : y[t·ldy + r]) + Σ.
/// Each super-block is unpacked once in registers and multiplied by all T tokens, whose
/// activations (T·nb Q8_K blocks, chosen by the caller to fit L1) are reused by every row.
/// `xq` and `bsums` point at the group's first token; token t's row is x_row bytes further;
/// `steps` at the group's kq_step_table entries.
KQ_INLINE void kq_rows(kq_unpack_fn unpack, int int_offset, int block_bytes, int T, const uint8_t *w,
                       size_t w_row_bytes, int64_t rows, const uint8_t *xq, size_t x_row, const float *bsums,
                       const float *steps, int64_t blocks, int64_t b0, int64_t nb, float *y, int64_t ldy, int assign) {
    int64_t ahead = KQ_PREFETCH_BYTES / block_bytes;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = w + (size_t)r * w_row_bytes;
        int64_t ahead_row = ahead / nb, ahead_b = ahead % nb;
        __m512 f[8];
        for (int t = 0; t < T; t++) f[t] = _mm512_setzero_ps();
        for (int64_t b = b0; b < b0 + nb; b++) {
            kq_prefetch(wr + (size_t)ahead_row * w_row_bytes + (b0 + ahead_b) * block_bytes, block_bytes);
            if (++ahead_b == nb) {
                ahead_b = 0;
                ahead_row++;
            }
            kq_block u;
            unpack(wr + b * block_bytes, &u);
            float dd[8] __attribute__((aligned(32)));
            _mm256_store_ps(dd, _mm256_mul_ps(_mm256_set1_ps(u.d), _mm256_loadu_ps(steps + b * KQ_GROUP)));
            for (int t = 0; t < T; t++) {
                const uint8_t *x = xq + t * x_row + b * Q8K_BYTES;
                __m512 sum = _mm512_cvtepi32_ps(kq_dot_int(&u, x, int_offset));
                f[t] = _mm512_fmadd_ps(sum, _mm512_set1_ps(dd[t]), f[t]);
                if (!int_offset)
                    f[t] = _mm512_fnmadd_ps(u.offset, _mm512_loadu_ps(bsums + (t * blocks + b) * 16), f[t]);
            }
        }
        for (int t = 0; t < T; t++) kq_store(y, ldy, t, r, kq_sum(f[t]), !assign);
    }
}

#else  // AVX2 and FMA

/// One super-block of one weight row, unpacked for the dot products (AVX2: 32 elements a register).
typedef struct {
    __m256i q[8];          // chunk j: the unsigned quants of elements 32j…32j+31, one per byte
    __m256i scale[8];      // chunk j: the int16 scale of each of vpmaddubsw's 16 pair sums
    __m256i offset_words;  // Q6_K: −32·scale_g as 16 int16, dotted with bsums
    __m256 offset[2];      // Q4_K/Q5_K: dmin·m_j for groups of 16 0–7 and 8–15 (g → j = g/2)
    float d;               // the super-block scale d_w
} kq_block;

/// Unpacks the super-block at `w` (ggml layout) into `u`.
typedef void (*kq_unpack_fn)(const uint8_t *w, kq_block *u);

/// Sum of the 8 lanes.
KQ_INLINE float kq_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/// One super-block of one row times one token's Q8_K block: the int32 partial sums (8 lanes).
KQ_INLINE __m256i kq_dot_int(const kq_block *u, const uint8_t *x, int int_offset) {
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        __m256i pairs = _mm256_maddubs_epi16(u->q[j], _mm256_loadu_si256((const __m256i *)(x + Q8K_QS + 32 * j)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, u->scale[j]));
    }
    if (int_offset) {
        __m256i bsums = _mm256_loadu_si256((const __m256i *)(x + Q8K_BSUMS));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(u->offset_words, bsums));
    }
    return acc;
}

/// As the AVX-512 kq_rows, with 8-lane registers.
KQ_INLINE void kq_rows(kq_unpack_fn unpack, int int_offset, int block_bytes, int T, const uint8_t *w,
                       size_t w_row_bytes, int64_t rows, const uint8_t *xq, size_t x_row, const float *bsums,
                       const float *steps, int64_t blocks, int64_t b0, int64_t nb, float *y, int64_t ldy, int assign) {
    int64_t ahead = KQ_PREFETCH_BYTES / block_bytes;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = w + (size_t)r * w_row_bytes;
        int64_t ahead_row = ahead / nb, ahead_b = ahead % nb;
        __m256 f[8];
        for (int t = 0; t < T; t++) f[t] = _mm256_setzero_ps();
        for (int64_t b = b0; b < b0 + nb; b++) {
            kq_prefetch(wr + (size_t)ahead_row * w_row_bytes + (b0 + ahead_b) * block_bytes, block_bytes);
            if (++ahead_b == nb) {
                ahead_b = 0;
                ahead_row++;
            }
            kq_block u;
            unpack(wr + b * block_bytes, &u);
            float dd[8] __attribute__((aligned(32)));
            _mm256_store_ps(dd, _mm256_mul_ps(_mm256_set1_ps(u.d), _mm256_loadu_ps(steps + b * KQ_GROUP)));
            for (int t = 0; t < T; t++) {
                const uint8_t *x = xq + t * x_row + b * Q8K_BYTES;
                __m256 sum = _mm256_cvtepi32_ps(kq_dot_int(&u, x, int_offset));
                f[t] = _mm256_fmadd_ps(sum, _mm256_set1_ps(dd[t]), f[t]);
                if (!int_offset) {
                    const float *bs = bsums + (t * blocks + b) * 16;
                    f[t] = _mm256_fnmadd_ps(u.offset[0], _mm256_loadu_ps(bs), f[t]);
                    f[t] = _mm256_fnmadd_ps(u.offset[1], _mm256_loadu_ps(bs + 8), f[t]);
                }
            }
        }
        for (int t = 0; t < T; t++) kq_store(y, ldy, t, r, kq_sum(f[t]), !assign);
    }
}

#endif

/// kq_rows for a run-time T in 1…8.
KQ_INLINE void kq_rows_any(kq_unpack_fn unpack, int int_offset, int block_bytes, int T, const uint8_t *w,
                           size_t w_row_bytes, int64_t rows, const uint8_t *xq, size_t x_row, const float *bsums,
                           const float *steps, int64_t blocks, int64_t b0, int64_t nb, float *y, int64_t ldy,
                           int assign) {
    switch (T) {
#define KQ_ROWS_CASE(N) \
    case N: kq_rows(unpack, int_offset, block_bytes, N, w, w_row_bytes, rows, xq, x_row, bsums, steps, blocks, \
                    b0, nb, y, ldy, assign); break;
    KQ_ROWS_CASE(1) KQ_ROWS_CASE(2) KQ_ROWS_CASE(3) KQ_ROWS_CASE(4)
    KQ_ROWS_CASE(5) KQ_ROWS_CASE(6) KQ_ROWS_CASE(7) KQ_ROWS_CASE(8)
#undef KQ_ROWS_CASE
    default: break;
    }
}

/// The k-quant matmul on this engine (CLEX_MATMUL_ARGS; `unpack` and `int_offset` from the type).
KQ_INLINE void kq_matmul(kq_unpack_fn unpack, int int_offset, int block_bytes, const void *w, size_t w_row_bytes,
                         int64_t rows, const void *xq, int64_t tokens, int64_t k, float *y, int64_t ldy,
                         int accumulate) {
    int64_t blocks = k / KQ_ELEMENTS;
    size_t x_row = (size_t)blocks * Q8K_BYTES;
    float *bsums = NULL;
    if (!int_offset) {
        bsums = kq_alloc(sizeof(float) * 16 * (size_t)(tokens * blocks));
        kq_bsum_table(xq, tokens, blocks, bsums);
    }
    float *steps = kq_alloc(sizeof(float) * KQ_GROUP * (size_t)(((tokens + KQ_GROUP - 1) / KQ_GROUP) * blocks));
    kq_step_table(xq, tokens, blocks, steps);
    int64_t group = tokens < KQ_GROUP ? tokens : KQ_GROUP;
    int64_t slice = group <= 2 ? blocks : KQ_SLICE_ELEMENTS / KQ_ELEMENTS / group;
    int64_t row_block = tokens <= KQ_GROUP ? rows : KQ_ROW_BLOCK;
    for (int64_t b0 = 0; b0 < blocks; b0 += slice) {
        int64_t nb = blocks - b0 < slice ? blocks - b0 : slice;
        int assign = b0 == 0 && !accumulate;
        for (int64_t r0 = 0; r0 < rows; r0 += row_block) {
            int64_t nr = rows - r0 < row_block ? rows - r0 : row_block;
            for (int64_t t0 = 0; t0 < tokens; t0 += KQ_GROUP) {
                int T = (int)(tokens - t0 < KQ_GROUP ? tokens - t0 : KQ_GROUP);
                kq_rows_any(unpack, int_offset, block_bytes, T, (const uint8_t *)w + (size_t)r0 * w_row_bytes,
                            w_row_bytes, nr, (const uint8_t *)xq + t0 * x_row, x_row,
                            bsums ? bsums + t0 * blocks * 16 : NULL, steps + (t0 / KQ_GROUP) * blocks * KQ_GROUP,
                            blocks, b0, nb, y + t0 * ldy + r0, ldy, assign);
            }
        }
    }
    free(bsums);
    free(steps);
}

#endif
#endif
