// y = W·x for Q4_K weights (ggml's block_q4_K, layout in kquant_blocks.h) and Q8_K activations
// (q8_k.c). Per super-block and token the integer part is exact:
//   Σ_e w_e·x_e = d_w·d_x·Σ_j sc_j·Σ_{e∈j} q_e·a_e − dmin_w·d_x·Σ_j m_j·(bsum_{2j} + bsum_{2j+1}),
// the same decomposition as ggml's ggml_vec_dot_q4_K_q8_K (ggml-cpu/quants.c and its x86 version).
#include "kernels_internal.h"
#include "kquant_blocks.h"

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

void clex_matmul_q4_k(CLEX_MATMUL_ARGS) {
    int64_t blocks = k / KQ_ELEMENTS;
    size_t x_row_bytes = (size_t)blocks * Q8K_BYTES;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * w_row_bytes;
        for (int64_t t = 0; t < tokens; t++) {
            const uint8_t *xt = (const uint8_t *)xq + (size_t)t * x_row_bytes;
            float sum = 0;
            for (int64_t b = 0; b < blocks; b++) sum += block_dot_scalar(wr + b * Q4K_BYTES, xt + b * Q8K_BYTES);
            float *out = y + t * ldy + r;
            *out = accumulate ? *out + sum : sum;
        }
    }
}
