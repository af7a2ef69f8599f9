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

One module, in parts by subject (``include``, so that the compiler sees every call and
inlines across them):

* ``_engine_threads.pxi``: thread counts and thresholds, the BLAS hold, OpenMP helpers
  (``_team.h``);
* ``_engine_passes.pxi``: the element-wise passes on raw blocks (fused float/double);
* ``_engine_net.pxi.tp``: the network's C structs and the serial loop, per dtype;
* ``_engine_team.pxi.tp``: team mode, per dtype;
* ``_engine_class.pxi.tp``: the Python-facing ``Engine`` and its per-dtype cores;
* ``_engine_testing.pxi``: the test and benchmark hooks, ``testing``.

The ``.tp`` files are Tempita templates (as scikit-learn's) that setup.py renders once for
float (``Net32``, ``_train32`` ...) and once for double (``Net64`` ...).
"""
# The names below are used by the included parts; cython-lint reads this file alone,
# hence the no-cython-lint marks.
cimport numpy as cnp  # no-cython-lint
from cpython.pyport cimport PY_SSIZE_T_MAX  # no-cython-lint
from cython cimport floating  # no-cython-lint
from cython.parallel cimport prange  # no-cython-lint
from libc.math cimport isfinite, sqrt  # no-cython-lint
from libc.stdlib cimport free, malloc  # no-cython-lint
from libc.string cimport memcpy, memset  # no-cython-lint

import threading  # no-cython-lint

import numpy as np

from ._blas cimport blas_get_threads, blas_set_threads, gemm, gemm_part  # no-cython-lint

from ._blas import blas_thread_control  # no-cython-lint
from ._kernels import finite_status, set_scan_threads  # no-cython-lint (re-export)
from ._kernels cimport ACT_ELU, ACT_LEAKY_RELU, ACT_LINEAR, ACT_PRELU  # no-cython-lint
from ._kernels cimport ACT_RELU, ACT_SIGMOID, ACT_SOFTMAX, ACT_TANH  # no-cython-lint
from ._kernels cimport HYPER_CLIPNORM, MAX_SLOTS, N_HYPER  # no-cython-lint
from ._kernels cimport activation_backward, all_finite as finite_scan  # no-cython-lint
from ._kernels cimport array_status  # no-cython-lint
from ._kernels cimport bias_activation_forward, column_sums  # no-cython-lint
from ._kernels cimport learning_rate_at, loss_delta, multiply  # no-cython-lint
from ._kernels cimport optimizer_coefficients, optimizer_update  # no-cython-lint
from ._kernels cimport regularize, squared_norm  # no-cython-lint

cnp.import_array()

NAME = "cython"

include "_engine_threads.pxi"
include "_engine_passes.pxi"
include "_engine_net.pxi"
include "_engine_team.pxi"
include "_engine_class.pxi"
include "_engine_testing.pxi"


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
