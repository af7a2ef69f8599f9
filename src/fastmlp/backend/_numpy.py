"""The NumPy reference backend: the specification of every formula, readable first.

Each function is one equation of the maths in ``docs/design.md`` and the docstrings of
:mod:`fastmlp.activations`, :mod:`fastmlp.losses` and :mod:`fastmlp.optimizers`; the
compiled kernels in ``_kernels.pyx`` and ``_engine.pyx`` follow them line for line.
Arrays keep the model's dtype throughout (float32 stays float32).
"""
from __future__ import annotations

import math

import numpy as np


from .. import activations as act
from .. import losses as lo
from .. import _ids as ids
from ._contract import NORM_BATCH, NetSpec

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


def gelu_cdf(z):
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2, the standard normal CDF."""
    from scipy.special import erf  # imported on first use: keeps `import fastmlp` light

    return (1 + erf(z * z.dtype.type(_SQRT1_2))) / 2


_SQRT1_2 = 0.70710678118654752440        # 1 / sqrt(2)
_INV_SQRT_2PI = 0.39894228040143267794   # 1 / sqrt(2 pi)


def activation_forward(kind, z, alpha=None):
    """A = f(Z) for activation id ``kind`` (``alpha``: the prelu slopes)."""
    if kind == ids.ACT_LINEAR:
        return z
    if kind == ids.ACT_SIGMOID:
        return sigmoid(z)
    if kind == ids.ACT_TANH:
        return np.tanh(z)
    if kind == ids.ACT_RELU:
        return np.where(z > 0, z, 0).astype(z.dtype)
    if kind == ids.ACT_LEAKY_RELU:
        return np.where(z > 0, z, z.dtype.type(act.LEAKY_RELU_SLOPE) * z)
    if kind == ids.ACT_PRELU:
        return np.where(z > 0, z, alpha * z)
    if kind == ids.ACT_ELU:
        return np.where(z > 0, z, z.dtype.type(act.ELU_ALPHA) * np.expm1(np.minimum(z, 0)))
    if kind == ids.ACT_SOFTPLUS:
        return softplus(z)
    if kind == ids.ACT_SOFTMAX:
        return softmax(z)
    if kind == ids.ACT_GELU:
        return z * gelu_cdf(z)
    if kind == ids.ACT_SILU:
        return z * sigmoid(z)
    if kind == ids.ACT_SELU:
        scale, alpha_ = z.dtype.type(act.SELU_SCALE), z.dtype.type(act.SELU_ALPHA)
        return np.where(z > 0, scale * z, scale * (alpha_ * np.expm1(np.minimum(z, 0))))
    if kind == ids.ACT_MISH:
        return z * np.tanh(softplus(z))
    if kind == ids.ACT_HARD_SIGMOID:
        return np.minimum(np.maximum(z + 3, 0), 6) / 6
    if kind == ids.ACT_RELU6:
        return np.minimum(np.maximum(z, 0), 6)
    if kind == ids.ACT_EXPONENTIAL:
        return np.exp(z)
    if kind == ids.ACT_SOFTSIGN:
        return z / (1 + np.abs(z))
    raise ValueError(f"unknown activation id {kind}")


def activation_backward(kind, z, a, da, alpha=None):
    """dZ = dA * f'(Z); returns ``(dZ, dalpha)`` (``dalpha`` only for prelu).

    ``a`` is f(Z). The derivative at exactly 0 of the piecewise functions is the left one.
    """
    if kind == ids.ACT_LINEAR:
        return da, None
    if kind == ids.ACT_SIGMOID:
        return da * a * (1 - a), None
    if kind == ids.ACT_TANH:
        return da * (1 - a * a), None
    if kind == ids.ACT_RELU:
        return np.where(z > 0, da, 0).astype(z.dtype), None
    if kind == ids.ACT_LEAKY_RELU:
        return np.where(z > 0, da, z.dtype.type(act.LEAKY_RELU_SLOPE) * da), None
    if kind == ids.ACT_PRELU:
        negative = np.where(z > 0, 0, da * z).astype(z.dtype)  # d f / d alpha = z for z <= 0
        dalpha = negative.sum(axis=0) if alpha.shape[0] > 1 else negative.sum().reshape(1)
        return np.where(z > 0, da, alpha * da), dalpha
    if kind == ids.ACT_ELU:
        return np.where(z > 0, da, da * (a + z.dtype.type(act.ELU_ALPHA))), None
    if kind == ids.ACT_SOFTPLUS:
        return da * sigmoid(z), None
    if kind == ids.ACT_SOFTMAX:
        return a * (da - (da * a).sum(axis=1, keepdims=True)), None
    if kind == ids.ACT_GELU:  # Phi(z) + z phi(z)
        pdf = z.dtype.type(_INV_SQRT_2PI) * np.exp(-(z * z) / 2)
        return da * (gelu_cdf(z) + z * pdf), None
    if kind == ids.ACT_SILU:  # s (1 + z (1 - s))
        s = sigmoid(z)
        return da * (s * (1 + z * (1 - s))), None
    if kind == ids.ACT_SELU:  # scale for z > 0, f + scale alpha below
        scale, alpha_ = z.dtype.type(act.SELU_SCALE), z.dtype.type(act.SELU_ALPHA)
        return np.where(z > 0, da * scale, da * (a + scale * alpha_)), None
    if kind == ids.ACT_MISH:  # t + z sigmoid(z) (1 - t^2), t = tanh(softplus(z))
        t = np.tanh(softplus(z))
        return da * (t + z * sigmoid(z) * (1 - t * t)), None
    if kind == ids.ACT_HARD_SIGMOID:
        return np.where((z > -3) & (z < 3), da / 6, 0).astype(z.dtype), None
    if kind == ids.ACT_RELU6:
        return np.where((z > 0) & (z < 6), da, 0).astype(z.dtype), None
    if kind == ids.ACT_EXPONENTIAL:
        return da * a, None
    if kind == ids.ACT_SOFTSIGN:  # (1 / (1 + |z|))^2, squared after the division: no overflow
        r = 1 / (1 + np.abs(z))
        return da * (r * r), None
    raise ValueError(f"unknown activation id {kind}")


# ---------------------------------------------------------------------------------------
# Losses: value, and the gradient with respect to the output layer's Z
# ---------------------------------------------------------------------------------------
def row_losses(kind, z, a, y):
    """Each row's loss ``l_i`` of outputs ``a = f(z)`` against targets ``y``."""
    if kind == ids.LOSS_MSE:
        return ((a - y) ** 2).mean(axis=1)
    if kind == ids.LOSS_BCE:  # from the logits z of the sigmoid output
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=1)
    if kind == ids.LOSS_CCE:  # from the logits z of the softmax output
        return -(y * log_softmax(z)).sum(axis=1)
    if kind == ids.LOSS_MAE:
        return np.abs(a - y).mean(axis=1)
    if kind == ids.LOSS_HUBER:
        delta = a.dtype.type(lo.HUBER_DELTA)
        e = np.abs(a - y)
        return np.where(e <= delta, e * e / 2, delta * (e - delta / 2)).mean(axis=1)
    if kind == ids.LOSS_HINGE:  # y in {-1, 1}
        return np.maximum(1 - y * a, 0).mean(axis=1)
    if kind == ids.LOSS_POISSON:  # a = exp(z), the log link: a - y log(a)
        return (a - y * z).mean(axis=1)
    raise ValueError(f"unknown loss id {kind}")


