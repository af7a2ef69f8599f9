"""Model files: one self-describing file per model, written atomically, read safely.

Format (version 1), all integers little-endian::

    offset  size  content
    0       8     magic b"\\x93FASTMLP"
    8       4     format version (uint32)
    12      8     header length H (uint64)
    20      8     payload length P (uint64)
    28      H     header: UTF-8 JSON (architecture, settings, array table)
    28+H    P     payload: raw little-endian arrays, each at a 64-byte aligned offset
    28+H+P  32    SHA-256 of every byte before it

The JSON header holds the format name and version, the fastmlp version that wrote it, the
model (class, name, dtype, seed, backend, random-generator state, built or not, each
layer's ``get_config()`` and the names of its parameter arrays), the compile settings
(loss, metrics, ``steps_per_execution``, optimizer class name, its ``get_config()``, the
names of its state arrays and of its ``scalars``) and a table ``name -> {dtype, shape,
offset}`` of the arrays. When the model has them, ``model`` also holds ``classes``
(``{"dtype": ..., "values": [...]}``: the class labels, booleans, integers, floats or
strings) and ``feature_names`` (a list of strings). These and ``steps_per_execution``
(then 1) are optional, so files without them (written before they existed) load as
before, and readers that do not know them ignore them.

Writing goes to a temporary file in the target's directory, which is flushed, fsync'ed and
renamed over the target (then the directory is fsync'ed), so a crash at any moment leaves
either the old file or the new one, never a mixture. Reading checks the magic, the version,
the exact length, the checksum, then every header field and every array's dtype and shape
against the architecture before building anything; it uses :mod:`json` and
:func:`numpy.frombuffer` only, so no code from the file is ever executed (no pickle).

The checksum detects corruption, truncation and edits that do not recompute it. It is not
a signature: whoever can write the file can also write a consistent file with other
weights. Loading such a file still never runs code from it.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import struct
from typing import Any

import numpy as np

from . import optimizers as _optimizers

#: The model classes a file can hold, by the class name its header stores. models.py
#: registers Sequential, so that this module does not import the models it reads.
_MODEL_CLASSES: dict[str, type] = {}


def _register_model_class(cls: type) -> type:
    """Let files hold models of ``cls`` (a class decorator)."""
    _MODEL_CLASSES[cls.__name__] = cls
    return cls

MAGIC = b"\x93FASTMLP"
#: Version of the file format this module writes; it reads versions 1 .. FORMAT_VERSION.
FORMAT_VERSION = 1
FORMAT_NAME = "fastmlp.model"
_PREFIX = struct.Struct("<8sIQQ")   # magic, version, header length, payload length
_DIGEST = 32
_ALIGN = 64
_DTYPES = {"float32": "<f4", "float64": "<f8"}
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class ModelFileError(ValueError):
    """A model file that cannot be loaded: not a fastmlp model, truncated, corrupted,
    modified, written by a newer format, or inconsistent. The message says which.

    Examples
    --------
    >>> import os, tempfile, fastmlp as fm
    >>> path = os.path.join(tempfile.mkdtemp(), "not_a_model.fmlp")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"hello")
    >>> try:
    ...     fm.load_model(path)
    ... except fm.ModelFileError as err:
    ...     print(type(err).__name__)
    ModelFileError
    """


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def _json_value(value: Any, where: str) -> Any:
    """``value`` as plain JSON data; objects with ``get_config`` (e.g. learning-rate
    schedules) become ``{"__class__": name, "config": ...}``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v, f"{where}.{k}") for k, v in value.items()}
    if hasattr(value, "get_config") and type(value).__module__.startswith("fastmlp."):
        return {"__class__": type(value).__name__,
                "config": _json_value(value.get_config(), f"{where}.config")}
    raise TypeError(f"cannot save {where}: values of type {type(value).__name__} are not "
                    "supported in model files")


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    state = rng.bit_generator.state
    name = state.get("bit_generator")
    if name not in _BIT_GENERATORS:
        raise TypeError(f"cannot save the model's random generator {name!r}; supported: "
                        f"{', '.join(_BIT_GENERATORS)}")

    def plain(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return {"__ndarray__": v.tolist(), "dtype": v.dtype.str}
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
            return int(v)
        return v

    return plain(state)


def _optimizer_class_name(opt: Any) -> str:
    name = type(opt).__name__
    registered = getattr(opt, "name", None)
    if not isinstance(registered, str) or _optimizers.OPTIMIZERS.get(registered) is not type(opt):
        raise TypeError(f"cannot save optimizer {name}: only the optimizers of "
                        f"fastmlp.optimizers.OPTIMIZERS ({', '.join(_optimizers.OPTIMIZERS)}) "
                        "can be saved")
    return name


def _encode(model: Any) -> bytes:
    """The whole file's bytes for ``model``."""
    from ._version import __version__

    dtype = _DTYPES[model.dtype.name]
    arrays: list[tuple[str, np.ndarray]] = []

    def add(name: str, arr: np.ndarray, dt: str) -> str:
        arrays.append((name, np.ascontiguousarray(arr, dtype=dt)))
        return name

    config = model.get_config()   # the architecture is written from the model's config
    layers = []
    for i, (layer, entry) in enumerate(zip(model.layers, config["layers"])):
        names = [add(f"layers/{i}/{j}", p, dtype) for j, p in enumerate(layer.weights)]
        layers.append({"class": entry["class_name"],
                       "config": _json_value(entry["config"], f"layer {i} config"),
                       "params": names})
    compiled = None
    if model.optimizer is not None:
        opt = model.optimizer
        slots = [[add(f"optimizer/slots/{i}/{k}", s, dtype) for k, s in enumerate(slot)]
                 for i, slot in enumerate(opt.slots)]
        compiled = {"loss": model.loss, "metrics": list(model.metrics),
                    "steps_per_execution": model.steps_per_execution,
                    "optimizer": {"class": _optimizer_class_name(opt),
                                  "config": _json_value(opt.get_config(), "optimizer config"),
                                  "slots": slots,
                                  "scalars": add("optimizer/scalars", opt.scalars, "<f8")}}
    seed = config["seed"]
    labels: dict[str, Any] = {}
    if model.classes is not None:
        labels["classes"] = _classes_entry(model.classes, model._n_classes())
    if model.feature_names is not None:
        if model.input_dim is not None and len(model.feature_names) != model.input_dim:
            raise ValueError(f"the model has {len(model.feature_names)} feature names but "
                             f"{model.input_dim} inputs")
        labels["feature_names"] = list(model.feature_names)
    table = {}
    offset = 0
    for name, arr in arrays:
        offset = -(-offset // _ALIGN) * _ALIGN
        table[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset}
        offset += arr.nbytes
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastmlp_version": __version__,
        "model": {"class": type(model).__name__, "name": config["name"],
                  "dtype": config["dtype"],
                  "seed": seed,
                  "backend": config["backend"], "rng": _rng_state(model.rng),
                  "built": model.built, "layers": layers, **labels},
        "compile": compiled,
        "arrays": table,
    }
    head = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    payload = bytearray(offset)
    for name, arr in arrays:
        start = table[name]["offset"]
        payload[start:start + arr.nbytes] = arr.tobytes()
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(head), len(payload)) + head + payload
    return body + hashlib.sha256(body).digest()


