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
    "mean_absolute_error": ["linear", "tanh", "sigmoid", "gelu"],
    "huber": ["linear", "softplus", "selu"],
    "hinge": ["linear", "tanh"],
}
CASES = [(h, o, loss) for loss, outs in OUTPUT_FOR_LOSS.items() for o in outs for h in HIDDEN]


def _targets(loss, out_act, n, k, rng):
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=(n, k)).astype(float)
    if loss == "categorical_crossentropy":
        return np.eye(k)[rng.integers(0, k, size=n)]
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, k, size=n)
    if loss == "hinge":
        return rng.integers(0, 2, size=(n, k)).astype(float)  # 0/1, converted to -1/1
    if loss == "huber":
        return rng.normal(size=(n, k)) * 2  # both branches of the Huber loss
    if out_act in ("sigmoid", "softmax"):
        return rng.random((n, k))
    return rng.normal(size=(n, k))


def _numeric_gradients(model, X, y, h=1e-6, loss_fn=None):
    """Central differences of ``loss_fn()`` (default: the evaluated loss) per weight."""
    loss_fn = loss_fn or (lambda: model.evaluate(X, y, return_dict=True)["loss"])
    weights = model.get_weights()
    grads = []
    for i, w in enumerate(weights):
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            for sign in (1, -1):
                trial = [v.copy() for v in weights]
                trial[i][idx] += sign * h
                model.set_weights(trial)
                g[idx] += sign * loss_fn() / (2 * h)
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
    assert loss_value == pytest.approx(model.evaluate(X, y, return_dict=True)["loss"], rel=1e-12)
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


