"""Bad input gets a clear exception before any compiled code runs; odd-but-valid input
(strided, Fortran-ordered, integer, float16, big-endian, read-only, unaligned) is converted
by value, copying only when needed.

Every bad-input case also checks that the model is left exactly as it was (weights,
optimizer state and step count), which is how "before any compiled code runs" shows.
"""
import re

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import activations, initializers, losses, metrics, optimizers
from fastmlp._validation import as_features, as_targets


def make(backend, dtype, kind="binary"):
    """A small compiled, built model: binary (sigmoid/BCE), multi (softmax/CCE), or
    sparse (softmax/sparse CCE), with 3 inputs."""
    out, loss = {"binary": (fm.Dense(1, activation="sigmoid"), "binary_crossentropy"),
                 "multi": (fm.Dense(3, activation="softmax"), "categorical_crossentropy"),
                 "sparse": (fm.Dense(3, activation="softmax"),
                            "sparse_categorical_crossentropy"),
                 "mse": (fm.Dense(2), "mse")}[kind]
    model = fm.Sequential([fm.Dense(4, activation="tanh", input_dim=3), out], seed=0,
                          dtype=dtype, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(0.1), loss=loss)
    return model.build()


def state(model):
    opt = model.optimizer
    return ([w.tobytes() for w in model.get_weights()] if model.built else [],
            None if opt is None else (opt.scalars.tobytes(),
                                      [s.tobytes() for slot in opt.slots for s in slot]))


def expect(exc, pattern, fn, model=None):
    """``fn()`` raises ``exc`` with a message matching ``pattern``; ``model`` unchanged."""
    before = state(model) if model is not None else None
    with pytest.raises(exc, match=pattern):
        fn()
    if model is not None:
        assert state(model) == before


X3 = np.arange(12, dtype=np.float64).reshape(4, 3) / 10
Y_BIN = np.array([0, 1, 1, 0])

# --------------------------------------------------------------------------------------
# X: shape, dtype, values -- for predict, evaluate and fit
# --------------------------------------------------------------------------------------
BAD_X = {
    # one row of the model's 3 features: reshape(1, -1) (issue 19: it said reshape(-1, 1))
    "1-D": (np.ones(3), ValueError, r"X must be 2-D .* shape \(3,\).*reshape\(1, -1\) for "
                                    r"a single sample"),
    "3-D": (np.ones((4, 3, 1)), ValueError, r"X must be 2-D .* shape \(4, 3, 1\)"),
    "scalar": (1.5, ValueError, r"X must be 2-D .* shape \(\)"),
    "no rows": (np.ones((0, 3)), ValueError, r"X is empty \(shape \(0, 3\)\)"),
    "no columns": (np.ones((4, 0)), ValueError, r"X is empty \(shape \(4, 0\)\)"),
    "empty list": ([], ValueError, r"X must be 2-D"),
    "ragged": ([[1, 2, 3], [4, 5]], ValueError, r"rectangular.*same length"),
    "object": (np.ones((4, 3), dtype=object), TypeError, r"X has dtype object"),
    "strings": ([["a", "b", "c"]] * 4, TypeError, r"X has dtype <U1.*numbers"),
    "bytes": (np.array([[b"a", b"b", b"c"]] * 4), TypeError, r"X has dtype \|S1"),
    "complex": (np.ones((4, 3), dtype=complex), TypeError, r"complex dtype complex128"),
    "datetime": (np.zeros((4, 3), dtype="datetime64[s]"), TypeError, r"datetime64"),
    "None": (None, TypeError, r"X is None"),
    "NaN": (np.where(np.eye(4, 3) > 0, np.nan, 1.0), ValueError,
            r"X contains 3 non-finite value\(s\) \(3 NaN, 0 infinite\); the first is at "
            r"index \(0, 0\)"),
    "inf": (np.array([[1, 2, 3], [4, 5, 6], [7, 8, -np.inf], [1, 1, 1.0]]), ValueError,
            r"X contains 1 non-finite value\(s\) \(0 NaN, 1 infinite\); the first is at "
            r"index \(2, 2\): -inf"),
    "features": (np.ones((4, 5)), ValueError, r"X has 5 features, but the model expects 3"),
}


