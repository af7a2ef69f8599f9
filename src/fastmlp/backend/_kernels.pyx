"""Fused element-wise kernels: activations, losses, bias sums and optimizer updates.

Each kernel follows its twin in :mod:`fastmlp.backend._numpy` line for line (same
formulas, same stable forms, same order of operations on the model's dtype), in a single
pass over memory, without the GIL and without allocation. exp, expm1, log1p, tanh and erf
are the kernels' own, so that the loops calling them vectorize (see "scalar helpers":
within 1.5 ulp of the exact values, float32 tanh within 6; NumPy's and the C library's
functions are within about one). Sums (a loss's terms, a penalty, the clipping norm,
softmax's row sum) are taken in double as eight partial sums in a fixed order (``_sum``),
not in NumPy's order: they agree to rounding. Arrays are row-major ``(rows, cols)`` blocks
given by pointer. The ``*_py`` functions at the end are thin wrappers so the tests can
call each kernel on NumPy arrays.
"""
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, fabs, fabsf, floor, log, pow, sqrt, sqrtf

import numpy as np

cnp.import_array()

# Constants as C macros, not module variables: a double loop's stores could alias a
# global double, whose load then stays in the loop and keeps it from vectorizing. Those of
# the activations and losses are generated from fastmlp/_ids.py into _ids.h.
cdef extern from "_ids.h":
    double LEAKY_SLOPE "FASTMLP_LEAKY_RELU_SLOPE"
    double ELU_ALPHA "FASTMLP_ELU_ALPHA"
    double SELU_ALPHA "FASTMLP_SELU_ALPHA"
    double SELU_SCALE "FASTMLP_SELU_SCALE"
    double HUBER_DELTA "FASTMLP_HUBER_DELTA"

cdef extern from "_math.h":
    double SQRT1_2 "FASTMLP_SQRT1_2"            # 1 / sqrt(2)
    double INV_SQRT_2PI "FASTMLP_INV_SQRT_2PI"  # 1 / sqrt(2 pi)


def fixed_constants():
    """The activations' and losses' constants this module was compiled with (the floats
    of ``fastmlp._ids``), for ``tests/test_ids.py``."""
    return {"LEAKY_RELU_SLOPE": LEAKY_SLOPE, "ELU_ALPHA": ELU_ALPHA,
            "SELU_ALPHA": SELU_ALPHA, "SELU_SCALE": SELU_SCALE, "HUBER_DELTA": HUBER_DELTA}


# --------------------------------------------------------------------------------------
# scalar helpers (float and double): the C functions of _math.h, which says how they are
# computed and how accurate they are
# --------------------------------------------------------------------------------------
cdef extern from "_math.h":
    float fastmlp_expf(float x) noexcept nogil
    double fastmlp_exp(double x) noexcept nogil
    float fastmlp_expm1f_nonpositive(float x) noexcept nogil
    double fastmlp_expm1_nonpositive(double x) noexcept nogil
    float fastmlp_log1pf_unit(float y) noexcept nogil
    double fastmlp_log1p_unit(double y) noexcept nogil
    double fastmlp_tanh(double x) noexcept nogil
    double fastmlp_erf(double x) noexcept nogil
    float fastmlp_erff(float x) noexcept nogil


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return fastmlp_expf(x)
    else:
        return fastmlp_exp(x)


cdef inline floating _expm1_nonpositive(floating x) noexcept nogil:
    """e^x - 1 for x <= 0, and 0 for x > 0 (for the negative side of elu and selu)."""
    if floating is float:
        return fastmlp_expm1f_nonpositive(x)
    else:
        return fastmlp_expm1_nonpositive(x)


cdef inline floating _log1p_unit(floating y) noexcept nogil:
    """log(1 + y) for 0 <= y <= 1."""
    if floating is float:
        return fastmlp_log1pf_unit(y)
    else:
        return fastmlp_log1p_unit(y)


