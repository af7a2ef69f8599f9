/* OpenMP helpers of the compiled engine (_engine.pyx); OpenMP is optional at compile time
 * (scikit-learn's _openmp_helpers pattern): without it every team has one thread. */
#ifndef FASTMLP_TEAM_H
#define FASTMLP_TEAM_H

#ifdef _OPENMP
#include <omp.h>
#define fastmlp_openmp_enabled() 1
#define fastmlp_omp_max_threads() omp_get_max_threads()
#else
#define fastmlp_openmp_enabled() 0
#define fastmlp_omp_max_threads() 1
#endif

/* Run fn(arg) on a team of n threads (the calling thread is thread 0). */
typedef void (*fastmlp_team_fn)(void*);
static inline void fastmlp_run_team(int n, fastmlp_team_fn fn, void* arg) {
    #ifdef _OPENMP
    #pragma omp parallel num_threads(n)
    #endif
    fn(arg);
}

/* Counters shared by a team (team mode's task phases, _engine_team.pxi.tp): atomic loads,
 * stores, compare-and-swap and fetch-add with acquire/release ordering; sequentially
 * consistent where a waiter may sleep (no wake-up is lost between its check and its sleep). */
typedef int fastmlp_counter;

#if defined(_MSC_VER)
#include <windows.h>
#define fastmlp_load(p) (*(volatile long*) (p))
static inline void fastmlp_store(fastmlp_counter* p, int v) {
    InterlockedExchange((volatile long*) p, v);
}
static inline int fastmlp_cas(fastmlp_counter* p, int expected, int desired) {
    return InterlockedCompareExchange((volatile long*) p, desired, expected) == expected;
}
static inline int fastmlp_fetch_add(fastmlp_counter* p, int v) {
    return InterlockedExchangeAdd((volatile long*) p, v);
}
#define fastmlp_pause() YieldProcessor()
#else
static inline int fastmlp_load(fastmlp_counter* p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void fastmlp_store(fastmlp_counter* p, int v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
static inline int fastmlp_cas(fastmlp_counter* p, int expected, int desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
static inline int fastmlp_fetch_add(fastmlp_counter* p, int v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
#if defined(__x86_64__) || defined(__i386__)
#define fastmlp_pause() __builtin_ia32_pause()
#else
#define fastmlp_pause() ((void) 0)
#endif
#endif

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>
static inline void fastmlp_sleep_while(fastmlp_counter* p, int value) {
    syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}
static inline void fastmlp_wake_all(fastmlp_counter* p) {
    syscall(SYS_futex, p, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
#elif defined(_MSC_VER)
static inline void fastmlp_sleep_while(fastmlp_counter* p, int value) { SwitchToThread(); }
static inline void fastmlp_wake_all(fastmlp_counter* p) {}
#else
#include <sched.h>
static inline void fastmlp_sleep_while(fastmlp_counter* p, int value) { sched_yield(); }
static inline void fastmlp_wake_all(fastmlp_counter* p) {}
#endif

/* Spin iterations a waiting thread makes before it sleeps (a few microseconds: the wait
 * for a task that is running; a longer one is a task whose thread lost its core, and
 * the waiting thread gives its core away instead of spinning). */
#define FASTMLP_SPINS 2000

/* Wait until *p >= target. After FASTMLP_SPINS spins the thread sleeps (counted in
 * *sleepers, so that the thread that advances *p wakes it: fastmlp_advance). */
static inline void fastmlp_wait_for(fastmlp_counter* p, int target,
                                    fastmlp_counter* sleepers) {
    int spins = 0, seen;
    while ((seen = fastmlp_load(p)) < target) {
        if (spins < FASTMLP_SPINS) {
            fastmlp_pause();
            spins++;
            continue;
        }
        fastmlp_fetch_add(sleepers, 1);
        if (fastmlp_load(p) == seen)
            fastmlp_sleep_while(p, seen);
        fastmlp_fetch_add(sleepers, -1);
    }
}

/* *p = value, waking the threads that sleep on it. */
static inline void fastmlp_advance(fastmlp_counter* p, int value,
                                   fastmlp_counter* sleepers) {
    fastmlp_store(p, value);
    if (fastmlp_load(sleepers) > 0)
        fastmlp_wake_all(p);
}

#endif /* FASTMLP_TEAM_H */
