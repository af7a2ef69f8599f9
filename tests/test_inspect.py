"""Looking inside a model: build without fitting, every layer's output in one call, and
what repr / summary print."""
import numpy as np
import pytest

import fastmlp as fm


def forward_by_hand(weights, activations, X):
    """The forward pass written out with NumPy from get_weights()."""
    f = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
         "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
         "softmax": lambda z: np.exp(z - z.max(1, keepdims=True))
         / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)}
    outputs, A = [], X
    for (W, b), name in zip(zip(weights[::2], weights[1::2]), activations):
        A = f[name](A @ W + b)
        outputs.append(A)
    return outputs


def test_build_then_layer_outputs_without_compile_or_fit(backend, dtype):
    model = fm.Sequential([fm.Dense(5, activation="tanh"), fm.Dense(4, activation="relu"),
                           fm.Dense(3, activation="softmax")], seed=0, dtype=dtype,
                          backend=backend)
    assert model.build(6) is model
    assert [w.shape for w in model.get_weights()] == [(6, 5), (5,), (5, 4), (4,), (4, 3), (3,)]
    X = np.random.default_rng(1).normal(size=(7, 6))
    outputs = model.layer_outputs(X)
    assert [o.shape for o in outputs] == [(7, 5), (7, 4), (7, 3)]
    expected = forward_by_hand([w.astype(np.float64) for w in model.get_weights()],
                               ["tanh", "relu", "softmax"], X)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for got, want in zip(outputs, expected):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_array_equal(model.predict(X), outputs[-1])


def test_compile_after_predicting_uncompiled_model_trains_normally():
    model = fm.Sequential([fm.Dense(4, activation="tanh"), fm.Dense(1, activation="sigmoid")],
                          seed=0).build(2)
    X, y = fm.datasets.make_xor(64, seed=0)
    before = model.predict(X)
    model.compile(optimizer=fm.optimizers.SGD(0.5), loss="binary_crossentropy")
    np.testing.assert_array_equal(model.predict(X), before)
    model.fit(X, y, epochs=5, verbose=0)
    assert not np.array_equal(model.predict(X), before)
    with pytest.raises(RuntimeError, match="not compiled"):
        fm.Sequential([fm.Dense(1)], seed=0).build(2).fit(X, y, verbose=0)


def test_repr_and_summary_read_well():
    model = fm.Sequential([fm.Dense(16, activation="relu", input_dim=30),
                           fm.Dense(1, activation="sigmoid")], seed=0, name="cancer")
    assert repr(model).startswith("Sequential([Dense(16, activation='relu', input_dim=30)")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "cancer"' in text
    assert "relu" in text and "(None, 16)" in text and "496" in text
    assert "Total params: 513" in text
