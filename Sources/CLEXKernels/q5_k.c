// y = W·x for Q5_K weights (ggml's block_q5_K, layout in kquant_blocks.h) and Q8_K activations
// (q8_k.c): as Q4_K (q4_k.c) with quants of 5 bits, the fifth bit taken from qh (the
// decomposition of ggml's ggml_vec_dot_q5_K_q8_K).
#include "kernels_internal.h"
#include "kquant_blocks.h"

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

void clex_matmul_q5_k(CLEX_MATMUL_ARGS) {
    int64_t blocks = k / KQ_ELEMENTS;
    size_t x_row_bytes = (size_t)blocks * Q8K_BYTES;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * w_row_bytes;
        for (int64_t t = 0; t < tokens; t++) {
            const uint8_t *xt = (const uint8_t *)xq + (size_t)t * x_row_bytes;
            float sum = 0;
            for (int64_t b = 0; b < blocks; b++) sum += block_dot_scalar(wr + b * Q5K_BYTES, xt + b * Q8K_BYTES);
            float *out = y + t * ldy + r;
            *out = accumulate ? *out + sum : sum;
        }
    }
}
