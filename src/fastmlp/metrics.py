"""Metrics computed from targets and predictions (NumPy, outside the hot loop).

Every metric is a function ``metric(y_true, y_pred) -> float``. Inside ``fit`` and
``evaluate`` both arguments are 2-D arrays ``(n_samples, n_outputs)`` in the form the
model's loss uses (one-hot rows for the categorical losses); called directly, the
classification metrics also take 1-D class labels and the model's raw ``predict`` output,
so ``accuracy(y_test, model.predict(X_test))`` works for every kind of classifier.

How predictions become classes (``accuracy``, ``precision``, ``recall``, ``f1``):

* ``y_pred`` with ``k >= 2`` columns (a softmax output): the class is the column of the
  largest value; ``y_true`` may be one-hot rows ``(n, k)`` or labels ``(n,)``.
* ``y_pred`` with one column (a sigmoid output, or labels): probabilities are thresholded,
  ``p >= 0.5`` is class 1; a ``y_pred`` holding only whole numbers is taken as labels.

Names accepted by ``compile(metrics=[...])`` (aliases in brackets): ``accuracy`` (acc),
``binary_accuracy``, ``precision``, ``recall``, ``f1`` (f1_score), ``roc_auc`` (auc),
``mean_absolute_error`` (mae), ``mean_squared_error`` (mse), ``r2`` (r2_score).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._registry import Registry

__all__ = ["METRICS", "accuracy", "binary_accuracy", "f1", "get", "mean_absolute_error",
           "mean_squared_error", "precision", "r2", "recall", "roc_auc"]


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
def _as_2d(y: Any, name: str) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    return arr


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_2d(y_true, "y_true"), _as_2d(y_pred, "y_pred")
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"y_true has {t.shape[0]} rows but y_pred has {p.shape[0]}")
    if t.shape[0] == 0:
        raise ValueError("metrics need at least one sample")
    return t, p


def _column_labels(y: np.ndarray) -> np.ndarray:
    """One column: whole numbers are labels, anything else probabilities (>= 0.5 is 1)."""
    col = y[:, 0]
    if np.all(col == np.round(col)):
        return col.astype(np.int64)
    return (col >= 0.5).astype(np.int64)


def _labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """True labels, predicted labels and the number of classes."""
    t, p = _pair(y_true, y_pred)
    if p.shape[1] == 1:
        pred = _column_labels(p)
        if t.shape[1] != 1:
            raise ValueError(f"y_pred has one column but y_true has {t.shape[1]}")
        true = _column_labels(t)
        n_classes = int(max(2, pred.max() + 1, true.max() + 1))
        return true, pred, n_classes
    k = p.shape[1]
    pred = p.argmax(axis=1)
    if t.shape[1] == 1:
        true = t[:, 0]
        if np.any(true != np.round(true)) or true.min() < 0 or true.max() >= k:
            raise ValueError(f"y_true must hold class labels 0..{k - 1} (y_pred has {k} "
                             "columns) or one-hot rows")
        true = true.astype(np.int64)
    elif t.shape[1] == k:
        true = t.argmax(axis=1)
    else:
        raise ValueError(f"y_true has {t.shape[1]} columns but y_pred has {k}")
    return true, pred, k


def _confusion_counts(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class, true positives, predicted positives and actual positives; only class 1
    when ``y_pred`` has one column and the problem is binary."""
    true, pred, k = _labels(y_true, y_pred)
    binary = _as_2d(y_pred, "y_pred").shape[1] == 1 and k == 2
    classes = [1] if binary else range(k)
    tp = np.array([np.sum((pred == c) & (true == c)) for c in classes], dtype=np.float64)
    pp = np.array([np.sum(pred == c) for c in classes], dtype=np.float64)
    ap = np.array([np.sum(true == c) for c in classes], dtype=np.float64)
    return tp, pp, ap


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (scikit-learn's ``zero_division=0``)."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


# ----------------------------------------------------------------------------------------
# classification
# ----------------------------------------------------------------------------------------
def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Parameters
    ----------
    y_true : array-like
        True labels: an array ``(n,)`` of labels, or ``(n, k)`` one-hot rows.
    y_pred : array-like
        ``(n, k)`` scores (the class is the argmax), or ``(n,)`` / ``(n, 1)``
        probabilities (>= 0.5 is class 1) or labels.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.7]]))
    0.5
    >>> accuracy([2, 0], np.array([[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]]))
    0.5
    """
    true, pred, _ = _labels(y_true, y_pred)
    return float(np.mean(true == pred))


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> float:
    """Fraction of outputs on the right side of ``threshold``, over every element.

    Unlike :func:`accuracy` this treats each output column as its own yes/no question
    (multi-label problems): ``mean((y_pred >= threshold) == (y_true >= 0.5))``.

    Parameters
    ----------
    y_true : array-like
        True 0/1 values, the shape of ``y_pred`` (``(n,)`` or ``(n, k)``).
    y_pred : array-like
        Predicted probabilities, one per output.
    threshold : float, default 0.5
        A prediction at or above it counts as 1.

    Examples
    --------
    >>> import numpy as np
    >>> binary_accuracy(np.array([[1, 0], [0, 0]]), np.array([[0.8, 0.6], [0.1, 0.2]]))
    0.75
    """
    t, p = _pair(y_true, y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has {p.shape}")
    return float(np.mean((p >= threshold) == (t >= 0.5)))


def precision(y_true: Any, y_pred: Any) -> float:
    """Of the samples predicted positive, the fraction that are positive: TP / (TP + FP).

    Binary problems (one output column) score class 1; with ``k >= 2`` columns the
    unweighted mean over classes (macro average) is returned. A class never predicted
    scores 0 (scikit-learn's ``zero_division=0``).

    Parameters
    ----------
    y_true : array-like
        True labels: an array ``(n,)`` of class indices or 0/1 labels, or ``(n, k)``
        one-hot rows.
    y_pred : array-like
        Model outputs: ``(n, k)`` scores (the class is the argmax), or ``(n,)`` /
        ``(n, 1)`` probabilities of class 1 (>= 0.5 is class 1).

    Examples
    --------
    >>> precision([1, 1, 0, 0], [0.9, 0.2, 0.8, 0.1])
    0.5
    """
    tp, pp, _ = _confusion_counts(y_true, y_pred)
    return float(np.mean(_safe_ratio(tp, pp)))


def recall(y_true: Any, y_pred: Any) -> float:
    """Of the positive samples, the fraction predicted positive: TP / (TP + FN).

    Binary for one output column, macro average over classes otherwise (see
    :func:`precision`).

    Parameters
    ----------
    y_true : array-like
        True labels: an array ``(n,)`` of class indices or 0/1 labels, or ``(n, k)``
        one-hot rows.
    y_pred : array-like
        Model outputs: ``(n, k)`` scores (the class is the argmax), or ``(n,)`` /
        ``(n, 1)`` probabilities of class 1 (>= 0.5 is class 1).

    Examples
    --------
    >>> recall([1, 1, 1, 0], [0.9, 0.2, 0.8, 0.1])
    0.6666666666666666
    """
    tp, _, ap = _confusion_counts(y_true, y_pred)
    return float(np.mean(_safe_ratio(tp, ap)))


def f1(y_true: Any, y_pred: Any) -> float:
    """Harmonic mean of precision and recall: 2 TP / (2 TP + FP + FN).

    Binary for one output column, macro average of the per-class F1 otherwise (as
    scikit-learn's ``f1_score(average="macro")``).

    Parameters
    ----------
    y_true : array-like
        True labels: an array ``(n,)`` of class indices or 0/1 labels, or ``(n, k)``
        one-hot rows.
    y_pred : array-like
        Model outputs: ``(n, k)`` scores (the class is the argmax), or ``(n,)`` /
        ``(n, 1)`` probabilities of class 1 (>= 0.5 is class 1).

    Examples
    --------
    >>> f1([1, 1, 1, 0], [0.9, 0.2, 0.8, 0.6])
    0.6666666666666666
    """
    tp, pp, ap = _confusion_counts(y_true, y_pred)
    return float(np.mean(_safe_ratio(2 * tp, pp + ap)))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x``, tied values sharing the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return ranks


def _binary_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney form: the probability that a random positive outscores a random
    negative, ties counting one half (average ranks)."""
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc is undefined when y_true holds a single class "
                         f"({n_pos} positive, {n_neg} negative samples)")
    ranks = _average_ranks(score)
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc(y_true: Any, y_pred: Any) -> float:
    """Area under the ROC curve, from scores (probabilities), not thresholded labels.

    Binary (one output column): the probability that a randomly drawn positive sample gets
    a higher score than a randomly drawn negative one, ties counting one half. With
    ``k >= 2`` columns: the mean over classes of each class against the rest (one-vs-rest
    macro average, scikit-learn's ``multi_class="ovr"``).

    Parameters
    ----------
    y_true : array-like
        True labels: an array ``(n,)`` of class indices or 0/1 labels, or ``(n, k)``
        one-hot rows.
    y_pred : array-like
        Model outputs: ``(n, k)`` scores (the class is the argmax), or ``(n,)`` /
        ``(n, 1)`` probabilities of class 1 (>= 0.5 is class 1).

    Raises
    ------
    ValueError
        When a class has no positive or no negative sample (the area is undefined).

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    t, p = _pair(y_true, y_pred)
    if p.shape[1] == 1:
        if t.shape[1] != 1 or not np.all((t == 0) | (t == 1)):
            raise ValueError("roc_auc with one output column needs y_true of 0/1 labels")
        return _binary_auc(t[:, 0] == 1, p[:, 0])
    true, _, k = _labels(y_true, y_pred)
    return float(np.mean([_binary_auc(true == c, p[:, c]) for c in range(k)]))


# ----------------------------------------------------------------------------------------
# regression
# ----------------------------------------------------------------------------------------
def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """Mean of ``(y_pred - y_true)^2`` over all elements.

    Parameters
    ----------
    y_true : array-like
        True values, ``(n,)`` or ``(n, k)``.
    y_pred : array-like
        Predicted values, the shape of ``y_true``.

    Examples
    --------
    >>> import numpy as np
    >>> mean_squared_error(np.array([[1.0]]), np.array([[3.0]]))
    4.0
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean((p - t) ** 2))


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    """Mean of ``|y_pred - y_true|`` over all elements.

    Parameters
    ----------
    y_true : array-like
        True values, ``(n,)`` or ``(n, k)``.
    y_pred : array-like
        Predicted values, the shape of ``y_true``.

    Examples
    --------
    >>> import numpy as np
    >>> mean_absolute_error(np.array([[1.0]]), np.array([[3.0]]))
    2.0
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


def r2(y_true: Any, y_pred: Any) -> float:
    r"""Coefficient of determination, averaged over output columns.

    .. math:: R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}{\sum_i (y_i - \bar y)^2}

    1 is a perfect fit, 0 is no better than predicting the mean, and it can be negative.
    A constant column of ``y_true`` scores 1 if predicted exactly, else 0 (as
    scikit-learn's ``r2_score`` with ``force_finite=True``).

    Parameters
    ----------
    y_true : array-like
        True values, ``(n,)`` or ``(n, k)``.
    y_pred : array-like
        Predicted values, the shape of ``y_true``.

    Examples
    --------
    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    t, p = _pair(y_true, y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has {p.shape}")
    ss_res = np.sum((t - p) ** 2, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    scores = np.where(ss_tot > 0, 1.0 - _safe_ratio(ss_res, ss_tot),
                      np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(scores))


# ----------------------------------------------------------------------------------------
# registry
# ----------------------------------------------------------------------------------------
#: Metric name -> function ``(y_true, y_pred) -> float`` (lookups: :func:`get`'s policy).
METRICS: Registry[Callable[[Any, Any], float]] = Registry("metric", {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "roc_auc": roc_auc,
    "mean_absolute_error": mean_absolute_error,
    "mean_squared_error": mean_squared_error,
    "r2": r2,
}, aliases={"acc": "accuracy", "mse": "mean_squared_error", "mae": "mean_absolute_error",
            "f1_score": "f1", "auc": "roc_auc", "r2_score": "r2"})

#: Metrics where larger is better (callbacks' ``mode="auto"`` maximises these).
HIGHER_IS_BETTER = frozenset({"accuracy", "binary_accuracy", "precision", "recall", "f1",
                              "roc_auc", "r2"})


def get(name: str) -> str:
    """Canonical metric name, or ``ValueError`` listing the valid ones.

    Parameters
    ----------
    name : str
        One of :data:`METRICS`, in any case, with or without underscores
        (``"Accuracy"``, ``"BinaryAccuracy"``), or an alias: ``acc``, ``mse``, ``mae``,
        ``f1_score``, ``auc``, ``r2_score``.

    Returns
    -------
    str
        The canonical name.

    Examples
    --------
    >>> get("acc")
    'accuracy'
    """
    return METRICS.canonical(name)