def loss_value(kind, z, a, y, w=None):
    """Batch loss ``sum_i w_i l_i / n`` (the plain mean without weights)."""
    per_row = row_losses(kind, z, a, y)
    if w is None:
        return float(np.sum(per_row) / y.shape[0])
    return float(np.sum(w * per_row) / y.shape[0])


def loss_delta(kind, out_activation, z, a, y, w=None, alpha=None):
    """dL/dZ of the output layer, ``(dZ, dalpha)``; cross-entropies fused with their output.

    Row ``i`` is scaled by its weight ``w_i`` when weights are given.
    """
    size = y.size
    if kind == ids.LOSS_BCE or kind == ids.LOSS_POISSON:
        dz = (a - y) / size
        return (dz if w is None else dz * w[:, None]), None
    if kind == ids.LOSS_CCE:
        dz = (a - y) / y.shape[0]
        return (dz if w is None else dz * w[:, None]), None
    if kind == ids.LOSS_MSE:
        da = 2 * (a - y) / size
    elif kind == ids.LOSS_MAE:
        da = np.sign(a - y) / size
    elif kind == ids.LOSS_HUBER:
        delta = a.dtype.type(lo.HUBER_DELTA)
        da = np.clip(a - y, -delta, delta) / size
    elif kind == ids.LOSS_HINGE:
        da = np.where(1 - y * a > 0, -y, 0).astype(a.dtype) / size
    else:
        raise ValueError(f"unknown loss id {kind}")
    if w is not None:
        da = da * w[:, None]
    return activation_backward(out_activation, z, a, da, alpha)


