"""Saving from the command line (--save), `fastmlp predict`, and ModelCheckpoint writing
real model files."""
import csv
import io

import numpy as np
import pytest
from test_cli import assert_one_line_error, run, table, write_csv

import fastmlp as fm
from fastmlp import cli


def read_predictions(text):
    """The header, and the columns after the first as numbers; for a classifier the first
    column holds the class labels (text), see read_labels."""
    rows = list(csv.reader(io.StringIO(text)))
    try:
        return rows[0], np.array(rows[1:], dtype=np.float64)
    except ValueError:
        return rows[0], np.array([row[1:] for row in rows[1:]], dtype=np.float64)


def read_labels(text):
    return [row[0] for row in list(csv.reader(io.StringIO(text)))[1:]]


@pytest.mark.slow
def test_save_then_predict_breast_cancer(tmp_path):
    model_path = tmp_path / "model.fmlp"
    result = run("--epochs", "30", "-v", "0", "--save", str(model_path))
    assert result.returncode == 0, result.stderr
    assert f"saved the model to {model_path}" in result.stdout
    test_accuracy = table(result.stdout)["test"][1]

    X, y = fm.datasets.load_breast_cancer()
    data = write_csv(tmp_path / "new.csv", [f"f{j}" for j in range(30)], X.tolist())
    predicted = run("predict", str(model_path), data)
    assert predicted.returncode == 0, predicted.stderr
    header, values = read_predictions(predicted.stdout)
    # the labels the model was trained with, and the probability of the second class
    assert header == ["prediction", "probability_benign"] and values.shape == (569, 1)
    # the saved model takes raw features: its probabilities are the loaded model's
    expected = fm.load_model(model_path).predict(X)[:, 0]
    np.testing.assert_allclose(values[:, 0], expected, rtol=1e-7)
    labels = np.array(read_labels(predicted.stdout))
    np.testing.assert_array_equal(labels, np.where(expected >= 0.5, "benign", "malignant"))
    names = np.array(["malignant", "benign"])
    assert np.mean(labels == names[y]) >= min(test_accuracy, 0.95)

    out = tmp_path / "predictions.csv"
    written = run("predict", str(model_path), data, "-o", str(out))
    assert written.returncode == 0 and written.stdout == ""
    assert "wrote 569 predictions" in written.stderr
    assert out.read_text() == predicted.stdout


def test_predict_multiclass_and_target_column(tmp_path, capsys):
    model_path = str(tmp_path / "iris.fmlp")
    assert cli.main(["--data", "iris", "--epochs", "60", "--lr", "0.1", "-v", "0",
                     "--save", model_path]) == 0
    capsys.readouterr()
    X, y = fm.datasets.load_iris()
    with_target = write_csv(tmp_path / "iris.csv", ["a", "b", "c", "d", "target"],
                            np.c_[X, y].tolist())
    assert cli.main(["predict", model_path, with_target]) == 0  # 'target' dropped
    text = capsys.readouterr().out
    header, values = read_predictions(text)
    assert header == ["prediction", "probability_setosa", "probability_versicolor",
                      "probability_virginica"]
    np.testing.assert_allclose(values.sum(axis=1), 1.0, rtol=1e-6)
    species = np.array(["setosa", "versicolor", "virginica"])
    assert np.mean(np.array(read_labels(text)) == species[y]) >= 0.9
    assert read_labels(text) == species[values.argmax(axis=1)].tolist()
    # an explicit --target, by index, does the same
    assert cli.main(["predict", model_path, with_target, "--target", "4"]) == 0
    assert read_predictions(capsys.readouterr().out)[1].tolist() == values.tolist()
    # a shipped data set name works as input too
    assert cli.main(["predict", model_path, "iris"]) == 0
    assert read_predictions(capsys.readouterr().out)[1].tolist() == values.tolist()


def test_predict_regression_in_raw_units(tmp_path, capsys):
    model_path = str(tmp_path / "diabetes.fmlp")
    assert cli.main(["--data", "diabetes", "--epochs", "40", "-v", "0", "--save",
                     model_path]) == 0
    capsys.readouterr()
    _, y = fm.datasets.load_diabetes()
    assert cli.main(["predict", model_path, "diabetes"]) == 0
    header, values = read_predictions(capsys.readouterr().out)
    assert header == ["prediction"]
    assert fm.metrics.r2(y, values[:, 0]) > 0.4  # disease progression units, not z-scores


@pytest.mark.slow
def test_predict_errors_are_one_line(tmp_path):
    model_path = tmp_path / "m.fmlp"
    assert run("--epochs", "2", "-v", "0", "--save", str(model_path)).returncode == 0
    X, _ = fm.datasets.load_breast_cancer()
    too_many = write_csv(tmp_path / "x.csv", None, np.c_[X, X[:, :1]].tolist())
    assert_one_line_error(run("predict", str(model_path), too_many), 1,
                          "31 feature columns but the model takes 30",
                          "--target NAME")
    not_a_model = write_csv(tmp_path / "fake.fmlp", None, [[1, 2]])
    assert_one_line_error(run("predict", not_a_model, too_many), 1, "cannot load a model")
    assert_one_line_error(run("predict", str(tmp_path / "none.fmlp"), too_many), 1,
                          "no such file")


def test_model_checkpoint_writes_the_best_model(tmp_path, backend):
    X, y = fm.datasets.make_moons(n_samples=200, noise=0.3, seed=0)
    X_tr, X_val, y_tr, y_val = fm.train_test_split(X, y, test_size=0.3, stratify=y, seed=0)
    model = fm.Sequential([fm.Dense(32, activation="tanh"), fm.Dense(1, activation="sigmoid")],
                          seed=0, backend=backend)
    model.compile(optimizer=fm.optimizers.SGD(2.0), loss="binary_crossentropy")
    per_epoch = []
    record = fm.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: per_epoch.append(
        (logs["val_loss"], model.get_weights())))
    path = tmp_path / "best.fmlp"
    checkpoint = fm.callbacks.ModelCheckpoint(str(path), monitor="val_loss")
    model.fit(X_tr, y_tr, epochs=25, batch_size=8, validation_data=(X_val, y_val), verbose=0,
              callbacks=[record, checkpoint])
    best = int(np.argmin([v for v, _ in per_epoch]))
    assert best != len(per_epoch) - 1
    for got, want in zip(fm.load_model(path).get_weights(), per_epoch[best][1]):
        np.testing.assert_array_equal(got, want)
