"""The ``fastmlp`` command (also ``python -m fastmlp``).

Commands
--------
``fastmlp [train] [options]``
    Train a multilayer perceptron on a shipped data set, a synthetic one or a CSV file,
    on a held-out split, with a progress bar per epoch and a final table. With no
    arguments at all it trains a binary classifier on the Wisconsin breast-cancer data.
``fastmlp predict MODEL DATA``
    Write a saved model's predictions for a CSV file as CSV.
``fastmlp optimizers [--plot PATH]``
    List the optimizers; draw the trajectories of all of them on a 2-D loss surface.
``fastmlp bench``
    Time the compiled backend against the NumPy reference on three small problems.

Every command explains its options with ``--help``. Mistakes (a wrong option, a file that
cannot be read, a setting the library refuses) end with one line on standard error that
starts with ``fastmlp: error:`` and a non-zero exit status: 2 for a wrong command line, 1
for everything else, 130 after Ctrl-C. Set ``FASTMLP_TRACEBACK=1`` to see the Python
traceback instead.

Progress bars go to standard error; results (tables, predictions) to standard output.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import io
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import fastmlp as fm

__all__ = ["main"]

COMMANDS = ("train", "predict", "optimizers", "bench")

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


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


# ----------------------------------------------------------------------------------------
# argument parsing
# ----------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"fastmlp: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the descriptions' line breaks; add each option's default unless its help
    already speaks of it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or any(action.default is v for v in (None, False,
                                                                     argparse.SUPPRESS))
                or not action.option_strings or action.nargs == 0):
            return text
        return text + " (default: %(default)s)"


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    return parse


def _float_in(low: float, low_inclusive: bool, high: float | None = None
              ) -> Callable[[str], float]:
    """An argparse type: a finite number >= low (or > low), and < high when given."""
    bound = ">=" if low_inclusive else ">"
    wanted = f"in [{low:g}, {high:g})" if high is not None else f"a finite number {bound} {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        ok = math.isfinite(value) and (value >= low if low_inclusive else value > low)
        if not ok or (high is not None and value >= high):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value
    return parse


_positive_float = _float_in(0, low_inclusive=False)
_nonneg_float = _float_in(0, low_inclusive=True)
_fraction = _float_in(0, low_inclusive=True, high=1)


def _layer_sizes(text: str) -> list[int]:
    if text.strip().lower() in ("", "none", "0"):
        return []
    sizes = []
    for part in text.split(","):
        try:
            size = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated layer widths such as 64,32, got {text!r}") from None
        if size < 1:
            raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {text!r}")
        sizes.append(size)
    return sizes


def _batch_size(text: str) -> int | None:
    if text.strip().lower() in ("full", "all", "0"):
        return None
    return _int_at_least(1)(text)


def _add_runtime_options(p: argparse.ArgumentParser, *, backend_help: str) -> None:
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating-point type of weights and computations")
    p.add_argument("--backend", choices=("cython", "numpy"), default=None,
                   help=backend_help)
    p.add_argument("--threads", type=_int_at_least(1), default=None, metavar="N",
                   help="limit BLAS and OpenMP to N threads (default: their own choice; "
                        "uses threadpoolctl when installed)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fastmlp`` command (all sub-commands).

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "--layers", "64,32", "--epochs", "5"])
    >>> args.layers, args.epochs, args.data
    ([64, 32], 5, 'breast_cancer')
    """
    parser = _Parser(
        prog="fastmlp", formatter_class=_Formatter,
        description="Train and run multilayer perceptrons with fastmlp.\n\n"
                    "'train' is the default command: 'fastmlp' alone trains a classifier "
                    "on the\nshipped breast-cancer data, and 'fastmlp --epochs 5' means "
                    "'fastmlp train --epochs 5'.",
        epilog="Run 'fastmlp COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"fastmlp {fm.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # -- train -----------------------------------------------------------------------------
    shipped = ", ".join(fm.datasets.available())
    synthetic = ", ".join(_GENERATORS)
    t = sub.add_parser(
        "train", formatter_class=_Formatter, help="train a model (the default command)",
        description="Train a multilayer perceptron on a held-out split and report loss and "
                    "metrics\non the training, validation and test rows.\n\n"
                    "The test rows are set aside first (stratified for classification), "
                    "then the\nvalidation rows from the rest; features are standardized "
                    "with statistics of\nthe training rows only (and so is a regression "
                    "target). The standardization\nis folded into the first layer's "
                    "weights afterwards, so a saved model takes\nraw features.\n\n"
                    f"Shipped data sets: {shipped}.\nSynthetic (seeded): {synthetic}.\n"
                    "A CSV file needs one row per sample, numeric features, and a target "
                    "column;\na header row is optional.",
        epilog="examples:\n  fastmlp\n  fastmlp train --data digits --layers 64 "
               "--activation relu --epochs 20\n  fastmlp train --data moons --plot "
               "moons.png\n  fastmlp train --data my.csv --target label --save model.npz")
    t.add_argument("--data", "-d", default="breast_cancer", metavar="NAME|CSV",
                   help="a shipped or synthetic data set name, or the path of a CSV file")
    t.add_argument("--target", default=None, metavar="COLUMN",
                   help="CSV only: the target column, by header name or 0-based index "
                        "(default: the column named 'target', else the last one)")
    t.add_argument("--task", choices=("auto", "binary", "multiclass", "regression"),
                   default="auto",
                   help="what to learn; 'auto' takes a target of at most "
                        f"{_MAX_AUTO_CLASSES} distinct whole numbers, or of text labels, "
                        "as classes and anything else as regression")
    t.add_argument("--samples", type=_int_at_least(4), default=400, metavar="N",
                   help="synthetic data sets only: number of samples")
    t.add_argument("--noise", type=_nonneg_float, default=None, metavar="SD",
                   help="synthetic data sets only: noise level (default: one that suits "
                        "each set)")
    t.add_argument("--layers", type=_layer_sizes, default="16", metavar="W1,W2,...",
                   help="widths of the hidden layers, e.g. 64,32; 'none' for no hidden "
                        "layer")
    activations = [a for a in fm.activations.ACTIVATIONS if a != "softmax"]
    t.add_argument("--activation", choices=activations, default="tanh", metavar="NAME",
                   help="activation of the hidden layers: " + ", ".join(activations))
    names = list(fm.optimizers.OPTIMIZERS)
    t.add_argument("--optimizer", choices=names, default="sgd", metavar="NAME",
                   help="optimizer: " + ", ".join(names))
    t.add_argument("--lr", "--learning-rate", type=_positive_float, default=None,
                   dest="lr", metavar="RATE",
                   help="learning rate (default: 0.05 for sgd, the optimizer's own default "
                        "for the others)")
    t.add_argument("--epochs", type=_int_at_least(1), default=30, metavar="N",
                   help="passes over the training rows")
    t.add_argument("--batch-size", type=_batch_size, default=16, metavar="N",
                   help="rows per gradient step; 1 is stochastic gradient descent, 'full' "
                        "full-batch")
    t.add_argument("--val-fraction", type=_fraction, default=0.2, metavar="F",
                   help="fraction of the non-test rows held out for validation")
    t.add_argument("--test-fraction", type=_fraction, default=0.2, metavar="F",
                   help="fraction of all rows held out for the final test")
    t.add_argument("--patience", type=_int_at_least(0), default=0, metavar="N",
                   help="stop early after N epochs without a better validation loss and "
                        "keep the best weights (0: off)")
    t.add_argument("--seed", type=int, default=0,
                   help="seeds the split, the initial weights and the shuffling")
    _add_runtime_options(t, backend_help="'cython' (compiled) or 'numpy' (reference); "
                                         "default: the active backend")
    t.add_argument("--verbose", "-v", type=int, choices=(0, 1, 2), default=None,
                   help="0 silent training, 1 a progress bar per epoch, 2 one line per "
                        "epoch (default: 1 on a terminal, 2 when the output is redirected)")
    t.add_argument("--save", default=None, metavar="PATH",
                   help="save the trained model here (load it with fastmlp.load_model or "
                        "'fastmlp predict')")
    t.add_argument("--plot", default=None, metavar="PATH",
                   help="write a PNG with the learning curves (and for 2-D "
                        "classification the decision boundary); needs matplotlib")
    t.set_defaults(func=_train)

    # -- predict ---------------------------------------------------------------------------
    p = sub.add_parser(
        "predict", formatter_class=_Formatter, help="predict with a saved model",
        description="Write a saved model's predictions for every row of a CSV file as CSV.\n\n"
                    "Columns: 'prediction' (the class index for a classifier, the value for "
                    "a\nregression), then for a classifier the probability of each class.",
        epilog="example:\n  fastmlp train --save model.npz && fastmlp predict model.npz "
               "new.csv -o out.csv")
    p.add_argument("model", metavar="MODEL", help="a model file written by --save or "
                                                  "Sequential.save")
    p.add_argument("data", metavar="DATA",
                   help="a CSV file of features (or a shipped data set name)")
    p.add_argument("--target", default=None, metavar="COLUMN",
                   help="drop this column (name or 0-based index) before predicting; a "
                        "column named 'target' is dropped when the model has one input "
                        "fewer than the file has columns")
    p.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="write here instead of standard output")
    _add_runtime_options(p, backend_help="backend to predict with")
    p.set_defaults(func=_predict)

    # -- optimizers ------------------------------------------------------------------------
    o = sub.add_parser(
        "optimizers", formatter_class=_Formatter, help="list and picture the optimizers",
        description="List the optimizers and their defaults. With --plot, draw every "
                    "optimizer's\npath on a 2-D loss surface in one figure.")
    o.add_argument("--plot", default=None, metavar="PATH", help="write the figure here (PNG)")
    o.add_argument("--steps", type=_int_at_least(1), default=None, metavar="N",
                   help="steps per optimizer (default: fastmlp.trajectories' default)")
    surfaces = _surface_names()
    o.add_argument("--surface", default=None, metavar="NAME", choices=surfaces,
                   help="the 2-D loss surface" + (f": {', '.join(surfaces)}" if surfaces
                                                  else "") + " (default: the first)")
    o.add_argument("--rates", choices=("tuned", "default"), default="tuned",
                   help="'tuned': each optimizer at the learning rate of a grid that "
                        "gives the lowest mean loss along its path; 'default': the "
                        "optimizers' default rates")
    o.set_defaults(func=_optimizers)

    # -- bench -----------------------------------------------------------------------------
    b = sub.add_parser(
        "bench", formatter_class=_Formatter, help="compiled vs NumPy timing",
        description="Time one training epoch of three small problems on each backend and "
                    "print\nthe ratio. A quick look, not a benchmark suite: see benchmarks/ "
                    "in the\nrepository for that.")
    b.add_argument("--repeat", type=_int_at_least(1), default=3, metavar="N",
                   help="time each case N times and keep the fastest")
    b.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating-point type")
    b.add_argument("--threads", type=_int_at_least(1), default=None, metavar="N",
                   help="limit BLAS and OpenMP to N threads (uses threadpoolctl)")
    b.set_defaults(func=_bench)
    return parser


# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------
@dataclass
class _Table:
    """Features read from a CSV file (and the raw target column, when asked for)."""

    X: np.ndarray
    feature_names: list[str]
    y: np.ndarray | None
    target_name: str | None


def _open_text(path: str) -> io.TextIOBase:
    if os.path.isdir(path):
        raise CLIError(f"cannot read {path}: it is a directory, not a CSV file")
    try:
        if path.endswith(".gz"):
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise CLIError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column_index(spec: str, header: list[str] | None, n_cols: int, path: str) -> int:
    if header is not None and spec in header:
        return header.index(spec)
    try:
        index = int(spec)
    except ValueError:
        names = ", ".join(header) if header else "(the file has no header row)"
        raise CLIError(f"{path} has no column {spec!r}; its columns are: {names}") from None
    if not -n_cols <= index < n_cols:
        raise CLIError(f"column index {index} is out of range: {path} has {n_cols} columns")
    return index % n_cols


def read_csv(path: str, target: str | None = None, *, want_target: bool = True,
             n_features: int | None = None) -> _Table:
    """Read a CSV file of numbers (header row optional) for training or prediction.

    With ``want_target``, the target column is ``target`` (a name or 0-based index), else
    the column named ``target``, else the last one; its values may be text labels. For
    prediction (``want_target=False``) a given ``target`` column is dropped, and so is a
    column named ``target`` when the file has exactly one column more than
    ``n_features``. Problems raise :class:`CLIError` naming the line and column.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(path, "w").write("a,b,label\\n1,2,yes\\n3,4,no\\n")
    >>> table = read_csv(path, "label")
    >>> table.X.tolist(), table.y.tolist(), table.feature_names
    ([[1.0, 2.0], [3.0, 4.0]], ['yes', 'no'], ['a', 'b'])
    """
    try:
        with _open_text(path) as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise CLIError(f"cannot read {path}: it is not a UTF-8 text CSV file") from None
    except csv.Error as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise CLIError(f"{path} is empty")
    rows = [[cell.strip() for cell in row] for row in rows]
    header = None if all(_is_number(c) for c in rows[0]) else rows[0]
    body = rows[1:] if header is not None else rows
    if not body:
        raise CLIError(f"{path} has a header row but no data rows")
    n_cols = len(rows[0])
    first_line = 2 if header is not None else 1
    for i, row in enumerate(body):
        if len(row) != n_cols:
            raise CLIError(f"{path}, line {first_line + i}: {len(row)} fields, expected "
                           f"{n_cols} like the first line")
    names = header if header is not None else [f"x{j}" for j in range(n_cols)]

    target_col: int | None = None
    if target is not None:
        target_col = _column_index(target, header, n_cols, path)
    elif want_target:
        target_col = names.index("target") if "target" in names else n_cols - 1
    elif (n_features is not None and n_cols == n_features + 1 and header is not None
          and "target" in header):
        target_col = header.index("target")
    if want_target and n_cols < 2:
        raise CLIError(f"{path} has a single column; it needs features and a target")

    feature_cols = [j for j in range(n_cols) if j != target_col]
    X = np.empty((len(body), len(feature_cols)), dtype=np.float64)
    for i, row in enumerate(body):
        for k, j in enumerate(feature_cols):
            cell = row[j]
            try:
                X[i, k] = float(cell)
            except ValueError:
                what = "an empty (missing) value" if cell == "" else f"{cell!r}"
                raise CLIError(f"{path}, line {first_line + i}, column {names[j]!r}: "
                               f"{what} is not a number; features must be numeric") from None
            if not math.isfinite(X[i, k]):
                raise CLIError(f"{path}, line {first_line + i}, column {names[j]!r}: "
                               f"{cell!r} is not a finite number")
    y = None
    if want_target and target_col is not None:
        y = np.array([row[target_col] for row in body], dtype=object)
        if any(v == "" for v in y):
            line = first_line + next(i for i, v in enumerate(y) if v == "")
            raise CLIError(f"{path}, line {line}: the target {names[target_col]!r} is "
                           "missing")
    return _Table(X=X, feature_names=[names[j] for j in feature_cols], y=y,
                  target_name=names[target_col] if target_col is not None else None)


@dataclass
class _Data:
    X: np.ndarray
    y: np.ndarray               # class indices (int64) or values (float64)
    task: str                   # "binary", "multiclass" or "regression"
    classes: list[str] | None   # name of each class index
    name: str
    description: str


def _encode_target(y_raw: np.ndarray, task: str, source: str) -> tuple[np.ndarray, str,
                                                                        list[str] | None]:
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
    labels = values if values is not None else np.array([str(v) for v in y_raw])
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise CLIError(f"{source}: the target has a single class ({classes[0]!r}); "
                       "classification needs at least two")
    kind = "binary" if len(classes) == 2 else "multiclass"
    if task == "binary" and kind != "binary":
        raise CLIError(f"{source}: --task binary needs 2 classes, the target has "
                       f"{len(classes)}")
    names = [f"{c:g}" if isinstance(c, (float, np.floating)) else str(c) for c in classes]
    return y.astype(np.int64), kind, names


def load_data(args: argparse.Namespace) -> _Data:
    """The data named by ``--data``: shipped, synthetic or a CSV file.

    Examples
    --------
    >>> data = load_data(build_parser().parse_args(["train", "--data", "iris"]))
    >>> data.X.shape, data.task, data.classes
    ((150, 4), 'multiclass', ['setosa', 'versicolor', 'virginica'])
    """
    spec = args.data
    key = spec.lower().replace("-", "_")
    if key in fm.datasets.available():
        ds = fm.datasets.load(key)
        if ds.target_names is None:
            y, task, classes = ds.target.astype(np.float64), "regression", None
        else:
            y = ds.target.astype(np.int64)
            classes = list(ds.target_names)
            task = "binary" if len(classes) == 2 else "multiclass"
        if args.task not in ("auto", task):
            y, task, classes = _encode_target(ds.target.astype(object), args.task, key)
        first_line = ds.description.strip().splitlines()[0]
        return _Data(ds.data, y, task, classes, key, first_line)
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
                     f"synthetic '{key}' data (noise {noise:g}, seed {args.seed})")
    if os.path.exists(spec) or spec.endswith((".csv", ".csv.gz", ".txt")):
        table = read_csv(spec, args.target)
        y, task, classes = _encode_target(table.y, args.task, spec)
        return _Data(table.X, y, task, classes, os.path.basename(spec),
                     f"{spec}: target column {table.target_name!r}")
    raise CLIError(f"unknown data set {spec!r}: give a shipped name "
                   f"({', '.join(fm.datasets.available())}), a synthetic one "
                   f"({', '.join(_GENERATORS)}) or the path of a CSV file")


