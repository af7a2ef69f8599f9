"""Loaders for the small real data sets shipped inside the package.

Each data set is one gzip-compressed CSV file in ``fastmlp/datasets/data/``: a header row
of feature names followed by the feature columns, and a last column named ``target``.
Files are parsed once per process (``functools.lru_cache``) and every call hands out fresh
copies, so changing a returned array never changes what the next call returns.
"""
from __future__ import annotations

import functools
import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Literal, overload

import numpy as np

__all__ = [
    "Dataset",
    "available",
    "load",
    "load_breast_cancer",
    "load_diabetes",
    "load_digits",
    "load_iris",
]

_UCI_LICENCE = (
    "Licence: Creative Commons Attribution 4.0 International (CC BY 4.0), as stated by "
    "the UCI Machine Learning Repository for this data set; attribute the creators when "
    "you redistribute it."
)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set: features, targets and what they mean.

    Unpacks like a pair, so ``X, y = load_iris()`` works. The loaders build it; each
    parameter is kept as the attribute of the same name.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features), float64, C-contiguous
        The features, one row per sample.
    target : ndarray of shape (n_samples,)
        Class labels ``0 .. n_classes - 1`` (int64) for classification, values (float64)
        for regression.
    feature_names : list of str
        One name per column of ``data``.
    target_names : list of str or None
        ``target_names[k]`` names class ``k``; ``None`` for regression.
    description : str
        What the data are, where they come from, their licence and how to cite them.
    name : str
        The registry name, as accepted by :func:`load`.

    Examples
    --------
    >>> from fastmlp.datasets import load_iris
    >>> iris = load_iris()
    >>> iris.data.shape, iris.target.dtype, iris.target_names
    ((150, 4), dtype('int64'), ['setosa', 'versicolor', 'virginica'])
    >>> X, y = iris
    >>> X is iris.data
    True
    """

    data: np.ndarray
    target: np.ndarray
    feature_names: list[str]
    target_names: list[str] | None
    description: str
    name: str

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield ``data`` then ``target``, for ``X, y = dataset``."""
        yield self.data
        yield self.target

    @property
    def n_samples(self) -> int:
        """Number of rows of ``data``."""
        return self.data.shape[0]

    @property
    def n_features(self) -> int:
        """Number of columns of ``data``."""
        return self.data.shape[1]

    def __repr__(self) -> str:
        kind = ("regression" if self.target_names is None
                else f"{len(self.target_names)} classes")
        return (f"Dataset(name={self.name!r}, n_samples={self.n_samples}, "
                f"n_features={self.n_features}, {kind})")


