"""Input validation: every array is checked and converted here, once, before any
compiled code sees it (the compiled engine runs without bounds checks).

What reaches an engine is always a finite, aligned, C-contiguous array of the model's
dtype in native byte order. Conversion copies only when the input is not already that:
integer, boolean, float16 and big-endian inputs are converted by value, Fortran-ordered
and strided views are gathered, and a C-contiguous native array of the right dtype is used
as it is (even read-only). Errors are ``TypeError`` for what is not a real numeric array
(strings, objects, complex, sparse matrices, ``None``) and ``ValueError`` for the wrong
shape, emptiness, NaN or infinity (with the count and the first position), values that
overflow the model's dtype, and targets that do not fit the loss.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .backend import _load_compiled

# compiled finiteness scan: no temporary arrays, stops at the first bad block (None when
# the extension is not built or not usable here: NumPy does the same checks)
_finite_status = getattr(_load_compiled(), "finite_status", None)


def _is_frame(x: Any) -> bool:
    """A pandas DataFrame (or anything with its column interface), without importing
    pandas."""
    return hasattr(x, "columns") and hasattr(x, "dtypes") and hasattr(x, "iloc")


def _frame_to_array(frame: Any, name: str) -> np.ndarray:
    """A DataFrame's values as one numeric array, column by column: numbers and booleans
    (also pandas' nullable ``Int64``, ``Float64`` and ``boolean``, whose missing values
    become NaN) are converted by value; a column of another kind is an error naming it."""
    dtypes = list(frame.dtypes)
    if all(isinstance(dt, np.dtype) and dt.kind in "iuf" for dt in dtypes):
        return frame.to_numpy()   # (with a bool column pandas would give objects)
    import pandas as pd

    columns = []
    for position, (label, dt) in enumerate(zip(frame.columns, dtypes)):
        column = frame.iloc[:, position]
        if isinstance(dt, pd.CategoricalDtype):
            raise TypeError(f"{name} column {label!r} is categorical (dtype category); "
                            f"fastmlp needs numbers: encode it first, e.g. "
                            f"pd.get_dummies({name}, columns=[{label!r}])")
        if not (pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt)) \
                or pd.api.types.is_complex_dtype(dt):
            raise TypeError(f"{name} column {label!r} has dtype {dt}; fastmlp needs numbers: "
                            f"convert it to numbers (or drop it with "
                            f"{name}.drop(columns=[{label!r}]))")
        columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def feature_names_of(x: Any) -> list[str] | None:
    """The column names of a DataFrame ``x`` as strings (None for anything else)."""
    if not _is_frame(x):
        return None
    return [str(c) for c in x.columns]


def check_feature_names(expected: Any, x: Any, name: str = "X") -> None:
    """Raise ``ValueError`` when ``x`` is a DataFrame whose columns are not ``expected``
    (the names a model was trained with), in that order. Arrays are not checked."""
    names = feature_names_of(x)
    if expected is None or names is None or names == list(expected):
        return
    expected = list(expected)
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    if not missing and not extra:
        problem = "has the model's columns in another order"
    else:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(map(repr, missing[:5]))}"
                         + (" ..." if len(missing) > 5 else ""))
        if extra:
            parts.append(f"has columns the model was not trained on: "
                         f"{', '.join(map(repr, extra[:5]))}" + (" ..." if len(extra) > 5 else ""))
        problem = " and ".join(parts)
    step = (f"pass {name}[model.feature_names]" if not missing else
            "pass a DataFrame with the columns in model.feature_names")
    raise ValueError(f"{name} {problem}; {step}")


def check_feature_name_list(names: Any, n_features: int | None) -> list[str] | None:
    """``names`` as a list of distinct strings, one per feature (None stays None)."""
    if names is None:
        return None
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise TypeError(f"feature_names must be a list of strings, got {names!r}")
    out = [str(n) if isinstance(n, (str, np.str_)) else n for n in names]
    if not all(isinstance(n, str) for n in out):
        raise TypeError("feature_names must be strings")
    if len(set(out)) != len(out):
        raise ValueError(f"feature_names must be distinct, got {out}")
    if n_features is not None and len(out) != n_features:
        raise ValueError(f"{len(out)} feature_names for a model of {n_features} inputs")
    return out


def check_classes(classes: Any, n_classes: int | None = None) -> np.ndarray | None:
    """Class labels as a 1-D array of distinct booleans, integers, finite floats or
    strings (None stays None); ``n_classes`` is how many the model's output has."""
    if classes is None:
        return None
    arr = np.asarray(classes)
    if arr.dtype.kind == "O":  # e.g. a list mixing Python types, or pandas' object columns
        if all(isinstance(v, (str, np.str_)) for v in arr.ravel()):
            arr = arr.astype(str)
        elif all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                 for v in arr.ravel()):
            arr = arr.astype(np.int64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"classes must be a 1-D list of at least 2 labels, got shape "
                         f"{arr.shape}")
    if arr.dtype.kind not in "biufU":
        raise TypeError(f"classes must be booleans, integers, floats or strings, got dtype "
                        f"{arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError("classes must be finite numbers")
    if len(np.unique(arr)) != arr.size:
        raise ValueError(f"classes must be distinct, got {arr.tolist()}")
    arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
    if n_classes is not None and arr.size != n_classes:
        raise ValueError(f"{arr.size} classes for an output of {n_classes} classes")
    return arr.copy()


def _as_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if _is_frame(x):
        return _frame_to_array(x, name)
    if x is None:
        raise TypeError(f"{name} is None; pass an array")
    if hasattr(x, "toarray") and hasattr(x, "nnz"):
        raise TypeError(f"{name} is a sparse matrix ({type(x).__name__}); fastmlp needs a "
                        f"dense array: pass {name}.toarray()")
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be read as a rectangular array ({exc}); "
                         "every row must have the same length") from None


