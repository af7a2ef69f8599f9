"""Numerical extremes, divergence roll-back, Ctrl-C, concurrency and memory.

Run on both backends and both dtypes through the ``backend`` and ``dtype`` fixtures.
"""
import _thread
import copy
import gc
import math
import os
import signal
import threading
import time
import tracemalloc
import warnings

import numpy as np
import pytest
from conftest import TOL

import fastmlp as fm
from fastmlp import _guard
from fastmlp import activations as act
from fastmlp.backend import _numpy as ref
from fastmlp.callbacks import Callback

try:
    from fastmlp.backend import _kernels
except ImportError:  # the extension is not built: the NumPy backend alone is tested
    _kernels = None

KERNEL_IMPLS = ["numpy"] + (["cython"] if _kernels is not None else [])


# --------------------------------------------------------------------------------------
# numerical extremes: |z| = 1e4 in float32 and float64
# --------------------------------------------------------------------------------------
Z_ROW = np.array([[1e4, -1e4, 0.0, 50.0, -50.0, 1.0]])


def _forward(impl, kind, z):
    if impl == "numpy":
        return ref.activation_forward(kind, z.copy())
    return _kernels.activation_forward_py(kind, np.ascontiguousarray(z))


def _backward(impl, kind, z, a, da):
    if impl == "numpy":
        return ref.activation_backward(kind, z, a, da)[0]
    return _kernels.activation_backward_py(kind, z, a, da)[0]


