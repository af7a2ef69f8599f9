"""scikit-learn's own MLP tests, run against fastmlp's estimators.

The test file ships inside the installed scikit-learn
(``sklearn/neural_network/tests/test_mlp.py``). It is read from there (never copied into
our tree), the one line importing ``MLPClassifier`` and ``MLPRegressor`` is switched to
``fastmlp.sklearn``, and its test functions become this module's, so that pytest collects
them with their parametrizations. The exclusions below were written for scikit-learn
1.9.x; another version is skipped as a whole.
"""
import pathlib
import types

import pytest

#: About 40 s on the compiled backend (2 shared cores); much longer on the NumPy one.
pytestmark = pytest.mark.slow

sklearn = pytest.importorskip("sklearn")
if not sklearn.__version__.startswith("1.9."):
    pytest.skip(f"the exclusions are written for scikit-learn 1.9.x's test_mlp.py, "
                f"installed is {sklearn.__version__}", allow_module_level=True)

#: Tests left out, and why: each reads or writes scikit-learn-private state.
EXCLUDED = {
    # builds the network by assigning coefs_, intercepts_ and scikit-learn's private
    # optimizer buffers (_coef_velocity, _coef_grads, ...) before partial_fit: fastmlp's
    # coefs_ are read-only views of the trained Sequential model, and its optimizer state
    # lives in the model's optimizer
    "test_fit",
}

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
_path = pathlib.Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
_source = _path.read_text()
if _source.count(IMPORT) != 1:
    pytest.skip("scikit-learn's test_mlp.py no longer imports the estimators in one line",
                allow_module_level=True)
_module = types.ModuleType("sklearn_test_mlp_on_fastmlp")
_module.__file__ = str(_path)
exec(compile(_source.replace(IMPORT, "from fastmlp.sklearn import MLPClassifier, "
                                     "MLPRegressor"), str(_path), "exec"), _module.__dict__)
assert _module.MLPClassifier.__module__ == "fastmlp.sklearn"

for _name, _obj in vars(_module).items():
    if _name.startswith("test_") and callable(_obj) and _name not in EXCLUDED:
        globals()[_name] = _obj


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture (its conftest.py) at its default seed, 42."""
    return 42


def test_exclusions_exist():
    """Every excluded name is still a test of scikit-learn's file (else the list is stale)."""
    assert EXCLUDED <= {name for name in vars(_module) if name.startswith("test_")}
