"""Short scripts written the way Keras 3 users write Sequential MLPs, run twice: with Keras 3
itself (PyTorch backend) and with fastmlp through ``import fastmlp as keras``. Both runs
must give the same shapes, logged names, history keys and return types.

Keras is optional (``pip install "fastmlp[keras]"``); without it these tests skip. Each
script takes the module it runs on as ``keras`` and returns what a user would look at."""
import os

import numpy as np
import pytest

import fastmlp

# Keras 3 on PyTorch 2.13 converts tensors through NumPy's pre-2.0 __array__ protocol (its
# own code, not ours): NumPy's DeprecationWarning there is not the suite's concern.
# Keras also advises fm.Input over input_shape=, which two scripts use on purpose.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`:UserWarning"),
]


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype("float32")
    return X, rng


def binary_classifier(keras, tmp_path):
    X, _ = _data(120, 8)
    y = (X[:, 0] + X[:, 1] > 0).astype("float32")
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
    loss, acc = model.evaluate(X, y, verbose=0)
    scores = model.evaluate(X, y, verbose=0, return_dict=True)
    probabilities = model.predict(X[:5], verbose=0)
    return {"history": sorted(history.history), "epochs": history.epoch,
            "lengths": [len(v) for v in history.history.values()],
            "value types": {type(v[-1]).__name__ for v in history.history.values()},
            "evaluate": (type(loss).__name__, type(acc).__name__),
            "dict": sorted(scores), "predict": probabilities.shape,
            "weights": [w.shape for w in model.get_weights()],
            "params": model.count_params()}


def multiclass_classifier(keras, tmp_path):
    X, rng = _data(150, 4, seed=1)
    y = rng.integers(0, 3, 150)
    X_val, y_val = X[:30], y[:30]
    model = keras.Sequential()
    model.add(keras.layers.Dense(32, activation="tanh", input_shape=(4,)))
    model.add(keras.layers.Dense(3, activation="softmax"))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    first = model.fit(X, y, epochs=2, batch_size=32, verbose=0,
                      validation_data=(X_val, y_val))
    resumed = model.fit(X, y, epochs=4, initial_epoch=2, batch_size=32, verbose=0,
                        validation_data=(X_val, y_val))
    results = model.evaluate(X_val, y_val, verbose=0)
    probabilities = model.predict(X, verbose=0)
    return {"first": first.epoch, "resumed": resumed.epoch,
            "keys": sorted(resumed.history),
            "evaluate": (type(results).__name__, len(results)),
            "predict": probabilities.shape,
            "rows sum to 1": bool(np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)),
            "layer weights": [[w.shape for w in layer.get_weights()]
                              for layer in model.layers]}


def regression(keras, tmp_path):
    X, rng = _data(200, 5, seed=2)
    y = X @ np.arange(1.0, 6.0, dtype="float32") + rng.normal(size=200).astype("float32")
    model = keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(5,)),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    history = model.fit(X, y, epochs=2, batch_size=20, validation_split=0.1, verbose=0)
    mse_only = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    mse_only.compile(optimizer="sgd", loss="mse")
    plain = mse_only.evaluate(X, y, verbose=0)
    called = model(X[:7])
    clone = keras.models.clone_model(model)
    layer = model.layers[0]
    weights = layer.get_weights()
    layer.set_weights([np.zeros_like(w) for w in weights])
    return {"keys": sorted(history.history), "plain evaluate": type(plain).__name__,
            "evaluate": [type(v).__name__ for v in model.evaluate(X, y, verbose=0)],
            "predict": model.predict(X, verbose=0).shape, "call": tuple(called.shape),
            "clone": (type(clone).__name__, len(clone.layers), clone.count_params()),
            "zeroed": all(not np.any(w) for w in layer.get_weights())}


def with_callbacks(keras, tmp_path):
    X, _ = _data(96, 6, seed=3)
    y = (X[:, 0] > 0).astype("float32")
    batches, epoch_keys, tests, predicted = [], [], [], []

    class Watch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append((batch, sorted(logs)))

        def on_test_batch_end(self, batch, logs=None):
            tests.append((batch, sorted(logs)))

        def on_predict_batch_end(self, batch, logs=None):
            predicted.append((batch, sorted(logs), tuple(logs["outputs"].shape)))

        def on_epoch_end(self, epoch, logs=None):
            epoch_keys.append(sorted(logs))

    log = os.path.join(tmp_path, "training.csv")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=30, batch_size=32, validation_split=0.25, verbose=0,
                        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss",
                                                                 patience=1000),
                                   keras.callbacks.CSVLogger(log), Watch()])
    with open(log) as f:
        header = f.readline().strip().split(",")
        rows = sum(1 for _ in f)
    tests.clear()
    model.evaluate(X, y, batch_size=40, verbose=0, callbacks=[Watch()])
    out = model.predict(X, batch_size=40, verbose=0, callbacks=[Watch()])
    return {"batches": batches[:4], "per epoch": len(batches) // len(history.epoch),
            "test batches": tests, "predict batches": predicted, "predict": out.shape,
            "epoch logs": epoch_keys[0], "csv header": header,
            "csv rows": rows == len(history.epoch), "history": type(history).__name__}