# ---------------------------------------------------------------------------------------
# Regularization: penalty added to the loss, its derivative to the gradient
# ---------------------------------------------------------------------------------------
def regularize(p, l1, l2):
    """``(l1 sum|p| + l2 sum p^2, l1 sign(p) + 2 l2 p)`` (Keras' L1/L2 formulas)."""
    value = l1 * float(np.sum(np.abs(p))) + l2 * float(np.sum(p * p))
    grad = p.dtype.type(l1) * np.sign(p) + p.dtype.type(2 * l2) * p
    return value, grad


# ---------------------------------------------------------------------------------------
# Optimizer update rules: torch.optim's single-tensor forms (see fastmlp.optimizers)
# ---------------------------------------------------------------------------------------
# ``optimizer_step`` evaluates the learning rate of the step, clips the gradients and adds
# weight decay, then calls the rule. Each rule updates every parameter ``p`` and its state
# ``slots`` in place. The scalars of a step are computed once in float64 (Python floats)
# and cast to the parameters' dtype with ``t(...)``, as the compiled kernels do.
def learning_rate_at(hyper, iteration):
    """Learning rate of the update after ``iteration`` completed updates (the schedule).

    constant: lr ; exponential: lr * r^e ; inverse: lr / (1 + r e)^power, where
    e = iteration / decay_steps (floored with staircase); times (iteration + 1) / w during
    a linear warm-up of w updates (w = hyper[HYPER_WARMUP] > 0).
    """
    lr = float(hyper[ids.HYPER_LR])
    if hyper[ids.HYPER_WARMUP] > iteration:
        lr = lr * (iteration + 1) / float(hyper[ids.HYPER_WARMUP])
    kind = int(hyper[ids.HYPER_SCHEDULE])
    if kind == ids.SCHEDULE_CONSTANT:
        return lr
    e = float(iteration) / float(hyper[ids.HYPER_DECAY_STEPS])
    if hyper[ids.HYPER_STAIRCASE] != 0:
        e = float(math.floor(e))
    if kind == ids.SCHEDULE_EXPONENTIAL:
        return lr * float(hyper[ids.HYPER_DECAY_RATE]) ** e
    return lr / (1 + float(hyper[ids.HYPER_DECAY_RATE]) * e) ** float(hyper[ids.HYPER_POWER])


def clip_gradients(grads, hyper):
    """Global-norm clipping (g * c / ||g|| when ||g|| > c) or element clipping to [-c, c]."""
    clipnorm, clipvalue = hyper[ids.HYPER_CLIPNORM], hyper[ids.HYPER_CLIPVALUE]
    if clipnorm > 0:
        norm = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads))
        if norm > clipnorm:
            return [g * g.dtype.type(clipnorm / norm) for g in grads]
    elif clipvalue > 0:
        return [np.clip(g, -g.dtype.type(clipvalue), g.dtype.type(clipvalue)) for g in grads]
    return grads


def sgd_update(params, grads, slots, hyper, lr, scalars):
    """p <- p - lr g."""
    for p, g in zip(params, grads):
        t = p.dtype.type
        p -= t(lr) * g


def momentum_update(params, grads, slots, hyper, lr, scalars):
    """b <- g (first step) or rec b + (1 - dampening) g; p <- p - lr (nesterov ? g + mu b : b)
    with rec = mu, or with velocity_mode "keras" rec = mu (lr_prev / lr) (b = -v / lr;
    lr_prev kept in scalars[1])."""
    mu, dampening, nesterov, keras_velocity = hyper[ids.HYPER_RULE:ids.HYPER_RULE + 4]
    first = scalars[0] == 1
    rec = mu
    if keras_velocity:
        rec = mu * ((lr if first else float(scalars[1])) / lr)
        scalars[1] = lr
    for p, g, (b,) in zip(params, grads, slots):
        t = p.dtype.type
        if first:
            b[...] = g
        else:
            b[...] = t(rec) * b + t(1 - dampening) * g
        direction = g + t(mu) * b if nesterov else b
        p -= t(lr) * direction


