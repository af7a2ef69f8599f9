"""One vocabulary and one exception policy for scalar parameters (fastmlp._scalars):
the wrong type raises ParamTypeError (a TypeError, and a ValueError as scikit-learn's
InvalidParameterError is both); a value out of range, not finite or not among the
choices raises a plain ValueError. Messages name the parameter, the condition and the
value."""
import math

import numpy as np
import pytest

import fastmlp as fm
from fastmlp import callbacks as C
from fastmlp import optimizers as O
from fastmlp._scalars import (FRACTION, POSITIVE, Interval, ParamTypeError, check_choice,
                              check_flag, check_int, check_real)


def test_check_int_takes_python_and_numpy_integers_only():
    assert check_int("n", np.int32(3), 1) == 3 and type(check_int("n", np.int64(3))) is int
    for bad in (True, np.bool_(True), 2.0, "2", None):
        with pytest.raises(ParamTypeError, match=r"n must be an integer >= 1, got "):
            check_int("n", bad, 1)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1 and <= 3, got 4") as info:
        check_int("n", 4, 1, 3)
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize("interval, inside, outside", [
    (POSITIVE, [1e-300, 5], [(0, "> 0.0"), (-1, "> 0.0")]),
    (FRACTION, [0, 0.5, np.float32(0.99)], [(1, "< 1.0"), (-0.1, ">= 0.0")]),
    (Interval(0.0, 1.0, "both"), [0, 1], [(1.5, "<= 1.0")]),
    (Interval(None, 2.0, "neither"), [-1e300, 1.9], [(2, "< 2.0")]),
])
def test_check_real_reports_the_bound_it_breaks(interval, inside, outside):
    for value in inside:
        assert check_real("x", value, interval) == float(value)
    for value, bound in outside:
        with pytest.raises(ValueError, match=rf"x must be {bound}, got {value!r}") as info:
            check_real("x", value, interval)
        assert not isinstance(info.value, TypeError)


def test_check_real_refuses_non_numbers_and_non_finite_values():
    for bad in (True, "0.1", None, 1j, [1.0]):
        with pytest.raises(ParamTypeError, match="x must be a real number, got "):
            check_real("x", bad)
    for bad in (math.nan, math.inf, -np.inf):
        with pytest.raises(ValueError, match="x must be finite") as info:
            check_real("x", bad)
        assert not isinstance(info.value, TypeError)


def test_flags_and_choices():
    assert check_flag("f", np.bool_(False)) is False
    for bad in (1, 0, "True", None):
        with pytest.raises(ParamTypeError, match="f must be True or False"):
            check_flag("f", bad)
    assert check_choice("mode", "min", ("min", "max")) == "min"
    with pytest.raises(ValueError, match="mode must be one of min, max, got 'avg'"):
        check_choice("mode", "avg", ("min", "max"))


def test_param_type_error_is_both_kinds():
    assert issubclass(ParamTypeError, TypeError) and issubclass(ParamTypeError, ValueError)


# (a public call with a bad scalar, whether it is a type error)
CASES = [
    (lambda: fm.Dense("3"), True), (lambda: fm.Dense(0), False),
    (lambda: fm.Dropout(True), True), (lambda: fm.Dropout(1.0), False),
    (lambda: fm.BatchNormalization(momentum="0.9"), True),
    (lambda: fm.BatchNormalization(center=1), True),
    (lambda: O.Adam(beta_1="0.9"), True), (lambda: O.Adam(beta_1=1.0), False),
    (lambda: O.SGD(learning_rate=math.nan), False), (lambda: O.Momentum(nesterov=1), True),
    (lambda: O.LBFGS(max_iter=0), False), (lambda: O.Warmup(0.1, warmup_steps=1.5), True),
    (lambda: fm.regularizers.l2("a"), True), (lambda: fm.regularizers.l2(-1.0), False),
    (lambda: C.EarlyStopping(patience=1.5), True), (lambda: C.EarlyStopping(patience=-1), False),
    (lambda: C.ReduceLROnPlateau(factor=0), False), (lambda: C.CSVLogger("x", append=1), True),
    (lambda: fm.datasets.make_moons(n_samples=2.5), True),
    (lambda: fm.datasets.make_moons(noise=-1.0), False),
    (lambda: fm.set_num_threads(0), False),
    (lambda: fm.activations.get(3), True), (lambda: fm.losses.get("nonesuch"), False),
]


@pytest.mark.parametrize("call, type_error", CASES)
def test_public_calls_follow_the_policy(call, type_error):
    with pytest.raises(ValueError) as info:
        call()
    assert isinstance(info.value, TypeError) == type_error, info.value
