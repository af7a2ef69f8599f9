"""``fastmlp predict``: a saved model's predictions for a CSV file, as CSV."""
from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

import fastmlp as fm

from ._common import CLIError, _check_writable, _label_text, _thread_limit
from ._csv import _csv_options, read_csv


def _load_model(path: str) -> Any:
    if not os.path.exists(path):
        raise CLIError(f"cannot read {path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"cannot read {path}: it is a directory, not a model file")
    try:
        return fm.load_model(path)
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise CLIError(f"cannot load a model from {path}: {exc}") from None


def run(args: argparse.Namespace) -> int:
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
        handle = open(path, "w", newline="", encoding="utf-8")  # closed below
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    with handle:
        yield handle
