// Activations for weights in blocks of 32 (Q4_0, Q4_1, Q8_0): each block of 32 elements of a
// row becomes int8 values q = round(x/d) with d = amax/127, a Float32 scale d and the scaled sum
// d·Σq (layout in block32.h). The sum lets the integer kernels multiply by unsigned weight bytes
// (Q4_0's nibbles, Q8_0's bytes offset by 128, Q4_1's nibbles) and add the offset's share
// afterwards: Σ (n − c)·q = Σ n·q − c·Σq, and Q4_1's min m contributes m·d·Σq.
#include <math.h>
#include "block32.h"

size_t clex_q8_32_row_bytes(int64_t k) { return (size_t)k + 8 * (size_t)(k / 32); }

/// Quantises one row of k elements into the layout of block32.h.
static void prepare_row(const float *x, int64_t k, void *row) {
    int8_t *q = (int8_t *)row;
    float *d = (float *)((char *)row + k), *s = d + k / 32;
    for (int64_t b = 0; b < k / 32; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float scale = amax / 127, inv = amax > 0 ? 127 / amax : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int v = (int)nearbyintf(xb[j] * inv);
            q[32 * b + j] = (int8_t)v;
            sum += v;
        }
        d[b] = scale;
        s[b] = scale * (float)sum;
    }
}

void clex_q8_32_prepare(const float *x, int64_t tokens, int64_t k, void *xq) {
    size_t bytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++) prepare_row(x + t * k, k, (char *)xq + t * bytes);
}

void clex_q8_32_to_float(const void *xq, int64_t tokens, int64_t k, float *out) {
    size_t bytes = clex_q8_32_row_bytes(k);
    for (int64_t t = 0; t < tokens; t++) {
        const void *row = (const char *)xq + t * bytes;
        const int8_t *q = q8_32_values(row);
        const float *d = q8_32_scales(row, k);
        for (int64_t j = 0; j < k; j++) out[t * k + j] = d[j / 32] * (float)q[j];
    }
}
