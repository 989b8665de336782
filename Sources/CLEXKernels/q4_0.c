// Q4_0 weights (ggml block_q4_0, 18 bytes: fp16 d, then 16 bytes of nibbles; element j < 16 is the low
// nibble of byte j, element j + 16 its high nibble; value (n − 8)·d) times q8_32
// activations: block32_matmul.h holds the kernels, shared with the other blocks of 32.
#include "block32_matmul.h"

/// y (+)= W·x for Q4_0 weights and q8_32 activations.
void clex_matmul_q4_0(CLEX_MATMUL_ARGS) {
    b32_matmul(B32_Q4_0, w, w_row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
}
