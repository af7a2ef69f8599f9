"""Model files, pickling and copying: bit-exact round trips, continued training identical
to an uninterrupted run, atomic writes, and refusal of truncated, corrupted, tampered,
future-version and inconsistent files (never executing anything from them)."""
import copy
import hashlib
import json
import multiprocessing
import os
import pathlib
import pickle
import struct

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import saving
from fastmlp.optimizers import OPTIMIZERS

ACTIVATION_LOSS = [("tanh", "sigmoid", "binary_crossentropy"),
                   ("prelu", "softmax", "sparse_categorical_crossentropy"),
                   ("relu", "softmax", "categorical_crossentropy"),
                   ("elu", "linear", "mean_squared_error")]


def _data(loss, n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    if loss == "binary_crossentropy":
        return X, (labels > 0).astype(int)
    if loss == "sparse_categorical_crossentropy":
        return X, labels
    if loss == "categorical_crossentropy":
        return X, np.eye(3)[labels]
    return X, np.stack([X[:, 0] * 2, X[:, 1] - X[:, 2]], axis=1)


def _model(backend, dtype, hidden, out, loss, optimizer=None, seed=7):
    units = {"sigmoid": 1, "softmax": 3, "linear": 2}[out]
    model = fm.Sequential([fm.Dense(6, activation=hidden, input_dim=5, prelu_shared=False),
                           fm.Dense(4, activation="prelu", prelu_shared=True),
                           fm.Dense(units, activation=out)], seed=seed, dtype=dtype,
                          backend=backend, name="round-trip")
    model.compile(optimizer=optimizer or fm.optimizers.SGD(0.05, weight_decay=1e-3),
                  loss=loss, metrics=["accuracy"] if out != "linear" else ["mae"])
    return model


def _full_state(model):
    opt = model.optimizer
    return {"weights": [(w.dtype.str, w.shape, w.tobytes()) for w in model.get_weights()],
            "slots": [s.tobytes() for slot in opt.slots for s in slot],
            "scalars": opt.scalars.tobytes(),
            "optimizer": (type(opt).__name__, opt.get_config()),
            "rng": model.rng.bit_generator.state,
            "layers": [layer.get_config() for layer in model.layers],
            "model": (model.name, model.dtype, model.seed, model.loss, model.metrics)}


@pytest.mark.parametrize("hidden, out, loss", ACTIVATION_LOSS)
def test_round_trip_is_bit_exact_and_training_continues_identically(backend, dtype, tmp_path,
                                                                    hidden, out, loss):
    X, y = _data(loss)
    model = _model(backend, dtype, hidden, out, loss)
    model.fit(X, y, epochs=2, batch_size=7, verbose=0)
    path = tmp_path / "model.fmlp"
    model.save(path)
    loaded = fm.load_model(path)
    assert _full_state(loaded) == _full_state(model)
    assert loaded.backend == model.backend
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y, return_dict=True) == model.evaluate(X, y, return_dict=True)
    # continuing (with shuffling: the generator state matters) is bit-identical
    model.fit(X, y, epochs=2, batch_size=7, verbose=0)
    loaded.fit(X, y, epochs=2, batch_size=7, verbose=0)
    assert _full_state(loaded) == _full_state(model)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_round_trips_with_its_state(backend, dtype, tmp_path, name):
    X, y = _data("mean_squared_error")
    model = _model(backend, dtype, "tanh", "linear", "mean_squared_error",
                   optimizer=OPTIMIZERS[name]())
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.fmlp")
    loaded = fm.load_model(tmp_path / "m.fmlp")
    assert _full_state(loaded) == _full_state(model)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    loaded.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert _full_state(loaded) == _full_state(model)


def test_unbuilt_and_uncompiled_models_round_trip(tmp_path):
    unbuilt = fm.Sequential([fm.Dense(3, activation="relu"), fm.Dense(1)], seed=5)
    unbuilt.save(tmp_path / "a.fmlp")
    again = fm.load_model(tmp_path / "a.fmlp")
    assert not again.built and again.optimizer is None
    assert [layer.get_config() for layer in again.layers] == \
        [layer.get_config() for layer in unbuilt.layers]
    # building later draws the same weights as the original would have
    again.build(4)
    unbuilt.build(4)
    for a, b in zip(again.get_weights(), unbuilt.get_weights()):
        np.testing.assert_array_equal(a, b)
    compiled_unbuilt = fm.Sequential([fm.Dense(2)], seed=1)
    compiled_unbuilt.compile("sgd", "mse")
    compiled_unbuilt.save(tmp_path / "b.fmlp")
    b = fm.load_model(tmp_path / "b.fmlp")
    assert b.loss == "mean_squared_error" and not b.built
    b.fit(np.ones((3, 2)), np.ones((3, 2)), verbose=0)
    assert b.built


