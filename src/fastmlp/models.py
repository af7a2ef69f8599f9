"""The :class:`Sequential` model: a stack of Dense layers with a Keras-style API."""
from __future__ import annotations

import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import activations, losses, metrics as _metrics, optimizers
from .backend import backend as active_backend
from .backend import check_name as check_backend_name
from .backend import get as get_backend
from ._guard import Divergence, EpochRunner, InterruptGuard, exclusive_fit
from . import _streams
from ._scalars import FRACTION, check_flag, check_int, check_real
from ._validation import (all_finite, as_features, as_sample_weight, as_targets,
                          check_classes, check_dtype, check_feature_name_list,
                          check_feature_names, check_weights,
                          feature_names_of)
from .backend._contract import NetSpec, NormSpec, fp_quiet, raises_fp_warnings
from .callbacks import Callback, History, _epoch_line, _finish_progress_bar, _format_value
from .layers import BatchNormalization, Dense, Dropout, Input, LayerNormalization, _Normalization
from .saving import _register_model_class, save_model

_NDARRAY = np.ndarray  # predict's fast path tests for it (a global, not an attribute)

#: Work (multiply-adds) of the first compiled call of a fit; later calls are sized by
#: measured time (``_guard.EpochRunner``), near 0.1 s each.
_CHUNK_FLOPS = 2e8
#: Dropout-mask values handed to one compiled call at most (bounds the masks' memory).
_MASK_ELEMENTS = 1 << 20


_NO_LOSS = ("the model was compiled without a loss; call model.compile(loss=...) first "
            "(e.g. loss=\"mse\" or \"binary_crossentropy\")")


class TrainingDivergedError(FloatingPointError):
    """Raised by ``fit`` when the loss, the weights or the optimizer state stop being finite.

    The model keeps the weights and optimizer state of the last step after which they and
    the loss were all finite. Attributes ``epoch`` and ``batch`` (0-based) say where, and
    ``loss`` is that batch's loss.

    Examples
    --------
    >>> import numpy as np, fastmlp as fm
    >>> X, y = np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]])
    >>> model = fm.Sequential([fm.Dense(1, input_dim=1)], seed=0)
    >>> model.compile(fm.optimizers.SGD(learning_rate=1e200), "mse")
    >>> try:
    ...     model.fit(X, y, epochs=3, verbose=0)
    ... except fm.TrainingDivergedError as error:
    ...     print(error.epoch, error.batch, error.loss)
    1 0 inf
    """

    epoch: int
    batch: int
    loss: float


