"""Guards around a training run: Ctrl-C only at safe points, compiled calls of bounded
length, and roll-back to the last finite state when training diverges.

:class:`Sequential.fit <fastmlp.Sequential>` runs each epoch through an
:class:`EpochRunner` inside an :class:`InterruptGuard`:

* The runner hands the engine chunks of mini-batches sized so that one compiled call
  takes about :data:`CHUNK_SECONDS` (the size adapts to the measured time), so progress,
  callbacks and Ctrl-C get through promptly whatever the network and batch size.
* The guard defers SIGINT while weights are being updated and raises the
  ``KeyboardInterrupt`` between chunks, when the weights and the optimizer state are
  those after the last completed step (the NumPy backend updates arrays one by one in
  Python, so an interrupt arriving anywhere could otherwise leave a step half applied).
  A second Ctrl-C before the first is handled is delivered at once.
* The runner keeps a copy of the weights and optimizer state from the start of the epoch
  (refreshed between chunks while the copy is cheap next to the training time). When a
  batch's loss is not finite, or the weights or optimizer state stop being finite even
  though the loss still was (an update can overflow to ``inf`` while the next loss is
  still finite, e.g. behind a relu), it restores that copy and replays the batches one at
  a time up to the first one that fails, so the model ends with the state of the last
  step after which everything was finite. Replaying is exact: training is deterministic
  given the state and the epoch's row order.
"""
from __future__ import annotations

import functools
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import _load_compiled
from .backend._contract import checks_state, fp_quiet

# The signal module's C core: its getsignal and signal take and return plain ints where
# ``signal``'s wrappers convert to and from enums, most of a short fit's guard time.
_signal: Any = getattr(signal, "_signal", signal)
_SIGINT = int(signal.SIGINT)

# one C call per check or copy of the whole state (see _engine.pyx); None when the
# extension is not built or not usable here
_compiled = _load_compiled()
_all_finite_c = getattr(_compiled, "all_finite", None)
_copy_arrays_c = getattr(_compiled, "copy_arrays", None)

#: Target duration of one compiled training call (seconds).
CHUNK_SECONDS = 0.1
#: Batches in the first call of a fit, at most (the size then adapts to the measured time).
FIRST_CHUNK_MAX = 256
#: A snapshot is refreshed between chunks only once this many times its copy time has
#: passed since the previous one, so copying costs at most ~0.5% of training time (a
#: roll-back then replays at most that much training).
SNAPSHOT_RATIO = 200.0


class InterruptGuard:
    """Context manager deferring SIGINT to :meth:`check` calls (main thread only).

    Inside the block the first SIGINT is recorded instead of raising; :meth:`check`
    delivers it (the previous handler runs, by default raising ``KeyboardInterrupt``).
    A second SIGINT before that is delivered immediately. Leaving the block restores the
    previous handler and delivers a pending signal. Outside the main thread, or when
    SIGINT is not handled by a Python function, the guard does nothing.

    Examples
    --------
    >>> with InterruptGuard() as guard:
    ...     guard.check()   # raises KeyboardInterrupt here if Ctrl-C was pressed
    """

    def __init__(self) -> None:
        self.pending: tuple[int, Any] | None = None
        self._previous: Callable | None = None
        self._handler = self._handle

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            previous = _signal.getsignal(_SIGINT)
            if callable(previous):
                self._previous = previous
                _signal.signal(_SIGINT, self._handler)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.pending is not None:  # pressed twice: deliver now
            self.pending = None
            assert self._previous is not None, "the handler is installed with it"
            self._previous(signum, frame)
            return
        self.pending = (signum, frame)

    def check(self) -> None:
        """Deliver a deferred SIGINT, if any (normally raising ``KeyboardInterrupt``)."""
        if self.pending is not None:
            signum, frame = self.pending
            self.pending = None
            assert self._previous is not None, "pending is set by the installed handler"
            self._previous(signum, frame)

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            if _signal.getsignal(_SIGINT) is self._handler:
                _signal.signal(_SIGINT, self._previous)
            self.check()


@dataclass
class Divergence:
    """Where training diverged: ``batch`` (0-based, in the epoch), the batch's loss, and
    ``cause``: ``"loss"`` (the loss was not finite; that batch's update was not applied)
    or ``"weights"`` (the batch's update made a weight or optimizer state non-finite; it
    was undone)."""

    batch: int
    loss: float
    cause: str


