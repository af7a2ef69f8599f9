"""The ids and layouts shared by Python and the compiled kernels have one definition,
``fastmlp/_ids.py``; setup.py generates the kernels' enum from it. Every level built must
hold exactly those numbers (a build older than an edit of _ids.py fails here), and the
Python tables must take their ids from it."""
import importlib

import pytest

from fastmlp import _ids, activations, losses, optimizers
from fastmlp.backend import cpu_levels

SHARED = {name: value for name, value in vars(_ids).items()
          if name.isupper() and type(value) is int}
CONSTANTS = {name: value for name, value in vars(_ids).items()
             if name.isupper() and type(value) is float}
_, BUILT = cpu_levels()


def test_the_definition_holds_each_group_once_without_gaps():
    for prefix in ("ACT_", "LOSS_", "OPT_", "SCHEDULE_"):
        values = sorted(v for k, v in SHARED.items() if k.startswith(prefix))
        assert values == list(range(len(values))), prefix
    layout = {k: v for k, v in SHARED.items() if k.startswith("HYPER_")}
    assert len(set(layout.values())) == len(layout)
    assert max(layout.values()) < _ids.N_HYPER
    assert _ids.HYPER_SCHEDULE - _ids.HYPER_RULE == 6  # the six rule slots


@pytest.mark.parametrize("level", BUILT)
def test_every_compiled_level_was_built_from_the_definition(level):
    kernels = importlib.import_module(f"fastmlp.backend._{level}._kernels")
    compiled = {name: getattr(kernels, name, None) for name in SHARED}
    assert compiled == SHARED


@pytest.mark.parametrize("level", BUILT)
def test_every_compiled_level_has_the_constants_of_the_definition(level):
    kernels = importlib.import_module(f"fastmlp.backend._{level}._kernels")
    assert kernels.fixed_constants() == CONSTANTS


def test_python_tables_use_the_definition():
    assert sorted(activations.ACTIVATIONS.values()) == sorted(
        v for k, v in SHARED.items() if k.startswith("ACT_"))
    assert {loss_id for loss_id, _ in losses.LOSSES.values()} == {
        v for k, v in SHARED.items() if k.startswith("LOSS_")}
    assert {cls.kind for cls in optimizers.OPTIMIZERS.values()} == {
        v for k, v in SHARED.items() if k.startswith("OPT_")}
    assert optimizers.SGD().hyper().shape == (_ids.N_HYPER,)
    assert activations.LEAKY_RELU_SLOPE == _ids.LEAKY_RELU_SLOPE
    assert activations.SELU_SCALE == _ids.SELU_SCALE
    assert losses.HUBER_DELTA == _ids.HUBER_DELTA
