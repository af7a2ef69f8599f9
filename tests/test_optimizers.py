"""The ten optimizers: both backends against their formulas stepped by hand, against each
other, against torch.optim when it is installed; schedules, clipping, validation, state
round trips, and real training on the breast-cancer data."""
import json
import math

import numpy as np
import pytest
from conftest import BACKENDS, TOL

import fastmlp as fm
from fastmlp import optimizers as O
from fastmlp._ids import HYPER_RULE

NAMES = ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamax",
         "nadam", "amsgrad"]
CLASS_NAMES = ["SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam",
               "AdaMax", "Nadam", "AMSGrad"]

#: Each optimizer at its defaults, then with its options, clipping, weight decay and the
#: schedules (all exercised by every test that takes CASES).
CASES = [(name, {}) for name in NAMES] + [
    ("sgd", {"learning_rate": 0.05, "weight_decay": 0.01, "clipnorm": 0.5}),
    ("momentum", {"momentum": 0.8, "dampening": 0.3, "weight_decay": 0.001}),
    ("nesterov", {"learning_rate": 0.03, "clipvalue": 0.02}),
    ("adagrad", {"learning_rate": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("adadelta", {"rho": 0.95, "epsilon": 1e-5, "weight_decay": 0.01}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.5, "rho": 0.9}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.01,
                 "learning_rate": O.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.7)}),
    ("adam", {"beta_1": 0.8, "beta_2": 0.99, "weight_decay": 0.01, "clipnorm": 0.05}),
    ("adam", {"amsgrad": True, "learning_rate": O.StepDecay(0.01, decay_steps=7)}),
    ("adamax", {"learning_rate": O.InverseScaling(0.01, decay_steps=5, decay_rate=0.5,
                                                  power=1.0, staircase=True)}),
    ("nadam", {"momentum_decay": 0.01, "weight_decay": 0.01,
               "learning_rate": O.InverseScaling(0.01)}),
    ("amsgrad", {"beta_2": 0.9, "clipvalue": 0.01,
                 "learning_rate": O.ExponentialDecay(0.01, 4, 0.9, staircase=True)}),
]
CASE_IDS = [f"{name}-{'-'.join(sorted(kw)) or 'defaults'}" for name, kw in CASES]


def make(name, kwargs):
    return O.OPTIMIZERS[name](**kwargs)


# =========================================================================================
# The rules written out by hand from their formulas (torch.optim's documented algorithms),
# in float64, independent of fastmlp's code: the oracle.
# =========================================================================================
def hand_learning_rate(lr, t):
    """Learning rate of update t (1-based), from the schedule's documented formula."""
    if not isinstance(lr, O.LearningRateSchedule):
        return lr
    c = lr.get_config()
    e = (t - 1) / c.get("decay_steps", 1)
    if isinstance(lr, O.StepDecay) or c.get("staircase"):
        e = math.floor(e)
    if isinstance(lr, O.Constant):
        return c["learning_rate"]
    if isinstance(lr, (O.ExponentialDecay, O.StepDecay)):
        return c["initial_learning_rate"] * c["decay_rate"] ** e
    return c["initial_learning_rate"] / (1 + c["decay_rate"] * e) ** c["power"]


