"""Layers. A :class:`Dense` layer owns its parameters as NumPy arrays; :class:`Dropout`
has none; :class:`BatchNormalization` and :class:`LayerNormalization` normalize the
preceding Dense layer's output and own ``gamma``, ``beta`` (and moving statistics)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import activations, initializers, regularizers
from ._scalars import FRACTION, POSITIVE, check_flag, check_int, check_real
from ._validation import check_weights
from .backend._contract import NORM_BATCH, NORM_LAYER


def _input_dim_from_shape(input_shape: Any, where: str) -> int:
    """The number of features of an MLP input shape ``(n_features,)``."""
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 1
            or isinstance(input_shape[0], bool)
            or not isinstance(input_shape[0], (int, np.integer)) or input_shape[0] < 1):
        raise ValueError(f"{where} must be a tuple (n_features,) with one positive integer "
                         f"(an MLP takes rows of features), got {input_shape!r}")
    return int(input_shape[0])


class _Weights:
    """Keras' per-layer weight access, shared by every layer with ``params``."""

    params: list[np.ndarray]
    #: Arrays that are not trained by the optimizer (a BatchNormalization's moving
    #: statistics); they follow ``params`` in :attr:`weights`.
    state: list[np.ndarray] = []  # noqa: RUF012 - replaced, never mutated, per layer

    @property
    def weights(self) -> list[np.ndarray]:
        """The layer's arrays themselves (``[W, b]``, plus ``alpha`` for prelu; ``gamma``,
        ``beta`` and the moving statistics for normalization); editing them in place
        edits the model. Empty until the layer is built."""
        return [*self.params, *self.state]

    def param_shapes(self, n_in: int) -> list[tuple[int, ...]]:
        """The shapes of :attr:`weights` for ``n_in`` inputs: the one statement of the
        layer's parameter layout, which building, :meth:`count_params` and the model
        file's reader all use.

        Parameters
        ----------
        n_in : int
            The number of inputs (the previous layer's units).

        Returns
        -------
        list of tuple of int
            One shape per array, in the order of :attr:`weights`.

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.Dense(3, activation="prelu").param_shapes(2)
        [(2, 3), (3,), (3,)]
        """
        return []

    def count_params(self, n_in: int | None = None) -> int:
        """The number of weights (trainable or not); for ``n_in`` inputs (default: the
        layer's ``input_dim``) when the layer is not built yet, else 0 when that is unknown.

        Parameters
        ----------
        n_in : int, optional
            The number of inputs, for a layer not built yet.

        Returns
        -------
        int
            The number of values in :attr:`weights`.

        Examples
        --------
        >>> import fastmlp as fm
        >>> fm.Dense(3).count_params(2)
        9
        """
        if self.weights:
            return int(sum(p.size for p in self.weights))
        n_in = getattr(self, "input_dim", None) if n_in is None else n_in
        return 0 if n_in is None else sum(math.prod(s) for s in self.param_shapes(n_in))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the layer's parameters, in the order of :attr:`weights`.

        Examples
        --------
        >>> import fastmlp as fm
        >>> model = fm.Sequential([fm.Dense(3, input_dim=2)], seed=0).build()
        >>> [w.shape for w in model.layers[0].get_weights()]
        [(2, 3), (3,)]
        """
        return [p.copy() for p in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the layer's arrays in place.

        Raises ``ValueError`` for a wrong count, shapes or non-finite values and
        ``TypeError`` for non-numeric arrays, leaving the layer unchanged; ``RuntimeError``
        if the layer is not built yet.

        Parameters
        ----------
        weights : list of array-like
            One array per entry of :attr:`weights`, in that order and of those shapes;
            converted to the layer's dtype.

        Examples
        --------
        >>> import numpy as np, fastmlp as fm
        >>> layer = fm.Sequential([fm.Dense(1, input_dim=2)], seed=0).build().layers[0]
        >>> layer.set_weights([np.ones((2, 1)), np.zeros(1)])
        >>> layer.W.ravel().tolist()
        [1.0, 1.0]
        """
        arrays = self.weights
        if not arrays and weights and not getattr(self, "built", True):
            raise RuntimeError(f"layer {getattr(self, 'name', None)!r} is not built yet; "
                               "build the model first (model.build(input_dim) or fit)")
        for p, c in zip(arrays, check_weights(weights, arrays)):
            np.copyto(p, c)


