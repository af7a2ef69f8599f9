"""The four benchmark regimes of fastmlp and one runner per peer, shared by the
pytest-benchmark suites (``test_bench_*.py``) and ``compare.py``.

A *runner* is built once per (regime, peer): it creates the data and the network, warms
the peer up, and exposes ``run()``, the unit of work that is timed (one epoch of training,
or one ``predict`` call on one row), plus ``per`` (how many units one ``run()`` holds, for
per-sample or per-call figures) and ``info`` (what actually ran: optimizer, dtype, ...).

Peers
-----
``fastmlp`` (compiled backend), ``numpy`` (fastmlp's NumPy reference backend), ``torch``
(PyTorch on the CPU, a plain training loop as its tutorials write it), ``sklearn``
(``MLPClassifier.partial_fit``, one epoch per call) and ``gemm`` (only the matrix products
one training epoch needs, through the same BLAS as fastmlp, into preallocated outputs:
the BLAS-bound limit), and the compiled peers of ``compiled_peers.py``: ``jax`` (the whole
epoch in one ``jax.jit``, ``lax.scan`` over the batches, optax; for predict a jitted
forward), ``jax-step`` (a Python loop calling a jitted step per batch) and
``torch-compile`` (network and optimizer step through ``torch.compile``, the fastest of
its CPU modes; for predict the fastest of those and ``torch.jit.trace``). The compiled
peers start from fastmlp's initial weights and use its optimizer hyper-parameters.
Everything but fastmlp is optional: :func:`available_peers` leaves out what is not
installed.

Data are synthetic and seeded (timing does not depend on the values, only on shapes), with
labels a model can learn so that no run diverges.
"""
from __future__ import annotations

import gc
import importlib.util
import itertools
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import fastmlp as fm

DTYPE = "float32"
THREADS = 2


@dataclass(frozen=True)
class Regime:
    """One benchmark setting (the issue's four regimes)."""

    name: str
    sizes: tuple[int, ...]
    hidden: str                     # activation of the hidden layers
    output: str                     # activation of the output layer
    loss: str                       # fastmlp loss name
    optimizer: str                  # fastmlp optimizer name
    learning_rate: float
    batch_size: int
    n_samples: int
    task: str = "train"             # "train" (one epoch per run) or "predict" (one row)
    peers: tuple[str, ...] = ("fastmlp", "jax", "jax-step", "torch-compile", "numpy", "torch")
    unit: str = "epoch"             # what `run()` times, for the table
    description: str = ""


REGIMES: dict[str, Regime] = {
    r.name: r for r in (
        Regime("tiny-sgd", (2, 16, 16, 1), "tanh", "sigmoid", "binary_crossentropy", "sgd",
               0.05, 1, 2000, peers=("fastmlp", "jax", "jax-step", "torch-compile", "numpy",
                                     "torch", "sklearn"),
               description="2-16-16-1 tanh/tanh/sigmoid, BCE, SGD, batch 1, 2,000 samples, "
                           "one epoch"),
        Regime("mnist-adam", (784, 256, 128, 10), "relu", "softmax",
               "categorical_crossentropy", "adam", 1e-3, 128, 10_000,
               peers=("fastmlp", "jax", "jax-step", "torch-compile", "numpy", "torch",
                      "sklearn", "gemm"),
               description="784-256-128-10 relu/relu/softmax, CE, Adam, batch 128, 10,000 "
                           "samples, one epoch"),
        Regime("wide-batch", (1024, 1024, 1024, 10), "relu", "softmax",
               "categorical_crossentropy", "momentum", 1e-3, 1024, 8192,
               peers=("fastmlp", "jax", "jax-step", "torch-compile", "numpy", "torch",
                      "gemm"),
               description="1024-1024-1024-10 relu/relu/softmax, CE, Momentum, batch 1024, "
                           "8,192 samples, one epoch"),
        Regime("predict-latency", (64, 64, 64, 1), "relu", "sigmoid", "binary_crossentropy",
               "sgd", 0.01, 1, 1, task="predict", unit="call",
               peers=("fastmlp", "jax", "torch-compile", "numpy", "torch"),
               description="model.predict on one row, 64-64-64-1 relu/relu/sigmoid"),
    )
}

