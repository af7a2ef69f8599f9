"""The backend contract: what a model hands to a backend, and what a backend returns.

A backend is a module exposing ``NAME`` (str) and ``Engine`` (a class built from a
:class:`NetSpec`). Both backends implement the same :class:`Engine` methods with the same
numbers (the NumPy one is the specification). The Python layer validates and converts
every array before it reaches an engine: inputs are C-contiguous arrays of the model's
dtype with the right shapes, targets are 2-D ``(n, n_out)`` (one-hot for the
categorical losses), ``order`` is an ``intp`` permutation of the rows.

Engine methods
--------------
``n_inputs`` (attribute)
    The number of features the network takes (``NetSpec.sizes[0]``).
``predict(X) -> ndarray (n, n_out)``
    The network's output.
``layer_outputs(X) -> list[ndarray]``
    The activation of every layer, first to last.
``loss(X, Y, sample_weight=None) -> float``
    The mean loss on ``(X, Y)`` (weighted: ``sum_i w_i l_i / n``), plus the layers'
    regularization penalties. Dropout is off.
``gradients(X, Y, sample_weight=None, masks=None, input_mask=None) -> (loss, grads)``
    The loss and the gradient of every parameter (in :meth:`Sequential.get_weights`
    order), without changing anything. Dropout is off unless ``masks`` / ``input_mask``
    are given (as for ``train``, with ``X``'s rows).
``train(X, Y, order, batch_size, first_batch, stop_batch, losses, sample_weight=None,
masks=None, input_mask=None) -> int``
    Run mini-batches ``first_batch .. stop_batch - 1`` of the epoch whose row order is
    ``order`` (batch ``i`` holds rows ``order[i*batch_size : (i+1)*batch_size]``): forward,
    loss, backward and optimizer update of every layer. Writes each batch's mean loss into
    ``losses[i - first_batch]`` and returns the number of batches completed; it stops
    *before* updating at the first batch whose loss is not finite (that batch's loss is
    written, and not counted as completed), so the parameters stay those of the last
    finite step. ``sample_weight`` ``(n,)`` is indexed like the rows of ``X`` (gathered by
    ``order``). ``masks`` is ``None`` or one entry per layer: ``None`` for a layer without
    dropout, else the inverted-dropout multipliers (0 or ``1 / (1 - rate)``) of the
    chunk's rows in batch order, shape ``(rows of batches first..stop-1, n_out)``; batch
    ``i`` uses rows ``(i - first_batch) * batch_size`` onwards. The layer's output is
    multiplied by its mask before it feeds the next layer (and ``f'(Z)`` still sees the
    undropped output). ``input_mask`` ``(rows, n_in)``, in the same row order, multiplies
    the batch's inputs (dropout on the inputs), or is ``None``.
    An engine may also check the state it writes: with a true class attribute
    ``checks_state``, ``train`` also stops right *after* a batch whose update made a
    parameter or optimizer state value non-finite (that batch is counted in the return
    value) and sets its ``state_finite`` attribute to False (True otherwise). The training
    guard then skips its own scan of the state after each call.
``apply_gradients(grads)``
    One optimizer step on every parameter with the given gradients (in
    :meth:`Sequential.get_weights` order): the same update ``train`` runs after each
    batch, for custom loops and for tests.
``predict_checked(X) -> ndarray or None`` (optional method, None where absent)
    The fast path of a latency-bound ``predict``: ``X`` is any object, and the engine
    returns the network's output only if ``X`` is already what ``predict`` takes (an
    aligned, C-contiguous, native ndarray of the model's dtype, 2-D, non-empty, with
    ``n_inputs`` columns and finite values) and the output is finite; otherwise None, and
    the caller validates ``X``, predicts and reports a non-finite output itself.
``raises_fp_warnings`` (optional class attribute, default False)
    True for an engine whose arithmetic may emit NumPy floating-point warnings (overflow,
    invalid values) while predicting or training, as the NumPy engine does. Callers that
    report non-finite results themselves (``predict``'s warning, the training guard)
    silence them with :func:`fp_quiet` rather than asking which engine they hold.

Callers read the optional attributes through :func:`checks_state`,
:func:`raises_fp_warnings` and :func:`fp_quiet`, which hold their defaults, and
``predict_checked`` directly. Both engines of this package set all three, so that the
reads on ``predict``'s path find them (``getattr`` with a default is slow only when the
attribute is missing).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # annotations only: the engines do not import the optimizers
    from ..optimizers import Optimizer


def checks_state(engine: Any) -> bool:
    """Whether ``engine`` checks the state ``train`` writes (the contract's ``checks_state``).

    Parameters
    ----------
    engine : Engine
        An engine of either backend.

    Returns
    -------
    bool
        The engine's ``checks_state`` attribute, False where it has none.

    Examples
    --------
    >>> checks_state(object())
    False
    """
    return bool(getattr(engine, "checks_state", False))


def raises_fp_warnings(engine: Any) -> bool:
    """Whether calls into ``engine`` may emit NumPy floating-point warnings (the contract's
    ``raises_fp_warnings``).

    Parameters
    ----------
    engine : Engine
        An engine of either backend.

    Returns
    -------
    bool
        The engine's ``raises_fp_warnings`` attribute, False where it has none.

    Examples
    --------
    >>> raises_fp_warnings(object())
    False
    """
    return bool(getattr(engine, "raises_fp_warnings", False))


def fp_quiet(engine: Any) -> contextlib.AbstractContextManager:
    """A context in which calls into ``engine`` raise no NumPy floating-point warnings.

    Parameters
    ----------
    engine : Engine
        An engine of either backend.

    Returns
    -------
    context manager
        ``numpy.errstate(all="ignore")`` for an engine with ``raises_fp_warnings``, a
        context that does nothing for the others.

    Examples
    --------
    >>> with fp_quiet(object()):
    ...     pass
    """
    if raises_fp_warnings(engine):
        return np.errstate(all="ignore")
    return contextlib.nullcontext()


@dataclass
class NetSpec:
    """Everything an engine needs: the architecture and the arrays it updates in place.

    Attributes
    ----------
    dtype : numpy.dtype
        float32 or float64, the dtype of every array.
    sizes : tuple of int
        ``(n_in, n_units_1, ..., n_units_L)``.
    activations : tuple of int
        Activation id of each layer (:mod:`fastmlp.activations`).
    params : list of list of ndarray
        Per layer ``[W (n_in, n_out), b (n_out,)]`` plus ``alpha`` for ``prelu`` (shape
        ``(n_out,)`` or ``(1,)``). Owned by the model; engines update them in place.
    loss : int
        Loss id (:mod:`fastmlp.losses`).
    optimizer : Optimizer
        Its ``kind``, ``hyper()``, ``slots`` (aligned with the flattened params) and
        ``scalars`` (step count first) are read and updated in place.
    dropout : tuple of float
        Dropout rate applied to each layer's output during training (0: none); empty
        means none on any layer's output.
    input_dropout : float
        Dropout rate on the inputs during training (0: none).
    regularizers : tuple of (kernel_l1, kernel_l2, bias_l1, bias_l2)
        Per layer penalty factors (:mod:`fastmlp.regularizers`); empty means none.
    norms : tuple of NormSpec or None
        Per layer, the normalization of its output (after the activation, before
        dropout), or ``None``; empty means none on any layer.
    penalty_rows : int
        0 (the default): the penalties are added as they are to every batch's loss.
        Otherwise they are the factors of a batch of ``penalty_rows`` rows, and a batch
        (or a full-data loss or gradient) of ``r`` rows uses them times
        ``penalty_rows / r``: scikit-learn's ``alpha / (2 n_batch)``, which grows for a
        short last batch.
    weight_norm : float
        0 (the default): ``train`` uses the sample weights as they are. Otherwise every
        training batch is normalised by its own weights, as scikit-learn divides by each
        batch's weight sum: the batch's row weights and its penalties are multiplied by
        ``f = rows * weight_norm / sum(batch weights)`` (1 when the batch's weights
        average ``weight_norm``; left at 1 when they sum to 0). ``loss`` and
        ``gradients`` do not change.
    """

    dtype: np.dtype
    sizes: tuple[int, ...]
    activations: tuple[int, ...]
    params: list[list[np.ndarray]]
    loss: int
    optimizer: Optimizer
    dropout: tuple[float, ...] = ()
    input_dropout: float = 0.0
    regularizers: tuple[tuple[float, float, float, float], ...] = ()
    norms: tuple = ()
    penalty_rows: int = 0
    weight_norm: float = 0.0

    def norm(self, layer: int) -> NormSpec | None:
        return self.norms[layer] if self.norms else None

    @property
    def flat_params(self) -> list[np.ndarray]:
        """Every trained array: per layer ``W, b`` (``alpha``), then its normalization's
        ``gamma`` and ``beta`` (those it has)."""
        out: list[np.ndarray] = []
        for i, layer in enumerate(self.params):
            out += layer
            norm = self.norm(i)
            if norm is not None:
                out += norm.params
        return out

    @property
    def norm_state(self) -> list[np.ndarray]:
        """The batch normalizations' moving means and variances, layer by layer."""
        return [a for norm in self.norms if norm is not None
                for a in (norm.moving_mean, norm.moving_variance) if a is not None]


#: Normalization kinds (``NormSpec.kind``): over the batch's rows, over a row's features.
NORM_BATCH, NORM_LAYER = 1, 2


@dataclass
class NormSpec:
    """A layer's output normalization (:class:`fastmlp.BatchNormalization` or
    :class:`fastmlp.LayerNormalization`).

    ``kind``: 1 batch (over the rows), 2 layer (over a row's features); ``gamma`` and
    ``beta`` ``(n_out,)`` or ``None`` (scale 1, shift 0); for batch normalization the
    moving statistics ``(n_out,)``, updated in place after each applied training step:
    ``m = momentum * m + (1 - momentum) * batch mean`` (and the biased variance).
    """

    kind: int
    epsilon: float
    momentum: float
    gamma: np.ndarray | None
    beta: np.ndarray | None
    moving_mean: np.ndarray | None = None
    moving_variance: np.ndarray | None = None

    @property
    def params(self) -> list[np.ndarray]:
        return [p for p in (self.gamma, self.beta) if p is not None]
