"""Seeded generators of small synthetic data sets for trying out models.

Every generator takes ``seed`` (an int, ``None`` or a ``numpy.random.Generator``) and draws
from one ``numpy.random.default_rng`` stream, so the same seed gives the same arrays. All
return ``X`` as a C-contiguous float64 array ``(n_samples, n_features)``; classification
labels are int64 ``0 .. n_classes - 1`` and regression targets float64.

Classification generators return the rows in shuffled order (drawn from the same stream).
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .._scalars import FRACTION, NON_NEGATIVE, check_int, check_real

__all__ = [
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_regression",
    "make_spirals",
    "make_xor",
    "xor_truth_table",
]

SeedLike = int | np.random.Generator | None


# ----------------------------------------------------------------------------------------
# argument checks (messages show the value received)
# ----------------------------------------------------------------------------------------
def as_generator(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed`` (an int >= 0, None or a Generator).

    A Generator is used as it is (so its state advances); an int or None goes through
    ``numpy.random.default_rng``.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
        return np.random.default_rng(int(seed))
    raise TypeError(f"{name} must be an int, None or a numpy.random.Generator, got "
                    f"{type(seed).__name__} {seed!r}")


def _split_evenly(n_samples: int, n_groups: int) -> list[int]:
    """Sizes of ``n_groups`` groups summing to ``n_samples``; earlier groups get the extra."""
    base, extra = divmod(n_samples, n_groups)
    return [base + (k < extra) for k in range(n_groups)]


def _finish(X: np.ndarray, y: np.ndarray, noise: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise of standard deviation ``noise`` and shuffle the rows."""
    if noise > 0.0:
        X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(X.shape[0])
    return (np.ascontiguousarray(X[order], dtype=np.float64),
            np.ascontiguousarray(y[order], dtype=np.int64))


# ----------------------------------------------------------------------------------------
# classification
# ----------------------------------------------------------------------------------------
def make_moons(n_samples: int = 100, noise: float = 0.0,
               seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles ("moons"): a small non-linear 2-D problem.

    Class 0 lies on the upper half of the unit circle centred at (0, 0); class 1 on the
    lower half of the unit circle centred at (1, 0.5). Points are evenly spaced along each
    arc, then Gaussian noise is added to both coordinates.

    .. math::
        x_0(t) = (\\cos t, \\sin t), \\qquad x_1(t) = (1 - \\cos t, \\tfrac12 - \\sin t),
        \\qquad t \\in [0, \\pi]

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points; class 0 gets ``n_samples // 2``, class 1 the rest.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int, None or numpy.random.Generator
        Seeds the noise and the shuffle.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Labels 0 and 1.

    Examples
    --------
    >>> from fastmlp.datasets import make_moons
    >>> X, y = make_moons(n_samples=6, seed=0)
    >>> X.shape, sorted(y.tolist())
    ((6, 2), [0, 0, 0, 1, 1, 1])
    """
    n_samples = check_int("n_samples", n_samples, 1)
    noise = check_real("noise", noise, NON_NEGATIVE)
    rng = as_generator(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = np.column_stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)])
    X = np.vstack([outer, inner])
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(X, y, noise, rng)


def make_circles(n_samples: int = 100, noise: float = 0.0, factor: float = 0.5,
                 seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """A circle inside a larger circle: the classes are not linearly separable.

    Class 0 lies on the unit circle, class 1 on a concentric circle of radius ``factor``;
    points are evenly spaced in angle, then Gaussian noise is added to both coordinates.

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points; the outer circle gets ``n_samples // 2``, the inner the rest.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to each coordinate.
    factor : float, default 0.5
        Radius of the inner circle relative to the outer one, ``0 <= factor < 1``.
    seed : int, None or numpy.random.Generator
        Seeds the noise and the shuffle.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        0 for the outer circle, 1 for the inner one.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.datasets import make_circles
    >>> X, y = make_circles(n_samples=8, factor=0.3, seed=0)
    >>> np.round(np.hypot(X[:, 0], X[:, 1])[np.argsort(y, kind="stable")], 6).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.3, 0.3, 0.3, 0.3]
    """
    n_samples = check_int("n_samples", n_samples, 1)
    noise = check_real("noise", noise, NON_NEGATIVE)
    factor = check_real("factor", factor, FRACTION)
    rng = as_generator(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, 2.0 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2.0 * np.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    X = np.vstack([outer, inner])
    y = np.repeat([0, 1], [n_outer, n_inner])
    return _finish(X, y, noise, rng)


#: The four corners of :func:`make_xor`, in the order the samples are dealt to them.
_XOR_CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])


def make_xor(n_samples: int = 200, noise: float = 0.0,
             seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Four clusters at the corners (+-1, +-1) labelled by exclusive or.

    A point belongs to class 1 when its corner has coordinates of opposite signs
    (``x0 * x1 < 0``) and to class 0 otherwise: the XOR of "``x0 > 0``" and
    "``x1 > 0``". No straight line separates the classes; one hidden layer does.

    The samples are dealt to the corners (-1, -1), (-1, 1), (1, -1), (1, 1) as evenly as
    possible, then Gaussian noise of standard deviation ``noise`` is added. The label is
    that of the corner a point was drawn from, so with large noise a few points cross
    an axis and keep their corner's label (label noise), as in real data.

    For the exact four-row truth table ((0,0), (0,1), (1,0), (1,1) -> 0, 1, 1, 0) use
    :func:`xor_truth_table`.

    Parameters
    ----------
    n_samples : int, default 200
        Total number of points (``n_samples = 4`` with ``noise = 0`` gives each corner
        once, in shuffled order).
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int, None or numpy.random.Generator
        Seeds the noise and the shuffle.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Labels 0 and 1.

    Examples
    --------
    >>> from fastmlp.datasets import make_xor
    >>> X, y = make_xor(n_samples=8, seed=0)
    >>> bool(((X[:, 0] * X[:, 1] < 0) == (y == 1)).all())
    True
    >>> X, y = make_xor(n_samples=200, noise=0.2, seed=0)
    >>> X.shape, y.tolist().count(1)
    ((200, 2), 100)
    """
    n_samples = check_int("n_samples", n_samples, 1)
    noise = check_real("noise", noise, NON_NEGATIVE)
    rng = as_generator(seed)
    counts = _split_evenly(n_samples, 4)
    X = np.repeat(_XOR_CORNERS, counts, axis=0)
    y = np.repeat([0, 1, 1, 0], counts)
    return _finish(X, y, noise, rng)


