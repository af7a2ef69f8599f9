"""Issue 19, "the first hour": what a new user of the command and the API tripped over.

One section per numbered item of the issue; each test failed before the fix. The command
in a real terminal (progress bar width, Ctrl-C, a closed pipe) is in test_cli_terminal.py.
"""
import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import SRC, table, write_csv

import fastmlp as fm
from fastmlp import cli

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent  # the checkout or unpacked sdist


def predictions(text):
    """(header, rows) of the CSV that ``fastmlp predict`` writes."""
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def ratings_file(path, n=200, header=True, seed=0):
    """A CSV of two features and a rating 1..5 that follows them closely."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    rating = np.clip(np.round(3 + 1.5 * X[:, 0]), 1, 5).astype(int)
    rows = [[f"{a:.6f}", f"{b:.6f}", r] for (a, b), r in zip(X, rating)]
    return write_csv(path, ["a", "b", "rating"] if header else None, rows), X, rating


# ---------------------------------------------------------------------------------------
# 1. model files keep class labels and feature names; predict writes the labels
# ---------------------------------------------------------------------------------------
def test_predict_writes_the_ratings_not_class_indices(tmp_path, capsys):
    path, X, rating = ratings_file(tmp_path / "ratings.csv")
    model_path = str(tmp_path / "ratings.fmlp")
    assert cli.main(["--data", path, "--epochs", "40", "--lr", "0.2", "-v", "0",
                     "--save", model_path]) == 0
    assert "5 classes: 1, 2, 3, 4, 5" in capsys.readouterr().out
    model = fm.load_model(model_path)
    assert model.classes.tolist() == [1, 2, 3, 4, 5] and model.classes.dtype.kind == "i"
    assert model.feature_names == ["a", "b"]
    assert cli.main(["predict", model_path, path]) == 0
    captured = capsys.readouterr()
    header, rows = predictions(captured.out)
    assert header == ["prediction", *(f"probability_{k}" for k in range(1, 6))]
    written = np.array([int(r[0]) for r in rows])   # '2', not '2.0' and not the index 1
    P = model.predict(X)
    np.testing.assert_array_equal(written, P.argmax(axis=1) + 1)
    assert np.mean(written == rating) > 0.8
    # the rating column was not a feature: left out by name, and the user is told
    assert "left out the column(s) rating" in captured.err


def test_predict_writes_text_labels_and_reorders_columns_by_name(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3))
    labels = np.array(["cat", "dog", "eel"])[np.argmax(X, axis=1)]
    train = write_csv(tmp_path / "pets.csv", ["w", "h", "l", "kind"],
                      [[*map(float, x), k] for x, k in zip(X, labels)])
    model_path = str(tmp_path / "pets.fmlp")
    assert cli.main(["--data", train, "--epochs", "60", "--lr", "0.3", "-v", "0",
                     "--save", model_path]) == 0
    capsys.readouterr()
    # the new file has the columns in another order and no target: taken by name
    shuffled = write_csv(tmp_path / "new.csv", ["l", "w", "h"],
                         [[x[2], x[0], x[1]] for x in X.tolist()])
    assert cli.main(["predict", model_path, shuffled]) == 0
    header, rows = predictions(capsys.readouterr().out)
    assert header == ["prediction", "probability_cat", "probability_dog", "probability_eel"]
    written = np.array([r[0] for r in rows])
    model = fm.load_model(model_path)
    np.testing.assert_array_equal(written, model.predict_labels(X))
    assert np.mean(written == labels) > 0.85
    # a file without one of the model's columns: one line naming it
    missing = write_csv(tmp_path / "missing.csv", ["w", "h"], X[:, :2].tolist())
    assert cli.main(["predict", model_path, missing]) == 1
    err = capsys.readouterr().err
    assert "lacks the column(s) 'l'" in err and "it needs: w, h, l" in err


def test_sequential_classes_and_feature_names_round_trip(tmp_path):
    """Any label type a NumPy array holds by value (booleans, integers, floats, strings)
    survives the file; DataFrame column names are recorded by fit and checked by name."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["x", "y", "z"])
    y = (frame["x"] > 0).to_numpy().astype(int)
    for classes in (["no", "yes"], [-3, 7], np.array([0.5, 2.25]), [False, True],
                    np.array([3, 200], dtype=np.uint8)):
        model = fm.Sequential([fm.Dense(1, activation="sigmoid")], seed=0)
        model.compile("sgd", "binary_crossentropy")
        model.fit(frame, y, epochs=1, verbose=0)
        assert model.feature_names == ["x", "y", "z"]
        model.classes = classes
        path = tmp_path / "m.fmlp"
        model.save(path)
        again = fm.load_model(path)
        assert again.classes.dtype == np.asarray(classes).dtype
        assert again.classes.tolist() == np.asarray(classes).tolist()
        assert again.feature_names == ["x", "y", "z"]
        np.testing.assert_array_equal(again.predict_labels(frame),
                                      np.asarray(classes)[(model.predict(frame)[:, 0]
                                                           >= 0.5).astype(int)])
    with pytest.raises(ValueError, match=r"another order; pass X\[model.feature_names\]"):
        again.predict(frame[["z", "x", "y"]])
    with pytest.raises(ValueError, match="lacks 'z'"):
        again.predict(frame[["x", "y"]].assign(w=1.0))
    np.testing.assert_array_equal(again.predict(frame.to_numpy()), again.predict(frame))
    with pytest.raises(ValueError, match="3 classes for an output of 2"):
        again.classes = ["a", "b", "c"]
    with pytest.raises(ValueError, match="distinct"):
        again.classes = [1, 1]


