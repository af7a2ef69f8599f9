"""Ring 1: gradients of every activation and loss pair against central finite differences."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import activations

HIDDEN = list(activations.ACTIVATIONS)
OUTPUT_FOR_LOSS = {
    "mean_squared_error": list(activations.ACTIVATIONS),
    "binary_crossentropy": ["sigmoid"],
    "categorical_crossentropy": ["softmax"],
    "sparse_categorical_crossentropy": ["softmax"],
}
CASES = [(h, o, loss) for loss, outs in OUTPUT_FOR_LOSS.items() for o in outs for h in HIDDEN]


def _targets(loss, out_act, n, k, rng):
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=(n, k)).astype(float)
    if loss == "categorical_crossentropy":
        return np.eye(k)[rng.integers(0, k, size=n)]
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, k, size=n)
    if out_act in ("sigmoid", "softmax"):
        return rng.random((n, k))
    return rng.normal(size=(n, k))


def _numeric_gradients(model, X, y, h=1e-6):
    weights = model.get_weights()
    grads = []
    for i, w in enumerate(weights):
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            for sign in (1, -1):
                trial = [v.copy() for v in weights]
                trial[i][idx] += sign * h
                model.set_weights(trial)
                g[idx] += sign * model.evaluate(X, y)["loss"] / (2 * h)
        grads.append(g)
    model.set_weights(weights)
    return grads


@pytest.mark.parametrize("hidden,out,loss", CASES)
def test_gradients_match_finite_differences(backend, hidden, out, loss):
    rng = np.random.default_rng(7)
    n, d, k = 6, 3, 3 if out == "softmax" else 2
    if loss == "binary_crossentropy":
        k = 2
    X = rng.normal(size=(n, d))
    y = _targets(loss, out, n, k, rng)
    model = fm.Sequential([fm.Dense(4, activation=hidden, input_dim=d,
                                    kernel_initializer="glorot_normal"),
                           fm.Dense(k, activation=out, bias_initializer="glorot_uniform")],
                          seed=3, backend=backend)
    model.compile(optimizer="sgd", loss=loss)
    loss_value, analytic = model.compute_gradients(X, y)
    assert loss_value == pytest.approx(model.evaluate(X, y)["loss"], rel=1e-12)
    numeric = _numeric_gradients(model, X, y)
    assert len(analytic) == len(numeric) == len(model.get_weights())
    for a, num in zip(analytic, numeric):
        np.testing.assert_allclose(a, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("shared", [False, True])
def test_prelu_slope_gradient(backend, shared):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 3))
    y = rng.normal(size=(8, 1))
    model = fm.Sequential([fm.Dense(5, activation="prelu", input_dim=3, prelu_shared=shared),
                           fm.Dense(1)], seed=0, backend=backend)
    model.compile(loss="mse")
    weights = model.get_weights()
    assert weights[2].shape == ((1,) if shared else (5,))
    weights[2][:] = np.linspace(0.1, 0.5, weights[2].size)
    model.set_weights(weights)
    _, analytic = model.compute_gradients(X, y)
    numeric = _numeric_gradients(model, X, y)
    np.testing.assert_allclose(analytic[2], numeric[2], rtol=1e-5, atol=1e-9)
    assert np.any(analytic[2] != 0)