@pytest.mark.parametrize("case", list(BAD_X))
@pytest.mark.parametrize("call", ["predict", "evaluate", "fit"])
def test_bad_x_raises_before_any_compiled_code(backend, dtype, case, call):
    model = make(backend, dtype)
    x, exc, pattern = BAD_X[case]
    fn = {"predict": lambda: model.predict(x),
          "evaluate": lambda: model.evaluate(x, Y_BIN, return_dict=True),
          "fit": lambda: model.fit(x, Y_BIN, epochs=1, verbose=0)}[call]
    expect(exc, pattern, fn, model)


def test_sparse_matrix_is_refused_with_a_hint(backend):
    sparse = pytest.importorskip("scipy.sparse")
    model = make(backend, "float64")
    expect(TypeError, r"X is a sparse matrix \(csr_matrix\).*X.toarray\(\)",
           lambda: model.predict(sparse.csr_matrix(X3)), model)


def test_value_overflowing_float32_is_named(backend):
    model = make(backend, "float32")
    x = X3.copy()
    x[1, 2] = 1e39
    expect(ValueError, r"X has 1 value\(s\) too large for float32 .* index \(1, 2\): 1e\+39",
           lambda: model.predict(x), model)
    # the same values are fine for a float64 model
    assert np.isfinite(make(backend, "float64").predict(x)).all()


def test_validation_data_is_checked_like_x(backend):
    model = make(backend, "float64")
    expect(ValueError, r"x_val has 2 features, but the model expects 3",
           lambda: model.fit(X3, Y_BIN, validation_data=(np.ones((2, 2)), [0, 1]),
                             verbose=0), model)
    expect(ValueError, r"y_val has 3 rows but X has 2",
           lambda: model.fit(X3, Y_BIN, validation_data=(np.ones((2, 3)), [0, 1, 1]),
                             verbose=0), model)
    expect(ValueError, r"validation_data must be a tuple",
           lambda: model.fit(X3, Y_BIN, validation_data=np.ones((2, 3)), verbose=0), model)


# --------------------------------------------------------------------------------------
# y: length, shape and values that do not fit the loss
# --------------------------------------------------------------------------------------
BAD_Y = {
    # kind, y, exception, message
    "length": ("binary", [0, 1, 1], ValueError, r"y has 3 rows but X has 4; they must match"),
    "scalar": ("binary", 1, ValueError, r"y must be an array of targets, got a scalar"),
    "3-D": ("binary", np.zeros((4, 1, 1)), ValueError, r"y must be 1-D or 2-D"),
    "NaN": ("mse", [[0, 1], [np.nan, 1], [1, 1], [1, np.nan]], ValueError,
            r"y contains 2 non-finite value\(s\) \(2 NaN, 0 infinite\); the first is at "
            r"index \(1, 0\)"),
    "inf": ("mse", [[0, 1], [1, 1], [1, np.inf], [1, 1]], ValueError,
            r"y contains 1 non-finite .* index \(2, 1\): inf"),
    # text labels: how to encode them (issue 19)
    "strings": ("binary", ["a", "b", "a", "b"], TypeError,
                r"y holds text labels \(dtype <U1\).*np.unique"),
    "complex": ("binary", np.ones(4, dtype=complex), TypeError, r"y has complex dtype"),
    "bce label 2": ("binary", [0, 1, 2, 0], ValueError,
                    r"binary_crossentropy needs labels in \{0, 1\}; y has 1 other value\(s\), "
                    r"the first 2.0 at index \(2, 0\)"),
    "bce label -1": ("binary", [0, -1, 1, 0], ValueError, r"labels in \{0, 1\}.*-1.0"),
    "bce label 0.5": ("binary", [0, 0.5, 1, 0], ValueError, r"labels in \{0, 1\}.*0.5"),
    "bce two columns": ("binary", np.zeros((4, 2)), ValueError,
                        r"y has 2 columns, but the output layer has 1 units"),
    "class too large": ("sparse", [0, 1, 3, 2], ValueError,
                        r"class labels from 0 to 3, but the output layer has 3 units "
                        r"\(valid labels: 0..2\)"),
    "class negative": ("sparse", [0, -1, 2, 2], ValueError,
                       r"class labels from -1 to 2.*valid labels: 0..2"),
    "class non-integer": ("sparse", [0, 1.5, 2, 2], ValueError, r"non-integer class labels"),
    "sparse one-hot": ("sparse", np.eye(4, 3), ValueError,
                       r"sparse_categorical_crossentropy takes integer class labels of shape "
                       r"\(n,\).*categorical_crossentropy"),
    "one-hot sum": ("multi", [[1, 0, 0], [0, 1, 1], [0, 0, 1], [1, 0, 0]], ValueError,
                    r"rows of y that sum to 1 \(one-hot\); 1 row\(s\) do not, the first is row "
                    r"1 summing to 2.0"),
    "one-hot zeros": ("multi", [[1, 0, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0]], ValueError,
                      r"sum to 1.*row 1 summing to 0.0"),
    "one-hot negative": ("multi", [[1, 0, 0], [2, -1, 0], [0, 0, 1], [1, 0, 0]], ValueError,
                         r"values in \[0, 1\]; y has values from -1.0 to 2.0"),
    "labels for one-hot loss": ("multi", [0, 1, 2, 0], ValueError,
                                r"y has shape \(4,\), but the output layer has 3 units.*"
                                r"sparse_categorical_crossentropy"),
    "mse columns": ("mse", np.zeros((4, 3)), ValueError,
                    r"y has 3 columns, but the output layer has 2 units"),
    "mse 1-D": ("mse", np.zeros(4), ValueError, r"y must be \(4, 2\)"),
}


