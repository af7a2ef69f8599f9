"""What the output's loss costs per element: the compiled ``loss_delta`` kernel (the batch's
loss and the output layer's dZ in one call) over outputs of growing width, against the
NumPy backend's ``loss_value`` and ``loss_delta`` on the same arrays.

    python benchmarks/losses.py                                  # every width and loss
    python benchmarks/losses.py --loss binary_crossentropy --dtype float64 --rounds 15

    # whole training epochs of networks whose loss, penalty or clipping is a large part
    python benchmarks/losses.py --epochs

    # before and after a change: the same script against two builds
    PYTHONPATH=<other checkout>/src python benchmarks/losses.py --epochs

Each setting is a batch of 4,096 rows (1,024 for the widest), random logits, the
output's activation applied and targets fit for the loss, one thread. Each round times
``--calls`` calls of both implementations, interleaved; the table shows medians in
nanoseconds per element and ``NumPy / compiled`` (how many times faster the compiled
kernel is). The calls go through the kernels' test wrappers, which allocate dZ, alike.

With ``--epochs``: the median time of one training epoch (2 threads, float32; the networks
take turns round by round, each timed after one untimed epoch, ``regimes.interleaved``)
of a multi-label network (16-256, sigmoid output, binary cross-entropy,
batch 256, 4,096 rows), a 512-class one (32-512, softmax, sparse categorical
cross-entropy, batch 128), a multi-output regression (16-256, linear, MSE, batch 256),
and mnist-adam with ``l2(1e-4)`` on both hidden kernels and with ``Adam(clipnorm=1.0)``.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import time

import numpy as np
import regimes as R

import fastmlp as fm
from fastmlp.backend import _numpy

LOSSES = ["binary_crossentropy", "categorical_crossentropy", "mean_squared_error",
          "mean_absolute_error", "huber", "hinge"]
WIDTHS = [1, 2, 4, 10, 64, 256]


def arrays(loss: str, cols: int, dtype: str):
    code, out = fm.losses.LOSSES[loss]
    out_code = fm.activations.ACTIVATIONS[out or "tanh"]
    rows = 4096 if cols <= 64 else 1024
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((rows, cols)) * 2).astype(dtype)
    a = np.ascontiguousarray(_numpy.activation_forward(out_code, z))
    if loss == "categorical_crossentropy":
        y = np.eye(cols, dtype=dtype)[rng.integers(0, cols, size=rows)]
    elif loss == "hinge":
        y = rng.choice([-1.0, 1.0], size=z.shape).astype(dtype)
    else:
        y = (rng.random(z.shape) < 0.3).astype(dtype)
    return code, out_code, z, a, y


def reference(code, out_code, z, a, y):
    return _numpy.loss_value(code, z, a, y), _numpy.loss_delta(code, out_code, z, a, y)


def seconds(fn, operands: tuple, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn(*operands)
    return (time.perf_counter() - start) / calls


def epoch_networks():
    """name -> (model, X, y, batch size) of the ``--epochs`` table."""
    rng = np.random.default_rng(0)
    X16 = rng.normal(size=(4096, 16)).astype("float32")
    X32 = rng.normal(size=(4096, 32)).astype("float32")
    out = {}

    def single(units, activation, loss, optimizer="sgd", inputs=16):
        model = fm.Sequential([fm.Dense(units, activation=activation, input_dim=inputs)],
                              seed=0, dtype="float32")
        model.compile(optimizer=optimizer, loss=loss)
        return model

    out["16-256 sigmoid, binary cross-entropy, batch 256"] = (
        single(256, "sigmoid", "binary_crossentropy"), X16,
        (rng.random((4096, 256)) < 0.3).astype("float32"), 256)
    out["32-512 softmax, sparse categorical cross-entropy, batch 128"] = (
        single(512, "softmax", "sparse_categorical_crossentropy", "adam", 32), X32,
        rng.integers(0, 512, 4096), 128)
    out["16-256 linear, MSE, batch 256"] = (
        single(256, "linear", "mse"), X16, rng.normal(size=(4096, 256)).astype("float32"), 256)
    regime = R.REGIMES["mnist-adam"]
    X, labels = R.make_data(regime)
    Y = R.one_hot(labels, 10)
    for name, penalty, optimizer in (("l2(1e-4) on the hidden kernels", 1e-4, "adam"),
                                     ("Adam(clipnorm=1.0)", None,
                                      fm.optimizers.Adam(1e-3, clipnorm=1.0))):
        reg = fm.regularizers.l2(penalty) if penalty else None
        model = fm.Sequential([fm.Dense(256, activation="relu", input_dim=784,
                                        kernel_regularizer=reg),
                               fm.Dense(128, activation="relu", kernel_regularizer=reg),
                               fm.Dense(10, activation="softmax")], seed=0, dtype="float32")
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        out[f"mnist-adam with {name}"] = (model, X, Y, 128)
    return out


def epochs(rounds: int) -> None:
    R.pin_threads(2)
    variants = {name: (functools.partial(model.fit, X, y, epochs=1, batch_size=batch,
                                         verbose=0), contextlib.nullcontext)
                for name, (model, X, y, batch) in epoch_networks().items()}
    print("| network | epoch (median) |")
    print("|---|---|")
    for name, times in R.interleaved(variants, rounds).items():
        print(f"| {name} | {statistics.median(times) * 1e3:.1f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loss", choices=LOSSES, action="append",
                        help="a loss (repeatable; default: all)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--epochs", action="store_true",
                        help="time whole training epochs instead (see above)")
    args = parser.parse_args()
    if "cython" not in fm.available_backends():
        raise SystemExit("the compiled extension is not built")
    if args.epochs:
        epochs(args.rounds)
        return
    from fastmlp.backend import _kernels

    R.pin_threads(1)
    print("| loss | columns | compiled ns/element | NumPy ns/element | NumPy / compiled |")
    print("|---|---|---|---|---|")
    for loss in args.loss or LOSSES:
        for cols in WIDTHS:
            if loss == "categorical_crossentropy" and cols == 1:
                continue
            operands = arrays(loss, cols, args.dtype)
            size = operands[2].size
            times: dict[str, list[float]] = {"compiled": [], "numpy": []}
            for _ in range(args.rounds):
                for name, fn in (("compiled", _kernels.loss_delta_py), ("numpy", reference)):
                    fn(*operands)
                    times[name].append(seconds(fn, operands, args.calls) / size * 1e9)
            c, n = statistics.median(times["compiled"]), statistics.median(times["numpy"])
            print(f"| {loss} | {cols} | {c:.1f} | {n:.1f} | {n / c:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
