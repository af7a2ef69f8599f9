r"""Paths of the ten optimizers on two-dimensional loss surfaces.

The parameters are a point :math:`(x, y)`; each optimizer starts from the same point and
follows the gradient of the surface through fastmlp's own update rules (the NumPy
reference of :mod:`fastmlp.backend._numpy`, via :meth:`.Optimizer.apply_gradients`).
:func:`run_trajectories` returns the paths, :func:`plot_trajectories` draws them, one panel
per optimizer, over the surface's contours (it needs matplotlib).

Surfaces (:data:`SURFACES`):

``ravine``
    :math:`f(x, y) = x^2 / 20 + y^2`: a long narrow valley (curvatures 0.1 and 2), where
    plain gradient descent zig-zags across and crawls along, the picture behind momentum.
``rosenbrock``
    :math:`f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2`: a curved, flat-bottomed valley with the
    minimum at (1, 1).

Examples
--------
>>> paths = run_trajectories("ravine", steps=50)
>>> sorted(paths)[:3], paths["adam"].shape
(['adadelta', 'adagrad', 'adam'], (51, 2))
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import optimizers
from ._registry import Registry
from ._scalars import check_int

__all__ = ["SURFACES", "Surface", "plot_trajectories", "run_trajectories", "tune_learning_rate"]

#: Learning rates tried by :func:`tune_learning_rate`: 10^-3 .. 10^2, four per decade.
LEARNING_RATE_GRID = tuple(10.0 ** (k / 4) for k in range(-12, 9))


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: value, gradient, a start point and a window for plotting.

    Parameters
    ----------
    name : str
        The key of :data:`SURFACES` and the figure's title.
    formula : str
        The function in LaTeX (matplotlib mathtext), shown on the figure.
    value : callable
        ``value(x, y)``: the loss at arrays of points, element-wise.
    gradient : callable
        ``gradient(p)``: the gradient at one point ``p = array([x, y])``.
    start : (float, float)
        Where the optimizers start by default.
    minimum : (float, float)
        The global minimum, marked on the figure.
    xlim, ylim : (float, float)
        The plotted window.
    levels : tuple of float, default ()
        Contour levels of the figure (empty: matplotlib chooses).

    Examples
    --------
    >>> import numpy as np
    >>> s = SURFACES["rosenbrock"]
    >>> float(s.value(1.0, 1.0)), bool(np.all(s.gradient(np.array([1.0, 1.0])) == 0))
    (0.0, True)
    """

    name: str
    formula: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    levels: tuple[float, ...] = field(default=())


def _ravine_value(x, y):
    return x * x / 20 + y * y


def _ravine_gradient(p):
    return np.array([p[0] / 10, 2 * p[1]])


