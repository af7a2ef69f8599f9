"""What this installation runs: the backend, the CPU level of the compiled code, the BLAS
library and the thread counts (:func:`show_config`)."""
from __future__ import annotations

import importlib
import os
import platform
import sys
from typing import Any, TextIO

_STDOUT: Any = object()   # the default of show_config: sys.stdout at call time


def _package():
    """The ``fastmlp.backend`` package (``fastmlp.backend`` the attribute is a function)."""
    return importlib.import_module("fastmlp.backend")


def _blas_info() -> dict[str, Any] | None:
    """threadpoolctl's record of the BLAS library the compiled engine calls (None without
    the compiled backend, or when the library cannot be identified)."""
    from threadpoolctl import threadpool_info

    package = _package()
    if package._load_compiled() is None:
        return None
    path = package._blas.blas_library_path()
    blas = [entry for entry in threadpool_info() if entry.get("user_api") == "blas"]
    for entry in blas:
        if path and os.path.realpath(entry["filepath"]) == os.path.realpath(path):
            return entry
    return {"filepath": path, "internal_api": "unknown", "version": None,
            "num_threads": package._blas.blas_threads()} if path else None


def show_config(file: TextIO | None = _STDOUT) -> dict[str, Any]:
    """Print and return what this installation of fastmlp runs on.

    Parameters
    ----------
    file : file-like or None, default sys.stdout
        Where to print the report; ``None`` prints nothing.

    Returns
    -------
    dict
        ``version``, ``python``, ``machine``, ``backend`` (the default backend),
        ``cpu_level`` (the x86-64 level of the loaded compiled code: ``"baseline"``,
        ``"avx2"`` or ``"avx512"``; None without it), ``cpu_levels_supported`` (by this
        CPU), ``cpu_levels_built`` (by this build), ``forced_level`` (the value of
        ``FASTMLP_CPU_LEVEL``, or None), ``blas`` (threadpoolctl's record of the BLAS
        library the engine calls: ``internal_api``, ``version``, ``architecture``,
        ``num_threads``, ``filepath``; None without the compiled backend), ``openmp``
        (whether the engine was built with OpenMP) and ``threads`` (see
        :func:`fastmlp.get_num_threads`).

    Examples
    --------
    >>> import fastmlp as fm
    >>> info = fm.show_config(file=None)
    >>> info["backend"] in ("cython", "numpy")
    True
    """
    from ._version import __version__
    from ._threads import get_num_threads
    from .backend import backend

    package = _package()
    supported, built = package.cpu_levels()
    engine = package._load_compiled()
    info: dict[str, Any] = {
        "version": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "backend": backend(),
        "cpu_level": package.cpu_level(),
        "cpu_levels_supported": supported,
        "cpu_levels_built": built,
        "forced_level": os.environ.get(package.LEVEL_VARIABLE) or None,
        "blas": _blas_info(),
        "openmp": bool(engine is not None and engine.openmp_enabled()),
        "threads": get_num_threads(),
    }
    if file is _STDOUT:
        file = sys.stdout
    if file is not None:
        blas = info["blas"]
        blas_text = ("none (NumPy backend)" if blas is None else
                     f"{blas.get('internal_api')} {blas.get('version') or ''} "
                     f"({blas.get('architecture') or 'unknown kernel'}, "
                     f"{blas.get('num_threads')} threads) {blas.get('filepath')}")
        level = info["cpu_level"] or "none"
        if info["forced_level"]:
            level += f" (forced by {package.LEVEL_VARIABLE})"
        lines = [
            f"fastmlp {info['version']} on Python {info['python']} ({info['machine']})",
            f"backend:    {info['backend']}",
            f"cpu_level:  {level}; this CPU supports {', '.join(supported) or 'none'}, "
            f"this build has {', '.join(built) or 'none'}",
            f"blas:       {blas_text}",
            f"openmp:     {'yes' if info['openmp'] else 'no'}",
            f"threads:    {info['threads']}",
        ]
        print("\n".join(lines), file=file)
    return info
