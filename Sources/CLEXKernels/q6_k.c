// y = W·x for Q6_K weights (ggml's block_q6_K, layout in kquant_blocks.h) and Q8_K activations
// (q8_k.c). The quants are multiplied unsigned (0…63) and the offset of 32 is taken back per
// group of 16 through the activations' sums:
//   Σ_e w_e·x_e = d_w·d_x·Σ_g s_g·(Σ_{e∈g} q_e·a_e − 32·bsum_g),
// as ggml's x86 ggml_vec_dot_q6_K_q8_K does.
//
// Paths: AVX-512 VNNI — decoding (≤ 8 tokens) on kquant_engine.h, prefill on kquant_gemm.h;
// AVX2 — kquant_engine.h for all token counts; otherwise the scalar loops at the end.
#include "kernels_internal.h"
#include "kquant_blocks.h"
#include "kquant_engine.h"
#include "kquant_gemm.h"

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

/// Unpacks a Q6_K super-block for kquant_engine.h. Chunk c (elements 64c…64c+63) lies in half
/// h = c/2: its low 4 bits are the low (c even) or high (c odd) nibbles of the 64 bytes ql[64h…],
/// and its top 2 bits come from the 32 bytes qh[32h…], broadcast to both register halves and
/// word-shifted so that bits 2i, 2i + 1 of quarter i land on bits 4–5. The scale words repeat
/// each int8 scale over the 8 pair sums of its group of 16; the offset of 32 becomes −32·scale
/// dotted with the activations' bsums.
static inline __attribute__((always_inline)) void unpack(const uint8_t *w, kq_block *u) {
    __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + Q6K_SCALES)));
    __m512i words = _mm512_castsi256_si512(scales);
    u->offset_words = _mm512_zextsi256_si512(_mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(scales, 5)));
    u->d = kq_half(w + Q6K_D);
    for (int h = 0; h < 2; h++) {
        __m512i low = _mm512_loadu_si512(w + Q6K_QL + 64 * h);
        __m512i high = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + Q6K_QH + 32 * h)));
        __m512i nibble = _mm512_set1_epi8(15), top = _mm512_set1_epi8(0x30);
        u->q[2 * h] = _mm512_or_si512(_mm512_and_si512(low, nibble),
                                      _mm512_and_si512(_mm512_sllv_epi16(high, kq_two_words(4, 2)), top));
        u->q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(low, 4), nibble),
                                          _mm512_and_si512(_mm512_srlv_epi16(high, kq_two_words(0, 2)), top));
    }
    for (int j = 0; j < 4; j++)
        u->scale[j] = _mm512_permutexvar_epi16(kq_four_words(4 * j, 4 * j + 1, 4 * j + 2, 4 * j + 3), words);
}

/// Packs a Q6_K super-block for kquant_gemm.h: q − 32 as signed bytes in element order, the
/// sixteen scales, and k = 128·Σ_g s_g·Σ (q − 32) (vpdpbusd of the unsigned quants with the
/// scale bytes, less 32·16·Σ s_g).
static void pack(const uint8_t *w, kq_wblock *p) {
    const int8_t *s = (const int8_t *)(w + Q6K_SCALES);
    p->d = kq_half(w + Q6K_D);
    __m256i k = _mm256_setzero_si256(), nibble = _mm256_set1_epi8(15), two = _mm256_set1_epi8(3);
    int32_t scale_sum = 0;
    for (int g = 0; g < 16; g++) {
        p->scale[g] = s[g];
        scale_sum += s[g];
    }
    for (int h = 0; h < 2; h++) {
        __m256i high = _mm256_loadu_si256((const __m256i *)(w + Q6K_QH + 32 * h));
        for (int i = 0; i < 4; i++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(w + Q6K_QL + 64 * h + 32 * (i & 1)));
            __m256i low = _mm256_and_si256(i < 2 ? raw : _mm256_srli_epi16(raw, 4), nibble);
            __m256i top = _mm256_and_si256(_mm256_srli_epi16(high, 2 * i), two);
            __m256i q = _mm256_or_si256(low, _mm256_slli_epi16(top, 4));
            _mm256_storeu_si256((__m256i *)(p->q + 128 * h + 32 * i), _mm256_sub_epi8(q, _mm256_set1_epi8(32)));
            int g = 8 * h + 2 * i;
            k = _mm256_dpbusd_epi32(k, q, _mm256_set_m128i(_mm_set1_epi8(s[g + 1]), _mm_set1_epi8(s[g])));
        }
    }
    p->k = 128 * (kg_hsum256(k) - 32 * 16 * scale_sum);
}

