"""Callbacks: each one's rules on scripted log sequences, then inside real training."""
import math
import types
import warnings

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import callbacks as C


class FakeModel:
    """Just enough of a Sequential for callbacks driven by hand: weights are one number."""

    def __init__(self, lr=0.1):
        self.w = 0.0
        self.stop_training = False
        self.optimizer = fm.optimizers.SGD(learning_rate=lr)
        self.saved = []

    def get_weights(self):
        return [np.array([self.w])]

    def set_weights(self, weights):
        self.w = float(weights[0][0])

    def save(self, path):
        self.saved.append((path, self.w))


def drive(callback, values, key="val_loss", model=None):
    """Run ``callback`` over epochs whose ``key`` takes ``values``; the fake weight is the
    epoch number. Returns (model, epochs run)."""
    model = model or FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    run = 0
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        model.w = float(epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0, key: value})
        run += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return model, run


def _moons_model(backend=None, seed=0):
    model = fm.Sequential([fm.Dense(8, activation="tanh"), fm.Dense(1, activation="sigmoid")],
                          seed=seed, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(0.2), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


MOONS = fm.datasets.make_moons(n_samples=160, noise=0.25, seed=3)


# ---------------------------------------------------------------------------------------
# the base class and History
# ---------------------------------------------------------------------------------------
def test_custom_callback_sees_every_hook_in_order_and_can_stop(backend):
    events = []

    class Recorder(C.Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"begin {epoch}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"end {epoch} {sorted(logs)}")
            if epoch == 2:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            events.append("train_end")

    X, y = MOONS
    model = _moons_model(backend)
    history = model.fit(X, y, epochs=10, verbose=0, callbacks=[Recorder()])
    keys = "['accuracy', 'loss']"
    assert events == ["train_begin", "begin 0", f"end 0 {keys}", "begin 1", f"end 1 {keys}",
                      "begin 2", f"end 2 {keys}", "train_end"]
    assert history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 3


def test_history_records_and_fit_refuses_non_callbacks():
    X, y = MOONS
    model = _moons_model()
    history = model.fit(X, y, epochs=4, validation_split=0.25, verbose=0)
    assert isinstance(history, C.History) and model.history is history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(TypeError, match="Callback instances"):
        model.fit(X, y, callbacks=[lambda epoch, logs: None])


def test_lambda_callback_calls_each_function():
    calls = []
    cb = C.LambdaCallback(on_train_begin=lambda logs: calls.append(("tb", logs)),
                          on_epoch_begin=lambda e, logs: calls.append(("eb", e)),
                          on_epoch_end=lambda e, logs: calls.append(("ee", e, logs["val_loss"])),
                          on_train_end=lambda logs: calls.append(("te", logs)))
    drive(cb, [0.5, 0.4])
    assert calls == [("tb", {}), ("eb", 0), ("ee", 0, 0.5), ("eb", 1), ("ee", 1, 0.4),
                     ("te", {})]
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        C.LambdaCallback(on_epoch_end=3)


def test_lambda_callback_in_fit_sees_real_logs(backend):
    X, y = MOONS
    seen = []
    model = _moons_model(backend)
    history = model.fit(X, y, epochs=3, verbose=0, callbacks=[
        C.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs["loss"]))])
    assert seen == history.history["loss"]


# ---------------------------------------------------------------------------------------
# EarlyStopping
# ---------------------------------------------------------------------------------------
def test_early_stopping_patience():
    # best at epoch 1 (0.5); epochs 2, 3, 4 do not improve -> stops at epoch 4 (patience 3)
    cb = C.EarlyStopping(patience=3)
    model, run = drive(cb, [1.0, 0.5, 0.6, 0.55, 0.7, 0.1, 0.1])
    assert run == 5 and cb.stopped_epoch == 4 and cb.best_epoch == 1 and cb.best == 0.5
    assert model.w == 4.0  # weights not restored unless asked


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    cb = C.EarlyStopping(patience=0)
    _, run = drive(cb, [1.0, 0.9, 0.95, 0.1])
    assert run == 3 and cb.stopped_epoch == 2


