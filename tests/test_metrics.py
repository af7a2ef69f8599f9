"""Metrics: hand-worked values, independent brute-force definitions, and use in fit."""
import itertools

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import metrics as M


# ---------------------------------------------------------------------------------------
# brute-force references, written from the definitions
# ---------------------------------------------------------------------------------------
def _auc_pairs(truth, score):
    """AUC as the fraction of (positive, negative) pairs ordered right, ties 1/2."""
    pos = [s for t, s in zip(truth, score) if t == 1]
    neg = [s for t, s in zip(truth, score) if t == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def _counts(true, pred, c):
    tp = sum(1 for t, p in zip(true, pred) if t == c and p == c)
    fp = sum(1 for t, p in zip(true, pred) if t != c and p == c)
    fn = sum(1 for t, p in zip(true, pred) if t == c and p != c)
    return tp, fp, fn


def _prf(true, pred, classes):
    ps, rs, fs = [], [], []
    for c in classes:
        tp, fp, fn = _counts(true, pred, c)
        ps.append(tp / (tp + fp) if tp + fp else 0.0)
        rs.append(tp / (tp + fn) if tp + fn else 0.0)
        fs.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return np.mean(ps), np.mean(rs), np.mean(fs)


# ---------------------------------------------------------------------------------------
# hand-worked values
# ---------------------------------------------------------------------------------------
def test_binary_metrics_by_hand():
    y = [1, 1, 1, 0, 0, 0]
    p = [0.9, 0.6, 0.2, 0.7, 0.3, 0.1]  # predicted 1,1,0,1,0,0: TP=2 FN=1 FP=1 TN=2
    assert M.accuracy(y, p) == pytest.approx(4 / 6)
    assert M.precision(y, p) == pytest.approx(2 / 3)
    assert M.recall(y, p) == pytest.approx(2 / 3)
    assert M.f1(y, p) == pytest.approx(2 / 3)
    # pairs (pos, neg): 0.9 beats all 3, 0.6 beats 0.3 and 0.1, 0.2 beats 0.1 -> 6/9
    assert M.roc_auc(y, p) == pytest.approx(6 / 9)


def test_threshold_is_inclusive_at_one_half():
    assert M.accuracy([1, 0], [0.5, 0.49]) == 1.0
    assert M.binary_accuracy([[1, 0]], [[0.5, 0.49]]) == 1.0


def test_multiclass_accuracy_from_labels_or_one_hot():
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    labels = np.array([0, 1, 1, 2])
    assert M.accuracy(labels, P) == 0.5
    assert M.accuracy(np.eye(3)[labels], P) == 0.5
    with pytest.raises(ValueError, match=r"class labels 0\.\.2"):
        M.accuracy([0, 1, 1, 3], P)


def test_label_predictions_are_compared_as_labels():
    # Whole-number predictions are labels, not probabilities to threshold.
    assert M.accuracy([3, 5, 5], [3, 5, 3]) == pytest.approx(2 / 3)


def test_binary_accuracy_is_elementwise():
    y = np.array([[1, 0, 1], [0, 0, 1]])
    p = np.array([[0.9, 0.6, 0.4], [0.2, 0.1, 0.8]])
    assert M.binary_accuracy(y, p) == pytest.approx(4 / 6)
    assert M.binary_accuracy(y, p, threshold=0.35) == pytest.approx(5 / 6)
    assert M.binary_accuracy(y, p, threshold=0.65) == pytest.approx(5 / 6)
    assert M.binary_accuracy(y, p, threshold=0.95) == pytest.approx(3 / 6)


def test_precision_recall_zero_division_gives_zero():
    assert M.precision([1, 1, 0], [0.1, 0.2, 0.3]) == 0.0  # nothing predicted positive
    assert M.recall([0, 0, 0], [0.9, 0.2, 0.3]) == 0.0     # no positive at all
    assert M.f1([0, 0, 0], [0.1, 0.2, 0.3]) == 0.0


def test_regression_metrics_by_hand():
    t = np.array([3.0, -0.5, 2.0, 7.0])
    p = np.array([2.5, 0.0, 2.0, 8.0])
    assert M.mean_squared_error(t, p) == pytest.approx((0.25 + 0.25 + 0 + 1) / 4)
    assert M.mean_absolute_error(t, p) == pytest.approx((0.5 + 0.5 + 0 + 1) / 4)
    ss_res, ss_tot = 1.5, np.sum((t - t.mean()) ** 2)
    assert M.r2(t, p) == pytest.approx(1 - ss_res / ss_tot)
    assert M.r2(t, t) == 1.0
    assert M.r2(t, np.full(4, t.mean())) == pytest.approx(0.0)
    assert M.r2(t, -t) < 0


def test_r2_constant_target_and_multi_output():
    assert M.r2([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert M.r2([2.0, 2.0], [2.0, 3.0]) == 0.0
    T = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    P = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 30.0]])
    assert M.r2(T, P) == pytest.approx((0.5 + 1.0) / 2)


