"""mnist-adam: fastmlp's epoch against JAX's, and what each spends its time on.

    python benchmarks/profile_mnist.py                  # timings, interleaved
    python benchmarks/profile_mnist.py --hlo hlo.txt    # also JAX's optimized HLO

Times, interleaved round by round (medians, spread max/min): fastmlp's epoch at its
default threads and at one thread, the GEMM-only limit (exactly the epoch's matrix
products through fastmlp's BLAS) at both, JAX's epoch (one ``jit``, ``lax.scan``) and
JAX's products only (the same eight products per batch in a ``lax.scan``, outputs
carried so that nothing else runs). With ``--hlo`` it writes the optimized HLO of JAX's
epoch (``jax.jit(f).lower(...).compile().as_text()``) and prints the loop body's
operations: which products run as YNNPACK fusions, which as XLA's own ``dot``, and what
the elementwise fusions hold. The function-level split of fastmlp's epoch comes from
``perf record`` on an unstripped build (see RESULTS.md, "mnist-adam against JAX").
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import sys
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compare
import regimes as R

import fastmlp as fm


def jax_products(regime: R.Regime) -> R.Runner:
    """The products of one epoch in one jit: forward, weight and input gradients."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    rng = np.random.default_rng(0)
    sizes, bs, n = regime.sizes, regime.batch_size, regime.n_samples
    nb = n // bs

    def mat(*shape):
        return jnp.asarray(rng.standard_normal(shape).astype(np.float32))

    Ws = [mat(a, b) for a, b in itertools.pairwise(sizes)]
    Xs = mat(nb, bs, sizes[0])
    Ds = [mat(nb, bs, s) for s in sizes[1:]]
    acts = [mat(bs, s) for s in sizes[1:-1]]

    def epoch(Ws, acts, Xs, Ds):
        def body(carry, xs):
            X, *D = xs
            A = [X, *acts]
            out = [A[i] @ Ws[i] for i in range(len(Ws))]                   # forward
            out += [A[i].T @ D[i] for i in range(len(Ws))]                 # dW = A^T dZ
            out += [D[i] @ Ws[i].T for i in range(1, len(Ws))]             # dA = dZ W^T
            return out, None

        shapes = jax.eval_shape(lambda: body(None, (Xs[0], *(d[0] for d in Ds)))[0])
        init = [jnp.zeros(a.shape, a.dtype) for a in shapes]
        return lax.scan(body, init, (Xs, *Ds))[0]

    f = jax.jit(epoch)

    def run():
        return jax.block_until_ready(f(Ws, acts, Xs, Ds))

    return R.Runner(run, n, {"batches": nb}, R._first(run))


def hlo_summary(path: str) -> str:
    """Write JAX's optimized HLO of the mnist-adam epoch to ``path``; the loop body's
    operations, one a line, and their counts."""
    import compiled_peers as C

    regime = R.REGIMES["mnist-adam"]
    X, labels = R.make_data(regime)
    Y = R.one_hot(labels, regime.sizes[-1])
    trainer = C.JaxTrainer(R.build_model(regime, "numpy").get_weights(), regime.hidden,
                           regime.output, "adam", regime.learning_rate, regime.batch_size)
    Xd, Yd, order = trainer.put(X, Y, np.arange(X.shape[0], dtype=np.int32))
    text = trainer._epoch.lower(trainer.params, trainer.state, Xd, Yd, order).compile().as_text()
    with open(path, "w") as handle:
        handle.write(text)
    comps: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^(?:ENTRY )?%(\S+) \(", line)
        if m:
            current = comps.setdefault(m.group(1), [])
        elif current is not None and line.strip() and line != "}":
            current.append(line)
    body = re.search(r"while\(.*?body=%([\w.-]+)", text).group(1)
    lines, counts = [], Counter()
    for line in comps[body]:
        m = re.match(r"\s*(?:ROOT )?%(\S+) = (\S+) ([a-z-]+)\((.*)", line)
        if not m or m.group(3) in ("get-tuple-element", "parameter", "constant", "tuple"):
            continue
        name, shape, op, rest = m.groups()
        kind = re.search(r"kind=(\w+)", rest)
        calls = re.search(r"calls=%([\w.-]+)", rest)
        parts = re.search(r'"outer_dimension_partitions":\["(\d+)"', rest)
        inner = ""
        if calls:
            ops = [re.match(r"\s*(?:ROOT )?%\S+ = \S+ ([a-z-]+)\(", x)
                   for x in comps.get(calls.group(1), [])]
            inner = ",".join(o.group(1) for o in ops if o and o.group(1) not in
                             ("parameter", "constant", "bitcast", "broadcast"))
        label = f"{op} {kind.group(1) if kind else ''}".strip()
        if "__ynn_fusion" in rest:
            label += " (YNNPACK)"
        if parts:
            label += f" split {parts.group(1)}"
        counts[label] += 1
        lines.append(f"{name:34s} {shape:22s} {label:28s} {inner}")
    lines.append("counts: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


@contextlib.contextmanager
def threads(n: int):
    before = fm.get_num_threads()
    fm.set_num_threads(n)
    try:
        yield
    finally:
        fm.set_num_threads(before)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--settle", type=float, default=0.3)
    parser.add_argument("--hlo", metavar="PATH", help="write JAX's optimized HLO there")
    args = parser.parse_args(argv)
    if args.hlo:
        print(hlo_summary(args.hlo))
    regime = R.REGIMES["mnist-adam"]
    runners = {"fastmlp": R.make_runner(regime, "fastmlp"),
               "gemm": R.make_runner(regime, "gemm"),
               "jax": R.make_runner(regime, "jax"), "jax-gemm": jax_products(regime)}
    def one():
        return threads(1)

    columns = {"fastmlp": ("fastmlp", contextlib.nullcontext),
               "fastmlp-1t": ("fastmlp", one), "gemm": ("gemm", contextlib.nullcontext),
               "gemm-1t": ("gemm", one), "jax": ("jax", contextlib.nullcontext),
               "jax-gemm": ("jax-gemm", contextlib.nullcontext)}
    load = compare._load()
    times = R.interleaved({name: (runners[peer].run, setting)
                           for name, (peer, setting) in columns.items()},
                          args.repeats, args.settle)
    print(f"\nmnist-adam epoch, medians of {args.repeats} interleaved rounds "
          f"(spread max/min), fastmlp default threads {fm.get_num_threads()}, "
          f"load {load} before, {compare._load()} after:\n")
    print("| column | median | spread | min |\n|---|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {compare.fmt_time(float(np.median(ts)))} | "
              f"{max(ts) / min(ts):.2f} | {compare.fmt_time(min(ts))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
