"""BLAS providers (fm.set_blas, FASTMLP_BLAS): every installed provider gives the NumPy
reference's numbers; names are checked; the default follows the documented rule."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import TOL

import fastmlp as fm
from fastmlp.backend import _providers

pytestmark = pytest.mark.skipif("cython" not in fm.available_backends(),
                                reason="the compiled extension is not built")

INSTALLED = _providers.installed() if "cython" in fm.available_backends() else []
SRC = os.path.dirname(os.path.dirname(fm.__file__))


@pytest.fixture(params=_providers.PROVIDERS)
def provider(request):
    """Each provider, made current for the test (skipped when not installed)."""
    name = request.param
    if name not in INSTALLED:
        pytest.skip(f"the {name!r} BLAS is not installed ({_providers._INSTALL[name]})")
    previous = fm.set_blas(name)
    try:
        yield name
    finally:
        fm.set_blas(previous)


def test_provider_is_the_one_called(provider):
    from fastmlp.backend import _blas

    assert fm.get_blas() == _blas.provider() == provider
    info = fm.show_config(file=None)
    assert info["blas"]["provider"] == provider and provider in info["blas_installed"]
    path = _providers.library(provider)
    if path:  # loaded from its own file, not SciPy's
        assert os.path.realpath(_blas.blas_library_path()) == os.path.realpath(path)
        assert info["blas"]["config"], "the library reports its version"
    if sys.platform != "win32":
        assert _blas.blas_thread_control()


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True),
                                             (True, True)])
def test_gemm_matches_numpy(provider, dtype, trans_a, trans_b):
    from fastmlp.backend import _blas

    rng = np.random.default_rng(1)
    m, n, k = 67, 45, 33
    a = rng.normal(size=(k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.normal(size=(n, k) if trans_b else (k, n)).astype(dtype)
    c = rng.normal(size=(m, n)).astype(dtype)
    expected = 0.5 * ((a.T if trans_a else a) @ (b.T if trans_b else b)) + 2.0 * c
    _blas.gemm_into(a, b, c, trans_a, trans_b, alpha=0.5, beta=2.0, path="blas")
    np.testing.assert_allclose(c, expected, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


def _pair(dtype):
    """The same seeded network on the NumPy reference and the compiled engine, wide enough
    that its products go to BLAS."""
    models = []
    for backend in ("numpy", "cython"):
        model = fm.Sequential([fm.Dense(48, activation="tanh", input_dim=20),
                               fm.Dense(40, activation="relu"),
                               fm.Dense(4, activation="softmax")],
                              seed=3, dtype=dtype, backend=backend)
        model.compile(optimizer=fm.optimizers.Adam(learning_rate=1e-2),
                      loss="sparse_categorical_crossentropy")
        models.append(model)
    return models


def test_training_matches_reference(provider, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 20))
    y = rng.integers(0, 4, size=96)
    ref, fast = _pair(dtype)
    tol = TOL[dtype]
    np.testing.assert_allclose(fast.predict(X), ref.predict(X), rtol=tol, atol=tol * 1e-2)
    loss_f, grads_f = fast.compute_gradients(X, y)
    loss_r, grads_r = ref.compute_gradients(X, y)
    assert loss_f == pytest.approx(loss_r, rel=tol)
    for a, b in zip(grads_f, grads_r):
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 1e-1)
    h_f = fast.fit(X, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    h_r = ref.fit(X, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_f.history["loss"], h_r.history["loss"], rtol=tol * 10)
    for a, b in zip(fast.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol * 100, atol=tol * 10)


def test_set_num_threads_reaches_the_provider(provider):
    from fastmlp.backend import _blas

    if not _blas.blas_thread_control():
        pytest.skip("this provider's thread count cannot be set")
    before = fm.get_num_threads()
    try:
        fm.set_num_threads(1)
        assert _blas.blas_threads() == 1
        fm.set_num_threads(2)
        assert _blas.blas_threads() == 2
    finally:
        fm.set_num_threads(before)


@pytest.mark.parametrize("name", ["atlas", "", "SciPy ", 3, None])
def test_bad_names_raise_before_any_switch(name):
    before = fm.get_blas()
    if name == "SciPy ":  # names are case- and space-insensitive
        previous = fm.set_blas(name)
        assert fm.get_blas() == "scipy"
        fm.set_blas(previous)
        return
    with pytest.raises(ValueError, match="the providers are scipy, openblas, mkl"):
        fm.set_blas(name)
    assert fm.get_blas() == before


def test_missing_provider_names_the_installed_ones(monkeypatch):
    monkeypatch.setattr(_providers, "library",
                        lambda name: "" if name == "scipy" else None)
    before = fm.get_blas()
    with pytest.raises(ImportError, match=r"'mkl' is not available.*installed: scipy$"):
        fm.set_blas("mkl")
    assert fm.get_blas() == before


def _run(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != _providers.VARIABLE}
    environ.update(env, PYTHONPATH=SRC + os.pathsep + environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, timeout=120, check=False)


def test_environment_variable_chooses_the_provider():
    for name in INSTALLED:
        result = _run("import fastmlp as fm; print(fm.get_blas())", FASTMLP_BLAS=name)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [name]
    bad = _run("import fastmlp as fm; fm.backend()", FASTMLP_BLAS="atlas")
    assert bad.returncode != 0
    assert "ValueError: FASTMLP_BLAS='atlas': unknown BLAS provider 'atlas'" in bad.stderr
    missing = [name for name in _providers.PROVIDERS if name not in INSTALLED]
    for name in missing:
        result = _run("import fastmlp as fm; fm.backend()", FASTMLP_BLAS=name)
        assert result.returncode != 0
        assert f"ImportError: FASTMLP_BLAS={name!r}" in result.stderr


class _FakeBlas:
    def __init__(self, text):
        self.text = text

    def blas_version(self):
        return self.text


@pytest.mark.parametrize("vendor,have,scipy_text,wheel,expected", [
    ("GenuineIntel", ("mkl", "openblas"), "OpenBLAS 0.3.30 SkylakeX", "0.3.34.481.3", "mkl"),
    ("AuthenticAMD", ("mkl", "openblas"), "OpenBLAS 0.3.30 SkylakeX", "0.3.34.481.3",
     "openblas"),
    ("AuthenticAMD", ("mkl",), "OpenBLAS 0.3.30 SkylakeX", None, "scipy"),
    ("GenuineIntel", ("openblas",), "OpenBLAS 0.3.30 Haswell", "0.3.34.0.0", "openblas"),
    ("GenuineIntel", ("openblas",), "OpenBLAS 0.3.34 Haswell", "0.3.34.0.0", "scipy"),
    ("GenuineIntel", ("openblas",), "OpenBLAS 0.3.35 Haswell", "0.3.34.0.0", "scipy"),
    ("", ("openblas",), "Intel(R) oneAPI Math Kernel Library 2025", "0.3.34.0.0", "scipy"),
    ("", (), "OpenBLAS 0.3.30", None, "scipy"),
])
def test_default_rule(monkeypatch, vendor, have, scipy_text, wheel, expected):
    monkeypatch.delenv(_providers.VARIABLE, raising=False)
    monkeypatch.setattr(_providers, "cpu_vendor", lambda: vendor)
    monkeypatch.setattr(_providers, "library",
                        lambda name: "" if name == "scipy" else
                        (f"/lib/{name}.so" if name in have else None))
    monkeypatch.setattr(_providers, "_openblas_wheel_version", lambda: wheel)
    assert _providers.default_name(_FakeBlas(scipy_text)) == expected


def test_switch_refused_while_a_team_holds_blas():
    from fastmlp.backend import _engine

    others = [name for name in INSTALLED if name != fm.get_blas()]
    if not others:
        pytest.skip("only one BLAS provider is installed")
    before = fm.get_blas()
    _engine.testing.hold_blas(True)
    try:
        with pytest.raises(RuntimeError, match="team mode"):
            fm.set_blas(others[0])
        assert fm.get_blas() == before
    finally:
        _engine.testing.hold_blas(False)
    assert fm.set_blas(others[0]) == before
    fm.set_blas(before)


def test_switch_while_training_in_another_thread(dtype):
    """Switching takes effect at the next product: a training running meanwhile in another
    Python thread finishes with the reference's numbers."""
    if len(INSTALLED) < 2:
        pytest.skip("only one BLAS provider is installed")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(192, 20))
    y = rng.integers(0, 4, size=192)
    ref, fast = _pair(dtype)
    before = fm.get_blas()
    done = threading.Event()
    errors = []

    def train():
        try:
            fast.fit(X, y, epochs=4, batch_size=16, shuffle=False, verbose=0)
        except Exception as exc:
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=train)
    worker.start()
    switches = 0
    try:
        while not done.is_set() or switches < 2:
            fm.set_blas(INSTALLED[switches % len(INSTALLED)])
            switches += 1
    finally:
        worker.join()
        fm.set_blas(before)
    assert not errors
    ref.fit(X, y, epochs=4, batch_size=16, shuffle=False, verbose=0)
    tol = TOL[dtype]
    for a, b in zip(fast.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol * 100, atol=tol * 10)
