"""What a hidden activation costs: one training epoch of a small tabular network per
activation and dtype, against relu's epoch in the same dtype, and against PyTorch's epoch
for the same network when PyTorch is installed.

    python benchmarks/activations.py                      # every activation, both dtypes
    python benchmarks/activations.py --activation tanh --dtype float64 --rounds 15

The network is 20-64-64-1 (two hidden layers of the activation, a sigmoid output, binary
cross-entropy, Adam), batch 32, 10,000 rows, 2 threads. Each round times one epoch of
every setting, interleaved (a noisy phase of the machine hits them alike), after one
warm-up epoch; the table shows medians. ``x relu``: the epoch's time over relu's (1.0:
the activation costs nothing beyond relu's); ``vs PyTorch``: PyTorch's epoch over
fastmlp's (how many times faster fastmlp is).
"""
from __future__ import annotations

import argparse
import contextlib
import statistics

import numpy as np
import regimes as R

import fastmlp as fm

ACTIVATIONS = ["relu", "sigmoid", "tanh", "elu", "selu", "softplus", "silu", "mish", "gelu"]
SIZES = (20, 64, 64, 1)
ROWS, BATCH = 10_000, 32


def data(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, SIZES[0])).astype(dtype)
    return X, (X[:, 0] * X[:, 1] > 0).astype(dtype)


def fastmlp_epoch(activation: str, dtype: str):
    X, y = data(dtype)
    model = fm.Sequential([fm.Dense(SIZES[1], activation=activation, input_dim=SIZES[0]),
                           fm.Dense(SIZES[2], activation=activation),
                           fm.Dense(SIZES[3], activation="sigmoid")], dtype=dtype, seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return lambda: model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)


def torch_epoch(activation: str, dtype: str):
    import torch

    make = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
            "elu": torch.nn.ELU, "selu": torch.nn.SELU, "softplus": torch.nn.Softplus,
            "silu": torch.nn.SiLU, "mish": torch.nn.Mish, "gelu": torch.nn.GELU}[activation]
    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    net = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), make(),
                              torch.nn.Linear(SIZES[1], SIZES[2]), make(),
                              torch.nn.Linear(SIZES[2], SIZES[3])).to(tdtype)
    X_np, y_np = data(dtype)
    X, y = torch.from_numpy(X_np), torch.from_numpy(y_np).reshape(-1, 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def epoch():
        perm = torch.randperm(ROWS)
        for start in range(0, ROWS, BATCH):
            idx = perm[start:start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(X[idx]), y[idx]).backward()
            opt.step()

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", action="append", choices=ACTIVATIONS,
                        help="measure only these (repeatable; relu is always measured)")
    parser.add_argument("--dtype", action="append", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = parser.parse_args()
    R.pin_threads(R.THREADS)
    with_torch = R.has_module("torch") and not args.no_torch
    chosen = ["relu"] + [a for a in (args.activation or ACTIVATIONS) if a != "relu"]
    variants = {}
    for dtype in args.dtype or ["float32", "float64"]:
        for activation in chosen:
            variants[("fastmlp", activation, dtype)] = (fastmlp_epoch(activation, dtype),
                                                        contextlib.nullcontext)
            if with_torch:
                variants[("torch", activation, dtype)] = (torch_epoch(activation, dtype),
                                                          contextlib.nullcontext)
    times = {key: statistics.median(values)
             for key, values in R.interleaved(variants, args.rounds).items()}
    print(f"{'activation':>10} {'dtype':>8} {'fastmlp':>10} {'x relu':>7}"
          + (f" {'PyTorch':>10} {'vs PyTorch':>10}" if with_torch else ""))
    for (peer, activation, dtype), seconds in times.items():
        if peer != "fastmlp":
            continue
        line = (f"{activation:>10} {dtype:>8} {seconds * 1e3:8.1f} ms "
                f"{seconds / times[('fastmlp', 'relu', dtype)]:6.2f}x")
        if with_torch:
            theirs = times[("torch", activation, dtype)]
            line += f" {theirs * 1e3:7.1f} ms {theirs / seconds:9.2f}x"
        print(line)
    print(f"medians of {args.rounds} epochs, 2 threads; 20-64-64-1, batch {BATCH}, "
          f"{ROWS:,} rows, Adam")


if __name__ == "__main__":
    main()
