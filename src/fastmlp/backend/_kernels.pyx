"""Fused element-wise kernels: activations, losses, bias sums and optimizer updates.

Each kernel follows its twin in :mod:`fastmlp.backend._numpy` line for line (same
formulas, same stable forms, same order of operations on the model's dtype), in a single
pass over memory, without the GIL and without allocation. Arrays are row-major
``(rows, cols)`` blocks given by pointer. The ``*_py`` functions at the end are thin
wrappers so the tests can call each kernel on NumPy arrays.
"""
cimport numpy as cnp
from cython cimport floating
from libc.math cimport (exp, expf, expm1, expm1f, fabs, fabsf, isfinite, log, log1p, log1pf,
                        sqrt, tanh)

import numpy as np

cnp.import_array()

cdef double LEAKY_SLOPE = 0.01   # activations.LEAKY_RELU_SLOPE
cdef double ELU_ALPHA = 1.0      # activations.ELU_ALPHA


# --------------------------------------------------------------------------------------
# scalar helpers (float and double)
# --------------------------------------------------------------------------------------
# The math functions in the model's dtype, as NumPy computes them (expf for float32, not
# exp in double rounded back: the float versions are 2-3x faster).
cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _expm1(floating x) noexcept nogil:
    if floating is float:
        return expm1f(x)
    else:
        return expm1(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline float _tanh_f32(float x) noexcept nogil:
    """tanh in float32 as x P(x^2) / Q(x^2), x clipped to [-9, 9] (tanh(9) rounds to 1).

    The coefficients are a rational fit of least maximum relative error on [0, 9] made
    for fastmlp (reweighted least squares on 220,000 points): 5e-8 in exact arithmetic,
    at most 6 float32 ulps (mean 0.08) evaluated in float32, against ~1 ulp for libm's
    tanhf, which costs ~10 ns a call where this is plain arithmetic that vectorizes.
    NaN propagates; +-inf give +-1.
    """
    cdef float u, p, q
    if x > 9:          # two plain ifs: the compiler turns them into selects
        x = 9
    if x < -9:
        x = -9
    u = x * x
    p = ((((<float> 1.3161715e-08 * u + <float> 2.0455527e-05) * u + <float> 0.0034856636)
          * u + <float> 0.13372497) * u + <float> 1)
    q = ((((<float> 7.693343e-07 * u + <float> 3.2698116e-04) * u + <float> 0.025838668)
          * u + <float> 0.46705812) * u + <float> 1)
    return x * p / q


cdef inline floating _tanh(floating x) noexcept nogil:
    if floating is float:
        return _tanh_f32(x)
    else:
        return tanh(x)


cdef inline floating _fabs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef inline floating _sigmoid(floating x) noexcept nogil:
    """1 / (1 + e^-x) from e = exp(-|x|), which never overflows."""
    cdef floating e = _exp(-_fabs(x))
    if x >= 0:
        return 1 / (1 + e)
    return e / (1 + e)


cdef inline floating _softplus(floating x) noexcept nogil:
    """max(x, 0) + log1p(exp(-|x|))."""
    cdef floating m = x if x > 0 else 0
    return m + _log1p(_exp(-_fabs(x)))


# --------------------------------------------------------------------------------------
# forward: Z += b ; A = f(Z)
# --------------------------------------------------------------------------------------
cdef void bias_activation_forward(int kind, floating* z, floating* a, const floating* b,
                                  const floating* alpha, int n_alpha,
                                  Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Z[i, j] += b[j]; A[i, j] = f(Z[i, j]) (softmax: over each row). ``a`` may equal ``z``."""
    cdef Py_ssize_t i, j
    cdef floating v, m, s, slope
    cdef floating* zr
    cdef floating* ar
    for i in range(rows):
        zr = z + i * cols
        ar = a + i * cols
        if kind == ACT_LINEAR:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = zr[j]
        elif kind == ACT_SIGMOID:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = _sigmoid(zr[j])
        elif kind == ACT_TANH:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = _tanh(zr[j])
        elif kind == ACT_RELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v if v > 0 else 0
        elif kind == ACT_LEAKY_RELU:
            slope = <floating> LEAKY_SLOPE
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v if v > 0 else slope * v
        elif kind == ACT_PRELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                slope = alpha[j] if n_alpha > 1 else alpha[0]
                ar[j] = v if v > 0 else slope * v
        elif kind == ACT_ELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v if v > 0 else <floating> ELU_ALPHA * _expm1(v)
        elif kind == ACT_SOFTPLUS:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = _softplus(zr[j])
        elif kind == ACT_SOFTMAX:
            m = zr[0] + b[0]
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                if v > m:
                    m = v
            s = 0
            for j in range(cols):
                v = _exp(zr[j] - m)
                ar[j] = v
                s = s + v
            for j in range(cols):
                ar[j] = ar[j] / s


# --------------------------------------------------------------------------------------
# backward: D <- D * f'(Z)  (D holds dA on entry, dZ on exit)
# --------------------------------------------------------------------------------------
cdef void activation_backward(int kind, const floating* z, const floating* a, floating* d,
                              const floating* alpha, int n_alpha, floating* dalpha,
                              Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """dZ = dA * f'(Z) in place; for prelu also dalpha = sum over z <= 0 of dA * z."""
    cdef Py_ssize_t i, j, base
    cdef floating v, s, slope
    if kind == ACT_LINEAR:
        return
    if kind == ACT_PRELU:
        for j in range(n_alpha):
            dalpha[j] = 0
    for i in range(rows):
        base = i * cols
        if kind == ACT_SIGMOID:
            for j in range(cols):
                d[base + j] = d[base + j] * a[base + j] * (1 - a[base + j])
        elif kind == ACT_TANH:
            for j in range(cols):
                d[base + j] = d[base + j] * (1 - a[base + j] * a[base + j])
        elif kind == ACT_RELU:
            # written as a select, not a conditional store, so that it vectorizes
            for j in range(cols):
                d[base + j] = d[base + j] if z[base + j] > 0 else 0
        elif kind == ACT_LEAKY_RELU:
            slope = <floating> LEAKY_SLOPE
            for j in range(cols):
                d[base + j] = d[base + j] if z[base + j] > 0 else slope * d[base + j]
        elif kind == ACT_PRELU:
            for j in range(cols):
                if not z[base + j] > 0:
                    if n_alpha > 1:
                        dalpha[j] += d[base + j] * z[base + j]
                        slope = alpha[j]
                    else:
                        dalpha[0] += d[base + j] * z[base + j]
                        slope = alpha[0]
                    d[base + j] = slope * d[base + j]
        elif kind == ACT_ELU:
            for j in range(cols):
                d[base + j] = (d[base + j] if z[base + j] > 0
                               else d[base + j] * (a[base + j] + <floating> ELU_ALPHA))
        elif kind == ACT_SOFTPLUS:
            for j in range(cols):
                d[base + j] = d[base + j] * _sigmoid(z[base + j])
        elif kind == ACT_SOFTMAX:
            s = 0
            for j in range(cols):
                s = s + d[base + j] * a[base + j]
            for j in range(cols):
                d[base + j] = a[base + j] * (d[base + j] - s)


# --------------------------------------------------------------------------------------
# losses: mean value, and dL/dZ of the output layer (cross-entropies fused)
# --------------------------------------------------------------------------------------
cdef double loss_delta(int loss, int out_kind, const floating* z, const floating* a,
                       const floating* y, floating* dz, const floating* alpha, int n_alpha,
                       floating* dalpha, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Return the batch's mean loss; if ``dz`` is not NULL, write dL/dZ into it.

    mse: mean((a - y)^2), dZ = f'(Z) * 2 (a - y) / (rows cols)
    bce: mean(max(z, 0) - z y + log1p(exp(-|z|))), dZ = (a - y) / (rows cols)
    cce: -sum(y * log_softmax(z)) / rows, dZ = (a - y) / rows
    """
    cdef Py_ssize_t i, j, k, size = rows * cols
    cdef double total = 0.0
    cdef floating diff, zz, m, s
    if loss == LOSS_MSE:
        for k in range(size):
            diff = a[k] - y[k]
            total += diff * diff
            if dz != NULL:
                dz[k] = 2 * diff / <floating> size
        if dz != NULL:
            activation_backward(out_kind, z, a, dz, alpha, n_alpha, dalpha, rows, cols)
        return total / size
    if loss == LOSS_BCE:
        for k in range(size):
            zz = z[k]
            total += (zz if zz > 0 else 0) - zz * y[k] + _log1p(_exp(-_fabs(zz)))
            if dz != NULL:
                dz[k] = (a[k] - y[k]) / <floating> size
        return total / size
    # LOSS_CCE
    for i in range(rows):
        m = z[i * cols]
        for j in range(cols):
            if z[i * cols + j] > m:
                m = z[i * cols + j]
        s = 0
        for j in range(cols):
            s = s + _exp(z[i * cols + j] - m)
        s = <floating> log(s)
        for j in range(cols):
            k = i * cols + j
            total -= y[k] * (z[k] - m - s)
            if dz != NULL:
                dz[k] = (a[k] - y[k]) / <floating> rows
    return total / rows


cdef void column_sums(const floating* d, floating* out, Py_ssize_t rows, Py_ssize_t cols,
                      Py_ssize_t ld) noexcept nogil:
    """out[j] = sum_i d[i, j] (the bias gradient), rows added in order; row stride ``ld``."""
    cdef Py_ssize_t i, j
    cdef const floating* di
    for j in range(cols):
        out[j] = 0
    for i in range(rows):
        di = d + i * ld
        for j in range(cols):
            out[j] += di[j]


# --------------------------------------------------------------------------------------
# finiteness scan (for the validation in fastmlp._validation)
# --------------------------------------------------------------------------------------
cdef bint all_finite(const floating* x, Py_ssize_t size) noexcept nogil:
    """Whether no element is NaN or infinite, like ``np.isfinite(x).all()``.

    ``x - x`` is 0 for a finite value and NaN otherwise; the comparisons are collected in
    blocks (a loop the compiler vectorizes) and the scan stops after the first bad block.
    """
    cdef Py_ssize_t start, i, stop
    cdef int ok = 1
    start = 0
    while start < size:
        stop = start + 4096 if start + 4096 < size else size
        for i in range(start, stop):
            ok = ok & (x[i] - x[i] == <floating> 0)
        if not ok:
            return False
        start = stop
    return True


def finite_status(object arr, object dtype=None, Py_ssize_t n_features=-1):
    """1 if ``arr`` is an aligned, C-contiguous, native float32/float64 ndarray whose values
    are all finite, 0 if it is such an array with a NaN or infinity, -1 if it is not such
    an array (the caller then checks with NumPy).

    With ``dtype`` (and ``n_features``), -1 also unless ``arr`` is a non-empty 2-D array
    of exactly that dtype (with ``n_features`` columns): one call then checks everything
    that makes ``arr`` usable by the engines as it is. Scans without the GIL (for large
    arrays) and allocates nothing.
    """
    cdef cnp.ndarray a
    cdef int typenum
    cdef Py_ssize_t size
    cdef bint ok
    cdef void* data
    if not cnp.PyArray_CheckExact(arr):
        return -1
    a = <cnp.ndarray> arr
    typenum = cnp.PyArray_TYPE(a)
    if ((typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64)
            or not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a)
            or not cnp.PyArray_ISNOTSWAPPED(a)):
        return -1
    if dtype is not None:
        if (not isinstance(dtype, cnp.dtype) or typenum != (<cnp.dtype> dtype).type_num or cnp.PyArray_NDIM(a) != 2
                or cnp.PyArray_DIM(a, 0) == 0 or cnp.PyArray_DIM(a, 1) == 0
                or (n_features >= 0 and cnp.PyArray_DIM(a, 1) != n_features)):
            return -1
    size = cnp.PyArray_SIZE(a)
    data = cnp.PyArray_DATA(a)
    if size < 4096:
        ok = (all_finite(<float*> data, size) if typenum == cnp.NPY_FLOAT32
              else all_finite(<double*> data, size))
    else:
        with nogil:
            ok = (all_finite(<float*> data, size) if typenum == cnp.NPY_FLOAT32
                  else all_finite(<double*> data, size))
    return 1 if ok else 0


# --------------------------------------------------------------------------------------
# optimizer updates: one fused pass over each parameter array
# --------------------------------------------------------------------------------------
cdef void optimizer_update(int kind, const double* hyper, double* scalars, floating* p,
                           const floating* g, floating* s0, floating* s1, floating* s2,
                           Py_ssize_t size) noexcept nogil:
    """Update ``p`` (and its state ``s0..s2``) in place; hyper = [lr, weight_decay, ...].

    ``scalars[0]`` is the step count, already incremented for this step.
    """
    cdef Py_ssize_t i
    cdef floating lr = <floating> hyper[0]
    cdef floating wd = <floating> hyper[1]
    cdef floating gi
    if kind == OPT_SGD:
        for i in range(size):
            gi = g[i] + wd * p[i] if wd != 0 else g[i]
            p[i] = p[i] - lr * gi


# --------------------------------------------------------------------------------------
# test twins
# --------------------------------------------------------------------------------------
def activation_forward_py(int kind, floating[:, ::1] z, floating[::1] alpha=None):
    """Return f(z) (bias 0) computed by the compiled kernel."""
    zc = np.array(z, copy=True)
    cdef floating[:, ::1] zz = zc
    a = np.empty_like(zc)
    cdef floating[:, ::1] aa = a
    cdef floating[::1] b = np.zeros(z.shape[1], dtype=zc.dtype)
    cdef int n_alpha = 0 if alpha is None else alpha.shape[0]
    if z.shape[0] and z.shape[1]:
        bias_activation_forward(kind, &zz[0, 0], &aa[0, 0], &b[0],
                                &alpha[0] if n_alpha else NULL, n_alpha,
                                z.shape[0], z.shape[1])
    return a


def activation_backward_py(int kind, floating[:, ::1] z, floating[:, ::1] a,
                           floating[:, ::1] da, floating[::1] alpha=None):
    """Return (dZ, dalpha) computed by the compiled kernel."""
    d = np.array(da, copy=True)
    cdef floating[:, ::1] dd = d
    cdef int n_alpha = 0 if alpha is None else alpha.shape[0]
    dalpha = np.zeros(max(n_alpha, 1), dtype=d.dtype)
    cdef floating[::1] dal = dalpha
    if z.shape[0] and z.shape[1]:
        activation_backward(kind, &z[0, 0], &a[0, 0], &dd[0, 0],
                            &alpha[0] if n_alpha else NULL, n_alpha, &dal[0],
                            z.shape[0], z.shape[1])
    return d, (dalpha if n_alpha else None)