@_register_model_class
class Sequential:
    """A linear stack of layers trained by gradient descent.

    Parameters
    ----------
    layers : list of Dense and Dropout, optional
        May start with an :class:`~fastmlp.Input` giving the input shape (Keras' style).
    seed : int, optional
        Seeds the one random generator behind initial weights and shuffling: the same seed
        gives the same weights bit for bit on one backend and thread count.
    dtype : {"float64", "float32"}
        The type of the weights and of every computation (default float64).
    backend : {"cython", "numpy"}, optional
        Fix this model's backend; by default the active one (:func:`fastmlp.backend`) is
        used at each call.
    name : str, optional
        Shown by :meth:`summary` and kept in the model file; default ``"sequential"``.

    Examples
    --------
    >>> import numpy as np, fastmlp as fm
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = np.array([0, 1, 1, 0])
    >>> model = fm.Sequential([fm.Dense(4, activation="tanh", input_dim=2),
    ...                        fm.Dense(1, activation="sigmoid")], seed=0)
    >>> model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    >>> model.predict(X).shape
    (4, 1)
    """

    #: Set by fastmlp.sklearn: the batch size the kernel penalty is scaled to (0: none) and
    #: the mean sample weight a batch is normalised to (0: none); read by the engine spec.
    _penalty_rows: int = 0
    _weight_norm: float = 0.0

    def __init__(self, layers: Iterable[Dense] | None = None, seed: int | None = None,
                 dtype: str | np.dtype = "float64", backend: str | None = None,
                 name: str | None = None) -> None:
        self.layers: list[Dense | Dropout] = []
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.dtype = check_dtype(dtype)
        self._backend = None if backend is None else check_backend_name(backend)
        self.name = name or "sequential"
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: str | None = None
        self.metrics: list[str] = []
        self.history: History | None = None
        self.stop_training = False
        self._engines: dict[str, Any] = {}
        self._guard_buffers: dict = {}   # the training guard's snapshot arrays, reused
        self._training = False
        self._fit_lock = threading.Lock()
        self._input_dim: int | None = None   # from an Input "layer", if any
        self.steps_per_execution = 1
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------------------------
    def add(self, layer: Dense | Dropout | Input) -> None:
        """Append a layer (before the model is built); an :class:`~fastmlp.Input` only
        first, to give the input shape.

        Parameters
        ----------
        layer : Dense, Dropout, BatchNormalization, LayerNormalization or Input
            The layer to append.
        """
        if isinstance(layer, Input):
            if self.layers or self._input_dim is not None:
                raise ValueError("an Input must come first, before any layer, and only once")
            self._input_dim = layer.shape[0]
            return
        if not isinstance(layer, (Dense, Dropout, _Normalization)):
            raise TypeError(f"Sequential takes Dense and Dropout layers, got "
                            f"{type(layer).__name__} (an Input may come first)")
        if self.built and self._dense_layers():
            raise RuntimeError("cannot add layers to a model that is already built")
        if isinstance(layer, _Normalization) and not (self.layers
                                                      and isinstance(self.layers[-1], Dense)):
            raise ValueError(f"a {type(layer).__name__} layer must directly follow a Dense "
                             "layer (it normalizes that layer's output)")
        if (isinstance(layer, Dense) and not self._dense_layers()
                and self._input_dim is not None):
            if layer.input_dim is not None and layer.input_dim != self._input_dim:
                raise ValueError(f"the Input has shape ({self._input_dim},) but the first "
                                 f"Dense layer says input_dim={layer.input_dim}")
            layer.input_dim = self._input_dim
        if layer.name is None:
            kind = {Dense: "dense", Dropout: "dropout", BatchNormalization: "batch_norm",
                    LayerNormalization: "layer_norm"}[type(layer)]
            layer.name = f"{kind}_{len(self.layers)}"
        self.layers.append(layer)

    def _dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    def _dropout_rates(self) -> tuple[float, ...]:
        """The dropout rate on the inputs, then on each Dense layer's output (0: none)."""
        rates: list[float] = [0.0]
        for layer in self.layers:
            if isinstance(layer, Dense):
                rates.append(0.0)
            elif isinstance(layer, Dropout):  # two in a row keep (1 - r1) (1 - r2)
                rates[-1] = 1 - (1 - rates[-1]) * (1 - layer.rate)
        return tuple(rates)

    @property
    def built(self) -> bool:
        dense = self._dense_layers()
        return bool(dense) and all(layer.built for layer in dense)

    @property
    def input_dim(self) -> int | None:
        dense = self._dense_layers()
        return dense[0].input_dim if dense else getattr(self, "_input_dim", None)

    @property
    def output_dim(self) -> int:
        self._require_layers()
        return self._dense_layers()[-1].units

    def _require_layers(self) -> None:
        if not self._dense_layers():
            raise RuntimeError("the model has no layers; add Dense layers first")
        if not isinstance(self.layers[-1], Dense):
            raise ValueError(  # a wrong layer order, not a wrong type
                "the last layer must be Dense (a Dropout or normalization layer must be "
                "followed by a Dense layer)")

    def build(self, input_dim: int | None = None) -> Sequential:
        """Create the weights for ``input_dim`` inputs (drawn from the model's seed).

        Parameters
        ----------
        input_dim : int, optional
            The number of input features; by default the first layer's ``input_dim`` (an
            error when that is unknown too).

        Examples
        --------
        >>> import fastmlp as fm
        >>> m = fm.Sequential([fm.Dense(3), fm.Dense(1)], seed=0).build(5)
        >>> [w.shape for w in m.get_weights()]
        [(5, 3), (3,), (3, 1), (1,)]
        """
        self._require_layers()
        if self.built:
            if input_dim is not None and input_dim != self.input_dim:
                raise ValueError(f"the model is built for {self.input_dim} inputs, "
                                 f"not {input_dim}")
            return self
        n_in = input_dim if input_dim is not None else self.input_dim
        if n_in is None:
            raise RuntimeError("the input size is not known: give the first Dense an "
                               "input_dim, call model.build(input_dim), or fit on data")
        for layer in self.layers:
            if isinstance(layer, Dense):
                layer.build(n_in, self.rng, self.dtype)
                n_in = layer.units
            elif isinstance(layer, _Normalization):
                layer.build(n_in, self.dtype)
        if self.optimizer is not None:
            self.optimizer.build(self.trainable_weights)
        self._engines.clear()
        return self

    def _ensure_built(self) -> None:
        """Build on first use when the first layer knows its input size (as Keras does)."""
        if not self.built:
            self._require_layers()
            if self.input_dim is None:
                raise RuntimeError("the model is not built: the input size is not known yet "
                                   "(give the first Dense an input_dim, fit it, or call "
                                   "model.build(input_dim))")
            self.build()

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The arrays the optimizer updates, themselves, in :meth:`get_weights` order
        without the normalization layers' moving statistics (the order of the optimizer's
        state slots and of ``compute_gradients``); empty before the model is built."""
        return [p for layer in self.layers for p in layer.params]

    def _norm_specs(self) -> tuple:
        """Per Dense layer, the :class:`NormSpec` of the normalization after it (or None);
        empty when the model has none."""
        specs: list[Any] = []
        for layer in self.layers:
            if isinstance(layer, Dense):
                specs.append(None)
            elif isinstance(layer, _Normalization):
                specs[-1] = NormSpec(layer.kind, layer.epsilon,
                                     getattr(layer, "momentum", 0.0), layer.gamma,
                                     layer.beta, *layer.state)
        return tuple(specs) if any(s is not None for s in specs) else ()

    def _state_arrays(self) -> list[np.ndarray]:
        """Arrays training changes besides the trained ones (moving statistics)."""
        return [a for layer in self.layers for a in layer.state]

    def compile(self, optimizer: str | optimizers.Optimizer = "rmsprop",
                loss: str | None = None, metrics: str | Iterable[str] | None = None,
                steps_per_execution: int = 1) -> None:
        """Choose the optimizer, the loss and the metrics reported by ``fit``/``evaluate``.

        Parameters
        ----------
        optimizer : str or Optimizer, default "rmsprop"
            Keras' default name; the optimizers' own defaults follow ``torch.optim``.
        loss : str, optional
            Needed by ``fit``, ``evaluate`` and ``compute_gradients`` (a clear error there
            when missing, as in Keras); ``predict`` works without.
        metrics : str or list of str, optional
            Logged under the names as written (``"mae"`` logs ``mae`` and ``val_mae``).
        steps_per_execution : int, default 1
            Mini-batches per group between two calls of the per-batch callback hooks
            (see :mod:`fastmlp.callbacks`). Without per-batch hooks the engine runs as many
            batches per compiled call as it has in hand, whatever this is.

        Raises
        ------
        ValueError
            For unknown names (listing the valid ones) or a loss that does not fit the
            output activation (binary cross-entropy needs a sigmoid output, categorical
            cross-entropies a softmax output).

        Examples
        --------
        >>> import fastmlp as fm
        >>> model = fm.Sequential([fm.Input((3,)), fm.Dense(1)])
        >>> model.compile(loss="mse", metrics="mae")
        >>> model.metrics_names, type(model.optimizer).__name__
        (['loss', 'mae'], 'RMSprop')
        """
        self._require_layers()
        if self._training:
            raise RuntimeError("cannot compile a model while it is training")
        opt = optimizers.get(optimizer)
        if loss is not None:
            loss = losses.get(loss)
            required = losses.LOSSES[loss][1]
            last = self.layers[-1]
            assert isinstance(last, Dense)  # _require_layers checked it
            out_act = last.activation
            if required is not None and out_act != required:
                raise ValueError(f"loss {loss!r} needs a {required!r} output layer (it is "
                                 f"fused with it); the last layer's activation is "
                                 f"{out_act!r}")
            if out_act == "softmax" and last.units < 2 and required == "softmax":
                raise ValueError("a softmax output needs at least 2 units")
        names = _metric_names(metrics)
        steps_per_execution = check_int("steps_per_execution", steps_per_execution, 1)
        self.optimizer = opt
        self.loss = loss
        self.metrics = names
        self.steps_per_execution = steps_per_execution
        if self.built:
            opt.build(self.trainable_weights)
        self._engines.clear()

    # ------------------------------------------------------------------------------------
    # backends
    # ------------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """The backend this model runs on now (its own, or the active default)."""
        return self._backend or active_backend()

    @backend.setter
    def backend(self, name: str | None) -> None:
        self._backend = None if name is None else check_backend_name(name)

    def _engine(self, inference: bool = False):
        if self.optimizer is None and not inference:
            raise RuntimeError("the model is not compiled; call model.compile(...) first")
        self._ensure_built()
        name = self.backend
        engine = self._engines.get(name)
        if engine is None:
            if self.loss is None and not inference:
                raise RuntimeError(_NO_LOSS)
            dense = self._dense_layers()
            input_rate, *rates = self._dropout_rates()
            regs = tuple(_penalty_factors(layer) for layer in dense)
            optimizer, loss = self.optimizer, self.loss
            if optimizer is None:  # predict / layer_outputs before compile: never trains
                optimizer = optimizers.SGD()
                optimizer.build(self.trainable_weights)
            if loss is None:  # the same (fit and evaluate refuse a model without a loss)
                loss = "mean_squared_error"
            spec = NetSpec(dtype=self.dtype,
                           sizes=self._widths(),
                           activations=tuple(activations.ACTIVATIONS[layer.activation]
                                             for layer in dense),
                           params=[layer.params for layer in dense],
                           loss=losses.LOSSES[loss][0], optimizer=optimizer,
                           dropout=tuple(rates) if any(rates) else (),
                           input_dropout=input_rate,
                           regularizers=regs if any(any(r) for r in regs) else (),
                           norms=self._norm_specs(),
                           penalty_rows=getattr(self, "_penalty_rows", 0),
                           weight_norm=getattr(self, "_weight_norm", 0.0))
            engine = get_backend(name).Engine(spec)
            self._engines[name] = engine
        return engine

    # ------------------------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------------------------
    def _features(self, x: Any, name: str = "X") -> np.ndarray:
        self._require_layers()
        if not self.built:
            # validate first, so that a failed call leaves the model as it was
            X = as_features(x, self.dtype, self.input_dim, name)
            self._ensure_built()
            return X
        return as_features(x, self.dtype, self.input_dim, name)

    def _targets(self, y: Any, n_rows: int, name: str = "y") -> np.ndarray:
        if self.optimizer is None:
            raise RuntimeError("the model is not compiled; call model.compile(...) first")
        if self.loss is None:
            raise RuntimeError(_NO_LOSS)
        return as_targets(y, self.loss, self.output_dim, n_rows, self.dtype, name)

    def predict(self, x: Any, verbose: int = 0, steps: int | None = None,
                batch_size: int | None = None,
                callbacks: Iterable[Callback] | None = None) -> np.ndarray:
        """The network's output for ``x``: an array ``(n_samples, units of last layer)``.

        ``x`` may also be a generator or a :class:`fastmlp.utils.Sequence` whose batches
        are ``x`` or tuples starting with ``x`` (as Keras takes them); the outputs of the
        batches (the first ``steps`` of them, when given) are stacked in order.

        Safe to call from many threads at once (the compiled backend runs without the GIL).

        Parameters
        ----------
        x : array (n_samples, n_features), generator or Sequence
            The inputs; a generator or :class:`fastmlp.utils.Sequence` gives batches
            (``x`` alone or the first item of a tuple).
        verbose : int
            Accepted for Keras compatibility; nothing is printed.
        steps : int, optional
            With a generator or Sequence, predict only its first ``steps`` batches.
        batch_size : int, optional
            Rows per batch for the per-batch callback hooks (default 32); without such
            hooks an array is predicted at once (the same numbers).
        callbacks : list of Callback, optional
            Their ``on_predict_begin``, ``on_predict_batch_begin/end`` (around each group
            of ``steps_per_execution`` batches of an array, each batch of a generator or
            Sequence, with ``logs={"outputs": the group's outputs}``) and
            ``on_predict_end`` run, as in Keras. Without callbacks overriding a batch
            hook the array is predicted at once.

        Returns
        -------
        ndarray (n_samples, units of the last layer)

        Raises
        ------
        ValueError, TypeError
            For input that is not a finite 2-D numeric array with ``input_dim`` columns.
        RuntimeError
            If the model is not compiled or not built.

        Warns
        -----
        RuntimeWarning
            If the output overflows (inputs far outside the training range).

        Examples
        --------
        >>> import numpy as np, fastmlp as fm
        >>> model = fm.Sequential([fm.Input((2,)), fm.Dense(3)], seed=0)
        >>> model.predict(np.zeros((5, 2))).shape
        (5, 3)
        """
        # A plain array with no other argument (the latency-bound case) skips the checks
        # below: an array is never a stream and has no column names.
        plain = (steps is None and batch_size is None and callbacks is None
                 and type(x) is _NDARRAY)
        if not plain:
            if steps is not None:
                steps = check_int("steps", steps, 1)
            if callbacks is not None or batch_size is not None:
                if batch_size is not None:
                    batch_size = check_int("batch_size", batch_size, 1)
                callbacks = _check_callbacks(callbacks)
                if callbacks:
                    return self._predict_with_callbacks(x, steps, batch_size or 32, callbacks)
            if _streams.is_stream(x):
                return self._predict_stream(x, steps)
            if self._feature_names is not None:
                check_feature_names(self._feature_names, x)
        name = self._backend or active_backend()
        engine = self._engines.get(name)
        if engine is None:  # first call, or not built (raising the usual errors)
            X = self._features(x)
            engine = self._engine(inference=True)
        else:  # an engine exists only for a built model: just the input checks
            if plain and engine.predict_checked is not None:
                out = engine.predict_checked(x)   # checks x and the output in one call
                if out is not None:
                    return out
            X = as_features(x, self.dtype, engine.n_inputs)
        if raises_fp_warnings(engine):   # a non-finite output is reported once, below
            with np.errstate(all="ignore"):
                out = engine.predict(X)
        else:  # (no context at all: this is the latency path of small predictions)
            out = engine.predict(X)
        if not all_finite(out):
            _warn_not_finite(out)
        return out

    def _predict_with_callbacks(self, x: Any, steps: int | None, batch_size: int,
                                callbacks: list[Callback]) -> np.ndarray:
        """:meth:`predict` calling the callbacks' predict hooks: batch by batch (grouped
        by ``steps_per_execution``) only when one overrides a batch hook."""
        for cb in callbacks:
            cb.set_model(self)
            cb.on_predict_begin()
        if not _overrides(callbacks, "on_predict_batch_begin", "on_predict_batch_end"):
            out = self.predict(x, steps=steps)
        elif _streams.is_stream(x):
            out = self._predict_stream(x, steps, callbacks)
        else:
            check_feature_names(self._feature_names, x)
            X = self._features(x)
            engine = self._engine(inference=True)
            group = batch_size * self.steps_per_execution
            parts = []
            for row0 in range(0, X.shape[0], group):
                for cb in callbacks:
                    cb.on_predict_batch_begin(row0 // batch_size)
                with fp_quiet(engine):   # a non-finite output is reported once, below
                    parts.append(engine.predict(X[row0:row0 + group]))
                last = -(-min(row0 + group, X.shape[0]) // batch_size) - 1
                for cb in callbacks:
                    cb.on_predict_batch_end(last, {"outputs": parts[-1]})
            out = np.concatenate(parts)
            if not all_finite(out):
                _warn_not_finite(out, stacklevel=4)
        for cb in callbacks:
            cb.on_predict_end()
        return out

    def _predict_stream(self, data: Any, steps: int | None,
                        callbacks: list[Callback] | None = None) -> np.ndarray:
        """:meth:`predict` over the batches of a generator or Sequence (calling the
        callbacks' predict-batch hooks around each)."""
        sequence = _streams.is_sequence(data)
        count = len(data) if sequence else None
        if steps is not None:
            count = steps if count is None else min(count, steps)
        iterator = iter(()) if sequence else iter(data)   # data[index] for a sequence
        outputs, index = [], 0
        while count is None or index < count:
            try:
                batch = data[index] if sequence else next(iterator)
            except (StopIteration, IndexError):
                break
            if isinstance(batch, (tuple, list)):
                if not batch:
                    raise ValueError(f"batch {index} is an empty tuple")
                batch = batch[0]
            for cb in callbacks or []:
                cb.on_predict_batch_begin(index)
            outputs.append(self.predict(_streams.as_batch_x(batch, index)))
            for cb in callbacks or []:
                cb.on_predict_batch_end(index, {"outputs": outputs[-1]})
            index += 1
        if not outputs:
            raise ValueError("predict: the data gave no batch")
        return np.concatenate(outputs)

    def layer_outputs(self, x: Any) -> list[np.ndarray]:
        """The activation of every layer for ``x``, first to last.

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features)
            The inputs (a DataFrame is taken by its columns).
        """
        X = self._features(x)
        return self._engine(inference=True).layer_outputs(X)

    def compute_gradients(self, x: Any, y: Any,
                          sample_weight: Any = None) -> tuple[float, list[np.ndarray]]:
        """The loss on ``(x, y)`` (weighted by ``sample_weight``, plus the regularization
        penalties) and its gradient for every weight (``get_weights`` order), without
        changing the model. Dropout is off (as in ``evaluate``).

        Parameters
        ----------
        x : array-like of shape (n_samples, n_features)
            The inputs.
        y : array-like
            The targets, in the form the compiled loss takes (as for :meth:`fit`).
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights of the loss.
        """
        X = self._features(x)
        Y = self._targets(y, X.shape[0])
        W = as_sample_weight(sample_weight, None, y, self.loss, self.output_dim, X.shape[0],
                             self.dtype)
        loss, grads = self._engine().gradients(X, Y, W)
        return float(loss), grads

    def evaluate(self, x: Any, y: Any = None, batch_size: int | None = None,
                 verbose: int = 0, sample_weight: Any = None, steps: int | None = None,
                 callbacks: Iterable[Callback] | None = None,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Loss and metrics on ``(x, y)``, as Keras returns them.

        The loss is ``sum_i w_i l_i / n`` with ``sample_weight`` ``w`` (the plain mean
        without), plus the layers' regularization penalties, as in Keras; dropout is off.
        Metrics are unweighted.

        Parameters
        ----------
        x : array (n_samples, n_features), generator or Sequence
            The inputs; a generator or :class:`fastmlp.utils.Sequence` gives batches
            ``(x, y)`` or ``(x, y, sample_weight)`` itself (then ``y`` is not given).
        y : array
            Targets in the form the compiled loss expects (as for :meth:`fit`).
        batch_size : int, optional
            Rows per batch for the per-batch callback hooks (default 32); without such
            hooks the whole array is evaluated at once (the same numbers).
        verbose : {0, 1, 2, "auto"}, default 0
            1 or 2 (``"auto"``: 1) print one line to standard error when done, as Keras'
            last one: ``batches/batches - loss: ... - <metric>: ...`` (batches of
            ``batch_size`` rows, or of the generator); 0 prints nothing.
        sample_weight : array (n_samples,), optional
            Per-row weights of the loss (not of the metrics).
        steps : int, optional
            Evaluate only the first ``steps`` batches of ``batch_size`` rows.
        callbacks : list of Callback, optional
            Their ``on_test_begin``, ``on_test_batch_begin/end`` and ``on_test_end`` run.
        return_dict : bool, default False
            Return a dict of the loss and metrics by name (see Returns).

        Returns
        -------
        float, list of float or dict
            The loss alone when no metrics were compiled; otherwise
            ``[loss, metric, ...]`` in :attr:`metrics_names` order; with
            ``return_dict=True`` a dict ``{"loss": .., "<metric>": ..}``.

        Examples
        --------
        >>> import numpy as np, fastmlp as fm
        >>> model = fm.Sequential([fm.Dense(1, input_dim=2)], seed=0)
        >>> model.compile("sgd", "mse", metrics=["mae"])
        >>> X, y = np.zeros((4, 2)), np.zeros(4)
        >>> loss, mae = model.evaluate(X, y)
        >>> sorted(model.evaluate(X, y, return_dict=True))
        ['loss', 'mae']
        """
        return_dict = check_flag("return_dict", return_dict)
        if verbose == "auto":
            verbose = 1
        if isinstance(verbose, bool) or verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, 1)
        if steps is not None:
            steps = check_int("steps", steps, 1)
        callbacks = _check_callbacks(callbacks)
        if _streams.is_stream(x):
            if y is not None or sample_weight is not None:
                raise ValueError("with a generator or Sequence x, give y and sample_weight "
                                 "inside its batches")
            if self.optimizer is None:
                raise RuntimeError("the model is not compiled; call model.compile(...) "
                                   "first")
            if self.loss is None:
                raise RuntimeError(_NO_LOSS)
            self._ensure_built()
            logs, batches = self._evaluate_stream(x, steps, callbacks)
            if verbose:
                _print_summary(batches, logs)
            if return_dict:
                return logs
            return logs["loss"] if not self.metrics else [logs[k] for k in self.metrics_names]
        check_feature_names(self._feature_names, x)
        X = self._features(x)
        Y = self._targets(y, X.shape[0])
        W = as_sample_weight(sample_weight, None, y, self.loss, self.output_dim,
                             X.shape[0], self.dtype)
        if steps is not None:
            rows = min(X.shape[0], steps * (batch_size or 32))
            X, Y = X[:rows], Y[:rows]
            W = None if W is None else W[:rows]
        logs = self._evaluate_arrays(X, Y, W, callbacks, batch_size)
        if verbose:
            _print_summary(-(-X.shape[0] // (batch_size or 32)), logs)
        if return_dict:
            return logs
        if not self.metrics:
            return logs["loss"]
        return [logs[name] for name in self.metrics_names]

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", *metrics]``: the order of :meth:`evaluate`'s list (the names as given
        to :meth:`compile`)."""
        return ["loss", *self.metrics]

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        """``model(x)``: the output for ``x``, as :meth:`predict` (a NumPy array).

        Examples
        --------
        >>> import numpy as np, fastmlp as fm
        >>> model = fm.Sequential([fm.Input((2,)), fm.Dense(3)], seed=0)
        >>> model(np.zeros((5, 2))).shape
        (5, 3)
        """
        if check_flag("training", training):
            raise ValueError("model(x, training=True) is not supported: dropout is active "
                             "only inside fit; use model(x) or model.predict(x)")
        return self.predict(x)

    def _evaluate_arrays(self, X: np.ndarray, Y: np.ndarray, W: np.ndarray | None = None,
                         callbacks: list[Callback] | None = None,
                         batch_size: int | None = None) -> dict[str, float]:
        engine = self._engine()
        hooked = _overrides(callbacks, "on_test_batch_begin", "on_test_batch_end")
        for cb in callbacks or []:
            cb.set_model(self)
            cb.on_test_begin()
        if hooked:
            loss = self._evaluate_batches(engine, X, Y, W, callbacks or [], batch_size or 32)
        else:
            loss = float(engine.loss(X, Y) if W is None else engine.loss(X, Y, W))
        logs = {"loss": loss}
        if self.metrics:
            logs.update(self._metric_values(Y, engine.predict(X)))
        for cb in callbacks or []:
            cb.on_test_end(dict(logs))
        return logs

    def _evaluate_batches(self, engine: Any, X: np.ndarray, Y: np.ndarray,
                          W: np.ndarray | None, callbacks: list[Callback],
                          batch_size: int) -> float:
        """The loss of ``(X, Y)`` group by group of ``steps_per_execution`` batches,
        calling the test-batch hooks around each group with the running mean loss and
        metrics (over the rows so far)."""
        n = X.shape[0]
        group = batch_size * self.steps_per_execution
        total, seen = 0.0, 0
        running = _RunningMetrics(self, engine) if self.metrics else None
        for first in range(0, -(-n // batch_size), self.steps_per_execution):
            row0 = first * batch_size
            rows = slice(row0, min(row0 + group, n))
            for cb in callbacks:
                cb.on_test_batch_begin(first)
            part = (engine.loss(X[rows], Y[rows]) if W is None
                    else engine.loss(X[rows], Y[rows], W[rows]))
            count = rows.stop - row0
            total += float(part) * count
            seen += count
            last = -(-rows.stop // batch_size) - 1
            logs = {"loss": total / seen}
            if running is not None:
                logs.update(running.add(engine.predict(X[rows]), Y[rows]))
            for cb in callbacks:
                cb.on_test_batch_end(last, logs)
        return total / seen

    def _metric_values(self, Y: np.ndarray, P: np.ndarray) -> dict[str, float]:
        """The compiled metrics of predictions ``P`` against targets ``Y`` (as the loss takes
        them). As Keras resolves ``"accuracy"`` by loss: element-wise (binary accuracy) for
        several sigmoid outputs under binary cross-entropy; for ``hinge`` (targets -1/1)
        every metric sees labels ``Y > 0`` and scores thresholded at 0."""
        if self.loss == "hinge":
            Y = (Y > 0).astype(P.dtype)
            labels = (P > 0).astype(P.dtype)
        else:
            labels = P
        out = {}
        for name in self.metrics:
            key = _metrics.get(name)
            if key == "accuracy" and self.loss == "binary_crossentropy" and P.shape[1] > 1:
                out[name] = _metrics.binary_accuracy(Y, P)
            else:
                out[name] = _metrics.METRICS[key](Y, P if key == "roc_auc" else labels)
        return out

    # ------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------
    @exclusive_fit
    def fit(self, x: Any, y: Any = None, epochs: int = 1, batch_size: int | None = 32,
            shuffle: bool = True, validation_split: float = 0.0,
            validation_data: tuple[Any, Any] | None = None, verbose: int = 1,
            callbacks: Iterable[Callback] | None = None, initial_epoch: int = 0,
            on_divergence: str = "raise", sample_weight: Any = None,
            class_weight: dict[Any, float] | None = None,
            steps_per_epoch: int | None = None,
            validation_steps: int | None = None) -> History:
        """Train for ``epochs`` passes over ``(x, y)``.

        Parameters
        ----------
        x : array (n_samples, n_features), numpy.memmap, generator or Sequence
            An array; a memory-mapped array is read block by block (never copied whole);
            a generator or a :class:`fastmlp.utils.Sequence` (Keras' ``PyDataset``) gives
            batches ``(x, y)`` or ``(x, y, sample_weight)`` itself (then ``y``,
            ``batch_size``, ``sample_weight`` and ``class_weight`` are not given here).
            See :mod:`fastmlp._streams`.
        y : array (n_samples,) or (n_samples, n_outputs)
            Targets in the form the loss expects (class labels for
            ``sparse_categorical_crossentropy``, one-hot rows for
            ``categorical_crossentropy``, 0/1 for ``binary_crossentropy``).
        epochs : int
            The epoch to stop before, counting from 0 (as in Keras): with
            ``initial_epoch=3, epochs=5`` fit trains epochs 3 and 4.
        batch_size : int or None
            1 is stochastic gradient descent, ``None`` (or >= n) full-batch gradient
            descent, anything between mini-batch.
            With :class:`~fastmlp.optimizers.LBFGS` every epoch is one full-batch L-BFGS
            minimisation, and ``batch_size`` and ``shuffle`` do not apply.
        shuffle : bool
            Reshuffle the rows before every epoch (with the model's seeded generator).
        validation_split : float in [0, 1)
            Hold out this fraction of the rows, taken from the end as Keras does, before
            shuffling.
        validation_data : (x_val, y_val) or (x_val, y_val, val_sample_weight), optional
            Overrides ``validation_split``.
        verbose : {0, 1, 2}
            0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        callbacks : list of Callback
            Their hooks run around training, each epoch and each group of batches (see
            :class:`fastmlp.callbacks.Callback`); the :class:`~fastmlp.callbacks.History`
            that ``fit`` returns is added first.
        initial_epoch : int
            Epoch to start counting from (to resume); ``epochs - initial_epoch`` epochs
            are trained (none when ``initial_epoch >= epochs``).
        on_divergence : {"raise", "warn"}
            What to do when the loss becomes NaN or infinite, or an update makes weights
            or optimizer state non-finite: fit stops at that batch, restores the weights
            and optimizer state of the last finite step, then raises
            :class:`TrainingDivergedError` or warns and returns.
        sample_weight : array (n_samples,), optional
            Non-negative weight of each sample's loss: a batch's loss is
            ``sum_i w_i l_i / batch_size`` (Keras' reduction), and so are its gradients.
        class_weight : dict {class: weight}, optional
            For single-label classification: each sample's loss is weighted by its class's
            weight (classes missing from the dict weigh 1); multiplied with
            ``sample_weight`` when both are given. ``{c: n / (n_classes * n_c)}`` is the
            usual "balanced" choice.

        steps_per_epoch : int, optional
            Batches per epoch: by default all of an array or a Sequence, and a generator's
            batches up to its end (a generator that runs out ends training with a
            warning, as in Keras).
        validation_steps : int, optional
            Batches of a generator or Sequence ``validation_data`` per validation.

        Returns
        -------
        History
            ``history.history["loss"]`` and, with validation, ``["val_loss"]`` and the
            metrics, one value per epoch. The training loss is the mean of the epoch's
            batch losses (weighted by batch size); training metrics are computed on the
            training data at the end of each epoch.

        Raises
        ------
        ValueError, TypeError
            For invalid data or arguments (see :func:`fastmlp._validation.as_features`),
            before any training.
        RuntimeError
            If the model is not compiled, or is already training.
        TrainingDivergedError
            See ``on_divergence``.
        KeyboardInterrupt
            On Ctrl-C, between two compiled calls (within about 0.1 s): the weights and
            optimizer state are those after the last completed step, ``model.history``
            holds the finished epochs, and a later ``fit`` continues from there.

        Notes
        -----
        For streamed data (generators, Sequences, memory maps, or ``steps_per_epoch``)
        the training metrics of an epoch are computed on each block's predictions right
        after that block trained, and ``validation_split`` is not available.

        Dropout layers are active here only. Their masks come from a stream seeded once
        per epoch by the model's generator and indexed by the row's position in the
        epoch, so the same seed, data and batch size give the same masks on either
        backend, however the epoch is split into compiled calls.
        """
        self._require_layers()
        if self.optimizer is None:
            raise RuntimeError("the model is not compiled; call model.compile(...) first")
        epochs = check_int("epochs", epochs, 0)
        initial_epoch = check_int("initial_epoch", initial_epoch, 0)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, 1)
        validation_split = check_real("validation_split", validation_split, FRACTION)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        if on_divergence not in ("raise", "warn"):
            raise ValueError(f"on_divergence must be 'raise' or 'warn', got {on_divergence!r}")
        callbacks = _check_callbacks(callbacks)

        if steps_per_epoch is not None:
            steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1)
        if validation_steps is not None:
            validation_steps = check_int("validation_steps", validation_steps, 1)
        if (_streams.is_stream(x) or isinstance(x, np.memmap)
                or steps_per_epoch is not None):
            return self._fit_stream(x, y, epochs, batch_size, shuffle, validation_split,
                                    validation_data, verbose, callbacks, initial_epoch,
                                    on_divergence, sample_weight, class_weight,
                                    steps_per_epoch, validation_steps)

        # validate everything before building, so that a failed call changes nothing
        check_feature_names(self._feature_names, x)
        X = as_features(x, self.dtype, self.input_dim)
        Y = self._targets(y, X.shape[0])
        W = as_sample_weight(sample_weight, class_weight, y, self.loss, self.output_dim,
                             X.shape[0], self.dtype)
        X_val = Y_val = W_val = None
        if validation_data is not None:
            if (not isinstance(validation_data, (tuple, list))
                    or len(validation_data) not in (2, 3)):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                                 "(x_val, y_val, val_sample_weight)")
            X_val = as_features(validation_data[0], self.dtype, X.shape[1], "x_val")
            Y_val = self._targets(validation_data[1], X_val.shape[0], "y_val")
            if len(validation_data) == 3:
                W_val = as_sample_weight(validation_data[2], None, validation_data[1],
                                         self.loss, self.output_dim, X_val.shape[0],
                                         self.dtype, "val_sample_weight")
        elif validation_split > 0:
            n_val = int(X.shape[0] * validation_split)
            if n_val < 1 or n_val >= X.shape[0]:
                raise ValueError(f"validation_split={validation_split} leaves "
                                 f"{n_val} validation and {X.shape[0] - n_val} training rows "
                                 f"out of {X.shape[0]}; both need at least one")
            X, X_val = X[:-n_val], X[-n_val:]
            Y, Y_val = Y[:-n_val], Y[-n_val:]
            if W is not None:
                W, W_val = np.ascontiguousarray(W[:-n_val]), np.ascontiguousarray(W[-n_val:])
        if not self.built:
            self.build(X.shape[1])
        if self._feature_names is None:
            self._feature_names = feature_names_of(x)

        lbfgs = None
        if isinstance(self.optimizer, optimizers.LBFGS):  # full batch: see _lbfgs.FullBatch
            from ._lbfgs import FullBatch
            lbfgs = FullBatch(self, X, Y, W)
        engine = self._engine()
        n = X.shape[0]
        bs = n if batch_size is None or batch_size > n or lbfgs is not None else batch_size
        n_batches = -(-n // bs)
        work = 6.0 * bs * self.count_params()
        chunk = int(max(1, min(n_batches, _CHUNK_FLOPS // max(work, 1.0))))
        rates = self._dropout_rates()
        max_chunk = n_batches
        if any(rates):  # one call's dropout masks stay near 8 MB (float64)
            widths = self._widths()
            dropped = sum(width for rate, width in zip(rates, widths) if rate > 0)
            max_chunk = max(1, _MASK_ELEMENTS // (bs * dropped))
        runner = EpochRunner(engine, self.trainable_weights + self._state_arrays(), self.optimizer,
                             min(chunk, max_chunk), max_chunk=max_chunk,
                             buffers=self._guard_buffers)

        return self._train(engine, runner, callbacks, initial_epoch, epochs, verbose,
                           on_divergence, batch_size, X_val, Y_val, W_val, None, None,
                           (X, Y, W, n, bs, n_batches, shuffle, rates), lbfgs)

    def _fit_stream(self, x: Any, y: Any, epochs: int, batch_size: int | None,
                    shuffle: bool, validation_split: float, validation_data: Any,
                    verbose: int, callbacks: list[Callback], initial_epoch: int,
                    on_divergence: str, sample_weight: Any, class_weight: Any,
                    steps_per_epoch: int | None, validation_steps: int | None) -> History:
        """``fit`` on a generator, a Sequence or an array read in blocks."""
        if isinstance(self.optimizer, optimizers.LBFGS):
            raise ValueError("LBFGS trains on the whole data set at once: pass arrays in "
                             "memory, not a generator, a Sequence or a memory-mapped array")
        if validation_split:
            raise ValueError("validation_split is not available with generators, Sequences "
                             "or memory-mapped arrays; pass validation_data")
        if class_weight is not None:
            raise ValueError("class_weight is not available with generators, Sequences or "
                             "memory-mapped arrays; put per-sample weights in the batches "
                             "or pass sample_weight")
        stream = _streams.Stream(self, x, y, sample_weight, batch_size, steps_per_epoch,
                                 shuffle)
        if self.input_dim is not None and stream.n_features != self.input_dim:
            raise ValueError(f"X has {stream.n_features} features, but the model expects "
                             f"{self.input_dim}")
        X_val = Y_val = W_val = val_stream = None
        if validation_data is not None:
            if _streams.is_stream(validation_data):
                val_stream = validation_data
            else:
                if (not isinstance(validation_data, (tuple, list))
                        or len(validation_data) not in (2, 3)):
                    raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                                     "(x_val, y_val, val_sample_weight), or a Sequence")
                X_val = as_features(validation_data[0], self.dtype, stream.n_features,
                                    "x_val")
                Y_val = self._targets(validation_data[1], X_val.shape[0], "y_val")
                if len(validation_data) == 3:
                    W_val = as_sample_weight(validation_data[2], None, validation_data[1],
                                             self.loss, self.output_dim, X_val.shape[0],
                                             self.dtype, "val_sample_weight")
        if not self.built:
            self.build(stream.n_features)
        engine = self._engine()
        rates = self._dropout_rates()
        bs = getattr(stream, "batch_size", None) or batch_size or 32
        max_chunk = None
        if any(rates):  # one call's dropout masks stay near 8 MB (float64)
            widths = self._widths()
            dropped = sum(width for rate, width in zip(rates, widths) if rate > 0)
            max_chunk = max(1, _MASK_ELEMENTS // (bs * dropped))
        work = 6.0 * bs * self.count_params()
        chunk = int(max(1, _CHUNK_FLOPS // max(work, 1.0)))
        runner = EpochRunner(engine, self.trainable_weights + self._state_arrays(), self.optimizer,
                             min(chunk, max_chunk or chunk), max_chunk=max_chunk,
                             buffers=self._guard_buffers)
        return self._train(engine, runner, callbacks, initial_epoch, epochs, verbose,
                           on_divergence, batch_size, X_val, Y_val, W_val,
                           (val_stream, validation_steps), stream, None)

    def _train(self, engine: Any, runner: EpochRunner, callbacks: list[Callback],
               initial_epoch: int, epochs: int, verbose: int, on_divergence: str,
               batch_size: int | None, X_val: Any, Y_val: Any, W_val: Any,
               val_stream: Any, stream: Any, arrays: tuple | None,
               lbfgs: Any = None) -> History:
        """The epochs of ``fit``: over in-memory ``arrays`` ``(X, Y, W, n, batch size,
        batches, shuffle, dropout rates)`` (one full-batch L-BFGS run each with ``lbfgs``,
        a ``_lbfgs.FullBatch``), or over a :class:`_streams.Stream`."""
        history = History()
        self.history = history
        all_callbacks = [history, *callbacks]
        for cb in all_callbacks:
            cb.set_model(self)
        self.stop_training = False
        hooks = self._train_batch_hooks(all_callbacks, engine)
        if stream is not None:
            epoch_batches = stream.n_batches
        else:
            assert arrays is not None, "fit passes the arrays when there is no stream"
            epoch_batches = arrays[5]
        with InterruptGuard() as guard:
            for cb in all_callbacks:
                cb.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                for cb in all_callbacks:
                    cb.on_epoch_begin(epoch)
                bar = self._progress_bar(epoch, epochs, epoch_batches, verbose)
                start = time.perf_counter()
                try:
                    if stream is None and lbfgs is not None:
                        loss, diverged = lbfgs.run_epoch(bar.update if bar is not None
                                                         else None)
                        train_metrics = None
                    elif stream is None:
                        assert arrays is not None
                        X, Y, W, n, bs, _n_batches, shuffle, rates = arrays
                        order = (self.rng.permutation(n) if shuffle
                                 else np.arange(n)).astype(np.intp, copy=False)
                        extras = self._train_extras(W, rates, bs, n, self._epoch_seed())
                        if hooks is not None:
                            hooks.start(X, Y, order, bs)
                        loss, diverged = runner.run_epoch(
                            X, Y, order, bs, guard, bar.update if bar is not None else None,
                            extras, *(hooks.args() if hooks is not None else ()))
                        train_metrics = None
                    else:
                        result = self._stream_epoch(stream, engine, runner, guard, bar,
                                                    hooks)
                        if result is None:
                            if bar is not None:
                                bar.close()
                            warnings.warn("the input ran out of data: the generator gave no "
                                          f"batch for epoch {epoch + 1}; training stops "
                                          "(give steps_per_epoch, or a generator that "
                                          "repeats)", RuntimeWarning, stacklevel=3)
                            break
                        loss, diverged, train_metrics = result
                except BaseException:
                    if bar is not None:
                        bar.close()
                    raise
                if diverged is not None:
                    if bar is not None:
                        bar.close()
                    self._diverged(epoch, diverged, on_divergence)
                    return history
                logs = {"loss": loss}
                if train_metrics is not None:
                    logs.update(train_metrics)
                elif self.metrics:
                    logs.update(self._metric_values(Y, engine.predict(X)))
                if X_val is not None:
                    for key, value in self._evaluate_arrays(X_val, Y_val, W_val, callbacks,
                                                            batch_size).items():
                        logs[f"val_{key}"] = value
                elif val_stream is not None and val_stream[0] is not None:
                    for key, value in self._evaluate_stream(val_stream[0], val_stream[1],
                                                            callbacks)[0].items():
                        logs[f"val_{key}"] = value
                if bar is not None:
                    _finish_progress_bar(bar, logs)
                elif verbose == 2:  # progress goes to standard error, results to output
                    print(_epoch_line(epoch, epochs, time.perf_counter() - start, logs),
                          file=sys.stderr, flush=True)
                for cb in all_callbacks:
                    cb.on_epoch_end(epoch, logs)
                guard.check()
                if self.stop_training:
                    break
            for cb in all_callbacks:
                cb.on_train_end()
        return history

    def _stream_epoch(self, stream: Any, engine: Any, runner: EpochRunner, guard: Any,
                      bar: Any, hooks: _TrainHooks | None) -> tuple | None:
        """Train one epoch of a stream block by block: ``(loss, divergence or None,
        training metrics or None)``, or ``None`` when the stream gave no batch."""
        group, before, after = hooks.args() if hooks is not None else (None, None, None)
        rates = self._dropout_rates()
        total, rows_done, batches_done = 0.0, 0, 0
        targets, preds = [], []
        for X, Y, W, bs, _ in stream.blocks(group):
            rows = X.shape[0]
            offset, rows0, total0 = batches_done, rows_done, total
            seen = [rows]
            if hooks is not None:
                hooks.start(X, Y, np.arange(rows, dtype=np.intp), bs, offset,
                            keep=offset > 0)

            def block_before(b: int, offset: int = offset) -> None:
                before(offset + b)

            def block_after(b: int, so_far: float, offset: int = offset, rows0: int = rows0,
                            total0: float = total0, bs: int = bs, rows: int = rows,
                            seen: list = seen) -> bool:
                seen[0] = min(rows, (b + 1) * bs)
                return after(offset + b, (total0 + so_far * seen[0]) / (rows0 + seen[0]))

            extras = self._train_extras(W, rates, bs, rows, stream.epoch_seed, rows0)
            loss, diverged = runner.run_epoch(
                X, Y, np.arange(rows, dtype=np.intp), bs, guard,
                bar.update if bar is not None else None, extras, group,
                block_before if before else None, block_after if after else None)
            if diverged is not None:
                diverged.batch += offset
                return math.nan, diverged, None
            total += loss * seen[0]
            rows_done += seen[0]
            batches_done += -(-rows // bs)
            if self.metrics:
                targets.append(Y[:seen[0]])
                preds.append(engine.predict(X[:seen[0]]))
            if self.stop_training and after is not None:
                break
        if rows_done == 0:
            return None
        metrics = (self._metric_values(np.concatenate(targets), np.concatenate(preds))
                   if self.metrics else None)
        return total / rows_done, None, metrics

    def _epoch_seed(self) -> int | None:
        """The epoch's dropout seed, one draw from the model's generator (None: no dropout)."""
        return int(self.rng.integers(2**63)) if any(self._dropout_rates()) else None

    def _evaluate_stream(self, data: Any, steps: int | None,
                         callbacks: list[Callback] | None = None) -> tuple[dict, int]:
        """Loss and metrics over the batches of a generator or Sequence, and the number
        of batches."""
        engine = self._engine()
        hooked = _overrides(callbacks, "on_test_batch_begin", "on_test_batch_end")
        for cb in callbacks or []:
            cb.set_model(self)
            cb.on_test_begin()
        sequence = _streams.is_sequence(data)
        count = len(data) if sequence else None
        if steps is not None:
            count = steps if count is None else min(count, steps)
        iterator = iter(()) if sequence else iter(data)   # data[index] for a sequence
        total, rows, targets, preds, index = 0.0, 0, [], [], 0
        while count is None or index < count:
            try:
                batch = data[index] if sequence else next(iterator)
            except (StopIteration, IndexError):
                break
            bx, by, bw = _streams.unpack_batch(batch, f"batch {index}")
            X = as_features(bx, self.dtype, self.input_dim, f"x of batch {index}")
            Y = self._targets(by, X.shape[0], f"y of batch {index}")
            W = as_sample_weight(bw, None, by, self.loss, self.output_dim, X.shape[0],
                                 self.dtype, f"sample_weight of batch {index}")
            if hooked:
                for cb in callbacks or []:
                    cb.on_test_batch_begin(index)
            total += float(engine.loss(X, Y) if W is None else engine.loss(X, Y, W)) \
                * X.shape[0]
            rows += X.shape[0]
            if self.metrics:
                targets.append(Y)
                preds.append(engine.predict(X))
            if hooked:
                logs = {"loss": total / rows}
                if self.metrics:
                    logs.update(self._metric_values(np.concatenate(targets),
                                                    np.concatenate(preds)))
                for cb in callbacks or []:
                    cb.on_test_batch_end(index, logs)
            index += 1
        if rows == 0:
            raise ValueError("the validation/evaluation data gave no batch")
        logs = {"loss": total / rows}
        if self.metrics:
            logs.update(self._metric_values(np.concatenate(targets), np.concatenate(preds)))
        for cb in callbacks or []:
            cb.on_test_end(dict(logs))
        return logs, index

    def _train_batch_hooks(self, callbacks: list[Callback], engine: Any) -> _TrainHooks | None:
        """The callbacks' per-batch hooks around each group of ``steps_per_execution``
        batches, or ``None`` when no callback overrides them (the engine then runs batches
        in chunks as long as it likes)."""
        if not _overrides(callbacks, "on_train_batch_begin", "on_train_batch_end"):
            return None
        return _TrainHooks(self, callbacks, engine)

    def _train_extras(self, W: np.ndarray | None, rates: tuple[float, ...], batch_size: int,
                      n: int, seed: int | None, rows0: int = 0):
        """What ``engine.train`` needs besides the data for batches ``first..stop-1`` of
        ``n`` rows (a whole epoch, or a block of a stream whose first row is row ``rows0``
        of the epoch), as a function ``(first, stop) -> kwargs`` (``None`` when nothing).

        ``seed`` is the epoch's dropout seed (:meth:`_epoch_seed`), so the masks of a row
        depend only on it and the row's position in the epoch.
        """
        if W is None and not any(rates):
            return None

        def extras(first: int, stop: int) -> dict[str, Any]:
            kwargs: dict[str, Any] = {}
            if W is not None:
                kwargs["sample_weight"] = W
            if any(rates):
                assert seed is not None, "an epoch with dropout has a seed"
                row0 = first * batch_size
                rows = min(stop * batch_size, n) - row0
                kwargs["input_mask"], *kwargs["masks"] = self._dropout_masks(
                    rates, seed, rows0 + row0, rows)
            return kwargs

        return extras

    def _widths(self) -> tuple[int, ...]:
        """The input width and each Dense layer's units, of a built model."""
        if self.input_dim is None:
            raise RuntimeError("the model is not built yet")
        return (self.input_dim, *[layer.units for layer in self._dense_layers()])

    def _dropout_masks(self, rates: tuple[float, ...], seed: int, row0: int,
                       rows: int) -> list[np.ndarray | None]:
        """Inverted-dropout multipliers for the epoch's rows ``row0 .. row0 + rows - 1``: for
        the inputs, then for each Dense layer's output (``None`` where there is no dropout).

        Row ``r`` of the epoch takes the values ``r * k .. (r + 1) * k - 1`` (``k``: the
        dropped widths added up) of the float64 stream ``u ~ U[0, 1)`` of ``PCG64(seed)``,
        split by layer in order; a unit is kept where ``u >= rate`` and then scaled by
        ``1 / (1 - rate)``. Any split of the epoch into calls gives the same masks.
        """
        widths = self._widths()
        total = sum(width for rate, width in zip(rates, widths) if rate > 0)
        bits = np.random.PCG64(seed)
        bits.advance(row0 * total)
        u = np.random.Generator(bits).random((rows, total))
        masks: list[np.ndarray | None] = []
        col = 0
        for rate, width in zip(rates, widths):
            if rate == 0:
                masks.append(None)
                continue
            keep = u[:, col:col + width] >= rate
            col += width
            masks.append(np.ascontiguousarray(keep * self.dtype.type(1 / (1 - rate)),
                                              dtype=self.dtype))
        return masks

    @staticmethod
    def _progress_bar(epoch: int, epochs: int, n_batches: int, verbose: int):
        if verbose != 1:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=n_batches, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch",
                    leave=True, dynamic_ncols=True, file=sys.stderr)

    def _diverged(self, epoch: int, where: Divergence, on_divergence: str) -> None:
        what = (f"the loss became {_format_value(where.loss)}" if where.cause == "loss" else
                f"its update made weights or optimizer state non-finite (its loss was "
                f"{_format_value(where.loss)})")
        message = (f"training diverged at epoch {epoch + 1}, batch {where.batch + 1}: {what}; "
                   f"the model keeps the weights and optimizer state from before that batch, "
                   f"the last finite step. Try a smaller learning rate (now "
                   f"{getattr(self.optimizer, 'learning_rate', float('nan')):g}).")
        if on_divergence == "raise":
            error = TrainingDivergedError(message)
            error.epoch, error.batch, error.loss = epoch, where.batch, where.loss
            raise error
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    # ------------------------------------------------------------------------------------
    # weights and description
    # ------------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's weights in order: ``[W1 (d_in, d_out), b1 (d_out,), W2,
        b2, ...]`` (plus each prelu layer's ``alpha`` after its ``b``, and a normalization
        layer's ``gamma, beta`` and moving statistics after its Dense layer's, as Keras).
        ``compute_gradients`` follows this order without the moving statistics."""
        self._ensure_built()
        return [p.copy() for p in self.weights]

    @property
    def weights(self) -> list[np.ndarray]:
        """Every layer's arrays themselves, in :meth:`get_weights` order (editing them
        edits the model; the model file is written from them); empty before the model is
        built."""
        return [a for layer in self.layers for a in layer.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the model's arrays in place.

        Raises ``ValueError`` for a wrong count, shapes or non-finite values (also values
        that overflow the model's dtype), ``TypeError`` for non-numeric arrays, leaving
        the model unchanged.

        Parameters
        ----------
        weights : list of array-like
            One array per entry of :meth:`get_weights`, in that order and of those shapes;
            converted to the model's dtype.
        """
        self._ensure_built()
        params = self.weights
        for p, c in zip(params, check_weights(weights, params)):
            np.copyto(p, c)

    def _param_counts(self) -> list[int]:
        """Parameter count of every layer in ``self.layers`` (0 for Dropout)."""
        counts, n_in = [], self.input_dim
        for layer in self.layers:
            counts.append(layer.count_params(n_in))
            if isinstance(layer, Dense):
                n_in = layer.units if n_in is not None else None
        return counts

    def count_params(self) -> int:
        """Total number of parameters (0 while the input size is unknown)."""
        return int(sum(self._param_counts()))

    def summary(self, print_fn: Callable[[str], Any] = print) -> None:
        """Print a table of layers, output shapes and parameter counts.

        Parameters
        ----------
        print_fn : callable, default print
            Called once with the whole table (a string of lines), e.g. a logger's
            ``info``.
        """
        rows = [("Layer (type)", "Activation", "Output shape", "Param #")]
        units = self.input_dim
        for layer, count in zip(self.layers, self._param_counts()):
            if isinstance(layer, Dense):
                units = layer.units
                rows.append((f"{layer.name} (Dense)", layer.activation, f"(None, {units})",
                             f"{count:,}"))
            elif isinstance(layer, Dropout):
                rows.append((f"{layer.name} (Dropout)", f"rate={layer.rate:g}",
                             f"(None, {units})", "0"))
            else:
                rows.append((f"{layer.name} ({type(layer).__name__})",
                             f"epsilon={layer.epsilon:g}", f"(None, {units})", f"{count:,}"))
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(4)]
        line = "─" * sum(widths)
        out = [f'Model: "{self.name}"  (dtype {self.dtype.name}, backend {self.backend})',
               line, "".join(c.ljust(w) for c, w in zip(rows[0], widths)), line]
        out += ["".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows[1:]]
        out += [line, f"Total params: {self.count_params():,}"]
        if self.optimizer is not None:
            out.append(f"Optimizer: {self.optimizer!r}   Loss: {self.loss}")
        print_fn("\n".join(out))

    def __repr__(self) -> str:
        layers = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{layers}], dtype={self.dtype.name!r})"

    # ------------------------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The architecture as plain data (no weights, no optimizer): name, dtype, seed,
        backend, input size and each layer's ``{"class_name", "config"}``; the model file
        stores this. :meth:`from_config` rebuilds the model.

        Examples
        --------
        >>> import fastmlp as fm
        >>> model = fm.Sequential([fm.Input((3,)), fm.Dense(2), fm.Dropout(0.1)])
        >>> [layer["class_name"] for layer in model.get_config()["layers"]]
        ['Dense', 'Dropout']
        """
        seed = self.seed if isinstance(self.seed, (int, np.integer)) else None
        return {"name": self.name, "dtype": self.dtype.name,
                "seed": None if seed is None else int(seed), "backend": self._backend,
                "input_dim": self.input_dim,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """A new, unbuilt-weights model from :meth:`get_config`'s output (fresh weights
        drawn from the config's seed when it is built).

        Parameters
        ----------
        config : dict
            What :meth:`get_config` returned: ``layers`` (class names and arguments), ``seed``,
            ``dtype`` and ``name``.

        Raises
        ------
        ValueError
            For a config that is not a dict with a ``layers`` list of known layer classes.

        Examples
        --------
        >>> import fastmlp as fm
        >>> model = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0)
        >>> fm.Sequential.from_config(model.get_config())
        Sequential([Dense(2, activation='linear', input_dim=3)], dtype='float64')
        """
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("a Sequential config is a dict with a 'layers' list (as "
                             "returned by model.get_config())")
        classes = {"Dense": Dense, "Dropout": Dropout, "BatchNormalization": BatchNormalization,
                   "LayerNormalization": LayerNormalization}
        layers: list[Any] = []
        if config.get("input_dim") is not None:
            layers.append(Input((config["input_dim"],)))
        for i, entry in enumerate(config["layers"]):
            if (not isinstance(entry, dict) or entry.get("class_name") not in classes
                    or not isinstance(entry.get("config"), dict)):
                raise ValueError(f"config layers[{i}] must be {{'class_name': 'Dense' or "
                                 f"'Dropout', 'config': {{...}}}}, got {entry!r}")
            layers.append(classes[entry["class_name"]](**entry["config"]))
        return cls(layers, seed=config.get("seed"), dtype=config.get("dtype", "float64"),
                   backend=config.get("backend"), name=config.get("name"))


    # ------------------------------------------------------------------------------------
    # class labels and feature names (kept in model files)
    # ------------------------------------------------------------------------------------
    _classes: np.ndarray | None = None
    _feature_names: list[str] | None = None

    @property
    def classes(self) -> np.ndarray | None:
        """The label of each class, or None: for a softmax output the label of each unit,
        for one sigmoid (or hinge) output the labels of 0 and 1. :meth:`predict_labels`
        returns them and model files keep them; ``fastmlp train`` sets them.

        Examples
        --------
        >>> import numpy as np, fastmlp as fm
        >>> labels = np.array(["no", "yes", "no", "yes"])
        >>> classes, y = np.unique(labels, return_inverse=True)
        >>> model = fm.Sequential([fm.Dense(1, activation="sigmoid", input_dim=1)], seed=0)
        >>> model.compile("sgd", "binary_crossentropy")
        >>> model.classes = classes
        >>> model.predict_labels(np.array([[0.0]])).dtype.kind
        'U'
        """
        return self._classes

    @classes.setter
    def classes(self, value: Any) -> None:
        self._classes = check_classes(value, self._n_classes())

    @property
    def feature_names(self) -> list[str] | None:
        """The name of each input column, or None. ``fit`` on a pandas DataFrame records its
        column names; ``predict``, ``evaluate`` and ``fit`` then check a DataFrame's columns
        against them (arrays are taken by position). Model files keep them."""
        return None if self._feature_names is None else list(self._feature_names)

    @feature_names.setter
    def feature_names(self, value: Any) -> None:
        self._feature_names = check_feature_name_list(value, self.input_dim)

    def _n_classes(self) -> int | None:
        """How many classes the output layer tells apart (None: unknown or not a
        classifier's output)."""
        dense = self._dense_layers()
        if not dense:
            return None
        last = dense[-1]
        if last.activation == "softmax":
            return last.units
        return 2 if last.units == 1 else None

    def predict_labels(self, x: Any) -> np.ndarray:
        """The predicted class of every row of ``x``: the label from :attr:`classes`, or
        the class index when the model has none. Softmax outputs take the most probable
        unit; one sigmoid output is thresholded at 0.5, another single output at 0.

        Parameters
        ----------
        x : array or DataFrame (n_samples, n_features)
            The rows to classify (a DataFrame's columns are checked against
            :attr:`feature_names`, when the model has them).

        Returns
        -------
        ndarray (n_samples,)
            Labels of the dtype of :attr:`classes` (class indices without them).

        Raises
        ------
        ValueError
            For a model whose output is not a classifier's, or whose ``classes`` do not
            match its output; and what :meth:`predict` raises.

        Examples
        --------
        >>> import numpy as np, fastmlp as fm
        >>> model = fm.Sequential([fm.Dense(3, activation="softmax", input_dim=2)], seed=0)
        >>> model.compile("sgd", "sparse_categorical_crossentropy")
        >>> model.classes = [10, 20, 30]
        >>> model.predict_labels(np.zeros((2, 2))).tolist()
        [10, 10]
        """
        n_classes = self._n_classes()
        if n_classes is None:
            raise ValueError("predict_labels needs a classifier: a softmax output layer or a "
                             "single output unit; use predict for other outputs")
        if self._classes is not None and self._classes.size != n_classes:
            raise ValueError(f"the model has {self._classes.size} classes but its output "
                             f"tells {n_classes} apart; set model.classes to match")
        P = self.predict(x)
        last = self._dense_layers()[-1]
        if last.activation == "softmax":
            index = P.argmax(axis=1)
        else:
            cut = 0.5 if last.activation in ("sigmoid", "hard_sigmoid") else 0.0
            index = (P[:, 0] >= cut if cut else P[:, 0] > cut).astype(np.intp)
        return index if self._classes is None else self._classes[index]

    # ------------------------------------------------------------------------------------
    # saving, pickling and copying
    # ------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to one file, atomically: architecture, dtype, weights, optimizer
        state and random-generator state (see :func:`fastmlp.save_model`).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (conventionally ``.fmlp``); replaced atomically if it exists.

        Examples
        --------
        >>> import os, tempfile, fastmlp as fm
        >>> m = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0)
        >>> m.compile("sgd", "mse")
        >>> path = os.path.join(tempfile.mkdtemp(), "model.fmlp")
        >>> m.save(path)
        >>> [w.shape for w in fm.load_model(path).get_weights()]
        [(3, 2), (2,)]
        """
        save_model(self, path)

    def __getstate__(self) -> dict[str, Any]:
        # Compiled engines hold raw pointers into this model's arrays and the lock cannot be
        # pickled: both are rebuilt (lazily, for the engines) on the other side.
        state = self.__dict__.copy()
        for key in ("_engines", "_fit_lock", "_training", "_guard_buffers"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_input_dim", None)          # pickled by older versions
        self.__dict__.setdefault("steps_per_execution", 1)
        self._engines = {}
        self._guard_buffers = {}
        self._training = False
        self._fit_lock = threading.Lock()
        self._own_arrays()

    def _own_arrays(self) -> None:
        """Replace read-only (or memory-mapped) parameter and optimizer arrays by writable
        in-memory copies: ``joblib.load(..., mmap_mode="r")`` hands back read-only memory
        maps, and the engines update these arrays in place."""
        def own(a: np.ndarray) -> np.ndarray:
            return a if a.flags.writeable and type(a) is np.ndarray else np.array(a)

        for layer in self.layers:
            layer.params = [own(p) for p in layer.params]
            if layer.state:
                layer.state = [own(a) for a in layer.state]
        if self.optimizer is not None:
            self.optimizer.slots = [[own(s) for s in slot] for slot in self.optimizer.slots]
            self.optimizer.scalars = own(self.optimizer.scalars)


def clone_model(model: Sequential) -> Sequential:
    """A new model with ``model``'s architecture and fresh weights (as
    ``keras.models.clone_model``): not compiled, drawn from the same seed, so a seeded
    clone starts from the weights the original started from.

    Parameters
    ----------
    model : Sequential
        The model whose architecture, seed and dtype the clone takes.

    Examples
    --------
    >>> import fastmlp as fm
    >>> model = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0)
    >>> clone = fm.models.clone_model(model)
    >>> clone is model, clone.get_config() == model.get_config()
    (False, True)
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"clone_model takes a fastmlp.Sequential, got {type(model).__name__}")
    return Sequential.from_config(model.get_config())


def _metric_names(metrics: Any) -> list[str]:
    """``compile``'s metrics as a list of names as written, each checked."""
    if metrics is None:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)):
        raise ValueError(f"metrics must be a metric name or a list of names, got "
                         f"{type(metrics).__name__}")
    names: list[str] = []
    for name in metrics:
        _metrics.get(name)  # raises for unknown names
        if name in names:
            raise ValueError(f"metric {name!r} is listed twice")
        names.append(name)
    return names


