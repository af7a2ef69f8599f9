"""Row-major BLAS wrappers (the only place that calls BLAS: SciPy's ``cython_blas`` or the
library of another provider, see below).

Fortran BLAS is column-major; a row-major matrix is the transpose of the same memory read
column-major, so ``C = op(A) op(B)`` row-major is computed as ``C^T = op(B)^T op(A)^T``
column-major by swapping the operands (no copies).

A BLAS call costs more than a product of a few hundred multiply-adds (the products of a
small network trained one sample at a time), so those (``m * n * k <= SMALL_WORK``, with
at most ``SMALL_OUTPUTS`` outputs or, B not transposed, at least ``SMALL_LANES`` columns)
run as plain loops (:c:func:`gemm_small`, ``_small.h``); every other product goes to BLAS.
The bounds come from ``benchmarks/test_bench_kernels.py`` (figures in benchmarks/RESULTS.md).
"""
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np

cnp.import_array()


# --------------------------------------------------------------------------------------
# providers: the library behind gemm, chosen at import and by fastmlp.set_blas
# --------------------------------------------------------------------------------------
# Each provider is a record of function pointers (sgemm, dgemm, the thread-count getter and
# setter, the version string) filled once and never freed; gemm calls through the record
# `fastmlp_blas_current` points at, so a switch is one pointer store and a product already
# running finishes on the library it started on.
#
# "scipy" is SciPy's scipy.linalg.cython_blas, always there. Its library is found from the
# address of the sgemm wrapper (dladdr -> that module's file -> dlopen(RTLD_NOLOAD) ->
# dlsym, which also searches the libraries the module links, i.e. the BLAS it was built
# against) and its thread-count functions by the names OpenBLAS (plain and SciPy's prefixed
# builds), MKL and BLIS export; without them team mode stays off.
# "openblas" (the scipy-openblas32 wheel, symbols prefixed scipy_) and "mkl" (libmkl_rt of
# the mkl wheel) are dlopen'ed RTLD_LOCAL from the path the Python side found, so their
# symbols cannot replace SciPy's or NumPy's (which carry the same scipy_ prefix).
# Windows has no dlopen here: only "scipy" there, without thread control.
cdef extern from *:
    """
    #ifndef _WIN32
    #ifndef _GNU_SOURCE
    #define _GNU_SOURCE
    #endif
    #include <dlfcn.h>
    #endif
    #include <string.h>
    #include <stdio.h>
    typedef void (*fastmlp_sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*,
                                    float*, int*, float*, float*, int*);
    typedef void (*fastmlp_dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*,
                                    double*, int*, double*, double*, int*);
    typedef int (*fastmlp_get_threads_t)(void);
    typedef void (*fastmlp_set_threads_t)(int);
    typedef char* (*fastmlp_config_t)(void);
    typedef void (*fastmlp_mkl_version_t)(char*, int);
    typedef struct {
        fastmlp_sgemm_t sgemm;
        fastmlp_dgemm_t dgemm;
        fastmlp_get_threads_t get_threads;
        fastmlp_set_threads_t set_threads;
        fastmlp_config_t config;            /* OpenBLAS's openblas_get_config */
        fastmlp_mkl_version_t mkl_version;  /* MKL's MKL_Get_Version_String */
        int loaded;
        char path[4096];                    /* the library's file */
    } fastmlp_blas_provider;
    enum { FASTMLP_BLAS_SCIPY = 0, FASTMLP_BLAS_OPENBLAS = 1, FASTMLP_BLAS_MKL = 2,
           FASTMLP_BLAS_COUNT = 3 };
    static fastmlp_blas_provider fastmlp_blas_providers[FASTMLP_BLAS_COUNT];
    static fastmlp_blas_provider* volatile fastmlp_blas_current = &fastmlp_blas_providers[0];

    #ifdef _WIN32
    static void fastmlp_blas_find_scipy(void* address) { }  /* no dladdr: team mode off */
    static int fastmlp_blas_load(int which, const char* path, char* error, int size) {
        snprintf(error, size, "loading a BLAS library is not supported on Windows");
        return 0;
    }
    #else
    static void fastmlp_blas_path_of(void* symbol, fastmlp_blas_provider* p) {
        Dl_info info;
        if (symbol != NULL && dladdr(symbol, &info) && info.dli_fname != NULL)
            strncpy(p->path, info.dli_fname, sizeof(p->path) - 1);
    }
    static void fastmlp_blas_find_scipy(void* address) {
        static const char* getters[] = {"scipy_openblas_get_num_threads",
            "scipy_openblas_get_num_threads64_", "openblas_get_num_threads",
            "openblas_get_num_threads64_", "MKL_Get_Max_Threads", "bli_thread_get_num_threads",
            NULL};
        static const char* setters[] = {"scipy_openblas_set_num_threads",
            "scipy_openblas_set_num_threads64_", "openblas_set_num_threads",
            "openblas_set_num_threads64_", "MKL_Set_Num_Threads", "bli_thread_set_num_threads",
            NULL};
        static const char* configs[] = {"scipy_openblas_get_config",
            "scipy_openblas_get_config64_", "openblas_get_config", "openblas_get_config64_",
            NULL};
        fastmlp_blas_provider* p = &fastmlp_blas_providers[FASTMLP_BLAS_SCIPY];
        Dl_info info;
        void* handle;
        int i;
        if (!dladdr(address, &info) || info.dli_fname == NULL) return;
        handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (handle == NULL) return;
        for (i = 0; getters[i] != NULL; i++) {
            void* g = dlsym(handle, getters[i]);
            void* s = dlsym(handle, setters[i]);
            if (g != NULL && s != NULL) {
                p->get_threads = (fastmlp_get_threads_t) g;
                p->set_threads = (fastmlp_set_threads_t) s;
                fastmlp_blas_path_of(g, p);  /* the BLAS library's file */
                break;
            }
        }
        for (i = 0; configs[i] != NULL && p->config == NULL; i++)
            p->config = (fastmlp_config_t) dlsym(handle, configs[i]);
        p->mkl_version = (fastmlp_mkl_version_t) dlsym(handle, "MKL_Get_Version_String");
        dlclose(handle);  /* RTLD_NOLOAD: only drops the reference just taken */
    }
    /* dlopen one provider's library and look up its functions; 0 with a message in `error`
       when the library or one of the GEMMs is missing. The handle is kept for good. */
    static int fastmlp_blas_load(int which, const char* path, char* error, int size) {
        fastmlp_blas_provider* p = &fastmlp_blas_providers[which];
        fastmlp_blas_provider found;
        const char* names[6];
        void* handle;
        if (p->loaded) return 1;
        if (which == FASTMLP_BLAS_OPENBLAS) {
            names[0] = "scipy_sgemm_"; names[1] = "scipy_dgemm_";
            names[2] = "scipy_openblas_get_num_threads";
            names[3] = "scipy_openblas_set_num_threads";
            names[4] = "scipy_openblas_get_config"; names[5] = NULL;
        } else if (which == FASTMLP_BLAS_MKL) {
            names[0] = "sgemm_"; names[1] = "dgemm_"; names[2] = "MKL_Get_Max_Threads";
            names[3] = "MKL_Set_Num_Threads"; names[4] = NULL;
            names[5] = "MKL_Get_Version_String";
        } else {
            snprintf(error, size, "provider %d is not loaded from a file", which);
            return 0;
        }
        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            const char* reason = dlerror();
            snprintf(error, size, "%s", reason != NULL ? reason : "dlopen failed");
            return 0;
        }
        memset(&found, 0, sizeof(found));
        found.sgemm = (fastmlp_sgemm_t) dlsym(handle, names[0]);
        found.dgemm = (fastmlp_dgemm_t) dlsym(handle, names[1]);
        found.get_threads = (fastmlp_get_threads_t) dlsym(handle, names[2]);
        found.set_threads = (fastmlp_set_threads_t) dlsym(handle, names[3]);
        if (names[4] != NULL) found.config = (fastmlp_config_t) dlsym(handle, names[4]);
        if (names[5] != NULL) found.mkl_version = (fastmlp_mkl_version_t) dlsym(handle, names[5]);
        if (found.sgemm == NULL || found.dgemm == NULL) {
            snprintf(error, size, "%s does not export %s and %s", path, names[0], names[1]);
            dlclose(handle);
            return 0;
        }
        strncpy(found.path, path, sizeof(found.path) - 1);
        found.loaded = 1;
        *p = found;
        return 1;
    }
    #endif
    static int fastmlp_blas_get_threads(void) {
        fastmlp_blas_provider* p = fastmlp_blas_current;
        return p->get_threads != NULL ? p->get_threads() : -1;
    }
    static void fastmlp_blas_set_threads(int n) {
        fastmlp_blas_provider* p = fastmlp_blas_current;
        if (p->set_threads != NULL && n >= 1) p->set_threads(n);
    }
    """
    ctypedef void (*fastmlp_sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*,
                                     float*, int*, float*, float*, int*) noexcept nogil
    ctypedef void (*fastmlp_dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*,
                                     double*, int*, double*, double*, int*) noexcept nogil
    ctypedef char* (*fastmlp_config_t)() noexcept nogil
    ctypedef void (*fastmlp_mkl_version_t)(char*, int) noexcept nogil
    ctypedef struct fastmlp_blas_provider:
        fastmlp_sgemm_t sgemm
        fastmlp_dgemm_t dgemm
        void* get_threads
        void* set_threads
        fastmlp_config_t config
        fastmlp_mkl_version_t mkl_version
        int loaded
        char path[4096]
    fastmlp_blas_provider fastmlp_blas_providers[3]
    fastmlp_blas_provider* fastmlp_blas_current
    void fastmlp_blas_find_scipy(void* address) noexcept nogil
    int fastmlp_blas_load(int which, const char* path, char* error, int size) noexcept nogil
    int fastmlp_blas_get_threads() noexcept nogil
    void fastmlp_blas_set_threads(int n) noexcept nogil


