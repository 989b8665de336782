// y = W·x for Q4_K weights (ggml's block_q4_K, layout in kquant_blocks.h) and Q8_K activations
// (q8_k.c). Per super-block and token the integer part is exact:
//   Σ_e w_e·x_e = d_w·d_x·Σ_j sc_j·Σ_{e∈j} q_e·a_e − dmin_w·d_x·Σ_j m_j·(bsum_{2j} + bsum_{2j+1}),
// the same decomposition as ggml's ggml_vec_dot_q4_K_q8_K (ggml-cpu/quants.c and its x86 version).
//
// Paths: AVX-512 VNNI — decoding (≤ 8 tokens) on kquant_engine.h, prefill on kquant_gemm.h;
// AVX2 — kquant_engine.h for all token counts; otherwise the scalar loops at the end.
#include "kernels_internal.h"
#include "kquant_blocks.h"
#include "kquant_engine.h"
#include "kquant_gemm.h"

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

/// Word g of the scale/min words (0–7 scales, 8–15 mins) that gives group g's min: 8 + g/2.
static const uint16_t min_of_group[32] = {8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15};

/// Unpacks a Q4_K super-block for kquant_engine.h: the 6-bit scales and mins become int16 words
/// (all four packed fields decoded at once with 32-bit masks, as spelled out in kquant_blocks.h),
/// and chunk c's 32 bytes are broadcast to both halves of a register whose word shifts of 0 and 4
/// put the low nibbles (sub-block 2c) below the high ones (sub-block 2c + 1).
static inline __attribute__((always_inline)) void unpack(const uint8_t *w, kq_block *u) {
    uint32_t a, b, c;
    memcpy(&a, w + Q4K_SCALES, 4);
    memcpy(&b, w + Q4K_SCALES + 4, 4);
    memcpy(&c, w + Q4K_SCALES + 8, 4);
    uint64_t scales = (a & 0x3F3F3F3Fu) | (uint64_t)((c & 0x0F0F0F0Fu) | (a >> 2 & 0x30303030u)) << 32;
    uint64_t mins = (b & 0x3F3F3F3Fu) | (uint64_t)((c >> 4 & 0x0F0F0F0Fu) | (b >> 2 & 0x30303030u)) << 32;
    __m512i words = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_set_epi64x((long long)mins, (long long)scales)));
    __m256i group_mins = _mm512_castsi512_si256(_mm512_permutexvar_epi16(_mm512_loadu_si512(min_of_group), words));
    u->offset = _mm512_mul_ps(_mm512_set1_ps(kq_half(w + 2)), _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(group_mins)));
    u->d = kq_half(w);
    for (int j = 0; j < 4; j++) {
        u->scale[j] = _mm512_permutexvar_epi16(kq_two_words(2 * j, 2 * j + 1), words);
        __m512i raw = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + Q4K_QS + 32 * j)));
        u->q[j] = _mm512_and_si512(_mm512_srlv_epi16(raw, kq_two_words(0, 4)), _mm512_set1_epi8(15));
    }
}

/// Packs a Q4_K super-block for kquant_gemm.h: nibbles to bytes in element order, the eight
/// scales and dmin·mins, and k = 128·Σ_j sc_j·Σ q (vpdpbusd of the quants with the scale bytes).
static void pack(const uint8_t *w, kq_wblock *p) {
    uint8_t sc[8], m[8];
    kq_scales_mins(w + Q4K_SCALES, sc, m);
    float dmin = kq_half(w + 2);
    p->d = kq_half(w);
    __m256i k = _mm256_setzero_si256(), nibble = _mm256_set1_epi8(15);
    for (int c = 0; c < 4; c++) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)(w + Q4K_QS + 32 * c));
        __m256i lo = _mm256_and_si256(raw, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble);
        _mm256_storeu_si256((__m256i *)(p->q + 64 * c), lo);
        _mm256_storeu_si256((__m256i *)(p->q + 64 * c + 32), hi);
        k = _mm256_dpbusd_epi32(k, lo, _mm256_set1_epi8((char)sc[2 * c]));
        k = _mm256_dpbusd_epi32(k, hi, _mm256_set1_epi8((char)sc[2 * c + 1]));
    }
    for (int j = 0; j < 8; j++) {
        p->scale[j] = sc[j];
        p->mins[j] = dmin * (float)m[j];
    }
    p->k = 128 * kg_hsum256(k);
}

