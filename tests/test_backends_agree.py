"""Ring 2: the compiled engine against the NumPy reference on identical seeded inputs."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import activations

from conftest import TOL

pytestmark = pytest.mark.skipif("cython" not in fm.available_backends(),
                                reason="the compiled extension is not built")

ARCHS = [
    # (hidden activations, output activation, output units, loss)
    (("tanh", "relu"), "sigmoid", 1, "binary_crossentropy"),
    (("relu", "elu"), "softmax", 4, "sparse_categorical_crossentropy"),
    (("leaky_relu",), "softmax", 3, "categorical_crossentropy"),
    (("prelu", "softplus"), "linear", 2, "mean_squared_error"),
    (("sigmoid", "softmax"), "tanh", 2, "mean_squared_error"),
    ((), "sigmoid", 3, "binary_crossentropy"),  # logistic regression, multilabel
    ((), "linear", 1, "mean_squared_error"),    # linear regression
]


def _data(loss, k, n=37, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if loss == "binary_crossentropy":
        y = (rng.random((n, k)) > 0.5).astype(float)
    elif loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, k, size=n)
    elif loss == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, size=n)]
    else:
        y = rng.normal(size=(n, k))
    return X, y


def _model(backend, dtype, hidden, out, k, loss, lr=0.05):
    layers = [fm.Dense(6, activation=a) for a in hidden] + [fm.Dense(k, activation=out)]
    layers[0].input_dim = 5
    model = fm.Sequential(layers, seed=42, dtype=dtype, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=lr), loss=loss)
    return model


@pytest.mark.parametrize("hidden,out,k,loss", ARCHS)
def test_forward_gradients_and_training_agree(dtype, hidden, out, k, loss):
    X, y = _data(loss, k)
    ref = _model("numpy", dtype, hidden, out, k, loss)
    fast = _model("cython", dtype, hidden, out, k, loss)
    tol = TOL[dtype]
    for a, b in zip(ref.get_weights(), fast.get_weights()):
        np.testing.assert_array_equal(a, b)  # same seed, same initial weights

    np.testing.assert_allclose(fast.predict(X), ref.predict(X), rtol=tol, atol=tol * 1e-2)
    for a, b in zip(fast.layer_outputs(X), ref.layer_outputs(X)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 1e-2)
    loss_f, grads_f = fast.compute_gradients(X, y)
    loss_r, grads_r = ref.compute_gradients(X, y)
    assert loss_f == pytest.approx(loss_r, rel=tol)
    for a, b in zip(grads_f, grads_r):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 1e-2)

    # 20 training steps: batch 8 over 37 rows (a ragged last batch), no shuffle
    h_f = fast.fit(X, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    h_r = ref.fit(X, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    assert fast.optimizer.iterations == ref.optimizer.iterations == 20
    np.testing.assert_allclose(h_f.history["loss"], h_r.history["loss"], rtol=tol)
    for a, b in zip(fast.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 1e-2)


@pytest.mark.parametrize("batch_size", [1, 5, None])
def test_shuffled_training_agrees(batch_size):
    X, y = _data("binary_crossentropy", 1, n=23)
    models = {b: _model(b, "float64", ("tanh",), "sigmoid", 1, "binary_crossentropy")
              for b in ("numpy", "cython")}
    for m in models.values():
        m.fit(X, y, epochs=3, batch_size=batch_size, shuffle=True, verbose=0)
    for a, b in zip(models["numpy"].get_weights(), models["cython"].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_one_model_switches_backend_mid_training():
    """Both backends update the same arrays: switching continues exactly."""
    X, y = _data("mean_squared_error", 2)
    mixed = _model("cython", "float64", ("tanh",), "linear", 2, "mean_squared_error")
    pure = _model("numpy", "float64", ("tanh",), "linear", 2, "mean_squared_error")
    mixed.fit(X, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    mixed.backend = "numpy"
    mixed.fit(X, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    pure.fit(X, y, epochs=4, batch_size=10, shuffle=False, verbose=0)
    for a, b in zip(mixed.get_weights(), pure.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("kind", list(activations.ACTIVATIONS))
def test_activation_kernels_match_reference(dtype, kind, rng):
    from fastmlp.backend import _kernels, _numpy

    code = activations.ACTIVATIONS[kind]
    z = (rng.normal(size=(7, 5)) * 3).astype(dtype)
    alpha = np.array([0.2, 0.1, 0.3, 0.05, 0.25], dtype=dtype) if kind == "prelu" else None
    a_ref = _numpy.activation_forward(code, z, alpha)
    a = _kernels.activation_forward_py(code, z, alpha)
    np.testing.assert_allclose(a, a_ref, rtol=TOL[dtype], atol=1e-7)
    da = rng.normal(size=z.shape).astype(dtype)
    dz_ref, dalpha_ref = _numpy.activation_backward(code, z, a_ref, da, alpha)
    dz, dalpha = _kernels.activation_backward_py(code, z, np.ascontiguousarray(a_ref), da,
                                                 alpha)
    np.testing.assert_allclose(dz, dz_ref, rtol=TOL[dtype], atol=1e-7)
    if kind == "prelu":
        np.testing.assert_allclose(dalpha, dalpha_ref, rtol=TOL[dtype], atol=1e-6)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_row_major_gemm(dtype, trans_a, trans_b, rng):
    from fastmlp.backend import _blas

    a = rng.normal(size=(4, 3) if not trans_a else (3, 4)).astype(dtype)
    b = rng.normal(size=(3, 5) if not trans_b else (5, 3)).astype(dtype)
    expected = (a.T if trans_a else a) @ (b.T if trans_b else b)
    np.testing.assert_allclose(_blas.gemm_py(a, b, trans_a, trans_b), expected,
                               rtol=TOL[dtype])