#: Peers in table order.
PEERS = ("fastmlp", "jax", "jax-step", "torch-compile", "torch", "numpy", "sklearn", "gemm")

#: What each peer needs installed (beyond fastmlp).
NEEDS = {"jax": ("jax", "optax"), "jax-step": ("jax", "optax"), "torch": ("torch",),
         "torch-compile": ("torch",), "sklearn": ("sklearn",)}


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def unavailable_peers() -> dict[str, str]:
    """The peers that cannot run here, each with the reason."""
    reasons = {}
    if "cython" not in fm.available_backends():
        reasons["fastmlp"] = reasons["gemm"] = "fastmlp's compiled backend is not built"
    for peer, modules in NEEDS.items():
        missing = [m for m in modules if not has_module(m)]
        if missing:
            reasons[peer] = f"{' and '.join(missing)} not installed"
    if "torch-compile" not in reasons and not any(
            shutil.which(c) for c in (os.environ.get("CXX", "g++"), "g++", "c++", "clang++")):
        reasons["torch-compile"] = "torch.compile on a CPU needs a C++ compiler, none found"
    return reasons


def available_peers() -> set[str]:
    """Peers that can run here (fastmlp's compiled backend counts as required)."""
    return set(PEERS) - set(unavailable_peers())


def effective_optimizer(name: str) -> str:
    """The optimizer fastmlp can run for ``name``: itself if fastmlp has it, else ``sgd``.

    Every peer of a regime uses this same optimizer, so a regime measured before fastmlp
    has Adam/Momentum still compares like with like (and says so in its label).
    """
    return name if name in fm.optimizers.OPTIMIZERS else "sgd"


def regime_label(regime: Regime) -> str:
    used = effective_optimizer(regime.optimizer)
    if used != regime.optimizer:
        return f"{regime.name} [{used} until {regime.optimizer} lands]"
    return regime.name


# --------------------------------------------------------------------------------------
# threads and environment
# --------------------------------------------------------------------------------------
def pin_threads(n: int = THREADS) -> None:
    """n threads for fastmlp (BLAS + OpenMP) and for the peers' own pools."""
    if hasattr(fm, "set_num_threads"):
        fm.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)
    except ImportError:
        pass
    if has_module("torch"):
        import torch

        torch.set_num_threads(n)


