"""Activation functions: names, ids and documentation.

The formulas themselves live once per backend: readable NumPy in
:mod:`fastmlp.backend._numpy` (the specification) and fused C loops in
``fastmlp/backend/_kernels.pyx``. This module only maps the public names to the small
integer ids both backends dispatch on, and says what each function is.

=============  ==============================================  ===========================
name           f(x)                                            f'(x)
=============  ==============================================  ===========================
linear         x                                               1
sigmoid        1 / (1 + exp(-x))  (sign-branched, stable)      f (1 - f)
tanh           tanh(x)                                         1 - f^2
relu           max(0, x)                                       1 if x > 0 else 0 (0 at 0)
leaky_relu     x if x > 0 else 0.01 x                          1 if x > 0 else 0.01
prelu          x if x > 0 else a x  (a learnable, init 0.25)   1 if x > 0 else a
elu            x if x > 0 else exp(x) - 1                      1 if x > 0 else f + 1
softplus       max(x, 0) + log1p(exp(-abs(x)))                 sigmoid(x)
softmax        exp(x - max) / sum(exp(x - max)) over each row  Jacobian-vector product
gelu           x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2     Phi(x) + x phi(x)
silu / swish   x sigmoid(x)                                    s (1 + x (1 - s))
selu           scale x if x > 0 else scale alpha (exp(x) - 1)  scale if x > 0 else f + scale alpha
mish           x tanh(softplus(x))                             t + x sigmoid(x) (1 - t^2)
hard_sigmoid   relu6(x + 3) / 6  (Keras 3, PyTorch)            1/6 if -3 < x < 3 else 0
relu6          min(max(x, 0), 6)                               1 if 0 < x < 6 else 0
exponential    exp(x)  (the log link of a Poisson output)      f
softsign       x / (1 + abs(x))  (Keras)                       1 / (1 + abs(x))^2
=============  ==============================================  ===========================

``gelu`` is the exact form with the error function (not the tanh approximation), as in
PyTorch's ``nn.GELU()`` and Keras' ``gelu(approximate=False)``; ``Phi``/``phi`` are the
standard normal CDF and density. ``selu`` uses the constants of Klambauer et al. (2017),
as PyTorch does: ``alpha = 1.6732632423543772848170429916717``,
``scale = 1.0507009873554804934193349852946``. ``hard_sigmoid`` is the Keras 3 / PyTorch
definition ``relu6(x + 3) / 6`` (slope 1/6), not Keras 2's ``0.2 x + 0.5``. In ``mish``,
``t = tanh(softplus(x))``.

The derivative of ``relu`` (and of the other piecewise functions) at exactly 0 is taken
from the left branch, as PyTorch does; ``hard_sigmoid`` and ``relu6`` have derivative 0 at
their corners (PyTorch's open intervals).
"""
from __future__ import annotations

from . import _ids
from ._registry import Registry

#: Public name -> integer id shared by both backends (the ids: :mod:`fastmlp._ids`).
ACTIVATIONS: Registry[int] = Registry("activation", {
    "linear": _ids.ACT_LINEAR,
    "sigmoid": _ids.ACT_SIGMOID,
    "tanh": _ids.ACT_TANH,
    "relu": _ids.ACT_RELU,
    "leaky_relu": _ids.ACT_LEAKY_RELU,
    "prelu": _ids.ACT_PRELU,
    "elu": _ids.ACT_ELU,
    "softplus": _ids.ACT_SOFTPLUS,
    "softmax": _ids.ACT_SOFTMAX,
    "gelu": _ids.ACT_GELU,
    "silu": _ids.ACT_SILU,
    "selu": _ids.ACT_SELU,
    "mish": _ids.ACT_MISH,
    "hard_sigmoid": _ids.ACT_HARD_SIGMOID,
    "relu6": _ids.ACT_RELU6,
    "exponential": _ids.ACT_EXPONENTIAL,
    "softsign": _ids.ACT_SOFTSIGN,
}, aliases={None: "linear", "identity": "linear", "logistic": "sigmoid", "swish": "silu",
            "exp": "exponential"})

#: Slope of ``leaky_relu`` for negative inputs, and scale of ``elu`` (fixed, as in Keras).
LEAKY_RELU_SLOPE = _ids.LEAKY_RELU_SLOPE
ELU_ALPHA = _ids.ELU_ALPHA
#: Initial slope of ``prelu`` (as in PyTorch's ``nn.PReLU``).
PRELU_INIT = 0.25
#: ``selu`` constants (Klambauer et al. 2017, as in PyTorch's ``nn.SELU``).
SELU_ALPHA = _ids.SELU_ALPHA
SELU_SCALE = _ids.SELU_SCALE


def get(name: str | None) -> str:
    """Return the canonical activation name for ``name``.

    Parameters
    ----------
    name : str or None
        One of :data:`ACTIVATIONS`, in any case, with or without underscores (``"ReLU"``,
        ``"LeakyReLU"``); ``None`` and ``"identity"`` mean ``"linear"``, ``"logistic"``
        ``"sigmoid"``, ``"swish"`` ``"silu"``, ``"exp"`` ``"exponential"``.

    Returns
    -------
    str
        The canonical name.

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.

    Examples
    --------
    >>> get("relu")
    'relu'
    """
    return ACTIVATIONS.canonical(name)
