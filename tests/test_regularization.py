"""Dropout, L1/L2 regularizers, sample and class weights, multilabel and the newer losses:
behaviour through the public API on both backends."""
import numpy as np
import pytest

import fastmlp as fm


def _regression(n=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=(d, 2)) + 0.1 * rng.normal(size=(n, 2))
    return X, y


def _net(backend, rate=0.0, seed=0, **dense):
    layers = [fm.Dense(16, activation="relu", input_dim=4, **dense)]
    if rate:
        layers.append(fm.Dropout(rate))
    layers += [fm.Dense(8, activation="tanh", **dense)]
    if rate:
        layers.append(fm.Dropout(rate))
    layers.append(fm.Dense(2, **dense))
    return fm.Sequential(layers, seed=seed, backend=backend)


# ---------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------
def test_dropout_is_the_identity_outside_fit(backend):
    X, y = _regression()
    with_dropout, plain = _net(backend, rate=0.5), _net(backend)
    for m in (with_dropout, plain):
        m.compile(loss="mse")
    assert len(with_dropout.get_weights()) == len(plain.get_weights()) == 6
    with_dropout.fit(X, y, epochs=2, batch_size=8, verbose=0)
    plain.set_weights(with_dropout.get_weights())
    np.testing.assert_array_equal(with_dropout.predict(X), plain.predict(X))
    assert with_dropout.evaluate(X, y, return_dict=True) == plain.evaluate(X, y, return_dict=True)
    for a, b in zip(with_dropout.layer_outputs(X), plain.layer_outputs(X)):
        np.testing.assert_array_equal(a, b)
    first = with_dropout.predict(X)
    np.testing.assert_array_equal(with_dropout.predict(X), first)  # deterministic


def test_dropout_training_is_seeded_and_changes_training(backend):
    X, y = _regression()
    runs = []
    for seed in (3, 3, 4):
        m = _net(backend, rate=0.3, seed=seed)
        m.compile(loss="mse")
        m.fit(X, y, epochs=3, batch_size=8, verbose=0)
        runs.append(m.get_weights())
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    plain = _net(backend, seed=3)
    plain.compile(loss="mse")
    plain.fit(X, y, epochs=3, batch_size=8, verbose=0)
    assert not np.allclose(plain.get_weights()[2], runs[0][2])


def test_dropout_masks_are_inverted_and_keep_the_right_fraction():
    model = _net("numpy", rate=0.25, seed=0)
    masks = model._dropout_masks(model._dropout_rates(), 1234, 0, 4000)
    assert masks[0] is None and masks[3] is None  # no dropout on the inputs, the output
    for mask, units in zip(masks[1:3], (16, 8)):
        assert mask.shape == (4000, units) and mask.dtype == np.float64
        assert set(np.unique(mask)) == {0.0, 1 / 0.75}
        assert np.mean(mask == 0) == pytest.approx(0.25, abs=0.01)
        assert mask.mean() == pytest.approx(1.0, abs=0.02)  # E[mask] = 1: inverted dropout


def test_dropout_reduces_the_train_validation_gap(backend):
    """An over-parameterized net on 80 rows of diabetes: dropout narrows the gap between
    training and held-out loss (and improves the held-out loss) at a fixed seed."""
    X, y = fm.datasets.load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.5, seed=0)
    X_train, y_train = X_train[:80], y_train[:80]
    scaler = fm.StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    mu, sd = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - mu) / sd, (y_test - mu) / sd
    result = {}
    for rate in (0.0, 0.5):
        model = fm.Sequential([fm.Dense(128, activation="relu", input_dim=10),
                               fm.Dropout(rate), fm.Dense(128, activation="relu"),
                               fm.Dropout(rate), fm.Dense(1)], seed=0, backend=backend)
        model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.02), loss="mse")
        model.fit(X_train, y_train, epochs=300, batch_size=16, verbose=0)
        train = model.evaluate(X_train, y_train, return_dict=True)["loss"]
        test = model.evaluate(X_test, y_test, return_dict=True)["loss"]
        result[rate] = (train, test, test - train)
    assert result[0.0][0] < 0.05  # without dropout the net memorizes the training set
    assert result[0.5][2] < 0.7 * result[0.0][2]
    assert result[0.5][1] < result[0.0][1]


