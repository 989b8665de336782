// Throughput of the CLEXKernels matmuls on 2 threads (each takes half of every matrix's rows),
// against a parallel memcpy measured in the same run. Build and run (see README.md):
//   cc -O3 -march=native -I Sources/CLEXKernels/include Sources/CLEXKernels/*.c
//      bench/kernels/matmul_bench.c -lpthread -lm -o /tmp/matmul_bench && /tmp/matmul_bench
// Arguments: [decode|prefill|all] [type names, e.g. q4_0 f16]. Decode cycles through enough
// copies of each shape to pass 256 MB (bigger than any L3), so weights stream from memory; its
// GB/s counts weight bytes read, against a parallel memcpy timed alternately with it (reads +
// writes per second) and a parallel read-only sum. Prefill counts 2·rows·k·tokens operations per second and includes the
// activations' preparation. Every figure is the best of several repetitions: on a shared
// machine, run it more than once.
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clex_kernels.h"

#ifndef THREADS
#define THREADS 2  // -DTHREADS=1 for a one-core comparison
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// MARK: - A pool of THREADS − 1 workers plus the caller, meeting at a spinning barrier

static void (*job)(int thread, void *arg);
static void *job_arg;
static atomic_int generation, arrived;

/// Waits until all THREADS threads arrive (sense-reversing on `generation`).
static void barrier(void) {
    int g = atomic_load(&generation);
    if (atomic_fetch_add(&arrived, 1) == THREADS - 1) {
        atomic_store(&arrived, 0);
        atomic_fetch_add(&generation, 1);
    } else {
        while (atomic_load(&generation) == g) __builtin_ia32_pause();
    }
}

static void *worker(void *p) {
    int thread = (int)(intptr_t)p;
    for (;;) {
        barrier();
        job(thread, job_arg);
        barrier();
    }
    return NULL;
}

/// Runs fn(thread, arg) on every thread and returns when all are done.
static void run_parallel(void (*fn)(int, void *), void *arg) {
    job = fn;
    job_arg = arg;
    barrier();
    fn(0, arg);
    barrier();
}

// MARK: - Reference bandwidths

struct copy_job { char *dst; const char *src; size_t bytes; };
static struct copy_job copy_buffers;

static void copy_part(int thread, void *p) {
    struct copy_job *c = p;
    size_t part = c->bytes / THREADS;
    memcpy(c->dst + thread * part, c->src + thread * part, part);
}

/// Allocates the two 256 MB buffers the copy measurements use.
static void make_copy_buffers(void) {
    size_t bytes = (size_t)256 << 20;
    copy_buffers = (struct copy_job){malloc(bytes), malloc(bytes), bytes};
    memset(copy_buffers.dst, 1, bytes);
    memset((char *)copy_buffers.src, 2, bytes);
}

/// Seconds THREADS memcpys of 256 MB in all take; bandwidth = 2·bytes (read + write) / time.
static double copy_seconds(void) {
    double t0 = now();
    run_parallel(copy_part, &copy_buffers);
    return now() - t0;
}

static volatile uint64_t read_sink;

static void read_part(int thread, void *p) {
    struct copy_job *c = p;
    size_t part = c->bytes / THREADS / 8;
    const uint64_t *src = (const uint64_t *)(c->src + thread * part * 8);
    uint64_t sum = 0;
    for (size_t i = 0; i < part; i++) sum += src[i];
    read_sink = sum;
}

/// Seconds THREADS threads take to read 256 MB in all (a sum): the roof for reading weights.
static double read_seconds(void) {
    double t0 = now();
    run_parallel(read_part, &copy_buffers);
    return now() - t0;
}

// MARK: - Types and random weights

