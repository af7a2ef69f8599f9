"""How much faster than SciPy's BLAS could team mode's products be? A measurement behind a
design proposal (issue 4), not a benchmark of fastmlp itself.

    python studies/gemm_headroom/gemm_headroom.py                      # mnist-adam and wide-batch
    python studies/gemm_headroom/gemm_headroom.py --regime mnist-adam --rounds 15

    # whole epochs with the probe in place of sgemm (a local experiment: the hook is not
    # part of fastmlp)
    git apply studies/gemm_headroom/engine_hook.patch
    python setup.py build_ext --inplace
    PYTHONPATH=src python studies/gemm_headroom/gemm_headroom.py --end-to-end
    git checkout src/fastmlp/backend/_blas.pyx

In team mode every thread runs its own single-threaded products (BLAS held to one
thread). For each product one step of a regime runs per thread (the shapes follow the
engine's own team plan for the regime's batch), this times, with all threads multiplying
their own operands at once:

* ``openblas``: ``sgemm`` of ``scipy.linalg.cython_blas``, the BLAS fastmlp calls;
* ``probe``: ``probe.c``, a plain AVX-512 GEMM of ~150 lines (12 x 32
  register tiles, panels of B copied to contiguous memory), compiled here with the
  system C compiler and ``-march=native``;
* ``mkl``: the ``sgemm_`` of Intel MKL inside PyTorch's CPU build, when torch is installed.

With ``--end-to-end`` (and the hook of ``engine_hook.patch`` built into the
engine), it times instead whole fastmlp epochs of the regime with its float32 products
(alpha 1, beta 0: all of a training step's) on the BLAS and on the probe, and the
regime's GEMM-only time (on the BLAS, as in compare.py), interleaved round by round.

Each round times every product of every peer (interleaved, so that a noisy phase of the
shared machine hits them alike); the table shows medians in GFLOP/s per thread and, per
step, the sum of the products' median times. Needs an x86-64 CPU with AVX-512F and a C
compiler with OpenMP; says so and exits otherwise.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import itertools
import os
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

# the benchmark regimes live in benchmarks/ (this study reuses them)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "benchmarks"))
import regimes as R
from threadpoolctl import threadpool_limits

from fastmlp.backend import _engine

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "probe.c")


def build(workdir: str) -> ctypes.CDLL:
    """Compile probe.c into a shared library in ``workdir`` and load it."""
    out = os.path.join(workdir, "probe.so")
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    cmd = [cc, "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", SOURCE, "-o", out, "-lm"]
    subprocess.run(cmd, check=True)
    lib = ctypes.CDLL(out)
    size = ctypes.c_long
    lib.probe_time.restype = ctypes.c_double
    lib.probe_time.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, size, size, size,
                               size, size, ctypes.c_int, ctypes.c_int]
    lib.probe_error.restype = ctypes.c_double
    lib.probe_error.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, size, size, size,
                                size, size]
    return lib


def scipy_sgemm() -> int:
    """Address of the ``sgemm`` that scipy.linalg.cython_blas exports (fastmlp's BLAS)."""
    from scipy.linalg import cython_blas

    capsule = cython_blas.__pyx_capi__["sgemm"]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                                  ctypes.c_char_p]
    return get_pointer(capsule, get_name(capsule))


