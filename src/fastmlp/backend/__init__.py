"""Backend selection: the compiled engine, or the NumPy reference.

``FASTMLP_BACKEND=numpy`` forces the reference; ``FASTMLP_BACKEND=cython`` demands the
compiled engine and raises if it cannot be imported (so CI cannot pass silently on the
reference); unset, the compiled engine is used when it imports, otherwise the NumPy
backend with one clear warning. :func:`use_backend` switches the default for a block of
code, and ``Sequential(..., backend=...)`` fixes it for one model.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import threading
import warnings
from types import ModuleType
from typing import Iterator

from . import _numpy

BACKENDS = ("cython", "numpy")

_compiled: ModuleType | None = None
_compiled_error: Exception | None = None
_local = threading.local()


def _missing_cpu_features() -> list[str]:
    """CPU features a native build was compiled for that this machine lacks (setup.py
    records them in ``_cpu.py``; a portable build records none)."""
    try:
        from ._cpu import REQUIRED
    except ImportError:  # not built (or built before the record existed)
        return []
    if not REQUIRED:
        return []
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return [name for name in REQUIRED if not __cpu_features__.get(name, False)]


def _load_compiled() -> ModuleType | None:
    """The compiled engine module, or None (the reason in ``_compiled_error``). Every
    use of the extension modules goes through here, so that code compiled for CPU
    features this machine lacks is never run."""
    global _compiled, _compiled_error
    if _compiled is None and _compiled_error is None:
        missing = _missing_cpu_features()
        if missing:
            _compiled_error = ImportError(
                "it was built for a CPU with features this one lacks ("
                f"{', '.join(missing)}); rebuild it here with `pip install .`, or build "
                "for several machines with FASTMLP_ARCH=portable")
            return None
        try:
            _compiled = importlib.import_module("fastmlp.backend._engine")
        except ImportError as exc:  # the extension was not built
            _compiled_error = exc
    return _compiled


def _default_name() -> str:
    requested = os.environ.get("FASTMLP_BACKEND", "").strip().lower()
    if requested and requested not in BACKENDS:
        raise ValueError(f"FASTMLP_BACKEND={requested!r} is not a backend; valid backends "
                         f"are: {', '.join(BACKENDS)}")
    if requested == "numpy":
        return "numpy"
    if _load_compiled() is not None:
        return "cython"
    if requested == "cython":
        raise ImportError("FASTMLP_BACKEND=cython but the compiled extension could not be "
                          f"imported ({_compiled_error}); rebuild with `pip install .`")
    # A CPU mismatch says how to rebuild in its own message; only an extension that was
    # never built needs the compiler advice.
    advice = ("" if _missing_cpu_features() else
              " Reinstall with a C compiler available (`pip install .`).")
    warnings.warn("fastmlp: the compiled extension could not be imported "
                  f"({_compiled_error}); using the slower NumPy reference backend."
                  f"{advice}", RuntimeWarning, stacklevel=3)
    return "numpy"


_DEFAULT: str | None = None


def backend() -> str:
    """Name of the active backend: ``"cython"`` or ``"numpy"``.

    Examples
    --------
    >>> import fastmlp
    >>> fastmlp.backend() in ("cython", "numpy")
    True
    """
    global _DEFAULT
    override = getattr(_local, "stack", None)
    if override:
        return override[-1]
    if _DEFAULT is None:
        _DEFAULT = _default_name()
    return _DEFAULT


def available() -> list[str]:
    """Backends that can run in this process.

    Examples
    --------
    >>> import fastmlp
    >>> "numpy" in fastmlp.available_backends()
    True
    """
    return ["cython", "numpy"] if _load_compiled() is not None else ["numpy"]


def check_name(name: str) -> str:
    """Validate a backend name (raising ``ValueError`` listing the valid ones)."""
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; valid backends are: {', '.join(BACKENDS)}")
    name = name.lower()
    if name == "cython" and _load_compiled() is None:
        raise ImportError(f"the compiled backend is not available ({_compiled_error}); "
                          "rebuild with `pip install .`")
    return name


def get(name: str | None = None) -> ModuleType:
    """The backend module (exposing ``NAME`` and ``Engine``) for ``name`` or the default."""
    name = check_name(name) if name is not None else backend()
    return _compiled if name == "cython" else _numpy


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Make ``name`` the default backend inside a ``with`` block (this thread only).

    Models created with an explicit ``backend=`` keep theirs.

    Examples
    --------
    >>> import fastmlp as fm
    >>> with fm.use_backend("numpy"):
    ...     fm.backend()
    'numpy'
    """
    name = check_name(name)
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(name)
    try:
        yield name
    finally:
        stack.pop()