def _holds_text(arr: np.ndarray) -> bool:
    if arr.dtype.kind in "US":
        return True
    return arr.dtype.kind == "O" and arr.size > 0 and isinstance(arr.flat[0], (str, bytes))


def _check_kind(arr: np.ndarray, name: str, labels: bool = False) -> None:
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} has complex dtype {arr.dtype}; fastmlp needs real numbers")
    if labels and _holds_text(arr):
        raise TypeError(f"{name} holds text labels (dtype {arr.dtype}); Sequential takes "
                        f"class indices: encode them with classes, {name} = "
                        f"np.unique({name}, return_inverse=True) (and set model.classes = "
                        "classes to keep the labels), or use fastmlp.sklearn.MLPClassifier, "
                        "which takes any labels")
    if kind in "OUSVaMm":
        raise TypeError(f"{name} has dtype {arr.dtype}; fastmlp needs numbers (convert "
                        "strings/objects to float first)")


def check_finite(arr: np.ndarray, name: str, original: np.ndarray | None = None) -> None:
    """Raise ``ValueError`` naming how many values are NaN/inf and where the first is.

    ``arr`` may be the conversion of ``original`` to a narrower dtype: values that were
    finite in ``original`` but not in ``arr`` are reported as overflowing that dtype.
    """
    if all_finite(arr):
        return
    finite = np.isfinite(arr)
    if original is not None and original.dtype.kind == "f" and original.shape == arr.shape:
        was_finite = np.isfinite(original)
        overflow = was_finite & ~finite
        if overflow.any():
            first = tuple(int(i) for i in np.argwhere(overflow)[0])
            raise ValueError(f"{name} has {int(overflow.sum())} value(s) too large for "
                             f"{arr.dtype} (|x| > {np.finfo(arr.dtype).max:.4g}); the first "
                             f"is at index {first}: {original[first].item()!r}")
    bad = ~finite
    count = int(bad.sum())
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_nan = int(np.isnan(arr).sum())
    raise ValueError(f"{name} contains {count} non-finite value(s) ({n_nan} NaN, "
                     f"{count - n_nan} infinite); the first is at index {first}: "
                     f"{arr[first].item()!r}")


def all_finite(arr: np.ndarray) -> bool:
    """``np.isfinite(arr).all()``, by the compiled scan when ``arr`` is a C-contiguous
    float32/float64 array (no temporary arrays)."""
    status = -1 if _finite_status is None else _finite_status(arr)
    if status < 0:
        return bool(np.isfinite(arr).all())
    return status == 1


def as_features(x: Any, dtype: np.dtype, n_features: int | None = None,
                name: str = "X") -> np.ndarray:
    """Return ``x`` as a finite, C-contiguous 2-D array of ``dtype``.

    Copies only when the layout, byte order or dtype require it. Raises ``ValueError`` for
    wrong shapes, empty input, non-finite values and a wrong number of features;
    ``TypeError`` for non-numeric dtypes.
    """
    # Fast path: already a finite, non-empty, C-contiguous (n, n_features) array of dtype,
    # which is returned as it is. Anything else (including any failing check) takes the
    # full path below, which raises the error.
    if (_finite_status is not None
            and _finite_status(x, dtype, -1 if n_features is None else n_features) == 1):
        return x
    arr = _as_array(x, name)
    _check_kind(arr, name)
    check_matrix_shape(arr, name, n_features)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but the model expects "
                         f"{n_features}")
    out = _contiguous(arr, dtype)
    check_finite(out, name, arr)
    return out