def hand_rule(name, c, p, g, s, t, lr):
    """Return the new p; ``s`` (a dict) holds this parameter's state."""
    if name == "sgd":
        return p - lr * g
    if name in ("momentum", "nesterov"):
        mu = c["momentum"]
        s["b"] = g.copy() if t == 1 else mu * s["b"] + (1 - c["dampening"]) * g
        return p - lr * (g + mu * s["b"] if c["nesterov"] else s["b"])
    if name == "adagrad":
        s.setdefault("G", np.full_like(p, c["initial_accumulator_value"]))
        s["G"] = s["G"] + g ** 2
        return p - lr / (1 + (t - 1) * c["lr_decay"]) * g / (np.sqrt(s["G"]) + c["epsilon"])
    if name == "adadelta":
        rho, eps = c["rho"], c["epsilon"]
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g ** 2
        delta = np.sqrt(s.get("u", 0) + eps) / np.sqrt(s["v"] + eps) * g
        s["u"] = rho * s.get("u", 0) + (1 - rho) * delta ** 2
        return p - lr * delta
    if name == "rmsprop":
        rho, eps, mu = c["rho"], c["epsilon"], c["momentum"]
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g ** 2
        if c["centered"]:
            s["a"] = rho * s.get("a", 0) + (1 - rho) * g
            denom = np.sqrt(s["v"] - s["a"] ** 2) + eps
        else:
            denom = np.sqrt(s["v"]) + eps
        if mu > 0:
            s["b"] = mu * s.get("b", 0) + g / denom
            return p - lr * s["b"]
        return p - lr * g / denom
    if name in ("adam", "amsgrad", "adamax", "nadam"):
        b1, b2, eps = c["beta_1"], c["beta_2"], c["epsilon"]
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        if name == "adamax":
            s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g) + eps)
            return p - lr / (1 - b1 ** t) * s["m"] / s["u"]
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g ** 2
        if name == "nadam":
            psi = c["momentum_decay"]
            mu_t = b1 * (1 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
            s["prod"] = s.get("prod", 1.0) * mu_t
            denom = np.sqrt(s["v"] / (1 - b2 ** t)) + eps
            return (p - lr * (1 - mu_t) / (1 - s["prod"]) * g / denom
                    - lr * mu_next / (1 - s["prod"] * mu_next) * s["m"] / denom)
        v = s["v"]
        if c.get("amsgrad", name == "amsgrad"):
            s["vmax"] = np.maximum(s.get("vmax", 0), s["v"])
            v = s["vmax"]
        return p - lr / (1 - b1 ** t) * s["m"] / (np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps)
    raise AssertionError(name)


class HandOptimizer:
    """Steps a list of float64 arrays by the formulas above."""

    def __init__(self, name, kwargs):
        self.name = name
        defaults = make(name, {})
        self.c = {**defaults.get_config(), **{k: v for k, v in kwargs.items()}}
        self.c.setdefault("momentum", getattr(defaults, "momentum", 0.0))
        self.c.setdefault("dampening", 0.0)
        self.c.setdefault("nesterov", name == "nesterov")
        self.lr = kwargs.get("learning_rate", defaults.learning_rate)
        self.t = 0
        self.states = None

    def step(self, params, grads):
        if self.states is None:
            self.states = [{} for _ in params]
        self.t += 1
        lr = hand_learning_rate(self.lr, self.t)
        grads = [np.asarray(g, dtype=np.float64) for g in grads]
        if self.c.get("clipnorm") is not None:
            norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
            if norm > self.c["clipnorm"]:
                grads = [g * (self.c["clipnorm"] / norm) for g in grads]
        if self.c.get("clipvalue") is not None:
            grads = [np.clip(g, -self.c["clipvalue"], self.c["clipvalue"]) for g in grads]
        grads = [g + self.c["weight_decay"] * p for p, g in zip(params, grads)]
        return [hand_rule(self.name, self.c, p, g, s, self.t, lr)
                for p, g, s in zip(params, grads, self.states)]


def _small_model(backend, dtype, optimizer, seed=3):
    model = fm.Sequential([fm.Dense(6, activation="tanh", input_dim=4),
                           fm.Dense(3, activation="softmax")], seed=seed, dtype=dtype,
                          backend=backend)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.build(4)
    return model


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.8).astype(int) + (X[:, 2] > 0.5)
    return X, y


def _assert_close(actual, expected, rtol, context=""):
    for i, (a, e) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), e, rtol=rtol,
                                   atol=rtol * float(np.max(np.abs(e))),
                                   err_msg=f"parameter {i} {context}")


# =========================================================================================
# 1. Every optimizer against its formula stepped by hand, 50 steps, both backends and dtypes
# =========================================================================================
@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_fifty_steps_match_the_formula_stepped_by_hand(name, kwargs, backend, dtype):
    """Real gradients of a small network at every step drive both the backend's rule and
    the hand-written formula; every parameter must agree after each of 50 steps."""
    X, y = _data()
    model = _small_model(backend, dtype, make(name, kwargs))
    engine = model._engine()
    hand = HandOptimizer(name, kwargs)
    expected = [w.astype(np.float64) for w in model.get_weights()]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for step in range(1, 51):
        rows = slice((step * 16) % 64, (step * 16) % 64 + 16)   # mini-batch gradients
        _, grads = model.compute_gradients(X[rows], y[rows])
        engine.apply_gradients(grads)
        expected = hand.step(expected, grads)
        if step % 10 == 0:
            _assert_close(model.get_weights(), expected, rtol, f"after step {step}")
    assert model.optimizer.iterations == 50
    moved = max(float(np.max(np.abs(w - w0))) for w, w0 in
                zip(expected, _small_model(backend, dtype, "sgd").get_weights()))
    assert moved > 1e-3, "the parameters barely moved: the comparison would prove little"


