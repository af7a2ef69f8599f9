"""Optimizers: hyper-parameters and state; the update rules live in the backends.

An optimizer owns its hyper-parameters and its state slots (moment buffers, one array per
slot per parameter, plus a few scalars such as the step count). Both backends read the
hyper-parameters as a small float64 vector (:meth:`Optimizer.hyper`) and update the
parameters and the state arrays in place with the rule selected by :attr:`Optimizer.kind`
(readable NumPy in :mod:`fastmlp.backend._numpy`, one fused loop per array in
``_kernels.pyx``).

Every optimizer adds ``weight_decay * p`` to the gradient before its rule (L2, as
``torch.optim`` does).
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

SGD_KIND = 0

#: Layout of :meth:`Optimizer.hyper`: learning rate, weight decay, then up to six
#: rule-specific values.
N_HYPER = 8
#: Layout of the scalar state: step count, then up to three rule-specific values.
N_SCALARS = 4


def _check_number(name: str, value: Any, *, low: float = 0.0, low_inclusive: bool = True,
                  high: float | None = None) -> float:
    """Return ``value`` as a float after checking it is finite and in range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if value < low or (not low_inclusive and value == low):
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {bound} {low}, got {value!r}")
    if high is not None and value >= high:
        raise ValueError(f"{name} must be < {high}, got {value!r}")
    return value


class Optimizer:
    """Base class: hyper-parameters, state slots and their layout for the backends.

    Parameters
    ----------
    learning_rate : float
        Step size, finite and > 0.
    weight_decay : float, default 0
        L2 penalty added to the gradient: ``g <- g + weight_decay * p``.
    """

    kind: ClassVar[int]
    name: ClassVar[str]
    #: Number of state arrays per parameter.
    n_slots: ClassVar[int] = 0

    def __init__(self, learning_rate: float, weight_decay: float = 0.0) -> None:
        self.learning_rate = _check_number("learning_rate", learning_rate, low_inclusive=False)
        self.weight_decay = _check_number("weight_decay", weight_decay)
        self.slots: list[list[np.ndarray]] = []
        self.scalars = np.zeros(N_SCALARS, dtype=np.float64)

    # -- state --------------------------------------------------------------------------
    @property
    def iterations(self) -> int:
        """Number of update steps taken so far."""
        return int(self.scalars[0])

    def build(self, params: list[np.ndarray]) -> None:
        """Allocate zeroed state slots shaped like ``params`` (idempotent for same shapes)."""
        shapes = [[s.shape for s in slot] for slot in self.slots]
        wanted = [[p.shape] * self.n_slots for p in params]
        if shapes == wanted and all(s.dtype == p.dtype for slot, p in zip(self.slots, params)
                                    for s in slot):
            return
        self.slots = [[np.zeros_like(p) for _ in range(self.n_slots)] for p in params]
        self.scalars[:] = 0.0
        self._init_state()

    def _init_state(self) -> None:
        """Hook for rules whose state does not start at zero."""

    def reset(self) -> None:
        """Forget all state (moments and step count)."""
        for slot in self.slots:
            for s in slot:
                s.fill(0)
        self.scalars[:] = 0.0
        self._init_state()

    # -- what the backends read -----------------------------------------------------------
    def _extra_hyper(self) -> list[float]:
        return []

    def hyper(self) -> np.ndarray:
        """The float64 vector ``[learning_rate, weight_decay, *rule-specific]``."""
        out = np.zeros(N_HYPER, dtype=np.float64)
        values = [self.learning_rate, self.weight_decay, *self._extra_hyper()]
        out[: len(values)] = values
        return out

    # -- description ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this optimizer."""
        return {"learning_rate": self.learning_rate, "weight_decay": self.weight_decay}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Plain (stochastic, mini-batch or full-batch) gradient descent.

    .. math::  g_t = \nabla L(p_{t-1}) + \lambda p_{t-1}, \qquad
               p_t = p_{t-1} - \eta\, g_t

    Same as ``torch.optim.SGD(lr=eta, weight_decay=lambda)``.

    Examples
    --------
    >>> SGD(learning_rate=0.1)
    SGD(learning_rate=0.1, weight_decay=0.0)
    """

    kind = SGD_KIND
    name = "sgd"
    n_slots = 0

    def __init__(self, learning_rate: float = 0.01, weight_decay: float = 0.0) -> None:
        super().__init__(learning_rate, weight_decay)


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD,)}


def get(identifier: str | Optimizer) -> Optimizer:
    """Return an optimizer instance for a name (default settings) or an instance.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.

    Examples
    --------
    >>> get("sgd")
    SGD(learning_rate=0.01, weight_decay=0.0)
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; valid optimizers are: "
                     f"{', '.join(OPTIMIZERS)} (or an fastmlp.optimizers.Optimizer instance)")
