// Throughput of the k-quant kernels (Sources/CLEXKernels: clex_matmul for Q4_K, Q5_K, Q6_K) on
// 2 threads, each taking half the rows, against the parallel memory-copy bandwidth measured in the
// same run. Decode (tokens 1…8) cycles through more than 200 MB of weight copies so that they
// stream from memory, and reports weight bytes read per second and the ratio to the copy rate;
// prefill (tokens 256, 512) reports 2·rows·k·tokens operations per second. Each figure is the best
// of several repetitions (the machine is shared).
//
// Build and run from the repository root (the other weight types' files must be present, as in a
// full checkout):
//   cc -O3 -march=native -I Sources/CLEXKernels/include Sources/CLEXKernels/*.c
//      bench/kernels/kquant_bench.c -lpthread -lm -o /tmp/kquant_bench && /tmp/kquant_bench
// Arguments: [decode|prefill|all] [q4_k|q5_k|q6_k|all] [repetitions].
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clex_kernels.h"

enum { THREADS = 2 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/// xorshift64: random bytes and floats for the fixtures.
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static float frand(void) { return (float)(rng() >> 40) * (2.0f / 16777216.0f) - 1; }

/// A reusable barrier for THREADS threads that spins (a sleeping barrier would add tens of µs to
/// every matmul of the decode loop), yielding the CPU after a while so that a machine shared
/// with other jobs does not leave the thread being waited for without a core.
static atomic_int barrier_count, barrier_phase;
static void spin_barrier(void) {
    int phase = atomic_load(&barrier_phase);
    if (atomic_fetch_add(&barrier_count, 1) == THREADS - 1) {
        atomic_store(&barrier_count, 0);
        atomic_fetch_add(&barrier_phase, 1);
    } else {
        for (int spins = 0; atomic_load(&barrier_phase) == phase; spins++) {
            if (spins < 4000) __builtin_ia32_pause();
            else sched_yield();
        }
    }
}

/// What each thread runs: `iterations` matmuls, cycling through `copies` weight matrices, on its
/// half of the rows (or a memcpy of its half of the buffer when `copy_src` is set).
typedef struct {
    int type, thread;
    int64_t rows, k, tokens;
    const uint8_t *weights;
    size_t matrix_bytes, row_bytes;
    int copies, iterations;
    const void *xq;
    float *y;
    const uint8_t *copy_src;
    uint8_t *copy_dst;
    size_t copy_bytes;
} job_t;

static void *run_job(void *arg) {
    job_t *j = arg;
    spin_barrier();
    if (j->copy_src) {
        size_t half = j->copy_bytes / THREADS;
        for (int i = 0; i < j->iterations; i++)
            memcpy(j->copy_dst + j->thread * half, j->copy_src + j->thread * half, half);
        return NULL;
    }
    int64_t r0 = j->rows * j->thread / THREADS, r1 = j->rows * (j->thread + 1) / THREADS;
    for (int i = 0; i < j->iterations; i++) {
        const uint8_t *w = j->weights + (size_t)(i % j->copies) * j->matrix_bytes + (size_t)r0 * j->row_bytes;
        clex_matmul(j->type, w, j->row_bytes, r1 - r0, j->xq, j->tokens, j->k, j->y + r0, j->rows, 0);
        spin_barrier();
    }
    return NULL;
}

/// Runs `THREADS` copies of `job` (thread index filled in) and returns the wall time.
static double run_parallel(job_t job) {
    pthread_t threads[THREADS];
    job_t jobs[THREADS];
    atomic_store(&barrier_count, 0);
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = job;
        jobs[t].thread = t;
    }
    double start = now();
    for (int t = 1; t < THREADS; t++) pthread_create(&threads[t], NULL, run_job, &jobs[t]);
    run_job(&jobs[0]);
    for (int t = 1; t < THREADS; t++) pthread_join(threads[t], NULL);
    return now() - start;
}

/// Bytes per 256-element block of each type, and its name.
static size_t block_bytes(int type) { return type == 12 ? 144 : type == 13 ? 176 : 210; }
static const char *type_name(int type) { return type == 12 ? "Q4_K" : type == 13 ? "Q5_K" : "Q6_K"; }

/// Fills `count` random blocks of `type`: random quants and scales, small finite fp16 d/dmin.
static void fill_blocks(int type, uint8_t *w, size_t count) {
    size_t bb = block_bytes(type);
    for (size_t b = 0; b < count; b++) {
        uint8_t *p = w + b * bb;
        for (size_t i = 0; i < bb; i += 8) {
            uint64_t v = rng();
            memcpy(p + i, &v, bb - i < 8 ? bb - i : 8);
        }
        uint16_t d = 0x1800 | (uint16_t)(rng() & 0x3FF);  // ≈ 0.002…0.004
        if (type == 14) {
            memcpy(p + 208, &d, 2);
        } else {
            memcpy(p, &d, 2);
            memcpy(p + 2, &d, 2);
        }
    }
}

/// Parallel memcpy rate, counting bytes read plus bytes written (as STREAM's Copy does), best of `reps`.
static double copy_bandwidth(int reps) {
    size_t bytes = (size_t)256 << 20;
    uint8_t *src = malloc(bytes), *dst = malloc(bytes);
    memset(src, 1, bytes);
    memset(dst, 2, bytes);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        job_t job = {.copy_src = src, .copy_dst = dst, .copy_bytes = bytes, .iterations = 4};
        double rate = 2.0 * (double)bytes * job.iterations / run_parallel(job);
        best = rate > best ? rate : best;
    }
    free(src);
    free(dst);
    return best;
}