def test_model_files_written_before_labels_still_load():
    """A file written by the code before this change (no classes, no feature names)."""
    model = fm.load_model(DATA / "iris_before_labels.fmlp")
    assert model.classes is None and model.feature_names is None
    X, _ = fm.datasets.load_iris()
    expected = [[0.8022080169524857, 0.1098433558766778, 0.0879486271708366],
                [0.7897708858089416, 0.1178263720880732, 0.09240274210298524]]
    np.testing.assert_allclose(model.predict(X[:2]), expected, rtol=1e-10)
    assert model.predict_labels(X[:2]).tolist() == [0, 0]


def test_tampered_class_labels_are_refused(tmp_path):
    import hashlib
    import json
    import struct

    model = fm.Sequential([fm.Dense(2, activation="softmax", input_dim=2)], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.classes = ["a", "b"]
    path = tmp_path / "m.fmlp"
    model.save(path)
    data = path.read_bytes()
    magic, version, n_head, n_payload = struct.unpack_from("<8sIQQ", data)
    header = json.loads(data[28:28 + n_head])

    def rewrite(change):
        h = json.loads(json.dumps(header))
        change(h["model"])
        head = json.dumps(h).encode()
        body = struct.pack("<8sIQQ", magic, version, len(head), n_payload) + head + \
            data[28 + n_head:28 + n_head + n_payload]
        path.write_bytes(body + hashlib.sha256(body).digest())

    for change, message in [
            (lambda m: m["classes"].update(values=["a", "b", "c"]), "2 classes|3 classes"),
            (lambda m: m["classes"].update(dtype="|O"), "invalid class label dtype"),
            (lambda m: m["classes"].update(values=["a", 1]), "values of another type"),
            (lambda m: m["classes"].update(values=["a", "a"]), "distinct"),
            (lambda m: m.update(feature_names=["x"]), "feature names|feature_names")]:
        rewrite(change)
        with pytest.raises(fm.ModelFileError, match=message):
            fm.load_model(path)


# ---------------------------------------------------------------------------------------
# 2. a CSV without a header whose first row holds a text label keeps that row
# ---------------------------------------------------------------------------------------
def test_headerless_csv_with_text_labels_keeps_its_first_row(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    label = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    path = write_csv(tmp_path / "plain.csv", None,
                     [[*map(float, x), t] for x, t in zip(X, label)])
    table_ = cli.read_csv(path)
    assert table_.X.shape == (200, 2) and table_.target_name == "x2"
    assert table_.y.tolist() == label.tolist()
    assert cli.main(["--data", path, "-v", "0", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "200 samples, 2 features, binary classification (2 classes: no, yes)" in out
    # a real header is still recognised, and --header / --no-header override the guess
    named = write_csv(tmp_path / "named.csv", ["a", "b", "label"],
                      [[*map(float, x), t] for x, t in zip(X, label)])
    assert cli.read_csv(named).X.shape == (200, 2)
    numbers = write_csv(tmp_path / "numbers.csv", ["1", "2", "3"], [[4, 5, 0], [6, 7, 1]])
    assert cli.read_csv(numbers).X.shape == (3, 2)
    assert cli.read_csv(numbers, header=True).feature_names == ["1", "2"]
    with pytest.raises(cli.CLIError, match="line 1, column 'x0': 'a' is not a number"):
        cli.read_csv(named, header=False)


def test_header_option_parses():
    args = cli.build_parser().parse_args(["train", "--no-header", "--delimiter", "tab",
                                          "--drop", "id", "--drop", "a,b"])
    assert args.header is False and args.delimiter == "\t" and args.drop == ["id", "a,b"]
    assert cli._csv._csv_options(args)["drop"] == ["id", "a", "b"]


# ---------------------------------------------------------------------------------------
# 3. progress on standard error, always (also the API's verbose=2)
# ---------------------------------------------------------------------------------------
def test_fit_verbose_2_writes_progress_to_standard_error(capsys):
    X, y = fm.datasets.make_moons(60, noise=0.2, seed=0)
    model = fm.Sequential([fm.Dense(1, activation="sigmoid")], seed=0)
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=3, verbose=2, validation_split=0.2)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(re.findall(r"^Epoch \d/3 - .* val_accuracy: ", captured.err, re.M)) == 3


# ---------------------------------------------------------------------------------------
# 4. Ctrl-C during `train --save` saves the last completed state; a closed pipe is quiet
# ---------------------------------------------------------------------------------------
def test_ctrl_c_during_training_saves_the_last_completed_step(tmp_path, monkeypatch,
                                                              capsys):
    """Ctrl-C arrives at the end of epoch 3 (a callback raises it where fit's guard
    would): the file holds exactly the model of a 3-epoch run, folded to raw units."""
    full = str(tmp_path / "three.fmlp")
    assert cli.main(["--data", "diabetes", "--epochs", "3", "-v", "0", "--save", full]) == 0
    capsys.readouterr()
    fit = fm.Sequential.fit

    def interrupted_fit(self, *args, **kwargs):
        def stop(epoch, logs):
            if epoch == 2:
                raise KeyboardInterrupt
        kwargs["callbacks"] = [*kwargs.get("callbacks", []),
                               fm.callbacks.LambdaCallback(on_epoch_end=stop)]
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(fm.Sequential, "fit", interrupted_fit)
    path = str(tmp_path / "stopped.fmlp")
    assert cli.main(["--data", "diabetes", "--epochs", "50", "-v", "0", "--save", path]) == 130
    err = capsys.readouterr().err
    assert f"interrupted after 3 completed epoch(s); saved the model of the last completed " \
           f"step to {path}" in err
    for got, want in zip(fm.load_model(path).get_weights(), fm.load_model(full).get_weights()):
        np.testing.assert_array_equal(got, want)
    # without --save: nothing written, and the message says how to keep the model
    assert cli.main(["--data", "diabetes", "--epochs", "50", "-v", "0"]) == 130
    assert "nothing saved (give --save PATH" in capsys.readouterr().err


@pytest.mark.slow
def test_closed_pipe_is_quiet_and_the_model_is_still_saved(tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    model_path = tmp_path / "m.fmlp"
    with subprocess.Popen([sys.executable, "-m", "fastmlp", "--epochs", "20", "-v", "2",
                           "--save", str(model_path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env) as proc:
        proc.stdout.readline()   # like `| head -1`: read one line, then go away
        proc.stdout.close()
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=300)
    assert status == 0, err
    assert "Broken pipe" not in err and "Errno" not in err and "Traceback" not in err
    assert model_path.exists() and fm.load_model(model_path).classes is not None


# ---------------------------------------------------------------------------------------
# 5. regressions say which numbers are standardized and which are raw
# ---------------------------------------------------------------------------------------
def test_regression_output_names_its_units(capsys):
    assert cli.main(["--data", "diabetes", "--epochs", "3", "-v", "2"]) == 0
    captured = capsys.readouterr()
    _, y = fm.datasets.load_diabetes()
    lines = captured.out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("units"))
    units = " ".join(line.strip() for line in lines[first:first + 3])
    assert all(len(line) <= 80 for line in lines[first:first + 3])
    assert "progress in standardized target units" in units
    assert "the final table is in the target's own units" in units
    scale = float(re.search(r"\) / ([\d.]+)", units)[1])
    assert f"MAE x {scale:.6g} give the target's own units" in units
    # the split's training rows: the scale is near the whole target's
    assert abs(scale - y.std()) / y.std() < 0.1
    assert "(in the target's own units: MAE in units of 'target'" in captured.out
    assert "Epoch 3/3" in captured.err


# ---------------------------------------------------------------------------------------
# 6. error hints that point the right way
# ---------------------------------------------------------------------------------------
def test_one_row_as_a_1d_array_suggests_reshape_1_minus_1():
    model = fm.Sequential([fm.Dense(1, input_dim=4)], seed=0)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"reshape\(1, -1\) for a single sample"):
        model.predict(np.ones(4))
    one_input = fm.Sequential([fm.Dense(1, input_dim=1)], seed=0)
    one_input.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\) for a single feature"):
        one_input.predict(np.ones(4))
    unbuilt = fm.Sequential([fm.Dense(1)], seed=0)
    unbuilt.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"reshape\(1, -1\) for a single sample, "
                                         r"X.reshape\(-1, 1\) for a single feature"):
        unbuilt.predict(np.ones(4))


def test_string_labels_with_sequential_say_how_to_encode_them():
    model = fm.Sequential([fm.Dense(3, activation="softmax", input_dim=2)], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    for y in (np.array(["a", "b", "c", "a"]), ["a", "b", "c", "a"],
              np.array(["a", "b", "c", "a"], dtype=object)):
        with pytest.raises(TypeError, match=r"text labels .*np.unique\(y, "
                                            r"return_inverse=True\).*MLPClassifier"):
            model.fit(np.zeros((4, 2)), y, verbose=0)


@pytest.mark.parametrize("column,dtype,fragment", [
    ("flag", "category", "column 'flag' is categorical"),
    ("name", "object", "column 'name' has dtype object"),
])
def test_dataframe_columns_of_another_kind_are_named(column, dtype, fragment):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], column: pd.Series(["x", "y", "x"],
                                                                   dtype=dtype)})
    model = fm.Sequential([fm.Dense(1, input_dim=2)], seed=0)
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match=fragment):
        model.predict(frame)


