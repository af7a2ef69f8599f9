"""Tests for fastmlp.datasets: the shipped real data sets and the synthetic generators.

The expected values below are facts about the published data (first rows as printed in
the original files, class counts, exact decimal column sums), not outputs of our code.
"""
from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np
import pytest

from fastmlp import datasets
from fastmlp.datasets import (
    Dataset,
    available,
    load,
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    make_blobs,
    make_circles,
    make_moons,
    make_regression,
    make_spirals,
    make_xor,
    xor_truth_table,
)

# ----------------------------------------------------------------------------------------
# facts about the real data sets
# ----------------------------------------------------------------------------------------
# name: (loader, n_samples, n_features, class counts or None for regression)
SPECS = {
    "breast_cancer": (load_breast_cancer, 569, 30, [212, 357]),
    "digits": (load_digits, 1797, 64, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]),
    "iris": (load_iris, 150, 4, [50, 50, 50]),
    "diabetes": (load_diabetes, 442, 10, None),
}

# First row of each data set as published (UCI wdbc.data patient 842302; Fisher's first
# setosa; the first digit of the UCI optdigits test set; Efron et al.'s first patient).
FIRST_ROWS = {
    "breast_cancer": ([17.99, 10.38, 122.8, 1001.0, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419,
                       0.07871, 1.095, 0.9053, 8.589, 153.4, 0.006399, 0.04904, 0.05373,
                       0.01587, 0.03003, 0.006193, 25.38, 17.33, 184.6, 2019.0, 0.1622,
                       0.6656, 0.7119, 0.2654, 0.4601, 0.1189], 0),
    "iris": ([5.1, 3.5, 1.4, 0.2], 0),
    "digits": ([0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0,
                0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0,
                0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0], 0),
    "diabetes": ([59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87], 151.0),
}

# Exact decimal sums of every feature column and of the target.
COLUMN_SUMS = {
    "breast_cancer": ([8038.429, 10975.81, 52330.38, 372631.9, 54.829, 59.37002, 50.5268107,
                       27.834994, 103.0811, 35.73184, 230.5429, 692.3896, 1630.7877,
                       22951.798, 4.006317, 14.497061, 18.1475246, 6.712002, 11.688568,
                       2.1593003, 9257.169, 14610.34, 61031.63, 501051.8, 75.31773,
                       144.67681, 154.875247, 65.210941, 165.053, 47.76517], 357),
    "iris": ([876.5, 458.6, 563.7, 179.9], 150),
    "digits": ([0, 546, 9353, 21269, 21291, 10390, 2448, 233, 10, 3583, 18657, 21527, 18472,
                14692, 3318, 194, 5, 4675, 17796, 12566, 12755, 14028, 3214, 90, 2, 4438,
                16337, 15852, 17839, 13570, 4165, 4, 0, 4204, 13778, 16302, 18512, 15713,
                5228, 0, 16, 2846, 12366, 12989, 13787, 14801, 6211, 49, 13, 1266, 13490,
                17142, 16921, 15739, 6694, 371, 1, 502, 9987, 21724, 21221, 12155, 3716,
                655], 8070),
    "diabetes": ([21445, 649, 11658.1, 41833.98, 83600, 51024.1, 22006.5, 1799.05, 2051.5036,
                  40337], 67243),
}


@pytest.fixture(params=sorted(SPECS))
def name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_available_lists_every_data_set() -> None:
    assert available() == ["breast_cancer", "diabetes", "digits", "iris"]


def test_shapes_dtypes_and_layout(name: str) -> None:
    loader, n, d, counts = SPECS[name]
    ds = loader()
    assert isinstance(ds, Dataset)
    assert ds.name == name
    assert ds.data.shape == (n, d) and ds.data.dtype == np.float64
    assert ds.data.flags.c_contiguous and ds.data.flags.writeable
    assert ds.target.shape == (n,)
    assert ds.target.dtype == (np.float64 if counts is None else np.int64)
    assert ds.n_samples == n and ds.n_features == d
    assert len(ds.feature_names) == d and all(isinstance(f, str) for f in ds.feature_names)
    assert len(set(ds.feature_names)) == d
    if counts is None:
        assert ds.target_names is None
    else:
        assert len(ds.target_names) == len(counts)
        assert all(isinstance(t, str) for t in ds.target_names)
    assert np.isfinite(ds.data).all() and np.isfinite(ds.target).all()


