"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

Drop-in replacements for :class:`sklearn.neural_network.MLPClassifier` and
:class:`~sklearn.neural_network.MLPRegressor`: the same parameter names where the concept
is the same, the same fitted attributes, and the same objective, trained by a fastmlp
:class:`~fastmlp.Sequential` model (the estimator builds one and keeps it as ``model_``;
there is no second engine). Needs scikit-learn >= 1.6 (``pip install "fastmlp[sklearn]"``).

What is the same as scikit-learn
--------------------------------
*Objective.* scikit-learn minimises, per mini-batch ``B`` with sample weights ``s``,

.. math::  L_B = \\frac{\\sum_{i\\in B} s_i\\, \\ell_i}{\\sum_{i\\in B} s_i}
                 + \\frac{\\alpha}{2 \\sum_{i\\in B} s_i} \\sum_{\\text{layers}} \\lVert W\\rVert^2

with ``l_i`` half the squared error of row ``i`` summed over the outputs (regression), the
summed binary cross-entropy of its outputs (binary and multilabel) or the categorical
cross-entropy (multiclass); the intercepts are not penalised
(``sklearn/neural_network/_base.py``, ``_multilayer_perceptron.py::_backprop``, whose
gradient ``delta = output - y`` is that of these sums). fastmlp's losses are Keras' (a
batch loss is ``sum_i w_i l'_i / |B|`` with ``l'_i`` the *mean* over outputs, the full
squared error), so the estimator passes the per-row weights ``w_i = c s_i / mean(s)``
with ``c = n_outputs / 2`` for regression, ``c = n_outputs`` for sigmoid outputs and
``c = 1`` for softmax, and puts an L2 kernel regularizer
``alpha / (2 * batch_size * mean(s))`` on every layer (:func:`fastmlp.regularizers.l2`,
kernels only). Both objectives are then equal; the only
difference is that scikit-learn normalises the weights by each batch's sum and we by the
training set's mean (identical without weights and in full-batch training). Training
follows the same steps from the same weights, and ``loss_`` and ``loss_curve_`` are
scikit-learn's numbers, except for a regressor with several outputs: scikit-learn
*reports* the squared error averaged over the outputs while its gradient is that of the
sum; we report the objective we descend (the sum), ``n_outputs`` times scikit-learn's data
term.

*Stopping.* ``tol``, ``n_iter_no_change``, ``early_stopping``, ``validation_fraction``
(stratified split for single-output classifiers, validation score = accuracy or R²), the
best weights restored after early stopping, ``learning_rate="adaptive"`` and
``"invscaling"`` (for the SGD solvers) and the :class:`~sklearn.exceptions.ConvergenceWarning`
after ``max_iter`` epochs follow ``_fit_stochastic``. The whole
training runs in one call of ``Sequential.fit`` with a callback that applies those rules at
the end of each epoch.

What is different
-----------------
* ``solver`` names any of fastmlp's ten optimizers (:data:`fastmlp.optimizers.OPTIMIZERS`):
  ``"sgd"`` keeps scikit-learn's meaning (momentum ``momentum``, Nesterov if
  ``nesterovs_momentum``; they are :class:`~fastmlp.optimizers.SGD`,
  :class:`~fastmlp.optimizers.Momentum`, :class:`~fastmlp.optimizers.Nesterov`), ``"adam"``,
  ``"amsgrad"``, ``"adamax"`` and ``"nadam"`` take ``beta_1``, ``beta_2``, ``epsilon``;
  ``"momentum"`` and ``"nesterov"`` take ``momentum``; ``"adagrad"``, ``"adadelta"`` and
  ``"rmsprop"`` keep their own defaults apart from ``learning_rate_init`` (Adadelta wants
  about ``1.0``). An :class:`~fastmlp.optimizers.Optimizer` instance is accepted too (a copy
  is trained; its own hyper-parameters are used). ``"lbfgs"`` is not available.
* ``warm_start=True`` keeps the optimizer's state (moments, step count) between calls to
  ``fit``; scikit-learn's own MLP starts a fresh optimizer every time. Each warm ``fit``
  restarts the learning rate at ``learning_rate_init``; changing ``solver`` or its other
  hyper-parameters between fits starts a fresh optimizer.
* ``activation`` takes fastmlp's hidden activations too (``"elu"``, ``"leaky_relu"``, ...).
* Initial weights are Glorot-uniform with zero intercepts, drawn from a seed taken from
  ``random_state`` (scikit-learn draws the intercepts uniformly too, and uses a narrower
  range for ``activation="logistic"``).
* float32 input trains a float32 network (scikit-learn keeps float32 too); sparse input is
  accepted and densified.
