"""The argument parser of the ``fastmlp`` command and the types of its options."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

import fastmlp as fm
from fastmlp.trajectories import SURFACES

from . import _bench, _optimizers, _predict, _train
from ._data import _GENERATORS, _MAX_AUTO_CLASSES

COMMANDS = ("train", "predict", "optimizers", "bench")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
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
    t.set_defaults(func=_train.run)

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
    p.set_defaults(func=_predict.run)

    # -- optimizers ------------------------------------------------------------------------
    o = sub.add_parser(
        "optimizers", formatter_class=_Formatter, help="list and picture the optimizers",
        description="List the optimizers and their defaults. With --plot, draw every "
                    "optimizer's\npath on a 2-D loss surface in one figure.")
    o.add_argument("--plot", default=None, metavar="PATH", help="write the figure here (PNG)")
    o.add_argument("--steps", type=_int_at_least(1), default=None, metavar="N",
                   help="steps per optimizer (default: fastmlp.trajectories' default)")
    surfaces = list(SURFACES)
    o.add_argument("--surface", default=None, metavar="NAME", choices=surfaces,
                   help=f"the 2-D loss surface: {', '.join(surfaces)} (default: the first)")
    o.add_argument("--rates", choices=("tuned", "default"), default="tuned",
                   help="'tuned': each optimizer at the learning rate of a grid that "
                        "gives the lowest mean loss along its path; 'default': the "
                        "optimizers' default rates")
    o.set_defaults(func=_optimizers.run)

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
    b.set_defaults(func=_bench.run)
    return parser