static const int64_t shapes[][2] = {{2048, 2048}, {5632, 2048}, {2048, 5632}, {32000, 2048},
                                    {4096, 4096}, {11008, 4096}, {4096, 11008}};
enum { SHAPES = sizeof shapes / sizeof shapes[0] };

/// Prepared activations for `tokens` random rows of `k`.
static void *activations(int type, int64_t tokens, int64_t k) {
    float *x = malloc(sizeof(float) * (size_t)(tokens * k));
    for (int64_t i = 0; i < tokens * k; i++) x[i] = frand();
    void *xq = malloc(clex_activation_row_bytes(type, k) * (size_t)tokens);
    clex_prepare_activations(type, x, tokens, k, xq);
    free(x);
    return xq;
}

static void decode(int type, double copy_rate, int reps) {
    printf("\n%s decode (weights from memory; GB/s of weights and ratio to the copy rate %.1f GB/s)\n", type_name(type),
           copy_rate / 1e9);
    printf("%-13s %8s %8s %8s %8s %8s %8s\n", "shape", "t=1", "t=2", "t=3", "t=4", "t=6", "t=8");
    static const int token_counts[] = {1, 2, 3, 4, 6, 8};
    for (int s = 0; s < SHAPES; s++) {
        int64_t rows = shapes[s][0], k = shapes[s][1];
        size_t row_bytes = (size_t)(k / 256) * block_bytes(type), matrix = row_bytes * (size_t)rows;
        int copies = (int)((((size_t)240 << 20) + matrix - 1) / matrix);
        uint8_t *w = malloc(matrix * (size_t)copies);
        fill_blocks(type, w, (size_t)copies * (size_t)rows * (size_t)(k / 256));
        float *y = malloc(sizeof(float) * (size_t)(rows * 8));
        char label[32];
        snprintf(label, sizeof label, "%lldx%lld", (long long)rows, (long long)k);
        printf("%-13s", label);
        for (size_t n = 0; n < sizeof token_counts / sizeof *token_counts; n++) {
            int64_t tokens = token_counts[n];
            void *xq = activations(type, tokens, k);
            job_t job = {.type = type, .rows = rows, .k = k, .tokens = tokens, .weights = w, .matrix_bytes = matrix,
                         .row_bytes = row_bytes, .copies = copies, .iterations = copies, .xq = xq, .y = y};
            run_parallel(job);  // warm-up: page in, settle the clocks
            double best = 1e30;
            for (int r = 0; r < reps; r++) {
                double t = run_parallel(job);
                best = t < best ? t : best;
            }
            double rate = (double)matrix * copies / best;
            printf(" %5.1f/%.2f", rate / 1e9, rate / copy_rate);
            fflush(stdout);
            free(xq);
        }
        printf("\n");
        free(w);
        free(y);
    }
}

static void prefill(int type, int reps) {
    printf("\n%s prefill (GOP/s = 2·rows·k·tokens / s; activation preparation timed apart, 1 thread)\n",
           type_name(type));
    printf("%-13s %10s %10s %12s\n", "shape", "t=256", "t=512", "prepare 512");
    for (int s = 0; s < SHAPES; s++) {
        int64_t rows = shapes[s][0], k = shapes[s][1];
        size_t row_bytes = (size_t)(k / 256) * block_bytes(type), matrix = row_bytes * (size_t)rows;
        uint8_t *w = malloc(matrix);
        fill_blocks(type, w, (size_t)rows * (size_t)(k / 256));
        char label[32];
        snprintf(label, sizeof label, "%lldx%lld", (long long)rows, (long long)k);
        printf("%-13s", label);
        double prepare = 0;
        for (int64_t tokens = 256; tokens <= 512; tokens *= 2) {
            float *x = malloc(sizeof(float) * (size_t)(tokens * k));
            for (int64_t i = 0; i < tokens * k; i++) x[i] = frand();
            void *xq = malloc(clex_activation_row_bytes(type, k) * (size_t)tokens);
            double t0 = now();
            clex_prepare_activations(type, x, tokens, k, xq);
            prepare = now() - t0;
            float *y = malloc(sizeof(float) * (size_t)(rows * tokens));
            job_t job = {.type = type, .rows = rows, .k = k, .tokens = tokens, .weights = w, .matrix_bytes = matrix,
                         .row_bytes = row_bytes, .copies = 1, .iterations = 1, .xq = xq, .y = y};
            run_parallel(job);
            double best = 1e30;
            for (int r = 0; r < reps; r++) {
                double t = run_parallel(job);
                best = t < best ? t : best;
            }
            printf(" %10.1f", 2.0 * (double)rows * (double)k * (double)tokens / best / 1e9);
            fflush(stdout);
            free(x);
            free(xq);
            free(y);
        }
        printf(" %9.2f ms\n", prepare * 1e3);
        free(w);
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "all", *which = argc > 2 ? argv[2] : "all";
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    printf("kernel path: %s, threads: %d, best of %d\n", clex_kernels_path(), THREADS, reps);
    double copy_rate = copy_bandwidth(reps);
    printf("parallel copy: %.1f GB/s (read + written)\n", copy_rate / 1e9);
    static const int types[] = {12, 13, 14};
    static const char *names[] = {"q4_k", "q5_k", "q6_k"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(which, "all") && strcmp(which, names[i])) continue;
        if (!strcmp(mode, "all") || !strcmp(mode, "decode")) decode(types[i], copy_rate, reps);
        if (!strcmp(mode, "all") || !strcmp(mode, "prefill")) prefill(types[i], reps);
    }
    printf("\nafter the run: copy %.1f GB/s\n", copy_bandwidth(reps) / 1e9);
    return 0;
}