/// The Q6_K matmul (kernels_internal.h): kquant_gemm.h beyond 8 tokens, kquant_engine.h up to 8.
void clex_matmul_q6_k(CLEX_MATMUL_ARGS) {
    if (tokens > KQ_GROUP)
        kg_matmul(pack, 16, 4, 0, Q6K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
    else
        kq_matmul(unpack, 1, Q6K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#elif defined(__AVX2__) && defined(__FMA__)

/// Unpacks a Q6_K super-block for kquant_engine.h's AVX2 path: chunk 4h + i (elements
/// 128h + 32i…) joins the low or high nibbles of ql[64h + 32(i & 1)…] with bits 2i, 2i + 1 of
/// qh[32h…]; its scale words are its two groups' int8 scales, 8 words each; the offset of 32
/// becomes −32·scale dotted with the activations' bsums.
static inline __attribute__((always_inline)) void unpack(const uint8_t *w, kq_block *u) {
    const int8_t *s = (const int8_t *)(w + Q6K_SCALES);
    __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)s));
    u->offset_words = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(scales, 5));
    u->d = kq_half(w + Q6K_D);
    __m256i nibble = _mm256_set1_epi8(15), top = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
        __m256i high = _mm256_loadu_si256((const __m256i *)(w + Q6K_QH + 32 * h));
        for (int i = 0; i < 4; i++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(w + Q6K_QL + 64 * h + 32 * (i & 1)));
            __m256i low = _mm256_and_si256(i < 2 ? raw : _mm256_srli_epi16(raw, 4), nibble);
            __m256i bits = i < 2 ? _mm256_slli_epi16(high, 4 - 2 * i) : _mm256_srli_epi16(high, 2 * i - 4);
            int g = 8 * h + 2 * i;
            u->q[4 * h + i] = _mm256_or_si256(low, _mm256_and_si256(bits, top));
            u->scale[4 * h + i] = _mm256_set_m128i(_mm_set1_epi16(s[g + 1]), _mm_set1_epi16(s[g]));
        }
    }
}

/// The Q6_K matmul (kernels_internal.h) on kquant_engine.h's AVX2 path.
void clex_matmul_q6_k(CLEX_MATMUL_ARGS) {
    kq_matmul(unpack, 1, Q6K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#else

/// One super-block's contribution Σ_e w_e·x_e, scalar.
static float block_dot_scalar(const uint8_t *w, const uint8_t *x) {
    const int8_t *a = (const int8_t *)(x + Q8K_QS);
    const int8_t *s = (const int8_t *)(w + Q6K_SCALES);
    int32_t group[16] = {0};
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = w + Q6K_QL + 64 * h, *qh = w + Q6K_QH + 32 * h;
        const int8_t *ah = a + 128 * h;
        int32_t *gh = group + 8 * h;
        for (int l = 0; l < 32; l++) {
            int g = l / 16;
            gh[g] += ((ql[l] & 15) | (qh[l] & 3) << 4) * ah[l];
            gh[g + 2] += ((ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4) * ah[l + 32];
            gh[g + 4] += ((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4) * ah[l + 64];
            gh[g + 6] += ((ql[l + 32] >> 4) | (qh[l] >> 6 & 3) << 4) * ah[l + 96];
        }
    }
    int32_t sumi = 0;
    for (int g = 0; g < 16; g++) sumi += s[g] * (group[g] - 32 * kq_i16(x + Q8K_BSUMS + 2 * g));
    return kq_half(w + Q6K_D) * kq_f32(x + Q8K_D) * (float)sumi;
}

/// The Q6_K matmul (kernels_internal.h), scalar: one dot product per row and token.
void clex_matmul_q6_k(CLEX_MATMUL_ARGS) {
    kq_matmul_scalar(block_dot_scalar, Q6K_BYTES, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#endif
