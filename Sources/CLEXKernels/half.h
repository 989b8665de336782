// IEEE binary16 scales of ggml's blocks, read as Float32 by every kernel file.
#ifndef CLEX_HALF_H
#define CLEX_HALF_H

#include <stdint.h>
#include <string.h>
#if defined(__F16C__)
#include <immintrin.h>
#endif

/// IEEE binary16 bits to Float32 (F16C when available, else exact bit manipulation).
static inline float clex_half(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        int e = 113;
        while (!(man & 0x400)) { man <<= 1; e--; }
        bits = sign | ((uint32_t)e << 23) | ((man & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
#endif
}

/// The binary16 value at `p` (any alignment), as Float32.
static inline float clex_load_half(const void *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return clex_half(h);
}

#endif
