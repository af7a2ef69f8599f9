r"""Optimizers and learning-rate schedules: hyper-parameters and state.

An optimizer owns its hyper-parameters and its state: moment buffers (``slots``: per
parameter, ``n_slots`` arrays shaped and typed like it, aligned with the flattened
parameters) and a few float64 scalars (``scalars``: the step count first, then
rule-specific values such as NAdam's running product of momentum coefficients). The
update rules themselves live in the backends: readable NumPy in
:mod:`fastmlp.backend._numpy` (the specification) and one fused ``nogil`` loop per
parameter array in ``backend/_kernels.pyx``; both read the hyper-parameters as the float64
vector :meth:`Optimizer.hyper` and update parameters and state in place.

The ten rules follow ``torch.optim`` exactly (update formula, order of the steps, default
values), so results can be checked against PyTorch:

============  ==========================================  ==============
fastmlp       torch.optim equivalent                      learning rate
============  ==========================================  ==============
SGD           ``SGD``                                     0.01
Momentum      ``SGD(momentum=0.9)``                       0.01
Nesterov      ``SGD(momentum=0.9, nesterov=True)``        0.01
Adagrad       ``Adagrad``                                 0.01
Adadelta      ``Adadelta``                                1.0
RMSprop       ``RMSprop``                                 0.01
Adam          ``Adam``                                    0.001
AdaMax        ``Adamax``                                  0.002
Nadam         ``NAdam``                                   0.002
AMSGrad       ``Adam(amsgrad=True)``                      0.001
============  ==========================================  ==============

Argument names are Keras's (``learning_rate``, ``beta_1``, ``beta_2``, ``epsilon``,
``rho``); each class docstring names the ``torch.optim`` argument each one maps to.

Common to every optimizer, applied in this order at each update :math:`t = 1, 2, \dots`:

1. the learning rate of the step, :math:`\eta_t`, from a constant or a
   :class:`LearningRateSchedule` evaluated at :math:`t - 1` (updates already taken);
2. gradient clipping (optional, at most one of): ``clipnorm`` scales all gradients
   together when their global L2 norm exceeds it,
   :math:`g \leftarrow g \cdot c / \max(c, \lVert g \rVert)`; ``clipvalue`` clips each
   element to :math:`[-c, c]`;
3. L2 weight decay added to the gradient as ``torch.optim`` does:
   :math:`g \leftarrow g + \lambda p`;
4. the rule's update of its state and of :math:`p`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np

from ._registry import Registry
from ._scalars import (FRACTION, NON_NEGATIVE, POSITIVE, Interval, check_choice, check_flag,
                       check_int, check_real)

from ._ids import (
    OPT_SGD, OPT_MOMENTUM, OPT_ADAGRAD, OPT_ADADELTA, OPT_RMSPROP, OPT_ADAM, OPT_ADAMAX,
    OPT_NADAM, HYPER_LR, HYPER_WEIGHT_DECAY, HYPER_RULE, HYPER_SCHEDULE, HYPER_STAIRCASE,
    HYPER_DECAY_STEPS, HYPER_CLIPNORM, HYPER_CLIPVALUE, HYPER_WARMUP, N_HYPER,
    SCHEDULE_CONSTANT, SCHEDULE_EXPONENTIAL, SCHEDULE_INVERSE, N_SCALARS)

#: Where Adam adds epsilon: after the bias correction of v (PyTorch) or to sqrt(v) with
#: the corrections in the step size (Keras, scikit-learn).
EPSILON_MODES = ("torch", "keras")
#: What a momentum velocity holds: gradients (PyTorch) or learning rate times gradients
#: (Keras, scikit-learn).
VELOCITY_MODES = ("torch", "keras")


class _Hyper:
    """A float hyper-parameter checked on every assignment (in ``__init__`` and later)."""

    def __init__(self, interval: Interval = NON_NEGATIVE) -> None:
        self.interval = interval

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else obj.__dict__[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = check_real(self.name, value, self.interval)


class _Fixed:
    """A structural option (it decides the state layout): set once, then read-only."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else obj.__dict__[self.name]

    def __set__(self, obj: Any, value: Any) -> None:
        if self.name in obj.__dict__:
            raise AttributeError(f"{self.name} decides the optimizer's state layout and cannot "
                                 f"change after construction; create a new "
                                 f"{type(obj).__name__} instead")
        obj.__dict__[self.name] = value


# =========================================================================================
# learning-rate schedules
# =========================================================================================
class LearningRateSchedule:
    """Base class: a learning rate that depends on the number of updates taken.

    A schedule is evaluated by the backends themselves at every update (in C for the
    compiled one) from the parameters it packs into :meth:`Optimizer.hyper`, so it costs
    nothing per batch. ``schedule(iteration)`` gives the learning rate of the update that
    follows ``iteration`` completed updates (``schedule(0)`` is the first update's).
    Steps count optimizer updates (mini-batches), as in Keras, not epochs.

    Examples
    --------
    >>> opt = SGD(learning_rate=ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5))
    >>> opt.current_learning_rate
    0.1
    """

    kind: ClassVar[int]

    initial_learning_rate = _Hyper(POSITIVE)

    def _pack(self) -> tuple[float, float, float, float, float]:
        """``(kind, decay_steps, decay_rate, power, staircase)`` for the hyper vector."""
        raise NotImplementedError

    def hyper(self) -> np.ndarray:
        """The hyper vector of a constant-rate optimizer using this schedule."""
        out = np.zeros(N_HYPER, dtype=np.float64)
        out[HYPER_LR] = self.initial_learning_rate
        out[HYPER_SCHEDULE:HYPER_STAIRCASE + 1] = self._pack()
        return out

    def __call__(self, iteration: int) -> float:
        """Learning rate of the update after ``iteration`` (>= 0) completed updates."""
        from .backend._numpy import learning_rate_at

        return learning_rate_at(self.hyper(), check_int("iteration", iteration, 0))

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this schedule (JSON-serialisable)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None  # type: ignore[assignment]


