"""The benchmarks' compiled peers (benchmarks/compiled_peers.py) do fastmlp's work: from
the same weights, over the same batches, one epoch of JAX's (whole-epoch ``jit`` and
jitted-step) and ``torch.compile``'s trainer gives the NumPy reference's loss and weights
to float32 rounding. Skipped when JAX / PyTorch are not installed."""
import copy
import os
import shutil
import sys

import numpy as np
import pytest

import fastmlp as fm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import compiled_peers as C

# (sizes, hidden, output, loss, optimizer, learning rate, batch size, rows)
CASES = {
    "relu-softmax-adam": ((6, 8, 5, 3), "relu", "softmax", "categorical_crossentropy",
                          "adam", 1e-2, 16, 70),
    "tanh-sigmoid-momentum": ((3, 7, 1), "tanh", "sigmoid", "binary_crossentropy",
                              "momentum", 0.05, 1, 30),
    "relu-softmax-sgd": ((4, 9, 3), "relu", "softmax", "categorical_crossentropy", "sgd",
                         0.1, 8, 41),
}


def reference(case):
    """fastmlp's NumPy backend after one shuffled epoch: (initial weights, row order,
    data, labels, epoch loss, final weights)."""
    sizes, hidden, output, loss, opt, lr, bs, n = case
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, sizes[0])).astype(np.float32)
    labels = rng.integers(0, max(sizes[-1], 2), n)
    Y = (labels.reshape(-1, 1).astype(np.float32) if sizes[-1] == 1
         else np.eye(sizes[-1], dtype=np.float32)[labels])
    layers = [fm.Dense(u, activation=hidden if i < len(sizes) - 2 else output,
                       input_dim=sizes[0] if i == 0 else None)
              for i, u in enumerate(sizes[1:])]
    model = fm.Sequential(layers, seed=3, dtype="float32", backend="numpy")
    model.compile(optimizer=fm.optimizers.OPTIMIZERS[opt](learning_rate=lr), loss=loss)
    model.build(sizes[0])
    start = model.get_weights()
    order = copy.deepcopy(model.rng).permutation(n)     # the order fit's shuffle takes
    history = model.fit(X, Y, epochs=1, batch_size=bs, verbose=0)
    return start, order, X, Y, labels, history.history["loss"][0], model.get_weights()


def epoch_loss(losses, n, bs):
    rows = np.diff(np.r_[np.arange(0, n, bs), n])
    return float((np.asarray(losses, np.float64) * rows).sum() / n)


def check(case, losses, weights, ref):
    _, _, X, _, _, loss, final = ref
    assert len(losses) == -(-X.shape[0] // case[6])
    assert epoch_loss(losses, X.shape[0], case[6]) == pytest.approx(loss, rel=1e-5)
    for got, want in zip(weights, final, strict=True):
        # Adam divides by sqrt(v): float32 rounding of tiny gradients moves a step by up
        # to a fraction of the learning rate
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 + 0.05 * case[5] * (
            case[4] == "adam"))


@pytest.mark.parametrize("by_step", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["scan-epoch", "jitted-step"])
@pytest.mark.parametrize("name", ["relu-softmax-adam",
                                  *(pytest.param(n, marks=pytest.mark.slow)
                                    for n in CASES if n != "relu-softmax-adam")])
def test_jax_trainer_matches_reference(name, by_step):
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    case = CASES[name]
    ref = reference(case)
    start, order, X, Y = ref[:4]
    trainer = C.JaxTrainer(start, case[1], case[2], case[4], case[5], case[6])
    Xd, Yd, od = trainer.put(X, Y, order.astype(np.int32))
    losses = (trainer.epoch_by_step(Xd, Yd, order.astype(np.int32)) if by_step
              else trainer.epoch(Xd, Yd, od))
    check(case, losses, trainer.weights(), ref)


def test_jax_predict_matches_reference():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    case = CASES["relu-softmax-adam"]
    start, _, X = reference(case)[:3]
    layers = [fm.Dense(8, activation="relu", input_dim=6), fm.Dense(5, activation="relu"),
              fm.Dense(3, activation="softmax")]
    model = fm.Sequential(layers, dtype="float32", backend="numpy")
    model.build(6)
    model.set_weights(start)
    trainer = C.JaxTrainer(start, "relu", "softmax", "sgd", 0.0, 1)
    np.testing.assert_allclose(trainer.predict(trainer.put(X)[0]), model.predict(X),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.slow
# torch.compile's own machinery touches the deprecated torch.jit.script_method
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", ["relu-softmax-adam", "tanh-sigmoid-momentum"])
def test_torch_compiled_trainer_matches_reference(name):
    torch = pytest.importorskip("torch")
    if not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        pytest.skip("torch.compile on a CPU needs a C++ compiler")
    case = CASES[name]
    ref = reference(case)
    start, order, X, _, labels = ref[:5]
    targets = (torch.from_numpy(labels) if case[2] == "softmax"
               else torch.from_numpy(labels.reshape(-1, 1).astype(np.float32)))
    trainer = C.TorchCompiledTrainer(start, case[1], case[2], case[4], case[5], case[6])
    losses = trainer.epoch(torch.from_numpy(X), targets, torch.from_numpy(order))
    check(case, losses, trainer.weights(), ref)
