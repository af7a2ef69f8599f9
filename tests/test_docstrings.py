"""Every docstring example in the package runs and prints what it shows."""
import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import fastmlp

matplotlib.use("Agg")

MODULES = sorted(info.name for info in pkgutil.walk_packages(fastmlp.__path__, "fastmlp.")
                 if info.name.split(".")[-1] not in ("__main__",))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0
