// The AVX-512 VNNI prefill engine of the k-quant kernels (many tokens): 16 tokens per register.
//
// Decoding-style kernels (kquant_engine.h) spend two multiply-pipe instructions per 64
// products (vpmaddubsw, then vpdpwssd with the scales) and four more per super-block and token
// for the float epilogue; on CPUs whose integer multiplies and FMAs share one 512-bit pipe that
// caps them near 40 products a cycle. Here each register lane is a token instead: activations
// of 16 tokens are interleaved four bytes at a time (`kq_xblock`), each 4-byte group of a weight
// row is broadcast from memory as vpdpbusd's signed operand, and one vpdpbusd makes 64 products
// for 16 tokens at once. A sub-block's sums are then scaled by one vpmulld, and the float
// epilogue runs once per super-block for all 16 tokens: about 83 multiply-pipe instructions per
// 16·256 products.
//
// vpdpbusd multiplies unsigned by signed bytes, so the activations are stored biased by 128 (u8)
// and the weights signed: Q4_K/Q5_K quants as they are (0…31), Q6_K's as q − 32. The bias adds
// 128·Σ scale·q per super-block and row, a constant `k` computed once when the row is packed and
// subtracted before the float conversion. Integer sums stay below 2^31 for every type (Q6_K:
// 16 groups · 128 · 16·32·255 < 2^28).
//
// Loops: the row is cut into slices of at most KG_SLICE super-blocks; for each slice, token
// groups are built for a chunk of about KG_CHUNK_BYTES (kept in L2), and for each 8 rows the
// rows' super-blocks of the slice are packed once (`kq_wblock`, ~3 KB per super-block for the 8
// rows) and multiplied by every group of the chunk.
#ifndef CLEX_KQUANT_GEMM_H
#define CLEX_KQUANT_GEMM_H

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>
#include "kernels_internal.h"
#include "kquant_blocks.h"

#define KG_INLINE static inline __attribute__((always_inline))

enum { KG_TOKENS = 16, KG_ROWS = 8, KG_SLICE = 16, KG_CHUNK_BYTES = 384 * 1024 };

/// One super-block of one weight row, packed for the prefill engine.
typedef struct {
    int8_t q[256];       // the quants in element order (Q4_K/Q5_K: q; Q6_K: q − 32)
    int32_t scale[16];   // integer scale of each sub-block (Q4_K/Q5_K: 8 of 32; Q6_K: 16 of 16)
    float mins[8];       // Q4_K/Q5_K: dmin·m_j, subtracted against the activations' sums
    int32_t k;           // 128·Σ_j scale_j·Σ_{e∈j} q_e: what the activations' bias adds
    float d;             // the super-block scale d_w
    int32_t pad[6];
} kq_wblock;

/// One Q8_K block of 16 tokens, interleaved: bytes x[i][t] are elements 4i…4i+3 of token t,
/// plus 128 (so unsigned); tokens past the end are zeros with d_x = 0.
typedef struct {
    uint8_t x[64][KG_TOKENS][4];
    float dx[KG_TOKENS];        // each token's step d_x
    float sx[8][KG_TOKENS];     // d_x·(bsum_2j + bsum_2j+1): the sums the mins multiply
} kq_xblock;

/// Packs the super-block at `w` (ggml layout) into `p`.
typedef void (*kq_pack_fn)(const uint8_t *w, kq_wblock *p);

