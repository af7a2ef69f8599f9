"""Run the four benchmark regimes in one process and print medians and ratios.

    python benchmarks/compare.py                 # full run (~2 minutes on 2 cores)
    python benchmarks/compare.py --quick         # fewer repeats
    python benchmarks/compare.py --json out.json --markdown RESULTS.md

Every peer of a regime is timed in the same process, with the same thread count
(``--threads``, default 2), float32, and with the peers' measurements interleaved round by
round so that a slow phase of a shared machine hits them alike. A ratio ``vs X`` is
``median(X) / median(fastmlp)`` (how many times faster fastmlp is); ``vs gemm`` is
``median(fastmlp) / median(gemm)`` (how close training gets to its BLAS-bound limit).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import regimes as R

#: (regime, peer) -> (kind, bound): "min" speed-up over the peer, "max" ratio to gemm.
TARGETS = {
    ("tiny-sgd", "numpy"): 30.0, ("tiny-sgd", "torch"): 200.0, ("tiny-sgd", "sklearn"): 100.0,
    ("mnist-adam", "numpy"): 1.4, ("mnist-adam", "torch"): 1.6, ("mnist-adam", "sklearn"): 2.0,
    ("mnist-adam", "gemm"): 1.25,
    ("wide-batch", "numpy"): 1.1, ("wide-batch", "torch"): 1.0, ("wide-batch", "gemm"): 1.10,
    ("predict-latency", "numpy"): 5.0, ("predict-latency", "torch"): 20.0,
}


def _number(run, min_time: float) -> int:
    """Calls per measurement so that one measurement lasts at least ``min_time``."""
    t0 = time.perf_counter()
    run()
    dt = time.perf_counter() - t0
    return max(1, int(np.ceil(min_time / max(dt, 1e-9))))


def measure_regime(regime: R.Regime, peers: list[str], repeats: int,
                   min_time: float, settle: float) -> dict:
    """Median time per ``run()`` of each peer, interleaved round by round.

    Each measurement starts ``settle`` seconds after the previous one: BLAS and OpenMP
    worker threads keep spinning for a while after their last call (OpenBLAS ~0.1 s),
    and a peer measured while the previous peer's threads still spin loses a core.
    """
    runners, numbers, samples, info = {}, {}, {}, {}
    for peer in peers:
        runners[peer] = R.make_runner(regime, peer)
        numbers[peer] = _number(runners[peer].run, min_time)
        samples[peer] = []
        info[peer] = runners[peer].info
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            for peer in peers:
                run, number = runners[peer].run, numbers[peer]
                time.sleep(settle)
                t0 = time.perf_counter()
                for _ in range(number):
                    run()
                samples[peer].append((time.perf_counter() - t0) / number)
    finally:
        gc.enable()
    medians = {p: float(np.median(s)) for p, s in samples.items()}
    return {"label": R.regime_label(regime), "description": regime.description,
            "unit": regime.unit, "per": {p: runners[p].per for p in peers},
            "medians_s": medians, "samples_s": samples, "calls_per_sample": numbers,
            "info": info}


def ratios(name: str, result: dict) -> dict:
    med = result["medians_s"]
    out = {}
    if "fastmlp" not in med:
        return out
    for peer, value in med.items():
        if peer == "fastmlp":
            continue
        ratio = med["fastmlp"] / value if peer == "gemm" else value / med["fastmlp"]
        target = TARGETS.get((name, peer))
        met = None
        if target is not None:
            met = ratio <= target if peer == "gemm" else ratio >= target
        out[peer] = {"ratio": ratio, "target": target, "met": met}
    return out


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def table(results: dict) -> str:
    head = ["regime", "fastmlp", "NumPy backend", "PyTorch", "scikit-learn", "GEMM only",
            "vs NumPy", "vs PyTorch", "vs scikit-learn", "vs GEMM-only"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results.values():
        med, rat = res["medians_s"], res["ratios"]
        cells = [f"{res['label']} (per {res['unit']})"]
        for peer in R.PEERS:
            cells.append(fmt_time(med[peer]) if peer in med else "—")
        for peer in ("numpy", "torch", "sklearn", "gemm"):
            r = rat.get(peer)
            if r is None:
                cells.append("—")
                continue
            text = f"{r['ratio']:.2f}x"
            if r["target"] is not None:
                bound = "<=" if peer == "gemm" else ">="
                text += f" ({bound} {r['target']:g}: {'met' if r['met'] else 'MISSED'})"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 repeats and shorter measurements (a rough look)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="measurements per peer (default 7, or 3 with --quick)")
    parser.add_argument("--threads", type=int, default=R.THREADS,
                        help="threads for every peer (default %(default)s)")
    parser.add_argument("--regime", action="append", choices=list(R.REGIMES),
                        help="run only this regime (repeatable)")
    parser.add_argument("--peer", action="append", choices=list(R.PEERS),
                        help="run only this peer (repeatable; fastmlp is always run)")
    parser.add_argument("--settle", type=float, default=0.3,
                        help="pause before each measurement, seconds (default %(default)s)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    # one measurement is several back-to-back calls (steady state, as in a training run of
    # many epochs) rather than a single call after the settle pause, whose first touch of
    # the data set and wake-up of thread pools would dominate a 0.1 s epoch
    min_time = 0.1 if args.quick else 0.5

    R.pin_threads(args.threads)
    load_before = _load()
    available = R.available_peers()
    missing = [p for p in R.PEERS if p not in available]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}", file=sys.stderr)
    results = {}
    for name in args.regime or list(R.REGIMES):
        regime = R.REGIMES[name]
        peers = [p for p in regime.peers if p in available
                 and (args.peer is None or p in args.peer or p == "fastmlp")]
        print(f"{R.regime_label(regime)}: {', '.join(peers)} ...", file=sys.stderr, flush=True)
        res = measure_regime(regime, peers, repeats, min_time, args.settle)
        res["ratios"] = ratios(name, res)
        results[name] = res

    env = R.environment()
    env["load_average"] = {"before": load_before, "after": _load()}
    text = table(results)
    command = "python benchmarks/compare.py" + (" --quick" if args.quick else "")
    print(text)
    conditions = (f"medians of {repeats} measurements, {args.threads} threads, float32; "
                  f"BLAS: {blas_summary(env)}; 1-minute load average {load_before} before, "
                  f"{env['load_average']['after']} after")
    print("\n" + conditions)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"command": command, "repeats": repeats, "threads": args.threads,
                       "environment": env, "targets": {f"{r}/{p}": t for (r, p), t
                                                       in TARGETS.items()},
                       "results": results}, handle, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write(f"`{command}`: {conditions}\n\n")
            handle.write(text + "\n")
    return 0


def _load() -> float | None:
    """The 1-minute load average (other processes on the machine skew the timings)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def blas_summary(env: dict) -> str:
    pools = env.get("threadpools") or []
    names = sorted({f"{p['internal_api']} {p['version']} ({p['prefix']}, "
                    f"{p['architecture']}, {p['num_threads']} threads)"
                    for p in pools if p["user_api"] == "blas"})
    return "; ".join(names) or "unknown"


if __name__ == "__main__":
    sys.exit(main())
