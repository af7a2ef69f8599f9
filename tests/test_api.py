"""Ring 3: the public API, backend selection and clear errors for bad settings."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm


def _model(**kw):
    return fm.Sequential([fm.Dense(16, activation="tanh", input_dim=2),
                          fm.Dense(1, activation="sigmoid")], seed=0, **kw)


def test_contract_example_runs(backend):
    X, y = fm.datasets.make_moons(n_samples=64, noise=0.1, seed=0)
    model = _model(dtype="float64", backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=10, batch_size=32, shuffle=True, validation_split=0.2,
                        verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.predict(X).shape == (64, 1)
    result = model.evaluate(X, y, return_dict=True)
    assert set(result) == {"loss", "accuracy"} and 0 <= result["accuracy"] <= 1
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(2, 16), (16,), (16, 1), (1,)]


def test_get_set_weights_round_trip_and_copies():
    model = _model()
    weights = model.get_weights()
    weights[0][0, 0] = 123.0
    assert model.get_weights()[0][0, 0] != 123.0  # get_weights returns copies
    model.set_weights(weights)
    assert model.get_weights()[0][0, 0] == 123.0
    with pytest.raises(ValueError, match="got 3 arrays, but the model has 4"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"weights\[1\] has shape \(3,\), expected \(16,\)"):
        model.set_weights([weights[0], np.zeros(3), weights[2], weights[3]])
    assert model.get_weights()[0][0, 0] == 123.0  # unchanged after a refused call


def test_string_optimizer_and_float32_model():
    model = _model(dtype="float32")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    assert isinstance(model.optimizer, fm.optimizers.SGD)
    assert model.optimizer.learning_rate == 0.01
    X = np.random.default_rng(0).normal(size=(5, 2))
    assert model.predict(X).dtype == np.float32
    assert all(w.dtype == np.float32 for w in model.get_weights())


@pytest.mark.parametrize("call,match", [
    (lambda: fm.Dense(3, activation="relux"), "unknown activation 'relux'; valid activations "
                                              "are: linear, sigmoid, tanh, relu"),
    (lambda: fm.Dense(3, kernel_initializer="nope"), "valid initializers are: small_uniform"),
    (lambda: fm.Dense(0), "units must be an integer >= 1"),
    (lambda: _model().compile(loss="kld"), "valid losses are: mean_squared_error"),
    (lambda: _model().compile(optimizer="adamw"), "valid optimizers are: sgd"),
    (lambda: _model().compile(metrics=["auc2"]), "valid metrics are: accuracy"),
    (lambda: _model().compile(loss="categorical_crossentropy"), "needs a 'softmax' output"),
    (lambda: fm.optimizers.SGD(learning_rate=-1), "learning_rate must be > 0"),
    (lambda: fm.optimizers.SGD(learning_rate=float("nan")), "learning_rate must be finite"),
    (lambda: fm.Sequential(dtype="float16"), "dtype must be 'float32' or 'float64'"),
    (lambda: fm.Sequential(backend="torch"), "valid backends are: cython, numpy"),
])
def test_bad_settings_raise_value_error_listing_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_fit_arguments_are_checked():
    X, y = fm.datasets.make_moons(n_samples=20, seed=0)
    model = _model()
    with pytest.raises(RuntimeError, match="not compiled"):
        model.fit(X, y)
    model.compile(loss="binary_crossentropy")
    for kwargs, match in [({"batch_size": 0}, "batch_size must be an integer >= 1"),
                          ({"epochs": -1}, "epochs must be an integer >= 0"),
                          ({"validation_split": 1.0}, r"validation_split must be < 1.0"),
                          ({"verbose": 3}, "verbose must be 0, 1 or 2")]:
        with pytest.raises(ValueError, match=match):
            model.fit(X, y, **kwargs)
    before = model.get_weights()
    model.fit(X, y, epochs=0, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_build_without_fit_and_deferred_input_size():
    model = fm.Sequential([fm.Dense(3, activation="relu"), fm.Dense(2, activation="softmax")],
                          seed=0)
    with pytest.raises(RuntimeError, match="input size is not known"):
        model.get_weights()
    model.build(4)
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]
    model.compile(loss="sparse_categorical_crossentropy")
    out = model.predict(np.ones((2, 4)))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    deferred = fm.Sequential([fm.Dense(3), fm.Dense(1)], seed=0)
    deferred.compile(loss="mse")
    deferred.fit(np.ones((5, 7)), np.zeros(5), verbose=0)
    assert deferred.input_dim == 7


def test_summary_lists_layers_and_parameter_counts(capsys):
    model = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=2),
                           fm.Dense(1, activation="sigmoid")])
    model.summary()
    out = capsys.readouterr().out
    assert "dense_0 (Dense)" in out and "(None, 16)" in out and "48" in out
    assert "Total params: 65" in out
    assert model.count_params() == 65


def test_use_backend_context_and_per_model_override():
    default = fm.backend()
    assert default in fm.available_backends()
    other = fm.available_backends()[0]
    with fm.use_backend("numpy"):
        assert fm.backend() == "numpy"
        assert _model().backend == "numpy"
        assert _model(backend=other).backend == other
    assert fm.backend() == default


_BLOCK_EXTENSION = ("import sys; sys.modules['fastmlp.backend._cpuid'] = None; "
                    "import warnings; warnings.simplefilter('error'); import fastmlp; ")


def _run(code, **env):
    full_env = {**os.environ, **env}
    full_env.pop("FASTMLP_BACKEND", None)
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=60)


@pytest.mark.slow
def test_missing_extension_falls_back_with_one_warning():
    result = _run(_BLOCK_EXTENSION + "print(fastmlp.backend())")
    assert result.returncode != 0 and "RuntimeWarning" in result.stderr
    assert "using the slower NumPy reference backend" in result.stderr
    quiet = _run("import sys; sys.modules['fastmlp.backend._cpuid'] = None; import warnings; "
                 "import fastmlp\nwith warnings.catch_warnings(record=True) as w:\n"
                 "    warnings.simplefilter('always'); print(fastmlp.backend(), "
                 "fastmlp.backend(), len(w))")
    assert quiet.stdout.split() == ["numpy", "numpy", "1"]


def test_forcing_cython_without_extension_raises():
    result = _run(_BLOCK_EXTENSION + "fastmlp.backend()", FASTMLP_BACKEND="cython")
    assert result.returncode != 0 and "FASTMLP_BACKEND=cython" in result.stderr


@pytest.mark.slow
def test_forcing_numpy_backend_by_environment():
    result = _run("import fastmlp; print(fastmlp.backend())", FASTMLP_BACKEND="numpy")
    assert result.stdout.strip() == "numpy"
