"""Fused element-wise kernels: activations, losses, bias sums and optimizer updates.

Each kernel follows its twin in :mod:`fastmlp.backend._numpy` line for line (same
formulas, same stable forms, same order of operations on the model's dtype), in a single
pass over memory, without the GIL and without allocation. Arrays are row-major
``(rows, cols)`` blocks given by pointer. The ``*_py`` functions at the end are thin
wrappers so the tests can call each kernel on NumPy arrays.
"""
from cython cimport floating
from libc.math cimport erf, exp, expm1, fabs, isfinite, log, log1p, sqrt, tanh

import numpy as np

cdef double LEAKY_SLOPE = 0.01   # activations.LEAKY_RELU_SLOPE
cdef double ELU_ALPHA = 1.0      # activations.ELU_ALPHA
cdef double SELU_ALPHA = 1.6732632423543772848170429916717   # activations.SELU_ALPHA
cdef double SELU_SCALE = 1.0507009873554804934193349852946   # activations.SELU_SCALE
cdef double SQRT1_2 = 0.70710678118654752440        # 1 / sqrt(2)
cdef double INV_SQRT_2PI = 0.39894228040143267794   # 1 / sqrt(2 pi)
cdef double HUBER_DELTA = 1.0    # losses.HUBER_DELTA


# --------------------------------------------------------------------------------------
# scalar helpers (float and double)
# --------------------------------------------------------------------------------------
cdef inline floating _exp(floating x) noexcept nogil:
    return exp(x)


cdef inline floating _sigmoid(floating x) noexcept nogil:
    """1 / (1 + e^-x) from e = exp(-|x|), which never overflows."""
    cdef floating e = exp(-fabs(x))
    if x >= 0:
        return 1 / (1 + e)
    return e / (1 + e)


cdef inline floating _softplus(floating x) noexcept nogil:
    """max(x, 0) + log1p(exp(-|x|))."""
    cdef floating m = x if x > 0 else 0
    return m + <floating> log1p(<floating> exp(-fabs(x)))