def _rosenbrock_value(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_gradient(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


SURFACES: Registry[Surface] = Registry("surface", {
    "ravine": Surface("ravine", r"$f(x, y) = x^2/20 + y^2$", _ravine_value, _ravine_gradient,
                      start=(-9.0, 2.5), minimum=(0.0, 0.0), xlim=(-10.0, 4.0),
                      ylim=(-3.5, 3.5), levels=tuple(np.geomspace(0.01, 30, 14))),
    "rosenbrock": Surface("rosenbrock", r"$f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2$",
                          _rosenbrock_value, _rosenbrock_gradient, start=(-1.5, 2.0),
                          minimum=(1.0, 1.0), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0),
                          levels=tuple(np.geomspace(0.05, 2000, 16))),
})


def _surface(surface: str | Surface) -> Surface:
    if isinstance(surface, Surface):
        return surface
    return SURFACES[SURFACES.canonical(surface)]


def _run(optimizer: optimizers.Optimizer, surface: Surface, steps: int,
         start: tuple[float, float]) -> np.ndarray:
    """The path ``(steps + 1, 2)`` of ``optimizer`` from ``start``; stops (NaN-padded)
    if it leaves the finite numbers."""
    p = np.array(start, dtype=np.float64)
    path = np.full((steps + 1, 2), np.nan)
    path[0] = p
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = surface.gradient(p)
            if not np.isfinite(g).all():
                break
            optimizer.apply_gradients([(g, p)])
            if not np.isfinite(p).all():
                break
            path[t] = p
    return path


def _path_cost(path: np.ndarray, surface: Surface) -> float:
    """Mean loss along the path (infinite for a path that blew up)."""
    if not np.isfinite(path).all():
        return math.inf
    with np.errstate(over="ignore"):
        values = surface.value(path[:, 0], path[:, 1])
    return float(np.mean(values)) if np.isfinite(values).all() else math.inf


def tune_learning_rate(name: str, surface: str | Surface = "ravine", steps: int = 100,
                       grid: tuple[float, ...] = LEARNING_RATE_GRID) -> float:
    """The learning rate of ``grid`` whose path has the lowest mean loss over ``steps``.

    Parameters
    ----------
    name : str
        An optimizer of :data:`fastmlp.optimizers.OPTIMIZERS`, at its other defaults.
    surface : str or Surface, default "ravine"
        A name from :data:`SURFACES`, or a :class:`Surface`.
    steps : int, default 100
        Updates per path.
    grid : tuple of float, default LEARNING_RATE_GRID
        The learning rates tried (21 powers of ten in quarter decades, 1e-3 to 100).

    Examples
    --------
    >>> tune_learning_rate("sgd", "ravine", steps=50) in LEARNING_RATE_GRID
    True
    """
    surf = _surface(surface)
    steps = check_int("steps", steps, 1)
    cls = optimizers.OPTIMIZERS[name]
    costs = [_path_cost(_run(cls(learning_rate=lr), surf, steps, surf.start), surf)
             for lr in grid]
    return grid[int(np.argmin(costs))]


def run_trajectories(surface: str | Surface = "ravine", steps: int = 100,
                     learning_rates: str | Mapping[str, float] = "tuned",
                     start: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Run every optimizer (its other settings at their defaults) on ``surface``.

    Parameters
    ----------
    surface : str or Surface
        A name from :data:`SURFACES`.
    steps : int
        Updates per optimizer.
    learning_rates : "tuned", "default" or dict
        ``"tuned"``: for each optimizer the rate of :data:`LEARNING_RATE_GRID` with the
        lowest mean loss along its path (:func:`tune_learning_rate`); ``"default"``: the
        optimizers' defaults; a dict maps names to rates (others tuned).
    start : (x, y), optional
        Defaults to the surface's start point.

    Returns
    -------
    dict of str -> ndarray (steps + 1, 2)
        Each optimizer's path, the start point first, in ``OPTIMIZERS`` order. A path
        that diverged is padded with NaN from the first non-finite point. The returned
        dict's attribute ``learning_rates`` holds the rate each optimizer used.

    Examples
    --------
    >>> paths = run_trajectories("ravine", steps=10, learning_rates="default")
    >>> paths["adam"].shape
    (11, 2)
    """
    paths, _ = _trajectories(surface, steps, learning_rates, start)
    return paths


class _Paths(dict):
    """The paths, with the learning rates used in ``.learning_rates``."""

    learning_rates: dict[str, float]


def _trajectories(surface, steps, learning_rates, start):
    surf = _surface(surface)
    steps = check_int("steps", steps, 1)
    if start is None:
        start = surf.start
    start = tuple(float(v) for v in start)
    if len(start) != 2 or not all(math.isfinite(v) for v in start):
        raise ValueError(f"start must be two finite numbers (x, y), got {start!r}")
    if isinstance(learning_rates, str) and learning_rates not in ("tuned", "default"):
        raise ValueError("learning_rates must be 'tuned', 'default' or a dict of rates, got "
                         f"{learning_rates!r}")
    if isinstance(learning_rates, Mapping):
        unknown = [k for k in learning_rates if k not in optimizers.OPTIMIZERS]
        if unknown:
            raise ValueError(f"unknown optimizer(s) {unknown} in learning_rates; valid "
                             f"names are: {', '.join(optimizers.OPTIMIZERS)}")
    paths = _Paths()
    paths.learning_rates = {}
    for name, cls in optimizers.OPTIMIZERS.items():
        if learning_rates == "default":
            lr = cls().learning_rate
        elif isinstance(learning_rates, Mapping) and name in learning_rates:
            lr = learning_rates[name]
        else:
            lr = tune_learning_rate(name, surf, steps)
        paths[name] = _run(cls(learning_rate=lr), surf, steps, start)
        paths.learning_rates[name] = lr
    return paths, surf


def plot_trajectories(path: str | Path, steps: int = 100, surface: str | Surface = "ravine",
                      learning_rates: str | Mapping[str, float] = "tuned",
                      dpi: int = 110) -> Path:
    """Draw every optimizer's path on ``surface`` (one panel each) and save to ``path``.

    The format follows the file name (``.png``, ``.svg``, ``.pdf``, ...). Needs
    matplotlib (``pip install "fastmlp[plot]"``). Arguments as :func:`run_trajectories`.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write; its folder must exist.
    steps : int, default 100
        Updates per optimizer.
    surface : str or Surface, default "ravine"
        A name from :data:`SURFACES`, or a :class:`Surface`.
    learning_rates : "tuned", "default" or dict, default "tuned"
        As for :func:`run_trajectories`.
    dpi : int, default 110
        Resolution of raster formats.

    Returns
    -------
    pathlib.Path
        Where the figure was written.

    Raises
    ------
    ImportError
        When matplotlib is not installed.

    Examples
    --------
    >>> plot_trajectories("optimizers.png", steps=100, surface="ravine")  # doctest: +SKIP
    PosixPath('optimizers.png')
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plot_trajectories needs matplotlib, which is not installed: "
                          "pip install matplotlib (or pip install \"fastmlp[plot]\")") from exc
    out = Path(path)
    if not out.parent.exists():
        raise ValueError(f"cannot write {out}: the folder {out.parent} does not exist")
    paths, surf = _trajectories(surface, steps, learning_rates, None)
    steps = check_int("steps", steps, 1)

    xs = np.linspace(surf.xlim[0], surf.xlim[1], 300)
    ys = np.linspace(surf.ylim[0], surf.ylim[1], 300)
    X, Y = np.meshgrid(xs, ys)
    Z = surf.value(X, Y)
    levels = list(surf.levels) or None

    fig = Figure(figsize=(17, 7.4), layout="constrained")
    axes = fig.subplots(2, 5, sharex=True, sharey=True)
    for ax, (name, trail) in zip(axes.flat, paths.items()):
        ax.contour(X, Y, Z, levels=levels, colors="0.7", linewidths=0.6)
        ok = np.isfinite(trail).all(axis=1)
        ax.plot(trail[ok, 0], trail[ok, 1], "-o" if steps <= 150 else "-", color="tab:red",
                markersize=2.2, linewidth=1.0)
        ax.plot(*surf.start, "o", color="black", markersize=5)
        ax.plot(*surf.minimum, "*", color="tab:blue", markersize=11)
        last = trail[ok][-1]
        with np.errstate(over="ignore", invalid="ignore"):
            final = float(surf.value(last[0], last[1]))
        note = f"f = {final:.2g}" if ok.all() else f"diverged at step {int(ok.sum())}"
        cls_name = optimizers.OPTIMIZERS[name].__name__
        ax.set_title(f"{cls_name}  (lr {paths.learning_rates[name]:.3g})\n{note}", fontsize=10)
        ax.set_xlim(*surf.xlim)
        ax.set_ylim(*surf.ylim)
    how = {"tuned": "each at its best learning rate on a grid 1e-3..1e2 (lowest mean loss)",
           "default": "each at its default learning rate"}.get(
        learning_rates if isinstance(learning_rates, str) else "", "learning rates given")
    fig.suptitle(f"{steps} steps on {surf.formula} from {surf.start}; {how}", fontsize=12)
    fig.savefig(out, dpi=dpi)
    return out