* ``backend`` chooses fastmlp's backend for this estimator (default: the active one).

Examples
--------
>>> from fastmlp.sklearn import MLPClassifier
>>> from fastmlp.datasets import load_iris
>>> X, y = load_iris()
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, y)
>>> clf.score(X, y) > 0.9
True
"""
from __future__ import annotations

import copy
import math
import numbers
import warnings
from typing import Any

import numpy as np

try:
    import scipy.sparse as _sparse
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import (check_classification_targets, type_of_target,
                                          unique_labels)
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("fastmlp.sklearn needs scikit-learn >= 1.6: "
                      "pip install 'fastmlp[sklearn]'") from exc

from . import activations, optimizers, regularizers
from ._validation import as_sample_weight, check_int
from .callbacks import Callback
from .layers import Dense
from .models import Sequential

__all__ = ["MLPClassifier", "MLPRegressor"]

#: Solvers whose learning rate follows ``learning_rate`` (scikit-learn's "sgd" family).
_SGD_SOLVERS = ("sgd", "momentum", "nesterov")
#: Solvers that take ``beta_1``, ``beta_2`` and ``epsilon``.
_ADAM_SOLVERS = ("adam", "amsgrad", "adamax", "nadam")
#: scikit-learn's names of the output activations, by fastmlp name.
_SKLEARN_OUT = {"sigmoid": "logistic", "softmax": "softmax", "linear": "identity"}
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _check_real(name: str, value: Any, low: float, *, low_open: bool = False,
                high: float | None = None, high_open: bool = True) -> float:
    """A finite real number in the given interval (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    bad = (not math.isfinite(value) or value < low or (low_open and value == low)
           or (high is not None and (value > high or (high_open and value == high))))
    if bad:
        interval = (("(" if low_open else "[") + f"{low}, "
                    + ("inf)" if high is None else f"{high}" + (")" if high_open else "]")))
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def _config(opt: optimizers.Optimizer) -> dict[str, Any]:
    """An optimizer's hyper-parameters apart from its learning rate."""
    return {k: v for k, v in opt.get_config().items() if k != "learning_rate"}


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class _EpochRules(Callback):
    """scikit-learn's end-of-epoch rules (``_fit_stochastic``) as a fastmlp callback:
    records ``loss_curve_``, counts epochs without improvement, keeps the best weights
    under early stopping, adapts the SGD learning rate, stops training."""

    def __init__(self, est: _BaseMLP, n_train: int, validation: tuple | None,
                 sgd_schedule: bool) -> None:
        self.est = est
        self.n_train = n_train
        self.validation = validation
        self.sgd_schedule = sgd_schedule
        self.converged = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        est, model = self.est, self.model
        loss = float(logs["loss"])
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        tol = est.tol
        if self.validation is not None:
            X_val, y_val, sw_val = self.validation
            score = est._score_arrays(X_val, y_val, sw_val)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < est.best_validation_score_ + tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = model.get_weights()
            what = "Validation score"
        else:
            if loss > est.best_loss_ - tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)
            what = "Training loss"
        opt = model.optimizer
        if self.sgd_schedule and est.learning_rate == "invscaling":
            opt.learning_rate = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            msg = (f"{what} did not improve more than tol={tol:f} for "
                   f"{est.n_iter_no_change} consecutive epochs.")
            if self.sgd_schedule and est.learning_rate == "adaptive" \
                    and opt.learning_rate > 1e-6:
                opt.learning_rate = opt.learning_rate / 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{msg} Setting learning rate to {opt.learning_rate:f}")
            else:
                if est.verbose:
                    print(f"{msg} Stopping.")
                self.converged = True
                model.stop_training = True


