# Element-wise passes of the compiled engine on raw row-major blocks, fused over float and
# double (included by _engine.pyx): bias and activation, their backward pass, column sums
# and row gathers on row blocks in parallel from ``th.parallel_min`` elements, and the
# row and column statistics of the normalizations.


cdef inline bint _a_replaces_z(int act) noexcept nogil:
    """Whether a hidden layer can keep A = f(Z) in Z's memory: its backward pass needs
    only A, or Z's sign, which A has (relu, leaky_relu, elu). Saves a workspace and a
    stream of memory traffic per layer and batch. prelu (dalpha needs Z, and alpha may be
    negative), softplus and the other activations whose derivative needs Z keep both."""
    return (act == ACT_LINEAR or act == ACT_RELU or act == ACT_LEAKY_RELU or act == ACT_ELU
            or act == ACT_SIGMOID or act == ACT_TANH or act == ACT_SOFTMAX)


cdef void _bias_activation(const Threading* th, int kind, floating* z, floating* a,
                           const floating* b, const floating* alpha, int n_alpha,
                           Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """:c:func:`bias_activation_forward`, one row block per thread."""
    cdef int nt = _threads_for(th, rows, cols)
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


cdef void _activation_backward(const Threading* th, int kind, const floating* z,
                               const floating* a, floating* d, const floating* alpha,
                               int n_alpha, floating* dalpha, Py_ssize_t rows,
                               Py_ssize_t cols) noexcept nogil:
    """:c:func:`activation_backward`, one row block per thread (prelu, whose dalpha sums
    over rows, stays serial)."""
    cdef int nt = 1 if kind == ACT_PRELU else _threads_for(th, rows, cols)
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


cdef void _column_sums(const Threading* th, const floating* d, floating* out,
                       Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """:c:func:`column_sums`, one block of columns per thread: every column is still
    summed over the rows in order, so the result does not depend on the thread count."""
    cdef int nt = _threads_for(th, rows, cols) if cols >= 64 else 1
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


cdef void _gather(const Threading* th, floating* dst, const floating* src,
                  const Py_ssize_t* rows_idx, Py_ssize_t rows,
                  Py_ssize_t cols) noexcept nogil:
    """dst[r] = src[rows_idx[r]] for every row r (the batch's rows, in order)."""
    cdef int nt = _threads_for(th, rows, cols)
    cdef Py_ssize_t r
    if nt == 1:
        for r in range(rows):
            memcpy(dst + r * cols, src + rows_idx[r] * cols, cols * sizeof(floating))
        return
    for r in prange(rows, num_threads=nt, schedule="static"):
        memcpy(dst + r * cols, src + rows_idx[r] * cols, cols * sizeof(floating))


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
