"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

Drop-in replacements for :class:`sklearn.neural_network.MLPClassifier` and
:class:`~sklearn.neural_network.MLPRegressor`: the same parameter names where the concept
is the same, the same fitted attributes, and the same objective, trained by a fastmlp
:class:`~fastmlp.Sequential` model (the estimator builds one and keeps it as ``model_``;
there is no second engine). Needs scikit-learn >= 1.7 (``pip install "fastmlp[sklearn]"``).

What is the same as scikit-learn
--------------------------------
*Objective.* scikit-learn minimises, per mini-batch ``B`` with sample weights ``s``,

.. math::  L_B = \\frac{\\sum_{i\\in B} s_i\\, \\ell_i}{\\sum_{i\\in B} s_i}
                 + \\frac{\\alpha}{2 \\sum_{i\\in B} s_i} \\sum_{\\text{layers}} \\lVert W\\rVert^2

with ``l_i`` half the squared error of row ``i`` summed over the outputs (regression,
``loss="squared_error"``), half its Poisson deviance summed over the outputs with an
``exp`` output (``loss="poisson"``), the summed binary cross-entropy of its outputs
(binary and multilabel) or the categorical cross-entropy (multiclass); the intercepts are
not penalised
(``sklearn/neural_network/_base.py``, ``_multilayer_perceptron.py::_backprop``, whose
gradient ``delta = output - y`` is that of these sums). fastmlp's losses are Keras' (a
batch loss is ``sum_i w_i l'_i / |B|`` with ``l'_i`` the *mean* over outputs, the full
squared error), so the estimator passes the per-row weights ``w_i = c s_i / mean(s)``
with ``c = n_outputs / 2`` for squared error, ``c = n_outputs`` for sigmoid and Poisson
outputs and ``c = 1`` for softmax, and puts an L2 kernel regularizer
``alpha / (2 * rows * mean(s))`` on every layer (:func:`fastmlp.regularizers.l2`,
kernels only; ``rows`` is each batch's, so a short last batch is penalised as
scikit-learn does). With sample weights each training batch is then rescaled by
``rows * mean(s) / sum_B s``, scikit-learn's normalisation by the batch's weight sum.
Both objectives are then equal. ``loss_`` and ``loss_curve_`` are
scikit-learn's numbers (the Poisson deviance's weight-free part ``y log y - y`` added),
except for a regressor with several outputs trained by a stochastic solver: scikit-learn
*reports* the squared error averaged over the outputs while its gradient is that of the
sum; ``loss_curve_`` holds the objective we descend (the sum), ``n_outputs`` times
scikit-learn's data term. (``solver="lbfgs"`` hands SciPy and reports scikit-learn's
value, since L-BFGS's line search and stopping rule read it.)