def test_dropout_placement_and_rate_are_checked():
    model = fm.Sequential([fm.Dense(3, input_dim=2), fm.Dropout(0.5)])
    with pytest.raises(ValueError, match="last layer must be Dense"):
        model.compile(loss="mse")
    for rate in (1.0, -0.1, float("nan"), "half"):
        with pytest.raises(ValueError, match="Dropout rate"):
            fm.Dropout(rate)
    with pytest.raises(TypeError, match="Dense and Dropout"):
        fm.Sequential([object()])


def test_summary_and_config_of_dropout():
    model = fm.Sequential([fm.Dense(5, activation="relu", input_dim=3), fm.Dropout(0.2),
                           fm.Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "dropout_1 (Dropout)" in text and "rate=0.2" in text
    assert "Total params: 26" in text
    assert model.count_params() == 26
    assert model.layers[1].get_config() == {"rate": 0.2, "name": "dropout_1"}
    assert [w.shape for w in model.get_weights()] == [(3, 5), (5,), (5, 1), (1,)]


def test_consecutive_dropouts_act_as_one():
    model = fm.Sequential([fm.Dense(5, input_dim=3), fm.Dropout(0.5), fm.Dropout(0.2),
                           fm.Dense(1)])
    assert model._dropout_rates() == pytest.approx((0.0, 0.6, 0.0))


def test_dropout_on_the_inputs(backend):
    """A Dropout first drops input features during fit only; summary shows it."""
    X, y = _regression()
    model = fm.Sequential([fm.Dropout(0.5), fm.Dense(8, activation="tanh", input_dim=4),
                           fm.Dense(2)], seed=0, backend=backend)
    assert model.input_dim == 4 and model._dropout_rates() == (0.5, 0.0, 0.0)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05), loss="mse")
    plain = fm.Sequential([fm.Dense(8, activation="tanh", input_dim=4), fm.Dense(2)], seed=0,
                          backend=backend)
    plain.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05), loss="mse")
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    plain.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(model.get_weights()[0], plain.get_weights()[0])
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(X), plain.predict(X))
    lines = []
    model.summary(print_fn=lines.append)
    assert "dropout_0 (Dropout)" in lines[0] and "(None, 4)" in lines[0]


# ---------------------------------------------------------------------------------------
# Regularizers
# ---------------------------------------------------------------------------------------
def test_l2_penalty_under_sgd_equals_weight_decay_of_twice_its_factor(backend):
    """Keras' l2(c) adds 2 c W to the gradient: under plain SGD it is weight decay 2 c
    (and only there); the reported loss differs by the penalty."""
    X, y = _regression()
    reg = fm.regularizers.l2(0.05)
    penalized = _net(backend, kernel_regularizer=reg, bias_regularizer=reg)
    decayed = _net(backend)
    penalized.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05), loss="mse")
    decayed.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05, weight_decay=0.1),
                    loss="mse")
    h_pen = penalized.fit(X, y, epochs=3, batch_size=10, verbose=0)
    h_dec = decayed.fit(X, y, epochs=3, batch_size=10, verbose=0)
    for a, b in zip(penalized.get_weights(), decayed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    penalty = 0.05 * sum(float((w ** 2).sum()) for w in penalized.get_weights())
    assert penalized.evaluate(X, y, return_dict=True)["loss"] == pytest.approx(
        decayed.evaluate(X, y, return_dict=True)["loss"] + penalty, rel=1e-10)
    assert h_pen.history["loss"][-1] > h_dec.history["loss"][-1]


def test_l1_drives_weights_towards_zero(backend):
    X, y = _regression(n=60)
    sparse = _net(backend, kernel_regularizer=fm.regularizers.l1(0.05))
    plain = _net(backend)
    for m in (sparse, plain):
        m.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05), loss="mse")
        m.fit(X, y, epochs=40, batch_size=10, verbose=0)
    l1 = [float(np.abs(m.get_weights()[0]).sum()) for m in (sparse, plain)]
    assert l1[0] < 0.6 * l1[1]