def _check_callbacks(callbacks: Any) -> list[Callback]:
    callbacks = list(callbacks or [])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be fastmlp.callbacks.Callback instances, got "
                            f"{type(cb).__name__}")
    return callbacks


def _warn_not_finite(out: np.ndarray, stacklevel: int = 3) -> None:
    """Warn that some rows of ``predict``'s output ``out`` are not finite."""
    rows = np.flatnonzero(~np.isfinite(out).all(axis=1))
    warnings.warn(f"predict: the output of {rows.size} row(s) is not finite (the first is "
                  f"row {rows[0]}); the network overflows on these inputs (scale X as in "
                  "training)", RuntimeWarning, stacklevel=stacklevel)


def _print_summary(batches: int, logs: dict[str, float]) -> None:
    """``evaluate``'s line for ``verbose`` 1 or 2, on standard error as the progress."""
    text = " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items())
    print(f"{batches}/{batches} - {text}", file=sys.stderr, flush=True)


class _TrainHooks:
    """The per-batch training hooks of a fit: ``before(first batch)`` and ``after(last
    batch, mean loss so far)`` for :meth:`EpochRunner.run_epoch`, calling the callbacks.

    The logs of ``on_train_batch_end`` carry ``loss`` (the mean of the epoch's batch
    losses so far, each taken before its update) and the compiled metrics over the epoch's
    rows so far, as Keras' running values. A group's rows are predicted in ``before``,
    with the weights before the group's update: Keras' values when ``steps_per_execution``
    is 1, except that the predictions are :meth:`Sequential.predict`'s (no dropout, the
    moving statistics of batch normalization). This is done only here, so a fit whose
    callbacks override no batch hook does none of this work.
    """

    def __init__(self, model: Sequential, callbacks: list[Callback], engine: Any) -> None:
        self.model, self.callbacks, self.engine = model, callbacks, engine
        self.running = _RunningMetrics(model, engine) if model.metrics else None
        self.source: tuple[np.ndarray, np.ndarray, np.ndarray, int, int] | None = None
        self.pending: tuple[np.ndarray, np.ndarray] | None = None

    def start(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, batch_size: int,
              offset: int = 0, keep: bool = False) -> None:
        """The rows ``X[order]`` of the batches from batch ``offset`` of the epoch on (a
        new epoch unless ``keep``: a further block of a stream)."""
        self.source = (X, Y, order, batch_size, offset)
        if self.running is not None and not keep:
            self.running.reset()

    def args(self) -> tuple:
        return self.model.steps_per_execution, self.before, self.after

    def before(self, batch: int) -> None:
        if self.running is not None:
            assert self.source is not None, "start() comes first"
            X, Y, order, bs, offset = self.source
            first = (batch - offset) * bs
            rows = order[first:first + bs * self.model.steps_per_execution]
            self.pending = (self.engine.predict(X[rows]), Y[rows])
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch)

    def after(self, batch: int, loss: float) -> bool:
        logs = {"loss": loss}
        if self.running is not None:
            assert self.pending is not None, "before() comes first"
            logs.update(self.running.add(*self.pending))
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)
        return self.model.stop_training