struct type_info { const char *name; int id; int block; int block_bytes; };
static const struct type_info types[] = {
    {"q4_0", 2, 32, 18}, {"q4_1", 3, 32, 20}, {"q8_0", 8, 32, 34},
    {"f32", 0, 1, 4},    {"f16", 1, 1, 2},    {"bf16", 30, 1, 2},
};

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next_u64(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

/// Random bytes with every 16-bit value a small finite number (block scales, F16/BF16
/// elements): 0x2000..0x23FF as fp16 ≈ 0.008, as bf16 ≈ 1e-19, either finite; F32 bytes become
/// small floats.
static void fill_weights(const struct type_info *ti, uint8_t *w, size_t bytes) {
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        uint64_t v = next_u64();
        memcpy(w + i, &v, 8);
    }
    if (ti->block == 1) {
        if (ti->id == 0) for (size_t i = 3; i < bytes; i += 4) w[i] = 0x3C;
        else for (size_t i = 1; i < bytes; i += 2) w[i] = 0x20 | (w[i] & 0x83);
        return;
    }
    for (size_t b = 0; b + ti->block_bytes <= bytes; b += ti->block_bytes) {
        w[b + 1] = 0x20 | (w[b + 1] & 0x83);
        if (ti->id == 3) w[b + 3] = 0x20 | (w[b + 3] & 0x83);
    }
}

// MARK: - Matmul jobs

struct mm_job {
    int type;
    const uint8_t *const *w;  // matrices
    int count;                // how many
    size_t w_row_bytes;
    int64_t rows, k, tokens;
    const float *x;           // [tokens, k] Float32
    void *xq;                 // prepared activations
    float *y;                 // [tokens, rows]
};

/// Rows [begin, end) of thread `thread`: halves rounded to 32 rows.
static void split(int64_t rows, int thread, int64_t *begin, int64_t *end) {
    int64_t half = (rows / THREADS + 31) / 32 * 32;
    *begin = thread * half < rows ? thread * half : rows;
    *end = thread == THREADS - 1 || (thread + 1) * half > rows ? rows : (thread + 1) * half;
}

/// Decode: every matrix in turn, each split across the threads, a barrier after each.
static void decode_part(int thread, void *p) {
    struct mm_job *j = p;
    int64_t begin, end;
    split(j->rows, thread, &begin, &end);
    for (int m = 0; m < j->count; m++) {
        clex_matmul(j->type, j->w[m] + begin * j->w_row_bytes, j->w_row_bytes, end - begin, j->xq, j->tokens, j->k,
                    j->y + begin, j->rows, 0);
        barrier();
    }
}

/// Prefill: each thread prepares half the token rows, then multiplies its half of the rows.
static void prefill_part(int thread, void *p) {
    struct mm_job *j = p;
    int64_t t0 = j->tokens * thread / THREADS, t1 = j->tokens * (thread + 1) / THREADS;
    size_t xb = clex_activation_row_bytes(j->type, j->k);
    clex_prepare_activations(j->type, j->x + t0 * j->k, t1 - t0, j->k, (char *)j->xq + t0 * xb);
    barrier();
    int64_t begin, end;
    split(j->rows, thread, &begin, &end);
    clex_matmul(j->type, j->w[0] + begin * j->w_row_bytes, j->w_row_bytes, end - begin, j->xq, j->tokens, j->k,
                j->y + begin, j->rows, 0);
}

struct shape { const char *model; int64_t rows, k; };
static const struct shape shapes[] = {
    {"1.1B", 2048, 2048}, {"1.1B", 256, 2048}, {"1.1B", 5632, 2048}, {"1.1B", 2048, 5632},
    {"7B", 4096, 4096},   {"7B", 11008, 4096}, {"7B", 4096, 11008},
    {"135M", 576, 576},   {"135M", 1536, 576}, {"135M", 576, 1536}, {"135M", 49152, 576},
};

/// Allocates `count` matrices of the shape and type (random weights) plus activations.
static struct mm_job make_job(const struct type_info *ti, const struct shape *s, int count, int64_t tokens) {
    struct mm_job j = {.type = ti->id, .count = count, .rows = s->rows, .k = s->k, .tokens = tokens};
    j.w_row_bytes = (size_t)(s->k / ti->block * ti->block_bytes);
    const uint8_t **w = malloc(sizeof(*w) * count);
    for (int m = 0; m < count; m++) {
        uint8_t *p = malloc(j.w_row_bytes * s->rows);
        fill_weights(ti, p, j.w_row_bytes * s->rows);
        w[m] = p;
    }
    j.w = w;
    float *x = malloc(sizeof(float) * tokens * s->k);
    for (int64_t i = 0; i < tokens * s->k; i++) x[i] = (float)((int64_t)(next_u64() >> 40) - (1 << 23)) / (1 << 23);
    j.x = x;
    j.xq = malloc(clex_activation_row_bytes(ti->id, s->k) * tokens);
    clex_prepare_activations(ti->id, x, tokens, s->k, j.xq);
    j.y = malloc(sizeof(float) * tokens * s->rows);
    return j;
}