@pytest.mark.parametrize("name", ["breast_cancer", "digits", "iris"])
def test_class_counts(name: str) -> None:
    loader, n, _, counts = SPECS[name]
    y = loader().target
    assert np.bincount(y).tolist() == counts
    assert sum(counts) == n


def test_class_names() -> None:
    assert load_breast_cancer().target_names == ["malignant", "benign"]
    assert load_iris().target_names == ["setosa", "versicolor", "virginica"]
    assert load_digits().target_names == [str(k) for k in range(10)]


def test_first_row_matches_published_values(name: str) -> None:
    loader = SPECS[name][0]
    X, y = loader()
    row, label = FIRST_ROWS[name]
    np.testing.assert_array_equal(X[0], np.array(row, dtype=np.float64))
    assert y[0] == label


def test_column_sums_match_the_source(name: str) -> None:
    loader = SPECS[name][0]
    X, y = loader()
    col_sums, target_sum = COLUMN_SUMS[name]
    np.testing.assert_allclose(X.sum(axis=0), col_sums, rtol=0, atol=1e-8)
    assert abs(float(y.sum()) - target_sum) <= 1e-8


def test_iris_follows_fishers_paper() -> None:
    X, y = load_iris()
    # the two samples where the UCI file differs from Fisher (1936)
    assert X[34].tolist() == [4.9, 3.1, 1.5, 0.2]
    assert X[37].tolist() == [4.9, 3.6, 1.4, 0.1]
    assert X[-1].tolist() == [5.9, 3.0, 5.1, 1.8] and y[-1] == 2
    assert y.tolist() == [0] * 50 + [1] * 50 + [2] * 50


def test_digits_are_whole_numbers_in_0_16() -> None:
    X, y = load_digits()
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X, np.round(X))
    assert set(np.unique(y).tolist()) == set(range(10))
    assert load_digits().feature_names[:3] == ["pixel_0_0", "pixel_0_1", "pixel_0_2"]


def test_diabetes_is_unscaled() -> None:
    ds = load_diabetes()
    assert ds.feature_names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert set(np.unique(ds.data[:, 1]).tolist()) == {1.0, 2.0}  # sex coded 1/2
    assert ds.target.min() == 25.0 and ds.target.max() == 346.0
    assert "not standardised" in ds.description.lower()


def test_breast_cancer_feature_names() -> None:
    names = load_breast_cancer().feature_names
    assert names[0] == "radius_mean" and names[10] == "radius_se"
    assert names[20] == "radius_worst" and names[-1] == "fractal_dimension_worst"


def test_descriptions_give_source_licence_and_citation(name: str) -> None:
    description = SPECS[name][0]().description
    assert len(description) > 400
    assert "Citation" in description and "doi.org/10." in description
    if name == "diabetes":
        assert "Least Angle" in description and "Efron" in description
    else:
        assert "UCI Machine Learning Repository" in description
        assert "CC BY 4.0" in description


def test_return_X_y_and_unpacking(name: str) -> None:
    loader = SPECS[name][0]
    X, y = loader(return_X_y=True)
    ds = loader()
    X2, y2 = ds
    assert isinstance(X, np.ndarray) and isinstance(y, np.ndarray)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert X2 is ds.data and y2 is ds.target


def test_load_by_name_matches_loader(name: str) -> None:
    loader = SPECS[name][0]
    np.testing.assert_array_equal(load(name).data, loader().data)
    _, y = load(name, return_X_y=True)
    np.testing.assert_array_equal(y, loader().target)


def test_load_forgives_case_and_hyphens() -> None:
    assert load("Breast-Cancer").name == "breast_cancer"


def test_load_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown data set 'mnist'.*'breast_cancer', "
                                         r"'diabetes', 'digits', 'iris'"):
        load("mnist")
    with pytest.raises(TypeError, match="must be a string, got int"):
        load(3)


