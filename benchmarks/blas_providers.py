"""The regimes with each BLAS provider installed (``fm.set_blas``): fastmlp's training
epoch (or predict call) and the GEMM-only limit of the same epoch, per provider, in
interleaved rounds, float32, 2 threads by default.

    python benchmarks/blas_providers.py                       # every regime, 15 rounds
    python benchmarks/blas_providers.py --regime mnist-adam --rounds 21
    python benchmarks/blas_providers.py --threads 1 --clock process_time   # busy machine

Prints, per regime and provider, the median and the spread (min-max) of the rounds and
the ratio of medians to SciPy's BLAS (below 1: faster than SciPy's). The default rule of
``fastmlp.backend._providers`` rests on these figures (benchmarks/RESULTS.md).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import regimes as R

import fastmlp as fm
from fastmlp.backend import _providers


@contextlib.contextmanager
def provider(name: str):
    previous = fm.set_blas(name)
    try:
        yield
    finally:
        fm.set_blas(previous)


def repeated(run, times: int):
    """``run`` called ``times`` times (predict on one row is too short to time alone)."""
    def many():
        for _ in range(times):
            run()
    return many


def interleaved(variants: dict, rounds: int, settle: float, clock) -> dict[object, list]:
    """Seconds of one ``run()`` per round for each variant ``key: (run, setting)``, as
    ``regimes.interleaved`` but on the clock given: ``time.process_time`` (CPU time of the
    process) holds up on a busy machine when every library runs one thread."""
    times: dict[object, list] = {key: [] for key in variants}
    gc.disable()
    try:
        for _ in range(rounds):
            for key, (run, setting) in variants.items():
                with setting():
                    time.sleep(settle)
                    run()
                    start = clock()
                    run()
                    times[key].append(clock() - start)
    finally:
        gc.enable()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", action="append", choices=list(R.REGIMES))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=R.THREADS)
    parser.add_argument("--settle", type=float, default=0.2)
    parser.add_argument("--clock", choices=["perf_counter", "process_time"],
                        default="perf_counter",
                        help="wall time, or the process's CPU time (for --threads 1 on a "
                             "busy machine)")
    args = parser.parse_args(argv)
    R.pin_threads(args.threads)
    names = _providers.installed()
    print(f"providers: {', '.join(names)}; default here: {fm.get_blas()}; "
          f"CPU vendor {_providers.cpu_vendor() or 'unknown'}; {args.threads} threads; "
          f"{args.rounds} interleaved rounds; clock {args.clock}")
    for name in names:
        with provider(name):
            print(f"  {name}: {fm.show_config(file=None)['blas']['config']}")
    for regime_name in args.regime or list(R.REGIMES):
        regime = R.REGIMES[regime_name]
        variants = {}
        peers = ["fastmlp"] + (["gemm"] if "gemm" in regime.peers else [])
        for peer in peers:
            runner = R.make_runner(regime, peer)
            run = repeated(runner.run, 2000) if regime.task == "predict" else runner.run
            for name in names:
                variants[(peer, name)] = (run, lambda name=name: provider(name))
        times = interleaved(variants, args.rounds, args.settle, getattr(time, args.clock))
        unit = "2000 calls" if regime.task == "predict" else regime.unit
        print(f"\n{regime_name} ({regime.description}); ms per {unit}")
        for peer in peers:
            base = statistics.median(times[(peer, "scipy")])
            for name in names:
                t = times[(peer, name)]
                med = statistics.median(t)
                print(f"  {peer:>8} {name:>9}: median {med * 1e3:8.2f}  spread "
                      f"{min(t) * 1e3:8.2f}-{max(t) * 1e3:8.2f}  vs scipy {med / base:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
