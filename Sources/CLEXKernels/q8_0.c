// Q8_0 weights (ggml block_q8_0, 34 bytes: fp16 d, 32 int8; value q·d) times q8_32 activations.
#include "block32.h"

/// One weight row times one activation row, in integers per block.
static float dot_row(const uint8_t *w, const void *x, int64_t k) {
    const int8_t *q = q8_32_values(x);
    const float *dx = q8_32_scales(x, k);
    float acc = 0;
    for (int64_t b = 0; b < k / 32; b++, w += 34) {
        int dot = 0;
        for (int j = 0; j < 32; j++) dot += (int8_t)w[2 + j] * q[32 * b + j];
        acc += clex_load_half(w) * dx[b] * (float)dot;
    }
    return acc;
}

void clex_matmul_q8_0(CLEX_MATMUL_ARGS) {
    size_t xbytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t r = 0; r < rows; r++)
            clex_store(&y[t * ldy + r], dot_row((const uint8_t *)w + r * w_row_bytes, (const char *)xq + t * xbytes, k),
                       accumulate);
}