@pytest.mark.parametrize("case", list(BAD_Y))
@pytest.mark.parametrize("call", ["fit", "evaluate", "compute_gradients"])
def test_bad_y_raises_before_any_compiled_code(backend, dtype, case, call):
    kind, y, exc, pattern = BAD_Y[case]
    model = make(backend, dtype, kind)
    fn = {"fit": lambda: model.fit(X3, y, epochs=1, verbose=0),
          "evaluate": lambda: model.evaluate(X3, y, return_dict=True),
          "compute_gradients": lambda: model.compute_gradients(X3, y)}[call]
    expect(exc, pattern, fn, model)


# --------------------------------------------------------------------------------------
# order of calls
# --------------------------------------------------------------------------------------
def test_calls_before_compile_or_build(backend):
    unknown = fm.Sequential([fm.Dense(2), fm.Dense(1)], backend=backend)
    expect(RuntimeError, r"not built: the input size is not known",
           lambda: unknown.predict(X3), unknown)
    unknown.compile("sgd", "mse")
    expect(RuntimeError, r"not built: the input size is not known",
           lambda: unknown.predict(X3), unknown)
    expect(RuntimeError, r"input size is not known.*build\(input_dim\)",
           lambda: unknown.build(), unknown)
    expect(RuntimeError, r"not built", lambda: unknown.set_weights([]), unknown)
    uncompiled = fm.Sequential([fm.Dense(2, input_dim=3), fm.Dense(1)], backend=backend)
    expect(RuntimeError, r"not compiled; call model.compile", lambda: uncompiled.fit(X3, Y_BIN),
           uncompiled)
    assert uncompiled.predict(X3).shape == (X3.shape[0], 1)  # inference needs no compile
    expect(RuntimeError, r"not compiled", lambda: uncompiled.evaluate(X3, Y_BIN),
           uncompiled)
    empty = fm.Sequential(backend=backend)
    expect(RuntimeError, r"no layers", lambda: empty.compile("sgd", "mse"))
    expect(RuntimeError, r"no layers", lambda: empty.fit(X3, Y_BIN))
    built = fm.Sequential([fm.Dense(2, input_dim=3)]).build()
    expect(RuntimeError, r"cannot add layers to a model that is already built",
           lambda: built.add(fm.Dense(1)))
    expect(ValueError, r"built for 3 inputs, not 4", lambda: built.build(4))


