"""Pictures: History.plot, fastmlp.plot.learning_curves / decision_boundary, and the
message when matplotlib is missing."""
import sys

import matplotlib  # in the [test] extra
import numpy as np
import pytest

import fastmlp as fm

matplotlib.use("Agg")
import matplotlib.image
import matplotlib.pyplot as plt


@pytest.fixture(scope="module")
def trained():
    X, y = fm.datasets.make_moons(n_samples=200, noise=0.15, seed=0)
    model = fm.Sequential([fm.Dense(16, activation="tanh"), fm.Dense(1, activation="sigmoid")],
                          seed=0)
    model.compile(optimizer=fm.optimizers.SGD(0.5), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=60, batch_size=16, validation_split=0.2, verbose=0)
    return model, history, X, y


def test_history_plot_draws_the_recorded_curves(trained, tmp_path):
    _, history, _, _ = trained
    fig = history.plot()
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    train, val = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_ydata(), history.history["loss"])
    np.testing.assert_array_equal(val.get_ydata(), history.history["val_loss"])
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 61))
    path = tmp_path / "curves.png"
    fig.savefig(path)
    plt.close(fig)
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 200


def test_learning_curves_from_a_dict_and_chosen_keys():
    fig = fm.plot.learning_curves({"loss": [3, 2, 1], "mae": [1, 0.5, 0.2]}, keys=["mae"])
    (ax,) = fig.axes
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [1, 0.5, 0.2])
    plt.close(fig)
    with pytest.raises(ValueError, match="no recorded quantity 'auc'; recorded: loss, mae"):
        fm.plot.learning_curves({"loss": [1], "mae": [1]}, keys=["auc"])
    with pytest.raises(ValueError, match="at least one epoch"):
        fm.plot.learning_curves({})


def test_decision_boundary_matches_the_model(trained):
    model, _, X, y = trained
    ax = fm.plot.decision_boundary(model, X, y, resolution=120)
    assert ax.get_title() == "decision boundary" and len(ax.figure.axes) == 2  # + colorbar
    x0, x1 = ax.get_xlim()
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max()
    # the drawn 0.5 contour is where the model's probability is one half
    (boundary,) = [c for c in ax.collections if list(getattr(c, "levels", [])) == [0.5]]
    vertices = np.concatenate([p.vertices for p in boundary.get_paths() if len(p.vertices)])
    assert len(vertices) > 20
    np.testing.assert_allclose(model.predict(vertices)[:, 0], 0.5, atol=0.05)
    plt.close(ax.figure)


def test_decision_boundary_multiclass_and_errors():
    X, y = fm.datasets.make_blobs(n_samples=90, centers=3, seed=1)
    model = fm.Sequential([fm.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer=fm.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=5, verbose=0)
    ax = fm.plot.decision_boundary(model, X, y, resolution=30)
    assert len(ax.figure.axes) == 1  # regions coloured by class: no colour bar
    plt.close(ax.figure)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\), got \(90, 3\)"):
        fm.plot.decision_boundary(model, np.c_[X, X[:, 0]], y)
    with pytest.raises(ValueError, match="resolution must be an integer >= 2"):
        fm.plot.decision_boundary(model, X, y, resolution=1)


def test_missing_matplotlib_gives_an_install_hint(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "fastmlp\[plot\]"'):
        fm.plot.learning_curves({"loss": [1.0, 0.5]})
    with pytest.raises(ImportError, match=r'pip install "fastmlp\[plot\]"'):
        history = fm.callbacks.History()
        history.on_epoch_end(0, {"loss": 1.0})
        history.plot()
