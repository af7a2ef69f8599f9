"""Train on a memory-mapped float32 file larger than the memory ``fit`` may use, and report
the peak resident set size against the file's size.

Writes ``--gigabytes`` GB of float32 features (plus float32 targets, a noisy linear
function of them) under ``--dir`` in pieces, trains a small regression MLP on the
``numpy.memmap`` for one epoch with shuffling (rows gathered in the epoch's random order,
block by block), prints the figures and deletes the files. The peak RSS is the kernel's
``VmHWM`` of this process (Linux), which counts mapped file pages while they are resident.

Usage::

    python benchmarks/memmap_fit.py --gigabytes 2 --dir /tmp
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import fastmlp as fm


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()

    d = args.features
    n = int(args.gigabytes * 2**30) // (4 * d)
    x_path = os.path.join(args.dir, f"fastmlp_memmap_{os.getpid()}_X.f32")
    y_path = os.path.join(args.dir, f"fastmlp_memmap_{os.getpid()}_y.f32")
    try:
        rng = np.random.default_rng(0)
        coef = rng.normal(size=d).astype(np.float32) / np.sqrt(d)
        piece = 1 << 16
        with open(x_path, "wb") as fx, open(y_path, "wb") as fy:
            for start in range(0, n, piece):
                rows = min(piece, n - start)
                block = rng.normal(size=(rows, d)).astype(np.float32)
                block.tofile(fx)
                target = block @ coef + 0.1 * rng.normal(size=rows)
                target.astype(np.float32).tofile(fy)
        size_mb = os.path.getsize(x_path) / 2**20
        X = np.memmap(x_path, dtype=np.float32, mode="r", shape=(n, d))
        y = np.memmap(y_path, dtype=np.float32, mode="r", shape=(n,))
        before = peak_rss_mb()
        model = fm.Sequential([fm.Input((d,)), fm.Dense(32, activation="relu"), fm.Dense(1)],
                              seed=0, dtype="float32")
        model.compile(fm.optimizers.Adam(1e-3), "mse")
        start = time.perf_counter()
        history = model.fit(X, y, epochs=1, batch_size=args.batch_size, verbose=0)
        seconds = time.perf_counter() - start
        print(f"backend {fm.backend()}, {n:,} rows x {d} float32 features: file "
              f"{size_mb:,.0f} MB")
        print(f"one shuffled epoch in {seconds:.1f} s, loss {history.history['loss'][0]:.4f}")
        print(f"peak RSS {peak_rss_mb():,.0f} MB (before fit {before:,.0f} MB), "
              f"{peak_rss_mb() / size_mb:.1%} of the file")
    finally:
        for path in (x_path, y_path):
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
