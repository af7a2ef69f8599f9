"""``fastmlp bench``: the compiled backend against the NumPy reference, a quick look."""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import fastmlp as fm

from ._common import _thread_limit

#: (regime, layer widths incl. input and output, output activation, batch size, rows)
_BENCH_CASES = (
    ("tiny, SGD", (2, 8, 1), "sigmoid", 1, 2000),
    ("mid, mini-batch", (32, 64, 64, 1), "sigmoid", 32, 4096),
    ("wide, large batch", (256, 512, 10), "softmax", 256, 2048),
)


#: Above this ratio of the slowest to the fastest run of a case, bench warns that the
#: machine was too busy for its medians to mean much.
_BENCH_SPREAD = 1.5


def _bench_model(backend: str, widths: Sequence[int], out_act: str, n: int,
                 dtype: str) -> tuple[Any, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, widths[0]))
    if out_act == "softmax":
        y, loss = rng.integers(0, widths[-1], size=n), "sparse_categorical_crossentropy"
    else:
        y, loss = (X[:, 0] > 0).astype(np.int64), "binary_crossentropy"
    layers = [fm.Dense(w, activation="tanh") for w in widths[1:-1]]
    layers.append(fm.Dense(widths[-1], activation=out_act))
    model = fm.Sequential(layers, seed=0, dtype=dtype, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.01), loss=loss)
    return model, X, y


def _time_epochs(backends: Sequence[str], widths: Sequence[int], out_act: str, batch: int,
                 n: int, dtype: str, repeat: int) -> dict[str, list[float]]:
    """``repeat`` epoch times per backend, the backends taking turns, so that a change of
    load on the machine falls on both."""
    models = {b: _bench_model(b, widths, out_act, n, dtype) for b in backends}
    for model, X, y in models.values():
        model.fit(X, y, epochs=1, batch_size=batch, verbose=0)  # warm-up: build, allocate
    times: dict[str, list[float]] = {b: [] for b in backends}
    for _ in range(repeat):
        for b, (model, X, y) in models.items():
            t0 = time.perf_counter()
            model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
            times[b].append(time.perf_counter() - t0)
    return times


def _milliseconds(seconds: float) -> str:
    """Milliseconds with two decimals below 10 ms, one from there on (0.94, 12.3, 156.5)."""
    ms = 1000 * seconds
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def _spread(values: Sequence[float]) -> float:
    """The slowest run over the fastest."""
    return max(values) / min(values) if min(values) > 0 else math.inf


def run(args: argparse.Namespace) -> int:
    backends = fm.available_backends()
    both = len(backends) == 2
    if "cython" not in backends:
        print("fastmlp: warning: the compiled backend is not available; timing the NumPy "
              "reference only", file=sys.stderr)
    print(f"one training epoch, median of {args.repeat} run(s) per backend (taking turns), "
          f"{args.dtype}, backends: {', '.join(backends)}")
    header = ["case", "network", "batch", "rows", *[f"{b} ms" for b in backends]]
    if both:
        header += ["speed-up", "range"]
    table = [header]
    spreads: list[tuple[float, str]] = []
    with _thread_limit(args.threads):
        for regime, widths, out_act, batch, n in _BENCH_CASES:
            times = _time_epochs(backends, widths, out_act, batch, n, args.dtype,
                                 args.repeat)
            row = [regime, "-".join(map(str, widths)), str(batch), str(n),
                   *[_milliseconds(float(np.median(times[b]))) for b in backends]]
            spreads += [(_spread(times[b]), f"{regime} ({b})") for b in backends]
            if both:
                ratios = [nt / ct for nt, ct in zip(times["numpy"], times["cython"])]
                row.append(f"{np.median(ratios):.1f}x")
                row.append(f"{min(ratios):.1f}-{max(ratios):.1f}x")
            table.append(row)
    columns = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, columns))))
        if i == 0:
            print("  ".join("-" * w for w in columns))
    print("ms: milliseconds per epoch (median of the runs)")
    if both:
        print("speed-up: NumPy time / compiled time, the median over the runs; range: its "
              "lowest\nand highest; measured in this run on this machine")
    worst, where = max(spreads)
    if args.repeat > 1 and worst > _BENCH_SPREAD:
        print(f"fastmlp: warning: the runs of a case differed by up to {worst:.1f}x "
              f"({where}): the machine is busy, so these figures are rough; close other "
              f"programs or try --repeat {max(2 * args.repeat, 10)}", file=sys.stderr)
    return 0