def py_dataset(keras, tmp_path):
    X, _ = _data(100, 3, seed=4)
    y = X.sum(axis=1)

    class Batches(keras.utils.PyDataset):
        def __init__(self, X, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.X, self.y, self.batch_size = X, y, batch_size

        def __len__(self):
            return -(-len(self.X) // self.batch_size)

        def __getitem__(self, index):
            rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.X[rows], self.y[rows]

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(Batches(X, y, 16), epochs=2, verbose=0,
                        validation_data=Batches(X[:20], y[:20], 8))
    return {"keys": sorted(history.history), "epochs": history.epoch,
            "evaluate": [type(v).__name__ for v in model.evaluate(Batches(X, y, 25),
                                                                   verbose=0)]}


def normalized(keras, tmp_path):
    X, rng = _data(64, 5, seed=5)
    y = rng.integers(0, 4, 64)
    model = keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.BatchNormalization(momentum=0.9),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(8, activation="tanh"),
        keras.layers.LayerNormalization(center=False),
        keras.layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    bn = model.layers[1]
    return {"keys": sorted(history.history), "params": model.count_params(),
            "weights": [w.shape for w in model.get_weights()],
            "bn": [w.shape for w in bn.get_weights()],
            "bn settings": (bn.momentum, bn.epsilon, bn.center, bn.scale),
            "predict": model.predict(X, verbose=0).shape}


SCRIPTS = [binary_classifier, multiclass_classifier, regression, with_callbacks, py_dataset,
           normalized]


@pytest.fixture(scope="module")
def keras3():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras", reason="Keras 3 is optional: fastmlp[keras]")
    if not keras.__version__.startswith("3") or keras.backend.backend() != "torch":
        pytest.skip(f"needs Keras 3 on the PyTorch backend, found Keras {keras.__version__} "
                    f"on {keras.backend.backend()}")
    keras.utils.set_random_seed(0)
    return keras


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.__name__ for s in SCRIPTS])
def test_script_behaves_as_in_keras(script, keras3, tmp_path):
    (tmp_path / "keras").mkdir()
    (tmp_path / "fastmlp").mkdir()
    expected = script(keras3, tmp_path / "keras")
    got = script(fastmlp, tmp_path / "fastmlp")
    assert got == expected


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.__name__ for s in SCRIPTS])
def test_script_runs_on_fastmlp(script, tmp_path):
    """Without Keras the scripts still run on fastmlp (the Keras comparison skips)."""
    assert script(fastmlp, tmp_path)


@pytest.mark.parametrize("norm", ["BatchNormalization", "LayerNormalization"])
def test_normalization_computes_what_keras_computes(keras3, norm):
    """Keras' weights (moving statistics moved away from 0 and 1) in a fastmlp model give
    the same predictions (inference: moving statistics for batch normalization)."""
    X, rng = _data(40, 3, seed=6)
    kwargs = {"momentum": 0.8} if norm == "BatchNormalization" else {}
    k_model = keras3.Sequential([keras3.Input((3,)), keras3.layers.Dense(6, activation="tanh"),
                                 getattr(keras3.layers, norm)(epsilon=0.01, **kwargs),
                                 keras3.layers.Dense(2)])
    f_model = fastmlp.Sequential([fastmlp.Input((3,)), fastmlp.Dense(6, activation="tanh"),
                                  getattr(fastmlp, norm)(epsilon=0.01, **kwargs),
                                  fastmlp.Dense(2)], dtype="float32")
    weights = [w + rng.normal(size=w.shape).astype("float32") * 0.3
               for w in k_model.get_weights()]
    if norm == "BatchNormalization":
        weights[5] = np.abs(weights[5]) + 0.5       # a positive moving variance
    k_model.set_weights(weights)
    f_model.build().set_weights(weights)
    np.testing.assert_allclose(f_model.predict(X), k_model.predict(X, verbose=0), rtol=1e-4,
                               atol=1e-5)


def test_batch_logs_have_keras_values(keras3):
    """With the same weights, plain SGD and one batch per execution, the batch-end logs
    (running loss and metrics over the epoch's batches so far) are Keras' values."""
    X, _ = _data(70, 4, seed=7)
    y = (X[:, 0] - X[:, 3] > 0).astype("float32")
    logged = {}

    def run(keras, model):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                      loss="binary_crossentropy", metrics=["accuracy", "mae"])
        rows = []

        class Watch(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                rows.append([logs["loss"], logs["accuracy"], logs["mae"]])

        model.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0,
                  callbacks=[Watch()])
        return np.array(rows)

    k_model = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(5, activation="tanh"),
                                 keras3.layers.Dense(1, activation="sigmoid")])
    f_model = fastmlp.Sequential([fastmlp.Input((4,)), fastmlp.Dense(5, activation="tanh"),
                                  fastmlp.Dense(1, activation="sigmoid")], dtype="float32")
    f_model.build().set_weights(k_model.get_weights())
    logged["fastmlp"] = run(fastmlp, f_model)
    logged["keras"] = run(keras3, k_model)
    assert logged["fastmlp"].shape == (10, 3)
    np.testing.assert_allclose(logged["fastmlp"], logged["keras"], rtol=1e-4, atol=1e-6)