def test_regularizer_lookup_config_and_errors():
    assert fm.regularizers.get("l1") == fm.regularizers.L1L2(l1=0.01)
    assert fm.regularizers.get({"l1": 0.1, "l2": 0.2}) == fm.regularizers.l1_l2(0.1, 0.2)
    layer = fm.Dense(3, kernel_regularizer="l2", bias_regularizer=fm.regularizers.l1(0.5))
    config = layer.get_config()
    assert config["kernel_regularizer"] == {"l1": 0.0, "l2": 0.01}
    assert config["bias_regularizer"] == {"l1": 0.5, "l2": 0.0}
    rebuilt = fm.Dense(**config)
    assert rebuilt.kernel_regularizer == layer.kernel_regularizer
    assert rebuilt.bias_regularizer == layer.bias_regularizer
    with pytest.raises(ValueError, match="valid regularizers are: l1, l2, l1_l2"):
        fm.regularizers.get("l3")
    with pytest.raises(ValueError, match=r"regularization factor l2 must be >= 0\.0, got -1"):
        fm.regularizers.l2(-1)
    with pytest.raises(ValueError, match="regularization factor l1 must be finite, got inf"):
        fm.regularizers.l1(float("inf"))
    with pytest.raises(ValueError, match="unknown keys"):
        fm.regularizers.get({"l3": 1})


# ---------------------------------------------------------------------------------------
# Sample and class weights
# ---------------------------------------------------------------------------------------
def test_unit_sample_weights_change_nothing_and_scaling_scales_the_loss(backend):
    X, y = _regression()
    a, b = _net(backend), _net(backend)
    for m in (a, b):
        m.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05), loss="mse")
    h_a = a.fit(X, y, epochs=2, batch_size=7, verbose=0)
    h_b = b.fit(X, y, epochs=2, batch_size=7, verbose=0, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(h_a.history["loss"], h_b.history["loss"], rtol=1e-12)
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-12)
    loss = a.evaluate(X, y, return_dict=True)["loss"]
    assert a.evaluate(X, y, sample_weight=np.full(len(X), 2.5),
                      return_dict=True)["loss"] == pytest.approx(2.5 * loss, rel=1e-12)
    # a zero weight removes a row from the loss: sum_i w_i l_i / n
    w = np.ones(len(X))
    w[:10] = 0
    rest = a.evaluate(X[10:], y[10:], return_dict=True)["loss"]
    assert a.evaluate(X, y, sample_weight=w, return_dict=True)["loss"] == pytest.approx(
        rest * (len(X) - 10) / len(X), rel=1e-12)


def test_class_weight_equals_the_matching_sample_weight(backend):
    X, y = fm.datasets.load_iris(return_X_y=True)
    X = fm.StandardScaler().fit_transform(X)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    models = []
    for kwargs in ({"class_weight": class_weight},
                   {"sample_weight": np.array([class_weight[c] for c in y])}):
        m = fm.Sequential([fm.Dense(6, activation="tanh", input_dim=4),
                           fm.Dense(3, activation="softmax")], seed=0, backend=backend)
        m.compile(optimizer=fm.optimizers.SGD(learning_rate=0.1),
                  loss="sparse_categorical_crossentropy")
        m.fit(X, y, epochs=3, batch_size=16, verbose=0, **kwargs)
        models.append(m)
    for p, q in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(p, q)


