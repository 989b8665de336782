// y = W·x for Q5_K weights (ggml's block_q5_K, layout in kquant_blocks.h) and Q8_K activations
// (q8_k.c): as Q4_K (q4_k.c) with quants of 5 bits, the fifth bit taken from qh (the
// decomposition of ggml's ggml_vec_dot_q5_K_q8_K).
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

/// Unpacks a Q5_K super-block for kquant_engine.h: scales, mins and nibbles as Q4_K (q4_k.c),
/// then bit 4 of each quant from qh, selected by a byte test against bit 2c (low half of the
/// register) or 2c + 1 (high half) and added where set.
static inline __attribute__((always_inline)) void unpack(const uint8_t *w, kq_block *u) {
    uint32_t a, b, c;
    memcpy(&a, w + Q5K_SCALES, 4);
    memcpy(&b, w + Q5K_SCALES + 4, 4);
    memcpy(&c, w + Q5K_SCALES + 8, 4);
    uint64_t scales = (a & 0x3F3F3F3Fu) | (uint64_t)((c & 0x0F0F0F0Fu) | (a >> 2 & 0x30303030u)) << 32;
    uint64_t mins = (b & 0x3F3F3F3Fu) | (uint64_t)((c >> 4 & 0x0F0F0F0Fu) | (b >> 2 & 0x30303030u)) << 32;
    __m512i words = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_set_epi64x((long long)mins, (long long)scales)));
    __m256i group_mins = _mm512_castsi512_si256(_mm512_permutexvar_epi16(_mm512_loadu_si512(min_of_group), words));
    u->offset = _mm512_mul_ps(_mm512_set1_ps(kq_half(w + 2)), _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(group_mins)));
    u->d = kq_half(w);
    __m512i high = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + Q5K_QH)));
    for (int j = 0; j < 4; j++) {
        u->scale[j] = _mm512_permutexvar_epi16(kq_two_words(2 * j, 2 * j + 1), words);
        __m512i raw = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + Q5K_QS + 32 * j)));
        __m512i q = _mm512_and_si512(_mm512_srlv_epi16(raw, kq_two_words(0, 4)), _mm512_set1_epi8(15));
        __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j))),
                                         _mm256_set1_epi8((char)(1 << (2 * j + 1))), 1);
        u->q[j] = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(high, bit), q, _mm512_set1_epi8(16));
    }
}

/// Packs a Q5_K super-block for kquant_gemm.h: 5-bit quants as bytes in element order (nibble
/// plus bit 4 from qh), the eight scales and dmin·mins, and k = 128·Σ_j sc_j·Σ q.
static void pack(const uint8_t *w, kq_wblock *p) {
    uint8_t sc[8], m[8];
    kq_scales_mins(w + Q5K_SCALES, sc, m);
    float dmin = kq_half(w + 2);
    p->d = kq_half(w);
    __m256i k = _mm256_setzero_si256(), nibble = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256i high = _mm256_loadu_si256((const __m256i *)(w + Q5K_QH));
    for (int c = 0; c < 4; c++) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)(w + Q5K_QS + 32 * c));
        __m256i lo_bit = _mm256_and_si256(_mm256_srli_epi16(high, 2 * c), one);
        __m256i hi_bit = _mm256_and_si256(_mm256_srli_epi16(high, 2 * c + 1), one);
        __m256i lo = _mm256_or_si256(_mm256_and_si256(raw, nibble), _mm256_slli_epi16(lo_bit, 4));
        __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble), _mm256_slli_epi16(hi_bit, 4));
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

