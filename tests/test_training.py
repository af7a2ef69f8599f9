"""Training learns real data, and seeded runs reproduce exactly."""
import numpy as np
import pytest

import fastmlp as fm


def _breast_cancer_split(seed=0):
    X, y = fm.datasets.load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.25, stratify=y,
                                                           seed=seed)
    scaler = fm.StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_breast_cancer_mlp_reaches_95_percent_held_out(backend, dtype_name):
    X_train, X_test, y_train, y_test = _breast_cancer_split()
    model = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=30),
                           fm.Dense(1, activation="sigmoid")], seed=0, dtype=dtype_name,
                          backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=30, batch_size=32, validation_split=0.2,
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert len(history.history["val_loss"]) == 30
    assert model.evaluate(X_test, y_test, return_dict=True)["accuracy"] >= 0.95


def test_logistic_regression_is_a_model_without_hidden_layer(backend):
    X_train, X_test, y_train, y_test = _breast_cancer_split(seed=1)
    model = fm.Sequential([fm.Dense(1, activation="sigmoid", input_dim=30)], seed=0,
                          backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=40, batch_size=16, verbose=0)
    assert model.evaluate(X_test, y_test, return_dict=True)["accuracy"] >= 0.95


def test_linear_regression_recovers_known_coefficients(backend):
    coef = np.array([2.0, -3.0, 0.5])
    X, y = fm.datasets.make_regression(n_samples=200, n_features=3, coef=coef, bias=1.0,
                                       noise=0.0, seed=0)
    model = fm.Sequential([fm.Dense(1, input_dim=3)], seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.1), loss="mean_squared_error")
    model.fit(X, y, epochs=500, batch_size=None, verbose=0)  # full-batch gradient descent
    W, b = model.get_weights()
    np.testing.assert_allclose(W[:, 0], coef, atol=1e-3)
    assert b[0] == pytest.approx(1.0, abs=1e-3)
    assert model.optimizer.iterations == 500


def test_xor_learned_by_2_4_1_network(backend):
    X, y = fm.datasets.xor_truth_table()
    model = fm.Sequential([fm.Dense(4, activation="tanh", input_dim=2),
                           fm.Dense(1, activation="sigmoid")], seed=1, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=2000, batch_size=None, verbose=0)
    predictions = (model.predict(X)[:, 0] > 0.5).astype(int)
    np.testing.assert_array_equal(predictions, y)
    assert model.evaluate(X, y, return_dict=True)["loss"] < 0.1


def test_stochastic_and_full_batch_step_counts(backend):
    X, y = fm.datasets.make_moons(n_samples=50, noise=0.1, seed=0)
    for batch_size, steps in [(1, 50), (None, 1), (1000, 1), (16, 4)]:
        model = fm.Sequential([fm.Dense(3, activation="relu", input_dim=2),
                               fm.Dense(1, activation="sigmoid")], seed=0, backend=backend)
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(X, y, epochs=2, batch_size=batch_size, verbose=0)
        assert model.optimizer.iterations == 2 * steps


def test_seeded_runs_reproduce_bit_for_bit(backend, dtype):
    X, y = fm.datasets.make_moons(n_samples=120, noise=0.2, seed=3)

    def run(seed):
        model = fm.Sequential([fm.Dense(8, activation="relu", input_dim=2),
                               fm.Dense(1, activation="sigmoid")], seed=seed, dtype=dtype,
                              backend=backend)
        model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.2),
                      loss="binary_crossentropy")
        model.fit(X, y, epochs=5, batch_size=10, shuffle=True, verbose=0)
        return model.get_weights()

    first, second, other = run(11), run(11), run(12)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))


def test_validation_data_and_split_are_reported(backend):
    X, y = fm.datasets.make_moons(n_samples=100, noise=0.1, seed=0)
    model = fm.Sequential([fm.Dense(8, activation="tanh", input_dim=2),
                           fm.Dense(1, activation="sigmoid")], seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(0.5), loss="binary_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(X[:80], y[:80], epochs=3, validation_data=(X[80:], y[80:]), verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.history["val_loss"][-1] == pytest.approx(
        model.evaluate(X[80:], y[80:], return_dict=True)["loss"])
    h = model.fit(X, y, epochs=2, validation_split=0.25, verbose=0)
    assert len(h.history["val_accuracy"]) == 2
