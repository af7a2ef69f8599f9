"""The data named by ``--data``: a shipped data set, a synthetic one or a CSV file."""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import fastmlp as fm

from ._common import CLIError
from ._csv import _csv_options, _is_number, read_csv

#: Synthetic data sets the ``--data`` option accepts: name -> (task, generator(n, noise,
#: seed), default noise).
_GENERATORS: dict[str, tuple[str, Callable[..., Any], float]] = {
    "moons": ("classification",
              lambda n, noise, seed: fm.datasets.make_moons(n, noise=noise, seed=seed), 0.2),
    "circles": ("classification",
                lambda n, noise, seed: fm.datasets.make_circles(n, noise=noise, factor=0.5,
                                                                seed=seed), 0.1),
    "xor": ("classification",
            lambda n, noise, seed: fm.datasets.make_xor(n, noise=noise, seed=seed), 0.3),
    "spirals": ("classification",
                lambda n, noise, seed: fm.datasets.make_spirals(n, noise=noise, seed=seed),
                0.1),
    "blobs": ("classification",
              lambda n, noise, seed: fm.datasets.make_blobs(n, centers=3,
                                                            cluster_std=max(noise, 1e-6),
                                                            seed=seed), 1.0),
    "linear": ("regression",
               lambda n, noise, seed: fm.datasets.make_regression(n, n_features=2,
                                                                  noise=noise, seed=seed),
               1.0),
}

#: At most this many distinct whole-number target values make ``--task auto`` choose
#: classification for a CSV file.
_MAX_AUTO_CLASSES = 20


@dataclass
class _Data:
    X: np.ndarray
    y: np.ndarray               # class indices (int64) or values (float64)
    task: str                   # "binary", "multiclass" or "regression"
    classes: np.ndarray | None  # the label of each class index (ints, floats or strings)
    name: str
    description: str
    feature_names: list[str] | None = None
    target_name: str | None = None


def _encode_target(y_raw: np.ndarray, task: str, source: str) -> tuple[np.ndarray, str,
                                                                        np.ndarray | None]:
    numeric = all(_is_number(str(v)) for v in y_raw)
    values = np.array([float(v) for v in y_raw]) if numeric else None
    if task == "auto":
        few_whole_numbers = values is not None and bool(
            np.all(values == np.round(values)) and len(np.unique(values)) <= _MAX_AUTO_CLASSES)
        if values is None or few_whole_numbers:
            task = "classification"
        else:
            task = "regression"
    if task == "regression":
        if values is None:
            bad = next(v for v in y_raw if not _is_number(str(v)))
            raise CLIError(f"{source}: regression needs a numeric target, found {bad!r}")
        if not np.all(np.isfinite(values)):
            raise CLIError(f"{source}: the target holds non-finite values")
        return values, "regression", None
    if values is None:
        labels = np.array([str(v) for v in y_raw])
    elif np.all(values == np.round(values)) and np.all(np.abs(values) < 2 ** 53):
        labels = values.astype(np.int64)   # ratings 1..5 stay 1..5, not 1.0..5.0
    else:
        labels = values
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise CLIError(f"{source}: the target has a single class ({classes[0]!r}); "
                       "classification needs at least two")
    kind = "binary" if len(classes) == 2 else "multiclass"
    if task == "binary" and kind != "binary":
        raise CLIError(f"{source}: --task binary needs 2 classes, the target has "
                       f"{len(classes)}")
    return y.astype(np.int64), kind, classes


def load_data(args: argparse.Namespace) -> _Data:
    """The data named by ``--data``: shipped, synthetic or a CSV file.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``fastmlp train`` (:func:`build_parser`): ``--data`` and the
        options that shape it (``--target``, ``--task``, ``--samples``, ``--noise``,
        ``--seed``, ``--delimiter``, ``--header``, ``--drop``).

    Examples
    --------
    >>> from fastmlp.cli import build_parser, load_data
    >>> data = load_data(build_parser().parse_args(["train", "--data", "iris"]))
    >>> data.X.shape, data.task, data.classes.tolist()
    ((150, 4), 'multiclass', ['setosa', 'versicolor', 'virginica'])
    """
    spec = args.data
    key = spec.lower().replace("-", "_")
    csv_given = (args.delimiter is not None or args.header is not None or args.drop)
    if csv_given and (key in fm.datasets.available() or key in _GENERATORS):
        raise CLIError("--delimiter, --header/--no-header and --drop apply to CSV files, "
                       f"not to the data set {key!r}")
    if key in fm.datasets.available():
        ds = fm.datasets.load(key)
        if ds.target_names is None:
            y, task, classes = ds.target.astype(np.float64), "regression", None
        else:
            y = ds.target.astype(np.int64)
            classes = np.array([str(c) for c in ds.target_names])
            task = "binary" if len(classes) == 2 else "multiclass"
        if args.task not in ("auto", task):
            y, task, classes = _encode_target(ds.target.astype(object), args.task, key)
        first_line = ds.description.strip().splitlines()[0]
        # no feature names: a CSV of these features may name its columns as it likes
        return _Data(ds.data, y, task, classes, key, first_line, None, "target")
    if key in _GENERATORS:
        kind, make, default_noise = _GENERATORS[key]
        noise = default_noise if args.noise is None else args.noise
        X, y_raw = make(args.samples, noise, args.seed)
        if kind == "regression":
            y, task, classes = np.asarray(y_raw, dtype=np.float64), "regression", None
            if args.task not in ("auto", "regression"):
                raise CLIError(f"the synthetic set {key!r} is a regression problem")
        else:
            y, task, classes = _encode_target(np.asarray(y_raw).astype(object),
                                              "auto" if args.task == "auto" else args.task,
                                              key)
        return _Data(np.asarray(X, dtype=np.float64), y, task, classes, key,
                     f"synthetic '{key}' data (noise {noise:g}, seed {args.seed})",
                     None, "y")
    if os.path.exists(spec) or spec.endswith((".csv", ".csv.gz", ".txt")):
        table = read_csv(spec, args.target, **_csv_options(args))
        assert table.y is not None, "read_csv reads the target column by default"
        y, task, classes = _encode_target(table.y, args.task, spec)
        return _Data(table.X, y, task, classes, os.path.basename(spec),
                     f"{spec}: target column {table.target_name!r}",
                     table.feature_names if table.has_header else None, table.target_name)
    raise CLIError(f"unknown data set {spec!r}: give a shipped name "
                   f"({', '.join(fm.datasets.available())}), a synthetic one "
                   f"({', '.join(_GENERATORS)}) or the path of a CSV file")
