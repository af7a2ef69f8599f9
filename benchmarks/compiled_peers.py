"""The compiled peers of the benchmarks: JAX (XLA) and ``torch.compile``.

Each trainer holds one multilayer perceptron and its optimizer, doing the same maths as
fastmlp's: Dense layers ``A W + b`` with the hidden activation, a softmax (categorical
cross-entropy) or sigmoid (binary cross-entropy) output fused into its loss, the loss the
mean over the batch's rows, and SGD, heavy-ball Momentum (0.9, PyTorch's form) or Adam
(0.9, 0.999, epsilon 1e-8 added to the bias-corrected square root, PyTorch's form, which
is also optax's). They start from given weights (fastmlp's own initial ones, so every peer
starts from the same point) and take the batches in a given row order, so one epoch of a
trainer and one epoch of ``fastmlp`` with ``shuffle=False`` compute the same numbers to
rounding (``tests/test_compiled_peers.py`` checks it).

``JaxTrainer.epoch`` is one ``jax.jit`` of the whole epoch (``lax.scan`` over the full
batches, the last partial batch a second step inside the same program), the fastest way to
write it in JAX; ``JaxTrainer.epoch_by_step`` is the common style of a Python loop calling
a jitted step per batch. ``TorchCompiledTrainer`` compiles the network (forward and, through
AOTAutograd, backward) and the optimizer's step with ``torch.compile``.

Both frameworks are optional: importing this module needs neither; building a trainer
imports its framework.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: torch.compile modes that run on a CPU ("reduce-overhead" records CUDA graphs, which a
#: CPU run does not have: it compiles as the default mode does).
TORCH_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs")

#: fastmlp's optimizer hyper-parameters, as the regimes build them (library defaults).
MOMENTUM = 0.9
ADAM = {"b1": 0.9, "b2": 0.999, "eps": 1e-8}


def _pairs(weights: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[W1, b1, W2, b2, ...]`` (fastmlp's ``get_weights`` order) as ``[(W1, b1), ...]``."""
    if len(weights) % 2:
        raise ValueError(f"expected W, b pairs, got {len(weights)} arrays")
    return [(np.asarray(weights[i]), np.asarray(weights[i + 1]))
            for i in range(0, len(weights), 2)]


def _batches(n: int, batch_size: int) -> tuple[int, int]:
    """(number of full batches, rows of the last partial batch or 0)."""
    return n // batch_size, n % batch_size