cdef inline float _tanh_f32(float x) noexcept nogil:
    """tanh in float32 as x P(x^2) / Q(x^2), x clipped to [-9, 9] (tanh(9) rounds to 1).

    The coefficients are a rational fit of least maximum relative error on [0, 9] made
    for fastmlp (reweighted least squares on 220,000 points): 5e-8 in exact arithmetic,
    at most 6 float32 ulps (mean 0.08) evaluated in float32, against ~1 ulp for libm's
    tanhf, a call the compiler cannot vectorize where this is plain arithmetic.
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
        return fastmlp_tanh(x)


cdef inline floating _sigmoid(floating x) noexcept nogil:
    """1 / (1 + e^-x) from e = exp(-|x|), which never overflows: 1 / (1 + e) for x >= 0,
    e / (1 + e) otherwise (the numerator a select, so that callers' loops vectorize)."""
    cdef floating e = _exp(-_fabs(x))
    cdef floating num = 1 if x >= 0 else e
    return num / (1 + e)


cdef inline floating _softplus(floating x) noexcept nogil:
    """max(x, 0) + log1p(exp(-|x|))."""
    cdef floating m = x if x > 0 else 0
    return m + _log1p_unit(_exp(-_fabs(x)))


cdef inline floating _mish_clip(floating x) noexcept nogil:
    """x clipped to 20 (float32) or 40 (float64), where tanh(softplus(x)) rounds to 1 and
    e^x (e^x + 2), squared, still fits."""
    cdef floating top = 20 if floating is float else 40
    return x if x < top else top


cdef inline floating _erf(floating x) noexcept nogil:
    if floating is float:
        return fastmlp_erff(x)
    else:
        return fastmlp_erf(x)


cdef inline floating _gelu_cdf(floating x) noexcept nogil:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2."""
    return (1 + _erf(x * <floating> SQRT1_2)) / 2


cdef inline floating _clip(floating x, floating low, floating high) noexcept nogil:
    return low if x < low else (high if x > high else x)


cdef enum:
    BLOCK = 64      # terms computed a block at a time apart from their sum (_sum)


cdef inline double _sum(const floating* t, Py_ssize_t n) noexcept nogil:
    """t[0] + ... + t[n - 1] in double, as eight interleaved partial sums (which vectorize)
    added in a fixed order: the same terms always give the same sum."""
    cdef double p[8]
    cdef Py_ssize_t j = 0, q
    for q in range(8):
        p[q] = 0
    while j + 8 <= n:
        for q in range(8):
            p[q] += t[j + q]
        j += 8
    for q in range(n - j):
        p[q] += t[j + q]
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))


# --------------------------------------------------------------------------------------
# forward: Z += b ; A = f(Z)
# --------------------------------------------------------------------------------------
cdef void bias_activation_forward(int kind, floating* z, floating* a, const floating* b,
                                  const floating* alpha, int n_alpha,
                                  Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Z[i, j] += b[j]; A[i, j] = f(Z[i, j]) (softmax: over each row). ``a`` may equal ``z``."""
    cdef Py_ssize_t i, j
    cdef floating v, m, s, slope, e, n
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
                ar[j] = v if v > 0 else <floating> ELU_ALPHA * _expm1_nonpositive(v)
        elif kind == ACT_SOFTPLUS:
            for j in range(cols):
                zr[j] = zr[j] + b[j]
                ar[j] = _softplus(zr[j])
        elif kind == ACT_GELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v * _gelu_cdf(v)
        elif kind == ACT_SILU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v * _sigmoid(v)
        elif kind == ACT_SELU:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = <floating> SELU_SCALE * (v if v > 0 else
                                                 <floating> SELU_ALPHA * _expm1_nonpositive(v))
        elif kind == ACT_MISH:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                # tanh(softplus(v)) = n / (n + 2) with n = e^v (e^v + 2): one exp and
                # one division instead of exp, log1p and tanh
                e = _exp(_mish_clip(v))
                n = e * (e + 2)
                ar[j] = v * (n / (n + 2))
        elif kind == ACT_HARD_SIGMOID:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = _clip(v + 3, <floating> 0, <floating> 6) / 6
        elif kind == ACT_RELU6:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = _clip(v, <floating> 0, <floating> 6)
        elif kind == ACT_EXPONENTIAL:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = _exp(v)
        elif kind == ACT_SOFTSIGN:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v / (1 + _fabs(v))
        elif kind == ACT_SOFTMAX:
            m = zr[0] + b[0]
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                if v > m:
                    m = v
            for j in range(cols):       # (apart from the sum: this loop vectorizes)
                ar[j] = _exp(zr[j] - m)
            s = <floating> _sum(ar, cols)
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
    cdef floating v, s, slope, e, n, w
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
        elif kind == ACT_GELU:
            for j in range(cols):
                v = z[base + j]
                d[base + j] = d[base + j] * (_gelu_cdf(v) + v * (<floating> INV_SQRT_2PI
                                                                 * _exp(-(v * v) / 2)))
        elif kind == ACT_SILU:
            for j in range(cols):
                v = z[base + j]
                s = _sigmoid(v)
                d[base + j] = d[base + j] * (s * (1 + v * (1 - s)))
        elif kind == ACT_SELU:
            for j in range(cols):
                if z[base + j] > 0:
                    d[base + j] = d[base + j] * <floating> SELU_SCALE
                else:
                    d[base + j] = d[base + j] * (a[base + j] + <floating> SELU_SCALE
                                                 * <floating> SELU_ALPHA)
        elif kind == ACT_MISH:
            for j in range(cols):
                v = z[base + j]
                # t + v sigmoid(v) (1 - t^2) with t = n / w, w = n + 2, n as forward:
                # sigmoid(v) (1 - t^2) = 4 e (1 + e) / w^2, so all of it over one w^2
                v = _mish_clip(v)
                e = _exp(v)
                n = e * (e + 2)
                w = n + 2
                d[base + j] = d[base + j] * ((n * w + 4 * v * e * (1 + e)) / (w * w))
        elif kind == ACT_HARD_SIGMOID:
            for j in range(cols):
                v = z[base + j]
                d[base + j] = d[base + j] / 6 if (v > -3 and v < 3) else 0
        elif kind == ACT_RELU6:
            for j in range(cols):
                v = z[base + j]
                if not (v > 0 and v < 6):
                    d[base + j] = 0
        elif kind == ACT_EXPONENTIAL:
            for j in range(cols):
                d[base + j] = d[base + j] * a[base + j]
        elif kind == ACT_SOFTSIGN:
            for j in range(cols):
                v = 1 / (1 + _fabs(z[base + j]))
                d[base + j] = d[base + j] * (v * v)
        elif kind == ACT_SOFTMAX:
            s = 0
            for j in range(cols):
                s = s + d[base + j] * a[base + j]
            for j in range(cols):
                d[base + j] = a[base + j] * (d[base + j] - s)


# --------------------------------------------------------------------------------------
# losses: mean value, and dL/dZ of the output layer (cross-entropies fused)
# --------------------------------------------------------------------------------------
cdef inline floating _row_max(const floating* z, Py_ssize_t n) noexcept nogil:
    """The largest of z[0] .. z[n - 1] (the log-sum-exp's shift)."""
    cdef floating m = z[0]
    cdef Py_ssize_t j
    for j in range(n):
        if z[j] > m:
            m = z[j]
    return m


cdef double loss_delta(int loss, int out_kind, const floating* z, const floating* a,
                       const floating* y, const floating* w, floating* dz,
                       const floating* alpha, int n_alpha, floating* dalpha,
                       Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t norm_rows) noexcept nogil:
    """Return the batch's loss ``sum_i w_i l_i / rows``; if ``dz`` is not NULL, write dL/dZ.

    ``rows`` rows are processed; the means divide by ``norm_rows`` (the whole batch's
    rows), so that the rows of one batch can be split into blocks (one per thread) whose
    losses add up to the batch's loss and whose dZ rows equal the whole batch's.

    ``w`` holds the row weights, or is NULL for all ones. With ``e = a - y``, per element:
    mse: e^2, dA = 2 e / (rows cols)
    mae: |e|, dA = sign(e) / (rows cols)
    huber: e^2 / 2 if |e| <= delta else delta (|e| - delta / 2), dA = clip(e) / (rows cols)
    hinge: max(1 - y a, 0), dA = -y / (rows cols) where 1 - y a > 0
    then dZ = f'(Z) * w_i dA; fused with their outputs:
    bce: softplus(z) - z y (softplus as the activation computes it),
         dZ = w_i (a - y) / (rows cols)
    poisson: a - y z with a = exp(z) (log link), dZ = w_i (a - y) / (rows cols)
    cce: -sum_j y log_softmax(z) per row, dZ = w_i (a - y) / rows
    """
    cdef Py_ssize_t i, i0, r, q, j, j0, nj, nk, k, stop, size = norm_rows * cols
    cdef Py_ssize_t group = BLOCK // cols if cols <= BLOCK else 1
    cdef double total = 0.0, lse
    cdef floating diff, e, m, s, wi, g
    cdef floating term[BLOCK]
    cdef floating wk[BLOCK]
    cdef floating mk[BLOCK]
    cdef floating n_el = <floating> size
    cdef floating delta = <floating> HUBER_DELTA
    # The terms are computed a block of at most BLOCK elements at a time into ``term``, each
    # times its row's weight (``wk``), and added up by _sum; dZ in a loop of its own. These
    # loops hold no sequential sum, so they vectorize.
    if loss == LOSS_CCE and cols > BLOCK:   # -sum_j y (z - s), s = m + log sum_j e^(z - m)
        for i in range(rows):                  # (m = max_j z): row by row, in parts
            wi = w[i] if w != NULL else 1
            k = i * cols
            m = _row_max(z + k, cols)
            lse = 0.0
            j0 = 0
            while j0 < cols:
                nj = cols - j0 if cols - j0 < BLOCK else BLOCK
                for j in range(nj):
                    term[j] = _exp(z[k + j0 + j] - m)
                lse += _sum(term, nj)
                j0 += nj
            s = m + <floating> log(lse)
            j0 = 0
            while j0 < cols:
                nj = cols - j0 if cols - j0 < BLOCK else BLOCK
                for j in range(nj):
                    term[j] = y[k + j0 + j] * (s - z[k + j0 + j]) * wi
                    if dz != NULL:
                        dz[k + j0 + j] = ((a[k + j0 + j] - y[k + j0 + j]) / <floating> norm_rows
                                          * wi)
                total += _sum(term, nj)
                j0 += nj
        return total / norm_rows
    if loss == LOSS_CCE:                       # the same, as many whole rows at a time as
        i0 = 0                                 # fit in a block (mk: each element's m, then s)
        while i0 < rows:
            r = rows - i0 if rows - i0 < group else group
            k = i0 * cols
            nk = r * cols                      # the group's elements, from k
            for q in range(r):
                m = _row_max(z + k + q * cols, cols)
                for j in range(cols):
                    mk[q * cols + j] = m
            for j in range(nk):
                term[j] = _exp(z[k + j] - mk[j])
            for q in range(r):
                s = mk[q * cols] + <floating> log(_sum(term + q * cols, cols))
                wi = w[i0 + q] if w != NULL else 1
                for j in range(cols):
                    mk[q * cols + j] = s
                    wk[q * cols + j] = wi
            for j in range(nk):
                term[j] = y[k + j] * (mk[j] - z[k + j]) * wk[j]
            total += _sum(term, nk)
            if dz != NULL:
                for j in range(nk):
                    dz[k + j] = (a[k + j] - y[k + j]) / <floating> norm_rows * wk[j]
            i0 += r
        return total / norm_rows
    # the others: as many whole rows at a time as fit in a block (or one row in parts)
    for j in range(BLOCK):
        wk[j] = 1
    i0 = 0
    while i0 < rows:
        r = rows - i0 if rows - i0 < group else group
        if w != NULL:
            for q in range(r):
                for j in range(cols if cols < BLOCK else BLOCK):
                    wk[q * cols + j] = w[i0 + q]
        k = i0 * cols
        stop = (i0 + r) * cols
        while k < stop:
            nj = stop - k if stop - k < BLOCK else BLOCK
            if loss == LOSS_MSE:
                for j in range(nj):
                    diff = a[k + j] - y[k + j]
                    term[j] = diff * diff * wk[j]
            elif loss == LOSS_BCE:
                for j in range(nj):
                    term[j] = (_softplus(z[k + j]) - z[k + j] * y[k + j]) * wk[j]
            elif loss == LOSS_MAE:
                for j in range(nj):
                    term[j] = _fabs(a[k + j] - y[k + j]) * wk[j]
            elif loss == LOSS_HUBER:
                for j in range(nj):
                    e = _fabs(a[k + j] - y[k + j])
                    term[j] = (e * e / 2 if e <= delta else delta * (e - delta / 2)) * wk[j]
            elif loss == LOSS_HINGE:
                for j in range(nj):
                    e = 1 - y[k + j] * a[k + j]
                    term[j] = (e if e > 0 else 0) * wk[j]
            elif loss == LOSS_POISSON:
                for j in range(nj):
                    term[j] = (a[k + j] - y[k + j] * z[k + j]) * wk[j]
            total += _sum(term, nj)
            if dz != NULL:
                if loss == LOSS_MSE:
                    for j in range(nj):
                        dz[k + j] = 2 * (a[k + j] - y[k + j]) / n_el * wk[j]
                elif loss == LOSS_BCE:
                    for j in range(nj):
                        dz[k + j] = (a[k + j] - y[k + j]) / n_el * wk[j]
                elif loss == LOSS_MAE:
                    for j in range(nj):
                        diff = a[k + j] - y[k + j]
                        g = 1 if diff > 0 else (-1 if diff < 0 else 0)
                        dz[k + j] = g / n_el * wk[j]
                elif loss == LOSS_HUBER:
                    for j in range(nj):
                        dz[k + j] = _clip(a[k + j] - y[k + j], -delta, delta) / n_el * wk[j]
                elif loss == LOSS_HINGE:
                    for j in range(nj):
                        e = 1 - y[k + j] * a[k + j]
                        dz[k + j] = (-y[k + j] if e > 0 else 0) / n_el * wk[j]
                elif loss == LOSS_POISSON:
                    for j in range(nj):
                        dz[k + j] = (a[k + j] - y[k + j]) / n_el * wk[j]
            k += nj
        i0 += r
    if dz != NULL and loss != LOSS_BCE and loss != LOSS_POISSON:
        activation_backward(out_kind, z, a, dz, alpha, n_alpha, dalpha, rows, cols)
    return total / size


cdef double regularize(const floating* p, floating* g, Py_ssize_t size, double l1,
                       double l2) noexcept nogil:
    """Return l1 sum|p| + l2 sum p^2; if ``g`` is not NULL, g += l1 sign(p) + 2 l2 p.
    (The sums' terms by blocks, added by _sum, and the gradient in a loop of its own, as
    in loss_delta.)"""
    cdef Py_ssize_t i, j, n
    cdef double s1 = 0.0, s2 = 0.0
    cdef floating c1 = <floating> l1
    cdef floating c2 = <floating> (2 * l2)
    cdef floating v, sg
    cdef floating t1[BLOCK]
    cdef floating t2[BLOCK]
    i = 0
    while i < size:
        n = size - i if size - i < BLOCK else BLOCK
        for j in range(n):
            v = p[i + j]
            t1[j] = _fabs(v)
            t2[j] = v * v
        s1 += _sum(t1, n)
        s2 += _sum(t2, n)
        i += n
    if g != NULL:
        for i in range(size):
            v = p[i]
            sg = 1 if v > 0 else (-1 if v < 0 else 0)
            g[i] = g[i] + (c1 * sg + c2 * v)
    return l1 * s1 + l2 * s2


cdef void multiply(const floating* x, const floating* m, floating* out,
                   Py_ssize_t size) noexcept nogil:
    """out = x * m element-wise (dropout: A * mask forward, dA * mask backward)."""
    cdef Py_ssize_t i
    for i in range(size):
        out[i] = x[i] * m[i]


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


cdef extern from "_team.h":
    int fastmlp_omp_max_threads() noexcept nogil


cdef enum:
    SCAN_BLOCK = 1 << 16            # elements per block of a parallel scan
    SCAN_PARALLEL_MIN = 1 << 21     # elements from which a scan uses several threads

#: Threads of the parallel finiteness scan (``fastmlp.set_num_threads`` sets it; read with
#: the GIL held and passed to the scan).
cdef int _scan_threads = fastmlp_omp_max_threads()


def set_scan_threads(int n):
    global _scan_threads
    _scan_threads = max(n, 1)


cdef bint all_finite_parallel(const floating* x, Py_ssize_t size,
                              int threads) noexcept nogil:
    """:c:func:`all_finite` on blocks shared between ``threads`` threads, for large arrays
    (the validation of a training set before each fit is a scan of all of it)."""
    cdef Py_ssize_t blocks = (size + SCAN_BLOCK - 1) // SCAN_BLOCK, k
    cdef Py_ssize_t bad = 0
    if threads <= 1 or size < SCAN_PARALLEL_MIN:
        return all_finite(x, size)
    for k in prange(blocks, num_threads=threads, schedule="static"):
        if not all_finite(x + k * SCAN_BLOCK,
                          SCAN_BLOCK if (k + 1) * SCAN_BLOCK <= size else size - k * SCAN_BLOCK):
            bad += 1
    return bad == 0


def finite_status(object arr, object dtype=None, Py_ssize_t n_features=-1):
    """1 if ``arr`` is an aligned, C-contiguous, native float32/float64 ndarray whose values
    are all finite, 0 if it is such an array with a NaN or infinity, -1 if it is not such
    an array (the caller then checks with NumPy).

    With ``dtype`` (and ``n_features``), -1 also unless ``arr`` is a non-empty 2-D array
    of exactly that dtype (with ``n_features`` columns): one call then checks everything
    that makes ``arr`` usable by the engines as it is. Scans without the GIL (for large
    arrays) and allocates nothing.
    """
    if dtype is None:
        return array_status(arr, -1, -1)
    if not isinstance(dtype, cnp.dtype):
        return -1
    return array_status(arr, (<cnp.dtype> dtype).type_num, n_features)


cdef int array_status(object arr, int typenum_wanted, Py_ssize_t n_features) noexcept:
    """:func:`finite_status` with the dtype as a NumPy type number (-1: none required)."""
    cdef cnp.ndarray a
    cdef int typenum, threads = _scan_threads
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
    if typenum_wanted >= 0:
        if (typenum != typenum_wanted or cnp.PyArray_NDIM(a) != 2
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
            ok = (all_finite_parallel(<float*> data, size, threads)
                  if typenum == cnp.NPY_FLOAT32
                  else all_finite_parallel(<double*> data, size, threads))
    return 1 if ok else 0


# --------------------------------------------------------------------------------------
# optimizer updates: _numpy.optimizer_step and the *_update rules, line for line
# --------------------------------------------------------------------------------------
cdef inline floating _sqrt(floating x) noexcept nogil:
    """Correctly rounded square root in the array's own precision (as np.sqrt)."""
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _fabs(floating x) noexcept nogil:
    if floating is float:
        return fabsf(x)
    else:
        return fabs(x)


cdef double learning_rate_at(const double* hyper, double iteration) noexcept nogil:
    """Learning rate after ``iteration`` completed updates (_numpy.learning_rate_at).

    constant: lr ; exponential: lr * r^e ; inverse: lr / (1 + r e)^power, with
    e = iteration / decay_steps (floored with staircase); times (iteration + 1) / w during
    a linear warm-up of w updates (w = hyper[HYPER_WARMUP] > 0).
    """
    cdef double lr = hyper[HYPER_LR]
    cdef int kind = <int> hyper[HYPER_SCHEDULE]
    cdef double e
    if hyper[HYPER_WARMUP] > iteration:
        lr = lr * (iteration + 1) / hyper[HYPER_WARMUP]
    if kind == SCHEDULE_CONSTANT:
        return lr
    e = iteration / hyper[HYPER_DECAY_STEPS]
    if hyper[HYPER_STAIRCASE] != 0:
        e = floor(e)
    if kind == SCHEDULE_EXPONENTIAL:
        return lr * pow(hyper[HYPER_DECAY_RATE], e)
    return lr / pow(1 + hyper[HYPER_DECAY_RATE] * e, hyper[HYPER_POWER])


cdef double squared_norm(const floating* g, Py_ssize_t size) noexcept nogil:
    """sum(g^2), in double (the squares by blocks, added by _sum)."""
    cdef Py_ssize_t i = 0, j, n
    cdef double s = 0
    cdef double t[BLOCK]
    while i < size:
        n = size - i if size - i < BLOCK else BLOCK
        for j in range(n):
            t[j] = <double> g[i + j] * <double> g[i + j]
        s += _sum(t, n)
        i += n
    return s


cdef void optimizer_coefficients(int kind, const double* hyper, double* scalars, double lr,
                                 double* coef) noexcept nogil:
    """The per-step scalars of a rule (float64), once per step, into ``coef[0..3]``.

    ``scalars[0]`` is the step count t, already incremented; NAdam's running product
    ``scalars[1]`` is advanced here (nadam_update's preamble).
    """
    cdef double t = scalars[0], b1, b2, mu, mu_next, psi
    coef[0] = lr
    coef[1] = 0
    coef[2] = 0
    coef[3] = 0
    if kind == OPT_MOMENTUM:
        coef[1] = 1 if t == 1 else 0                         # first step: b <- g
        coef[2] = hyper[HYPER_RULE]                          # b's factor: mu
        if hyper[HYPER_RULE + 3] != 0:                       # velocity_mode "keras":
            coef[2] = hyper[HYPER_RULE] * ((lr if t == 1 else scalars[1]) / lr)
            scalars[1] = lr                                  # mu (lr_prev / lr)
    elif kind == OPT_ADAGRAD:
        coef[0] = lr / (1 + (t - 1) * hyper[HYPER_RULE])     # lr / (1 + (t-1) lr_decay)
    elif kind == OPT_ADAM and hyper[HYPER_RULE + 4] != 0:
        # epsilon_mode "keras": the bias corrections folded into the step size, d = sqrt(v)
        # + eps (a division by 1 is exact, so adam_update's loop serves both forms)
        coef[0] = (lr * sqrt(1 - pow(hyper[HYPER_RULE + 1], t))
                   / (1 - pow(hyper[HYPER_RULE], t)))
        coef[1] = 1
    elif kind == OPT_ADAM:
        coef[0] = lr / (1 - pow(hyper[HYPER_RULE], t))       # step size
        coef[1] = sqrt(1 - pow(hyper[HYPER_RULE + 1], t))    # sqrt(1 - b2^t)
    elif kind == OPT_ADAMAX:
        coef[0] = lr / (1 - pow(hyper[HYPER_RULE], t))
    elif kind == OPT_NADAM:
        b1 = hyper[HYPER_RULE]
        b2 = hyper[HYPER_RULE + 1]
        psi = hyper[HYPER_RULE + 3]
        mu = b1 * (1 - 0.5 * pow(0.96, t * psi))
        mu_next = b1 * (1 - 0.5 * pow(0.96, (t + 1) * psi))
        scalars[1] *= mu
        coef[0] = lr * (1 - mu) / (1 - scalars[1])
        coef[1] = lr * mu_next / (1 - scalars[1] * mu_next)
        coef[2] = 1 - pow(b2, t)                              # bias correction 2


# The update loops below are branch-free so that the compiler can vectorize them: the
# options of a rule (first step, nesterov, centered, momentum, amsgrad) are arguments of a
# ``cdef inline`` loop that each rule calls with constants, one call per combination, so
# every call site compiles to its own specialised loop. Clipping and weight decay are
# applied unconditionally with neutral values when off (scale 1, bounds +-inf, decay 0),
# which leaves every value unchanged (at most the sign of a zero gradient differs).
# Every loop also returns whether all the values it wrote (the parameter and its state)
# are finite: ``v - v == 0`` is true for a finite v only, and the comparisons are combined
# with ``&`` into an integer, a reduction the compiler vectorizes along with the update.
# The training guard needs this after every step (divergence roll-back); checking here,
# on values still in registers, replaces a scan of the whole state after every call.
cdef inline floating _gradient(const floating* g, const floating* p, Py_ssize_t i,
                               floating scale, floating lo, floating hi,
                               floating wd) noexcept nogil:
    """clip_gradients then weight decay: min(max(g_i * scale, lo), hi) + wd * p_i."""
    cdef floating gi = g[i] * scale
    gi = hi if gi > hi else gi
    gi = lo if gi < lo else gi
    return gi + wd * p[i]


cdef int sgd_update(floating lr, floating scale, floating lo, floating hi, floating wd,
                    floating* p, const floating* g, Py_ssize_t size) noexcept nogil:
    """p <- p - lr g."""
    cdef Py_ssize_t i
    cdef floating gi, pi
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        pi = p[i] - lr * gi
        p[i] = pi
        ok = ok & (pi - pi == 0)
    return ok


cdef inline int _momentum_loop(floating lr, floating mu, floating keep, floating scale,
                                floating lo, floating hi, floating wd, floating* p,
                                const floating* g, floating* b, Py_ssize_t size,
                                bint first, bint nesterov, floating rec) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, bi, pi
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        bi = gi if first else rec * b[i] + keep * gi
        b[i] = bi
        pi = p[i] - lr * ((gi + mu * bi) if nesterov else bi)
        p[i] = pi
        ok = ok & ((pi - pi) + (bi - bi) == 0)
    return ok


cdef int momentum_update(const double* hyper, const double* coef, floating scale,
                         floating lo, floating hi, floating wd, floating* p,
                         const floating* g, floating* b, Py_ssize_t size) noexcept nogil:
    """b <- g (first step) or rec b + (1 - dampening) g; p <- p - lr (nesterov ? g + mu b : b)
    (rec = coef[2]: mu, or mu lr_prev / lr with velocity_mode "keras")."""
    cdef floating lr = <floating> coef[0]
    cdef floating mu = <floating> hyper[HYPER_RULE]
    cdef floating keep = <floating> (1 - hyper[HYPER_RULE + 1])
    cdef floating rec = <floating> coef[2]
    cdef bint first = coef[1] != 0
    if hyper[HYPER_RULE + 2] != 0:
        if first:
            return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, True, True,
                                  rec)
        return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, False, True,
                              rec)
    if first:
        return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, True, False,
                              rec)
    return _momentum_loop(lr, mu, keep, scale, lo, hi, wd, p, g, b, size, False, False, rec)