def test_results_are_copies_of_the_cache(name: str) -> None:
    loader = SPECS[name][0]
    first = loader()
    second = loader()
    assert not np.shares_memory(first.data, second.data)
    assert not np.shares_memory(first.target, second.target)
    original = second.data[0, 0]
    first.data[:] = -1.0
    first.target[:] = 0
    first.feature_names.append("junk")
    third = loader()
    assert third.data[0, 0] == original
    assert len(third.feature_names) == SPECS[name][2]
    np.testing.assert_array_equal(third.target, second.target)


def test_dataset_is_frozen() -> None:
    ds = load_iris()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.data = np.zeros((1, 1))
    assert repr(ds) == "Dataset(name='iris', n_samples=150, n_features=4, 3 classes)"


def test_data_files_are_small_gzip_csv() -> None:
    folder = resources.files("fastmlp.datasets").joinpath("data")
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".csv.gz"))
    assert files == [f"{n}.csv.gz" for n in available()]
    total = sum(len(folder.joinpath(f).read_bytes()) for f in files)
    assert total < 300_000


# ----------------------------------------------------------------------------------------
# generators
# ----------------------------------------------------------------------------------------
GENERATORS = {
    "moons": (make_moons, {"n_samples": 101, "noise": 0.1}, 2, 2),
    "circles": (make_circles, {"n_samples": 101, "noise": 0.1}, 2, 2),
    "xor": (make_xor, {"n_samples": 103, "noise": 0.1}, 2, 2),
    "spirals": (make_spirals, {"n_samples": 101, "n_classes": 3, "noise": 0.1}, 2, 3),
    "blobs": (make_blobs, {"n_samples": 101, "centers": 4, "n_features": 3}, 3, 4),
}


@pytest.fixture(params=sorted(GENERATORS))
def generator(request: pytest.FixtureRequest) -> tuple:
    return GENERATORS[request.param]


def test_generator_shapes_and_labels(generator: tuple) -> None:
    make, kwargs, n_features, n_classes = generator
    X, y = make(seed=0, **kwargs)
    n = kwargs["n_samples"]
    assert X.shape == (n, n_features) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert counts.size == n_classes
    assert counts.max() - counts.min() <= 1  # dealt as evenly as possible


def test_generator_same_seed_same_data(generator: tuple) -> None:
    make, kwargs, _, _ = generator
    X1, y1 = make(seed=42, **kwargs)
    X2, y2 = make(seed=42, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(seed=np.random.default_rng(42), **kwargs)
    np.testing.assert_array_equal(X1, X3)


def test_generator_different_seed_different_data(generator: tuple) -> None:
    make, kwargs, _, _ = generator
    X1, _ = make(seed=1, **kwargs)
    X2, _ = make(seed=2, **kwargs)
    assert not np.array_equal(X1, X2)


def test_generator_object_advances(generator: tuple) -> None:
    make, kwargs, _, _ = generator
    rng = np.random.default_rng(0)
    X1, _ = make(seed=rng, **kwargs)
    X2, _ = make(seed=rng, **kwargs)
    assert not np.array_equal(X1, X2)


def test_generators_accept_one_sample(generator: tuple) -> None:
    make, kwargs, n_features, _ = generator
    X, y = make(seed=0, **{**kwargs, "n_samples": 1})
    assert X.shape == (1, n_features) and y.shape == (1,)


def test_moons_lie_on_their_arcs() -> None:
    X, y = make_moons(n_samples=50, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert (upper[:, 1] >= -1e-12).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()
    assert np.bincount(y).tolist() == [25, 25]


def test_circles_radii_and_factor() -> None:
    X, y = make_circles(n_samples=40, factor=0.25, seed=3)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(radius[y == 1], 0.25, atol=1e-12)


def test_xor_labels_follow_the_corners() -> None:
    X, y = make_xor(n_samples=200, seed=0)
    corners, counts = np.unique(X, axis=0, return_counts=True)
    assert corners.tolist() == [[-1, -1], [-1, 1], [1, -1], [1, 1]]
    assert counts.tolist() == [50, 50, 50, 50]
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    # with small noise every point stays in its corner's quadrant
    Xn, yn = make_xor(n_samples=200, noise=0.1, seed=0)
    np.testing.assert_array_equal(yn, (Xn[:, 0] * Xn[:, 1] < 0).astype(np.int64))


def test_xor_truth_table_is_exact() -> None:
    X, y = xor_truth_table()
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [0, 1, 1, 0]
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]))