def xor_truth_table() -> tuple[np.ndarray, np.ndarray]:
    """The four rows of the XOR truth table, in order, with no noise and no shuffle.

    Returns
    -------
    X : ndarray of shape (4, 2), float64
        ``[[0, 0], [0, 1], [1, 0], [1, 1]]``.
    y : ndarray of shape (4,), int64
        ``[0, 1, 1, 0]``.

    Examples
    --------
    >>> from fastmlp.datasets import xor_truth_table
    >>> X, y = xor_truth_table()
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def make_spirals(n_samples: int = 200, n_classes: int = 2, noise: float = 0.0,
                 seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: a hard problem for small networks.

    Arm ``k`` of ``K`` starts at radius 0.1 and grows linearly to radius 1 while turning
    through one and a half turns (``3 pi``), rotated by ``2 pi k / K``:

    .. math::
        r = 0.1 + 0.9 s, \\quad \\theta = \\frac{2 \\pi k}{K} + 3 \\pi s, \\quad
        x = (r \\cos \\theta, r \\sin \\theta), \\qquad s \\in [0, 1]

    with points evenly spaced in ``s``; Gaussian noise is then added to both coordinates.

    Parameters
    ----------
    n_samples : int, default 200
        Total number of points, dealt to the arms as evenly as possible.
    n_classes : int, default 2
        Number of arms (classes), at least 2.
    noise : float, default 0.0
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int, None or numpy.random.Generator
        Seeds the noise and the shuffle.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        Labels ``0 .. n_classes - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.datasets import make_spirals
    >>> X, y = make_spirals(n_samples=300, n_classes=3, noise=0.05, seed=0)
    >>> X.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    n_samples = check_int("n_samples", n_samples, 1)
    n_classes = check_int("n_classes", n_classes, 2)
    noise = check_real("noise", noise, NON_NEGATIVE)
    rng = as_generator(seed)
    arms, labels = [], []
    for k, count in enumerate(_split_evenly(n_samples, n_classes)):
        s = np.linspace(0.0, 1.0, count)
        radius = 0.1 + 0.9 * s
        theta = 2.0 * np.pi * k / n_classes + 3.0 * np.pi * s
        arms.append(np.column_stack([radius * np.cos(theta), radius * np.sin(theta)]))
        labels.append(np.full(count, k))
    return _finish(np.vstack(arms), np.concatenate(labels), noise, rng)


def make_blobs(n_samples: int = 100, centers: int | Sequence[Sequence[float]] | np.ndarray = 3,
               n_features: int = 2, cluster_std: float | Sequence[float] = 1.0,
               seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one class per cluster.

    Parameters
    ----------
    n_samples : int, default 100
        Total number of points, dealt to the clusters as evenly as possible.
    centers : int or array-like of shape (n_centers, n_features), default 3
        The number of clusters, whose centres are then drawn uniformly from the box
        ``[-10, 10] ** n_features``; or the centres themselves, in which case
        ``n_features`` is taken from their second dimension and the argument is ignored.
    n_features : int, default 2
        Dimension of the points when ``centers`` is an int.
    cluster_std : float or sequence of float, default 1.0
        Standard deviation of every cluster, or one per cluster.
    seed : int, None or numpy.random.Generator
        Seeds the centres, the points and the shuffle.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), int64
        The cluster of each point, ``0 .. n_centers - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.datasets import make_blobs
    >>> X, y = make_blobs(n_samples=10, centers=[[0, 0], [5, 5]], cluster_std=0.0, seed=0)
    >>> bool(np.all(X == 5.0 * y[:, None]))
    True
    >>> make_blobs(n_samples=7, centers=3, n_features=4, seed=0)[0].shape
    (7, 4)
    """
    n_samples = check_int("n_samples", n_samples, 1)
    rng = as_generator(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        n_centers = check_int("centers", centers, 1)
        n_features = check_int("n_features", n_features, 1)
        center_array = rng.uniform(-10.0, 10.0, size=(n_centers, n_features))
    else:
        try:
            center_array = np.asarray(centers, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("centers must be an int or an array of shape "
                            f"(n_centers, n_features), got {centers!r}") from None
        if center_array.ndim != 2 or center_array.size == 0:
            raise ValueError("centers must be an int or a non-empty 2-D array of shape "
                             f"(n_centers, n_features), got shape {center_array.shape}")
        if not np.isfinite(center_array).all():
            raise ValueError("centers must be finite")
        n_centers, n_features = center_array.shape
    if isinstance(cluster_std, numbers.Real) and not isinstance(cluster_std, bool):
        stds = np.full(n_centers, check_real("cluster_std", cluster_std, NON_NEGATIVE))
    else:
        stds = np.asarray(cluster_std, dtype=np.float64)
        if stds.shape != (n_centers,):
            raise ValueError(f"cluster_std must be a number or have one value per center "
                             f"({n_centers}), got shape {stds.shape}")
        if not (np.isfinite(stds).all() and (stds >= 0).all()):
            raise ValueError(f"cluster_std values must be finite and >= 0, got "
                             f"{stds.tolist()}")
    counts = _split_evenly(n_samples, n_centers)
    y = np.repeat(np.arange(n_centers), counts)
    X = center_array[y] + stds[y, None] * rng.standard_normal((n_samples, n_features))
    return _finish(X, y, 0.0, rng)


# ----------------------------------------------------------------------------------------
# regression
# ----------------------------------------------------------------------------------------
def make_regression(n_samples: int = 100, n_features: int = 1, noise: float = 0.0,
                    bias: float = 0.0, coef: Sequence[float] | np.ndarray | None = None,
                    seed: SeedLike = None, return_coef: bool = False,
                    ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear regression problem with Gaussian inputs and optional Gaussian noise.

    .. math::
        X_{ij} \\sim \\mathcal{N}(0, 1), \\qquad
        y = X w + b + \\sigma \\varepsilon, \\quad \\varepsilon \\sim \\mathcal{N}(0, I)

    Parameters
    ----------
    n_samples : int, default 100
        Rows of ``X``.
    n_features : int, default 1
        Columns of ``X`` (and entries of ``w``).
    noise : float, default 0.0
        Standard deviation ``sigma`` of the noise added to ``y``.
    bias : float, default 0.0
        The intercept ``b``.
    coef : array-like of shape (n_features,), optional
        The weights ``w``; drawn uniformly from ``[-10, 10]`` when not given.
    seed : int, None or numpy.random.Generator
        Seeds ``X``, then the drawn ``coef``, then the noise (in that order).
    return_coef : bool, default False
        Also return the weights ``w``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), float64
    coef : ndarray of shape (n_features,), float64
        Only when ``return_coef=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp.datasets import make_regression
    >>> X, y = make_regression(n_samples=5, n_features=2, coef=[2.0, -1.0], bias=3.0, seed=0)
    >>> bool(np.allclose(y, 2.0 * X[:, 0] - X[:, 1] + 3.0))
    True
    >>> X, y, w = make_regression(n_samples=50, n_features=3, seed=0, return_coef=True)
    >>> w.shape
    (3,)
    """
    n_samples = check_int("n_samples", n_samples, 1)
    n_features = check_int("n_features", n_features, 1)
    noise = check_real("noise", noise, NON_NEGATIVE)
    bias = check_real("bias", bias)
    rng = as_generator(seed)
    if coef is not None:
        w = np.array(coef, dtype=np.float64, copy=True)
        if w.ndim != 1:
            raise ValueError(f"coef must be 1-D of shape ({n_features},), got shape {w.shape}")
        if w.shape[0] != n_features:
            raise ValueError(f"coef has {w.shape[0]} values but n_features={n_features}; "
                             f"pass n_features={w.shape[0]} to match it")
        if not np.isfinite(w).all():
            raise ValueError(f"coef must be finite, got {w.tolist()}")
    X = rng.standard_normal((n_samples, n_features))
    if coef is None:
        w = rng.uniform(-10.0, 10.0, size=n_features)
    y = X @ w + bias
    if noise > 0.0:
        y = y + noise * rng.standard_normal(n_samples)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    return (X, y, w) if return_coef else (X, y)
