"""fastmlp.sklearn: scikit-learn's estimator checks, the same objective as scikit-learn's
MLP stepped side by side, the classifier's target kinds, sample weights, warm starts that
keep the optimizer state, stopping rules, and the model-selection tools."""
import pickle
import warnings

import joblib

import numpy as np
import pytest

pytest.importorskip("sklearn")

import sklearn.neural_network as sknn
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import (GridSearchCV, StratifiedKFold,
                                     cross_val_score, train_test_split)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastmlp as fm
from fastmlp import datasets
from fastmlp.sklearn import MLPClassifier, MLPRegressor


def _scaled(name):
    X, y = datasets.load(name)
    return StandardScaler().fit_transform(X), y


# ----------------------------------------------------------------------------------------
# scikit-learn's own conformance checks
# ----------------------------------------------------------------------------------------
@parametrize_with_checks([MLPClassifier(hidden_layer_sizes=(16,), random_state=0),
                          MLPRegressor(hidden_layer_sizes=(16,), random_state=0)])
@pytest.mark.slow
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ----------------------------------------------------------------------------------------
# the objective is scikit-learn's: step both side by side from the same weights
# ----------------------------------------------------------------------------------------
def _targets(kind, rng, n):
    if kind == "binary":
        return rng.choice(["no", "yes"], size=n)
    if kind == "multiclass":
        return rng.integers(0, 3, size=n)
    if kind == "multilabel":
        return (rng.random((n, 3)) < 0.4).astype(int)
    if kind == "regression":
        return rng.normal(size=n) * 3 + 1
    return rng.normal(size=(n, 2))  # multi-output regression


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression",
                                  "multioutput"])
@pytest.mark.parametrize("solver", [
    dict(solver="sgd", momentum=0.0),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    dict(solver="sgd", momentum=0.8, nesterovs_momentum=True),
    dict(solver="sgd", momentum=0.0, learning_rate="invscaling", power_t=0.3),
], ids=["sgd", "momentum", "nesterov", "invscaling"])
def test_same_objective_and_steps_as_sklearn(kind, solver, backend):
    """Full-batch training from identical weights, with sample weights and an L2 penalty:
    scikit-learn's loss curve and weights are reproduced to rounding, which pins the loss
    scale, the penalty (kernels only, alpha / (2 sum(w))), the weights' normalisation, the
    momentum rules and the invscaling schedule."""
    rng = np.random.default_rng(7)
    n = 60
    X = rng.normal(size=(n, 4))
    y = _targets(kind, rng, n)
    sw = rng.uniform(0.2, 3.0, size=n)
    regression = kind in ("regression", "multioutput")
    ours_cls, theirs_cls = ((MLPRegressor, sknn.MLPRegressor) if regression
                            else (MLPClassifier, sknn.MLPClassifier))
    params = dict(hidden_layer_sizes=(5, 3), activation="tanh", alpha=0.3,
                  learning_rate_init=0.05, batch_size=n, shuffle=False, tol=0.0,
                  n_iter_no_change=10**6, warm_start=True, **solver)
    ours = ours_cls(max_iter=1, random_state=0, backend=backend, **params)
    theirs = theirs_cls(max_iter=1, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y, sample_weight=sw)
        theirs.fit(X, y, sample_weight=sw)
        # start both from our weights with a fresh optimizer and an unchanged schedule
        theirs.coefs_ = [w.copy() for w in ours.coefs_]
        theirs.intercepts_ = [b.copy() for b in ours.intercepts_]
        ours.model_.optimizer.reset()
        ours.t_, theirs.t_ = 0, 0
        ours.loss_curve_, theirs.loss_curve_ = [], []
        ours.set_params(max_iter=15).fit(X, y, sample_weight=sw)
        theirs.set_params(max_iter=15).fit(X, y, sample_weight=sw)
    if kind != "multioutput":  # there scikit-learn reports the mean over outputs, not
        # the sum its gradient descends (see fastmlp.sklearn's documentation)
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    assert ours.out_activation_ == theirs.out_activation_
    np.testing.assert_allclose(ours.predict(X) if regression else ours.predict_proba(X),
                               theirs.predict(X) if regression else theirs.predict_proba(X),
                               rtol=1e-8, atol=1e-12)