def test_model_with_known_input_dim_predicts_without_fit(backend):
    model = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0, backend=backend)
    model.compile("sgd", "mse")
    assert model.predict(X3).shape == (4, 2)


# --------------------------------------------------------------------------------------
# hyper-parameters and names
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, pattern", [
    ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
    ({"batch_size": -3}, r"batch_size must be an integer >= 1, got -3"),
    ({"batch_size": 2.5}, r"batch_size must be an integer >= 1, got 2.5"),
    ({"batch_size": True}, r"batch_size must be an integer >= 1, got True"),
    ({"epochs": -1}, r"epochs must be an integer >= 0, got -1"),
    ({"epochs": 1.0}, r"epochs must be an integer >= 0, got 1.0"),
    ({"initial_epoch": -1}, r"initial_epoch must be an integer >= 0"),
    ({"validation_split": 1.0}, r"validation_split must be < 1.0, got 1.0"),
    ({"validation_split": -0.1}, r"validation_split must be >= 0.0, got -0.1"),
    ({"validation_split": float("nan")}, r"validation_split must be finite, got nan"),
    ({"validation_split": 0.1}, r"validation_split=0.1 leaves 0 validation"),
    ({"verbose": 3}, r"verbose must be 0, 1 or 2, got 3"),
    ({"on_divergence": "ignore"}, r"on_divergence must be 'raise' or 'warn', got 'ignore'"),
])
def test_bad_fit_arguments(backend, kwargs, pattern):
    model = make(backend, "float64")
    kwargs = {"verbose": 0, **kwargs}
    expect(ValueError, pattern, lambda: model.fit(X3, Y_BIN, **kwargs), model)


def test_bad_callbacks(backend):
    model = make(backend, "float64")
    expect(TypeError, r"callbacks must be fastmlp.callbacks.Callback instances, got "
           r"builtin_function_or_method", lambda: model.fit(X3, Y_BIN, callbacks=[print],
                                                            verbose=0), model)


@pytest.mark.parametrize("value, pattern", [
    (float("nan"), r"learning_rate must be finite, got nan"),
    (float("inf"), r"learning_rate must be finite, got inf"),
    (-0.1, r"learning_rate must be > 0.0, got -0.1"),
    (0, r"learning_rate must be > 0.0, got 0"),
    ("0.1", r"learning_rate must be a real number, got '0.1'"),
    (None, r"learning_rate must be a real number, got None"),
])
def test_bad_learning_rates(value, pattern):
    for cls in optimizers.OPTIMIZERS.values():
        with pytest.raises(ValueError, match=pattern):
            cls(learning_rate=value)


def test_bad_weight_decay():
    for cls in optimizers.OPTIMIZERS.values():
        with pytest.raises(ValueError, match=r"weight_decay must be >= 0.0, got -1"):
            cls(weight_decay=-1)
        with pytest.raises(ValueError, match=r"weight_decay must be finite"):
            cls(weight_decay=float("nan"))


def _lists_all(registry):
    return "".join(f"(?=.*\\b{re.escape(name)}\\b)" for name in registry)


def test_unknown_names_list_the_valid_ones(backend):
    with pytest.raises(ValueError, match=r"unknown activation 'relu7'; valid activations are: "
                       + _lists_all(activations.ACTIVATIONS)):
        fm.Dense(2, activation="relu7")
    with pytest.raises(ValueError, match=r"unknown initializer 'glorot'; valid initializers "
                       r"are: " + _lists_all(initializers.INITIALIZERS)):
        fm.Dense(2, kernel_initializer="glorot")
    with pytest.raises(ValueError, match=r"unknown initializer 'one'"):
        fm.Dense(2, bias_initializer="one")
    model = fm.Sequential([fm.Dense(2, input_dim=3), fm.Dense(1)], backend=backend)
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamw'; valid optimizers are: "
                       + _lists_all(optimizers.OPTIMIZERS)):
        model.compile(optimizer="adamw", loss="mse")
    with pytest.raises(ValueError, match=r"unknown loss 'kld'; valid losses are: "
                       + _lists_all(losses.LOSSES)):
        model.compile(optimizer="sgd", loss="kld")
    with pytest.raises(ValueError, match=r"unknown metric 'f2'; valid metrics are: "
                       + _lists_all(metrics.METRICS)):
        model.compile(optimizer="sgd", loss="mse", metrics=["f2"])
    with pytest.raises(ValueError, match=r"unknown backend 'gpu'; valid backends are: "
                       r"cython, numpy"):
        fm.Sequential(backend="gpu")
    assert model.optimizer is None  # nothing was half-set


