"""Shared fixtures: every backend x dtype, and tolerances per dtype."""
import numpy as np
import pytest

import fastmlp as fm

BACKENDS = fm.available_backends()
DTYPES = ["float32", "float64"]
#: rtol for comparisons between backends or against formulas, per dtype.
TOL = {"float32": 1e-5, "float64": 1e-10}


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each backend this build has (``cython`` and ``numpy`` for a compiled install)."""
    return request.param


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