class Input:
    """The shape of the model's input rows, as ``keras.Input``: the first entry of a
    :class:`~fastmlp.Sequential` layer list (it is not a layer itself and does not appear
    in ``model.layers``).

    Parameters
    ----------
    shape : tuple (n_features,)
        The number of input features, as a one-element tuple.
    name : str, optional
        Keras' argument, kept in :meth:`get_config`; the model does not use it.

    Examples
    --------
    >>> import fastmlp as fm
    >>> model = fm.Sequential([fm.Input((4,)), fm.Dense(2)], seed=0)
    >>> model.input_dim, [w.shape for w in model.build().get_weights()]
    (4, [(4, 2), (2,)])
    """

    def __init__(self, shape: Any, name: str | None = None) -> None:
        self.shape = (_input_dim_from_shape(shape, "Input shape"),)
        self.name = name

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this input."""
        return {"shape": list(self.shape), "name": self.name}

    def __repr__(self) -> str:
        return f"Input(shape={self.shape})"


class Dense(_Weights):
    """A fully connected layer: ``A = activation(A_prev @ W + b)``.

    Parameters
    ----------
    units : int
        Number of outputs.
    activation : str, default "linear"
        One of :data:`fastmlp.activations.ACTIVATIONS`.
    input_dim : int, optional
        Number of inputs; needed on the first layer unless the model is built from data
        (``fit``) or with :meth:`Sequential.build`.
    kernel_initializer : str, default "glorot_uniform"
        One of :data:`fastmlp.initializers.INITIALIZERS` (Keras' default).
    bias_initializer : str, default "zeros"
        Initializer of ``b`` (drawn as a ``(1, units)`` matrix).
    prelu_shared : bool, default False
        For ``activation="prelu"``: one slope shared by all units instead of one per unit.
    kernel_regularizer, bias_regularizer : optional
        Penalty on ``W`` / ``b`` added to the loss and its gradient: a
        :mod:`fastmlp.regularizers` object (``l1(0.01)``, ``l2(0.01)``, ``l1_l2(..)``), one
        of the names ``"l1"``, ``"l2"``, ``"l1_l2"``, or ``None``. Not the optimizer's
        ``weight_decay`` (see :mod:`fastmlp.regularizers`).
    name : str, optional
        The layer's name in :meth:`Sequential.summary` and the model file; by default
        ``dense_<position>`` (``dense_0``, ``dense_1``, ...) when added to a model.
    input_shape : tuple (n_features,), optional
        Keras' spelling of ``input_dim`` (give one or the other).

    Attributes
    ----------
    W : ndarray (n_in, units)
    b : ndarray (units,)
    alpha : ndarray (units,) or (1,), only for ``prelu``

    Examples
    --------
    >>> import fastmlp as fm
    >>> layer = fm.Dense(8, activation="relu", input_dim=4)
    >>> layer
    Dense(8, activation='relu', input_dim=4)
    """

    def __init__(self, units: int, activation: str | None = "linear",
                 input_dim: int | None = None, kernel_initializer: str = "glorot_uniform",
                 bias_initializer: str = "zeros", prelu_shared: bool = False,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 name: str | None = None, input_shape: Any = None) -> None:
        self.units = check_int("units", units, 1)
        if input_shape is not None:
            shape_dim = _input_dim_from_shape(input_shape, "input_shape")
            if input_dim is not None and input_dim != shape_dim:
                raise ValueError(f"input_dim={input_dim!r} and input_shape={input_shape!r} "
                                 "disagree; give one of them")
            input_dim = shape_dim
        self.activation = activations.get(activation)
        self.input_dim = None if input_dim is None else check_int("input_dim", input_dim, 1)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.prelu_shared = bool(prelu_shared)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.name = name
        self.params: list[np.ndarray] = []

    @property
    def built(self) -> bool:
        return bool(self.params)

    def build(self, n_in: int, rng: np.random.Generator, dtype: np.dtype) -> None:
        """Draw the parameters for ``n_in`` inputs.

        Parameters
        ----------
        n_in : int
            The layer's inputs (the previous layer's units, or the features); must match
            ``input_dim`` when that was given.
        rng : numpy.random.Generator
            The model's generator: ``W`` and ``b`` are drawn from it, in that order.
        dtype : numpy.dtype
            The model's dtype, float32 or float64.
        """
        n_in = check_int("input_dim", n_in, 1)
        if self.input_dim is not None and self.input_dim != n_in:
            raise ValueError(f"layer {self.name!r} expects input_dim={self.input_dim}, "
                             f"but receives {n_in} inputs")
        self.input_dim = n_in
        (_, units), _, *alpha = self.param_shapes(n_in)
        W = initializers.initialize(self.kernel_initializer, rng, n_in, units, dtype)
        b = initializers.initialize(self.bias_initializer, rng, 1, units, dtype)[0]
        self.params = [W, np.ascontiguousarray(b),
                       *(np.full(shape, activations.PRELU_INIT, dtype=dtype) for shape in alpha)]

    @property
    def W(self) -> np.ndarray:
        return self.params[0]

    @property
    def b(self) -> np.ndarray:
        return self.params[1]

    @property
    def alpha(self) -> np.ndarray | None:
        return self.params[2] if len(self.params) > 2 else None

    def param_shapes(self, n_in: int) -> list[tuple[int, ...]]:
        """``W (n_in, units)``, ``b (units,)``, and for ``prelu`` ``alpha``: ``(units,)``,
        or ``(1,)`` with ``prelu_shared``: the one statement of the PReLU shape rule.

        Parameters
        ----------
        n_in : int
            The number of inputs.

        Returns
        -------
        list of tuple of int
            The shapes of ``W``, ``b`` and (for ``prelu``) ``alpha``.

        Examples
        --------
        >>> Dense(4, activation="prelu", prelu_shared=True).param_shapes(3)
        [(3, 4), (4,), (1,)]
        """
        shapes: list[tuple[int, ...]] = [(n_in, self.units), (self.units,)]
        if self.activation == "prelu":
            shapes.append((1 if self.prelu_shared else self.units,))
        return shapes

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (without its weights)."""
        return {"units": self.units, "activation": self.activation,
                "input_dim": self.input_dim, "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer, "prelu_shared": self.prelu_shared,
                "kernel_regularizer": (None if self.kernel_regularizer is None
                                       else self.kernel_regularizer.get_config()),
                "bias_regularizer": (None if self.bias_regularizer is None
                                     else self.bias_regularizer.get_config()),
                "name": self.name}

    def __repr__(self) -> str:
        extra = f", input_dim={self.input_dim}" if self.input_dim is not None else ""
        return f"Dense({self.units}, activation={self.activation!r}{extra})"