# ----------------------------------------------------------------------------------------
# runtime: threads, matplotlib
# ----------------------------------------------------------------------------------------
def _thread_limit(n: int | None) -> contextlib.AbstractContextManager:
    """A context limiting BLAS/OpenMP thread pools to ``n`` (no-op for ``None``)."""
    if n is None:
        return contextlib.nullcontext()
    setter = getattr(fm, "set_num_threads", None)
    if setter is not None:
        setter(n)
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("fastmlp: warning: --threads needs threadpoolctl (pip install threadpoolctl); "
              "set OMP_NUM_THREADS and OPENBLAS_NUM_THREADS before starting instead",
              file=sys.stderr)
        return contextlib.nullcontext()
    return threadpool_limits(limits=n)


def _pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or a CLIError saying what to do."""
    try:
        import matplotlib
    except ImportError:
        raise CLIError('--plot needs matplotlib: pip install "fastmlp[plot]"') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _check_writable(path: str, option: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{option} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise CLIError(f"{option} {path}: is a directory")
    if not os.access(folder, os.W_OK):
        raise CLIError(f"{option} {path}: the folder {folder} is not writable")


# ----------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------
def _make_optimizer(name: str, lr: float | None) -> Any:
    cls = fm.optimizers.OPTIMIZERS[name]
    if lr is None:
        return cls(learning_rate=0.05) if name == "sgd" else cls()
    return cls(learning_rate=lr)


def _fold_standardization(model: Any, mean: np.ndarray, scale: np.ndarray,
                          y_mean: float | None, y_scale: float | None) -> None:
    """Rewrite the weights so the model takes raw features (and gives raw targets).

    With ``z = (x - mean) / scale``, ``z @ W + b = x @ (W / scale[:, None]) +
    (b - (mean / scale) @ W)``; a standardized regression output ``t`` becomes
    ``t * y_scale + y_mean`` by scaling the last layer's ``W`` and ``b``.
    """
    weights = [w.astype(np.float64) for w in model.get_weights()]
    W, b = weights[0], weights[1]
    weights[0] = W / scale[:, None]
    weights[1] = b - (mean / scale) @ W
    if y_mean is not None:
        last = sum(len(layer.params) for layer in model.layers[:-1])
        weights[last] = weights[last] * y_scale
        weights[last + 1] = weights[last + 1] * y_scale + y_mean
    model.set_weights(weights)


def _format_table(rows: list[tuple[str, dict[str, float], int]], keys: list[str],
                  headers: list[str]) -> str:
    cells = [["", *headers, "samples"]]
    for name, values, n in rows:
        cells.append([name, *(f"{values[k]:.4f}" for k in keys), str(n)])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for r, row in enumerate(cells):
        line = row[0].ljust(widths[0]) + "".join(
            "  " + cell.rjust(w) for cell, w in zip(row[1:], widths[1:]))
        lines.append(line)
        if r == 0:
            lines.append("-" * len(line))
    return "\n".join(lines)


def _describe_model(model: Any) -> str:
    parts = [f"Dense({layer.units}, {layer.activation})" for layer in model.layers]
    return " -> ".join(parts) + f"   ({model.count_params():,} parameters)"


def _write_training_plot(path: str, history: Any, model: Any, data: _Data,
                         X_train: np.ndarray, y_train: np.ndarray) -> None:
    plt = _pyplot()
    keys = [k for k in history.history if not k.startswith("val_")]
    boundary = data.X.shape[1] == 2 and data.task != "regression"
    n = len(keys) + int(boundary)
    fig, axes = plt.subplots(1, n, figsize=(4.8 * n, 4.0), squeeze=False)
    axes = list(axes[0])
    fm.plot.learning_curves(history, keys=keys, ax=axes[:len(keys)])
    if boundary:
        fm.plot.decision_boundary(model, X_train, y_train, ax=axes[-1])
        axes[-1].set_title("decision boundary (training rows)")
    fig.suptitle(f"fastmlp on {data.name}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _train(args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.patience > 0 and args.val_fraction == 0:
        raise CLIError("--patience needs validation rows (--val-fraction > 0)")
    if args.save is not None:
        _check_writable(args.save, "--save")
        if not hasattr(fm.Sequential, "save"):
            raise CLIError("--save needs Sequential.save, which this build of fastmlp "
                           "does not have")
    if args.plot is not None:
        _check_writable(args.plot, "--plot")
        _pyplot()
    start = time.perf_counter()
    data = load_data(args)
    n, d = data.X.shape
    rng = np.random.default_rng(args.seed)
    classify = data.task != "regression"
    stratify = data.y if classify else None

    if args.test_fraction > 0:
        X_rest, X_test, y_rest, y_test = fm.train_test_split(
            data.X, data.y, test_size=args.test_fraction, stratify=stratify, seed=rng)
    else:
        X_rest, X_test, y_rest, y_test = data.X, None, data.y, None
    if args.val_fraction > 0:
        X_train, X_val, y_train, y_val = fm.train_test_split(
            X_rest, y_rest, test_size=args.val_fraction,
            stratify=y_rest if classify else None, seed=rng)
    else:
        X_train, X_val, y_train, y_val = X_rest, None, y_rest, None

    scaler = fm.StandardScaler().fit(X_train)
    y_mean = y_scale = None
    if data.task == "regression":
        y_mean = float(np.mean(y_train))
        y_scale = float(np.std(y_train)) or 1.0

    def targets(y: np.ndarray) -> np.ndarray:
        return (y - y_mean) / y_scale if y_mean is not None else y

    if data.task == "binary":
        head, loss, metrics = fm.Dense(1, activation="sigmoid"), "binary_crossentropy", \
            ["accuracy"]
    elif data.task == "multiclass":
        head, loss, metrics = (fm.Dense(len(data.classes), activation="softmax"),
                               "sparse_categorical_crossentropy", ["accuracy"])
    else:
        head, loss, metrics = fm.Dense(1), "mean_squared_error", ["mean_absolute_error", "r2"]
    layers = [fm.Dense(w, activation=args.activation) for w in args.layers] + [head]
    model = fm.Sequential(layers, seed=args.seed, dtype=args.dtype, backend=args.backend)
    model.build(d)
    optimizer = _make_optimizer(args.optimizer, args.lr)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)

    task_text = {"binary": "binary classification", "multiclass": "classification",
                 "regression": "regression"}[data.task]
    if classify:
        task_text += f" ({len(data.classes)} classes: " + ", ".join(data.classes[:10]) + \
            (", ..." if len(data.classes) > 10 else "") + ")"
    split = f"{len(X_train)} train"
    if X_val is not None:
        split += f" / {len(X_val)} validation"
    if X_test is not None:
        split += f" / {len(X_test)} test"
    print(f"data      {data.name}: {n} samples, {d} features, {task_text}", file=out)
    print(f"          {data.description}", file=out)
    print(f"split     {split}{' (stratified)' if classify else ''}, seed {args.seed}; "
          f"standardized with training statistics", file=out)
    print(f"model     {_describe_model(model)}", file=out)
    batch = "full batch" if args.batch_size is None else f"batch {args.batch_size}"
    print(f"training  {model.optimizer!r}, loss {loss}, {args.epochs} epochs, {batch}, "
          f"backend {model.backend}, {args.dtype}", file=out, flush=True)

    callbacks = []
    if args.patience > 0:
        callbacks.append(fm.callbacks.EarlyStopping(patience=args.patience,
                                                    restore_best_weights=True))
    verbose = args.verbose
    if verbose is None:
        verbose = 1 if sys.stderr.isatty() else 2
    Z_train = scaler.transform(X_train)
    validation = (scaler.transform(X_val), targets(y_val)) if X_val is not None else None
    with _thread_limit(args.threads):
        t0 = time.perf_counter()
        history = model.fit(Z_train, targets(y_train), epochs=args.epochs,
                            batch_size=args.batch_size, validation_data=validation,
                            verbose=verbose, callbacks=callbacks)
        fit_seconds = time.perf_counter() - t0
        _fold_standardization(model, scaler.mean_, scaler.scale_, y_mean, y_scale)
        rows = [("train", model.evaluate(X_train, y_train, return_dict=True), len(X_train))]
        if X_val is not None:
            rows.append(("validation", model.evaluate(X_val, y_val, return_dict=True), len(X_val)))
        if X_test is not None:
            rows.append(("test", model.evaluate(X_test, y_test, return_dict=True), len(X_test)))

    epochs_run = len(history.epoch)
    sys.stderr.flush()
    print(file=out)
    if data.task == "regression":
        keys, headers = ["loss", "mean_absolute_error", "r2"], ["MSE", "MAE", "R^2"]
    else:
        keys, headers = ["loss", "accuracy"], ["loss", "accuracy"]
    print(_format_table(rows, keys, headers), file=out)
    stopped = (f", stopped early (best epoch {callbacks[0].best_epoch + 1})"
               if callbacks and callbacks[0].stopped_epoch is not None else "")
    print(f"\n{epochs_run} epochs in {fit_seconds:.2f} s{stopped}; "
          f"{time.perf_counter() - start:.2f} s in all", file=out)
    if args.save is not None:
        model.save(args.save)
        print(f"saved the model to {args.save} (it takes raw, unstandardized features)",
              file=out)
    if args.plot is not None:
        _write_training_plot(args.plot, history, model, data, X_train, y_train)
        print(f"wrote {args.plot}", file=out)
    return 0


# ----------------------------------------------------------------------------------------
# predict
# ----------------------------------------------------------------------------------------
def _load_model(path: str) -> Any:
    loader = getattr(fm, "load_model", None)
    if loader is None:
        raise CLIError("predict needs fastmlp.load_model, which this build of fastmlp does "
                       "not have")
    if not os.path.exists(path):
        raise CLIError(f"cannot read {path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"cannot read {path}: it is a directory, not a model file")
    try:
        return loader(path)
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise CLIError(f"cannot load a model from {path}: {exc}") from None


def _predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    if args.backend is not None:
        model.backend = args.backend
    key = args.data.lower().replace("-", "_")
    if not os.path.exists(args.data) and key in fm.datasets.available():
        X = fm.datasets.load(key).data
    else:
        X = read_csv(args.data, args.target, want_target=False,
                     n_features=model.input_dim).X
    if model.input_dim is not None and X.shape[1] != model.input_dim:
        hint = (" (drop the target column with --target NAME)"
                if X.shape[1] == model.input_dim + 1 else "")
        raise CLIError(f"{args.data} has {X.shape[1]} feature columns but the model takes "
                       f"{model.input_dim}{hint}")
    if args.output is not None:
        _check_writable(args.output, "--output")
    with _thread_limit(args.threads):
        P = np.asarray(model.predict(X), dtype=np.float64)
    last = model.layers[-1]
    if last.activation == "sigmoid" and last.units == 1:
        header = ["prediction", "probability"]
        columns = [(P[:, 0] >= 0.5).astype(np.int64), P[:, 0]]
    elif last.activation == "softmax":
        header = ["prediction", *(f"probability_{k}" for k in range(P.shape[1]))]
        columns = [P.argmax(axis=1), *P.T]
    else:
        header = ["prediction"] if P.shape[1] == 1 else \
            [f"prediction_{k}" for k in range(P.shape[1])]
        columns = list(P.T)
    with _output(args.output) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for i in range(P.shape[0]):
            writer.writerow([str(c[i]) if c.dtype.kind == "i" else f"{c[i]:.8g}"
                             for c in columns])
    if args.output is not None:
        print(f"wrote {P.shape[0]} predictions to {args.output}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[Any]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        handle = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    with handle:
        yield handle


# ----------------------------------------------------------------------------------------
# optimizers
# ----------------------------------------------------------------------------------------
def _surface_names() -> list[str] | None:
    """Names of the loss surfaces of :mod:`fastmlp.trajectories` (None without it)."""
    try:
        from fastmlp.trajectories import SURFACES
    except ImportError:
        return None
    return list(SURFACES)


def _optimizers(args: argparse.Namespace) -> int:
    rows = []
    for name, cls in fm.optimizers.OPTIMIZERS.items():
        config = cls().get_config()
        rows.append((name, cls.__name__, ", ".join(f"{k}={v:g}" if isinstance(v, float)
                                                   else f"{k}={v}"
                                                   for k, v in config.items())))
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    print("name".ljust(width[0]) + "  " + "class".ljust(width[1]) + "  defaults")
    for name, cls_name, config in rows:
        print(name.ljust(width[0]) + "  " + cls_name.ljust(width[1]) + "  " + config)
    if args.plot is None:
        return 0
    _check_writable(args.plot, "--plot")
    _pyplot()
    try:
        from fastmlp.trajectories import plot_trajectories
    except ImportError:
        raise CLIError("--plot needs fastmlp.trajectories, which this build of fastmlp "
                       "does not have") from None
    kwargs: dict[str, Any] = {"learning_rates": args.rates}
    if args.steps is not None:
        kwargs["steps"] = args.steps
    if args.surface is not None:
        kwargs["surface"] = args.surface
    plot_trajectories(args.plot, **kwargs)
    print(f"wrote {args.plot}")
    return 0


# ----------------------------------------------------------------------------------------
# bench
# ----------------------------------------------------------------------------------------
#: (regime, layer widths incl. input and output, output activation, batch size, rows)
_BENCH_CASES = (
    ("tiny, SGD", (2, 8, 1), "sigmoid", 1, 2000),
    ("mid, mini-batch", (32, 64, 64, 1), "sigmoid", 32, 4096),
    ("wide, large batch", (256, 512, 10), "softmax", 256, 2048),
)


def _time_epoch(backend: str, widths: Sequence[int], out_act: str, batch: int, n: int,
                dtype: str, repeat: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, widths[0]))
    if out_act == "softmax":
        y, loss = rng.integers(0, widths[-1], size=n), "sparse_categorical_crossentropy"
    else:
        y, loss = (X[:, 0] > 0).astype(np.int64), "binary_crossentropy"
    layers = [fm.Dense(w, activation="tanh") for w in widths[1:-1]]
    layers.append(fm.Dense(widths[-1], activation=out_act))
    model = fm.Sequential(layers, seed=0, dtype=dtype, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.01), loss=loss)
    model.fit(X, y, epochs=1, batch_size=batch, verbose=0)  # warm-up: build, allocate
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
        best = min(best, time.perf_counter() - t0)
    return best


def _milliseconds(seconds: float) -> str:
    """Milliseconds with two decimals below 10 ms, one from there on (0.94, 12.3, 156.5)."""
    ms = 1000 * seconds
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def _bench(args: argparse.Namespace) -> int:
    backends = fm.available_backends()
    if "cython" not in backends:
        print("fastmlp: warning: the compiled backend is not available; timing the NumPy "
              "reference only", file=sys.stderr)
    print(f"one training epoch, best of {args.repeat}, {args.dtype}, backends: "
          f"{', '.join(backends)}")
    header = ["case", "network", "batch", "rows", *[f"{b} ms" for b in backends]]
    if len(backends) == 2:
        header.append("speed-up")
    table = [header]
    with _thread_limit(args.threads):
        for regime, widths, out_act, batch, n in _BENCH_CASES:
            times = {b: _time_epoch(b, widths, out_act, batch, n, args.dtype, args.repeat)
                     for b in backends}
            row = [regime, "-".join(map(str, widths)), str(batch), str(n),
                   *[_milliseconds(times[b]) for b in backends]]
            if len(backends) == 2:
                row.append(f"{times['numpy'] / times['cython']:.1f}x")
            table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print("speed-up = NumPy time / compiled time, measured in this run on this machine")
    return 0


# ----------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastmlp`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 1 for a problem with the data, files or
    settings, 2 for a wrong command line (from argparse), 130 after Ctrl-C.

    Examples
    --------
    >>> from fastmlp.cli import main
    >>> status = main(["optimizers"])                          # doctest: +ELLIPSIS
    name ... defaults
    ...
    >>> status
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv.insert(0, "train")
    elif argv[0] not in COMMANDS and not argv[0].startswith("-"):
        print(f"fastmlp: error: unknown command {argv[0]!r}; commands are: "
              f"{', '.join(COMMANDS)} (see 'fastmlp --help')", file=sys.stderr)
        return 2
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if os.environ.get("FASTMLP_TRACEBACK", "") not in ("", "0"):
        return int(args.func(args) or 0)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nfastmlp: interrupted", file=sys.stderr)
        return 130
    except CLIError as exc:
        print(f"fastmlp: error: {exc}", file=sys.stderr)
    except (ValueError, TypeError, OSError, ImportError, RuntimeError,
            FloatingPointError, MemoryError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"fastmlp: error: {message}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - a bug: still one line, with a way to see more
        print(f"fastmlp: error: unexpected {type(exc).__name__}: {exc} (set "
              "FASTMLP_TRACEBACK=1 to see the traceback)", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
