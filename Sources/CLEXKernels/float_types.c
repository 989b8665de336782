// F32, F16 and BF16 weights times Float32 activations (rows of k floats), for decoding: reading
// the weights is the whole cost, so the kernels convert each weight vector once (F16 with
// `vcvtph2ps`, BF16 by a 16-bit shift into the high half of a Float32) and multiply it into up to
// four tokens at a time for four rows at a time (AVX-512: 16 float accumulators; AVX2: two rows,
// eight accumulators), the rows' weights staying in cache while further tokens pass over them.
// Four rows also give four independent FMA chains when decoding a single token, and the rows
// eight on are prefetched into L2 meanwhile. Any token count works (prefill of these types
// normally goes to OpenBLAS).
#include "block32.h"
#if defined(__AVX2__)
#include <immintrin.h>
#endif

enum float_type { FT_F32, FT_F16, FT_BF16 };

#define FT_INLINE static inline __attribute__((always_inline))

/// Stores v into y (or adds it when accumulating).
FT_INLINE void ft_store(float *y, float v, int accumulate) { *y = accumulate ? *y + v : v; }

#if defined(__AVX512F__)

enum { FT_LANES = 16, FT_ROWS = 4 };
typedef __m512 ft_vec;
typedef __mmask16 ft_mask;

/// Lanes < n (the lanes set in m) of the weights at w as floats, zero elsewhere.
FT_INLINE ft_vec ft_load_w(enum float_type type, const uint8_t *w, ft_mask m, int64_t n) {
    (void)n;
    switch (type) {
    case FT_F32: return _mm512_maskz_loadu_ps(m, w);
    case FT_F16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w));
    default: return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, w)), 16));
    }
}
/// The activations' lanes set in m, zero elsewhere.
FT_INLINE ft_vec ft_load_x(const float *x, ft_mask m) { return _mm512_maskz_loadu_ps(m, x); }
/// All lanes.
FT_INLINE ft_mask ft_all(void) { return (ft_mask)0xFFFF; }
/// Lanes < n.
FT_INLINE ft_mask ft_first(int64_t n) { return (ft_mask)((1u << n) - 1); }
/// Zero.
FT_INLINE ft_vec ft_zero(void) { return _mm512_setzero_ps(); }
/// a·b + c.
FT_INLINE ft_vec ft_fma(ft_vec a, ft_vec b, ft_vec c) { return _mm512_fmadd_ps(a, b, c); }
/// The sum of the lanes.
FT_INLINE float ft_sum(ft_vec v) { return _mm512_reduce_add_ps(v); }

#elif defined(__AVX2__)

enum { FT_LANES = 8, FT_ROWS = 2 };
typedef __m256 ft_vec;
typedef __m256i ft_mask;

