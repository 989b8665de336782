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
// - Few tokens (decoding): weights are read once, straight from their bytes. Two blocks are
//   unpacked into two 256-bit registers in the activations' pair order (block32.h), so two
//   `vpdpbusd` leave the pair's sums in alternate lanes: one conversion and one FMA by a broadcast
//   pair of scales serve two blocks. A group of eight blocks converts its eight fp16 scales at
//   once, packed into two 64-bit integers by the integer ALUs (a gather, or a word permute over
//   the group's bytes, was slower). Register blocks of 4 rows × 1 token, 2 × 2 or 1 × up to 4
//   keep four independent FMA chains; four rows stay in cache while further tokens pass.
//   Each group also prefetches the same bytes eight rows on into L2.
// - Many tokens (prefill, VNNI only): 48 rows at a time are unpacked into a tile where each
//   512-bit register holds the same four elements of 16 rows, so one `vpdpbusd` multiplies 16
//   rows by four activation bytes broadcast from one token; a register block of 48 rows × 5
//   tokens keeps 15 integer and 15 float accumulators, and the integer-to-float conversion and
//   scaling happen once per block of 32 elements for 16 rows at a time (8 `vpdpbusd` to 3 float
//   operations). The integer accumulators start at −offset·Σq, exact. The tile (48·k bytes plus
//   scales, L2-resident) serves every token; unpacking it costs ~3% at 64 tokens.
// Register widths follow the data: on Zen 4 `vpdpbusd` retires 64 byte products per cycle either
// way (measured: two 256-bit or one 512-bit per cycle), and a block pair fills 256 bits while
// 16 rows fill 512.
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
    const int64_t nb = k / 32;
    const int8_t *q = q8_32_values(x);
    const float *dx = q8_32_scales(x, k);
    const int32_t *sx = q8_32_sums(x, k);
    float acc = 0;
    for (int64_t b = 0; b < nb; b++, w += bs) {
        const uint8_t *qs = w + off;
        int32_t dot = 0;
        if (type == B32_Q8_0) {
            for (int e = 0; e < 32; e++) dot += (int8_t)qs[e] * q[q8_32_offset(b, e, nb)];
        } else {
            for (int e = 0; e < 16; e++)
                dot += (qs[e] & 0x0F) * q[q8_32_offset(b, e, nb)] + (qs[e] >> 4) * q[q8_32_offset(b, e + 16, nb)];
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
/// for Q8_0 without VNNI: b32_dot moves their signs); for the last block of an odd count.
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

/// Two blocks' weights (a, b) as the unsigned operands of b32_dot_pair in the activations' pair
/// order (block32.h): lo holds elements 0-15 of both, hi elements 16-31.
B32_INLINE void b32_unpack_pair(enum b32_type type, const uint8_t *a, const uint8_t *b, __m256i *lo, __m256i *hi) {
    if (type == B32_Q8_0) {
        __m256i wa = _mm256_loadu_si256((const __m256i *)(a + 2)), wb = _mm256_loadu_si256((const __m256i *)(b + 2));
#if defined(__AVX512VL__)
        *lo = _mm256_permutex2var_epi32(wa, _mm256_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11), wb);
        *hi = _mm256_permutex2var_epi32(wa, _mm256_setr_epi32(4, 12, 5, 13, 6, 14, 7, 15), wb);
#else
        __m256i l = _mm256_unpacklo_epi32(wa, wb), h = _mm256_unpackhi_epi32(wa, wb);
        *lo = _mm256_permute2x128_si256(l, h, 0x20);
        *hi = _mm256_permute2x128_si256(l, h, 0x31);
#endif
        if (B32_VNNI) {
            *lo = _mm256_xor_si256(*lo, _mm256_set1_epi8((char)0x80));
            *hi = _mm256_xor_si256(*hi, _mm256_set1_epi8((char)0x80));
        }
        return;
    }
    // each dword of the 16 nibble bytes holds elements 4i…4i+3 (low nibbles) and 16+4i… (high)
    const int off = b32_quant_offset(type);
    __m128i qa = _mm_loadu_si128((const __m128i *)(a + off)), qb = _mm_loadu_si128((const __m128i *)(b + off));
#if defined(__AVX512VL__)
    __m256i v = _mm256_permutex2var_epi32(_mm256_castsi128_si256(qa), _mm256_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11),
                                          _mm256_castsi128_si256(qb));
#else
    __m256i v = _mm256_permutevar8x32_epi32(_mm256_set_m128i(qb, qa), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
#endif
    *lo = _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
    *hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
}

/// Eight int32 lanes of a block pair's dot products with the 64 activation bytes at x: the even
/// lanes sum to block A's Σ u·q, the odd lanes to block B's.
B32_INLINE __m256i b32_dot_pair(enum b32_type type, __m256i lo, __m256i hi, const int8_t *x) {
    __m256i x0 = _mm256_loadu_si256((const __m256i *)x), x1 = _mm256_loadu_si256((const __m256i *)(x + 32));
#if B32_VNNI
    (void)type;
    return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), lo, x0), hi, x1);