@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_backends_agree_after_fifty_training_steps(name, kwargs, dtype):
    """fit() for 50 mini-batch steps on the compiled and the reference backend."""
    if len(BACKENDS) < 2:
        pytest.skip("the compiled backend is not built")
    X, y = _data(200)
    weights = {}
    for backend in BACKENDS:
        model = _small_model(backend, dtype, make(name, kwargs))
        model.fit(X, y, epochs=5, batch_size=20, verbose=0)
        assert model.optimizer.iterations == 50
        weights[backend] = (model.get_weights(), model.optimizer.get_state())
    (w_fast, s_fast), (w_ref, s_ref) = weights["cython"], weights["numpy"]
    _assert_close(w_fast, [w.astype(np.float64) for w in w_ref], TOL[dtype], "weights")
    np.testing.assert_allclose(s_fast["scalars"], s_ref["scalars"], rtol=1e-15)
    for slot_fast, slot_ref in zip(s_fast["slots"], s_ref["slots"]):
        _assert_close(slot_fast, [s.astype(np.float64) for s in slot_ref], TOL[dtype], "state")


@pytest.mark.slow   # importing torch takes seconds
def test_torch_optim_gives_the_same_parameters():
    """Cross-check with PyTorch itself (when installed): the same 50 random gradients."""
    torch = pytest.importorskip("torch")
    pairs = {
        "sgd": ({"weight_decay": 0.01}, lambda p: torch.optim.SGD(p, lr=0.01, weight_decay=0.01)),
        "momentum": ({"dampening": 0.3}, lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9,
                                                                   dampening=0.3)),
        "nesterov": ({}, lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True)),
        "adagrad": ({"lr_decay": 0.01, "initial_accumulator_value": 0.1},
                    lambda p: torch.optim.Adagrad(p, lr=0.01, lr_decay=0.01,
                                                  initial_accumulator_value=0.1)),
        "adadelta": ({"weight_decay": 0.01},
                     lambda p: torch.optim.Adadelta(p, lr=1.0, weight_decay=0.01)),
        "rmsprop": ({"centered": True, "momentum": 0.5},
                    lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5)),
        "adam": ({"weight_decay": 0.01}, lambda p: torch.optim.Adam(p, lr=1e-3,
                                                                    weight_decay=0.01)),
        "adamax": ({}, lambda p: torch.optim.Adamax(p, lr=2e-3)),
        "nadam": ({}, lambda p: torch.optim.NAdam(p, lr=2e-3)),
        "amsgrad": ({}, lambda p: torch.optim.Adam(p, lr=1e-3, amsgrad=True)),
    }
    # NAdam keeps its momentum product in torch's default dtype: make that float64 too
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _compare_with_torch(torch, pairs)
    finally:
        torch.set_default_dtype(default_dtype)


def _compare_with_torch(torch, pairs):
    rng = np.random.default_rng(7)
    shapes = [(5, 3), (3,)]
    start = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) * (1 + 0.1 * t) for s in shapes] for t in range(50)]
    for name, (kwargs, make_torch) in pairs.items():
        ours = make(name, kwargs)
        params = [p.copy() for p in start]
        tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in start]
        topt = make_torch(tparams)
        for g in grads:
            ours.apply_gradients(zip(g, params))
            for tp, gg in zip(tparams, g):
                tp.grad = torch.tensor(gg, dtype=torch.float64)
            topt.step()
        _assert_close(params, [tp.detach().numpy() for tp in tparams], 1e-12, name)


