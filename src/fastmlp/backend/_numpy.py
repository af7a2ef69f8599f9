"""The NumPy reference backend: the specification of every formula, readable first.

Each function is one equation of ``DESIGN.md``; the compiled kernels in ``_kernels.pyx``
and ``_engine.pyx`` follow them line for line. Arrays keep the model's dtype throughout
(float32 stays float32).
"""
from __future__ import annotations

import numpy as np

from .. import activations as act
from .. import losses as lo
from .. import optimizers as opt
from ._contract import NetSpec

NAME = "numpy"


# ---------------------------------------------------------------------------------------
# Activations: forward f(Z) and backward dZ = dA * f'(Z)
# ---------------------------------------------------------------------------------------
def sigmoid(z):
    """1 / (1 + e^-z), branch-free stable form: e = exp(-|z|) never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|)."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def softmax(z):
    """Row-wise exp(z - max) / sum(exp(z - max))."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(z):
    """Row-wise z - max - log(sum(exp(z - max)))."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def activation_forward(kind, z, alpha=None):
    """A = f(Z) for activation id ``kind`` (``alpha``: the prelu slopes)."""
    if kind == act.LINEAR:
        return z
    if kind == act.SIGMOID:
        return sigmoid(z)
    if kind == act.TANH:
        return np.tanh(z)
    if kind == act.RELU:
        return np.where(z > 0, z, 0).astype(z.dtype)
    if kind == act.LEAKY_RELU:
        return np.where(z > 0, z, z.dtype.type(act.LEAKY_RELU_SLOPE) * z)
    if kind == act.PRELU:
        return np.where(z > 0, z, alpha * z)
    if kind == act.ELU:
        return np.where(z > 0, z, z.dtype.type(act.ELU_ALPHA) * np.expm1(np.minimum(z, 0)))
    if kind == act.SOFTPLUS:
        return softplus(z)
    if kind == act.SOFTMAX:
        return softmax(z)
    raise ValueError(f"unknown activation id {kind}")


def activation_backward(kind, z, a, da, alpha=None):
    """dZ = dA * f'(Z); returns ``(dZ, dalpha)`` (``dalpha`` only for prelu).

    ``a`` is f(Z). The derivative at exactly 0 of the piecewise functions is the left one.
    """
    if kind == act.LINEAR:
        return da, None
    if kind == act.SIGMOID:
        return da * a * (1 - a), None
    if kind == act.TANH:
        return da * (1 - a * a), None
    if kind == act.RELU:
        return np.where(z > 0, da, 0).astype(z.dtype), None
    if kind == act.LEAKY_RELU:
        return np.where(z > 0, da, z.dtype.type(act.LEAKY_RELU_SLOPE) * da), None
    if kind == act.PRELU:
        negative = np.where(z > 0, 0, da * z).astype(z.dtype)  # d f / d alpha = z for z <= 0
        dalpha = negative.sum(axis=0) if alpha.shape[0] > 1 else negative.sum().reshape(1)
        return np.where(z > 0, da, alpha * da), dalpha
    if kind == act.ELU:
        return np.where(z > 0, da, da * (a + z.dtype.type(act.ELU_ALPHA))), None
    if kind == act.SOFTPLUS:
        return da * sigmoid(z), None
    if kind == act.SOFTMAX:
        return a * (da - (da * a).sum(axis=1, keepdims=True)), None
    raise ValueError(f"unknown activation id {kind}")


# ---------------------------------------------------------------------------------------
# Losses: value, and the gradient with respect to the output layer's Z
# ---------------------------------------------------------------------------------------
def loss_value(kind, z, a, y):
    """Mean loss of outputs ``a = f(z)`` against targets ``y``."""
    if kind == lo.MSE:
        return float(np.mean((a - y) ** 2))
    if kind == lo.BCE:  # from the logits z of the sigmoid output
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    if kind == lo.CCE:  # from the logits z of the softmax output
        return float(-np.sum(y * log_softmax(z)) / z.shape[0])
    raise ValueError(f"unknown loss id {kind}")


def loss_delta(kind, out_activation, z, a, y, alpha=None):
    """dL/dZ of the output layer, ``(dZ, dalpha)``; cross-entropies fused with their output."""
    if kind == lo.BCE:
        return (a - y) / y.size, None
    if kind == lo.CCE:
        return (a - y) / y.shape[0], None
    if kind == lo.MSE:
        da = 2 * (a - y) / y.size
        return activation_backward(out_activation, z, a, da, alpha)
    raise ValueError(f"unknown loss id {kind}")


# ---------------------------------------------------------------------------------------
# Optimizer update rules: p, slots updated in place from gradient g
# ---------------------------------------------------------------------------------------
def sgd_update(p, g, slots, hyper, step):
    """p <- p - lr * g."""
    p -= p.dtype.type(hyper[0]) * g


UPDATES = {opt.SGD_KIND: sgd_update}


def optimizer_step(optimizer, params, grads):
    """One step of ``optimizer`` on every parameter (weight decay added to g first)."""
    hyper = optimizer.hyper()
    optimizer.scalars[0] += 1
    step = int(optimizer.scalars[0])
    update = UPDATES[optimizer.kind]
    weight_decay = hyper[1]
    for p, g, slots in zip(params, grads, optimizer.slots):
        if weight_decay != 0:
            g = g + p.dtype.type(weight_decay) * p
        update(p, g, slots, hyper, step)


# ---------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------
class Engine:
    """Reference implementation of the backend contract (see ``_contract``)."""

    def __init__(self, spec: NetSpec) -> None:
        self.spec = spec

    def _layers(self):
        for layer_act, layer_params in zip(self.spec.activations, self.spec.params):
            alpha = layer_params[2] if len(layer_params) > 2 else None
            yield layer_act, layer_params[0], layer_params[1], alpha

    def _forward(self, x):
        """Per layer (Z, A), with A_0 = X not included."""
        cache = []
        a = x
        for kind, w, b, alpha in self._layers():
            z = a @ w + b
            a = activation_forward(kind, z, alpha)
            cache.append((z, a))
        return cache

    def predict(self, x):
        return np.ascontiguousarray(self._forward(x)[-1][1])

    def layer_outputs(self, x):
        return [np.ascontiguousarray(a) for _, a in self._forward(x)]

    def loss(self, x, y):
        z, a = self._forward(x)[-1]
        return loss_value(self.spec.loss, z, a, y)

    def gradients(self, x, y):
        """Loss and gradients in ``get_weights`` order: dW = A_prev^T dZ, db = sum dZ."""
        cache = self._forward(x)
        layers = list(self._layers())
        z, a = cache[-1]
        loss = loss_value(self.spec.loss, z, a, y)
        kind, w, b, alpha = layers[-1]
        dz, dalpha = loss_delta(self.spec.loss, kind, z, a, y, alpha)
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            kind, w, b, alpha = layers[i]
            a_prev = cache[i - 1][1] if i > 0 else x
            layer_grads = [a_prev.T @ dz, dz.sum(axis=0)]
            if alpha is not None:
                layer_grads.append(dalpha)
            grads[:0] = layer_grads
            if i > 0:
                da_prev = dz @ w.T
                prev_kind, _, _, prev_alpha = layers[i - 1]
                z_prev, a_prev = cache[i - 1]
                dz, dalpha = activation_backward(prev_kind, z_prev, a_prev, da_prev, prev_alpha)
        return loss, grads

    def train(self, x, y, order, batch_size, first_batch, stop_batch, losses):
        n = x.shape[0]
        params = self.spec.flat_params
        for i in range(first_batch, stop_batch):
            rows = order[i * batch_size: min((i + 1) * batch_size, n)]
            loss, grads = self.gradients(x[rows], y[rows])
            losses[i - first_batch] = loss
            if not np.isfinite(loss):
                return i - first_batch
            optimizer_step(self.spec.optimizer, params, grads)
        return stop_batch - first_batch
