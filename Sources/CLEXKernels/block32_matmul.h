// The matmul shared by ggml's blocks of 32 (Q4_0, Q4_1, Q8_0) with q8_32 activations. Every
// function takes the weight type as a constant argument and is inlined into q4_0.c, q4_1.c and
// q8_0.c, so each file gets its own specialised copy.
//
// The integer trick: the byte dot-product instructions multiply unsigned bytes by signed bytes
// (AVX-512 VNNI `vpdpbusd`: four products summed into each int32 lane; AVX2 `vpmaddubsw` then
// `vpmaddwd`). Weights become the unsigned operand: Q4_0's and Q4_1's nibbles n ∈ 0…15 as they
// are, Q8_0's bytes moved up by 128 (with VNNI). A Q4_0 block is d·(n − 8), so its dot product
// with a q8_32 block is d·d_x·(Σ n·q − 8·Σq), Q8_0's likewise with 128, where Σq is stored with
// the activations; Q4_1's n·d + m gives d·d_x·Σ n·q + m·d_x·Σq. Without VNNI, Q8_0 multiplies |w|
// by q carrying w's sign instead (a product of 255·127 would overflow `vpmaddubsw`'s int16 pairs).
//
// Two schedules:
// - Few tokens (decoding): each weight row is read once, straight from the weight bytes, and
//   multiplied by up to 4 tokens at a time while it sits in L1; one block's 32 bytes fill a
//   256-bit register, its eight int32 lanes are converted and scaled at once. The per-block
//   scales of eight blocks come in one gather and one fp16 conversion.
// - Many tokens (prefill, VNNI only): 32 rows at a time are unpacked into a tile where each
//   512-bit register holds the same four elements of 16 rows, so one `vpdpbusd` multiplies 16
//   rows by four activation bytes broadcast from one token; a register block of 32 rows × 6
//   tokens keeps 12 integer and 12 float accumulators, and the integer-to-float conversion and
//   scaling happen once per block of 32 elements for 16 rows at a time. The tile (32·k bytes plus
//   scales, L2-resident) is reused by every token.
#ifndef CLEX_BLOCK32_MATMUL_H
#define CLEX_BLOCK32_MATMUL_H

#include "block32.h"
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define B32_VNNI 1
#else
#define B32_VNNI 0
#endif

enum b32_type { B32_Q4_0, B32_Q4_1, B32_Q8_0 };

#define B32_INLINE static inline __attribute__((always_inline))

/// Bytes of one block.
B32_INLINE int b32_block_bytes(enum b32_type type) { return type == B32_Q4_0 ? 18 : type == B32_Q4_1 ? 20 : 34; }

/// Offset of the quantised values within a block.
B32_INLINE int b32_quant_offset(enum b32_type type) { return type == B32_Q4_1 ? 4 : 2; }

/// What the kernels' unsigned weight bytes exceed the weight's integer value by (Q4_1's
/// nibbles count from its min instead, and Q8_0 without VNNI keeps signed bytes).
B32_INLINE int b32_offset(enum b32_type type) {
    return type == B32_Q4_0 ? 8 : type == B32_Q8_0 && B32_VNNI ? 128 : 0;
}

/// Stores v into y (or adds it when accumulating).
B32_INLINE void b32_store(float *y, float v, int accumulate) { *y = accumulate ? *y + v : v; }

#if !defined(__AVX2__)

/// Σ_j W[j]·x[j] for one weight row and one activation row (integer dot products per block).
B32_INLINE float b32_dot_row(enum b32_type type, const uint8_t *w, const void *x, int64_t k) {
    const int bs = b32_block_bytes(type), off = b32_quant_offset(type);
    const int8_t *q = q8_32_values(x);
    const float *dx = q8_32_scales(x, k);
    const int32_t *sx = q8_32_sums(x, k);
    float acc = 0;
    for (int64_t b = 0; b < k / 32; b++, w += bs, q += 32) {
        const uint8_t *qs = w + off;
        int32_t dot = 0;
        if (type == B32_Q8_0) {
            for (int j = 0; j < 32; j++) dot += (int8_t)qs[j] * q[j];
        } else {
            for (int j = 0; j < 16; j++) dot += (qs[j] & 0x0F) * q[j] + (qs[j] >> 4) * q[j + 16];
        }
        dot -= b32_offset(type) * sx[b];
        acc += clex_load_half(w) * dx[b] * (float)dot;
        if (type == B32_Q4_1) acc += clex_load_half(w + 2) * dx[b] * (float)sx[b];
    }
    return acc;
}