class JaxTrainer:
    """A multilayer perceptron trained with JAX and optax on the CPU, float32.

    Parameters
    ----------
    weights : list of arrays
        ``[W1 (d_in, d_out), b1, W2, b2, ...]``, the starting point.
    hidden : {"relu", "tanh"}
    output : {"softmax", "sigmoid"}
    optimizer : {"sgd", "momentum", "adam"}
    learning_rate : float
    batch_size : int

    Example
    -------
    >>> t = JaxTrainer([W1, b1, W2, b2], "relu", "softmax", "adam", 1e-3, 128)
    >>> losses = t.epoch(X, Y, np.arange(len(X)))     # one loss per batch
    """

    def __init__(self, weights: Sequence[np.ndarray], hidden: str, output: str,
                 optimizer: str, learning_rate: float, batch_size: int) -> None:
        import jax
        import jax.numpy as jnp
        import optax
        from jax import lax

        self.jax = jax
        act = {"relu": jax.nn.relu, "tanh": jnp.tanh}[hidden]
        if optimizer == "sgd":
            tx = optax.sgd(learning_rate)
        elif optimizer == "momentum":
            tx = optax.sgd(learning_rate, momentum=MOMENTUM)   # trace: b = mu b + g, b1 = g1
        elif optimizer == "adam":
            tx = optax.adam(learning_rate, **ADAM)
        else:
            raise ValueError(f"no JAX peer for optimizer {optimizer!r}")
        self.batch_size = int(batch_size)
        self.params = [(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32))
                       for W, b in _pairs(weights)]
        self.state = tx.init(self.params)

        def logits(params, x):
            for W, b in params[:-1]:
                x = act(x @ W + b)
            W, b = params[-1]
            return x @ W + b

        def loss_fn(params, x, y):
            z = logits(params, x)
            if output == "softmax":
                return optax.softmax_cross_entropy(z, y).mean()
            return optax.sigmoid_binary_cross_entropy(z, y).mean()

        def step(params, state, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            updates, state = tx.update(grads, state, params)
            return optax.apply_updates(params, updates), state, loss

        bs = self.batch_size

        def epoch(params, state, X, Y, order):
            n_full, tail = _batches(order.shape[0], bs)

            def body(carry, idx):
                p, s, loss = step(*carry, X[idx], Y[idx])
                return (p, s), loss

            (params, state), losses = lax.scan(body, (params, state),
                                               order[:n_full * bs].reshape(n_full, bs))
            if tail:
                idx = order[n_full * bs:]
                params, state, last = step(params, state, X[idx], Y[idx])
                losses = jnp.concatenate([losses, last[None]])
            return params, state, losses

        def gather_step(params, state, X, Y, idx):
            return step(params, state, X[idx], Y[idx])

        def predict(params, x):
            z = logits(params, x)
            return jax.nn.softmax(z, axis=-1) if output == "softmax" else jax.nn.sigmoid(z)

        # the parameters and optimizer state are donated: updated in place, as fastmlp's
        self._epoch = jax.jit(epoch, donate_argnums=(0, 1))
        self._step = jax.jit(gather_step, donate_argnums=(0, 1))
        self._predict = jax.jit(predict)

    def put(self, *arrays: np.ndarray):
        """The arrays on JAX's device (once, before timing: data stay there)."""
        return tuple(self.jax.device_put(np.asarray(a)) for a in arrays)

    def epoch(self, X, Y, order) -> np.ndarray:
        """One epoch in one compiled program; the loss of every batch (before its step)."""
        self.params, self.state, losses = self._epoch(self.params, self.state, X, Y, order)
        return np.asarray(losses)

    def epoch_by_step(self, X, Y, order) -> np.ndarray:
        """One epoch as a Python loop of jitted steps (the row gather inside the step)."""
        order = np.asarray(order)
        n, bs = order.shape[0], self.batch_size
        losses = []
        for start in range(0, n, bs):
            self.params, self.state, loss = self._step(self.params, self.state, X, Y,
                                                       order[start:start + bs])
            losses.append(loss)
        return np.asarray(self.jax.block_until_ready(losses))

    def predict(self, x) -> np.ndarray:
        return np.asarray(self._predict(self.params, x))

    def weights(self) -> list[np.ndarray]:
        return [np.asarray(a) for pair in self.params for a in pair]


class TorchCompiledTrainer:
    """A multilayer perceptron trained with PyTorch on the CPU, network and optimizer
    step compiled with ``torch.compile(mode=mode)``, float32.

    Parameters are those of :class:`JaxTrainer`, plus ``mode`` (one of
    :data:`TORCH_MODES`). ``epoch`` takes integer class labels for a softmax output,
    0/1 float targets ``(n, 1)`` for a sigmoid one.

    Example
    -------
    >>> t = TorchCompiledTrainer([W1, b1, W2, b2], "relu", "softmax", "adam", 1e-3, 128)
    >>> losses = t.epoch(X, labels, torch.arange(len(X)))
    """

    def __init__(self, weights: Sequence[np.ndarray], hidden: str, output: str,
                 optimizer: str, learning_rate: float, batch_size: int,
                 mode: str = "default") -> None:
        import torch

        self.torch = torch
        pairs = _pairs(weights)
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[hidden]
        mods: list = []
        for i, (W, b) in enumerate(pairs):
            lin = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T, np.float32)))
                lin.bias.copy_(torch.from_numpy(np.asarray(b, np.float32)))
            mods.append(lin)
            if i < len(pairs) - 1:
                mods.append(act())
        self.net = torch.nn.Sequential(*mods)
        self.output = output
        self.loss_fn = (torch.nn.CrossEntropyLoss() if output == "softmax"
                        else torch.nn.BCEWithLogitsLoss())
        params = self.net.parameters()
        if optimizer == "sgd":
            self.opt = torch.optim.SGD(params, lr=learning_rate)
        elif optimizer == "momentum":
            self.opt = torch.optim.SGD(params, lr=learning_rate, momentum=MOMENTUM)
        elif optimizer == "adam":
            self.opt = torch.optim.Adam(params, lr=learning_rate, betas=(ADAM["b1"], ADAM["b2"]),
                                        eps=ADAM["eps"])
        else:
            raise ValueError(f"no torch.compile peer for optimizer {optimizer!r}")
        self.batch_size = int(batch_size)
        self.mode = mode
        net, loss_fn = self.net, self.loss_fn

        def forward_loss(x, y):
            return loss_fn(net(x), y)

        self._forward_loss = torch.compile(forward_loss, mode=mode, dynamic=False)
        self._opt_step = torch.compile(self.opt.step, mode=mode, dynamic=False)

    def epoch(self, X, Y, order) -> np.ndarray:
        """One epoch; the loss of every batch (before its step)."""
        torch, bs = self.torch, self.batch_size
        losses = []
        for start in range(0, order.shape[0], bs):
            idx = order[start:start + bs]
            self.opt.zero_grad(set_to_none=True)
            loss = self._forward_loss(X[idx], Y[idx])
            loss.backward()
            self._opt_step()
            losses.append(loss.detach())
        return torch.stack(losses).numpy()

    def weights(self) -> list[np.ndarray]:
        out = []
        for mod in self.net:
            if isinstance(mod, self.torch.nn.Linear):
                out += [mod.weight.detach().numpy().T.copy(), mod.bias.detach().numpy().copy()]
        return out


def torch_predictor(weights: Sequence[np.ndarray], hidden: str, output: str, x: np.ndarray,
                    how: str):
    """A callable returning the network's prediction for the fixed rows ``x`` as NumPy:
    ``how`` is ``"trace"`` (``torch.jit.trace`` under ``no_grad``) or a
    :data:`TORCH_MODES` mode of ``torch.compile``."""
    import torch

    trainer = TorchCompiledTrainer(weights, hidden, output, "sgd", 0.0, 1, mode="default")
    net = trainer.net.eval()
    for p in net.parameters():          # constants of the traced graph, not trainable
        p.requires_grad_(False)
    out = torch.sigmoid if output == "sigmoid" else (lambda z: z.softmax(1))

    def forward(t):
        return out(net(t))

    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    with torch.no_grad():
        fn = (torch.jit.trace(forward, (xt,)) if how == "trace"
              else torch.compile(forward, mode=how, dynamic=False))

    def predict():
        with torch.no_grad():
            return fn(xt).numpy()

    return predict
