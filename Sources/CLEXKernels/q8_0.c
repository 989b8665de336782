// Q8_0 weights (ggml block_q8_0, 34 bytes: fp16 d, then 32 int8 q; value q·d) times q8_32
// activations: block32_matmul.h holds the kernels, shared with the other blocks of 32.
#include "block32_matmul.h"

/// y (+)= W·x for Q8_0 weights and q8_32 activations.
void clex_matmul_q8_0(CLEX_MATMUL_ARGS) {
    b32_matmul(B32_Q8_0, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}