def environment() -> dict:
    """BLAS libraries, thread counts and versions, for ``extra_info`` and the JSON."""
    info: dict = {"python": platform.python_version(), "machine": platform.machine(),
                  "cpu_count": os.cpu_count(), "numpy": np.__version__,
                  "fastmlp": fm.__version__, "dtype": DTYPE}
    if hasattr(fm, "get_num_threads"):
        info["fastmlp_threads"] = fm.get_num_threads()
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                   "num_threads", "architecture")}
            for p in threadpool_info()]
    except ImportError:
        pass
    if has_module("torch"):
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    if has_module("sklearn"):
        import sklearn

        info["sklearn"] = sklearn.__version__
    if has_module("jax"):
        import jax

        # XLA's CPU client runs one thread per core (its Eigen pool), whatever --threads
        info["jax"] = jax.__version__
    return info


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
def make_data(regime: Regime, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(n, d)`` float32 and integer labels ``(n,)`` (0/1 for one output)."""
    rng = np.random.default_rng(seed)
    n, d, k = max(regime.n_samples, 1), regime.sizes[0], regime.sizes[-1]
    X = rng.standard_normal((n, d)).astype(DTYPE)
    proj = rng.standard_normal((d, max(k, 2))) / np.sqrt(d)
    labels = (X @ proj).argmax(axis=1)
    if k == 1:
        labels = (labels > 0).astype(np.int64)
    return X, labels


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return labels.reshape(-1, 1).astype(DTYPE)
    out = np.zeros((labels.shape[0], k), dtype=DTYPE)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


# --------------------------------------------------------------------------------------
# runners
# --------------------------------------------------------------------------------------
@dataclass
class Runner:
    run: Callable[[], object]
    per: int = 1
    info: dict = field(default_factory=dict)
    #: seconds of the first call (tracing and compiling for the compiled peers), which the
    #: timings leave out
    first_s: float | None = None


def _first(run: Callable[[], object]) -> float:
    """Seconds of ``run()`` (the warm-up call)."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def build_model(regime: Regime, backend: str = "cython") -> fm.Sequential:
    """The regime's network, built and compiled with its optimizer and loss."""
    n_layers = len(regime.sizes) - 1
    layers = [fm.Dense(u, activation=regime.hidden if i < n_layers - 1 else regime.output,
                       input_dim=regime.sizes[0] if i == 0 else None)
              for i, u in enumerate(regime.sizes[1:])]
    model = fm.Sequential(layers, seed=0, dtype=DTYPE, backend=backend)
    opt_name = effective_optimizer(regime.optimizer)
    opt = fm.optimizers.OPTIMIZERS[opt_name](learning_rate=regime.learning_rate)
    model.build(regime.sizes[0])
    model.compile(optimizer=opt, loss=regime.loss)
    return model


def _fastmlp(regime: Regime, backend: str) -> Runner:
    X, labels = make_data(regime)
    Y = one_hot(labels, regime.sizes[-1])
    model = build_model(regime, backend)
    info = {"optimizer": repr(model.optimizer), "backend": backend}
    if regime.task == "predict":           # X holds the rows of one predict call
        def predict():
            return model.predict(X)

        return Runner(predict, X.shape[0], info, _first(predict))

    def run():
        model.fit(X, Y, epochs=1, batch_size=regime.batch_size, verbose=0)

    return Runner(run, X.shape[0], info, _first(run))


def _torch(regime: Regime) -> Runner:
    import torch

    torch.manual_seed(0)
    X_np, labels = make_data(regime)
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[regime.hidden]
    mods: list = []
    for i, (a, b) in enumerate(zip(regime.sizes[:-1], regime.sizes[1:])):
        mods.append(torch.nn.Linear(a, b))
        if i < len(regime.sizes) - 2:
            mods.append(act())
    net = torch.nn.Sequential(*mods)          # logits; the output activation is fused below
    X = torch.from_numpy(X_np)
    info = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if regime.task == "predict":
        out = torch.sigmoid if regime.output == "sigmoid" else (lambda z: z.softmax(1))

        def predict():
            with torch.no_grad():
                return out(net(X)).numpy()

        return Runner(predict, X.shape[0], info, _first(predict))

    if regime.sizes[-1] == 1:
        Y = torch.from_numpy(labels.reshape(-1, 1).astype(DTYPE))
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        Y = torch.from_numpy(labels)
        loss_fn = torch.nn.CrossEntropyLoss()
    opt_name = effective_optimizer(regime.optimizer)
    lr = regime.learning_rate
    if opt_name == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr)
    elif opt_name == "momentum":
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    elif opt_name == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=lr)
    else:
        raise ValueError(opt_name)
    info["optimizer"] = repr(opt).replace("\n", " ")
    n, bs = X.shape[0], regime.batch_size

    def epoch():
        perm = torch.randperm(n)
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()

    return Runner(epoch, n, info, _first(epoch))


def _sklearn(regime: Regime) -> Runner:
    import warnings

    import sklearn
    from sklearn.neural_network import MLPClassifier

    X, labels = make_data(regime)
    opt_name = effective_optimizer(regime.optimizer)
    kwargs = {"solver": "adam"} if opt_name == "adam" else {
        "solver": "sgd", "momentum": 0.9 if opt_name == "momentum" else 0.0,
        "nesterovs_momentum": False, "learning_rate": "constant"}
    clf = MLPClassifier(hidden_layer_sizes=regime.sizes[1:-1], activation=regime.hidden,
                        batch_size=regime.batch_size, learning_rate_init=regime.learning_rate,
                        alpha=0.0, shuffle=True, random_state=0, **kwargs)
    classes = np.arange(max(regime.sizes[-1], 2))

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X, labels, classes=classes)

    first = _first(epoch)
    return Runner(epoch, X.shape[0], {"sklearn": sklearn.__version__,
                                      "solver": kwargs["solver"],
                                      "dtype": str(clf.coefs_[0].dtype)},
                  first)