def _sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@pytest.fixture
def strict():
    """Any floating-point warning (overflow, invalid, divide) is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            yield


@pytest.mark.parametrize("impl", KERNEL_IMPLS)
@pytest.mark.parametrize("name, f, df", [
    ("sigmoid", _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    ("softplus", _softplus, _sigmoid),
    ("tanh", math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    ("elu", lambda x: x if x > 0 else math.expm1(x), lambda x: 1.0 if x > 0 else math.exp(x)),
    ("relu", lambda x: max(x, 0.0), lambda x: float(x > 0)),
    ("leaky_relu", lambda x: x if x > 0 else 0.01 * x, lambda x: 1.0 if x > 0 else 0.01),
    ("softsign", lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
])
def test_activations_and_derivatives_at_extremes(impl, dtype, strict, name, f, df):
    kind = act.ACTIVATIONS[name]
    z = Z_ROW.astype(dtype)
    a = _forward(impl, kind, z)
    da = np.ones_like(z)
    dz = _backward(impl, kind, z, a, da)
    assert a.dtype == z.dtype and dz.dtype == z.dtype
    assert np.isfinite(a).all() and np.isfinite(dz).all()
    np.testing.assert_allclose(a[0], [f(float(v)) for v in z[0]], rtol=TOL[dtype], atol=1e-30)
    # derivatives from f (e.g. elu: f + 1) lose what is below f's rounding: atol = eps
    np.testing.assert_allclose(dz[0], [df(float(v)) for v in z[0]], rtol=TOL[dtype] * 10,
                               atol=np.finfo(dtype).eps)


@pytest.mark.parametrize("impl", KERNEL_IMPLS)
def test_softmax_and_log_softmax_at_extremes(impl, dtype, strict):
    z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    p = _forward(impl, act.ACTIVATIONS["softmax"], z)
    e = math.exp(-1)
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / (1 + e), e / (1 + e), 0], [1 / 3] * 3],
                               rtol=TOL[dtype], atol=1e-30)
    logp = ref.log_softmax(z)
    np.testing.assert_allclose(logp[0], [0, -1e4, -2e4], rtol=TOL[dtype])
    assert np.isfinite(logp).all()


def _one_layer(backend, dtype, units, activation, loss, W, b):
    model = fm.Sequential([fm.Dense(units, activation=activation, input_dim=W.shape[0])],
                          dtype=dtype, backend=backend)
    model.compile("sgd", loss)
    model.build()
    model.set_weights([W, b])
    return model


def test_binary_crossentropy_from_logits_at_extremes(backend, dtype, strict):
    model = _one_layer(backend, dtype, 1, "sigmoid", "binary_crossentropy",
                       np.array([[1e4]]), np.zeros(1))
    X = np.array([[1.0], [-1.0], [0.0], [1.0]])   # logits 1e4, -1e4, 0, 1e4
    y = np.array([0, 1, 1, 1])
    np.testing.assert_allclose(model._engine().predict(model._features(X))[:, 0],
                               [1, 0, 0.5, 1], rtol=TOL[dtype])
    loss = model.evaluate(X, y, return_dict=True)["loss"]
    np.testing.assert_allclose(loss, (2e4 + math.log(2)) / 4, rtol=TOL[dtype])
    value, (dW, db) = model.compute_gradients(X, y)
    dz = np.array([1, -1, -0.5, 0]) / 4   # (sigmoid(z) - y) / n
    np.testing.assert_allclose(value, loss, rtol=TOL[dtype])
    np.testing.assert_allclose(dW[:, 0], [X[:, 0] @ dz], rtol=TOL[dtype], atol=1e-30)
    np.testing.assert_allclose(db, [dz.sum()], rtol=TOL[dtype], atol=1e-30)


def test_categorical_crossentropy_from_logits_at_extremes(backend, dtype, strict):
    model = _one_layer(backend, dtype, 3, "softmax", "categorical_crossentropy",
                       np.array([[1e4, 0.0, -1e4]]), np.zeros(3))
    X = np.array([[1.0], [-1.0]])                   # logits ±[1e4, 0, -1e4]
    Y = np.array([[0, 0, 1], [0, 0, 1]])
    loss = model.evaluate(X, Y, return_dict=True)["loss"]
    np.testing.assert_allclose(loss, (2e4 + 0) / 2, rtol=TOL[dtype])  # -log_softmax
    _, (dW, db) = model.compute_gradients(X, Y)
    np.testing.assert_allclose(dW[0], [0.5, 0, -0.5], atol=TOL[dtype])
    np.testing.assert_allclose(db, [0.5, 0, -0.5], atol=TOL[dtype])


def test_softplus_and_sigmoid_layers_at_extremes(backend, dtype, strict):
    for hidden in ("softplus", "sigmoid"):
        model = fm.Sequential([fm.Dense(1, activation=hidden, input_dim=1), fm.Dense(1)],
                              dtype=dtype, backend=backend)
        model.compile("sgd", "mse")
        model.build()
        model.set_weights([np.array([[1e4]]), np.zeros(1), np.ones((1, 1)), np.zeros(1)])
        X = np.array([[1.0], [-1.0]])
        h = np.array([_softplus(1e4), _softplus(-1e4)] if hidden == "softplus"
                     else [1.0, 0.0])
        np.testing.assert_allclose(model._engine().predict(model._features(X))[:, 0], h,
                                   rtol=TOL[dtype])
        loss, grads = model.compute_gradients(X, np.zeros((2, 1)))
        np.testing.assert_allclose(loss, np.mean(h ** 2), rtol=TOL[dtype])
        dout = 2 * h / 2
        dh = dout * (np.array([1.0, 0.0]) if hidden == "softplus" else h * (1 - h))
        np.testing.assert_allclose(grads[2][0, 0], h @ dout, rtol=TOL[dtype])
        np.testing.assert_allclose(grads[0][0, 0], X[:, 0] @ dh, rtol=TOL[dtype], atol=1e-30)
        assert all(np.isfinite(g).all() for g in grads)


def test_training_on_extreme_logits_stays_finite(backend, dtype, strict):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)) * 1e3
    y = (X[:, 0] > 0).astype(int)
    model = fm.Sequential([fm.Dense(8, activation="softplus", input_dim=4),
                           fm.Dense(1, activation="sigmoid")], seed=0, dtype=dtype,
                          backend=backend)
    model.compile(fm.optimizers.SGD(1e-3), "binary_crossentropy")
    model.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert np.isfinite(model.evaluate(X, y, return_dict=True)["loss"])


def test_predict_warns_when_the_output_overflows(backend):
    model = fm.Sequential([fm.Dense(1, input_dim=1)], dtype="float32", backend=backend)
    model.compile("sgd", "mse")
    model.build()
    model.set_weights([np.array([[1e30]]), np.zeros(1)])
    with pytest.warns(RuntimeWarning, match=r"output of 1 row\(s\) is not finite \(the first "
                      r"is row 1\)"):
        out = model.predict(np.array([[1.0], [1e10]]))
    assert out[0, 0] == np.float32(1e30) and np.isinf(out[1, 0])

    class Batches(fm.callbacks.Callback):   # batch by batch: one warning, rows of the whole
        def on_predict_batch_end(self, batch, logs=None):
            pass

    with pytest.warns(RuntimeWarning, match=r"output of 1 row\(s\) is not finite \(the first "
                      r"is row 2\)") as record:
        out = model.predict(np.array([[1.0], [2.0], [1e10]]), batch_size=1,
                            callbacks=[Batches()])
    assert len(record) == 1 and record[0].filename == __file__
    assert np.isinf(out[2, 0])


# --------------------------------------------------------------------------------------
# divergence: stop, restore the last finite state, say where
# --------------------------------------------------------------------------------------
def _diverging(backend, dtype, case):
    """A model and data that diverge: ``"loss"`` (the loss overflows while every weight
    is still finite) or ``"weights"`` (an update overflows the weights to inf while the
    loss stays finite behind relu units)."""
    rng = np.random.default_rng(0)
    if case == "loss":
        X, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
        layers = [fm.Dense(8, activation="tanh", input_dim=3), fm.Dense(1)]
        lr = 10.0
    else:
        X, y = rng.normal(size=(64, 3)) * 1e10, rng.normal(size=(64, 1))
        layers = [fm.Dense(8, activation="relu", input_dim=3), fm.Dense(1, activation="relu")]
        lr = 1e10 if dtype == "float32" else 1e300
    model = fm.Sequential(layers, seed=0, dtype=dtype, backend=backend)
    model.compile(fm.optimizers.SGD(lr), "mse")
    return model.build(), X, y


def _state(model):
    return [w.tobytes() for w in model.get_weights()] + [model.optimizer.scalars.tobytes()]


def _after_steps(start, X, y, batch_size, steps):
    """``start``'s state after ``steps`` updates without shuffling (an independent run)."""
    model = copy.deepcopy(start)
    n_batches = -(-X.shape[0] // batch_size)
    epochs, rest = divmod(steps, n_batches)
    if epochs:
        model.fit(X, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    if rest:
        model.fit(X[:rest * batch_size], y[:rest * batch_size], epochs=1,
                  batch_size=batch_size, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("case", ["loss", "weights"])
def test_divergence_restores_the_last_finite_state(backend, dtype, case):
    model, X, y = _diverging(backend, dtype, case)
    start = copy.deepcopy(model)
    with pytest.raises(fm.TrainingDivergedError) as info:
        model.fit(X, y, epochs=50, batch_size=8, shuffle=False, verbose=0)
    err = info.value
    message = str(err)
    assert f"epoch {err.epoch + 1}, batch {err.batch + 1}" in message
    assert "smaller learning rate" in message
    if case == "loss":
        assert "the loss became inf" in message or "the loss became nan" in message
    else:
        assert "made weights or optimizer state non-finite" in message
    steps = err.epoch * 8 + err.batch
    assert model.optimizer.iterations == steps
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # exactly the state after the last finite step, replayed independently
    assert _state(model) == _state(_after_steps(start, X, y, 8, steps))
    if case == "loss":
        assert not np.isfinite(err.loss)
    # history holds the finished epochs only
    assert len(model.history.history.get("loss", [])) == err.epoch


def test_divergence_weights_case_is_a_real_one(backend, dtype):
    """The 'weights' scenario: after the diverging update the loss is still finite, so a
    check of the loss alone would have let training continue with inf weights."""
    model, X, y = _diverging(backend, dtype, "weights")
    with pytest.raises(fm.TrainingDivergedError) as info:
        copy.deepcopy(model).fit(X, y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    steps = info.value.epoch * 8 + info.value.batch
    bad = _after_steps(model, X, y, 8, steps)
    with np.errstate(all="ignore"):
        bad._engine().train(bad._features(X), bad._targets(y, 64), np.arange(64),
                            8, info.value.batch, info.value.batch + 1, np.empty(1))
        assert not all(np.isfinite(w).all() for w in bad.get_weights())
        assert np.isfinite(bad._engine().loss(bad._features(X), bad._targets(y, 64)))


@pytest.mark.parametrize("ratio", [0.0, math.inf])
def test_divergence_roll_back_with_many_small_chunks(backend, monkeypatch, ratio):
    """One batch per compiled call, snapshots refreshed every call (ratio 0) or only at
    epoch starts (inf): the same final state as with the default chunking."""
    model, X, y = _diverging(backend, "float64", "loss")
    reference = copy.deepcopy(model)
    with pytest.raises(fm.TrainingDivergedError):
        reference.fit(X, y, epochs=50, batch_size=8, shuffle=False, verbose=0)
    monkeypatch.setattr(_guard, "CHUNK_SECONDS", 0.0)
    monkeypatch.setattr(_guard, "SNAPSHOT_RATIO", ratio)
    with pytest.raises(fm.TrainingDivergedError):
        model.fit(X, y, epochs=50, batch_size=8, shuffle=False, verbose=0)
    assert _state(model) == _state(reference)


def test_divergence_warn_returns_and_training_can_resume(backend, dtype):
    model, X, y = _diverging(backend, dtype, "loss")
    with pytest.warns(RuntimeWarning, match=r"training diverged at epoch \d+, batch \d+.*"
                      r"smaller learning rate \(now 10\)"):
        history = model.fit(X, y, epochs=50, batch_size=8, verbose=0, on_divergence="warn")
    assert history is model.history
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # the model is free again: with sane weights and a smaller rate, training resumes
    steps = model.optimizer.iterations
    model.set_weights([w * 0 + 0.1 for w in model.get_weights()])
    model.optimizer.learning_rate = 1e-3
    before = model.evaluate(X, y, return_dict=True)["loss"]
    model.fit(X, y, epochs=5, batch_size=8, verbose=0)
    assert model.evaluate(X, y, return_dict=True)["loss"] < before
    assert model.optimizer.iterations == steps + 40


def test_fit_refuses_to_start_from_non_finite_weights(backend):
    model, X, y = _diverging(backend, "float64", "loss")
    model.layers[0].W[0, 0] = np.nan   # bypassing set_weights, which refuses it
    with pytest.raises(ValueError, match=r"weights or optimizer state are not finite"):
        model.fit(X, y, verbose=0)


def test_chunking_does_not_change_results(backend, dtype, monkeypatch):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 5)), rng.normal(size=(200, 2))
    model = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=5), fm.Dense(2)],
                          seed=3, dtype=dtype, backend=backend)
    model.compile(fm.optimizers.SGD(0.05), "mse")
    other = copy.deepcopy(model)
    h1 = model.fit(X, y, epochs=4, batch_size=7, verbose=0)
    monkeypatch.setattr(_guard, "CHUNK_SECONDS", 0.0)  # one batch per compiled call
    h2 = other.fit(X, y, epochs=4, batch_size=7, verbose=0)
    assert _state(model) == _state(other)
    assert h1.history == h2.history