/// The Q5_K matmul (kernels_internal.h): kquant_gemm.h beyond 8 tokens, kquant_engine.h up to 8.
void clex_matmul_q5_k(CLEX_MATMUL_ARGS) {
    if (tokens > KQ_GROUP)
        kg_matmul(pack, 8, 8, 1, Q5K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
    else
        kq_matmul(unpack, 0, Q5K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#elif defined(__AVX2__) && defined(__FMA__)

/// `v` shifted so that bit `bit` of each byte lands on bit 4 of the same byte (16-bit shifts by at
/// most 4, so that bit never crosses a byte; the other bits are left for the caller to mask).
static inline __attribute__((always_inline)) __m256i bit_to_4(__m256i v, int bit) {
    return bit <= 4 ? _mm256_slli_epi16(v, 4 - bit) : _mm256_srli_epi16(v, bit - 4);
}

/// Unpacks a Q5_K super-block for kquant_engine.h's AVX2 path: chunks 2c and 2c + 1 are the low
/// and high nibbles of qs[32c…] with bit 4 from bits 2c and 2c + 1 of qh, each with its
/// sub-block's scale in every word, and the mins times dmin repeated for both groups of 16 of
/// their sub-block.
static inline __attribute__((always_inline)) void unpack(const uint8_t *w, kq_block *u) {
    uint8_t sc[8], m[8];
    kq_scales_mins(w + Q5K_SCALES, sc, m);
    float dmin = kq_half(w + 2);
    u->d = kq_half(w);
    __m256i nibble = _mm256_set1_epi8(15), bit4 = _mm256_set1_epi8(16);
    __m256i high = _mm256_loadu_si256((const __m256i *)(w + Q5K_QH));
    for (int c = 0; c < 4; c++) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)(w + Q5K_QS + 32 * c));
        __m256i lo_bit = _mm256_and_si256(bit_to_4(high, 2 * c), bit4);
        __m256i hi_bit = _mm256_and_si256(bit_to_4(high, 2 * c + 1), bit4);
        u->q[2 * c] = _mm256_or_si256(_mm256_and_si256(raw, nibble), lo_bit);
        u->q[2 * c + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble), hi_bit);
        u->scale[2 * c] = _mm256_set1_epi16(sc[2 * c]);
        u->scale[2 * c + 1] = _mm256_set1_epi16(sc[2 * c + 1]);
    }
    for (int h = 0; h < 2; h++) {
        const uint8_t *mh = m + 4 * h;
        __m256 pairs = _mm256_setr_ps(mh[0], mh[0], mh[1], mh[1], mh[2], mh[2], mh[3], mh[3]);
        u->offset[h] = _mm256_mul_ps(_mm256_set1_ps(dmin), pairs);
    }
}

/// The Q5_K matmul (kernels_internal.h) on kquant_engine.h's AVX2 path.
void clex_matmul_q5_k(CLEX_MATMUL_ARGS) {
    kq_matmul(unpack, 0, Q5K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#else

/// One super-block's contribution Σ_e w_e·x_e, scalar.
static float block_dot_scalar(const uint8_t *w, const uint8_t *x) {
    uint8_t sc[8], m[8];
    kq_scales_mins(w + Q5K_SCALES, sc, m);
    const uint8_t *qs = w + Q5K_QS, *qh = w + Q5K_QH;
    const int8_t *a = (const int8_t *)(x + Q8K_QS);
    int32_t sumi = 0, summ = 0;
    for (int c = 0; c < 4; c++) {
        int32_t lo = 0, hi = 0;
        for (int l = 0; l < 32; l++) {
            int qlo = (qs[32 * c + l] & 15) | ((qh[l] >> (2 * c)) & 1) << 4;
            int qhi = (qs[32 * c + l] >> 4) | ((qh[l] >> (2 * c + 1)) & 1) << 4;
            lo += qlo * a[64 * c + l];
            hi += qhi * a[64 * c + 32 + l];
        }
        sumi += sc[2 * c] * lo + sc[2 * c + 1] * hi;
    }
    for (int j = 0; j < 8; j++) summ += m[j] * (kq_i16(x + Q8K_BSUMS + 4 * j) + kq_i16(x + Q8K_BSUMS + 4 * j + 2));
    float dx = kq_f32(x + Q8K_D);
    return kq_half(w) * dx * (float)sumi - kq_half(w + 2) * dx * (float)summ;
}

/// The Q5_K matmul (kernels_internal.h), scalar: one dot product per row and token.
void clex_matmul_q5_k(CLEX_MATMUL_ARGS) {
    kq_matmul_scalar(block_dot_scalar, Q5K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#endif
