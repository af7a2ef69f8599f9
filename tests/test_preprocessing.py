"""Tests for fastmlp.preprocessing: train_test_split, StandardScaler and one_hot."""
from __future__ import annotations

import numpy as np
import pytest

from fastmlp.datasets import load_breast_cancer, load_iris, make_blobs
from fastmlp.preprocessing import StandardScaler, one_hot, train_test_split


# ----------------------------------------------------------------------------------------
# train_test_split
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("test_size, n_test", [(0.25, 25), (0.1, 10), (0.333, 34), (1, 1),
                                               (30, 30), (99, 99)])
def test_split_sizes(test_size, n_test) -> None:
    X = np.arange(200.0).reshape(100, 2)
    y = np.arange(100)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, seed=0)
    assert X_test.shape == (n_test, 2) and y_test.shape == (n_test,)
    assert X_train.shape == (100 - n_test, 2) and y_train.shape == (100 - n_test,)


def test_split_keeps_rows_together_and_partitions() -> None:
    X = np.arange(60.0).reshape(30, 2)
    y = np.arange(30)
    w = np.arange(30) * 10
    X_train, X_test, y_train, y_test, _, w_test = train_test_split(X, y, w, seed=3)
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)
    np.testing.assert_array_equal(w_test, 10 * y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(30))


def test_split_is_deterministic_with_seed() -> None:
    X = np.arange(50)
    a = train_test_split(X, seed=11)
    b = train_test_split(X, seed=11)
    c = train_test_split(X, seed=12)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    rng = np.random.default_rng(11)
    np.testing.assert_array_equal(train_test_split(X, seed=rng)[1], a[1])


def test_split_without_shuffle_keeps_order() -> None:
    train, test = train_test_split(list(range(10)), test_size=3, shuffle=False)
    assert train.tolist() == list(range(7)) and test.tolist() == [7, 8, 9]


@pytest.mark.parametrize("test_size", [0.2, 0.25, 0.5, 0.37, 17])
@pytest.mark.parametrize("seed", [0, 1])
def test_stratify_keeps_proportions_within_one_sample(test_size, seed) -> None:
    # unbalanced classes: 5, 20, 75
    y = np.repeat([0, 1, 2], [5, 20, 75])
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    _, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size,
                                                  stratify=y, seed=seed)
    n_test = len(y_test)
    for k, count in enumerate([5, 20, 75]):
        exact = n_test * count / len(y)
        assert abs(np.sum(y_test == k) - exact) < 1
        assert abs(np.sum(y_train == k) - (count - exact)) < 1
    np.testing.assert_array_equal(y[X_test[:, 0].astype(int)], y_test)


def test_stratify_on_real_data() -> None:
    X, y = load_breast_cancer()
    _, _, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, seed=0)
    assert len(y_test) == 114
    assert abs(np.sum(y_test == 0) - 114 * 212 / 569) < 1
    X, y = load_iris()
    _, _, y_train, y_test = train_test_split(X, y, test_size=30, stratify=y, seed=0)
    assert np.bincount(y_test).tolist() == [10, 10, 10]
    assert np.bincount(y_train).tolist() == [40, 40, 40]


def test_stratify_accepts_one_hot_and_string_labels() -> None:
    labels = np.repeat([0, 1], [8, 12])
    _, test = train_test_split(labels, test_size=5, stratify=one_hot(labels), seed=0)
    assert abs(np.sum(test == 0) - 2) < 1
    names = np.repeat(["cat", "dog"], [10, 10])
    _, test = train_test_split(names, test_size=0.5, stratify=names, seed=0)
    assert sorted(test.tolist()).count("cat") == 5