# --------------------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------------------
def _interrupted_fit(model, X, y, delay, **kwargs):
    """Run ``model.fit`` and send SIGINT (as Ctrl-C does) after ``delay`` seconds from
    another thread. Returns the seconds from the signal to the KeyboardInterrupt."""
    sent = {}

    def send():
        time.sleep(delay)
        sent["at"] = time.perf_counter()
        _thread.interrupt_main()

    thread = threading.Thread(target=send)
    thread.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y, **kwargs)   # long enough to be still running at the signal
        stopped = time.perf_counter()
    finally:
        thread.join()
    return stopped - sent["at"]


@pytest.mark.parametrize("net", ["tiny, batch 1", "wide, batch 256"])
@pytest.mark.slow
def test_ctrl_c_stops_fit_promptly_with_consistent_weights(backend, net):
    rng = np.random.default_rng(0)
    if net == "tiny, batch 1":
        X, y, hidden, bs = rng.normal(size=(20000, 4)), rng.normal(size=(20000, 1)), 4, 1
    else:
        X, y, hidden, bs = rng.normal(size=(4096, 64)), rng.normal(size=(4096, 1)), 512, 256
    model = fm.Sequential([fm.Dense(hidden, activation="tanh", input_dim=X.shape[1]),
                           fm.Dense(1)], seed=0, backend=backend)
    model.compile(fm.optimizers.SGD(1e-3), "mse")
    start = copy.deepcopy(model.build())
    latency = _interrupted_fit(model, X, y, 0.5, epochs=10 ** 6, batch_size=bs,
                               shuffle=False, verbose=0)
    assert latency < 1.0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    steps = model.optimizer.iterations
    n_batches = -(-X.shape[0] // bs)
    assert steps > 0
    assert len(model.history.epoch) == steps // n_batches   # finished epochs only
    # the weights are exactly those after the last completed step
    assert _state(model) == _state(_after_steps(start, X, y, bs, steps))
    # and a later fit continues from there
    model.fit(X[:bs * 3], y[:bs * 3], epochs=1, batch_size=bs, verbose=0)
    assert model.optimizer.iterations == steps + 3


def test_ctrl_c_in_a_callback_is_delivered_at_the_epoch_end(backend):
    events = []

    class Interrupting(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                signal.raise_signal(signal.SIGINT)   # deferred: fit is updating weights
                events.append("after signal")

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 2)), rng.normal(size=(32, 1))
    model = fm.Sequential([fm.Dense(1, input_dim=2)], seed=0, backend=backend)
    model.compile("sgd", "mse")
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=10, batch_size=8, verbose=0, callbacks=[Interrupting()])
    assert events == ["after signal"]
    assert model.history.epoch == [0, 1]
    assert model.optimizer.iterations == 8
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)   # not "already training"
    assert model.optimizer.iterations == 12