/// Lanes < n (the lanes set in m) of the weights at w as floats, zero elsewhere.
FT_INLINE ft_vec ft_load_w(enum float_type type, const uint8_t *w, ft_mask m, int64_t n) {
    if (type == FT_F32) return _mm256_maskload_ps((const float *)w, m);
    // 16-bit elements: whole vectors load directly, a tail through a zero-padded copy
    __m128i h;
    if (n == FT_LANES) {
        h = _mm_loadu_si128((const __m128i *)w);
    } else {
        uint16_t tail[8] = {0};
        memcpy(tail, w, 2 * (size_t)n);
        h = _mm_loadu_si128((const __m128i *)tail);
    }
    if (type == FT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
/// The activations' lanes set in m, zero elsewhere.
FT_INLINE ft_vec ft_load_x(const float *x, ft_mask m) { return _mm256_maskload_ps(x, m); }
/// All lanes.
FT_INLINE ft_mask ft_all(void) { return _mm256_set1_epi32(-1); }
/// Lanes < n.
FT_INLINE ft_mask ft_first(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
/// Zero.
FT_INLINE ft_vec ft_zero(void) { return _mm256_setzero_ps(); }
/// a·b + c.
FT_INLINE ft_vec ft_fma(ft_vec a, ft_vec b, ft_vec c) { return _mm256_fmadd_ps(a, b, c); }
/// The sum of the lanes.
FT_INLINE float ft_sum(ft_vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

#endif

#if defined(__AVX2__)

/// Bytes per element.
FT_INLINE int ft_size(enum float_type type) { return type == FT_F32 ? 4 : 2; }

/// Adds elements [j, j + n) (n ≤ FT_LANES, m its mask) of R rows times T tokens into acc, and
/// prefetches the same bytes `ahead` further on into L2 (from memory, one core streams F16 at
/// ~12 GB/s with the hardware prefetchers alone).
FT_INLINE void ft_step(enum float_type type, int R, int T, const uint8_t *const *w, size_t ahead,
                       const float *const *x, int64_t j, int64_t n, ft_mask m, ft_vec acc[FT_ROWS][4]) {
    ft_vec wv[FT_ROWS];
    for (int r = 0; r < R; r++) {
        _mm_prefetch((const char *)(w[r] + j * ft_size(type) + ahead), _MM_HINT_T1);
        wv[r] = ft_load_w(type, w[r] + j * ft_size(type), m, n);
    }
    for (int t = 0; t < T; t++) {
        ft_vec xv = ft_load_x(x[t] + j, m);
        for (int r = 0; r < R; r++) acc[r][t] = ft_fma(wv[r], xv, acc[r][t]);
    }
}

/// out[r][t] = Σ_j W_r[j]·x_t[j] for R ≤ FT_ROWS rows and T ≤ 4 tokens, prefetching `ahead`.
FT_INLINE void ft_block(enum float_type type, int R, int T, const uint8_t *const *w, size_t ahead,
                        const float *const *x, int64_t k, float out[FT_ROWS][4]) {
    ft_vec acc[FT_ROWS][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = ft_zero();
    int64_t j = 0;
    for (; j + FT_LANES <= k; j += FT_LANES) ft_step(type, R, T, w, ahead, x, j, FT_LANES, ft_all(), acc);
    if (j < k) ft_step(type, R, T, w, ahead, x, j, k - j, ft_first(k - j), acc);
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) out[r][t] = ft_sum(acc[r][t]);
}

/// ft_block with R and T as compile-time constants (R either FT_ROWS or 1).
FT_INLINE void ft_dispatch(enum float_type type, int R, int T, const uint8_t *const *w, size_t ahead,
                           const float *const *x, int64_t k, float out[FT_ROWS][4]) {
#define FT_CASE(r, t) if (R == r && T == t) { ft_block(type, r, t, w, ahead, x, k, out); return; }
    FT_CASE(FT_ROWS, 1) FT_CASE(FT_ROWS, 2) FT_CASE(FT_ROWS, 3) FT_CASE(FT_ROWS, 4)
    FT_CASE(1, 1) FT_CASE(1, 2) FT_CASE(1, 3) FT_CASE(1, 4)
#undef FT_CASE
}

/// The matmul: blocks of FT_ROWS rows (single rows at the end), tokens 4 at a time per block.
FT_INLINE void ft_matmul(enum float_type type, CLEX_MATMUL_ARGS) {
    const float *xf = (const float *)xq;
    for (int64_t r0 = 0; r0 < rows;) {
        int R = rows - r0 >= FT_ROWS ? FT_ROWS : 1;
        const uint8_t *wr[FT_ROWS];
        for (int r = 0; r < R; r++) wr[r] = (const uint8_t *)w + (r0 + r) * w_row_bytes;
        for (int64_t t0 = 0; t0 < tokens; t0 += 4) {
            int T = tokens - t0 < 4 ? (int)(tokens - t0) : 4;
            const float *xt[4];
            for (int t = 0; t < T; t++) xt[t] = xf + (t0 + t) * k;
            float out[FT_ROWS][4];
            ft_dispatch(type, R, T, wr, 2 * FT_ROWS * w_row_bytes, xt, k, out);
            for (int r = 0; r < R; r++)
                for (int t = 0; t < T; t++) ft_store(&y[(t0 + t) * ldy + r0 + r], out[r][t], accumulate);
        }
        r0 += R;
    }
}

#else

/// Element j of a weight row as Float32.
FT_INLINE float ft_load(enum float_type type, const uint8_t *w, int64_t j) {
    float v;
    if (type == FT_F16) return clex_load_half(w + 2 * j);
    if (type == FT_F32) {
        memcpy(&v, w + 4 * j, 4);
    } else {
        uint16_t h;
        memcpy(&h, w + 2 * j, 2);
        uint32_t bits = (uint32_t)h << 16;
        memcpy(&v, &bits, 4);
    }
    return v;
}

/// The matmul one row and one token at a time.
FT_INLINE void ft_matmul(enum float_type type, CLEX_MATMUL_ARGS) {
    const float *x = (const float *)xq;
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *wr = (const uint8_t *)w + r * w_row_bytes;
            float acc = 0;
            for (int64_t j = 0; j < k; j++) acc += ft_load(type, wr, j) * x[t * k + j];
            ft_store(&y[t * ldy + r], acc, accumulate);
        }
}

#endif

/// y (+)= W·x for F32 weights and Float32 activations.
void clex_matmul_f32(CLEX_MATMUL_ARGS) { ft_matmul(FT_F32, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); }
/// y (+)= W·x for F16 weights and Float32 activations.
void clex_matmul_f16(CLEX_MATMUL_ARGS) { ft_matmul(FT_F16, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); }
/// y (+)= W·x for BF16 weights and Float32 activations.
void clex_matmul_bf16(CLEX_MATMUL_ARGS) { ft_matmul(FT_BF16, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); }