def test_dataframe_bool_and_nullable_columns_are_numbers():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.5, 2.0, 3.0],
                          "b": [True, False, True],
                          "c": pd.array([0.25, 1.0, 2.0], dtype="Float64"),
                          "d": pd.array([1, 2, 3], dtype="Int64")})
    expected = np.array([[1.5, 1, 0.25, 1], [2, 0, 1, 2], [3, 1, 2, 3]])
    model = fm.Sequential([fm.Dense(2, input_dim=4)], seed=0)
    model.compile("sgd", "mse")
    np.testing.assert_array_equal(model.predict(frame), model.predict(expected))
    plain = pd.DataFrame({"a": [1.5, 2.0, 3.0], "b": [True, False, True]})
    np.testing.assert_array_equal(model.predict(plain.assign(c=0.5, d=1)),
                                  model.predict(np.c_[expected[:, :2], [[0.5, 1]] * 3]))
    with_na = frame.assign(c=pd.array([0.25, None, 2.0], dtype="Float64"))
    with pytest.raises(ValueError, match=r"1 non-finite value\(s\) \(1 NaN"):
        model.predict(with_na)


def test_diverging_loss_is_printed_compactly():
    from fastmlp.callbacks import _format_value

    assert _format_value(1.2e270) == "1.2e+270"
    assert _format_value(float("inf")) == "inf" and _format_value(0.06401) == "0.0640"
    assert _format_value(3e-7) == "3e-07" and _format_value(0) == "0.0000"
    X = np.array([[1e150, -1e150], [2e150, 1e150]])
    model = fm.Sequential([fm.Dense(1, input_dim=2)], seed=0)
    model.compile(fm.optimizers.SGD(1.0), "mse")
    with pytest.raises(fm.TrainingDivergedError) as info:
        model.fit(X, np.array([1e150, 0.0]), epochs=5, batch_size=1, verbose=0)
    numbers = re.findall(r"\d{20,}", str(info.value))
    assert not numbers, str(info.value)


