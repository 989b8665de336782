// F32, F16 and BF16 weights times Float32 activations (rows of k floats).
#include "block32.h"

/// Element j of a weight row of the given type, as Float32.
typedef float (*load_fn)(const uint8_t *w, int64_t j);

static float load_f32(const uint8_t *w, int64_t j) { float v; memcpy(&v, w + 4 * j, 4); return v; }
static float load_f16(const uint8_t *w, int64_t j) { return clex_load_half(w + 2 * j); }
static float load_bf16(const uint8_t *w, int64_t j) {
    uint16_t h;
    memcpy(&h, w + 2 * j, 2);
    uint32_t bits = (uint32_t)h << 16;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

/// y (+)= W·x over all rows and tokens with elements read by `load`.
static void matmul_scalar(load_fn load, CLEX_MATMUL_ARGS) {
    const float *x = (const float *)xq;
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *wr = (const uint8_t *)w + r * w_row_bytes;
            float acc = 0;
            for (int64_t j = 0; j < k; j++) acc += load(wr, j) * x[t * k + j];
            clex_store(&y[t * ldy + r], acc, accumulate);
        }
}

void clex_matmul_f32(CLEX_MATMUL_ARGS) { matmul_scalar(load_f32, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); }
void clex_matmul_f16(CLEX_MATMUL_ARGS) { matmul_scalar(load_f16, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); }
void clex_matmul_bf16(CLEX_MATMUL_ARGS) { matmul_scalar(load_bf16, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate); }