def adagrad_update(params, grads, slots, hyper, lr, scalars):
    """G <- G + g^2 ; p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(G) + eps)."""
    lr_decay, eps = hyper[ids.HYPER_RULE:ids.HYPER_RULE + 2]
    clr = lr / (1 + (float(scalars[0]) - 1) * lr_decay)
    for p, g, (G,) in zip(params, grads, slots):
        t = p.dtype.type
        G += g * g
        p -= t(clr) * (g / (np.sqrt(G) + t(eps)))


def adadelta_update(params, grads, slots, hyper, lr, scalars):
    """v <- rho v + (1-rho) g^2 ; delta = sqrt(u + eps) / sqrt(v + eps) g ;
    u <- rho u + (1-rho) delta^2 ; p <- p - lr delta."""
    rho, eps = hyper[ids.HYPER_RULE:ids.HYPER_RULE + 2]
    for p, g, (v, u) in zip(params, grads, slots):
        t = p.dtype.type
        v[...] = t(rho) * v + t(1 - rho) * g * g
        delta = np.sqrt(u + t(eps)) / np.sqrt(v + t(eps)) * g
        u[...] = t(rho) * u + t(1 - rho) * delta * delta
        p -= t(lr) * delta


def rmsprop_update(params, grads, slots, hyper, lr, scalars):
    """v <- rho v + (1-rho) g^2 ; d = sqrt(v) + eps, or centered sqrt(v - a^2) + eps with
    a <- rho a + (1-rho) g ; p <- p - lr g / d, or with momentum b <- mu b + g / d and
    p <- p - lr b. Slots: v, then a if centered, then b if momentum > 0."""
    rho, eps, momentum, centered = hyper[ids.HYPER_RULE:ids.HYPER_RULE + 4]
    for p, g, slot in zip(params, grads, slots):
        t = p.dtype.type
        v = slot[0]
        v[...] = t(rho) * v + t(1 - rho) * g * g
        if centered:
            a = slot[1]
            a[...] = t(rho) * a + t(1 - rho) * g
            d = np.sqrt(v - a * a) + t(eps)
        else:
            d = np.sqrt(v) + t(eps)
        if momentum > 0:
            b = slot[-1]
            b[...] = t(momentum) * b + g / d
            p -= t(lr) * b
        else:
            p -= t(lr) * (g / d)


def adam_update(params, grads, slots, hyper, lr, scalars):
    """m <- b1 m + (1-b1) g ; v <- b2 v + (1-b2) g^2 ; amsgrad: vmax <- max(vmax, v) ;
    p <- p - lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps), or with
    epsilon_mode "keras": p <- p - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)."""
    beta1, beta2, eps, amsgrad, keras_eps = hyper[ids.HYPER_RULE:ids.HYPER_RULE + 5]
    step = float(scalars[0])
    if keras_eps:
        step_size = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        bc2_sqrt = 1.0
    else:
        step_size = lr / (1 - beta1 ** step)
        bc2_sqrt = math.sqrt(1 - beta2 ** step)
    for p, g, slot in zip(params, grads, slots):
        t = p.dtype.type
        m, v = slot[0], slot[1]
        m[...] = t(beta1) * m + t(1 - beta1) * g
        v[...] = t(beta2) * v + t(1 - beta2) * g * g
        if amsgrad:
            np.maximum(slot[2], v, out=slot[2])
            v = slot[2]
        d = np.sqrt(v) / t(bc2_sqrt) + t(eps)
        p -= t(step_size) * (m / d)


def adamax_update(params, grads, slots, hyper, lr, scalars):
    """m <- b1 m + (1-b1) g ; u <- max(b2 u, |g| + eps) ; p <- p - lr / (1 - b1^t) * m / u."""
    beta1, beta2, eps = hyper[ids.HYPER_RULE:ids.HYPER_RULE + 3]
    clr = lr / (1 - beta1 ** float(scalars[0]))
    for p, g, (m, u) in zip(params, grads, slots):
        t = p.dtype.type
        m[...] = t(beta1) * m + t(1 - beta1) * g
        np.maximum(t(beta2) * u, np.abs(g) + t(eps), out=u)
        p -= t(clr) * (m / u)


