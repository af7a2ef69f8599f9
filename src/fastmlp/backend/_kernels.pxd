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
    ACT_GELU = 9
    ACT_SILU = 10
    ACT_SELU = 11
    ACT_MISH = 12
    ACT_HARD_SIGMOID = 13
    ACT_RELU6 = 14
    ACT_EXPONENTIAL = 15
    ACT_SOFTSIGN = 16

cdef enum:
    LOSS_MSE = 0
    LOSS_BCE = 1
    LOSS_CCE = 2
    LOSS_MAE = 3
    LOSS_HUBER = 4
    LOSS_HINGE = 5
    LOSS_POISSON = 6

# optimizer rule ids (fastmlp.optimizers.*_KIND)
cdef enum:
    OPT_SGD = 0
    OPT_MOMENTUM = 1
    OPT_ADAGRAD = 2
    OPT_ADADELTA = 3
    OPT_RMSPROP = 4
    OPT_ADAM = 5
    OPT_ADAMAX = 6
    OPT_NADAM = 7

# layout of Optimizer.hyper() (fastmlp.optimizers.H_*)
cdef enum:
    HYPER_LR = 0
    HYPER_WEIGHT_DECAY = 1
    HYPER_RULE = 2
    HYPER_SCHEDULE = 8
    HYPER_DECAY_STEPS = 9
    HYPER_DECAY_RATE = 10
    HYPER_POWER = 11
    HYPER_STAIRCASE = 12
    HYPER_CLIPNORM = 13
    HYPER_CLIPVALUE = 14
    HYPER_WARMUP = 15
    N_HYPER = 16
    MAX_SLOTS = 3

# learning-rate schedules (fastmlp.optimizers.SCHEDULE_*)
cdef enum:
    SCHEDULE_CONSTANT = 0
    SCHEDULE_EXPONENTIAL = 1
    SCHEDULE_INVERSE = 2

cdef void bias_activation_forward(int kind, floating* z, floating* a, const floating* b,
                                  const floating* alpha, int n_alpha,
                                  Py_ssize_t rows, Py_ssize_t cols) noexcept nogil

cdef void activation_backward(int kind, const floating* z, const floating* a, floating* d,
                              const floating* alpha, int n_alpha, floating* dalpha,
                              Py_ssize_t rows, Py_ssize_t cols) noexcept nogil

cdef double loss_delta(int loss, int out_kind, const floating* z, const floating* a,
                       const floating* y, const floating* w, floating* dz,
                       const floating* alpha, int n_alpha, floating* dalpha,
                       Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t norm_rows) noexcept nogil

cdef double regularize(const floating* p, floating* g, Py_ssize_t size, double l1,
                       double l2) noexcept nogil

cdef void multiply(const floating* x, const floating* m, floating* out,
                   Py_ssize_t size) noexcept nogil

cdef void column_sums(const floating* d, floating* out, Py_ssize_t rows, Py_ssize_t cols,
                      Py_ssize_t ld) noexcept nogil

cdef double learning_rate_at(const double* hyper, double iteration) noexcept nogil

cdef double squared_norm(const floating* g, Py_ssize_t size) noexcept nogil

cdef void optimizer_coefficients(int kind, const double* hyper, double* scalars, double lr,
                                 double* coef) noexcept nogil

cdef bint optimizer_update(int kind, const double* hyper, const double* coef, double scale,
                           floating* p, const floating* g, floating* s0, floating* s1,
                           floating* s2, Py_ssize_t size) noexcept nogil

cdef bint all_finite(const floating* x, Py_ssize_t size) noexcept nogil