#else
    const __m256i ones = _mm256_set1_epi16(1);
    if (type == B32_Q8_0) {  // |w|·(x with w's sign): each half may reach 2·128·127, so widen apart
        __m256i l = _mm256_maddubs_epi16(_mm256_abs_epi8(lo), _mm256_sign_epi8(x0, lo));
        __m256i h = _mm256_maddubs_epi16(_mm256_abs_epi8(hi), _mm256_sign_epi8(x1, hi));
        return _mm256_add_epi32(_mm256_madd_epi16(l, ones), _mm256_madd_epi16(h, ones));
    }
    return _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(lo, x0), _mm256_maddubs_epi16(hi, x1)), ones);
#endif
}

/// Eight fp16 values at w + offset + i·stride (i < n ≤ 8; zero beyond) as floats. The halves
/// are packed into two 64-bit integers by the integer ALUs, which the vector kernels leave idle,
/// then converted at once; a gather, or a word permute over the group's bytes (AVX-512 VBMI
/// `vpermt2b`), was slower.
B32_INLINE __m256 b32_halves8(const uint8_t *w, int offset, int stride, int n) {
    // a loop of constant length, fully unrolled into registers: with a loop to n the halves
    // went through memory (a store-forwarding chain), and the last group of a row of 18 blocks
    // cost as much as the other 16 blocks together
    uint64_t lo = 0, hi = 0;
    for (int i = 0; i < 8; i++) {
        uint16_t h = 0;
        if (i < n) memcpy(&h, w + offset + i * stride, 2);
        if (i < 4) lo |= (uint64_t)h << (16 * i);
        else hi |= (uint64_t)h << (16 * (i - 4));
    }
    return _mm256_cvtph_ps(_mm_set_epi64x((long long)hi, (long long)lo));
}

/// The sum of the eight lanes.
B32_INLINE float b32_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/// Rows per call of b32_rows for T tokens: R·T = 4 products in flight.
B32_INLINE int b32_rows_for(int T) { return T == 1 ? 4 : T == 2 ? 2 : 1; }

/// Accumulators per row and token in b32_rows: with the group's four block pairs spread over
/// them, at least four independent FMA chains hide the latency.
B32_INLINE int b32_chains(int R, int T) { return R * T >= 4 ? 1 : 4 / (R * T); }

