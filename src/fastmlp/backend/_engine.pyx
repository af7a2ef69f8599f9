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
from cython cimport floating
from libc.math cimport isfinite, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import threading

import numpy as np

from ._blas cimport gemm
from ._kernels cimport (ACT_LINEAR, ACT_PRELU, HYPER_CLIPNORM, MAX_SLOTS, N_HYPER,
                        activation_backward, bias_activation_forward, column_sums,
                        learning_rate_at, loss_delta, multiply, optimizer_coefficients,
                        optimizer_update, regularize, squared_norm)

cnp.import_array()

NAME = "cython"

cdef struct Layer:
    int n_in, n_out, act, n_alpha
    void* W
    void* b
    void* alpha
    void* dW
    void* db
    void* dalpha
    void* Z          # workspace (capacity, n_out)
    void* A          # workspace (capacity, n_out); == Z for a linear layer
    void* D          # workspace A * mask (capacity, n_out), only with dropout
    void* mask_base  # the chunk's dropout multipliers (rows, n_out), or NULL
    void* mask       # this batch's rows of mask_base; NULL: no dropout now
    bint has_reg
    double kl1, kl2, bl1, bl2


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
    void* yb                # gathered batch targets (capacity, n_out)
    void* wb                # gathered batch sample weights (capacity,)
    void* input_mask_base   # the chunk's dropout multipliers of the inputs, or NULL
    void* d0                # delta ping-pong buffers (capacity, max_width)
    void* d1
    double* hyper
    double* scalars


cdef inline void* _ptr(object arr):
    return cnp.PyArray_DATA(<cnp.ndarray> arr) if arr is not None else NULL


# --------------------------------------------------------------------------------------
# the loops (fused float/double; the pointer arguments select the specialization)
# --------------------------------------------------------------------------------------
cdef void _forward(Net* net, const floating* x, Py_ssize_t rows) noexcept nogil:
    """Z_l = A_{l-1} W_l ; Z_l += b_l ; A_l = f(Z_l) for every layer, into the workspaces."""
    cdef int l
    cdef Layer* L
    cdef const floating* a_prev = x
    for l in range(net.n_layers):
        L = &net.layers[l]
        gemm(False, False, <int> rows, L.n_out, L.n_in, <floating> 1, a_prev, L.n_in,
             <floating*> L.W, L.n_out, <floating> 0, <floating*> L.Z, L.n_out)
        bias_activation_forward(L.act, <floating*> L.Z, <floating*> L.A, <floating*> L.b,
                                <floating*> L.alpha, L.n_alpha, rows, L.n_out)
        if L.mask != NULL:  # inverted dropout: the next layer sees A * mask
            multiply(<floating*> L.A, <floating*> L.mask, <floating*> L.D, rows * L.n_out)
            a_prev = <floating*> L.D
        else:
            a_prev = <floating*> L.A


cdef double _penalty(Net* net, floating* tag) noexcept nogil:
    """The layers' L1/L2 penalty (no gradient)."""
    cdef int l
    cdef Layer* L
    cdef double total = 0.0
    for l in range(net.n_layers):
        L = &net.layers[l]
        if L.has_reg:
            total += regularize(<floating*> L.W, <floating*> NULL, L.n_in * L.n_out,
                                L.kl1, L.kl2)
            total += regularize(<floating*> L.b, <floating*> NULL, L.n_out, L.bl1, L.bl2)
    return total


cdef double _backward(Net* net, const floating* x, const floating* y, const floating* w,
                      Py_ssize_t rows) noexcept nogil:
    """Loss of the batch in the workspaces (``w``: row weights or NULL) plus the
    penalties, and every parameter's gradient."""
    cdef int l
    cdef Layer* L = &net.layers[net.n_layers - 1]
    cdef Layer* P
    cdef floating* dz = <floating*> net.d0
    cdef floating* dnext = <floating*> net.d1
    cdef floating* tmp
    cdef const floating* a_prev
    cdef double loss = loss_delta(net.loss, L.act, <floating*> L.Z, <floating*> L.A, y, w,
                                  dz, <floating*> L.alpha, L.n_alpha, <floating*> L.dalpha,
                                  rows, L.n_out)
    if not isfinite(loss):
        return loss
    for l in range(net.n_layers - 1, -1, -1):
        L = &net.layers[l]
        if l == 0:
            a_prev = x
        else:
            P = &net.layers[l - 1]
            a_prev = <floating*> (P.D if P.mask != NULL else P.A)
        # dW = A_prev^T dZ ; db = sum_rows dZ  (+ the penalties' gradients)
        gemm(True, False, L.n_in, L.n_out, <int> rows, <floating> 1, a_prev, L.n_in, dz,
             L.n_out, <floating> 0, <floating*> L.dW, L.n_out)
        column_sums(dz, <floating*> L.db, rows, L.n_out)
        if L.has_reg:
            loss += regularize(<floating*> L.W, <floating*> L.dW, L.n_in * L.n_out,
                               L.kl1, L.kl2)
            loss += regularize(<floating*> L.b, <floating*> L.db, L.n_out, L.bl1, L.bl2)
        if l > 0:
            # dA_prev = dZ W^T (* mask) ; dZ_prev = dA_prev * f'(Z_prev)
            gemm(False, True, <int> rows, L.n_in, L.n_out, <floating> 1, dz, L.n_out,
                 <floating*> L.W, L.n_out, <floating> 0, dnext, L.n_in)
            if P.mask != NULL:
                multiply(dnext, <floating*> P.mask, dnext, rows * P.n_out)
            activation_backward(P.act, <floating*> P.Z, <floating*> P.A, dnext,
                                <floating*> P.alpha, P.n_alpha, <floating*> P.dalpha,
                                rows, P.n_out)
            tmp = dz
            dz = dnext
            dnext = tmp
    return loss


