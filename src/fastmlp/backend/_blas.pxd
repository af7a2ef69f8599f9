# The only place that calls BLAS: row-major wrappers on the fused type, through the
# provider chosen at import or by fastmlp.set_blas (SciPy's cython_blas, scipy-openblas32
# or MKL).
from cython cimport floating

cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
               const floating* a, int lda, const floating* b, int ldb, floating beta,
               floating* c, int ldc) noexcept nogil

cdef void gemm_part(int whole_m, int whole_n, bint trans_a, bint trans_b, int m, int n,
                    int k, floating alpha, const floating* a, int lda, const floating* b,
                    int ldb, floating beta, floating* c, int ldc) noexcept nogil

cdef int blas_get_threads() noexcept nogil
cdef void blas_set_threads(int n) noexcept nogil