cdef int adagrad_update(const double* hyper, const double* coef, floating scale,
                        floating lo, floating hi, floating wd, floating* p,
                        const floating* g, floating* G, Py_ssize_t size) noexcept nogil:
    """G <- G + g^2 ; p <- p - clr g / (sqrt(G) + eps)."""
    cdef Py_ssize_t i
    cdef floating gi, Gi, pi
    cdef floating clr = <floating> coef[0]
    cdef floating eps = <floating> hyper[HYPER_RULE + 1]
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        Gi = G[i] + gi * gi
        G[i] = Gi
        pi = p[i] - clr * (gi / (_sqrt(Gi) + eps))
        p[i] = pi
        ok = ok & ((pi - pi) + (Gi - Gi) == 0)
    return ok


cdef int adadelta_update(const double* hyper, const double* coef, floating scale,
                         floating lo, floating hi, floating wd, floating* p,
                         const floating* g, floating* v, floating* u,
                         Py_ssize_t size) noexcept nogil:
    """v <- rho v + (1-rho) g^2 ; delta = sqrt(u + eps) / sqrt(v + eps) g ;
    u <- rho u + (1-rho) delta^2 ; p <- p - lr delta."""
    cdef Py_ssize_t i
    cdef floating gi, vi, delta, ui, pi
    cdef floating lr = <floating> coef[0]
    cdef floating rho = <floating> hyper[HYPER_RULE]
    cdef floating one_rho = <floating> (1 - hyper[HYPER_RULE])
    cdef floating eps = <floating> hyper[HYPER_RULE + 1]
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        vi = rho * v[i] + one_rho * gi * gi
        v[i] = vi
        delta = _sqrt(u[i] + eps) / _sqrt(vi + eps) * gi
        ui = rho * u[i] + one_rho * delta * delta
        u[i] = ui
        pi = p[i] - lr * delta
        p[i] = pi
        ok = ok & ((pi - pi) + (vi - vi) + (ui - ui) == 0)
    return ok


