"""Runtime CPU dispatch: the compiled backend is built for several x86-64 levels and the
best one this CPU supports is loaded at import; ``FASTMLP_CPU_LEVEL`` forces one. Each
level this CPU can run is loaded in a subprocess of its own and must compute bit for bit
what every other level computes (no fused multiply-adds, the same order of operations)."""
import json
import os
import subprocess
import sys

import pytest

import fastmlp as fm
from fastmlp.backend import cpu_levels

SUPPORTED, BUILT = cpu_levels()
RUNNABLE = [level for level in SUPPORTED if level in BUILT]
compiled = pytest.mark.skipif(not BUILT, reason="the compiled extension is not built")

# Trains a small network with several activations and an optimizer with state, and a tiny
# one a sample at a time (the plain-loop products), on the forced level, and prints the
# level, the backend and the weights.
_TRAIN = """
import json, sys
import numpy as np
import fastmlp as fm
backend = sys.modules["fastmlp.backend"]
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 7)).astype("float32")
y = (X[:, 0] * X[:, 1] + np.sin(X[:, 2]) > 0).astype("float32")
out = {"level": backend.cpu_level(), "backend": fm.backend(), "weights": []}
for dtype in ("float32", "float64"):
    model = fm.Sequential([fm.Dense(33, activation="gelu", input_dim=7),
                           fm.Dense(17, activation="elu"), fm.Dense(9, activation="tanh"),
                           fm.Dense(1, activation="sigmoid")], seed=3, dtype=dtype)
    model.compile(optimizer=fm.optimizers.Adam(0.01), loss="binary_crossentropy")
    model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    out["weights"] += [w.astype("float64").tobytes().hex() for w in model.get_weights()]
    out["weights"].append(model.predict(X[:50], verbose=0).astype("float64").tobytes().hex())
    # one sample at a time through 16- and 20-wide layers: the plain-loop products
    tiny = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=7),
                          fm.Dense(20, activation="relu"), fm.Dense(1, activation="sigmoid")],
                         seed=4, dtype=dtype)
    tiny.compile(optimizer=fm.optimizers.SGD(0.05), loss="binary_crossentropy")
    tiny.fit(X[:80], y[:80], epochs=2, batch_size=1, verbose=0)
    out["weights"] += [w.astype("float64").tobytes().hex() for w in tiny.get_weights()]
print(json.dumps(out))
"""


def _run(code, level=None, **env):
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("FASTMLP_BACKEND", "FASTMLP_CPU_LEVEL")}
    if level is not None:
        full_env["FASTMLP_CPU_LEVEL"] = level
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=300)


@pytest.mark.slow  # subprocesses; on the compiled run only
@compiled
def test_the_best_level_of_this_cpu_is_loaded_by_default():
    assert SUPPORTED[0] == "baseline" and BUILT[0] == "baseline"
    assert fm.show_config(file=None)["cpu_level"] == RUNNABLE[-1]
    result = _run(_TRAIN)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["level"] == RUNNABLE[-1]


@pytest.mark.slow  # subprocesses; on the compiled run only
@compiled
def test_every_level_this_cpu_runs_computes_the_same_bits():
    runs = {}
    for level in RUNNABLE:
        result = _run(_TRAIN, level=level)
        assert result.returncode == 0, result.stderr
        runs[level] = json.loads(result.stdout)
        assert runs[level]["level"] == level and runs[level]["backend"] == "cython"
    reference = runs[RUNNABLE[0]]["weights"]
    for level in RUNNABLE[1:]:
        assert runs[level]["weights"] == reference, level


@pytest.mark.slow  # subprocesses; on the compiled run only
@compiled
@pytest.mark.parametrize("level", RUNNABLE)
def test_kernels_match_the_reference_on_every_level(level):
    """The kernel and engine tests against the NumPy reference, on each forced level."""
    tests = os.path.dirname(__file__)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         os.path.join(tests, "test_backends_agree.py"),
         os.path.join(tests, "test_math_kernels.py")],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "FASTMLP_CPU_LEVEL": level, "FASTMLP_BACKEND": "cython"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


@pytest.mark.slow  # subprocesses; on the compiled run only
@compiled
def test_a_cpu_without_the_best_level_gets_the_one_below_and_no_other_module():
    """A CPU that supports only the baseline (a stand-in for the CPU test says so) loads the
    baseline modules and none of the others, so no instruction it lacks is ever run, and
    says nothing."""
    code = ("import sys, types, warnings\n"
            "cpuid = types.ModuleType('fastmlp.backend._cpuid')\n"
            "cpuid.LEVELS = ('baseline', 'avx2', 'avx512')\n"
            "cpuid.supported_levels = lambda: ('baseline',)\n"
            "sys.modules['fastmlp.backend._cpuid'] = cpuid\n"
            "with warnings.catch_warnings():\n"
            "    warnings.simplefilter('error')\n"
            "    import fastmlp\n"
            "    print(fastmlp.backend(), sys.modules['fastmlp.backend'].cpu_level())\n"
            "print(sorted({name.split('.')[2] for name in sys.modules\n"
            "              if name.startswith('fastmlp.backend._') and name.count('.') == 3}))\n")
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["cython baseline", "['_baseline']"]


@pytest.mark.slow  # subprocesses; on the compiled run only
@compiled
def test_forcing_a_level_this_cpu_or_build_lacks_says_which_it_has():
    missing = [level for level in ("baseline", "avx2", "avx512") if level not in RUNNABLE]
    forced = missing[0] if missing else "no_such_level"
    result = _run("import fastmlp; fastmlp.backend()", level=forced, FASTMLP_BACKEND="cython")
    assert result.returncode != 0
    assert f"FASTMLP_CPU_LEVEL={forced!r}" in result.stderr
    assert f"this CPU supports {', '.join(SUPPORTED)}" in result.stderr
    warned = _run("import warnings, fastmlp\nwith warnings.catch_warnings(record=True) as w:\n"
                  "    warnings.simplefilter('always'); print(fastmlp.backend(), len(w))",
                  level=forced)
    assert warned.stdout.split() == ["numpy", "1"]


def test_show_config_reports_level_blas_and_threads(capsys):
    info = fm.show_config()
    printed = capsys.readouterr().out
    assert info["backend"] == fm.backend() and info["version"] == fm.__version__
    assert info["cpu_levels_supported"] == SUPPORTED and info["cpu_levels_built"] == BUILT
    assert info["threads"] == fm.get_num_threads()
    for key in ("backend", "cpu_level", "blas", "threads"):
        assert key in printed
    if BUILT:
        assert info["cpu_level"] in RUNNABLE and info["cpu_level"] in printed
        assert info["blas"]["internal_api"] in ("openblas", "mkl", "blis", "flexiblas")
        assert info["blas"]["num_threads"] >= 1
    else:
        assert info["cpu_level"] is None
