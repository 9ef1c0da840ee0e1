// A tiny fork-join thread pool: the caller runs part 0, persistent workers run the others.
// Workers spin briefly before sleeping, so the many short parallel regions of token-by-token
// decoding do not pay a thread wake-up each time, and an idle process burns no CPU.
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

#define MAX_WORKERS 63
#define SPIN_ROUNDS 200000

static struct {
    pthread_mutex_t lock;        // held by the caller of a parallel region
    pthread_mutex_t sleep_lock;  // protects sleeping workers' wait
    pthread_cond_t wake;
    _Atomic unsigned long generation;
    _Atomic size_t remaining;
    bk_task_fn fn;
    void *ctx;
    size_t parts;
    size_t workers;
    pthread_once_t once;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, NULL, 0, 0,
          PTHREAD_ONCE_INIT};

static _Thread_local int in_task = 0;

static void *worker_main(void *arg) {
    size_t index = (size_t)arg;  // 1-based part index of this worker
    unsigned long seen = 0;
    in_task = 1;
    for (;;) {
        unsigned long g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&pool.sleep_lock);
            while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen)
                pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            pthread_mutex_unlock(&pool.sleep_lock);
            spins = 0;
        }
        seen = g;
        if (index < pool.parts) {
            pool.fn(pool.ctx, index, pool.parts);
            atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_acq_rel);
        }
    }
    return NULL;
}

static _Atomic size_t requested_size = 0;  // 0: bk_affinity_cpus()
static _Atomic int started = 0;

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

int bk_pool_configure(size_t size) {
    if (atomic_load(&started)) return -1;
    atomic_store(&requested_size, size);
    return 0;
}

static void start_workers(void) {
    atomic_store(&started, 1);
    size_t total = atomic_load(&requested_size);
    if (total == 0) total = bk_affinity_cpus();
    size_t n = total > 1 ? total - 1 : 0;
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    for (size_t i = 0; i < n; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker_main, (void *)(i + 1)) == 0) pool.workers++;
        pthread_attr_destroy(&attr);
    }
}

size_t bk_pool_size(void) {
    pthread_once(&pool.once, start_workers);
    return pool.workers + 1;
}

void bk_pool_run(bk_task_fn fn, void *ctx, size_t parts) {
    pthread_once(&pool.once, start_workers);
    if (parts > pool.workers + 1) parts = pool.workers + 1;
    // Nested regions, or another thread already using the pool: run here, in order.
    if (parts <= 1 || in_task || pthread_mutex_trylock(&pool.lock) != 0) {
        for (size_t p = 0; p < parts; p++) fn(ctx, p, parts);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.parts = parts;
    atomic_store_explicit(&pool.remaining, parts - 1, memory_order_release);
    pthread_mutex_lock(&pool.sleep_lock);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.sleep_lock);
    in_task = 1;
    fn(ctx, 0, parts);
    in_task = 0;
    while (atomic_load_explicit(&pool.remaining, memory_order_acquire) != 0) CPU_RELAX();
    pthread_mutex_unlock(&pool.lock);
}
