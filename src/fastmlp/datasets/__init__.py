"""Data sets: small real ones shipped with the package, and seeded synthetic generators.

Real data sets (read offline from gzip CSV files inside the package)
--------------------------------------------------------------------
load_breast_cancer, load_digits, load_iris, load_diabetes
    Each returns a :class:`Dataset` (``data``, ``target``, ``feature_names``,
    ``target_names``, ``description``, ``name``) that unpacks as ``X, y``.
available, load
    The registry: ``load("iris")`` is ``load_iris()``.

Synthetic generators (``seed``: int, None or ``numpy.random.Generator``)
------------------------------------------------------------------------
make_moons, make_circles, make_xor, make_spirals, make_blobs, make_regression
    Each returns ``(X, y)``; ``xor_truth_table()`` gives the exact four-row XOR table.

Examples
--------
>>> from fastmlp import datasets
>>> datasets.available()
['breast_cancer', 'diabetes', 'digits', 'iris']
>>> X, y = datasets.load("breast_cancer")
>>> X.shape, y.shape
((569, 30), (569,))
>>> X, y = datasets.make_moons(n_samples=200, noise=0.1, seed=0)
>>> X.shape, y.dtype
((200, 2), dtype('int64'))
"""
from . import _generators, _loaders
from ._generators import (
    make_blobs,
    make_circles,
    make_moons,
    make_regression,
    make_spirals,
    make_xor,
    xor_truth_table,
)
from ._loaders import (
    Dataset,
    available,
    load,
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
)

__all__ = [*_loaders.__all__, *_generators.__all__]