def nadam_update(params, grads, slots, hyper, lr, scalars):
    """mu_t = b1 (1 - 0.96^(t psi) / 2) ; Pi <- Pi mu_t (scalars[1]) ; m, v as Adam ;
    d = sqrt(v / (1 - b2^t)) + eps ;
    p <- p - lr (1 - mu_t) / (1 - Pi) g / d - lr mu_{t+1} / (1 - Pi mu_{t+1}) m / d."""
    beta1, beta2, eps, psi = hyper[ids.HYPER_RULE:ids.HYPER_RULE + 4]
    step = float(scalars[0])
    bias_correction2 = 1 - beta2 ** step
    mu = beta1 * (1 - 0.5 * 0.96 ** (step * psi))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * psi))
    scalars[1] *= mu
    mu_product = float(scalars[1])
    grad_coef = lr * (1 - mu) / (1 - mu_product)
    momentum_coef = lr * mu_next / (1 - mu_product * mu_next)
    for p, g, (m, v) in zip(params, grads, slots):
        t = p.dtype.type
        m[...] = t(beta1) * m + t(1 - beta1) * g
        v[...] = t(beta2) * v + t(1 - beta2) * g * g
        d = np.sqrt(v / t(bias_correction2)) + t(eps)
        p -= t(grad_coef) * (g / d)
        p -= t(momentum_coef) * (m / d)


UPDATES = {ids.OPT_SGD: sgd_update, ids.OPT_MOMENTUM: momentum_update,
           ids.OPT_ADAGRAD: adagrad_update, ids.OPT_ADADELTA: adadelta_update,
           ids.OPT_RMSPROP: rmsprop_update, ids.OPT_ADAM: adam_update,
           ids.OPT_ADAMAX: adamax_update, ids.OPT_NADAM: nadam_update}


def optimizer_step(optimizer, params, grads):
    """One update of every parameter: count the step, evaluate its learning rate, clip the
    gradients, add weight decay (g + wd p), apply the rule."""
    if not optimizer.state_matches(params):
        raise RuntimeError(f"the state of {type(optimizer).__name__} does not match the "
                           "parameters it updates (build it on them first)")
    hyper = optimizer.hyper().tolist()
    scalars = optimizer.scalars
    scalars[0] += 1
    lr = learning_rate_at(hyper, scalars[0] - 1)
    grads = clip_gradients(grads, hyper)
    weight_decay = hyper[ids.HYPER_WEIGHT_DECAY]
    if weight_decay != 0:
        grads = [g + p.dtype.type(weight_decay) * p for p, g in zip(params, grads)]
    UPDATES[optimizer.kind](params, grads, optimizer.slots, hyper, lr, scalars)


# ---------------------------------------------------------------------------------------
# Normalization of a layer's output (BatchNormalization: over the rows; LayerNormalization:
# over a row's features)
# ---------------------------------------------------------------------------------------
def norm_forward(norm, a, training):
    """``(out, xhat, inv, mean, var)``: xhat = (a - mean) * inv, inv = 1 / sqrt(var + eps),
    out = gamma * xhat + beta. Batch normalization uses the batch's mean and biased
    variance per column when ``training``, else the moving statistics; layer
    normalization the row's, always."""
    axis = 0 if norm.kind == NORM_BATCH else 1
    t = a.dtype.type
    if norm.kind == NORM_BATCH and not training:
        mean, var = norm.moving_mean, norm.moving_variance
    else:
        mean = a.mean(axis=axis, keepdims=True, dtype=np.float64).astype(a.dtype)
        var = np.square(a - mean).mean(axis=axis, keepdims=True,
                                        dtype=np.float64).astype(a.dtype)
    inv = t(1) / np.sqrt(var + t(norm.epsilon))
    xhat = (a - mean) * inv
    out = xhat
    if norm.gamma is not None:
        out = out * norm.gamma
    if norm.beta is not None:
        out = out + norm.beta
    return out, xhat, inv, mean, var


