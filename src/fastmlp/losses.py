"""Loss functions: names, ids and documentation.

Losses are means over the batch (and, for element-wise losses, over the outputs too, as
Keras computes them). The formulas live once per backend (:mod:`fastmlp.backend._numpy`
and ``_kernels.pyx``); this module maps names to ids and states the contract.

``mean_squared_error``
    ``L = mean((A - Y)^2)`` over all elements; the L2 loss of linear regression.
``binary_crossentropy``
    ``L = mean(max(z, 0) - z y + log1p(exp(-|z|)))`` computed from the logits ``z`` of a
    ``sigmoid`` output (required), fused so that ``dL/dz = (sigmoid(z) - y) / (n k)``.
``categorical_crossentropy``
    ``L = mean_rows(-sum_k y_k log_softmax(z)_k)`` for one-hot (or probability) targets
    and a ``softmax`` output (required), fused so that ``dL/dz = (P - Y) / n``.
``sparse_categorical_crossentropy``
    The same with integer class labels ``y`` of shape ``(n,)``; the model one-hot encodes
    them once per ``fit``.
"""
from __future__ import annotations

MSE, BCE, CCE = range(3)

#: Public name -> (engine id, required output activation or None).
LOSSES: dict[str, tuple[int, str | None]] = {
    "mean_squared_error": (MSE, None),
    "binary_crossentropy": (BCE, "sigmoid"),
    "categorical_crossentropy": (CCE, "softmax"),
    "sparse_categorical_crossentropy": (CCE, "softmax"),
}
_ALIASES = {"mse": "mean_squared_error", "bce": "binary_crossentropy",
            "log_loss": "binary_crossentropy", "cce": "categorical_crossentropy"}


def get(name: str) -> str:
    """Return the canonical loss name for ``name``.

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.

    Examples
    --------
    >>> get("mse")
    'mean_squared_error'
    """
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if not isinstance(key, str) or key.lower() not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid losses are: {', '.join(LOSSES)}")
    return key.lower()