#: Provider names, in the order of the C records.
PROVIDERS = ("scipy", "openblas", "mkl")


cdef void _init_scipy_provider() noexcept:
    cdef fastmlp_blas_provider* p = &fastmlp_blas_providers[0]
    p.sgemm = <fastmlp_sgemm_t> sgemm
    p.dgemm = <fastmlp_dgemm_t> dgemm
    fastmlp_blas_find_scipy(<void*> sgemm)
    p.loaded = 1


_init_scipy_provider()


cdef int blas_get_threads() noexcept nogil:
    """The current provider's thread count, or -1 when it cannot be read."""
    return fastmlp_blas_get_threads()


cdef void blas_set_threads(int n) noexcept nogil:
    fastmlp_blas_set_threads(n)


def load_provider(str name, str path):
    """Load provider ``name`` ("openblas" or "mkl") from the library file ``path`` (once;
    later calls return at once) without making it current. Raises ImportError with the
    loader's reason when the file cannot be loaded or lacks the GEMMs.

    Callers validate the name and find the file first (``fastmlp.backend._providers``).
    """
    cdef int which = PROVIDERS.index(name)
    cdef char error[1024]
    if which == 0:
        return
    encoded = path.encode()
    if not fastmlp_blas_load(which, encoded, error, sizeof(error)):
        raise ImportError(f"cannot load the {name!r} BLAS from {path}: "
                          f"{error.decode('utf-8', 'replace')}")


