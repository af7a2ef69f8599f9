"""``fastmlp optimizers``: list the optimizers and draw their paths on a loss surface."""
from __future__ import annotations

import argparse
from typing import Any

import fastmlp as fm
from fastmlp.trajectories import plot_trajectories

from ._common import _check_writable, _pyplot


def run(args: argparse.Namespace) -> int:
    rows = []
    for name in fm.optimizers.OPTIMIZERS:
        optimizer = fm.optimizers.get(name)
        defaults = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in optimizer.get_config().items())
        rows.append((name, type(optimizer).__name__, defaults))
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    print("name".ljust(width[0]) + "  " + "class".ljust(width[1]) + "  defaults")
    for name, cls_name, defaults in rows:
        print(name.ljust(width[0]) + "  " + cls_name.ljust(width[1]) + "  " + defaults)
    if args.plot is None:
        return 0
    _check_writable(args.plot, "--plot")
    _pyplot()
    kwargs: dict[str, Any] = {"learning_rates": args.rates}
    if args.steps is not None:
        kwargs["steps"] = args.steps
    if args.surface is not None:
        kwargs["surface"] = args.surface
    plot_trajectories(args.plot, **kwargs)
    print(f"wrote {args.plot}")
    return 0
