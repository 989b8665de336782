// Q4_0 weights (ggml block_q4_0, 18 bytes: fp16 d, 16 bytes of nibbles; element j < 16 is the
// low nibble of byte j, element j + 16 its high nibble; value (n − 8)·d) times q8_32 activations.
#include "block32.h"

/// One weight row times one activation row, in integers per block.
static float dot_row(const uint8_t *w, const void *x, int64_t k) {
    const int8_t *q = q8_32_values(x);
    const float *dx = q8_32_scales(x, k);
    float acc = 0;
    for (int64_t b = 0; b < k / 32; b++, w += 18) {
        int dot = 0;
        for (int j = 0; j < 16; j++) {
            dot += ((w[2 + j] & 0x0F) - 8) * q[32 * b + j];
            dot += ((w[2 + j] >> 4) - 8) * q[32 * b + j + 16];
        }
        acc += clex_load_half(w) * dx[b] * (float)dot;
    }
    return acc;
}

void clex_matmul_q4_0(CLEX_MATMUL_ARGS) {
    size_t xbytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t r = 0; r < rows; r++)
            clex_store(&y[t * ldy + r], dot_row((const uint8_t *)w + r * w_row_bytes, (const char *)xq + t * xbytes, k),
                       accumulate);
}
