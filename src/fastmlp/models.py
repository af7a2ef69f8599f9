"""The :class:`Sequential` model: a stack of Dense layers with a Keras-style API."""
from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from typing import Any, Iterable

import numpy as np

from . import activations, losses, metrics as _metrics, optimizers
from .backend import backend as active_backend
from .backend import check_name as check_backend_name
from .backend import get as get_backend
from ._guard import Divergence, EpochRunner, InterruptGuard, exclusive_fit
from ._validation import (all_finite, as_features, as_sample_weight, as_targets, check_dtype,
                          check_fraction, check_int, check_weights)
from .backend._contract import NetSpec
from .callbacks import Callback, History
from .layers import Dense, Dropout

#: Work (multiply-adds) of the first compiled call of a fit; later calls are sized by
#: measured time (``_guard.EpochRunner``), near 0.1 s each.
_CHUNK_FLOPS = 2e8
#: Dropout-mask values handed to one compiled call at most (bounds the masks' memory).
_MASK_ELEMENTS = 1 << 20


class TrainingDivergedError(FloatingPointError):
    """Raised by ``fit`` when the loss, the weights or the optimizer state stop being finite.

    The model keeps the weights and optimizer state of the last step after which they and
    the loss were all finite. Attributes ``epoch`` and ``batch`` (0-based) say where, and
    ``loss`` is that batch's loss.
    """


