"""Time the compiled backend of two installations of fastmlp on the regimes of
``regimes.py``, interleaved, and print medians, spreads and ratios.

    python benchmarks/builds_compare.py --a wheel=/path/to/site-packages \\
        --b native=/path/to/checkout/src [--rounds 7] [--regime mnist-adam ...]

Each installation is named and given as a folder to put first on ``PYTHONPATH`` (a venv's
site-packages, or a checkout's ``src`` after ``python setup.py build_ext --inplace``).
Both cannot be imported in one process, so each measurement is a fresh process that
builds the regime's model and times it (``--calls`` samples of at least 50 ms after one
warm-up, each the mean of its runs; their median); A and B take turns, round by round,
so that a slow phase of a shared machine hits both alike. The ratio is
``median(A) / median(B)`` per regime (above 1: A slower).

With ``--side-by-side`` (one thread each, two CPUs) A and B run at the same time, each
pinned to its own CPU, swapping CPUs every round: a slow phase of the host, which on the
development machine lasts seconds and costs up to 1.5x, then falls on both measurements
of a round rather than on one of them. The ratios of rounds are the figure to read.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# One measurement: the regime's fastmlp runner, one warm-up call, then the median of
# ``calls`` samples; prints it and the CPU level the process loaded.
_MEASURE = """
import json, os, sys, time, importlib
if {cpu} >= 0:
    os.sched_setaffinity(0, {{{cpu}}})
sys.path.insert(0, {here!r})
import regimes as R
import fastmlp as fm
R.pin_threads({threads})
runner = R.make_runner(R.REGIMES[{regime!r}], "fastmlp")
clock = time.{clock}
t0 = clock()
runner.run()
number = max(1, int(0.05 / max(clock() - t0, 1e-9)))  # >= 50 ms a sample
times = []
for _ in range({calls}):
    t0 = clock()
    for _ in range(number):
        runner.run()
    times.append((clock() - t0) / number)
times.sort()
level = getattr(importlib.import_module("fastmlp.backend"), "cpu_level", lambda: "native")()
print(json.dumps({{"median": times[len(times) // 2], "level": level,
                  "file": fm.__file__}}))
"""


def start(path: str, regime: str, calls: int, threads: int, clock: str,
          cpu: int = -1) -> subprocess.Popen:
    """One measuring process (pinned to ``cpu`` unless it is -1)."""
    env = {**os.environ, "PYTHONPATH": path, "FASTMLP_BACKEND": "cython"}
    code = _MEASURE.format(here=HERE, regime=regime, calls=calls, threads=threads,
                           clock=clock, cpu=cpu)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def result(process: subprocess.Popen, path: str, regime: str) -> dict:
    """The measurement a process printed."""
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"measuring {regime} with {path} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="NAME=PATH of the first installation")
    parser.add_argument("--b", required=True, help="NAME=PATH of the second installation")
    parser.add_argument("--rounds", type=int, default=7, help="processes per installation "
                        "and regime (default %(default)s)")
    parser.add_argument("--calls", type=int, default=5,
                        help="timed calls per process (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--clock", choices=["perf_counter", "process_time"],
                        default="perf_counter", help="wall time (default), or the "
                        "process's CPU time, which a busy machine disturbs less (with "
                        "--threads 1: the time on the CPU; with more threads waiting "
                        "threads' spinning counts too)")
    parser.add_argument("--regime", action="append", help="run only this regime "
                        "(repeatable; default: all four)")
    parser.add_argument("--side-by-side", action="store_true", help="run A and B at the "
                        "same time, one per CPU, swapping CPUs each round (needs "
                        "--threads 1 and two CPUs)")
    args = parser.parse_args(argv)
    if args.side_by_side and (args.threads != 1 or len(os.sched_getaffinity(0)) < 2):
        parser.error("--side-by-side needs --threads 1 and two CPUs")
    sys.path.insert(0, HERE)
    import regimes as R

    names = args.regime or list(R.REGIMES)
    builds = dict(item.split("=", 1) for item in (args.a, args.b))
    (name_a, path_a), (name_b, path_b) = builds.items()
    cpus = sorted(os.sched_getaffinity(0))[:2]   # --side-by-side: A and B swap these
    ratio_title = ("median of the rounds' ratios" if args.side_by_side
                   else "ratio of the medians")
    print(f"| regime | {name_a} median (min-max) | {name_b} median (min-max) | "
          f"{name_a} / {name_b} ({ratio_title}; rounds' min-max) |")
    print("|---|---|---|---|")
    for regime in names:
        samples: dict[str, list[float]] = {name_a: [], name_b: []}
        levels = {}
        for r in range(args.rounds):
            measured = {}
            pending = []
            for i, (name, path) in enumerate(((name_a, path_a), (name_b, path_b))):
                cpu = cpus[(i + r) % 2] if args.side_by_side else -1
                process = start(path, regime, args.calls, args.threads, args.clock, cpu)
                if args.side_by_side:
                    pending.append((name, path, process))
                else:  # one after the other
                    measured[name] = result(process, path, regime)
            for name, path, process in pending:
                measured[name] = result(process, path, regime)
            for name, values in measured.items():
                samples[name].append(values["median"])
                levels[name] = values["level"]
        ratios = [a / b for a, b in zip(samples[name_a], samples[name_b])]
        ratio = (statistics.median(ratios) if args.side_by_side else
                 statistics.median(samples[name_a]) / statistics.median(samples[name_b]))

        def cell(values: list[float]) -> str:
            scale, unit = (1e6, "µs") if max(values) < 1e-3 else (1e3, "ms")
            return (f"{statistics.median(values) * scale:.1f} {unit} "
                    f"({min(values) * scale:.1f}-{max(values) * scale:.1f})")

        print(f"| {regime} | {cell(samples[name_a])} [{levels[name_a]}] | "
              f"{cell(samples[name_b])} [{levels[name_b]}] | "
              f"{ratio:.3f} ({min(ratios):.2f}-{max(ratios):.2f}) |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
