"""The :class:`Sequential` model: a stack of Dense layers with a Keras-style API."""
from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Iterable

import numpy as np

from . import activations, losses, metrics as _metrics, optimizers
from .backend import backend as active_backend
from .backend import check_name as check_backend_name
from .backend import get as get_backend
from ._validation import (as_features, as_sample_weight, as_targets, check_dtype,
                          check_fraction, check_int, check_weights)
from .backend._contract import NetSpec
from .callbacks import Callback, History
from .layers import Dense, Dropout

#: Work (multiply-adds) per compiled call when training: keeps each call near 0.1 s so
#: progress, callbacks and Ctrl-C get through promptly.
_CHUNK_FLOPS = 2e8
#: Dropout-mask values drawn per compiled call at most (each chunk's masks are drawn at
#: once from the model's generator).
_MASK_ELEMENTS = 1 << 20


class TrainingDivergedError(FloatingPointError):
    """Raised by ``fit`` when the loss becomes NaN or infinite.

    The model keeps the weights of the last step whose loss was finite.
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
        self._training = False
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
        opt = optimizers.get(optimizer)
        loss = losses.get(loss)
        required = losses.LOSSES[loss][1]
        out_act = self.layers[-1].activation  # the last layer is Dense
        if required is not None and out_act != required:
            raise ValueError(f"loss {loss!r} needs a {required!r} output layer (it is fused "
                             f"with it); the last layer's activation is {out_act!r}")
        if out_act == "softmax" and self.layers[-1].units < 2 and required == "softmax":
            raise ValueError("a softmax output needs at least 2 units")
        if loss == "binary_crossentropy" or required is None:
            pass
        names = [_metrics.get(m) for m in (metrics or [])]
        if self.optimizer is not None and opt is not self.optimizer:
            self._engines.clear()
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
                           regularizers=regs if any(any(r) for r in regs) else ())
            engine = get_backend(name).Engine(spec)
            self._engines[name] = engine
        return engine

    # ------------------------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------------------------
    def _features(self, x: Any, name: str = "X") -> np.ndarray:
        self._ensure_built()
        return as_features(x, self.dtype, self.input_dim, name)

    def _targets(self, y: Any, n_rows: int, name: str = "y") -> np.ndarray:
        return as_targets(y, self.loss, self.output_dim, n_rows, self.dtype, name)

    def predict(self, x: Any, verbose: int = 0) -> np.ndarray:
        """The network's output for ``x``: an array ``(n_samples, units of last layer)``."""
        X = self._features(x)
        return self._engine(inference=True).predict(X)

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
            P = engine.predict(X)
            for name in self.metrics:
                logs[name] = _metrics.METRICS[name](Y, P)
        return logs

    # ------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------
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
            What to do when the loss becomes NaN or infinite: the model keeps the weights
            of the last finite step, then raises :class:`TrainingDivergedError` or warns
            and returns.
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
        Dropout layers are active here only: their masks are drawn from the model's
        generator for each compiled call's rows, so the same seed, data and batch size
        give the same masks, on either backend.

        Returns
        -------
        History
            ``history.history["loss"]`` and, with validation, ``["val_loss"]`` and the
            metrics, one value per epoch. The training loss is the mean of the epoch's
            batch losses (weighted by batch size); training metrics are computed on the
            training data at the end of each epoch.
        """
        if self._training:
            raise RuntimeError("this model is already training (fit is running in another "
                               "thread or callback); wait for it to finish")
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

        if not self.built:
            first = as_features(x, self.dtype, None)
            self.build(first.shape[1])
        X = self._features(x)
        Y = self._targets(y, X.shape[0])
        W = as_sample_weight(sample_weight, class_weight, y, self.loss, self.output_dim,
                             X.shape[0], self.dtype)
        X_val = Y_val = W_val = None
        if validation_data is not None:
            if (not isinstance(validation_data, (tuple, list))
                    or len(validation_data) not in (2, 3)):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                                 "(x_val, y_val, val_sample_weight)")
            X_val = self._features(validation_data[0], "x_val")
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

        engine = self._engine()
        n = X.shape[0]
        bs = n if batch_size is None or batch_size > n else batch_size
        n_batches = -(-n // bs)
        work = 6.0 * bs * self.count_params()
        chunk = int(max(1, min(n_batches, _CHUNK_FLOPS // max(work, 1.0))))
        losses_buf = np.empty(chunk, dtype=np.float64)
        rates = self._dropout_rates()
        use_dropout = any(rates)
        if use_dropout:  # the chunk's dropout masks stay near 8 MB (float64)
            widths = (self.input_dim, *[layer.units for layer in self._dense_layers()])
            dropped = sum(width for rate, width in zip(rates, widths) if rate > 0)
            chunk = max(1, min(chunk, _MASK_ELEMENTS // (bs * dropped)))
        train_extra: dict[str, Any] = {}
        if W is not None:
            train_extra["sample_weight"] = W

        history = History()
        self.history = history
        all_callbacks = [history, *callbacks]
        for cb in all_callbacks:
            cb.set_model(self)
        self.stop_training = False
        self._training = True
        try:
            for cb in all_callbacks:
                cb.on_train_begin()
            for epoch in range(initial_epoch, initial_epoch + epochs):
                for cb in all_callbacks:
                    cb.on_epoch_begin(epoch)
                order = (self.rng.permutation(n) if shuffle else np.arange(n)).astype(np.intp)
                bar = self._progress_bar(epoch, initial_epoch + epochs, n_batches, verbose)
                total = 0.0
                start = time.perf_counter()
                for first in range(0, n_batches, chunk):
                    stop = min(first + chunk, n_batches)
                    if use_dropout:
                        rows = min(stop * bs, n) - first * bs
                        input_mask, *masks = self._dropout_masks(rates, rows)
                        train_extra["masks"] = masks
                        train_extra["input_mask"] = input_mask
                    done = engine.train(X, Y, order, bs, first, stop, losses_buf,
                                        **train_extra)
                    sizes = np.full(done, bs, dtype=np.float64)
                    if first + done == n_batches and done:
                        sizes[-1] = n - (n_batches - 1) * bs
                    total += float(np.dot(losses_buf[:done], sizes))
                    if bar is not None:
                        bar.update(done)
                    if done < stop - first:
                        if bar is not None:
                            bar.close()
                        self._diverged(epoch, first + done, losses_buf[done], on_divergence)
                        return history
                logs = {"loss": total / n}
                for name in self.metrics:
                    logs[name] = _metrics.METRICS[name](Y, engine.predict(X))
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
                if self.stop_training:
                    break
            for cb in all_callbacks:
                cb.on_train_end()
        finally:
            self._training = False
        return history

    def _dropout_masks(self, rates: tuple[float, ...], rows: int) -> list[np.ndarray | None]:
        """Inverted-dropout multipliers for ``rows`` training rows: for the inputs, then
        for each Dense layer's output (``None`` where there is no dropout).

        Drawn from the model's generator in that order: ``u ~ U[0, 1)`` in the model's
        dtype, the unit kept where ``u >= rate`` and then scaled by ``1 / (1 - rate)``.
        """
        masks: list[np.ndarray | None] = []
        widths = (self.input_dim, *[layer.units for layer in self._dense_layers()])
        for rate, width in zip(rates, widths):
            if rate == 0:
                masks.append(None)
                continue
            u = self.rng.random((rows, width), dtype=self.dtype)
            masks.append((u >= rate) * self.dtype.type(1 / (1 - rate)))
        return masks

    @staticmethod
    def _progress_bar(epoch: int, epochs: int, n_batches: int, verbose: int):
        if verbose != 1:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=n_batches, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch",
                    leave=True, dynamic_ncols=True)

    def _diverged(self, epoch: int, batch: int, loss: float, on_divergence: str) -> None:
        message = (f"training diverged at epoch {epoch + 1}, batch {batch + 1}: the loss "
                   f"became {loss}; the model keeps the weights of the last finite step. "
                   f"Try a smaller learning rate (now {self.optimizer.learning_rate:g}).")
        if on_divergence == "raise":
            raise TrainingDivergedError(message)
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

        Raises ``ValueError`` for a wrong count, shapes or non-finite values, leaving the
        model unchanged.
        """
        self._ensure_built()
        params = self._flat_params()
        arrays = check_weights(weights, params)
        converted = [as_float for as_float in
                     (np.asarray(a, dtype=self.dtype) for a in arrays)]
        for i, c in enumerate(converted):
            if not np.isfinite(c).all():
                raise ValueError(f"weights[{i}] overflows {self.dtype}")
        for p, c in zip(params, converted):
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


def _penalty_factors(layer: Dense) -> tuple[float, float, float, float]:
    """``(kernel_l1, kernel_l2, bias_l1, bias_l2)`` of a Dense layer's regularizers."""
    k, b = layer.kernel_regularizer, layer.bias_regularizer
    return (k.l1 if k else 0.0, k.l2 if k else 0.0, b.l1 if b else 0.0, b.l2 if b else 0.0)