cdef inline int _rmsprop_loop(floating lr, floating rho, floating one_rho, floating eps,
                               floating mu, floating scale, floating lo, floating hi,
                               floating wd, floating* p, const floating* g, floating* v,
                               floating* a, floating* b, Py_ssize_t size, bint centered,
                               bint use_momentum) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, vi, ai, d, bi, pi, chk
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        vi = rho * v[i] + one_rho * gi * gi
        v[i] = vi
        chk = vi - vi
        if centered:
            ai = rho * a[i] + one_rho * gi
            a[i] = ai
            chk = chk + (ai - ai)
            d = _sqrt(vi - ai * ai) + eps
        else:
            d = _sqrt(vi) + eps
        if use_momentum:
            bi = mu * b[i] + gi / d
            b[i] = bi
            chk = chk + (bi - bi)
            pi = p[i] - lr * bi
        else:
            pi = p[i] - lr * (gi / d)
        p[i] = pi
        ok = ok & (chk + (pi - pi) == 0)
    return ok


cdef int rmsprop_update(const double* hyper, const double* coef, floating scale,
                        floating lo, floating hi, floating wd, floating* p,
                        const floating* g, floating* v, floating* a, floating* b,
                        Py_ssize_t size) noexcept nogil:
    """v <- rho v + (1-rho) g^2 ; d = sqrt(v) + eps, or centered sqrt(v - a^2) + eps with
    a <- rho a + (1-rho) g ; p <- p - lr g / d, or with momentum b <- mu b + g / d and
    p <- p - lr b. (``a``, ``b`` are NULL when unused.)"""
    cdef floating lr = <floating> coef[0]
    cdef floating rho = <floating> hyper[HYPER_RULE]
    cdef floating one_rho = <floating> (1 - hyper[HYPER_RULE])
    cdef floating eps = <floating> hyper[HYPER_RULE + 1]
    cdef floating mu = <floating> hyper[HYPER_RULE + 2]
    cdef bint use_momentum = hyper[HYPER_RULE + 2] > 0
    if hyper[HYPER_RULE + 3] != 0:
        if use_momentum:
            return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b,
                                 size, True, True)
        return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b,
                             size, True, False)
    if use_momentum:
        return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b,
                             size, False, True)
    return _rmsprop_loop(lr, rho, one_rho, eps, mu, scale, lo, hi, wd, p, g, v, a, b, size,
                         False, False)