def use_provider(str name):
    """Make the loaded provider ``name`` the one :c:func:`gemm` calls from its next product."""
    cdef int which = PROVIDERS.index(name)
    if not fastmlp_blas_providers[which].loaded:
        raise ImportError(f"the {name!r} BLAS is not loaded")
    global fastmlp_blas_current
    fastmlp_blas_current = &fastmlp_blas_providers[which]


def provider():
    """The name of the provider :c:func:`gemm` calls."""
    cdef Py_ssize_t which = fastmlp_blas_current - &fastmlp_blas_providers[0]
    return PROVIDERS[which]


def blas_thread_control():
    """Whether the current provider's thread count can be read and set (needed by team
    mode)."""
    return fastmlp_blas_current.get_threads != NULL and fastmlp_blas_current.set_threads != NULL


def blas_library_path():
    """The file of the current provider's library ("" when it was not found)."""
    return fastmlp_blas_current.path.decode("utf-8", "replace")


def blas_version():
    """The current provider's own account of itself: OpenBLAS's configuration string
    (version, kernel, threading) or MKL's version string; "" when it has none."""
    cdef char buffer[512]
    cdef fastmlp_blas_provider* p = fastmlp_blas_current
    if p.mkl_version != NULL:
        buffer[0] = 0
        p.mkl_version(buffer, sizeof(buffer) - 1)
        buffer[sizeof(buffer) - 1] = 0
        return buffer.decode("utf-8", "replace").strip()
    cdef bytes text
    if p.config != NULL:
        text = p.config()
        return text.decode("utf-8", "replace").strip()
    return ""


def blas_threads():
    """The current provider's thread count (-1: unknown)."""
    return blas_get_threads()


