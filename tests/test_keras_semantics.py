"""Ring 3: the Sequential API keeps Keras 3's documented semantics where the concept is the
same (return types of ``evaluate``, ``initial_epoch``, metric names, ``compile`` defaults,
input shapes, calling a model, per-layer weights, configs and clones)."""
import numpy as np
import pytest

import fastmlp as fm


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(float), X @ np.array([1.0, -2.0, 0.5])


def _binary(metrics=None, **compile_kw):
    model = fm.Sequential([fm.Input((3,)), fm.Dense(4, activation="tanh"),
                           fm.Dense(1, activation="sigmoid")], seed=0)
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=metrics, **compile_kw)
    return model


def test_evaluate_returns_a_scalar_a_list_in_metrics_names_order_or_a_dict():
    X, y, _ = _data()
    plain = _binary()
    loss = plain.evaluate(X, y)
    assert isinstance(loss, float) and plain.metrics_names == ["loss"]
    model = _binary(metrics=["accuracy", "mse"])
    values = model.evaluate(X, y)
    logs = model.evaluate(X, y, return_dict=True)
    assert model.metrics_names == ["loss", "accuracy", "mse"]
    assert isinstance(values, list) and values == [logs[k] for k in model.metrics_names]
    assert values[0] == loss  # same weights, same loss
    acc = np.mean((model.predict(X)[:, 0] >= 0.5) == y)
    assert logs["accuracy"] == pytest.approx(acc)
    loss, acc_ = model.evaluate(X, y)[:2]  # what Keras users unpack
    assert acc_ == logs["accuracy"]
    with pytest.raises(ValueError, match="return_dict must be True or False"):
        model.evaluate(X, y, return_dict="yes")


def test_evaluate_steps_takes_the_first_batches():
    X, y, _ = _data(n=50)
    model = _binary()
    assert model.evaluate(X, y, batch_size=8, steps=2) == model.evaluate(X[:16], y[:16])
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        model.evaluate(X, y, steps=0)


def test_evaluate_verbose_prints_one_summary_line(capsys):
    X, y, _ = _data(n=50)
    model = _binary(metrics=["accuracy"])
    logs = model.evaluate(X, y, return_dict=True)
    assert capsys.readouterr() == ("", "")              # verbose=0: nothing
    model.evaluate(X, y, verbose=1)
    out, err = capsys.readouterr()
    assert out == "" and err == (f"2/2 - loss: {logs['loss']:.4f} - "
                                 f"accuracy: {logs['accuracy']:.4f}\n")
    model.evaluate(X, y, batch_size=8, verbose="auto")  # 7 batches of 8 rows
    assert capsys.readouterr().err.startswith("7/7 - loss: ")
    model.evaluate(((X[i:i + 20], y[i:i + 20]) for i in range(0, 50, 20)), verbose=2)
    assert capsys.readouterr().err == (f"3/3 - loss: {logs['loss']:.4f} - "
                                       f"accuracy: {logs['accuracy']:.4f}\n")
    for bad in (3, -1, True, "yes"):
        with pytest.raises(ValueError, match="verbose must be 0, 1, 2 or 'auto'"):
            model.evaluate(X, y, verbose=bad)


def test_initial_epoch_counts_as_in_keras():
    X, y, _ = _data()
    model = _binary()
    seen = []
    cb = fm.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    history = model.fit(X, y, epochs=5, initial_epoch=3, verbose=0, callbacks=[cb])
    assert seen == [3, 4] and history.epoch == [3, 4] and len(history.history["loss"]) == 2
    assert model.fit(X, y, epochs=3, initial_epoch=3, verbose=0).epoch == []


