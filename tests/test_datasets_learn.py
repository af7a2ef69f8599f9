"""Every data set is learned: real ones to published-level held-out scores, synthetic
ones to near-perfect held-out accuracy. Features are standardized with training
statistics only; splits are stratified and seeded."""
import numpy as np
import pytest

import fastmlp as fm

# training to published scores takes seconds: the compiled run covers these (both backends)
pytestmark = pytest.mark.slow


def classifier(hidden, activation, n_classes, backend, seed=0, lr=0.05):
    head = (fm.Dense(1, activation="sigmoid") if n_classes == 2
            else fm.Dense(n_classes, activation="softmax"))
    model = fm.Sequential([*(fm.Dense(h, activation=activation) for h in hidden), head],
                          seed=seed, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=lr),
                  loss="binary_crossentropy" if n_classes == 2
                  else "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def held_out_accuracy(X, y, hidden, activation, lr, epochs, batch_size, backend,
                      test_size=0.25, seed=0):
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=test_size,
                                                           stratify=y, seed=seed)
    scaler = fm.StandardScaler().fit(X_train)
    model = classifier(hidden, activation, len(np.unique(y)), backend, seed, lr)
    model.fit(scaler.transform(X_train), y_train, epochs=epochs, batch_size=batch_size,
              verbose=0)
    return model.evaluate(scaler.transform(X_test), y_test, return_dict=True)["accuracy"]


def stratified_folds(y, k, seed):
    """Fold number of every sample: each class spread evenly over the k folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        fold[rows] = np.arange(len(rows)) % k
    return fold


def test_digits_95_percent_held_out(backend):
    X, y = fm.datasets.load_digits()
    assert X.shape == (1797, 64) and np.bincount(y).shape == (10,)
    accuracy = held_out_accuracy(X, y, [64], "relu", lr=0.05, epochs=30, batch_size=16,
                                 backend=backend)
    assert accuracy >= 0.95  # 450 held-out images


def test_iris_93_percent_in_5_fold_cross_validation(backend):
    """Each of the 150 flowers is predicted once by a model that never saw it (a single
    30-row test split moves by 3.3 points per flower, too coarse to judge on its own)."""
    X, y = fm.datasets.load_iris()
    assert X.shape == (150, 4)
    fold = stratified_folds(y, 5, seed=0)
    correct = 0
    for f in range(5):
        train, test = fold != f, fold == f
        scaler = fm.StandardScaler().fit(X[train])
        model = classifier([16], "tanh", 3, backend, seed=f, lr=0.1)
        model.fit(scaler.transform(X[train]), y[train], epochs=100, batch_size=8, verbose=0)
        correct += int(np.sum(model.predict(scaler.transform(X[test])).argmax(axis=1)
                              == y[test]))
    assert correct / 150 >= 0.93


def test_breast_cancer_in_5_fold_cross_validation(backend):
    X, y = fm.datasets.load_breast_cancer()
    fold = stratified_folds(y, 5, seed=0)
    correct = 0
    for f in range(5):
        train, test = fold != f, fold == f
        scaler = fm.StandardScaler().fit(X[train])
        model = classifier([16], "tanh", 2, backend, seed=f)
        model.fit(scaler.transform(X[train]), y[train], epochs=30, batch_size=16, verbose=0)
        correct += int(np.sum((model.predict(scaler.transform(X[test]))[:, 0] >= 0.5)
                              == y[test]))
    assert correct / 569 >= 0.95


def test_diabetes_regression_reaches_least_squares(backend):
    """A linear model trained by SGD gets the held-out R^2 of the exact least-squares fit;
    a small MLP does about as well (this data set is nearly linear)."""
    X, y = fm.datasets.load_diabetes()
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.25, seed=0)
    scaler = fm.StandardScaler().fit(X_train)
    Z_train, Z_test = scaler.transform(X_train), scaler.transform(X_test)
    mean, std = y_train.mean(), y_train.std()

    A = np.c_[Z_train, np.ones(len(Z_train))]
    coef, *_ = np.linalg.lstsq(A, y_train, rcond=None)
    r2_exact = fm.metrics.r2(y_test, np.c_[Z_test, np.ones(len(Z_test))] @ coef)
    assert r2_exact > 0.4

    scores = {}
    for name, hidden in (("linear", []), ("mlp", [8])):
        model = fm.Sequential([*(fm.Dense(h, activation="tanh") for h in hidden), fm.Dense(1)],
                              seed=0, backend=backend)
        model.compile(optimizer=fm.optimizers.SGD(0.01), loss="mse", metrics=["r2"])
        model.fit(Z_train, (y_train - mean) / std, epochs=100, batch_size=16, verbose=0)
        scores[name] = fm.metrics.r2(y_test, model.predict(Z_test)[:, 0] * std + mean)
    assert scores["linear"] == pytest.approx(r2_exact, abs=0.03)
    assert scores["mlp"] > 0.4


@pytest.mark.parametrize("name,make,hidden,lr,epochs,threshold", [
    ("moons", lambda: fm.datasets.make_moons(400, noise=0.2, seed=0), [16], 0.3, 100, 0.95),
    ("circles", lambda: fm.datasets.make_circles(400, noise=0.1, factor=0.5, seed=0), [16],
     0.3, 100, 0.95),
    ("xor", lambda: fm.datasets.make_xor(400, noise=0.2, seed=0), [8], 0.3, 100, 0.95),
    ("blobs", lambda: fm.datasets.make_blobs(300, centers=4, seed=0), [8], 0.1, 30, 0.98),
])
def test_synthetic_sets_are_learned(name, make, hidden, lr, epochs, threshold, backend):
    X, y = make()
    accuracy = held_out_accuracy(X, y, hidden, "tanh", lr, epochs, 16, backend)
    assert accuracy >= threshold, name


def test_spirals_are_learned(backend):
    """Two interleaved arms of one and a half turns: three ReLU layers and Adam."""
    X, y = fm.datasets.make_spirals(400, noise=0.03, seed=0)
    X_train, X_test, y_train, y_test = fm.train_test_split(X, y, test_size=0.25, stratify=y,
                                                           seed=0)
    model = fm.Sequential([fm.Dense(32, activation="relu"), fm.Dense(32, activation="relu"),
                           fm.Dense(32, activation="relu"), fm.Dense(1, activation="sigmoid")],
                          seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.Adam(learning_rate=0.005),
                  loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=300, batch_size=16, verbose=0)
    assert model.evaluate(X_test, y_test, return_dict=True)["accuracy"] >= 0.95


def test_a_linear_model_cannot_learn_circles():
    """The synthetic sets are not trivially separable: without a hidden layer the same
    training stays near chance on circles."""
    X, y = fm.datasets.make_circles(400, noise=0.1, factor=0.5, seed=0)
    assert held_out_accuracy(X, y, [], "tanh", 0.3, 100, 16, None) < 0.7


def test_make_regression_is_learned(backend):
    X, y, coef = fm.datasets.make_regression(200, n_features=3, noise=0.1, bias=2.0, seed=0,
                                             return_coef=True)
    model = fm.Sequential([fm.Dense(1)], seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(0.02), loss="mse")
    model.fit(X, y, epochs=60, batch_size=8, verbose=0)
    W, b = model.get_weights()
    np.testing.assert_allclose(W[:, 0], coef, atol=0.05)
    assert b[0] == pytest.approx(2.0, abs=0.05)
