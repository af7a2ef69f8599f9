"""Full-batch L-BFGS (the flat objective, ``optimizers.LBFGS`` in ``Sequential.fit``),
the Poisson loss with its exponential output, and Adam's Keras epsilon form."""
import numpy as np
import pytest

import fastmlp as fm
from fastmlp._lbfgs import FlatObjective


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


def test_poisson_needs_counts_and_an_exponential_output():
    X = np.ones((3, 2))
    model = fm.Sequential([fm.Dense(1, activation="exponential", input_dim=2)], seed=0)
    model.compile("sgd", "poisson")
    with pytest.raises(ValueError, match="negative value"):
        model.fit(X, [1.0, -2.0, 0.0], verbose=0)
    with pytest.raises(ValueError, match="needs a 'exponential' output"):
        fm.Sequential([fm.Dense(1, input_dim=2)]).compile("sgd", "poisson")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flat_objective_layout_and_gradient(dtype):
    """The flat objective's layout is scikit-learn's (kernels, then intercepts), its
    gradient matches central differences, and the weights are views into the vector."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 4)).astype(dtype)
    Y = rng.poisson(2.0, size=(20, 2)).astype(dtype)
    model = fm.Sequential([fm.Dense(3, activation="tanh", input_dim=4),
                           fm.Dense(2, activation="exponential")], seed=0, dtype=dtype)
    model.compile(fm.optimizers.LBFGS(), "poisson")
    model.build()
    objective = FlatObjective(model, X, Y)
    W1, b1, W2, b2 = model.layers[0].params + model.layers[1].params
    theta = objective.theta
    assert np.shares_memory(W1, theta) and np.shares_memory(b2, theta)
    np.testing.assert_array_equal(theta, np.concatenate([W1.ravel(), W2.ravel(), b1, b2]))
    if dtype == np.float32:
        return
    x0 = theta.astype(np.float64)
    f0, g = objective(x0)
    assert f0 == pytest.approx(model.evaluate(X, Y), rel=1e-12)
    numeric = np.empty_like(x0)
    for i in range(x0.size):
        e = np.zeros_like(x0)
        e[i] = 1e-6
        numeric[i] = (objective(x0 + e)[0] - objective(x0 - e)[0]) / 2e-6
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def test_sequential_lbfgs():
    """LBFGS in Sequential.fit: each epoch is one full-batch minimisation; compiled and
    reference backends reach the same weights; dropout and apply_gradients refused."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.sin(X.sum(axis=1))
    results = []
    for backend in (["numpy", "cython"] if fm.backend() == "cython" else ["numpy"]):
        model = fm.Sequential([fm.Dense(8, activation="tanh", input_dim=3), fm.Dense(1)],
                              seed=0, backend=backend)
        model.compile("lbfgs", "mse")
        history = model.fit(X, y, epochs=3, verbose=0)
        losses = history.history["loss"]
        assert losses[-1] < losses[0] < model.evaluate(X, y) + 1.0
        assert model.optimizer.iterations >= 3
        results.append(model.get_weights())
    if len(results) == 2:
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    model = fm.Sequential([fm.Dense(4, input_dim=3), fm.Dropout(0.5), fm.Dense(1)], seed=0)
    model.compile(fm.optimizers.LBFGS(), "mse")
    with pytest.raises(ValueError, match="Dropout"):
        model.fit(X, y, verbose=0)
    with pytest.raises(TypeError, match="needs the loss"):
        fm.optimizers.LBFGS().apply_gradients([(np.ones(2), np.ones(2))])


def test_adam_keras_epsilon_form_stepped_by_hand():
    """epsilon_mode="keras": p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps), in
    the reference (apply_gradients) and in the compiled engine, against the formula."""
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) for _ in range(4)]
    lr, b1, b2, eps = 0.1, 0.8, 0.9, 0.3
    expected = p0.copy()
    m = np.zeros_like(p0)
    v = np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        expected = expected - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v)
                                                                               + eps)
    opt = fm.optimizers.Adam(lr, b1, b2, eps, epsilon_mode="keras")
    p = p0.copy()
    for g in grads:
        opt.apply_gradients([(g, p)])
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    torch_form = fm.optimizers.Adam(lr, b1, b2, eps)
    p = p0.copy()
    for g in grads:
        torch_form.apply_gradients([(g, p)])
    assert _rel(p, expected) > 1e-3   # the default form differs at this epsilon
    for backend in (["numpy", "cython"] if fm.backend() == "cython" else ["numpy"]):
        model = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0, backend=backend)
        model.compile(fm.optimizers.Adam(lr, b1, b2, eps, epsilon_mode="keras"), "mse")
        model.build()
        W, _ = model.layers[0].params
        W[...] = p0
        for g in grads:
            model._engine().apply_gradients([g, np.zeros(2)])
        np.testing.assert_allclose(W, expected, rtol=1e-12)
    assert fm.optimizers.Adam(epsilon_mode="keras").get_config()["epsilon_mode"] == "keras"
    assert "epsilon_mode" not in fm.optimizers.Adam().get_config()
    with pytest.raises(ValueError, match="epsilon_mode"):
        fm.optimizers.Adam(epsilon_mode="paper")


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_keras_velocity_stepped_by_hand(nesterov):
    """velocity_mode="keras" under a changing learning rate: v <- mu v - lr_t g,
    p <- p + v (Nesterov: p <- p + mu v - lr_t g), in the reference and the compiled
    engine, against the formula; the torch form differs once the rate changes."""
    rng = np.random.default_rng(3)
    p0 = rng.normal(size=(3, 2))
    grads = [rng.normal(size=(3, 2)) for _ in range(5)]
    rates = [0.1, 0.1, 0.05, 0.02, 0.3]
    mu = 0.9
    expected, v = p0.copy(), np.zeros_like(p0)
    for lr, g in zip(rates, grads):
        v = mu * v - lr * g
        expected = expected + (mu * v - lr * g if nesterov else v)
    cls = fm.optimizers.Nesterov if nesterov else fm.optimizers.Momentum
    for backend in (["numpy", "cython"] if fm.backend() == "cython" else ["numpy"]):
        model = fm.Sequential([fm.Dense(2, input_dim=3)], seed=0, backend=backend)
        opt = cls(0.1, momentum=mu, velocity_mode="keras")
        model.compile(opt, "mse")
        model.build()
        W = model.layers[0].params[0]
        W[...] = p0
        for lr, g in zip(rates, grads):
            opt.learning_rate = lr
            model._engine().apply_gradients([g, np.zeros(2)])
        np.testing.assert_allclose(W, expected, rtol=1e-12)
    torch_form = cls(0.1, momentum=mu)
    p = p0.copy()
    for lr, g in zip(rates, grads):
        torch_form.learning_rate = lr
        torch_form.apply_gradients([(g, p)])
    assert _rel(p, expected) > 1e-3
    assert cls(velocity_mode="keras").get_config()["velocity_mode"] == "keras"
    assert "velocity_mode" not in cls().get_config()
    with pytest.raises(ValueError, match="velocity_mode"):
        cls(velocity_mode="sklearn")