def _gemm(regime: Regime) -> Runner:
    """Exactly the products of one training epoch (forward, dW, dA except layer 0's)."""
    from fastmlp.backend import _blas
    gemm_sequence = _blas.gemm_sequence

    rng = np.random.default_rng(0)
    sizes, bs, n = regime.sizes, regime.batch_size, regime.n_samples
    batches = [bs] * (n // bs) + ([n % bs] if n % bs else [])

    def mat(r, c):
        return rng.standard_normal((r, c)).astype(DTYPE)

    calls_per_rows = {}
    for rows in set(batches):
        acts = [mat(rows, s) for s in sizes]            # A_0 = X batch, A_l outputs
        deltas = [mat(rows, s) for s in sizes]          # dZ_l (and dA_{l-1} targets)
        Ws = [mat(a, b) for a, b in itertools.pairwise(sizes)]
        dWs = [np.empty_like(w) for w in Ws]
        calls = []
        for i in range(len(Ws)):                        # Z_i = A_{i} W_i
            calls.append((acts[i], Ws[i], acts[i + 1], False, False))
        for i in range(len(Ws) - 1, -1, -1):
            calls.append((acts[i], deltas[i + 1], dWs[i], True, False))   # dW = A^T dZ
            if i > 0:
                calls.append((deltas[i + 1], Ws[i], deltas[i], False, True))  # dA = dZ W^T
        calls_per_rows[rows] = calls
    plan = [c for rows in batches for c in calls_per_rows[rows]]

    def epoch():
        gemm_sequence(plan)

    first = _first(epoch)
    flops = sum(2.0 * (a.shape[0] if ta else a.shape[1]) * c.size for a, _, c, ta, _ in plan)
    return Runner(epoch, n, {"gemm_calls": len(plan), "gflop": flops / 1e9}, first)


def _jax(regime: Regime, by_step: bool = False) -> Runner:
    """JAX: the whole epoch one ``jax.jit`` (``lax.scan``), or a jitted step per batch."""
    import compiled_peers as C
    import jax

    X, labels = make_data(regime)
    Y = one_hot(labels, regime.sizes[-1])
    weights = build_model(regime, "numpy").get_weights()
    opt_name = effective_optimizer(regime.optimizer)
    trainer = C.JaxTrainer(weights, regime.hidden, regime.output, opt_name,
                           regime.learning_rate, regime.batch_size)
    info = {"jax": jax.__version__, "optimizer": opt_name,
            "style": "jitted step per batch" if by_step else "epoch in one jit (lax.scan)"}
    if regime.task == "predict":
        (x,) = trainer.put(X)
        info["style"] = "jitted predict"

        def predict():
            return trainer.predict(x)

        return Runner(predict, X.shape[0], info, _first(predict))
    Xd, Yd = trainer.put(X, Y)
    rng = np.random.default_rng(0)
    n = X.shape[0]
    run_epoch = trainer.epoch_by_step if by_step else trainer.epoch

    def epoch():
        order = rng.permutation(n).astype(np.int32)
        return run_epoch(Xd, Yd, order if by_step else jax.device_put(order))

    return Runner(epoch, n, info, _first(epoch))


#: ``torch.compile`` mode of the ``torch-compile`` peer: one of
#: ``compiled_peers.TORCH_MODES``, or "auto" for the fastest of them (each compiled and
#: timed on two calls; compile times in ``info``). ``FASTMLP_BENCH_TORCH_MODE`` sets it.
TORCH_MODE = os.environ.get("FASTMLP_BENCH_TORCH_MODE", "auto")


def _torch_compile(regime: Regime) -> Runner:
    import compiled_peers as C
    import torch

    X, labels = make_data(regime)
    weights = build_model(regime, "numpy").get_weights()
    opt_name = effective_optimizer(regime.optimizer)
    modes = C.TORCH_MODES if TORCH_MODE == "auto" else (TORCH_MODE,)
    if regime.task == "predict":
        modes = ("trace", *modes) if TORCH_MODE == "auto" else modes

        def build(mode):
            return C.torch_predictor(weights, regime.hidden, regime.output, X, mode)
    else:
        Xt = torch.from_numpy(X)
        Yt = (torch.from_numpy(labels) if regime.output == "softmax"
              else torch.from_numpy(labels.reshape(-1, 1).astype(DTYPE)))
        n = X.shape[0]

        def build(mode):
            trainer = C.TorchCompiledTrainer(weights, regime.hidden, regime.output,
                                             opt_name, regime.learning_rate,
                                             regime.batch_size, mode)
            generator = torch.Generator().manual_seed(0)

            def epoch():
                return trainer.epoch(Xt, Yt, torch.randperm(n, generator=generator))

            return epoch

    def fresh(mode):
        # every trainer compiles the same Python functions anew: without a reset Dynamo
        # counts them as recompilations and, past its limit, runs them eagerly
        torch._dynamo.reset()
        return build(mode)

    best, tried = None, {}
    for mode in modes:
        try:
            run = fresh(mode)
            first = _first(run)
        except Exception as exc:  # a mode this CPU or build cannot compile
            tried[mode] = {"failed": f"{type(exc).__name__}: {str(exc)[:120]}"}
            continue
        steady = min(_first(run) for _ in range(2))
        tried[mode] = {"first_s": round(first, 3), "steady_s": round(steady, 6)}
        if best is None or steady < best[2]:
            best = (mode, run, steady, first)
    if best is None:
        raise RuntimeError(f"torch.compile failed in every mode: {tried}")
    mode, run, _, first = best
    if mode != modes[-1]:           # built again after the reset of the later modes
        run = fresh(mode)
        _first(run)
    info = {"torch": torch.__version__, "mode": mode, "modes_tried": tried,
            "optimizer": opt_name}
    return Runner(run, X.shape[0], info, first)


def make_runner(regime: Regime, peer: str) -> Runner:
    """Build, warm up and return the runner of ``peer`` on ``regime``."""
    if peer == "fastmlp":
        return _fastmlp(regime, "cython")
    if peer == "numpy":
        return _fastmlp(regime, "numpy")
    if peer == "torch":
        return _torch(regime)
    if peer == "sklearn":
        return _sklearn(regime)
    if peer == "gemm":
        return _gemm(regime)
    if peer in ("jax", "jax-step"):
        return _jax(regime, by_step=peer == "jax-step")
    if peer == "torch-compile":
        return _torch_compile(regime)
    raise ValueError(f"unknown peer {peer!r}; valid peers are: {', '.join(PEERS)}")


# --------------------------------------------------------------------------------------
# interleaved timing (for the scripts that compare settings of one peer)
# --------------------------------------------------------------------------------------
def interleaved(variants: dict[str, tuple[Callable[[], object], Callable[[], Any]]],
                rounds: int, settle: float = 0.0) -> dict[str, list[float]]:
    """Seconds of one ``run()`` per round for each variant ``name: (run, setting)``,
    ``setting()`` a context manager in force while its run is warmed up (one untimed call)
    and timed; the variants take turns round by round so that a noisy phase of a shared
    machine hits them alike; garbage collection is off meanwhile; ``settle`` seconds of
    pause before each (BLAS threads of the previous run stop spinning)."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    gc.disable()
    try:
        for _ in range(rounds):
            for name, (run, setting) in variants.items():
                with setting():
                    time.sleep(settle)
                    run()
                    start = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return times
