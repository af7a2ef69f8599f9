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

Progress (bars or lines) goes to standard error; results (tables, predictions) to
standard output. Ctrl-C during ``train --save`` saves the model of the last completed
step before exiting with 130. When the reader of an output goes away (``fastmlp | head``)
the command carries on with its work silently.
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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import fastmlp as fm
from fastmlp.callbacks import _format_value

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


def _delimiter(text: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " ",
             "pipe": "|"}
    value = named.get(text.lower(), text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"expected one character (or tab, comma, semicolon, "
                                         f"space, pipe), got {text!r}")
    return value


def _add_csv_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--delimiter", type=_delimiter, default=None, metavar="CHAR",
                   help="CSV only: the field delimiter, e.g. ';' or tab (default: "
                        "recognised from the file among , ; tab |)")
    p.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                   help="CSV only: the first row names the columns (--header) or is data "
                        "(--no-header) (default: recognised from the file: a header has "
                        "text above a column of numbers)")
    p.add_argument("--drop", action="append", default=None, metavar="COLUMN",
                   help="CSV only: leave this column (name or 0-based index; several "
                        "comma-separated, or the option repeated) out, e.g. an id column")


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
                    "column;\na header row is optional.\n\n"
                    "Units: during training the progress of a regression is in standardized "
                    "target\nunits (each run prints the scale); the final table is in the "
                    "target's own units.\nCtrl-C stops training; with --save the model of "
                    "the last completed step is saved.",
        epilog="examples:\n  fastmlp\n  fastmlp train --data digits --layers 64 "
               "--activation relu --epochs 20\n  fastmlp train --data moons --plot "
               "moons.png\n  fastmlp train --data my.csv --target label --save model.fmlp")
    t.add_argument("--data", "-d", default="breast_cancer", metavar="NAME|CSV",
                   help="a shipped or synthetic data set name, or the path of a CSV file")
    t.add_argument("--target", default=None, metavar="COLUMN",
                   help="CSV only: the target column, by header name or 0-based index "
                        "(default: the column named 'target', else the last one)")
    _add_csv_options(t)
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
                   help="save the trained model here, e.g. model.fmlp (load it with "
                        "fastmlp.load_model or 'fastmlp predict'); on Ctrl-C the model of "
                        "the last completed step is saved")
    t.add_argument("--plot", default=None, metavar="PATH",
                   help="write a PNG with the learning curves (and for 2-D "
                        "classification the decision boundary); needs matplotlib")
    t.set_defaults(func=_train)

    # -- predict ---------------------------------------------------------------------------
    p = sub.add_parser(
        "predict", formatter_class=_Formatter, help="predict with a saved model",
        description="Write a saved model's predictions for every row of a CSV file as CSV.\n\n"
                    "Columns: 'prediction' (the class label the model was trained with for "
                    "a\nclassifier, the value in the target's own units for a regression), "
                    "then for a\nclassifier the probability of each class "
                    "('probability_LABEL'; a binary\nclassifier: of the second class).\n\n"
                    "A model trained on a CSV file with a header takes its features by "
                    "name: the\nfile needs a header with those names, and other columns "
                    "are left out.",
        epilog="example:\n  fastmlp train --save model.fmlp && fastmlp predict model.fmlp "
               "new.csv -o out.csv")
    p.add_argument("model", metavar="MODEL", help="a model file (.fmlp) written by --save or "
                                                  "Sequential.save")
    p.add_argument("data", metavar="DATA",
                   help="a CSV file of features (or a shipped data set name)")
    p.add_argument("--target", default=None, metavar="COLUMN",
                   help="drop this column (name or 0-based index) before predicting; a "
                        "column named 'target' is dropped when the model has one input "
                        "fewer than the file has columns")
    _add_csv_options(p)
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
                    "print\nthe ratio. Each case runs N times, the backends taking turns; "
                    "the table gives\nthe median and the range over the runs, and a "
                    "warning when they spread widely\n(a busy machine). A quick look, not a "
                    "benchmark suite: see benchmarks/ in the\nrepository for that.")
    b.add_argument("--repeat", type=_int_at_least(1), default=5, metavar="N",
                   help="time each case N times, the backends taking turns")
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
    has_header: bool = False
    ignored: list[str] = field(default_factory=list)   # columns left out (predict)


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


