// Byte layouts (and a few helpers) shared by the k-quant kernels (q4_k.c, q5_k.c, q6_k.c) and
// their activations (q8_k.c). The weight blocks are ggml's (ggml-common.h: block_q4_K, block_q5_K,
// block_q6_K),
// read where they lie, so every multi-byte field is read unaligned and little-endian. A
// super-block covers 256 consecutive elements of a row.
//
// Q4_K, 144 bytes: f16 d @0, f16 dmin @2, scales[12] @4, qs[128] @16.
//   Eight sub-blocks of 32 elements, each with a 6-bit scale sc_j and a 6-bit min m_j packed in
//   `scales` (get_scale_min_k4 in ggml-quants.c): for j < 4, sc_j = scales[j] & 63 and
//   m_j = scales[j+4] & 63; for j ≥ 4, sc_j = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4 and
//   m_j = (scales[j+4] >> 4) | (scales[j] >> 6) << 4.
//   Byte qs[32c + l] (c < 4, l < 32) holds element 64c + l in its low nibble and element
//   64c + 32 + l in its high nibble (sub-blocks 2c and 2c + 1).
//   Value = d·sc_j·q − dmin·m_j.
// Q5_K, 176 bytes: f16 d @0, f16 dmin @2, scales[12] @4 (as Q4_K), qh[32] @16, qs[128] @48.
//   qs as Q4_K gives the low 4 bits; bit 2c of qh[l] is bit 4 of element 64c + l and bit 2c + 1
//   is bit 4 of element 64c + 32 + l. Value = d·sc_j·q − dmin·m_j, q in 0…31.
// Q6_K, 210 bytes: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d @208.
//   Two halves h of 128 elements; with ql' = ql + 64h and qh' = qh + 32h, for l < 32:
//   element 128h + l      = ql'[l] & 15      | (qh'[l] >> 0 & 3) << 4,
//   element 128h + 32 + l = ql'[l + 32] & 15 | (qh'[l] >> 2 & 3) << 4,
//   element 128h + 64 + l = ql'[l] >> 4      | (qh'[l] >> 4 & 3) << 4,
//   element 128h + 96 + l = ql'[l + 32] >> 4 | (qh'[l] >> 6 & 3) << 4.
//   Value = d·scales[e / 16]·(q − 32), q in 0…63.
//
// Q8_K activations (this library's layout, after ggml's block_q8_K), 320 bytes per 256 elements:
// int8 qs[256] @0, int16 bsums[16] @256 (sum of qs over each 16 elements), f32 d @288, zero
// padding to 320 so that qs stays 64-byte aligned in an aligned buffer. Value = d·qs[e].
// Because the weights' quants are stored unsigned (Q6_K's offset of 32 and the k-quants' mins
// are applied afterwards through bsums), every kernel multiplies unsigned weight bytes by signed
// activation bytes: exactly what `vpdpbusd` / `vpmaddubsw` take.
#ifndef CLEX_KQUANT_BLOCKS_H
#define CLEX_KQUANT_BLOCKS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "half.h"
#if defined(__F16C__)
#include <immintrin.h>
#endif

enum {
    KQ_ELEMENTS = 256,
    Q4K_BYTES = 144, Q4K_SCALES = 4, Q4K_QS = 16,
    Q5K_BYTES = 176, Q5K_SCALES = 4, Q5K_QH = 16, Q5K_QS = 48,
    Q6K_BYTES = 210, Q6K_QL = 0, Q6K_QH = 128, Q6K_SCALES = 192, Q6K_D = 208,
    Q8K_BYTES = 320, Q8K_QS = 0, Q8K_BSUMS = 256, Q8K_D = 288,
};

/// The IEEE half at `p` (unaligned, little-endian) as a float, exactly.
static inline float kq_half(const uint8_t *p) { return clex_load_half(p); }

/// The float at `p` (unaligned).
static inline float kq_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/// The int16 at `p` (unaligned).
static inline int16_t kq_i16(const uint8_t *p) {
    int16_t v;
    memcpy(&v, p, 2);
    return v;
}

/// `bytes` of scratch aligned to a cache line (the size rounded up to one, as aligned_alloc
/// requires). A kernel cannot report failure, so running out of memory for a few kilobytes to
/// megabytes of scratch aborts.
static inline void *kq_alloc(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) abort();
    return p;
}

/// Unpacks the eight 6-bit scales and mins of a Q4_K/Q5_K super-block from its 12 packed bytes
/// (the packing of get_scale_min_k4 in ggml-quants.c, spelled out in this file's header).
static inline void kq_scales_mins(const uint8_t *packed, uint8_t sc[8], uint8_t m[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = packed[j] & 63;
        m[j] = packed[j + 4] & 63;
        sc[j + 4] = (uint8_t)((packed[j + 8] & 15) | (packed[j] >> 6) << 4);
        m[j + 4] = (uint8_t)((packed[j + 8] >> 4) | (packed[j + 4] >> 6) << 4);
    }
}

/// One super-block's dot product with one Q8_K activation block (a scalar path's kernel).
typedef float (*kq_block_dot)(const uint8_t *w, const uint8_t *x);

/// The scalar matmul of every k-quant (kernels_internal.h's arguments): one dot product per row
/// and token, super-block by super-block with `dot`; weight blocks are `block_bytes` long.
static inline void kq_matmul_scalar(kq_block_dot dot, size_t block_bytes, const void *w, size_t w_row_bytes,
                                    int64_t rows, const void *xq, int64_t tokens, int64_t k, float *y, int64_t ldy,
                                    int accumulate) {
    int64_t blocks = k / KQ_ELEMENTS;
    size_t x_row_bytes = (size_t)blocks * Q8K_BYTES;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * w_row_bytes;
        for (int64_t t = 0; t < tokens; t++) {
            const uint8_t *xt = (const uint8_t *)xq + (size_t)t * x_row_bytes;
            float sum = 0;
            for (int64_t b = 0; b < blocks; b++) sum += dot(wr + b * block_bytes, xt + b * Q8K_BYTES);
            float *out = y + t * ldy + r;
            *out = accumulate ? *out + sum : sum;
        }
    }
}

#endif
