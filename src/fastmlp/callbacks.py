"""Callbacks: hooks ``fit`` calls at the start and end of training and of every epoch.

``fit(..., callbacks=[...])`` calls, in order, the model's :class:`History` and then each
callback given. Every callback sees the epoch's ``logs``: ``loss``, the compiled metrics,
and with validation ``val_loss`` and ``val_<metric>``.

Writing your own
----------------
Subclass :class:`Callback` and override any of its ``on_*`` methods. ``self.model`` is
the model being trained (set before ``on_train_begin``); setting
``self.model.stop_training = True`` ends ``fit`` after the current epoch (after the
current group of batches, from a per-batch hook).

Per-batch hooks (``on_train_batch_begin/end``, ``on_test_batch_begin/end``) are called
around each group of ``steps_per_execution`` mini-batches (``model.compile``'s setting,
1 by default), with the index of the group's first batch before and of its last batch
after, as Keras 3 does; their ``logs`` hold the mean ``loss`` of the epoch's batches so
far. Only when some callback overrides one of them does the engine stop after each group;
otherwise it runs long chunks of batches per compiled call, at full speed.

Built in
--------
History, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN,
LambdaCallback, CSVLogger. Their defaults follow Keras except where noted in their docstrings.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._scalars import NON_NEGATIVE, OPEN_FRACTION, check_flag, check_int, check_real
from .metrics import HIGHER_IS_BETTER
from .metrics import get as _metric_key

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback",
           "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]


class Callback:
    """Base class for callbacks: override the hooks you need.

    Attributes
    ----------
    model : Sequential
        The model being trained, set by ``fit`` before ``on_train_begin``.

    Examples
    --------
    A callback that prints the loss of every tenth epoch:

    >>> import fastmlp as fm
    >>> class EveryTenth(fm.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if (epoch + 1) % 10 == 0:
    ...             print(f"epoch {epoch + 1}: loss {logs['loss']:.3f}")
    >>> X, y = fm.datasets.make_xor(n_samples=40, seed=0)
    >>> model = fm.Sequential([fm.Dense(8, activation="tanh"),
    ...                        fm.Dense(1, activation="sigmoid")], seed=0)
    >>> model.compile(optimizer=fm.optimizers.SGD(0.1), loss="binary_crossentropy")
    >>> _ = model.fit(X, y, epochs=20, verbose=0, callbacks=[EveryTenth()])  # doctest: +ELLIPSIS
    epoch 10: loss ...
    epoch 20: loss ...
    """

    model: Any = None

    def set_model(self, model: Any) -> None:
        """Attach the model (called by ``fit``, ``evaluate`` and ``predict``).

        Parameters
        ----------
        model : Sequential
            The model being trained, evaluated or run; the hooks reach it as
            ``self.model``.
        """
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once before the first epoch.

        Parameters
        ----------
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once after the last epoch (also when training is stopped early).

        Parameters
        ----------
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called before each epoch.

        Parameters
        ----------
        epoch : int
            The epoch's index, counting from 0 (``initial_epoch`` included).
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called after each epoch with its logs.

        Parameters
        ----------
        epoch : int
            The epoch's index, counting from 0 (``initial_epoch`` included).
        logs : dict
            The epoch's ``loss`` and compiled metrics over the training rows, and with
            validation data their ``val_*`` values; callbacks may add entries (e.g.
            ``lr``) that later callbacks and the History see.
        """

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each group of ``steps_per_execution`` training batches.

        Parameters
        ----------
        batch : int
            The index (in the epoch, from 0) of the group's first batch.
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each group of training batches.

        Parameters
        ----------
        batch : int
            The index (in the epoch, from 0) of the group's last batch.
        logs : dict
            ``{"loss": mean loss of the epoch's batches so far, "<metric>": ...}``: the
            compiled metrics over the epoch's rows so far, each group's rows predicted
            with the weights before its update (Keras' values with one batch per group).
        """

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called before ``evaluate`` (and each epoch's validation in ``fit``).

        Parameters
        ----------
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called after ``evaluate`` (and each validation) with its logs.

        Parameters
        ----------
        logs : dict
            The evaluation's ``loss`` and compiled metrics.
        """

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each group of evaluation batches.

        Parameters
        ----------
        batch : int
            The index (from 0) of the group's first batch.
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each group of evaluation batches.

        Parameters
        ----------
        batch : int
            The index (from 0) of the group's last batch.
        logs : dict
            ``{"loss": mean loss so far, "<metric>": value over the rows so far}``.
        """

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called before ``predict(x, callbacks=[...])``.

        Parameters
        ----------
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called after ``predict(x, callbacks=[...])``.

        Parameters
        ----------
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each group of ``steps_per_execution`` prediction batches.

        Parameters
        ----------
        batch : int
            The index (from 0) of the group's first batch.
        logs : dict or None
            Unused: ``fit``, ``evaluate`` and ``predict`` pass nothing here (Keras'
            signature).
        """

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each group of prediction batches.

        Parameters
        ----------
        batch : int
            The index (from 0) of the group's last batch.
        logs : dict
            ``{"outputs": the group's outputs}``, an array ``(rows, n_out)``.
        """


class History(Callback):
    """Records every epoch's logs; ``fit`` returns one.

    Attributes
    ----------
    history : dict of str -> list of float
        ``history["loss"][i]`` is the training loss of epoch ``i`` and so on.
    epoch : list of int

    Examples
    --------
    >>> h = History()
    >>> h.on_epoch_end(0, {"loss": 0.5})
    >>> h.history
    {'loss': [0.5]}
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def plot(self, keys: list[str] | None = None, ax: Any = None) -> Any:
        """Draw the learning curves (needs matplotlib: ``pip install fastmlp[plot]``).

        One panel per quantity (loss, then each metric), training and validation curves
        together. See :func:`fastmlp.plot.learning_curves`.

        Parameters
        ----------
        keys : list of str, optional
            Quantities to draw (without the ``val_`` prefix); default every one recorded,
            the loss first.
        ax : matplotlib Axes or array of Axes, optional
            Where to draw (one Axes per key); by default a new figure with one row of
            panels.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> fig = history.plot()                     # doctest: +SKIP
        >>> fig.savefig("curves.png")                # doctest: +SKIP
        """
        from .plot import learning_curves

        return learning_curves(self, keys=keys, ax=ax)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


# ----------------------------------------------------------------------------------------
# monitoring a quantity
# ----------------------------------------------------------------------------------------
def _resolve_mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    base = monitor.removeprefix("val_")
    try:  # metrics are logged under the name the user wrote ("acc", "auc", ...)
        base = _metric_key(base)
    except ValueError:
        pass
    return "max" if base in HIGHER_IS_BETTER else "min"


class _Monitor(Callback):
    """Shared bookkeeping: the monitored value, the best one so far, improvement test."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be the name of a logged quantity, got {monitor!r}")
        self.monitor = monitor
        self.mode = _resolve_mode(monitor, mode)
        self.min_delta = abs(check_real("min_delta", min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _current(self, logs: dict | None) -> float:
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(f"{type(self).__name__} monitors {self.monitor!r}, which fit does "
                             f"not log; logged quantities are: {', '.join(logs) or 'none'}"
                             + (" (val_* needs validation_split or validation_data)"
                                if self.monitor.startswith("val_") else ""))
        return float(logs[self.monitor])

    def _improved(self, current: float) -> bool:
        return not math.isnan(current) and self._beats(current, self.best)

    def _beats(self, current: float, reference: float) -> bool:
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def _reset_best(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf


class EarlyStopping(_Monitor):
    """Stop training when a monitored quantity has stopped improving.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs.
    min_delta : float, default 0
        Smallest change that counts as an improvement.
    patience : int, default 0
        Epochs without improvement after which training stops.
    mode : {"auto", "min", "max"}
        ``auto`` maximises accuracy-like metrics (accuracy, precision, recall, f1,
        roc_auc, r2) and minimises everything else.
    baseline : float, optional
        Training stops if the monitored value has not beaten it after ``patience`` epochs
        (improvements that stay short of the baseline do not reset the count).
    restore_best_weights : bool, default False
        At the end of training, put back the weights of the best epoch. Unlike older Keras
        versions this also happens when training runs to the last epoch without stopping
        early.
    start_from_epoch : int, default 0
        Epochs of warm-up before improvement is checked.
    verbose : int, default 0
        1 prints a line when training stops early and when the best weights are restored.

    Attributes
    ----------
    stopped_epoch : int or None
        The epoch (from 0) at which training was stopped, ``None`` if it was not.
    best_epoch : int or None
    best : float

    Examples
    --------
    >>> import fastmlp as fm
    >>> X, y = fm.datasets.make_moons(n_samples=200, noise=0.2, seed=0)
    >>> model = fm.Sequential([fm.Dense(16, activation="tanh"),
    ...                        fm.Dense(1, activation="sigmoid")], seed=0)
    >>> model.compile(optimizer=fm.optimizers.SGD(0.1), loss="binary_crossentropy")
    >>> stop = fm.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    >>> history = model.fit(X, y, epochs=500, validation_split=0.25, verbose=0,
    ...                     callbacks=[stop])
    >>> len(history.epoch) < 500
    True
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0,
                 verbose: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = check_int("patience", patience, 0)
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, 0)
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = None
        self.best_epoch = None
        self.best_weights = None
        self._reset_best()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = self._current(logs)
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Something to restore even if nothing beats the baseline.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(current):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._beats(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch is not None and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping "
                  f"({self.monitor} best {self.best:.4g} at epoch {(self.best_epoch or 0) + 1})")
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            if self.verbose:
                print(f"Restored the weights of epoch {(self.best_epoch or 0) + 1}")


class ModelCheckpoint(_Monitor):
    """Save the model whenever the monitored quantity improves (best-only by default).

    Parameters
    ----------
    filepath : str or os.PathLike
        Where to save (with :meth:`.Sequential.save`). May contain ``str.format`` fields
        filled from the epoch (counting from 1) and the logs, e.g.
        ``"model-{epoch:03d}-{val_loss:.3f}.fmlp"``.
    monitor : str, default "val_loss"
        A key of the epoch logs.
    save_best_only : bool, default True
        Save only when ``monitor`` improves (Keras' default is False); with False, save
        after every epoch.
    mode : {"auto", "min", "max"}
    min_delta : float, default 0
        Smallest change that counts as an improvement.
    verbose : int, default 0
        1 prints a line for every save.

    Attributes
    ----------
    best : float
    last_saved : str or None
        The path written last.

    Examples
    --------
    >>> import fastmlp as fm
    >>> ckpt = fm.callbacks.ModelCheckpoint("best.fmlp", monitor="val_accuracy")
    >>> ckpt.mode
    'max'
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss",
                 save_best_only: bool = True, mode: str = "auto", min_delta: float = 0.0,
                 verbose: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        self.filepath = os.fspath(filepath)
        self.save_best_only = bool(save_best_only)
        self.verbose = verbose
        self.last_saved: str | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset_best()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.save_best_only:
            current = self._current(logs)
            if not self._improved(current):
                return
            self.best = current
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint filepath {self.filepath!r} could not be "
                             f"filled from epoch and logs ({', '.join(logs)}): {exc}") from None
        self.model.save(path)
        self.last_saved = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {path}")


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when the monitored quantity stalls.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs.
    factor : float, default 0.1
        New rate = rate * factor, ``0 < factor < 1``.
    patience : int, default 10
        Epochs without improvement before the rate is reduced.
    mode : {"auto", "min", "max"}
    min_delta : float, default 1e-4
        Smallest change that counts as an improvement.
    cooldown : int, default 0
        Epochs to wait after a reduction before counting again.
    min_lr : float, default 0
        The rate never goes below this.
    verbose : int, default 0
        1 prints a line for every reduction.

    Attributes
    ----------
    reductions : list of (int, float)
        ``(epoch, new learning rate)`` for each reduction.

    Examples
    --------
    >>> import fastmlp as fm
    >>> fm.callbacks.ReduceLROnPlateau(factor=0.5, patience=2).factor
    0.5
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0, verbose: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        self.factor = check_real("factor", factor, OPEN_FRACTION)
        self.patience = check_int("patience", patience, 0)
        self.cooldown = check_int("cooldown", cooldown, 0)
        self.min_lr = check_real("min_lr", min_lr, NON_NEGATIVE)
        self.verbose = verbose
        self.wait = 0
        self.cooldown_counter = 0
        self.reductions: list[tuple[int, float]] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        lr = getattr(self.model.optimizer, "learning_rate", None)
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            raise TypeError("ReduceLROnPlateau needs an optimizer with a constant numeric "
                            f"learning_rate, got {lr!r} (drop the schedule or the callback)")
        self.wait = 0
        self.cooldown_counter = 0
        self._reset_best()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = self._current(logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            optimizer = self.model.optimizer
            old = float(optimizer.learning_rate)
            new = max(old * self.factor, self.min_lr)
            if new < old:
                optimizer.learning_rate = new
                self.reductions.append((epoch, new))
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reduced the learning rate "
                          f"to {new:.4g}")
                self.cooldown_counter = self.cooldown
                self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training at the end of an epoch whose loss or validation loss is NaN or
    infinite.

    ``fit`` already stops by itself (raising :class:`fastmlp.TrainingDivergedError`, or
    warning with ``on_divergence="warn"``) when a training batch's loss stops being
    finite; this callback adds the validation loss and ends training quietly.

    Attributes
    ----------
    stopped_epoch : int or None

    Examples
    --------
    >>> import fastmlp as fm
    >>> cb = fm.callbacks.TerminateOnNaN()
    >>> cb.stopped_epoch is None
    True
    """

    def __init__(self) -> None:
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.stopped_epoch = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key in ("loss", "val_loss"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                warnings.warn(f"epoch {epoch + 1}: {key} is {value}; terminating training",
                              RuntimeWarning, stacklevel=2)
                self.stopped_epoch = epoch
                self.model.stop_training = True
                return


class LambdaCallback(Callback):
    """A callback from plain functions, for one-off hooks.

    Parameters
    ----------
    on_epoch_begin, on_epoch_end : callable(epoch, logs), optional
        Called as :meth:`Callback.on_epoch_begin` / :meth:`Callback.on_epoch_end` are.
    on_train_begin, on_train_end : callable(logs), optional
        Called once before the first and after the last epoch, with ``{}`` for logs.

    Examples
    --------
    >>> import fastmlp as fm
    >>> losses = []
    >>> record = fm.callbacks.LambdaCallback(
    ...     on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    """

    def __init__(self, on_epoch_begin: Callable[[int, dict], Any] | None = None,
                 on_epoch_end: Callable[[int, dict], Any] | None = None,
                 on_train_begin: Callable[[dict], Any] | None = None,
                 on_train_end: Callable[[dict], Any] | None = None) -> None:
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self._epoch_begin = on_epoch_begin
        self._epoch_end = on_epoch_end
        self._train_begin = on_train_begin
        self._train_end = on_train_end

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self._epoch_begin is not None:
            self._epoch_begin(epoch, logs if logs is not None else {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._epoch_end is not None:
            self._epoch_end(epoch, logs if logs is not None else {})

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self._train_begin is not None:
            self._train_begin(logs if logs is not None else {})

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._train_end is not None:
            self._train_end(logs if logs is not None else {})


class CSVLogger(Callback):
    """Write every epoch's logs to a CSV file, as ``keras.callbacks.CSVLogger``.

    The first row is ``epoch`` and the sorted log keys; then one row per epoch (``epoch``
    counting from 0), flushed at once so the file can be watched during training.

    Parameters
    ----------
    filename : str or os.PathLike
        The CSV file; opened when training begins, closed when it ends.
    separator : str, default ","
        One character.
    append : bool, default False
        Add to an existing file (without repeating its header) instead of replacing it.

    Examples
    --------
    >>> import os, tempfile, fastmlp as fm
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> X, y = fm.datasets.make_xor(n_samples=20, seed=0)
    >>> model = fm.Sequential([fm.Dense(4, activation="tanh"),
    ...                        fm.Dense(1, activation="sigmoid")], seed=0)
    >>> model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    >>> _ = model.fit(X, y, epochs=2, verbose=0, callbacks=[fm.callbacks.CSVLogger(path)])
    >>> with open(path) as log:
    ...     log.readline().strip()
    'epoch,accuracy,loss'
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character, got {separator!r}")
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = check_flag("append", append)
        self.keys: list[str] | None = None
        self._file: Any = None
        self._writer: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        import csv

        has_rows = (self.append and os.path.exists(self.filename)
                    and os.path.getsize(self.filename) > 0)
        self._file = open(self.filename, "a" if self.append else "w",  # closed in on_train_end
                          newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, delimiter=self.separator)
        self.keys = None
        self._header_written = has_rows

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self._file is None:
            raise RuntimeError("CSVLogger.on_epoch_end before on_train_begin")
        if self.keys is None:
            self.keys = sorted(logs)
            if not self._header_written:
                self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


# ----------------------------------------------------------------------------------------
# progress display (used by Sequential.fit)
# ----------------------------------------------------------------------------------------
#: Shorter names for the progress bar when the full ones do not fit the terminal.
_SHORT_NAMES = {"accuracy": "acc", "binary_accuracy": "acc", "mean_absolute_error": "mae",
                "mean_squared_error": "mse", "precision": "prec", "recall": "rec"}


def _format_value(value: float) -> str:
    """A loss or metric in at most about ten characters: four decimals for ordinary
    sizes, four significant digits with an exponent otherwise (``1.2e+270``, not 270
    digits)."""
    value = float(value)
    if value == 0 or (math.isfinite(value) and 1e-4 <= abs(value) < 1e5):
        return f"{value:.4f}"
    return f"{value:.4g}"


def _epoch_line(epoch: int, epochs: int, seconds: float, logs: dict) -> str:
    """The one line per epoch of ``verbose=2``."""
    text = " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items())
    return f"Epoch {epoch + 1}/{epochs} - {seconds:.2f}s - {text}"


def _logs_text(logs: dict, short: bool = False, only_loss: bool = False,
               digits: int | None = None) -> str:
    items = [(k, v) for k, v in logs.items()
             if not only_loss or k == "loss" or k.startswith("val_")]
    parts = []
    for key, value in items:
        if short:
            prefix = "val_" if key.startswith("val_") else ""
            base = key[len(prefix):]
            key = prefix + _SHORT_NAMES.get(base, base)
        text = _format_value(value) if digits is None else f"{value:.{digits}g}"
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _terminal_width(stream: Any) -> int | None:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def _finish_progress_bar(bar: Any, logs: dict) -> None:
    """Show an epoch's losses and metrics on its finished bar and close it.

    The values come first: on a narrow terminal the bar, then the batch count and time,
    then long metric names give way (``val_accuracy`` -> ``val_acc``), and as a last resort
    the training metrics other than the loss, so that the validation values stay visible.
    """
    std_text = type(bar).__module__ in ("tqdm.std", "tqdm.asyncio")
    width = _terminal_width(getattr(bar, "fp", None)) if std_text else None
    if not std_text or width is None:
        bar.set_postfix_str(_logs_text(logs), refresh=False)
        bar.close()
        return
    desc = bar.desc or ""
    total = str(bar.total)
    counts = f"{total}/{total} [00:00]"   # the shape of '{n_fmt}/{total_fmt} [{elapsed}]'
    texts = [_logs_text(logs), _logs_text(logs, short=True),
             _logs_text(logs, short=True, only_loss=True),
             _logs_text(logs, short=True, only_loss=True, digits=3)]
    choice = None
    for text in texts:
        escaped = text.replace("{", "{{").replace("}", "}}")
        for fmt, fixed in ((f"{{desc}} |{{bar}}| {{n_fmt}}/{{total_fmt}} [{{elapsed}}] "
                            f"{escaped}", len(desc) + len(counts) + len(text) + 5 + 10),
                           (f"{{desc}} {{n_fmt}}/{{total_fmt}} [{{elapsed}}] {escaped}",
                            len(desc) + len(counts) + len(text) + 2),
                           (f"{{desc}} {escaped}", len(desc) + len(text) + 1)):
            if fixed < width:   # the last column stays free: writing it wraps some terminals
                choice = fmt
                break
        if choice is not None:
            break
    if choice is None:
        choice = "{desc} " + texts[-1].replace("{", "{{").replace("}", "}}")
    bar.bar_format = choice
    bar.refresh()
    bar.close()
