"""dask-ml's ``Incremental`` wrapper around fastmlp's estimators: ``partial_fit`` streamed
block by block over a Dask array larger than one chunk, on a ``LocalCluster``."""
import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("dask_ml", reason="dask-ml is not installed (pip install dask-ml)")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402
from dask_ml.wrappers import Incremental  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

from fastmlp.datasets import load_digits  # noqa: E402
from fastmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def _blocks(X, y, chunk):
    return [(X[i:i + chunk], y[i:i + chunk]) for i in range(0, len(X), chunk)]


def test_incremental_classifier_streams_partial_fit(client):
    """Incremental.fit calls partial_fit once per block, in order: the same weights as
    partial_fit over the same blocks by hand, and a usable classifier."""
    X, y = load_digits()
    X = X / 16.0
    chunk = 300
    dX = da.from_array(X, chunks=(chunk, X.shape[1]))
    dy = da.from_array(y, chunks=chunk)
    assert dX.numblocks[0] > 1
    params = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)
    classes = np.unique(y)
    inc = Incremental(MLPClassifier(**params), scoring="accuracy", shuffle_blocks=False)
    for _ in range(3):   # three passes over the stream
        inc.partial_fit(dX, dy, classes=classes)
    by_hand = MLPClassifier(**params)
    for _ in range(3):
        for Xb, yb in _blocks(X, y, chunk):
            by_hand.partial_fit(Xb, yb, classes=classes)
    for a, b in zip(inc.estimator_.coefs_, by_hand.coefs_):
        np.testing.assert_array_equal(a, b)
    assert inc.estimator_.n_iter_ == 1
    assert inc.score(dX, dy) > 0.9
    assert isinstance(inc.predict(dX), da.Array)


def test_incremental_regressor_fit(client):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 5))
    y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=1000)
    dX = da.from_array(X, chunks=(250, 5))
    dy = da.from_array(y, chunks=250)
    inc = Incremental(MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                                   random_state=0), shuffle_blocks=False)
    for _ in range(10):
        inc.partial_fit(dX, dy)
    prediction = inc.predict(dX)
    assert isinstance(prediction, da.Array)
    assert r2_score(y, prediction.compute()) > 0.9
