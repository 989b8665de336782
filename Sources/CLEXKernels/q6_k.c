// y = W·x for Q6_K weights (ggml's block_q6_K, layout in kquant_blocks.h) and Q8_K activations
// (q8_k.c). The quants are multiplied unsigned (0…63) and the offset of 32 is taken back per
// group of 16 through the activations' sums:
//   Σ_e w_e·x_e = d_w·d_x·Σ_g s_g·(Σ_{e∈g} q_e·a_e − 32·bsum_g),
// as ggml's x86 ggml_vec_dot_q6_K_q8_K does.
#include "kernels_internal.h"
#include "kquant_blocks.h"

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

void clex_matmul_q6_k(CLEX_MATMUL_ARGS) {
    int64_t blocks = k / KQ_ELEMENTS;
    size_t x_row_bytes = (size_t)blocks * Q8K_BYTES;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * w_row_bytes;
        for (int64_t t = 0; t < tokens; t++) {
            const uint8_t *xt = (const uint8_t *)xq + (size_t)t * x_row_bytes;
            float sum = 0;
            for (int64_t b = 0; b < blocks; b++) sum += block_dot_scalar(wr + b * Q6K_BYTES, xt + b * Q8K_BYTES);
            float *out = y + t * ldy + r;
            *out = accumulate ? *out + sum : sum;
        }
    }
}
