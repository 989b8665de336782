// Q4_1 weights (ggml block_q4_1, 20 bytes: fp16 d, fp16 m, 16 bytes of nibbles laid out as in
// Q4_0; value n·d + m) times q8_32 activations: Σ (n·d + m)·x = d·d_x·Σ n·q + m·(d_x·Σq).
#include "block32.h"

/// One weight row times one activation row, in integers per block.
static float dot_row(const uint8_t *w, const void *x, int64_t k) {
    const int8_t *q = q8_32_values(x);
    const float *dx = q8_32_scales(x, k), *sx = q8_32_sums(x, k);
    float acc = 0;
    for (int64_t b = 0; b < k / 32; b++, w += 20) {
        int dot = 0;
        for (int j = 0; j < 16; j++) {
            dot += (w[4 + j] & 0x0F) * q[32 * b + j];
            dot += (w[4 + j] >> 4) * q[32 * b + j + 16];
        }
        acc += clex_load_half(w) * dx[b] * (float)dot + clex_load_half(w + 2) * sx[b];
    }
    return acc;
}

void clex_matmul_q4_1(CLEX_MATMUL_ARGS) {
    size_t xbytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t r = 0; r < rows; r++)
            clex_store(&y[t * ldy + r], dot_row((const uint8_t *)w + r * w_row_bytes, (const char *)xq + t * xbytes, k),
                       accumulate);
}
