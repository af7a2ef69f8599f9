"""How much faster than scikit-learn can ``solver="lbfgs"`` be? The bound set by the GEMMs.

Both estimators minimise the same objective with SciPy's L-BFGS-B from the same initial
weights, so they evaluate the full-batch loss and gradient the same number of times, and
every evaluation makes the same matrix products (forward ``A @ W`` and backward
``A.T @ dZ`` per layer, ``dZ @ W.T`` below the last) on the same BLAS. fastmlp can save the
element-wise passes, the allocations and the Python between them, not those products nor
SciPy's own L-BFGS-B work. For each lbfgs case of ``sklearn_compare.py`` (one fit on the
standardised whole data set, ``random_state=0``) this prints, medians of ``--rounds``
interleaved rounds:

* the fit times of scikit-learn and fastmlp and their ratio;
* the evaluations per fit, fastmlp's objective alone, and the same products timed alone
  in NumPy (``GEMM``);
* the time inside SciPy's Fortran L-BFGS-B (``setulb``) during one fastmlp fit; SciPy's
  Python around each evaluation (measured on a quadratic of the same size) times the
  evaluations; and the rest of fastmlp's fit (scikit-learn's input checks, which an exact
  drop-in repeats, the initial weights, the model);
* the floor: evaluations x GEMM + L-BFGS-B + SciPy's Python, and the bound
  ``scikit-learn / floor``: the speed-up of a fit through ``scipy.optimize.minimize``
  that spent nothing else (no element-wise work, no input checks).

Run::

    PYTHONPATH=src python benchmarks/lbfgs_bound.py --rounds 5
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    return parser.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn.neural_network as sknn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from scipy.optimize import _lbfgsb, minimize  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastmlp  # noqa: E402
from fastmlp import datasets  # noqa: E402
from fastmlp._lbfgs import FlatObjective  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

CASES = ["breast_cancer", "iris", "digits", "diabetes"]


def _timed_fit(est, X, y) -> float:
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def _gemm_seconds(sizes: list[int], rows: int) -> float:
    """The products of one full-batch evaluation, alone, in NumPy (float64)."""
    rng = np.random.default_rng(0)
    acts = [np.ascontiguousarray(rng.random((rows, s))) for s in sizes]
    weights = [rng.random(shape) for shape in itertools.pairwise(sizes)]

    def products() -> None:
        for i, W in enumerate(weights):
            acts[i] @ W                                   # forward
        for i in range(len(weights) - 1, -1, -1):
            acts[i].T @ acts[i + 1]                       # dW = A_prev^T dZ
            if i > 0:
                acts[i + 1] @ weights[i].T                # dA_prev = dZ W^T

    return min(timeit.repeat(products, number=20, repeat=5)) / 20


@contextlib.contextmanager
def _setulb_seconds():
    """Time every call of SciPy's Fortran L-BFGS-B (``setulb``) inside the block; yields
    a one-item list that holds the total seconds."""
    inside, original = [0.0], _lbfgsb.setulb

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - start

    _lbfgsb.setulb = timed
    try:
        yield inside
    finally:
        _lbfgsb.setulb = original


def _profile_fit(ours, X, y) -> tuple[int, float]:
    """One fastmlp fit: its objective evaluations, and the seconds inside ``setulb``,
    which scikit-learn's fit spends as well."""
    calls, original_call = [0], FlatObjective.__call__

    def counted(self, theta):
        calls[0] += 1
        return original_call(self, theta)

    FlatObjective.__call__ = counted
    try:
        with _setulb_seconds() as inside:
            ours.fit(X, y)
    finally:
        FlatObjective.__call__ = original_call
    return calls[0], inside[0]


