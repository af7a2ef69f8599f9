"""fastmlp: small, dependable, very fast multilayer perceptrons.

Examples
--------
>>> import fastmlp as fm
>>> model = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=2),
...                        fm.Dense(1, activation="sigmoid")], seed=0)
>>> model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
"""
from . import activations, callbacks, initializers, losses, metrics, optimizers
from .backend import available as available_backends
from .backend import backend, use_backend
from .layers import Dense
from .models import Sequential, TrainingDivergedError
from .saving import ModelFileError, load_model, save_model

__version__ = "0.1.0"

__all__ = ["Dense", "ModelFileError", "Sequential", "TrainingDivergedError", "activations",
           "available_backends", "backend", "callbacks", "initializers", "load_model",
           "losses", "metrics", "optimizers", "save_model", "use_backend", "__version__"]