class EpochRunner:
    """Runs epochs of ``engine.train`` in time-bounded chunks with divergence roll-back.

    Parameters
    ----------
    engine
        A backend engine (see :mod:`fastmlp.backend._contract`).
    params : list of ndarray
        The model's parameters (updated in place by the engine).
    optimizer : Optimizer
        Its ``slots`` and ``scalars`` are part of the state that is saved and restored.
    first_chunk : int
        Batches in the first call (capped at :data:`FIRST_CHUNK_MAX`).
    max_chunk : int, optional
        Batches in one call, at most (e.g. to bound the dropout masks a call needs).
    buffers : dict, optional
        Where the snapshot arrays are kept between runners (the model's): a fit of one
        epoch after another then reuses them instead of allocating (and page-faulting)
        a copy of the whole state every time. The chunk size measured for an engine and a
        batch size is kept there too, so the next fit starts from it instead of growing
        again from ``first_chunk`` through several short calls.
    """

    def __init__(self, engine: Any, params: list[np.ndarray], optimizer: Any,
                 first_chunk: int, max_chunk: int | None = None,
                 buffers: dict | None = None) -> None:
        self.engine = engine
        self._checks_state = checks_state(engine)
        self.state = [*params, *(s for slot in optimizer.slots for s in slot),
                      optimizer.scalars]
        if not self._finite():
            raise ValueError("the model's weights or optimizer state are not finite; "
                             "rebuild the model or set finite weights with set_weights")
        self.max_chunk = max(1, int(max_chunk)) if max_chunk is not None else None
        self.chunk = max(1, min(int(first_chunk), FIRST_CHUNK_MAX,
                                self.max_chunk or FIRST_CHUNK_MAX))
        self._extras: Callable[[int, int], dict[str, Any]] | None = None
        key = tuple((a.shape, a.dtype.str) for a in self.state)
        snapshot = buffers.get(key) if buffers is not None else None
        if snapshot is None:
            snapshot = [np.empty_like(a) for a in self.state]
            if buffers is not None:
                buffers.clear()
                buffers[key] = snapshot
        self._snapshot = snapshot
        self._buffers = buffers
        self._scratch: list[np.ndarray] | None = None
        self._copy_seconds = 0.0
        self._losses = np.empty(0, dtype=np.float64)

    # -- state --------------------------------------------------------------------------
    def _finite(self) -> bool:
        """Whether every weight and optimizer state value is finite."""
        if _all_finite_c is not None:
            return _all_finite_c(self.state)
        return all(np.isfinite(a).all() for a in self.state)

    def _save(self, into: list[np.ndarray]) -> None:
        if _copy_arrays_c is not None:
            _copy_arrays_c(into, self.state)
            return
        for dst, src in zip(into, self.state):
            dst[...] = src

    def _load(self, source: list[np.ndarray]) -> None:
        if _copy_arrays_c is not None:
            _copy_arrays_c(self.state, source)
            return
        for dst, src in zip(self.state, source):
            dst[...] = src

    def _take_snapshot(self) -> None:
        start = time.perf_counter()
        self._save(self._snapshot)
        self._copy_seconds = time.perf_counter() - start

    # -- one epoch ----------------------------------------------------------------------
    def run_epoch(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, batch_size: int,
                  guard: InterruptGuard,
                  progress: Callable[[int], None] | None = None,
                  extras: Callable[[int, int], dict[str, Any]] | None = None,
                  group: int | None = None,
                  before: Callable[[int], None] | None = None,
                  after: Callable[[int, float], bool] | None = None
                  ) -> tuple[float, Divergence | None]:
        """Train one epoch over the rows in ``order``.

        ``extras(first, stop)``, when given, returns the further keyword arguments of
        ``engine.train`` for batches ``first..stop-1`` (sample weights, dropout masks); it
        must depend only on its arguments, since a roll-back replays batches with it.

        With ``group``, batches run in groups of that many (the last one may be shorter),
        each in calls of at most ``min(group, max_chunk)`` batches: ``before(first batch)``
        runs before each group, ``after(last batch, mean loss so far)`` after it, and a
        true return value from ``after`` ends the epoch there (per-batch callbacks).

        Returns ``(mean loss over the rows, None)``, or ``(nan, Divergence)`` after rolling
        back to the last finite state. ``guard.check()`` runs before every chunk.
        """
        n = X.shape[0]
        n_batches = -(-n // batch_size)
        self._extras = extras
        if group is not None:
            self.chunk = min(group, self.max_chunk or group)
        chunk_key = ("chunk", type(self.engine).__name__, id(self.engine), batch_size)
        if group is None and self._buffers is not None and chunk_key in self._buffers:
            self.chunk = self._buffers[chunk_key]
            if self.max_chunk is not None:
                self.chunk = min(self.chunk, self.max_chunk)
        losses = self._losses
        if losses.shape[0] != n_batches:
            losses = self._losses = np.empty(n_batches, dtype=np.float64)
        self._take_snapshot()
        snap_batch, snap_time = 0, time.perf_counter()
        b = 0
        while b < n_batches:
            guard.check()
            if b > snap_batch:
                now = time.perf_counter()
                if now - snap_time >= SNAPSHOT_RATIO * self._copy_seconds:
                    self._take_snapshot()
                    snap_batch, snap_time = b, now
            stop = min(b + self.chunk, n_batches)
            if group is not None:
                stop = min(stop, (b // group + 1) * group)
                if before is not None and b % group == 0:
                    before(b)
            out = losses if b == 0 and stop == n_batches else losses[b:stop]
            start = time.perf_counter()
            kwargs = extras(b, stop) if extras is not None else {}
            with fp_quiet(self.engine):   # divergence is reported by the runner
                done = self.engine.train(X, Y, order, batch_size, b, stop, out, **kwargs)
            if group is None:
                self._adapt(stop - b, time.perf_counter() - start)
            if self._checks_state:      # the engine stops at a non-finite update itself
                state_ok = self.engine.state_finite
            else:
                state_ok = done < stop - b or self._finite()
            if done < stop - b or not state_ok:
                # the batch that failed: its loss (not applied, not counted in done), or
                # its update (applied and counted)
                last = b + done if state_ok else b + done - 1
                return math.nan, self._roll_back(X, Y, order, batch_size, snap_batch, last)
            if progress is not None:
                progress(done)
            b = stop
            if after is not None and (b % group == 0 or b == n_batches):
                so_far = _mean_loss(losses[:b], batch_size, min(n, b * batch_size))
                if after(b - 1, so_far):
                    return so_far, None
        if self._buffers is not None and group is None:
            self._buffers[chunk_key] = self.chunk
        return _mean_loss(losses, batch_size, n), None

    def _adapt(self, batches: int, seconds: float) -> None:
        """Size the next call to take about CHUNK_SECONDS (growing at most 4x per call)."""
        if seconds * 4 <= CHUNK_SECONDS:  # (a call cut short by the epoch's end keeps
            self.chunk = max(self.chunk, 4 * batches)  # the size measured before)
        else:
            self.chunk = int(batches * CHUNK_SECONDS / seconds) or 1
        if self.max_chunk is not None:
            self.chunk = min(self.chunk, self.max_chunk)

    def _roll_back(self, X, Y, order, batch_size: int, first: int, last: int) -> Divergence:
        """Restore the snapshot (taken before batch ``first``) and replay batches one by one
        up to ``last``, stopping before the first whose loss or update is not finite."""
        if self._scratch is None:
            self._scratch = [np.empty_like(a) for a in self.state]
        self._load(self._snapshot)
        loss = np.empty(1, dtype=np.float64)
        for b in range(first, last + 1):
            self._save(self._scratch)
            kwargs = self._extras(b, b + 1) if self._extras is not None else {}
            with fp_quiet(self.engine):
                done = self.engine.train(X, Y, order, batch_size, b, b + 1, loss, **kwargs)
            if done == 0:
                return Divergence(b, float(loss[0]), "loss")
            if not self._finite():
                self._load(self._scratch)
                return Divergence(b, float(loss[0]), "weights")
        # Not reproduced (should not happen: training is deterministic). The state is the
        # replayed, finite one; report the batch where the failure was seen.
        return Divergence(last, float(loss[0]), "weights")


def _mean_loss(losses: np.ndarray, batch_size: int, rows: int) -> float:
    """The mean loss over ``rows`` rows from the mean losses of their consecutive batches
    of ``batch_size`` (the last one possibly short)."""
    short = losses.shape[0] * batch_size - rows   # rows missing from the last batch
    total = float(losses.sum()) * batch_size
    if short:
        total -= float(losses[-1]) * short
    return total / rows


def exclusive_fit(method: Callable) -> Callable:
    """Decorate ``Sequential.fit``: one fit per model at a time. A second call (from
    another thread, or from a callback of the running fit) raises ``RuntimeError`` at once
    instead of training the same arrays concurrently. Sets ``model._training`` meanwhile.
    """

    @functools.wraps(method)
    def fit(self, *args: Any, **kwargs: Any) -> Any:
        if not self._fit_lock.acquire(blocking=False):
            raise RuntimeError("this model is already training (fit is running in another "
                               "thread or in a callback); wait for it to finish")
        try:
            self._training = True
            return method(self, *args, **kwargs)
        finally:
            self._training = False
            self._fit_lock.release()

    return fit