# =========================================================================================
# 2. Defaults, names and the compiled kernels' constants
# =========================================================================================
def test_names_classes_and_torch_defaults():
    assert list(O.OPTIMIZERS) == NAMES
    assert [O.OPTIMIZERS[n].__name__ for n in NAMES] == CLASS_NAMES
    for name, cls_name in zip(NAMES, CLASS_NAMES):
        assert O.OPTIMIZERS[cls_name] is O.OPTIMIZERS[name] is getattr(O, cls_name)
        assert isinstance(O.get(name), getattr(O, cls_name))
    lrs = {n: O.get(n).learning_rate for n in NAMES}
    assert lrs == {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01,
                   "adadelta": 1.0, "rmsprop": 0.01, "adam": 0.001, "adamax": 0.002,
                   "nadam": 0.002, "amsgrad": 0.001}
    assert (O.Momentum().momentum, O.Momentum().dampening, O.Nesterov().momentum) == (0.9, 0, 0.9)
    assert (O.Adagrad().epsilon, O.Adagrad().lr_decay,
            O.Adagrad().initial_accumulator_value) == (1e-10, 0, 0)
    assert (O.Adadelta().rho, O.Adadelta().epsilon) == (0.9, 1e-6)
    r = O.RMSprop()
    assert (r.rho, r.epsilon, r.momentum, r.centered) == (0.99, 1e-8, 0, False)
    for cls in (O.Adam, O.AdaMax, O.Nadam, O.AMSGrad):
        assert (cls().beta_1, cls().beta_2, cls().epsilon) == (0.9, 0.999, 1e-8)
    assert O.Nadam().momentum_decay == 0.004
    assert O.AMSGrad().amsgrad and not O.Adam().amsgrad
    assert all(O.get(n).weight_decay == 0 for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_docstring_states_the_update_formula(name):
    doc = O.OPTIMIZERS[name].__doc__
    assert ".. math::" in doc and "torch.optim" in doc


# =========================================================================================
# 3. Learning-rate schedules
# =========================================================================================
SCHEDULES = [O.Constant(0.05), O.ExponentialDecay(0.1, 10, 0.5),
             O.ExponentialDecay(0.1, 10, 0.5, staircase=True), O.StepDecay(0.2, 7, 0.1),
             O.InverseScaling(0.3), O.InverseScaling(0.3, 4, 2.0, power=1.0, staircase=True)]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=repr)
def test_schedule_values_follow_their_formula(schedule):
    for iteration in (0, 1, 3, 7, 10, 19, 20, 100, 12345):
        assert schedule(iteration) == pytest.approx(hand_learning_rate(schedule, iteration + 1),
                                                    rel=1e-15)
    if "cython" in BACKENDS:
        from fastmlp.backend import _kernels

        for iteration in (0, 3, 20, 12345):
            assert _kernels.learning_rate_at_py(schedule.hyper(), iteration) == \
                schedule(iteration)