*Steps.* With the same ``random_state`` the estimators draw scikit-learn's initial
weights (``_init_coef``: Glorot-uniform kernels *and* intercepts, a narrower range for
``activation="logistic"``, from a fresh ``RandomState`` at every ``fit``), split off the
same validation set and visit the batches in scikit-learn's order (its
``shuffle(sample_idx, random_state)`` each epoch); ``"sgd"`` and ``"adam"`` take its
update rules (a velocity holding learning rate times gradients,
:class:`~fastmlp.optimizers.Momentum`'s ``velocity_mode="keras"``, which matters under
``"invscaling"`` and ``"adaptive"``; Adam with epsilon added to ``sqrt(v)``,
:class:`~fastmlp.optimizers.Adam`'s ``epsilon_mode="keras"``). The same settings then
give scikit-learn's model to float
rounding (``tests/test_sklearn_exact.py``: 1e-8 after 20 epochs). ``solver="lbfgs"``
minimises the same full-batch objective with the same call,
``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` with ``maxiter=max_iter``,
``maxfun=max_fun``, ``gtol=tol``, from one compiled loss-and-gradient call per
evaluation; ``n_iter_``, ``loss_`` and its :class:`~sklearn.exceptions.ConvergenceWarning`
are scikit-learn's.

*Stopping.* ``tol``, ``n_iter_no_change``, ``early_stopping``, ``validation_fraction``
(split stratified on the binarized target for single-output classifiers, validation
score = accuracy or R²), the best weights restored after early stopping,
``learning_rate="adaptive"`` and ``"invscaling"`` (for the SGD solvers) and the
:class:`~sklearn.exceptions.ConvergenceWarning` after ``max_iter`` epochs follow
``_fit_stochastic``. The whole training runs in one call of ``Sequential.fit`` with a
callback that applies those rules at the end of each epoch.

*Divergence.* With ``early_stopping=True``, once the loss stops being finite every
remaining epoch records a ``nan`` loss and validation score (scikit-learn trains on with
``nan`` weights; here the model stops at the diverging batch and those epochs are only
recorded), the run ends at ``max_iter`` with a ConvergenceWarning and the best weights
come back, so ``cross_val_score`` works. Without it, ``fit`` raises scikit-learn's
``ValueError("Solver produced non-finite parameter weights. ...")``. (The Sequential API
keeps its own rule: :class:`~fastmlp.TrainingDivergedError`.)

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
  is trained; its own hyper-parameters are used), and ``"lbfgs"``.
* ``activation`` takes fastmlp's hidden activations too (``"elu"``, ``"leaky_relu"``, ...).
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
import itertools
import numbers
import warnings
from collections.abc import Callable
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
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import (check_classification_targets, type_of_target,
                                          unique_labels)
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("fastmlp.sklearn needs scikit-learn >= 1.7: "
                      "pip install 'fastmlp[sklearn]'") from exc

from . import activations, optimizers, regularizers
from ._lbfgs import FlatObjective
from ._scalars import (FRACTION, NON_NEGATIVE, OPEN_FRACTION, POSITIVE, Interval, check_flag,
                       check_int, check_real)
from ._validation import as_sample_weight, check_counts
from .callbacks import Callback
from .layers import Dense
from .models import Sequential, TrainingDivergedError

__all__ = ["MLPClassifier", "MLPRegressor"]

#: Solvers whose learning rate follows ``learning_rate`` (scikit-learn's "sgd" family).
_SGD_SOLVERS = ("sgd", "momentum", "nesterov")
#: Solvers that take ``beta_1``, ``beta_2`` and ``epsilon``.
_ADAM_SOLVERS = ("adam", "amsgrad", "adamax", "nadam")
#: scikit-learn's names of the output activations, by fastmlp name.
_SKLEARN_OUT = {"sigmoid": "logistic", "softmax": "softmax", "linear": "identity",
                "exponential": "exp"}
_LEARNING_RATES = ("constant", "invscaling", "adaptive")
_REGRESSION_LOSSES = ("squared_error", "poisson")
#: scikit-learn's error for non-finite weights after training (``_fit``), word for word.
_NONFINITE_MESSAGE = ("Solver produced non-finite parameter weights. The input data may "
                      "contain large values and need to be preprocessed.")


class _SklearnOrder:
    """Stands in for a model's random generator during ``Sequential.fit``: each
    ``permutation(n)`` is the next epoch's row order as ``_fit_stochastic`` draws it,
    ``sample_idx = shuffle(sample_idx, random_state=rng)`` on the estimator's
    ``RandomState``, so that the batches hold scikit-learn's rows in its order.

    ``sklearn.utils.shuffle`` is ``resample(replace=False)``, which draws
    ``indices = arange(n); rng.shuffle(indices)`` and returns ``sample_idx[indices]``
    (``sklearn/utils/_indexing.py``); done here directly, without its parameter
    validation (a third of a millisecond per epoch)."""

    def __init__(self, random_state: np.random.RandomState) -> None:
        self.random_state = random_state
        self.sample_idx: np.ndarray | None = None

    def permutation(self, n: int) -> np.ndarray:
        if self.sample_idx is None or self.sample_idx.shape[0] != n:
            self.sample_idx = np.arange(n, dtype=int)
        indices = np.arange(n)
        self.random_state.shuffle(indices)
        self.sample_idx = self.sample_idx[indices]
        return self.sample_idx


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
        #: the weight-free part of scikit-learn's loss, added to the reported loss
        self.loss_offset = est._loss_offset(est._Y_train, est._sw_train)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        est, model = self.est, self.model
        assert logs is not None, "fit passes the epoch's logs"
        loss = float(logs["loss"]) + self.loss_offset
        est.n_iter_ += 1
        est.t_ += self.n_train
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        tol = est.tol
        if self.validation is not None:
            X_val, y_val, sw_val = self.validation
            assert est.validation_scores_ is not None and est.best_validation_score_ is not None
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
            assert est.best_loss_ is not None, "set by _build without early stopping"
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
                 n_iter_no_change: int | float = 10, max_fun: int = 15000,
                 backend: str | None = None) -> None:
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
        self.max_fun = max_fun
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
        check_real("alpha", self.alpha, NON_NEGATIVE)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            check_int("batch_size", self.batch_size, 1)
        if self.learning_rate not in _LEARNING_RATES:
            raise ValueError(f"learning_rate must be one of {', '.join(_LEARNING_RATES)}, "
                             f"got {self.learning_rate!r}")
        check_real("learning_rate_init", self.learning_rate_init, POSITIVE)
        check_real("power_t", self.power_t, NON_NEGATIVE)
        check_int("max_iter", self.max_iter, 1)
        check_real("tol", self.tol, NON_NEGATIVE)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            check_flag(name, getattr(self, name))
        check_real("validation_fraction", self.validation_fraction, OPEN_FRACTION)
        if self.n_iter_no_change != np.inf:
            check_int("n_iter_no_change", self.n_iter_no_change, 1)
        check_real("momentum", self.momentum, Interval(0.0, 1.0, "both"))
        check_int("max_fun", self.max_fun, 1)
        for name in ("beta_1", "beta_2"):
            check_real(name, getattr(self, name), FRACTION)
        check_real("epsilon", self.epsilon, POSITIVE)

    def _solver_name(self) -> str:
        if isinstance(self.solver, optimizers.Optimizer):
            return self.solver.name
        if isinstance(self.solver, str) and self.solver in optimizers.OPTIMIZERS:
            return optimizers.OPTIMIZERS.canonical(self.solver)
        if isinstance(self.solver, str) and self.solver.lower() == "lbfgs":
            return "lbfgs"
        raise ValueError(f"unknown solver {self.solver!r}; valid solvers are: lbfgs, "
                         f"{', '.join(optimizers.OPTIMIZERS)} (or a "
                         f"fastmlp.optimizers.Optimizer instance)")

    def _stochastic(self) -> bool:
        """Whether ``partial_fit`` is available: every solver but L-BFGS (scikit-learn
        raises AttributeError on ``partial_fit`` of ``solver="lbfgs"``)."""
        if self._solver_name() == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "lbfgs is not stochastic.")
        return True

    def _make_optimizer(self) -> optimizers.Optimizer:
        """A fresh optimizer for ``solver`` with scikit-learn's hyper-parameters."""
        if isinstance(self.solver, optimizers.Optimizer):
            return copy.deepcopy(self.solver)
        name, lr = self._solver_name(), self.learning_rate_init
        if name == "lbfgs":
            return optimizers.LBFGS(max_iter=self.max_iter, max_fun=self.max_fun,
                                    tol=self.tol)
        if name == "adam":  # scikit-learn's (and Keras') form of Adam
            return optimizers.Adam(learning_rate=lr, beta_1=self.beta_1, beta_2=self.beta_2,
                                   epsilon=self.epsilon, epsilon_mode="keras")
        if name == "sgd":
            if self.momentum == 0:
                return optimizers.SGD(learning_rate=lr)
            # scikit-learn's velocity holds learning rate times gradients
            cls = optimizers.Nesterov if self.nesterovs_momentum else optimizers.Momentum
            return cls(learning_rate=lr, momentum=self.momentum, velocity_mode="keras")
        # the registry's classes take these keyword arguments (checked by their __init__)
        make: Callable[..., optimizers.Optimizer] = optimizers.OPTIMIZERS[name]
        if name in ("momentum", "nesterov"):
            return make(learning_rate=lr, momentum=self.momentum)
        if name in _ADAM_SOLVERS:
            return make(learning_rate=lr, beta_1=self.beta_1, beta_2=self.beta_2,
                        epsilon=self.epsilon)
        return make(learning_rate=lr)

    # ------------------------------------------------------------------------------------
    # fitted attributes read from the model
    # ------------------------------------------------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices ``W (n_in, n_out)`` of each layer (the model's own arrays)."""
        return [layer.W for layer in self.model_._dense_layers()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors ``b (n_out,)`` of each layer (the model's own arrays)."""
        return [layer.b for layer in self.model_._dense_layers()]

    @property
    def _optimizer(self) -> optimizers.Optimizer | None:
        """The model's optimizer (scikit-learn's private ``_optimizer``; its
        ``learning_rate`` is the current one)."""
        return self.model_.optimizer

    def _validated_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32), reset=False)
        return X.toarray() if _sparse.issparse(X) else X

    def _forward(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)

    def _finite_forward(self, X: np.ndarray) -> np.ndarray | None:
        """The network's output, or None where any of it is not finite (the validation
        score is then ``nan``, as scikit-learn's ``_score_with_function`` returns)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            P = self._forward(X)
        return P if np.isfinite(P).all() else None

    # ------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------
    def _build(self, n_features: int, dtype: np.dtype, rng: np.random.RandomState) -> None:
        out_activation, loss, _ = self._output()
        act = activations.get(self.activation)
        layers = [Dense(h, activation=act) for h in self._hidden_sizes()]
        layers.append(Dense(self.n_outputs_, activation=out_activation))
        # the model's own seed (unused: the weights and the row order are scikit-learn's)
        # comes from a copy of rng, so that scikit-learn's draws follow from rng itself
        seed = int(copy.deepcopy(rng).randint(np.iinfo(np.int32).max))
        model = Sequential(layers, seed=seed, dtype=dtype, backend=self.backend,
                           name=type(self).__name__)
        model.build(n_features)
        model.set_weights(self._initial_weights(n_features, rng, dtype))
        model.compile(optimizer=self._make_optimizer(), loss=loss)
        self.model_ = model
        self._penalty = 0.0
        self.n_layers_ = len(layers) + 1
        self.out_activation_ = _SKLEARN_OUT[out_activation]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        self._best_weights = model.get_weights()
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _initial_weights(self, n_features: int, rng: np.random.RandomState,
                         dtype: np.dtype) -> list[np.ndarray]:
        """scikit-learn's initial weights (``_init_coef``), drawn as it draws them.

        Glorot-uniform: per layer ``W ~ U(-b, b)`` of shape ``(fan_in, fan_out)`` then the
        intercepts ``~ U(-b, b)``, ``b = sqrt(factor / (fan_in + fan_out))`` with factor 2
        for ``activation="logistic"`` and 6 otherwise, from the estimator's
        ``RandomState``, then cast to the data's dtype.
        """
        factor = 2.0 if activations.get(self.activation) == "sigmoid" else 6.0
        units = [n_features, *self._hidden_sizes(), self.n_outputs_]
        weights = []
        for fan_in, fan_out in itertools.pairwise(units):
            bound = np.sqrt(factor / (fan_in + fan_out))
            weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
            weights.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
        return weights

    def _configure(self, first_pass: bool, incremental: bool, penalty: float,
                   penalty_rows: int = 0, weight_norm: float = 0.0) -> None:
        """Bring the model's optimizer and L2 penalty in line with the parameters.

        ``partial_fit`` continues with the optimizer as it is; a warm ``fit`` starts a
        fresh one from the current weights, as scikit-learn's ``_fit_stochastic`` does
        (``t_`` carries on, so ``invscaling`` continues its schedule). The kernel penalty
        ``penalty * sum(W**2)`` depends on the batch size,
        so it is set at every call; the model is recompiled only when something changed.
        ``penalty_rows`` (the batch size; 0 for full-batch L-BFGS) makes a short last
        batch's penalty ``alpha / (2 rows)`` as scikit-learn's (NetSpec.penalty_rows);
        ``weight_norm`` (the row weights' mean, with sample weights) normalises each batch
        by its own weight sum, as scikit-learn does (NetSpec.weight_norm).
        """
        model = self.model_
        opt = model.optimizer
        if not first_pass and not incremental:
            opt = self._make_optimizer()
        assert opt is not None, "_build compiled the model"
        if (opt is model.optimizer and penalty == self._penalty
                and getattr(model, "_penalty_rows", 0) == penalty_rows
                and getattr(model, "_weight_norm", 0.0) == weight_norm):
            return
        model._penalty_rows = penalty_rows
        model._weight_norm = weight_norm
        reg = regularizers.l2(penalty) if penalty > 0 else None
        for layer in model._dense_layers():
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
        # as scikit-learn: a fresh RandomState at every call, drawn from in its order
        # (initial weights, validation split, then each epoch's shuffle)
        rng = check_random_state(self.random_state)
        if first_pass:
            self.n_outputs_ = Y.shape[1]
            self._build(X.shape[1], X.dtype, rng)
        if self._solver_name() == "lbfgs":
            self._fit_lbfgs(X, y, Y, sample_weight)
        else:
            self._fit_stochastic(X, y, Y, sample_weight, rng, first_pass, incremental)
        if not all(np.isfinite(p).all() for p in self.model_.get_weights()):
            raise ValueError(_NONFINITE_MESSAGE)
        return self

    def _row_weights(self, sample_weight: np.ndarray | None,
                     n: int) -> tuple[np.ndarray | None, float]:
        """fastmlp's row weights ``c s_i / mean(s)`` for scikit-learn's objective (see the
        module documentation), and ``mean(s)``."""
        _, _, scale = self._output()
        if sample_weight is not None:
            mean_weight = float(sample_weight.mean())
            if mean_weight <= 0:
                raise ValueError("sample_weight: the weights of the training samples sum to "
                                 "zero; at least one must be positive")
            weights: np.ndarray | None = sample_weight * (scale / mean_weight)
        else:
            mean_weight = 1.0
            weights = None if scale == 1.0 else np.full(n, scale)
        if weights is not None and np.all(weights == 1.0):
            weights = None
        if weights is not None:
            weights = np.ascontiguousarray(weights, dtype=self.model_.dtype)
        return weights, mean_weight

    def _loss_offset(self, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        """The part of scikit-learn's loss that does not depend on the weights (none but
        for the Poisson deviance's ``y log y - y``), added to the reported loss."""
        return 0.0

    def _reported_scale(self, n: int, mean_weight: float) -> tuple[float, float]:
        """``(data_scale, kernel_l2)`` of :class:`~fastmlp._lbfgs.FlatObjective`: the
        value scikit-learn's L-BFGS sees (only a multi-output squared error differs: it
        averages the data term over the outputs)."""
        if (isinstance(self, RegressorMixin) and self.loss == "squared_error"
                and self.n_outputs_ > 1):
            return 1.0 / self.n_outputs_, self.alpha / (2.0 * n * mean_weight)
        return 1.0, 0.0

    def _fit_lbfgs(self, X: np.ndarray, y: Any, Y: np.ndarray,
                   sample_weight: np.ndarray | None) -> None:
        """scikit-learn's ``_fit_lbfgs``: the full-batch objective minimised by SciPy's
        L-BFGS-B with ``maxiter=max_iter``, ``maxfun=max_fun``, ``gtol=tol``."""
        n = X.shape[0]
        weights, mean_weight = self._row_weights(sample_weight, n)
        self._configure(False, True, self.alpha / (2.0 * n * mean_weight))
        model = self.model_
        objective = FlatObjective(model, np.ascontiguousarray(X, dtype=model.dtype),
                                  np.ascontiguousarray(Y, dtype=model.dtype), weights,
                                  self._loss_offset(Y, sample_weight),
                                  *self._reported_scale(n, mean_weight))
        result = objective.minimize(self.max_iter, self.max_fun, self.tol)
        if result.status != 0:
            message = result.message
            if isinstance(message, bytes):
                message = message.decode("latin1")
            warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) "
                          f"(status={result.status}):\n{message}.\n\nIncrease the number "
                          f"of iterations to improve the convergence "
                          f"(max_iter={self.max_iter}).\nYou might also want to scale the "
                          "data.", ConvergenceWarning, stacklevel=4)
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        if self.verbose:
            print(f"L-BFGS: {self.n_iter_} iterations, {objective.n_evaluations} "
                  f"evaluations, loss = {self.loss_:.8f}")

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight=None, *workspaces):
        """scikit-learn's private objective of ``solver="lbfgs"``: the loss and its
        gradient at the flat parameters ``packed_coef_inter`` (kernels, then intercepts),
        with ``y`` as the network's targets (one-hot for classifiers). The weights are
        left at ``packed_coef_inter``. ``workspaces`` (scikit-learn's buffers) are
        unused."""
        model = self.model_
        Y = np.asarray(y, dtype=model.dtype).reshape(np.shape(X)[0], -1)
        X = np.ascontiguousarray(X, dtype=model.dtype)
        weights, mean_weight = self._row_weights(sample_weight, X.shape[0])
        self._configure(False, True, self.alpha / (2.0 * X.shape[0] * mean_weight))
        objective = FlatObjective(model, X, np.ascontiguousarray(Y), weights,
                                  self._loss_offset(Y, sample_weight),
                                  *self._reported_scale(X.shape[0], mean_weight))
        return objective(np.asarray(packed_coef_inter, dtype=np.float64))

    def _fit_stochastic(self, X: np.ndarray, y: Any, Y: np.ndarray,
                        sample_weight: np.ndarray | None, rng: np.random.RandomState,
                        first_pass: bool, incremental: bool) -> None:
        """scikit-learn's ``_fit_stochastic``, as one ``Sequential.fit`` whose epochs end
        in :class:`_EpochRules`."""
        model = self.model_
        validation = None
        X_train, Y_train, sw_train = X, Y, sample_weight
        if self.early_stopping:
            # scikit-learn stratifies on the binarized targets, for single-output classifiers
            stratify = (Y.astype(bool) if isinstance(self, ClassifierMixin)
                        and self.n_outputs_ == 1 else None)
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
                              f"{n_train}", UserWarning, stacklevel=4)
            batch_size = min(self.batch_size, n_train)

        # scikit-learn's objective from fastmlp's loss: row weights and an L2 kernel penalty
        weights, mean_weight = self._row_weights(sw_train, n_train)
        _, _, scale = self._output()
        self._configure(first_pass, incremental,
                        self.alpha / (2.0 * batch_size * mean_weight), batch_size,
                        scale if sw_train is not None and weights is not None else 0.0)
        sgd_schedule = self._solver_name() in _SGD_SOLVERS and not isinstance(
            self.solver, optimizers.Optimizer)
        if self.early_stopping and self.validation_scores_ is None:
            # a warm fit switching early stopping on (scikit-learn fails here)
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        elif not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        self._Y_train, self._sw_train = Y_train, sw_train
        rules = _EpochRules(self, n_train, validation, sgd_schedule)
        del self._Y_train, self._sw_train
        self.n_iter_ = 0
        epochs = 1 if incremental else self.max_iter
        # _SklearnOrder stands in for the Generator: fit calls only its permutation
        generator, model.rng = model.rng, _SklearnOrder(rng)  # type: ignore[assignment]
        try:
            model.fit(X_train, Y_train, epochs=epochs, batch_size=batch_size,
                      shuffle=self.shuffle, verbose=0, callbacks=[rules],
                      sample_weight=weights)
        except TrainingDivergedError as error:
            if not self.early_stopping:
                raise ValueError(_NONFINITE_MESSAGE) from error
            self._diverged_epochs(epochs, n_train)
        finally:
            model.rng = generator
        if not incremental and not rules.converged and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=4)
        if self.early_stopping:
            model.set_weights(self._best_weights)

    def _diverged_epochs(self, epochs: int, n_train: int) -> None:
        """The rest of a fit with early stopping after the loss stopped being finite, as
        scikit-learn's ends: it trains on with non-finite weights, so every remaining
        epoch records a ``nan`` loss and a ``nan`` validation score (which resets the
        no-improvement count: ``nan`` is never below the best score), up to ``max_iter``;
        then the best weights are restored. Here the model stopped at the diverging
        batch, and those epochs are recorded without being run."""
        while self.n_iter_ < epochs:
            self.n_iter_ += 1
            self.t_ += n_train
            self.loss_ = float("nan")
            self.loss_curve_.append(self.loss_)
            assert self.validation_scores_ is not None, "early stopping records scores"
            self.validation_scores_.append(float("nan"))
            self._no_improvement_count = 0

    def fit(self, X, y, sample_weight=None):
        """Train on ``(X, y)`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like or sparse matrix (n_samples, n_features)
            float32 input trains a float32 network; anything else float64.
        y : array-like (n_samples,) or (n_samples, n_outputs)
            Class labels (or a label indicator matrix) for the classifier, values for
            the regressor.
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
        The width of each hidden layer, input side first.
    activation : str, default "relu"
        "identity", "logistic", "tanh", "relu" or another fastmlp hidden activation.
    solver : str or fastmlp.optimizers.Optimizer, default "adam"
        "lbfgs" (full batch, SciPy's L-BFGS-B) or any of fastmlp's ten optimizers by name
        ("sgd" with ``momentum`` and ``nesterovs_momentum``, "adam" in scikit-learn's
        form).
    alpha : float, default 1e-4
        L2 penalty on the weight matrices (scikit-learn's formula).
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Schedule of the SGD solvers ("sgd", "momentum", "nesterov").
    learning_rate_init : float, default 1e-3
        The initial step size of every solver except "lbfgs".
    power_t : float, default 0.5
        The exponent of the "invscaling" schedule,
        ``learning_rate_init / t_ ** power_t``.
    max_iter : int, default 200
        Maximum number of epochs (iterations of "lbfgs").
    shuffle : bool, default True
        Shuffle the rows before each epoch.
    random_state : int, RandomState or None
        Seeds the initial weights, the validation split and the shuffling, drawn in
        scikit-learn's order.
    tol : float, default 1e-4
        The improvement of the loss (or validation score) under which an epoch counts
        as none; ``n_iter_no_change`` such epochs end training.
    verbose : bool, default False
        Print the loss (and validation score) after every epoch.
    warm_start : bool, default False
        Start from the previous fit's weights (with a fresh optimizer, as scikit-learn).
    momentum : float, default 0.9
        The momentum of ``solver="sgd"`` (0 turns it off).
    nesterovs_momentum : bool, default True
        Nesterov's form of that momentum.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows and stop when their score stops
        improving, keeping the best weights.
    validation_fraction : float, default 0.1
        The share of the rows held out with ``early_stopping``.
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float, default 1e-8
        Adam's denominator term, added to the square root as in scikit-learn.
    n_iter_no_change : int, default 10
        Epochs without improvement by ``tol`` that end training.
    max_fun : int, default 15000
        Most loss evaluations of ``solver="lbfgs"``.
    backend : {"cython", "numpy"}, optional
        The engine that trains the network; by default fastmlp's active backend.

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
        P = self._finite_forward(X)
        if P is None:
            return float("nan")
        return float(accuracy_score(y, self._decode(P), sample_weight=sample_weight))

    @available_if(lambda est: est._stochastic())
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

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (n_samples,) or, for multilabel, indicators (n_samples, n_labels).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The rows to classify, with the features ``fit`` saw.

        Returns
        -------
        numpy.ndarray
            Labels from ``classes_``.
        """
        return self._decode(self._forward(self._validated_X(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n_samples, n_classes); for multilabel each label's
        probability (n_samples, n_labels).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The rows to classify.

        Returns
        -------
        numpy.ndarray
            Columns in the order of ``classes_``.
        """
        P = self._forward(self._validated_X(X))
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            P = np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The rows to classify.

        Returns
        -------
        numpy.ndarray
            ``log(predict_proba(X))``; ``-inf`` where a probability is 0.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor with scikit-learn's interface, trained by fastmlp.

    Minimises half the mean squared error (``loss="squared_error"``, a linear output,
    ``out_activation_ == "identity"``) or half the Poisson deviance (``loss="poisson"``,
    an ``exp`` output, targets ``>= 0``) plus ``alpha``'s L2 penalty, as
    :class:`sklearn.neural_network.MLPRegressor` does; ``y`` may have several columns.
    ``loss`` is the first parameter, as in scikit-learn 1.9; the others and the
    attributes are those of :class:`MLPClassifier` (without ``classes_``).

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default "squared_error"
        What is minimised: half the mean squared error (linear output) or half the
        Poisson deviance (``exp`` output, targets ``>= 0``).
    hidden_layer_sizes : int or tuple of int, default (100,)
        The width of each hidden layer, input side first.
    activation : str, default "relu"
        "identity", "logistic", "tanh", "relu" or another fastmlp hidden activation.
    solver : str or fastmlp.optimizers.Optimizer, default "adam"
        "lbfgs" (full batch, SciPy's L-BFGS-B) or any of fastmlp's ten optimizers by name
        ("sgd" with ``momentum`` and ``nesterovs_momentum``, "adam" in scikit-learn's
        form).
    alpha : float, default 1e-4
        L2 penalty on the weight matrices (scikit-learn's formula).
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Schedule of the SGD solvers ("sgd", "momentum", "nesterov").
    learning_rate_init : float, default 1e-3
        The initial step size of every solver except "lbfgs".
    power_t : float, default 0.5
        The exponent of the "invscaling" schedule,
        ``learning_rate_init / t_ ** power_t``.
    max_iter : int, default 200
        Maximum number of epochs (iterations of "lbfgs").
    shuffle : bool, default True
        Shuffle the rows before each epoch.
    random_state : int, RandomState or None
        Seeds the initial weights, the validation split and the shuffling, drawn in
        scikit-learn's order.
    tol : float, default 1e-4
        The improvement of the loss (or validation score) under which an epoch counts
        as none; ``n_iter_no_change`` such epochs end training.
    verbose : bool, default False
        Print the loss (and validation score) after every epoch.
    warm_start : bool, default False
        Start from the previous fit's weights (with a fresh optimizer, as scikit-learn).
    momentum : float, default 0.9
        The momentum of ``solver="sgd"`` (0 turns it off).
    nesterovs_momentum : bool, default True
        Nesterov's form of that momentum.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows and stop when their score stops
        improving, keeping the best weights.
    validation_fraction : float, default 0.1
        The share of the rows held out with ``early_stopping``.
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float, default 1e-8
        Adam's denominator term, added to the square root as in scikit-learn.
    n_iter_no_change : int, default 10
        Epochs without improvement by ``tol`` that end training.
    max_fun : int, default 15000
        Most loss evaluations of ``solver="lbfgs"``.
    backend : {"cython", "numpy"}, optional
        The engine that trains the network; by default fastmlp's active backend.

    Examples
    --------
    >>> from fastmlp.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_diabetes()
    >>> reg = make_pipeline(StandardScaler(),
    ...                     MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01,
    ...                                  max_iter=300, random_state=0))
    >>> reg.fit(X, y).score(X, y) > 0.4
    True
    """

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str | optimizers.Optimizer = "adam",
                 alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool | int = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int | float = 10, max_fun: int = 15000,
                 backend: str | None = None) -> None:
        self.loss = loss
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state,
                         tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum,
                         early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1,
                         beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
                         max_fun=max_fun, backend=backend)

    def _check_params(self) -> None:
        if not isinstance(self.loss, str) or self.loss not in _REGRESSION_LOSSES:
            hint = ("" if isinstance(self.loss, str) else " (loss is MLPRegressor's first "
                    "parameter, as in scikit-learn 1.9: pass hidden_layer_sizes by name)")
            raise ValueError(f"loss must be one of {', '.join(_REGRESSION_LOSSES)}, got "
                             f"{self.loss!r}{hint}")
        super()._check_params()

    def _output(self) -> tuple[str, str, float]:
        if self.loss == "poisson":
            # scikit-learn: an exp output (log link) and the Poisson deviance summed over
            # the outputs, gradient p - y; fastmlp's poisson loss is its mean over outputs
            return "exponential", "poisson", float(self.n_outputs_)
        # scikit-learn's gradient is that of half the squared error summed over the outputs
        return "linear", "mean_squared_error", 0.5 * self.n_outputs_

    def _validate_input(self, X, y, incremental: bool, reset: bool):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = np.asarray(y, dtype=X.dtype).reshape(y.shape[0], -1)
        if self.loss == "poisson":
            check_counts(Y)
        if not reset and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} output(s), but the model was trained with "
                             f"{self.n_outputs_}")
        return X, y, Y

    def _score_arrays(self, X, y, sample_weight) -> float:
        P = self._finite_forward(X)
        if P is None:
            return float("nan")
        return float(r2_score(y, P.ravel() if P.shape[1] == 1 else P,
                              sample_weight=sample_weight))

    def _loss_offset(self, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        if self.loss != "poisson":
            return 0.0
        # scikit-learn's loss is the half deviance sum_k (y log(y / p) - y + p) per row:
        # the loss we descend, sum_k (p - y log p), plus sum_k (y log y - y)
        from scipy.special import xlogy

        per_row = (xlogy(Y, Y) - Y).sum(axis=1, dtype=np.float64)
        return float(np.average(per_row, weights=sample_weight))

    def _predict_array(self, X: np.ndarray) -> np.ndarray:
        P = self._forward(X)
        return P.ravel() if P.shape[1] == 1 else P

    @available_if(lambda est: est._stochastic())
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (n_samples,) or (n_samples, n_outputs).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The rows to predict for.

        Returns
        -------
        numpy.ndarray
            In the units of the ``y`` that ``fit`` saw.
        """
        return self._predict_array(self._validated_X(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