def test_early_stopping_min_delta():
    # improvements of 0.01 are smaller than min_delta=0.05: they do not count
    cb = C.EarlyStopping(patience=2, min_delta=0.05)
    _, run = drive(cb, [1.0, 0.99, 0.98, 0.97, 0.5])
    assert run == 3 and cb.best == 1.0


def test_early_stopping_mode_max_for_accuracy():
    cb = C.EarlyStopping(monitor="val_accuracy", patience=1)
    assert cb.mode == "max"
    _, run = drive(cb, [0.5, 0.7, 0.6, 0.65, 0.9], key="val_accuracy")
    assert run == 3 and cb.best == 0.7
    assert C.EarlyStopping(monitor="val_r2").mode == "max"
    assert C.EarlyStopping(monitor="loss").mode == "min"
    assert C.EarlyStopping(monitor="val_accuracy", mode="min").mode == "min"


def test_early_stopping_baseline():
    # As in Keras: improvements short of the baseline 0.3 do not reset the count, so the
    # first epoch without improvement ends training once `patience` epochs have passed.
    cb = C.EarlyStopping(patience=2, baseline=0.3)
    _, run = drive(cb, [0.9, 0.8, 0.7, 0.75, 0.5])
    assert run == 4 and cb.stopped_epoch == 3
    cb = C.EarlyStopping(patience=2)
    _, run = drive(cb, [0.9, 0.8, 0.7, 0.75, 0.5])
    assert run == 5 and cb.stopped_epoch is None
    cb = C.EarlyStopping(patience=2, baseline=0.3)
    _, run = drive(cb, [0.9, 0.2, 0.25, 0.24, 0.1])
    assert run == 4 and cb.best == 0.2


def test_early_stopping_start_from_epoch():
    cb = C.EarlyStopping(patience=0, start_from_epoch=3)
    _, run = drive(cb, [1.0, 2.0, 3.0, 0.5, 0.6])
    assert run == 5 and cb.best_epoch == 3


def test_restore_best_weights_when_stopped_early():
    cb = C.EarlyStopping(patience=2, restore_best_weights=True)
    model, run = drive(cb, [0.9, 0.3, 0.5, 0.6, 0.1])
    assert run == 4 and model.w == 1.0


def test_restore_best_weights_also_at_the_last_epoch():
    cb = C.EarlyStopping(patience=10, restore_best_weights=True)
    model, run = drive(cb, [0.9, 0.8, 0.2, 0.4, 0.5])
    assert run == 5 and cb.stopped_epoch is None
    assert model.w == 2.0


def test_restore_best_weights_in_real_training(backend):
    X, y = MOONS
    X_tr, X_val, y_tr, y_val = fm.train_test_split(X, y, test_size=0.3, stratify=y, seed=0)
    per_epoch = []
    record = C.LambdaCallback(on_epoch_end=lambda e, logs: per_epoch.append(
        (logs["val_loss"], model.get_weights())))
    stop = C.EarlyStopping(patience=3, restore_best_weights=True)
    model = fm.Sequential([fm.Dense(32, activation="tanh"), fm.Dense(1, activation="sigmoid")],
                          seed=0, backend=backend)
    # a large learning rate makes the validation loss jump about
    model.compile(optimizer=fm.optimizers.SGD(2.0), loss="binary_crossentropy")
    model.fit(X_tr, y_tr, epochs=40, batch_size=8, validation_data=(X_val, y_val), verbose=0,
              callbacks=[record, stop])
    best = int(np.argmin([v for v, _ in per_epoch]))
    assert stop.best_epoch == best
    assert best != len(per_epoch) - 1  # otherwise there is nothing to restore
    for got, want in zip(model.get_weights(), per_epoch[best][1]):
        np.testing.assert_array_equal(got, want)
    assert model.evaluate(X_val, y_val, return_dict=True)["loss"] == pytest.approx(
        per_epoch[best][0], rel=1e-12)