# ---------------------------------------------------------------------------------------
# against brute-force definitions on random data
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_definitions(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    y[:2] = [0, 1]
    score = np.round(rng.random(60), 1)  # coarse scores: many ties
    pred = (score >= 0.5).astype(int)
    p, r, f = _prf(y, pred, [1])
    assert M.precision(y, score) == pytest.approx(p, abs=1e-15)
    assert M.recall(y, score) == pytest.approx(r, abs=1e-15)
    assert M.f1(y, score) == pytest.approx(f, abs=1e-15)
    assert M.roc_auc(y, score) == pytest.approx(_auc_pairs(y, score), abs=1e-12)
    assert M.roc_auc(y.reshape(-1, 1), score.reshape(-1, 1)) == M.roc_auc(y, score)


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_metrics_match_definitions(seed):
    rng = np.random.default_rng(seed)
    k = 4
    y = rng.integers(0, k, 80)
    y[:k] = np.arange(k)
    P = np.round(rng.random((80, k)), 1)
    pred = P.argmax(axis=1)
    p, r, f = _prf(y, pred, range(k))
    assert M.precision(y, P) == pytest.approx(p, abs=1e-15)
    assert M.recall(y, P) == pytest.approx(r, abs=1e-15)
    assert M.f1(y, P) == pytest.approx(f, abs=1e-15)
    auc = np.mean([_auc_pairs((y == c).astype(int), P[:, c]) for c in range(k)])
    assert M.roc_auc(y, P) == pytest.approx(auc, abs=1e-12)
    assert M.roc_auc(np.eye(k)[y], P) == pytest.approx(auc, abs=1e-12)


def test_roc_auc_needs_both_classes():
    with pytest.raises(ValueError, match="single class"):
        M.roc_auc([1, 1, 1], [0.2, 0.4, 0.9])


def test_shape_mismatches_are_reported():
    with pytest.raises(ValueError, match="y_true has 3 rows but y_pred has 2"):
        M.mean_squared_error([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least one sample"):
        M.accuracy([], [])


# ---------------------------------------------------------------------------------------
# registry and fit
# ---------------------------------------------------------------------------------------
def test_names_and_aliases():
    assert [M.get(a) for a in ("acc", "mse", "mae", "f1_score", "auc", "r2_score")] == [
        "accuracy", "mean_squared_error", "mean_absolute_error", "f1", "roc_auc", "r2"]
    with pytest.raises(ValueError, match="valid metrics are: accuracy, binary_accuracy"):
        M.get("balanced")


def test_every_classification_metric_is_logged_by_fit(backend):
    X, y = fm.datasets.make_moons(n_samples=120, noise=0.2, seed=1)
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(1, activation="sigmoid")],
                          seed=0, backend=backend)
    names = ["accuracy", "binary_accuracy", "precision", "recall", "f1", "roc_auc"]
    model.compile(optimizer=fm.optimizers.SGD(0.3), loss="binary_crossentropy", metrics=names)
    X_tr, X_val, y_tr, y_val = fm.train_test_split(X, y, test_size=0.25, stratify=y, seed=0)
    history = model.fit(X_tr, y_tr, epochs=5, validation_data=(X_val, y_val), verbose=0)
    assert set(history.history) == {"loss", "val_loss", *names,
                                    *(f"val_{n}" for n in names)}
    P = model.predict(X_val)
    logs = model.evaluate(X_val, y_val, return_dict=True)
    for name in names:
        assert logs[name] == pytest.approx(M.METRICS[name](y_val, P), abs=1e-12)
        assert history.history[f"val_{name}"][-1] == pytest.approx(logs[name], abs=1e-12)


def test_regression_metrics_in_evaluate(backend):
    X, y = fm.datasets.make_regression(n_samples=80, n_features=2, noise=0.1, seed=0)
    model = fm.Sequential([fm.Dense(1)], seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(0.05), loss="mse", metrics=["mae", "r2", "mse"])
    model.fit(X, (y - y.mean()) / y.std(), epochs=30, verbose=0)
    logs = model.evaluate(X, (y - y.mean()) / y.std(), return_dict=True)
    assert logs["r2"] > 0.99
    assert logs["mse"] == pytest.approx(logs["loss"], rel=1e-9)  # logged as written
