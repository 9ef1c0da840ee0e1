// Fork-join thread pools: the caller runs part 0, a pool's persistent workers run the others.
// Workers spin briefly before sleeping, so the many short parallel regions of token-by-token
// decoding do not pay a thread wake-up each time, and an idle pool burns no CPU. Each model's
// compute settings own a pool; a thread-local pointer says which pool the calling thread's
// regions use, so two models running at once never change each other's thread counts.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CKernels.h"
#include <pthread.h>
#if defined(__linux__)
#include <sched.h>
#endif
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_THREADS 64
#define SPIN_ROUNDS 200000

struct bk_pool {
    pthread_mutex_t lock;        // held by the caller of a parallel region
    pthread_mutex_t sleep_lock;  // protects sleeping workers' wait
    pthread_cond_t wake;
    _Atomic unsigned long generation;
    _Atomic size_t remaining;
    _Atomic int quit;
    bk_task_fn fn;
    void *ctx;
    size_t parts;
    size_t threads;              // asked for (workers + caller)
    size_t workers;              // started
    int started;                 // workers started (under lock)
    pthread_t handles[MAX_THREADS - 1];
};

struct worker_start {
    bk_pool *pool;
    size_t index;  // 1-based part index of this worker
};

static _Thread_local int in_task = 0;
static _Thread_local bk_pool *current_pool = NULL;

static void *worker_main(void *arg) {
    struct worker_start start = *(struct worker_start *)arg;
    free(arg);
    bk_pool *pool = start.pool;
    unsigned long seen = 0;  // workers start before the first region (generation 0)
    in_task = 1;
    for (;;) {
        unsigned long g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&pool->sleep_lock);
            while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen)
                pthread_cond_wait(&pool->wake, &pool->sleep_lock);
            pthread_mutex_unlock(&pool->sleep_lock);
            spins = 0;
        }
        seen = g;
        if (atomic_load_explicit(&pool->quit, memory_order_acquire)) return NULL;
        if (start.index < pool->parts) {
            pool->fn(pool->ctx, start.index, pool->parts);
            atomic_fetch_sub_explicit(&pool->remaining, 1, memory_order_acq_rel);
        }
    }
}

size_t bk_affinity_cpus(void) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return (size_t)n;
    }
#endif
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (size_t)cores : 1;
}

bk_pool *bk_pool_create(size_t threads) {
    bk_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->sleep_lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    return pool;
}

size_t bk_pool_threads(const bk_pool *pool) { return pool->threads; }

// Called with pool->lock held, before the first region: no region has run, so every worker
// starts at generation 0.
static void start_workers(bk_pool *pool) {
    pool->started = 1;
    for (size_t i = 1; i < pool->threads; i++) {
        struct worker_start *start = malloc(sizeof *start);
        if (!start) break;
        start->pool = pool;
        start->index = i;
        if (pthread_create(&pool->handles[pool->workers], NULL, worker_main, start) != 0) {
            free(start);
            break;
        }
        pool->workers++;
    }
}

void bk_pool_destroy(bk_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    atomic_store_explicit(&pool->quit, 1, memory_order_release);
    pthread_mutex_lock(&pool->sleep_lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->sleep_lock);
    for (size_t i = 0; i < pool->workers; i++) pthread_join(pool->handles[i], NULL);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->sleep_lock);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}

void bk_pool_run(bk_pool *pool, bk_task_fn fn, void *ctx, size_t parts) {
    if (parts > pool->threads) parts = pool->threads;
    // Nested regions, or another thread already using this pool: run here, in order.
    if (parts <= 1 || in_task || pthread_mutex_trylock(&pool->lock) != 0) {
        for (size_t p = 0; p < parts; p++) fn(ctx, p, parts);
        return;
    }
    if (!pool->started) start_workers(pool);
    if (parts > pool->workers + 1) parts = pool->workers + 1;
    pool->fn = fn;
    pool->ctx = ctx;
    pool->parts = parts;
    atomic_store_explicit(&pool->remaining, parts - 1, memory_order_release);
    pthread_mutex_lock(&pool->sleep_lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->sleep_lock);
    in_task = 1;
    fn(ctx, 0, parts);
    in_task = 0;
    while (atomic_load_explicit(&pool->remaining, memory_order_acquire) != 0) CPU_RELAX();
    pthread_mutex_unlock(&pool->lock);
}

bk_pool *bk_pool_current(void) { return current_pool; }

bk_pool *bk_pool_swap_current(bk_pool *pool) {
    bk_pool *previous = current_pool;
    current_pool = pool;
    return previous;
}