def set_blas_threads(int n):
    """Set the current provider's thread count (nothing when it cannot be set)."""
    if n < 1:
        raise ValueError(f"the number of threads must be >= 1, got {n}")
    blas_set_threads(n)


cdef extern from "_small.h":
    void fastmlp_small_gemm_s(int trans_a, int trans_b, int m, int n, int k, float alpha,
                              const float* a, int lda, const float* b, int ldb, float beta,
                              float* c, int ldc, int whole_n) noexcept nogil
    void fastmlp_small_gemm_d(int trans_a, int trans_b, int m, int n, int k, double alpha,
                              const double* a, int lda, const double* b, int ldb,
                              double beta, double* c, int ldc, int whole_n) noexcept nogil
    int FASTMLP_SMALL_LANES


cdef enum:
    _SMALL_OUTPUTS = 32
    _SMALL_WORK = 1024

#: A product of at most SMALL_WORK multiply-adds runs as plain loops instead of a BLAS
#: call when it has at most SMALL_OUTPUTS outputs, or when B is not transposed and C has
#: at least SMALL_LANES columns (``_small.h``'s vector blocks).
SMALL_OUTPUTS = _SMALL_OUTPUTS
SMALL_WORK = _SMALL_WORK
SMALL_LANES = FASTMLP_SMALL_LANES


cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
               const floating* a, int lda, const floating* b, int ldb, floating beta,
               floating* c, int ldc) noexcept nogil:
    """C := alpha * op(A) @ op(B) + beta * C, row-major; C (m, n), op(A) (m, k), op(B) (k, n)."""
    gemm_part(m, n, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef void gemm_part(int whole_m, int whole_n, bint trans_a, bint trans_b, int m, int n,
                    int k, floating alpha, const floating* a, int lda, const floating* b,
                    int ldb, floating beta, floating* c, int ldc) noexcept nogil:
    """:c:func:`gemm` on a block of rows and columns of a ``whole_m`` x ``whole_n``
    product: the plain loops or BLAS as for the whole, so that a product split between
    threads computes the bits it computes whole (each path computes an element the same
    way in any block)."""
    if whole_m * whole_n * k <= _SMALL_WORK and (
            whole_m * whole_n <= _SMALL_OUTPUTS
            or (not trans_b and whole_n >= FASTMLP_SMALL_LANES)):
        gemm_small(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, whole_n)
    else:
        gemm_blas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef void gemm_blas(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                    const floating* a, int lda, const floating* b, int ldb, floating beta,
                    floating* c, int ldc) noexcept nogil:
    """:c:func:`gemm` through the current provider's sgemm/dgemm (operands swapped for
    row-major)."""
    cdef char ta = b'T' if trans_b else b'N'
    cdef char tb = b'T' if trans_a else b'N'
    cdef fastmlp_blas_provider* p = fastmlp_blas_current
    if floating is float:
        p.sgemm(&ta, &tb, &n, &m, &k, &alpha, <float*> b, &ldb, <float*> a, &lda, &beta,
                c, &ldc)
    else:
        p.dgemm(&ta, &tb, &n, &m, &k, &alpha, <double*> b, &ldb, <double*> a, &lda, &beta,
                c, &ldc)


cdef void gemm_small(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                     const floating* a, int lda, const floating* b, int ldb, floating beta,
                     floating* c, int ldc, int whole_n) noexcept nogil:
    """:c:func:`gemm` as plain loops, for tiny shapes (``_small.h`` says how); ``whole_n``:
    the columns of the whole product this block of C belongs to."""
    if floating is float:
        fastmlp_small_gemm_s(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                             whole_n)
    else:
        fastmlp_small_gemm_d(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                             whole_n)


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


def gemm_into(floating[:, ::1] a, floating[:, ::1] b, floating[:, ::1] c,
              bint trans_a=False, bint trans_b=False, alpha=1.0, beta=0.0,
              str path="auto", int repeat=1, int whole_n=0):
    """``c[...] = alpha * op(a) @ op(b) + beta * c`` without the GIL or allocation.

    ``path`` forces the BLAS call (``"blas"``) or the plain loops (``"loops"``) instead of
    the size-based choice (``"auto"``), so tests can hold both to NumPy; ``repeat`` runs
    the product that many times in one call (for timing sub-microsecond products);
    ``whole_n`` (with the loops): ``c`` is a block of the columns of a product with that
    many, as team mode splits one. The benchmarks time the BLAS-bound limit of a training
    epoch with it.
    """
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    cdef int which, _r
    cdef floating al = alpha, be = beta
    if (b.shape[1] if trans_b else b.shape[0]) != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError(f"shapes do not fit op(a) @ op(b) -> c: a ({a.shape[0]}, "
                         f"{a.shape[1]}){'^T' if trans_a else ''}, b ({b.shape[0]}, "
                         f"{b.shape[1]}){'^T' if trans_b else ''}, c ({c.shape[0]}, "
                         f"{c.shape[1]})")
    if path not in ("auto", "blas", "loops"):
        raise ValueError(f"path must be 'auto', 'blas' or 'loops', got {path!r}")
    if m == 0 or n == 0 or k == 0:
        raise ValueError("gemm_into needs non-empty operands")
    which = {"auto": 0, "blas": 1, "loops": 2}[path]
    with nogil:
        for _r in range(repeat):
            if which == 0:
                gemm(trans_a, trans_b, m, n, k, al, &a[0, 0], a.shape[1], &b[0, 0],
                     b.shape[1], be, &c[0, 0], n)
            elif which == 1:
                gemm_blas(trans_a, trans_b, m, n, k, al, &a[0, 0], a.shape[1], &b[0, 0],
                          b.shape[1], be, &c[0, 0], n)
            else:
                gemm_small(trans_a, trans_b, m, n, k, al, &a[0, 0], a.shape[1], &b[0, 0],
                           b.shape[1], be, &c[0, 0], n, whole_n if whole_n > 0 else n)


cdef struct Product:
    bint trans_a, trans_b
    int m, n, k, lda, ldb, ldc
    void* a
    void* b
    void* c


def gemm_sequence(list products, int repeat=1):
    """Run ``c[...] = op(a) @ op(b)`` for each ``(a, b, c, trans_a, trans_b)`` of
    ``products`` in order, ``repeat`` times, in one call without the GIL.

    The benchmarks' GEMM-only limit of a training epoch: exactly its products, through
    :c:func:`gemm`, into preallocated outputs, with no Python between them. All arrays
    must be C-contiguous and of one dtype (float32 or float64).
    """
    cdef Py_ssize_t count = len(products), i
    cdef int _r
    cdef bint is_double
    cdef Product* plan
    cdef cnp.ndarray a, b, c
    if count == 0:
        return
    dtype = products[0][0].dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"gemm_sequence takes float32 or float64 arrays, got {dtype}")
    is_double = dtype == np.float64
    plan = <Product*> malloc(count * sizeof(Product))
    if plan == NULL:
        raise MemoryError()
    try:
        for i in range(count):
            a, b, c, ta, tb = products[i]
            for arr in (a, b, c):
                if arr.dtype != dtype or arr.ndim != 2 or not arr.flags.c_contiguous:
                    raise ValueError("every array must be 2-D, C-contiguous and of one dtype")
            plan[i].trans_a = ta
            plan[i].trans_b = tb
            plan[i].m = a.shape[1] if ta else a.shape[0]
            plan[i].k = a.shape[0] if ta else a.shape[1]
            plan[i].n = b.shape[0] if tb else b.shape[1]
            if ((b.shape[1] if tb else b.shape[0]) != plan[i].k or c.shape[0] != plan[i].m
                    or c.shape[1] != plan[i].n or plan[i].m * plan[i].n * plan[i].k == 0):
                raise ValueError(f"product {i}: shapes do not fit op(a) @ op(b) -> c")
            plan[i].lda = a.shape[1]
            plan[i].ldb = b.shape[1]
            plan[i].ldc = c.shape[1]
            plan[i].a = cnp.PyArray_DATA(a)
            plan[i].b = cnp.PyArray_DATA(b)
            plan[i].c = cnp.PyArray_DATA(c)
        with nogil:
            for _r in range(repeat):
                for i in range(count):
                    if is_double:
                        gemm(plan[i].trans_a, plan[i].trans_b, plan[i].m, plan[i].n,
                             plan[i].k, 1.0, <double*> plan[i].a, plan[i].lda,
                             <double*> plan[i].b, plan[i].ldb, 0.0, <double*> plan[i].c,
                             plan[i].ldc)
                    else:
                        gemm(plan[i].trans_a, plan[i].trans_b, plan[i].m, plan[i].n,
                             plan[i].k, <float> 1, <float*> plan[i].a, plan[i].lda,
                             <float*> plan[i].b, plan[i].ldb, <float> 0,
                             <float*> plan[i].c, plan[i].ldc)
    finally:
        free(plan)