cdef inline int _adam_loop(floating step_size, floating bc2_sqrt, floating b1,
                            floating one_b1, floating b2, floating one_b2, floating eps,
                            floating scale, floating lo, floating hi, floating wd,
                            floating* p, const floating* g, floating* m, floating* v,
                            floating* vmax, Py_ssize_t size, bint amsgrad) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, mi, vi, d, pi, chk
    cdef int ok = 1
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        mi = b1 * m[i] + one_b1 * gi
        m[i] = mi
        vi = b2 * v[i] + one_b2 * gi * gi
        v[i] = vi
        chk = (mi - mi) + (vi - vi)
        if amsgrad:   # (vmax >= v: finite when v is)
            vi = vmax[i] if vmax[i] > vi else vi
            vmax[i] = vi
        d = _sqrt(vi) / bc2_sqrt + eps
        pi = p[i] - step_size * (mi / d)
        p[i] = pi
        ok = ok & (chk + (pi - pi) == 0)
    return ok


cdef int adam_update(const double* hyper, const double* coef, floating scale,
                     floating lo, floating hi, floating wd, floating* p, const floating* g,
                     floating* m, floating* v, floating* vmax, Py_ssize_t size) noexcept nogil:
    """m <- b1 m + (1-b1) g ; v <- b2 v + (1-b2) g^2 ; amsgrad: vmax <- max(vmax, v) ;
    p <- p - step_size m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)."""
    cdef floating step_size = <floating> coef[0]
    cdef floating bc2_sqrt = <floating> coef[1]
    cdef floating b1 = <floating> hyper[HYPER_RULE]
    cdef floating one_b1 = <floating> (1 - hyper[HYPER_RULE])
    cdef floating b2 = <floating> hyper[HYPER_RULE + 1]
    cdef floating one_b2 = <floating> (1 - hyper[HYPER_RULE + 1])
    cdef floating eps = <floating> hyper[HYPER_RULE + 2]
    if hyper[HYPER_RULE + 3] != 0:
        return _adam_loop(step_size, bc2_sqrt, b1, one_b1, b2, one_b2, eps, scale, lo, hi,
                          wd, p, g, m, v, vmax, size, True)
    return _adam_loop(step_size, bc2_sqrt, b1, one_b1, b2, one_b2, eps, scale, lo, hi, wd,
                      p, g, m, v, vmax, size, False)


