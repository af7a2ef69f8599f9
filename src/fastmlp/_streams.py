"""Training on data that arrives in pieces: Python generators, :class:`fastmlp.utils.Sequence`
objects (Keras' ``PyDataset``) and memory-mapped arrays.

An epoch is cut into *blocks* of consecutive mini-batches of one size, each converted to a
contiguous in-memory array of the model's dtype (and checked) only when its turn comes, and
handed to the engine as one call series through :class:`fastmlp._guard.EpochRunner`, so the
compiled engine still runs as many batches per call as a block holds. Memory stays near one
block (about :data:`BLOCK_BYTES` of features) whatever the data's size.

* A memory-mapped array (``numpy.memmap``, or any array with ``steps_per_epoch``) is read
  by rows in the epoch's shuffled order, as ``fit`` orders an in-memory array, so both
  train bit for bit alike. The pages read are released from the process after each block.
* A ``Sequence`` gives batches by index (``seq[i] -> (x, y)`` or ``(x, y, sample_weight)``;
  the batch order is shuffled each epoch when ``shuffle=True``) and its ``on_epoch_end``
  runs after every epoch; a generator gives batches in its own order until
  ``steps_per_epoch`` batches or its end.
"""
from __future__ import annotations

import inspect
import mmap
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._validation import as_features, as_sample_weight

#: Feature bytes of one block, at most (a block holds at least one batch).
BLOCK_BYTES = 8 << 20
#: Rows of a memory map gathered between two releases of its pages when its file cannot
#: be read directly: each row read at random maps the pages around it too (up to a large
#: folio of the page cache), so a block's rows are read in pieces.
GATHER_ROWS = 16


def is_stream(x: Any) -> bool:
    """Whether ``x`` is a generator, an iterator or a ``Sequence``-like object (``len`` and
    indexing, and not array-like)."""
    if isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)) or hasattr(x, "__array__"):
        return False
    if inspect.isgenerator(x) or (hasattr(x, "__next__") and hasattr(x, "__iter__")):
        return True
    return hasattr(x, "__len__") and hasattr(x, "__getitem__") and not hasattr(x, "shape")


def is_sequence(x: Any) -> bool:
    return is_stream(x) and hasattr(x, "__len__") and hasattr(x, "__getitem__")