def test_initial_epoch_resumes_exactly_where_the_full_run_is():
    X, y, _ = _data()
    full, resumed = _binary(), _binary()
    full.fit(X, y, epochs=4, verbose=0)
    resumed.fit(X, y, epochs=2, verbose=0)
    resumed.fit(X, y, epochs=4, initial_epoch=2, verbose=0)
    for a, b in zip(full.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("metrics,keys", [
    ("accuracy", ["accuracy"]),
    (["acc"], ["acc"]),
    (["mae", "mean_squared_error"], ["mae", "mean_squared_error"]),
    (("auc",), ["auc"]),
])
def test_metric_names_are_logged_as_written(metrics, keys):
    X, y, _ = _data()
    model = _binary(metrics=metrics)
    history = model.fit(X, y, epochs=2, verbose=0, validation_split=0.25)
    assert list(history.history) == ["loss", *keys, "val_loss", *(f"val_{k}" for k in keys)]
    assert list(model.evaluate(X, y, return_dict=True)) == ["loss", *keys]


def test_metric_aliases_compute_the_same_values_and_monitor_modes():
    X, y, _ = _data()
    a, b = _binary(metrics=["acc", "mae"]), _binary(metrics=["accuracy",
                                                              "mean_absolute_error"])
    assert a.evaluate(X, y) == b.evaluate(X, y)
    assert fm.callbacks.EarlyStopping(monitor="val_acc").mode == "max"
    assert fm.callbacks.EarlyStopping(monitor="val_mae").mode == "min"


@pytest.mark.parametrize("metrics,match", [
    ("nope", "unknown metric 'nope'"),
    (["mae", "mae"], "metric 'mae' is listed twice"),
    (3, "metrics must be a metric name or a list of names"),
])
def test_bad_metrics_are_refused(metrics, match):
    with pytest.raises(ValueError, match=match):
        _binary(metrics=metrics)


def test_compile_defaults_are_keras_and_a_missing_loss_fails_at_fit():
    X, _, t = _data()
    model = fm.Sequential([fm.Input((3,)), fm.Dense(1)], seed=0)
    model.compile()
    assert isinstance(model.optimizer, fm.optimizers.RMSprop) and model.loss is None
    assert model.predict(X).shape == (40, 1)  # inference needs no loss
    weights = model.get_weights()
    for call in (lambda: model.fit(X, t, verbose=0), lambda: model.evaluate(X, t),
                 lambda: model.compute_gradients(X, t)):
        with pytest.raises(RuntimeError, match=r"compiled without a loss; call "
                                               r"model.compile\(loss=...\)"):
            call()
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.compile(loss="mse")
    assert model.fit(X, t, epochs=1, verbose=0).history["loss"][0] > 0


def test_steps_per_execution_is_checked():
    with pytest.raises(ValueError, match="steps_per_execution must be an integer >= 1"):
        _binary(steps_per_execution=0)


def test_input_shape_and_input_first_layer():
    a = fm.Sequential([fm.Dense(4, input_shape=(30,)), fm.Dense(1)], seed=1)
    b = fm.Sequential([fm.Input(shape=(30,)), fm.Dense(4), fm.Dense(1)], seed=1)
    c = fm.Sequential([fm.Dense(4, input_dim=30), fm.Dense(1)], seed=1)
    assert a.input_dim == b.input_dim == c.input_dim == 30
    for x, y in zip(a.build().get_weights(), b.build().get_weights()):
        np.testing.assert_array_equal(x, y)
    assert [layer.name for layer in b.layers] == ["dense_0", "dense_1"]  # Input is no layer
    empty = fm.Sequential([fm.Input((5,))])
    assert empty.input_dim == 5
    empty.add(fm.Dense(2))
    assert empty.build().get_weights()[0].shape == (5, 2)


@pytest.mark.parametrize("call,match", [
    (lambda: fm.Dense(3, input_shape=(3, 4)), r"input_shape must be a tuple \(n_features,\)"),
    (lambda: fm.Dense(3, input_shape=30), r"input_shape must be a tuple"),
    (lambda: fm.Dense(3, input_shape=(0,)), r"input_shape must be a tuple"),
    (lambda: fm.Dense(3, input_dim=4, input_shape=(5,)), "disagree"),
    (lambda: fm.Input((2, 2)), r"Input shape must be a tuple"),
    (lambda: fm.Sequential([fm.Dense(2, input_dim=3), fm.Input((3,))]), "must come first"),
    (lambda: fm.Sequential([fm.Input((3,)), fm.Dense(2, input_dim=4)]),
     r"Input has shape \(3,\) but the first Dense layer says input_dim=4"),
])
def test_bad_input_shapes_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_calling_the_model_is_predict(backend):
    X, _, _ = _data()
    model = _binary()
    model.backend = backend
    out = model(X)
    assert isinstance(out, np.ndarray) and out.shape == (40, 1)
    np.testing.assert_array_equal(out, model.predict(X))
    with pytest.raises(ValueError, match=r"training=True\) is not supported"):
        model(X, training=True)


def test_layer_weights_get_and_set():
    model = _binary().build()
    first = model.layers[0]
    assert first.weights[0] is first.W and first.weights[1] is first.b
    copies = first.get_weights()
    copies[0][:] = 1.5
    assert not np.any(first.W == 1.5)
    first.set_weights(copies)
    assert np.all(first.W == 1.5) and np.all(model.get_weights()[0] == 1.5)
    with pytest.raises(ValueError, match="got 1 arrays"):
        first.set_weights(copies[:1])
    with pytest.raises(ValueError, match=r"weights\[0\] has shape \(2, 2\), expected \(3, 4\)"):
        first.set_weights([np.zeros((2, 2)), copies[1]])
    with pytest.raises(ValueError, match=r"weights\[0\] contains 12 non-finite value"):
        first.set_weights([np.full((3, 4), np.nan), copies[1]])
    assert np.all(first.W == 1.5)
    dropout = fm.Dropout(0.5)
    assert dropout.weights == [] and dropout.get_weights() == []
    with pytest.raises(RuntimeError, match="not built yet"):
        fm.Dense(2).set_weights([np.zeros((1, 2)), np.zeros(2)])


def test_config_round_trip_and_clone_model():
    model = fm.Sequential([fm.Input((3,)), fm.Dense(5, activation="relu",
                                                    kernel_regularizer=fm.regularizers.l2(0.1)),
                           fm.Dropout(0.25), fm.Dense(2, activation="softmax")],
                          seed=7, dtype="float32", name="net")
    config = model.get_config()
    rebuilt = fm.Sequential.from_config(config)
    assert rebuilt.get_config() == config and repr(rebuilt) == repr(model)
    model.compile("adam", "sparse_categorical_crossentropy")
    X = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    y = np.arange(30) % 2
    initial = [w.copy() for w in model.build().get_weights()]
    model.fit(X, y, epochs=2, verbose=0)
    clone = fm.models.clone_model(model)
    assert clone is not model and clone.optimizer is None and clone.dtype == np.float32
    for a, b in zip(initial, clone.build().get_weights()):  # fresh weights from the seed
        np.testing.assert_array_equal(a, b)
    assert clone.layers[0].kernel_regularizer == model.layers[0].kernel_regularizer
    with pytest.raises(ValueError, match="'layers' list"):
        fm.Sequential.from_config({"layers": 3})
    with pytest.raises(ValueError, match=r"layers\[0\] must be"):
        fm.Sequential.from_config({"layers": [{"class_name": "Conv2D", "config": {}}]})
    with pytest.raises(TypeError, match=r"clone_model takes a fastmlp\.Sequential"):
        fm.models.clone_model("model")


def test_single_output_regression_predict_is_a_column():
    X, _, t = _data()
    model = fm.Sequential([fm.Input((3,)), fm.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    model.fit(X, t, epochs=1, verbose=0)
    assert model.predict(X).shape == (40, 1) and model(X[:1]).shape == (1, 1)


def test_the_model_file_is_written_from_the_config(tmp_path):
    import json
    import struct

    model = fm.Sequential([fm.Input((3,)), fm.Dense(4, activation="relu"), fm.Dropout(0.5),
                           fm.Dense(1)], seed=5, name="net")
    model.compile("adam", "mse")
    model.save(tmp_path / "m.fmlp")
    data = (tmp_path / "m.fmlp").read_bytes()
    _, _, n_head, _ = struct.unpack_from("<8sIQQ", data)
    header = json.loads(data[28:28 + n_head])["model"]
    config = model.get_config()
    assert [(entry["class"], entry["config"]) for entry in header["layers"]] == [
        (layer["class_name"], layer["config"]) for layer in config["layers"]]
    assert (header["name"], header["dtype"], header["seed"], header["backend"]) == (
        config["name"], config["dtype"], config["seed"], config["backend"])
    loaded = fm.load_model(tmp_path / "m.fmlp")
    assert loaded.get_config() == config


def test_a_model_compiled_without_a_loss_saves_and_loads(tmp_path):
    model = fm.Sequential([fm.Input((2,)), fm.Dense(1)], seed=0)
    model.compile()
    model.save(tmp_path / "m.fmlp")
    loaded = fm.load_model(tmp_path / "m.fmlp")
    assert loaded.loss is None and isinstance(loaded.optimizer, fm.optimizers.RMSprop)
    np.testing.assert_array_equal(loaded.predict(np.ones((3, 2))), model.predict(np.ones((3, 2))))
