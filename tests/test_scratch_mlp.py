"""course_lib.scratch.mlp: the scratch MLP vs PyTorch and numeric gradients, its trainer,
and the perceptron."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch import layers as L
from course_lib.scratch import mlp as M
from course_lib.scratch.gradcheck import numeric_vjp, rel_error

GRAD_TOL = 1e-7


def _rng(*key):
    return np.random.default_rng(list(key))


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ---------------------------------------------------------------------------------------------
# The MLP
# ---------------------------------------------------------------------------------------------

def _torch_mlp(params, activation):
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
            "elu": torch.nn.ELU, "leaky_relu": torch.nn.LeakyReLU}
    n = len(params) // 2
    mods = []
    for i in range(1, n + 1):
        W = params[f"W{i}"]
        lin = torch.nn.Linear(*W.shape).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))
            lin.bias.copy_(torch.from_numpy(params[f"b{i}"]))
        mods.append(lin)
        if i < n:
            mods.append(acts[activation]())
    return torch.nn.Sequential(*mods)


@pytest.mark.parametrize("activation", sorted(L.ACTIVATIONS))
@pytest.mark.parametrize("sizes", [[3, 2], [4, 5, 3], [6, 8, 7, 4]])
def test_mlp_gradients_numeric(activation, sizes):
    rng = _rng(len(sizes), len(activation))
    params = M.init_mlp(sizes, rng=rng)
    for k in params:
        if k.startswith("b"):
            params[k] = 0.1 * rng.normal(size=params[k].shape)
    X = rng.normal(size=(5, sizes[0]))
    y = rng.integers(0, sizes[-1], size=5)
    _, grads = M.mlp_loss(params, X, y, activation=activation)
    # The loss is a scalar, so every entry of a difference quotient carries round-off of
    # ~1e-16 · loss / h: 2e-11 at the best step of the 2-point formula, while some entries of
    # dW1 are ~2e-5 (sums over the batch that nearly cancel): 1e-6 relative error from the
    # check itself. The 4th-order stencil allows a 10-100x larger step (round-off ~1e-12).
    # Smooth activations take h = 1e-3; ReLU-like ones h = 1e-4, so that the stencil (±2h)
    # does not reach a kink (if it did, the check would fail, never pass wrongly).
    h = 1e-3 if activation in ("sigmoid", "tanh") else 1e-4
    for key, value in params.items():
        def f(v, key=key):
            p = dict(params)
            p[key] = v
            return M.mlp_loss(p, X, y, activation=activation)[0]
        num = numeric_vjp(f, value, h=h, order=4)
        assert rel_error(grads[key], num) < GRAD_TOL, key


@pytest.mark.parametrize("activation, loss", [("relu", "cross_entropy"), ("tanh", "mse"),
                                              ("sigmoid", "cross_entropy")])
def test_scratch_mlp_matches_torch_for_several_sgd_steps(activation, loss):
    rng = _rng(7)
    sizes = [6, 16, 9, 4]
    params = M.init_mlp(sizes, rng=rng)
    model = _torch_mlp(params, activation)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    X = rng.normal(size=(40, 6))
    y = rng.integers(0, 4, size=40) if loss == "cross_entropy" else rng.normal(size=(40, 4))
    t_loss = F.cross_entropy if loss == "cross_entropy" else F.mse_loss
    for step in range(8):
        idx = rng.choice(40, size=1 if step == 0 else 10, replace=False)   # batch of one first
        value, grads = M.mlp_loss(params, X[idx], y[idx], activation=activation, loss=loss)
        M.sgd_step(params, grads, 0.2)
        opt.zero_grad()
        tl = t_loss(model(_t(X[idx])), torch.from_numpy(y[idx]))
        tl.backward()
        opt.step()
        assert abs(value - tl.item()) < 1e-12, step
    np.testing.assert_allclose(params["W1"], model[0].weight.detach().numpy().T, atol=1e-12)


def test_fit_mlp_learns_and_is_deterministic():
    rng = _rng(3)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)                       # an XOR-like pattern
    hist = []
    for _ in range(2):
        params = M.init_mlp([2, 32, 2], rng=np.random.default_rng(0))
        h = M.fit_mlp(params, X, y, epochs=60, batch_size=20, lr=0.2,
                        rng=np.random.default_rng(1), activation="tanh")
        hist.append(h)
    assert hist[0] == hist[1] and len(hist[0]) == 60 * 10
    assert np.mean(hist[0][-10:]) < 0.5 * np.mean(hist[0][:10])
    assert np.mean(M.mlp_predict(params, X, "tanh") == y) > 0.9


def test_fit_mlp_wrap_and_errors():
    rng = _rng(4)
    params = M.init_mlp([2, 3, 2], rng=rng)
    seen = []

    def wrap(it):
        for e in it:
            seen.append(e)
            yield e

    M.fit_mlp(params, rng.normal(size=(5, 2)), np.array([0, 1, 0, 1, 1]), epochs=3,
                batch_size=5, lr=0.1, rng=rng, wrap=wrap)
    assert seen == [0, 1, 2]
    with pytest.raises(ValueError, match="activation must be one of"):
        M.mlp_forward(params, np.ones((2, 2)), "swish")
    with pytest.raises(ValueError, match="loss must be one of"):
        M.mlp_loss(params, np.ones((2, 2)), np.array([0, 1]), loss="hinge")
    with pytest.raises(ValueError, match="at least"):
        M.init_mlp([3], rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        M.init_mlp([3, 2], rng=0)
    with pytest.raises(ValueError, match="lr must be"):
        M.sgd_step(params, params, -1.0)
    with pytest.raises(FloatingPointError, match="lower the learning rate"), \
            np.errstate(over="ignore"):
        M.fit_mlp(params, np.ones((4, 2)), np.full((4, 2), 1e300), epochs=1, batch_size=4,
                    lr=1.0, rng=rng, loss="mse")


# ---------------------------------------------------------------------------------------------
# The perceptron
# ---------------------------------------------------------------------------------------------

def test_perceptron_converges_on_separable_data():
    rng = _rng(5)
    w_true = np.array([2.0, -1.0, 0.5])
    X = rng.normal(size=(200, 3))
    s = X @ w_true + 0.3
    keep = np.abs(s) > 0.2                                               # a margin
    X, y = X[keep], np.where(s[keep] > 0, 1, -1)
    res = M.fit_perceptron(X, y, max_epochs=1000)
    assert res.converged and res.updates > 0 and res.epochs < 1000
    assert np.all(y * (X @ res.w + res.b) > 0)
    # Novikoff's bound with the bias folded in: updates <= (R / gamma)^2
    Xa = np.column_stack([X, np.ones(len(X))])
    u = np.append(w_true, 0.3) / np.linalg.norm(np.append(w_true, 0.3))
    gamma, R = np.min(y * (Xa @ u)), np.max(np.linalg.norm(Xa, axis=1))
    assert res.updates <= (R / gamma) ** 2
    shuffled = M.fit_perceptron(X, y, rng=np.random.default_rng(0))
    assert shuffled.converged


def test_perceptron_fails_on_xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([-1, 1, 1, -1])
    res = M.fit_perceptron(X, y, max_epochs=200)
    assert not res.converged and res.epochs == 200
    assert np.mean(np.sign(X @ res.w + res.b) == y) < 1.0


def test_perceptron_update():
    w, b = M.perceptron_update(np.array([1.0, 0.0]), 0.0, np.array([-1.0, 2.0]), 1)
    np.testing.assert_array_equal(w, [0.0, 2.0])
    assert b == 1.0
    w0 = np.array([1.0, 0.0])
    w, b = M.perceptron_update(w0, 0.5, np.array([1.0, 2.0]), 1)         # correct: no change
    np.testing.assert_array_equal(w, w0)
    assert b == 0.5 and w is not w0
    with pytest.raises(ValueError, match="-1 or \\+1"):
        M.perceptron_update(w0, 0.0, w0, 0)


def test_perceptron_bad_input():
    with pytest.raises(ValueError, match="-1 or \\+1"):
        M.fit_perceptron(np.ones((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        M.fit_perceptron(np.ones((3, 2)), np.array([1, -1]))
    with pytest.raises(ValueError, match="max_epochs"):
        M.fit_perceptron(np.ones((2, 2)), np.array([1, -1]), max_epochs=0)


def test_fit_mlp_with_an_optimizer_matches_torch():
    """fit_mlp with a scratch optimiser takes the same steps as torch.optim on the same
    batches (momentum SGD, float64)."""
    from course_lib.scratch.batching import minibatch_indices
    from course_lib.scratch.optim import SGD
    from course_lib.torch_ref.mlp import mlp_from_params

    rng = _rng(11)
    X, y = rng.normal(size=(23, 5)), rng.integers(0, 3, size=23)
    params = M.init_mlp([5, 8, 3], rng=rng)
    model = mlp_from_params(params, "tanh")
    opt_t = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = M.fit_mlp(params, X, y, epochs=3, batch_size=7, rng=np.random.default_rng(4),
                       activation="tanh", optimizer=SGD(list(params.values()), 0.1,
                                                        momentum=0.9))
    order = np.random.default_rng(4)
    hist_t = []
    for _ in range(3):
        for idx in minibatch_indices(23, 7, rng=order):
            loss = F.cross_entropy(model(_t(X[idx])), torch.from_numpy(y[idx]))
            opt_t.zero_grad()
            loss.backward()
            opt_t.step()
            hist_t.append(loss.item())
    assert len(hist) == len(hist_t) == 12                            # 4 batches, last of 2
    np.testing.assert_allclose(hist, hist_t, rtol=1e-12)
    np.testing.assert_allclose(params["W2"], model.net[2].weight.detach().numpy().T,
                               rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("scale, std", [("he", lambda d, m: np.sqrt(2 / d)),
                                        ("xavier", lambda d, m: np.sqrt(2 / (d + m))),
                                        (0.05, lambda d, m: 0.05)])
def test_init_mlp_scales(scale, std):
    params = M.init_mlp([400, 300, 10], rng=_rng(0), scale=scale)
    for i, (d, m) in enumerate([(400, 300), (300, 10)], start=1):
        W = params[f"W{i}"]
        assert W.shape == (d, m) and params[f"b{i}"].shape == (m,)
        assert abs(W.std() / std(d, m) - 1) < 0.05                    # 3000+ draws: ±2 %
        assert not params[f"b{i}"].any()
    assert M.init_mlp([3, 2], rng=_rng(0), dtype=np.float32)["W1"].dtype == np.float32
    with pytest.raises(ValueError, match="scale"):
        M.init_mlp([3, 2], rng=_rng(0), scale="lecun")


def test_fit_mlp_needs_exactly_one_of_lr_and_optimizer():
    from course_lib.scratch.optim import SGD

    params = M.init_mlp([2, 3, 2], rng=_rng(0))
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="exactly one of lr"):
        M.fit_mlp(params, X, y, epochs=1, batch_size=2, rng=_rng(1))
    with pytest.raises(ValueError, match="exactly one of lr"):
        M.fit_mlp(params, X, y, epochs=1, batch_size=2, rng=_rng(1), lr=0.1,
                    optimizer=SGD(list(params.values()), 0.1))
    with pytest.raises(ValueError, match="list\\(params.values\\(\\)\\)"):
        M.fit_mlp(params, X, y, epochs=1, batch_size=2, rng=_rng(1),
                    optimizer=SGD([params["W1"]], 0.1))
    with pytest.raises(TypeError, match="optimiser"):
        M.fit_mlp(params, X, y, epochs=1, batch_size=2, rng=_rng(1), optimizer="adam")
    _, caches = M.mlp_forward(params, X)
    with pytest.raises(ValueError, match="activation must be one of"):
        M.mlp_backward(np.ones((4, 2)), caches, "swish")