cdef inline floating _gelu_cdf(floating x) noexcept nogil:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2."""
    return (1 + <floating> erf(x * <floating> SQRT1_2)) / 2


cdef inline floating _clip(floating x, floating low, floating high) noexcept nogil:
    return low if x < low else (high if x > high else x)


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
                ar[j] = tanh(zr[j])
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
                ar[j] = v if v > 0 else <floating> ELU_ALPHA * <floating> expm1(v)
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
                if v > 0:
                    ar[j] = <floating> SELU_SCALE * v
                else:
                    ar[j] = <floating> SELU_SCALE * (<floating> SELU_ALPHA * <floating> expm1(v))
        elif kind == ACT_MISH:
            for j in range(cols):
                v = zr[j] + b[j]
                zr[j] = v
                ar[j] = v * <floating> tanh(_softplus(v))
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
    cdef floating v, s, t, slope
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
            for j in range(cols):
                if not z[base + j] > 0:
                    d[base + j] = 0
        elif kind == ACT_LEAKY_RELU:
            slope = <floating> LEAKY_SLOPE
            for j in range(cols):
                if not z[base + j] > 0:
                    d[base + j] = slope * d[base + j]
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
                if not z[base + j] > 0:
                    d[base + j] = d[base + j] * (a[base + j] + <floating> ELU_ALPHA)
        elif kind == ACT_SOFTPLUS:
            for j in range(cols):
                d[base + j] = d[base + j] * _sigmoid(z[base + j])
        elif kind == ACT_GELU:
            for j in range(cols):
                v = z[base + j]
                d[base + j] = d[base + j] * (_gelu_cdf(v) + v * (<floating> INV_SQRT_2PI
                                                                 * <floating> exp(-(v * v) / 2)))
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
                t = <floating> tanh(_softplus(v))
                d[base + j] = d[base + j] * (t + v * _sigmoid(v) * (1 - t * t))
        elif kind == ACT_HARD_SIGMOID:
            for j in range(cols):
                v = z[base + j]
                d[base + j] = d[base + j] / 6 if (v > -3 and v < 3) else 0
        elif kind == ACT_RELU6:
            for j in range(cols):
                v = z[base + j]
                if not (v > 0 and v < 6):
                    d[base + j] = 0
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
                       const floating* y, const floating* w, floating* dz,
                       const floating* alpha, int n_alpha, floating* dalpha,
                       Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """Return the batch's loss ``sum_i w_i l_i / rows``; if ``dz`` is not NULL, write dL/dZ.

    ``w`` holds the row weights, or is NULL for all ones. With ``e = a - y``, per element:
    mse: e^2, dA = 2 e / (rows cols)
    mae: |e|, dA = sign(e) / (rows cols)
    huber: e^2 / 2 if |e| <= delta else delta (|e| - delta / 2), dA = clip(e) / (rows cols)
    hinge: max(1 - y a, 0), dA = -y / (rows cols) where 1 - y a > 0
    then dZ = f'(Z) * w_i dA; fused with their outputs:
    bce: max(z, 0) - z y + log1p(exp(-|z|)), dZ = w_i (a - y) / (rows cols)
    cce: -sum_j y log_softmax(z) per row, dZ = w_i (a - y) / rows
    """
    cdef Py_ssize_t i, j, k, size = rows * cols
    cdef double total = 0.0, row
    cdef floating diff, e, zz, m, s, wi, g
    cdef floating n_el = <floating> size
    cdef floating delta = <floating> HUBER_DELTA
    if loss == LOSS_CCE:
        for i in range(rows):
            wi = w[i] if w != NULL else 1
            m = z[i * cols]
            for j in range(cols):
                if z[i * cols + j] > m:
                    m = z[i * cols + j]
            s = 0
            for j in range(cols):
                s = s + _exp(z[i * cols + j] - m)
            s = <floating> log(s)
            row = 0.0
            for j in range(cols):
                k = i * cols + j
                row -= y[k] * (z[k] - m - s)
                if dz != NULL:
                    dz[k] = (a[k] - y[k]) / <floating> rows * wi
            total += wi * row
        return total / rows
    for i in range(rows):
        wi = w[i] if w != NULL else 1
        row = 0.0
        if loss == LOSS_MSE:
            for j in range(cols):
                k = i * cols + j
                diff = a[k] - y[k]
                row += diff * diff
                if dz != NULL:
                    dz[k] = 2 * diff / n_el * wi
        elif loss == LOSS_BCE:
            for j in range(cols):
                k = i * cols + j
                zz = z[k]
                row += ((zz if zz > 0 else 0) - zz * y[k]
                        + <floating> log1p(<floating> exp(-fabs(zz))))
                if dz != NULL:
                    dz[k] = (a[k] - y[k]) / n_el * wi
        elif loss == LOSS_MAE:
            for j in range(cols):
                k = i * cols + j
                diff = a[k] - y[k]
                row += fabs(diff)
                if dz != NULL:
                    g = 1 if diff > 0 else (-1 if diff < 0 else 0)
                    dz[k] = g / n_el * wi
        elif loss == LOSS_HUBER:
            for j in range(cols):
                k = i * cols + j
                diff = a[k] - y[k]
                e = fabs(diff)
                row += e * e / 2 if e <= delta else delta * (e - delta / 2)
                if dz != NULL:
                    dz[k] = _clip(diff, -delta, delta) / n_el * wi
        elif loss == LOSS_HINGE:
            for j in range(cols):
                k = i * cols + j
                e = 1 - y[k] * a[k]
                if e > 0:
                    row += e
                if dz != NULL:
                    dz[k] = (-y[k] if e > 0 else 0) / n_el * wi
        total += wi * row
    if dz != NULL and loss != LOSS_BCE:
        activation_backward(out_kind, z, a, dz, alpha, n_alpha, dalpha, rows, cols)
    return total / size


cdef double regularize(const floating* p, floating* g, Py_ssize_t size, double l1,
                       double l2) noexcept nogil:
    """Return l1 sum|p| + l2 sum p^2; if ``g`` is not NULL, g += l1 sign(p) + 2 l2 p."""
    cdef Py_ssize_t i
    cdef double s1 = 0.0, s2 = 0.0
    cdef floating c1 = <floating> l1
    cdef floating c2 = <floating> (2 * l2)
    cdef floating v, sg
    for i in range(size):
        v = p[i]
        s1 += fabs(v)
        s2 += v * v
        if g != NULL:
            sg = 1 if v > 0 else (-1 if v < 0 else 0)
            g[i] = g[i] + (c1 * sg + c2 * v)
    return l1 * s1 + l2 * s2


cdef void multiply(const floating* x, const floating* m, floating* out,
                   Py_ssize_t size) noexcept nogil:
    """out = x * m element-wise (dropout: A * mask forward, dA * mask backward)."""
    cdef Py_ssize_t i
    for i in range(size):
        out[i] = x[i] * m[i]


cdef void column_sums(const floating* d, floating* out, Py_ssize_t rows,
                      Py_ssize_t cols) noexcept nogil:
    """out[j] = sum_i d[i, j] (the bias gradient)."""
    cdef Py_ssize_t i, j
    for j in range(cols):
        out[j] = 0
    for i in range(rows):
        for j in range(cols):
            out[j] += d[i * cols + j]


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


def loss_delta_py(int loss, int out_kind, floating[:, ::1] z, floating[:, ::1] a,
                  floating[:, ::1] y, floating[::1] w=None):
    """Return (loss, dZ) computed by the compiled kernel (no prelu output)."""
    dz = np.zeros_like(np.asarray(z))
    cdef floating[:, ::1] dd = dz
    cdef double value = loss_delta(loss, out_kind, &z[0, 0], &a[0, 0], &y[0, 0],
                                   &w[0] if w is not None else NULL, &dd[0, 0], NULL, 0,
                                   NULL, z.shape[0], z.shape[1])
    return value, dz


def regularize_py(floating[::1] p, double l1, double l2):
    """Return (penalty, gradient added to zeros) computed by the compiled kernel."""
    g = np.zeros_like(np.asarray(p))
    cdef floating[::1] gg = g
    cdef double value = regularize(&p[0], &gg[0], p.shape[0], l1, l2)
    return value, g
