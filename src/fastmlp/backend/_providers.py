"""The BLAS providers of the compiled engine: where their libraries are, which one is the
default, and switching between them (:func:`fastmlp.set_blas`).

* ``"scipy"``: the BLAS behind ``scipy.linalg.cython_blas`` (always there, the fallback);
* ``"openblas"``: the OpenBLAS of the ``scipy-openblas32`` wheel (``pip install
  fastmlp[openblas]``), the build NumPy and SciPy ship, usually newer than SciPy's copy;
* ``"mkl"``: Intel MKL's ``libmkl_rt`` from the ``mkl`` wheel (``pip install fastmlp[mkl]``).

The default (``FASTMLP_BLAS`` overrides it) is MKL when it is installed and the CPU is
Intel's; else the wheel's OpenBLAS when it is installed and newer than the OpenBLAS SciPy
calls; else SciPy's. The measurements behind the rule are in ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import sys
from types import ModuleType

#: Provider names (the order of the compiled records in ``_blas.pyx``).
PROVIDERS = ("scipy", "openblas", "mkl")
#: Environment variable naming the provider to use instead of the default.
VARIABLE = "FASTMLP_BLAS"
#: How to install each provider that is not always there.
_INSTALL = {"openblas": "pip install scipy-openblas32 (or fastmlp[openblas])",
            "mkl": "pip install mkl (or fastmlp[mkl])"}


def _openblas_library() -> str | None:
    """The library file of the ``scipy-openblas32`` wheel, or None.

    The package is found, not imported: its import loads the library into the global
    symbol namespace, where its ``scipy_``-prefixed symbols would take the place of those
    of SciPy's own OpenBLAS for every module loaded afterwards.
    """
    try:
        spec = importlib.util.find_spec("scipy_openblas32")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = os.path.join(next(iter(spec.submodule_search_locations)), "lib")
    try:
        names = sorted(name for name in os.listdir(lib) if name.startswith("libscipy_openblas")
                       and name.endswith((".so", ".dylib")))
    except OSError:
        return None
    return os.path.join(lib, names[0]) if names else None


def _mkl_library() -> str | None:
    """The ``libmkl_rt`` file of the ``mkl`` wheel (in the environment's ``lib/``), or None."""
    try:
        files = importlib.metadata.files("mkl") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if re.fullmatch(r"libmkl_rt\.(so(\.\d+)*|\d+\.dylib|dylib)", entry.name):
            path = os.path.realpath(str(entry.locate()))
            if os.path.exists(path):
                return path
    return None


def library(name: str) -> str | None:
    """The library file provider ``name`` loads ("" for SciPy's, which SciPy loads; None
    when the provider is not installed, or cannot be loaded on this system)."""
    if name == "scipy":
        return ""
    if sys.platform == "win32":
        return None
    return _openblas_library() if name == "openblas" else _mkl_library()


def installed() -> list[str]:
    """The providers that can be used here, in the order of :data:`PROVIDERS`."""
    return [name for name in PROVIDERS if library(name) is not None]


def check_name(name: object) -> str:
    """Validate a provider name: ValueError for an unknown name, ImportError for one not
    installed, each naming the providers that are."""
    if not isinstance(name, str) or name.strip().lower() not in PROVIDERS:
        raise ValueError(f"unknown BLAS provider {name!r}; the providers are "
                         f"{', '.join(PROVIDERS)} (installed here: {', '.join(installed())})")
    name = name.strip().lower()
    if library(name) is None:
        where = "on Windows" if sys.platform == "win32" else "here"
        raise ImportError(f"the BLAS provider {name!r} is not available {where} "
                          f"({_INSTALL[name]}); installed: {', '.join(installed())}")
    return name


def cpu_vendor() -> str:
    """The CPU vendor string (``GenuineIntel``, ``AuthenticAMD``, ...; "" if unknown)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    processor = platform.processor()
    return "GenuineIntel" if "Intel" in processor else ""


def _openblas_version(text: str) -> tuple[int, ...] | None:
    """(major, minor, patch) from an OpenBLAS version or configuration string."""
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(part) for part in match.groups()) if match else None


def _openblas_wheel_version() -> str | None:
    """The version of the installed ``scipy-openblas32`` wheel (e.g. ``0.3.34.481.3``)."""
    try:
        return importlib.metadata.version("scipy-openblas32")
    except importlib.metadata.PackageNotFoundError:
        return None


def default_name(blas: ModuleType) -> str:
    """``FASTMLP_BLAS`` when set, else the documented rule (module docstring); ``blas`` is
    the loaded ``_blas`` extension module with SciPy's provider current."""
    requested = os.environ.get(VARIABLE, "").strip()
    if requested:
        try:
            return check_name(requested)
        except ValueError as exc:
            raise ValueError(f"{VARIABLE}={requested!r}: {exc}") from None
        except ImportError as exc:
            raise ImportError(f"{VARIABLE}={requested!r}: {exc}") from None
    if library("mkl") is not None and cpu_vendor() == "GenuineIntel":
        return "mkl"
    if library("openblas") is not None:
        scipy_text = blas.blas_version()
        scipy_version = (_openblas_version(scipy_text) if "openblas" in scipy_text.lower()
                         else None)
        wheel_text = _openblas_wheel_version()
        wheel_version = _openblas_version(wheel_text) if wheel_text else None
        if scipy_version and wheel_version and wheel_version > scipy_version:
            return "openblas"
    return "scipy"


def activate(blas: ModuleType, engine: ModuleType, name: str) -> str:
    """Load provider ``name`` (validated first) and make the engine call it from its next
    product; returns the previous provider. Refused (RuntimeError) while a team-mode
    training holds the BLAS thread count, which lives in the previous library."""
    name = check_name(name)
    previous = blas.provider()
    if name == previous:
        return previous
    if engine.blas_held():
        raise RuntimeError("cannot change the BLAS provider while a model trains in team "
                           "mode; call fastmlp.set_blas before or after training")
    path = library(name)
    if path:
        blas.load_provider(name, path)
    blas.use_provider(name)
    threads = sys.modules.get("fastmlp._threads")  # not imported: may run inside its import
    requested = getattr(threads, "_requested", None)
    if requested is not None:  # the count fastmlp.set_num_threads set
        blas.set_blas_threads(requested)
    return previous
