"""Pictures: learning curves and decision boundaries (matplotlib, an optional extra).

Install the extra with ``pip install "fastmlp[plot]"``. Every function here imports
matplotlib when it is called, so ``import fastmlp`` never needs it; without it they raise
an ``ImportError`` that says how to install it.

Examples
--------
>>> import fastmlp as fm
>>> X, y = fm.datasets.make_moons(n_samples=200, noise=0.2, seed=0)
>>> model = fm.Sequential([fm.Dense(16, activation="tanh"),
...                        fm.Dense(1, activation="sigmoid")], seed=0)
>>> model.compile(optimizer=fm.optimizers.SGD(0.5), loss="binary_crossentropy",
...               metrics=["accuracy"])
>>> history = model.fit(X, y, epochs=50, validation_split=0.2, verbose=0)
>>> fig = history.plot()                                   # doctest: +SKIP
>>> ax = fm.plot.decision_boundary(model, X, y)            # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._scalars import check_int

__all__ = ["decision_boundary", "learning_curves"]

_INSTALL_HINT = ('fastmlp.plot needs matplotlib, an optional extra: '
                 'pip install "fastmlp[plot]" (or pip install matplotlib)')


def _pyplot() -> Any:
    """Import matplotlib.pyplot, or raise an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(_INSTALL_HINT) from None
    return plt


def _history_dict(history: Any) -> dict[str, list[float]]:
    data = getattr(history, "history", history)
    if not isinstance(data, dict) or not data:
        raise ValueError("learning_curves needs a History (as returned by fit) or a dict "
                         "of per-epoch lists, with at least one epoch recorded")
    return data


def learning_curves(history: Any, keys: list[str] | None = None, ax: Any = None) -> Any:
    """Plot per-epoch training (and validation) curves, one panel per quantity.

    Parameters
    ----------
    history : History or dict of str -> list of float
        What ``fit`` returned, or its ``history`` dict.
    keys : list of str, optional
        Quantities to draw (without the ``val_`` prefix); default every one recorded, the
        loss first. Each panel shows ``key`` and, when recorded, ``val_<key>``.
    ax : matplotlib Axes or array of Axes, optional
        Where to draw (one Axes per key); by default a new figure with one row of panels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        Without matplotlib (the message says how to install it).
    ValueError
        For an empty history or an unknown key (the message lists the recorded ones).

    Examples
    --------
    >>> import fastmlp as fm
    >>> fig = fm.plot.learning_curves({"loss": [0.9, 0.5, 0.3],
    ...                                "val_loss": [1.0, 0.6, 0.5]})  # doctest: +SKIP
    >>> fig.savefig("curves.png")                                     # doctest: +SKIP
    """
    data = _history_dict(history)
    base = [k for k in data if not k.startswith("val_")]
    base += [k[4:] for k in data if k.startswith("val_") and k[4:] not in base]
    if keys is None:
        keys = sorted(base, key=lambda k: (k != "loss", base.index(k)))
    else:
        unknown = [k for k in keys if k not in base]
        if unknown:
            raise ValueError(f"no recorded quantity {unknown[0]!r}; recorded: "
                             f"{', '.join(base)}")
    plt = _pyplot()
    if ax is None:
        fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.6), squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.atleast_1d(ax).ravel())
        if len(axes) != len(keys):
            raise ValueError(f"ax has {len(axes)} Axes but there are {len(keys)} quantities "
                             f"to draw ({', '.join(keys)})")
        fig = axes[0].figure
    for axis, key in zip(axes, keys):
        for name, label, style in ((key, "train", "-"), (f"val_{key}", "validation", "--")):
            values = data.get(name)
            if values:
                epochs = np.arange(1, len(values) + 1)
                axis.plot(epochs, values, style, marker="o" if len(values) < 30 else None,
                          markersize=3, label=label)
        axis.set_xlabel("epoch")
        axis.set_title(key.replace("_", " "))
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.tight_layout()
    return fig


def decision_boundary(model: Any, X: Any, y: Any | None = None, ax: Any = None,
                      resolution: int = 200, padding: float = 0.1) -> Any:
    """Colour the plane by the class a 2-input classifier predicts, with the data on top.

    For one sigmoid output the background is the predicted probability of class 1 with
    the 0.5 contour drawn; for several outputs each region gets its class's colour.

    Parameters
    ----------
    model : Sequential
        A built classifier with 2 inputs.
    X : array (n_samples, 2)
        Points to draw; they also set the plotted range.
    y : array (n_samples,) of class labels or one-hot rows, optional
        Colours the points.
    ax : matplotlib Axes, optional
        Default: a new figure.
    resolution : int, default 200
        Grid points along each axis.
    padding : float, default 0.1
        Margin around the data, as a fraction of its range.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ImportError
        Without matplotlib.
    ValueError
        If ``X`` does not have exactly 2 columns or the model does not take 2 inputs.

    Examples
    --------
    >>> import fastmlp as fm
    >>> X, y = fm.datasets.make_circles(n_samples=200, noise=0.05, factor=0.5, seed=0)
    >>> model = fm.Sequential([fm.Dense(8, activation="tanh"),
    ...                        fm.Dense(1, activation="sigmoid")], seed=0)
    >>> model.compile(optimizer=fm.optimizers.SGD(0.5), loss="binary_crossentropy")
    >>> _ = model.fit(X, y, epochs=100, verbose=0)
    >>> ax = fm.plot.decision_boundary(model, X, y)                  # doctest: +SKIP
    >>> ax.figure.savefig("boundary.png")                            # doctest: +SKIP
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2-D data: X must have shape (n, 2), got "
                         f"{X.shape}")
    if getattr(model, "input_dim", None) not in (None, 2):
        raise ValueError(f"decision_boundary needs a model with 2 inputs; this one takes "
                         f"{model.input_dim}")
    resolution = check_int("resolution", resolution, 2)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = (hi - lo) * padding + 1e-9
    g0 = np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution)
    g1 = np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    P = np.asarray(model.predict(np.column_stack([G0.ravel(), G1.ravel()])))
    cmap = plt.get_cmap("coolwarm" if P.shape[1] == 1 else "tab10")
    if P.shape[1] == 1:
        Z = P[:, 0].reshape(G0.shape)
        filled = ax.contourf(G0, G1, Z, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.6)
        ax.contour(G0, G1, Z, levels=[0.5], colors="k", linewidths=1.2)
        ax.figure.colorbar(filled, ax=ax, label="P(class 1)")
        n_classes = 2
    else:
        n_classes = P.shape[1]
        Z = P.argmax(axis=1).reshape(G0.shape)
        ax.contourf(G0, G1, Z, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap,
                    vmin=0, vmax=9, alpha=0.35)
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim == 2:
            labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0]
        if labels.shape[0] != X.shape[0]:
            raise ValueError(f"y has {labels.shape[0]} rows but X has {X.shape[0]}")
        labels = labels.astype(np.int64)
        if P.shape[1] == 1:
            colours = cmap(np.where(labels > 0, 1.0, 0.0))
        else:
            colours = cmap(labels % 10)  # tab10 indexed by class, as the regions
        ax.scatter(X[:, 0], X[:, 1], c=colours, edgecolors="k", linewidths=0.5, s=18)
    else:
        ax.scatter(X[:, 0], X[:, 1], c="k", s=8)
    ax.set_xlim(g0[0], g0[-1])
    ax.set_ylim(g1[0], g1[-1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("decision boundary")
    return ax
