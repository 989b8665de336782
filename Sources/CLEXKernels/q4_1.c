// Q4_1 weights (ggml block_q4_1, 20 bytes: fp16 d, fp16 m, then 16 bytes of nibbles laid out
// as in Q4_0; value n·d + m) times q8_32
// activations: block32_matmul.h holds the kernels, shared with the other blocks of 32.
#include "block32_matmul.h"

/// y (+)= W·x for Q4_1 weights and q8_32 activations.
void clex_matmul_q4_1(CLEX_MATMUL_ARGS) {
    b32_matmul(B32_Q4_1, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}