/// Adds blocks b0…b0+n−1 (n ≤ 8) of R weight rows times T activation rows into acc and cor
/// (b32_rows' accumulators; `valid` marks lanes < n), prefetching the bytes `ahead` further on.
B32_INLINE void b32_group(enum b32_type type, int R, int T, int n, __m256i valid, const uint8_t *const *w,
                          size_t ahead, int64_t b0, const int8_t *const *q, const float *const *dx, const int32_t *const *sx,
                          __m256 acc[4][4][4], __m256 cor[4][4]) {
    const int bs = b32_block_bytes(type), chains = b32_chains(R, T);
    _Alignas(32) float scale[4][4][8];
    __m256 dxt[4], st[4];
    for (int t = 0; t < T; t++) {
        dxt[t] = n == 8 ? _mm256_loadu_ps(dx[t] + b0) : _mm256_maskload_ps(dx[t] + b0, valid);
        if (type == B32_Q4_1 || b32_offset(type))
            st[t] = _mm256_cvtepi32_ps(n == 8 ? _mm256_loadu_si256((const __m256i *)(sx[t] + b0))
                                              : _mm256_maskload_epi32(sx[t] + b0, valid));
    }
    for (int r = 0; r < R; r++) {
        const uint8_t *g = w[r] + b0 * bs;
        // the same bytes eight rows on, into L2: from memory, one core streams Q4_0 at ~11 GB/s
        // with the hardware prefetchers alone, ~11 with this prefetch into L1, ~18 into L2
        for (int line = 0; line < 8 * bs; line += 64) _mm_prefetch((const char *)(g + ahead + line), _MM_HINT_T1);
        __m256 d = b32_halves8(g, 0, bs, n);
        __m256 m = type == B32_Q4_1 ? b32_halves8(g, 2, bs, n) : _mm256_setzero_ps();
        for (int t = 0; t < T; t++) {
            __m256 dd = _mm256_mul_ps(d, dxt[t]);
            _mm256_store_ps(scale[r][t], dd);
            if (type == B32_Q4_1) cor[r][t] = _mm256_fmadd_ps(m, _mm256_mul_ps(dxt[t], st[t]), cor[r][t]);
            else if (b32_offset(type)) cor[r][t] = _mm256_fmadd_ps(dd, st[t], cor[r][t]);
        }
    }
    // with three or four tokens, keeps the compiler from turning the broadcasts from `scale` into
    // register shuffles, which compete with the weights' permutes (memory broadcasts need only
    // the load units): +8% at four tokens, −3% at one
    if (T >= 3) __asm__ volatile("" ::: "memory");
    int i = 0;
    for (; i + 1 < n; i += 2) {
        for (int r = 0; r < R; r++) {
            __m256i lo, hi;
            b32_unpack_pair(type, w[r] + (b0 + i) * bs, w[r] + (b0 + i + 1) * bs, &lo, &hi);
            for (int t = 0; t < T; t++) {
                __m256i dot = b32_dot_pair(type, lo, hi, q[t] + 32 * (b0 + i));
                __m256 *a = &acc[r][t][(i / 2) % chains];
                __m256 pair_scale = _mm256_castpd_ps(_mm256_broadcast_sd((const double *)&scale[r][t][i]));
                *a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), pair_scale, *a);
            }
        }
    }
    if (i < n) {
        for (int r = 0; r < R; r++) {
            __m256i u = b32_unpack(type, w[r] + (b0 + i) * bs);
            for (int t = 0; t < T; t++) {
                __m256i dot = b32_dot(type, u, q[t] + 32 * (b0 + i));
                acc[r][t][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(&scale[r][t][i]),
                                               acc[r][t][0]);
            }
        }
    }
}

/// out[r][t] = Σ_j W_r[j]·x_t[j] for R weight rows at w[r] and T activation rows at x + t·xbytes
/// (R·T ≤ 4: R = 4 rows for one token, one row for up to four); prefetches `ahead` bytes on.
B32_INLINE void b32_rows(enum b32_type type, int R, int T, const uint8_t *const *w, size_t ahead, const char *x,
                         size_t xbytes, int64_t k, float out[4][4]) {
    const int64_t nb = k / 32;
    const int chains = b32_chains(R, T);
    const int8_t *q[4];
    const float *dx[4];
    const int32_t *sx[4];
    __m256 acc[4][4][4], cor[4][4];
    for (int t = 0; t < T; t++) {
        q[t] = q8_32_values(x + t * xbytes);
        dx[t] = q8_32_scales(x + t * xbytes, k);
        sx[t] = q8_32_sums(x + t * xbytes, k);
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) {
            cor[r][t] = _mm256_setzero_ps();
            for (int c = 0; c < chains; c++) acc[r][t][c] = _mm256_setzero_ps();
        }
    int64_t b0 = 0;
    for (; b0 + 8 <= nb; b0 += 8) b32_group(type, R, T, 8, _mm256_set1_epi32(-1), w, ahead, b0, q, dx, sx, acc, cor);
    if (b0 < nb) {
        int n = (int)(nb - b0);
        __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        b32_group(type, R, T, n, valid, w, ahead, b0, q, dx, sx, acc, cor);
    }
    const __m256 offset = _mm256_set1_ps(type == B32_Q4_1 ? -1.0f : (float)b32_offset(type));
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) {
            __m256 sum = _mm256_fnmadd_ps(offset, cor[r][t], acc[r][t][0]);
            for (int c = 1; c < chains; c++) sum = _mm256_add_ps(sum, acc[r][t][c]);
            out[r][t] = b32_hsum(sum);
        }
}

