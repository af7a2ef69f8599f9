"""BatchNormalization and LayerNormalization: the formulas by hand, gradients by finite
differences, compiled against the reference, moving statistics, the model file, Keras'
parameters, and a shipped data set where they help."""
import numpy as np
import pytest

import fastmlp as fm

TOL = {"float32": 1e-5, "float64": 1e-10}
NORMS = [fm.BatchNormalization, fm.LayerNormalization]


def _model(norm, backend=None, dtype="float64", seed=0, dropout=0.0, **kw):
    layers = [fm.Input((4,)), fm.Dense(6, activation="tanh"), norm(**kw)]
    if dropout:
        layers.append(fm.Dropout(dropout))
    layers += [fm.Dense(5, activation="relu"), norm(**kw), fm.Dense(2, activation="softmax")]
    model = fm.Sequential(layers, seed=seed, backend=backend, dtype=dtype)
    model.compile(fm.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model.build()


def _data(n=61, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1, 3, 0.5, 2] + [0, 1, -2, 0]
    return X, (X[:, 0] + X[:, 1] > 1).astype(int)


def _perturb(model, seed=1):
    """Move gamma and beta away from 1 and 0, so their gradients are tested in general."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if not isinstance(layer, fm.Dense):
            for p in layer.params:
                p += rng.normal(size=p.shape) * 0.3


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("kw", [{}, {"center": False}, {"scale": False},
                                {"center": False, "scale": False}])
def test_gradients_match_finite_differences(backend, norm, kw):
    X, y = _data(n=9)
    model = _model(norm, backend, **kw)
    _perturb(model)
    _, grads = model.compute_gradients(X, y)
    params = model.trainable_weights
    assert [g.shape for g in grads] == [p.shape for p in params]
    h = 1e-6
    for p, g in zip(params, grads):
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = model.compute_gradients(X, y)[0]
            p[idx] = old - h
            down = model.compute_gradients(X, y)[0]
            p[idx] = old
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("norm", NORMS)
def test_forward_by_hand_in_training_and_inference(norm):
    X, y = _data(n=8)
    model = fm.Sequential([fm.Input((4,)), fm.Dense(3, activation="tanh"), norm(),
                           fm.Dense(1)], seed=0, backend="numpy")
    model.compile(fm.optimizers.SGD(0.1), "mse")
    model.build()
    dense, layer = model.layers[0], model.layers[1]
    _perturb(model)
    gamma, beta = layer.params
    A = np.tanh(X @ dense.W + dense.b)
    axis = 0 if norm is fm.BatchNormalization else 1
    mean, var = A.mean(axis=axis, keepdims=True), A.var(axis=axis, keepdims=True)
    train_out = gamma * (A - mean) / np.sqrt(var + 1e-3) + beta
    W2, b2 = model.layers[2].W, model.layers[2].b
    # compute_gradients uses the training function: the batch's statistics
    loss = model.compute_gradients(X, y)[0]
    assert loss == pytest.approx(np.mean((train_out @ W2 + b2 - y[:, None]) ** 2), rel=1e-12)
    if norm is fm.LayerNormalization:  # the same in inference
        np.testing.assert_allclose(model.predict(X), train_out @ W2 + b2, rtol=1e-12)
        return
    # inference uses the moving statistics (0 and 1 before training)
    np.testing.assert_allclose(model.predict(X), (gamma * A / np.sqrt(1 + 1e-3) + beta) @ W2
                               + b2, rtol=1e-12)
    # one step: the moving statistics move by (1 - momentum) towards the batch's
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(layer.moving_mean, 0.01 * mean[0], rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance, 0.99 + 0.01 * var[0], rtol=1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("kw", [{}, {"center": False}, {"scale": False}])
def test_compiled_matches_the_reference_over_many_steps(norm, dtype, kw):
    if "cython" not in fm.available_backends():
        pytest.skip("the compiled backend is not built")
    X, y = _data(n=203)
    models = {}
    for backend in ("numpy", "cython"):
        model = _model(norm, backend, dtype, dropout=0.2, **kw)
        history = model.fit(X, y, epochs=4, batch_size=16, verbose=0)
        models[backend] = (model, history)
    (ref, h_ref), (fast, h_fast) = models["numpy"], models["cython"]
    for a, b in zip(ref.get_weights(), fast.get_weights()):
        np.testing.assert_allclose(b, a, rtol=TOL[dtype] * 10, atol=TOL[dtype])
    np.testing.assert_allclose(h_fast.history["loss"], h_ref.history["loss"], rtol=TOL[dtype])
    np.testing.assert_allclose(fast.predict(X), ref.predict(X), rtol=TOL[dtype],
                               atol=TOL[dtype])
    np.testing.assert_allclose(fast.evaluate(X, y), ref.evaluate(X, y), rtol=TOL[dtype])
    for a, b in zip(ref.compute_gradients(X[:20], y[:20])[1],
                    fast.compute_gradients(X[:20], y[:20])[1]):
        np.testing.assert_allclose(b, a, rtol=TOL[dtype] * 10, atol=TOL[dtype])


@pytest.mark.parametrize("norm", NORMS)
def test_save_load_and_continued_training_bit_for_bit(tmp_path, backend, norm):
    X, y = _data()
    model = _model(norm, backend, dropout=0.1)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.fmlp")
    loaded = fm.load_model(tmp_path / "m.fmlp")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    loaded.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X), loaded.predict(X))


def test_moving_statistics_are_weights_and_roll_back(backend):
    X, y = _data()
    model = _model(fm.BatchNormalization, backend)
    layer = model.layers[1]
    assert [w.shape for w in layer.get_weights()] == [(6,)] * 4   # gamma, beta, mean, var
    assert len(model.get_weights()) == 2 + 4 + 2 + 4 + 2
    assert len(model.compute_gradients(X, y)[1]) == 2 + 2 + 2 + 2 + 2
    before = [w.copy() for w in model.get_weights()]
    model.set_weights(before)
    stop = fm.callbacks.EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)
    model.fit(X, y, epochs=3, verbose=0, callbacks=[stop])
    assert not np.array_equal(layer.moving_mean, before[4])


def test_a_diverging_fit_keeps_the_moving_statistics_of_the_last_finite_step(backend):
    """The roll-back restores the moving statistics with the weights: the model ends as a
    twin trained on the batches before the failing one."""
    X, _ = _data(n=64)
    t = X @ [1.0, 2.0, -1.0, 0.5]

    def regressor():
        m = fm.Sequential([fm.Input((4,)), fm.Dense(5, activation="tanh"),
                           fm.BatchNormalization(momentum=0.5), fm.Dense(1)], seed=0,
                          backend=backend)
        m.compile(fm.optimizers.SGD(1e150), "mse")
        return m

    model = regressor()
    with pytest.raises(fm.TrainingDivergedError) as info:
        model.fit(X, t, epochs=1, batch_size=8, shuffle=False, verbose=0)
    failing = info.value.batch
    assert failing >= 1
    twin = regressor()
    twin.fit(X[:8 * failing], t[:8 * failing], epochs=1, batch_size=8, shuffle=False,
             verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call,error,match", [
    (lambda: fm.BatchNormalization(momentum=1.0), ValueError, r"momentum must be < 1.0, got 1.0"),
    (lambda: fm.BatchNormalization(epsilon=0), ValueError, "epsilon must be > 0.0, got 0"),
    (lambda: fm.LayerNormalization(center="no"), ValueError, "center must be True or False"),
    (lambda: fm.Sequential([fm.BatchNormalization(), fm.Dense(1)]), ValueError,
     "must directly follow a Dense layer"),
    (lambda: fm.Sequential([fm.Dense(2, input_dim=2), fm.Dropout(0.1),
                            fm.LayerNormalization(), fm.Dense(1)]), ValueError,
     "must directly follow a Dense layer"),
    (lambda: fm.Sequential([fm.Dense(2, input_dim=2), fm.BatchNormalization()]).build(),
     ValueError, "the last layer must be Dense"),
])
def test_bad_normalization_settings(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_keras_parameters_config_and_summary():
    bn, ln = fm.BatchNormalization(), fm.LayerNormalization()
    assert (bn.momentum, bn.epsilon, bn.center, bn.scale) == (0.99, 1e-3, True, True)
    assert (ln.epsilon, ln.center, ln.scale) == (1e-3, True, True)
    model = fm.Sequential([fm.Input((3,)), fm.Dense(4), fm.BatchNormalization(momentum=0.9),
                           fm.Dense(2), fm.LayerNormalization(scale=False), fm.Dense(1)])
    assert model.count_params() == 16 + 16 + 10 + 2 + 3
    clone = fm.Sequential.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    lines = []
    model.summary(print_fn=lines.append)
    assert "batch_norm_1 (BatchNormalization)" in lines[0]


def test_normalization_helps_on_raw_digits():
    """Raw digits pixels (0-16, not standardized) through three sigmoid layers: plain SGD
    barely learns in 10 epochs; with either normalization after each hidden layer it does."""
    X, y = fm.datasets.load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.25, stratify=y,
                                                           seed=0)
    scores = {}
    for norm in (None, fm.BatchNormalization, fm.LayerNormalization):
        layers = [fm.Input((64,))]
        for _ in range(3):
            layers.append(fm.Dense(64, activation="sigmoid"))
            if norm is not None:
                layers.append(norm())
        model = fm.Sequential([*layers, fm.Dense(10, activation="softmax")], seed=0)
        model.compile(fm.optimizers.SGD(0.05), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(X_train, y_train, epochs=10, batch_size=32, verbose=0)
        scores[norm] = model.evaluate(X_test, y_test)[1]
    assert scores[None] < 0.5
    assert scores[fm.BatchNormalization] > 0.85 and scores[fm.LayerNormalization] > 0.85