def test_class_weight_improves_minority_recall_on_imbalanced_breast_cancer(backend):
    """Breast cancer with only 1 in 10 malignant training rows (17 against 250): balanced
    class weights raise the held-out recall of the malignant class."""
    X, y = fm.datasets.load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.3, stratify=y,
                                                           seed=0)
    scaler = fm.StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    keep = (y_train == 1) | (np.random.default_rng(0).random(len(y_train)) < 0.1)
    X_train, y_train = X_train[keep], y_train[keep]
    counts = np.bincount(y_train.astype(int))
    assert counts[0] * 10 < counts[1]
    balanced = {c: len(y_train) / (2 * counts[c]) for c in (0, 1)}
    recall, accuracy = {}, {}
    for name, class_weight in (("plain", None), ("balanced", balanced)):
        model = fm.Sequential([fm.Dense(8, activation="tanh", input_dim=30),
                               fm.Dense(1, activation="sigmoid")], seed=1, backend=backend)
        model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05),
                      loss="binary_crossentropy")
        model.fit(X_train, y_train, epochs=10, batch_size=32, verbose=0,
                  class_weight=class_weight)
        predicted = (model.predict(X_test)[:, 0] >= 0.5).astype(int)
        recall[name] = np.mean(predicted[y_test == 0] == 0)
        accuracy[name] = np.mean(predicted == y_test)
    assert recall["balanced"] >= recall["plain"] + 0.05
    assert accuracy["balanced"] >= 0.9


@pytest.mark.parametrize("kwargs,error,match", [
    ({"sample_weight": -np.ones(12)}, ValueError, "must be >= 0"),
    ({"sample_weight": np.ones(11)}, ValueError, r"one weight per sample, shape \(12,\)"),
    ({"sample_weight": np.r_[np.ones(11), np.nan]}, ValueError, "non-finite"),
    ({"sample_weight": np.array(["a"] * 12)}, TypeError, "needs numbers"),
    ({"class_weight": {0: 1.0, 3: 2.0}}, ValueError, r"key 3.*valid classes: \[0, 1, 2\]"),
    ({"class_weight": {0: -1.0}}, ValueError, "finite and >= 0"),
    ({"class_weight": {0: float("inf")}}, ValueError, "finite and >= 0"),
    ({"class_weight": [1, 2, 3]}, TypeError, "must be a dict"),
    ({"class_weight": {"cat": 1.0}}, ValueError, "not a class"),
    ({"class_weight": {0: "heavy"}}, TypeError, "must be a number"),
])
def test_bad_weights_raise_before_training(backend, kwargs, error, match):
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.arange(12) % 3
    model = fm.Sequential([fm.Dense(3, activation="softmax", input_dim=2)], seed=0,
                          backend=backend)
    model.compile(loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(error, match=match):
        model.fit(X, y, verbose=0, **kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


def test_class_weight_needs_a_single_label_classification():
    model = fm.Sequential([fm.Dense(2, input_dim=2)])
    model.compile(loss="mse")
    with pytest.raises(ValueError, match="takes sample_weight instead"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 2)), class_weight={0: 1.0}, verbose=0)


def test_validation_data_takes_sample_weights(backend):
    X, y = _regression()
    model = _net(backend)
    model.compile(loss="mse")
    w_val = np.linspace(0, 2, 10)
    history = model.fit(X[:30], y[:30], epochs=1, verbose=0,
                        validation_data=(X[30:], y[30:], w_val))
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(X[30:], y[30:], sample_weight=w_val, return_dict=True)["loss"], rel=1e-12)


# ---------------------------------------------------------------------------------------
# Multilabel and the newer losses on real data
# ---------------------------------------------------------------------------------------
def test_multilabel_sigmoid_outputs_learn_digit_attributes(backend):
    """Three independent 0/1 labels per digit image (even, >= 5, prime) from one network
    with three sigmoid outputs under binary cross-entropy."""
    X, digit = fm.datasets.load_digits(return_X_y=True)
    Y = np.stack([digit % 2 == 0, digit >= 5, np.isin(digit, [2, 3, 5, 7])], axis=1)
    Y = Y.astype(float)
    X_train, X_test, Y_train, Y_test = fm.train_test_split(X, Y, test_size=0.3, seed=0)
    scaler = fm.StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), np.clip(scaler.transform(X_test), -5, 5)
    model = fm.Sequential([fm.Dense(32, activation="gelu", input_dim=64),
                           fm.Dense(3, activation="sigmoid")], seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy")
    model.fit(X_train, Y_train, epochs=20, batch_size=32, verbose=0)
    per_label = ((model.predict(X_test) >= 0.5) == Y_test).mean(axis=0)
    assert per_label.shape == (3,)
    assert np.all(per_label >= 0.9)


def test_hinge_loss_learns_breast_cancer_with_0_1_labels(backend):
    X, y = fm.datasets.load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.25, stratify=y,
                                                           seed=0)
    scaler = fm.StandardScaler().fit(X_train)
    model = fm.Sequential([fm.Dense(1, input_dim=30)], seed=0, backend=backend)  # linear SVM
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.01), loss="hinge")
    model.fit(scaler.transform(X_train), y_train, epochs=20, batch_size=16, verbose=0)
    scores = model.predict(scaler.transform(X_test))[:, 0]
    assert np.mean((scores > 0) == (y_test == 1)) >= 0.95
    # -1/1 labels are the same targets
    loss01 = model.evaluate(scaler.transform(X_test), y_test, return_dict=True)["loss"]
    assert model.evaluate(scaler.transform(X_test), 2 * y_test - 1,
                          return_dict=True)["loss"] == loss01
    with pytest.raises(ValueError, match="hinge needs labels in"):
        model.evaluate(scaler.transform(X_test), y_test * 2, return_dict=True)