/// b32_rows with R and T as compile-time constants: R = b32_rows_for(T), or 1.
B32_INLINE void b32_rows_dispatch(enum b32_type type, int R, int T, const uint8_t *const *w, size_t ahead,
                                  const char *x, size_t xbytes, int64_t k, float out[4][4]) {
#define B32_CASE(r, t) if (R == r && T == t) { b32_rows(type, r, t, w, ahead, x, xbytes, k, out); return; }
    B32_CASE(4, 1) B32_CASE(2, 2) B32_CASE(1, 1) B32_CASE(1, 2) B32_CASE(1, 3) B32_CASE(1, 4)
#undef B32_CASE
}

/// The matmul straight from the weights: four rows at a time, and for them tokens four at a time
/// (the four rows stay in cache while further tokens pass over them).
B32_INLINE void b32_matmul_rows(enum b32_type type, CLEX_MATMUL_ARGS) {
    size_t xbytes = clex_q8_32_row_bytes(k);
    for (int64_t r0 = 0; r0 < rows; r0 += 4) {
        int nr = rows - r0 < 4 ? (int)(rows - r0) : 4;
        for (int64_t t0 = 0; t0 < tokens; t0 += 4) {
            int T = tokens - t0 < 4 ? (int)(tokens - t0) : 4;
            for (int r = 0; r < nr;) {
                int R = nr - r >= b32_rows_for(T) ? b32_rows_for(T) : 1;
                const uint8_t *wr[4];
                for (int i = 0; i < R; i++) wr[i] = (const uint8_t *)w + (r0 + r + i) * w_row_bytes;
                float out[4][4];
                b32_rows_dispatch(type, R, T, wr, 8 * w_row_bytes, (const char *)xq + t0 * xbytes, xbytes, k, out);
                for (int i = 0; i < R; i++)
                    for (int t = 0; t < T; t++) b32_store(&y[(t0 + t) * ldy + r0 + r + i], out[i][t], accumulate);
                r += R;
            }
        }
    }
}

#if B32_VNNI

// MARK: - Many tokens: tiles of B32_TILE_VECS × 16 rows, 16 rows to a register

/// Register block: B32_TILE_VECS × 16 rows times B32_TILE_TOKENS tokens (15 integer and 15 float
/// accumulators; measured against 2 × 6, 2 × 7, 3 × 4, 4 × 3, 1 × 12: 3 × 5 was fastest by a few
/// percent for all three types). From B32_TILE_MIN_TOKENS tokens on, tiles beat the row kernels.
enum { B32_TILE_VECS = 3, B32_TILE_TOKENS = 5, B32_TILE_ROWS = 16 * B32_TILE_VECS, B32_TILE_MIN_TOKENS = 8 };
/// Bytes of one block in a tile: for each group g of four elements, B32_TILE_ROWS rows × 4 bytes
/// (row r's elements 4g…4g+3 at 4·(B32_TILE_ROWS·g + r)); then the rows' float scales d, then
/// their float mins m (Q4_1).
enum { B32_TILE_GROUP = 4 * B32_TILE_ROWS, B32_TILE_BLOCK = 10 * B32_TILE_GROUP };

