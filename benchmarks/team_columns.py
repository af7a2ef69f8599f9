"""Column plans of team mode: which products to split between the threads by output units
instead of by rows (``Engine._team_plan``), measured on the benchmark regimes.

    python benchmarks/team_columns.py                         # mnist-adam and wide-batch
    python benchmarks/team_columns.py --regime mnist-adam --rounds 40

Each round times one epoch of every plan, interleaved (a noisy phase of the machine hits
all plans alike), after one warm-up epoch; the table shows medians and first quartiles
per epoch and their ratio to the plan that splits every product by rows. A plan is
(leading layers whose forward product is split by units, whether the product into layer
1's dZ is); "rule" is what the engine chooses by itself.
"""
from __future__ import annotations

import argparse
import contextlib
import functools

import numpy as np
import regimes as R

from fastmlp.backend import _engine

PLANS = {  # name: forced (forward, backward) plan, None: the engine's rule
    "rows": (0, False), "rule": None, "1,no": (1, False), "1,yes": (1, True),
    "2,no": (2, False), "2,yes": (2, True),
}
PLAN_NAMES = list(PLANS)


@contextlib.contextmanager
def forced_plan(plan):
    """The engine's column plan forced to ``plan`` (None: its rule) meanwhile."""
    saved = _engine.testing.set_team_columns(*(plan or (None, None)))
    try:
        yield
    finally:
        _engine.testing.set_team_columns(*saved)


def measure(regime: str, rounds: int, plans: list[str]) -> dict[str, list[float]]:
    run = R.make_runner(R.REGIMES[regime], "fastmlp").run
    return R.interleaved({name: (run, functools.partial(forced_plan, PLANS[name]))
                          for name in plans}, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", action="append", choices=["mnist-adam", "wide-batch"])
    parser.add_argument("--plan", action="append", choices=PLAN_NAMES,
                        help="measure only these plans (repeatable; rows is always measured)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="epochs per plan (default 30 for mnist-adam, 8 for wide-batch)")
    args = parser.parse_args()
    R.pin_threads(R.THREADS)
    print(f"{'regime':>11} {'plan':>6} {'median':>9} {'p25':>9} {'median/rows':>11} "
          f"{'p25/rows':>9}")
    for regime in args.regime or ["mnist-adam", "wide-batch"]:
        rounds = args.rounds or (30 if regime == "mnist-adam" else 8)
        plans = ["rows"] + [p for p in (args.plan or PLAN_NAMES) if p != "rows"]
        times = measure(regime, rounds, plans)
        base_med = np.median(times["rows"])
        base_p25 = np.percentile(times["rows"], 25)
        for name, t in times.items():
            med, p25 = np.median(t), np.percentile(t, 25)
            print(f"{regime:>11} {name:>6} {1e3 * med:7.1f}ms {1e3 * p25:7.1f}ms "
                  f"{med / base_med:11.3f} {p25 / base_p25:9.3f}")


if __name__ == "__main__":
    main()
