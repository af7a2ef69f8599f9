"""numpydoc validation of fastmlp's public API (part of ``scripts/lint.sh``).

The public API is what a user reaches without an underscore: the names in ``__all__`` of
``fastmlp`` and of its public modules (or, without ``__all__``, the functions and classes
a module defines under a public name), and the public methods of those classes that the
package defines. A method that overrides one of a fastmlp base class without a docstring
of its own is documented there (Sphinx shows the base's docstring for it).

Every such callable is checked with numpydoc's validator against the checks listed under
``[tool.numpydoc_validation]`` in ``pyproject.toml``; ``EX01`` (an Examples section)
applies to functions and classes, not to methods. Findings print as
``path:line: CODE message (name)`` and make the exit status 1.

``--count`` prints instead how many public callables that take arguments document all of
them (a Parameters section that numpydoc finds complete), and lists those that do not.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
#: Public modules besides those named in ``fastmlp.__all__``.
EXTRA_MODULES = ("fastmlp.cli", "fastmlp.layers", "fastmlp.models", "fastmlp.saving",
                 "fastmlp.sklearn", "fastmlp.trajectories")
#: Checks that apply to functions and classes only.
OBJECT_ONLY = {"EX01"}


def _public_names(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [name for name, value in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
            and getattr(value, "__module__", None) == getattr(module, "__name__", None)]


def public_callables() -> Iterator[tuple[str, object, bool]]:
    """Yield ``(dotted name, object, is_method)`` for every public function, class and
    method, each once, under the name of the public module it is reached from."""
    import fastmlp

    modules = ["fastmlp"] + [f"fastmlp.{n}" for n in fastmlp.__all__
                             if inspect.ismodule(getattr(fastmlp, n))] + list(EXTRA_MODULES)
    seen: set[int] = set()
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in _public_names(module):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            if not getattr(obj, "__module__", "").startswith("fastmlp"):
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj, False
            if inspect.isclass(obj):
                yield from _methods(f"{module_name}.{name}", obj, seen)


def _methods(class_path: str, cls: type, seen: set[int]) -> Iterator[tuple[str, object, bool]]:
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or not owner.__module__.startswith("fastmlp"):
            continue
        raw = vars(owner)[name]
        func = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
        if not inspect.isfunction(func) or id(func) in seen:
            continue
        seen.add(id(func))
        if func.__doc__ is None and _documented_in_base(owner, name):
            continue
        path = class_path if owner is cls else f"{owner.__module__}.{owner.__qualname__}"
        yield f"{path}.{name}", func, True


def _documented_in_base(owner: type, name: str) -> bool:
    return any(name in vars(base) and getattr(vars(base)[name], "__doc__", None)
               for base in owner.__mro__[1:] if base.__module__.startswith("fastmlp"))


def takes_arguments(obj: object) -> bool:
    """Whether a callable takes arguments (``self`` and ``cls`` do not count)."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return False
    if inspect.isclass(obj) and target is object.__init__:
        return False
    return any(p.name not in ("self", "cls") for p in params)


def validate(path: str, obj: object) -> dict:
    """numpydoc's report for ``obj``, reached as ``path``."""
    from numpydoc.validate import get_doc_object
    from numpydoc.validate import validate as numpydoc_validate

    return numpydoc_validate(get_doc_object(obj))


def main(argv: list[str] | None = None) -> int:
    """Run the checks (or ``--count``); the exit status is 1 when something is found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", action="store_true",
                        help="count the callables that document their parameters")
    args = parser.parse_args(argv)
    os.environ.setdefault("FASTMLP_BACKEND", "numpy")   # no compiled extension needed
    sys.path.insert(0, str(ROOT / "src"))
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    checks = set(config["tool"]["numpydoc_validation"]["checks"])

    findings, with_params, without_params = [], 0, []
    for path, obj, is_method in public_callables():
        report = validate(path, obj)
        if takes_arguments(obj):
            if any(code in ("GL08", "PR01") for code, _ in report["errors"]):
                without_params.append(path)
            else:
                with_params += 1
        file = os.path.relpath(report["file"] or "?", ROOT)
        for code, message in report["errors"]:
            if code in checks and not (is_method and code in OBJECT_ONLY):
                findings.append(f"{file}:{report['file_line']}: {code} {message} ({path})")
    if args.count:
        total = with_params + len(without_params)
        print(f"{with_params} of {total} public callables that take arguments document "
              f"them; {len(without_params)} do not")
        for path in without_params:
            print(f"  {path}")
        return 0
    for line in sorted(set(findings)):
        print(line)
    if findings:
        print(f"numpydoc: {len(set(findings))} finding(s)", file=sys.stderr)
    return int(bool(findings))


if __name__ == "__main__":
    sys.exit(main())