class Constant(LearningRateSchedule):
    r"""A constant learning rate, :math:`\eta_t = \eta` (the same as passing a float).

    Parameters
    ----------
    learning_rate : float
        The rate at every step, finite and > 0.

    Examples
    --------
    >>> Constant(0.1)(1000)
    0.1
    """

    kind = SCHEDULE_CONSTANT

    def __init__(self, learning_rate: float) -> None:
        self.initial_learning_rate = learning_rate

    def _pack(self):
        return (SCHEDULE_CONSTANT, 1.0, 0.0, 0.0, 0.0)

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.initial_learning_rate}


class ExponentialDecay(LearningRateSchedule):
    r"""Exponential decay, as ``keras.optimizers.schedules.ExponentialDecay``.

    .. math::  \eta_t = \eta_0 \, r^{\,t / s}
               \qquad (\lfloor t / s \rfloor \text{ with } staircase)

    where :math:`t` counts the updates already taken, :math:`s` is ``decay_steps`` and
    :math:`r` is ``decay_rate``.

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\eta_0 > 0`.
    decay_steps : float
        :math:`s > 0`: the learning rate is multiplied by ``decay_rate`` every ``s`` updates.
    decay_rate : float
        :math:`r > 0`.
    staircase : bool
        Decay in discrete jumps every ``decay_steps`` updates.

    Examples
    --------
    >>> schedule = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    >>> schedule(0), schedule(100), schedule(200)
    (0.1, 0.05, 0.025)
    """

    kind = SCHEDULE_EXPONENTIAL
    decay_steps = _Hyper(POSITIVE)
    decay_rate = _Hyper(POSITIVE)

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = check_flag("staircase", staircase)

    def _pack(self):
        return (SCHEDULE_EXPONENTIAL, self.decay_steps, self.decay_rate, 0.0,
                float(self.staircase))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class StepDecay(LearningRateSchedule):
    r"""Step decay: multiply the learning rate by ``decay_rate`` every ``decay_steps`` updates.

    .. math::  \eta_t = \eta_0 \, r^{\lfloor t / s \rfloor}

    (``torch.optim.lr_scheduler.StepLR`` counted in updates; the same as
    :class:`ExponentialDecay` with ``staircase=True``.)

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\eta_0 > 0`.
    decay_steps : float
        :math:`s > 0`, updates between drops (e.g. ``10 * batches_per_epoch``).
    decay_rate : float, default 0.5
        :math:`r > 0`, the factor at each drop.

    Examples
    --------
    >>> schedule = StepDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> schedule(9), schedule(10), schedule(25)
    (0.1, 0.05, 0.025)
    """

    kind = SCHEDULE_EXPONENTIAL
    decay_steps = _Hyper(POSITIVE)
    decay_rate = _Hyper(POSITIVE)

    def __init__(self, initial_learning_rate: float, decay_steps: float,
                 decay_rate: float = 0.5) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate

    def _pack(self):
        return (SCHEDULE_EXPONENTIAL, self.decay_steps, self.decay_rate, 0.0, 1.0)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate}


class InverseScaling(LearningRateSchedule):
    r"""Inverse scaling of the learning rate with the number of updates.

    .. math::  \eta_t = \frac{\eta_0}{(1 + r\, t / s)^{\,p}}
               \qquad (\lfloor t / s \rfloor \text{ with } staircase)

    With the defaults (:math:`s = r = 1`, :math:`p = 0.5`) this is scikit-learn's
    ``learning_rate="invscaling"`` :math:`\eta_0 / (t + 1)^{0.5}`; with ``power=1`` it is
    ``keras.optimizers.schedules.InverseTimeDecay``.

    Parameters
    ----------
    initial_learning_rate : float
        :math:`\eta_0 > 0`.
    decay_steps : float, default 1
        :math:`s > 0`.
    decay_rate : float, default 1
        :math:`r >= 0`.
    power : float, default 0.5
        :math:`p >= 0`.
    staircase : bool, default False
        Use :math:`\lfloor t / s \rfloor` in place of :math:`t / s`.

    Examples
    --------
    >>> schedule = InverseScaling(0.1)
    >>> schedule(0), schedule(3), schedule(99)
    (0.1, 0.05, 0.01)
    """

    kind = SCHEDULE_INVERSE
    decay_steps = _Hyper(POSITIVE)
    decay_rate = _Hyper()
    power = _Hyper()

    def __init__(self, initial_learning_rate: float, decay_steps: float = 1.0,
                 decay_rate: float = 1.0, power: float = 0.5, staircase: bool = False) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.power = power
        self.staircase = check_flag("staircase", staircase)

    def _pack(self):
        return (SCHEDULE_INVERSE, self.decay_steps, self.decay_rate, self.power,
                float(self.staircase))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "power": self.power, "staircase": self.staircase}


class Warmup(LearningRateSchedule):
    r"""A linear warm-up in front of any learning rate or schedule.

    .. math::  \eta_t = \eta^{\text{base}}_t \cdot \min\left(1, \frac{t + 1}{w}\right)

    where :math:`t` counts the updates already taken and :math:`w` is ``warmup_steps``:
    the first update uses :math:`1/w` of the base rate, update :math:`w` the full base
    rate, and the base schedule keeps counting from the first update (it is not delayed).
    Like every schedule it is evaluated inside the backends, at no cost per batch.

    Parameters
    ----------
    schedule : float or LearningRateSchedule
        The base learning rate or schedule (not another Warmup).
    warmup_steps : int
        :math:`w \ge 1` updates (mini-batches) of warm-up.

    Examples
    --------
    >>> schedule = Warmup(ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5), 4)
    >>> [round(schedule(t), 4) for t in (0, 1, 3, 100)]
    [0.025, 0.0497, 0.0979, 0.05]
    >>> opt = Adam(learning_rate=Warmup(1e-3, warmup_steps=100))
    """

    def __init__(self, schedule: float | LearningRateSchedule | dict,
                 warmup_steps: int) -> None:
        base = _as_learning_rate(schedule)
        if isinstance(base, Warmup):
            raise ValueError("a Warmup cannot wrap another Warmup")
        self.schedule = base if isinstance(base, LearningRateSchedule) else Constant(base)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 1)

    @property
    def initial_learning_rate(self) -> float:
        return self.schedule.initial_learning_rate

    @property
    def kind(self) -> int:  # type: ignore[override]
        return self.schedule.kind

    def _pack(self):
        return self.schedule._pack()

    def hyper(self) -> np.ndarray:
        out = self.schedule.hyper()
        out[HYPER_WARMUP] = self.warmup_steps
        return out

    def get_config(self) -> dict[str, Any]:
        return {"schedule": serialize_schedule(self.schedule),
                "warmup_steps": self.warmup_steps}


