"""One lookup policy for every name the package takes (fastmlp._registry.Registry): case
and underscores do not matter, each registry's aliases work, an unknown name raises
ValueError listing the valid names, a name that is not a string raises TypeError."""
import re

import pytest

import fastmlp as fm
from fastmlp import activations, initializers, losses, metrics, optimizers, regularizers
from fastmlp import trajectories
from fastmlp._registry import Registry

# (lookup function returning the canonical name, registry, Keras' class-name spellings)
GETTERS = {
    "activation": (activations.get, activations.ACTIVATIONS,
                   {"ReLU": "relu", "LeakyReLU": "leaky_relu", "HardSigmoid": "hard_sigmoid",
                    "ELU": "elu"}),
    "loss": (losses.get, losses.LOSSES,
             {"MSE": "mean_squared_error", "MeanSquaredError": "mean_squared_error",
              "BinaryCrossentropy": "binary_crossentropy", "Huber": "huber"}),
    "metric": (metrics.get, metrics.METRICS,
               {"Accuracy": "accuracy", "BinaryAccuracy": "binary_accuracy", "AUC": "roc_auc"}),
    "initializer": (initializers.get, initializers.INITIALIZERS,
                    {"GlorotUniform": "glorot_uniform", "HeNormal": "he_normal",
                     "Zeros": "zeros"}),
    "optimizer": (lambda name: optimizers.get(name).name, optimizers.OPTIMIZERS,
                  {"Adam": "adam", "AdaMax": "adamax", "RMSprop": "rmsprop", "SGD": "sgd",
                   "AMSGrad": "amsgrad"}),
    "regularizer": (lambda name: next(k for k, make in regularizers.REGULARIZERS.items()
                                      if make() == regularizers.get(name)),
                    regularizers.REGULARIZERS, {"L1L2": "l1_l2", "L2": "l2"}),
    "surface": (lambda name: trajectories._surface(name).name, trajectories.SURFACES,
                {"Rosenbrock": "rosenbrock"}),
}


@pytest.mark.parametrize("kind", GETTERS)
def test_every_name_in_any_case_and_keras_spelling_finds_its_entry(kind):
    get, registry, spellings = GETTERS[kind]
    for name in registry:
        for spelling in (name, name.upper(), name.title(), name.replace("_", "")):
            assert get(spelling) == name, spelling
            assert spelling in registry and registry[spelling] is registry[name]
    for spelling, name in spellings.items():
        assert get(spelling) == name, spelling


@pytest.mark.parametrize("kind", GETTERS)
def test_unknown_names_and_non_strings_raise_by_one_policy(kind):
    get, registry, _ = GETTERS[kind]
    plural = "losses" if kind == "loss" else kind + "s"
    with pytest.raises(ValueError, match=rf"unknown {kind} 'nonesuch'; valid {plural} are: "
                       + re.escape(", ".join(registry))):
        get("nonesuch")
    with pytest.raises(TypeError, match=rf"{kind} must be a name \(a string\), got int 7"):
        registry.canonical(7)
    assert "nonesuch" not in registry and 7 not in registry
    with pytest.raises(KeyError):
        registry["nonesuch"]


def test_aliases_are_found_but_not_listed():
    assert activations.get(None) == activations.get("Identity") == "linear"
    assert activations.get("Swish") == "silu" and "swish" not in list(activations.ACTIVATIONS)
    assert losses.get("log_loss") == "binary_crossentropy" and losses.LOSSES["BCE"][1] == \
        "sigmoid"
    assert metrics.get("ACC") == "accuracy" and metrics.get("r2_score") == "r2"
    assert optimizers.get("LBFGS").name == "lbfgs" and "lbfgs" not in optimizers.OPTIMIZERS


def test_models_take_any_spelling():
    model = fm.Sequential([fm.Dense(2, activation="ReLU", input_dim=3,
                                    kernel_initializer="GlorotUniform"),
                           fm.Dense(1, activation="Linear")])
    model.compile(optimizer="Adam", loss="MSE", metrics=["MeanAbsoluteError"])
    assert model.layers[0].activation == "relu"


def test_a_registry_refuses_ambiguous_names():
    with pytest.raises(ValueError, match="not a unique name"):
        Registry("thing", {"a_b": 1, "ab": 2})
    with pytest.raises(ValueError, match="not a unique name"):
        Registry("thing", {"a": 1}, aliases={"b": "c"})