/// The matmul on one row and one token at a time.
B32_INLINE void b32_matmul(enum b32_type type, CLEX_MATMUL_ARGS) {
    size_t xbytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t r = 0; r < rows; r++)
            b32_store(&y[t * ldy + r],
                      b32_dot_row(type, (const uint8_t *)w + r * w_row_bytes, (const char *)xq + t * xbytes, k),
                      accumulate);
}

#else

// MARK: - Few tokens: rows straight from the weights, 256 bits a block

/// A block's 32 weights in element order as the unsigned operand of b32_dot (raw signed bytes
/// for Q8_0 without VNNI: b32_dot moves their signs).
B32_INLINE __m256i b32_unpack(enum b32_type type, const uint8_t *block) {
    if (type == B32_Q8_0) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(block + 2));
        return B32_VNNI ? _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80)) : q;
    }
    __m128i qs = _mm_loadu_si128((const __m128i *)(block + b32_quant_offset(type)));
    __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(qs), _mm_srli_epi16(qs, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// Eight int32 lanes summing to Σ_j u[j]·x[j] (u from b32_unpack, x 32 activation bytes).
B32_INLINE __m256i b32_dot(enum b32_type type, __m256i u, const int8_t *x) {
    __m256i xv = _mm256_loadu_si256((const __m256i *)x);
#if B32_VNNI
    (void)type;
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, xv);
#else
    if (type == B32_Q8_0) {
        xv = _mm256_sign_epi8(xv, u);
        u = _mm256_abs_epi8(u);
    }
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, xv), _mm256_set1_epi16(1));
#endif
}

/// The scales d (and Q4_1's mins m) of the n ≤ 8 blocks at w as floats; lanes ≥ n are zero.
B32_INLINE void b32_scales8(enum b32_type type, const uint8_t *w, int n, __m256i valid, __m256 *d, __m256 *m) {
    const int bs = b32_block_bytes(type);
#if defined(__AVX512BW__)
    if (type != B32_Q8_0 && n == 8) {
        // one permute picks the fp16 words out of two 64-byte windows over the group (faster
        // than a gather; Q8_0's 34-byte blocks would need four windows, where the gather wins).
        // Q4_0: block i's d is word 9i of w…w+127. Q4_1: blocks 0-3 at words 10i of w, blocks
        // 4-7 of w + 80, each d followed by its m.
        static const uint16_t pick[2][32] = {
            {0, 9, 18, 27, 36, 45, 54, 63},
            {0, 10, 20, 30, 32, 42, 52, 62, 1, 11, 21, 31, 33, 43, 53, 63},
        };
        __m512i words = _mm512_permutex2var_epi16(_mm512_loadu_si512(w), _mm512_loadu_si512(pick[type]),
                                                  _mm512_loadu_si512(w + (type == B32_Q4_0 ? 64 : 80)));
        *d = _mm256_cvtph_ps(_mm512_castsi512_si128(words));
        if (type == B32_Q4_1) *m = _mm256_cvtph_ps(_mm512_extracti32x4_epi32(words, 1));
        return;
    }
#else
    (void)n;
#endif
    const __m256i offsets = _mm256_setr_epi32(0, bs, 2 * bs, 3 * bs, 4 * bs, 5 * bs, 6 * bs, 7 * bs);
    __m256i raw = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *)w, offsets, valid, 1);
    // per 128-bit lane: the d halves into the low 8 bytes, the m halves into the high 8
    const __m256i pick = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                          0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
    __m256i halves = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(raw, pick), 0xD8);
    *d = _mm256_cvtph_ps(_mm256_castsi256_si128(halves));
    if (type == B32_Q4_1) *m = _mm256_cvtph_ps(_mm256_extracti128_si256(halves, 1));
}

