"""Row-major BLAS wrappers (the only place that talks to ``scipy.linalg.cython_blas``).

Fortran BLAS is column-major; a row-major matrix is the transpose of the same memory read
column-major, so ``C = op(A) op(B)`` row-major is computed as ``C^T = op(B)^T op(A)^T``
column-major by swapping the operands (no copies).
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np


cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
               const floating* a, int lda, const floating* b, int ldb, floating beta,
               floating* c, int ldc) noexcept nogil:
    """C := alpha * op(A) @ op(B) + beta * C, row-major; C (m, n), op(A) (m, k), op(B) (k, n)."""
    cdef char ta = b'T' if trans_b else b'N'
    cdef char tb = b'T' if trans_a else b'N'
    if floating is float:
        sgemm(&ta, &tb, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda, &beta,
              c, &ldc)
    else:
        dgemm(&ta, &tb, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda, &beta,
              c, &ldc)


def gemm_py(floating[:, ::1] a, floating[:, ::1] b, bint trans_a=False, bint trans_b=False):
    """Test twin of :c:func:`gemm`: return ``op(a) @ op(b)`` as a new array."""
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    if (b.shape[1] if trans_b else b.shape[0]) != k:
        raise ValueError("inner dimensions differ")
    out = np.zeros((m, n), dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] c = out
    if m == 0 or n == 0 or k == 0:
        return out
    gemm(trans_a, trans_b, m, n, k, <floating> 1, &a[0, 0], a.shape[1], &b[0, 0], b.shape[1],
         <floating> 0, &c[0, 0], n)
    return out
