"""What the commands share: the error a user can fix, thread limits, matplotlib, checks
of output paths, and how class labels are printed."""
from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np

import fastmlp as fm


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exit status 1.

    Examples
    --------
    >>> from fastmlp.cli import CLIError, read_csv
    >>> try:
    ...     read_csv("no-such-file.csv")
    ... except CLIError as exc:
    ...     print(exc)
    cannot read no-such-file.csv: no such file
    """



def _thread_limit(n: int | None) -> contextlib.AbstractContextManager[None]:
    """Limit BLAS and OpenMP to ``n`` threads (:func:`fastmlp.set_num_threads`); no change
    for ``None``. Returns a context, so that the commands read the same either way."""
    if n is not None:
        fm.set_num_threads(n)
    return contextlib.nullcontext()


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



def _label_text(label: Any) -> str:
    """A class label as the command prints and writes it (2, not 2.0)."""
    if isinstance(label, (float, np.floating)):
        return f"{label:g}"
    return str(label)
