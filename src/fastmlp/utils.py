"""Utilities: :class:`Sequence`, a batch data set for ``fit`` and ``evaluate``."""
from __future__ import annotations

from typing import Any

__all__ = ["PyDataset", "Sequence"]


class Sequence:
    """Base class of a data set served in batches, as Keras' ``PyDataset``
    (``keras.utils.Sequence``): ``fit`` and ``evaluate`` take one in place of arrays.

    Subclass it and define ``__len__`` (the number of batches) and ``__getitem__(i)``
    returning batch ``i`` as ``(x, y)`` or ``(x, y, sample_weight)``, with ``x`` of shape
    ``(rows, n_features)``. Batches of an epoch should have one size, the last possibly
    smaller. ``fit(shuffle=True)`` visits the batches in a new order each epoch (drawn from
    the model's seeded generator) and calls :meth:`on_epoch_end` after every epoch. Only
    the batches in use are held in memory.

    Examples
    --------
    >>> import numpy as np, fastmlp as fm
    >>> class Batches(fm.utils.Sequence):
    ...     def __init__(self, X, y, batch_size):
    ...         self.X, self.y, self.batch_size = X, y, batch_size
    ...     def __len__(self):
    ...         return -(-len(self.X) // self.batch_size)
    ...     def __getitem__(self, i):
    ...         rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
    ...         return self.X[rows], self.y[rows]
    >>> X, y = fm.datasets.make_moons(n_samples=100, seed=0)
    >>> model = fm.Sequential([fm.Input((2,)), fm.Dense(8, activation="tanh"),
    ...                        fm.Dense(1, activation="sigmoid")], seed=0)
    >>> model.compile("adam", "binary_crossentropy")
    >>> len(model.fit(Batches(X, y, 16), epochs=2, verbose=0).history["loss"])
    2
    """

    def __len__(self) -> int:
        raise NotImplementedError("a Sequence defines __len__ (the number of batches)")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError("a Sequence defines __getitem__(i) -> (x, y)")

    def on_epoch_end(self) -> None:
        """Called after every epoch of ``fit`` (e.g. to reshuffle rows between batches)."""


#: Keras 3's name for the same thing.
PyDataset = Sequence