def test_early_stopping_stops_real_training(backend):
    X, y = MOONS
    model = _moons_model(backend)
    stop = C.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-3)
    history = model.fit(X, y, epochs=2000, validation_split=0.25, verbose=0, callbacks=[stop])
    assert stop.stopped_epoch is not None
    assert len(history.epoch) == stop.stopped_epoch + 1 < 2000
    v = history.history["val_loss"]
    assert min(v[-2:]) > min(v) - 1e-3  # the last `patience` epochs did not improve


def test_monitoring_a_missing_quantity_is_a_clear_error():
    X, y = MOONS
    model = _moons_model()
    with pytest.raises(ValueError, match=r"monitors 'val_loss'.*logged quantities are: loss, "
                                         r"accuracy.*needs validation_split"):
        model.fit(X, y, epochs=2, verbose=0, callbacks=[C.EarlyStopping()])


@pytest.mark.parametrize("make,match", [
    (lambda: C.EarlyStopping(mode="sideways"), "mode must be"),
    (lambda: C.EarlyStopping(patience=-1), "patience must be an integer >= 0"),
    (lambda: C.EarlyStopping(min_delta=float("nan")), "min_delta must be finite, got nan"),
    (lambda: C.ReduceLROnPlateau(factor=1.0), r"factor must be < 1.0, got 1.0"),
    (lambda: C.ReduceLROnPlateau(min_lr=-1), "min_lr must be >= 0"),
    (lambda: C.ModelCheckpoint("m.npz", monitor=""), "monitor must be"),
])
def test_bad_callback_settings(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ---------------------------------------------------------------------------------------
def test_reduce_lr_patience_cooldown_and_min_lr():
    model = FakeModel(lr=1.0)
    cb = C.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, min_lr=0.2, min_delta=0.0)
    # epoch: 0 best, 1 wait 1, 2 wait 2 -> 0.5, 3 cooldown, 4 cooldown ends and wait 1,
    # 5 wait 2 -> 0.25, 6, 7, 8 -> 0.2 (min_lr), then it stays at min_lr
    drive(cb, [1.0] + [2.0] * 11, model=model)
    assert cb.reductions == [(2, 0.5), (5, 0.25), (8, 0.2)]
    assert model.optimizer.learning_rate == 0.2


def test_reduce_lr_improvement_resets_the_count():
    model = FakeModel(lr=1.0)
    cb = C.ReduceLROnPlateau(factor=0.1, patience=2)
    drive(cb, [1.0, 1.1, 0.9, 1.0, 0.8, 0.95], model=model)
    assert cb.reductions == [] and model.optimizer.learning_rate == 1.0


def test_reduce_lr_changes_real_training_exactly(backend):
    """Training with a reduction after epoch 2 equals training 3 epochs, lowering the rate
    by hand, then training the rest (same seed, same shuffles)."""
    X, y = MOONS
    scripted = [0.5, 0.6, 0.7, 0.1, 0.09, 0.08]  # no improvement at epochs 1, 2: reduce at 2

    def inject(epoch, logs):
        logs["scripted"] = scripted[epoch]

    a = _moons_model(backend)
    cb = C.ReduceLROnPlateau(monitor="scripted", factor=0.25, patience=2)
    a.fit(X, y, epochs=6, verbose=0, callbacks=[C.LambdaCallback(on_epoch_end=inject), cb])
    assert cb.reductions == [(2, 0.05)] and a.optimizer.learning_rate == 0.05

    b = _moons_model(backend)
    b.fit(X, y, epochs=3, verbose=0)
    b.optimizer.learning_rate = 0.05
    b.fit(X, y, epochs=3, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)

    c = _moons_model(backend)  # without the reduction the weights differ
    c.fit(X, y, epochs=6, verbose=0)
    assert not np.array_equal(c.get_weights()[0], a.get_weights()[0])


def test_reduce_lr_needs_a_numeric_rate():
    model = FakeModel()
    model.optimizer = types.SimpleNamespace(learning_rate=object())  # e.g. a schedule
    cb = C.ReduceLROnPlateau()
    cb.set_model(model)
    with pytest.raises(TypeError, match="constant numeric learning_rate"):
        cb.on_train_begin()
    schedule = getattr(fm.optimizers, "ExponentialDecay", None)
    if schedule is not None:  # a real schedule, where the optimizers module has them
        model.optimizer = fm.optimizers.SGD(schedule(0.1, decay_steps=10, decay_rate=0.5))
        with pytest.raises(TypeError, match="constant numeric learning_rate"):
            cb.on_train_begin()