class _BaseMLP(BaseEstimator):
    """Shared parameters, validation and training loop of the two estimators."""

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str | optimizers.Optimizer = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True, random_state: Any = None,
                 tol: float = 1e-4, verbose: bool | int = False, warm_start: bool = False,
                 momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int | float = 10, backend: str | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.backend = backend

    # ------------------------------------------------------------------------------------
    # what the subclasses define
    # ------------------------------------------------------------------------------------
    def _validate_input(self, X, y, incremental: bool, reset: bool):  # pragma: no cover
        raise NotImplementedError

    def _output(self) -> tuple[str, str, float]:  # pragma: no cover
        """(fastmlp output activation, loss, loss scale c) for the current targets."""
        raise NotImplementedError

    def _score_arrays(self, X, y, sample_weight) -> float:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------------------------
    # parameters
    # ------------------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (numbers.Integral, np.integer)) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be an int or a sequence of ints, got "
                             f"{self.hidden_layer_sizes!r}") from None
        return [check_int(f"hidden_layer_sizes[{i}]", s, 1) for i, s in enumerate(sizes)]

    def _check_params(self) -> None:
        """Check the hyper-parameters fastmlp's own objects do not check themselves."""
        activation = activations.get(self.activation)
        if activation == "softmax":
            raise ValueError("activation='softmax' is only used for the output layer; choose "
                             "a hidden activation such as 'relu', 'tanh' or 'logistic'")
        self._solver_name()
        _check_real("alpha", self.alpha, 0.0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int("batch_size", self.batch_size, 1)
        if self.learning_rate not in _LEARNING_RATES:
            raise ValueError(f"learning_rate must be one of {', '.join(_LEARNING_RATES)}, "
                             f"got {self.learning_rate!r}")
        _check_real("learning_rate_init", self.learning_rate_init, 0.0, low_open=True)
        _check_real("power_t", self.power_t, 0.0)
        check_int("max_iter", self.max_iter, 1)
        _check_real("tol", self.tol, 0.0)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            _check_bool(name, getattr(self, name))
        _check_real("validation_fraction", self.validation_fraction, 0.0, low_open=True,
                    high=1.0)
        if self.n_iter_no_change != np.inf:
            check_int("n_iter_no_change", self.n_iter_no_change, 1)
        _check_real("momentum", self.momentum, 0.0, high=1.0, high_open=False)

    def _solver_name(self) -> str:
        if isinstance(self.solver, optimizers.Optimizer):
            return self.solver.name
        if isinstance(self.solver, str) and self.solver in optimizers.OPTIMIZERS:
            return self.solver.lower()
        hint = (" ('lbfgs' is not available in fastmlp; 'adam' is the usual choice)"
                if self.solver == "lbfgs" else "")
        raise ValueError(f"unknown solver {self.solver!r}{hint}; valid solvers are: "
                         f"{', '.join(optimizers.OPTIMIZERS)} (or a "
                         f"fastmlp.optimizers.Optimizer instance)")

    def _make_optimizer(self) -> optimizers.Optimizer:
        """A fresh optimizer for ``solver`` with scikit-learn's hyper-parameters."""
        if isinstance(self.solver, optimizers.Optimizer):
            return copy.deepcopy(self.solver)
        name, lr = self._solver_name(), self.learning_rate_init
        if name == "sgd":
            if self.momentum == 0:
                return optimizers.SGD(learning_rate=lr)
            cls = optimizers.Nesterov if self.nesterovs_momentum else optimizers.Momentum
            return cls(learning_rate=lr, momentum=self.momentum)
        if name in ("momentum", "nesterov"):
            return optimizers.OPTIMIZERS[name](learning_rate=lr, momentum=self.momentum)
        if name in _ADAM_SOLVERS:
            return optimizers.OPTIMIZERS[name](learning_rate=lr, beta_1=self.beta_1,
                                               beta_2=self.beta_2, epsilon=self.epsilon)
        return optimizers.OPTIMIZERS[name](learning_rate=lr)

    # ------------------------------------------------------------------------------------
    # fitted attributes read from the model
    # ------------------------------------------------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices ``W (n_in, n_out)`` of each layer (the model's own arrays)."""
        return [layer.W for layer in self.model_.layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors ``b (n_out,)`` of each layer (the model's own arrays)."""
        return [layer.b for layer in self.model_.layers]

    def _validated_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32), reset=False)
        return X.toarray() if _sparse.issparse(X) else X

    def _forward(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)

    # ------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------
    def _build(self, n_features: int, dtype: np.dtype, seed: int) -> None:
        out_activation, loss, _ = self._output()
        act = activations.get(self.activation)
        layers = [Dense(h, activation=act) for h in self._hidden_sizes()]
        layers.append(Dense(self.n_outputs_, activation=out_activation))
        model = Sequential(layers, seed=seed, dtype=dtype, backend=self.backend,
                           name=type(self).__name__)
        model.build(n_features)
        model.compile(optimizer=self._make_optimizer(), loss=loss)
        self.model_ = model
        self._penalty = 0.0
        self.n_layers_ = len(layers) + 1
        self.out_activation_ = _SKLEARN_OUT[out_activation]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        self._best_weights = None
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _configure(self, first_pass: bool, incremental: bool, penalty: float) -> None:
        """Bring the model's optimizer and L2 penalty in line with the parameters.

        ``partial_fit`` continues with the optimizer as it is. A warm ``fit`` keeps the
        optimizer and its state when the solver and its hyper-parameters are unchanged
        (restarting the learning rate at ``learning_rate_init``), and starts a fresh one
        otherwise. The kernel penalty ``penalty * sum(W**2)`` depends on the batch size,
        so it is set at every call; the model is recompiled only when something changed.
        """
        model = self.model_
        opt = model.optimizer
        if not first_pass and not incremental:
            wanted = self._make_optimizer()
            if type(wanted) is not type(opt) or _config(wanted) != _config(opt):
                opt = wanted
            elif not isinstance(self.solver, optimizers.Optimizer):
                opt.learning_rate = self.learning_rate_init
        if opt is model.optimizer and penalty == self._penalty:
            return
        reg = regularizers.l2(penalty) if penalty > 0 else None
        for layer in model.layers:
            layer.kernel_regularizer = reg
        # compiling with the same optimizer instance keeps its state; engines are rebuilt
        model.compile(optimizer=opt, loss=model.loss)
        self._penalty = penalty

    def _fit(self, X, y, sample_weight=None, incremental: bool = False):
        self._check_params()
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if _sparse.issparse(X):
            X = X.toarray()
        n_samples = X.shape[0]
        if sample_weight is not None:
            sample_weight = as_sample_weight(sample_weight, None, None, "", Y.shape[1],
                                             n_samples, np.float64)
        rng = check_random_state(self.random_state)
        if first_pass:
            self.n_outputs_ = Y.shape[1]
            self._build(X.shape[1], X.dtype, int(rng.randint(np.iinfo(np.int32).max)))
        model = self.model_

        validation = None
        X_train, Y_train, sw_train = X, Y, sample_weight
        if self.early_stopping:
            stratify = y if (isinstance(self, ClassifierMixin) and y.ndim == 1) else None
            parts = train_test_split(X, Y, y, *([] if sample_weight is None
                                                else [sample_weight]),
                                     random_state=rng, test_size=self.validation_fraction,
                                     stratify=stratify)
            X_train, X_val, Y_train, _, _, y_val = parts[:6]
            sw_train, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None,
                                                                                       None)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            validation = (X_val, y_val, sw_val)
        n_train = X_train.shape[0]

        if self.batch_size == "auto":
            batch_size = min(200, n_train)
        else:
            if self.batch_size > n_train:
                warnings.warn("Got `batch_size` larger than the number of training samples "
                              f"({self.batch_size} > {n_train}); it is clipped to "
                              f"{n_train}", UserWarning, stacklevel=3)
            batch_size = min(self.batch_size, n_train)

        # scikit-learn's objective from fastmlp's loss: row weights and an L2 kernel penalty
        _, _, scale = self._output()
        mean_weight = 1.0
        weights = None
        if sw_train is not None:
            mean_weight = float(sw_train.mean())
            if mean_weight <= 0:
                raise ValueError("sample_weight: the weights of the training samples sum to "
                                 "zero; at least one must be positive")
            weights = sw_train * (scale / mean_weight)
        elif scale != 1.0:
            weights = np.full(n_train, scale)
        if weights is not None and np.all(weights == 1.0):
            weights = None

        self._configure(first_pass, incremental,
                        self.alpha / (2.0 * batch_size * mean_weight))
        sgd_schedule = self._solver_name() in _SGD_SOLVERS and not isinstance(
            self.solver, optimizers.Optimizer)
        if self.early_stopping and self.validation_scores_ is None:
            # a warm fit switching early stopping on (scikit-learn fails here)
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        elif not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        rules = _EpochRules(self, n_train, validation, sgd_schedule)
        self.n_iter_ = 0
        epochs = 1 if incremental else self.max_iter
        model.fit(X_train, Y_train, epochs=epochs, batch_size=batch_size,
                  shuffle=self.shuffle, verbose=0, callbacks=[rules], sample_weight=weights)
        if not incremental and not rules.converged and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=3)
        if self.early_stopping and self._best_weights is not None:
            model.set_weights(self._best_weights)
        return self

    def fit(self, X, y, sample_weight=None):
        """Train on ``(X, y)`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like or sparse matrix (n_samples, n_features)
            float32 input trains a float32 network; anything else float64.
        y : array-like (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like (n_samples,), optional
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier with scikit-learn's interface, trained by fastmlp.

    Binary (one sigmoid output, ``out_activation_ == "logistic"``), multiclass (softmax,
    ``"softmax"``) and multilabel (one sigmoid per label) targets; any label type
    (``classes_`` holds them sorted). Parameters are those of
    :class:`sklearn.neural_network.MLPClassifier` (see the module documentation for the
    differences) plus ``backend``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
    activation : str, default "relu"
        "identity", "logistic", "tanh", "relu" or another fastmlp hidden activation.
    solver : str or fastmlp.optimizers.Optimizer, default "adam"
        Any of fastmlp's ten optimizers by name ("sgd" with ``momentum`` and
        ``nesterovs_momentum`` as in scikit-learn).
    alpha : float, default 1e-4
        L2 penalty on the weight matrices (scikit-learn's formula).
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Schedule of the SGD solvers ("sgd", "momentum", "nesterov").
    learning_rate_init : float, default 1e-3
    power_t : float, default 0.5
    max_iter : int, default 200
        Maximum number of epochs.
    shuffle : bool, default True
    random_state : int, RandomState or None
    tol : float, default 1e-4
    verbose : bool, default False
    warm_start : bool, default False
        Continue from the previous fit, with the optimizer's state.
    momentum : float, default 0.9
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
    n_iter_no_change : int, default 10
    backend : {"cython", "numpy"}, optional

    Attributes
    ----------
    classes_ : ndarray
    model_ : fastmlp.Sequential
        The trained network.
    coefs_, intercepts_ : list of ndarray
        Each layer's ``W (n_in, n_out)`` and ``b (n_out,)``, the model's own arrays.
    loss_, best_loss_ : float
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    n_iter_, t_, n_layers_, n_outputs_, n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.
    out_activation_ : str

    Examples
    --------
    >>> from fastmlp.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer()
    >>> clf = make_pipeline(StandardScaler(),
    ...                     MLPClassifier((32,), max_iter=50, random_state=0)).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    def _output(self) -> tuple[str, str, float]:
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax", "categorical_crossentropy", 1.0
        return "sigmoid", "binary_crossentropy", float(self.n_outputs_)

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same "
                                     "classes as in the previous call to fit. Previously "
                                     f"got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {classes}.")
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        return X, y, Y

    def _decode(self, P: np.ndarray) -> np.ndarray:
        if self.n_outputs_ == 1:
            P = P.ravel()
        return self._label_binarizer.inverse_transform(P)

    def _score_arrays(self, X, y, sample_weight) -> float:
        return float(accuracy_score(y, self._decode(self._forward(X)),
                                    sample_weight=sample_weight))

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
        y : array-like (n_samples,) or (n_samples, n_labels)
        classes : array-like, optional
            All the classes; required on the first call (not for multilabel ``y``).
        sample_weight : array-like (n_samples,), optional

        Returns
        -------
        self
        """
        first = getattr(self, "classes_", None) is None
        if first and classes is None:
            if type_of_target(y).startswith("multilabel"):
                classes = np.arange(np.asarray(y).shape[1])
            else:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            classes = unique_labels(classes)
            if not first and not np.array_equal(self.classes_, classes):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {self.classes_!r}")
            if first:
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
                self.classes_ = self._label_binarizer.classes_
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (n_samples,) or, for multilabel, indicators (n_samples, n_labels).
        """
        return self._decode(self._forward(self._validated_X(X)))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n_samples, n_classes); for multilabel each label's
        probability (n_samples, n_labels)."""
        P = self._forward(self._validated_X(X))
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            P = np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor with scikit-learn's interface, trained by fastmlp.

    Minimises half the mean squared error plus ``alpha``'s L2 penalty, as
    :class:`sklearn.neural_network.MLPRegressor` does, with a linear output
    (``out_activation_ == "identity"``); ``y`` may have several columns. The parameters
    and attributes are those of :class:`MLPClassifier` (without ``classes_``).

    Examples
    --------
    >>> from fastmlp.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_diabetes()
    >>> reg = make_pipeline(StandardScaler(), MLPRegressor((32,), learning_rate_init=0.01,
    ...                                                    max_iter=300, random_state=0))
    >>> reg.fit(X, y).score(X, y) > 0.4
    True
    """

    def _output(self) -> tuple[str, str, float]:
        # scikit-learn's gradient is that of half the squared error summed over the outputs
        return "linear", "mean_squared_error", 0.5 * self.n_outputs_

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = np.asarray(y, dtype=X.dtype).reshape(y.shape[0], -1)
        if not reset and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} output(s), but the model was trained with "
                             f"{self.n_outputs_}")
        return X, y, Y

    def _score_arrays(self, X, y, sample_weight) -> float:
        return float(r2_score(y, self._predict_array(X), sample_weight=sample_weight))

    def _predict_array(self, X: np.ndarray) -> np.ndarray:
        P = self._forward(X)
        return P.ravel() if P.shape[1] == 1 else P

    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predictions (n_samples,) or (n_samples, n_outputs)."""
        return self._predict_array(self._validated_X(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
