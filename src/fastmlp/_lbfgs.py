"""Full-batch L-BFGS: the model's weights as one flat vector, minimised by SciPy.

``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` wants a function of one float64
vector returning the loss and its gradient. :class:`FlatObjective` makes the model's
parameters views into one flat vector (so that reading or writing all of them is one
copy) and evaluates the full-batch objective with one backend call,
``Engine.gradients_into``, which writes every gradient into one flat vector too (one
``nogil`` call in the compiled backend). The layout is scikit-learn's ``_pack``: every
layer's kernel, then every layer's bias, then the prelu slopes.

Used by :class:`fastmlp.optimizers.LBFGS` in ``Sequential.fit`` and by
``fastmlp.sklearn``'s ``solver="lbfgs"``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._guard import Divergence


def flat_layout(model) -> tuple[list[np.ndarray], np.ndarray]:
    """Make the Dense layers' parameters views into one flat vector of the model's dtype.

    Returns ``(views of the flat vector in get_weights order, offsets)``: the offsets say
    where each parameter (``get_weights`` order) starts in the flat vector, which holds
    every kernel, then every bias, then every prelu slope (scikit-learn's packing order).
    Already flat parameters are kept; otherwise their values are copied into a new
    vector and the model's engines are rebuilt on the views.
    """
    model._ensure_built()
    dense = model._dense_layers()
    groups: list[list[tuple[int, int]]] = [[], [], []]   # (layer, index) by kind
    for i, layer in enumerate(dense):
        for j in range(len(layer.params)):
            groups[min(j, 2)].append((i, j))
    order = groups[0] + groups[1] + groups[2]
    sizes = {(i, j): dense[i].params[j].size for i, j in order}
    start, offset_of = 0, {}
    for key in order:
        offset_of[key] = start
        start += sizes[key]
    params = [p for layer in dense for p in layer.params]
    offsets = np.array([offset_of[(i, j)] for i, layer in enumerate(dense)
                        for j in range(len(layer.params))], dtype=np.intp)
    base = params[0].base
    if (isinstance(base, np.ndarray) and base.ndim == 1 and base.size == start
            and base.dtype == model.dtype and base.flags.c_contiguous
            and all(p.base is base and p.flags.c_contiguous
                    and p.__array_interface__["data"][0]
                    == base.__array_interface__["data"][0] + off * base.itemsize
                    for p, off in zip(params, offsets))):
        return params, offsets
    flat = np.empty(start, dtype=model.dtype)
    for layer_index, layer in enumerate(dense):
        views = []
        for j, p in enumerate(layer.params):
            off = offset_of[(layer_index, j)]
            view = flat[off:off + p.size].reshape(p.shape)
            view[...] = p
            views.append(view)
        layer.params = views
    model._engines.clear()
    return [p for layer in dense for p in layer.params], offsets


class FlatObjective:
    """``theta -> (loss, gradient)`` of a model on a fixed full batch, for SciPy.

    Parameters
    ----------
    model : fastmlp.Sequential
        Built and compiled; its parameters become views into :attr:`theta`.
    X, Y : ndarray
        Validated inputs and targets (the model's dtype, C-contiguous).
    sample_weight : ndarray or None
        Row weights of the loss (the model's dtype).
    offset : float
        A constant added to every loss value (for example the part of a loss that does
        not depend on the weights, which scikit-learn reports).
    data_scale, kernel_l2 : float
        Report ``data_scale * (loss - P) + P`` with ``P = kernel_l2 * sum(W**2)`` over the
        kernels (the models' only penalty then): the value scikit-learn hands L-BFGS for
        a multi-output squared error (its data term averaged over the outputs while its
        gradient is that of the sum). The gradient is unchanged.

    Examples
    --------
    >>> import numpy as np, fastmlp as fm
    >>> from fastmlp._lbfgs import FlatObjective
    >>> m = fm.Sequential([fm.Dense(2, input_dim=3), fm.Dense(1)], seed=0)
    >>> m.compile(fm.optimizers.LBFGS(), "mse")
    >>> X = np.ones((4, 3)); Y = np.zeros((4, 1))
    >>> f, g = FlatObjective(m, X, Y)(FlatObjective(m, X, Y).theta.copy())
    >>> g.shape
    (11,)
    """

    def __init__(self, model, X: np.ndarray, Y: np.ndarray,
                 sample_weight: np.ndarray | None = None, offset: float = 0.0,
                 data_scale: float = 1.0, kernel_l2: float = 0.0) -> None:
        self.model = model
        params, self.offsets = flat_layout(model)
        theta = params[0].base
        assert theta is not None, "flat_layout's arrays are views of one buffer"
        self.theta: np.ndarray = theta
        self.grad = np.empty_like(self.theta)
        self.engine = model._engine()
        self.X, self.Y, self.W = X, Y, sample_weight
        self.offset = float(offset)
        self.data_scale = float(data_scale)
        self.kernel_l2 = float(kernel_l2)
        self.n_kernel_values = sum(layer.params[0].size for layer in model._dense_layers())
        self.n_evaluations = 0

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if x is not self.theta:
            np.copyto(self.theta, x, casting="same_kind")
        loss = self.engine.gradients_into(self.X, self.Y, self.W, self.grad, self.offsets)
        self.n_evaluations += 1
        if self.data_scale != 1.0:
            kernels = self.theta[:self.n_kernel_values].astype(np.float64)
            penalty = self.kernel_l2 * float(kernels @ kernels)
            loss = self.data_scale * (loss - penalty) + penalty
        # a new array each call: SciPy keeps references to earlier gradients
        return float(loss) + self.offset, self.grad.astype(np.float64)

    def minimize(self, max_iter: int, max_fun: int, tol: float,
                 ftol: float | None = None, history_size: int | None = None) -> Any:
        """Run ``scipy.optimize.minimize(method="L-BFGS-B")`` from the current weights and
        leave the model at its result; returns SciPy's ``OptimizeResult``."""
        from scipy.optimize import minimize

        options: dict[str, Any] = {"maxfun": max_fun, "maxiter": max_iter, "gtol": tol}
        if ftol is not None:
            options["ftol"] = ftol
        if history_size is not None:
            options["maxcor"] = history_size
        with np.errstate(all="ignore"):
            result = minimize(self, self.theta.astype(np.float64), method="L-BFGS-B",
                              jac=True, options=options)
        np.copyto(self.theta, result.x, casting="same_kind")
        return result


class FullBatch:
    """One epoch of ``Sequential.fit`` with :class:`fastmlp.optimizers.LBFGS`: one
    minimisation of the full-batch loss; on a non-finite result the weights go back to
    those the epoch started from."""

    def __init__(self, model, X: np.ndarray, Y: np.ndarray,
                 sample_weight: np.ndarray | None) -> None:
        if any(model._dropout_rates()):
            raise ValueError("LBFGS minimises a deterministic full-batch loss: remove the "
                             "Dropout layers or choose another optimizer")
        self.objective = FlatObjective(model, X, Y, sample_weight)
        self.optimizer = model.optimizer
        self.result = None

    def run_epoch(self, progress=None) -> tuple[float, Divergence | None]:
        """One minimisation; ``progress(1)`` (the progress bar's update) after it."""
        opt = self.optimizer
        start = self.objective.theta.copy()
        result = self.objective.minimize(opt.max_iter, opt.max_fun, opt.tol, opt.ftol,
                                         opt.history_size)
        self.result = result
        opt.scalars[0] += result.nit
        if progress is not None:
            progress(1)
        if not (np.isfinite(result.fun) and np.isfinite(self.objective.theta).all()):
            np.copyto(self.objective.theta, start)
            return float("nan"), Divergence(0, float(result.fun), "loss")
        return float(result.fun), None
