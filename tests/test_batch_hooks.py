"""Per-batch callback hooks, steps_per_execution, CSVLogger and the learning-rate warm-up."""
import csv

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.backend import _numpy


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 2] > 0).astype(float)


def _model(backend=None, optimizer="sgd", dropout=0.0, **compile_kw):
    layers = [fm.Input((3,)), fm.Dense(6, activation="tanh")]
    if dropout:
        layers.append(fm.Dropout(dropout))
    model = fm.Sequential([*layers, fm.Dense(1, activation="sigmoid")], seed=0,
                          backend=backend)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", **compile_kw)
    return model


class Recorder(fm.callbacks.Callback):
    def __init__(self):
        self.events = []

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("begin", batch, logs))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("end", batch, dict(logs)))

    def on_test_begin(self, logs=None):
        self.events.append(("test_begin",))

    def on_test_batch_begin(self, batch, logs=None):
        self.events.append(("test_begin_batch", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_end_batch", batch, dict(logs)))

    def on_test_end(self, logs=None):
        self.events.append(("test_end", dict(logs)))


@pytest.mark.parametrize("spe,expected", [
    (1, [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)]),
    (3, [(0, 2), (3, 5), (6, 6)]),
    (7, [(0, 6)]),
    (10, [(0, 6)]),
])
def test_train_batch_hooks_follow_steps_per_execution(backend, spe, expected):
    X, y = _data()  # 50 rows, batches of 8: 7 batches, the last of 2 rows
    model = _model(backend, steps_per_execution=spe)
    rec = Recorder()
    history = model.fit(X, y, epochs=2, batch_size=8, verbose=0, callbacks=[rec])
    pairs = [(a[1], b[1]) for a, b in zip(rec.events[0::2], rec.events[1::2])]
    assert [e[0] for e in rec.events] == ["begin", "end"] * (2 * len(expected))
    assert pairs == expected * 2
    assert all(e[2] is None for e in rec.events if e[0] == "begin")
    # the last group's logged loss is the epoch's loss, as in Keras
    ends = [e for e in rec.events if e[0] == "end"]
    assert ends[len(expected) - 1][2]["loss"] == pytest.approx(history.history["loss"][0],
                                                             rel=1e-12)
    assert list(ends[0][2]) == ["loss"]


def test_batch_logs_are_the_running_mean_of_the_batch_losses():
    X, y = _data()
    model, twin = _model("numpy"), _model("numpy")
    rec = Recorder()
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0, callbacks=[rec])
    # the twin steps the same batches by hand: loss of each batch before its update
    losses, sizes = [], []
    for first in range(0, 50, 8):
        xb, yb = X[first:first + 8], y[first:first + 8]
        losses.append(twin.evaluate(xb, yb))
        _, grads = twin.compute_gradients(xb, yb)
        twin._engine().apply_gradients(grads)
        sizes.append(len(xb))
    running = np.cumsum(np.multiply(losses, sizes)) / np.cumsum(sizes)
    logged = [e[2]["loss"] for e in rec.events if e[0] == "end"]
    np.testing.assert_allclose(logged, running, rtol=1e-12)


