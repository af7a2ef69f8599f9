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
softplus       max(x, 0) + log1p(exp(-|x|))                    sigmoid(x)
softmax        exp(x - max) / sum(exp(x - max)) over each row  Jacobian-vector product
=============  ==============================================  ===========================

The derivative of ``relu`` (and of the other piecewise functions) at exactly 0 is taken
from the left branch, as PyTorch does.
"""
from __future__ import annotations

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, PRELU, ELU, SOFTPLUS, SOFTMAX = range(9)

#: Public name -> integer id shared by both backends.
ACTIVATIONS: dict[str, int] = {
    "linear": LINEAR,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "prelu": PRELU,
    "elu": ELU,
    "softplus": SOFTPLUS,
    "softmax": SOFTMAX,
}
_ALIASES = {None: "linear", "identity": "linear", "logistic": "sigmoid"}

#: Slope of ``leaky_relu`` for negative inputs, and scale of ``elu`` (fixed, as in Keras).
LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0
#: Initial slope of ``prelu`` (as in PyTorch's ``nn.PReLU``).
PRELU_INIT = 0.25


def get(name: str | None) -> str:
    """Return the canonical activation name for ``name``.

    Parameters
    ----------
    name : str or None
        One of :data:`ACTIVATIONS` (``None`` and ``"identity"`` mean ``"linear"``,
        ``"logistic"`` means ``"sigmoid"``).

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.

    Examples
    --------
    >>> get("relu")
    'relu'
    """
    key = _ALIASES.get(name, name)
    if not isinstance(key, str) or key.lower() not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; valid activations are: {', '.join(ACTIVATIONS)}"
        )
    return key.lower()
