/* OpenMP helpers of the compiled engine (_engine.pyx); OpenMP is optional at compile time
 * (scikit-learn's _openmp_helpers pattern): without it every team has one thread. */
#ifndef FASTMLP_TEAM_H
#define FASTMLP_TEAM_H

#ifdef _OPENMP
#include <omp.h>
#define fastmlp_openmp_enabled() 1
#define fastmlp_omp_max_threads() omp_get_max_threads()
#define fastmlp_thread_num() omp_get_thread_num()
#define fastmlp_num_threads() omp_get_num_threads()
static inline void fastmlp_barrier(void) {
    #pragma omp barrier
}
#else
#define fastmlp_openmp_enabled() 0
#define fastmlp_omp_max_threads() 1
#define fastmlp_thread_num() 0
#define fastmlp_num_threads() 1
static inline void fastmlp_barrier(void) {}
#endif

/* Run fn(arg) on a team of n threads (the calling thread is thread 0). */
typedef void (*fastmlp_team_fn)(void*);
static inline void fastmlp_run_team(int n, fastmlp_team_fn fn, void* arg) {
    #ifdef _OPENMP
    #pragma omp parallel num_threads(n)
    #endif
    fn(arg);
}

#endif /* FASTMLP_TEAM_H */
