"""Preparing data for a model: train/test splits, feature standardisation, one-hot labels.

Only NumPy is needed. Randomness comes from ``seed`` (an int, ``None`` or a
``numpy.random.Generator``) through ``numpy.random.default_rng``, as in
:mod:`fastmlp.datasets`.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ._scalars import check_int
from ._validation import check_matrix_shape
from .datasets._generators import SeedLike, as_generator

__all__ = ["StandardScaler", "one_hot", "train_test_split"]


# ----------------------------------------------------------------------------------------
# train_test_split
# ----------------------------------------------------------------------------------------
def _n_test_samples(test_size: Any, n_samples: int) -> int:
    """Number of test rows for ``test_size`` (a fraction in (0, 1) or a count)."""
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a float in (0, 1) or an int, got "
                        f"{type(test_size).__name__} {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n_samples - 1:
            raise ValueError(f"test_size={n_test} must leave at least one sample on each "
                             f"side: use 1 <= test_size <= {n_samples - 1} for "
                             f"{n_samples} samples")
        return n_test
    fraction = float(test_size)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size!r}")
    n_test = math.ceil(fraction * n_samples)
    if n_test >= n_samples:
        raise ValueError(f"test_size={test_size!r} of {n_samples} samples leaves no training "
                         f"samples ({n_test} test); use a smaller test_size")
    return n_test


def _stratified_test_counts(class_counts: np.ndarray, n_test: int,
                            rng: np.random.Generator) -> np.ndarray:
    """Test rows per class: each is the floor or ceiling of its exact share ``n_test *
    count / n``, and they sum to ``n_test`` (largest remainders get the extra rows, ties
    broken at random)."""
    exact = n_test * class_counts / class_counts.sum()
    counts = np.floor(exact).astype(np.int64)
    remaining = n_test - int(counts.sum())
    if remaining > 0:
        remainder = exact - counts
        tie_break = rng.permutation(len(class_counts))
        # lexsort sorts by the last key first: largest remainder, then the random order
        order = np.lexsort((tie_break, -remainder))
        counts[order[:remaining]] += 1
    return counts


def train_test_split(*arrays: Any, test_size: float = 0.25, shuffle: bool = True,
                     stratify: Any = None, seed: SeedLike = None,
                     random_state: SeedLike = None) -> list[np.ndarray]:
    """Split arrays into random train and test subsets, row by row.

    Parameters
    ----------
    *arrays : array-like
        One or more arrays with the same length (first dimension), e.g. ``X, y``. Each is
        converted with ``numpy.asarray``; the same rows go to the same side in all of them.
    test_size : float or int, default 0.25
        A float in (0, 1) is the fraction of rows for the test set (rounded up); an int is
        the number of test rows. Both sides must keep at least one row.
    shuffle : bool, default True
        Shuffle before splitting. With ``shuffle=False`` the first rows form the training
        set and the last ``n_test`` rows the test set, in their original order.
    stratify : array-like of shape (n_samples,) or (n_samples, k), optional
        Class labels (or one-hot rows) whose proportions both sides should keep: the number
        of test rows of every class is within one of its exact share. Needs ``shuffle``.
    seed : int, None or numpy.random.Generator
        Seeds the shuffle; the same seed gives the same split.
    random_state : int, None or numpy.random.Generator
        scikit-learn's name for ``seed`` (the same meaning; give one of the two). The
        split itself is fastmlp's: the same number gives other rows than scikit-learn's.

    Returns
    -------
    list of ndarray
        ``[a_train, a_test, b_train, b_test, ...]``, two entries per input array.

    Raises
    ------
    ValueError
        No arrays, arrays of different lengths, a ``test_size`` leaving a side empty,
        ``stratify`` of the wrong length, or ``stratify`` with ``shuffle=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.preprocessing import train_test_split
    >>> X = np.arange(20.0).reshape(10, 2); y = np.array([0] * 6 + [1] * 4)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5,
    ...                                                     stratify=y, seed=0)
    >>> X_train.shape, X_test.shape, np.bincount(y_test).tolist()
    ((5, 2), (5, 2), [3, 2])
    >>> train_test_split(np.arange(5), test_size=2, shuffle=False)
    [array([0, 1, 2]), array([3, 4])]
    """
    if random_state is not None:
        if seed is not None:
            raise ValueError("train_test_split takes seed= or random_state= (two names for "
                             "the same thing), not both")
        seed = random_state
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    converted = [np.asarray(a) for a in arrays]
    for position, arr in enumerate(converted):
        if arr.ndim == 0:
            raise ValueError(f"array {position} is a scalar ({arr!r}); every array needs a "
                             "first dimension to split along")
    lengths = [arr.shape[0] for arr in converted]
    if len(set(lengths)) != 1:
        raise ValueError(f"all arrays must have the same length, got lengths {lengths}")
    n_samples = lengths[0]
    if n_samples < 2:
        raise ValueError(f"need at least 2 samples to split, got {n_samples}")
    n_test = _n_test_samples(test_size, n_samples)

    if stratify is not None and not shuffle:
        raise ValueError("stratify needs shuffle=True: an unshuffled split takes the last "
                         "rows as they are and cannot balance classes")
    if not shuffle:
        train_index = np.arange(n_samples - n_test)
        test_index = np.arange(n_samples - n_test, n_samples)
    else:
        rng = as_generator(seed)
        if stratify is None:
            permutation = rng.permutation(n_samples)
            test_index, train_index = permutation[:n_test], permutation[n_test:]
        else:
            labels = np.asarray(stratify)
            if labels.ndim == 0 or labels.shape[0] != n_samples:
                raise ValueError(f"stratify must have one label per sample ({n_samples}), "
                                 f"got shape {labels.shape}")
            axis = 0 if labels.ndim > 1 else None
            if labels.ndim > 2:
                labels = labels.reshape(n_samples, -1)
            _, class_of_row = np.unique(labels, axis=axis, return_inverse=True)
            class_of_row = class_of_row.reshape(-1)
            class_counts = np.bincount(class_of_row)
            test_counts = _stratified_test_counts(class_counts, n_test, rng)
            test_parts, train_parts = [], []
            for k, k_test in enumerate(test_counts):
                rows = rng.permutation(np.flatnonzero(class_of_row == k))
                test_parts.append(rows[:k_test])
                train_parts.append(rows[k_test:])
            test_index = rng.permutation(np.concatenate(test_parts))
            train_index = rng.permutation(np.concatenate(train_parts))

    result: list[np.ndarray] = []
    for arr in converted:
        result.extend([arr[train_index], arr[test_index]])
    return result


# ----------------------------------------------------------------------------------------
# StandardScaler
# ----------------------------------------------------------------------------------------
def _as_feature_matrix(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a finite 2-D float array (float32 stays float32, anything else float64)."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    check_matrix_shape(arr, name)
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.asarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


class StandardScaler:
    """Standardise features: subtract each column's mean and divide by its standard deviation.

    .. math::
        z_{ij} = \\frac{x_{ij} - \\mu_j}{s_j}, \\qquad
        \\mu_j = \\frac{1}{n} \\sum_i x_{ij}, \\quad
        s_j = \\sqrt{\\frac{1}{n} \\sum_i (x_{ij} - \\mu_j)^2}

    (the population standard deviation, ``ddof=0``). A column whose values are all equal
    has ``s_j = 0``; its scale is set to 1, so it becomes all zeros instead of NaN.

    Fit the scaler on the training set only, then transform training and test sets with
    the same statistics. float32 input gives float32 output; everything else float64.
    Statistics are kept in float64.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Per-column mean seen in ``fit``.
    scale_ : ndarray of shape (n_features,)
        Per-column standard deviation, with zeros replaced by 1.
    var_ : ndarray of shape (n_features,)
        Per-column variance (zeros kept).
    n_features_in_ : int
        Number of columns seen in ``fit``.
    n_samples_seen_ : int
        Number of rows seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.preprocessing import StandardScaler
    >>> X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    >>> scaler = StandardScaler().fit(X)
    >>> scaler.mean_.tolist(), scaler.scale_.tolist()
    ([3.0, 10.0], [1.632993161855452, 1.0])
    >>> Z = scaler.transform(X)
    >>> np.round(Z, 4).tolist()
    [[-1.2247, 0.0], [0.0, 0.0], [1.2247, 0.0]]
    >>> bool(np.allclose(scaler.inverse_transform(Z), X))
    True
    """

    mean_: np.ndarray
    scale_: np.ndarray
    var_: np.ndarray
    n_features_in_: int
    n_samples_seen_: int

    def __repr__(self) -> str:
        return "StandardScaler()"

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has been called."""
        return hasattr(self, "mean_")

    def fit(self, X: Any) -> StandardScaler:
        """Compute each column's mean and standard deviation from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows whose column statistics the scaler learns.

        Returns
        -------
        StandardScaler
            ``self``, so ``StandardScaler().fit(X)`` can be chained.

        Examples
        --------
        >>> from fastmlp.preprocessing import StandardScaler
        >>> StandardScaler().fit([[0.0], [2.0]]).scale_.tolist()
        [1.0]
        """
        arr = _as_feature_matrix(X).astype(np.float64, copy=False)
        mean = arr.mean(axis=0)
        var = arr.var(axis=0)
        # exact test for constant columns: rounding can leave a tiny non-zero variance
        constant = np.all(arr == arr[0], axis=0)
        var[constant] = 0.0
        scale = np.sqrt(var)
        scale[constant] = 1.0
        self.mean_, self.var_, self.scale_ = mean, var, scale
        self.n_features_in_ = arr.shape[1]
        self.n_samples_seen_ = arr.shape[0]
        return self

    def _check_input(self, X: Any, method: str) -> np.ndarray:
        if not self.is_fitted:
            raise RuntimeError(f"this StandardScaler is not fitted yet; call fit(X) before "
                               f"{method}(X)")
        arr = _as_feature_matrix(X)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but this StandardScaler was "
                             f"fitted on {self.n_features_in_}")
        return arr

    def transform(self, X: Any) -> np.ndarray:
        """Standardise ``X`` with the fitted statistics: ``(X - mean_) / scale_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ``n_features_in_``)
            The rows to transform, with the columns :meth:`fit` saw.

        Returns
        -------
        ndarray of shape (n_samples, ``n_features_in_``)
            A new array; ``X`` is not modified.

        Examples
        --------
        >>> from fastmlp.preprocessing import StandardScaler
        >>> StandardScaler().fit([[0.0], [2.0]]).transform([[4.0]]).tolist()
        [[3.0]]
        """
        arr = self._check_input(X, "transform")
        return ((arr - self.mean_) / self.scale_).astype(arr.dtype, copy=False)

    def fit_transform(self, X: Any) -> np.ndarray:
        """Fit to ``X``, then return ``X`` standardised.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to fit the scaler to and then transform.

        Examples
        --------
        >>> from fastmlp.preprocessing import StandardScaler
        >>> StandardScaler().fit_transform([[0.0], [2.0]]).tolist()
        [[-1.0], [1.0]]
        """
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`: ``X * scale_ + mean_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ``n_features_in_``)
            The rows to transform, with the columns :meth:`fit` saw.

        Returns
        -------
        ndarray of shape (n_samples, ``n_features_in_``)

        Examples
        --------
        >>> from fastmlp.preprocessing import StandardScaler
        >>> StandardScaler().fit([[0.0], [2.0]]).inverse_transform([[3.0]]).tolist()
        [[4.0]]
        """
        arr = self._check_input(X, "inverse_transform")
        return (arr * self.scale_ + self.mean_).astype(arr.dtype, copy=False)


# ----------------------------------------------------------------------------------------
# one_hot
# ----------------------------------------------------------------------------------------
def one_hot(labels: Any, n_classes: int | None = None) -> np.ndarray:
    """Encode integer class labels as one-hot rows.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Integer labels ``0 .. n_classes - 1`` (floats with integral values are accepted).
    n_classes : int, optional
        Number of columns; by default ``labels.max() + 1``.

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float64
        Row ``i`` is 1 in column ``labels[i]`` and 0 elsewhere.

    Raises
    ------
    ValueError
        Labels that are not 1-D, not whole numbers, negative, or ``>= n_classes``.

    Examples
    --------
    >>> from fastmlp.preprocessing import one_hot
    >>> one_hot([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    >>> one_hot([1], n_classes=4).tolist()
    [[0.0, 1.0, 0.0, 0.0]]
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-D (n_samples,), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and np.all(arr == np.round(arr))):
            bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))]
            raise ValueError(f"labels must be whole numbers, got {bad[0]!r}")
    elif arr.dtype.kind not in "biu":
        raise TypeError(f"labels must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if n_classes is None:
        if arr.size == 0:
            raise ValueError("cannot infer n_classes from empty labels; pass n_classes")
        n_classes = int(arr.max()) + 1
    else:
        n_classes = check_int("n_classes", n_classes, 1)
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels must be >= 0, got {int(arr.min())}")
    if arr.size and arr.max() >= n_classes:
        raise ValueError(f"label {int(arr.max())} is out of range for n_classes={n_classes} "
                         f"(labels must be < n_classes)")
    encoded = np.zeros((arr.shape[0], int(n_classes)), dtype=np.float64)
    encoded[np.arange(arr.shape[0]), arr] = 1.0
    return encoded