# ----------------------------------------------------------------------------------------
# classifier target kinds
# ----------------------------------------------------------------------------------------
def test_binary_string_labels():
    X, y = _scaled("breast_cancer")
    labels = np.array(["malignant", "benign"])[y]
    clf = MLPClassifier((16,), learning_rate_init=0.01, max_iter=30,
                        random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["benign", "malignant"]
    assert clf.out_activation_ == "logistic" and clf.model_.layers[-1].units == 1
    P = clf.predict_proba(X)
    assert P.shape == (len(X), 2)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    pred = clf.predict(X)
    assert set(pred) <= {"benign", "malignant"}
    np.testing.assert_array_equal(pred, clf.classes_[P.argmax(axis=1)])
    assert clf.score(X, labels) > 0.97
    with np.errstate(divide="ignore"):   # a probability of exactly 0 has log -inf
        np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P))


def test_multiclass():
    X, y = _scaled("iris")
    clf = MLPClassifier((16,), learning_rate_init=0.01, max_iter=200,
                        random_state=0).fit(X, y)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), P.argmax(axis=1))
    assert clf.score(X, y) > 0.95
    assert [w.shape for w in clf.coefs_] == [(4, 16), (16, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (3,)]
    assert clf.n_layers_ == 3 and clf.n_features_in_ == 4


def test_multilabel():
    X, Y = make_multilabel_classification(n_samples=300, n_features=10, n_classes=4,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=200,
                        random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    P = clf.predict_proba(X)
    assert P.shape == (300, 4) and ((P >= 0) & (P <= 1)).all()
    np.testing.assert_array_equal(clf.predict(X), (P > 0.5).astype(int))
    # per-label accuracy well above the majority guess
    assert (clf.predict(X) == Y).mean() > 0.9 > max(Y.mean(), 1 - Y.mean())


def test_partial_fit_with_classes_learns_and_checks_labels():
    X, y = _scaled("iris")
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], np.array(["setosa", "versicolor", "virginica"])[y[order]]
    clf = MLPClassifier((16,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:10], y[:10])
    clf.partial_fit(X[:10], y[:10], classes=["setosa", "versicolor", "virginica"])
    assert clf.n_iter_ == 1 and clf.n_outputs_ == 3
    for _ in range(60):
        for start in range(0, 150, 50):
            clf.partial_fit(X[start:start + 50], y[start:start + 50])
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match=r"not in `self\.classes_`"):
        clf.partial_fit(X[:3], ["setosa", "unknown", "setosa"])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X[:3], y[:3], classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="early_stopping"):
        clone(clf).set_params(early_stopping=True).partial_fit(X, y, classes=np.unique(y))


def test_regressor_partial_fit_continues():
    X, y = _scaled("diabetes")
    y = (y - y.mean()) / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    losses = []
    for _ in range(30):
        reg.partial_fit(X, y)
        losses.append(reg.loss_)
    assert losses[-1] < 0.5 * losses[0]
    assert len(reg.loss_curve_) == 30 and reg.model_.optimizer.iterations == 30 * 3


# ----------------------------------------------------------------------------------------
# dtypes, sample weights, warm starts
# ----------------------------------------------------------------------------------------
def test_float32_trains_in_float32():
    X, y = _scaled("breast_cancer")
    clf = MLPClassifier((8,), learning_rate_init=0.01, max_iter=20,
                        random_state=0).fit(X.astype(np.float32), y)
    assert clf.model_.dtype == np.float32
    assert all(w.dtype == np.float32 for w in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert clf.score(X, y) > 0.95
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5,
                       random_state=0).fit(X.astype(np.float32), y * 1.0)
    assert reg.model_.dtype == np.float32 and reg.predict(X).dtype == np.float32
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5).fit(X, y * 1.0)
    assert reg.model_.dtype == np.float64


