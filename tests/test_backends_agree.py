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
    (("gelu", "silu"), "linear", 2, "mean_absolute_error"),
    (("selu", "mish"), "selu", 2, "huber"),
    (("hard_sigmoid", "relu6"), "linear", 1, "hinge"),
    (("relu6",), "gelu", 3, "mean_squared_error"),
    (("softsign", "tanh"), "softsign", 2, "mean_squared_error"),
]


def _data(loss, k, n=37, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if loss in ("binary_crossentropy", "hinge"):
        y = (rng.random((n, k)) > 0.5).astype(float)
    elif loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, k, size=n)
    elif loss == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, size=n)]
    else:
        y = rng.normal(size=(n, k))
    return X, y


def _model(backend, dtype, hidden, out, k, loss, lr=0.05, dropout=0.0, reg=None,
           input_dropout=0.0):
    layers = [fm.Dropout(input_dropout)] if input_dropout else []
    for a in hidden:
        layers.append(fm.Dense(6, activation=a, kernel_regularizer=reg, bias_regularizer=reg))
        if dropout:
            layers.append(fm.Dropout(dropout))
    layers.append(fm.Dense(k, activation=out, kernel_regularizer=reg))
    layers[1 if input_dropout else 0].input_dim = 5
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


@pytest.mark.parametrize("hidden,out,k,loss", ARCHS[:4] + ARCHS[-4:])
def test_training_with_dropout_weights_and_penalties_agrees(dtype, hidden, out, k, loss):
    """Same seed, same dropout masks, same sample weights: the same training."""
    X, y = _data(loss, k)
    w = np.random.default_rng(3).random(X.shape[0]) * 2
    reg = fm.regularizers.l1_l2(0.01, 0.02)
    models = {b: _model(b, dtype, hidden, out, k, loss, dropout=0.3, reg=reg,
                        input_dropout=0.1)
              for b in ("numpy", "cython")}
    hist = {b: m.fit(X, y, epochs=3, batch_size=8, shuffle=True, sample_weight=w, verbose=0)
            for b, m in models.items()}
    tol = TOL[dtype]
    np.testing.assert_allclose(hist["cython"].history["loss"], hist["numpy"].history["loss"],
                               rtol=tol * 10)
    for a, b in zip(models["cython"].get_weights(), models["numpy"].get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 1e-1)
    # dropout changed the training: without it the weights differ
    plain = _model("cython", dtype, hidden, out, k, loss, reg=reg)
    plain.fit(X, y, epochs=3, batch_size=8, shuffle=True, sample_weight=w, verbose=0)
    assert not np.allclose(plain.get_weights()[0], models["cython"].get_weights()[0])
    # evaluation is deterministic and agrees, with weights
    e = {b: m.evaluate(X, y, sample_weight=w, return_dict=True)["loss"] for b, m in models.items()}
    assert e["cython"] == pytest.approx(e["numpy"], rel=tol * 10)


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


@pytest.mark.parametrize("cols", [37, 130])
def test_softmax_kernel_matches_reference_on_wide_rows(dtype, cols, rng):
    """The row sums of the compiled softmax run in eight partial sums and a tail."""
    from fastmlp.backend import _kernels, _numpy

    code = activations.ACTIVATIONS["softmax"]
    z = (rng.normal(size=(5, cols)) * 3).astype(dtype)
    a = _kernels.activation_forward_py(code, z)
    np.testing.assert_allclose(a, _numpy.activation_forward(code, z), rtol=TOL[dtype],
                               atol=1e-9)
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=TOL[dtype])


@pytest.mark.parametrize("kind", list(activations.ACTIVATIONS))
def test_activation_kernels_match_reference(dtype, kind, rng):
    from fastmlp.backend import _kernels, _numpy

    code = activations.ACTIVATIONS[kind]
    z = (rng.normal(size=(7, 5)) * 3).astype(dtype)
    z[0] = [-8.0, -3.5, 2.5, 6.5, 9.0]  # beyond the corners of relu6 and hard_sigmoid
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