def test_interrupt_guard_defers_one_signal_and_delivers_a_second_at_once():
    previous = signal.getsignal(signal.SIGINT)
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with _guard.InterruptGuard() as guard:
            signal.raise_signal(signal.SIGINT)
            reached.append("deferred")
            assert guard.pending is not None
            signal.raise_signal(signal.SIGINT)
            reached.append("not reached")
    assert reached == ["deferred"]
    assert signal.getsignal(signal.SIGINT) is previous
    with pytest.raises(KeyboardInterrupt):
        with _guard.InterruptGuard() as guard:
            signal.raise_signal(signal.SIGINT)
            reached.append("leaving")
    assert reached == ["deferred", "leaving"]   # delivered when the block ends


def test_interrupt_guard_is_inert_outside_the_main_thread():
    seen = []

    def work():
        with _guard.InterruptGuard() as guard:
            seen.append(guard._previous)
            guard.check()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [None]


# --------------------------------------------------------------------------------------
# concurrency
# --------------------------------------------------------------------------------------
def _classifier(backend, dtype="float64", seed=0):
    model = fm.Sequential([fm.Dense(64, activation="relu", input_dim=20),
                           fm.Dense(64, activation="tanh"),
                           fm.Dense(3, activation="softmax")], seed=seed, dtype=dtype,
                          backend=backend)
    model.compile(fm.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    return model.build()


def test_many_threads_predict_identical_results(backend, dtype):
    model = _classifier(backend, dtype)
    X = np.random.default_rng(0).normal(size=(1500, 20))   # > one 1024-row block
    expected = model.predict(X)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def work():
        try:
            barrier.wait()
            for _ in range(3):
                results.append(model.predict(X))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 24
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_second_fit_while_training_raises_and_corrupts_nothing(backend):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(256, 20)), rng.integers(0, 3, 256)
    model = _classifier(backend)
    reference = copy.deepcopy(model)
    reference.fit(X, y, epochs=3, batch_size=16, verbose=0)
    started, tried = threading.Event(), threading.Event()
    outcome = {}

    class Pause(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                started.set()
                tried.wait(10)

    def train():
        try:
            model.fit(X, y, epochs=3, batch_size=16, verbose=0, callbacks=[Pause()])
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=train)
    thread.start()
    try:
        assert started.wait(10)
        with pytest.raises(RuntimeError, match=r"already training"):
            model.fit(X, y, epochs=1, verbose=0)
        with pytest.raises(RuntimeError, match=r"cannot compile a model while it is training"):
            model.compile("sgd", "mse")
    finally:
        tried.set()
        thread.join()
    assert "error" not in outcome
    assert _state(model) == _state(reference)