def test_hooks_do_not_change_training(backend):
    """Grouped calls train exactly as the long chunks do (also with dropout)."""
    X, y = _data(n=203)
    plain, hooked = _model(backend, "adam", dropout=0.2), _model(backend, "adam", dropout=0.2,
                                                                  steps_per_execution=2)
    h1 = plain.fit(X, y, epochs=3, batch_size=7, verbose=0)
    h2 = hooked.fit(X, y, epochs=3, batch_size=7, verbose=0, callbacks=[Recorder()])
    for a, b in zip(plain.get_weights(), hooked.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1.history == h2.history


def test_stop_training_from_a_batch_hook_ends_the_epoch():
    X, y = _data()

    class StopAt(fm.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    model, twin = _model("numpy"), _model("numpy")
    history = model.fit(X, y, epochs=5, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[StopAt()])
    assert history.epoch == [0]
    twin.fit(X[:24], y[:24], epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_test_batch_hooks_in_evaluate_and_validation():
    X, y = _data()
    model = _model("numpy", steps_per_execution=2)
    rec = Recorder()
    whole = model.evaluate(X, y)
    assert model.evaluate(X, y, batch_size=8, callbacks=[rec]) == pytest.approx(whole,
                                                                               rel=1e-12)
    assert [e[:2] for e in rec.events[1:-1]] == [
        ("test_begin_batch", 0), ("test_end_batch", 1), ("test_begin_batch", 2),
        ("test_end_batch", 3), ("test_begin_batch", 4), ("test_end_batch", 5),
        ("test_begin_batch", 6), ("test_end_batch", 6)]
    assert rec.events[0] == ("test_begin",) and rec.events[-1][0] == "test_end"
    assert rec.events[-2][2]["loss"] == pytest.approx(whole, rel=1e-12)
    rec.events.clear()
    model.fit(X, y, epochs=1, batch_size=10, validation_data=(X[:20], y[:20]), verbose=0,
              callbacks=[rec])
    tests = [e[:2] if e[0] != "test_end" else e[:1] for e in rec.events
             if e[0].startswith("test")]
    assert tests == [("test_begin",), ("test_begin_batch", 0), ("test_end_batch", 1),
                     ("test_end",)]


def test_csv_logger_writes_keras_rows(tmp_path):
    X, y = _data()
    path = tmp_path / "log.csv"
    model = _model("numpy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=3, verbose=0, validation_split=0.2,
                        callbacks=[fm.callbacks.CSVLogger(path)])
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    assert [float(r[2]) for r in rows[1:]] == history.history["loss"]
    model.fit(X, y, epochs=5, initial_epoch=3, verbose=0, validation_split=0.2,
              callbacks=[fm.callbacks.CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 6 and lines[4].startswith("3;") and lines[5].startswith("4;")
    with pytest.raises(ValueError, match="separator must be one character"):
        fm.callbacks.CSVLogger(path, separator=", ")
    with pytest.raises(ValueError, match="append must be True or False"):
        fm.callbacks.CSVLogger(path, append="yes")


def test_warmup_formula_by_hand():
    base = fm.optimizers.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    warm = fm.optimizers.Warmup(base, warmup_steps=4)
    for t in range(12):
        factor = min(1.0, (t + 1) / 4)
        assert warm(t) == pytest.approx(0.1 * factor * 0.5 ** (t / 10), rel=1e-15)
    const = fm.optimizers.Warmup(0.01, 3)
    assert [const(t) for t in range(4)] == pytest.approx([0.01 / 3, 0.02 / 3, 0.01, 0.01])
    assert fm.optimizers.deserialize_schedule(
        fm.optimizers.serialize_schedule(warm)) == warm


@pytest.mark.parametrize("kw,match", [
    ({"schedule": 0.1, "warmup_steps": 0}, "warmup_steps must be an integer >= 1"),
    ({"schedule": 0.1, "warmup_steps": 2.5}, "warmup_steps must be an integer >= 1"),
    ({"schedule": -1.0, "warmup_steps": 2}, "learning_rate must be > 0"),
    ({"schedule": fm.optimizers.Warmup(0.1, 2), "warmup_steps": 2}, "cannot wrap another"),
])
def test_warmup_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        fm.optimizers.Warmup(**kw)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_warmup_trains_the_same_in_both_backends_and_by_hand(opt, dtype):
    X, y = _data(n=64)
    schedule = fm.optimizers.Warmup(fm.optimizers.StepDecay(0.05, decay_steps=5), 6)
    models = {}
    for backend in fm.available_backends():
        m = fm.Sequential([fm.Input((3,)), fm.Dense(4, activation="tanh"),
                           fm.Dense(1, activation="sigmoid")], seed=1, dtype=dtype,
                          backend=backend)
        m.compile(fm.optimizers.get(opt).__class__(learning_rate=schedule),
                  "binary_crossentropy")
        m.fit(X, y, epochs=2, batch_size=8, verbose=0)
        models[backend] = m
    ref = models["numpy"]
    for other in models.values():
        for a, b in zip(ref.get_weights(), other.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == "float32" else 1e-10,
                                       atol=1e-6 if dtype == "float32" else 1e-12)
    # SGD by hand: each update uses the warmed-up rate
    if opt == "sgd":
        m = fm.Sequential([fm.Input((3,)), fm.Dense(1, activation="sigmoid")], seed=1)
        m.compile(fm.optimizers.SGD(schedule), "binary_crossentropy")
        w0 = m.build().get_weights()
        _, grads = m.compute_gradients(X[:8], y[:8])
        m.fit(X[:8], y[:8], epochs=1, batch_size=8, verbose=0)
        assert schedule(0) == pytest.approx(0.05 / 6)
        for w, g, new in zip(w0, grads, m.get_weights()):
            np.testing.assert_allclose(new, w - schedule(0) * g, rtol=1e-13)


def test_warmup_survives_save_and_load(tmp_path):
    X, y = _data()
    model = _model("numpy", optimizer=fm.optimizers.Adam(fm.optimizers.Warmup(0.01, 5)))
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.fmlp")
    loaded = fm.load_model(tmp_path / "m.fmlp")
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate
    model.fit(X, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    loaded.fit(X, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_numpy_reference_learning_rate_matches_the_schedule():
    warm = fm.optimizers.Warmup(fm.optimizers.InverseScaling(0.1, power=0.5), 3)
    for t in (0, 1, 2, 3, 50):
        assert _numpy.learning_rate_at(warm.hyper(), t) == warm(t)


class Snapshots(fm.callbacks.Callback):
    """Records each batch-end's logs, and the model's predictions of all rows at each
    batch begin (before the group's update)."""

    def __init__(self, X):
        self.X, self.logs, self.preds = X, [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.preds.append(self.model.predict(self.X))

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append((batch, dict(logs)))


def _running_by_hand(snap, y, groups):
    """Accuracy and MAE over the rows of the groups so far, each group's rows predicted
    with the weights before its update (the predictions recorded at its batch begin)."""
    out, rows, preds = [], [], []
    for (start, stop), P in zip(groups, snap.preds):
        rows.extend(range(start, stop))
        preds.append(P[start:stop, 0])
        p, t = np.concatenate(preds), y[rows]
        out.append((np.mean((p > 0.5) == (t > 0.5)), np.mean(np.abs(p - t))))
    return np.array(out)


@pytest.mark.parametrize("spe", [1, 3])
def test_train_batch_logs_carry_the_running_metrics(backend, spe):
    X, y = _data()
    model = _model(backend, steps_per_execution=spe, metrics=["accuracy", "mae"])
    snap = Snapshots(X)
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0, callbacks=[snap])
    assert all(list(logs) == ["loss", "accuracy", "mae"] for _, logs in snap.logs)
    groups = [(b * 8, min(50, (b + spe) * 8)) for b in range(0, 7, spe)]
    assert [batch for batch, _ in snap.logs] == [-(-stop // 8) - 1 for _, stop in groups]
    logged = np.array([(logs["accuracy"], logs["mae"]) for _, logs in snap.logs])
    np.testing.assert_allclose(logged, _running_by_hand(snap, y, groups), rtol=1e-6)


def test_train_batch_logs_of_a_stream_carry_the_running_metrics():
    X, y = _data()

    class Batches(fm.utils.Sequence):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return X[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]

    model = _model("numpy", steps_per_execution=2, metrics=["accuracy", "mae"])
    snap = Snapshots(X)
    model.fit(Batches(), epochs=1, shuffle=False, verbose=0, callbacks=[snap])
    groups = [(b * 8, min(50, (b + 2) * 8)) for b in range(0, 7, 2)]
    assert [batch for batch, _ in snap.logs] == [1, 3, 5, 6]
    logged = np.array([(logs["accuracy"], logs["mae"]) for _, logs in snap.logs])
    np.testing.assert_allclose(logged, _running_by_hand(snap, y, groups), rtol=1e-12)


def test_test_batch_logs_carry_the_running_metrics():
    X, y = _data()
    model = _model("numpy", steps_per_execution=2, metrics=["accuracy", "mae"])
    rec = Recorder()
    final = model.evaluate(X, y, return_dict=True)
    model.evaluate(X, y, batch_size=8, callbacks=[rec])
    ends = [e for e in rec.events if e[0] == "test_end_batch"]
    P = model.predict(X)[:, 0]
    for (_, batch, logs) in ends:
        seen = min(50, (batch + 1) * 8)
        assert list(logs) == ["loss", "accuracy", "mae"]
        assert logs["accuracy"] == pytest.approx(np.mean((P[:seen] > 0.5) == y[:seen]))
        assert logs["mae"] == pytest.approx(np.mean(np.abs(P[:seen] - y[:seen])))
    assert ends[-1][2] == pytest.approx(final)
    # a generator's batches as well
    rec.events.clear()
    model.evaluate(((X[i:i + 8], y[i:i + 8]) for i in range(0, 50, 8)), callbacks=[rec])
    ends = [e for e in rec.events if e[0] == "test_end_batch"]
    assert len(ends) == 7 and ends[-1][2] == pytest.approx(final)
    assert ends[2][2]["mae"] == pytest.approx(np.mean(np.abs(P[:24] - y[:24])))


class PredictRecorder(fm.callbacks.Callback):
    def __init__(self):
        self.events = []

    def on_predict_begin(self, logs=None):
        self.events.append(("begin", self.model))

    def on_predict_batch_begin(self, batch, logs=None):
        self.events.append(("batch_begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, logs["outputs"]))

    def on_predict_end(self, logs=None):
        self.events.append(("end",))


@pytest.mark.parametrize("spe,groups", [(1, [(0, 0), (1, 1), (2, 2), (3, 3)]),
                                        (3, [(0, 2), (3, 3)])])
def test_predict_batch_hooks(backend, spe, groups):
    X, _ = _data(n=30)
    model = _model(backend, steps_per_execution=spe)
    whole = model.predict(X)
    rec = PredictRecorder()
    out = model.predict(X, batch_size=8, callbacks=[rec])
    np.testing.assert_array_equal(out, whole)
    assert rec.events[0] == ("begin", model) and rec.events[-1] == ("end",)
    batches = rec.events[1:-1]
    assert [(a[1], b[1]) for a, b in zip(batches[0::2], batches[1::2])] == groups
    assert [e[0] for e in batches] == ["batch_begin", "batch_end"] * len(groups)
    for (first, last), (_, _, outputs) in zip(groups, batches[1::2]):
        np.testing.assert_array_equal(outputs, whole[first * 8:(last + 1) * 8])
    # a generator's batches one by one
    rec.events.clear()
    out = model.predict((X[i:i + 10] for i in range(0, 30, 10)), callbacks=[rec])
    np.testing.assert_array_equal(out, whole)
    assert [e[1] for e in rec.events if e[0] == "batch_end"] == [0, 1, 2]
    np.testing.assert_array_equal(rec.events[-2][2], whole[20:])


def test_predict_without_batch_hooks_runs_at_once(monkeypatch):
    X, _ = _data(n=30)
    model = _model("numpy")
    whole = model.predict(X)

    class Ends(fm.callbacks.Callback):
        def __init__(self):
            self.calls = []

        def on_predict_begin(self, logs=None):
            self.calls.append("begin")

        def on_predict_end(self, logs=None):
            self.calls.append("end")

    calls = []
    real = _numpy.Engine.predict
    monkeypatch.setattr(_numpy.Engine, "predict",
                        lambda self, X: calls.append(len(X)) or real(self, X))
    ends = Ends()
    np.testing.assert_array_equal(model.predict(X, batch_size=4, callbacks=[ends]), whole)
    assert ends.calls == ["begin", "end"] and calls == [30]
    np.testing.assert_array_equal(model.predict(X, batch_size=4), whole)
    assert calls == [30, 30]
    with pytest.raises(TypeError, match=r"callbacks must be fastmlp\.callbacks\.Callback"):
        model.predict(X, callbacks=[print])
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        model.predict(X, batch_size=0)