def test_schedule_examples():
    assert O.ExponentialDecay(1.0, 2, 0.25)(4) == pytest.approx(1 / 16)
    assert O.StepDecay(1.0, 3, 0.5)(2) == 1.0 and O.StepDecay(1.0, 3, 0.5)(3) == 0.5
    assert O.InverseScaling(1.0)(8) == pytest.approx(1 / 3)
    assert O.InverseScaling(1.0, decay_steps=2, decay_rate=1, power=1)(4) == pytest.approx(1 / 3)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_sgd_steps_by_the_scheduled_learning_rate(backend_name):
    """Each SGD step moves p by exactly lr_t * g, lr_t from the schedule at that step."""
    schedule = O.StepDecay(0.5, decay_steps=3, decay_rate=0.5)
    model = _small_model(backend_name, "float64", O.SGD(schedule))
    X, y = _data()
    for t in range(1, 10):
        assert model.optimizer.current_learning_rate == schedule(t - 1)
        before = model.get_weights()
        _, grads = model.compute_gradients(X, y)
        model._engine().apply_gradients(grads)
        for b, a, g in zip(before, model.get_weights(), grads):
            np.testing.assert_allclose(b - a, 0.5 * 0.5 ** ((t - 1) // 3) * g, rtol=1e-12,
                                       atol=1e-15)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_learning_rate_changed_between_fits_is_used(backend_name):
    """A new optimizer.learning_rate (as ReduceLROnPlateau sets it) is read by the engine."""
    X, y = _data()
    runs = []
    for new_lr in (0.5, 0.05):
        model = _small_model(backend_name, "float64", O.SGD(0.5))
        model.fit(X, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
        model.optimizer.learning_rate = new_lr
        before = model.get_weights()
        _, grads = model.compute_gradients(X[:16], y[:16])
        model.fit(X[:16], y[:16], epochs=1, batch_size=16, verbose=0, shuffle=False)
        for b, a, g in zip(before, model.get_weights(), grads):
            np.testing.assert_allclose(b - a, new_lr * g, rtol=1e-12, atol=1e-15)
        runs.append(model.get_weights())
    assert not np.allclose(runs[0][0], runs[1][0])


def test_schedule_serialisation_round_trip():
    for schedule in SCHEDULES:
        again = O.deserialize_schedule(json.loads(json.dumps(O.serialize_schedule(schedule))))
        assert again == schedule and type(again) is type(schedule)
    with pytest.raises(ValueError, match="valid schedules are: Constant, ExponentialDecay"):
        O.deserialize_schedule({"class_name": "CosineDecay", "config": {}})


# =========================================================================================
# 4. Gradient clipping
# =========================================================================================
@pytest.mark.parametrize("backend_name", BACKENDS)
def test_clipnorm_scales_all_gradients_by_their_global_norm(backend_name):
    X, y = _data()
    for clipnorm, clipped in ((1e-3, True), (1e6, False)):
        model = _small_model(backend_name, "float64", O.SGD(1.0, clipnorm=clipnorm))
        before = model.get_weights()
        _, grads = model.compute_gradients(X, y)
        norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
        assert (norm > clipnorm) == clipped
        model._engine().apply_gradients(grads)
        steps = [b - a for b, a in zip(before, model.get_weights())]
        step_norm = math.sqrt(sum(float((s ** 2).sum()) for s in steps))
        assert step_norm == pytest.approx(clipnorm if clipped else norm, rel=1e-12)
        for s, g in zip(steps, grads):   # the direction is kept
            np.testing.assert_allclose(s, g * min(1.0, clipnorm / norm), rtol=1e-10, atol=1e-18)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_clipvalue_clips_each_element(backend_name):
    X, y = _data()
    model = _small_model(backend_name, "float64", O.SGD(1.0, clipvalue=0.01))
    before = model.get_weights()
    _, grads = model.compute_gradients(X, y)
    assert max(float(np.abs(g).max()) for g in grads) > 0.01
    model._engine().apply_gradients(grads)
    for b, a, g in zip(before, model.get_weights(), grads):
        np.testing.assert_allclose(b - a, np.clip(g, -0.01, 0.01), rtol=1e-12, atol=1e-18)


# =========================================================================================
# 5. Validation
# =========================================================================================
@pytest.mark.parametrize("factory, message", [
    (lambda: O.SGD(learning_rate=0), "learning_rate must be > 0"),
    (lambda: O.SGD(learning_rate=-0.1), "learning_rate must be > 0"),
    (lambda: O.Adam(learning_rate=float("inf")), "learning_rate must be finite"),
    (lambda: O.Adam(learning_rate="fast"), "learning_rate must be a real number"),
    (lambda: O.SGD(weight_decay=-1e-4), "weight_decay must be >= 0"),
    (lambda: O.Momentum(momentum=1.0), "momentum must be < 1"),
    (lambda: O.Momentum(momentum=-0.1), "momentum must be >= 0"),
    (lambda: O.Momentum(dampening=1.5), "dampening must be <= 1"),
    (lambda: O.Momentum(nesterov=True, dampening=0.1), "needs momentum > 0 and dampening"),
    (lambda: O.Nesterov(momentum=0), "needs momentum > 0"),
    (lambda: O.Adagrad(lr_decay=-1), "lr_decay must be >= 0"),
    (lambda: O.Adagrad(initial_accumulator_value=-1), "initial_accumulator_value must be"),
    (lambda: O.Adagrad(epsilon=0), "epsilon must be > 0"),
    (lambda: O.Adadelta(rho=1.0), "rho must be < 1"),
    (lambda: O.RMSprop(rho=-0.5), "rho must be >= 0"),
    (lambda: O.RMSprop(centered="yes"), "centered must be True or False"),
    (lambda: O.RMSprop(momentum=float("nan")), "momentum must be finite"),
    (lambda: O.Adam(beta_1=1.0), "beta_1 must be < 1"),
    (lambda: O.Adam(beta_2=-0.1), "beta_2 must be >= 0"),
    (lambda: O.AdaMax(beta_2=1.5), "beta_2 must be < 1"),
    (lambda: O.AMSGrad(epsilon=-1e-8), "epsilon must be > 0"),
    (lambda: O.Nadam(momentum_decay=-0.004), "momentum_decay must be >= 0"),
    (lambda: O.Nadam(beta_1=True), "beta_1 must be a real number"),
    (lambda: O.SGD(clipnorm=0), "clipnorm must be > 0"),
    (lambda: O.SGD(clipvalue=-1), "clipvalue must be > 0"),
    (lambda: O.SGD(clipnorm=1, clipvalue=1), "at most one of clipnorm and clipvalue"),
    (lambda: O.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5), "decay_steps must be > 0"),
    (lambda: O.StepDecay(-0.1, 10), "initial_learning_rate must be > 0"),
    (lambda: O.InverseScaling(0.1, power=-1), "power must be >= 0"),
    (lambda: O.ExponentialDecay(0.1, 10, 0.5, staircase=1), "staircase must be True or False"),
    (lambda: O.get("adamw"), ("valid optimizers are: sgd, momentum, nesterov, adagrad, "
                              "adadelta, rmsprop, adam, adamax, nadam, amsgrad")),
])
def test_bad_hyper_parameters_raise_naming_the_problem(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_assignments_are_checked_and_layout_options_are_fixed():
    adam = O.Adam()
    with pytest.raises(ValueError, match="beta_1 must be < 1"):
        adam.beta_1 = 1.2
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        adam.learning_rate = -1
    adam.beta_1 = 0.5
    assert adam.hyper()[HYPER_RULE] == 0.5
    with pytest.raises(AttributeError, match="cannot change after construction"):
        adam.amsgrad = True
    with pytest.raises(AttributeError, match="cannot change after construction"):
        O.RMSprop().centered = True
    sgd = O.SGD(clipnorm=1.0)
    with pytest.raises(ValueError, match="at most one of clipnorm and clipvalue"):
        sgd.clipvalue = 0.5


def test_apply_gradients_checks_its_input():
    p = np.zeros(3)
    with pytest.raises(ValueError, match="gradient 0 has shape"):
        O.Adam().apply_gradients([(np.zeros(4), p)])
    with pytest.raises(ValueError, match="gradient 0 contains 1 non-finite"):
        O.Adam().apply_gradients([(np.array([0.0, np.nan, 0.0]), p)])
    with pytest.raises(ValueError, match="float32 or float64 ndarray"):
        O.Adam().apply_gradients([(np.zeros(3), [0.0, 0.0, 0.0])])
    with pytest.raises(ValueError, match="pair"):
        O.Adam().apply_gradients([p])


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_replaced_state_is_rebound_or_refused(backend_name):
    """Engines follow state arrays replaced behind their back; a wrong layout raises."""
    X, y = _data()
    model = _small_model(backend_name, "float64", O.Adam(0.01))
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    opt = model.optimizer
    opt.slots = [[s.copy() for s in slot] for slot in opt.slots]   # new arrays, same values
    opt.scalars = opt.scalars.copy()
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    assert opt.iterations == 8 and all(np.abs(s).max() > 0 for s in opt.slots[0])
    opt.slots = opt.slots[:-1]
    with pytest.raises(RuntimeError, match="does not match"):
        model.fit(X, y, epochs=1, batch_size=16, verbose=0)


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("change", ["one array", "reshaped", "read-only"])
def test_one_changed_state_array_is_rebound_or_refused(backend_name, change):
    """Replacing one slot array (not the scalars) is followed; a slot reshaped or made
    read-only in place is refused before any training."""
    X, y = _data()
    model = _small_model(backend_name, "float64", O.Adam(0.01))
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    opt = model.optimizer
    before = [p.copy() for p in model.get_weights()]
    if change == "one array":
        old = opt.slots[2][1]
        new = old.copy()
        opt.slots[2][1] = new
        model.fit(X, y, epochs=1, batch_size=16, verbose=0)
        assert opt.slots[2][1] is new and opt.iterations == 8
        assert not np.array_equal(new, old)   # trained into the new array, not the old one
        return
    if change == "reshaped":
        opt.slots[0][0].shape = (2, 12)           # W1's (4, 6): same size and rank
    else:
        opt.slots[0][1].flags.writeable = False
    with pytest.raises(RuntimeError, match="does not match"):
        model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_engine_binding_check_sees_each_state_change():
    """The compiled engine's binding check (run before every training call)."""
    if "cython" not in fm.available_backends():
        pytest.skip("the compiled extension is not built")
    X, y = _data()
    model = _small_model("cython", "float32", O.Adam(0.01))
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    engine = model._engine()
    opt = model.optimizer
    assert engine.bound_to_current_state()
    saved = opt.slots[1][1]
    opt.slots[1][1] = saved.copy()
    assert not engine.bound_to_current_state()
    opt.slots[1][1] = saved
    assert engine.bound_to_current_state()
    w_slot = opt.slots[0][1]                      # W1's, (4, 6)
    w_slot.shape = (6, 4)
    assert not engine.bound_to_current_state()
    w_slot.shape = (4, 6)
    assert engine.bound_to_current_state()
    saved.flags.writeable = False
    assert not engine.bound_to_current_state()


# =========================================================================================
# 6. State: get_config + slots + scalars rebuild an optimizer that continues exactly
# =========================================================================================
@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_config_and_state_round_trip_continue_exactly(name, kwargs, backend):
    X, y = _data(96)
    original = _small_model(backend, "float64", make(name, kwargs))
    original.fit(X, y, epochs=2, batch_size=16, verbose=0)        # 12 steps
    opt = original.optimizer
    stored = json.loads(json.dumps({"class_name": type(opt).__name__,
                                    "config": opt.get_config()}))
    state = opt.get_state()

    rebuilt = O.OPTIMIZERS[stored["class_name"]](**stored["config"])
    assert type(rebuilt) is type(opt) and rebuilt.get_config() == opt.get_config()
    resumed = _small_model(backend, "float64", rebuilt, seed=99)
    resumed.set_weights(original.get_weights())
    rebuilt.set_state(state["slots"], state["scalars"])
    assert rebuilt.iterations == 12

    resumed.rng = np.random.default_rng(5)
    original.rng = np.random.default_rng(5)
    original.fit(X, y, epochs=2, batch_size=16, verbose=0)
    resumed.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(original.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(original.optimizer.scalars, resumed.optimizer.scalars)


@pytest.mark.parametrize("name, kwargs", CASES, ids=CASE_IDS)
def test_save_mid_training_load_and_continue_is_identical(name, kwargs, backend, tmp_path):
    """Train 2 epochs, save, load, train 2 more: bit-identical to 4 epochs in one go."""
    X, y = _data(96)
    straight = _small_model(backend, "float64", make(name, kwargs))
    straight.fit(X, y, epochs=4, batch_size=16, verbose=0)

    first = _small_model(backend, "float64", make(name, kwargs))
    first.fit(X, y, epochs=2, batch_size=16, verbose=0)
    first.save(tmp_path / "mid.fmlp")
    resumed = fm.load_model(tmp_path / "mid.fmlp")
    assert type(resumed.optimizer) is type(first.optimizer)
    assert resumed.optimizer.get_config() == first.optimizer.get_config()
    resumed.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(straight.optimizer.scalars, resumed.optimizer.scalars)
    for slot_a, slot_b in zip(straight.optimizer.slots, resumed.optimizer.slots):
        for a, b in zip(slot_a, slot_b):
            np.testing.assert_array_equal(a, b)


def test_set_state_refuses_mismatched_state():
    model = _small_model("numpy", "float64", O.Adam())
    opt = model.optimizer
    state = opt.get_state()
    with pytest.raises(ValueError, match="slots for 3 parameters"):
        opt.set_state(state["slots"][:3], state["scalars"])
    with pytest.raises(ValueError, match="has shape"):
        opt.set_state([[s.T for s in slot] for slot in state["slots"]], state["scalars"])
    with pytest.raises(ValueError, match="scalars must be 4 finite numbers"):
        opt.set_state(state["slots"], [1.0, np.nan, 0, 0])


def test_reset_forgets_the_state():
    model = _small_model("numpy", "float64", O.Nadam())
    model.fit(*_data(), epochs=1, batch_size=16, verbose=0)
    assert model.optimizer.iterations == 4 and model.optimizer.scalars[1] < 1
    model.optimizer.reset()
    assert model.optimizer.iterations == 0 and model.optimizer.scalars[1] == 1.0
    assert all(not s.any() for slot in model.optimizer.slots for s in slot)


# =========================================================================================
# 7. Every optimizer trains the breast-cancer classifier
# =========================================================================================
def _stratified_folds(y, k, seed):
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold[rows] = np.arange(len(rows)) % k
    return fold


#: Epochs per optimizer at its default settings; plain SGD at 0.01 needs more steps.
EPOCHS = {name: 20 for name in NAMES} | {"sgd": 60}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_each_optimizer_trains_breast_cancer_to_95_percent(name, backend):
    """The README's classifier (16 tanh units, sigmoid output), default optimizer settings,
    batch 32; held-out accuracy from stratified 5-fold cross-validation (features
    standardised with the training folds' statistics)."""
    X, y = fm.datasets.load_breast_cancer(return_X_y=True)
    fold = _stratified_folds(y, 5, seed=0)
    accuracies = []
    for k in range(5):
        train, test = fold != k, fold == k
        mean, std = X[train].mean(axis=0), X[train].std(axis=0)
        model = fm.Sequential([fm.Dense(16, activation="tanh", input_dim=30),
                               fm.Dense(1, activation="sigmoid")], seed=k, backend=backend)
        model.compile(optimizer=name, loss="binary_crossentropy", metrics=["accuracy"])
        model.fit((X[train] - mean) / std, y[train], epochs=EPOCHS[name], batch_size=32,
                  verbose=0)
        accuracies.append(model.evaluate((X[test] - mean) / std, y[test],
                                         return_dict=True)["accuracy"])
    assert np.mean(accuracies) >= 0.95, accuracies


# =========================================================================================
# 8. Trajectories on 2-D surfaces (the docs figure)
# =========================================================================================
def test_sgd_path_on_the_ravine_is_closed_form_gradient_descent():
    from fastmlp.trajectories import run_trajectories

    paths = run_trajectories("ravine", steps=30, learning_rates=dict.fromkeys(NAMES, 0.3))
    t = np.arange(31)
    expected = np.stack([-9.0 * (1 - 0.3 / 10) ** t, 2.5 * (1 - 2 * 0.3) ** t], axis=1)
    np.testing.assert_allclose(paths["sgd"], expected, rtol=1e-12)
    assert paths.learning_rates == dict.fromkeys(NAMES, 0.3)


def test_every_optimizer_descends_the_ravine_at_its_tuned_learning_rate():
    from fastmlp.trajectories import LEARNING_RATE_GRID, SURFACES, run_trajectories

    surface = SURFACES["ravine"]
    paths = run_trajectories("ravine", steps=100)
    assert list(paths) == NAMES
    start_value = surface.value(*surface.start)
    for name, path in paths.items():
        assert path.shape == (101, 2) and np.isfinite(path).all(), name
        np.testing.assert_array_equal(path[0], surface.start)
        assert surface.value(*path[-1]) < 1e-3 * start_value, name
        assert paths.learning_rates[name] in LEARNING_RATE_GRID


def test_trajectory_arguments_are_checked():
    from fastmlp.trajectories import run_trajectories

    with pytest.raises(ValueError, match="valid surfaces are: ravine, rosenbrock"):
        run_trajectories("himmelblau")
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        run_trajectories(steps=0)
    with pytest.raises(ValueError, match="learning_rates must be 'tuned', 'default'"):
        run_trajectories(learning_rates="fast")
    with pytest.raises(ValueError, match="unknown optimizer"):
        run_trajectories(learning_rates={"adamw": 0.1})


@pytest.mark.slow
def test_plot_trajectories_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    from fastmlp.trajectories import plot_trajectories

    out = plot_trajectories(tmp_path / "paths.png", steps=10, surface="rosenbrock",
                            learning_rates="default")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_trajectories_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    import sys

    from fastmlp.trajectories import plot_trajectories

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)   # import fails
    with pytest.raises(ImportError, match=r"needs matplotlib.*pip install matplotlib"):
        plot_trajectories(tmp_path / "paths.png", steps=5)