def test_spirals_radius_range_and_classes() -> None:
    X, y = make_spirals(n_samples=400, n_classes=4, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() == pytest.approx(0.1) and radius.max() == pytest.approx(1.0)
    assert np.bincount(y).tolist() == [100, 100, 100, 100]


def test_blobs_with_given_centers() -> None:
    centers = np.array([[0.0, 0.0, 0.0], [10.0, -10.0, 5.0]])
    X, y = make_blobs(n_samples=9, centers=centers, cluster_std=0.0, seed=0)
    assert X.shape == (9, 3)  # n_features comes from centers
    np.testing.assert_array_equal(X, centers[y])
    X, y = make_blobs(n_samples=4000, centers=centers, cluster_std=[0.5, 2.0], seed=0)
    for k, std in enumerate([0.5, 2.0]):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centers[k], atol=0.2)
        np.testing.assert_allclose(X[y == k].std(axis=0), std, rtol=0.1)


def test_blobs_random_centers_inside_box() -> None:
    X, _ = make_blobs(n_samples=30, centers=5, n_features=2, cluster_std=0.0, seed=1)
    centers = np.unique(X, axis=0)
    assert centers.shape == (5, 2)
    assert (np.abs(centers) <= 10).all()


def test_make_regression_recovers_coef_without_noise() -> None:
    coef = np.array([1.5, -2.0, 0.25])
    X, y = make_regression(n_samples=50, n_features=3, coef=coef, bias=4.0, seed=0)
    assert X.shape == (50, 3) and y.shape == (50,) and y.dtype == np.float64
    design = np.column_stack([X, np.ones(len(X))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(solution, [1.5, -2.0, 0.25, 4.0], rtol=0, atol=1e-10)


def test_make_regression_drawn_coef_and_noise() -> None:
    X, y, w = make_regression(n_samples=30, n_features=2, seed=5, return_coef=True)
    assert w.shape == (2,) and (np.abs(w) <= 10).all()
    np.testing.assert_allclose(y, X @ w, atol=1e-12)
    X, y, w = make_regression(n_samples=5000, n_features=2, noise=0.5, seed=5, return_coef=True)
    assert np.std(y - X @ w) == pytest.approx(0.5, rel=0.05)
    X1, y1 = make_regression(seed=7)
    _, y2 = make_regression(seed=7)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape == (100, 1)


@pytest.mark.parametrize("call, error, message", [
    (lambda: make_moons(n_samples=0), ValueError, r"n_samples must be an integer >= 1, got 0"),
    (lambda: make_moons(n_samples=2.5), TypeError, r"n_samples must be an integer >= 1, got 2.5"),
    (lambda: make_circles(noise=-0.1), ValueError, r"noise must be >= 0.0, got -0.1"),
    (lambda: make_circles(factor=1.0), ValueError, r"factor must be < 1.0, got 1.0"),
    (lambda: make_xor(noise=float("nan")), ValueError, r"noise must be finite, got nan"),
    (lambda: make_spirals(n_classes=1), ValueError, r"n_classes must be an integer >= 2, got 1"),
    (lambda: make_blobs(centers=0), ValueError, r"centers must be an integer >= 1, got 0"),
    (lambda: make_blobs(centers=[1.0, 2.0]), ValueError, r"got shape \(2,\)"),
    (lambda: make_blobs(centers=2, cluster_std=[1.0]), ValueError,
     r"one value per center \(2\), got shape \(1,\)"),
    (lambda: make_blobs(cluster_std=-1.0), ValueError, r"cluster_std must be >= 0.0, got -1.0"),
    (lambda: make_regression(n_features=1, coef=[1.0, 2.0]), ValueError,
     r"coef has 2 values but n_features=1; pass n_features=2"),
    (lambda: make_regression(n_features=0), ValueError,
     r"n_features must be an integer >= 1, got 0"),
    (lambda: make_moons(seed=-1), ValueError, r"seed must be a non-negative integer, got -1"),
    (lambda: make_moons(seed="abc"), TypeError, r"seed must be an int, None or a "),
])
def test_generator_argument_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


def test_public_names() -> None:
    for public in datasets.__all__:
        obj = getattr(datasets, public)
        assert obj.__doc__ and "Examples" in obj.__doc__, public
