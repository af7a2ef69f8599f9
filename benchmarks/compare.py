"""Run the four benchmark regimes in one process and print medians, spreads and ratios.

    python benchmarks/compare.py                 # full run (~10 minutes on 2 cores)
    python benchmarks/compare.py --quick         # fewer repeats
    python benchmarks/compare.py --json out.json --markdown RESULTS.md

Every peer of a regime is timed in the same process, with the same thread count
(``--threads``, default 2), float32, and with the peers' measurements interleaved round by
round so that a slow phase of a shared machine hits them alike. A ratio ``vs X`` is
``median(X) / median(fastmlp)`` (how many times faster fastmlp is); ``vs gemm`` is
``median(fastmlp) / median(gemm)`` (how close training gets to its BLAS-bound limit). The
brackets hold the spread: max/min of a peer's measurements, and the lowest and highest
ratio of one round. The peers' first call (JAX's tracing and XLA compile,
``torch.compile``'s, warm-up of the others) is not timed with the rest: it has a table of
its own. Peers that are not installed are left out with the reason.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import regimes as R
from compiled_peers import TORCH_MODES

#: (regime, peer) -> (kind, bound): "min" speed-up over the peer, "max" ratio to gemm.
#: Issue 21's targets against JAX's scan epoch, PyTorch eager and the GEMM-only limit (for
#: predict-latency: 25x the fastest peer), the first speed issue's for the others.
TARGETS = {
    ("tiny-sgd", "jax"): 3.0, ("tiny-sgd", "torch"): 300.0,
    ("tiny-sgd", "numpy"): 30.0, ("tiny-sgd", "sklearn"): 100.0,
    ("mnist-adam", "jax"): 1.25, ("mnist-adam", "torch"): 2.0, ("mnist-adam", "gemm"): 1.15,
    ("mnist-adam", "numpy"): 1.4, ("mnist-adam", "sklearn"): 2.0,
    ("wide-batch", "jax"): 1.1, ("wide-batch", "torch"): 1.2, ("wide-batch", "gemm"): 1.05,
    ("wide-batch", "numpy"): 1.1,
    ("predict-latency", "jax"): 25.0, ("predict-latency", "torch-compile"): 25.0,
    ("predict-latency", "torch"): 25.0, ("predict-latency", "numpy"): 5.0,
}

#: Column titles of the peers.
TITLES = {"fastmlp": "fastmlp", "fastmlp-1t": "fastmlp, 1 thread",
          "jax": "JAX, epoch in one jit", "jax-step": "JAX, jitted step",
          "torch-compile": "torch.compile", "torch": "PyTorch eager", "numpy": "NumPy backend",
          "sklearn": "scikit-learn", "gemm": "GEMM only"}


def _number(run, min_time: float) -> int:
    """Calls per measurement so that one measurement lasts at least ``min_time``."""
    t0 = time.perf_counter()
    run()
    dt = time.perf_counter() - t0
    return max(1, int(np.ceil(min_time / max(dt, 1e-9))))


def measure_regime(regime: R.Regime, peers: list[str], repeats: int,
                   min_time: float, settle: float,
                   variants: dict[str, tuple[str, object]] | None = None) -> dict:
    """Median time per ``run()`` of each peer, interleaved round by round.

    Each measurement starts ``settle`` seconds after the previous one: BLAS and OpenMP
    worker threads keep spinning for a while after their last call (OpenBLAS ~0.1 s),
    and a peer measured while the previous peer's threads still spin loses a core.
    ``variants`` adds columns that time a peer's runner under a setting: ``name: (peer,
    setting)``, ``setting()`` a context manager in force while the variant runs.
    """
    variants = variants or {}
    columns = {p: (p, contextlib.nullcontext) for p in peers}
    columns.update(variants)
    runners, numbers, samples, info = {}, {}, {}, {}
    for peer in dict.fromkeys(p for p, _ in columns.values()):
        print(f"  building {peer} ...", file=sys.stderr, flush=True)
        runners[peer] = R.make_runner(regime, peer)
    for name, (peer, setting) in columns.items():
        with setting():
            numbers[name] = _number(runners[peer].run, min_time)
        samples[name] = []
        info[name] = runners[peer].info
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, (peer, setting) in columns.items():
                run, number = runners[peer].run, numbers[name]
                with setting():
                    time.sleep(settle)
                    t0 = time.perf_counter()
                    for _ in range(number):
                        run()
                    samples[name].append((time.perf_counter() - t0) / number)
    finally:
        gc.enable()
    medians = {p: float(np.median(s)) for p, s in samples.items()}
    return {"label": R.regime_label(regime), "description": regime.description,
            "unit": regime.unit, "per": {p: runners[q].per for p, (q, _) in columns.items()},
            "medians_s": medians, "samples_s": samples, "calls_per_sample": numbers,
            "first_call_s": {p: runners[q].first_s for p, (q, _) in columns.items()},
            "info": info}


def ratios(name: str, result: dict) -> dict:
    """Ratio of medians to fastmlp's for each other column, its target, and the lowest
    and highest ratio of one round."""
    med, samples = result["medians_s"], result["samples_s"]
    out = {}
    if "fastmlp" not in med:
        return out
    mine = np.asarray(samples["fastmlp"])
    for peer, value in med.items():
        if peer == "fastmlp":
            continue
        theirs = np.asarray(samples[peer])
        if peer == "gemm":
            ratio, per_round = med["fastmlp"] / value, mine / theirs
        else:
            ratio, per_round = value / med["fastmlp"], theirs / mine
        target = TARGETS.get((name, peer))
        met = None
        if target is not None:
            met = ratio <= target if peer == "gemm" else ratio >= target
        out[peer] = {"ratio": ratio, "target": target, "met": met,
                     "round_min": float(per_round.min()), "round_max": float(per_round.max())}
    return out


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _columns(results: dict) -> list[str]:
    present = {p for res in results.values() for p in res["medians_s"]}
    order = ["fastmlp", "fastmlp-1t", *(p for p in R.PEERS if p != "fastmlp")]
    return [p for p in order if p in present]


def table(results: dict) -> str:
    """Medians (spread max/min) of every column and fastmlp's ratios to them."""
    cols = _columns(results)
    others = [p for p in cols if p != "fastmlp"]
    head = (["regime"] + [TITLES.get(p, p) for p in cols]
            + [f"vs {TITLES.get(p, p)}" for p in others])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results.values():
        med, rat, samples = res["medians_s"], res["ratios"], res["samples_s"]
        cells = [f"{res['label']} (per {res['unit']})"]
        for peer in cols:
            if peer not in med:
                cells.append("—")
                continue
            spread = max(samples[peer]) / min(samples[peer])
            cells.append(f"{fmt_time(med[peer])} [{spread:.2f}]")
        for peer in others:
            r = rat.get(peer)
            if r is None:
                cells.append("—")
                continue
            text = f"{r['ratio']:.2f}x [{r['round_min']:.2f}-{r['round_max']:.2f}]"
            if r["target"] is not None:
                bound = "<=" if peer == "gemm" else ">="
                text += f" ({bound} {r['target']:g}: {'met' if r['met'] else 'MISSED'})"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def first_call_table(results: dict) -> str:
    """The first call of every column (tracing and compiling for the compiled peers)."""
    cols = [p for p in _columns(results) if p != "fastmlp-1t"]
    head = ["regime"] + [f"{TITLES.get(p, p)}: first call" for p in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in results.values():
        first = res["first_call_s"]
        cells = [res["label"]]
        for peer in cols:
            value = first.get(peer)
            cells.append("—" if value is None else fmt_time(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compiled_modes(results: dict) -> str:
    """Which torch.compile mode each regime used (the fastest that worked)."""
    parts = []
    for name, res in results.items():
        info = res["info"].get("torch-compile")
        if info:
            parts.append(f"{name}: {info.get('mode')}")
    return "; ".join(parts)


def arguments(description: str, repeats: int = 7) -> argparse.ArgumentParser:
    """The options compare.py and under_load.py share."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="3 repeats and shorter measurements (a rough look)")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"measurements per peer (default {repeats}, or 3 with --quick)")
    parser.add_argument("--regime", action="append", choices=list(R.REGIMES),
                        help="run only this regime (repeatable)")
    parser.add_argument("--peer", action="append", choices=list(R.PEERS),
                        help="run only this peer (repeatable; fastmlp is always run)")
    parser.add_argument("--settle", type=float, default=0.3,
                        help="pause before each measurement, seconds (default %(default)s)")
    parser.add_argument("--torch-mode", default=R.TORCH_MODE,
                        choices=["auto", *TORCH_MODES],
                        help="torch.compile mode; auto: the fastest (default %(default)s)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    return parser


def run_regimes(args: argparse.Namespace, repeats: int, variants=None) -> dict:
    """Measure every selected regime with its available peers (and ``variants``, see
    :func:`measure_regime`); the skipped peers are printed with the reason."""
    R.TORCH_MODE = args.torch_mode
    # one measurement is several back-to-back calls (steady state, as in a training run of
    # many epochs) rather than a single call after the settle pause, whose first touch of
    # the data set and wake-up of thread pools would dominate a 0.1 s epoch
    min_time = 0.1 if args.quick else 0.5
    reasons = R.unavailable_peers()
    for peer, reason in reasons.items():
        print(f"skipped {peer}: {reason}", file=sys.stderr)
    results = {}
    for name in args.regime or list(R.REGIMES):
        regime = R.REGIMES[name]
        peers = [p for p in regime.peers if p not in reasons
                 and (args.peer is None or p in args.peer or p == "fastmlp")]
        print(f"{R.regime_label(regime)}: {', '.join(peers)} ...", file=sys.stderr, flush=True)
        res = measure_regime(regime, peers, repeats, min_time, args.settle,
                             variants if "fastmlp" in peers else None)
        res["ratios"] = ratios(name, res)
        results[name] = res
    return results


def report(args: argparse.Namespace, results: dict, command: str, conditions: str,
           extra: dict | None = None) -> None:
    """Print the tables and write them as JSON / Markdown when asked."""
    env = R.environment()
    text = table(results)
    first = first_call_table(results)
    modes = compiled_modes(results)
    if modes:
        conditions += f"; torch.compile mode (fastest that worked): {modes}"
    conditions += f"; BLAS: {blas_summary(env)}"
    print(text)
    print("\nFirst call (not in the timings above; tracing and compiling included):\n")
    print(first)
    print("\n" + conditions)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"command": command, "conditions": conditions, "environment": env,
                       "targets": {f"{r}/{p}": t for (r, p), t in TARGETS.items()},
                       **(extra or {}), "results": results}, handle, indent=1, default=str)
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write(f"`{command}`: {conditions}\n\n")
            handle.write(text + "\n\nFirst call:\n\n" + first + "\n")


def command_line(script: str, argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return " ".join([f"python benchmarks/{script}", *args])


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=R.THREADS,
                        help="threads for every peer (default %(default)s)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    R.pin_threads(args.threads)
    load_before = _load()
    results = run_regimes(args, repeats)
    conditions = (f"medians of {repeats} measurements, {args.threads} threads, float32, "
                  f"{os.cpu_count()} cores; 1-minute load average {load_before} before, "
                  f"{_load()} after")
    report(args, results, command_line("compare.py", argv), conditions,
           {"repeats": repeats, "threads": args.threads})
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