def unpack_batch(batch: Any, where: str) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight or None)`` from a batch tuple, or a clear error."""
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError(f"{where} must be a tuple (x, y) or (x, y, sample_weight), got "
                         f"{type(batch).__name__}"
                         + (f" of length {len(batch)}" if isinstance(batch, (tuple, list))
                            else ""))
    return batch[0], batch[1], batch[2] if len(batch) == 3 else None


def _release(arr: np.ndarray) -> None:
    """Drop the pages of a memory map from this process (they stay in the page cache), so
    reading a file larger than memory does not grow the resident set."""
    base: Any = arr
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "_mmap", None) or getattr(base, "base", None)
    if isinstance(base, mmap.mmap) and hasattr(base, "madvise"):
        try:
            base.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError, AttributeError):
            pass


class Stream:
    """One ``fit``'s source of blocks. ``blocks(epoch)`` yields
    ``(X, Y, W, batch_size, raw_y)`` for the epoch: contiguous arrays of whole batches of
    ``batch_size`` rows (the last batch of a block may be shorter)."""

    def __init__(self, model: Any, x: Any, y: Any, sample_weight: Any, batch_size: int | None,
                 steps_per_epoch: int | None, shuffle: bool) -> None:
        self.model = model
        self.shuffle = shuffle
        self.steps = steps_per_epoch
        self.exhausted = False
        self._pending: list[Any] = []
        if is_stream(x):
            if y is not None or sample_weight is not None:
                raise ValueError("with a generator or Sequence x, give y and sample_weight "
                                 "inside its batches (x, y[, sample_weight]), not to fit")
            self.kind = "sequence" if is_sequence(x) else "generator"
            self.source = x
            if self.kind == "sequence":
                if len(x) < 1:
                    raise ValueError("the Sequence is empty (len 0)")
                first = x[0]
            else:
                self._iter = iter(x)
                try:
                    first = next(self._iter)
                except StopIteration:
                    raise ValueError("the generator gave no batch") from None
                self._pending.append(first)
            bx, _, _ = unpack_batch(first, "a batch")
            self.n_features = _columns(bx)
            self.n_batches = (min(steps_per_epoch, len(x)) if self.kind == "sequence"
                              and steps_per_epoch else len(x) if self.kind == "sequence"
                              else steps_per_epoch)
        else:  # an array read in row blocks (memory-mapped, or with steps_per_epoch)
            self.kind = "array"
            if y is None:
                raise ValueError("fit needs y with an array x")
            if not hasattr(x, "shape") or len(x.shape) != 2:
                raise ValueError(f"X must be 2-D (n_samples, n_features), got shape "
                                 f"{getattr(x, 'shape', None)}")
            if x.shape[0] == 0 or x.shape[1] == 0:
                raise ValueError(f"X is empty (shape {x.shape})")
            if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
                raise TypeError(f"X must hold numbers, got dtype {x.dtype}")
            n = x.shape[0]
            if len(y) != n:
                raise ValueError(f"X has {n} rows but y has {len(y)}")
            self.X, self.n_features = x, x.shape[1]
            self._file = _file_rows(x)
            # targets and weights are small next to X: converted once, checked as usual
            self.Y = model._targets(np.asarray(y), n)
            self.W = as_sample_weight(sample_weight, None, y, model.loss, model.output_dim,
                                      n, model.dtype)
            bs = n if batch_size is None or batch_size > n else batch_size
            self.batch_size = bs
            total = -(-n // bs)
            self.n_batches = min(total, steps_per_epoch) if steps_per_epoch else total
        self.batch_size_hint = batch_size

    # -- blocks ----------------------------------------------------------------------------
    def block_batches(self, batch_size: int, group: int | None) -> int:
        per_batch = max(1, batch_size * self.n_features * self.model.dtype.itemsize)
        k = max(1, BLOCK_BYTES // per_batch)
        if group is not None:
            k = max(group, k // group * group)
        return k

    def blocks(self, group: int | None) -> Iterator[tuple]:
        if self.kind == "array":
            yield from self._array_blocks(group)
        else:
            yield from self._batch_blocks(group)

    def _array_blocks(self, group: int | None) -> Iterator[tuple]:
        model, n, bs = self.model, self.X.shape[0], self.batch_size
        n_batches = self.n_batches
        assert n_batches is not None, "an array source knows its batches"
        order = (model.rng.permutation(n) if self.shuffle else np.arange(n)).astype(np.intp)
        self.epoch_seed = model._epoch_seed()
        k = self.block_batches(bs, group)
        for first in range(0, n_batches, k):
            stop = min(first + k, n_batches)
            rows = order[first * bs:min(stop * bs, n)]
            # (a copy-on-write map would lose its edits if its pages were released)
            mapped = getattr(self.X, "mode", None) in ("r", "r+", "readonly", "readwrite")
            if self._file is not None:
                block = _read_rows(self._file, rows, self.n_features, self.X.dtype)
            elif not self.shuffle:
                block = self.X[first * bs:min(stop * bs, n)]
            elif mapped:
                block = np.empty((rows.shape[0], self.n_features), dtype=self.X.dtype)
                for i in range(0, rows.shape[0], GATHER_ROWS):
                    block[i:i + GATHER_ROWS] = self.X[rows[i:i + GATHER_ROWS]]
                    _release(self.X)
            else:
                block = self.X[rows]
            X = as_features(block, model.dtype, model.input_dim)
            if mapped:
                _release(self.X)
            W = None if self.W is None else np.ascontiguousarray(self.W[rows])
            yield X, np.ascontiguousarray(self.Y[rows]), W, bs, None

    def _next_batch(self, index: int, order: np.ndarray) -> Any:
        if self.kind == "sequence":
            return self.source[int(order[index])]
        if self._pending:
            return self._pending.pop(0)
        return next(self._iter)

    def _batch_blocks(self, group: int | None) -> Iterator[tuple]:
        model = self.model
        self.epoch_seed = None
        if self.kind == "sequence":
            count = len(self.source)
            order = model.rng.permutation(count) if self.shuffle else np.arange(count)
        else:
            order = np.empty(0, dtype=np.intp)
        self.epoch_seed = model._epoch_seed()
        limit = self.n_batches
        index = 0
        held: list[tuple] = []   # converted batches of one size waiting for their block
        k = None
        while limit is None or index < limit:
            try:
                batch = self._next_batch(index, order)
            except (StopIteration, IndexError):
                self.exhausted = True
                break
            bx, by, bw = unpack_batch(batch, f"batch {index}")
            X = as_features(bx, model.dtype, model.input_dim, f"x of batch {index}")
            Y = model._targets(by, X.shape[0], f"y of batch {index}")
            W = as_sample_weight(bw, None, by, model.loss, model.output_dim, X.shape[0],
                                 model.dtype, f"sample_weight of batch {index}")
            # a block holds batches of one size, the last one possibly shorter
            if held and (X.shape[0] > held[0][0].shape[0]
                         or (W is None) != (held[0][2] is None)):
                yield self._join(held)
                held = []
            held.append((X, Y, W))
            index += 1
            if k is None:
                k = self.block_batches(X.shape[0], group)
            if len(held) >= k or X.shape[0] < held[0][0].shape[0]:
                yield self._join(held)
                held = []
        if held:
            yield self._join(held)
        if self.kind == "sequence" and hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()

    @staticmethod
    def _join(held: list[tuple]) -> tuple:
        bs = held[0][0].shape[0]
        if len(held) == 1:
            X, Y, W = held[0]
        else:
            X = np.concatenate([h[0] for h in held])
            Y = np.concatenate([h[1] for h in held])
            W = None if held[0][2] is None else np.concatenate([h[2] for h in held])
        return X, Y, W, bs, None


def _file_rows(x: Any) -> tuple[str, int, int] | None:
    """``(file name, byte position of row 0, bytes per row)`` of a read-only or shared
    ``numpy.memmap`` with C-ordered rows, so its rows can be read from the file without
    mapping its pages into the process; ``None`` for anything else."""
    mm = getattr(x, "_mmap", None)
    if (not hasattr(os, "preadv") or not isinstance(x, np.memmap)
            or not isinstance(mm, mmap.mmap)
            or getattr(x, "filename", None) is None or x.mode not in ("r", "r+")
            or x.strides != (x.shape[1] * x.itemsize, x.itemsize)
            or not x.dtype.isnative):
        return None
    start = x.offset - x.offset % mmap.ALLOCATIONGRANULARITY   # where the map begins
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    return str(x.filename), start + (x.ctypes.data - base), x.strides[0]


def _read_rows(file: tuple[str, int, int], rows: np.ndarray, n_features: int,
               dtype: np.dtype) -> np.ndarray:
    """Rows ``rows`` of a file laid out as :func:`_file_rows` says, in that order, read
    with ``preadv`` in file order (consecutive rows in one call)."""
    name, pos0, row_bytes = file
    out = np.empty((rows.shape[0], n_features), dtype=dtype)
    view = out.data.cast("B")
    fd = os.open(name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        if rows.shape[0] and np.all(np.diff(rows) == 1):
            _read_exactly(fd, view, pos0 + int(rows[0]) * row_bytes)
        else:
            for i, r in zip(np.argsort(rows, kind="stable").tolist(),
                            np.sort(rows, kind="stable").tolist()):
                _read_exactly(fd, view[i * row_bytes:(i + 1) * row_bytes],
                              pos0 + r * row_bytes)
    finally:
        os.close(fd)
    return out


def _read_exactly(fd: int, view: memoryview, position: int) -> None:
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], position + done)
        if got <= 0:
            raise OSError(f"the memory-mapped file ended early (at byte {position + done})")
        done += got


def as_batch_x(x: Any, index: int) -> Any:
    """A batch's ``x`` as given, after checking it is 2-D (the model checks the rest)."""
    if len(np.shape(x)) != 2:
        raise ValueError(f"x of batch {index} must be 2-D (rows, features), got shape "
                         f"{np.shape(x)}")
    return x


def _columns(x: Any) -> int:
    shape = np.shape(x)
    if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"a batch's x must be a non-empty 2-D array (rows, features), got "
                         f"shape {shape}")
    return int(shape[1])
