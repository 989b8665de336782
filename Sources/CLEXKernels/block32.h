// Shared by the kernels of ggml's blocks of 32 (Q4_0, Q4_1, Q8_0) and their activation format
// (q8_32.c): the activation row layout, fp16 reads of unaligned weight bytes (also used by
// float_types.c), and the prefill kernels' scratch buffer.
#ifndef CLEX_BLOCK32_H
#define CLEX_BLOCK32_H

#include <stdint.h>
#include <string.h>
#include "kernels_internal.h"
#include "half.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

/// An activation row of k elements (nb = k/32 blocks), as q8_32.c prepares it:
///   int8  q[k]    the quantised values (order below)
///   float d[nb]   block scales: element e of block b stands for d[b]·q[q8_32_offset(b, e, nb)]
///   int32 s[nb]   Σ_e q of block b, the block sums the kernels need for weight offsets
/// Row bytes k + 8·nb; d and s are 4-byte aligned whenever the row start is.
///
/// Blocks 2p and 2p + 1 (A and B) share 64 bytes of q: elements 0-15 of both, then 16-31 of both,
/// alternating A's and B's groups of four elements (A 0-3, B 0-3, A 4-7, …). A register built
/// from two weight blocks in the same order meets 32 activation bytes with one `vpdpbusd`, which
/// leaves A's partial sums in the even int32 lanes and B's in the odd ones; the pair of scales
/// then multiplies as one broadcast 64-bit pair. A last block of an odd count keeps its 32 bytes
/// in element order.
static inline int64_t q8_32_offset(int64_t b, int e, int64_t nb) {
    if ((b | 1) >= nb) return 32 * b + e;
    return 64 * (b >> 1) + 32 * (e >> 4) + 8 * ((e & 15) >> 2) + 4 * (b & 1) + (e & 3);
}
/// The quantised values of an activation row.
static inline const int8_t *q8_32_values(const void *row) { return (const int8_t *)row; }
/// The block scales of an activation row of `k` elements.
static inline const float *q8_32_scales(const void *row, int64_t k) {
    return (const float *)((const char *)row + k);
}
/// The block sums Σq of an activation row of `k` elements.
static inline const int32_t *q8_32_sums(const void *row, int64_t k) {
    return (const int32_t *)((const char *)row + k + 4 * (k / 32));
}

/// A 64-byte aligned buffer of at least `bytes` bytes owned by the calling thread, reused by its
/// later calls (kept for the thread's lifetime): the prefill kernels' unpacked weight tiles. NULL
/// when memory runs out.
void *clex_block32_scratch(size_t bytes);

#endif