cdef int adamax_update(const double* hyper, const double* coef, floating scale,
                       floating lo, floating hi, floating wd, floating* p,
                       const floating* g, floating* m, floating* u,
                       Py_ssize_t size) noexcept nogil:
    """m <- b1 m + (1-b1) g ; u <- max(b2 u, |g| + eps) ; p <- p - clr m / u."""
    cdef Py_ssize_t i
    cdef floating gi, mi, ui, ai, pi
    cdef int ok = 1
    cdef floating clr = <floating> coef[0]
    cdef floating b1 = <floating> hyper[HYPER_RULE]
    cdef floating one_b1 = <floating> (1 - hyper[HYPER_RULE])
    cdef floating b2 = <floating> hyper[HYPER_RULE + 1]
    cdef floating eps = <floating> hyper[HYPER_RULE + 2]
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        mi = b1 * m[i] + one_b1 * gi
        m[i] = mi
        ui = b2 * u[i]
        ai = _fabs(gi) + eps
        ui = ai if ai > ui else ui
        u[i] = ui
        pi = p[i] - clr * (mi / ui)
        p[i] = pi
        ok = ok & ((pi - pi) + (mi - mi) + (ui - ui) == 0)
    return ok


cdef int nadam_update(const double* hyper, const double* coef, floating scale,
                      floating lo, floating hi, floating wd, floating* p, const floating* g,
                      floating* m, floating* v, Py_ssize_t size) noexcept nogil:
    """m, v as Adam ; d = sqrt(v / (1 - b2^t)) + eps ;
    p <- p - grad_coef g / d - momentum_coef m / d."""
    cdef Py_ssize_t i
    cdef floating gi, mi, vi, d, pi
    cdef int ok = 1
    cdef floating grad_coef = <floating> coef[0]
    cdef floating momentum_coef = <floating> coef[1]
    cdef floating bc2 = <floating> coef[2]
    cdef floating b1 = <floating> hyper[HYPER_RULE]
    cdef floating one_b1 = <floating> (1 - hyper[HYPER_RULE])
    cdef floating b2 = <floating> hyper[HYPER_RULE + 1]
    cdef floating one_b2 = <floating> (1 - hyper[HYPER_RULE + 1])
    cdef floating eps = <floating> hyper[HYPER_RULE + 2]
    for i in range(size):
        gi = _gradient(g, p, i, scale, lo, hi, wd)
        mi = b1 * m[i] + one_b1 * gi
        m[i] = mi
        vi = b2 * v[i] + one_b2 * gi * gi
        v[i] = vi
        d = _sqrt(vi / bc2) + eps
        pi = p[i] - grad_coef * (gi / d)
        pi = pi - momentum_coef * (mi / d)
        p[i] = pi
        ok = ok & ((pi - pi) + (mi - mi) + (vi - vi) == 0)
    return ok