#: Delimiters the CSV reader recognises by itself (``--delimiter`` takes any character).
_DELIMITERS = (",", ";", "\t", "|")
#: Lines of a file the reader looks at to recognise its delimiter and header.
_SNIFF_LINES = 50


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields,
    preferring the one that gives the most numeric fields; ',' when none does."""
    best, best_score = ",", None
    for delimiter in _DELIMITERS:
        rows = [row for row in csv.reader(lines, delimiter=delimiter)
                if any(cell.strip() for cell in row)]
        counts = {len(row) for row in rows}
        if not rows or len(counts) != 1 or counts == {1}:
            continue
        numeric = sum(_is_number(cell) for row in rows for cell in row)
        score = (numeric, len(rows[0]))
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


def _sniff_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns: it does when one of its cells is text in a
    column whose other cells are all numbers (so a first row whose only text is a class
    label, like its neighbours', is data)."""
    first, body = rows[0], rows[1:_SNIFF_LINES]
    if not body:
        return not all(_is_number(c) for c in first)
    for j, cell in enumerate(first):
        if _is_number(cell):
            continue
        column = [row[j] for row in body if j < len(row) and row[j] != ""]
        if column and all(_is_number(c) for c in column):
            return True
    return False


def _column_index(spec: str, header: list[str] | None, n_cols: int, path: str,
                  option: str = "") -> int:
    if header is not None and spec in header:
        return header.index(spec)
    try:
        index = int(spec)
    except ValueError:
        names = (", ".join(header) + (" (another delimiter? see --delimiter)"
                                      if len(header) == 1 else "")
                 if header else "(the file has no header row; give a 0-based index, or "
                                "--header if its first row names the columns)")
        raise CLIError(f"{path} has no column {spec!r}{option}; its columns are: "
                       f"{names}") from None
    if not -n_cols <= index < n_cols:
        raise CLIError(f"column index {index}{option} is out of range: {path} has {n_cols} "
                       "columns")
    return index % n_cols


