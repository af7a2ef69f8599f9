# Element-wise kernels of the compiled backend (see _kernels.pyx for the formulas).
from cython cimport floating

cdef enum:
    ACT_LINEAR = 0
    ACT_SIGMOID = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_LEAKY_RELU = 4
    ACT_PRELU = 5
    ACT_ELU = 6
    ACT_SOFTPLUS = 7
    ACT_SOFTMAX = 8

cdef enum:
    LOSS_MSE = 0
    LOSS_BCE = 1
    LOSS_CCE = 2

cdef enum:
    OPT_SGD = 0

cdef void bias_activation_forward(int kind, floating* z, floating* a, const floating* b,
                                  const floating* alpha, int n_alpha,
                                  Py_ssize_t rows, Py_ssize_t cols) noexcept nogil

cdef void activation_backward(int kind, const floating* z, const floating* a, floating* d,
                              const floating* alpha, int n_alpha, floating* dalpha,
                              Py_ssize_t rows, Py_ssize_t cols) noexcept nogil

cdef double loss_delta(int loss, int out_kind, const floating* z, const floating* a,
                       const floating* y, floating* dz, const floating* alpha, int n_alpha,
                       floating* dalpha, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil

cdef void column_sums(const floating* d, floating* out, Py_ssize_t rows, Py_ssize_t cols,
                      Py_ssize_t ld) noexcept nogil

cdef void optimizer_update(int kind, const double* hyper, double* scalars, floating* p,
                           const floating* g, floating* s0, floating* s1, floating* s2,
                           Py_ssize_t size) noexcept nogil

cdef bint all_finite(const floating* x, Py_ssize_t size) noexcept nogil