def check_matrix_shape(arr: np.ndarray, name: str = "X",
                       n_features: int | None = None) -> None:
    """Raise ``ValueError`` unless ``arr`` is a non-empty 2-D (samples, features) array.

    For a 1-D array the message says which reshape fits: one sample (``n_features``
    values) or one feature (a model of one input), both when the model's input size is
    not known yet."""
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            one_row = f" (use {name}.reshape(1, -1) for a single sample)"
            one_column = f" (use {name}.reshape(-1, 1) for a single feature)"
            if n_features is None:
                hint = (f" (use {name}.reshape(1, -1) for a single sample, "
                        f"{name}.reshape(-1, 1) for a single feature)")
            elif n_features == 1:
                hint = one_column
            elif arr.shape[0] == n_features:
                hint = one_row
            else:
                hint = f" (the model takes {n_features} features per row)"
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got an array of "
                         f"shape {arr.shape}{hint}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least one sample "
                         "and one feature")


def _contiguous(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``arr`` as an aligned, C-contiguous, native-order array of ``dtype`` (no copy when
    it already is one)."""
    with np.errstate(over="ignore"):  # overflow is reported by check_finite
        out = np.ascontiguousarray(arr, dtype=dtype)
    if not out.flags.aligned:  # e.g. np.frombuffer at an odd offset
        out = out.copy()
    return out


def as_targets(y: Any, loss: str, n_out: int, n_rows: int, dtype: np.dtype,
               name: str = "y") -> np.ndarray:
    """Return targets as a C-contiguous ``(n, n_out)`` array of ``dtype`` fit for ``loss``.

    ``sparse_categorical_crossentropy`` labels are one-hot encoded here.
    """
    arr = _as_array(y, name)
    _check_kind(arr, name, labels=True)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of targets, got a scalar")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows but X has {n_rows}; they must match")
    if arr.ndim > 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    values = arr.astype(np.float64, copy=False)
    check_finite(values, name, arr)

    if loss == "sparse_categorical_crossentropy":
        if arr.ndim == 2 and arr.shape[1] != 1:
            raise ValueError(f"sparse_categorical_crossentropy takes integer class labels of "
                             f"shape (n,), got {name} of shape {arr.shape} (use "
                             "categorical_crossentropy for one-hot targets)")
        labels = values.reshape(-1)
        if np.any(labels != np.round(labels)):
            raise ValueError(f"{name} holds non-integer class labels; "
                             "sparse_categorical_crossentropy needs integers")
        if labels.min() < 0 or labels.max() >= n_out:
            raise ValueError(f"{name} holds class labels from {int(labels.min())} to "
                             f"{int(labels.max())}, but the output layer has {n_out} units "
                             f"(valid labels: 0..{n_out - 1})")
        out = np.zeros((n_rows, n_out), dtype=dtype)
        out[np.arange(n_rows), labels.astype(np.intp)] = 1
        return out

    if arr.ndim == 1:
        if n_out != 1:
            hint = (" (use sparse_categorical_crossentropy for integer labels)"
                    if loss == "categorical_crossentropy" else "")
            raise ValueError(f"{name} has shape {arr.shape}, but the output layer has "
                             f"{n_out} units: {name} must be ({n_rows}, {n_out}){hint}")
        values = values.reshape(-1, 1)
    elif arr.shape[1] != n_out:
        raise ValueError(f"{name} has {arr.shape[1]} columns, but the output layer has "
                         f"{n_out} units")

    if loss == "binary_crossentropy":
        bad = (values != 0) & (values != 1)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"binary_crossentropy needs labels in {{0, 1}}; {name} has "
                             f"{int(bad.sum())} other value(s), the first {values[first].item()!r} "
                             f"at index {first}")
    elif loss == "categorical_crossentropy":
        if values.min() < 0 or values.max() > 1:
            raise ValueError(f"categorical_crossentropy needs one-hot (or probability) rows "
                             f"with values in [0, 1]; {name} has values from {values.min()} "
                             f"to {values.max()}")
        sums = values.sum(axis=1)
        bad = np.abs(sums - 1) > 1e-6
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(f"categorical_crossentropy needs rows of {name} that sum to 1 "
                             f"(one-hot); {int(bad.sum())} row(s) do not, the first is row "
                             f"{row} summing to {sums[row].item()!r}")
    elif loss == "poisson":
        check_counts(values, name)
    elif loss == "hinge":
        present = set(np.unique(values).tolist())
        if present <= {0.0, 1.0}:
            values = 2 * values - 1  # Keras converts 0/1 labels to -1/1
        elif not present <= {-1.0, 1.0}:
            raise ValueError(f"hinge needs labels in {{-1, 1}} (or {{0, 1}}, converted to "
                             f"-1/1); {name} holds {sorted(present)[:5]}")
    out = _contiguous(values, dtype)
    check_finite(out, name, values)
    return out


def check_counts(values: np.ndarray, name: str = "y") -> None:
    """Refuse negative targets: the Poisson loss takes counts (or rates) ``y >= 0``."""
    if values.size and values.min() < 0:
        first = tuple(int(i) for i in np.argwhere(values < 0)[0])
        raise ValueError(f"the poisson loss needs targets y >= 0 (counts); {name} has "
                         f"{int((values < 0).sum())} negative value(s), the first "
                         f"{values[first].item()!r} at index {first}")


def as_sample_weight(sample_weight: Any, class_weight: Any, y: Any, loss: str | None,
                     n_out: int, n_rows: int, dtype: DTypeLike,
                     name: str = "sample_weight") -> np.ndarray | None:
    """Per-row loss weights ``(n,)`` of ``dtype`` from ``sample_weight`` and/or
    ``class_weight`` (their product, as in Keras), or ``None`` when neither is given.

    ``y`` are the targets as the user gave them (already checked by :func:`as_targets`):
    ``class_weight`` maps each class to a weight; a class missing from the dict weighs 1
    (Keras), a key that is not a class of the model's output is an error.
    """
    if sample_weight is None and class_weight is None:
        return None
    weights = np.ones(n_rows, dtype=np.float64)
    if sample_weight is not None:
        arr = _as_array(sample_weight, name)
        _check_kind(arr, name)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1 or arr.shape[0] != n_rows:
            raise ValueError(f"{name} must hold one weight per sample, shape ({n_rows},), "
                             f"got shape {arr.shape}")
        values = arr.astype(np.float64, copy=True)
        check_finite(values, name)
        if (values < 0).any():
            first = int(np.argmax(values < 0))
            raise ValueError(f"{name} must be >= 0; {int((values < 0).sum())} value(s) are "
                             f"negative, the first {values[first]!r} at index {first}")
        weights = values
    if class_weight is not None:
        weights = weights * _class_weights(class_weight, y, loss, n_out, n_rows)
    return np.ascontiguousarray(weights, dtype=dtype)


def _class_weights(class_weight: Any, y: Any, loss: str | None, n_out: int,
                   n_rows: int) -> np.ndarray:
    """The weight of each row's class."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class: weight}}, got "
                        f"{type(class_weight).__name__}")
    values = np.asarray(y, dtype=np.float64)
    if loss == "sparse_categorical_crossentropy":
        labels, classes = values.reshape(-1), list(range(n_out))
    elif loss == "categorical_crossentropy":
        labels, classes = values.argmax(axis=1).astype(np.float64), list(range(n_out))
    elif loss in ("binary_crossentropy", "hinge") and n_out == 1:
        labels = values.reshape(-1)
        classes = [-1, 1] if loss == "hinge" and (labels == -1).any() else [0, 1]
    else:
        raise ValueError(f"class_weight needs single-label classification targets (softmax "
                         f"with a categorical cross-entropy, or one sigmoid/hinge output); "
                         f"loss {loss!r} with {n_out} output(s) takes sample_weight instead")
    out = np.ones(n_rows, dtype=np.float64)
    for key, weight in class_weight.items():
        if (isinstance(key, bool) or not isinstance(key, (int, np.integer, float, np.floating))
                or key != int(key) or int(key) not in classes):
            raise ValueError(f"class_weight has key {key!r}, which is not a class of this "
                             f"model's output; valid classes: {classes}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer,
                                                                 np.floating)):
            raise TypeError(f"class_weight[{key!r}] must be a number, got {weight!r}")
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"class_weight[{key!r}] must be finite and >= 0, got {weight!r}")
        out[labels == int(key)] = float(weight)
    return out


def check_dtype(dtype: Any) -> np.dtype:
    """float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def check_weights(weights: Any, expected: list[np.ndarray]) -> list[np.ndarray]:
    """Check a ``set_weights`` list against the model's parameters; return each array
    converted to its parameter's dtype (finite, C-contiguous)."""
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"weights must be a list of arrays, got {type(weights).__name__}")
    if len(weights) != len(expected):
        raise ValueError(f"set_weights got {len(weights)} arrays, but the model has "
                         f"{len(expected)} (W and b per layer, plus alpha for prelu)")
    out = []
    for i, (w, p) in enumerate(zip(weights, expected)):
        name = f"weights[{i}]"
        arr = _as_array(w, name)
        _check_kind(arr, name)
        if arr.shape != p.shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected {p.shape}")
        check_finite(arr, name)
        converted = _contiguous(arr, p.dtype)
        if not np.isfinite(converted).all():
            raise ValueError(f"{name} overflows {p.dtype}: its values exceed "
                             f"{np.finfo(p.dtype).max:.4g} in magnitude")
        out.append(converted)
    return out