def test_backend_override_on_load(tmp_path):
    model = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0, backend="numpy")
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.fmlp")
    assert fm.load_model(tmp_path / "m.fmlp").backend == "numpy"
    other = fm.available_backends()[0]
    assert fm.load_model(tmp_path / "m.fmlp", backend=other).backend == other
    with pytest.raises(ValueError, match=r"unknown backend 'gpu'"):
        fm.load_model(tmp_path / "m.fmlp", backend="gpu")


def test_saving_refuses_what_it_cannot_write(tmp_path):
    class Custom(fm.optimizers.SGD):
        name = "custom"

    model = fm.Sequential([fm.Dense(1, input_dim=2)])
    model.compile(Custom(), "mse")
    with pytest.raises(TypeError, match=r"cannot save optimizer Custom"):
        model.save(tmp_path / "m.fmlp")
    assert not os.listdir(tmp_path)
    with pytest.raises(TypeError, match=r"save_model takes a fastmlp.Sequential"):
        fm.save_model("model", tmp_path / "m.fmlp")


# --------------------------------------------------------------------------------------
# pickle, joblib, multiprocessing, deepcopy
# --------------------------------------------------------------------------------------
def _trained(backend, dtype="float64"):
    X, y = _data("sparse_categorical_crossentropy")
    model = _model(backend, dtype, "tanh", "softmax", "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    return model, X, y


def test_pickle_and_deepcopy_are_exact_and_independent(backend, dtype):
    model, X, y = _trained(backend, dtype)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert _full_state(clone) == _full_state(model)
        assert clone._engines == {} and not clone._training
        np.testing.assert_array_equal(clone.predict(X), model.predict(X))
        clone.fit(X, y, epochs=1, batch_size=8, verbose=0)
        assert _full_state(clone) != _full_state(model)  # independent arrays
    a, b = copy.deepcopy(model), pickle.loads(pickle.dumps(model))
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    a.fit(X, y, epochs=1, batch_size=8, verbose=0)
    b.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert _full_state(a) == _full_state(model) == _full_state(b)


def test_joblib_round_trip(backend, tmp_path):
    joblib = pytest.importorskip("joblib")
    model, X, y = _trained(backend)
    joblib.dump(model, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X),
                                  model.predict(X))
    # read-only memory maps (as joblib hands to parallel workers): predicts and trains on
    # writable copies, continuing exactly as the original does
    mapped = joblib.load(tmp_path / "m.joblib", mmap_mode="r")
    np.testing.assert_array_equal(mapped.predict(X), model.predict(X))
    for m in (mapped, model):
        m.fit(X, y, epochs=1, batch_size=4, verbose=0)
    for a, b in zip(mapped.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _predict_in_child(model, X):
    return model.predict(X)


@pytest.mark.slow
def test_models_cross_process_boundaries(backend):
    model, X, _ = _trained(backend)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        out = pool.apply(_predict_in_child, (model, X))
    np.testing.assert_array_equal(out, model.predict(X))


# --------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------
def _saved(tmp_path, backend="numpy"):
    model, X, _ = _trained(backend)
    path = tmp_path / "model.fmlp"
    model.save(path)
    return model, path, X


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_crash_mid_save_keeps_the_previous_file(tmp_path, monkeypatch, failing):
    model, path, X = _saved(tmp_path)
    before = path.read_bytes()
    model.fit(X, np.zeros(len(X)), epochs=1, verbose=0)   # the model changes

    def boom(*args, **kwargs):
        raise OSError(f"simulated crash in {failing}")

    if failing == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, handle):
                self.handle = handle

            def write(self, data):
                self.handle.write(data[:len(data) // 2])
                boom()

            def __getattr__(self, name):
                return getattr(self.handle, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

        monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="simulated crash"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.fmlp"]   # no temporary file left behind
    fm.load_model(path)


def test_save_fsyncs_the_file_and_directory_then_renames(tmp_path, monkeypatch):
    model, path, _ = _saved(tmp_path)
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace",
                        lambda a, b: calls.append(("replace", os.path.dirname(a) ==
                                                   os.path.dirname(b))) or real_replace(a, b))
    model.save(path)
    assert calls[:2] == ["fsync", ("replace", True)]
    if os.name == "posix":
        assert calls[2:] == ["fsync"]   # the directory entry


def test_save_keeps_the_umask_permissions(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o027)
    try:
        _saved(tmp_path)
    finally:
        os.umask(old)
    assert (os.stat(tmp_path / "model.fmlp").st_mode & 0o777) == 0o640


# --------------------------------------------------------------------------------------
# refusing bad files
# --------------------------------------------------------------------------------------
def _split(data):
    _, version, n_head, n_payload = struct.unpack_from("<8sIQQ", data)
    header = json.loads(data[28:28 + n_head])
    payload = bytearray(data[28 + n_head:28 + n_head + n_payload])
    return version, header, payload


def _join(version, header, payload):
    head = json.dumps(header).encode()
    body = struct.pack("<8sIQQ", saving.MAGIC, version, len(head), len(payload)) + head + \
        bytes(payload)
    return body + hashlib.sha256(body).digest()


def _refused(path, data, pattern):
    path.write_bytes(data)
    with pytest.raises(fm.ModelFileError, match=pattern) as info:
        fm.load_model(path)
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.slow
def test_every_truncation_is_refused(tmp_path):
    _, path, _ = _saved(tmp_path)
    data = path.read_bytes()
    bad = tmp_path / "bad.fmlp"
    for cut in range(len(data)):
        _refused(bad, data[:cut], r"truncated|not a fastmlp model file")
    _refused(bad, data + b"\0", r"1 unexpected bytes after the end")


@pytest.mark.slow
def test_every_single_byte_corruption_is_refused(tmp_path):
    _, path, _ = _saved(tmp_path)
    data = path.read_bytes()
    bad = tmp_path / "bad.fmlp"
    for i in range(len(data)):
        corrupted = bytearray(data)
        corrupted[i] ^= 0x5A
        _refused(bad, bytes(corrupted),
                 r"checksum mismatch|not a fastmlp model file|truncated|unexpected bytes|"
                 r"format version|unknown format version")


def test_future_and_unknown_versions_are_refused(tmp_path):
    _, path, _ = _saved(tmp_path)
    _, header, payload = _split(path.read_bytes())
    bad = tmp_path / "bad.fmlp"
    _refused(bad, _join(2, {**header, "format_version": 2}, payload),
             r"format version 2 is newer than this fastmlp reads \(up to 1\); upgrade")
    _refused(bad, _join(0, header, payload), r"unknown format version 0")
    _refused(bad, _join(1, {**header, "format_version": 3}, payload),
             r"header's format version disagrees")


def _tamper(header, payload, what):
    """Mutate a (header, payload) consistently re-checksummed: each must be refused."""
    layers = header["model"]["layers"]
    arrays = header["arrays"]
    opt = header["compile"]["optimizer"]
    if what == "units":
        layers[0]["config"]["units"] += 1
    elif what == "input_dim":
        layers[1]["config"]["input_dim"] = 99
    elif what == "activation":
        layers[1]["config"]["activation"] = "prelu" if \
            layers[1]["config"]["activation"] != "prelu" else "tanh"
    elif what == "array shape":
        arrays["layers/0/0"]["shape"] = [6, 5]
    elif what == "array dtype":
        arrays["layers/0/0"]["dtype"] = "<f4"
    elif what == "array dtype object":
        arrays["layers/0/0"]["dtype"] = "|O"
    elif what == "array offset":
        arrays["layers/0/0"]["offset"] = len(payload) - 8
    elif what == "negative offset":
        arrays["layers/0/0"]["offset"] = -8
    elif what == "missing array":
        del arrays["layers/0/1"]
    elif what == "model dtype":
        header["model"]["dtype"] = "float16"
    elif what == "optimizer class":
        opt["class"] = "Adam2"
    elif what == "optimizer code injection":
        opt["class"] = "__import__('os').system('echo pwned')"
    elif what == "config class injection":
        opt["config"]["learning_rate"] = {"__class__": "system", "config": {}}
    elif what == "config class outside fastmlp":
        opt["config"]["learning_rate"] = {"__class__": "np", "config": {}}
    elif what == "optimizer config":
        opt["config"]["learning_rate"] = -1.0
    elif what == "optimizer config unknown key":
        opt["config"]["eval"] = "print(1)"
    elif what == "slot count":
        opt["slots"] = opt["slots"][:-1]
    elif what == "scalars shape":
        arrays[opt["scalars"]]["shape"] = [2]
    elif what == "loss":
        header["compile"]["loss"] = "kld"
    elif what == "loss vs output":
        header["compile"]["loss"] = "binary_crossentropy"
    elif what == "metric":
        header["compile"]["metrics"] = ["f2"]
    elif what == "steps_per_execution":
        header["compile"]["steps_per_execution"] = 0
    elif what == "steps_per_execution type":
        header["compile"]["steps_per_execution"] = True
    elif what == "layer class":
        layers[0]["class"] = "Conv2D"
    elif what == "model class":
        header["model"]["class"] = "Functional"
    elif what == "rng":
        header["model"]["rng"]["bit_generator"] = "os.system"
    elif what == "rng state":
        header["model"]["rng"]["state"] = {"state": "x", "inc": 1}
    elif what == "no layers":
        header["model"]["layers"] = []
    elif what == "built flag":
        header["model"]["built"] = "yes"
    elif what == "format name":
        header["format"] = "keras"
    elif what == "params count":
        layers[0]["params"] = layers[0]["params"][:1]
    elif what == "non-finite weights":
        payload[arrays["layers/0/0"]["offset"]:arrays["layers/0/0"]["offset"] + 8] = \
            np.array([np.nan]).tobytes()
    elif what == "not an object":
        return [1, 2, 3], payload
    else:
        raise AssertionError(what)
    return header, payload


TAMPERING = {
    "units": r"array 'layers/0/0' has shape \(5, 6\), but the architecture needs \(5, 7\)",
    "input_dim": r"layer 1 has input_dim 99 but the previous layer gives 6",
    "activation": r"layer 1 has 3 parameter arrays, its configuration needs 2",
    "array shape": r"array 'layers/0/0' has shape \(6, 5\), but the architecture needs",
    "array dtype": r"array 'layers/0/0' has dtype <f4, expected <f8",
    "array dtype object": r"array 'layers/0/0' has dtype \|O, expected <f8",
    "array offset": r"array 'layers/0/0' lies outside the file's data",
    "negative offset": r"array 'layers/0/0' lies outside the file's data",
    "missing array": r"array 'layers/0/1' is missing from the array table",
    "model dtype": r"invalid model dtype 'float16'",
    "optimizer class": r"unknown optimizer 'Adam2'; this fastmlp has: .*SGD",
    "optimizer code injection": r"unknown optimizer .*__import__",
    "config class injection": r"unknown class 'system' in the optimizer configuration",
    "config class outside fastmlp": r"unknown class 'np' in the optimizer configuration",
    "optimizer config": r"invalid compile settings: learning_rate must be > 0.0, got -1.0",
    "optimizer config unknown key": r"invalid compile settings: .*unexpected keyword "
                                    r"argument 'eval'",
    "slot count": r"the optimizer state has the wrong number of arrays",
    "scalars shape": r"array 'optimizer/scalars' has shape \(2,\)",
    "loss": r"invalid compile settings: unknown loss 'kld'",
    "loss vs output": r"invalid compile settings: loss 'binary_crossentropy' needs a "
                      r"'sigmoid' output layer",
    "metric": r"invalid compile settings: unknown metric 'f2'",
    "steps_per_execution": r"invalid compile settings: steps_per_execution must be an "
                           r"integer >= 1",
    "steps_per_execution type": r"compile.steps_per_execution has type bool, expected int",
    "layer class": r"layer 0 has unknown class 'Conv2D'",
    "model class": r"unknown model class 'Functional'",
    "rng": r"unknown random generator 'os.system'",
    "rng state": r"invalid random generator state",
    "no layers": r"the model has no layers",
    "built flag": r"model.built has type str, expected bool",
    "format name": r"not a fastmlp model \(format 'keras'\)",
    "params count": r"layer 0 has 1 parameter arrays, its configuration needs 2",
    "non-finite weights": r"weights\[0\] holds non-finite values",
    "not an object": r"the header is not a JSON object",
}


@pytest.mark.parametrize("what", list(TAMPERING))
def test_tampered_files_with_a_recomputed_checksum_are_refused(tmp_path, monkeypatch, what):
    _, path, _ = _saved(tmp_path)
    version, header, payload = _split(path.read_bytes())
    header, payload = _tamper(header, payload, what)

    def never(*args, **kwargs):
        raise AssertionError("load_model must not unpickle")

    monkeypatch.setattr(pickle, "loads", never)
    monkeypatch.setattr(pickle, "load", never)
    monkeypatch.setattr(pickle, "Unpickler", never)
    monkeypatch.setattr(os, "system", never)
    _refused(tmp_path / "bad.fmlp", _join(version, header, payload), TAMPERING[what])


def test_other_files_are_refused(tmp_path):
    model, _, _ = _saved(tmp_path)
    bad = tmp_path / "bad.fmlp"
    _refused(bad, pickle.dumps(model), r"not a fastmlp model file \(wrong magic bytes\)")
    _refused(bad, b"", r"truncated: only 0 bytes")
    _refused(bad, b'{"format": "fastmlp.model"}', r"not a fastmlp model file")
    np.savez(tmp_path / "weights.npz", *model.get_weights())
    _refused(bad, (tmp_path / "weights.npz").read_bytes(), r"not a fastmlp model file")
    with pytest.raises(FileNotFoundError):
        fm.load_model(tmp_path / "missing.fmlp")


def test_file_layout_is_documented_and_little_endian(tmp_path):
    model, path, _ = _saved(tmp_path)
    data = path.read_bytes()
    version, header, payload = _split(data)
    assert data[:8] == b"\x93FASTMLP" and version == saving.FORMAT_VERSION == 1
    assert header["format"] == "fastmlp.model" and header["fastmlp_version"] == fm.__version__
    assert hashlib.sha256(data[:-32]).digest() == data[-32:]
    for entry in header["arrays"].values():
        assert entry["offset"] % 64 == 0 and entry["dtype"] in ("<f4", "<f8")
    w0 = header["arrays"]["layers/0/0"]
    raw = np.frombuffer(bytes(payload), dtype="<f8", count=30, offset=w0["offset"])
    np.testing.assert_array_equal(raw.reshape(5, 6), model.get_weights()[0])


def test_dropout_regularizers_and_schedules_survive_save_load_and_continue(tmp_path, backend):
    X, y = fm.datasets.make_moons(n_samples=100, noise=0.2, seed=0)
    model = fm.Sequential([fm.Dropout(0.1, name="in_drop"),
                           fm.Dense(8, activation="gelu", input_dim=2,
                                    kernel_regularizer=fm.regularizers.l1_l2(0.01, 0.02)),
                           fm.Dropout(0.2), fm.Dense(1, activation="sigmoid")],
                          seed=0, backend=backend)
    schedule = fm.optimizers.ExponentialDecay(0.01, 10, 0.9)
    model.compile(fm.optimizers.Adam(learning_rate=schedule), "binary_crossentropy",
                  metrics=["accuracy", "f1"])
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "dropout.fmlp"
    model.save(path)
    loaded = fm.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == ["Dropout", "Dense", "Dropout",
                                                                  "Dense"]
    assert loaded.layers[1].kernel_regularizer.get_config() == {"l1": 0.01, "l2": 0.02}
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    loaded.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_steps_per_execution_is_saved_and_old_files_load_with_1(tmp_path):
    model = _model("numpy", "float64", "tanh", "linear", "mse")
    model.compile(model.optimizer, "mse", steps_per_execution=3)
    path = tmp_path / "m.fmlp"
    model.save(path)
    assert fm.load_model(path).steps_per_execution == 3
    version, header, payload = _split(path.read_bytes())
    assert header["compile"]["steps_per_execution"] == 3
    del header["compile"]["steps_per_execution"]     # as files written before it existed
    old = tmp_path / "old.fmlp"
    old.write_bytes(_join(version, header, payload))
    assert fm.load_model(old).steps_per_execution == 1
    legacy = fm.load_model(pathlib.Path(__file__).parent / "data" / "iris_before_labels.fmlp")
    assert legacy.steps_per_execution == 1


@pytest.mark.parametrize("layer", [
    fm.Dense(3), fm.Dense(3, activation="prelu"), fm.Dense(3, activation="prelu",
                                                         prelu_shared=True),
    fm.Dropout(0.5), fm.BatchNormalization(), fm.LayerNormalization(center=False),
    fm.BatchNormalization(scale=False, center=False)], ids=repr)
def test_param_shapes_state_the_layout_that_build_count_and_files_use(layer, tmp_path):
    first = fm.Dense(4, input_dim=2, activation="prelu")
    model = fm.Sequential([first, layer, fm.Dense(1)], seed=0)
    expected = layer.param_shapes(4)
    assert layer.count_params(4) == sum(int(np.prod(s)) for s in expected)
    model.build()
    assert [w.shape for w in layer.weights] == expected
    assert layer.count_params() == sum(int(np.prod(s)) for s in expected)
    assert [w.shape for w in first.weights] == first.param_shapes(2) == [(2, 4), (4,), (4,)]
    model.save(tmp_path / "m.fastmlp")
    loaded = fm.load_model(tmp_path / "m.fastmlp")
    assert [w.shape for w in loaded.layers[1].weights] == expected
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(a, b)
