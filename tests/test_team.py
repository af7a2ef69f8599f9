"""Team mode of the compiled engine (one OpenMP team runs a training chunk, each thread its
rows and its block of every gradient and update, BLAS on one thread meanwhile) computes
what the serial path and the NumPy reference compute, with every training feature, with
uneven blocks and with batches smaller than the team; it restores BLAS's thread count,
stops at a diverging step exactly as the serial path does, and is deterministic."""
import copy

import numpy as np
import pytest
from conftest import TOL
from test_reliability import _diverging

import fastmlp as fm


def _team_available():
    if "cython" not in fm.available_backends():
        return False
    from fastmlp.backend import _blas, _engine

    return _engine.openmp_enabled() and _blas.blas_thread_control()


team = pytest.mark.skipif(not _team_available(),
                          reason="needs the compiled engine built with OpenMP and a BLAS "
                                 "whose thread count can be set")


class Mode:
    """Context: team mode forced on (``threads`` threads, even for tiny batches) or off;
    ``columns``: its column plan forced (leading layers split by output units, whether
    the product into the first layer's dZ is), None: the engine's rule."""

    def __init__(self, threads, columns=None):
        self.threads = threads
        self.columns = columns

    def __enter__(self):
        from fastmlp.backend import _engine

        self.saved_threads = _engine.get_num_threads()
        if self.threads == 1:   # the serial path: team mode off
            self.saved = _engine.testing.set_team_thresholds(min_work=2**62)
        else:
            self.saved = _engine.testing.set_team_thresholds(min_work=0, min_rows=0)
            _engine.set_num_threads(self.threads)
        self.saved_columns = _engine.testing.set_team_columns(*(self.columns or (None, None)))
        return self

    def __exit__(self, *exc):
        from fastmlp.backend import _engine

        _engine.testing.set_team_thresholds(*self.saved)
        _engine.set_num_threads(self.saved_threads)
        _engine.testing.set_team_columns(*self.saved_columns)


def _data(n, d, k, loss, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if loss == "categorical_crossentropy":
        y = np.eye(k)[rng.integers(0, k, size=n)]
    elif loss == "binary_crossentropy":
        y = (rng.random((n, k)) > 0.5).astype(float)
    else:
        y = rng.normal(size=(n, k))
    return X, y


CASES = {
    # name: (hidden activations, output, loss, optimizer factory, layer options, fit options)
    "adam-softmax": (("relu", "tanh"), "softmax", "categorical_crossentropy",
                     lambda: fm.optimizers.Adam(1e-2), {}, {}),
    "momentum-sigmoid": (("leaky_relu",), "sigmoid", "binary_crossentropy",
                         lambda: fm.optimizers.Momentum(0.05, momentum=0.9, nesterov=True),
                         {}, {}),
    "rmsprop-mse": (("elu", "softplus"), "linear", "mean_squared_error",
                    lambda: fm.optimizers.RMSprop(1e-3, centered=True, momentum=0.5), {}, {}),
    "nadam-penalties": (("tanh",), "softmax", "categorical_crossentropy",
                        lambda: fm.optimizers.Nadam(1e-2),
                        {"kernel_regularizer": fm.regularizers.L1L2(1e-3, 1e-2),
                         "bias_regularizer": fm.regularizers.l2(1e-3)}, {}),
    "sgd-clipnorm": (("relu",), "linear", "huber",
                     lambda: fm.optimizers.SGD(0.1, clipnorm=0.5, weight_decay=1e-3), {}, {}),
    "adagrad-clipvalue": (("sigmoid",), "sigmoid", "binary_crossentropy",
                          lambda: fm.optimizers.Adagrad(0.1, clipvalue=0.01), {}, {}),
    "amsgrad-weights": (("relu", "relu"), "softmax", "categorical_crossentropy",
                        lambda: fm.optimizers.AMSGrad(1e-2), {}, {"sample_weight": True}),
    "adamax-dropout": (("relu", "tanh"), "linear", "mean_absolute_error",
                       lambda: fm.optimizers.AdaMax(1e-2), {"dropout": 0.3}, {}),
}


def _model(case, dtype, backend, d=13, width=37, k=3):
    hidden, out, loss, make_opt, layer_opts, _ = CASES[case]
    opts = {key: v for key, v in layer_opts.items() if key != "dropout"}
    layers = []
    for i, act in enumerate(hidden):
        layers.append(fm.Dense(width, activation=act, input_dim=d if i == 0 else None,
                               **opts))
        if "dropout" in layer_opts:
            layers.append(fm.Dropout(layer_opts["dropout"]))
    layers.append(fm.Dense(k, activation=out, **opts))
    model = fm.Sequential(layers, seed=3, dtype=dtype, backend=backend)
    model.compile(optimizer=make_opt(), loss=loss)
    return model.build()


def _train(case, dtype, backend, threads, batch_size, n=203, epochs=3, columns=None):
    model = _model(case, dtype, backend)
    X, y = _data(n, 13, 3, CASES[case][2])
    fit_opts = {}
    if CASES[case][5].get("sample_weight"):
        fit_opts["sample_weight"] = np.random.default_rng(1).uniform(0.1, 2.0, size=n)
    with Mode(threads, columns):
        if backend == "cython":   # the mode asked for is the one that runs
            from fastmlp.backend import _engine

            assert _engine.testing.team_size(model._engine(), batch_size) == threads
            if columns is not None and threads > 1:
                n_hidden = len(CASES[case][0])
                assert _engine.testing.team_plan(model._engine(), batch_size) == (
                    min(columns[0], n_hidden), columns[1])
        model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0, **fit_opts)
    return model


