# Thread counts and thresholds of the compiled engine (included by _engine.pyx).
#
# The process-wide settings live in ``_settings``, changed only with the GIL held
# (``set_num_threads``, the ``testing`` hooks). Each engine copies them into its own
# ``Net.th`` when a call starts, and the nogil code reads that copy only.

cdef extern from "_team.h":
    ctypedef void (*fastmlp_team_fn)(void*) noexcept nogil
    ctypedef int fastmlp_counter
    bint fastmlp_openmp_enabled() noexcept nogil
    int fastmlp_omp_max_threads() noexcept nogil
    void fastmlp_run_team(int n, fastmlp_team_fn fn, void* arg) noexcept nogil
    int fastmlp_load(fastmlp_counter* p) noexcept nogil
    bint fastmlp_cas(fastmlp_counter* p, int expected, int desired) noexcept nogil
    int fastmlp_fetch_add(fastmlp_counter* p, int v) noexcept nogil
    void fastmlp_wait_for(fastmlp_counter* p, int target,
                          fastmlp_counter* sleepers) noexcept nogil
    void fastmlp_advance(fastmlp_counter* p, int value, fastmlp_counter* sleepers) noexcept nogil


cdef enum:
    MAX_TEAM = 64          # threads in a team, at most


cdef struct Threading:
    int n_threads                       # OpenMP threads (fastmlp.set_num_threads)
    # Element-wise passes over at least this many elements run on several OpenMP threads
    # (row blocks, one per thread). Off by default: SciPy's OpenBLAS threads keep spinning
    # for a while after each product and the passes' threads would compete with them
    # (benchmarks/RESULTS.md); the tests turn them on and hold them to the serial results.
    Py_ssize_t parallel_min
    # Team mode runs when a batch holds at least team_min_work multiply-adds (rows x the
    # network's weights) and at least team_min_rows rows per thread, or when the first
    # layer's product runs in column mode (_team_size); measured with
    # benchmarks/team_threshold.py (benchmarks/RESULTS.md).
    Py_ssize_t team_min_work
    Py_ssize_t team_min_rows
    # Weights a layer needs (besides more units than rows) for its product to be split
    # by output units in team mode (_team_plan).
    Py_ssize_t team_column_min_weights
    int force_forward                   # tests: forced column plan (-1: the rule)
    int force_backward
    int team_threads                    # tests: threads that run a team's tasks (0: one
                                        # per task)


cdef Py_ssize_t TEAM_OFF = 1 << 60     # a team_min_work from here on turns team mode off

cdef Threading _settings
_settings.n_threads = fastmlp_omp_max_threads()
_settings.parallel_min = PY_SSIZE_T_MAX
_settings.team_min_work = 1 << 24
_settings.team_min_rows = 64
_settings.team_column_min_weights = 1 << 17
_settings.force_forward = -1
_settings.force_backward = -1
_settings.team_threads = 0


cdef inline int _threads_for(const Threading* th, Py_ssize_t rows,
                             Py_ssize_t cols) noexcept nogil:
    """How many threads an element-wise pass over rows x cols gets (1: serial)."""
    if th.n_threads <= 1 or rows < 2 or rows * cols < th.parallel_min:
        return 1
    return th.n_threads if rows >= th.n_threads else <int> rows


# BLAS runs on one thread while any team runs (counted: trainings of several models may
# overlap in different Python threads; the first in sets one thread, the last out restores
# the count it found, or the one fastmlp.set_num_threads set meanwhile). Called with the
# GIL held, which serializes the bookkeeping.
cdef int _blas_users = 0
cdef int _blas_saved_threads = -1


cdef void _blas_single_thread_enter() noexcept:
    global _blas_users, _blas_saved_threads
    if _blas_users == 0:
        _blas_saved_threads = blas_get_threads()
        if _blas_saved_threads > 1:
            blas_set_threads(1)
    _blas_users += 1


cdef void _blas_single_thread_exit() noexcept:
    global _blas_users
    _blas_users -= 1
    if _blas_users == 0 and _blas_saved_threads > 1:
        blas_set_threads(_blas_saved_threads)


def blas_held():
    """Whether a team holds the BLAS thread count now (``fastmlp.set_blas`` waits for none)."""
    return _blas_users > 0


def openmp_enabled():
    """Whether this build of the engine has OpenMP."""
    return bool(fastmlp_openmp_enabled())


def set_num_threads(int n):
    """OpenMP threads for the engine (BLAS is set apart, by ``fastmlp.set_num_threads``,
    before this call: while a team holds SciPy's BLAS to one thread, ``n`` becomes the
    count the last team out restores, and the hold stays)."""
    global _blas_saved_threads
    if n < 1:
        raise ValueError(f"the number of threads must be >= 1, got {n}")
    _settings.n_threads = n if fastmlp_openmp_enabled() else 1
    set_scan_threads(_settings.n_threads)
    if _blas_users > 0:
        _blas_saved_threads = n
        blas_set_threads(1)


def get_num_threads():
    """OpenMP threads of the engine (see :func:`set_num_threads`)."""
    return _settings.n_threads