#: Schedule class name -> class, for :func:`deserialize_schedule` (model files).
SCHEDULES: Registry[type[LearningRateSchedule]] = Registry(
    "learning-rate schedule", ((cls.__name__, cls) for cls in (
        Constant, ExponentialDecay, StepDecay, InverseScaling, Warmup)), plural="schedules")


def serialize_schedule(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` (JSON-serialisable), as Keras writes it.

    Parameters
    ----------
    schedule : LearningRateSchedule
        The schedule to describe.

    Examples
    --------
    >>> serialize_schedule(Constant(0.1))
    {'class_name': 'Constant', 'config': {'learning_rate': 0.1}}
    """
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize_schedule(config: dict[str, Any]) -> LearningRateSchedule:
    """Rebuild a schedule from :func:`serialize_schedule`'s output.

    Parameters
    ----------
    config : dict
        ``{"class_name": name of a schedule class of this module, "config": its
        get_config()}``.

    Examples
    --------
    >>> deserialize_schedule(serialize_schedule(StepDecay(0.1, 10)))
    StepDecay(initial_learning_rate=0.1, decay_steps=10.0, decay_rate=0.5)
    """
    if not isinstance(config, dict) or set(config) != {"class_name", "config"}:
        raise ValueError("a serialized schedule is a dict {'class_name': ..., 'config': "
                         f"{{...}}}}, got {config!r}")
    return SCHEDULES[SCHEDULES.canonical(config["class_name"])](**config["config"])


def _as_learning_rate(value: Any) -> float | LearningRateSchedule:
    if isinstance(value, LearningRateSchedule):
        return value
    if isinstance(value, dict):
        return deserialize_schedule(value)
    return check_real("learning_rate", value, POSITIVE)


# =========================================================================================
# optimizers
# =========================================================================================
class Optimizer:
    """Base class: hyper-parameters, state slots and their layout for the backends.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule
        Step size, finite and > 0, or a schedule evaluated at every update. It can be
        changed between calls to ``fit`` (and by callbacks between epochs); both backends
        re-read it.
    weight_decay : float, default 0
        L2 penalty added to the gradient: ``g <- g + weight_decay * p``.
    clipnorm : float, optional
        If the global L2 norm of all the gradients of a step exceeds ``clipnorm``, scale
        them all by ``clipnorm / norm`` (Keras's ``global_clipnorm``, PyTorch's
        ``clip_grad_norm_``).
    clipvalue : float, optional
        Clip every gradient element to ``[-clipvalue, clipvalue]``.

    Notes
    -----
    Clipping applies to the loss gradient, before weight decay; set at most one of
    ``clipnorm`` and ``clipvalue``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Momentum(learning_rate=0.1, clipnorm=1.0)
    >>> p = np.array([3.0, 4.0])
    >>> opt.apply_gradients([(2 * p, p)])      # |g| = 10 is clipped to 1
    >>> p, opt.iterations
    (array([2.94, 3.92]), 1)
    """

    kind: ClassVar[int]
    name: ClassVar[str]
    #: Rule-specific constructor arguments, in order (their get_config keys).
    _args: ClassVar[tuple[str, ...]] = ()

    weight_decay = _Hyper()
    _clipnorm: float | None
    _clipvalue: float | None

    def __init__(self, learning_rate: float | LearningRateSchedule,
                 weight_decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        if clipnorm is not None and clipvalue is not None:
            raise ValueError("set at most one of clipnorm and clipvalue, got "
                             f"clipnorm={clipnorm!r} and clipvalue={clipvalue!r}")
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.slots: list[list[np.ndarray]] = []
        self.scalars = np.zeros(N_SCALARS, dtype=np.float64)
        self._init_state()

    # -- hyper-parameters that need more than a range check --------------------------------
    @property
    def learning_rate(self) -> float | LearningRateSchedule:
        """The base learning rate (a float) or the :class:`LearningRateSchedule`."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float | LearningRateSchedule) -> None:
        self._learning_rate = _as_learning_rate(value)

    @property
    def current_learning_rate(self) -> float:
        """The learning rate the next update will use (the schedule's value now)."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return self._learning_rate

    @property
    def clipnorm(self) -> float | None:
        return self._clipnorm

    @clipnorm.setter
    def clipnorm(self, value: float | None) -> None:
        if value is not None:
            value = check_real("clipnorm", value, POSITIVE)
            if getattr(self, "_clipvalue", None) is not None:
                raise ValueError("set at most one of clipnorm and clipvalue (clipvalue is "
                                 f"{self._clipvalue!r})")
        self._clipnorm = value

    @property
    def clipvalue(self) -> float | None:
        return self._clipvalue

    @clipvalue.setter
    def clipvalue(self, value: float | None) -> None:
        if value is not None:
            value = check_real("clipvalue", value, POSITIVE)
            if getattr(self, "_clipnorm", None) is not None:
                raise ValueError("set at most one of clipnorm and clipvalue (clipnorm is "
                                 f"{self._clipnorm!r})")
        self._clipvalue = value

    # -- state --------------------------------------------------------------------------
    @property
    def n_slots(self) -> int:
        """Number of state arrays per parameter."""
        return 0

    @property
    def iterations(self) -> int:
        """Number of update steps taken so far."""
        return int(self.scalars[0])

    def build(self, params: list[np.ndarray]) -> None:
        """Allocate zeroed state slots shaped like ``params`` (idempotent for same shapes).

        Parameters
        ----------
        params : list of numpy.ndarray
            The parameters the optimizer will update, in the model's order; each slot is
            shaped and typed like its parameter.
        """
        if self.state_matches(params):
            return
        self.slots = [[np.zeros_like(p) for _ in range(self.n_slots)] for p in params]
        self.scalars[:] = 0.0
        self._init_state()

    def state_matches(self, params: list[np.ndarray]) -> bool:
        """Whether the state slots fit ``params`` (count, shapes, dtypes, layout).

        Parameters
        ----------
        params : list of numpy.ndarray
            The parameters to compare the slots with.
        """
        if len(self.slots) != len(params):
            return False
        for slot, p in zip(self.slots, params):
            if len(slot) != self.n_slots:
                return False
            for s in slot:
                if (not isinstance(s, np.ndarray) or s.shape != p.shape or s.dtype != p.dtype
                        or not s.flags.c_contiguous or not s.flags.writeable):
                    return False
        return True

    def _init_state(self) -> None:
        """Hook for rules whose state does not start at zero."""

    def reset(self) -> None:
        """Forget all state (moments and step count)."""
        for slot in self.slots:
            for s in slot:
                s.fill(0)
        self.scalars[:] = 0.0
        self._init_state()

    def get_state(self) -> dict[str, Any]:
        """Copies of the state: ``{"scalars": float64[4], "slots": [[array, ...], ...]}``."""
        return {"scalars": self.scalars.copy(),
                "slots": [[s.copy() for s in slot] for slot in self.slots]}

    def set_state(self, slots: list[list[Any]], scalars: Any) -> None:
        """Copy saved state (as from :meth:`get_state`) into this built optimizer, in place.

        Raises ``ValueError`` (changing nothing) when the counts or shapes do not match or a
        value is not finite.

        Parameters
        ----------
        slots : list of list of array-like
            Per parameter, its ``n_slots`` state arrays.
        scalars : array-like
            The step counters and running scalars (``N_SCALARS`` finite numbers).
        """
        scalars = np.asarray(scalars, dtype=np.float64)
        if scalars.shape != (N_SCALARS,) or not np.isfinite(scalars).all():
            raise ValueError(f"scalars must be {N_SCALARS} finite numbers, got {scalars!r}")
        if len(slots) != len(self.slots):
            raise ValueError(f"the state has slots for {len(slots)} parameters, this optimizer "
                             f"for {len(self.slots)} (build it on the model's parameters first)")
        converted = []
        for i, (new, old) in enumerate(zip(slots, self.slots)):
            if len(new) != len(old):
                raise ValueError(f"parameter {i} has {len(new)} state arrays, "
                                 f"{type(self).__name__} keeps {len(old)}")
            for k, (a, s) in enumerate(zip(new, old)):
                a = np.asarray(a)
                if a.shape != s.shape:
                    raise ValueError(f"state array {k} of parameter {i} has shape {a.shape}, "
                                     f"expected {s.shape}")
                if not np.isfinite(a).all():
                    raise ValueError(f"state array {k} of parameter {i} is not finite")
                converted.append((s, a))
        for s, a in converted:
            np.copyto(s, a, casting="same_kind")
        self.scalars[:] = scalars

    # -- what the backends read -----------------------------------------------------------
    def _rule_hyper(self) -> list[float]:
        """The rule-specific values at ``HYPER_RULE ..`` of :meth:`hyper`."""
        return []

    def hyper(self) -> np.ndarray:
        """The float64 vector the backends read (layout: the ``H_*`` constants).

        ``[learning rate, weight decay, six rule-specific values, schedule kind,
        decay_steps, decay_rate, power, staircase, clipnorm, clipvalue, 0]``
        """
        lr = self._learning_rate
        out = lr.hyper() if isinstance(lr, LearningRateSchedule) else np.zeros(N_HYPER)
        if not isinstance(lr, LearningRateSchedule):
            out[HYPER_LR] = lr
            out[HYPER_DECAY_STEPS] = 1.0
        out[HYPER_WEIGHT_DECAY] = self.weight_decay
        rule = self._rule_hyper()
        out[HYPER_RULE:HYPER_RULE + len(rule)] = rule
        out[HYPER_CLIPNORM] = self._clipnorm or 0.0
        out[HYPER_CLIPVALUE] = self._clipvalue or 0.0
        return out

    def apply_gradients(self, grads_and_params: Iterable[tuple[Any, np.ndarray]]) -> None:
        """One update of each parameter array, in place, by the NumPy reference rule.

        For custom loops and experiments (``fit`` runs the update inside the backend).
        The state is built on first use and kept between calls.

        Parameters
        ----------
        grads_and_params : iterable of (gradient, parameter)
            Parameters are writeable float32/float64 C-contiguous arrays; each gradient
            has its parameter's shape.

        Examples
        --------
        >>> import numpy as np
        >>> p = np.array([1.0, -2.0])
        >>> SGD(learning_rate=0.1).apply_gradients([(2 * p, p)])   # f = |p|^2
        >>> p
        array([ 0.8, -1.6])
        """
        from ._validation import check_finite
        from .backend._numpy import optimizer_step

        pairs = list(grads_and_params)
        params, grads = [], []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"grads_and_params[{i}] must be a (gradient, parameter) pair")
            g, p = pair
            if not isinstance(p, np.ndarray) or p.dtype not in (np.float32, np.float64):
                raise ValueError(f"parameter {i} must be a float32 or float64 ndarray, got "
                                 f"{type(p).__name__}{getattr(p, 'dtype', '')}")
            if not p.flags.c_contiguous or not p.flags.writeable:
                raise ValueError(f"parameter {i} must be C-contiguous and writeable")
            g = np.asarray(g)
            if g.shape != p.shape:
                raise ValueError(f"gradient {i} has shape {g.shape}, its parameter {p.shape}")
            g = np.ascontiguousarray(g, dtype=p.dtype)
            check_finite(g, f"gradient {i}")
            params.append(p)
            grads.append(g)
        self.build(params)
        optimizer_step(self, params, grads)

    # -- description ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this optimizer (JSON-serialisable).

        A schedule appears as ``{"class_name": ..., "config": {...}}``, which the
        constructors accept back: ``type(opt)(**opt.get_config())``.
        """
        lr = self._learning_rate
        config: dict[str, Any] = {
            "learning_rate": serialize_schedule(lr) if isinstance(lr, LearningRateSchedule)
            else lr}
        config.update({name: getattr(self, name) for name in self._args})
        config["weight_decay"] = self.weight_decay
        if self._clipnorm is not None:
            config["clipnorm"] = self._clipnorm
        if self._clipvalue is not None:
            config["clipvalue"] = self._clipvalue
        return config

    def __repr__(self) -> str:
        config = self.get_config()
        if isinstance(self._learning_rate, LearningRateSchedule):
            config["learning_rate"] = self._learning_rate
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Plain (stochastic, mini-batch or full-batch) gradient descent.

    .. math::  g_t = \nabla L(p_{t-1}) + \lambda p_{t-1}, \qquad
               p_t = p_{t-1} - \eta\, g_t

    Same as ``torch.optim.SGD(lr=eta, weight_decay=lambda)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
        The step size :math:`\eta`.
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.

    Examples
    --------
    >>> SGD(learning_rate=0.1)
    SGD(learning_rate=0.1, weight_decay=0.0)
    """

    kind = OPT_SGD
    name = "sgd"

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
                 weight_decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)


class Momentum(Optimizer):
    r"""Gradient descent with (heavy-ball) momentum.

    .. math::  b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t, \qquad
               p_t = p_{t-1} - \eta\, b_t

    with :math:`g_t` the gradient plus weight decay, :math:`\mu` ``momentum`` and
    :math:`\tau` ``dampening``. The buffer starts as the first gradient, exactly
    ``torch.optim.SGD(lr, momentum, dampening, weight_decay)``. With ``nesterov=True`` the
    step uses :math:`g_t + \mu\, b_t` instead of :math:`b_t` (see :class:`Nesterov`).

    With ``velocity_mode="keras"`` the velocity holds the learning rate times the
    gradients, as in Keras' ``SGD`` and scikit-learn's ``solver="sgd"``:
    :math:`v_t = \mu\, v_{t-1} - \eta_t\, g_t`, :math:`p_t = p_{t-1} + v_t` (Nesterov:
    :math:`p_t = p_{t-1} + \mu\, v_t - \eta_t\, g_t`). It equals the default
    ``"torch"`` form while the learning rate is constant; when a schedule changes it, the
    past velocity keeps its old learning rate. It is computed as the torch form with
    :math:`b_t = -v_t / \eta_t`, i.e. :math:`b_t = \mu\, (\eta_{t-1} / \eta_t)\, b_{t-1}
    + g_t` (the previous learning rate kept in ``scalars[1]``).

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
        The step size :math:`\eta`.
    momentum : float in [0, 1), default 0.9
        The momentum :math:`\mu` (0: plain gradient descent).
    dampening : float in [0, 1], default 0
        The dampening :math:`\tau` of the gradient added to the buffer.
    nesterov : bool, default False
        Needs ``momentum > 0`` and ``dampening == 0``, as in PyTorch.
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.
    velocity_mode : {"torch", "keras"}, default "torch"
        What the velocity holds (see above).

    Examples
    --------
    >>> Momentum()
    Momentum(learning_rate=0.01, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0)
    """

    kind = OPT_MOMENTUM
    name = "momentum"
    _args: ClassVar[tuple[str, ...]] = ("momentum", "dampening", "nesterov")

    momentum = _Hyper(FRACTION)
    dampening = _Hyper(Interval(0.0, 1.0, "both"))
    nesterov = _Fixed()

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
                 momentum: float = 0.9, dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None, velocity_mode: str = "torch") -> None:
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = check_flag("nesterov", nesterov)
        self.velocity_mode = velocity_mode
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening == 0, got "
                             f"momentum={self.momentum!r}, dampening={self.dampening!r}")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)

    @property
    def n_slots(self) -> int:
        return 1

    def _rule_hyper(self) -> list[float]:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening == 0, got "
                             f"momentum={self.momentum!r}, dampening={self.dampening!r}")
        return [self.momentum, self.dampening, float(self.nesterov),
                float(self._velocity_mode == "keras")]

    @property
    def velocity_mode(self) -> str:
        """``"torch"`` (the velocity holds gradients) or ``"keras"`` (learning rate times
        gradients)."""
        return self._velocity_mode

    @velocity_mode.setter
    def velocity_mode(self, value: str) -> None:
        self._velocity_mode = check_choice("velocity_mode", value, VELOCITY_MODES)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self._velocity_mode != "torch":  # the default keeps the config as it was
            config["velocity_mode"] = self._velocity_mode
        return config


class Nesterov(Momentum):
    r"""Nesterov accelerated gradient, in the form ``torch.optim`` uses.

    .. math::  b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + g_t, \qquad
               p_t = p_{t-1} - \eta\, (g_t + \mu\, b_t)

    with :math:`g_t` the gradient (plus weight decay) at :math:`p_{t-1}`: the "look-ahead"
    gradient of Sutskever et al. rewritten in terms of the current parameters. Exactly
    ``torch.optim.SGD(lr, momentum, nesterov=True, weight_decay)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
        The step size :math:`\eta`.
    momentum : float in (0, 1), default 0.9
        The momentum :math:`\mu`.
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.
    velocity_mode : {"torch", "keras"}, default "torch"
        What the velocity holds (see :class:`Momentum`).

    Examples
    --------
    >>> Nesterov(learning_rate=0.05)
    Nesterov(learning_rate=0.05, momentum=0.9, weight_decay=0.0)
    """

    name = "nesterov"
    _args = ("momentum",)

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
                 momentum: float = 0.9, weight_decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 velocity_mode: str = "torch") -> None:
        super().__init__(learning_rate, momentum, 0.0, True, weight_decay, clipnorm, clipvalue,
                         velocity_mode)


class Adagrad(Optimizer):
    r"""Adagrad: per-element steps scaled by the root of the summed squared gradients.

    .. math::  \eta'_t = \frac{\eta}{1 + (t - 1)\,\delta}, \qquad
               G_t = G_{t-1} + g_t^2, \qquad
               p_t = p_{t-1} - \eta'_t\, \frac{g_t}{\sqrt{G_t} + \epsilon}

    with :math:`G_0` = ``initial_accumulator_value`` and :math:`\delta` = ``lr_decay``.
    Exactly ``torch.optim.Adagrad(lr, lr_decay, weight_decay, initial_accumulator_value,
    eps)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
        The step size :math:`\eta`.
    lr_decay : float >= 0, default 0
        The decay :math:`\delta` of the step size with the update count.
    initial_accumulator_value : float >= 0, default 0
        The starting value :math:`G_0` of the sums of squares.
    epsilon : float > 0, default 1e-10
        The term :math:`\epsilon` added to the denominator.
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.

    Examples
    --------
    >>> Adagrad(learning_rate=0.1).epsilon
    1e-10
    """

    kind = OPT_ADAGRAD
    name = "adagrad"
    _args = ("lr_decay", "initial_accumulator_value", "epsilon")

    lr_decay = _Hyper()
    initial_accumulator_value = _Hyper()
    epsilon = _Hyper(POSITIVE)

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
                 lr_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 epsilon: float = 1e-10, weight_decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None) -> None:
        self.lr_decay = lr_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)

    @property
    def n_slots(self) -> int:
        return 1

    def _init_state(self) -> None:
        for slot in self.slots:
            slot[0].fill(self.initial_accumulator_value)

    def _rule_hyper(self) -> list[float]:
        return [self.lr_decay, self.epsilon]


class Adadelta(Optimizer):
    r"""Adadelta: steps scaled by the ratio of running RMS of updates and of gradients.

    .. math::  v_t = \rho\, v_{t-1} + (1 - \rho)\, g_t^2, \qquad
               \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t,

    .. math::  u_t = \rho\, u_{t-1} + (1 - \rho)\, \Delta_t^2, \qquad
               p_t = p_{t-1} - \eta\, \Delta_t

    Exactly ``torch.optim.Adadelta(lr, rho, eps, weight_decay)`` (:math:`\eta = 1` is
    Zeiler's original method).

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 1.0
        The factor :math:`\eta` of the step (1 is Zeiler's method).
    rho : float in [0, 1), default 0.9
        The decay :math:`\rho` of both running averages.
    epsilon : float > 0, default 1e-6
        The term :math:`\epsilon` under both square roots.
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.

    Examples
    --------
    >>> Adadelta().learning_rate
    1.0
    """

    kind = OPT_ADADELTA
    name = "adadelta"
    _args = ("rho", "epsilon")

    rho = _Hyper(FRACTION)
    epsilon = _Hyper(POSITIVE)

    def __init__(self, learning_rate: float | LearningRateSchedule = 1.0, rho: float = 0.9,
                 epsilon: float = 1e-6, weight_decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None) -> None:
        self.rho = rho
        self.epsilon = epsilon
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)

    @property
    def n_slots(self) -> int:
        return 2

    def _rule_hyper(self) -> list[float]:
        return [self.rho, self.epsilon]


class RMSprop(Optimizer):
    r"""RMSprop: steps divided by a running root mean square of the gradients.

    .. math::  v_t = \rho\, v_{t-1} + (1 - \rho)\, g_t^2, \qquad
               d_t = \sqrt{v_t} + \epsilon

    centered: :math:`a_t = \rho\, a_{t-1} + (1 - \rho)\, g_t` and
    :math:`d_t = \sqrt{v_t - a_t^2} + \epsilon`. Then without momentum
    :math:`p_t = p_{t-1} - \eta\, g_t / d_t`, with momentum :math:`\mu`:

    .. math::  b_t = \mu\, b_{t-1} + g_t / d_t, \qquad p_t = p_{t-1} - \eta\, b_t

    Exactly ``torch.optim.RMSprop(lr, alpha=rho, eps, weight_decay, momentum, centered)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
        The step size :math:`\eta`.
    rho : float in [0, 1), default 0.99
        The decay of the running average (``alpha`` in PyTorch).
    epsilon : float > 0, default 1e-8
        The term :math:`\epsilon` added to the denominator.
    momentum : float in [0, 1), default 0
        The momentum :math:`\mu` of the buffer (0: no buffer).
    centered : bool, default False
        Divide by an estimate of the gradient's standard deviation instead of its RMS.
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.

    Notes
    -----
    ``centered`` and whether ``momentum > 0`` decide the state layout, so they are fixed at
    construction.

    Examples
    --------
    >>> RMSprop(centered=True, momentum=0.5).n_slots
    3
    """

    kind = OPT_RMSPROP
    name = "rmsprop"
    _args = ("rho", "epsilon", "momentum", "centered")

    rho = _Hyper(FRACTION)
    epsilon = _Hyper(POSITIVE)
    momentum = _Fixed()
    centered = _Fixed()

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01, rho: float = 0.99,
                 epsilon: float = 1e-8, momentum: float = 0.0, centered: bool = False,
                 weight_decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        self.rho = rho
        self.epsilon = epsilon
        self.momentum = check_real("momentum", momentum, FRACTION)
        self.centered = check_flag("centered", centered)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)

    @property
    def n_slots(self) -> int:
        return 1 + int(self.centered) + int(self.momentum > 0)

    def _rule_hyper(self) -> list[float]:
        return [self.rho, self.epsilon, self.momentum, float(self.centered)]


class Adam(Optimizer):
    r"""Adam: bias-corrected running averages of the gradient and its square.

    .. math::  m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
               v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2,

    .. math::  p_t = p_{t-1} - \frac{\eta}{1 - \beta_1^t}\;
               \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    With ``amsgrad=True`` (see :class:`AMSGrad`) :math:`\hat v_t = \max(\hat v_{t-1}, v_t)`
    replaces :math:`v_t` in the step. Exactly ``torch.optim.Adam(lr, betas=(beta_1,
    beta_2), eps, weight_decay, amsgrad)``.

    With ``epsilon_mode="keras"`` epsilon is added to :math:`\sqrt{v_t}` itself and both
    bias corrections go into the step size, the form of Keras' ``Adam``, of
    scikit-learn's ``MLP*(solver="adam")`` and of the paper's Algorithm 1 with
    "epsilon hat" (Kingma and Ba, section 2):

    .. math::  p_t = p_{t-1} - \eta\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}\;
               \frac{m_t}{\sqrt{v_t} + \epsilon}

    The two forms differ only through epsilon (by a factor :math:`\sqrt{1 - \beta_2^t}`
    on it), most in the first steps and for large epsilon.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.001
        The step size :math:`\eta`.
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
        The decays :math:`\beta_1, \beta_2` of the first and second moment estimates.
    epsilon : float > 0, default 1e-8
        The term :math:`\epsilon` of the denominator (see the formulas above).
    amsgrad : bool, default False
        Use the running maximum of :math:`v_t` (see :class:`AMSGrad`).
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.
    epsilon_mode : {"torch", "keras"}, default "torch"
        Where epsilon enters the step (see above).

    Examples
    --------
    >>> Adam(learning_rate=ExponentialDecay(0.01, decay_steps=1000, decay_rate=0.5))
    ... # doctest: +NORMALIZE_WHITESPACE
    Adam(learning_rate=ExponentialDecay(initial_learning_rate=0.01, decay_steps=1000.0,
         decay_rate=0.5, staircase=False), beta_1=0.9, beta_2=0.999, epsilon=1e-08,
         amsgrad=False, weight_decay=0.0)
    """

    kind = OPT_ADAM
    name = "adam"
    _args: ClassVar[tuple[str, ...]] = ("beta_1", "beta_2", "epsilon", "amsgrad")

    beta_1 = _Hyper(FRACTION)
    beta_2 = _Hyper(FRACTION)
    epsilon = _Hyper(POSITIVE)
    amsgrad = _Fixed()

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 amsgrad: bool = False, weight_decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 epsilon_mode: str = "torch") -> None:
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = check_flag("amsgrad", amsgrad)
        self.epsilon_mode = epsilon_mode
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)

    @property
    def epsilon_mode(self) -> str:
        """``"torch"`` (epsilon after the bias correction of v) or ``"keras"``."""
        return self._epsilon_mode

    @epsilon_mode.setter
    def epsilon_mode(self, value: str) -> None:
        self._epsilon_mode = check_choice("epsilon_mode", value, EPSILON_MODES)

    @property
    def n_slots(self) -> int:
        return 3 if self.amsgrad else 2

    def _rule_hyper(self) -> list[float]:
        return [self.beta_1, self.beta_2, self.epsilon, float(self.amsgrad),
                float(self._epsilon_mode == "keras")]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self._epsilon_mode != "torch":  # the default keeps the config as it was
            config["epsilon_mode"] = self._epsilon_mode
        return config


class AMSGrad(Adam):
    r"""AMSGrad: Adam whose denominator never shrinks.

    .. math::  m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
               v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2, \qquad
               \hat v_t = \max(\hat v_{t-1}, v_t),

    .. math::  p_t = p_{t-1} - \frac{\eta}{1 - \beta_1^t}\;
               \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    Exactly ``torch.optim.Adam(lr, betas, eps, weight_decay, amsgrad=True)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.001
        The step size :math:`\eta`.
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
        The decays :math:`\beta_1, \beta_2` of the first and second moment estimates.
    epsilon : float > 0, default 1e-8
        The term :math:`\epsilon` of the denominator (see the formulas above).
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.
    epsilon_mode : {"torch", "keras"}, default "torch"
        Where epsilon enters the step (see :class:`Adam`).

    Examples
    --------
    >>> AMSGrad().n_slots
    3
    """

    name = "amsgrad"
    _args = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 weight_decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None, epsilon_mode: str = "torch") -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, True, weight_decay,
                         clipnorm, clipvalue, epsilon_mode)


class AdaMax(Optimizer):
    r"""AdaMax: Adam with the infinity norm in place of the squared-gradient average.

    .. math::  m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
               u_t = \max(\beta_2\, u_{t-1},\ |g_t| + \epsilon),

    .. math::  p_t = p_{t-1} - \frac{\eta}{1 - \beta_1^t}\, \frac{m_t}{u_t}

    (:math:`\epsilon` inside the max). Exactly ``torch.optim.Adamax(lr, betas, eps,
    weight_decay)``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.002
        The step size :math:`\eta`.
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
        The decay :math:`\beta_1` of the first moment and :math:`\beta_2` of the infinity norm.
    epsilon : float > 0, default 1e-8
        The term :math:`\epsilon` of the denominator (see the formulas above).
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.

    Examples
    --------
    >>> AdaMax().learning_rate
    0.002
    """

    kind = OPT_ADAMAX
    name = "adamax"
    _args = ("beta_1", "beta_2", "epsilon")

    beta_1 = _Hyper(FRACTION)
    beta_2 = _Hyper(FRACTION)
    epsilon = _Hyper(POSITIVE)

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.002,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 weight_decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)

    @property
    def n_slots(self) -> int:
        return 2

    def _rule_hyper(self) -> list[float]:
        return [self.beta_1, self.beta_2, self.epsilon]


class Nadam(Optimizer):
    r"""Nadam: Adam with Nesterov momentum and Dozat's momentum-decay schedule.

    .. math::  \mu_t = \beta_1 \bigl(1 - \tfrac12\, 0.96^{\,t\psi}\bigr), \qquad
               \Pi_t = \prod_{i \le t} \mu_i,

    .. math::  m_t = \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
               v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2, \qquad
               d_t = \sqrt{v_t / (1 - \beta_2^t)} + \epsilon,

    .. math::  p_t = p_{t-1} - \eta\, \frac{1 - \mu_t}{1 - \Pi_t}\, \frac{g_t}{d_t}
               - \eta\, \frac{\mu_{t+1}}{1 - \Pi_t\, \mu_{t+1}}\, \frac{m_t}{d_t}

    with :math:`\psi` = ``momentum_decay``. Exactly ``torch.optim.NAdam(lr, betas, eps,
    weight_decay, momentum_decay)``; :math:`\Pi_t` is kept in ``scalars[1]``.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.002
        The step size :math:`\eta`.
    beta_1, beta_2 : float in [0, 1), default 0.9 and 0.999
        The decays :math:`\beta_1, \beta_2` of the first and second moment estimates.
    epsilon : float > 0, default 1e-8
        The term :math:`\epsilon` of the denominator (see the formulas above).
    momentum_decay : float >= 0, default 0.004
        The momentum-decay rate :math:`\psi` of the schedule of :math:`\mu_t`.
    weight_decay, clipnorm, clipvalue
        See :class:`Optimizer`.

    Examples
    --------
    >>> float(Nadam().scalars[1])   # the running product starts at 1
    1.0
    """

    kind = OPT_NADAM
    name = "nadam"
    _args = ("beta_1", "beta_2", "epsilon", "momentum_decay")

    beta_1 = _Hyper(FRACTION)
    beta_2 = _Hyper(FRACTION)
    epsilon = _Hyper(POSITIVE)
    momentum_decay = _Hyper()

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.002,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 momentum_decay: float = 0.004, weight_decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None) -> None:
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.momentum_decay = momentum_decay
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue)

    @property
    def n_slots(self) -> int:
        return 2

    def _init_state(self) -> None:
        self.scalars[1] = 1.0

    def _rule_hyper(self) -> list[float]:
        return [self.beta_1, self.beta_2, self.epsilon, self.momentum_decay]


#: The ten optimizers by name: ``OPTIMIZERS[type(opt).__name__](**opt.get_config())``
#: rebuilds ``opt`` (lookups follow :func:`get`'s policy: ``"Adam"``, ``"AMSGrad"``).
OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer", (
    (cls.name, cls) for cls in (SGD, Momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam,
                                AdaMax, Nadam, AMSGrad)))


class LBFGS(Optimizer):
    r"""Limited-memory BFGS on the whole training set, for ``Sequential.fit``.

    Unlike the other optimizers it needs the loss itself, not only gradients: ``fit``
    hands the full-batch objective (loss and penalties, as ``evaluate`` computes them,
    with every gradient from one compiled call) and the weights as one flat float64
    vector to ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)``. Each epoch of
    ``fit`` is one such minimisation of at most ``max_iter`` iterations and ``max_fun``
    evaluations (as one ``step`` of ``torch.optim.LBFGS`` runs up to ``max_iter``
    iterations); its curvature history starts afresh each epoch. ``batch_size`` and
    ``shuffle`` do not apply; dropout is refused (the objective must be deterministic).
    The same driver runs ``fastmlp.sklearn``'s ``solver="lbfgs"``.

    Parameters
    ----------
    max_iter : int, default 20
        L-BFGS iterations per epoch (scipy's ``maxiter``).
    max_fun : int, default 15000
        Loss evaluations per epoch at most (scipy's ``maxfun``).
    tol : float, default 1e-5
        Stop when the largest gradient element is at most ``tol`` (scipy's ``gtol``).
    ftol : float, default 2.220446049250313e-09
        Stop when the relative decrease of the loss is at most ``ftol`` (scipy's).
    history_size : int, default 10
        Correction pairs kept (scipy's ``maxcor``).

    Examples
    --------
    >>> import numpy as np, fastmlp as fm
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1); y = X ** 2
    >>> model = fm.Sequential([fm.Dense(8, activation="tanh", input_dim=1), fm.Dense(1)],
    ...                       seed=0)
    >>> model.compile(optimizer=fm.optimizers.LBFGS(max_iter=200), loss="mse")
    >>> model.fit(X, y, epochs=1, verbose=0).history["loss"][-1] < 1e-3
    True
    """

    kind = -1              # no update rule in the engines: fit runs scipy's L-BFGS-B
    name = "lbfgs"
    _args = ("max_iter", "max_fun", "tol", "ftol", "history_size")

    tol = _Hyper()
    ftol = _Hyper()

    def __init__(self, max_iter: int = 20, max_fun: int = 15000, tol: float = 1e-5,
                 ftol: float = 2.220446049250313e-09, history_size: int = 10) -> None:
        self.max_iter = check_int("max_iter", max_iter, 1)
        self.max_fun = check_int("max_fun", max_fun, 1)
        self.tol = tol
        self.ftol = ftol
        self.history_size = check_int("history_size", history_size, 1)
        super().__init__(1.0)

    def get_config(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._args}

    def apply_gradients(self, grads_and_params: Iterable[tuple[Any, np.ndarray]]) -> None:
        raise TypeError("LBFGS needs the loss, not only gradients: train with "
                        "Sequential.fit (or scipy.optimize.minimize directly)")


def get(identifier: str | Optimizer) -> Optimizer:
    """Return an optimizer instance for a name (default settings) or an instance.

    Parameters
    ----------
    identifier : str or Optimizer
        A name of :data:`OPTIMIZERS` or ``"lbfgs"``, in any case, with or without
        underscores; an instance is returned as it is.

    Returns
    -------
    Optimizer
        The optimizer.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.

    Examples
    --------
    >>> get("sgd")
    SGD(learning_rate=0.01, weight_decay=0.0)
    >>> get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, Optimizer):
        return identifier
    return _BY_NAME[_BY_NAME.canonical(identifier)]()


#: :data:`OPTIMIZERS` and ``"lbfgs"``: every name :func:`get` takes.
_BY_NAME: Registry[Callable[[], Optimizer]] = Registry(   # each class has defaults
    "optimizer", {**OPTIMIZERS, LBFGS.name: LBFGS},
    hint=" (or a fastmlp.optimizers.Optimizer instance)")