class Sequential:
    """A linear stack of layers trained by gradient descent.

    Parameters
    ----------
    layers : list of Dense and Dropout, optional
    seed : int, optional
        Seeds the one random generator behind initial weights and shuffling: the same seed
        gives the same weights bit for bit on one backend and thread count.
    dtype : {"float64", "float32"}
    backend : {"cython", "numpy"}, optional
        Fix this model's backend; by default the active one (:func:`fastmlp.backend`) is
        used at each call.
    name : str, optional

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
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------------------------
    def add(self, layer: Dense | Dropout) -> None:
        """Append a layer (before the model is built)."""
        if not isinstance(layer, (Dense, Dropout)):
            raise TypeError(f"Sequential takes Dense and Dropout layers, got "
                            f"{type(layer).__name__}")
        if self.built and self._dense_layers():
            raise RuntimeError("cannot add layers to a model that is already built")
        if layer.name is None:
            kind = "dense" if isinstance(layer, Dense) else "dropout"
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
            else:  # consecutive Dropouts keep (1 - r1) (1 - r2) of the units
                rates[-1] = 1 - (1 - rates[-1]) * (1 - layer.rate)
        return tuple(rates)

    @property
    def built(self) -> bool:
        dense = self._dense_layers()
        return bool(dense) and all(layer.built for layer in dense)

    @property
    def input_dim(self) -> int | None:
        dense = self._dense_layers()
        return dense[0].input_dim if dense else None

    @property
    def output_dim(self) -> int:
        self._require_layers()
        return self._dense_layers()[-1].units

    def _require_layers(self) -> None:
        if not self._dense_layers():
            raise RuntimeError("the model has no layers; add Dense layers first")
        if isinstance(self.layers[-1], Dropout):
            raise ValueError(  # noqa: TRY004 (a wrong layer order, not a wrong type)
                "the last layer must be Dense (a Dropout layer must be followed by a Dense "
                "layer)")

    def build(self, input_dim: int | None = None) -> "Sequential":
        """Create the weights for ``input_dim`` inputs (drawn from the model's seed).

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
        for layer in self._dense_layers():
            layer.build(n_in, self.rng, self.dtype)
            n_in = layer.units
        if self.optimizer is not None:
            self.optimizer.build(self._flat_params())
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

    def _flat_params(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.params]

    def compile(self, optimizer: str | optimizers.Optimizer = "sgd",
                loss: str = "mean_squared_error",
                metrics: Iterable[str] | None = None) -> None:
        """Choose the optimizer, the loss and the metrics reported by ``fit``/``evaluate``.

        Raises
        ------
        ValueError
            For unknown names (listing the valid ones) or a loss that does not fit the
            output activation (binary cross-entropy needs a sigmoid output, categorical
            cross-entropies a softmax output).
        """
        self._require_layers()
        if self._training:
            raise RuntimeError("cannot compile a model while it is training")
        opt = optimizers.get(optimizer)
        loss = losses.get(loss)
        required = losses.LOSSES[loss][1]
        out_act = self.layers[-1].activation  # the last layer is Dense
        if required is not None and out_act != required:
            raise ValueError(f"loss {loss!r} needs a {required!r} output layer (it is fused "
                             f"with it); the last layer's activation is {out_act!r}")
        if out_act == "softmax" and self.layers[-1].units < 2 and required == "softmax":
            raise ValueError("a softmax output needs at least 2 units")
        names = [_metrics.get(m) for m in (metrics or [])]
        self.optimizer = opt
        self.loss = loss
        self.metrics = names
        if self.built:
            opt.build(self._flat_params())
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
            dense = self._dense_layers()
            input_rate, *rates = self._dropout_rates()
            regs = tuple(_penalty_factors(layer) for layer in dense)
            optimizer, loss = self.optimizer, self.loss
            if optimizer is None:  # predict / layer_outputs before compile: never trains
                optimizer, loss = optimizers.SGD(), "mean_squared_error"
                optimizer.build(self._flat_params())
            spec = NetSpec(dtype=self.dtype,
                           sizes=(self.input_dim, *[layer.units for layer in dense]),
                           activations=tuple(activations.ACTIVATIONS[layer.activation]
                                             for layer in dense),
                           params=[layer.params for layer in dense],
                           loss=losses.LOSSES[loss][0], optimizer=optimizer,
                           dropout=tuple(rates) if any(rates) else (),
                           input_dropout=input_rate,
                           regularizers=regs if any(any(r) for r in regs) else (),
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
        if self.loss is None:
            raise RuntimeError("the model is not compiled; call model.compile(...) first")
        return as_targets(y, self.loss, self.output_dim, n_rows, self.dtype, name)

    def predict(self, x: Any, verbose: int = 0) -> np.ndarray:
        """The network's output for ``x``: an array ``(n_samples, units of last layer)``.

        Safe to call from many threads at once (the compiled backend runs without the GIL).

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
        """
        name = self._backend or active_backend()
        engine = self._engines.get(name)
        if engine is None:  # first call, or not built (raising the usual errors)
            X = self._features(x)
            engine = self._engine(inference=True)
        else:  # an engine exists only for a built model: just the input checks
            X = as_features(x, self.dtype, engine.n_inputs)
        if name == "numpy":
            with np.errstate(all="ignore"):
                out = engine.predict(X)
        else:  # compiled code raises no NumPy floating-point warnings
            out = engine.predict(X)
        if not all_finite(out):
            finite = np.isfinite(out)
            rows = np.flatnonzero(~finite.all(axis=1))
            warnings.warn(f"predict: the output of {rows.size} row(s) is not finite (the "
                          f"first is row {rows[0]}); the network overflows on these inputs "
                          "(scale X as in training)", RuntimeWarning, stacklevel=2)
        return out

    def layer_outputs(self, x: Any) -> list[np.ndarray]:
        """The activation of every layer for ``x``, first to last."""
        X = self._features(x)
        return self._engine(inference=True).layer_outputs(X)

    def compute_gradients(self, x: Any, y: Any,
                          sample_weight: Any = None) -> tuple[float, list[np.ndarray]]:
        """The loss on ``(x, y)`` (weighted by ``sample_weight``, plus the regularization
        penalties) and its gradient for every weight (``get_weights`` order), without
        changing the model. Dropout is off (as in ``evaluate``)."""
        X = self._features(x)
        Y = self._targets(y, X.shape[0])
        W = as_sample_weight(sample_weight, None, y, self.loss, self.output_dim, X.shape[0],
                             self.dtype)
        loss, grads = self._engine().gradients(X, Y, W)
        return float(loss), grads

    def evaluate(self, x: Any, y: Any, verbose: int = 0,
                 sample_weight: Any = None) -> dict[str, float]:
        """Loss and metrics on ``(x, y)`` as a dict, e.g. ``{"loss": .., "accuracy": ..}``.

        The loss is ``sum_i w_i l_i / n`` with ``sample_weight`` ``w`` (the plain mean
        without), plus the layers' regularization penalties, as in Keras; dropout is off.
        Metrics are unweighted.
        """
        X = self._features(x)
        Y = self._targets(y, X.shape[0])
        W = as_sample_weight(sample_weight, None, y, self.loss, self.output_dim, X.shape[0],
                             self.dtype)
        return self._evaluate_arrays(X, Y, W)

    def _evaluate_arrays(self, X: np.ndarray, Y: np.ndarray,
                         W: np.ndarray | None = None) -> dict[str, float]:
        engine = self._engine()
        logs = {"loss": float(engine.loss(X, Y) if W is None else engine.loss(X, Y, W))}
        if self.metrics:
            logs.update(self._metric_values(Y, engine.predict(X)))
        return logs

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
            if name == "accuracy" and self.loss == "binary_crossentropy" and P.shape[1] > 1:
                out[name] = _metrics.binary_accuracy(Y, P)
            else:
                out[name] = _metrics.METRICS[name](Y, P if name == "roc_auc" else labels)
        return out

    # ------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------
    @exclusive_fit
    def fit(self, x: Any, y: Any, epochs: int = 1, batch_size: int | None = 32,
            shuffle: bool = True, validation_split: float = 0.0,
            validation_data: tuple[Any, Any] | None = None, verbose: int = 1,
            callbacks: Iterable[Callback] | None = None, initial_epoch: int = 0,
            on_divergence: str = "raise", sample_weight: Any = None,
            class_weight: dict[Any, float] | None = None) -> History:
        """Train for ``epochs`` passes over ``(x, y)``.

        Parameters
        ----------
        x : array (n_samples, n_features)
        y : array (n_samples,) or (n_samples, n_outputs)
            Targets in the form the loss expects (class labels for
            ``sparse_categorical_crossentropy``, one-hot rows for
            ``categorical_crossentropy``, 0/1 for ``binary_crossentropy``).
        epochs : int
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
        initial_epoch : int
            Epoch to start counting from (to resume).
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

        Notes
        -----
        Dropout layers are active here only. Their masks come from a stream seeded once
        per epoch by the model's generator and indexed by the row's position in the
        epoch, so the same seed, data and batch size give the same masks on either
        backend, however the epoch is split into compiled calls.

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
        """
        self._require_layers()
        if self.optimizer is None:
            raise RuntimeError("the model is not compiled; call model.compile(...) first")
        epochs = check_int("epochs", epochs, 0)
        initial_epoch = check_int("initial_epoch", initial_epoch, 0)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, 1)
        validation_split = check_fraction("validation_split", validation_split)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        if on_divergence not in ("raise", "warn"):
            raise ValueError(f"on_divergence must be 'raise' or 'warn', got {on_divergence!r}")
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be fastmlp.callbacks.Callback instances, got "
                                f"{type(cb).__name__}")

        # validate everything before building, so that a failed call changes nothing
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
            widths = (self.input_dim, *[layer.units for layer in self._dense_layers()])
            dropped = sum(width for rate, width in zip(rates, widths) if rate > 0)
            max_chunk = max(1, _MASK_ELEMENTS // (bs * dropped))
        runner = EpochRunner(engine, self._flat_params(), self.optimizer,
                             min(chunk, max_chunk), max_chunk=max_chunk,
                             buffers=self._guard_buffers)

        history = History()
        self.history = history
        all_callbacks = [history, *callbacks]
        for cb in all_callbacks:
            cb.set_model(self)
        self.stop_training = False
        with InterruptGuard() as guard:
            for cb in all_callbacks:
                cb.on_train_begin()
            for epoch in range(initial_epoch, initial_epoch + epochs):
                for cb in all_callbacks:
                    cb.on_epoch_begin(epoch)
                order = (self.rng.permutation(n) if shuffle else np.arange(n)).astype(np.intp)
                bar = self._progress_bar(epoch, initial_epoch + epochs, n_batches, verbose)
                start = time.perf_counter()
                extras = self._train_extras(W, rates, bs, n)
                try:
                    if lbfgs is not None:
                        loss, diverged = lbfgs.run_epoch(bar.update if bar is not None
                                                         else None)
                    else:
                        loss, diverged = runner.run_epoch(X, Y, order, bs, guard,
                                                          bar.update if bar is not None
                                                          else None, extras)
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
                if self.metrics:
                    logs.update(self._metric_values(Y, engine.predict(X)))
                if X_val is not None:
                    for key, value in self._evaluate_arrays(X_val, Y_val, W_val).items():
                        logs[f"val_{key}"] = value
                if bar is not None:
                    bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
                    bar.close()
                elif verbose == 2:
                    elapsed = time.perf_counter() - start
                    text = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                    print(f"Epoch {epoch + 1}/{initial_epoch + epochs} - {elapsed:.2f}s - "
                          f"{text}", file=sys.stdout, flush=True)
                for cb in all_callbacks:
                    cb.on_epoch_end(epoch, logs)
                guard.check()
                if self.stop_training:
                    break
            for cb in all_callbacks:
                cb.on_train_end()
        return history

    def _train_extras(self, W: np.ndarray | None, rates: tuple[float, ...], batch_size: int,
                      n: int):
        """What ``engine.train`` needs besides the data for batches ``first..stop-1`` of
        this epoch, as a function ``(first, stop) -> kwargs`` (``None`` when nothing).

        Draws one seed from the model's generator per epoch when there is dropout, so the
        masks of a row depend only on that seed and the row's position in the epoch.
        """
        if W is None and not any(rates):
            return None
        seed = int(self.rng.integers(2**63)) if any(rates) else 0

        def extras(first: int, stop: int) -> dict[str, Any]:
            kwargs: dict[str, Any] = {}
            if W is not None:
                kwargs["sample_weight"] = W
            if any(rates):
                row0 = first * batch_size
                rows = min(stop * batch_size, n) - row0
                kwargs["input_mask"], *kwargs["masks"] = self._dropout_masks(rates, seed,
                                                                            row0, rows)
            return kwargs

        return extras

    def _dropout_masks(self, rates: tuple[float, ...], seed: int, row0: int,
                       rows: int) -> list[np.ndarray | None]:
        """Inverted-dropout multipliers for the epoch's rows ``row0 .. row0 + rows - 1``: for
        the inputs, then for each Dense layer's output (``None`` where there is no dropout).

        Row ``r`` of the epoch takes the values ``r * k .. (r + 1) * k - 1`` (``k``: the
        dropped widths added up) of the float64 stream ``u ~ U[0, 1)`` of ``PCG64(seed)``,
        split by layer in order; a unit is kept where ``u >= rate`` and then scaled by
        ``1 / (1 - rate)``. Any split of the epoch into calls gives the same masks.
        """
        widths = (self.input_dim, *[layer.units for layer in self._dense_layers()])
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
                    leave=True, dynamic_ncols=True)

    def _diverged(self, epoch: int, where: Divergence, on_divergence: str) -> None:
        what = (f"the loss became {where.loss}" if where.cause == "loss" else
                f"its update made weights or optimizer state non-finite (its loss was "
                f"{where.loss:g})")
        message = (f"training diverged at epoch {epoch + 1}, batch {where.batch + 1}: {what}; "
                   f"the model keeps the weights and optimizer state from before that batch, "
                   f"the last finite step. Try a smaller learning rate (now "
                   f"{self.optimizer.learning_rate:g}).")
        if on_divergence == "raise":
            error = TrainingDivergedError(message)
            error.epoch, error.batch, error.loss = epoch, where.batch, where.loss
            raise error
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    # ------------------------------------------------------------------------------------
    # weights and description
    # ------------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter: ``[W1 (d_in, d_out), b1 (d_out,), W2, b2, ...]``
        (plus each prelu layer's ``alpha`` after its ``b``)."""
        self._ensure_built()
        return [p.copy() for p in self._flat_params()]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the model's arrays in place.

        Raises ``ValueError`` for a wrong count, shapes or non-finite values (also values
        that overflow the model's dtype), ``TypeError`` for non-numeric arrays, leaving
        the model unchanged.
        """
        self._ensure_built()
        params = self._flat_params()
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

    def summary(self, print_fn=print) -> None:
        """Print a table of layers, output shapes and parameter counts."""
        rows = [("Layer (type)", "Activation", "Output shape", "Param #")]
        units = self.input_dim
        for layer, count in zip(self.layers, self._param_counts()):
            if isinstance(layer, Dense):
                units = layer.units
                rows.append((f"{layer.name} (Dense)", layer.activation, f"(None, {units})",
                             f"{count:,}"))
            else:
                rows.append((f"{layer.name} (Dropout)", f"rate={layer.rate:g}",
                             f"(None, {units})", "0"))
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
    # saving, pickling and copying
    # ------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to one file, atomically: architecture, dtype, weights, optimizer
        state and random-generator state (see :func:`fastmlp.save_model`).

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
        from .saving import save_model

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
        if self.optimizer is not None:
            self.optimizer.slots = [[own(s) for s in slot] for slot in self.optimizer.slots]
            self.optimizer.scalars = own(self.optimizer.scalars)


def _penalty_factors(layer: Dense) -> tuple[float, float, float, float]:
    """``(kernel_l1, kernel_l2, bias_l1, bias_l2)`` of a Dense layer's regularizers."""
    k, b = layer.kernel_regularizer, layer.bias_regularizer
    return (k.l1 if k else 0.0, k.l2 if k else 0.0, b.l1 if b else 0.0, b.l2 if b else 0.0)