def norm_backward(norm, dout, xhat, inv):
    """``(da, [dgamma], [dbeta])`` from dL/dout: dxhat = gamma * dout and
    da = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), the means over the axis
    the statistics were taken on."""
    axis = 0 if norm.kind == NORM_BATCH else 1
    grads = []
    if norm.gamma is not None:
        grads.append((dout * xhat).sum(axis=0))
    if norm.beta is not None:
        grads.append(dout.sum(axis=0))
    dxhat = dout * norm.gamma if norm.gamma is not None else dout
    mean_d = dxhat.mean(axis=axis, keepdims=True, dtype=np.float64).astype(dout.dtype)
    mean_dx = (dxhat * xhat).mean(axis=axis, keepdims=True,
                                   dtype=np.float64).astype(dout.dtype)
    da = inv * (dxhat - mean_d - xhat * mean_dx)
    return da, grads


def norm_update(norm, mean, var):
    """Move the batch normalization's statistics: m = rho m + (1 - rho) mean (var alike)."""
    t = norm.moving_mean.dtype.type
    rho = t(norm.momentum)
    norm.moving_mean[...] = norm.moving_mean * rho + mean.reshape(-1) * (t(1) - rho)
    norm.moving_variance[...] = norm.moving_variance * rho + var.reshape(-1) * (t(1) - rho)