def mkl_sgemm() -> int | None:
    """Address of MKL's Fortran ``sgemm_`` in PyTorch's CPU library, with MKL on one
    thread per caller; None without torch (or without MKL in it)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        return ctypes.cast(ctypes.CDLL(path).sgemm_, ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None


def products(regime: R.Regime, threads: int) -> list[tuple[str, tuple]]:
    """(label, (ta, tb, M, N, K, lda, ldb)) of the products one thread runs per step of
    ``regime`` in team mode, row-major C = op(A) op(B) as in the engine. Blocks of units
    and of gradient rows are taken as even splits (the engine balances them by size)."""
    sizes, rows = regime.sizes, regime.batch_size
    columns, backward_columns = _engine.team_plan(R.build_model(regime)._engine(), rows)

    def share(n: int) -> int:
        return -(-n // threads)

    out = []
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        if l < columns:   # all rows times this thread's block of units
            out.append((f"Z{l + 1} = X W{l + 1} (units)", (0, 0, rows, share(n_out), n_in,
                                                         n_in, n_out)))
        else:
            out.append((f"Z{l + 1} = A W{l + 1}", (0, 0, share(rows), n_out, n_in, n_in,
                                                   n_out)))
    for l in range(len(sizes) - 2, 0, -1):   # dA_{l} = dZ_{l+1} W_{l+1}^T, not into X
        n_in, n_out = sizes[l], sizes[l + 1]
        if l == 1 and backward_columns:
            out.append((f"dA{l} = dZ{l + 1} W{l + 1}^T (units)",
                        (0, 1, rows, share(n_in), n_out, n_out, n_out)))
        else:
            out.append((f"dA{l} = dZ{l + 1} W{l + 1}^T", (0, 1, share(rows), n_in, n_out,
                                                          n_out, n_out)))
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        out.append((f"dW{l + 1} = A^T dZ{l + 1} (rows)", (1, 0, share(n_in), n_out, rows,
                                                          n_in, n_out)))
    return out


def measure(lib, peers: dict[str, int | None], shapes, threads: int, rounds: int,
            min_time: float) -> dict[str, list[list[float]]]:
    """Per peer, per product: the seconds of each round."""
    reps = []
    for _, shape in shapes:   # products per measurement, from OpenBLAS's time
        once = lib.probe_time(peers["openblas"], *shape, 3, threads)
        reps.append(max(3, int(min_time / max(once, 1e-7))))
    times = {peer: [[] for _ in shapes] for peer in peers}
    for _ in range(rounds):
        for i, (_, shape) in enumerate(shapes):
            for peer, fn in peers.items():
                times[peer][i].append(lib.probe_time(fn, *shape, reps[i], threads))
    return times


@contextlib.contextmanager
def products_on(address: int):
    """float32 products of the engine on the function at ``address`` (0: the BLAS)
    meanwhile, through the hook of engine_hook.patch."""
    from fastmlp.backend import _blas

    _blas._set_probe(address)
    try:
        yield
    finally:
        _blas._set_probe(0)


def end_to_end(lib, name: str, rounds: int) -> None:
    """Epochs of fastmlp on the BLAS and on the probe, and the GEMM-only time."""
    from fastmlp.backend import _blas

    if not hasattr(_blas, "_set_probe"):
        sys.exit("gemm_headroom: --end-to-end needs the engine built with "
                 "studies/gemm_headroom/engine_hook.patch applied")
    probe = ctypes.cast(lib.probe_gemm, ctypes.c_void_p).value
    regime = R.REGIMES[name]
    fit, gemm = R.make_runner(regime, "fastmlp").run, R.make_runner(regime, "gemm").run
    blas = functools.partial(products_on, 0)
    times = R.interleaved({"fastmlp on openblas": (fit, blas),
                           "fastmlp on probe": (fit, functools.partial(products_on, probe)),
                           "GEMM-only (openblas)": (gemm, blas)}, rounds, settle=0.2)
    gemm_median = float(np.median(times["GEMM-only (openblas)"]))
    print(f"\n{name}: whole epochs, medians of {rounds} rounds")
    print("| run | median | first quartile | vs GEMM-only |")
    print("|---|---|---|---|")
    for label, ts in times.items():
        print(f"| {label} | {np.median(ts) * 1e3:.1f} ms | {np.percentile(ts, 25) * 1e3:.1f} ms "
              f"| {np.median(ts) / gemm_median:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", action="append", choices=["mnist-adam", "wide-batch"])
    parser.add_argument("--threads", type=int, default=R.THREADS)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--end-to-end", action="store_true",
                        help="time whole epochs with the probe in the engine (needs the hook)")
    parser.add_argument("--min-time", type=float, default=0.02,
                        help="seconds of products per measurement")
    args = parser.parse_args()

    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        flags = ""
    if " avx512f" not in flags:
        sys.exit("gemm_headroom: this CPU has no AVX-512F; the probe needs it")

    if args.end_to_end:
        R.pin_threads(args.threads)
        with tempfile.TemporaryDirectory() as workdir:
            lib = build(workdir)
            for name in args.regime or ["mnist-adam", "wide-batch"]:
                end_to_end(lib, name, args.rounds)
        return
    peers: dict[str, int | None] = {"openblas": scipy_sgemm(), "probe": None}
    mkl = mkl_sgemm()
    if mkl is not None:
        peers["mkl"] = mkl
    with tempfile.TemporaryDirectory() as workdir, threadpool_limits(1):
        lib = build(workdir)
        for name in args.regime or ["mnist-adam", "wide-batch"]:
            regime = R.REGIMES[name]
            shapes = products(regime, args.threads)
            for label, shape in shapes:
                err = lib.probe_error(peers["openblas"], *shape)
                if not err < 1e-5:
                    sys.exit(f"gemm_headroom: the probe's {label} differs from OpenBLAS by "
                             f"{err:.2g} (relative): not a valid comparison")
            start = time.perf_counter()
            times = measure(lib, peers, shapes, args.threads, args.rounds, args.min_time)
            medians = {p: [float(np.median(t)) for t in ts] for p, ts in times.items()}
            print(f"\n{name}: {R.regime_label(regime)}, {args.threads} threads at once, "
                  f"medians of {args.rounds} rounds ({time.perf_counter() - start:.0f} s)")
            head = "| product (one thread) | M x N x K | " + " | ".join(
                f"{p} GFLOP/s" for p in peers) + " | probe vs openblas |"
            print(head)
            print("|" + "---|" * (head.count("|") - 1))
            for i, (label, (_ta, _tb, m, n, k, _, _)) in enumerate(shapes):
                flop = 2.0 * m * n * k
                rates = " | ".join(f"{flop / medians[p][i] / 1e9:.0f}" for p in peers)
                print(f"| {label} | {m} x {n} x {k} | {rates} | "
                      f"{medians['openblas'][i] / medians['probe'][i]:.2f}x |")
            steps = -(-regime.n_samples // regime.batch_size)
            total = {p: sum(medians[p]) for p in peers}
            rates = " | ".join(f"{total[p] * steps * 1e3:.1f} ms" for p in peers)
            print(f"| one epoch ({steps} steps) | | {rates} | "
                  f"{total['openblas'] / total['probe']:.2f}x |")


if __name__ == "__main__":
    main()