def test_poisson_loss_backends_agree_and_finite_differences():
    """The poisson loss fused with its exponential output: compiled == reference, and
    the reference's gradient against central differences."""
    from fastmlp.backend import _numpy as ref

    rng = np.random.default_rng(2)
    z = rng.normal(size=(7, 3))
    y = rng.poisson(1.5, size=(7, 3)).astype(float)
    w = rng.uniform(0.5, 2.0, size=7)
    a = np.exp(z)
    kind, out = fm.losses.LOSSES["poisson"][0], fm.activations.ACTIVATIONS["exponential"]
    value = ref.loss_value(kind, z, a, y, w)
    dz, _ = ref.loss_delta(kind, out, z, a, y, w)
    numeric = np.empty_like(z)
    for idx in np.ndindex(*z.shape):
        e = np.zeros_like(z)
        e[idx] = 1e-6
        numeric[idx] = (ref.loss_value(kind, z + e, np.exp(z + e), y, w)
                        - ref.loss_value(kind, z - e, np.exp(z - e), y, w)) / 2e-6
    np.testing.assert_allclose(dz, numeric, rtol=1e-6, atol=1e-10)
    assert value == pytest.approx(np.mean(w[:, None] * (a - y * np.log(a))), rel=1e-12)
    if fm.backend() == "cython":
        model = fm.Sequential([fm.Dense(3, activation="exponential", input_dim=4)], seed=0)
        model.compile("sgd", "poisson")
        X = rng.normal(size=(7, 4))
        compiled = model.compute_gradients(X, y, w)
        model.backend = "numpy"
        reference = model.compute_gradients(X, y, w)
        assert compiled[0] == pytest.approx(reference[0], rel=1e-12)
        for a_, b_ in zip(compiled[1], reference[1]):
            np.testing.assert_allclose(a_, b_, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("threads", [1, 2])
def test_penalty_rows_poisson_and_keras_forms_match_the_reference(threads):
    """NetSpec.penalty_rows (a short last batch penalised by penalty_rows / rows), the
    poisson loss and the Keras forms of Adam and momentum: the compiled engine, serial
    and in team mode, takes the reference's steps."""
    if fm.backend() != "cython":
        pytest.skip("compares the compiled engine with the reference")
    from test_team import Mode, _team_available

    if threads > 1 and not _team_available():
        pytest.skip("team mode needs OpenMP and BLAS thread control")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 6))
    y = rng.poisson(1.0, size=(150, 2)).astype(float)
    results = {}
    for optimizer in (lambda: fm.optimizers.Adam(0.01, epsilon_mode="keras"),
                      lambda: fm.optimizers.Nesterov(0.01, velocity_mode="keras")):
        for backend in ("numpy", "cython"):
            model = fm.Sequential([fm.Dense(9, activation="tanh", input_dim=6,
                                            kernel_regularizer=fm.regularizers.l2(1e-3)),
                                   fm.Dense(2, activation="exponential",
                                            kernel_regularizer=fm.regularizers.l2(1e-3))],
                                  seed=1, backend=backend)
            model._penalty_rows = 64          # as the estimators set it
            model.compile(optimizer(), "poisson")
            with Mode(threads):
                history = model.fit(X, y, epochs=3, batch_size=64, verbose=0)
            results[backend] = (history.history["loss"], model.get_weights())
        np.testing.assert_allclose(results["cython"][0], results["numpy"][0], rtol=1e-10)
        for a, b in zip(results["cython"][1], results["numpy"][1]):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # the penalty of the short batch (150 = 2 * 64 + 22) is larger than without the rows
    plain = fm.Sequential([fm.Dense(2, activation="exponential", input_dim=6,
                                    kernel_regularizer=fm.regularizers.l2(1.0))], seed=1)
    plain.compile("sgd", "poisson")
    scaled = fm.Sequential([fm.Dense(2, activation="exponential", input_dim=6,
                                     kernel_regularizer=fm.regularizers.l2(1.0))], seed=1)
    scaled._penalty_rows = 64
    scaled.compile("sgd", "poisson")
    W = plain.get_weights()[0]
    penalty = float(np.sum(W * W))
    assert (scaled.evaluate(X[:22], y[:22]) - plain.evaluate(X[:22], y[:22])
            == pytest.approx(penalty * (64 / 22 - 1), rel=1e-10))
