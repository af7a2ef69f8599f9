"""The compiled training and inference loop over all layers.

One call runs a whole chunk of mini-batches without the GIL: gather the batch's rows,
forward through every layer (GEMM through BLAS, bias and activation fused), loss and
output delta (fused with sigmoid/softmax), backward (GEMMs with the transposes folded into
the call), and the optimizer update of every parameter. Optional features cost nothing
when off: dropout (a mask multiply on a layer's output, forward and backward, only for
layers that have one), sample weights (a per-row factor inside the loss kernel) and L1/L2
penalties (one pass over the regularized parameters after their gradient GEMM).
Parameters and optimizer state are the NumPy arrays the model owns (updated in place);
workspaces are allocated once per batch size and reused, so a training step allocates
nothing. The maths is the one of :mod:`fastmlp.backend._numpy`.
"""
cimport numpy as cnp
from cpython.pyport cimport PY_SSIZE_T_MAX
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport isfinite, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import threading

import numpy as np

from ._blas cimport blas_get_threads, blas_set_threads, gemm

from ._blas import blas_thread_control
from ._kernels import finite_status, set_scan_threads  # no-cython-lint (re-export)
from ._kernels cimport (ACT_ELU, ACT_LEAKY_RELU, ACT_LINEAR, ACT_PRELU, ACT_RELU, ACT_SIGMOID,
                        ACT_SOFTMAX, ACT_TANH, HYPER_CLIPNORM, MAX_SLOTS,
                        N_HYPER, activation_backward, all_finite as finite_scan,
                        bias_activation_forward, column_sums, learning_rate_at, loss_delta,
                        multiply, optimizer_coefficients, optimizer_update, regularize,
                        squared_norm)

cnp.import_array()

NAME = "cython"