def _classes_entry(classes: np.ndarray, n_classes: int | None) -> dict[str, Any]:
    """The JSON form of the class labels: their dtype and their values."""
    if n_classes is not None and classes.size != n_classes:
        raise ValueError(f"the model has {classes.size} classes but its output tells "
                         f"{n_classes} apart; set model.classes to match")
    kind = classes.dtype.kind
    dtype = classes.dtype.str if kind != "b" else "|b1"
    return {"dtype": dtype, "values": [v.item() if kind != "U" else str(v) for v in classes]}


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_model(model: Any, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` atomically (see the module docstring for the format).

    The file holds the architecture, dtype, weights, optimizer and its state, and the
    model's random-generator state, so that ``load_model(path)`` continues training
    bit for bit as the saved model would have. No pickle is used.

    Parameters
    ----------
    model : Sequential
        The model, built or not, compiled or not (the compile settings and optimizer
        state are saved when it has them).
    path : str or os.PathLike
        The file to write (replaced if it exists; its directory must exist).

    Raises
    ------
    TypeError
        If the model uses an optimizer or random generator that cannot be saved.
    OSError
        If the file cannot be written; an existing file at ``path`` is then untouched.

    Examples
    --------
    >>> import os, tempfile, fastmlp as fm
    >>> model = fm.Sequential([fm.Dense(1, input_dim=2)], seed=0)
    >>> model.compile("sgd", "mse")
    >>> path = os.path.join(tempfile.mkdtemp(), "model.fmlp")
    >>> save_model(model, path)
    >>> fm.load_model(path).count_params()
    3
    """
    if not isinstance(model, tuple(_MODEL_CLASSES.values())):
        raise TypeError(f"save_model takes a fastmlp.Sequential, got {type(model).__name__}")
    data = _encode(model)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
class _Reader:
    """Checks and pieces of one file's contents; every failure is a ModelFileError."""

    def __init__(self, data: bytes, source: str) -> None:
        self.source = source
        self.data = data
        self.header: dict[str, Any] = {}
        self.payload = memoryview(b"")

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.source}: {message}")

    # -- framing ------------------------------------------------------------------------
    def parse(self) -> None:
        data = self.data
        if len(data) < _PREFIX.size or not data.startswith(MAGIC):
            if MAGIC.startswith(data[:len(MAGIC)]) and len(data) < _PREFIX.size:
                raise self.fail(f"truncated: only {len(data)} bytes")
            raise self.fail("not a fastmlp model file (wrong magic bytes)")
        _, version, n_head, n_payload = _PREFIX.unpack_from(data)
        if version > FORMAT_VERSION:
            raise self.fail(f"format version {version} is newer than this fastmlp reads "
                            f"(up to {FORMAT_VERSION}); upgrade fastmlp to load it")
        if version < 1:
            raise self.fail(f"unknown format version {version}")
        expected = _PREFIX.size + n_head + n_payload + _DIGEST
        if len(data) < expected:
            raise self.fail(f"truncated: {len(data)} bytes, the file declares {expected}")
        if len(data) > expected:
            raise self.fail(f"{len(data) - expected} unexpected bytes after the end of the "
                            "model")
        body = memoryview(data)[:expected - _DIGEST]
        if hashlib.sha256(body).digest() != data[expected - _DIGEST:]:
            raise self.fail("checksum mismatch: the file is corrupted or was modified")
        try:
            header = json.loads(bytes(body[_PREFIX.size:_PREFIX.size + n_head]).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self.fail(f"unreadable header ({exc})") from None
        if not isinstance(header, dict):
            raise self.fail("the header is not a JSON object")
        self.header = header
        self.payload = body[_PREFIX.size + n_head:]
        if self.get(header, "format", str) != FORMAT_NAME:
            raise self.fail(f"not a fastmlp model (format {header['format']!r})")
        if self.get(header, "format_version", int) != version:
            raise self.fail("the header's format version disagrees with the file's")

    # -- typed access -------------------------------------------------------------------
    def get(self, obj: dict[str, Any], key: str, kind: Any, where: str = "header") -> Any:
        if not isinstance(obj, dict) or key not in obj:
            raise self.fail(f"{where} has no field {key!r}")
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise self.fail(f"{where}.{key} has type {type(value).__name__}, expected {names}")
        return value

    def array(self, name: Any, dtype: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """A fresh, owned, native C-contiguous copy of array ``name`` (checked)."""
        table = self.get(self.header, "arrays", dict)
        if not isinstance(name, str) or name not in table:
            raise self.fail(f"array {name!r} is missing from the array table")
        entry = table[name]
        where = f"array {name!r}"
        stored = self.get(entry, "dtype", str, where)
        if stored != dtype:
            raise self.fail(f"{where} has dtype {stored}, expected {dtype}")
        dims = self.get(entry, "shape", list, where)
        if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2 ** 40
                   for d in dims) or len(dims) > 2:
            raise self.fail(f"{where} has an invalid shape {dims!r}")
        if shape is not None and tuple(dims) != tuple(shape):
            raise self.fail(f"{where} has shape {tuple(dims)}, but the architecture needs "
                            f"{tuple(shape)}")
        offset = self.get(entry, "offset", int, where)
        count = math.prod(dims)
        nbytes = count * np.dtype(dtype).itemsize
        if offset < 0 or offset + nbytes > len(self.payload):
            raise self.fail(f"{where} lies outside the file's data")
        values = np.frombuffer(self.payload, dtype=dtype, count=count, offset=offset)
        return np.array(values.reshape(dims), dtype=np.dtype(dtype).newbyteorder("="),
                        order="C", copy=True)


def _schedule_class(name: str, reader: _Reader) -> type:
    """The learning-rate schedule class ``name`` from ``fastmlp.optimizers.SCHEDULES``
    (a fixed registry: nothing else can be instantiated from a file)."""
    registry = getattr(_optimizers, "SCHEDULES", {})
    if name not in registry:
        raise reader.fail(f"unknown class {name!r} in the optimizer configuration")
    return registry[name]


def _decode_config(value: Any, reader: _Reader) -> Any:
    if isinstance(value, list):
        return [_decode_config(v, reader) for v in value]
    if isinstance(value, dict):
        if "__class__" in value:
            name = reader.get(value, "__class__", str, "configuration object")
            config = reader.get(value, "config", dict, f"configuration of {name}")
            cls = _schedule_class(name, reader)
            try:
                return cls(**_decode_config(config, reader))
            except (TypeError, ValueError) as exc:
                raise reader.fail(f"invalid configuration of {name}: {exc}") from None
        return {k: _decode_config(v, reader) for k, v in value.items()}
    return value


def _restore_rng(state: Any, reader: _Reader) -> np.random.Generator:
    name = reader.get(state, "bit_generator", str, "model.rng")
    if name not in _BIT_GENERATORS:
        raise reader.fail(f"unknown random generator {name!r}")

    def arrays(v: Any) -> Any:
        if isinstance(v, dict) and "__ndarray__" in v:
            dt = reader.get(v, "dtype", str, "model.rng array")
            if dt not in ("<u4", "<u8", "<i4", "<i8", "<u1"):
                raise reader.fail(f"invalid random generator state dtype {dt!r}")
            try:
                return np.array(v["__ndarray__"], dtype=dt)
            except (TypeError, ValueError, OverflowError):
                raise reader.fail("invalid random generator state") from None
        if isinstance(v, dict):
            return {k: arrays(x) for k, x in v.items()}
        return v

    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = arrays(state)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise reader.fail(f"invalid random generator state ({exc})") from None
    return np.random.Generator(bit_generator)


def _read_labels(m: dict[str, Any], model: Any, reader: _Reader) -> None:
    """Set the model's optional class labels and feature names from the header."""
    if "classes" in m:
        entry = reader.get(m, "classes", dict, "model")
        dt = reader.get(entry, "dtype", str, "model.classes")
        values = reader.get(entry, "values", list, "model.classes")
        try:
            dtype = np.dtype(dt)
        except TypeError:
            raise reader.fail(f"invalid class label dtype {dt!r}") from None
        if dtype.kind not in "biufU" or (dtype.kind in "iufU" and dt[0] not in "<|"):
            raise reader.fail(f"invalid class label dtype {dt!r}")
        plain = {"b": bool, "i": int, "u": int, "f": float, "U": str}[dtype.kind]
        if not all(type(v) is plain or (plain is float and type(v) is int) for v in values):
            raise reader.fail(f"class labels of dtype {dt} hold values of another type")
        try:
            classes = np.array(values, dtype=dtype)
            model.classes = classes   # the setter checks them against the output layer
        except (TypeError, ValueError, OverflowError) as exc:
            raise reader.fail(f"invalid class labels: {exc}") from None
        if classes.tolist() != values:
            raise reader.fail(f"class labels do not fit their dtype {dt}")
    if "feature_names" in m:
        names = reader.get(m, "feature_names", list, "model")
        if not all(isinstance(n, str) for n in names):
            raise reader.fail("the feature names are not all strings")
        try:
            model.feature_names = names   # the setter checks them against input_dim
        except (TypeError, ValueError) as exc:
            raise reader.fail(f"invalid feature names: {exc}") from None


def _decode(reader: _Reader, backend: str | None) -> Any:
    from .layers import BatchNormalization, Dense, Dropout, LayerNormalization, _Normalization

    Sequential = _MODEL_CLASSES["Sequential"]

    layer_classes = {"Dense": Dense, "Dropout": Dropout,
                     "BatchNormalization": BatchNormalization,
                     "LayerNormalization": LayerNormalization}
    reader.parse()
    m = reader.get(reader.header, "model", dict)
    if reader.get(m, "class", str, "model") != "Sequential":
        raise reader.fail(f"unknown model class {m['class']!r}")
    dtype_name = reader.get(m, "dtype", str, "model")
    if dtype_name not in _DTYPES:
        raise reader.fail(f"invalid model dtype {dtype_name!r}")
    dtype = _DTYPES[dtype_name]
    seed = reader.get(m, "seed", (int, type(None)), "model")
    saved_backend = reader.get(m, "backend", (str, type(None)), "model")
    name = reader.get(m, "name", str, "model")
    built = reader.get(m, "built", bool, "model")
    layer_entries = reader.get(m, "layers", list, "model")
    if not layer_entries:
        raise reader.fail("the model has no layers")

    layers = []
    for i, entry in enumerate(layer_entries):
        where = f"layer {i}"
        cls = layer_classes.get(reader.get(entry, "class", str, where))
        if cls is None:
            raise reader.fail(f"{where} has unknown class {entry['class']!r}")
        config = reader.get(entry, "config", dict, where)
        try:
            layers.append(cls(**config))
        except (TypeError, ValueError) as exc:
            raise reader.fail(f"{where} has an invalid configuration: {exc}") from None
    if saved_backend is not None:
        from .backend import available

        if saved_backend not in available():
            saved_backend = None  # the saved preference cannot be honoured here
    try:
        model = Sequential(layers, seed=seed, dtype=dtype_name,
                           backend=backend if backend is not None else saved_backend,
                           name=name)
    except (TypeError, ValueError) as exc:
        raise reader.fail(f"invalid model settings: {exc}") from None
    model.rng = _restore_rng(reader.get(m, "rng", dict, "model"), reader)
    if built:
        dense = [layer for layer in layers if isinstance(layer, Dense)]
        n_in = dense[0].input_dim if dense else None
        if n_in is None:
            raise reader.fail("the model is marked built but its first Dense layer has no "
                              "input_dim")
        for i, (layer, entry) in enumerate(zip(layers, layer_entries)):
            if isinstance(layer, Dense) and layer.input_dim not in (None, n_in):
                raise reader.fail(f"layer {i} has input_dim {layer.input_dim} but the previous "
                                  f"layer gives {n_in}")
            shapes = layer.param_shapes(n_in)
            names = reader.get(entry, "params", list, f"layer {i}")
            if len(names) != len(shapes):
                raise reader.fail(f"layer {i} has {len(names)} parameter arrays, its "
                                  f"configuration needs {len(shapes)}")
            arrays = [reader.array(nm, dtype, shape) for nm, shape in zip(names, shapes)]
            if isinstance(layer, _Normalization):  # gamma, beta, moving statistics
                layer.build(n_in, np.dtype(dtype))
                for a, value in zip(layer.weights, arrays):
                    np.copyto(a, value)
            elif isinstance(layer, Dense):
                layer.input_dim = n_in
                layer.params = arrays
                n_in = layer.units
    elif any(reader.get(entry, "params", list, f"layer {i}")
             for i, entry in enumerate(layer_entries)):
        raise reader.fail("the model is marked unbuilt but has parameter arrays")

    compiled = reader.get(reader.header, "compile", (dict, type(None)))
    if compiled is not None:
        loss = reader.get(compiled, "loss", (str, type(None)), "compile")  # None: no loss
        metrics = reader.get(compiled, "metrics", list, "compile")
        # optional: files written before it existed ran one batch per execution
        steps = (reader.get(compiled, "steps_per_execution", int, "compile")
                 if "steps_per_execution" in compiled else 1)
        o = reader.get(compiled, "optimizer", dict, "compile")
        cls_name = reader.get(o, "class", str, "compile.optimizer")
        classes = {cls.__name__: cls for cls in _optimizers.OPTIMIZERS.values()}
        if cls_name not in classes:
            raise reader.fail(f"unknown optimizer {cls_name!r}; this fastmlp has: "
                              f"{', '.join(classes)}")
        config = _decode_config(reader.get(o, "config", dict, "compile.optimizer"), reader)
        try:
            opt = classes[cls_name](**config)
            model.compile(optimizer=opt, loss=loss, metrics=metrics,
                          steps_per_execution=steps)
        except (TypeError, ValueError) as exc:
            raise reader.fail(f"invalid compile settings: {exc}") from None
        scalars = reader.array(reader.get(o, "scalars", str, "compile.optimizer"), "<f8",
                               opt.scalars.shape)
        slot_names = reader.get(o, "slots", list, "compile.optimizer")
        if built:
            params = model.trainable_weights
            if len(slot_names) != len(params) or any(
                    not isinstance(names, list) or len(names) != len(slot)
                    for names, slot in zip(slot_names, opt.slots)):
                raise reader.fail(f"the optimizer state has the wrong number of arrays "
                                  f"(expected {len(opt.slots[0]) if opt.slots else 0} per "
                                  f"parameter, {len(params)} parameters)")
            for p, names, slot in zip(params, slot_names, opt.slots):
                for nm, s in zip(names, slot):
                    np.copyto(s, reader.array(nm, dtype, p.shape))
        elif slot_names:
            raise reader.fail("the model is unbuilt but the optimizer has state arrays")
        if not np.isfinite(scalars).all():
            raise reader.fail("the optimizer scalars are not finite")
        np.copyto(opt.scalars, scalars)
    for i, p in enumerate(model.weights if built else []):
        if not np.isfinite(p).all():
            raise reader.fail(f"weights[{i}] holds non-finite values")
    _read_labels(m, model, reader)
    return model


def load_model(path: str | os.PathLike[str], backend: str | None = None) -> Any:
    """Read a model written by :func:`save_model` / :meth:`Sequential.save`.

    The loaded model has the saved architecture, dtype, weights, optimizer (with its state
    slots and step count) and random-generator state: predictions are bit-identical, and
    training continues exactly as the saved model would have.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_model` or :meth:`Sequential.save`.
    backend : {"cython", "numpy"}, optional
        Fix the loaded model's backend (by default the saved model's own choice if it had
        one and it is available here, else the active backend).

    Raises
    ------
    ModelFileError
        (a ``ValueError``) for a file that is not a fastmlp model, is truncated, corrupted
        or modified (checksum), has an unknown format version, or whose header, shapes or
        dtypes are inconsistent. The message names the file and the problem.
    OSError
        If the file cannot be read.

    Examples
    --------
    >>> import os, tempfile, numpy as np, fastmlp as fm
    >>> model = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0)
    >>> model.compile("sgd", "mse")
    >>> path = os.path.join(tempfile.mkdtemp(), "model.fmlp")
    >>> model.save(path)
    >>> again = fm.load_model(path)
    >>> x = np.ones((1, 3))
    >>> bool((again.predict(x) == model.predict(x)).all())
    True
    """
    if backend is not None:
        from .backend import check_name

        backend = check_name(backend)
    source = os.fspath(path)
    with open(source, "rb") as handle:
        data = handle.read()
    return _decode(_Reader(data, repr(source)), backend)
