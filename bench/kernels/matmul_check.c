// Correctness check of the CLEXKernels matmuls against a Double reference, for quick iteration
// on instruction paths (build with -march=native, -march=native -mno-avx512f, -march=x86-64):
//   cc -O2 -march=native -I Sources/CLEXKernels/include Sources/CLEXKernels/*.c
//      bench/kernels/matmul_check.c -lm -o /tmp/matmul_check && /tmp/matmul_check
// Prints the worst error relative to the tolerance 1e-5·(Σ|w||x| + |y before|) per type; exits 1
// on failure.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clex_kernels.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}
static float uniform(void) { return (float)((next_u64() >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1; }

static float half_to_float(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : ldexpf((float)(m | 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}
static uint16_t float_to_half(float f) {  // truncating; magnitudes in [2^-14, 65504] only
    if (fabsf(f) < 0x1p-14f) f = copysignf(0x1p-14f, f);
    uint32_t b; memcpy(&b, &f, 4);
    uint32_t e = ((b >> 23) & 255) - 112, m = (b >> 13) & 1023;
    return (uint16_t)(((b >> 16) & 0x8000) | (e << 10) | m);
}

enum { F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 8, BF16 = 30 };
static const int types[] = {Q4_0, Q4_1, Q8_0, F32, F16, BF16};
static const char *names[] = {"q4_0", "q4_1", "q8_0", "f32", "f16", "bf16"};

/// Bytes of a weight row and its dequantisation.
static size_t row_bytes(int type, int64_t k) {
    switch (type) {
    case Q4_0: return k / 32 * 18; case Q4_1: return k / 32 * 20; case Q8_0: return k / 32 * 34;
    case F32: return 4 * k; default: return 2 * k;
    }
}
static void random_row(int type, uint8_t *w, int64_t k) {
    size_t n = row_bytes(type, k);
    for (size_t i = 0; i < n; i++) w[i] = (uint8_t)next_u64();
    int bs = type == Q4_0 ? 18 : type == Q4_1 ? 20 : type == Q8_0 ? 34 : 0;
    if (bs) for (int64_t b = 0; b < k / 32; b++) {
        uint16_t d = float_to_half(uniform() * 0.01f), m = float_to_half(uniform() * 0.1f);
        memcpy(w + b * bs, &d, 2);
        if (type == Q4_1) memcpy(w + b * bs + 2, &m, 2);
    }
    if (type == F16) for (int64_t j = 0; j < k; j++) { uint16_t h = float_to_half(uniform()); memcpy(w + 2 * j, &h, 2); }
    if (type == F32) for (int64_t j = 0; j < k; j++) { float f = uniform(); memcpy(w + 4 * j, &f, 4); }
    if (type == BF16) for (int64_t j = 0; j < k; j++) { float f = uniform(); uint32_t b; memcpy(&b, &f, 4); uint16_t h = b >> 16; memcpy(w + 2 * j, &h, 2); }
}
static void dequant_row(int type, const uint8_t *w, int64_t k, double *out) {
    for (int64_t j = 0; j < k; j++) {
        int64_t b = j / 32, i = j % 32;
        uint16_t h, m;
        switch (type) {
        case Q4_0: memcpy(&h, w + 18 * b, 2);
            out[j] = half_to_float(h) * (((i < 16 ? w[18 * b + 2 + i] : w[18 * b + 2 + i - 16] >> 4) & 15) - 8); break;
        case Q4_1: memcpy(&h, w + 20 * b, 2); memcpy(&m, w + 20 * b + 2, 2);
            out[j] = half_to_float(h) * ((i < 16 ? w[20 * b + 4 + i] : w[20 * b + 4 + i - 16] >> 4) & 15) + half_to_float(m); break;
        case Q8_0: memcpy(&h, w + 34 * b, 2); out[j] = half_to_float(h) * (int8_t)w[34 * b + 2 + i]; break;
        case F32: { float f; memcpy(&f, w + 4 * j, 4); out[j] = f; break; }
        case F16: memcpy(&h, w + 2 * j, 2); out[j] = half_to_float(h); break;
        default: { memcpy(&h, w + 2 * j, 2); uint32_t b32 = (uint32_t)h << 16; float f; memcpy(&f, &b32, 4); out[j] = f; }
        }
    }
}

/// Worst |err| / (1e-5·Σ|w||x|) over one shape, both accumulate modes.
static double check(int type, int64_t rows, int64_t k, int64_t tokens, int64_t ldy) {
    size_t wb = row_bytes(type, k);
    uint8_t *wbuf = malloc(rows * wb + 2), *w = wbuf + 2;  // 2-byte misalignment
    for (int64_t r = 0; r < rows; r++) random_row(type, w + r * wb, k);
    float *x = malloc(sizeof(float) * tokens * k), *xf = malloc(sizeof(float) * tokens * k);
    for (int64_t i = 0; i < tokens * k; i++) x[i] = uniform() * (i % 7 == 0 ? 5 : 1);
    void *xq = malloc(clex_activation_row_bytes(type, k) * tokens);
    clex_prepare_activations(type, x, tokens, k, xq);
    clex_activations_to_float(type, xq, tokens, k, xf);
    double *wd = malloc(sizeof(double) * rows * k);
    for (int64_t r = 0; r < rows; r++) dequant_row(type, w + r * wb, k, wd + r * k);
    float *y = malloc(sizeof(float) * tokens * ldy);
    double worst = 0;
    for (int acc = 0; acc < 2; acc++) {
        for (int64_t i = 0; i < tokens * ldy; i++) y[i] = acc ? (float)(i % 5) : NAN;
        clex_matmul(type, w, wb, rows, xq, tokens, k, y, ldy, acc);
        for (int64_t t = 0; t < tokens; t++) {
            for (int64_t r = 0; r < rows; r++) {
                double ref = acc ? (double)((t * ldy + r) % 5) : 0, bound = ref;
                for (int64_t j = 0; j < k; j++) {
                    ref += wd[r * k + j] * xf[t * k + j];
                    bound += fabs(wd[r * k + j] * xf[t * k + j]);
                }
                double e = fabs(y[t * ldy + r] - ref) / (1e-5 * bound + 1e-30);
                if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
            }
            for (int64_t r = rows; r < ldy; r++)
                if (!(acc ? y[t * ldy + r] == (float)((t * ldy + r) % 5) : isnan(y[t * ldy + r]))) worst = INFINITY;
        }
    }
    free(wbuf); free(x); free(xf); free(xq); free(wd); free(y);
    return worst;
}

int main(void) {
    static const int64_t ks[] = {32, 96, 2080, 5632}, toks[] = {1, 2, 3, 8, 17, 64, 300};
    static const int64_t rowss[] = {1, 3, 17, 31, 67};
    int failed = 0;
    printf("path %s\n", clex_kernels_path());
    for (int ti = 0; ti < 6; ti++) {
        double worst = 0;
        for (int ki = 0; ki < 4; ki++) for (int tk = 0; tk < 7; tk++) for (int ri = 0; ri < 5; ri++) {
            if (ks[ki] * toks[tk] * rowss[ri] > 3000000) continue;
            double e = check(types[ti], rowss[ri], ks[ki], toks[tk], rowss[ri] + 3);
            if (e > 1) printf("  FAIL %s rows %lld k %lld tokens %lld: %.3g\n", names[ti], (long long)rowss[ri],
                              (long long)ks[ki], (long long)toks[tk], e);
            if (!(e <= worst)) worst = e;
        }
        if (types[ti] == F32 || types[ti] == F16 || types[ti] == BF16)
            for (int64_t k = 1; k < 50; k += 7) {
                double e = check(types[ti], 5, k, 6, 7);
                if (!(e <= worst)) worst = e;
            }
        double big = check(types[ti], 300, 2048, 300, 301);
        if (!(big <= worst)) worst = big;
        printf("%-5s worst err/tol %.3g %s\n", names[ti], worst, worst <= 1 ? "ok" : "FAILED");
        failed |= !(worst <= 1);
    }
    return failed;
}