def test_fit_from_a_callback_raises(backend):
    seen = []

    class Nested(Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                self.model.fit(np.ones((4, 20)), np.zeros(4), verbose=0)
            except RuntimeError as exc:
                seen.append(str(exc))

    model = _classifier(backend)
    model.fit(np.ones((4, 20)), np.zeros(4), epochs=2, verbose=0, callbacks=[Nested()])
    assert len(seen) == 2 and all("already training" in s for s in seen)


def test_evaluate_and_predict_in_other_threads_do_not_disturb_fit(backend):
    """evaluate shares the engine's workspaces with training (and needs them larger than
    the batch): it must wait for the running chunk, never overwrite or free them."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(512, 20)), rng.integers(0, 3, 512)
    X_big, y_big = rng.normal(size=(4000, 20)), rng.integers(0, 3, 4000)
    model = _classifier(backend)
    reference = copy.deepcopy(model)
    reference.fit(X, y, epochs=4, batch_size=8, verbose=0)
    stop = threading.Event()
    counts, errors = {"evaluate": 0, "predict": 0}, []

    def hammer(kind):
        try:
            while not stop.is_set():
                if kind == "evaluate":
                    assert np.isfinite(model.evaluate(X_big, y_big, return_dict=True)["loss"])
                else:
                    assert model.predict(X_big).shape == (4000, 3)
                counts[kind] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(k,)) for k in ("evaluate", "predict")]
    for t in threads:
        t.start()
    try:
        model.fit(X, y, epochs=4, batch_size=8, verbose=0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert counts["evaluate"] > 0 and counts["predict"] > 0
    assert _state(model) == _state(reference)


# --------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------
def _rss_bytes():
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


@pytest.mark.slow
def test_many_epochs_do_not_grow_memory(backend):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(256, 20)), rng.integers(0, 3, 256)
    model = _classifier(backend)
    model.fit(X, y, epochs=20, batch_size=16, verbose=0, validation_split=0.25)
    gc.collect()
    tracemalloc.start()
    try:
        rss0 = _rss_bytes()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(3):
            model.fit(X, y, epochs=100, batch_size=16, verbose=0, validation_split=0.25)
            model.predict(X)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
        rss1 = _rss_bytes()
    finally:
        tracemalloc.stop()
    # 300 epochs: a leak of even one small array per epoch or chunk would show here; the
    # last fit's history (100 epochs x 2 keys) is what legitimately remains.
    assert grown < 100_000, grown
    # (AddressSanitizer keeps freed memory in quarantine: RSS says nothing under it)
    if rss0 is not None and "asan" not in os.environ.get("LD_PRELOAD", ""):
        assert rss1 - rss0 < 4_000_000, rss1 - rss0


# --------------------------------------------------------------------------------------
# the guard's state helpers
# --------------------------------------------------------------------------------------
@pytest.mark.skipif(_kernels is None, reason="the compiled extension is not built")
def test_compiled_state_helpers_match_numpy(dtype):
    from fastmlp.backend import _engine
    all_finite, copy_arrays = _engine.all_finite, _engine.copy_arrays

    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s).astype(dtype) for s in [(3, 4), (4,), (1,), (0,)]]
    assert all_finite(arrays)
    for value in (np.nan, np.inf, -np.inf):
        for k in range(3):
            for i in (0, arrays[k].size - 1):
                bad = [a.copy() for a in arrays]
                bad[k].flat[i] = value
                assert not all_finite(bad)
    dst = [np.zeros_like(a) for a in arrays]
    copy_arrays(dst, arrays)
    for d, a in zip(dst, arrays):
        np.testing.assert_array_equal(d, a)
    with pytest.raises(ValueError, match="equal shape and dtype"):
        copy_arrays([np.zeros((4, 3), dtype)], [arrays[0]])
    other = np.float32 if dtype == "float64" else np.float64
    with pytest.raises(ValueError, match="equal shape and dtype"):
        copy_arrays([np.zeros((3, 4), other)], [arrays[0]])
    with pytest.raises(TypeError, match="C-contiguous float32 or float64"):
        copy_arrays([np.zeros((3, 4), np.float16)], [arrays[0]])
    with pytest.raises(TypeError, match="C-contiguous float32 or float64"):
        all_finite([np.ones((3, 4), dtype)[:, ::2]])
    with pytest.raises(ValueError, match="equal length"):
        copy_arrays(dst, arrays[:1])


def test_divergence_roll_back_without_the_compiled_helpers(backend, monkeypatch):
    model, X, y = _diverging(backend, "float64", "weights")
    reference = copy.deepcopy(model)
    with pytest.raises(fm.TrainingDivergedError):
        reference.fit(X, y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    monkeypatch.setattr(_guard, "_all_finite_c", None)
    monkeypatch.setattr(_guard, "_copy_arrays_c", None)
    with pytest.raises(fm.TrainingDivergedError):
        model.fit(X, y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    assert _state(model) == _state(reference)