# OpenMP is optional at compile time (scikit-learn's _openmp_helpers pattern).
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define fastmlp_openmp_enabled() 1
    #define fastmlp_omp_max_threads() omp_get_max_threads()
    #else
    #define fastmlp_openmp_enabled() 0
    #define fastmlp_omp_max_threads() 1
    #endif
    """
    bint fastmlp_openmp_enabled() noexcept nogil
    int fastmlp_omp_max_threads() noexcept nogil


#: Element-wise passes over at least this many elements run on several OpenMP threads
#: (row blocks, one per thread). Off by default: measured on 2 cores with SciPy's
#: OpenBLAS (pthreads), whose worker threads keep spinning for a while after each
#: product, the OpenMP threads compete with them and a wide-batch epoch takes twice as
#: long as with serial passes (``benchmarks/test_bench_kernels.py``, ``compare.py``);
#: serial passes already keep training within a few percent of its GEMM time.
#: :func:`set_parallel_min` turns them on (the tests hold them to the serial results).
cdef Py_ssize_t PARALLEL_MIN = PY_SSIZE_T_MAX
#: OpenMP threads for the element-wise passes (``fastmlp.set_num_threads``).
cdef int _n_threads = fastmlp_omp_max_threads()


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


def hold_blas_py(bint hold):
    """Enter (True) or leave (False) the BLAS hold of a team from Python, for the tests."""
    if hold:
        _blas_single_thread_enter()
    else:
        _blas_single_thread_exit()


def blas_held():
    """Whether a team holds the BLAS thread count now (``fastmlp.set_blas`` waits for none)."""
    return _blas_users > 0


def openmp_enabled():
    """Whether this build of the engine has OpenMP."""
    return bool(fastmlp_openmp_enabled())


def set_num_threads(int n):
    """OpenMP threads for the engine's element-wise passes (BLAS is set apart, by
    ``fastmlp.set_num_threads``, before this call: while a team holds SciPy's BLAS to one
    thread, ``n`` becomes the count the last team out restores, and the hold stays)."""
    global _n_threads, _blas_saved_threads
    if n < 1:
        raise ValueError(f"the number of threads must be >= 1, got {n}")
    _n_threads = n if fastmlp_openmp_enabled() else 1
    set_scan_threads(_n_threads)
    if _blas_users > 0:
        _blas_saved_threads = n
        blas_set_threads(1)


def get_num_threads():
    return _n_threads


def set_parallel_min(Py_ssize_t elements):
    """Set the size threshold of the parallel passes; returns the previous one (tests and
    benchmarks use it to force or forbid the parallel path)."""
    global PARALLEL_MIN
    previous = PARALLEL_MIN
    PARALLEL_MIN = max(elements, 1)
    return previous


cdef inline int _threads_for(Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """How many threads an element-wise pass over rows x cols gets (1: serial)."""
    if _n_threads <= 1 or rows < 2 or rows * cols < PARALLEL_MIN:
        return 1
    return _n_threads if rows >= _n_threads else <int> rows


cdef enum:
    PREDICT_STACK_DOUBLES = 1024   # 8 KiB of scratch on the stack for small predictions
    PREDICT_NOGIL_WORK = 65536     # multiply-adds above which predict releases the GIL

cdef struct Layer:
    int n_in, n_out, act, n_alpha
    void* W
    void* b
    void* alpha
    void* dW
    void* db
    void* dalpha
    void* Z          # workspace (capacity, n_out)
    void* A          # workspace (capacity, n_out); == Z when the backward pass does not
                     # need Z apart from A (see _a_replaces_z)
    void* D          # workspace A * mask (capacity, n_out), only with dropout
    void* dZ         # workspace dL/dZ (capacity, n_out)
    void* mask_base  # the chunk's dropout multipliers (rows, n_out), or NULL
    void* mask       # this batch's rows of mask_base; NULL: no dropout now
    bint has_reg
    double kl1, kl2, bl1, bl2
    int norm         # normalization of A: NORM_NONE, NORM_BATCH or NORM_LAYER
    double eps, momentum
    void* gamma      # (n_out,) or NULL (scale 1)
    void* beta       # (n_out,) or NULL (shift 0)
    void* dgamma
    void* dbeta
    void* mmean      # batch normalization's moving statistics (n_out,)
    void* mvar
    void* N          # workspace gamma * H + beta (capacity, n_out): what the next layer sees
    void* H          # workspace (A - mean) * inv (capacity, n_out)
    void* stats      # batch: mean, var, inv, two backward sums (5 n_out); layer: mean,
                     # var, inv per row (3 stats_rows)
    Py_ssize_t stats_rows
    double* acc      # batch: two column sums in double (2 n_out)


cdef enum:
    NORM_NONE = 0    # fastmlp.backend._contract.NORM_*
    NORM_BATCH = 1
    NORM_LAYER = 2


cdef struct Param:
    Py_ssize_t size
    void* p
    void* g
    void* s[3]


cdef struct Net:
    int n_layers, n_params, loss, opt_kind, max_width
    Layer* layers
    Param* params
    Py_ssize_t capacity     # rows the workspaces hold
    void* xb                # gathered batch inputs (capacity, n_in)
    void* xb_next           # team mode: the next batch's inputs (capacity, n_in), the
                            # second half of the one input workspace
    void* yb                # gathered batch targets (capacity, n_out)
    void* wb                # gathered batch sample weights (capacity,)
    void* input_mask_base   # the chunk's dropout multipliers of the inputs, or NULL
    double* hyper
    double* scalars
    bint state_finite       # False after a training call stopped at a non-finite update
    bint has_norm           # some layer normalizes its output
    Py_ssize_t penalty_rows  # 0, or the rows the penalty factors are for (NetSpec)
    double weight_norm      # 0, or the mean batch weight a batch is normalised to
    double batch_scale      # the current training batch's normalisation (1 otherwise)


cdef inline void* _ptr(object arr):
    return cnp.PyArray_DATA(<cnp.ndarray> arr) if arr is not None else NULL


cdef inline bint _a_replaces_z(int act) noexcept nogil:
    """Whether a hidden layer can keep A = f(Z) in Z's memory: its backward pass needs
    only A, or Z's sign, which A has (relu, leaky_relu, elu). Saves a workspace and a
    stream of memory traffic per layer and batch. prelu (dalpha needs Z, and alpha may be
    negative), softplus and the other activations whose derivative needs Z keep both."""
    return (act == ACT_LINEAR or act == ACT_RELU or act == ACT_LEAKY_RELU or act == ACT_ELU
            or act == ACT_SIGMOID or act == ACT_TANH or act == ACT_SOFTMAX)


# --------------------------------------------------------------------------------------
# element-wise passes, on row blocks in parallel above PARALLEL_MIN elements
# --------------------------------------------------------------------------------------
cdef void _bias_activation(int kind, floating* z, floating* a, const floating* b,
                           const floating* alpha, int n_alpha, Py_ssize_t rows,
                           Py_ssize_t cols) noexcept nogil:
    """:c:func:`bias_activation_forward`, one row block per thread."""
    cdef int nt = _threads_for(rows, cols)
    cdef Py_ssize_t t, r0, r1, per
    if nt == 1:
        bias_activation_forward(kind, z, a, b, alpha, n_alpha, rows, cols)
        return
    per = (rows + nt - 1) // nt
    for t in prange(nt, num_threads=nt, schedule="static"):
        r0 = t * per
        r1 = min(r0 + per, rows)
        if r1 > r0:
            bias_activation_forward(kind, z + r0 * cols, a + r0 * cols, b, alpha, n_alpha,
                                    r1 - r0, cols)


cdef void _activation_backward(int kind, const floating* z, const floating* a, floating* d,
                               const floating* alpha, int n_alpha, floating* dalpha,
                               Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """:c:func:`activation_backward`, one row block per thread (prelu, whose dalpha sums
    over rows, stays serial)."""
    cdef int nt = 1 if kind == ACT_PRELU else _threads_for(rows, cols)
    cdef Py_ssize_t t, r0, r1, per
    if nt == 1:
        activation_backward(kind, z, a, d, alpha, n_alpha, dalpha, rows, cols)
        return
    per = (rows + nt - 1) // nt
    for t in prange(nt, num_threads=nt, schedule="static"):
        r0 = t * per
        r1 = min(r0 + per, rows)
        if r1 > r0:
            activation_backward(kind, z + r0 * cols, a + r0 * cols, d + r0 * cols, alpha,
                                n_alpha, dalpha, r1 - r0, cols)


cdef void _column_sums(const floating* d, floating* out, Py_ssize_t rows,
                       Py_ssize_t cols) noexcept nogil:
    """:c:func:`column_sums`, one block of columns per thread: every column is still
    summed over the rows in order, so the result does not depend on the thread count."""
    cdef int nt = _threads_for(rows, cols) if cols >= 64 else 1
    cdef Py_ssize_t t, c0, c1, per
    if nt == 1:
        column_sums(d, out, rows, cols, cols)
        return
    per = (cols + nt - 1) // nt
    per = (per + 15) // 16 * 16      # whole cache lines per thread
    for t in prange(nt, num_threads=nt, schedule="static"):
        c0 = t * per
        c1 = min(c0 + per, cols)
        if c1 > c0:
            column_sums(d + c0, out + c0, rows, c1 - c0, cols)


cdef void _gather(floating* dst, const floating* src, const Py_ssize_t* rows_idx,
                  Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """dst[r] = src[rows_idx[r]] for every row r (the batch's rows, in order)."""
    cdef int nt = _threads_for(rows, cols)
    cdef Py_ssize_t r
    if nt == 1:
        for r in range(rows):
            memcpy(dst + r * cols, src + rows_idx[r] * cols, cols * sizeof(floating))
        return
    for r in prange(rows, num_threads=nt, schedule="static"):
        memcpy(dst + r * cols, src + rows_idx[r] * cols, cols * sizeof(floating))


# --------------------------------------------------------------------------------------
# normalization of a layer's output (_numpy.norm_forward / norm_backward / norm_update)
# --------------------------------------------------------------------------------------
cdef inline void _norm_row(const floating* a, floating* h, floating* out, Py_ssize_t cols,
                           const floating* gamma, const floating* beta, floating eps,
                           floating* mean, floating* var, floating* inv) noexcept nogil:
    """One row of layer normalization: mean, biased variance (summed in double), inv =
    1 / sqrt(var + eps), h = (a - mean) inv, out = gamma h + beta."""
    cdef Py_ssize_t c
    cdef double s = 0
    cdef floating d, m, w
    for c in range(cols):
        s += a[c]
    m = <floating> (s / cols)
    s = 0
    for c in range(cols):
        d = a[c] - m
        s += d * d
    mean[0] = m
    var[0] = <floating> (s / cols)
    w = <floating> 1 / <floating> sqrt(var[0] + eps)
    inv[0] = w
    for c in range(cols):
        d = (a[c] - m) * w
        h[c] = d
        if gamma != NULL:
            d = d * gamma[c]
        if beta != NULL:
            d = d + beta[c]
        out[c] = d


cdef void _norm_forward(Layer* L, const floating* a, Py_ssize_t rows,
                        bint training) noexcept nogil:
    """N = gamma * H + beta, H = (A - mean) * inv: batch normalization with the batch's
    column statistics (``training``) or the moving ones; layer normalization per row."""
    cdef Py_ssize_t r, c, cols = L.n_out
    cdef floating* h = <floating*> L.H
    cdef floating* out = <floating*> L.N
    cdef floating* st = <floating*> L.stats
    cdef const floating* gamma = <floating*> L.gamma
    cdef const floating* beta = <floating*> L.beta
    cdef const floating* mean
    cdef const floating* var
    cdef floating* inv = st + 2 * cols
    cdef floating eps = <floating> L.eps
    cdef floating d
    if L.norm == NORM_LAYER:
        for r in range(rows):
            _norm_row(a + r * cols, h + r * cols, out + r * cols, cols, gamma, beta, eps,
                      st + r, st + L.stats_rows + r, st + 2 * L.stats_rows + r)
        return
    if training:  # column sums in row order, in double (as NumPy reduces over rows)
        _column_means(a, st, L.acc, rows, cols)
        _column_square_means(a, st, st + cols, L.acc, rows, cols)
        mean = st
        var = st + cols
    else:
        mean = <floating*> L.mmean
        var = <floating*> L.mvar
    for c in range(cols):
        inv[c] = <floating> 1 / <floating> sqrt(var[c] + eps)
    for r in range(rows):
        for c in range(cols):
            d = (a[r * cols + c] - mean[c]) * inv[c]
            h[r * cols + c] = d
            if gamma != NULL:
                d = d * gamma[c]
            if beta != NULL:
                d = d + beta[c]
            out[r * cols + c] = d


cdef void _column_means(const floating* a, floating* mean, double* acc, Py_ssize_t rows,
                        Py_ssize_t cols) noexcept nogil:
    """mean[c] = sum_r a[r, c] / rows, summed in double in row order (row by row, so the
    rows are read in memory order)."""
    cdef Py_ssize_t r, c
    for c in range(cols):
        acc[c] = 0
    for r in range(rows):
        for c in range(cols):
            acc[c] += a[r * cols + c]
    for c in range(cols):
        mean[c] = <floating> (acc[c] / rows)


cdef void _column_square_means(const floating* a, const floating* mean, floating* var,
                               double* acc, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """var[c] = sum_r (a[r, c] - mean[c])^2 / rows (squares in the dtype, sum in double)."""
    cdef Py_ssize_t r, c
    cdef floating d
    for c in range(cols):
        acc[c] = 0
    for r in range(rows):
        for c in range(cols):
            d = a[r * cols + c] - mean[c]
            acc[c] += d * d
    for c in range(cols):
        var[c] = <floating> (acc[c] / rows)


cdef void _norm_backward(Layer* L, floating* d, Py_ssize_t rows) noexcept nogil:
    """In place: dL/dN on entry, dL/dA on exit; writes dgamma = sum_r d H and dbeta =
    sum_r d (summed in the dtype, row by row). With dH = gamma d:
    dA = inv (dH - mean(dH) - H mean(dH H)), the means over the rows (batch) or the
    row's features (layer), summed in double."""
    cdef Py_ssize_t r, c, cols = L.n_out
    cdef const floating* h = <floating*> L.H
    cdef floating* st = <floating*> L.stats
    cdef const floating* gamma = <floating*> L.gamma
    cdef floating* dgamma = <floating*> L.dgamma
    cdef floating* dbeta = <floating*> L.dbeta
    cdef floating* inv
    cdef floating* md
    cdef floating* mdx
    cdef floating m1, m2, w
    cdef double s1, s2
    if dgamma != NULL:
        for c in range(cols):
            dgamma[c] = 0
        for r in range(rows):
            for c in range(cols):
                dgamma[c] += d[r * cols + c] * h[r * cols + c]
    if dbeta != NULL:
        for c in range(cols):
            dbeta[c] = 0
        for r in range(rows):
            for c in range(cols):
                dbeta[c] += d[r * cols + c]
    if gamma != NULL:
        for r in range(rows):
            for c in range(cols):
                d[r * cols + c] = d[r * cols + c] * gamma[c]
    if L.norm == NORM_LAYER:
        inv = st + 2 * L.stats_rows
        for r in range(rows):
            s1 = 0
            s2 = 0
            for c in range(cols):
                s1 += d[r * cols + c]
            for c in range(cols):
                s2 += d[r * cols + c] * h[r * cols + c]
            m1 = <floating> (s1 / cols)
            m2 = <floating> (s2 / cols)
            w = inv[r]
            for c in range(cols):
                d[r * cols + c] = w * (d[r * cols + c] - m1 - h[r * cols + c] * m2)
        return
    inv = st + 2 * cols
    md = st + 3 * cols
    mdx = st + 4 * cols
    for c in range(2 * cols):
        L.acc[c] = 0
    for r in range(rows):   # both column sums in row order, row by row
        for c in range(cols):
            L.acc[c] += d[r * cols + c]
            L.acc[cols + c] += d[r * cols + c] * h[r * cols + c]
    for c in range(cols):
        md[c] = <floating> (L.acc[c] / rows)
        mdx[c] = <floating> (L.acc[cols + c] / rows)
    for r in range(rows):
        for c in range(cols):
            d[r * cols + c] = inv[c] * (d[r * cols + c] - md[c] - h[r * cols + c] * mdx[c])


cdef void _norm_update(Net* net, floating* tag) noexcept nogil:
    """The batch normalizations' moving statistics after an applied step:
    m = m rho + mean (1 - rho), v = v rho + var (1 - rho), in the dtype."""
    cdef int l
    cdef Py_ssize_t c
    cdef Layer* L
    cdef floating rho, one_minus
    cdef floating* mm
    cdef floating* mv
    cdef const floating* st
    for l in range(net.n_layers):
        L = &net.layers[l]
        if L.norm != NORM_BATCH:
            continue
        rho = <floating> L.momentum
        one_minus = <floating> 1 - rho
        mm = <floating*> L.mmean
        mv = <floating*> L.mvar
        st = <floating*> L.stats
        for c in range(L.n_out):
            mm[c] = mm[c] * rho + st[c] * one_minus
            mv[c] = mv[c] * rho + st[L.n_out + c] * one_minus


cdef void _norm_inference(const Layer* L, floating* a, Py_ssize_t rows) noexcept nogil:
    """In place, without touching the layer's workspaces (predict runs concurrently):
    batch normalization with the moving statistics, layer normalization per row."""
    cdef Py_ssize_t r, c, cols = L.n_out
    cdef const floating* gamma = <floating*> L.gamma
    cdef const floating* beta = <floating*> L.beta
    cdef const floating* mm = <floating*> L.mmean
    cdef const floating* mv = <floating*> L.mvar
    cdef floating eps = <floating> L.eps
    cdef floating m, v, w, d
    for r in range(rows):
        if L.norm == NORM_LAYER:
            _norm_row(a + r * cols, a + r * cols, a + r * cols, cols, gamma, beta, eps,
                      &m, &v, &w)
            continue
        for c in range(cols):
            w = <floating> 1 / <floating> sqrt(mv[c] + eps)
            d = (a[r * cols + c] - mm[c]) * w
            if gamma != NULL:
                d = d * gamma[c]
            if beta != NULL:
                d = d + beta[c]
            a[r * cols + c] = d


# --------------------------------------------------------------------------------------
# the loops (fused float/double; the pointer arguments select the specialization)
# --------------------------------------------------------------------------------------
cdef void _forward(Net* net, const floating* x, Py_ssize_t rows,
                   bint training) noexcept nogil:
    """Z_l = A_{l-1} W_l ; Z_l += b_l ; A_l = f(Z_l) for every layer, into the workspaces
    (then the layer's normalization, in training mode or not, and its dropout mask)."""
    cdef int l
    cdef Layer* L
    cdef const floating* a_prev = x
    cdef floating* src
    for l in range(net.n_layers):
        L = &net.layers[l]
        gemm(False, False, <int> rows, L.n_out, L.n_in, <floating> 1, a_prev, L.n_in,
             <floating*> L.W, L.n_out, <floating> 0, <floating*> L.Z, L.n_out)
        _bias_activation(L.act, <floating*> L.Z, <floating*> L.A, <floating*> L.b,
                         <floating*> L.alpha, L.n_alpha, rows, L.n_out)
        src = <floating*> L.A
        if L.norm != NORM_NONE:
            _norm_forward(L, <floating*> L.A, rows, training)
            src = <floating*> L.N
        if L.mask != NULL:  # inverted dropout: the next layer sees A * mask
            multiply(src, <floating*> L.mask, <floating*> L.D, rows * L.n_out)
            a_prev = <floating*> L.D
        else:
            a_prev = src


cdef inline double _penalty_scale(Net* net, Py_ssize_t rows) noexcept nogil:
    """The factor of the penalties for a batch of ``rows`` rows (NetSpec.penalty_rows)."""
    return ((<double> net.penalty_rows) / rows if net.penalty_rows > 0 else 1.0) \
        * net.batch_scale


cdef double _penalty(Net* net, floating* tag, Py_ssize_t rows) noexcept nogil:
    """The layers' L1/L2 penalty (no gradient) for ``rows`` rows."""
    cdef int l
    cdef Layer* L
    cdef double total = 0.0
    cdef double c = _penalty_scale(net, rows)
    for l in range(net.n_layers):
        L = &net.layers[l]
        if L.has_reg:
            total += regularize(<floating*> L.W, <floating*> NULL, L.n_in * L.n_out,
                                c * L.kl1, c * L.kl2)
            total += regularize(<floating*> L.b, <floating*> NULL, L.n_out, c * L.bl1,
                                c * L.bl2)
    return total


cdef double _backward(Net* net, const floating* x, const floating* y, const floating* w,
                      Py_ssize_t rows) noexcept nogil:
    """Loss of the batch in the workspaces (``w``: row weights or NULL) plus the
    penalties, and every parameter's gradient."""
    cdef int l
    cdef Layer* L = &net.layers[net.n_layers - 1]
    cdef Layer* P
    cdef floating* dz
    cdef floating* dnext
    cdef const floating* a_prev
    cdef double c
    cdef double loss = loss_delta(net.loss, L.act, <floating*> L.Z, <floating*> L.A, y, w,
                                  <floating*> L.dZ, <floating*> L.alpha, L.n_alpha,
                                  <floating*> L.dalpha, rows, L.n_out, rows)
    if not isfinite(loss):
        return loss
    for l in range(net.n_layers - 1, -1, -1):
        L = &net.layers[l]
        dz = <floating*> L.dZ
        if l == 0:
            a_prev = x
        else:
            P = &net.layers[l - 1]
            a_prev = <floating*> (P.D if P.mask != NULL else
                                  (P.N if P.norm != NORM_NONE else P.A))
            dnext = <floating*> P.dZ
        # dW = A_prev^T dZ ; db = sum_rows dZ  (+ the penalties' gradients)
        gemm(True, False, L.n_in, L.n_out, <int> rows, <floating> 1, a_prev, L.n_in, dz,
             L.n_out, <floating> 0, <floating*> L.dW, L.n_out)
        _column_sums(dz, <floating*> L.db, rows, L.n_out)
        if L.has_reg:
            c = _penalty_scale(net, rows)
            loss += regularize(<floating*> L.W, <floating*> L.dW, L.n_in * L.n_out,
                               c * L.kl1, c * L.kl2)
            loss += regularize(<floating*> L.b, <floating*> L.db, L.n_out, c * L.bl1,
                               c * L.bl2)
        if l > 0:
            # dA_prev = dZ W^T (* mask) ; dZ_prev = dA_prev * f'(Z_prev)
            gemm(False, True, <int> rows, L.n_in, L.n_out, <floating> 1, dz, L.n_out,
                 <floating*> L.W, L.n_out, <floating> 0, dnext, L.n_in)
            if P.mask != NULL:
                multiply(dnext, <floating*> P.mask, dnext, rows * P.n_out)
            if P.norm != NORM_NONE:
                _norm_backward(P, dnext, rows)
            _activation_backward(P.act, <floating*> P.Z, <floating*> P.A, dnext,
                                 <floating*> P.alpha, P.n_alpha, <floating*> P.dalpha,
                                 rows, P.n_out)
    return loss


cdef bint _update(Net* net, floating* tag) noexcept nogil:
    """One optimizer step on every parameter (_numpy.optimizer_step): count the step,
    evaluate its learning rate and the rule's scalars, measure the global gradient norm
    when clipping by norm, then one fused pass per parameter array. Returns whether every
    parameter and state value it wrote is finite."""
    cdef int i
    cdef bint ok = True
    cdef Param* q
    cdef double coef[4]
    cdef double lr, norm, scale = 1
    cdef double clipnorm = net.hyper[HYPER_CLIPNORM]
    net.scalars[0] += 1
    lr = learning_rate_at(net.hyper, net.scalars[0] - 1)
    optimizer_coefficients(net.opt_kind, net.hyper, net.scalars, lr, coef)
    if clipnorm > 0:
        norm = 0
        for i in range(net.n_params):
            norm += squared_norm(<floating*> net.params[i].g, net.params[i].size)
        norm = sqrt(norm)
        if norm > clipnorm:
            scale = clipnorm / norm
    for i in range(net.n_params):
        q = &net.params[i]
        ok &= optimizer_update(net.opt_kind, net.hyper, coef, scale, <floating*> q.p,
                               <floating*> q.g, <floating*> q.s[0], <floating*> q.s[1],
                               <floating*> q.s[2], q.size)
    return ok


cdef Py_ssize_t _train(Net* net, const floating* x, const floating* y, const floating* w,
                       Py_ssize_t n, const Py_ssize_t* order, Py_ssize_t batch_size,
                       Py_ssize_t first, Py_ssize_t stop, double* losses,
                       bint dropout) noexcept nogil:
    """Run batches first..stop-1; return how many completed. Stops at a non-finite loss
    (that batch is not applied, nor counted), or after an update that made a parameter or
    its optimizer state non-finite (counted; ``net.state_finite`` becomes False).

    ``w``: sample weights indexed like ``x``'s rows, or NULL; ``dropout``: point each
    layer's ``mask`` at the batch's rows of its ``mask_base``.
    """
    cdef Py_ssize_t bi, r, start, rows
    cdef int l, n_in = net.layers[0].n_in
    cdef int n_out = net.layers[net.n_layers - 1].n_out
    cdef floating* xb = <floating*> net.xb
    cdef floating* yb = <floating*> net.yb
    cdef floating* wb = <floating*> net.wb if w != NULL else NULL
    cdef Layer* L
    cdef double loss, wsum
    cdef floating f
    for bi in range(first, stop):
        start = bi * batch_size
        rows = batch_size if start + batch_size <= n else n - start
        _gather(xb, x, order + start, rows, n_in)
        _gather(yb, y, order + start, rows, n_out)
        if w != NULL:
            for r in range(rows):
                wb[r] = w[order[start + r]]
            if net.weight_norm > 0:   # NetSpec.weight_norm: scikit-learn's sum_B s
                wsum = 0
                for r in range(rows):
                    wsum += wb[r]
                net.batch_scale = rows * net.weight_norm / wsum if wsum > 0 else 1.0
                f = <floating> net.batch_scale
                for r in range(rows):
                    wb[r] = wb[r] * f
        if net.input_mask_base != NULL:  # dropout on the inputs, in the gathered copy
            multiply(xb, (<floating*> net.input_mask_base) + (bi - first) * batch_size * n_in,
                     xb, rows * n_in)
        if dropout:
            for l in range(net.n_layers):
                L = &net.layers[l]
                if L.mask_base != NULL:
                    L.mask = (<floating*> L.mask_base) + (bi - first) * batch_size * L.n_out
        _forward(net, xb, rows, True)
        loss = _backward(net, xb, yb, wb, rows)
        net.batch_scale = 1.0
        losses[bi - first] = loss
        if not isfinite(loss):
            return bi - first
        if not _update(net, xb):
            net.state_finite = False
            return bi - first + 1
        if net.has_norm:
            _norm_update(net, xb)
    return stop - first


# --------------------------------------------------------------------------------------
# team mode: one OpenMP team runs a whole chunk, every product split between its threads
# --------------------------------------------------------------------------------------
# With BLAS threading, every product forks and joins BLAS's own threads, and everything
# between products (bias and activation passes, loss, gathers, the optimizer update) runs
# on one core while the others spin. In team mode the engine's own OpenMP team runs the
# chunk: the BLAS library is set to one thread for the call, and each thread makes its
# share of every product with its own single-threaded BLAS call and also does its share
# of every element-wise pass. One mini-batch is:
#
#   each thread t, its block of the batch's rows (no synchronization: rows are independent
#   up to the loss; gathered during the previous step): forward through every layer, loss
#   and dZ of the output, and the whole chain dZ_{l-1} = f'(Z_{l-1}) * (dZ_l W_l^T) down
#   to layer 1
#   -- barrier: the partial losses add up to the batch's loss (each thread adds them in the
#      same order, so all agree on whether it is finite); thread 0 has counted the step
#      and computed the rule's scalars
#   each thread, its block of every layer's input units (rows of W) and output units:
#   dW[rows] = A_prev[:, rows]^T dZ, db[cols] = column sums, and the optimizer update of
#   exactly those parameters, while the gradient block is still in its cache
#   each thread gathers its rows of the next batch into the other input workspace
#   -- barrier: every parameter is updated before the next batch's forward pass
#
# Column mode (Engine._team_plan): where a layer's weights outweigh the batch's rows, its
# product is split by output units instead: each thread computes its block of the layer's
# units for every row (packing only its block of the weights, and all rows of the input,
# which OpenBLAS packs more cheaply), with a barrier after it; the leading layers so
# chosen run forward this way before the rows' pass starts, and the product into layer
# 1's dZ may too (after the loss barrier).
# With global-norm clipping or penalties the updates wait for one more barrier (the norm
# and the penalties add up over all parameters first). Results equal the serial path's up
# to the rounding of the partial loss sums (the products and passes compute each output
# element from the same operands in the same order); they do not depend on timing.
cdef extern from *:
    """
    #ifdef _OPENMP
    static void fastmlp_barrier(void) {
        #pragma omp barrier
    }
    #define fastmlp_thread_num() omp_get_thread_num()
    #define fastmlp_num_threads() omp_get_num_threads()
    #else
    static void fastmlp_barrier(void) {}
    #define fastmlp_thread_num() 0
    #define fastmlp_num_threads() 1
    #endif
    typedef void (*fastmlp_team_fn)(void*);
    static void fastmlp_run_team(int n, fastmlp_team_fn fn, void* arg) {
        #ifdef _OPENMP
        #pragma omp parallel num_threads(n)
        #endif
        fn(arg);
    }
    """
    ctypedef void (*fastmlp_team_fn)(void*) noexcept nogil
    void fastmlp_barrier() noexcept nogil
    int fastmlp_thread_num() noexcept nogil
    int fastmlp_num_threads() noexcept nogil
    void fastmlp_run_team(int n, fastmlp_team_fn fn, void* arg) noexcept nogil


cdef enum:
    MAX_TEAM = 64          # threads in a team, at most
    PART_STRIDE = 8        # doubles per thread in Team.part (one cache line each)

#: Team mode runs when a batch holds at least this many multiply-adds (rows x the
#: network's weights) and at least TEAM_MIN_ROWS rows per thread, or when the first
#: layer's product runs in column mode (Engine._team_size); otherwise one thread and
#: BLAS's own threading are as fast or faster. Measured on 2 cores with
#: ``benchmarks/team_threshold.py`` (benchmarks/RESULTS.md): split by rows, team mode
#: is ~15% faster from 784-256-256-10 at batch 128, even at 256-256-256-10 at batch 128
#: (17 M), and up to 2.3x slower with batches of 32-64 rows (per-thread products of
#: 16-32 rows, each packing all the weights); with the first layer in column mode it is
#: 1.1-1.8x faster down to batches of one row (784-256-256-10, 512-512-512-10).
cdef Py_ssize_t TEAM_MIN_WORK = 1 << 24
cdef Py_ssize_t TEAM_OFF = 1 << 60     # a min_work from here on turns team mode off
cdef Py_ssize_t TEAM_MIN_ROWS = 64
#: Weights a layer needs (besides more units than rows) for its product to be split by
#: output units in team mode (see Engine._team_plan).
cdef Py_ssize_t TEAM_COLUMN_MIN_WEIGHTS = 1 << 17
cdef int TEAM_FORCE_FORWARD = -1        # tests: forced column plan (-1: the rule)
cdef int TEAM_FORCE_BACKWARD = -1


def set_team_thresholds(min_work=None, min_rows=None):
    """Set the multiply-adds per batch and the rows per thread from which training runs in
    team mode (None: unchanged); returns the previous pair. Tests force team mode on
    small networks with (0, 0); benchmarks measure the thresholds; ``min_work`` >= 2**60
    turns team mode off altogether (also where the first layer's column mode would
    choose it)."""
    global TEAM_MIN_WORK, TEAM_MIN_ROWS
    previous = (TEAM_MIN_WORK, TEAM_MIN_ROWS)
    if min_work is not None:
        TEAM_MIN_WORK = max(<Py_ssize_t> min_work, 0)
    if min_rows is not None:
        TEAM_MIN_ROWS = max(<Py_ssize_t> min_rows, 0)
    return previous


def set_team_columns(forward=None, backward=None):
    """Force the column plan of team mode (None: the rule of ``_team_plan``): the number
    of leading layers whose forward product is split by output units, and whether the
    product into the first layer's dZ is. Returns the previous pair. For tests."""
    global TEAM_FORCE_FORWARD, TEAM_FORCE_BACKWARD
    previous = (None if TEAM_FORCE_FORWARD < 0 else TEAM_FORCE_FORWARD,
                None if TEAM_FORCE_BACKWARD < 0 else bool(TEAM_FORCE_BACKWARD))
    TEAM_FORCE_FORWARD = -1 if forward is None else max(<int> forward, 0)
    TEAM_FORCE_BACKWARD = -1 if backward is None else <int> bool(backward)
    return previous


def team_plan(engine, Py_ssize_t rows):
    """(leading layers in column mode, backward product in column mode) of a team-mode
    training call of ``engine`` on batches of ``rows`` rows."""
    if not isinstance(engine, Engine):
        raise TypeError(f"expected a compiled Engine, got {type(engine).__name__}")
    cdef int forward
    cdef bint backward
    (<Engine> engine)._team_plan(rows, &forward, &backward)
    return forward, bool(backward)


def team_size(engine, Py_ssize_t rows):
    """Threads a training call of ``engine`` on batches of ``rows`` rows would use."""
    if not isinstance(engine, Engine):
        raise TypeError(f"expected a compiled Engine, got {type(engine).__name__}")
    return (<Engine> engine)._team_size(rows)


cdef struct Team:
    Net* net
    const void* x
    const void* y
    const void* w
    Py_ssize_t n, batch_size, first, stop, done
    const Py_ssize_t* order
    double* losses
    bint dropout
    bint deferred          # updates wait for the global norm / the penalties
    int forward_columns    # leading layers whose forward product is split by output units
    bint backward_columns  # dZ_1's product split by units (else by rows)
    double coef[4]         # the step's rule scalars (thread 0 computes them)
    double saved[4]        # optimizer scalars before the step (restored if it fails)
    double part[MAX_TEAM * PART_STRIDE]   # per thread: loss, penalty, squared norm, ok


cdef inline void _block(Py_ssize_t n, int t, int nt, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """Thread t's share [lo, hi) of n items split evenly between nt threads."""
    lo[0] = n * t // nt
    hi[0] = n * (t + 1) // nt


cdef inline void _column_block(Py_ssize_t n, int t, int nt, Py_ssize_t* lo,
                               Py_ssize_t* hi) noexcept nogil:
    """Thread t's share of n columns, in whole 64-byte lines where possible."""
    cdef Py_ssize_t per = ((n + nt - 1) // nt + 15) // 16 * 16
    lo[0] = min(per * t, n)
    hi[0] = min(per * (t + 1), n)


cdef inline floating* _at(void* base, Py_ssize_t offset, floating* tag) noexcept nogil:
    return (<floating*> base) + offset if base != NULL else NULL


cdef bint _update_range(Net* net, Param* q, const double* coef, double scale,
                        Py_ssize_t lo, Py_ssize_t hi, floating* tag) noexcept nogil:
    """The optimizer step on elements lo..hi-1 of one parameter (element-wise rules);
    whether the values written are finite."""
    if hi <= lo:
        return True
    return optimizer_update(net.opt_kind, net.hyper, coef, scale, _at(q.p, lo, tag),
                            _at(q.g, lo, tag), _at(q.s[0], lo, tag), _at(q.s[1], lo, tag),
                            _at(q.s[2], lo, tag), hi - lo)


cdef inline Py_ssize_t _batch_rows(Team* tm, Py_ssize_t bi) noexcept nogil:
    """Rows of batch bi (the last one may be short)."""
    return min(tm.batch_size, tm.n - bi * tm.batch_size)


cdef inline floating* _team_x(Team* tm, Py_ssize_t bi, floating* tag) noexcept nogil:
    """Batch bi's gathered inputs: the two input workspaces alternate, so that each
    thread gathers its rows of the next batch before the step's last barrier."""
    return <floating*> (tm.net.xb if (bi - tm.first) % 2 == 0 else tm.net.xb_next)


cdef inline Py_ssize_t _mask_row(Team* tm, Py_ssize_t bi) noexcept nogil:
    """Row of the chunk's dropout masks where batch bi starts."""
    return (bi - tm.first) * tm.batch_size


cdef inline bint _masked(Team* tm, Layer* L) noexcept nogil:
    """Whether layer L's output is multiplied by a dropout mask in this call."""
    return tm.dropout and L.mask_base != NULL


cdef inline floating* _layer_output(Team* tm, Layer* L, floating* tag) noexcept nogil:
    """What the next layer multiplies: A, or A * mask under dropout."""
    return <floating*> (L.D if _masked(tm, L) else L.A)


cdef void _team_gather(Team* tm, Py_ssize_t bi, Py_ssize_t r0, Py_ssize_t r1,
                       floating* tag) noexcept nogil:
    """Rows r0..r1-1 of batch bi into the batch workspaces (inputs with their dropout
    multipliers applied, targets, sample weights)."""
    cdef Net* net = tm.net
    cdef Py_ssize_t nr = r1 - r0, r, start = bi * tm.batch_size
    cdef int n_in = net.layers[0].n_in
    cdef int n_out = net.layers[net.n_layers - 1].n_out
    cdef const floating* w = <const floating*> tm.w
    cdef floating* xb = _team_x(tm, bi, tag) + r0 * n_in
    cdef floating* wb
    if nr <= 0:
        return
    _gather(xb, <const floating*> tm.x, tm.order + start + r0, nr, n_in)
    _gather((<floating*> net.yb) + r0 * n_out, <const floating*> tm.y,
            tm.order + start + r0, nr, n_out)
    if w != NULL:
        wb = (<floating*> net.wb) + r0
        for r in range(nr):
            wb[r] = w[tm.order[start + r0 + r]]
    if net.input_mask_base != NULL:
        multiply(xb, (<floating*> net.input_mask_base) + (_mask_row(tm, bi) + r0) * n_in, xb,
                 nr * n_in)


# A block of rows r0..r1-1 by units c0..c1-1 of one layer: the rows' pass takes every unit
# of its rows, column mode every row of its units. The element-wise passes work on
# contiguous rows: a block of all the units is one pass, a narrower block one per row.

cdef void _forward_block(Team* tm, int l, Py_ssize_t bi, Py_ssize_t r0, Py_ssize_t r1,
                         Py_ssize_t c0, Py_ssize_t c1, floating* tag) noexcept nogil:
    """Layer l's block of batch bi: Z = A_prev W + b, A, and A * mask under dropout (A_prev
    complete for rows r0..r1-1)."""
    cdef Layer* L = &tm.net.layers[l]
    cdef Py_ssize_t nc = c1 - c0, r = r0, off
    cdef Py_ssize_t step = r1 - r0 if nc == L.n_out else 1
    cdef const floating* a_prev
    if r1 <= r0 or nc <= 0:
        return
    a_prev = (_team_x(tm, bi, tag) if l == 0
              else _layer_output(tm, &tm.net.layers[l - 1], tag)) + r0 * L.n_in
    gemm(False, False, <int> (r1 - r0), <int> nc, L.n_in, <floating> 1, a_prev, L.n_in,
         (<floating*> L.W) + c0, L.n_out, <floating> 0,
         (<floating*> L.Z) + r0 * L.n_out + c0, L.n_out)
    while r < r1:
        off = r * L.n_out + c0
        bias_activation_forward(L.act, (<floating*> L.Z) + off, (<floating*> L.A) + off,
                                (<floating*> L.b) + c0, <floating*> L.alpha, L.n_alpha,
                                step, nc)
        if _masked(tm, L):
            multiply((<floating*> L.A) + off,
                     (<floating*> L.mask_base) + (_mask_row(tm, bi) + r) * L.n_out + c0,
                     (<floating*> L.D) + off, step * nc)
        r += step


cdef void _backward_block(Team* tm, int l, Py_ssize_t bi, Py_ssize_t r0, Py_ssize_t r1,
                          Py_ssize_t c0, Py_ssize_t c1, floating* tag) noexcept nogil:
    """Layer l-1's block of dZ for batch bi: f'(Z) * (dZ_l W_l^T), times the mask under
    dropout (dZ_l complete for rows r0..r1-1)."""
    cdef Layer* L = &tm.net.layers[l]
    cdef Layer* P = &tm.net.layers[l - 1]
    cdef Py_ssize_t nc = c1 - c0, r = r0, off
    cdef Py_ssize_t step = r1 - r0 if nc == P.n_out else 1
    if r1 <= r0 or nc <= 0:
        return
    gemm(False, True, <int> (r1 - r0), <int> nc, L.n_out, <floating> 1,
         (<floating*> L.dZ) + r0 * L.n_out, L.n_out, (<floating*> L.W) + c0 * L.n_out,
         L.n_out, <floating> 0, (<floating*> P.dZ) + r0 * P.n_out + c0, P.n_out)
    while r < r1:
        off = r * P.n_out + c0
        if _masked(tm, P):
            multiply((<floating*> P.dZ) + off,
                     (<floating*> P.mask_base) + (_mask_row(tm, bi) + r) * P.n_out + c0,
                     (<floating*> P.dZ) + off, step * nc)
        activation_backward(P.act, (<floating*> P.Z) + off, (<floating*> P.A) + off,
                            (<floating*> P.dZ) + off, <floating*> P.alpha, P.n_alpha,
                            <floating*> NULL, step, nc)
        r += step


cdef double _team_rows(Team* tm, Py_ssize_t bi, Py_ssize_t rows, Py_ssize_t r0,
                       Py_ssize_t r1, int first, int last, floating* tag) noexcept nogil:
    """Rows r0..r1-1 of batch bi (already gathered): forward from layer ``first`` (the
    layers before it are done), loss, and the dZ chain down to layer ``last``. Returns
    their share of the batch's loss (a mean over ``rows``)."""
    cdef Net* net = tm.net
    cdef int l, n_out = net.layers[net.n_layers - 1].n_out
    cdef Layer* L = &net.layers[net.n_layers - 1]
    cdef floating* wb = NULL
    cdef double loss
    if r1 <= r0:
        return 0.0
    if tm.w != NULL:
        wb = (<floating*> net.wb) + r0
    for l in range(first, net.n_layers):
        _forward_block(tm, l, bi, r0, r1, 0, net.layers[l].n_out, tag)
    loss = loss_delta(net.loss, L.act, (<floating*> L.Z) + r0 * n_out,
                      (<floating*> L.A) + r0 * n_out, (<floating*> net.yb) + r0 * n_out, wb,
                      (<floating*> L.dZ) + r0 * n_out, <floating*> L.alpha, L.n_alpha,
                      <floating*> NULL, r1 - r0, n_out, rows)
    if not isfinite(loss):
        return loss
    for l in range(net.n_layers - 1, last, -1):
        _backward_block(tm, l, bi, r0, r1, 0, net.layers[l - 1].n_out, tag)
    return loss


cdef bint _team_gradients(Team* tm, Py_ssize_t bi, Py_ssize_t rows, int t, int nt,
                          bint update, double* penalty, double* norm2,
                          floating* tag) noexcept nogil:
    """Thread t's block of every gradient (and, with ``update``, of every update; returns
    whether the values it wrote are finite)."""
    cdef Net* net = tm.net
    cdef int l, j = 0
    cdef bint ok = True
    cdef Layer* L
    cdef const floating* a_prev
    cdef Py_ssize_t i0, i1, c0, c1
    cdef floating* dW
    cdef floating* db
    cdef double c
    for l in range(net.n_layers):
        L = &net.layers[l]
        a_prev = _team_x(tm, bi, tag) if l == 0 else _layer_output(tm, &net.layers[l - 1], tag)
        _block(L.n_in, t, nt, &i0, &i1)
        _column_block(L.n_out, t, nt, &c0, &c1)
        dW = (<floating*> L.dW) + i0 * L.n_out
        db = (<floating*> L.db) + c0
        if i1 > i0:
            gemm(True, False, <int> (i1 - i0), L.n_out, <int> rows, <floating> 1,
                 a_prev + i0, L.n_in, <floating*> L.dZ, L.n_out, <floating> 0, dW, L.n_out)
        if c1 > c0:
            column_sums((<floating*> L.dZ) + c0, db, rows, c1 - c0, L.n_out)
        if L.has_reg:
            c = _penalty_scale(net, rows)
            penalty[0] += regularize((<floating*> L.W) + i0 * L.n_out, dW,
                                     (i1 - i0) * L.n_out, c * L.kl1, c * L.kl2)
            penalty[0] += regularize((<floating*> L.b) + c0, db, c1 - c0, c * L.bl1,
                                     c * L.bl2)
        if norm2 != NULL:
            norm2[0] += squared_norm(dW, (i1 - i0) * L.n_out) + squared_norm(db, c1 - c0)
        if update:
            ok &= _update_range(net, &net.params[j], tm.coef, 1.0, i0 * L.n_out,
                                i1 * L.n_out, tag)
            ok &= _update_range(net, &net.params[j + 1], tm.coef, 1.0, c0, c1, tag)
        j += 2
    return ok


cdef bint _team_updates(Team* tm, int t, int nt, double scale, floating* tag) noexcept nogil:
    """Thread t's block of every parameter's update (the deferred case); whether the
    values it wrote are finite."""
    cdef Net* net = tm.net
    cdef int l
    cdef bint ok = True
    cdef Layer* L
    cdef Py_ssize_t i0, i1, c0, c1
    for l in range(net.n_layers):
        L = &net.layers[l]
        _block(L.n_in, t, nt, &i0, &i1)
        _column_block(L.n_out, t, nt, &c0, &c1)
        ok &= _update_range(net, &net.params[2 * l], tm.coef, scale, i0 * L.n_out,
                            i1 * L.n_out, tag)
        ok &= _update_range(net, &net.params[2 * l + 1], tm.coef, scale, c0, c1, tag)
    return ok


cdef void _team_train(Team* tm, floating* tag) noexcept nogil:
    """The body every thread of the team runs (see the section comment)."""
    cdef Net* net = tm.net
    cdef int t = fastmlp_thread_num(), nt = fastmlp_num_threads(), k
    cdef Py_ssize_t bi, rows, r0, r1, c0, c1
    cdef double loss, penalty, norm2, norm, scale, lr
    cdef bint ok
    cdef double clipnorm = net.hyper[HYPER_CLIPNORM]
    cdef double* mine = &tm.part[t * PART_STRIDE]
    for bi in range(tm.first, tm.stop):
        rows = _batch_rows(tm, bi)
        _block(rows, t, nt, &r0, &r1)
        if bi == tm.first:
            _team_gather(tm, bi, r0, r1, tag)
        for k in range(tm.forward_columns):
            if k > 0 or bi == tm.first:     # layer k's inputs complete for every row
                fastmlp_barrier()
            _column_block(net.layers[k].n_out, t, nt, &c0, &c1)
            _forward_block(tm, k, bi, 0, rows, c0, c1, tag)
        if tm.forward_columns:
            fastmlp_barrier()
        mine[0] = _team_rows(tm, bi, rows, r0, r1, tm.forward_columns,
                             1 if tm.backward_columns else 0, tag)
        if t == 0:  # count the step; undone below if the batch fails
            memcpy(tm.saved, net.scalars, 4 * sizeof(double))
            net.scalars[0] += 1
            lr = learning_rate_at(net.hyper, net.scalars[0] - 1)
            optimizer_coefficients(net.opt_kind, net.hyper, net.scalars, lr, tm.coef)
        fastmlp_barrier()
        loss = 0.0
        for k in range(nt):
            loss += tm.part[k * PART_STRIDE]
        ok = True
        if isfinite(loss):
            if tm.backward_columns:     # thread t's units of dZ_1, for every row
                _column_block(net.layers[0].n_out, t, nt, &c0, &c1)
                _backward_block(tm, 1, bi, 0, rows, c0, c1, tag)
                fastmlp_barrier()
            penalty = 0.0
            norm2 = 0.0
            ok = _team_gradients(tm, bi, rows, t, nt, not tm.deferred, &penalty,
                                 &norm2 if clipnorm > 0 else NULL, tag)
            if tm.deferred:
                mine[1] = penalty
                mine[2] = norm2
                fastmlp_barrier()
                norm2 = 0.0
                for k in range(nt):
                    loss += tm.part[k * PART_STRIDE + 1]
                    norm2 += tm.part[k * PART_STRIDE + 2]
                if isfinite(loss):
                    scale = 1.0
                    if clipnorm > 0:
                        norm = sqrt(norm2)
                        if norm > clipnorm:
                            scale = clipnorm / norm
                    ok = _team_updates(tm, t, nt, scale, tag)
        if t == 0:
            tm.losses[bi - tm.first] = loss
        if not isfinite(loss):
            if t == 0:
                memcpy(net.scalars, tm.saved, 4 * sizeof(double))
                tm.done = bi - tm.first
            return      # every thread saw the same sums: all leave here
        mine[3] = 1.0 if ok else 0.0
        if bi + 1 < tm.stop:    # the next batch's rows into the other input workspace
            _block(_batch_rows(tm, bi + 1), t, nt, &r0, &r1)
            _team_gather(tm, bi + 1, r0, r1, tag)
        fastmlp_barrier()
        for k in range(nt):
            if tm.part[k * PART_STRIDE + 3] == 0:
                ok = False
        if not ok:      # the step is applied (and counted); the guard rolls it back
            if t == 0:
                net.state_finite = False
                tm.done = bi - tm.first + 1
            return


cdef void _team_float(void* arg) noexcept nogil:
    _team_train(<Team*> arg, <float*> NULL)


cdef void _team_double(void* arg) noexcept nogil:
    _team_train(<Team*> arg, <double*> NULL)


cdef void _predict(Net* net, const floating* x, Py_ssize_t n, floating* out,
                   floating* buf0, floating* buf1, Py_ssize_t block) noexcept nogil:
    """out = network(x) in row blocks, through caller-owned scratch (thread-safe)."""
    cdef Py_ssize_t r0, rows
    cdef int l
    cdef Layer* L
    cdef const floating* a_prev
    cdef floating* dst
    r0 = 0
    while r0 < n:
        rows = block if r0 + block <= n else n - r0
        a_prev = x + r0 * net.layers[0].n_in
        for l in range(net.n_layers):
            L = &net.layers[l]
            if l == net.n_layers - 1:
                dst = out + r0 * L.n_out
            else:
                dst = buf0 if (l % 2 == 0) else buf1
            gemm(False, False, <int> rows, L.n_out, L.n_in, <floating> 1, a_prev, L.n_in,
                 <floating*> L.W, L.n_out, <floating> 0, dst, L.n_out)
            bias_activation_forward(L.act, dst, dst, <floating*> L.b, <floating*> L.alpha,
                                    L.n_alpha, rows, L.n_out)
            if L.norm != NORM_NONE:
                _norm_inference(L, dst, rows)
            a_prev = dst
        r0 += rows


cdef void _predict_any(Net* net, bint is_double, const void* x, Py_ssize_t n, void* out,
                       char* scratch, size_t nbytes, Py_ssize_t block) noexcept nogil:
    if is_double:
        _predict(net, <double*> x, n, <double*> out, <double*> scratch,
                 <double*> (scratch + nbytes), block)
    else:
        _predict(net, <float*> x, n, <float*> out, <float*> scratch,
                 <float*> (scratch + nbytes), block)


# --------------------------------------------------------------------------------------
# the Python-facing engine
# --------------------------------------------------------------------------------------
cdef class Engine:
    """Compiled implementation of the backend contract (see ``_contract``).

    ``train``, ``loss``, ``gradients``, ``layer_outputs`` and ``apply_gradients`` share the
    training workspaces and gradient buffers (and may grow them), so they hold a lock: from
    several threads they run one at a time and can neither overwrite nor free the
    workspaces under a running chunk. ``predict`` uses private scratch and runs
    concurrently without the GIL.
    """

    cdef Net net
    cdef bint is_double
    cdef int itemsize
    cdef Py_ssize_t work_per_row     # multiply-adds of one row through the network
    cdef readonly int n_inputs       # features the network takes (contract attribute)
    cdef object spec
    cdef object dtype
    cdef list _keep          # arrays whose memory the pointers refer to
    cdef list _work          # workspaces
    cdef list _acts          # the activation workspace A_l of each layer
    cdef list _drop_work     # dropout workspaces D
    cdef list _grads
    cdef object _hyper
    cdef object _lock        # serializes the methods that use the shared workspaces
    cdef object _bound_scalars   # the optimizer state arrays the pointers refer to
    cdef list _bound_slots
    cdef bint _team_capable      # OpenMP, BLAS thread control, no prelu (see _team_size)
    cdef bint _has_penalties

    def __cinit__(self):
        self.net.layers = NULL
        self.net.params = NULL

    def __dealloc__(self):
        free(self.net.layers)
        free(self.net.params)

    def __init__(self, spec):
        cdef int i, l, j
        self.spec = spec
        self.dtype = np.dtype(spec.dtype)
        self.is_double = self.dtype == np.float64
        self.itemsize = self.dtype.itemsize
        n_layers = len(spec.activations)
        flat = spec.flat_params
        self.net.n_layers = n_layers
        self.net.n_params = len(flat)
        self.net.loss = spec.loss
        self.net.opt_kind = spec.optimizer.kind
        self.net.max_width = max(spec.sizes)
        self.n_inputs = spec.sizes[0]
        self.work_per_row = sum(spec.sizes[i] * spec.sizes[i + 1]
                                for i in range(len(spec.sizes) - 1))
        self.net.layers = <Layer*> malloc(n_layers * sizeof(Layer))
        self.net.params = <Param*> malloc(len(flat) * sizeof(Param))
        if self.net.layers == NULL or self.net.params == NULL:
            raise MemoryError()
        self._keep = list(flat)
        self._grads = [np.zeros_like(p) for p in flat]
        j = 0
        for l in range(n_layers):
            layer_params = spec.params[l]
            L = &self.net.layers[l]
            L.n_in = spec.sizes[l]
            L.n_out = spec.sizes[l + 1]
            L.act = spec.activations[l]
            L.W = _ptr(layer_params[0])
            L.b = _ptr(layer_params[1])
            L.dW = _ptr(self._grads[j])
            L.db = _ptr(self._grads[j + 1])
            if len(layer_params) > 2:
                L.alpha = _ptr(layer_params[2])
                L.n_alpha = layer_params[2].shape[0]
                L.dalpha = _ptr(self._grads[j + 2])
            else:
                L.alpha = NULL
                L.n_alpha = 0
                L.dalpha = NULL
            L.Z = NULL
            L.A = NULL
            L.D = NULL
            L.dZ = NULL
            L.mask_base = NULL
            L.mask = NULL
            if spec.regularizers:
                L.kl1, L.kl2, L.bl1, L.bl2 = spec.regularizers[l]
            else:
                L.kl1 = L.kl2 = L.bl1 = L.bl2 = 0.0
            L.has_reg = L.kl1 != 0 or L.kl2 != 0 or L.bl1 != 0 or L.bl2 != 0
            j += len(layer_params)
            norm = spec.norm(l)
            L.norm = NORM_NONE if norm is None else norm.kind
            L.gamma = L.beta = L.dgamma = L.dbeta = L.mmean = L.mvar = NULL
            L.N = L.H = L.stats = NULL
            L.acc = NULL
            L.stats_rows = 0
            L.eps = L.momentum = 0.0
            if norm is not None:  # its gamma and beta follow the layer's own parameters
                L.eps = norm.epsilon
                L.momentum = norm.momentum
                if norm.gamma is not None:
                    L.gamma = _ptr(norm.gamma)
                    L.dgamma = _ptr(self._grads[j])
                    j += 1
                if norm.beta is not None:
                    L.beta = _ptr(norm.beta)
                    L.dbeta = _ptr(self._grads[j])
                    j += 1
                if norm.kind == NORM_BATCH:
                    L.mmean = _ptr(norm.moving_mean)
                    L.mvar = _ptr(norm.moving_variance)
                    self._keep += [norm.moving_mean, norm.moving_variance]
        self.net.has_norm = any(self.net.layers[l].norm != NORM_NONE for l in range(n_layers))
        self.net.capacity = 0
        self.net.penalty_rows = getattr(spec, "penalty_rows", 0)
        self.net.weight_norm = getattr(spec, "weight_norm", 0.0)
        self.net.batch_scale = 1.0
        self.net.input_mask_base = NULL
        self.net.state_finite = True
        self._has_penalties = any(self.net.layers[l].has_reg for l in range(n_layers))
        # prelu's alpha gradient sums over all rows: not split, so the serial path
        # (normalization statistics span the batch's rows, which team mode splits; the
        # per-batch weight normalisation needs the whole batch's weights)
        self._team_capable = (fastmlp_openmp_enabled() and blas_thread_control()
                              and all(self.net.layers[l].alpha == NULL
                                      for l in range(n_layers))
                              and not self.net.has_norm and self.net.weight_norm == 0)
        self._work = []
        self._acts = []
        self._drop_work = []
        self._lock = threading.Lock()
        self._bind_optimizer()

    def _bind_optimizer(self):
        """Point the engine at the optimizer's state arrays and scalars (checked first)."""
        cdef int i, k
        opt = self.spec.optimizer
        flat = self.spec.flat_params
        scalars = opt.scalars
        if (not opt.state_matches(flat) or opt.n_slots > MAX_SLOTS
                or not isinstance(scalars, np.ndarray) or scalars.dtype != np.float64
                or scalars.shape != (4,) or not scalars.flags.c_contiguous
                or not scalars.flags.writeable):
            raise RuntimeError(f"the state of {type(opt).__name__} does not match the model's "
                               "parameters (build it on them first)")
        self._hyper = np.zeros(N_HYPER, dtype=np.float64)
        self.net.hyper = <double*> _ptr(self._hyper)
        self.net.scalars = <double*> _ptr(scalars)
        self.net.opt_kind = opt.kind
        self._bound_scalars = scalars
        self._bound_slots = [s for slot in opt.slots for s in slot]
        self._keep = list(flat) + [scalars] + self._bound_slots
        for i in range(len(flat)):
            q = &self.net.params[i]
            q.size = flat[i].size
            q.p = _ptr(flat[i])
            q.g = _ptr(self._grads[i])
            for k in range(MAX_SLOTS):
                q.s[k] = _ptr(opt.slots[i][k]) if k < len(opt.slots[i]) else NULL

    #: ``train`` stops after an update that made a parameter or optimizer state non-finite
    #: and says so in :attr:`state_finite` (the guard then needs no scan of its own).
    checks_state = True

    @property
    def state_finite(self):
        """False if the last ``train`` call stopped after an update that made a parameter
        or optimizer state value non-finite (that batch is counted in its return value)."""
        return bool(self.net.state_finite)

    cdef bint _bound_to_current_state(self) except -1:
        """Whether the pointers still refer to the optimizer's state arrays: the same scalars
        and slot arrays (the same objects, in the same order), each still what
        ``Optimizer.state_matches`` asks for (its parameter's shape and dtype, C-contiguous,
        writeable) and still holding the memory it was bound at. Read through NumPy's C API:
        a training call of a small network is short, and this runs before each one."""
        cdef Py_ssize_t i, k, n = 0
        cdef int d
        cdef cnp.ndarray p, a
        opt = self.spec.optimizer
        if opt.scalars is not self._bound_scalars or opt.kind != self.net.opt_kind:
            return False
        flat = self.spec.flat_params
        slots = opt.slots
        if type(slots) is not list or len(slots) != len(flat):
            return False
        for i in range(len(flat)):
            p = flat[i]
            slot = slots[i]
            if type(slot) is not list or len(slot) != opt.n_slots:
                return False
            for k in range(len(slot)):
                s = slot[k]
                if n >= len(self._bound_slots) or s is not self._bound_slots[n]:
                    return False
                a = s
                if (cnp.PyArray_DATA(a) != self.net.params[i].s[k]
                        or cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(p)
                        or cnp.PyArray_NDIM(a) != cnp.PyArray_NDIM(p)
                        or not cnp.PyArray_IS_C_CONTIGUOUS(a)
                        or not cnp.PyArray_ISWRITEABLE(a)):
                    return False
                for d in range(cnp.PyArray_NDIM(p)):
                    if cnp.PyArray_DIM(a, d) != cnp.PyArray_DIM(p, d):
                        return False
                n += 1
        return n == len(self._bound_slots)

    def bound_to_current_state(self):
        """Whether the engine's pointers still refer to its optimizer's state (for tests)."""
        return bool(self._bound_to_current_state())

    cdef void _reserve(self, Py_ssize_t rows) except *:
        """Make the training workspaces hold ``rows`` rows (allocates only when growing)."""
        cdef int l
        if rows <= self.net.capacity:
            return
        spec = self.spec
        work = []
        # team mode gathers the next batch into a second half while the current one is used
        xb = np.empty(((2 if self._team_capable else 1) * rows, spec.sizes[0]),
                      dtype=self.dtype)
        yb = np.empty((rows, self.net.layers[self.net.n_layers - 1].n_out), dtype=self.dtype)
        wb = np.empty(rows, dtype=self.dtype)
        work += [xb, yb]
        self._drop_work = [wb]
        self.net.wb = _ptr(wb)
        self.net.xb = _ptr(xb)
        self.net.xb_next = _ptr(xb[rows:]) if self._team_capable else NULL
        self.net.yb = _ptr(yb)
        acts = []
        for l in range(self.net.n_layers):
            L = &self.net.layers[l]
            z = np.empty((rows, L.n_out), dtype=self.dtype)
            dz = np.empty((rows, L.n_out), dtype=self.dtype)
            work += [z, dz]
            L.Z = _ptr(z)
            L.dZ = _ptr(dz)
            # the output layer keeps Z for the loss (logits), except when f is linear
            if L.act == ACT_LINEAR or (l < self.net.n_layers - 1 and _a_replaces_z(L.act)):
                a = z
            else:
                a = np.empty((rows, L.n_out), dtype=self.dtype)
                work.append(a)
            L.A = _ptr(a)
            acts.append(a)
            if spec.dropout and spec.dropout[l] > 0:
                dropped = np.empty((rows, L.n_out), dtype=self.dtype)
                self._drop_work.append(dropped)
                L.D = _ptr(dropped)
            if L.norm != NORM_NONE:
                normed = np.empty((rows, L.n_out), dtype=self.dtype)
                xhat = np.empty((rows, L.n_out), dtype=self.dtype)
                stats = np.zeros(5 * L.n_out if L.norm == NORM_BATCH else 3 * rows,
                                 dtype=self.dtype)
                acc = np.zeros(2 * L.n_out, dtype=np.float64)
                work += [normed, xhat, stats, acc]
                L.acc = <double*> _ptr(acc)
                L.N = _ptr(normed)
                L.H = _ptr(xhat)
                L.stats = _ptr(stats)
                L.stats_rows = rows
        self._work = work
        self._acts = acts
        self.net.capacity = rows

    cdef void _load_hyper(self) except *:
        """Re-read the hyper-parameters (and rebind the state if it was replaced)."""
        if not self._bound_to_current_state():
            self._bind_optimizer()
        self._hyper[:] = self.spec.optimizer.hyper()

    # -- contract ------------------------------------------------------------------------
    def predict(self, cnp.ndarray x):
        cdef Py_ssize_t n = x.shape[0]
        cdef Py_ssize_t block = n if n < 1024 else 1024
        cdef int n_out = self.net.layers[self.net.n_layers - 1].n_out
        cdef cnp.npy_intp dims[2]
        dims[0] = n
        dims[1] = n_out
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, cnp.NPY_FLOAT64 if self.is_double
                                                 else cnp.NPY_FLOAT32, 0)
        if n == 0:
            return out
        # scratch: two (block, max_width) buffers, on the stack when small (one row through
        # a narrow network should not pay for malloc), else on the heap; per call, so
        # concurrent predicts do not share it
        cdef double stack_scratch[PREDICT_STACK_DOUBLES]
        cdef size_t nbytes = block * self.net.max_width * self.itemsize
        cdef char* heap = NULL
        cdef char* scratch = <char*> stack_scratch
        cdef void* xp = cnp.PyArray_DATA(x)
        cdef void* op = cnp.PyArray_DATA(out)
        cdef bint release = n * self.work_per_row > PREDICT_NOGIL_WORK
        if 2 * nbytes > sizeof(stack_scratch):
            heap = <char*> malloc(2 * nbytes)
            if heap == NULL:
                raise MemoryError()
            scratch = heap
        if release:
            with nogil:
                _predict_any(&self.net, self.is_double, xp, n, op, scratch, nbytes, block)
        else:  # a few microseconds of work: not worth releasing and retaking the GIL
            _predict_any(&self.net, self.is_double, xp, n, op, scratch, nbytes, block)
        free(heap)
        return out

    def _forward_batch(self, cnp.ndarray x):
        cdef Py_ssize_t n = x.shape[0]
        self._reserve(n)
        cdef void* xp = cnp.PyArray_DATA(x)
        with nogil:
            if self.is_double:
                _forward(&self.net, <double*> xp, n, False)
            else:
                _forward(&self.net, <float*> xp, n, False)

    def layer_outputs(self, cnp.ndarray x):
        cdef Py_ssize_t n = x.shape[0]
        with self._lock:
            self._forward_batch(x)
            return [np.array(arr[:n], copy=True) for arr in self._layer_arrays()]

    def _layer_arrays(self):
        """The activation workspaces A_l, first to last."""
        return list(self._acts)

    cdef void _set_masks(self, masks, Py_ssize_t rows) except *:
        """Point each layer's ``mask_base`` at its mask (checked: ``rows`` rows)."""
        cdef int l
        for l in range(self.net.n_layers):
            L = &self.net.layers[l]
            m = masks[l] if masks is not None else None
            if m is None:
                L.mask_base = NULL
                continue
            if L.D == NULL:
                raise ValueError(f"layer {l} has no dropout, but a mask was given")
            if (not isinstance(m, np.ndarray) or m.dtype != self.dtype
                    or m.shape != (rows, L.n_out) or not m.flags.c_contiguous):
                raise ValueError(f"the dropout mask of layer {l} must be a C-contiguous "
                                 f"{self.dtype} array of shape {(rows, L.n_out)}")
            L.mask_base = _ptr(m)

    cdef void* _input_mask_ptr(self, input_mask, Py_ssize_t rows) except? NULL:
        if input_mask is None:
            return NULL
        if self.spec.input_dropout <= 0:
            raise ValueError("the network has no dropout on its inputs, but a mask was given")
        shape = (rows, self.net.layers[0].n_in)
        if (not isinstance(input_mask, np.ndarray) or input_mask.dtype != self.dtype
                or input_mask.shape != shape or not input_mask.flags.c_contiguous):
            raise ValueError(f"the input dropout mask must be a C-contiguous {self.dtype} "
                             f"array of shape {shape}")
        return _ptr(input_mask)

    cdef void _clear_masks(self) noexcept:
        cdef int l
        self.net.input_mask_base = NULL
        for l in range(self.net.n_layers):
            self.net.layers[l].mask_base = NULL
            self.net.layers[l].mask = NULL

    cdef void* _weights_ptr(self, sample_weight, Py_ssize_t n) except? NULL:
        if sample_weight is None:
            return NULL
        if (not isinstance(sample_weight, np.ndarray) or sample_weight.dtype != self.dtype
                or sample_weight.shape != (n,) or not sample_weight.flags.c_contiguous):
            raise ValueError(f"sample_weight must be a C-contiguous {self.dtype} array of "
                             f"shape ({n},)")
        return _ptr(sample_weight)

    def loss(self, cnp.ndarray x, cnp.ndarray y, sample_weight=None):
        cdef Py_ssize_t n = x.shape[0], r0, rows, block = 1024
        cdef double total = 0.0
        cdef char* wp = <char*> self._weights_ptr(sample_weight, n)
        cdef Layer* L = &self.net.layers[self.net.n_layers - 1]
        cdef int n_in = self.net.layers[0].n_in
        cdef char* xp = <char*> cnp.PyArray_DATA(x)
        cdef char* yp = <char*> cnp.PyArray_DATA(y)
        with self._lock:
            self._reserve(min(n, block))
            block = self.net.capacity
            r0 = 0
            with nogil:
                while r0 < n:
                    rows = block if r0 + block <= n else n - r0
                    if self.is_double:
                        _forward(&self.net, <double*> (xp + r0 * n_in * 8), rows, False)
                        total += rows * loss_delta(self.net.loss, L.act, <double*> L.Z,
                                                   <double*> L.A,
                                                   <double*> (yp + r0 * L.n_out * 8),
                                                   <double*> (wp + r0 * 8) if wp else NULL,
                                                   NULL,
                                                   <double*> L.alpha, L.n_alpha, NULL,
                                                   rows, L.n_out, rows)
                    else:
                        _forward(&self.net, <float*> (xp + r0 * n_in * 4), rows, False)
                        total += rows * loss_delta(self.net.loss, L.act, <float*> L.Z,
                                                   <float*> L.A,
                                                   <float*> (yp + r0 * L.n_out * 4),
                                                   <float*> (wp + r0 * 4) if wp else NULL,
                                                   NULL,
                                                   <float*> L.alpha, L.n_alpha, NULL,
                                                   rows, L.n_out, rows)
                    r0 += rows
                if self.is_double:
                    total = total / n + _penalty(&self.net, <double*> NULL, n)
                else:
                    total = total / n + _penalty(&self.net, <float*> NULL, n)
        return total

    def gradients(self, cnp.ndarray x, cnp.ndarray y, sample_weight=None, masks=None,
                  input_mask=None):
        cdef Py_ssize_t n = x.shape[0], l
        cdef double loss
        cdef void* xp = cnp.PyArray_DATA(x)
        cdef void* yp = cnp.PyArray_DATA(y)
        cdef void* wp = self._weights_ptr(sample_weight, n)
        cdef void* mp = self._input_mask_ptr(input_mask, n)
        with self._lock:
            self._reserve(n)
            if mp != NULL:  # X * mask into the input workspace
                xp = self.net.xb
                with nogil:
                    if self.is_double:
                        multiply(<double*> cnp.PyArray_DATA(x), <double*> mp, <double*> xp,
                                 n * self.net.layers[0].n_in)
                    else:
                        multiply(<float*> cnp.PyArray_DATA(x), <float*> mp, <float*> xp,
                                 n * self.net.layers[0].n_in)
            self._set_masks(masks, n)
            for l in range(self.net.n_layers):
                self.net.layers[l].mask = self.net.layers[l].mask_base
            with nogil:
                loss = self._loss_and_grads(xp, yp, wp, n)
            self._clear_masks()
            return loss, [g.copy() for g in self._grads]

    cdef double _loss_and_grads(self, void* xp, void* yp, void* wp,
                                Py_ssize_t n) noexcept nogil:
        """The training-mode forward and backward passes over ``n`` rows (the workspaces
        reserved): the loss, the gradients left in each parameter's ``g``."""
        if self.is_double:
            _forward(&self.net, <double*> xp, n, True)
            return _backward(&self.net, <double*> xp, <double*> yp, <double*> wp, n)
        _forward(&self.net, <float*> xp, n, True)
        return _backward(&self.net, <float*> xp, <float*> yp, <float*> wp, n)

    def gradients_into(self, cnp.ndarray x, cnp.ndarray y, sample_weight,
                       cnp.ndarray out, const Py_ssize_t[::1] offsets):
        """Full-batch loss; every parameter's gradient written into the flat vector ``out``
        (the model's dtype), parameter ``i`` (``get_weights`` order) from ``offsets[i]``.

        The objective of full-batch optimizers (L-BFGS): forward, backward and the copies
        into ``out`` in one call without the GIL. Dropout is off.
        """
        cdef Py_ssize_t n = x.shape[0], i
        cdef double loss
        cdef void* xp = cnp.PyArray_DATA(x)
        cdef void* yp = cnp.PyArray_DATA(y)
        cdef void* wp = self._weights_ptr(sample_weight, n)
        cdef char* op = <char*> cnp.PyArray_DATA(out)
        cdef int n_params = self.net.n_params
        if (out.dtype != self.dtype or not out.flags.c_contiguous or not out.flags.writeable
                or offsets.shape[0] != n_params):
            raise ValueError("out must be a writeable C-contiguous vector of the model's "
                             "dtype, with one offset per parameter")
        for i in range(n_params):
            if offsets[i] < 0 or offsets[i] + self.net.params[i].size > out.shape[0]:
                raise ValueError(f"offset {offsets[i]} of parameter {i} is out of range")
        with self._lock:
            self._reserve(n)
            with nogil:
                loss = self._loss_and_grads(xp, yp, wp, n)
                for i in range(n_params):
                    memcpy(op + offsets[i] * self.itemsize, self.net.params[i].g,
                           self.net.params[i].size * self.itemsize)
        return loss

    def train(self, cnp.ndarray x, cnp.ndarray y, const Py_ssize_t[::1] order,
              Py_ssize_t batch_size, Py_ssize_t first, Py_ssize_t stop, double[::1] losses,
              sample_weight=None, masks=None, input_mask=None):
        cdef Py_ssize_t n = x.shape[0], done = 0
        if stop <= first:
            return 0
        cdef Py_ssize_t chunk_rows = min(stop * batch_size, n) - first * batch_size
        cdef void* wp = self._weights_ptr(sample_weight, n)
        cdef void* mp = self._input_mask_ptr(input_mask, chunk_rows)
        cdef bint dropout = masks is not None
        cdef void* xp = cnp.PyArray_DATA(x)
        cdef void* yp = cnp.PyArray_DATA(y)
        cdef Py_ssize_t rows = min(batch_size, n)
        cdef int team = self._team_size(rows)
        cdef Team tm
        with self._lock:
            self.net.state_finite = True
            self._reserve(rows)
            self._load_hyper()
            if dropout:
                self._set_masks(masks, chunk_rows)
            self.net.input_mask_base = mp
            if team > 1:
                tm.net = &self.net
                tm.x = xp
                tm.y = yp
                tm.w = wp
                tm.n = n
                tm.batch_size = batch_size
                tm.first = first
                tm.stop = stop
                tm.done = stop - first
                tm.order = &order[0]
                tm.losses = &losses[0]
                tm.dropout = dropout
                tm.deferred = self.net.hyper[HYPER_CLIPNORM] > 0 or self._has_penalties
                self._team_plan(rows, &tm.forward_columns, &tm.backward_columns)
                _blas_single_thread_enter()
                try:
                    with nogil:
                        fastmlp_run_team(team, _team_double if self.is_double else _team_float,
                                         &tm)
                finally:
                    _blas_single_thread_exit()
                done = tm.done
            else:
                with nogil:
                    if self.is_double:
                        done = _train(&self.net, <double*> xp, <double*> yp, <double*> wp, n,
                                      &order[0], batch_size, first, stop, &losses[0], dropout)
                    else:
                        done = _train(&self.net, <float*> xp, <float*> yp, <float*> wp, n,
                                      &order[0], batch_size, first, stop, &losses[0], dropout)
            if dropout or mp != NULL:
                self._clear_masks()
        return done

    cdef int _team_size(self, Py_ssize_t rows):
        """Threads for a training call on batches of ``rows`` rows (1: the serial path):
        the team for large batches, and for any batch whose first layer runs in column
        mode (then each thread packs only its block of those weights, and the optimizer
        update, often the larger part of a small batch's step, is shared too)."""
        cdef int nt = _n_threads if _n_threads < MAX_TEAM else MAX_TEAM
        if nt < 2 or not self._team_capable or TEAM_MIN_WORK >= TEAM_OFF:
            return 1
        if rows >= TEAM_MIN_ROWS * nt and rows * self.work_per_row >= TEAM_MIN_WORK:
            return nt
        if self._forward_columns_pay(0, rows):
            return nt
        return 1

    cdef bint _columns_pay(self, Layer* L, Py_ssize_t units, Py_ssize_t rows):
        """Whether a product through layer L's weights into ``units`` units (n_out forward,
        n_in backward) is split by units rather than rows (see _team_plan)."""
        return units > rows and <Py_ssize_t> L.n_in * L.n_out >= TEAM_COLUMN_MIN_WEIGHTS

    cdef bint _splittable(self, int k):
        """Whether layer k is a hidden layer whose units may be computed in blocks (an
        element-wise activation: a softmax needs whole rows)."""
        return k < self.net.n_layers - 1 and self.net.layers[k].act != ACT_SOFTMAX

    cdef bint _forward_columns_pay(self, int k, Py_ssize_t rows):
        """Whether hidden layer k's forward product is split by units."""
        return (self._splittable(k)
                and self._columns_pay(&self.net.layers[k], self.net.layers[k].n_out, rows))

    cdef void _team_plan(self, Py_ssize_t rows, int* forward, bint* backward):
        """Which products team mode splits by output units ("columns") instead of rows.

        Split by rows, every thread packs all of a layer's weights for its rows; split by
        units, it packs its block of the weights and all rows of the layer's input (which
        then must be complete: one barrier more per layer). Columns pay when the weights
        are larger than the batch's input to the layer (n_out > rows: less to pack per
        thread) and large enough for a barrier (>= 2^17). The leading layers that qualify
        (element-wise activations only) run forward in column mode; the product into the
        first layer's dZ does when layer 2's weights qualify (n_in > rows). Measured
        (benchmarks/RESULTS.md, benchmarks/team_columns.py): mnist-adam's first layer
        (784x256, 128 rows) 8-12% faster per epoch; a second mnist-adam layer (256x128)
        or the backward product no gain; wide-batch's 1024x1024 layers at 1024 rows (equal
        packing either way) within 2% of the row split over 16 interleaved rounds.
        """
        cdef int n = 0
        if TEAM_FORCE_FORWARD >= 0:
            while n < TEAM_FORCE_FORWARD and self._splittable(n):
                n += 1
        else:
            while self._forward_columns_pay(n, rows):
                n += 1
        forward[0] = n
        if TEAM_FORCE_BACKWARD >= 0:
            backward[0] = TEAM_FORCE_BACKWARD and self._splittable(0)
        else:
            backward[0] = (self._splittable(0) and
                           self._columns_pay(&self.net.layers[1], self.net.layers[1].n_in, rows))

    def apply_gradients(self, grads):
        """One optimizer step on every parameter with the given gradients."""
        flat = self.spec.flat_params
        if len(grads) != len(flat):
            raise ValueError(f"got {len(grads)} gradients for {len(flat)} parameters")
        for i, (g, p) in enumerate(zip(grads, flat)):
            if np.shape(g) != p.shape:
                raise ValueError(f"gradient {i} has shape {np.shape(g)}, expected {p.shape}")
        with self._lock:  # the gradient buffers are shared with train and gradients
            for g, buf in zip(grads, self._grads):
                np.copyto(buf, g, casting="same_kind")
            self._load_hyper()
            with nogil:
                if self.is_double:
                    _update(&self.net, <double*> NULL)
                else:
                    _update(&self.net, <float*> NULL)

# --------------------------------------------------------------------------------------
# state helpers for the training guard (fastmlp._guard): one C call instead of one NumPy
# call per array, so that checking and saving the state between chunks costs next to
# nothing even for tiny networks trained epoch after epoch
# --------------------------------------------------------------------------------------
cdef cnp.ndarray _checked(object arr):
    if (not isinstance(arr, np.ndarray) or not cnp.PyArray_IS_C_CONTIGUOUS(arr)
            or cnp.PyArray_TYPE(arr) not in (cnp.NPY_FLOAT64, cnp.NPY_FLOAT32)):
        raise TypeError("expected C-contiguous float32 or float64 arrays")
    return <cnp.ndarray> arr


def all_finite(list arrays):
    """Whether every value of every array (C-contiguous float32/float64) is finite."""
    cdef cnp.ndarray a
    cdef Py_ssize_t n
    cdef double* d
    cdef float* f
    cdef bint ok = True
    for obj in arrays:
        a = _checked(obj)
        n = cnp.PyArray_SIZE(a)
        if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64:
            d = <double*> cnp.PyArray_DATA(a)
            with nogil:
                ok = finite_scan(d, n)
        else:
            f = <float*> cnp.PyArray_DATA(a)
            with nogil:
                ok = finite_scan(f, n)
        if not ok:
            return False
    return True


def copy_arrays(list dst, list src):
    """dst[i][...] = src[i] for arrays of equal shape and dtype (C-contiguous)."""
    cdef cnp.ndarray a, b
    if len(dst) != len(src):
        raise ValueError("copy_arrays needs lists of equal length")
    for x, y in zip(dst, src):
        a = _checked(x)
        b = _checked(y)
        if not cnp.PyArray_SAMESHAPE(a, b) or cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(b):
            raise ValueError("copy_arrays needs arrays of equal shape and dtype")
        memcpy(cnp.PyArray_DATA(a), cnp.PyArray_DATA(b), cnp.PyArray_NBYTES(a))


# --------------------------------------------------------------------------------------
# test and benchmark twin of the element-wise passes
# --------------------------------------------------------------------------------------
def elementwise_passes_py(int kind, floating[:, ::1] z, floating[::1] b, floating[:, ::1] d,
                          floating[::1] db, int repeat=1):
    """Run the engine's element-wise passes on arrays, as a training step does: Z += b and
    A = f(Z) in place, then D *= f'(Z) and db = column sums of D, ``repeat`` times, with
    the current thread count and parallel threshold (see :func:`set_parallel_min`)."""
    cdef Py_ssize_t rows = z.shape[0], cols = z.shape[1]
    cdef int _r
    if not _a_replaces_z(kind):
        raise ValueError("use an activation whose A can replace Z (relu, tanh, sigmoid, ...)")
    if (d.shape[0] != rows or d.shape[1] != cols or b.shape[0] != cols
            or db.shape[0] != cols or rows == 0 or cols == 0):
        raise ValueError("z and d must have one shape (rows, cols), b and db (cols,)")
    with nogil:
        for _r in range(repeat):
            _bias_activation(kind, &z[0, 0], &z[0, 0], &b[0], <floating*> NULL, 0, rows, cols)
            _activation_backward(kind, &z[0, 0], &z[0, 0], &d[0, 0], <floating*> NULL, 0,
                                 <floating*> NULL, rows, cols)
            _column_sums(&d[0, 0], &db[0], rows, cols)
