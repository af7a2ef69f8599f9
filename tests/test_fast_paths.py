"""The compiled engine's fast paths compute the same numbers as the plain paths and as the
NumPy reference: the plain-loop products for tiny shapes, the OpenMP element-wise passes,
the compiled finiteness scan behind validation, the lean ``predict`` path, and the thread
settings."""
import numpy as np
import pytest
from conftest import TOL

import fastmlp as fm
from fastmlp import _validation

compiled = pytest.mark.skipif("cython" not in fm.available_backends(),
                              reason="the compiled extension is not built")


# --------------------------------------------------------------------------------------
# products: plain loops and BLAS against NumPy, every transpose
# --------------------------------------------------------------------------------------
SHAPES = [(1, 2, 16), (1, 16, 16), (1, 16, 1), (2, 1, 16), (1, 1, 16), (3, 7, 5),
          (16, 1, 16), (33, 65, 17), (1, 16, 64), (2, 8, 83), (1, 37, 1), (2, 40, 3),
          (5, 1, 1), (4, 1, 19), (1, 40, 32), (3, 17, 20)]


@compiled
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("path", ["loops", "blas", "auto"])
def test_gemm_paths_match_numpy(dtype, m, k, n, trans_a, trans_b, path, rng):
    from fastmlp.backend import _blas

    a = rng.normal(size=(k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.normal(size=(n, k) if trans_b else (k, n)).astype(dtype)
    c0 = rng.normal(size=(m, n)).astype(dtype)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    for alpha, beta in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)]:
        c = c0.copy()
        _blas.gemm_into(a, b, c, trans_a, trans_b, alpha=alpha, beta=beta, path=path)
        expected = alpha * (op_a.astype(np.float64) @ op_b) + beta * c0
        np.testing.assert_allclose(c, expected, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


@compiled
@pytest.mark.parametrize("m,k,n", [(3, 16, 40), (5, 1, 20), (4, 37, 3), (2, 20, 70),
                                   (3, 40, 1), (2, 40, 33)])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_loops_give_the_same_bits_in_any_block(dtype, m, k, n, trans_a, trans_b, rng):
    """Team mode splits a product's rows (or columns) between threads: every element of
    the plain loops must come out the same whichever block of C it is computed in."""
    from fastmlp.backend import _blas

    a = rng.normal(size=(k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.normal(size=(n, k) if trans_b else (k, n)).astype(dtype)
    whole = np.empty((m, n), dtype)
    _blas.gemm_into(a, b, whole, trans_a, trans_b, path="loops")
    for r0, r1 in [(0, 1), (1, m)]:   # m > 1
        rows = np.ascontiguousarray(a[:, r0:r1] if trans_a else a[r0:r1])
        part = np.empty((r1 - r0, n), dtype)
        _blas.gemm_into(rows, b, part, trans_a, trans_b, path="loops")
        np.testing.assert_array_equal(part, whole[r0:r1])
    for c0, c1 in {(0, 1), (1, n), (n // 2, n)} - {(1, 1)}:
        cols = np.ascontiguousarray(b[c0:c1] if trans_b else b[:, c0:c1])
        part = np.empty((m, c1 - c0), dtype)
        _blas.gemm_into(a, cols, part, trans_a, trans_b, path="loops", whole_n=n)
        np.testing.assert_array_equal(part, whole[:, c0:c1])


@compiled
@pytest.mark.parametrize("m,k,n,trans_b", [(1, 16, 16, True), (1, 16, 16, False),
                                           (16, 1, 16, False), (1, 16, 64, False)])
def test_gemm_auto_uses_loops_for_tiny_products(rng, m, k, n, trans_b):
    """The size rule: a product of at most SMALL_WORK multiply-adds with few outputs, or
    with B not transposed and whole vector blocks of columns, goes to the loops
    (bit-identical to forcing them); larger ones go to BLAS."""
    from fastmlp.backend import _blas

    a = rng.normal(size=(m, k))
    b = rng.normal(size=(n, k) if trans_b else (k, n))
    auto, loops = np.empty((m, n)), np.empty((m, n))
    _blas.gemm_into(a, b, auto, False, trans_b, path="auto")
    _blas.gemm_into(a, b, loops, False, trans_b, path="loops")
    np.testing.assert_array_equal(auto, loops)
    assert m * n * k <= _blas.SMALL_WORK
    assert m * n <= _blas.SMALL_OUTPUTS or (not trans_b and n >= _blas.SMALL_LANES)
    big_a, big_b = rng.normal(size=(40, 30)), rng.normal(size=(20, 30))
    auto, blas = np.empty((40, 20)), np.empty((40, 20))
    _blas.gemm_into(big_a, big_b, auto, False, True, path="auto")
    _blas.gemm_into(big_a, big_b, blas, False, True, path="blas")
    np.testing.assert_array_equal(auto, blas)


@compiled
def test_gemm_into_rejects_bad_shapes():
    from fastmlp.backend import _blas

    with pytest.raises(ValueError, match="shapes do not fit"):
        _blas.gemm_into(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="path must be"):
        _blas.gemm_into(np.zeros((2, 3)), np.zeros((3, 5)), np.zeros((2, 5)), path="gpu")


# --------------------------------------------------------------------------------------
# OpenMP: the parallel element-wise passes give the serial results bit for bit
# --------------------------------------------------------------------------------------
ARCHS = [
    (("relu", "tanh"), "softmax", 4, "sparse_categorical_crossentropy"),
    (("sigmoid", "leaky_relu"), "sigmoid", 2, "binary_crossentropy"),
    (("elu", "softplus"), "linear", 3, "mean_squared_error"),
    (("prelu", "softmax"), "tanh", 3, "mean_squared_error"),
]


def _problem(hidden, out, k, loss, backend, dtype, n=300, d=24, width=40):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, d)).astype(dtype)
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, k, size=n)
    elif loss == "binary_crossentropy":
        y = (rng.random((n, k)) > 0.5).astype(float)
    else:
        y = rng.normal(size=(n, k))
    layers = [fm.Dense(width, activation=a) for a in hidden] + [fm.Dense(k, activation=out)]
    layers[0].input_dim = d
    model = fm.Sequential(layers, seed=7, dtype=dtype, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05), loss=loss)
    return model, X, y


@compiled
@pytest.mark.parametrize("hidden,out,k,loss", ARCHS)
def test_openmp_passes_match_serial_and_reference(dtype, hidden, out, k, loss):
    from fastmlp.backend import _engine

    if not _engine.openmp_enabled():
        pytest.skip("built without OpenMP")
    results = {}
    threads = _engine.get_num_threads()
    previous = _engine.testing.set_parallel_min(1)          # every pass with >= 2 rows in parallel
    team = _engine.testing.set_team_thresholds(min_work=2**62)   # these passes, not team mode
    try:
        for mode in ("parallel", "serial"):
            _engine.set_num_threads(3 if mode == "parallel" else 1)   # 3: uneven blocks
            model, X, y = _problem(hidden, out, k, loss, "cython", dtype)
            model.fit(X, y, epochs=2, batch_size=64, verbose=0)
            loss_value, grads = model.compute_gradients(X, y)
            results[mode] = (model.get_weights(), model.predict(X),
                             model.layer_outputs(X), loss_value, grads)
    finally:
        _engine.testing.set_parallel_min(previous)
        _engine.testing.set_team_thresholds(*team)
        _engine.set_num_threads(threads)
    par, ser = results["parallel"], results["serial"]
    for a, b in zip(par[0], ser[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(par[1], ser[1])
    for a, b in zip(par[2], ser[2]):
        np.testing.assert_array_equal(a, b)
    assert par[3] == ser[3]
    for a, b in zip(par[4], ser[4]):
        np.testing.assert_array_equal(a, b)

    ref, X, y = _problem(hidden, out, k, loss, "numpy", dtype)
    ref.fit(X, y, epochs=2, batch_size=64, verbose=0)
    for a, b in zip(par[0], ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=TOL[dtype] * 10, atol=TOL[dtype])


@compiled
def test_engine_thread_setting():
    from fastmlp.backend import _engine

    before = _engine.get_num_threads()
    try:
        _engine.set_num_threads(2)
        assert _engine.get_num_threads() == (2 if _engine.openmp_enabled() else 1)
        with pytest.raises(ValueError, match=">= 1"):
            _engine.set_num_threads(0)
    finally:
        _engine.set_num_threads(before)


def test_set_num_threads_sets_blas_and_openmp():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = threadpoolctl.threadpool_info()
    try:
        fm.set_num_threads(1)
        assert fm.get_num_threads() == 1
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
        if "cython" in fm.available_backends():
            from fastmlp.backend import _engine

            assert _engine.get_num_threads() == 1
        fm.set_num_threads(2)
        assert fm.get_num_threads() == 2
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert all(p["num_threads"] == 2 for p in blas)
    finally:
        for pool in before:
            if pool["user_api"] == "blas":
                threadpoolctl.threadpool_limits(pool["num_threads"], user_api="blas")
                break
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            fm.set_num_threads(bad)


# --------------------------------------------------------------------------------------
# the compiled finiteness scan and the validation fast path
# --------------------------------------------------------------------------------------
@compiled
def test_finite_status_codes(dtype):
    from fastmlp.backend import _kernels
    finite_status = _kernels.finite_status

    dt = np.dtype(dtype)
    x = np.arange(12.0).reshape(3, 4).astype(dt)
    assert finite_status(x) == 1
    assert finite_status(x, dt, 4) == 1
    assert finite_status(x, dt) == 1
    assert finite_status(x, dt, 5) == -1                     # wrong column count
    other = np.dtype("float32" if dtype == "float64" else "float64")
    assert finite_status(x, other, 4) == -1                  # wrong dtype
    assert finite_status(x.reshape(-1), dt) == -1            # not 2-D
    assert finite_status(x[:0], dt) == -1                    # empty
    assert finite_status(np.asfortranarray(x)[:, :3]) == -1  # not C-contiguous
    assert finite_status(x.astype(x.dtype.newbyteorder())) == -1
    assert finite_status(x.astype(np.int64)) == -1
    assert finite_status([[1.0]]) == -1
    assert finite_status(x, "float32") == -1                 # dtype must be an np.dtype
    for bad in (np.nan, np.inf, -np.inf):
        for where in [(0, 0), (2, 3), (1, 2)]:
            y = x.copy()
            y[where] = bad
            assert finite_status(y) == 0
            assert finite_status(y, dt, 4) == 0
    big = np.ones(10_000, dtype=dt)                          # several scan blocks
    assert finite_status(big) == 1
    big[9_999] = np.nan
    assert finite_status(big) == 0


def test_check_finite_without_compiled_scan(monkeypatch, dtype):
    """The NumPy fallback (extension not built) finds the same problems."""
    x = np.ones((4, 3), dtype=dtype)
    for scan in ([None] + ([_validation._finite_status] if _validation._finite_status
                           else [])):
        monkeypatch.setattr(_validation, "_finite_status", scan)
        _validation.check_finite(x, "X")
        assert _validation.as_features(x, np.dtype(dtype), 3) is x or scan is None
        y = x.copy()
        y[2, 1] = np.nan
        y[3, 0] = np.inf
        with pytest.raises(ValueError, match=r"X contains 2 non-finite value\(s\) \(1 NaN, "
                                             r"1 infinite\); the first is at index \(2, 1\)"):
            _validation.check_finite(y, "X")
        with pytest.raises(ValueError, match="non-finite"):
            _validation.as_features(y, np.dtype(dtype), 3)


def test_as_features_fast_path_returns_input_unchanged(dtype):
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(dtype)
    out = _validation.as_features(x, np.dtype(dtype), 3)
    np.testing.assert_array_equal(out, x)
    if _validation._finite_status is not None:
        assert out is x                     # no copy for an array that is already right
    # the same checks and messages as the full path
    with pytest.raises(ValueError, match="X has 3 features, but the model expects 4"):
        _validation.as_features(x, np.dtype(dtype), 4)
    with pytest.raises(ValueError, match="is empty"):
        _validation.as_features(x[:0], np.dtype(dtype), 3)
    with pytest.raises(ValueError, match="must be 2-D"):
        _validation.as_features(x[0], np.dtype(dtype), 3)
    other = "float32" if dtype == "float64" else "float64"
    converted = _validation.as_features(x, np.dtype(other), 3)
    assert converted.dtype == np.dtype(other) and converted.flags.c_contiguous


# --------------------------------------------------------------------------------------
# predict: the lean path once an engine exists
# --------------------------------------------------------------------------------------
def test_predict_fast_path_checks_like_first_call(backend, dtype):
    model = fm.Sequential([fm.Dense(8, activation="relu", input_dim=4),
                           fm.Dense(2, activation="softmax")], seed=1, dtype=dtype,
                          backend=backend)
    x = np.random.default_rng(1).normal(size=(3, 4))
    before_compile = model.predict(x)                  # builds an inference engine
    model.compile("sgd", "categorical_crossentropy")
    first = model.predict(x)                           # builds the engine
    again = model.predict(x)                           # the lean path
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, before_compile)
    np.testing.assert_array_equal(model.predict(x.astype(dtype)), first)
    np.testing.assert_allclose(model.predict(x[:1]), first[:1], rtol=TOL[dtype])
    with pytest.raises(ValueError, match="X has 5 features, but the model expects 4"):
        model.predict(np.ones((2, 5)))
    bad = x.astype(dtype)
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"the first is at index \(1, 2\)"):
        model.predict(bad)
    with pytest.raises(ValueError, match="must be 2-D"):
        model.predict(np.ones(4))


@compiled
def test_predict_checked_takes_only_ready_input_and_finite_output(dtype):
    """The compiled ``predict_checked`` returns ``predict``'s numbers for an input usable as
    it is, and None (the validating path) for anything else or a non-finite output."""
    model = fm.Sequential([fm.Dense(5, activation="tanh", input_dim=3),
                           fm.Dense(2, activation="linear")], seed=2, dtype=dtype,
                          backend="cython")
    model.predict(np.zeros((1, 3), dtype))
    engine = model._engines["cython"]
    x = np.random.default_rng(2).normal(size=(4, 3)).astype(dtype)
    np.testing.assert_array_equal(engine.predict_checked(x), engine.predict(x))
    other = np.float32 if np.dtype(dtype) == np.float64 else np.float64
    with_nan = x.copy()
    with_nan[2, 1] = np.nan
    wide = np.zeros((4, 6), dtype)

    class Sub(np.ndarray):
        pass

    not_ready = [x.astype(other), np.asfortranarray(np.ones((4, 3), dtype)), wide[:, ::2],
                 np.ones((4, 4), dtype), x[0], np.zeros((0, 3), dtype), with_nan,
                 x.view(Sub), x.byteswap().view(x.dtype.newbyteorder()), x.tolist()]
    for bad in not_ready:
        assert engine.predict_checked(bad) is None
    model.set_weights([np.full((3, 5), 0.1, dtype), np.zeros(5, dtype),
                       np.full((5, 2), np.finfo(dtype).max, dtype), np.zeros(2, dtype)])
    assert engine.predict_checked(np.ones((1, 3), dtype)) is None   # the output overflows


@compiled
@pytest.mark.parametrize("n,width", [(1, 8), (3, 300), (2500, 40)])
def test_predict_scratch_paths_match_reference(dtype, n, width):
    """Stack scratch (small), heap scratch (wide), several row blocks and the GIL released
    (many rows): all the reference's numbers."""
    x = np.random.default_rng(n).normal(size=(n, 10)).astype(dtype)
    outs = []
    for backend in ("cython", "numpy"):
        model = fm.Sequential([fm.Dense(width, activation="tanh", input_dim=10),
                               fm.Dense(width, activation="relu"),
                               fm.Dense(3, activation="softmax")], seed=5, dtype=dtype,
                              backend=backend)
        model.compile("sgd", "categorical_crossentropy")
        outs.append(model.predict(x))
    np.testing.assert_allclose(outs[0], outs[1], rtol=TOL[dtype], atol=TOL[dtype] * 1e-2)


@compiled
def test_gemm_sequence_matches_numpy(dtype, rng):
    from fastmlp.backend import _blas

    a, b = rng.normal(size=(6, 4)).astype(dtype), rng.normal(size=(4, 5)).astype(dtype)
    d = rng.normal(size=(6, 5)).astype(dtype)
    c1, c2, c3 = (np.empty((6, 5), dtype), np.empty((4, 5), dtype), np.empty((6, 4), dtype))
    _blas.gemm_sequence([(a, b, c1, False, False), (a, d, c2, True, False),
                         (d, b, c3, False, True)], repeat=2)
    np.testing.assert_allclose(c1, a @ b, rtol=TOL[dtype] * 10)
    np.testing.assert_allclose(c2, a.T @ d, rtol=TOL[dtype] * 10)
    np.testing.assert_allclose(c3, d @ b.T, rtol=TOL[dtype] * 10)
    with pytest.raises(ValueError, match="product 0"):
        _blas.gemm_sequence([(a, a, c1, False, False)])
    with pytest.raises(ValueError, match="one dtype"):
        _blas.gemm_sequence([(a, b.astype(np.float16), c1, False, False)])


def test_predict_lean_path_still_warns_on_overflow(backend):
    model = fm.Sequential([fm.Dense(3, activation="linear", input_dim=2)], seed=0,
                          dtype="float32", backend=backend)
    x = np.ones((4, 2), dtype="float32")
    model.predict(x)                                   # the engine exists from here on
    model.set_weights([np.full((2, 3), 3e38, dtype="float32"), np.zeros(3, "float32")])
    with pytest.warns(RuntimeWarning, match=r"the output of 4 row\(s\) is not finite"):
        out = model.predict(x)
    assert np.isinf(out).all()
