"""Metrics computed from targets and predictions (NumPy, outside the hot loop).

Each metric takes ``(y_true, y_pred)`` as 2-D arrays ``(n, n_out)`` in the form the
model's loss uses (one-hot for categorical losses) and returns a float.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def _labels(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true class labels: threshold 0.5 for one output, argmax otherwise."""
    if y_pred.shape[1] == 1:
        return (y_true[:, 0] >= 0.5).astype(np.int64), (y_pred[:, 0] >= 0.5).astype(np.int64)
    return y_true.argmax(axis=1), y_pred.argmax(axis=1)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of rows whose predicted class equals the true class.

    Examples
    --------
    >>> accuracy(np.array([[1.0], [0.0]]), np.array([[0.9], [0.7]]))
    0.5
    """
    t, p = _labels(y_true, y_pred)
    return float(np.mean(t == p))


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of ``(y_pred - y_true)^2`` over all elements.

    Examples
    --------
    >>> mean_squared_error(np.array([[1.0]]), np.array([[3.0]]))
    4.0
    """
    return float(np.mean((y_pred - y_true) ** 2))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of ``|y_pred - y_true|`` over all elements.

    Examples
    --------
    >>> mean_absolute_error(np.array([[1.0]]), np.array([[3.0]]))
    2.0
    """
    return float(np.mean(np.abs(y_pred - y_true)))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
}
_ALIASES = {"acc": "accuracy", "mse": "mean_squared_error", "mae": "mean_absolute_error"}


def get(name: str) -> str:
    """Canonical metric name, or ``ValueError`` listing the valid ones.

    Examples
    --------
    >>> get("acc")
    'accuracy'
    """
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(key, str) or key not in METRICS:
        raise ValueError(f"unknown metric {name!r}; valid metrics are: {', '.join(METRICS)}")
    return key