def _state(model):
    return model.get_weights() + [s for slot in model.optimizer.slots for s in slot]


@team
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("threads,batch_size", [(2, 32), (3, 32), (3, 2)])
@pytest.mark.parametrize("columns", [(0, False), (1, False), (9, True)],
                         ids=["rows", "first-columns", "all-columns"])
@pytest.mark.slow
def test_team_matches_serial_and_reference(case, dtype, threads, batch_size, columns):
    """203 rows: a ragged last batch; 3 threads: blocks of unequal size (and 37 hidden
    units, 13 inputs: uneven parameter blocks); batch 2 with 3 threads: a thread with no
    rows at all (and, in column mode, 37 units in blocks of 16: a thread with no units).
    Column plans: every product by rows; the first layer's forward product by units; the
    forward products of all hidden layers and the product into layer 1's dZ by units."""
    teamed = _train(case, dtype, "cython", threads, batch_size, columns=columns)
    serial = _train(case, dtype, "cython", 1, batch_size)
    reference = _train(case, dtype, "numpy", 1, batch_size)
    assert teamed.optimizer.iterations == serial.optimizer.iterations
    np.testing.assert_array_equal(teamed.optimizer.scalars, serial.optimizer.scalars)
    rtol = TOL[dtype] * 100   # three epochs of training amplify the rounding of a sum
    for a, b, c in zip(_state(teamed), _state(serial), _state(reference)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(a, c, rtol=rtol, atol=rtol)
    losses = [m.history.history["loss"] for m in (teamed, serial, reference)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=rtol)
    np.testing.assert_allclose(losses[0], losses[2], rtol=rtol)


@team
def test_team_is_deterministic():
    runs = [_train("adam-softmax", "float32", "cython", 2, 16) for _ in range(2)]
    for a, b in zip(_state(runs[0]), _state(runs[1])):
        np.testing.assert_array_equal(a, b)


@team
@pytest.mark.parametrize("case", ["adam-softmax", "nadam-penalties", "sgd-clipnorm",
                                  "adamax-dropout"])
@pytest.mark.parametrize("columns", [(0, False), (9, True)], ids=["rows", "all-columns"])
def test_team_tasks_give_the_same_bits_on_fewer_threads(case, columns):
    """A team's work is a fixed set of tasks per phase, which any of its threads may take:
    three tasks run by one thread (as when the others have lost their cores), by two
    (one of them takes two) and by three give the same bits, and the losses, the
    optimizer state and the penalties' and clipping's extra phase agree with them."""
    from fastmlp.backend import _engine

    runs = []
    for threads in (1, 2, 3):
        previous = _engine.testing.set_team_threads(threads)
        try:
            runs.append(_train(case, "float64", "cython", 3, 8, columns=columns))
        finally:
            _engine.testing.set_team_threads(previous)
    for other in runs[1:]:
        assert other.history.history["loss"] == runs[0].history.history["loss"]
        for a, b in zip(_state(runs[0]), _state(other)):
            np.testing.assert_array_equal(a, b)
    serial = _train(case, "float64", "cython", 1, 8)
    tol = TOL["float64"] * 100
    for a, b in zip(_state(runs[0]), _state(serial)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@team
def test_team_is_chosen_where_it_pays():
    """Large batches (rows split), and any batch whose first layer's weights outweigh
    its rows (that layer split by units); small networks never."""
    from fastmlp.backend import _engine

    big = fm.Sequential([fm.Dense(256, activation="relu", input_dim=784),
                         fm.Dense(10, activation="softmax")], dtype="float32",
                        backend="cython")
    big.compile("adam", "categorical_crossentropy")
    big.build()
    tiny = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=2),
                          fm.Dense(1, activation="sigmoid")], dtype="float32",
                         backend="cython")
    tiny.compile("sgd", "binary_crossentropy")
    tiny.build()
    saved = _engine.get_num_threads()
    try:
        _engine.set_num_threads(2)
        assert _engine.testing.team_size(big._engine(), 128) == 2
        assert _engine.testing.team_size(tiny._engine(), 1) == 1       # one row: serial
        assert _engine.testing.team_size(tiny._engine(), 128) == 1     # 128 x 288 weights: serial
        assert _engine.testing.team_size(big._engine(), 1) == 2        # 784x256 in column mode
        assert _engine.testing.team_size(big._engine(), 257) == 2      # by rows: 52 M multiply-adds
        assert _engine.testing.team_plan(big._engine(), 257) == (0, False)   # 256 units < 257 rows
        square = _engine_of((256, 256, 256, 10), ("relu", "relu", "softmax"))
        assert _engine.testing.team_size(square, 64) == 1      # 65,536 weights: no column mode
        assert _engine.testing.team_size(square, 128) == 2     # 17 M multiply-adds by rows
        previous = _engine.testing.set_team_thresholds(min_work=2**60)
        try:   # off altogether, column mode included
            assert _engine.testing.team_size(big._engine(), 1) == 1
        finally:
            _engine.testing.set_team_thresholds(*previous)
        _engine.set_num_threads(1)
        assert _engine.testing.team_size(big._engine(), 128) == 1
    finally:
        _engine.set_num_threads(saved)
    prelu = fm.Sequential([fm.Dense(256, activation="prelu", input_dim=784),
                           fm.Dense(10, activation="softmax")], dtype="float32",
                        backend="cython")
    prelu.compile("adam", "categorical_crossentropy")
    prelu.build()
    with Mode(2):   # prelu's alpha gradient sums over all rows: never split
        assert _engine.testing.team_size(prelu._engine(), 128) == 1