/// Sum of the 8 int32 lanes.
KG_INLINE int32_t kg_hsum256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// Interleaves super-blocks [b0, b0 + nb) of tokens [t0, t0 + n) (n ≤ 16) of the Q8_K rows at `xq`
/// into nb kq_xblocks.
KG_INLINE void kg_build_tokens(const uint8_t *xq, size_t x_row, int64_t t0, int n, int64_t b0, int64_t nb,
                               kq_xblock *out) {
    for (int64_t b = 0; b < nb; b++) {
        kq_xblock *o = out + b;
        for (int t = 0; t < KG_TOKENS; t++) {
            if (t >= n) {
                for (int i = 0; i < 64; i++) memset(o->x[i][t], 0x80, 4);
                o->dx[t] = 0;
                for (int j = 0; j < 8; j++) o->sx[j][t] = 0;
                continue;
            }
            const uint8_t *src = xq + (size_t)(t0 + t) * x_row + (b0 + b) * Q8K_BYTES;
            for (int i = 0; i < 64; i++) {
                uint32_t v;
                memcpy(&v, src + Q8K_QS + 4 * i, 4);
                v ^= 0x80808080u;
                memcpy(o->x[i][t], &v, 4);
            }
            float dx = kq_f32(src + Q8K_D);
            o->dx[t] = dx;
            for (int j = 0; j < 8; j++)
                o->sx[j][t] = dx * (float)(kq_i16(src + Q8K_BSUMS + 4 * j) + kq_i16(src + Q8K_BSUMS + 4 * j + 2));
        }
    }
}

/// R rows (a packed panel, row i of super-block b at panel[b·KG_ROWS + i]) times one group of
/// 16 tokens over all super-blocks; `subs` sub-blocks of `quads` 4-byte groups each. Writes
/// the first n tokens' results to y[t·ldy + i] (or adds them).
KG_INLINE void kg_tile(int R, int subs, int quads, int has_mins, const kq_wblock *panel, const kq_xblock *xb,
                       int64_t blocks, int n, float *y, int64_t ldy, int accumulate) {
    __m512 f[KG_ROWS];
    for (int i = 0; i < R; i++) f[i] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const kq_wblock *w = panel + b * KG_ROWS;
        const kq_xblock *x = xb + b;
        __m512i acc[KG_ROWS];
        for (int s = 0; s < subs; s++) {
            __m512i sum[KG_ROWS];
            for (int i = 0; i < R; i++) sum[i] = _mm512_setzero_si512();
            for (int g = s * quads; g < (s + 1) * quads; g++) {
                __m512i xv = _mm512_load_si512(x->x[g]);
                for (int i = 0; i < R; i++) {
                    int32_t wq;
                    memcpy(&wq, w[i].q + 4 * g, 4);
                    sum[i] = _mm512_dpbusd_epi32(sum[i], xv, _mm512_set1_epi32(wq));
                }
            }
            for (int i = 0; i < R; i++) {
                __m512i scaled = _mm512_mullo_epi32(sum[i], _mm512_set1_epi32(w[i].scale[s]));
                acc[i] = s == 0 ? scaled : _mm512_add_epi32(acc[i], scaled);
            }
        }
        __m512 dx = _mm512_load_ps(x->dx);
        for (int i = 0; i < R; i++) {
            __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i], _mm512_set1_epi32(w[i].k)));
            f[i] = _mm512_fmadd_ps(v, _mm512_mul_ps(_mm512_set1_ps(w[i].d), dx), f[i]);
        }
        if (has_mins)
            for (int j = 0; j < 8; j++) {
                __m512 sx = _mm512_load_ps(x->sx[j]);
                for (int i = 0; i < R; i++) f[i] = _mm512_fnmadd_ps(_mm512_set1_ps(w[i].mins[j]), sx, f[i]);
            }
    }
    // token by token, so that each token's R results go out together (strided by rows they
    // would touch every token's cache line R times; with ldy a multiple of 1024 those lines all
    // share one L1 set)
    float out[KG_ROWS][KG_TOKENS];
    for (int i = 0; i < R; i++) _mm512_storeu_ps(out[i], f[i]);
    for (int t = 0; t < n; t++)
        for (int i = 0; i < R; i++) {
            float *dst = y + t * ldy + i;
            *dst = accumulate ? *dst + out[i][t] : out[i][t];
        }
}