@pytest.mark.parametrize("kernel,bias", [
    (fm.regularizers.l2(0.05), None),
    (fm.regularizers.l1(0.03), fm.regularizers.l2(0.2)),
    (fm.regularizers.l1_l2(0.02, 0.04), fm.regularizers.l1(0.1)),
])
def test_regularizer_gradients_match_finite_differences(backend, kernel, bias):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(7, 3))
    y = rng.integers(0, 3, size=7)
    model = fm.Sequential([fm.Dense(5, activation="gelu", input_dim=3, kernel_regularizer=kernel,
                                    bias_regularizer=bias, bias_initializer="glorot_uniform"),
                           fm.Dense(3, activation="softmax", kernel_regularizer=kernel,
                                    bias_regularizer=bias, bias_initializer="glorot_uniform")],
                          seed=5, backend=backend)
    model.compile(loss="sparse_categorical_crossentropy")
    loss_value, analytic = model.compute_gradients(X, y)
    # the reported loss is the data loss plus the penalties, computed here by hand
    P = model.predict(X)
    data_loss = -np.mean(np.log(P[np.arange(7), y]))
    penalty = 0.0
    for layer in model.layers:
        for p, reg in ((layer.W, kernel), (layer.b, bias)):
            if reg is not None:
                penalty += reg.l1 * np.abs(p).sum() + reg.l2 * (p ** 2).sum()
    assert loss_value == pytest.approx(data_loss + penalty, rel=1e-10)
    assert model.evaluate(X, y, return_dict=True)["loss"] == pytest.approx(loss_value, rel=1e-12)
    for a, num in zip(analytic, _numeric_gradients(model, X, y)):
        np.testing.assert_allclose(a, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("loss", ["mean_squared_error", "binary_crossentropy",
                                  "categorical_crossentropy", "hinge", "huber"])
def test_sample_weighted_gradients_match_finite_differences(backend, loss):
    rng = np.random.default_rng(8)
    n, k = 9, 3
    out = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax"}.get(
        loss, "linear")
    X = rng.normal(size=(n, 4))
    y = _targets(loss, out, n, k, rng)
    w = rng.random(n) * 3
    w[2] = 0.0
    model = fm.Sequential([fm.Dense(5, activation="silu", input_dim=4),
                           fm.Dense(k, activation=out)], seed=2, backend=backend)
    model.compile(loss=loss)
    loss_value, analytic = model.compute_gradients(X, y, sample_weight=w)
    # Keras' reduction: sum_i w_i l_i / n, l_i the loss of row i
    per_row = [model.evaluate(X[i:i + 1], y[i:i + 1], return_dict=True)["loss"] for i in range(n)]
    assert loss_value == pytest.approx(np.dot(w, per_row) / n, rel=1e-10)
    assert model.evaluate(X, y, sample_weight=w, return_dict=True)["loss"] == pytest.approx(
        loss_value, rel=1e-12)
    numeric = _numeric_gradients(
        model, X, y,
        loss_fn=lambda: model.evaluate(X, y, sample_weight=w, return_dict=True)["loss"])
    for a, num in zip(analytic, numeric):
        np.testing.assert_allclose(a, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("hidden", ["relu", "tanh", "linear", "prelu"])
@pytest.mark.parametrize("on_inputs", [False, True])
def test_dropout_gradients_match_finite_differences(backend, hidden, on_inputs):
    """With the masks held fixed, the engine's gradient is the derivative of its loss."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(6, 3))
    y = rng.normal(size=(6, 2))
    model = fm.Sequential([fm.Dropout(0.3)] * on_inputs +
                          [fm.Dense(5, activation=hidden, input_dim=3), fm.Dropout(0.4),
                           fm.Dense(4, activation="mish"), fm.Dropout(0.25),
                           fm.Dense(2)], seed=1, backend=backend)
    model.compile(loss="mse")
    input_mask, *masks = model._dropout_masks(model._dropout_rates(), 1234, 0, 6)
    assert masks[2] is None and {0.0, 1 / 0.6} == set(np.unique(masks[0]))
    assert (input_mask is not None) == on_inputs
    engine = model._engine()
    loss_value, analytic = engine.gradients(X, y, None, masks, input_mask)
    # the masks matter
    assert loss_value != pytest.approx(model.evaluate(X, y, return_dict=True)["loss"])
    numeric = _numeric_gradients(
        model, X, y, loss_fn=lambda: engine.gradients(X, y, None, masks, input_mask)[0])
    for a, num in zip(analytic, numeric):
        np.testing.assert_allclose(a, num, rtol=1e-5, atol=1e-8)


def _activation_impls():
    from fastmlp.backend import _numpy

    impls = {"numpy": (_numpy.activation_forward, _numpy.activation_backward)}
    if "cython" in fm.available_backends():
        from fastmlp.backend import _kernels

        impls["cython"] = (lambda k, z, alpha=None: _kernels.activation_forward_py(k, z, alpha),
                           lambda k, z, a, da, alpha=None: _kernels.activation_backward_py(
                               k, z, np.ascontiguousarray(a), da, alpha))
    return impls


@pytest.mark.parametrize("impl", list(_activation_impls()))
@pytest.mark.parametrize("kind", list(activations.ACTIVATIONS))
def test_activation_derivatives_over_a_wide_range(impl, kind):
    """dZ = dA * f'(Z) against central differences of sum(dA * f(Z)) on [-8, 8], every
    branch of the piecewise functions (corners of relu6 at 0 and 6, hard_sigmoid at
    +-3) included but never within h of a corner."""
    forward, backward = _activation_impls()[impl]
    code = activations.ACTIVATIONS[kind]
    z = np.linspace(-8.05, 8.05, 160).reshape(5, 32)
    da = np.random.default_rng(0).normal(size=z.shape)
    alpha = np.linspace(0.1, 0.4, 32) if kind == "prelu" else None
    a = forward(code, z, alpha)
    dz, _ = backward(code, z, a, da, alpha)
    h = 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        for sign in (1, -1):
            trial = z.copy()
            trial[idx] += sign * h
            # f(Z) subtracted before summing: exact zeros where nothing changed, so the
            # sum does not swamp the difference (exponential reaches e^8 here)
            numeric[idx] += sign * np.sum(da * (forward(code, trial, alpha) - a)) / (2 * h)
    np.testing.assert_allclose(dz, numeric, rtol=1e-6, atol=1e-8)