class Dropout(_Weights):
    """Inverted dropout on the output of the preceding Dense layer (or on the inputs).

    During ``fit`` each unit of the previous layer's output is kept with probability
    ``1 - rate`` and scaled by ``1 / (1 - rate)``, or set to 0; in ``predict``,
    ``evaluate``, ``compute_gradients`` and ``layer_outputs`` the layer is the identity.
    The masks are drawn from the model's seeded generator, so a seeded fit is reproducible
    and both backends see the same masks. Dropout has no weights.

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of the units to drop.
    name : str, optional
        The layer's name in :meth:`Sequential.summary` and the model file; by default
        its kind and position (``dropout_1``, ...) when added to a model.

    Notes
    -----
    A Dropout layer drops units of the previous Dense layer's output, or of the network's
    inputs when it comes first; it must be followed by a Dense layer (dropout on the
    output is not supported). Two Dropout layers in a row act as one of rate
    ``1 - (1 - r1) (1 - r2)``.

    Examples
    --------
    >>> import fastmlp as fm
    >>> model = fm.Sequential([fm.Dense(64, activation="relu", input_dim=8),
    ...                        fm.Dropout(0.5), fm.Dense(1)])
    >>> model.layers[1]
    Dropout(0.5)
    """

    def __init__(self, rate: float, name: str | None = None) -> None:
        self.rate = check_real("Dropout rate", rate, FRACTION)
        self.name = name
        self.params: list[np.ndarray] = []

    built = True

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer."""
        return {"rate": self.rate, "name": self.name}

    def __repr__(self) -> str:
        return f"Dropout({self.rate!r})"


class _Normalization(_Weights):
    """Shared by the normalization layers: ``out = gamma * (a - mean) / sqrt(var + eps)
    + beta`` on the preceding Dense layer's output ``a`` (after its activation)."""

    kind = 0

    def __init__(self, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 name: str | None = None) -> None:
        self.epsilon = check_real("epsilon", epsilon, POSITIVE)
        self.center = check_flag("center", center)
        self.scale = check_flag("scale", scale)
        self.name = name
        self.units: int | None = None
        self.params: list[np.ndarray] = []
        self.state: list[np.ndarray] = []

    @property
    def built(self) -> bool:
        return self.units is not None

    def build(self, units: int, dtype: np.dtype) -> None:
        """Create ``gamma`` (ones) and ``beta`` (zeros) for ``units`` features, as Keras.

        Parameters
        ----------
        units : int
            The features normalized: the units of the Dense layer before.
        dtype : numpy.dtype
            The model's dtype, float32 or float64.
        """
        self.units = check_int("units", units, 1)
        self.params = ([np.ones(units, dtype=dtype)] if self.scale else []) + \
            ([np.zeros(units, dtype=dtype)] if self.center else [])
        self.state = []

    @property
    def gamma(self) -> np.ndarray | None:
        return self.params[0] if self.scale and self.params else None

    @property
    def beta(self) -> np.ndarray | None:
        return self.params[-1] if self.center and self.params else None

    def param_shapes(self, n_in: int) -> list[tuple[int, ...]]:
        """``gamma`` (with ``scale``), ``beta`` (with ``center``) and, for batch
        normalization, the moving mean and variance: each ``(n_in,)``.

        Parameters
        ----------
        n_in : int
            The number of features normalized (the preceding Dense layer's units).

        Returns
        -------
        list of tuple of int
            The shapes of :attr:`weights`.

        Examples
        --------
        >>> BatchNormalization().param_shapes(3)
        [(3,), (3,), (3,), (3,)]
        """
        n = int(self.scale) + int(self.center) + 2 * (self.kind == NORM_BATCH)
        return [(n_in,)] * n

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (without its weights)."""
        return {"epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "name": self.name}


class BatchNormalization(_Normalization):
    r"""Batch normalization of the preceding Dense layer's output, as
    ``keras.layers.BatchNormalization`` on 2-D inputs.

    In ``fit`` each feature is normalized with the batch's mean :math:`\mu_B` and
    (biased) variance :math:`\sigma_B^2`, and the moving statistics follow them:

    .. math::  y = \gamma \frac{a - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta ,\quad
               m \leftarrow \rho m + (1 - \rho)\mu_B ,\quad
               v \leftarrow \rho v + (1 - \rho)\sigma_B^2

    (the moving statistics move with each applied update step, not on a batch whose loss
    is not finite). Everywhere else (``predict``, ``evaluate``, ``layer_outputs``) the
    moving statistics :math:`m, v` take the batch's place; ``compute_gradients`` uses the
    batch statistics of the rows given (the training function) and moves nothing.

    Parameters
    ----------
    momentum : float in [0, 1), default 0.99
        :math:`\rho`.
    epsilon : float > 0, default 1e-3
        :math:`\epsilon`, added to the variance for numerical safety.
    center : bool, default True
        Learn :math:`\beta` (else 0).
    scale : bool, default True
        Learn :math:`\gamma` (else 1).
    name : str, optional
        The layer's name in :meth:`Sequential.summary` and the model file; by default
        its kind and position (``dropout_1``, ...) when added to a model.

    Notes
    -----
    It must directly follow a Dense layer (a Dropout may come after it) and be followed
    by one. ``weights`` are ``[gamma, beta, moving_mean, moving_variance]`` (those that
    exist), as in Keras.

    Examples
    --------
    >>> import fastmlp as fm
    >>> model = fm.Sequential([fm.Input((4,)), fm.Dense(8, activation="relu"),
    ...                        fm.BatchNormalization(), fm.Dense(1)], seed=0)
    >>> [w.shape for w in model.build().layers[1].get_weights()]
    [(8,), (8,), (8,), (8,)]
    """

    kind = NORM_BATCH

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, name: str | None = None) -> None:
        super().__init__(epsilon, center, scale, name)
        self.momentum = check_real("momentum", momentum, FRACTION)

    def build(self, units: int, dtype: np.dtype) -> None:
        """``gamma`` ones, ``beta`` zeros, moving mean zeros, moving variance ones.

        Parameters
        ----------
        units : int
            The features normalized: the units of the Dense layer before.
        dtype : numpy.dtype
            The model's dtype, float32 or float64.
        """
        super().build(units, dtype)
        self.state = [np.zeros(units, dtype=dtype), np.ones(units, dtype=dtype)]

    @property
    def moving_mean(self) -> np.ndarray | None:
        return self.state[0] if self.state else None

    @property
    def moving_variance(self) -> np.ndarray | None:
        return self.state[1] if self.state else None

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (without its weights)."""
        return {"momentum": self.momentum, **super().get_config()}

    def __repr__(self) -> str:
        return f"BatchNormalization(momentum={self.momentum!r}, epsilon={self.epsilon!r})"


class LayerNormalization(_Normalization):
    r"""Layer normalization of the preceding Dense layer's output, as
    ``keras.layers.LayerNormalization`` on 2-D inputs: each row is normalized over its
    features, in training and inference alike.

    .. math::  y = \gamma \frac{a - \mu_r}{\sqrt{\sigma_r^2 + \epsilon}} + \beta

    with :math:`\mu_r, \sigma_r^2` the mean and (biased) variance of row :math:`r`.

    Parameters
    ----------
    epsilon : float > 0, default 1e-3
        :math:`\epsilon`, added to the variance for numerical safety.
    center, scale : bool, default True
        Learn :math:`\beta` (else 0) and :math:`\gamma` (else 1).
    name : str, optional
        The layer's name in :meth:`Sequential.summary` and the model file; by default
        its kind and position (``dropout_1``, ...) when added to a model.

    Notes
    -----
    It must directly follow a Dense layer and be followed by one.

    Examples
    --------
    >>> import fastmlp as fm
    >>> model = fm.Sequential([fm.Input((4,)), fm.Dense(8, activation="relu"),
    ...                        fm.LayerNormalization(), fm.Dense(1)], seed=0)
    >>> model.build().count_params()
    65
    """

    kind = NORM_LAYER

    def __repr__(self) -> str:
        return f"LayerNormalization(epsilon={self.epsilon!r})"
