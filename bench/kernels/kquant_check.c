// Checks the k-quant kernels (clex_matmul for Q4_K, Q5_K, Q6_K) against a Double product of the
// weights dequantised element by element from ggml's layout (ggml-common.h) and the prepared
// activations as floats, |error| ≤ 1e-5·Σ|w·x| per output, for odd row counts, k from 256 to
// 5632, tokens 1…300, unaligned weights, ldy > rows and both accumulate modes; and that every
// prepared activation lies within half a step of its input (up to the rounding of x·(127/max)). The Swift tests
// (KQuantKernelTests) check the path the machine builds; this standalone program lets one
// build the other paths on the same machine:
//   for arch in native haswell x86-64; do cc -O3 -march=$arch -I Sources/CLEXKernels/include
//     Sources/CLEXKernels/*.c bench/kernels/kquant_check.c -lm -o /tmp/kquant_check &&
//     /tmp/kquant_check; done
// (`-march=haswell` gives the AVX2 path, `x86-64` the scalar one; the path is printed first.)
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clex_kernels.h"

/// xorshift64 draws.
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float frand(void) { return (float)(rng() >> 40) * (2.0f / 16777216.0f) - 1; }

/// IEEE half → float (normal and subnormal; the fixtures hold no inf/NaN).
static float half_to_float(const uint8_t *p) {
    int h = p[0] | p[1] << 8, e = (h >> 10) & 31, m = h & 1023;
    float v = e ? ldexpf((float)(m | 1024), e - 25) : ldexpf((float)m, -24);
    return h & 0x8000 ? -v : v;
}

/// Float → IEEE half bits, for small positive normal values.
static uint16_t float_to_half(float f) {
    int e;
    float m = frexpf(f, &e);  // f = m·2^e, m in [0.5, 1)
    return (uint16_t)((e + 14) << 10 | ((int)lrintf(m * 2048) & 1023));
}

/// Sub-block j's 6-bit scale and min of a Q4_K/Q5_K super-block's 12 packed bytes.
static void scale_min(const uint8_t *s, int j, int *sc, int *m) {
    *sc = j < 4 ? s[j] & 63 : (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
    *m = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | (s[j] >> 6) << 4;
}

/// Element e of a super-block of `type` at `w`, read from the layout.
static double weight(int type, const uint8_t *w, int e) {
    if (type == 14) {
        int h = e / 128, i = e % 128 / 32, l = e % 32;
        int byte = w[64 * h + l + 32 * (i & 1)], low = i < 2 ? byte & 15 : byte >> 4;
        int high = w[128 + 32 * h + l] >> (2 * i) & 3;
        return (double)half_to_float(w + 208) * (int8_t)w[192 + e / 16] * ((low | high << 4) - 32);
    }
    int c = e / 64, upper = e % 64 >= 32, l = e % 32, sc, m;
    scale_min(w + 4, e / 32, &sc, &m);
    int qs = type == 13 ? 48 : 16, q = upper ? w[qs + 32 * c + l] >> 4 : w[qs + 32 * c + l] & 15;
    if (type == 13) q |= (w[16 + l] >> (2 * c + upper) & 1) << 4;
    return (double)half_to_float(w) * sc * q - (double)half_to_float(w + 2) * m;
}

static int block_bytes(int type) { return type == 12 ? 144 : type == 13 ? 176 : 210; }

/// Random bytes with small positive scales d, dmin.
static void fill(int type, uint8_t *w) {
    for (int i = 0; i < block_bytes(type); i++) w[i] = (uint8_t)rng();
    uint16_t d = float_to_half(0.001f + 0.01f * (frand() + 1)), dmin = float_to_half(0.001f + 0.005f * (frand() + 1));
    memcpy(w + (type == 14 ? 208 : 0), &d, 2);
    if (type != 14) memcpy(w + 2, &dmin, 2);
}

int main(void) {
    static const int types[] = {12, 13, 14}, ks[] = {256, 512, 2048, 5632}, token_counts[] = {1, 2, 3, 8, 17, 64, 300};
    int failures = 0;
    double worst = 0;
    printf("kernel path: %s\n", clex_kernels_path());
    for (int ti = 0; ti < 3; ti++)
        for (int ki = 0; ki < 4; ki++)
            for (int rows = 1; rows <= 37; rows += 6)
                for (int n = 0; n < 7; n++) {
                    int type = types[ti], k = ks[ki], tokens = token_counts[n], bb = block_bytes(type), nb = k / 256;
                    size_t row_bytes = (size_t)nb * bb;
                    uint8_t *buffer = malloc(row_bytes * rows + 2), *w = buffer + 2;
                    for (int b = 0; b < rows * nb; b++) fill(type, w + (size_t)b * bb);
                    float *x = malloc(sizeof(float) * k * tokens), *xf = malloc(sizeof(float) * k * tokens);
                    for (int i = 0; i < k * tokens; i++) x[i] = frand() * (i % 97 == 0 ? 10 : 1);
                    void *xq = malloc(clex_activation_row_bytes(type, k) * tokens);
                    clex_prepare_activations(type, x, tokens, k, xq);
                    clex_activations_to_float(type, xq, tokens, k, xf);
                    for (int b = 0; b < tokens * nb; b++) {
                        float amax = 0;
                        for (int i = 0; i < 256; i++) amax = fmaxf(amax, fabsf(x[256 * b + i]));
                        for (int i = 0; i < 256; i++)
                            if (fabsf(xf[256 * b + i] - x[256 * b + i]) > 0.5f * amax / 127 * (1 + 1e-4f)) failures++;
                    }
                    double *wd = malloc(sizeof(double) * k * rows);
                    for (int r = 0; r < rows; r++)
                        for (int e = 0; e < k; e++)
                            wd[r * k + e] = weight(type, w + r * row_bytes + (e / 256) * bb, e % 256);
                    int ldy = rows + 3;
                    float *y = malloc(sizeof(float) * ldy * tokens);
                    for (int accumulate = 0; accumulate < 2; accumulate++) {
                        for (int i = 0; i < ldy * tokens; i++) y[i] = 0.5f;
                        clex_matmul(type, w, row_bytes, rows, xq, tokens, k, y, ldy, accumulate);
                        for (int t = 0; t < tokens; t++)
                            for (int r = 0; r < ldy; r++) {
                                float got = y[t * ldy + r];
                                if (r >= rows) {
                                    failures += got != 0.5f;
                                    continue;
                                }
                                double s = accumulate ? 0.5 : 0, magnitude = 0;
                                for (int j = 0; j < k; j++) {
                                    s += wd[r * k + j] * xf[t * k + j];
                                    magnitude += fabs(wd[r * k + j] * xf[t * k + j]);
                                }
                                double err = fabs(got - s) / (magnitude + 1e-30);
                                worst = err > worst ? err : worst;
                                if (err > 1e-5) {
                                    if (failures < 10)
                                        printf("type %d k %d rows %d tokens %d accumulate %d y[%d, %d] = %g, want %g\n",
                                               type, k, rows, tokens, accumulate, t, r, got, s);
                                    failures++;
                                }
                            }
                    }
                    free(buffer);
                    free(x);
                    free(xf);
                    free(xq);
                    free(wd);
                    free(y);
                }
    printf("%s: %d failures, worst error %.2g of Σ|w·x|\n", failures ? "FAILED" : "ok", failures, worst);
    return failures != 0;
}