static void free_job(struct mm_job *j) {
    for (int m = 0; m < j->count; m++) free((void *)j->w[m]);
    free((void *)j->w);
    free((void *)j->x);
    free(j->xq);
    free(j->y);
}

/// Decode: GB/s of weights for tokens 1, 2, 4, 8 on every shape. Each repetition also times a
/// parallel copy, so the ratio compares the best of each under the same machine load.
static void bench_decode(const struct type_info *ti) {
    static const int64_t token_counts[] = {1, 2, 4, 8};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const struct shape *s = &shapes[si];
        size_t bytes = (size_t)(s->k / ti->block * ti->block_bytes) * s->rows;
        int count = (int)(((size_t)256 << 20) / bytes + 1);
        printf("decode %-5s %-4s %5lld x %-5lld ", ti->name, s->model, (long long)s->rows, (long long)s->k);
        for (size_t tk = 0; tk < sizeof token_counts / sizeof token_counts[0]; tk++) {
            struct mm_job j = make_job(ti, s, count, token_counts[tk]);
            double best = 1e30, best_copy = 1e30, best_read = 1e30;
            for (int rep = 0; rep < 9; rep++) {
                double t0 = now();
                run_parallel(decode_part, &j);
                double t = now() - t0;
                if (t < best) best = t;
                if (tk > 0) continue;
                double c = copy_seconds(), r = read_seconds();
                if (c < best_copy) best_copy = c;
                if (r < best_read) best_read = r;
            }
            double gbs = (double)bytes * count / best / 1e9;
            if (tk == 0) {
                double copy = 2.0 * copy_buffers.bytes / best_copy / 1e9, read = copy_buffers.bytes / best_read / 1e9;
                printf(" t1 %5.1f GB/s (copy %5.1f: %.2f; read %5.1f: %.2f)", gbs, copy, gbs / copy, read, gbs / read);
            } else {
                printf("  t%lld %5.1f", (long long)token_counts[tk], gbs);
            }
            fflush(stdout);
            free_job(&j);
        }
        printf("\n");
    }
}

/// Prefill: GOP/s for 256 and 512 tokens on every shape.
static void bench_prefill(const struct type_info *ti) {
    static const int64_t token_counts[] = {256, 512};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const struct shape *s = &shapes[si];
        printf("prefill %-5s %-4s %5lld x %-5lld", ti->name, s->model, (long long)s->rows, (long long)s->k);
        for (size_t tk = 0; tk < 2; tk++) {
            struct mm_job j = make_job(ti, s, 1, token_counts[tk]);
            double best = 1e30, ops = 2.0 * s->rows * s->k * token_counts[tk];
            for (int rep = 0; rep < 5 || (rep < 50 && best * rep < 0.5); rep++) {
                double t0 = now();
                run_parallel(prefill_part, &j);
                double t = now() - t0;
                if (t < best) best = t;
            }
            printf("   t%lld %6.1f GOP/s", (long long)token_counts[tk], ops / best / 1e9);
            fflush(stdout);
            free_job(&j);
        }
        printf("\n");
    }
}

int main(int argc, char **argv) {
    pthread_t threads[THREADS];
    for (int t = 1; t < THREADS; t++) pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t);
    const char *mode = argc > 1 ? argv[1] : "all";
    int decode = strcmp(mode, "prefill") != 0, prefill = strcmp(mode, "decode") != 0;
    make_copy_buffers();
    printf("kernel path %s, %d threads; copy = parallel memcpy of 256 MB, GB/s of reads + writes; read = "
           "parallel sum over 256 MB; best of 9 interleaved with the kernel's\n", clex_kernels_path(), THREADS);
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        int chosen = argc <= 2;
        for (int a = 2; a < argc; a++) chosen |= strcmp(argv[a], types[ti].name) == 0;
        if (!chosen) continue;
        if (decode) bench_decode(&types[ti]);
        if (prefill && types[ti].block > 1) bench_prefill(&types[ti]);
    }
    return 0;
}