def test_command_prints_a_huge_loss_compactly(capsys):
    """A learning rate far too large: the losses grow to ~1e200 without overflowing; the
    table printed them with all their digits."""
    assert cli.main(["--data", "diabetes", "--lr", "5", "--epochs", "3", "-v", "2"]) == 0
    captured = capsys.readouterr()
    assert not re.findall(r"\d{20,}", captured.out + captured.err)
    assert re.search(r"^test +\d\.\d+e\+\d+ ", captured.out, re.M)


# ---------------------------------------------------------------------------------------
# 7. CSV handling: --drop, delimiters, a target column left in a file for predict
# ---------------------------------------------------------------------------------------
def test_semicolon_file_and_an_id_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    bought = (X[:, 0] > 0).astype(int)
    path = tmp_path / "shop.csv"
    path.write_text("id;a;b;bought\n" + "".join(
        f"c{i:04d};{a:.5f};{b:.5f};{t}\n" for i, ((a, b), t) in enumerate(zip(X, bought))))
    # the id column is text: the error says to leave it out
    assert cli.main(["--data", str(path), "--target", "bought", "-v", "0"]) == 1
    err = capsys.readouterr().err
    assert "column 'id'" in err and "--drop id" in err
    assert cli.main(["--data", str(path), "--target", "bought", "--drop", "id", "-v", "0",
                     "--epochs", "20", "--lr", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "120 samples, 2 features, binary classification" in out
    assert table(out)["test"][1] >= 0.8
    # an explicit delimiter that does not fit says what it found
    assert cli.main(["--data", str(path), "--target", "bought", "--delimiter", ","]) == 1
    assert "single field when split at ','; if the file uses another delimiter, give it " \
           "with --delimiter" in capsys.readouterr().err


def test_predict_on_a_file_with_its_text_target_suggests_target(tmp_path, capsys):
    X, y = fm.datasets.make_blobs(90, centers=3, seed=0)
    names = np.array(["red", "green", "blue"])[y]
    rows = [[*map(float, x), n] for x, n in zip(X, names)]
    headerless = write_csv(tmp_path / "plain.csv", None, rows)
    model_path = str(tmp_path / "m.fmlp")
    assert cli.main(["--data", headerless, "-v", "0", "--epochs", "5",
                     "--save", model_path]) == 0
    capsys.readouterr()
    assert cli.main(["predict", model_path, headerless]) == 1
    err = capsys.readouterr().err
    assert "'red' is not a number; if it is the target column, leave it out with " \
           "--target 2" in err
    assert cli.main(["predict", model_path, headerless, "--target", "2"]) == 0
    _, written = predictions(capsys.readouterr().out)
    assert {r[0] for r in written} <= {"red", "green", "blue"}


# ---------------------------------------------------------------------------------------
# 8. the finished progress bar keeps the validation metrics within the terminal's width
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("regression", [False, True])
def test_finished_bar_fits_the_terminal(width, regression, monkeypatch):
    from tqdm import tqdm

    from fastmlp import callbacks

    monkeypatch.setattr(callbacks, "_terminal_width", lambda stream: width)
    logs = ({"loss": 0.31, "mean_absolute_error": 0.42, "r2": 0.61, "val_loss": 0.35,
             "val_mean_absolute_error": 0.44, "val_r2": 0.58} if regression else
            {"loss": 0.0640, "accuracy": 0.9863, "val_loss": 0.0406, "val_accuracy": 0.978})
    stream = io.StringIO()
    bar = tqdm(total=23, desc="Epoch 30/30", file=stream, dynamic_ncols=False, ncols=width)
    bar.update(23)
    callbacks._finish_progress_bar(bar, logs)
    last = stream.getvalue().split("\r")[-1].rstrip("\n")
    assert len(last) <= width, last
    assert "val_loss=" in last
    if regression:
        assert "val_r2=" in last and "val_mae=" in last
    else:
        assert ("val_accuracy=0.9780" if width == 80 else "val_acc=") in last


# ---------------------------------------------------------------------------------------
# 10. .fmlp in the help texts and docstrings; train_test_split's random_state
# ---------------------------------------------------------------------------------------
def test_help_and_docstrings_name_fmlp_files(capsys):
    for command in ("train", "predict"):
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args([command, "--help"])
        text = capsys.readouterr().out
        assert "model.npz" not in text and ".fmlp" in text
    source = Path(fm.__file__).parent
    for path in source.rglob("*.py"):
        assert ".npz" not in path.read_text(), path


def test_train_test_split_takes_random_state():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    by_seed = fm.train_test_split(X, y, test_size=0.3, stratify=y, seed=3)
    by_state = fm.train_test_split(X, y, test_size=0.3, stratify=y, random_state=3)
    for a, b in zip(by_seed, by_state):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="seed= or random_state="):
        fm.train_test_split(X, y, seed=1, random_state=1)


# ---------------------------------------------------------------------------------------
# 11. the README: the build's duration and the fast/slow split of the tests
# ---------------------------------------------------------------------------------------
def test_readme_explains_the_build_time_and_the_fast_part():
    readme = (ROOT / "README.md").read_text()
    assert "about three minutes" in readme
    assert '`-m "not slow"`' in readme and "@pytest.mark.slow" in readme


def test_unassertedwarnings_are_errors_in_the_suite():
    """pytest's configuration turns every warning a test does not assert on into an
    error, so both runs end without warnings (and a new one fails loudly)."""
    text = (ROOT / "pyproject.toml").read_text()
    start = text.index("filterwarnings = [", text.index("[tool.pytest.ini_options]"))
    assert '\n    "error",\n' in text[start:text.index("\n]", start)]
