"""fastmlp's estimators take scikit-learn's exact steps: side-by-side trajectories,
L-BFGS, the Poisson loss, scikit-learn's Adam form and its divergence rules."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import neural_network as sk
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score

from fastmlp import sklearn as fms


def _digits(n_class):
    X, y = load_digits(n_class=n_class, return_X_y=True)
    return X[:230] / 16.0, y[:230]


def _regression(n_targets=1):
    X, y = make_regression(n_samples=150, n_features=6, n_targets=n_targets, noise=5.0,
                           random_state=3)
    return X, y / np.std(y)


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def _fit_both(name, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(fms, name)(**params).fit(X, y)
        theirs = getattr(sk, name)(**params).fit(X, y)
        return ours, theirs


# batch_size 32 leaves a short last batch (230 = 7 * 32 + 6, 150 = 4 * 32 + 22), where
# scikit-learn's penalty alpha / (2 n_batch) is larger
TRAJECTORIES = [
    ("MLPClassifier", 3, dict(solver="adam", activation="relu")),
    ("MLPClassifier", 2, dict(solver="adam", activation="logistic", epsilon=1e-3)),
    ("MLPClassifier", 3, dict(solver="sgd", activation="tanh")),
    ("MLPClassifier", 2, dict(solver="sgd", activation="relu", nesterovs_momentum=False)),
    ("MLPClassifier", 3, dict(solver="sgd", activation="logistic", momentum=0.0)),
    ("MLPClassifier", 3, dict(solver="sgd", activation="relu", learning_rate="invscaling",
                              learning_rate_init=0.2, power_t=0.3)),
    ("MLPClassifier", 2, dict(solver="sgd", activation="tanh", learning_rate="invscaling",
                              learning_rate_init=0.2, nesterovs_momentum=False)),
    ("MLPRegressor", 1, dict(solver="sgd", activation="tanh", learning_rate="adaptive",
                             learning_rate_init=0.02, tol=10.0, n_iter_no_change=1)),
    ("MLPRegressor", 1, dict(solver="adam", activation="tanh")),
    ("MLPRegressor", 1, dict(solver="sgd", activation="relu", learning_rate_init=0.003)),
]


@pytest.mark.parametrize("name, kind, params", TRAJECTORIES)
def test_trajectory_matches_sklearn(name, kind, params):
    """Same data, random_state and settings (float64): after 20 epochs the loss curve and
    every weight agree with scikit-learn's to 1e-8 relative (initial weights, batch order,
    per-batch objective and update rule all the same)."""
    X, y = _digits(kind) if name == "MLPClassifier" else _regression()
    settings = dict(hidden_layer_sizes=(16, 8), max_iter=20, batch_size=32, alpha=1e-3,
                    random_state=7, learning_rate_init=0.01, tol=0.0)
    settings.update(params)
    ours, theirs = _fit_both(name, X, y, **settings)
    assert ours.n_iter_ == theirs.n_iter_ >= 15   # the adaptive case stops early
    if settings["solver"] == "sgd":   # (scikit-learn's Adam keeps its step size there)
        assert ours._optimizer.learning_rate == theirs._optimizer.learning_rate
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert _rel(a, b) < 1e-8


@pytest.mark.parametrize("name, kind, solver", [("MLPClassifier", 3, "adam"),
                                                ("MLPClassifier", 2, "sgd"),
                                                ("MLPRegressor", 1, "adam")])
def test_sample_weight_trajectory_matches_sklearn(name, kind, solver):
    """With sample weights scikit-learn normalises each mini-batch by its own weight sum
    (data term and penalty): the same trajectory to 1e-8 after 20 epochs."""
    X, y = _digits(kind) if name == "MLPClassifier" else _regression()
    sw = np.random.default_rng(5).uniform(0.1, 3.0, size=len(y))
    params = dict(hidden_layer_sizes=(12,), max_iter=20, batch_size=32, alpha=1e-2,
                  random_state=3, learning_rate_init=0.01, tol=0.0, solver=solver)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(fms, name)(**params).fit(X, y, sample_weight=sw)
        theirs = getattr(sk, name)(**params).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert _rel(a, b) < 1e-8


def test_early_stopping_trajectory_matches_sklearn():
    """Early stopping: the same validation split (stratified on the binarized targets for
    a binary classifier), scores, stopping epoch and restored best weights."""
    X, y = _digits(2)
    settings = dict(hidden_layer_sizes=(12,), max_iter=60, batch_size=50, random_state=1,
                    early_stopping=True, n_iter_no_change=3, learning_rate_init=0.01)
    ours, theirs = _fit_both("MLPClassifier", X, y, **settings)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        assert _rel(a, b) < 1e-8


@pytest.mark.parametrize("name, kind", [("MLPClassifier", 3), ("MLPClassifier", 2),
                                        ("MLPRegressor", 1)])
def test_lbfgs_matches_sklearn(name, kind):
    """L-BFGS to convergence (gtol 1e-6, 50-70 iterations here): same iterations, loss
    and weights. The objective differs from scikit-learn's in its last bits (fastmlp sums
    in another order; its cross-entropy comes from the logits, scikit-learn's from clipped
    probabilities), and L-BFGS carries such differences through its curvature pairs and
    line searches: measured, the weights agree to 4e-8 (classifiers) and 3e-13
    (regressor) relative, hence 1e-6; the loss to 5e-9, hence 1e-8. (In a flat valley
    over hundreds of iterations the two runs can part: a (10,) regressor run here needs
    406 iterations in one and 369 in the other.)"""
    X, y = _digits(kind) if name == "MLPClassifier" else _regression()
    hidden = (10,) if name == "MLPClassifier" else (5,)
    ours, theirs = _fit_both(name, X, y, solver="lbfgs", hidden_layer_sizes=hidden,
                             alpha=1e-3, max_iter=500, tol=1e-6, random_state=0)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert _rel(a, b) < 1e-6


def test_lbfgs_multioutput_regression_matches_sklearn():
    """A multi-output squared error: scikit-learn's L-BFGS sees the data term averaged
    over the outputs (its gradient is that of the sum); fastmlp hands it the same value,
    so both take the same 40 iterations."""
    X, y = _regression(n_targets=3)
    ours, theirs = _fit_both("MLPRegressor", X, y, solver="lbfgs", hidden_layer_sizes=(5,),
                             alpha=1e-2, max_iter=40, tol=1e-6, random_state=0)
    assert ours.n_iter_ == theirs.n_iter_ == 40
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert _rel(a, b) < 1e-8


def test_lbfgs_max_fun_and_warning():
    X, y = _regression()
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        est = fms.MLPRegressor(solver="lbfgs", max_fun=5, max_iter=100, tol=0.0,
                               random_state=0).fit(X, y)
    assert est.n_iter_ <= 5
    assert not hasattr(est, "partial_fit")


def test_poisson_regressor_matches_sklearn():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(120, 3))
    y = rng.poisson(np.exp(X @ [0.5, -0.3, 1.0] + 0.2)).astype(float)
    ours, theirs = _fit_both("MLPRegressor", X, y, loss="poisson", hidden_layer_sizes=(5,),
                             solver="lbfgs", alpha=1e-3, tol=1e-7, random_state=0,
                             max_iter=400)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6)
    ours, theirs = _fit_both("MLPRegressor", X, y, loss="poisson", hidden_layer_sizes=(5,),
                             solver="adam", max_iter=10, random_state=0, batch_size=25,
                             learning_rate_init=0.01)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-8)


def test_poisson_rejects_negative_targets():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="poisson loss needs targets y >= 0"):
        fms.MLPRegressor(loss="poisson").fit(X, [1.0, -2.0, 0.0])
    with pytest.raises(ValueError, match="loss must be one of"):
        fms.MLPRegressor(loss="absolute_error").fit(X, [1.0, 2.0, 0.0])


def test_regressor_parameter_order():
    """scikit-learn 1.9's MLPRegressor takes ``loss`` first; every constructor parameter
    of scikit-learn's MLPs is accepted with its default."""
    import inspect

    for name in ("MLPClassifier", "MLPRegressor"):
        theirs = inspect.signature(getattr(sk, name)).parameters
        ours = inspect.signature(getattr(fms, name)).parameters
        assert list(ours)[:len(theirs)] == list(theirs)
        for key, param in theirs.items():
            assert ours[key].default == param.default, key
    assert fms.MLPRegressor("poisson").loss == "poisson"


# the diverging weights overflow in NumPy's arithmetic on the way, as in scikit-learn's run
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_divergence_with_early_stopping_keeps_best_weights():
    """As scikit-learn: the diverged epochs record nan scores, the run goes on to max_iter
    with a ConvergenceWarning, the best weights come back, and cross_val_score works."""
    X, y = _regression()
    params = dict(hidden_layer_sizes=(30,), activation="identity", solver="sgd",
                  learning_rate_init=1.0, max_iter=15, early_stopping=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est = fms.MLPRegressor(**params).fit(X, y)
    assert np.isnan(est.validation_scores_[-1]) and np.isnan(est.loss_curve_[-1])
    assert est.n_iter_ == len(est.validation_scores_) == 15
    assert all(np.isfinite(w).all() for w in est.coefs_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sk.MLPRegressor(**params).fit(X, y)
    assert len(theirs.validation_scores_) == 15 and np.isnan(theirs.validation_scores_[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(fms.MLPRegressor(**params), X, y, cv=3,
                                 error_score="raise")
    assert np.isfinite(scores).all()


def test_divergence_without_early_stopping_raises_value_error():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fms.MLPRegressor().fit(X, y)