/// Unpacks n ≤ B32_TILE_ROWS rows starting at w into the tile (rows ≥ n become zero) as unsigned
/// bytes, 16 rows at a time by gathers. With `prefetch`, also fetches the next tile's rows into L2
/// meanwhile (for few tokens, when reading the weights is most of the time).
B32_INLINE void b32_unpack_tile(enum b32_type type, const uint8_t *w, size_t w_row_bytes, int n, int64_t nb,
                                uint8_t *tile, int prefetch) {
    const int bs = b32_block_bytes(type), off = b32_quant_offset(type);
    const __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)w_row_bytes));
    const __m512i low = _mm512_set1_epi8(0x0F);
    for (int h = 0; h < B32_TILE_VECS; h++) {
        int nh = n - 16 * h < 0 ? 0 : n - 16 * h > 16 ? 16 : n - 16 * h;
        __mmask16 valid = (__mmask16)((1u << nh) - 1);
        const uint8_t *base = w + 16 * h * w_row_bytes;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *block = base + b * bs;
            uint8_t *out = tile + b * B32_TILE_BLOCK + 64 * h;
            if (prefetch) {  // the next tile is contiguous: 16·bs bytes of it per step
                const uint8_t *next = w + B32_TILE_ROWS * w_row_bytes + (h * nb + b) * 16 * bs;
                for (int line = 0; line < 16 * bs; line += 64) _mm_prefetch((const char *)(next + line), _MM_HINT_T1);
            }
            if (type == B32_Q8_0) {
                for (int g = 0; g < 8; g++) {
                    __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, rows, block + 2 + 4 * g, 1);
                    _mm512_store_si512(out + B32_TILE_GROUP * g, _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80)));
                }
            } else {
                for (int g = 0; g < 4; g++) {
                    __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, rows, block + off + 4 * g, 1);
                    _mm512_store_si512(out + B32_TILE_GROUP * g, _mm512_and_si512(v, low));
                    _mm512_store_si512(out + B32_TILE_GROUP * (g + 4), _mm512_and_si512(_mm512_srli_epi32(v, 4), low));
                }
            }
            __m512i raw = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, rows, block, 1);
            _mm512_store_ps(out + 8 * B32_TILE_GROUP, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw)));
            if (type == B32_Q4_1)
                _mm512_store_ps(out + 9 * B32_TILE_GROUP,
                                _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(raw, 16))));
        }
    }
}

/// acc[h][t] = the 16 rows 16h… of the tile times token t, for h < V ≤ B32_TILE_VECS and
/// T ≤ B32_TILE_TOKENS tokens at x + t·xbytes.
B32_INLINE void b32_tile_tokens(enum b32_type type, int V, int T, const uint8_t *tile, int64_t nb, const char *x,
                                size_t xbytes, int64_t k, __m512 acc[B32_TILE_VECS][B32_TILE_TOKENS]) {
    const int8_t *q[B32_TILE_TOKENS];
    const float *dx[B32_TILE_TOKENS];
    const int32_t *sx[B32_TILE_TOKENS];
    for (int t = 0; t < T; t++) {
        q[t] = q8_32_values(x + t * xbytes);
        dx[t] = q8_32_scales(x + t * xbytes, k);
        sx[t] = q8_32_sums(x + t * xbytes, k);
        for (int h = 0; h < V; h++) acc[h][t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *tb = tile + b * B32_TILE_BLOCK;
        // elements 4g…4g+3 of block b sit at q + base + stride·g (block32.h's pair order)
        const int64_t base = q8_32_offset(b, 0, nb), stride = (b | 1) < nb ? 8 : 4;
        __m512i dot[B32_TILE_VECS][B32_TILE_TOKENS];
        for (int t = 0; t < T; t++) {
            __m512i start = _mm512_set1_epi32(-b32_offset(type) * sx[t][b]);
            for (int h = 0; h < V; h++) dot[h][t] = start;
        }
        for (int g = 0; g < 8; g++) {
            __m512i wv[B32_TILE_VECS];
            for (int h = 0; h < V; h++) wv[h] = _mm512_load_si512(tb + B32_TILE_GROUP * g + 64 * h);
            for (int t = 0; t < T; t++) {
                int32_t four;
                memcpy(&four, q[t] + base + stride * g, 4);
                __m512i xb = _mm512_set1_epi32(four);
                for (int h = 0; h < V; h++) dot[h][t] = _mm512_dpbusd_epi32(dot[h][t], wv[h], xb);
            }
        }
        for (int h = 0; h < V; h++) {
            __m512 d = _mm512_load_ps(tb + 8 * B32_TILE_GROUP + 64 * h);
            for (int t = 0; t < T; t++) {
                __m512 s = _mm512_set1_ps(dx[t][b]);
                acc[h][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[h][t]), _mm512_mul_ps(d, s), acc[h][t]);
                if (type == B32_Q4_1)
                    acc[h][t] = _mm512_fmadd_ps(_mm512_load_ps(tb + 9 * B32_TILE_GROUP + 64 * h),
                                                _mm512_set1_ps(dx[t][b] * (float)sx[t][b]), acc[h][t]);
            }
        }
    }
}