def test_stratified_split_is_deterministic() -> None:
    X, y = make_blobs(n_samples=90, centers=3, seed=0)
    a = train_test_split(X, y, stratify=y, seed=4)
    b = train_test_split(X, y, stratify=y, seed=4)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize("kwargs, message", [
    ({"test_size": 0.0}, r"test_size as a fraction must be in \(0, 1\), got 0.0"),
    ({"test_size": 1.0}, r"test_size as a fraction must be in \(0, 1\), got 1.0"),
    ({"test_size": -0.5}, r"must be in \(0, 1\), got -0.5"),
    ({"test_size": 0}, r"test_size=0 must leave at least one sample on each side"),
    ({"test_size": 10}, r"test_size=10 .* 1 <= test_size <= 9 for 10 samples"),
    ({"test_size": 0.99}, r"leaves no training samples"),
    ({"stratify": np.zeros(10), "shuffle": False}, r"stratify needs shuffle=True"),
    ({"stratify": np.zeros(9)}, r"one label per sample \(10\), got shape \(9,\)"),
])
def test_split_errors(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        train_test_split(np.arange(10), **kwargs)


def test_split_error_on_mismatched_lengths_and_no_arrays() -> None:
    with pytest.raises(ValueError, match=r"same length, got lengths \[10, 9\]"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()
    with pytest.raises(ValueError, match="at least 2 samples"):
        train_test_split(np.zeros(1))
    with pytest.raises(TypeError, match="test_size must be a float in"):
        train_test_split(np.zeros(10), test_size="0.2")


# ----------------------------------------------------------------------------------------
# StandardScaler
# ----------------------------------------------------------------------------------------
def test_scaler_standardises_and_inverts() -> None:
    X, _ = load_breast_cancer()
    original = X.copy()
    scaler = StandardScaler()
    Z = scaler.fit_transform(X)
    np.testing.assert_array_equal(X, original)  # input untouched
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-12, atol=1e-12)
    assert scaler.n_features_in_ == 30 and scaler.n_samples_seen_ == 569
    np.testing.assert_allclose(scaler.mean_, X.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(scaler.scale_, X.std(axis=0), rtol=1e-15)
    assert Z.dtype == np.float64 and Z.shape == X.shape


def test_scaler_uses_training_statistics_on_new_data() -> None:
    scaler = StandardScaler().fit([[0.0, 1.0], [4.0, 3.0]])
    assert scaler.mean_.tolist() == [2.0, 2.0] and scaler.scale_.tolist() == [2.0, 1.0]
    assert scaler.transform([[6.0, 0.0]]).tolist() == [[2.0, -2.0]]


def test_scaler_constant_column_gets_scale_one() -> None:
    X = np.column_stack([np.full(7, 0.1), np.arange(7.0)])
    scaler = StandardScaler().fit(X)
    assert scaler.scale_[0] == 1.0 and scaler.var_[0] == 0.0
    Z = scaler.transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(Z[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-15)


def test_scaler_one_sample_and_float32() -> None:
    scaler = StandardScaler().fit([[3.0, -1.0]])
    assert scaler.transform([[3.0, -1.0]]).tolist() == [[0.0, 0.0]]
    X32 = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    Z = StandardScaler().fit_transform(X32)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z, [[-1, -1], [1, 1]], atol=1e-6)
    Zint = StandardScaler().fit_transform(np.array([[1, 2], [3, 5]]))
    assert Zint.dtype == np.float64


def test_scaler_errors() -> None:
    with pytest.raises(RuntimeError, match=r"not fitted yet; call fit\(X\) before transform"):
        StandardScaler().transform([[1.0]])
    with pytest.raises(RuntimeError, match=r"before inverse_transform"):
        StandardScaler().inverse_transform([[1.0]])
    scaler = StandardScaler().fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="X has 3 features, but this StandardScaler was fitted "
                                         "on 2"):
        scaler.transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"must be 2-D .* got an array of shape \(3,\) "
                                         r"\(use X.reshape\(1, -1\) for a single sample, "
                                         r"X.reshape\(-1, 1\) for a single feature\)"):
        StandardScaler().fit(np.zeros(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        StandardScaler().fit([[np.nan]])
    with pytest.raises(ValueError, match=r"is empty \(shape \(0, 2\)\)"):
        StandardScaler().fit(np.zeros((0, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        StandardScaler().fit([["a"]])
    assert repr(StandardScaler()) == "StandardScaler()"


# ----------------------------------------------------------------------------------------
# one_hot
# ----------------------------------------------------------------------------------------
def test_one_hot() -> None:
    encoded = one_hot(np.array([2, 0, 1, 2]))
    assert encoded.dtype == np.float64 and encoded.shape == (4, 3)
    np.testing.assert_array_equal(encoded.argmax(axis=1), [2, 0, 1, 2])
    np.testing.assert_array_equal(encoded.sum(axis=1), 1.0)
    assert one_hot([0.0, 1.0], n_classes=3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert one_hot([], n_classes=2).shape == (0, 2)
    _, y = load_iris()
    np.testing.assert_array_equal(one_hot(y).sum(axis=0), [50, 50, 50])


@pytest.mark.parametrize("labels, kwargs, error, message", [
    ([0, 3], {"n_classes": 3}, ValueError, r"label 3 is out of range for n_classes=3"),
    ([-1, 0], {}, ValueError, r"labels must be >= 0, got -1"),
    ([0.5], {}, ValueError, r"whole numbers, got .*0.5"),
    ([[0, 1]], {}, ValueError, r"must be 1-D \(n_samples,\), got shape \(1, 2\)"),
    ([], {}, ValueError, r"cannot infer n_classes"),
    ([0], {"n_classes": 0}, ValueError, r"n_classes must be an integer >= 1, got 0"),
    (["a"], {}, TypeError, r"labels must be integers"),
])
def test_one_hot_errors(labels, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        one_hot(labels, **kwargs)