cdef bint optimizer_update(int kind, const double* hyper, const double* coef, double scale,
                           floating* p, const floating* g, floating* s0, floating* s1,
                           floating* s2, Py_ssize_t size) noexcept nogil:
    """One fused pass of rule ``kind`` over one parameter array and its state ``s0..s2``;
    returns whether every value written (parameter and state) is finite.

    ``coef`` comes from optimizer_coefficients; ``scale`` is the global-norm clipping
    factor of the step (1 when not clipping).
    """
    cdef floating sc = <floating> scale
    cdef floating hi = <floating> hyper[HYPER_CLIPVALUE] if hyper[HYPER_CLIPVALUE] > 0 \
        else <floating> INFINITY
    cdef floating lo = -hi
    cdef floating wd = <floating> hyper[HYPER_WEIGHT_DECAY]
    if kind == OPT_SGD:
        return sgd_update(<floating> coef[0], sc, lo, hi, wd, p, g, size) != 0
    if kind == OPT_MOMENTUM:
        return momentum_update(hyper, coef, sc, lo, hi, wd, p, g, s0, size) != 0
    if kind == OPT_ADAGRAD:
        return adagrad_update(hyper, coef, sc, lo, hi, wd, p, g, s0, size) != 0
    if kind == OPT_ADADELTA:
        return adadelta_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, size) != 0
    if kind == OPT_RMSPROP:
        # slots: v, then a if centered, then b if momentum > 0
        if hyper[HYPER_RULE + 3] != 0:
            return rmsprop_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, s2, size) != 0
        return rmsprop_update(hyper, coef, sc, lo, hi, wd, p, g, s0, <floating*> NULL, s1,
                              size) != 0
    if kind == OPT_ADAM:
        return adam_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, s2, size) != 0
    if kind == OPT_ADAMAX:
        return adamax_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, size) != 0
    if kind == OPT_NADAM:
        return nadam_update(hyper, coef, sc, lo, hi, wd, p, g, s0, s1, size) != 0
    return True