@pytest.mark.parametrize("est", [MLPClassifier, MLPRegressor])
def test_sample_weight_zero_and_integer_weights_equal_removing_and_repeating(est, backend):
    """Full-batch gradient descent: a zero weight removes a row, an integer weight repeats
    it (also inside the L2 penalty's normalisation)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    if est is MLPRegressor:
        y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=40)
    sw = rng.integers(0, 3, size=40)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, alpha=0.5,
                  learning_rate_init=0.1, batch_size=1000, max_iter=25, tol=0.0,
                  n_iter_no_change=10**6, random_state=1, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning))
        weighted = est(**params).fit(X, y, sample_weight=sw)
        repeated = est(**params).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)
    for a, b in zip(weighted.coefs_, repeated.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_sample_weight_shifts_the_decision():
    X, y = _scaled("breast_cancer")
    params = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    plain = MLPClassifier(**params).fit(X, y)
    heavy = MLPClassifier(**params).fit(X, y, sample_weight=np.where(y == 1, 20.0, 1.0))
    # weighting class 1 up raises its probability everywhere on average
    assert heavy.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.02
    with pytest.raises(ValueError, match="sample_weight"):
        MLPClassifier(**params).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="zero"):
        MLPClassifier(**params).fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start_restarts_the_optimizer_as_sklearn(solver, backend):
    """A warm fit starts from the previous weights with a fresh optimizer (t_ carrying
    on), as scikit-learn's: two warm fits give scikit-learn's weights after its two."""
    X, y = _scaled("iris")
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=4, tol=0.0,
                  n_iter_no_change=10**6, random_state=0, warm_start=True,
                  learning_rate="invscaling" if solver == "sgd" else "constant")
    ours = MLPClassifier(backend=backend, **params)
    theirs = sknn.MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            ours.fit(X, y)
            theirs.fit(X, y)
    if solver != "lbfgs":
        assert ours.model_.optimizer.iterations == 4 and ours.t_ == theirs.t_ == 8 * 150
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_warm_start_changes():
    X, y = _scaled("iris")
    clf = MLPClassifier((8,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        model, weights = clf.model_, clf.model_.get_weights()
        clf.set_params(learning_rate_init=0.01, max_iter=1)
        clf._initial_weights = None    # a warm fit draws no new weights
        clf.fit(X, y)
        del clf._initial_weights
        assert clf.model_ is model and clf.model_.optimizer.learning_rate == 0.01
        assert clf.model_.optimizer.iterations == 1     # a fresh optimizer
        assert not np.array_equal(clf.model_.get_weights()[0], weights[0])
        clf.set_params(solver="sgd").fit(X, y)             # another solver
        assert type(clf.model_.optimizer).__name__ == "Nesterov"
        clf.set_params(early_stopping=True, max_iter=3).fit(X, y)   # switching it on works
        assert len(clf.validation_scores_) == clf.n_iter_
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 2], y[y < 2])


# ----------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", sorted(fm.optimizers.OPTIMIZERS))
def test_every_optimizer_is_a_solver(solver):
    X, y = _scaled("breast_cancer")
    lr = {"adadelta": 1.0, "sgd": 0.1}.get(solver, 0.01)
    clf = MLPClassifier((8,), solver=solver, learning_rate_init=lr, max_iter=15,
                        momentum=0.0 if solver == "sgd" else 0.9, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.model_.optimizer.name == solver
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9


def test_solver_mapping_and_optimizer_instances():
    X, y = _scaled("iris")
    kinds = {}
    for params in (dict(solver="sgd", momentum=0.0), dict(solver="sgd", momentum=0.5,
                   nesterovs_momentum=False), dict(solver="sgd", momentum=0.5),
                   dict(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-6)):
        clf = MLPClassifier((4,), max_iter=1, **params).fit(X, y)
        kinds[type(clf.model_.optimizer).__name__] = clf.model_.optimizer
    assert set(kinds) == {"SGD", "Momentum", "Nesterov", "Adam"}
    assert kinds["Momentum"].momentum == 0.5
    adam = kinds["Adam"]
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.8, 0.99, 1e-6)
    given = fm.optimizers.RMSprop(learning_rate=0.003)
    clf = MLPClassifier((4,), solver=given, max_iter=2).fit(X, y)
    assert clf.model_.optimizer is not given and given.iterations == 0
    assert clf.model_.optimizer.learning_rate == 0.003
    assert clone(clf).get_params()["solver"] is not given


@pytest.mark.parametrize("activation, expected", [("identity", "linear"),
                                                  ("logistic", "sigmoid"), ("tanh", "tanh"),
                                                  ("relu", "relu"), ("elu", "elu")])
def test_activation_names(activation, expected):
    X, y = _scaled("iris")
    clf = MLPClassifier((4, 3), activation=activation, max_iter=1).fit(X, y)
    assert [layer.activation for layer in clf.model_.layers] == [expected, expected,
                                                                "softmax"]


@pytest.mark.parametrize("params, match", [
    (dict(solver="newton"), "unknown solver 'newton'; valid solvers are: lbfgs, sgd"),
    (dict(activation="softmax"), "only used for the output layer"),
    (dict(activation="swish2"), "unknown activation"),
    (dict(hidden_layer_sizes=(4, 0)), r"hidden_layer_sizes\[1\]"),
    (dict(hidden_layer_sizes="big"), "hidden_layer_sizes"),
    (dict(alpha=-1.0), "alpha"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size="big"), "batch_size"),
    (dict(learning_rate="optimal"), "learning_rate must be one of"),
    (dict(learning_rate_init=0.0), "learning_rate_init"),
    (dict(max_iter=0), "max_iter"),
    (dict(tol=-1.0), "tol"),
    (dict(momentum=1.5), "momentum"),
    (dict(validation_fraction=1.0), "validation_fraction"),
    (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(shuffle="yes"), "shuffle"),
    (dict(beta_1=1.0), "beta_1"),
    (dict(epsilon=0.0), "epsilon"),
])
def test_bad_parameters_raise_at_fit(params, match):
    X, y = _scaled("iris")
    clf = MLPClassifier(**params)        # no validation in __init__ (scikit-learn's rule)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_not_fitted_and_wrong_features():
    X, y = _scaled("iris")
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    with pytest.raises(AttributeError):
        _ = MLPClassifier().coefs_
    clf = MLPClassifier((4,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="4 features"):
        clf.predict(X[:, :3])


def test_feature_names_in():
    pd = pytest.importorskip("pandas")
    X, y = datasets.load_iris()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    clf = MLPClassifier((4,), max_iter=2).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["f0", "f1", "f2", "f3"])


# ----------------------------------------------------------------------------------------
# stopping rules
# ----------------------------------------------------------------------------------------
def test_tol_and_n_iter_no_change_stop_training():
    X, y = _scaled("breast_cancer")
    clf = MLPClassifier((16,), learning_rate_init=0.01, tol=1e-3, n_iter_no_change=3,
                        max_iter=500, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500 and len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.loss_ == clf.loss_curve_[-1]
    # scikit-learn's rule: count the epochs whose loss is not below the best so far
    # minus tol, reset on improvement; stop once the count exceeds n_iter_no_change
    best, count, stop = np.inf, 0, None
    for epoch, loss in enumerate(clf.loss_curve_, 1):
        count = count + 1 if loss > best - 1e-3 else 0
        best = min(best, loss)
        if count > 3:
            stop = epoch
            break
    assert stop == clf.n_iter_
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((4,), max_iter=3).fit(X, y)


def test_early_stopping_restores_the_best_weights():
    X, y = _scaled("digits")
    clf = MLPClassifier((32,), early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=5, max_iter=300, random_state=0).fit(X, y)
    assert clf.n_iter_ < 300 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    # the held-out split is reproduced from random_state; its score is the best one
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.2,
                                          random_state=_split_state(clf, 0, X.shape[1]))
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_)


def _split_state(clf, random_state, n_features):
    """The RandomState the estimator splits with, as scikit-learn's: the one left after
    drawing the initial weights (and not stratified for a multiclass target)."""
    rs = np.random.RandomState(random_state)
    clf._initial_weights(n_features, rs, np.float64)
    return rs


@pytest.mark.parametrize("schedule", ["adaptive", "invscaling"])
def test_sgd_learning_rate_schedules_follow_sklearn(schedule):
    X, y = _scaled("iris")
    params = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate=schedule,
                  learning_rate_init=0.1, power_t=0.25, tol=10.0, n_iter_no_change=2,
                  max_iter=40, random_state=0)
    ours, theirs = MLPClassifier(**params), sknn.MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    # tol=10: no epoch after the first (which sets the best loss) counts as an
    # improvement, so "adaptive" divides the rate by 5 every 3 epochs until it is
    # <= 1e-6 and then stops, and "invscaling" stops after 4 epochs
    assert ours.n_iter_ == theirs.n_iter_ == (28 if schedule == "adaptive" else 4)
    assert ours.model_.optimizer.learning_rate == pytest.approx(
        theirs._optimizer.learning_rate, rel=1e-12)


def test_verbose_prints_the_loss(capsys):
    X, y = _scaled("iris")
    MLPClassifier((4,), max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


# ----------------------------------------------------------------------------------------
# scikit-learn's model-selection tools
# ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_pipeline_grid_search_two_jobs_and_cross_val_score():
    X, y = datasets.load_breast_cancer()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(learning_rate_init=0.01,
                                                         max_iter=20, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(8,), (16,)],
                               "mlpclassifier__alpha": [1e-4, 1e-1]}, cv=3, n_jobs=2)
    grid.fit(X, y)
    assert grid.best_score_ > 0.95
    # the parallel search equals the same search in this process
    serial = GridSearchCV(pipe, grid.param_grid, cv=3, n_jobs=1).fit(X, y)
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"])
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(5))
    assert scores.shape == (5,) and scores.mean() > 0.95


def test_pickle_and_clone(tmp_path):
    X, y = _scaled("iris")
    clf = MLPClassifier((8,), max_iter=50, random_state=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.model_.optimizer.iterations == clf.model_.optimizer.iterations
    with warnings.catch_warnings():                    # both continue identically
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(back.fit(X, y).predict_proba(X),
                                      clf.fit(X, y).predict_proba(X))
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "model_")
    # loaded as read-only memory maps (joblib, as parallel searches do): still predicts
    # and keeps training, on writable copies
    path = tmp_path / "clf.joblib"
    joblib.dump(clf, path)
    mapped = joblib.load(path, mmap_mode="r")
    np.testing.assert_array_equal(mapped.predict_proba(X), clf.predict_proba(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mapped.fit(X, y)
    assert mapped.model_.optimizer.iterations == 50 and mapped.t_ == clf.t_ + 50 * len(X)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y * 1.0)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


# ----------------------------------------------------------------------------------------
# accuracy against scikit-learn's MLP at equal settings (the timing is in benchmarks/)
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, max_iter", [("breast_cancer", 50), ("iris", 200),
                                            ("digits", 30)])
@pytest.mark.slow
def test_accuracy_within_one_point_of_sklearn(name, max_iter):
    """Mean held-out accuracy over 5 stratified folds x 3 seeds, same settings."""
    X, y = datasets.load(name)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(3):
            cv = StratifiedKFold(5, shuffle=True, random_state=seed)
            for cls, out in ((MLPClassifier, ours), (sknn.MLPClassifier, theirs)):
                pipe = make_pipeline(StandardScaler(), cls(hidden_layer_sizes=(64,),
                                                           max_iter=max_iter,
                                                           random_state=seed))
                out.append(cross_val_score(pipe, X, y, cv=cv).mean())
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01, (np.mean(ours), np.mean(theirs))