def read_csv(path: str, target: str | None = None, *, want_target: bool = True,
             n_features: int | None = None, delimiter: str | None = None,
             header: bool | None = None, drop: Sequence[str] = (),
             feature_names: Sequence[str] | None = None) -> _Table:
    """Read a CSV file of numbers (header row optional) for training or prediction.

    The delimiter (``,`` ``;`` tab ``|``) and whether the first row is a header are
    recognised from the file unless ``delimiter`` / ``header`` say so; ``drop`` names
    columns (by name or 0-based index) to leave out. With ``want_target``, the target
    column is ``target`` (a name or 0-based index), else the column named ``target``, else
    the last one; its values may be text labels. For prediction (``want_target=False``) a
    given ``target`` column is left out; with ``feature_names`` (those of the model) and a
    header, the features are taken by name and other columns left out (listed in
    ``ignored``); without them, a column named ``target`` is left out when the file has
    exactly one column more than ``n_features``. Problems raise :class:`CLIError` naming
    the line and column.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("a;b;label\\n1;2;yes\\n3;4;no\\n")
    >>> table = read_csv(path, "label")
    >>> table.X.tolist(), table.y.tolist(), table.feature_names
    ([[1.0, 2.0], [3.0, 4.0]], ['yes', 'no'], ['a', 'b'])
    """
    try:
        with _open_text(path) as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise CLIError(f"cannot read {path}: it is not a UTF-8 text CSV file") from None
    except (gzip.BadGzipFile, EOFError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    lines = text.splitlines(keepends=True)
    if delimiter is None:
        delimiter = _sniff_delimiter(lines[:_SNIFF_LINES])
    try:
        rows = [row for row in csv.reader(lines, delimiter=delimiter)
                if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise CLIError(f"{path} is empty")
    rows = [[cell.strip() for cell in row] for row in rows]
    has_header = _sniff_header(rows) if header is None else header
    names_row = rows[0] if has_header else None
    body = rows[1:] if has_header else rows
    if not body:
        raise CLIError(f"{path} has a header row but no data rows")
    n_cols = len(rows[0])
    first_line = 2 if has_header else 1
    for i, row in enumerate(body):
        if len(row) != n_cols:
            raise CLIError(f"{path}, line {first_line + i}: {len(row)} fields, expected "
                           f"{n_cols} like the first line")
    names = names_row if names_row is not None else [f"x{j}" for j in range(n_cols)]
    if n_cols == 1 and (want_target or target is not None or drop):
        raise CLIError(f"{path}: every line is a single field when split at {delimiter!r}; "
                       "if the file uses another delimiter, give it with --delimiter")

    dropped = {_column_index(spec, names_row, n_cols, path, " (--drop)") for spec in drop}
    target_col: int | None = None
    if target is not None:
        target_col = _column_index(target, names_row, n_cols, path)
    elif want_target:
        kept = [j for j in range(n_cols) if j not in dropped]
        target_col = (names.index("target") if "target" in names
                      and names.index("target") not in dropped else kept[-1] if kept else None)
    elif (feature_names is None and n_features is not None
          and n_cols - len(dropped) == n_features + 1 and names_row is not None
          and "target" in names_row):
        target_col = names_row.index("target")
    if want_target and n_cols - len(dropped - {target_col}) < 2:
        raise CLIError(f"{path} has {n_cols - len(dropped)} column(s) to use; it needs "
                       "features and a target" + (" (another delimiter? see --delimiter)"
                                                  if n_cols == 1 else ""))

    feature_cols = [j for j in range(n_cols) if j != target_col and j not in dropped]
    ignored: list[str] = []
    if feature_names is not None and names_row is not None and not want_target:
        missing = [f for f in feature_names if f not in names_row]
        if missing:
            raise CLIError(f"{path} lacks the column(s) {', '.join(map(repr, missing[:5]))}"
                           f"{' ...' if len(missing) > 5 else ''} the model was trained on; "
                           f"it needs: {', '.join(feature_names)}")
        ignored = [names[j] for j in feature_cols if names[j] not in feature_names]
        feature_cols = [names_row.index(f) for f in feature_names]
    X = np.empty((len(body), len(feature_cols)), dtype=np.float64)
    for k, j in enumerate(feature_cols):
        for i, row in enumerate(body):
            cell = row[j]
            try:
                X[i, k] = float(cell)
            except ValueError:
                what = "an empty (missing) value" if cell == "" else f"{cell!r}"
                column = names[j] if names_row is not None else str(j)
                if cell != "" and not any(_is_number(r[j]) for r in body):
                    step = (f"; if it is the target column, leave it out with --target "
                            f"{column}" if not want_target else
                            f"; leave this column out with --drop {column}")
                else:
                    step = "; features must be numeric"
                raise CLIError(f"{path}, line {first_line + i}, column {names[j]!r}: "
                               f"{what} is not a number{step}") from None
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
                  target_name=names[target_col] if target_col is not None else None,
                  has_header=names_row is not None, ignored=ignored)


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


def _label_text(label: Any) -> str:
    """A class label as the command prints and writes it (2, not 2.0)."""
    if isinstance(label, (float, np.floating)):
        return f"{label:g}"
    return str(label)


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


def _csv_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"delimiter": args.delimiter, "header": args.header,
            "drop": [c for spec in args.drop or [] for c in spec.split(",") if c]}