class _RunningMetrics:
    """The compiled metrics over the rows seen so far (for the per-batch logs): each
    group's predictions are taken once, and the metrics recomputed over all of them."""

    def __init__(self, model: Sequential, engine: Any) -> None:
        self.model, self.engine = model, engine
        self.reset()

    def reset(self) -> None:
        self.targets: list[np.ndarray] = []
        self.preds: list[np.ndarray] = []

    def add(self, P: np.ndarray, Y: np.ndarray) -> dict[str, float]:
        """Add predictions ``P`` of targets ``Y`` and return the metrics over every row
        added since the last reset."""
        self.targets.append(Y)
        self.preds.append(P)
        return self.model._metric_values(np.concatenate(self.targets),
                                         np.concatenate(self.preds))


def _overrides(callbacks: list[Callback] | None, *hooks: str) -> bool:
    """Whether any callback overrides one of the (per-batch) ``hooks``."""
    return any(getattr(type(cb), hook) is not getattr(Callback, hook) or hook in vars(cb)
               for cb in callbacks or [] for hook in hooks)


def _penalty_factors(layer: Dense) -> tuple[float, float, float, float]:
    """``(kernel_l1, kernel_l2, bias_l1, bias_l2)`` of a Dense layer's regularizers."""
    k, b = layer.kernel_regularizer, layer.bias_regularizer
    return (k.l1 if k else 0.0, k.l2 if k else 0.0, b.l1 if b else 0.0, b.l2 if b else 0.0)