@functools.cache
def _read_table(filename: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Parse ``data/<filename>`` once: the header names and a read-only float64 table."""
    raw = resources.files(__package__).joinpath("data").joinpath(filename).read_bytes()
    text = gzip.decompress(raw).decode("ascii")
    header, _, body = text.partition("\n")
    table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    table.setflags(write=False)  # the cached copy must never change
    return tuple(header.strip().split(",")), table


def _make_dataset(name: str, target_names: list[str] | None,
                  description: str) -> Dataset:
    """Build a :class:`Dataset` from fresh copies of the cached table ``<name>.csv.gz``."""
    header, table = _read_table(f"{name}.csv.gz")
    data = np.array(table[:, :-1], dtype=np.float64, order="C", copy=True)
    if target_names is None:
        target = np.array(table[:, -1], dtype=np.float64, copy=True)
    else:
        target = table[:, -1].astype(np.int64)  # astype always copies here
    return Dataset(data=data, target=target, feature_names=list(header[:-1]),
                   target_names=None if target_names is None else list(target_names),
                   description=description, name=name)


def _finish(dataset: Dataset, return_X_y: bool) -> Dataset | tuple[np.ndarray, np.ndarray]:
    return (dataset.data, dataset.target) if return_X_y else dataset


_BREAST_CANCER_DESCRIPTION = f"""\
Breast Cancer Wisconsin (Diagnostic)
------------------------------------
569 breast masses, each described by 30 real-valued measurements of the cell nuclei seen
in a digitised image of a fine needle aspirate. Ten quantities are measured per nucleus
(radius, texture, perimeter, area, smoothness, compactness, concavity, concave points,
symmetry, fractal dimension); for each image the columns hold their mean (``*_mean``),
standard error (``*_se``) and "worst" value, the mean of the three largest (``*_worst``).

Target: the diagnosis, 0 = malignant (212 samples), 1 = benign (357 samples). This
coding follows scikit-learn; the original file writes M and B.

Creators: William H. Wolberg (University of Wisconsin Hospitals), W. Nick Street and
Olvi L. Mangasarian (University of Wisconsin, Computer Sciences), 1995.
Source: UCI Machine Learning Repository, data set 17,
https://archive.ics.uci.edu/dataset/17/breast+cancer+wisconsin+diagnostic
(numbers copied from the copy bundled with scikit-learn).
{_UCI_LICENCE}

Citation: Wolberg, W., Mangasarian, O., Street, N. and Street, W. (1995). Breast Cancer
Wisconsin (Diagnostic). UCI Machine Learning Repository. https://doi.org/10.24432/C5DW2B
Original study: W. N. Street, W. H. Wolberg and O. L. Mangasarian (1993). Nuclear feature
extraction for breast tumor diagnosis. Proc. IS&T/SPIE Symposium on Electronic Imaging,
vol. 1905, pp. 861-870.
"""

_DIGITS_DESCRIPTION = f"""\
Optical Recognition of Handwritten Digits (8x8)
-----------------------------------------------
1,797 handwritten digits, each an 8x8 image flattened row by row into 64 features
(``pixel_<row>_<column>``). Every pixel counts the "on" pixels in a 4x4 block of the
original 32x32 bitmap, so values are integers from 0 to 16. The bitmaps were extracted
from forms filled in by 43 writers with the NIST preprocessing programs; these 1,797 rows
are the UCI test partition (13 writers), the same rows scikit-learn ships.

Target: the digit shown, 0 to 9 (10 classes, about 180 samples each).

Creators: E. Alpaydin and C. Kaynak, Bogazici University, 1998.
Source: UCI Machine Learning Repository, data set 80,
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits
(numbers copied from the copy bundled with scikit-learn).
{_UCI_LICENCE}

Citation: Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits.
UCI Machine Learning Repository. https://doi.org/10.24432/C50P49
"""

_IRIS_DESCRIPTION = f"""\
Iris
----
150 iris flowers, 50 of each of three species, with four measurements in centimetres:
sepal length, sepal width, petal length and petal width. Setosa is linearly separable
from the other two species; versicolor and virginica overlap.

Target: the species, 0 = setosa, 1 = versicolor, 2 = virginica.

The values are those printed in Fisher's paper (as in R and scikit-learn); the file on
the UCI repository differs from the paper in the 35th and 38th samples.

Creator: R. A. Fisher (1936); measurements by Edgar Anderson. Donor: Michael Marshall.
Source: UCI Machine Learning Repository, data set 53, https://archive.ics.uci.edu/dataset/53/iris
(numbers copied from the copy bundled with scikit-learn).
{_UCI_LICENCE}

Citation: Fisher, R. A. (1988). Iris. UCI Machine Learning Repository.
https://doi.org/10.24432/C56C76
Original paper: R. A. Fisher (1936). The use of multiple measurements in taxonomic
problems. Annals of Eugenics 7(2), 179-188.
"""

_DIABETES_DESCRIPTION = """\
Diabetes (Efron, Hastie, Johnstone and Tibshirani, 2004)
--------------------------------------------------------
442 diabetes patients, ten measurements taken at baseline, and a quantitative measure of
disease progression one year later. A small regression benchmark.

Features, in their original units (NOT standardised; scikit-learn's default
``load_diabetes()`` centres and scales them, its ``scaled=False`` gives these values):
  age  age in years
  sex  coded 1 or 2
  bmi  body mass index
  bp   average blood pressure
  s1   total serum cholesterol (tc)
  s2   low-density lipoproteins (ldl)
  s3   high-density lipoproteins (hdl)
  s4   total cholesterol / HDL (tch)
  s5   log of serum triglycerides (ltg)
  s6   blood sugar level (glu)

Target: disease progression one year after baseline, a number from 25 to 346 (float64).

Source: the data published with the paper below, also distributed at
https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html (numbers copied from the
unscaled copy bundled with scikit-learn).
Licence: this is not a UCI data set; the authors attached no explicit licence. It has been
redistributed openly with the paper and in scikit-learn (BSD-3-Clause) and R's lars
package for two decades; cite the paper when you use it.

Citation: B. Efron, T. Hastie, I. Johnstone and R. Tibshirani (2004). Least Angle
Regression. Annals of Statistics 32(2), 407-499. https://doi.org/10.1214/009053604000000067
"""


def load_breast_cancer(*, return_X_y: bool = False) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """Load the Wisconsin diagnostic breast cancer data set (binary classification).

    569 samples, 30 float features, target 0 = malignant (212) or 1 = benign (357).
    Source: UCI Machine Learning Repository, CC BY 4.0; see ``description``.

    Parameters
    ----------
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a :class:`Dataset`.

    Returns
    -------
    Dataset or tuple of ndarray
        Fresh copies: changing them does not affect later calls.

    Examples
    --------
    >>> from fastmlp.datasets import load_breast_cancer
    >>> ds = load_breast_cancer()
    >>> ds.data.shape, ds.target_names
    ((569, 30), ['malignant', 'benign'])
    >>> ds.feature_names[:3]
    ['radius_mean', 'texture_mean', 'perimeter_mean']
    """
    dataset = _make_dataset("breast_cancer", ["malignant", "benign"], _BREAST_CANCER_DESCRIPTION)
    return _finish(dataset, return_X_y)


def load_digits(*, return_X_y: bool = False) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """Load the 8x8 handwritten digits data set (10-class classification).

    1,797 samples, 64 features with integer values 0..16 (stored as float64), target the
    digit 0..9. Reshape a row with ``row.reshape(8, 8)`` to see the image.
    Source: UCI Machine Learning Repository, CC BY 4.0; see ``description``.

    Parameters
    ----------
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a :class:`Dataset`.

    Returns
    -------
    Dataset or tuple of ndarray
        Fresh copies: changing them does not affect later calls.

    Examples
    --------
    >>> from fastmlp.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X.shape, int(X.max()), sorted(set(y.tolist()))
    ((1797, 64), 16, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    dataset = _make_dataset("digits", [str(d) for d in range(10)], _DIGITS_DESCRIPTION)
    return _finish(dataset, return_X_y)


def load_iris(*, return_X_y: bool = False) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """Load Fisher's iris data set (3-class classification).

    150 samples, 4 features in centimetres, 50 samples of each species.
    Source: UCI Machine Learning Repository, CC BY 4.0; see ``description``.

    Parameters
    ----------
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a :class:`Dataset`.

    Returns
    -------
    Dataset or tuple of ndarray
        Fresh copies: changing them does not affect later calls.

    Examples
    --------
    >>> from fastmlp.datasets import load_iris
    >>> X, y = load_iris()
    >>> X[0].tolist(), int(y[0])
    ([5.1, 3.5, 1.4, 0.2], 0)
    """
    dataset = _make_dataset("iris", ["setosa", "versicolor", "virginica"], _IRIS_DESCRIPTION)
    return _finish(dataset, return_X_y)


def load_diabetes(*, return_X_y: bool = False) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """Load the diabetes progression data set of Efron et al. (2004) (regression).

    442 samples, 10 features in their original, unscaled units (age in years, sex coded
    1/2, body mass index, blood pressure and six serum measurements), float64 target.
    ``target_names`` is ``None``. Standardise the features before training, e.g. with
    :class:`fastmlp.preprocessing.StandardScaler`.

    Parameters
    ----------
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a :class:`Dataset`.

    Returns
    -------
    Dataset or tuple of ndarray
        Fresh copies: changing them does not affect later calls.

    Examples
    --------
    >>> from fastmlp.datasets import load_diabetes
    >>> ds = load_diabetes()
    >>> ds.data.shape, ds.target.dtype, ds.target_names is None
    ((442, 10), dtype('float64'), True)
    >>> ds.feature_names[:4]
    ['age', 'sex', 'bmi', 'bp']
    """
    dataset = _make_dataset("diabetes", None, _DIABETES_DESCRIPTION)
    return _finish(dataset, return_X_y)


_LOADERS: dict[str, Callable[..., Dataset | tuple[np.ndarray, np.ndarray]]] = {
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
    "digits": load_digits,
    "iris": load_iris,
}


def available() -> list[str]:
    """Names of the shipped data sets, in alphabetical order, as :func:`load` takes them.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from fastmlp.datasets import available
    >>> available()
    ['breast_cancer', 'diabetes', 'digits', 'iris']
    """
    return sorted(_LOADERS)


@overload
def load(name: str, *, return_X_y: Literal[False] = ...) -> Dataset: ...
@overload
def load(name: str, *, return_X_y: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def load(name: str, *, return_X_y: bool) -> Dataset | tuple[np.ndarray, np.ndarray]: ...


def load(name: str, *, return_X_y: bool = False) -> Dataset | tuple[np.ndarray, np.ndarray]:
    """Load a shipped data set by name.

    Parameters
    ----------
    name : str
        One of :func:`available`: ``"breast_cancer"``, ``"diabetes"``, ``"digits"``,
        ``"iris"``. Case and hyphens are forgiven (``"Breast-Cancer"`` works).
    return_X_y : bool, default False
        Return ``(data, target)`` instead of a :class:`Dataset`.

    Returns
    -------
    Dataset or tuple of ndarray

    Raises
    ------
    ValueError
        If ``name`` is not a known data set; the message lists the valid names.

    Examples
    --------
    >>> from fastmlp.datasets import load
    >>> load("iris").target_names
    ['setosa', 'versicolor', 'virginica']
    >>> load("mnist")
    Traceback (most recent call last):
    ...
    ValueError: unknown data set 'mnist'; available: 'breast_cancer', 'diabetes', 'digits', 'iris'
    """
    if not isinstance(name, str):
        raise TypeError(f"the data set name must be a string, got {type(name).__name__} "
                        f"{name!r}")
    key = name.strip().lower().replace("-", "_")
    if key not in _LOADERS:
        valid = ", ".join(repr(n) for n in available())
        raise ValueError(f"unknown data set {name!r}; available: {valid}")
    return _LOADERS[key](return_X_y=return_X_y)