def _scipy_python_seconds(n: int) -> float:
    """SciPy's own Python around each evaluation (``ScalarFunction``, ``MemoizeJac``,
    copies), measured on a diagonal quadratic of ``n`` parameters: fit time minus the
    objective and ``setulb``, per evaluation."""
    d = np.linspace(0.5, 2.0, n)
    calls = [0, 0.0]

    def quadratic(x):
        start = time.perf_counter()
        calls[0] += 1
        out = 0.5 * float(x @ (d * x)), d * x
        calls[1] += time.perf_counter() - start
        return out

    best = float("inf")
    for _ in range(5):
        calls[:] = [0, 0.0]
        with _setulb_seconds() as inside:
            start = time.perf_counter()
            minimize(quadratic, np.ones(n), method="L-BFGS-B", jac=True,
                     options={"maxiter": 30})
            total = time.perf_counter() - start
        best = min(best, (total - inside[0] - calls[1]) / calls[0])
    return best


def _objective_seconds(ours, theirs, X, y) -> float:
    """fastmlp's full-batch loss and gradient alone at its fitted weights (through the
    mirror of scikit-learn's private ``_loss_grad_lbfgs``)."""
    theirs.fit(X, y)
    Y = (theirs._label_binarizer.transform(y) if hasattr(theirs, "_label_binarizer")
         else y.reshape(-1, 1)).astype(np.float64)
    theta = np.concatenate([c.ravel() for c in ours.coefs_]
                           + [b.ravel() for b in ours.intercepts_])
    return min(timeit.repeat(lambda: ours._loss_grad_lbfgs(theta, X, Y),
                             number=20, repeat=5)) / 20


def theta_size(est) -> int:
    return sum(c.size for c in est.coefs_) + sum(b.size for b in est.intercepts_)


def main() -> None:
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"fastmlp {fastmlp.__version__} ({fastmlp.backend()}), Python "
          f"{platform.python_version()}, NumPy {np.__version__}, {ARGS.threads} thread(s); "
          f"hidden ({ARGS.hidden},), max_iter 200, {ARGS.rounds} rounds\n")
    header = ("| data set | rows | evaluations | scikit-learn fit ms | fastmlp fit ms | speed-up "
              "| objective ms | GEMM ms | L-BFGS-B ms | SciPy Python ms | rest ms | floor ms "
              "| bound |")
    print(header)
    print("|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|")
    for name in CASES:
        X, y = datasets.load(name)
        X = StandardScaler().fit_transform(X)
        regression = name == "diabetes"
        if regression:
            y = (y - y.mean()) / y.std()
        ours, theirs = ((MLPRegressor, sknn.MLPRegressor) if regression
                        else (MLPClassifier, sknn.MLPClassifier))
        params = dict(hidden_layer_sizes=(ARGS.hidden,), solver="lbfgs", max_iter=200,
                      random_state=0)
        t_sk, t_fm = [], []
        for _ in range(ARGS.rounds):
            t_sk.append(_timed_fit(theirs(**params), X, y))
            t_fm.append(_timed_fit(ours(**params), X, y))
        est = ours(**params)
        evaluations, lbfgsb = _profile_fit(est, X, y)
        objective = _objective_seconds(est, theirs(**params), X, y)
        gemm = _gemm_seconds([X.shape[1], ARGS.hidden, est.coefs_[-1].shape[1]], X.shape[0])
        sk, fm = statistics.median(t_sk), statistics.median(t_fm)
        scipy_python = evaluations * _scipy_python_seconds(theta_size(est))
        floor = evaluations * gemm + lbfgsb + scipy_python
        rest = fm - evaluations * objective - lbfgsb - scipy_python
        print(f"| {name} | {X.shape[0]} | {evaluations} | {1e3 * sk:.1f} | {1e3 * fm:.1f} "
              f"| {sk / fm:.2f}x | {1e3 * objective:.3f} | {1e3 * gemm:.3f} "
              f"| {1e3 * lbfgsb:.1f} | {1e3 * scipy_python:.1f} | {1e3 * rest:.1f} "
              f"| {1e3 * floor:.1f} | {sk / floor:.2f}x |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
