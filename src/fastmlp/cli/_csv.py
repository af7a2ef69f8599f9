"""The CSV reader of ``fastmlp train --data FILE`` and ``fastmlp predict``."""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import CLIError


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

    Parameters
    ----------
    path : str
        The file; a name ending in ``.gz`` is read through gzip. UTF-8, BOM allowed.
    target : str, optional
        The target column by header name or 0-based index.
    want_target : bool, default True
        Read a target column (training); False reads features only (prediction).
    n_features : int, optional
        The inputs of the model that will predict: decides whether a column named
        ``target`` is left out (prediction without ``feature_names``).
    delimiter : str, optional
        The field delimiter (one character); recognised from the file when not given.
    header : bool, optional
        Whether the first row names the columns; recognised from the file when not given.
    drop : sequence of str, default ()
        Columns to leave out, by name or 0-based index.
    feature_names : sequence of str, optional
        The model's feature names: with a header, these columns are taken in this order.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("a;b;label\\n1;2;yes\\n3;4;no\\n")
    >>> from fastmlp.cli import read_csv
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


def _csv_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"delimiter": args.delimiter, "header": args.header,
            "drop": [c for spec in args.drop or [] for c in spec.split(",") if c]}