/// The sum of the eight lanes.
B32_INLINE float b32_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/// Accumulators per token in b32_row: four independent chains hide the FMA latency.
B32_INLINE int b32_chains(int T) { return T == 1 ? 4 : T == 2 ? 2 : 1; }

/// Adds blocks b0…b0+n−1 (n ≤ 8) of one weight row times T ≤ 4 activation rows into acc and cor
/// (b32_row's accumulators; `valid` marks lanes < n).
B32_INLINE void b32_group(enum b32_type type, int T, int n, __m256i valid, const uint8_t *w, int64_t b0,
                          const int8_t *const *q, const float *const *dx, const int32_t *const *sx,
                          __m256 acc[4][4], __m256 cor[4]) {
    const int bs = b32_block_bytes(type);
    __m256 d, m = _mm256_setzero_ps();
    b32_scales8(type, w + b0 * bs, n, valid, &d, &m);
    _Alignas(32) float scale[4][8];
    for (int t = 0; t < T; t++) {
        __m256 dxt = n == 8 ? _mm256_loadu_ps(dx[t] + b0) : _mm256_maskload_ps(dx[t] + b0, valid);
        __m256 dd = _mm256_mul_ps(d, dxt);
        _mm256_store_ps(scale[t], dd);
        if (type == B32_Q4_1 || b32_offset(type)) {
            __m256i st = n == 8 ? _mm256_loadu_si256((const __m256i *)(sx[t] + b0))
                                : _mm256_maskload_epi32(sx[t] + b0, valid);
            __m256 s = _mm256_cvtepi32_ps(st);
            cor[t] = type == B32_Q4_1 ? _mm256_fmadd_ps(m, _mm256_mul_ps(dxt, s), cor[t])
                                      : _mm256_fmadd_ps(dd, s, cor[t]);
        }
    }
    for (int i = 0; i < n; i++) {
        __m256i u = b32_unpack(type, w + (b0 + i) * bs);
        for (int t = 0; t < T; t++) {
            __m256i dot = b32_dot(type, u, q[t] + 32 * (b0 + i));
            __m256 *a = &acc[t][i % b32_chains(T)];
            *a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(&scale[t][i]), *a);
        }
    }
}

/// out[t] = Σ_j W[j]·x_t[j] for one weight row and T ≤ 4 activation rows at x + t·xbytes.
B32_INLINE void b32_row(enum b32_type type, int T, const uint8_t *w, const char *x, size_t xbytes, int64_t k,
                        float *out) {
    const int64_t nb = k / 32;
    const int8_t *q[4];
    const float *dx[4];
    const int32_t *sx[4];
    __m256 acc[4][4], cor[4];
    for (int t = 0; t < T; t++) {
        q[t] = q8_32_values(x + t * xbytes);
        dx[t] = q8_32_scales(x + t * xbytes, k);
        sx[t] = q8_32_sums(x + t * xbytes, k);
        cor[t] = _mm256_setzero_ps();
        for (int a = 0; a < b32_chains(T); a++) acc[t][a] = _mm256_setzero_ps();
    }
    int64_t b0 = 0;
    for (; b0 + 8 <= nb; b0 += 8) b32_group(type, T, 8, _mm256_set1_epi32(-1), w, b0, q, dx, sx, acc, cor);
    if (b0 < nb) {
        int n = (int)(nb - b0);
        __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        b32_group(type, T, n, valid, w, b0, q, dx, sx, acc, cor);
    }
    const __m256 offset = _mm256_set1_ps(type == B32_Q4_1 ? -1.0f : (float)b32_offset(type));
    for (int t = 0; t < T; t++) {
        __m256 sum = _mm256_fnmadd_ps(offset, cor[t], acc[t][0]);
        for (int a = 1; a < b32_chains(T); a++) sum = _mm256_add_ps(sum, acc[t][a]);
        out[t] = b32_hsum(sum);
    }
}

