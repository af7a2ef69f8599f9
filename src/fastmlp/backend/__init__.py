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
import importlib.util
import os
import threading
import warnings
from types import ModuleType
from collections.abc import Iterator

from . import _numpy, _providers

BACKENDS = ("cython", "numpy")

_compiled: ModuleType | None = None
_compiled_error: Exception | None = None
class _Local(threading.local):
    """This thread's stack of ``use_backend`` overrides. The class attribute makes the
    common case (no override) a plain read: ``getattr`` with a default on a missing
    ``threading.local`` attribute raises and catches an exception inside, on every
    ``predict``."""

    stack: list[str] | None = None


_local = _Local()


#: Forces one level of the compiled backend (``baseline``, ``avx2`` or ``avx512``) instead
#: of the best one this CPU supports; for debugging and for testing every level.
LEVEL_VARIABLE = "FASTMLP_CPU_LEVEL"

_level: str | None = None
_EXTENSION_MODULES = ("_blas", "_kernels", "_engine")


def cpu_levels() -> tuple[list[str], list[str]]:
    """The levels of the compiled backend this CPU supports and those this build has,
    each worst first (both empty without the compiled extension)."""
    try:
        cpuid = importlib.import_module("fastmlp.backend._cpuid")
    except ImportError:
        return [], []
    built = [name for name in cpuid.LEVELS if _has_module(f"fastmlp.backend._{name}._engine")]
    return list(cpuid.supported_levels()), built


def _has_module(name: str) -> bool:
    """Whether module ``name`` can be found (False also when its package is missing, as
    a level left out of the build by ``FASTMLP_LEVELS``)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _choose_level() -> str:
    """The level to load: ``FASTMLP_CPU_LEVEL`` when set, else the best one both this CPU
    and this build have (raising ImportError with the reason when there is none)."""
    supported, built = cpu_levels()
    if not built:
        raise ImportError("the compiled extension is not built")
    forced = os.environ.get(LEVEL_VARIABLE, "").strip().lower()
    if forced:
        if forced not in supported or forced not in built:
            raise ImportError(
                f"{LEVEL_VARIABLE}={forced!r} cannot be used here: this CPU supports "
                f"{', '.join(supported)} and this build has {', '.join(built)}")
        return forced
    return [name for name in supported if name in built][-1]


def _load_compiled() -> ModuleType | None:
    """The compiled engine module of the chosen CPU level, or None (the reason in
    ``_compiled_error``). Every use of the extension modules goes through here or through
    this package's attributes ``_blas``, ``_kernels`` and ``_engine``."""
    global _compiled, _compiled_error, _level
    if _compiled is None and _compiled_error is None:
        try:
            level = _choose_level()
            engine = importlib.import_module(f"fastmlp.backend._{level}._engine")
        except ImportError as exc:
            _compiled_error = exc
        else:
            # the BLAS provider before the first product; a bad FASTMLP_BLAS raises here,
            # every time, and leaves the engine unloaded
            _choose_blas(importlib.import_module(f"fastmlp.backend._{level}._blas"), engine)
            _compiled, _level = engine, level
    return _compiled


def _choose_blas(blas: ModuleType, engine: ModuleType) -> None:
    """Switch the freshly loaded engine to the default BLAS provider (``_providers``). A
    provider named by ``FASTMLP_BLAS`` must load; the rule's own choice falls back to
    SciPy's BLAS, with a warning, when its library does not load."""
    name = _providers.default_name(blas)
    try:
        _providers.activate(blas, engine, name)
    except ImportError as exc:
        if os.environ.get(_providers.VARIABLE, "").strip():
            raise
        warnings.warn(f"fastmlp: the {name!r} BLAS could not be loaded ({exc}); using "
                      "SciPy's", RuntimeWarning, stacklevel=4)


def cpu_level() -> str | None:
    """The CPU level of the loaded compiled backend (None when it is not loaded)."""
    _load_compiled()
    return _level


def __getattr__(name: str) -> ModuleType:
    """``_blas``, ``_kernels`` and ``_engine``: the modules of the chosen CPU level."""
    if name in _EXTENSION_MODULES:
        if _load_compiled() is None:
            raise ImportError(f"the compiled backend is not available ({_compiled_error})")
        return importlib.import_module(f"fastmlp.backend._{_level}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    warnings.warn("fastmlp: the compiled extension could not be imported "
                  f"({_compiled_error}); using the slower NumPy reference backend. "
                  "Install a wheel, or build it with `pip install .` (needs a C compiler).",
                  RuntimeWarning, stacklevel=3)
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
    override = _local.stack
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
    if name == "cython":
        assert _compiled is not None, "check_name and backend() load it or raise"
        return _compiled
    return _numpy


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Make ``name`` the default backend inside a ``with`` block (this thread only).

    Models created with an explicit ``backend=`` keep theirs.

    Parameters
    ----------
    name : {"cython", "numpy"}
        The backend; ``"cython"`` raises ``ImportError`` when the compiled extension is
        not available.

    Examples
    --------
    >>> import fastmlp as fm
    >>> with fm.use_backend("numpy"):
    ...     fm.backend()
    'numpy'
    """
    name = check_name(name)
    stack = _local.stack
    if stack is None:
        stack = _local.stack = []
    stack.append(name)
    try:
        yield name
    finally:
        stack.pop()
