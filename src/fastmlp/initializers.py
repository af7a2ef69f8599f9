"""Weight initializers.

Every draw comes from the model's single seeded :class:`numpy.random.Generator`, so a
model's ``seed`` fixes all its initial weights.

=================  ================================================================
name               distribution of W (n_in, n_out)
=================  ================================================================
small_uniform      U[0, 1) * 0.01                       (lecture notes)
scaled_uniform     U[0, 1) / sqrt(n_in)                 (lecture notes)
glorot_uniform     U(-l, l), l = sqrt(6 / (n_in + n_out))       (Glorot & Bengio 2010)
glorot_normal      N(0, 2 / (n_in + n_out)), truncated at 2 sd as in Keras
he_uniform         U(-l, l), l = sqrt(6 / n_in)                 (He et al. 2015)
he_normal          N(0, 2 / n_in), truncated at 2 sd as in Keras
lecun_normal       N(0, 1 / n_in), truncated at 2 sd as in Keras
zeros              0
=================  ================================================================

The truncated normals redraw values beyond two standard deviations and use Keras'
correction factor 0.87962566103423978 on the standard deviation so the variance is the
stated one.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from ._registry import Registry

_TRUNC_STD = 0.87962566103423978  # std of N(0,1) truncated to [-2, 2] (Keras)


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, int], std: float) -> np.ndarray:
    scale = std / _TRUNC_STD
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * scale


def small_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """U[0, 1) * 0.01 (lecture notes).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> small_uniform(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    return rng.random((n_in, n_out)) * 0.01


def scaled_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """U[0, 1) / sqrt(n_in) (lecture notes).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> scaled_uniform(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    return rng.random((n_in, n_out)) / math.sqrt(n_in)


def glorot_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """U(-l, l) with l = sqrt(6 / (n_in + n_out)) (Glorot & Bengio 2010).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> glorot_uniform(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    limit = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out))


def glorot_normal(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """Truncated N(0, 2 / (n_in + n_out)) (Glorot & Bengio 2010, Keras' truncation).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> glorot_normal(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    return _truncated_normal(rng, (n_in, n_out), math.sqrt(2.0 / (n_in + n_out)))


def he_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """U(-l, l) with l = sqrt(6 / n_in) (He et al. 2015).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> he_uniform(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    limit = math.sqrt(6.0 / n_in)
    return rng.uniform(-limit, limit, (n_in, n_out))


def he_normal(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """Truncated N(0, 2 / n_in) (He et al. 2015, Keras' truncation).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> he_normal(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    return _truncated_normal(rng, (n_in, n_out), math.sqrt(2.0 / n_in))


def lecun_normal(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """Truncated N(0, 1 / n_in) (LeCun et al. 1998, Keras' truncation).

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> lecun_normal(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    return _truncated_normal(rng, (n_in, n_out), math.sqrt(1.0 / n_in))


def zeros(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """All zeros.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator the values are drawn from (the model's, so its seed fixes them).
    n_in : int
        Inputs of the layer: the rows of ``W``.
    n_out : int
        Units of the layer: the columns of ``W``.

    Returns
    -------
    numpy.ndarray
        ``W``, shape ``(n_in, n_out)``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> zeros(np.random.default_rng(0), 3, 2).shape
    (3, 2)
    """
    return np.zeros((n_in, n_out))


#: Initializer name -> function ``(rng, n_in, n_out) -> array`` (lookups: :func:`get`).
INITIALIZERS: Registry[Callable[..., np.ndarray]] = Registry("initializer", (
    (f.__name__, f) for f in (small_uniform, scaled_uniform, glorot_uniform, glorot_normal,
                              he_uniform, he_normal, lecun_normal, zeros)))


def get(name: str) -> str:
    """Return the canonical initializer name, or raise ``ValueError`` listing valid ones.

    Parameters
    ----------
    name : str
        One of :data:`INITIALIZERS`, in any case, with or without underscores
        (``"GlorotUniform"``, Keras' class name).

    Returns
    -------
    str
        The canonical name.

    Examples
    --------
    >>> get("he_normal")
    'he_normal'
    """
    return INITIALIZERS.canonical(name)


def initialize(name: str, rng: np.random.Generator, n_in: int, n_out: int,
               dtype: DTypeLike) -> np.ndarray:
    """Draw a ``(n_in, n_out)`` weight matrix with initializer ``name`` in ``dtype``.

    Parameters
    ----------
    name : str
        The initializer (see the module's table); checked by :func:`get`.
    rng : numpy.random.Generator
        The generator the values are drawn from.
    n_in, n_out : int
        The shape of ``W``: the layer's inputs and units.
    dtype : numpy.dtype or type
        The dtype of the result (the model's, float32 or float64); drawn in float64.

    Returns
    -------
    numpy.ndarray
        A C-contiguous ``(n_in, n_out)`` array.

    Examples
    --------
    >>> W = initialize("glorot_uniform", np.random.default_rng(0), 3, 2, np.float64)
    >>> W.shape
    (3, 2)
    """
    values = INITIALIZERS[get(name)](rng, n_in, n_out)
    return np.ascontiguousarray(values, dtype=dtype)