/// The matmul one row at a time, tokens 4 at a time.
B32_INLINE void b32_matmul_rows(enum b32_type type, CLEX_MATMUL_ARGS) {
    size_t xbytes = clex_q8_32_row_bytes(k);
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = (const uint8_t *)w + r * w_row_bytes;
        for (int64_t t0 = 0; t0 < tokens; t0 += 4) {
            const char *x = (const char *)xq + t0 * xbytes;
            float out[4];
            int T = tokens - t0 < 4 ? (int)(tokens - t0) : 4;
            switch (T) {
            case 1: b32_row(type, 1, wr, x, xbytes, k, out); break;
            case 2: b32_row(type, 2, wr, x, xbytes, k, out); break;
            case 3: b32_row(type, 3, wr, x, xbytes, k, out); break;
            default: b32_row(type, 4, wr, x, xbytes, k, out); break;
            }
            for (int t = 0; t < T; t++) b32_store(&y[(t0 + t) * ldy + r], out[t], accumulate);
        }
    }
}

#if B32_VNNI

// MARK: - Many tokens: tiles of 32 rows, 16 rows to a register

enum { B32_TILE_ROWS = 32, B32_TILE_TOKENS = 6, B32_TILE_MIN_TOKENS = 8 };
/// Bytes of one block in a tile: for each group g of four elements, 32 rows × 4 bytes (row r's
/// elements 4g…4g+3 at 128·g + 4·r); then 32 float scales d, then 32 float mins m (Q4_1).
enum { B32_TILE_BLOCK = 8 * 128 + 2 * 128 };

/// Unpacks n ≤ 32 rows starting at w into the tile (rows ≥ n become zero) as unsigned bytes.
B32_INLINE void b32_unpack_tile(enum b32_type type, const uint8_t *w, size_t w_row_bytes, int n, int64_t nb,
                                uint8_t *tile) {
    const int bs = b32_block_bytes(type), off = b32_quant_offset(type);
    const __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)w_row_bytes));
    const __m512i low = _mm512_set1_epi8(0x0F);
    for (int h = 0; h < 2; h++) {
        int nh = n - 16 * h < 0 ? 0 : n - 16 * h > 16 ? 16 : n - 16 * h;
        __mmask16 valid = (__mmask16)((1u << nh) - 1);
        const uint8_t *base = w + 16 * h * w_row_bytes;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *block = base + b * bs;
            uint8_t *out = tile + b * B32_TILE_BLOCK + 64 * h;
            if (type == B32_Q8_0) {
                for (int g = 0; g < 8; g++) {
                    __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, rows, block + 2 + 4 * g, 1);
                    _mm512_store_si512(out + 128 * g, _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80)));
                }
            } else {
                for (int g = 0; g < 4; g++) {
                    __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, rows, block + off + 4 * g, 1);
                    _mm512_store_si512(out + 128 * g, _mm512_and_si512(v, low));
                    _mm512_store_si512(out + 128 * (g + 4), _mm512_and_si512(_mm512_srli_epi32(v, 4), low));
                }
            }
            __m512i raw = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, rows, block, 1);
            _mm512_store_ps(out + 1024, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw)));
            if (type == B32_Q4_1)
                _mm512_store_ps(out + 1152, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(raw, 16))));
        }
    }
}

