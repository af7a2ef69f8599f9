"""The one vocabulary for checking scalar parameters (arrays: :mod:`fastmlp._validation`).

In the spirit of scikit-learn's ``Interval`` and ``check_scalar``: a parameter has a kind
(an integer, a real number, a flag, one of some strings) and, for numbers, an
:class:`Interval`. The exception policy, scikit-learn's:

* the wrong type raises :class:`ParamTypeError`, a ``TypeError``. It is also a
  ``ValueError``, as scikit-learn's ``InvalidParameterError`` is both, so that code that
  catches ``ValueError`` for any bad parameter (scikit-learn's estimator checks among it)
  keeps working;
* a value of the right type that is out of range, not finite or not among the choices
  raises ``ValueError``.

Messages name the parameter, the condition that fails and the value:
``units must be an integer >= 1, got 0``, ``beta_1 must be < 1.0, got 1.5``,
``learning_rate must be a real number, got '0.1'``, ``shuffle must be True or False,
got 1`` (the bound broken, as scikit-learn's ``check_scalar`` reports it). Booleans are
not numbers here: ``True`` is refused where an integer or a real number is expected.

A leaf module: it imports nothing of the package.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np


class ParamTypeError(TypeError, ValueError):
    """A parameter of the wrong type (a ``TypeError``, and a ``ValueError`` as well)."""


@dataclass(frozen=True)
class Interval:
    """The real numbers between ``low`` and ``high``; ``None`` leaves a side open-ended.

    Parameters
    ----------
    low, high : float or None
        The bounds (write them as floats for real parameters: messages show them as
        given).
    closed : {"left", "right", "both", "neither"}, default "left"
        Which bounds belong to the interval.

    Examples
    --------
    >>> 1.0 in Interval(0.0, 1.0), Interval(0.0, 1.0).violated(1.0)
    (False, '< 1.0')
    """

    low: float | None = None
    high: float | None = None
    closed: str = "left"

    def __contains__(self, value: float) -> bool:
        return not self.violated(value)

    def violated(self, value: float) -> str:
        """The bound ``value`` breaks, as text (``">= 0.0"``), or ``""`` if none.

        Parameters
        ----------
        value : float
            A number (not NaN).

        Returns
        -------
        str
            The condition that fails, for a message.

        Examples
        --------
        >>> Interval(0, None, "neither").violated(0)
        '> 0'
        """
        left = self.closed in ("left", "both")
        right = self.closed in ("right", "both")
        if self.low is not None and (value < self.low or (not left and value == self.low)):
            return f"{'>=' if left else '>'} {self.low}"
        if self.high is not None and (value > self.high or (not right and value == self.high)):
            return f"{'<=' if right else '<'} {self.high}"
        return ""


#: Intervals used across the package.
POSITIVE = Interval(0.0, None, "neither")
NON_NEGATIVE = Interval(0.0, None)
FRACTION = Interval(0.0, 1.0)                   # [0, 1): a dropout rate, a share held out
OPEN_FRACTION = Interval(0.0, 1.0, "neither")   # (0, 1): a factor that must shrink


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer in ``[low, high]`` (either bound may be None).

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : Any
        The value to check: a Python or NumPy integer, not a bool.
    low, high : int or None
        Inclusive bounds.

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    ParamTypeError
        If ``value`` is not an integer.
    ValueError
        If it is out of range.

    Examples
    --------
    >>> check_int("units", 3, 1)
    3
    >>> check_int("units", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: units must be an integer >= 1, got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ParamTypeError(_integer_message(name, value, low, high))
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(_integer_message(name, value, low, high))
    return number


def _integer_message(name: str, value: Any, low: int | None, high: int | None) -> str:
    """:func:`check_int`'s message, built only when a check fails."""
    bounds = " and ".join(text for text in (
        "" if low is None else f">= {low}", "" if high is None else f"<= {high}") if text)
    return f"{name} must be an integer{' ' + bounds if bounds else ''}, got {value!r}"


def check_real(name: str, value: Any, interval: Interval = Interval()) -> float:
    """A finite real number in ``interval``.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : Any
        The value to check: a Python or NumPy real number, not a bool.
    interval : Interval, optional
        Where the value must lie (default: anywhere).

    Returns
    -------
    float
        ``value`` as a Python float.

    Raises
    ------
    ParamTypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN, infinite or outside ``interval``.

    Examples
    --------
    >>> check_real("rate", 0.5, FRACTION)
    0.5
    >>> check_real("epsilon", 0, POSITIVE)
    Traceback (most recent call last):
    ...
    ValueError: epsilon must be > 0.0, got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParamTypeError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bound = interval.violated(number)
    if bound:
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return number


def check_flag(name: str, value: Any) -> bool:
    """``True`` or ``False`` (NumPy's bools too; not 0 and 1).

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : Any
        The value to check.

    Returns
    -------
    bool
        ``value`` as a Python bool.

    Raises
    ------
    ParamTypeError
        If ``value`` is not a bool.

    Examples
    --------
    >>> check_flag("shuffle", True)
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ParamTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """One of ``choices``.

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : Any
        The value to check.
    choices : tuple
        The allowed values.

    Returns
    -------
    Any
        ``value``.

    Raises
    ------
    ValueError
        If ``value`` is not among ``choices``.

    Examples
    --------
    >>> check_choice("mode", "min", ("auto", "min", "max"))
    'min'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, "
                         f"got {value!r}")
    return value