def _engine_of(sizes, activations):
    layers = [fm.Dense(u, activation=a, input_dim=sizes[0] if i == 0 else None)
              for i, (u, a) in enumerate(zip(sizes[1:], activations))]
    model = fm.Sequential(layers, dtype="float32", backend="cython")
    model.compile("adam", "categorical_crossentropy")
    return model.build()._engine()


@team
def test_column_plan_rule():
    """Products split by output units where the weights outweigh the batch's rows (more
    units than rows, and >= 2^17 weights); softmax hidden layers (row-wise) never."""
    from fastmlp.backend import _engine

    mnist = _engine_of((784, 256, 128, 10), ("relu", "relu", "softmax"))
    wide = _engine_of((1024, 1024, 1024, 10), ("relu", "relu", "softmax"))
    assert _engine.testing.team_plan(mnist, 128) == (1, False)       # 784x256: yes, 256x128: no
    assert _engine.testing.team_plan(mnist, 256) == (0, False)       # 256 units, 256 rows
    assert _engine.testing.team_plan(wide, 512) == (2, True)
    assert _engine.testing.team_plan(wide, 1024) == (0, False)
    soft = _engine_of((1024, 1024, 1024, 10), ("relu", "softmax", "softmax"))
    assert _engine.testing.team_plan(soft, 512) == (1, True)
    soft = _engine_of((1024, 1024, 1024, 10), ("softmax", "relu", "softmax"))
    assert _engine.testing.team_plan(soft, 512) == (0, False)
    with pytest.raises(TypeError):
        _engine.testing.team_plan(object(), 16)


@team
def test_blas_thread_count_is_restored():
    from fastmlp.backend import _blas

    before = _blas.blas_threads()
    model = _model("adam-softmax", "float32", "cython")
    X, y = _data(64, 13, 3, "categorical_crossentropy")
    with Mode(2):
        model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    assert _blas.blas_threads() == before


@team
def test_set_num_threads_during_a_team_call_is_kept():
    """fm.set_num_threads while a team holds BLAS to one thread (a training in another
    Python thread): the hold stays while the team runs, and the count the team restores
    when it ends is the new one, not the one it found."""
    from fastmlp.backend import _blas, _engine

    before = fm.get_num_threads()
    try:
        fm.set_num_threads(2)
        _engine.testing.hold_blas(True)
        try:
            assert _blas.blas_threads() == 1
            fm.set_num_threads(3)
            assert _blas.blas_threads() == 1
            assert _engine.get_num_threads() == 3
        finally:
            _engine.testing.hold_blas(False)
        assert _blas.blas_threads() == 3
        assert fm.get_num_threads() == 3
        _engine.testing.hold_blas(True)
        fm.set_num_threads(1)
        _engine.testing.hold_blas(False)
        assert _blas.blas_threads() == 1
    finally:
        fm.set_num_threads(before)


@team
@pytest.mark.parametrize("case", ["loss", "weights"])
def test_team_divergence_ends_where_the_serial_path_ends(dtype, case):
    """The roll-back after a non-finite loss, or after an update that made weights
    non-finite while the loss stayed finite (reported by the update itself), leaves the
    same state, at the same batch, in team mode as on the serial path."""
    start, X, y = _diverging("cython", dtype, case)
    results = []
    for threads in (1, 2, 3):
        model = copy.deepcopy(start)
        with Mode(threads), pytest.raises(fm.TrainingDivergedError) as info:
            model.fit(X, y, epochs=50, batch_size=8, shuffle=False, verbose=0)
        assert all(np.isfinite(w).all() for w in model.get_weights())
        results.append((info.value.epoch, info.value.batch, model))
    for epoch, batch, model in results[1:]:
        assert (epoch, batch) == results[0][:2]
        assert model.optimizer.iterations == results[0][2].optimizer.iterations
        for a, b in zip(model.get_weights(), results[0][2].get_weights()):
            np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=0)
