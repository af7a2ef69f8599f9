"""Kernel micro-benchmarks behind the engine's size thresholds (apart from end-to-end fit):

* products: plain loops vs BLAS on the shapes of a tiny network trained one sample at a
  time, which set ``_blas.SMALL_OUTPUTS`` / ``_blas.SMALL_WORK``;
* element-wise passes (bias + activation, derivative, bias gradient) serial vs OpenMP,
  over a range of sizes, which sets ``_engine.testing.set_parallel_min``;
* the compiled finiteness scan of validation vs ``np.isfinite(X).all()``;
* one layer's element-wise passes per activation and dtype, compiled vs the NumPy
  backend's (NumPy's own vectorized exp and tanh).

    pytest benchmarks/test_bench_kernels.py --benchmark-group-by=group
"""
import numpy as np
import pytest

import fastmlp as fm

pytestmark = pytest.mark.skipif("cython" not in fm.available_backends(),
                                reason="the compiled extension is not built")

REPEAT = 1000
#: (m, k, n, trans_a, trans_b): every product of one step of 2-16-16-1 with batch 1, of
#: one predict row of 64-64-64-1, and a few around the size bound.
PRODUCTS = [(1, 2, 16, False, False), (1, 16, 16, False, False), (1, 16, 1, False, False),
            (2, 1, 16, True, False), (16, 1, 16, True, False), (16, 1, 1, True, False),
            (1, 1, 16, False, True), (1, 16, 16, False, True),
            (1, 64, 64, False, False), (1, 64, 1, False, False),
            (4, 64, 64, False, True), (1, 64, 64, False, True),
            (4, 16, 64, False, False), (16, 16, 16, False, False), (16, 16, 16, True, False),
            (8, 32, 32, False, False), (1, 128, 64, False, False)]


@pytest.mark.parametrize("path", ["loops", "blas"])
@pytest.mark.parametrize("shape", PRODUCTS, ids=lambda s: "{}x{}x{}{}{}".format(
    s[0], s[1], s[2], "T" if s[3] else "N", "T" if s[4] else "N"))
def test_small_products(benchmark, record, shape, path):
    from fastmlp.backend import _blas
    gemm_into = _blas.gemm_into

    m, k, n, ta, tb = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c = np.empty((m, n), dtype=np.float32)
    record(f"gemm {m}x{k}x{n} {'T' if ta else 'N'}{'T' if tb else 'N'} (x{REPEAT})",
           path=path, repeat=REPEAT)
    benchmark(gemm_into, a, b, c, ta, tb, path=path, repeat=REPEAT)


@pytest.mark.parametrize("mode", ["serial", "openmp"])
@pytest.mark.parametrize("rows,cols", [(128, 128), (128, 256), (256, 512), (512, 512),
                                       (1024, 1024)])
def test_elementwise_passes(benchmark, record, rows, cols, mode):
    from fastmlp.backend import _engine

    if mode == "openmp" and not _engine.openmp_enabled():
        pytest.skip("built without OpenMP")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((rows, cols)).astype(np.float32)
    d = rng.standard_normal((rows, cols)).astype(np.float32)
    b = np.zeros(cols, dtype=np.float32)
    db = np.empty(cols, dtype=np.float32)
    relu = fm.activations.ACTIVATIONS["relu"]
    previous = _engine.testing.set_parallel_min(1 if mode == "openmp" else 1 << 62)
    try:
        record(f"relu passes {rows}x{cols} ({rows * cols} elements)", mode=mode,
               openmp_threads=_engine.get_num_threads())
        benchmark(_engine.testing.elementwise_passes, relu, z, b, d, db, 10)
    finally:
        _engine.testing.set_parallel_min(previous)


@pytest.mark.parametrize("how", ["compiled", "numpy"])
@pytest.mark.parametrize("shape", [(1, 64), (10_000, 784), (8192, 1024)])
def test_finite_scan(benchmark, record, shape, how):
    from fastmlp.backend import _kernels
    finite_status = _kernels.finite_status

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    record(f"finiteness check {shape[0]}x{shape[1]}", how=how)
    if how == "compiled":
        benchmark(finite_status, x)
    else:
        benchmark(lambda: np.isfinite(x).all())


@pytest.mark.parametrize("how", ["compiled", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh", "elu"])
def test_activation_passes(benchmark, record, kind, dtype, how):
    """A training step's element-wise passes of one 1024x256 layer (Z += b, A = f(Z),
    D *= f'(Z), bias gradient), 10 times, on one thread: the compiled kernels against the
    NumPy backend's (NumPy's vectorized exp and tanh)."""
    from fastmlp.backend import _engine, _numpy

    code = fm.activations.ACTIVATIONS[kind]
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((1024, 256)) * 3).astype(dtype)
    d = rng.standard_normal((1024, 256)).astype(dtype)
    b = np.zeros(256, dtype=dtype)
    db = np.empty(256, dtype=dtype)
    record(f"{kind} passes 1024x256 (x10)", how=how, dtype=dtype)
    if how == "compiled":
        previous = _engine.testing.set_parallel_min(1 << 62)
        try:
            benchmark(_engine.testing.elementwise_passes, code, z, b, d, db, 10)
        finally:
            _engine.testing.set_parallel_min(previous)
        return

    def numpy_passes():
        for _ in range(10):
            a = _numpy.activation_forward(code, z + b)
            dz, _ = _numpy.activation_backward(code, z, a, d)
            dz.sum(axis=0)

    benchmark(numpy_passes)


@pytest.mark.parametrize("how", ["compiled", "numpy"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy",
                                  "mean_squared_error"])
def test_loss_passes(benchmark, record, loss, dtype, how):
    """A training step's loss and output dZ for a 1024x256 batch (multi-label BCE, CCE over
    256 classes, MSE on 256 outputs), 10 times, on one thread: the compiled kernel
    against the NumPy backend's."""
    from fastmlp.backend import _kernels, _numpy

    code, out = fm.losses.LOSSES[loss]
    out_code = fm.activations.ACTIVATIONS[out or "linear"]
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((1024, 256)) * 3).astype(dtype)
    a = np.ascontiguousarray(_numpy.activation_forward(out_code, z))
    if loss == "categorical_crossentropy":
        y = np.eye(256, dtype=dtype)[rng.integers(0, 256, size=1024)]
    else:
        y = (rng.random((1024, 256)) < 0.3).astype(dtype)
    record(f"{loss} loss and dZ 1024x256 (x10)", how=how, dtype=dtype)
    if how == "compiled":
        benchmark(lambda: [_kernels.loss_delta_py(code, out_code, z, a, y) for _ in range(10)])
    else:
        benchmark(lambda: [_numpy.loss_delta(code, out_code, z, a, y) for _ in range(10)])