/// kg_tile for a run-time R in 1…KG_ROWS.
KG_INLINE void kg_tile_any(int R, int subs, int quads, int has_mins, const kq_wblock *panel, const kq_xblock *xb,
                           int64_t blocks, int n, float *y, int64_t ldy, int accumulate) {
    switch (R) {
#define KG_TILE_CASE(N) case N: kg_tile(N, subs, quads, has_mins, panel, xb, blocks, n, y, ldy, accumulate); break;
    KG_TILE_CASE(1) KG_TILE_CASE(2) KG_TILE_CASE(3) KG_TILE_CASE(4)
    KG_TILE_CASE(5) KG_TILE_CASE(6) KG_TILE_CASE(7) KG_TILE_CASE(8)
#undef KG_TILE_CASE
    default: break;
    }
}

/// The prefill matmul (CLEX_MATMUL_ARGS) with the type's packing and sub-block shape. The row is
/// cut into even slices of at most KG_SLICE super-blocks so that a chunk of several token groups
/// fits KG_CHUNK_BYTES whatever k is: packing a panel is then paid once per chunk of tokens
/// (≥ 64 for every slice), and each slice adds its part to y.
KG_INLINE void kg_matmul(kq_pack_fn pack, int subs, int quads, int has_mins, int block_bytes, const void *w,
                         size_t w_row_bytes, int64_t rows, const void *xq, int64_t tokens, int64_t k, float *y,
                         int64_t ldy, int accumulate) {
    int64_t blocks = k / KQ_ELEMENTS;
    size_t x_row = (size_t)blocks * Q8K_BYTES;
    int64_t slices = (blocks + KG_SLICE - 1) / KG_SLICE, slice = (blocks + slices - 1) / slices;
    int64_t groups = (tokens + KG_TOKENS - 1) / KG_TOKENS;
    int64_t chunk = KG_CHUNK_BYTES / (int64_t)(slice * sizeof(kq_xblock));
    chunk = chunk < 1 ? 1 : chunk > groups ? groups : chunk;
    kq_xblock *xb = kq_alloc(sizeof(kq_xblock) * (size_t)(chunk * slice));
    kq_wblock *panel = kq_alloc(sizeof(kq_wblock) * (size_t)(slice * KG_ROWS));
    for (int64_t b0 = 0; b0 < blocks; b0 += slice) {
        int64_t nb = blocks - b0 < slice ? blocks - b0 : slice;
        int add = accumulate || b0 > 0;
        for (int64_t g0 = 0; g0 < groups; g0 += chunk) {
            int64_t ng = groups - g0 < chunk ? groups - g0 : chunk;
            for (int64_t g = 0; g < ng; g++) {
                int64_t t0 = (g0 + g) * KG_TOKENS;
                int n = (int)(tokens - t0 < KG_TOKENS ? tokens - t0 : KG_TOKENS);
                kg_build_tokens(xq, x_row, t0, n, b0, nb, xb + g * nb);
            }
            for (int64_t r0 = 0; r0 < rows; r0 += KG_ROWS) {
                int R = (int)(rows - r0 < KG_ROWS ? rows - r0 : KG_ROWS);
                for (int64_t b = 0; b < nb; b++)
                    for (int i = 0; i < R; i++)
                        pack((const uint8_t *)w + (size_t)(r0 + i) * w_row_bytes + (b0 + b) * block_bytes,
                             panel + b * KG_ROWS + i);
                for (int64_t g = 0; g < ng; g++) {
                    int64_t t0 = (g0 + g) * KG_TOKENS;
                    int n = (int)(tokens - t0 < KG_TOKENS ? tokens - t0 : KG_TOKENS);
                    kg_tile_any(R, subs, quads, has_mins, panel, xb + g * nb, nb, n, y + t0 * ldy + r0, ldy, add);
                }
            }
        }
    }
    free(xb);
    free(panel);
}

#endif
#endif