def test_bad_model_settings():
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'float64', got 'float16'"):
        fm.Sequential(dtype="float16")
    with pytest.raises(ValueError, match=r"units must be an integer >= 1, got 0"):
        fm.Dense(0)
    with pytest.raises(ValueError, match=r"input_dim must be an integer >= 1, got -2"):
        fm.Dense(2, input_dim=-2)
    with pytest.raises(TypeError, match=r"Sequential takes Dense and Dropout layers, got str"):
        fm.Sequential(["dense"])
    model = fm.Sequential([fm.Dense(2, input_dim=3), fm.Dense(1, activation="linear")])
    with pytest.raises(ValueError, match=r"needs a 'sigmoid' output layer"):
        model.compile("sgd", "binary_crossentropy")
    model = fm.Sequential([fm.Dense(1, activation="softmax", input_dim=3)])
    with pytest.raises(ValueError, match=r"at least 2 units"):
        model.compile("sgd", "categorical_crossentropy")


# --------------------------------------------------------------------------------------
# set_weights
# --------------------------------------------------------------------------------------
def test_set_weights_refuses_bad_lists(backend, dtype):
    model = make(backend, dtype)
    good = model.get_weights()
    cases = [
        (good[:3], ValueError, r"set_weights got 3 arrays, but the model has 4"),
        ([*good, np.ones(1)], ValueError, r"got 5 arrays, but the model has 4"),
        ([good[0].T, *good[1:]], ValueError, r"weights\[0\] has shape \(4, 3\), expected "
                                             r"\(3, 4\)"),
        ([good[0], good[1][:2], *good[2:]], ValueError, r"weights\[1\] has shape \(2,\)"),
        ([good[0].astype(complex), *good[1:]], TypeError, r"weights\[0\] has complex dtype"),
        ([good[0].astype(str), *good[1:]], TypeError, r"weights\[0\] has dtype <U"),
        ([good[0], good[1], np.full((4, 1), np.nan), good[3]], ValueError,
         r"weights\[2\] contains 4 non-finite value\(s\) \(4 NaN"),
        ([good[0], good[1], good[2], [[1.0]]], ValueError, r"weights\[3\] has shape \(1, 1\)"),
        (tuple(good[:2]), ValueError, r"got 2 arrays"),
        ("weights", TypeError, r"weights must be a list of arrays, got str"),
        (np.zeros(4), TypeError, r"weights must be a list of arrays, got ndarray"),
    ]
    if dtype == "float32":
        cases.append(([good[0], np.full(4, 1e300), *good[2:]], ValueError,
                      r"weights\[1\] overflows float32"))
    for weights, exc, pattern in cases:
        expect(exc, pattern, lambda weights=weights: model.set_weights(weights), model)


def test_set_weights_converts_dtype_and_layout(backend, dtype):
    model = make(backend, dtype)
    new = [np.asfortranarray(w.astype(np.float64) + 1) for w in model.get_weights()]
    new[1] = new[1].astype(">f8")
    new[3] = [float(v) for v in new[3]]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        assert got.dtype == np.dtype(dtype) and got.flags.c_contiguous
        np.testing.assert_array_equal(got, np.asarray(want, dtype=dtype))


