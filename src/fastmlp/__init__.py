"""fastmlp: small, dependable, very fast multilayer perceptrons.

Examples
--------
>>> import fastmlp as fm
>>> model = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=2),
...                        fm.Dense(1, activation="sigmoid")], seed=0)
>>> model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
"""
from . import (activations, callbacks, datasets, initializers, losses, metrics, optimizers,
               plot, preprocessing, regularizers, utils)
from .backend import available as available_backends
from .backend import backend, use_backend
from .layers import BatchNormalization, Dense, Dropout, Input, LayerNormalization
from .models import Sequential, TrainingDivergedError
from .preprocessing import StandardScaler, train_test_split
from .saving import ModelFileError, load_model, save_model
from ._config import get_blas, set_blas, show_config
from ._version import __version__
from ._threads import get_num_threads, set_num_threads


__all__ = ["BatchNormalization", "Dense", "Dropout", "Input", "LayerNormalization",
           "ModelFileError", "Sequential", "StandardScaler", "TrainingDivergedError",
           "__version__", "activations", "available_backends", "backend", "callbacks",
           "datasets", "get_blas", "get_num_threads", "initializers", "load_model", "losses",
           "metrics", "optimizers", "plot", "preprocessing", "regularizers", "save_model",
           "set_blas", "set_num_threads", "show_config", "train_test_split", "use_backend",
           "utils"]