# --------------------------------------------------------------------------------------
# test twins
# --------------------------------------------------------------------------------------
def exp_py(floating[::1] x):
    """Return exp(x) element-wise, computed as the kernels compute it."""
    out = np.empty_like(np.asarray(x))
    cdef floating[::1] o = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        o[i] = _exp(x[i])
    return out


def erf_py(floating[::1] x):
    """Return erf(x) element-wise, computed as the kernels compute it."""
    out = np.empty_like(np.asarray(x))
    cdef floating[::1] o = out
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        o[i] = _erf(x[i])
    return out


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


def loss_delta_py(int loss, int out_kind, floating[:, ::1] z, floating[:, ::1] a,
                  floating[:, ::1] y, floating[::1] w=None):
    """Return (loss, dZ) computed by the compiled kernel (no prelu output)."""
    dz = np.zeros_like(np.asarray(z))
    cdef floating[:, ::1] dd = dz
    cdef double value = loss_delta(loss, out_kind, &z[0, 0], &a[0, 0], &y[0, 0],
                                   &w[0] if w is not None else NULL, &dd[0, 0], NULL, 0,
                                   NULL, z.shape[0], z.shape[1], z.shape[0])
    return value, dz


def regularize_py(floating[::1] p, double l1, double l2):
    """Return (penalty, gradient added to zeros) computed by the compiled kernel."""
    g = np.zeros_like(np.asarray(p))
    cdef floating[::1] gg = g
    cdef double value = regularize(&p[0], &gg[0], p.shape[0], l1, l2)
    return value, g


def learning_rate_at_py(const double[::1] hyper, double iteration):
    """The compiled schedule: learning rate after ``iteration`` completed updates."""
    return learning_rate_at(&hyper[0], iteration)
