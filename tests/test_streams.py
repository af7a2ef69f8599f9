"""fit/evaluate on data that arrives in pieces: generators, Sequences, memory maps."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp import _streams


def _data(n=103, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(float)


def _model(backend=None, dropout=0.0, metrics=None, dtype="float64"):
    layers = [fm.Input((4,)), fm.Dense(8, activation="tanh")]
    if dropout:
        layers.append(fm.Dropout(dropout))
    model = fm.Sequential([*layers, fm.Dense(1, activation="sigmoid")], seed=3,
                          backend=backend, dtype=dtype)
    model.compile(fm.optimizers.Adam(0.01), "binary_crossentropy", metrics=metrics)
    return model


class Batches(fm.utils.Sequence):
    def __init__(self, X, y, batch_size, w=None):
        self.X, self.y, self.bs, self.w = X, y, batch_size, w
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.X) // self.bs)

    def __getitem__(self, i):
        rows = slice(i * self.bs, (i + 1) * self.bs)
        if self.w is None:
            return self.X[rows], self.y[rows]
        return self.X[rows], self.y[rows], self.w[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _same(a, b):
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_memmap_trains_bit_for_bit_as_the_array(tmp_path, backend, shuffle, dropout,
                                                monkeypatch):
    monkeypatch.setattr(_streams, "BLOCK_BYTES", 8 * 4 * 8 * 3)  # blocks of 3 batches
    X, y = _data()
    path = tmp_path / "X.f64"
    X.tofile(path)
    mm = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    w = np.linspace(0.5, 2, len(X))
    a, b = _model(backend, dropout), _model(backend, dropout)
    ha = a.fit(X, y, epochs=3, batch_size=8, shuffle=shuffle, sample_weight=w, verbose=0)
    hb = b.fit(mm, y, epochs=3, batch_size=8, shuffle=shuffle, sample_weight=w, verbose=0)
    _same(a, b)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-12)


@pytest.mark.parametrize("how", ["npy", "copy-on-write", "column view"])
def test_other_memory_maps_train_as_the_array(tmp_path, how, monkeypatch):
    """An .npy file (rows after a header), a copy-on-write map and a strided view take the
    paths other than reading the file directly; all train as the in-memory array."""
    monkeypatch.setattr(_streams, "BLOCK_BYTES", 8 * 4 * 8 * 3)
    X, y = _data()
    if how == "npy":
        np.save(tmp_path / "X.npy", X)
        mm = np.load(tmp_path / "X.npy", mmap_mode="r")
        assert _streams._file_rows(mm) is not None and mm.offset > 0
    else:
        wide = np.concatenate([X, np.ones((len(X), 1))], axis=1)
        wide.tofile(tmp_path / "X.f64")
        mode = "c" if how == "copy-on-write" else "r"
        mm = np.memmap(tmp_path / "X.f64", dtype=np.float64, mode=mode, shape=wide.shape)
        mm = mm[:, :4]
        assert _streams._file_rows(mm) is None
    a, b = _model(), _model()
    a.fit(X, y, epochs=2, batch_size=8, verbose=0)
    b.fit(mm, y, epochs=2, batch_size=8, verbose=0)
    _same(a, b)


def test_sequence_matches_unshuffled_arrays_and_calls_on_epoch_end(backend):
    X, y = _data()
    seq = Batches(X, y, 10)
    a, b = _model(backend, metrics=["accuracy"]), _model(backend, metrics=["accuracy"])
    ha = a.fit(X, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    hb = b.fit(seq, epochs=2, shuffle=False, verbose=0)
    _same(a, b)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-12)
    assert seq.epochs_ended == 2 and list(hb.history) == ["loss", "accuracy"]
    assert b.evaluate(seq) == pytest.approx(b.evaluate(X, y), rel=1e-12)
    _, acc = b.evaluate(seq)
    assert acc == b.evaluate(X, y, return_dict=True)["accuracy"]


def test_sequence_shuffles_batches_with_the_model_seed():
    X, y = _data()
    seen = []

    class Spy(Batches):
        def __getitem__(self, i):
            seen.append(i)
            return super().__getitem__(i)

    _model().fit(Spy(X, y, 10), epochs=1, verbose=0)
    first = seen[1:]  # seen[0] is the peek at the input size
    assert sorted(first) == list(range(11)) and first != list(range(11))
    seen.clear()
    _model().fit(Spy(X, y, 10), epochs=1, verbose=0)
    assert seen[1:] == first


def test_generator_with_steps_per_epoch_and_sample_weights():
    X, y = _data(n=80)
    w = np.linspace(0.1, 1, 80)

    def batches():
        while True:
            for i in range(0, 80, 16):
                yield X[i:i + 16], y[i:i + 16], w[i:i + 16]

    a, b = _model(), _model()
    a.fit(X, y, sample_weight=w, epochs=3, batch_size=16, shuffle=False, verbose=0)
    history = b.fit(batches(), steps_per_epoch=5, epochs=3, verbose=0)
    _same(a, b)
    assert history.epoch == [0, 1, 2]


def test_a_finite_generator_runs_out_with_a_warning():
    X, y = _data(n=40)
    gen = ((X[i:i + 8], y[i:i + 8]) for i in range(0, 40, 8))
    model = _model()
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        history = model.fit(gen, epochs=3, verbose=0)
    assert history.epoch == [0]


def test_validation_on_a_sequence_and_batch_hooks():
    X, y = _data()
    model = _model(metrics=["accuracy"])
    ends = []
    cb = fm.callbacks.LambdaCallback()
    cb.on_train_batch_end = lambda batch, logs=None: ends.append((batch, logs["loss"]))
    history = model.fit(Batches(X, y, 16), epochs=1, verbose=0, shuffle=False,
                        validation_data=Batches(X[:30], y[:30], 8), callbacks=[cb])
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(X[:30], y[:30])[0],
                                                           rel=1e-12)
    assert [b for b, _ in ends] == list(range(7))
    assert ends[-1][1] == pytest.approx(history.history["loss"][0], rel=1e-12)


@pytest.mark.parametrize("call,error,match", [
    (lambda m, X, y: m.fit(Batches(X, y, 8), y), ValueError, "inside its batches"),
    (lambda m, X, y: m.fit(Batches(X, y, 8), validation_split=0.2), ValueError,
     "validation_split is not available"),
    (lambda m, X, y: m.fit(iter([(X[:, :3], y)])), ValueError,
     "has 3 features, but the model expects 4"),
    (lambda m, X, y: m.fit(iter([X])), ValueError, r"must be a tuple \(x, y\)"),
    (lambda m, X, y: m.fit(iter([(X, y[:5])])), ValueError, "y of batch 0"),
    (lambda m, X, y: m.fit(iter([(np.full_like(X, np.nan), y)])), ValueError,
     "x of batch 0 contains"),
    (lambda m, X, y: m.fit(iter([])), ValueError, "the generator gave no batch"),
    (lambda m, X, y: m.fit(X, y, steps_per_epoch=0), ValueError,
     "steps_per_epoch must be an integer >= 1"),
    (lambda m, X, y: m.fit(Batches(X, y, 8), class_weight={0: 1}), ValueError,
     "class_weight is not available"),
])
def test_bad_streams_are_refused_before_training(call, error, match):
    X, y = _data(n=20)
    model = _model()
    before = model.build().get_weights()
    with pytest.raises(error, match=match):
        call(model, X, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_steps_per_epoch_on_arrays_takes_the_first_batches():
    X, y = _data()
    a, b = _model(), _model()
    a.fit(X[:32], y[:32], epochs=1, batch_size=8, shuffle=False, verbose=0)
    b.fit(X, y, epochs=1, batch_size=8, shuffle=False, steps_per_epoch=4, verbose=0)
    _same(a, b)


def test_is_stream():
    assert _streams.is_stream(iter([])) and _streams.is_stream(Batches([], [], 1))
    assert not any(_streams.is_stream(v) for v in (np.zeros((2, 2)), [[1.0]], (1, 2), "x"))


def test_predict_on_a_sequence_and_a_generator(backend):
    X, y = _data()
    model = _model(backend)
    expected = model.predict(X)
    # (row blocks of other sizes may round the last bit differently in BLAS)
    np.testing.assert_allclose(model.predict(Batches(X, y, 10)), expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X[i:i + 7] for i in range(0, 103, 7)),
                               expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict(Batches(X, y, 10), steps=2), expected[:20],
                               rtol=1e-12)
    with pytest.raises(ValueError, match="x of batch 0 must be 2-D"):
        model.predict(iter([X[0]]))
    with pytest.raises(ValueError, match="gave no batch"):
        model.predict(iter([]))


def test_old_pickles_get_the_new_attributes():
    import pickle

    model = _model()
    state = model.__getstate__()
    del state["steps_per_execution"], state["_input_dim"]
    clone = fm.Sequential.__new__(fm.Sequential)
    clone.__setstate__(pickle.loads(pickle.dumps(state)))
    assert clone.steps_per_execution == 1 and clone.input_dim == 4
