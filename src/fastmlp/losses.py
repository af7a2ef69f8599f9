"""Loss functions: names, ids and documentation.

Losses are means over the batch (and, for element-wise losses, over the outputs too, as
Keras computes them). With sample weights ``w`` (``fit(sample_weight=...)``,
``class_weight``) the loss of a batch of ``n`` rows is, as in Keras' default
``"sum_over_batch_size"`` reduction,

    ``L = sum_i w_i l_i / n``

where ``l_i`` is row ``i``'s loss (the mean over its outputs for the element-wise losses,
the sum over classes for categorical cross-entropy). With every ``w_i = 1`` this is the
unweighted mean; the gradients are weighted the same way (row ``i`` of ``dL/dZ`` is scaled
by ``w_i``). Regularization penalties of the layers (:mod:`fastmlp.regularizers`) are added
to the batch's loss. The formulas live once per backend (:mod:`fastmlp.backend._numpy`
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
``mean_absolute_error``
    ``L = mean(|A - Y|)``; derivative ``sign(A - Y)`` (0 where ``A == Y``).
``huber``
    Keras' Huber loss with ``delta = 1``: per element ``0.5 e^2`` if ``|e| <= delta`` else
    ``delta (|e| - 0.5 delta)``, ``e = A - Y``; derivative ``e`` clipped to
    ``[-delta, delta]``.
``hinge``
    Keras' hinge loss ``L = mean(max(1 - y a, 0))`` for labels ``y`` in ``{-1, 1}``; 0/1
    labels are converted to -1/1 first (as Keras does). Derivative ``-y`` where
    ``1 - y a > 0``, else 0. Use it with a ``linear`` (or ``tanh``) output.
``poisson``
    Keras' Poisson loss ``L = mean(a - y log a)`` for counts ``y >= 0`` and an
    ``exponential`` output (required: the log link ``a = exp(z)``, as scikit-learn's
    ``MLPRegressor(loss="poisson")``), computed from the logits as ``mean(exp(z) - y z)``
    (Keras adds 1e-7 inside the log; the fused form needs no guard) and fused so that
    ``dL/dz = (a - y) / (n k)``. Negative targets are refused.
"""
from __future__ import annotations

from . import _ids
from ._registry import Registry

#: ``delta`` of the Huber loss (Keras' default).
HUBER_DELTA = _ids.HUBER_DELTA

#: Public name -> (engine id, required output activation or None); the ids:
#: :mod:`fastmlp._ids`.
LOSSES: Registry[tuple[int, str | None]] = Registry("loss", {
    "mean_squared_error": (_ids.LOSS_MSE, None),
    "binary_crossentropy": (_ids.LOSS_BCE, "sigmoid"),
    "categorical_crossentropy": (_ids.LOSS_CCE, "softmax"),
    "sparse_categorical_crossentropy": (_ids.LOSS_CCE, "softmax"),
    "mean_absolute_error": (_ids.LOSS_MAE, None),
    "huber": (_ids.LOSS_HUBER, None),
    "hinge": (_ids.LOSS_HINGE, None),
    "poisson": (_ids.LOSS_POISSON, "exponential"),
}, aliases={"mse": "mean_squared_error", "bce": "binary_crossentropy",
            "log_loss": "binary_crossentropy", "cce": "categorical_crossentropy",
            "mae": "mean_absolute_error", "huber_loss": "huber"}, plural="losses")


def get(name: str) -> str:
    """Return the canonical loss name for ``name``.

    Parameters
    ----------
    name : str
        One of :data:`LOSSES`, in any case, with or without underscores
        (``"MeanSquaredError"``), or an alias: ``mse``, ``mae``, ``bce``, ``log_loss``,
        ``cce``, ``huber_loss``.

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
    >>> get("MSE")
    'mean_squared_error'
    """
    return LOSSES.canonical(name)
