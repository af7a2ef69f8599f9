"""Callbacks: hooks ``fit`` calls at the start and end of training and of every epoch.

Subclass :class:`Callback` and override any of its ``on_*`` methods. ``self.model`` is set
before training starts; setting ``self.model.stop_training = True`` ends ``fit`` after the
current epoch.
"""
from __future__ import annotations

from typing import Any


class Callback:
    """Base class for callbacks.

    Examples
    --------
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, round(logs["loss"], 3))
    """

    model: Any = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once before the first epoch."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once after the last epoch (also when training is stopped early)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called before each epoch."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called after each epoch with its ``logs`` (``loss``, metrics, ``val_*``)."""


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

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
