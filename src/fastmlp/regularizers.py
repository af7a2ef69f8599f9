"""Weight regularizers: L1 and L2 penalties added to the loss of a layer's parameters.

A regularizer is given per Dense layer for its kernel ``W`` (``kernel_regularizer``) and
its bias ``b`` (``bias_regularizer``). Its penalty is added to the loss of every batch (and
to the loss ``evaluate`` reports, as Keras does), and its derivative to the parameter's
gradient. The formulas are Keras' (``keras.regularizers``):

.. math::

    R(W) = \\ell_1 \\sum |W| + \\ell_2 \\sum W^2, \\qquad
    \\partial R / \\partial W = \\ell_1 \\operatorname{sign}(W) + 2 \\ell_2 W

(``sign(0) = 0``). This is *not* the optimizers' ``weight_decay``: weight decay is added to
the gradient by the optimizer (``g + weight_decay * p``, as ``torch.optim`` does), is not
part of the loss, and applies to every parameter; a regularizer is part of the model, shows
in the loss, and is chosen per layer and per kernel/bias. ``l2(c)`` adds ``2 c W`` to the
gradient, so it matches ``weight_decay = 2 c`` under plain SGD only.

The penalties are computed by the backends (``regularize`` in
:mod:`fastmlp.backend._numpy` and ``_kernels.pyx``); this module holds the coefficients.

Examples
--------
>>> import fastmlp as fm
>>> layer = fm.Dense(8, activation="relu", kernel_regularizer=fm.regularizers.l2(1e-3))
>>> layer.kernel_regularizer
L1L2(l1=0.0, l2=0.001)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._registry import Registry
from ._scalars import NON_NEGATIVE, ParamTypeError, check_real


class L1L2:
    """L1 and L2 penalty: ``l1 * sum(|W|) + l2 * sum(W**2)``.

    Parameters
    ----------
    l1, l2 : float >= 0, default 0.0
        The factors (Keras' ``L1L2`` defaults).

    Examples
    --------
    >>> L1L2(l1=0.01, l2=0.001).get_config()
    {'l1': 0.01, 'l2': 0.001}
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = check_real("regularization factor l1", l1, NON_NEGATIVE)
        self.l2 = check_real("regularization factor l2", l2, NON_NEGATIVE)

    @property
    def active(self) -> bool:
        """Whether the penalty is non-zero (an all-zero regularizer costs nothing)."""
        return self.l1 != 0 or self.l2 != 0

    def get_config(self) -> dict[str, float]:
        """The factors as a dict, the form :func:`get` and the model file take back.

        Examples
        --------
        >>> L1L2(l1=0.1).get_config()
        {'l1': 0.1, 'l2': 0.0}
        """
        return {"l1": self.l1, "l2": self.l2}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, L1L2) and self.get_config() == other.get_config()

    def __repr__(self) -> str:
        return f"L1L2(l1={self.l1!r}, l2={self.l2!r})"


def l1(l1: float = 0.01) -> L1L2:
    """L1 penalty ``l1 * sum(|W|)`` (Keras' default factor 0.01).

    Parameters
    ----------
    l1 : float, default 0.01
        The factor of the sum of absolute weights; finite and >= 0.

    Examples
    --------
    >>> l1(0.1)
    L1L2(l1=0.1, l2=0.0)
    """
    return L1L2(l1=l1)


def l2(l2: float = 0.01) -> L1L2:
    """L2 penalty ``l2 * sum(W**2)`` (Keras' default factor 0.01).

    Parameters
    ----------
    l2 : float, default 0.01
        The factor of the sum of squared weights; finite and >= 0.

    Examples
    --------
    >>> l2(0.1)
    L1L2(l1=0.0, l2=0.1)
    """
    return L1L2(l2=l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Both penalties (Keras' ``l1_l2`` function defaults, 0.01 each).

    Parameters
    ----------
    l1 : float, default 0.01
        The factor of the sum of absolute weights; finite and >= 0.
    l2 : float, default 0.01
        The factor of the sum of squared weights; finite and >= 0.

    Examples
    --------
    >>> l1_l2(0.1, 0.2)
    L1L2(l1=0.1, l2=0.2)
    """
    return L1L2(l1=l1, l2=l2)


#: Regularizer name -> factory with Keras' default factors (lookups: :func:`get`'s policy).
REGULARIZERS: Registry[Callable[[], L1L2]] = Registry(
    "regularizer", {"l1": l1, "l2": l2, "l1_l2": l1_l2},
    hint=" (or fastmlp.regularizers.L1L2(...))")


def get(identifier: Any) -> L1L2 | None:
    """Return a regularizer for ``identifier``.

    Accepts ``None``, an :class:`L1L2`, one of the names ``"l1"``, ``"l2"``, ``"l1_l2"``
    (default factors 0.01) or a config dict ``{"l1": .., "l2": ..}`` (as saved by
    ``get_config``).

    Parameters
    ----------
    identifier : None, L1L2, str or dict
        What to turn into a regularizer (``None`` stays ``None``: no penalty).

    Raises
    ------
    ValueError
        For an unknown name or a negative, non-finite factor.
    ParamTypeError
        For an identifier of another type (also a ``ValueError``).

    Examples
    --------
    >>> get("l2")
    L1L2(l1=0.0, l2=0.01)
    """
    if identifier is None or isinstance(identifier, L1L2):
        return identifier
    if isinstance(identifier, str):
        return REGULARIZERS[REGULARIZERS.canonical(identifier)]()
    if isinstance(identifier, dict):
        unknown = set(identifier) - {"l1", "l2"}
        if unknown:
            raise ValueError(f"regularizer config has unknown keys {sorted(unknown)}; "
                             "expected 'l1' and/or 'l2'")
        return L1L2(**identifier)
    raise ParamTypeError(f"a regularizer must be None, a name ({', '.join(REGULARIZERS)}), "
                         f"a dict or fastmlp.regularizers.L1L2, got "
                         f"{type(identifier).__name__}")
