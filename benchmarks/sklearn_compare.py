"""fastmlp.sklearn against scikit-learn's own MLP at equal settings, on the shipped data.

For each data set: 5-fold (stratified, shuffled) cross-validation of
``make_pipeline(StandardScaler(), MLP(...))`` with the same parameters for
:class:`sklearn.neural_network.MLPClassifier` / ``MLPRegressor`` and
:class:`fastmlp.sklearn.MLPClassifier` / ``MLPRegressor`` (default Adam, batch "auto",
exactly ``max_iter`` epochs: ``n_iter_no_change=max_iter`` so both do the same work),
repeated over ``--seeds`` seeds. The ``lbfgs`` rows run ``solver="lbfgs"`` (full batch,
SciPy's L-BFGS-B, ``max_iter`` iterations at most, default ``tol``): both minimise the
same objective from the same initial weights, so they take the same iterations. It
prints held-out accuracy (R² for diabetes), the
difference in points, the total fit time and the time ratio, all measured in one run.
BLAS is pinned to ``--threads`` threads for both (set before NumPy is imported).

Run::

    PYTHONPATH=src python benchmarks/sklearn_compare.py            # compiled backend
    PYTHONPATH=src python benchmarks/sklearn_compare.py --backend numpy
"""
from __future__ import annotations

import argparse
import os
import sys


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--backend", choices=["cython", "numpy"], default=None,
                        help="fastmlp backend (default: the active one)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--solvers", default="adam,lbfgs",
                        help="comma-separated solvers to compare (default adam,lbfgs)")
    return parser.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import sklearn.neural_network as sknn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastmlp  # noqa: E402
from fastmlp import datasets  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

#: (data set, max_iter) per solver; diabetes is a regression (R², target standardised).
CASES = {"adam": [("breast_cancer", 50), ("iris", 200), ("digits", 30), ("diabetes", 200)],
         "lbfgs": [("breast_cancer", 200), ("iris", 200), ("digits", 200),
                   ("diabetes", 200)]}


def run(name: str, max_iter: int, solver: str) -> dict[str, tuple[float, float]]:
    X, y = datasets.load(name)
    regression = name == "diabetes"
    if regression:
        y = (y - y.mean()) / y.std()
    ours_cls, theirs_cls = ((MLPRegressor, sknn.MLPRegressor) if regression
                            else (MLPClassifier, sknn.MLPClassifier))
    results = {}
    for label, cls, extra in (("sklearn", theirs_cls, {}),
                              ("fastmlp", ours_cls, {"backend": ARGS.backend})):
        scores, fit_time = [], 0.0
        for seed in range(ARGS.seeds):
            splitter = (KFold if regression else StratifiedKFold)(5, shuffle=True,
                                                                  random_state=seed)
            est = cls(hidden_layer_sizes=(ARGS.hidden,), max_iter=max_iter, solver=solver,
                      n_iter_no_change=max_iter, random_state=seed, **extra)
            out = cross_validate(make_pipeline(StandardScaler(), est), X, y, cv=splitter)
            scores.append(out["test_score"].mean())
            fit_time += float(out["fit_time"].sum())
        results[label] = (float(np.mean(scores)), fit_time)
    return results


def main() -> None:
    warnings.simplefilter("ignore", ConvergenceWarning)
    backend = ARGS.backend or fastmlp.backend()
    print(f"fastmlp {fastmlp.__version__} ({backend} backend) vs scikit-learn "
          f"{sklearn.__version__}; Python {platform.python_version()}, NumPy "
          f"{np.__version__}, {ARGS.threads} BLAS thread(s), {platform.machine()}")
    print(f"MLP(hidden_layer_sizes=({ARGS.hidden},), batch_size='auto'), "
          f"5-fold CV x {ARGS.seeds} seeds, StandardScaler in the pipeline\n")
    header = ("| solver | data set | max_iter | metric | scikit-learn | fastmlp | diff (points) "
              "| scikit-learn fit s | fastmlp fit s | speed-up |")
    print(header)
    print("|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|")
    start = time.perf_counter()
    for solver in ARGS.solvers.split(","):
        for name, max_iter in CASES[solver]:
            res = run(name, max_iter, solver)
            (s_score, s_time), (f_score, f_time) = res["sklearn"], res["fastmlp"]
            metric = "R²" if name == "diabetes" else "accuracy"
            print(f"| {solver} | {name} | {max_iter} | {metric} | {s_score:.4f} | "
                  f"{f_score:.4f} | {100 * (f_score - s_score):+.2f} | {s_time:.2f} | "
                  f"{f_time:.2f} | {s_time / f_time:.1f}x |", flush=True)
    print(f"\n(total {time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