@pytest.mark.parametrize("loss", ["mean_absolute_error", "huber"])
def test_robust_regression_losses_learn_diabetes(backend, loss):
    X, y = fm.datasets.load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.3, seed=0)
    scaler = fm.StandardScaler().fit(X_train)
    mu, sd = y_train.mean(), y_train.std()
    model = fm.Sequential([fm.Dense(16, activation="silu", input_dim=10), fm.Dense(1)],
                          seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.05), loss=loss)
    model.fit(scaler.transform(X_train), (y_train - mu) / sd, epochs=60, batch_size=16,
              verbose=0)
    predicted = model.predict(scaler.transform(X_test))[:, 0] * sd + mu
    mae = np.mean(np.abs(predicted - y_test))
    baseline = np.mean(np.abs(np.median(y_train) - y_test))
    assert mae < 0.75 * baseline


def test_activation_aliases_and_names():
    assert fm.activations.get("swish") == "silu"
    assert fm.activations.get("GELU") == "gelu"
    with pytest.raises(ValueError, match="hard_sigmoid, relu6"):
        fm.activations.get("hardswish")
    assert fm.losses.get("mae") == "mean_absolute_error"


def test_dropout_masks_do_not_depend_on_how_the_epoch_is_split(monkeypatch, backend):
    """Compiled calls are sized by measured time, so masks must not depend on the split."""
    import fastmlp.models

    X, y = fm.datasets.make_moons(n_samples=60, noise=0.2, seed=0)

    def run(mask_limit):
        monkeypatch.setattr(fastmlp.models, "_MASK_ELEMENTS", mask_limit)
        model = fm.Sequential([fm.Dense(8, activation="relu", input_dim=2), fm.Dropout(0.3),
                               fm.Dense(1, activation="sigmoid")], seed=0, backend=backend)
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(X, y, epochs=2, batch_size=5, verbose=0)
        return model.get_weights()

    whole, split = run(1 << 20), run(40)  # one call per epoch vs one batch per call
    for a, b in zip(whole, split):
        np.testing.assert_array_equal(a, b)


def test_accuracy_follows_the_loss_for_multilabel_and_hinge(backend):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    multilabel = fm.Sequential([fm.Dense(3, activation="sigmoid", input_dim=2)], seed=0,
                               backend=backend)
    multilabel.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    Y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=float)
    P = multilabel.predict(X)
    expected = np.mean((P >= 0.5) == (Y == 1))  # element-wise, not argmax per row
    assert multilabel.evaluate(X, Y, return_dict=True)["accuracy"] == pytest.approx(expected)

    hinge = fm.Sequential([fm.Dense(1, input_dim=2)], seed=0, backend=backend)
    hinge.compile("sgd", "hinge", metrics=["accuracy"])
    y = np.array([1, 0, 1, 0])
    scores = hinge.predict(X)[:, 0]
    assert hinge.evaluate(X, y, return_dict=True)["accuracy"] == pytest.approx(
        np.mean((scores > 0) == (y == 1)))
