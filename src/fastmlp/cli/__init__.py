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
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

from ._common import CLIError
from ._csv import read_csv
from ._data import load_data
from ._parser import COMMANDS, build_parser

__all__ = ["COMMANDS", "CLIError", "build_parser", "load_data", "main", "read_csv"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastmlp`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 1 for a problem with the data, files or
    settings, 2 for a wrong command line (from argparse), 130 after Ctrl-C.

    Parameters
    ----------
    argv : sequence of str, optional
        The command line after the program name, e.g. ``["train", "--epochs", "5"]``; an
        empty one (or one that starts with an option) means ``train``.

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
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
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
    except Exception as exc:  # a bug: still one line, with a way to see more
        print(f"fastmlp: error: unexpected {type(exc).__name__}: {exc} (set "
              "FASTMLP_TRACEBACK=1 to see the traceback)", file=sys.stderr)
    return 1


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
