"""Scale-out: a hyper-parameter search over fastmlp estimators on a dask.distributed
cluster (two worker processes on loopback) through joblib's Dask backend gives the same
results as the same search run in this process."""
import logging
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
distributed = pytest.importorskip("distributed")

import joblib  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastmlp import datasets  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two single-threaded worker processes on 127.0.0.1, closed after
    the module's tests."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.ERROR)
    try:
        with distributed.Client(cluster, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            yield client
    finally:
        cluster.close(timeout=30)


def _search(estimator, grid):
    return GridSearchCV(make_pipeline(StandardScaler(), estimator), grid, cv=3)


@pytest.mark.parametrize("name, estimator, grid", [
    ("breast_cancer", MLPClassifier(learning_rate_init=0.01, max_iter=15, random_state=0),
     {"mlpclassifier__hidden_layer_sizes": [(8,), (16, 8)],
      "mlpclassifier__solver": ["adam", "sgd"]}),
    ("diabetes", MLPRegressor(learning_rate_init=0.01, max_iter=15, random_state=0),
     {"mlpregressor__alpha": [1e-4, 1.0], "mlpregressor__hidden_layer_sizes": [(8,)]}),
])
@pytest.mark.slow
def test_grid_search_on_dask_equals_local_run(client, name, estimator, grid):
    X, y = datasets.load(name)
    if name == "diabetes":
        y = (y - y.mean()) / y.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = _search(clone(estimator), grid).fit(X, y)
        with distributed.get_task_stream(client) as stream:
            with joblib.parallel_backend("dask"):
                remote = _search(clone(estimator), grid).fit(X, y)
    # the fits ran as tasks on both worker processes, not in this one
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2, workers
    pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2 and __import__("os").getpid() not in pids
    # identical results: the scores of every candidate and fold, the best model
    for key in local.cv_results_:
        if key.startswith(("split", "mean_test", "std_test", "rank_test")):
            np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