/// acc[h][t] = the 16 rows 16h… of the tile times token t (T ≤ 6 tokens at x + t·xbytes).
B32_INLINE void b32_tile_tokens(enum b32_type type, int T, const uint8_t *tile, int64_t nb, const char *x,
                                size_t xbytes, int64_t k, __m512 acc[2][B32_TILE_TOKENS]) {
    const int8_t *q[B32_TILE_TOKENS];
    const float *dx[B32_TILE_TOKENS];
    const int32_t *sx[B32_TILE_TOKENS];
    for (int t = 0; t < T; t++) {
        q[t] = q8_32_values(x + t * xbytes);
        dx[t] = q8_32_scales(x + t * xbytes, k);
        sx[t] = q8_32_sums(x + t * xbytes, k);
        acc[0][t] = acc[1][t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *tb = tile + b * B32_TILE_BLOCK;
        __m512i dot[2][B32_TILE_TOKENS];
        for (int t = 0; t < T; t++)
            dot[0][t] = dot[1][t] = _mm512_set1_epi32(-b32_offset(type) * sx[t][b]);
        for (int g = 0; g < 8; g++) {
            __m512i w0 = _mm512_load_si512(tb + 128 * g), w1 = _mm512_load_si512(tb + 128 * g + 64);
            for (int t = 0; t < T; t++) {
                int32_t four;
                memcpy(&four, q[t] + 32 * b + 4 * g, 4);
                __m512i xb = _mm512_set1_epi32(four);
                dot[0][t] = _mm512_dpbusd_epi32(dot[0][t], w0, xb);
                dot[1][t] = _mm512_dpbusd_epi32(dot[1][t], w1, xb);
            }
        }
        __m512 d0 = _mm512_load_ps(tb + 1024), d1 = _mm512_load_ps(tb + 1088);
        for (int t = 0; t < T; t++) {
            __m512 s = _mm512_set1_ps(dx[t][b]);
            acc[0][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[0][t]), _mm512_mul_ps(d0, s), acc[0][t]);
            acc[1][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[1][t]), _mm512_mul_ps(d1, s), acc[1][t]);
            if (type == B32_Q4_1) {
                __m512 ms = _mm512_set1_ps(dx[t][b] * (float)sx[t][b]);
                acc[0][t] = _mm512_fmadd_ps(_mm512_load_ps(tb + 1152), ms, acc[0][t]);
                acc[1][t] = _mm512_fmadd_ps(_mm512_load_ps(tb + 1216), ms, acc[1][t]);
            }
        }
    }
}

/// The matmul in tiles of 32 rows × all tokens, 6 tokens to a register block.
B32_INLINE void b32_matmul_tiles(enum b32_type type, CLEX_MATMUL_ARGS) {
    const int64_t nb = k / 32;
    const size_t xbytes = clex_q8_32_row_bytes(k);
    uint8_t *tile = clex_block32_scratch((size_t)nb * B32_TILE_BLOCK);
    for (int64_t r0 = 0; r0 < rows; r0 += B32_TILE_ROWS) {
        int n = rows - r0 < B32_TILE_ROWS ? (int)(rows - r0) : B32_TILE_ROWS;
        b32_unpack_tile(type, (const uint8_t *)w + r0 * w_row_bytes, w_row_bytes, n, nb, tile);
        __mmask16 valid[2] = {(__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1),
                              (__mmask16)(n >= 32 ? 0xFFFF : n <= 16 ? 0 : (1u << (n - 16)) - 1)};
        for (int64_t t0 = 0; t0 < tokens; t0 += B32_TILE_TOKENS) {
            const char *x = (const char *)xq + t0 * xbytes;
            __m512 acc[2][B32_TILE_TOKENS];
            int T = tokens - t0 < B32_TILE_TOKENS ? (int)(tokens - t0) : B32_TILE_TOKENS;
            switch (T) {
            case 1: b32_tile_tokens(type, 1, tile, nb, x, xbytes, k, acc); break;
            case 2: b32_tile_tokens(type, 2, tile, nb, x, xbytes, k, acc); break;
            case 3: b32_tile_tokens(type, 3, tile, nb, x, xbytes, k, acc); break;
            case 4: b32_tile_tokens(type, 4, tile, nb, x, xbytes, k, acc); break;
            case 5: b32_tile_tokens(type, 5, tile, nb, x, xbytes, k, acc); break;
            default: b32_tile_tokens(type, 6, tile, nb, x, xbytes, k, acc); break;
            }
            for (int t = 0; t < T; t++)
                for (int h = 0; h < 2; h++) {
                    float *yt = y + (t0 + t) * ldy + r0 + 16 * h;
                    __m512 v = acc[h][t];
                    if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(valid[h], yt));
                    _mm512_mask_storeu_ps(yt, valid[h], v);
                }
        }
    }
}

#endif

/// The matmul: tiles for many tokens (with VNNI), else rows straight from the weights.
B32_INLINE void b32_matmul(enum b32_type type, CLEX_MATMUL_ARGS) {
#if B32_VNNI
    if (tokens >= B32_TILE_MIN_TOKENS) {
        b32_matmul_tiles(type, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
        return;
    }
#endif
    b32_matmul_rows(type, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#endif

#endif