def load_data(args: argparse.Namespace) -> _Data:
    """The data named by ``--data``: shipped, synthetic or a CSV file.

    Examples
    --------
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
        y, task, classes = _encode_target(table.y, args.task, spec)
        return _Data(table.X, y, task, classes, os.path.basename(spec),
                     f"{spec}: target column {table.target_name!r}",
                     table.feature_names if table.has_header else None, table.target_name)
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
        cells.append([name, *(_format_value(values[k]) for k in keys), str(n)])
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
    units = " (curves in standardized target units)" if data.task == "regression" else ""
    fig.suptitle(f"fastmlp on {data.name}{units}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _interrupted(args: argparse.Namespace, model: Any, scaler: Any, y_mean: float | None,
                 y_scale: float | None) -> int:
    """After Ctrl-C during training: save the model of the last completed step when
    --save was given, say where, and return 130."""
    done = len(model.history.epoch) if model.history is not None else 0
    if args.save is None:
        print(f"\nfastmlp: interrupted after {done} completed epoch(s); nothing saved (give "
              "--save PATH to keep the model when you stop early)", file=sys.stderr)
        return 130
    _fold_standardization(model, scaler.mean_, scaler.scale_, y_mean, y_scale)
    model.save(args.save)
    print(f"\nfastmlp: interrupted after {done} completed epoch(s); saved the model of the "
          f"last completed step to {args.save}", file=sys.stderr)
    return 130


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
    if classify:
        model.classes = data.classes   # kept in the model file: predict writes these
    model.feature_names = data.feature_names

    task_text = {"binary": "binary classification", "multiclass": "classification",
                 "regression": "regression"}[data.task]
    if classify:
        shown = [_label_text(c) for c in data.classes[:10]]
        task_text += f" ({len(data.classes)} classes: " + ", ".join(shown) + \
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
          f"backend {model.backend}, {args.dtype}", file=out)
    if y_mean is not None:
        print(f"units     progress in standardized target units: z = (y - {y_mean:.6g}) / "
              f"{y_scale:.6g}\n          (MSE x {y_scale ** 2:.6g}, MAE x {y_scale:.6g} "
              "give the target's own units);\n          the final table is in the "
              "target's own units", file=out)
    out.flush()

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
        try:
            history = model.fit(Z_train, targets(y_train), epochs=args.epochs,
                                batch_size=args.batch_size, validation_data=validation,
                                verbose=verbose, callbacks=callbacks)
        except KeyboardInterrupt:
            # fit stopped between steps: the model holds the last completed step
            return _interrupted(args, model, scaler, y_mean, y_scale)
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
    if data.task == "regression":
        print(f"(in the target's own units: MAE in units of {data.target_name!r}, MSE in "
              "their square; R^2 has none)", file=out)
    else:
        print("(loss: cross-entropy in nats; accuracy: the fraction classified right)",
              file=out)
    stopped = (f", stopped early (best epoch {callbacks[0].best_epoch + 1})"
               if callbacks and callbacks[0].stopped_epoch is not None else "")
    print(f"\n{epochs_run} epochs in {fit_seconds:.2f} s{stopped}; "
          f"{time.perf_counter() - start:.2f} s in all", file=out)
    if args.save is not None:
        model.save(args.save)
        print(f"saved the model to {args.save} (it takes raw, unstandardized features"
              f"{' and gives raw target values' if y_mean is not None else ''})", file=out)
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
    names = model.feature_names
    if not os.path.exists(args.data) and key in fm.datasets.available():
        X = fm.datasets.load(key).data
    else:
        table = read_csv(args.data, args.target, want_target=False,
                         n_features=model.input_dim, feature_names=names,
                         **_csv_options(args))
        X = table.X
        if table.ignored:
            print(f"fastmlp: note: left out the column(s) {', '.join(table.ignored)}: the "
                  "model was not trained on them", file=sys.stderr)
    if model.input_dim is not None and X.shape[1] != model.input_dim:
        hint = (" (leave the target column out with --target NAME, other columns with "
                "--drop NAME)" if X.shape[1] > model.input_dim else "")
        raise CLIError(f"{args.data} has {X.shape[1]} feature columns but the model takes "
                       f"{model.input_dim}{hint}")
    if args.output is not None:
        _check_writable(args.output, "--output")
    with _thread_limit(args.threads):
        P = np.asarray(model.predict(X), dtype=np.float64)
    last = model.layers[-1]
    classes = model.classes
    if last.activation == "softmax" or (last.activation == "sigmoid" and last.units == 1):
        if classes is None:  # a model file without labels: the class indices
            classes = np.arange(max(P.shape[1], 2))
        index = P.argmax(axis=1) if P.shape[1] > 1 else (P[:, 0] >= 0.5).astype(np.intp)
        labels = classes[index]   # as Sequential.predict_labels, from the P at hand
        text = [_label_text(c) for c in classes]
        if P.shape[1] == 1:
            header = ["prediction", f"probability_{text[1]}"]
            columns = [[_label_text(v) for v in labels], [f"{p:.8g}" for p in P[:, 0]]]
        else:
            header = ["prediction", *(f"probability_{t}" for t in text)]
            columns = [[_label_text(v) for v in labels],
                       *([f"{p:.8g}" for p in col] for col in P.T)]
    else:
        header = ["prediction"] if P.shape[1] == 1 else \
            [f"prediction_{k}" for k in range(P.shape[1])]
        columns = [[f"{p:.8g}" for p in col] for col in P.T]
    with _output(args.output) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for i in range(P.shape[0]):
            writer.writerow([c[i] for c in columns])
            if getattr(handle, "reader_gone", False):  # e.g. '| head': stop quietly
                break
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


#: Above this ratio of the slowest to the fastest run of a case, bench warns that the
#: machine was too busy for its medians to mean much.
_BENCH_SPREAD = 1.5


def _bench_model(backend: str, widths: Sequence[int], out_act: str, n: int,
                 dtype: str) -> tuple[Any, np.ndarray, np.ndarray]:
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
    return model, X, y


def _time_epochs(backends: Sequence[str], widths: Sequence[int], out_act: str, batch: int,
                 n: int, dtype: str, repeat: int) -> dict[str, list[float]]:
    """``repeat`` epoch times per backend, the backends taking turns, so that a change of
    load on the machine falls on both."""
    models = {b: _bench_model(b, widths, out_act, n, dtype) for b in backends}
    for model, X, y in models.values():
        model.fit(X, y, epochs=1, batch_size=batch, verbose=0)  # warm-up: build, allocate
    times: dict[str, list[float]] = {b: [] for b in backends}
    for _ in range(repeat):
        for b, (model, X, y) in models.items():
            t0 = time.perf_counter()
            model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
            times[b].append(time.perf_counter() - t0)
    return times


def _milliseconds(seconds: float) -> str:
    """Milliseconds with two decimals below 10 ms, one from there on (0.94, 12.3, 156.5)."""
    ms = 1000 * seconds
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def _spread(values: Sequence[float]) -> float:
    """The slowest run over the fastest."""
    return max(values) / min(values) if min(values) > 0 else math.inf


def _bench(args: argparse.Namespace) -> int:
    backends = fm.available_backends()
    both = len(backends) == 2
    if "cython" not in backends:
        print("fastmlp: warning: the compiled backend is not available; timing the NumPy "
              "reference only", file=sys.stderr)
    print(f"one training epoch, median of {args.repeat} run(s) per backend (taking turns), "
          f"{args.dtype}, backends: {', '.join(backends)}")
    header = ["case", "network", "batch", "rows", *[f"{b} ms" for b in backends]]
    if both:
        header += ["speed-up", "range"]
    table = [header]
    spreads: list[tuple[float, str]] = []
    with _thread_limit(args.threads):
        for regime, widths, out_act, batch, n in _BENCH_CASES:
            times = _time_epochs(backends, widths, out_act, batch, n, args.dtype,
                                 args.repeat)
            row = [regime, "-".join(map(str, widths)), str(batch), str(n),
                   *[_milliseconds(float(np.median(times[b]))) for b in backends]]
            spreads += [(_spread(times[b]), f"{regime} ({b})") for b in backends]
            if both:
                ratios = [nt / ct for nt, ct in zip(times["numpy"], times["cython"])]
                row.append(f"{np.median(ratios):.1f}x")
                row.append(f"{min(ratios):.1f}-{max(ratios):.1f}x")
            table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print("ms: milliseconds per epoch (median of the runs)")
    if both:
        print("speed-up: NumPy time / compiled time, the median over the runs; range: its "
              "lowest\nand highest; measured in this run on this machine")
    worst, where = max(spreads)
    if args.repeat > 1 and worst > _BENCH_SPREAD:
        print(f"fastmlp: warning: the runs of a case differed by up to {worst:.1f}x "
              f"({where}): the machine is busy, so these figures are rough; close other "
              f"programs or try --repeat {max(2 * args.repeat, 10)}", file=sys.stderr)
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
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _QuietPipe(stdout), _QuietPipe(stderr)
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


class _QuietPipe:
    """A text stream that stops writing, silently, once its reader has gone away (a
    closed pipe, e.g. ``fastmlp | head``): the command goes on with its work (training,
    saving) instead of ending with a BrokenPipeError."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.reader_gone = True
        # what is still buffered goes nowhere, so that flushing at exit cannot fail again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _run(args: argparse.Namespace) -> int:
    if os.environ.get("FASTMLP_TRACEBACK", "") not in ("", "0"):
        return int(args.func(args) or 0)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nfastmlp: interrupted", file=sys.stderr)
        return 130
    except CLIError as exc:
        print(f"fastmlp: error: {exc}", file=sys.stderr)
    except BrokenPipeError:   # a reader gone between our checks: nothing left to say
        return 0
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