# ---------------------------------------------------------------------------------------
# TerminateOnNaN
# ---------------------------------------------------------------------------------------
def test_terminate_on_nan_by_hand():
    cb = C.TerminateOnNaN()
    with pytest.warns(RuntimeWarning, match="epoch 3: val_loss is nan"):
        _, run = drive(cb, [0.5, 0.4, math.nan, 0.3])
    assert run == 3 and cb.stopped_epoch == 2
    _, run = drive(C.TerminateOnNaN(), [0.5, 0.4, 0.3])
    assert run == 3


def test_terminate_on_nan_stops_when_validation_loss_overflows(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([1.0, -2.0])
    X_val = np.full((4, 2), 1e200)  # finite inputs whose squared error overflows
    model = fm.Sequential([fm.Dense(1)], seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(0.05), loss="mse")
    cb = C.TerminateOnNaN()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow warnings
        history = model.fit(X, y, epochs=5, verbose=0, validation_data=(X_val, y[:4]),
                            callbacks=[cb])
    assert cb.stopped_epoch == 0 and len(history.epoch) == 1
    assert not math.isfinite(history.history["val_loss"][0])
    assert all(np.isfinite(w).all() for w in model.get_weights())


# ---------------------------------------------------------------------------------------
# ModelCheckpoint (with a recording model; saving to disk is tested with saving)
# ---------------------------------------------------------------------------------------
def test_model_checkpoint_saves_only_improvements():
    cb = C.ModelCheckpoint("best-{epoch:02d}-{val_loss:.2f}.npz")
    model, _ = drive(cb, [0.9, 0.5, 0.7, 0.4, 0.4])
    assert model.saved == [("best-01-0.90.npz", 0.0), ("best-02-0.50.npz", 1.0),
                           ("best-04-0.40.npz", 3.0)]
    assert cb.last_saved == "best-04-0.40.npz"


def test_model_checkpoint_every_epoch_and_mode_max():
    cb = C.ModelCheckpoint("m.npz", save_best_only=False)
    model, _ = drive(cb, [0.9, 0.95, 0.7])
    assert [w for _, w in model.saved] == [0.0, 1.0, 2.0]
    cb = C.ModelCheckpoint("m.npz", monitor="val_accuracy")
    model, _ = drive(cb, [0.5, 0.7, 0.6, 0.8], key="val_accuracy")
    assert [w for _, w in model.saved] == [0.0, 1.0, 3.0]


def test_model_checkpoint_bad_filepath_field():
    cb = C.ModelCheckpoint("m-{val_auc}.npz")
    with pytest.raises(ValueError, match="could not be filled"):
        drive(cb, [0.5])


# ---------------------------------------------------------------------------------------
# progress output of fit
# ---------------------------------------------------------------------------------------
def test_fit_verbosity_levels(capsys):
    X, y = MOONS
    _moons_model().fit(X, y, epochs=3, validation_split=0.25, verbose=0)
    assert capsys.readouterr() == ("", "")

    _moons_model().fit(X, y, epochs=3, validation_split=0.25, verbose=2)
    out, err = capsys.readouterr()
    lines = err.splitlines()   # progress goes to standard error (issue 19)
    assert len(lines) == 3 and out == ""
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3 - ")
        assert "loss: " in line and "accuracy: " in line and "val_loss: " in line

    _moons_model().fit(X, y, epochs=3, batch_size=16, validation_split=0.25, verbose=1)
    out, err = capsys.readouterr()
    assert out == ""  # the bar goes to stderr (a widget in a notebook)
    for epoch in (1, 2, 3):
        assert f"Epoch {epoch}/3" in err
    assert "8/8" in err and "val_accuracy=" in err  # 120 training rows in batches of 16