@pytest.mark.parametrize("loss", [*list(fm.losses.LOSSES)[:3], "mean_absolute_error", "huber",
                                                               "hinge"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cols", [1, 4, 64, 65, 130])   # groups of rows, one row, parts
def test_loss_kernels_match_reference(dtype, loss, weighted, cols, rng):
    from fastmlp.backend import _kernels, _numpy

    code = fm.losses.LOSSES[loss][0]
    out = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax"}.get(
        loss, "tanh")
    out_code = activations.ACTIVATIONS[out]
    z = (rng.normal(size=(37, cols)) * 2).astype(dtype)
    a = _numpy.activation_forward(out_code, z)
    if loss == "hinge":
        y = rng.choice([-1.0, 1.0], size=z.shape).astype(dtype)
    elif loss == "categorical_crossentropy":
        y = np.eye(cols, dtype=dtype)[rng.integers(0, cols, size=37)]
    else:
        y = rng.random(z.shape).astype(dtype) * 2
    w = (rng.random(37) * 2).astype(dtype) if weighted else None
    value, dz = _kernels.loss_delta_py(code, out_code, z, np.ascontiguousarray(a), y, w)
    assert value == pytest.approx(_numpy.loss_value(code, z, a, y, w), rel=TOL[dtype])
    dz_ref, _ = _numpy.loss_delta(code, out_code, z, a, y, w)
    np.testing.assert_allclose(dz, dz_ref, rtol=TOL[dtype], atol=1e-7)


@pytest.mark.parametrize("size", [20, 141])   # 141: two of the kernel's blocks of 64 and a part
def test_regularize_kernel_matches_reference(dtype, size, rng):
    from fastmlp.backend import _kernels, _numpy

    p = rng.normal(size=size).astype(dtype)
    p[3] = 0  # sign(0) = 0
    for l1, l2 in ((0.0, 0.1), (0.05, 0.0), (0.02, 0.3)):
        value, g = _kernels.regularize_py(p, l1, l2)
        value_ref, g_ref = _numpy.regularize(p, l1, l2)
        assert value == pytest.approx(value_ref, rel=TOL[dtype])
        np.testing.assert_allclose(g, g_ref, rtol=TOL[dtype])
        assert g[3] == 2 * l2 * p[3] == 0


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_row_major_gemm(dtype, trans_a, trans_b, rng):
    from fastmlp.backend import _blas

    a = rng.normal(size=(4, 3) if not trans_a else (3, 4)).astype(dtype)
    b = rng.normal(size=(3, 5) if not trans_b else (5, 3)).astype(dtype)
    expected = (a.T if trans_a else a) @ (b.T if trans_b else b)
    np.testing.assert_allclose(_blas.gemm_py(a, b, trans_a, trans_b), expected,
                               rtol=TOL[dtype])


def test_dropout_masks_agree_across_many_compiled_calls(monkeypatch):
    """Masks drawn chunk by chunk (here 1-2 batches per call, ragged last batch): the
    compiled engine indexes each batch's rows of the chunk's masks as the reference does."""
    import fastmlp.models

    monkeypatch.setattr(fastmlp.models, "_MASK_ELEMENTS", 100)
    X, y = _data("sparse_categorical_crossentropy", 4)
    models = {b: _model(b, "float64", ("relu", "tanh"), "softmax", 4,
                        "sparse_categorical_crossentropy", dropout=0.5, input_dropout=0.2)
              for b in ("numpy", "cython")}
    for m in models.values():
        m.fit(X, y, epochs=2, batch_size=7, verbose=0)
    for a, b in zip(models["numpy"].get_weights(), models["cython"].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_weighted_evaluation_in_blocks_agrees(dtype):
    """The compiled loss runs in blocks of 1024 rows: each block reads its own weights."""
    X, y = _data("huber", 2, n=2500)
    w = np.random.default_rng(1).random(2500) * 3
    reg = fm.regularizers.l1(0.01)
    losses = {b: _model(b, dtype, ("selu",), "linear", 2, "huber", reg=reg).evaluate(
        X, y, sample_weight=w, return_dict=True)["loss"] for b in ("numpy", "cython")}
    assert losses["cython"] == pytest.approx(losses["numpy"], rel=TOL[dtype])
    w[1024:] = 0  # only the first block counts
    first = _model("cython", dtype, ("selu",), "linear", 2, "huber", reg=reg)

    def loss(X, y, w):
        return first.evaluate(X, y, sample_weight=w, return_dict=True)["loss"]

    expected = (loss(X[:1024], y[:1024], w[:1024]) - loss(X[:1], y[:1], [0.0])) * 1024 / 2500
    penalty = loss(X[:1], y[:1], [0.0])
    assert loss(X, y, w) == pytest.approx(expected + penalty, rel=TOL[dtype] * 10)
