"""The fastmlp command, driven as a user would: a subprocess per call for the real entry
point (exit codes, output, files written, PNGs that open), and main() in-process for the
many error cases."""
import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import cli

SRC = str(Path(fm.__file__).resolve().parent.parent)


def run(*args, cwd=None, code=None, timeout=300):
    """``python -m fastmlp ARGS`` (or ``python -c CODE``) with this fastmlp importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("FASTMLP_TRACEBACK", None)
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "fastmlp"]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout, check=False)


def table(stdout):
    """The final table as {row: [numbers]}."""
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in ("train", "validation", "test") and len(parts) >= 3:
            try:
                rows[parts[0]] = [float(p) for p in parts[1:]]
            except ValueError:
                continue
    return rows


def assert_one_line_error(result, status, *fragments):
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fastmlp: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def write_csv(path, header, rows):
    with open(path, "w") as handle:
        if header:
            handle.write(",".join(header) + "\n")
        handle.writelines(",".join(str(v) for v in row) + "\n" for row in rows)
    return str(path)


# ---------------------------------------------------------------------------------------
# the main job: `fastmlp` with no arguments
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_default_trains_breast_cancer_to_95_percent_held_out():
    result = run()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "breast_cancer: 569 samples, 30 features, binary classification" in out
    assert "364 train / 91 validation / 114 test (stratified)" in out
    assert "standardized with training statistics" in out
    # redirected output: one line per epoch, on standard error (issue 19, item 3: it was
    # on standard output, mixed into the results)
    epoch_line = r"^Epoch \d+/30 - .*loss: .*val_accuracy: "
    assert len(re.findall(epoch_line, result.stderr, re.MULTILINE)) == 30
    assert not re.findall(epoch_line, out, re.MULTILINE)
    rows = table(out)
    assert set(rows) == {"train", "validation", "test"}
    loss, accuracy, n = rows["test"]
    assert n == 114 and accuracy >= 0.95 and loss < 0.2
    assert rows["train"][2] == 364 and rows["validation"][2] == 91
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert "Epoch" not in out


def test_train_subcommand_is_the_default(capsys):
    assert cli.main(["--epochs", "2", "-v", "0"]) == 0
    implicit = capsys.readouterr().out
    assert cli.main(["train", "--epochs", "2", "-v", "0"]) == 0
    explicit = capsys.readouterr().out
    strip = re.compile(r"\d+\.\d+ s")  # timings differ
    assert strip.sub("", implicit) == strip.sub("", explicit)
    assert set(table(explicit)) == {"train", "validation", "test"}


@pytest.mark.slow
def test_progress_bar_goes_to_stderr_and_verbose_zero_is_quiet():
    result = run("--epochs", "3", "--verbose", "1")
    assert result.returncode == 0
    assert "Epoch 3/3" in result.stderr and "batch" in result.stderr
    assert "accuracy=" in result.stderr
    assert "Epoch" not in result.stdout
    quiet = run("--epochs", "3", "--verbose", "0")
    assert quiet.returncode == 0 and "Epoch" not in quiet.stdout + quiet.stderr
    assert set(table(quiet.stdout)) == {"train", "validation", "test"}


@pytest.mark.slow
def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"fastmlp {fm.__version__}"


@pytest.mark.slow
def test_console_script_is_declared():
    pyproject = Path(SRC).parent / "pyproject.toml"
    if pyproject.exists():  # a source checkout; an installed package has the script itself
        assert 'fastmlp = "fastmlp.cli:main"' in pyproject.read_text()
    assert callable(cli.main)


# ---------------------------------------------------------------------------------------
# help
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [None, *cli.COMMANDS])
@pytest.mark.slow
def test_help_explains_every_option(command):
    parser = cli.build_parser()
    sub = parser if command is None else \
        parser._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if action.option_strings:
            assert action.help and len(action.help) > 10, action.option_strings
    result = run(*([] if command is None else [command]), "--help")
    assert result.returncode == 0 and result.stderr == ""
    for action in sub._actions:
        for option in action.option_strings:
            assert option in result.stdout
    if command is None:
        for name in cli.COMMANDS:
            assert name in result.stdout


# ---------------------------------------------------------------------------------------
# wrong command lines and unreadable files: one line, non-zero, no traceback
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,fragments", [
    (["--epochs", "x"], ["--epochs", "expected an integer, got 'x'"]),
    (["--epochs", "0"], ["must be >= 1"]),
    (["--layers", "64,a"], ["comma-separated layer widths"]),
    (["--lr", "-0.1"], ["finite number > 0"]),
    (["--val-fraction", "1"], ["must be in [0, 1)"]),
    (["--optimizer", "adamw"], ["invalid choice: 'adamw'"]),
    (["--activation", "swish"], ["invalid choice: 'swish'"]),
    (["--dtype", "float16"], ["invalid choice"]),
    (["--bogus"], ["unrecognized arguments: --bogus"]),
    (["trian"], ["unknown command 'trian'", "train, predict, optimizers, bench"]),
    (["predict"], ["the following arguments are required: MODEL, DATA"]),
    (["bench", "--repeat", "0"], ["must be >= 1"]),
])
def test_wrong_command_lines(args, fragments, capsys):
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastmlp: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert captured.out == ""


@pytest.mark.slow
def test_wrong_command_line_through_the_entry_point():
    assert_one_line_error(run("--epochs", "-3"), 2, "--epochs")


@pytest.fixture
def bad_files(tmp_path):
    files = {
        "missing": str(tmp_path / "nope.csv"),
        "directory": str(tmp_path),
        "binary": tmp_path / "data.csv",
        "empty": tmp_path / "empty.csv",
        "header_only": tmp_path / "header.csv",
        "ragged": tmp_path / "ragged.csv",
        "text_feature": tmp_path / "text.csv",
        "missing_value": tmp_path / "hole.csv",
        "one_class": tmp_path / "one.csv",
        "bad_gzip": tmp_path / "broken.csv.gz",
    }
    files["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00" * 20)
    files["empty"].write_text("")
    files["header_only"].write_text("a,b,target\n")
    files["ragged"].write_text("a,b,target\n1,2,0\n3,4\n")
    files["text_feature"].write_text("a,b,target\n1,2,0\n3,red,1\n")
    files["missing_value"].write_text("a,b,target\n1,2,0\n3,,1\n")
    files["one_class"].write_text("a,b,target\n1,2,0\n3,4,0\n5,6,0\n")
    files["bad_gzip"].write_bytes(b"not gzip at all")
    return {k: str(v) for k, v in files.items()}


@pytest.mark.parametrize("kind,fragment", [
    ("missing", "no such file"),
    ("directory", "is a directory"),
    ("binary", "not a UTF-8 text CSV file"),
    ("empty", "is empty"),
    ("header_only", "no data rows"),
    ("ragged", "line 3: 2 fields, expected 3"),
    ("text_feature", "line 3, column 'b': 'red' is not a number"),
    ("missing_value", "line 3, column 'b': an empty (missing) value"),
    ("one_class", "single class"),
    ("bad_gzip", "cannot read"),
])
def test_unreadable_data_files(bad_files, kind, fragment, capsys):
    assert cli.main(["--data", bad_files[kind], "-v", "0"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastmlp: error: ")
    assert fragment in lines[0]


@pytest.mark.slow
def test_unreadable_file_through_the_entry_point(bad_files):
    assert_one_line_error(run("--data", bad_files["binary"]), 1, "not a UTF-8 text CSV")


def test_unknown_data_set_lists_the_choices(capsys):
    assert cli.main(["--data", "mnist"]) == 1
    err = capsys.readouterr().err
    assert "unknown data set 'mnist'" in err and "breast_cancer, diabetes, digits, iris" in err
    assert "moons" in err


def test_errors_from_the_library_are_one_line_too(capsys):
    # fastmlp.train_test_split refuses to split a single remaining row
    assert cli.main(["--data", "iris", "--test-fraction", "0.99", "-v", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "fastmlp: error: need at least 2 samples to split, got 1\n"
    assert cli.main(["--data", "linear", "--task", "binary", "-v", "0"]) == 1
    assert "regression problem" in capsys.readouterr().err
    assert cli.main(["--patience", "2", "--val-fraction", "0", "-v", "0"]) == 1
    captured = capsys.readouterr()
    assert "--patience needs validation rows" in captured.err and captured.out == ""


def test_output_folder_is_checked_before_training(tmp_path, capsys):
    target = str(tmp_path / "no" / "such" / "curves.png")
    assert cli.main(["--plot", target]) == 1
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and captured.out == ""


# ---------------------------------------------------------------------------------------
# data sources and options
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_csv_with_header_and_text_labels(tmp_path):
    X, y = fm.datasets.load_iris()
    species = np.array(["setosa", "versicolor", "virginica"])[y]
    rows = [[*map(float, x), s] for x, s in zip(X, species)]
    path = write_csv(tmp_path / "iris.csv", ["sl", "sw", "pl", "pw", "species"], rows)
    result = run("--data", path, "--target", "species", "--epochs", "60", "--lr", "0.1",
                 "-v", "0")
    assert result.returncode == 0, result.stderr
    assert "150 samples, 4 features, classification (3 classes: setosa, versicolor, " \
           "virginica)" in result.stdout
    assert "target column 'species'" in result.stdout
    assert table(result.stdout)["test"][1] >= 0.9


def test_csv_without_header_target_by_index_and_gzip(tmp_path, capsys):
    X, y = fm.datasets.load_breast_cancer()
    plain = write_csv(tmp_path / "bc.csv", None, [[int(t), *x] for x, t in zip(X, y)])
    assert cli.main(["--data", plain, "--target", "0", "-v", "0"]) == 0
    out = capsys.readouterr().out
    assert "569 samples, 30 features, binary classification (2 classes: 0, 1)" in out
    assert table(out)["test"][1] >= 0.95
    gz = tmp_path / "bc.csv.gz"
    gz.write_bytes(gzip.compress(Path(plain).read_bytes()))
    assert cli.main(["--data", str(gz), "--target", "0", "-v", "0"]) == 0
    assert table(capsys.readouterr().out) == table(out)
    assert cli.main(["--data", plain, "--target", "31"]) == 1
    assert "out of range: " in capsys.readouterr().err
    assert cli.main(["--data", plain, "--target", "label"]) == 1
    assert "has no column 'label'" in capsys.readouterr().err


def test_regression_on_diabetes_reports_raw_units(capsys):
    assert cli.main(["--data", "diabetes", "--epochs", "40", "-v", "0"]) == 0
    out = capsys.readouterr().out
    assert "442 samples, 10 features, regression" in out
    assert "MSE" in out and "MAE" in out and "R^2" in out
    mse, mae, r2, n = table(out)["test"]
    assert n == 89 and r2 > 0.3
    assert 1000 < mse < 6000 and 20 < mae < 70  # the target's own units (25..346)


def test_task_override_and_options(capsys):
    # a whole-number target with many values is regression unless told otherwise
    assert cli.main(["--data", "iris", "--task", "regression", "--epochs", "5", "-v", "0",
                     "--layers", "none", "--dtype", "float32", "--backend", "numpy",
                     "--batch-size", "full", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "regression" in out and "Dense(1, linear)" in out
    assert "backend numpy, float32" in out and "full batch" in out


def test_synthetic_set(capsys):
    assert cli.main(["--data", "xor", "--samples", "200", "--layers", "8", "--lr", "0.5",
                     "--epochs", "100", "-v", "0"]) == 0
    out = capsys.readouterr().out
    assert "200 samples, 2 features, binary classification" in out
    assert table(out)["test"][1] >= 0.9


def test_early_stopping_keeps_the_best_epoch(capsys):
    assert cli.main(["--epochs", "500", "--patience", "5", "-v", "2"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    match = re.search(r"^(\d+) epochs in .* stopped early \(best epoch (\d+)\)", out, re.MULTILINE)
    assert match, out
    run_epochs, best = int(match[1]), int(match[2])
    assert run_epochs == best + 5 < 500
    val_loss = [float(v) for v in re.findall(r"val_loss: ([\d.]+)", captured.err)]
    assert len(val_loss) == run_epochs and int(np.argmin(val_loss)) + 1 == best
    # the final table is that of the restored best epoch
    assert table(out)["validation"][0] == pytest.approx(val_loss[best - 1], abs=2e-4)


def test_seed_makes_runs_repeatable(capsys):
    results = []
    for _ in range(2):
        assert cli.main(["--data", "moons", "--epochs", "5", "--seed", "7", "-v", "0"]) == 0
        results.append(table(capsys.readouterr().out))
    assert results[0] == results[1]
    assert cli.main(["--data", "moons", "--epochs", "5", "--seed", "8", "-v", "0"]) == 0
    assert table(capsys.readouterr().out) != results[0]


# ---------------------------------------------------------------------------------------
# pictures
# ---------------------------------------------------------------------------------------
def _open_png(path):
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert image[..., :3].std() > 0.05  # not a blank canvas
    return image


@pytest.mark.slow
def test_plot_writes_learning_curves_and_decision_boundary(tmp_path):
    moons = tmp_path / "moons.png"
    result = run("--data", "moons", "--epochs", "20", "--plot", str(moons), "-v", "0")
    assert result.returncode == 0, result.stderr
    assert f"wrote {moons}" in result.stdout
    three_panels = _open_png(moons)
    bc = tmp_path / "bc.png"
    assert run("--epochs", "5", "--plot", str(bc), "-v", "0").returncode == 0
    two_panels = _open_png(bc)  # 30 features: curves only, no boundary
    assert three_panels.shape[1] > two_panels.shape[1] * 1.3


@pytest.mark.slow
def test_plot_without_matplotlib_is_one_clear_line(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from fastmlp.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = run("--plot", str(tmp_path / "x.png"), code=code)
    assert_one_line_error(result, 1, 'pip install "fastmlp[plot]"')
    assert result.stdout == ""  # checked before any training
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------------------------------
# optimizers, bench
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_optimizers_lists_every_optimizer():
    result = run("optimizers")
    assert result.returncode == 0, result.stderr
    for name, cls in fm.optimizers.OPTIMIZERS.items():
        assert re.search(rf"^{name}\s+{cls.__name__}\s+learning_rate=", result.stdout, re.MULTILINE)


@pytest.mark.slow
def test_optimizers_plot_draws_the_trajectories(tmp_path):
    path = tmp_path / "optimizers.png"
    result = run("optimizers", "--plot", str(path), "--steps", "30", "--rates", "default")
    assert result.returncode == 0, result.stderr
    assert f"wrote {path}" in result.stdout
    image = _open_png(path)
    assert image.shape[1] > 2 * image.shape[0]  # a grid of ten panels, wider than tall
    assert_one_line_error(run("optimizers", "--plot", str(path), "--surface", "bowl"), 2,
                          "invalid choice: 'bowl'")


@pytest.mark.slow
def test_optimizers_plot_without_matplotlib(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from fastmlp.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = run("optimizers", "--plot", str(tmp_path / "o.png"), code=code)
    assert_one_line_error(result, 1, 'pip install "fastmlp[plot]"')


@pytest.mark.slow
def test_bench_prints_the_ratio_table():
    result = run("bench", "--repeat", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for case in ("tiny, SGD", "mid, mini-batch", "wide, large batch"):
        (row,) = [line for line in lines if line.startswith(case)]
        if "cython" in fm.available_backends():
            cython_ms, numpy_ms, ratio, spread = row.split()[-4:]
            assert ratio.endswith("x") and spread == f"{ratio[:-1]}-{ratio}"  # one run
            # the printed times are rounded to their last digit: the ratio of the unrounded
            # times lies between these bounds (and is itself rounded to 0.1)
            c, n = float(cython_ms), float(numpy_ms)
            hc, hn = (0.5 * 10.0 ** -len(t.split(".")[1]) for t in (cython_ms, numpy_ms))
            assert (n - hn) / (c + hc) - 0.05 <= float(ratio[:-1]) <= (n + hn) / (c - hc) + 0.05
        else:
            assert float(row.split()[-1]) > 0


def test_bench_gives_medians_and_ranges_and_warns_on_a_wide_spread(monkeypatch, capsys):
    """Issue 19, item 9: one run per case gave speed-ups from 0.2x to 6.0x under load with
    no word on the spread. Now every case runs --repeat times (default 5), the backends
    taking turns; the table shows medians and the range of the speed-up, and a spread
    wider than 1.5x between runs draws a warning."""
    assert cli.build_parser().parse_args(["bench"]).repeat == 5
    calls = []

    def fake_times(backends, widths, out_act, batch, n, dtype, repeat):
        calls.append(repeat)
        wide = widths[0] == 256   # the wide case ran on a busy machine
        return {"cython": [0.010, 0.011, 0.050 if wide else 0.012],
                "numpy": [0.030, 0.033, 0.040]}

    monkeypatch.setattr(cli._bench, "_time_epochs", fake_times)
    monkeypatch.setattr(fm, "available_backends", lambda: ["cython", "numpy"])
    assert cli.main(["bench", "--repeat", "3"]) == 0
    out, err = capsys.readouterr()
    assert calls == [3, 3, 3]
    assert "median of 3 run(s)" in out and "milliseconds" in out
    tiny = next(line for line in out.splitlines() if line.startswith("tiny"))
    # medians 11.0 and 33.0 ms; ratios 3.0, 3.0, 3.33 -> median 3.0x, range 3.0-3.3x
    assert tiny.split()[-4:] == ["11.0", "33.0", "3.0x", "3.0-3.3x"]
    wide = next(line for line in out.splitlines() if line.startswith("wide"))
    assert wide.split()[-2:] == ["3.0x", "0.8-3.0x"]
    assert "warning" in err and "5.0x" in err and "wide, large batch (cython)" in err
    # the same runs without the busy one: no warning
    monkeypatch.setattr(cli._bench, "_time_epochs", lambda *a: {"cython": [0.010, 0.011],
                                                         "numpy": [0.030, 0.031]})
    assert cli.main(["bench", "--repeat", "2"]) == 0
    assert "warning" not in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# how the command prepares data and models
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", [[], [5, 3]])
def test_folding_the_standardization_into_the_weights(hidden, backend):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[5.0, -3.0, 100.0], scale=[2.0, 0.1, 30.0], size=(20, 3))
    scaler = fm.StandardScaler().fit(X)
    model = fm.Sequential([*(fm.Dense(h, activation="tanh") for h in hidden), fm.Dense(2)],
                          seed=0, backend=backend).build(3)
    model.compile(optimizer="sgd", loss="mse")
    y_mean, y_scale = 40.0, 7.0
    expected = model.predict(scaler.transform(X)) * y_scale + y_mean
    cli._train._fold_standardization(model, scaler.mean_, scaler.scale_, y_mean, y_scale)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-10, atol=1e-9)


def test_read_csv_drops_a_target_column_for_prediction(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["a", "target", "b"], [[1, 0, 2], [3, 1, 4]])
    table_ = cli.read_csv(path, want_target=False, n_features=2)
    np.testing.assert_array_equal(table_.X, [[1, 2], [3, 4]])
    assert table_.feature_names == ["a", "b"] and table_.y is None
    kept = cli.read_csv(path, want_target=False, n_features=3)
    assert kept.X.shape == (2, 3)
