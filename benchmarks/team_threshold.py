"""Where team mode starts to pay: one epoch of training on the serial path (one thread in
the engine, BLAS's own threads for the products) and in team mode, over networks and
batch sizes of growing size, with the multiply-adds of one batch (``rows x weights``) the
engine compares with its threshold (``_engine.testing.set_team_thresholds``), and networks whose
first layer runs in column mode at small batches (``Engine._team_size``).

    python benchmarks/team_threshold.py            # prints one line per setting

Medians of interleaved measurements; ``team/serial`` below 1 means team mode is faster.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastmlp as fm
from fastmlp.backend import _engine

SETTINGS = [  # (input, hidden width, batch size)
    (32, 16, 8), (32, 32, 16), (32, 64, 32), (64, 64, 64), (64, 128, 32),
    (128, 128, 64), (128, 256, 64), (256, 256, 64), (256, 256, 128), (784, 256, 128),
    # the first layer in column mode (>= 2^17 weights, no fewer units than rows)
    (784, 256, 1), (784, 256, 8), (784, 256, 32), (784, 256, 64), (512, 512, 32),
]


def epoch_seconds(d: int, width: int, batch: int, team: bool, repeats: int) -> list[float]:
    rng = np.random.default_rng(0)
    n = max(40 * batch, 2048)
    X = rng.normal(size=(n, d)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, size=n)]
    model = fm.Sequential([fm.Dense(width, activation="relu", input_dim=d),
                           fm.Dense(width, activation="relu"),
                           fm.Dense(10, activation="softmax")], seed=0, dtype="float32")
    model.compile(fm.optimizers.Adam(1e-3), "categorical_crossentropy")
    saved = _engine.testing.set_team_thresholds(min_work=0 if team else 2**62, min_rows=0)
    try:
        model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
            times.append((time.perf_counter() - start) / (n // batch))
    finally:
        _engine.testing.set_team_thresholds(*saved)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    fm.set_num_threads(args.threads)
    print(f"{'network':>18} {'batch':>5} {'MACs/batch':>11} {'serial':>9} {'team':>9} "
          f"{'team/serial':>11}")
    for d, width, batch in SETTINGS:
        serial, team = [], []
        for _ in range(args.repeats):   # interleaved: a noisy phase hits both alike
            serial += epoch_seconds(d, width, batch, False, 1)
            team += epoch_seconds(d, width, batch, True, 1)
        work = batch * (d * width + width * width + width * 10)
        s, t = statistics.median(serial), statistics.median(team)
        print(f"{f'{d}-{width}-{width}-10':>18} {batch:>5} {work:>11,} {s * 1e6:>7.1f}us "
              f"{t * 1e6:>7.1f}us {t / s:>11.2f}")


if __name__ == "__main__":
    main()
