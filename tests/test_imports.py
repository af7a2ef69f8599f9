"""The package's modules import one another without cycles. Every import is read from the
source, function-level ones included (only ``if TYPE_CHECKING:`` blocks, which never run,
are left out), so that a lazy import cannot hide a cycle."""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "fastmlp"


def _modules() -> dict[str, Path]:
    """Module name -> source file, for every .py and .pyx file of the package."""
    modules = {}
    for path in PACKAGE.rglob("*"):
        if path.suffix not in (".py", ".pyx") or "_baseline" in path.parts \
                or "_avx2" in path.parts or "_avx512" in path.parts:
            continue
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    if path.suffix == ".pyx":  # Cython: its Python-level imports only
        lines = [line for line in path.read_text().splitlines()
                 if line.lstrip().startswith(("import ", "from ")) and "cimport" not in line]
        tree = ast.parse("\n".join(line.strip() for line in lines))
    else:
        tree = ast.parse(path.read_text())
    never_run = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                never_run.update(id(n) for n in ast.walk(statement))
    package = name if path.name.startswith("__init__") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in never_run:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:  # `from . import x` may name a module
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                          else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in modules and module != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    modules = _modules()
    assert "fastmlp.models" in modules and "fastmlp.backend._engine" in modules
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    from .saving import save_model\n", {"fastmlp.saving"}),
    ("from . import __version__\n", {"fastmlp"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .models import M\n",
     set()),
    ("from .backend import _numpy\n", {"fastmlp.backend._numpy"}),
])
def test_imports_are_read_as_python_resolves_them(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    modules = {"fastmlp": PACKAGE / "__init__.py", "fastmlp.saving": PACKAGE / "saving.py",
               "fastmlp.models": PACKAGE / "models.py", "fastmlp.backend": PACKAGE,
               "fastmlp.backend._numpy": PACKAGE / "backend" / "_numpy.py",
               "fastmlp.probe": path}
    assert _imports("fastmlp.probe", path, modules) == expected