# ---------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------
class Engine:
    """Reference implementation of the backend contract (see ``_contract``)."""

    #: NumPy warns on overflow and invalid values; callers report those themselves.
    raises_fp_warnings = True
    #: The training guard scans the state after each call (the contract's attribute).
    checks_state = False
    #: No checked fast path: ``predict`` always validates first (the contract's attribute).
    predict_checked = None

    def __init__(self, spec: NetSpec) -> None:
        self.spec = spec
        self.n_inputs = spec.sizes[0]
        n = len(spec.activations)
        self._regs = spec.regularizers or ((0.0, 0.0, 0.0, 0.0),) * n
        self._batch_scale = 1.0   # the training batch's weight normalisation (weight_norm)

    def _layers(self):
        for layer_act, layer_params in zip(self.spec.activations, self.spec.params):
            alpha = layer_params[2] if len(layer_params) > 2 else None
            yield layer_act, layer_params[0], layer_params[1], alpha

    def _forward(self, x, masks=None, training=False):
        """Per layer (Z, A, A_out, N), A_0 = X not included; A_out = norm(A) * mask
        (normalization, dropout); N = norm_forward's (out, xhat, inv, mean, var) or None.
        ``training``: batch normalization with the batch's statistics."""
        cache = []
        a = x
        for i, (kind, w, b, alpha) in enumerate(self._layers()):
            z = a @ w + b
            a = activation_forward(kind, z, alpha)
            norm = self.spec.norm(i)
            n = None if norm is None else norm_forward(norm, a, training)
            a_out = a if n is None else n[0]
            a_out = a_out if masks is None or masks[i] is None else a_out * masks[i]
            cache.append((z, a, a_out, n))
            a = a_out
        return cache

    def _penalty(self, rows):
        """The layers' regularization penalty for a batch of ``rows`` rows (scaled by
        ``penalty_rows / rows`` when the spec sets ``penalty_rows``), and its gradient per
        parameter (or None)."""
        total, grads = 0.0, []
        penalty_rows = getattr(self.spec, "penalty_rows", 0)
        c = (penalty_rows / rows if penalty_rows > 0 else 1.0) * self._batch_scale
        for (kl1, kl2, bl1, bl2), (_, w, b, _alpha) in zip(self._regs, self._layers()):
            layer = []
            for p, l1, l2 in ((w, c * kl1, c * kl2), (b, c * bl1, c * bl2)):
                if l1 != 0 or l2 != 0:
                    value, grad = regularize(p, l1, l2)
                    total += value
                    layer.append(grad)
                else:
                    layer.append(None)
            grads.append(layer)
        return total, grads

    def predict(self, x):
        return np.ascontiguousarray(self._forward(x)[-1][1])

    def layer_outputs(self, x):
        return [np.ascontiguousarray(a) for _, a, _, _ in self._forward(x)]

    def loss(self, x, y, sample_weight=None):
        z, a, _, _ = self._forward(x)[-1]
        return (loss_value(self.spec.loss, z, a, y, sample_weight)
                + self._penalty(x.shape[0])[0])

    def gradients(self, x, y, sample_weight=None, masks=None, input_mask=None):
        """Loss and gradients in ``get_weights`` order: dW = A_prev^T dZ (+ dR/dW),
        db = sum dZ (+ dR/db)."""
        if input_mask is not None:  # dropout on the inputs: X * mask throughout
            x = x * input_mask
        cache = self._forward(x, masks, training=True)
        self._batch_stats = [None if c[3] is None else c[3][3:] for c in cache]
        layers = list(self._layers())
        penalty, penalty_grads = self._penalty(x.shape[0])
        z, a, _, _ = cache[-1]
        loss = loss_value(self.spec.loss, z, a, y, sample_weight) + penalty
        kind, _, _, alpha = layers[-1]
        dz, dalpha = loss_delta(self.spec.loss, kind, z, a, y, sample_weight, alpha)
        grads = []
        norm_grads = []   # of layer i's normalization, from the step down from layer i + 1
        for i in range(len(layers) - 1, -1, -1):
            kind, w, _b, alpha = layers[i]
            a_prev = cache[i - 1][2] if i > 0 else x
            layer_grads = [a_prev.T @ dz, dz.sum(axis=0)]
            for j, reg_grad in enumerate(penalty_grads[i]):
                if reg_grad is not None:
                    layer_grads[j] = layer_grads[j] + reg_grad
            if alpha is not None:
                layer_grads.append(dalpha)
            grads[:0] = layer_grads + norm_grads if i < len(layers) - 1 else layer_grads
            if i > 0:
                da_prev = dz @ w.T
                if masks is not None and masks[i - 1] is not None:
                    da_prev = da_prev * masks[i - 1]
                prev_kind, _, _, prev_alpha = layers[i - 1]
                z_prev, a_prev, _, n_prev = cache[i - 1]
                norm_grads = []
                if n_prev is not None:  # back through the normalization of layer i - 1
                    da_prev, norm_grads = norm_backward(self.spec.norm(i - 1), da_prev,
                                                        n_prev[1], n_prev[2])
                dz, dalpha = activation_backward(prev_kind, z_prev, a_prev, da_prev, prev_alpha)
        return loss, grads

    def gradients_into(self, x, y, sample_weight, out, offsets):
        """Full-batch loss; each gradient written into the flat ``out`` from its offset."""
        loss, grads = self.gradients(x, y, sample_weight)
        for g, offset in zip(grads, offsets):
            out[offset:offset + g.size] = g.ravel()
        return loss

    def train(self, x, y, order, batch_size, first_batch, stop_batch, losses,
              sample_weight=None, masks=None, input_mask=None):
        n = x.shape[0]
        params = self.spec.flat_params
        for i in range(first_batch, stop_batch):
            rows = order[i * batch_size: min((i + 1) * batch_size, n)]
            w = None if sample_weight is None else sample_weight[rows]
            weight_norm = getattr(self.spec, "weight_norm", 0.0)
            if w is not None and weight_norm > 0:   # scikit-learn's per-batch sum_B s
                wsum = float(np.sum(w, dtype=np.float64))
                self._batch_scale = len(rows) * weight_norm / wsum if wsum > 0 else 1.0
                w = w * w.dtype.type(self._batch_scale)
            offset = (i - first_batch) * batch_size
            batch_masks = batch_input_mask = None
            if masks is not None:
                batch_masks = [None if m is None else m[offset: offset + len(rows)]
                               for m in masks]
            if input_mask is not None:
                batch_input_mask = input_mask[offset: offset + len(rows)]
            loss, grads = self.gradients(x[rows], y[rows], w, batch_masks, batch_input_mask)
            self._batch_scale = 1.0
            losses[i - first_batch] = loss
            if not np.isfinite(loss):
                return i - first_batch
            optimizer_step(self.spec.optimizer, params, grads)
            for i, stats in enumerate(self._batch_stats):  # with the step: the moving stats
                norm = self.spec.norm(i)
                if stats is not None and norm.kind == NORM_BATCH:
                    norm_update(norm, *stats)
        return stop_batch - first_batch

    def apply_gradients(self, grads):
        optimizer_step(self.spec.optimizer, self.spec.flat_params, grads)
