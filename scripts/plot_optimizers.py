"""Draw the paths of fastmlp's ten optimizers on 2-D loss surfaces (the figures of
docs/optimizers.md).

    python scripts/plot_optimizers.py                  # regenerate both docs figures
    python scripts/plot_optimizers.py --surface rosenbrock --steps 300 --out paths.png

Needs matplotlib (``pip install "fastmlp[plot]"``). The paths come from fastmlp's own
update rules (fastmlp.trajectories); each optimizer runs at the learning rate from a grid
that gives its path the lowest mean loss, unless ``--default-learning-rates`` is given.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from fastmlp.trajectories import SURFACES, plot_trajectories

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: The figures docs/optimizers.md shows: (file, surface, steps).
DOC_FIGURES = [("optimizers.png", "ravine", 100), ("optimizers_rosenbrock.png", "rosenbrock", 500)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surface", choices=sorted(SURFACES), help="one surface only")
    parser.add_argument("--steps", type=int, default=None, help="updates per optimizer")
    parser.add_argument("--out", type=Path, help="output file (with --surface)")
    parser.add_argument("--default-learning-rates", action="store_true",
                        help="use each optimizer's default learning rate instead of tuning")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args(argv)
    rates = "default" if args.default_learning_rates else "tuned"
    if args.surface is None:
        if args.out is not None:
            parser.error("--out needs --surface")
        jobs = [(DOCS / name, surface, args.steps or steps) for name, surface, steps in
                DOC_FIGURES]
    else:
        steps = args.steps or {s: n for _, s, n in DOC_FIGURES}.get(args.surface, 100)
        jobs = [(args.out or Path(f"optimizers_{args.surface}.png"), args.surface, steps)]
    for out, surface, steps in jobs:
        written = plot_trajectories(out, steps=steps, surface=surface, learning_rates=rates,
                                    dpi=args.dpi)
        print(f"wrote {written}")


if __name__ == "__main__":
    main()