# --------------------------------------------------------------------------------------
# odd-but-valid inputs: converted by value, copied only when needed
# --------------------------------------------------------------------------------------
def _variants(base):
    """``base`` (small integers, exactly representable everywhere) in many layouts."""
    wide = np.zeros((base.shape[0], 2 * base.shape[1]))
    wide[:, ::2] = base
    readonly = base.copy()
    readonly.flags.writeable = False
    raw = b"\0" + base.astype(np.float64).tobytes()
    unaligned = np.frombuffer(raw, dtype=np.float64, offset=1).reshape(base.shape)
    return {
        "strided": wide[:, ::2],
        "fortran": np.asfortranarray(base),
        "reversed rows": base[::-1][::-1],
        "transposed": np.ascontiguousarray(base.T).T,
        "int8": base.astype(np.int8),
        "int64": base.astype(np.int64),
        "uint8": base.astype(np.uint8),
        "float16": base.astype(np.float16),
        "float32": base.astype(np.float32),
        "big-endian f8": base.astype(">f8"),
        "big-endian f4": base.astype(">f4"),
        "big-endian i4": base.astype(">i4"),
        "read-only": readonly,
        "unaligned": unaligned,
        "list": base.tolist(),
        "bool": (base > 2),
    }


@pytest.mark.parametrize("variant", list(_variants(np.zeros((1, 1)))))
def test_odd_inputs_are_converted_by_value(backend, dtype, variant):
    base = np.arange(12, dtype=np.float64).reshape(4, 3) % 5
    x = _variants(base)[variant]
    expected_values = np.asarray(x, dtype=np.float64)
    model = make(backend, dtype)
    reference = model.predict(np.ascontiguousarray(expected_values, dtype=dtype))
    np.testing.assert_array_equal(model.predict(x), reference)
    converted = as_features(x, np.dtype(dtype))
    assert converted.flags.c_contiguous and converted.flags.aligned
    assert converted.dtype == np.dtype(dtype) and converted.dtype.isnative
    np.testing.assert_array_equal(converted, expected_values.astype(dtype))
    # the caller's array is never modified
    np.testing.assert_array_equal(np.asarray(x, dtype=np.float64), expected_values)


def test_no_copy_when_the_input_already_fits(dtype):
    x = np.ascontiguousarray(X3, dtype=dtype)
    assert as_features(x, np.dtype(dtype)) is x
    x.flags.writeable = False
    assert as_features(x, np.dtype(dtype)) is x
    rows = x[1:3]  # a C-contiguous view: used as it is
    assert np.shares_memory(as_features(rows, np.dtype(dtype)), x)
    other = np.float64 if dtype == "float32" else np.float32
    assert not np.shares_memory(as_features(x.astype(other), np.dtype(dtype)), x)


def test_targets_are_converted_by_value(backend, dtype):
    y = np.array([0, 1, 1, 0])
    for variant in (y.astype(">i8"), y.astype(np.uint8), y.astype(bool), y.astype(np.float16),
                    y.reshape(-1, 1), np.asfortranarray(y.reshape(-1, 1)), y.tolist()):
        out = as_targets(variant, "binary_crossentropy", 1, 4, np.dtype(dtype))
        assert out.shape == (4, 1) and out.dtype == np.dtype(dtype) and out.flags.c_contiguous
        np.testing.assert_array_equal(out[:, 0], y)
    labels = np.array([2, 0, 1, 2], dtype=">i2")
    onehot = as_targets(labels, "sparse_categorical_crossentropy", 3, 4, np.dtype(dtype))
    np.testing.assert_array_equal(onehot, np.eye(3)[[2, 0, 1, 2]])
    model = make(backend, dtype, "sparse")
    a = model.evaluate(X3, labels, return_dict=True)
    b = model.evaluate(X3, labels.astype(np.int64), return_dict=True)
    assert a == b


def test_fit_on_odd_inputs_matches_fit_on_plain_arrays(backend, dtype):
    base = np.arange(24, dtype=np.float64).reshape(8, 3) % 5
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    plain = make(backend, dtype)
    plain.fit(base.astype(dtype), y.astype(dtype), epochs=3, batch_size=3, verbose=0)
    odd = make(backend, dtype)
    odd.fit(np.asfortranarray(base.astype(">f8")), y.astype(">i4"), epochs=3, batch_size=3,
            verbose=0)
    for a, b in zip(plain.get_weights(), odd.get_weights()):
        np.testing.assert_array_equal(a, b)