cdef void _update(Net* net, floating* tag) noexcept nogil:
    """One optimizer step on every parameter (_numpy.optimizer_step): count the step,
    evaluate its learning rate and the rule's scalars, measure the global gradient norm
    when clipping by norm, then one fused pass per parameter array."""
    cdef int i
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
        optimizer_update(net.opt_kind, net.hyper, coef, scale, <floating*> q.p,
                         <floating*> q.g, <floating*> q.s[0], <floating*> q.s[1],
                         <floating*> q.s[2], q.size)


cdef Py_ssize_t _train(Net* net, const floating* x, const floating* y, const floating* w,
                       Py_ssize_t n, const Py_ssize_t* order, Py_ssize_t batch_size,
                       Py_ssize_t first, Py_ssize_t stop, double* losses,
                       bint dropout) noexcept nogil:
    """Run batches first..stop-1; return how many completed (stop at a non-finite loss).

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
    cdef double loss
    for bi in range(first, stop):
        start = bi * batch_size
        rows = batch_size if start + batch_size <= n else n - start
        for r in range(rows):
            memcpy(xb + r * n_in, x + order[start + r] * n_in, n_in * sizeof(floating))
            memcpy(yb + r * n_out, y + order[start + r] * n_out, n_out * sizeof(floating))
        if w != NULL:
            for r in range(rows):
                wb[r] = w[order[start + r]]
        if net.input_mask_base != NULL:  # dropout on the inputs, in the gathered copy
            multiply(xb, (<floating*> net.input_mask_base) + (bi - first) * batch_size * n_in,
                     xb, rows * n_in)
        if dropout:
            for l in range(net.n_layers):
                L = &net.layers[l]
                if L.mask_base != NULL:
                    L.mask = (<floating*> L.mask_base) + (bi - first) * batch_size * L.n_out
        _forward(net, xb, rows)
        loss = _backward(net, xb, yb, wb, rows)
        losses[bi - first] = loss
        if not isfinite(loss):
            return bi - first
        _update(net, xb)
    return stop - first


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
            a_prev = dst
        r0 += rows


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
    cdef object spec
    cdef object dtype
    cdef list _keep          # arrays whose memory the pointers refer to
    cdef list _work          # workspaces
    cdef list _drop_work     # dropout workspaces D
    cdef list _grads
    cdef object _hyper
    cdef object _lock        # serializes the methods that use the shared workspaces
    cdef object _bound_scalars   # the optimizer state arrays the pointers refer to
    cdef list _bound_slots

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
            L.mask_base = NULL
            L.mask = NULL
            if spec.regularizers:
                L.kl1, L.kl2, L.bl1, L.bl2 = spec.regularizers[l]
            else:
                L.kl1 = L.kl2 = L.bl1 = L.bl2 = 0.0
            L.has_reg = L.kl1 != 0 or L.kl2 != 0 or L.bl1 != 0 or L.bl2 != 0
            j += len(layer_params)
        self.net.capacity = 0
        self.net.input_mask_base = NULL
        self._work = []
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

    def _bound_to_current_state(self):
        """Whether the pointers still refer to the optimizer's state arrays."""
        opt = self.spec.optimizer
        if opt.scalars is not self._bound_scalars or opt.kind != self.net.opt_kind:
            return False
        slots = [s for slot in opt.slots for s in slot]
        return (len(slots) == len(self._bound_slots)
                and all(a is b for a, b in zip(slots, self._bound_slots))
                and opt.state_matches(self.spec.flat_params))

    cdef void _reserve(self, Py_ssize_t rows) except *:
        """Make the training workspaces hold ``rows`` rows (allocates only when growing)."""
        cdef int l
        if rows <= self.net.capacity:
            return
        spec = self.spec
        work = []
        xb = np.empty((rows, spec.sizes[0]), dtype=self.dtype)
        yb = np.empty((rows, self.net.layers[self.net.n_layers - 1].n_out), dtype=self.dtype)
        d0 = np.empty((rows, self.net.max_width), dtype=self.dtype)
        d1 = np.empty((rows, self.net.max_width), dtype=self.dtype)
        wb = np.empty(rows, dtype=self.dtype)
        work += [xb, yb, d0, d1]
        self._drop_work = [wb]
        self.net.wb = _ptr(wb)
        self.net.xb = _ptr(xb)
        self.net.yb = _ptr(yb)
        self.net.d0 = _ptr(d0)
        self.net.d1 = _ptr(d1)
        for l in range(self.net.n_layers):
            L = &self.net.layers[l]
            z = np.empty((rows, L.n_out), dtype=self.dtype)
            work.append(z)
            L.Z = _ptr(z)
            if L.act == ACT_LINEAR:
                L.A = L.Z
            else:
                a = np.empty((rows, L.n_out), dtype=self.dtype)
                work.append(a)
                L.A = _ptr(a)
            if spec.dropout and spec.dropout[l] > 0:
                dropped = np.empty((rows, L.n_out), dtype=self.dtype)
                self._drop_work.append(dropped)
                L.D = _ptr(dropped)
        self._work = work
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
        cdef size_t nbytes = block * self.net.max_width * self.itemsize
        cdef void* buf0 = malloc(nbytes)
        cdef void* buf1 = malloc(nbytes)
        cdef void* xp = cnp.PyArray_DATA(x)
        cdef void* op = cnp.PyArray_DATA(out)
        if buf0 == NULL or buf1 == NULL:
            free(buf0)
            free(buf1)
            raise MemoryError()
        with nogil:
            if self.is_double:
                _predict(&self.net, <double*> xp, n, <double*> op, <double*> buf0,
                         <double*> buf1, block)
            else:
                _predict(&self.net, <float*> xp, n, <float*> op, <float*> buf0,
                         <float*> buf1, block)
        free(buf0)
        free(buf1)
        return out

    def _forward_batch(self, cnp.ndarray x):
        cdef Py_ssize_t n = x.shape[0]
        self._reserve(n)
        cdef void* xp = cnp.PyArray_DATA(x)
        with nogil:
            if self.is_double:
                _forward(&self.net, <double*> xp, n)
            else:
                _forward(&self.net, <float*> xp, n)

    def layer_outputs(self, cnp.ndarray x):
        cdef Py_ssize_t n = x.shape[0]
        with self._lock:
            self._forward_batch(x)
            return [np.array(arr[:n], copy=True) for arr in self._layer_arrays()]

    def _layer_arrays(self):
        """The activation workspaces A_l, first to last."""
        arrays = []
        k = 4
        for l in range(self.net.n_layers):
            z = self._work[k]
            k += 1
            if self.spec.activations[l] == ACT_LINEAR:
                arrays.append(z)
            else:
                arrays.append(self._work[k])
                k += 1
        return arrays

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
                        _forward(&self.net, <double*> (xp + r0 * n_in * 8), rows)
                        total += rows * loss_delta(self.net.loss, L.act, <double*> L.Z,
                                                   <double*> L.A,
                                                   <double*> (yp + r0 * L.n_out * 8),
                                                   <double*> (wp + r0 * 8) if wp else NULL,
                                                   NULL,
                                                   <double*> L.alpha, L.n_alpha, NULL,
                                                   rows, L.n_out)
                    else:
                        _forward(&self.net, <float*> (xp + r0 * n_in * 4), rows)
                        total += rows * loss_delta(self.net.loss, L.act, <float*> L.Z,
                                                   <float*> L.A,
                                                   <float*> (yp + r0 * L.n_out * 4),
                                                   <float*> (wp + r0 * 4) if wp else NULL,
                                                   NULL,
                                                   <float*> L.alpha, L.n_alpha, NULL,
                                                   rows, L.n_out)
                    r0 += rows
                if self.is_double:
                    total = total / n + _penalty(&self.net, <double*> NULL)
                else:
                    total = total / n + _penalty(&self.net, <float*> NULL)
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
                if self.is_double:
                    _forward(&self.net, <double*> xp, n)
                    loss = _backward(&self.net, <double*> xp, <double*> yp, <double*> wp, n)
                else:
                    _forward(&self.net, <float*> xp, n)
                    loss = _backward(&self.net, <float*> xp, <float*> yp, <float*> wp, n)
            self._clear_masks()
            return loss, [g.copy() for g in self._grads]

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
        with self._lock:
            self._reserve(min(batch_size, n))
            self._load_hyper()
            if dropout:
                self._set_masks(masks, chunk_rows)
            self.net.input_mask_base = mp
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
    cdef Py_ssize_t i, n
    cdef double* d
    cdef float* f
    cdef bint ok = True
    for obj in arrays:
        a = _checked(obj)
        n = cnp.PyArray_SIZE(a)
        if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64:
            d = <double*> cnp.PyArray_DATA(a)
            with nogil:
                for i in range(n):
                    if not isfinite(d[i]):
                        ok = False
                        break
        else:
            f = <float*> cnp.PyArray_DATA(a)
            with nogil:
                for i in range(n):
                    if not isfinite(f[i]):
                        ok = False
                        break
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
