"""What this installation runs: the backend, the CPU level of the compiled code, the BLAS
library and the thread counts (:func:`show_config`); the choice of BLAS provider
(:func:`set_blas`, :func:`get_blas`)."""
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
    """The BLAS library the compiled engine calls: threadpoolctl's record of it (when
    threadpoolctl knows the library) with ``provider`` (see :func:`set_blas`) and
    ``config`` (the library's own version or configuration string) added; None without
    the compiled backend."""
    from threadpoolctl import threadpool_info

    package = _package()
    if package._load_compiled() is None:
        return None
    blas = package._blas
    path = blas.blas_library_path()
    record: dict[str, Any] = {"filepath": path, "internal_api": "unknown", "version": None,
                              "num_threads": blas.blas_threads()}
    for entry in threadpool_info():
        if (entry.get("user_api") == "blas" and path
                and os.path.realpath(entry["filepath"]) == os.path.realpath(path)):
            record = dict(entry)
            break
    record["provider"] = blas.provider()
    record["config"] = blas.blas_version()
    return record


def set_blas(name: str) -> str:
    """Make the compiled engine compute its matrix products with BLAS provider ``name``.

    The providers are ``"scipy"`` (the BLAS behind SciPy, always there), ``"openblas"``
    (the newest OpenBLAS, from the ``scipy-openblas32`` wheel: ``pip install
    fastmlp[openblas]``) and ``"mkl"`` (Intel MKL, from the ``mkl`` wheel: ``pip install
    fastmlp[mkl]``). The default is chosen at import: the provider ``FASTMLP_BLAS`` names,
    else MKL when it is installed on an Intel CPU, else the wheel's OpenBLAS when it is
    installed and newer than SciPy's, else SciPy's (:func:`show_config` reports it). Every
    provider gives the NumPy reference's numbers to rounding.

    The switch is process-wide and takes effect at the next matrix product, also in a
    model training meanwhile in another Python thread; it is refused while a model trains
    in team mode (large batches with several threads), whose hold on the BLAS thread count
    belongs to the previous library. The thread count set by :func:`set_num_threads` is
    carried over to the new library.

    Parameters
    ----------
    name : {"scipy", "openblas", "mkl"}
        The provider.

    Returns
    -------
    str
        The provider used before.

    Raises
    ------
    ValueError
        For an unknown name.
    ImportError
        When the provider is not installed (the message names those that are), or the
        compiled backend is not available.
    RuntimeError
        While a model trains in team mode.

    Examples
    --------
    >>> import fastmlp as fm
    >>> previous = fm.set_blas("scipy")
    >>> fm.get_blas()
    'scipy'
    >>> _ = fm.set_blas(previous)
    """
    from .backend import _providers

    name = _providers.check_name(name)
    package = _package()
    if package._load_compiled() is None:
        raise ImportError("set_blas needs the compiled backend, which is not available "
                          f"({package._compiled_error})")
    return _providers.activate(package._blas, package._engine, name)


def get_blas() -> str | None:
    """The BLAS provider the compiled engine calls (``"scipy"``, ``"openblas"`` or
    ``"mkl"``; see :func:`set_blas`), or None without the compiled backend.

    Examples
    --------
    >>> import fastmlp as fm
    >>> fm.get_blas() in ("scipy", "openblas", "mkl", None)
    True
    """
    package = _package()
    return None if package._load_compiled() is None else package._blas.provider()


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
        ``FASTMLP_CPU_LEVEL``, or None), ``blas`` (the BLAS library the engine calls:
        ``provider`` (see :func:`set_blas`), ``config`` (the library's own version
        string) and threadpoolctl's ``internal_api``, ``version``, ``architecture``,
        ``num_threads``, ``filepath``; None without the compiled backend),
        ``blas_installed`` (the providers :func:`set_blas` can switch to), ``openmp``
        (whether the engine was built with OpenMP) and ``threads`` (see
        :func:`fastmlp.get_num_threads`).

    Examples
    --------
    >>> import fastmlp as fm
    >>> info = fm.show_config(file=None)
    >>> info["backend"] in ("cython", "numpy")
    True
    """
    from ._threads import get_num_threads
    from ._version import __version__
    from .backend import _providers, backend

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
        "blas_installed": _providers.installed() if engine is not None else [],
        "openmp": bool(engine is not None and engine.openmp_enabled()),
        "threads": get_num_threads(),
    }
    if file is _STDOUT:
        file = sys.stdout
    if file is not None:
        blas = info["blas"]
        blas_text = ("none (NumPy backend)" if blas is None else
                     f"{blas['provider']}: {blas.get('internal_api')} "
                     f"{blas.get('version') or ''} "
                     f"({blas.get('architecture') or 'unknown kernel'}, "
                     f"{blas.get('num_threads')} threads) {blas.get('filepath')}; "
                     f"installed: {', '.join(info['blas_installed'])}")
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
