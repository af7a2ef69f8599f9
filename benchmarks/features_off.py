"""Cost of the optional training features (dropout, sample weights, L1/L2) when they are off.

Times ``fit`` on the compiled backend in two regimes -- a mid-size network with
mini-batches (784-256-128-10 relu, batch 128) and a tiny one with batch size 1
(2-16-16-1 tanh) -- for each given source tree (each with its extension built in place),
alternating the trees round by round in fresh processes so that background load hits
them alike, and prints medians, minima and their ratios to the first tree. With one tree
it also times the same fits with the features on.

Usage::

    python benchmarks/features_off.py --src /path/to/base/src --src src --rounds 6
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

_CHILD = r"""
import json, sys, time
import numpy as np
import fastmlp as fm

def case(sizes, act, n, bs, epochs, reps, features):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, sizes[0]))
    if sizes[-1] > 1:
        y, loss, out = rng.integers(0, sizes[-1], n), "sparse_categorical_crossentropy", "softmax"
    else:
        y, loss, out = rng.normal(size=n), "mse", "linear"
    reg = {"kernel_regularizer": fm.regularizers.l2(1e-4)} if features else {}
    layers = [fm.Dense(sizes[1], activation=act, input_dim=sizes[0], **reg)]
    for units in sizes[2:-1]:
        if features:
            layers.append(fm.Dropout(0.2))
        layers.append(fm.Dense(units, activation=act, **reg))
    layers.append(fm.Dense(sizes[-1], activation=out))
    model = fm.Sequential(layers, seed=0, backend="cython")
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=1e-3), loss=loss)
    extra = {"sample_weight": np.ones(n)} if features else {}
    model.fit(X, y, epochs=1, batch_size=bs, verbose=0, **extra)  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        model.fit(X, y, epochs=epochs, batch_size=bs, verbose=0, **extra)
        times.append(time.perf_counter() - start)
    return times

features = sys.argv[1] == "on"
print(json.dumps({"mid 784-256-128-10 b128": case((784, 256, 128, 10), "relu", 2048, 128, 1,
                                                   10, features),
                  "tiny 2-16-16-1 b1": case((2, 16, 16, 1), "tanh", 2000, 1, 2, 10,
                                            features)}))
"""


def _run(src: str, features: str) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _CHILD, features], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", action="append", default=None,
                        help="a source tree with the extension built (repeatable)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    runs = [(src, "off") for src in (args.src or ["src"])]
    if len(runs) == 1:
        runs.append((runs[0][0], "on"))
    times: dict[tuple[str, str], dict[str, list[float]]] = {}
    for _ in range(args.rounds):
        for run in runs:
            for regime, t in _run(*run).items():
                times.setdefault(run, {}).setdefault(regime, []).extend(t)
    base = times[runs[0]]
    for run in runs:
        label = f"{run[0]} (features {run[1]})"
        for regime, t in times[run].items():
            t, b = np.array(t), np.array(base[regime])
            print(f"{label:40s} {regime:24s} median {np.median(t) * 1e3:8.2f} ms  "
                  f"min {t.min() * 1e3:8.2f} ms  ratio median {np.median(t) / np.median(b):.3f}"
                  f"  min {t.min() / b.min():.3f}")


if __name__ == "__main__":
    main()