/// The Q4_K matmul (kernels_internal.h): kquant_gemm.h beyond 8 tokens, kquant_engine.h up to 8.
void clex_matmul_q4_k(CLEX_MATMUL_ARGS) {
    if (tokens > KQ_GROUP)
        kg_matmul(pack, 8, 8, 1, Q4K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
    else
        kq_matmul(unpack, 0, Q4K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#elif defined(__AVX2__) && defined(__FMA__)

/// Unpacks a Q4_K super-block for kquant_engine.h's AVX2 path: chunks 2c and 2c + 1 are the low
/// and high nibbles of qs[32c…], each with its sub-block's scale in every word, and the mins
/// times dmin repeated for both groups of 16 of their sub-block.
static inline __attribute__((always_inline)) void unpack(const uint8_t *w, kq_block *u) {
    uint8_t sc[8], m[8];
    kq_scales_mins(w + Q4K_SCALES, sc, m);
    float dmin = kq_half(w + 2);
    u->d = kq_half(w);
    __m256i nibble = _mm256_set1_epi8(15);
    for (int c = 0; c < 4; c++) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)(w + Q4K_QS + 32 * c));
        u->q[2 * c] = _mm256_and_si256(raw, nibble);
        u->q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble);
        u->scale[2 * c] = _mm256_set1_epi16(sc[2 * c]);
        u->scale[2 * c + 1] = _mm256_set1_epi16(sc[2 * c + 1]);
    }
    for (int h = 0; h < 2; h++) {
        const uint8_t *mh = m + 4 * h;
        __m256 pairs = _mm256_setr_ps(mh[0], mh[0], mh[1], mh[1], mh[2], mh[2], mh[3], mh[3]);
        u->offset[h] = _mm256_mul_ps(_mm256_set1_ps(dmin), pairs);
    }
}

/// The Q4_K matmul (kernels_internal.h) on kquant_engine.h's AVX2 path.
void clex_matmul_q4_k(CLEX_MATMUL_ARGS) {
    kq_matmul(unpack, 0, Q4K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#else

/// One super-block's contribution Σ_e w_e·x_e, scalar.
static float block_dot_scalar(const uint8_t *w, const uint8_t *x) {
    uint8_t sc[8], m[8];
    kq_scales_mins(w + Q4K_SCALES, sc, m);
    const uint8_t *qs = w + Q4K_QS;
    const int8_t *a = (const int8_t *)(x + Q8K_QS);
    int32_t sumi = 0, summ = 0;
    for (int c = 0; c < 4; c++) {
        int32_t lo = 0, hi = 0;
        for (int l = 0; l < 32; l++) {
            lo += (qs[32 * c + l] & 15) * a[64 * c + l];
            hi += (qs[32 * c + l] >> 4) * a[64 * c + 32 + l];
        }
        sumi += sc[2 * c] * lo + sc[2 * c + 1] * hi;
    }
    for (int j = 0; j < 8; j++) summ += m[j] * (kq_i16(x + Q8K_BSUMS + 4 * j) + kq_i16(x + Q8K_BSUMS + 4 * j + 2));
    float dx = kq_f32(x + Q8K_D);
    return kq_half(w) * dx * (float)sumi - kq_half(w + 2) * dx * (float)summ;
}

/// The Q4_K matmul (kernels_internal.h), scalar: one dot product per row and token.
void clex_matmul_q4_k(CLEX_MATMUL_ARGS) {
    kq_matmul_scalar(block_dot_scalar, Q4K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#endif