/// b32_tile_tokens with V and T as compile-time constants.
B32_INLINE void b32_tile_dispatch(enum b32_type type, int V, int T, const uint8_t *tile, int64_t nb, const char *x,
                                  size_t xbytes, int64_t k, __m512 acc[B32_TILE_VECS][B32_TILE_TOKENS]) {
#define B32_CASE(v, t) if (V == v && T == t) { b32_tile_tokens(type, v, t, tile, nb, x, xbytes, k, acc); return; }
#define B32_CASES(v) B32_CASE(v, 1) B32_CASE(v, 2) B32_CASE(v, 3) B32_CASE(v, 4) B32_CASE(v, 5)
    B32_CASES(1) B32_CASES(2) B32_CASES(3)
#undef B32_CASES
#undef B32_CASE
}

/// The matmul in tiles of B32_TILE_ROWS rows × all tokens, B32_TILE_TOKENS tokens to a register
/// block, into the calling thread's scratch `tile` (nb·B32_TILE_BLOCK bytes).
B32_INLINE void b32_matmul_tiles(enum b32_type type, uint8_t *tile, CLEX_MATMUL_ARGS) {
    const int64_t nb = k / 32;
    const size_t xbytes = clex_q8_32_row_bytes(k);
    for (int64_t r0 = 0; r0 < rows; r0 += B32_TILE_ROWS) {
        int n = rows - r0 < B32_TILE_ROWS ? (int)(rows - r0) : B32_TILE_ROWS;
        b32_unpack_tile(type, (const uint8_t *)w + r0 * w_row_bytes, w_row_bytes, n, nb, tile, tokens < 64);
        const int V = (n + 15) / 16;
        __mmask16 valid[B32_TILE_VECS];
        for (int h = 0; h < V; h++) {
            int nh = n - 16 * h < 0 ? 0 : n - 16 * h > 16 ? 16 : n - 16 * h;
            valid[h] = (__mmask16)((1u << nh) - 1);
        }
        for (int64_t t0 = 0; t0 < tokens; t0 += B32_TILE_TOKENS) {
            const char *x = (const char *)xq + t0 * xbytes;
            __m512 acc[B32_TILE_VECS][B32_TILE_TOKENS];
            int T = tokens - t0 < B32_TILE_TOKENS ? (int)(tokens - t0) : B32_TILE_TOKENS;
            b32_tile_dispatch(type, V, T, tile, nb, x, xbytes, k, acc);
            for (int t = 0; t < T; t++)
                for (int h = 0; h < V; h++) {
                    float *yt = y + (t0 + t) * ldy + r0 + 16 * h;
                    __m512 v = acc[h][t];
                    if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(valid[h], yt));
                    _mm512_mask_storeu_ps(yt, valid[h], v);
                }
        }
    }
}

#endif

/// The matmul: tiles for many tokens (with VNNI, and memory for the tile), else rows straight
/// from the weights.
B32_INLINE void b32_matmul(enum b32_type type, CLEX_MATMUL_ARGS) {
#if B32_VNNI
    uint8_t *tile;
    if (tokens >= B32_TILE_MIN_TOKENS && (tile = clex_block32_scratch((size_t)(k / 32) * B32_TILE_BLOCK))) {
        b32_matmul_tiles(type, tile, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
        return;
    }
#endif
    b32_matmul_rows(type, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}

#endif

#endif
