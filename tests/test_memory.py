"""Training allocates no temporaries the size of the data: a run's peak memory stays
within the data, the parameters, the optimizer state and one set of workspaces."""
import tracemalloc

import numpy as np
import pytest

import fastmlp as fm


# the compiled engine only: the NumPy reference allocates per batch by design
@pytest.mark.skipif("cython" not in fm.available_backends(), reason="extension not built")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_and_predict_allocate_nothing_data_sized(dtype):
    backend = "cython"
    rng = np.random.default_rng(0)
    n, d, bs = 20_000, 100, 128
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X[:, 0] > 0).astype(dtype)
    model = fm.Sequential([fm.Dense(64, activation="relu", input_dim=d),
                           fm.Dense(32, activation="tanh"),
                           fm.Dense(1, activation="sigmoid")], seed=0, dtype=dtype,
                          backend=backend)
    model.compile(fm.optimizers.SGD(learning_rate=0.01), "binary_crossentropy")
    item = np.dtype(dtype).itemsize
    widths = [64, 32, 1]
    # what a run may allocate: workspaces (gathered batch, two delta buffers, Z and A per
    # layer), one gradient per parameter, the targets (a float64 view for the checks and
    # the model's dtype), the epoch's row order, and a little for Python objects
    workspaces = bs * (d + 1 + 2 * max([*widths, d]) + 2 * sum(widths)) * item
    grads = model.count_params() * item
    targets = n * (8 + item)
    order = 2 * n * 8
    allowance = workspaces + grads + targets + order + 256 * 1024
    assert allowance < X.nbytes / 4        # one temporary of X's size would exceed it

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        model.fit(X, y, epochs=2, batch_size=bs, verbose=0)
        fit_peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = model.predict(X)
        predict_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert fit_peak < allowance, (fit_peak, allowance)
    assert predict_peak < out.nbytes + 64 * 1024, (predict_peak, out.nbytes)
