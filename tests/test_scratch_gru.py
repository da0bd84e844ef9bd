"""course_lib.scratch.gru: the scratch GRU equals torch.nn.GRU / GRUCell (forward and BPTT
gradients, float64, weights copied in) and passes numeric gradient checks."""

import numpy as np
import pytest
import torch

from course_lib.scratch import gru as G
from course_lib.scratch.gradcheck import numeric_vjp, rel_error

SHAPES = [(1, 1, 1, 1), (1, 5, 3, 2), (4, 1, 2, 3), (3, 7, 5, 4), (2, 4, 1, 6), (5, 3, 6, 1)]
NAMES = ("Wx", "Wh", "bx", "bh")


def _params(rng, D, H, scale=0.5):
    shapes = {"Wx": (D, 3 * H), "Wh": (H, 3 * H), "bx": (3 * H,), "bh": (3 * H,)}
    return {k: scale * rng.normal(size=s) for k, s in shapes.items()}


def _copy_into(m, p, suffix=""):
    with torch.no_grad():
        getattr(m, "weight_ih" + suffix).copy_(torch.from_numpy(p["Wx"].T))
        getattr(m, "weight_hh" + suffix).copy_(torch.from_numpy(p["Wh"].T))
        getattr(m, "bias_ih" + suffix).copy_(torch.from_numpy(p["bx"]))
        getattr(m, "bias_hh" + suffix).copy_(torch.from_numpy(p["bh"]))
    return m


@pytest.mark.parametrize("N, T, D, H", SHAPES)
def test_forward_and_bptt_equal_torch(N, T, D, H):
    rng = np.random.default_rng([N, T, D, H])
    p = _params(rng, D, H)
    x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))

    h, cache = G.gru_forward(x, h0, *(p[k] for k in NAMES))
    dx, dh0, dWx, dWh, dbx, dbh = G.gru_backward(dh, cache)

    m = _copy_into(torch.nn.GRU(D, H, batch_first=True).double(), p, "_l0")
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out, hn = m(xt, h0t[None])
    (out * torch.from_numpy(dh)).sum().backward()

    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h[:, -1], hn[0].detach().numpy(), rtol=0, atol=1e-12)
    for got, ref in ((dx, xt.grad), (dh0, h0t.grad), (dWx, m.weight_ih_l0.grad.T),
                     (dWh, m.weight_hh_l0.grad.T), (dbx, m.bias_ih_l0.grad),
                     (dbh, m.bias_hh_l0.grad)):
        np.testing.assert_allclose(got, np.asarray(ref), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("N, D, H", [(1, 1, 1), (3, 4, 2), (2, 3, 5)])
def test_step_equals_grucell(N, D, H):
    rng = np.random.default_rng([7, N, D, H])
    p = _params(rng, D, H)
    x, h_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    h, _ = G.gru_step_forward(x, h_prev, *(p[k] for k in NAMES))
    cell = _copy_into(torch.nn.GRUCell(D, H).double(), p)
    ht = cell(torch.from_numpy(x), torch.from_numpy(h_prev))
    np.testing.assert_allclose(h, ht.detach().numpy(), rtol=0, atol=1e-13)


def test_step_gates_by_hand():
    """The gate equations written out for one unit (H = 1), no matrices."""
    x, h_prev = np.array([[0.5]]), np.array([[-0.2]])
    Wx, Wh = np.array([[1.0, 2.0, -1.0]]), np.array([[0.3, -0.4, 0.2]])
    bx, bh = np.array([0.1, 0.0, 0.2]), np.array([0.0, -0.1, 0.3])
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    r = sig(0.5 * 1.0 + 0.1 - 0.2 * 0.3)
    z = sig(0.5 * 2.0 - 0.2 * -0.4 - 0.1)
    n = np.tanh(0.5 * -1.0 + 0.2 + r * (-0.2 * 0.2 + 0.3))
    h, _ = G.gru_step_forward(x, h_prev, Wx, Wh, bx, bh)
    assert h[0, 0] == pytest.approx((1 - z) * n + z * -0.2, rel=1e-14)


@pytest.mark.parametrize("N, T, D, H", [(1, 3, 2, 2), (2, 4, 3, 3)])
def test_bptt_numeric_gradient_check(N, T, D, H):
    rng = np.random.default_rng([11, N, T])
    p = _params(rng, D, H)
    x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
    _, cache = G.gru_forward(x, h0, *(p[k] for k in NAMES))
    grads = dict(zip(["x", "h0", *NAMES], G.gru_backward(dh, cache), strict=True))
    args = {"x": x, "h0": h0, **p}

    def f_of(name):
        def f(z):
            a = {**args, name: z}
            return G.gru_forward(a["x"], a["h0"], *(a[k] for k in NAMES))[0]
        return f

    for name, g in grads.items():
        err = rel_error(g, numeric_vjp(f_of(name), args[name], dh, h=1e-3, order=4))
        assert err < 1e-7, (name, err)


def test_step_backward_matches_sequence_of_one():
    rng = np.random.default_rng(3)
    p = _params(rng, 2, 3)
    x, h0, dh = rng.normal(size=(2, 2)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    _, cache = G.gru_step_forward(x, h0, *(p[k] for k in NAMES))
    step = G.gru_step_backward(dh, cache)
    _, seq_cache = G.gru_forward(x[:, None], h0, *(p[k] for k in NAMES))
    seq = G.gru_backward(dh[:, None], seq_cache)
    np.testing.assert_allclose(step[0], seq[0][:, 0])
    for a, b in zip(step[1:], seq[1:], strict=True):
        np.testing.assert_allclose(a, b)


def test_update_gate_keeps_memory():
    """With z = 1 the state is copied unchanged, and its gradient flows back intact."""
    H = 2
    p = {"Wx": np.zeros((1, 3 * H)), "Wh": np.zeros((H, 3 * H)), "bx": np.zeros(3 * H),
         "bh": np.zeros(3 * H)}
    p["bx"][H:2 * H] = 50.0
    h0 = np.array([[0.3, -0.8]])
    h, cache = G.gru_forward(np.ones((1, 20, 1)), h0, *(p[k] for k in NAMES))
    np.testing.assert_allclose(h[0, -1], h0[0], rtol=1e-12)
    gates = G.gru_gates(cache)
    assert set(gates) == {"reset", "update", "candidate"} and gates["update"].shape == (1, 20, H)
    dh = np.zeros((1, 20, H))
    dh[0, -1] = 1.0
    np.testing.assert_allclose(G.gru_backward(dh, cache)[1], [[1.0, 1.0]], rtol=1e-12)


def test_dtype_and_init():
    rng = np.random.default_rng(0)
    p = G.init_gru(2, 3, rng, dtype=np.float32)
    assert {k: v.shape for k, v in p.items()} == {"Wx": (2, 9), "Wh": (3, 9), "bx": (9,),
                                                  "bh": (9,)}
    h, cache = G.gru_forward(np.ones((2, 4, 2), np.float32), np.zeros((2, 3), np.float32),
                             *(p[k] for k in NAMES))
    assert h.dtype == np.float32 and G.gru_backward(np.ones_like(h), cache)[0].dtype == np.float32
    with pytest.raises(TypeError, match="Generator"):
        G.init_gru(2, 3, 1)
    with pytest.raises(ValueError, match="D must be"):
        G.init_gru(0, 3, rng)


def test_bad_input():
    rng = np.random.default_rng(0)
    p = _params(rng, 3, 2)
    x, h0 = np.ones((2, 5, 3)), np.zeros((2, 2))
    good = [p[k] for k in NAMES]
    with pytest.raises(ValueError, match="Wh must be"):
        G.gru_forward(x, h0, p["Wx"], np.ones((2, 4)), p["bx"], p["bh"])
    with pytest.raises(ValueError, match="Wx must be"):
        G.gru_forward(x, h0, np.ones((3, 4)), p["Wh"], p["bx"], p["bh"])
    with pytest.raises(ValueError, match="bh must have shape"):
        G.gru_forward(x, h0, p["Wx"], p["Wh"], p["bx"], np.ones(5))
    with pytest.raises(ValueError, match="D's must match"):
        G.gru_forward(np.ones((2, 5, 4)), h0, *good)
    with pytest.raises(ValueError, match=r"h0 must be \(N, H\)"):
        G.gru_forward(x, np.zeros((1, 2)), *good)
    with pytest.raises(ValueError, match="NaN"):
        G.gru_forward(x, np.full((2, 2), np.inf), *good)
    with pytest.raises(TypeError, match="torch tensor"):
        G.gru_step_forward(torch.ones(2, 3), h0, *good)
    with pytest.raises(ValueError, match="2-D"):
        G.gru_step_forward(np.ones(3), h0, *good)
    _, cache = G.gru_forward(x, h0, *good)
    with pytest.raises(ValueError, match="dh must have the shape of the forward output"):
        G.gru_backward(np.ones((2, 5, 3)), cache)
    with pytest.raises(TypeError, match="list returned by gru_forward"):
        G.gru_backward(np.ones((2, 5, 2)), [])
    with pytest.raises(TypeError, match="list returned by gru_forward"):
        G.gru_gates("cache")
    _, step_cache = G.gru_step_forward(np.ones((2, 3)), h0, *good)
    with pytest.raises(ValueError, match="dh must have the shape of the forward output"):
        G.gru_step_backward(np.ones((3, 2)), step_cache)


def test_params_from_torch():
    m = torch.nn.GRU(3, 2, batch_first=True).double()
    params = G.gru_params_from_torch(*(p.detach().numpy() for p in (
        m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)))
    assert [a.shape for a in params] == [(3, 6), (2, 6), (6,), (6,)]
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    h, _ = G.gru_forward(x, np.zeros((2, 2)), *params)
    np.testing.assert_allclose(h, m(torch.from_numpy(x))[0].detach().numpy(), atol=1e-13)
    assert not G.gru_params_from_torch(np.ones((6, 3)), np.ones((6, 2)))[3].any()
    with pytest.raises(ValueError, match=r"weight_hh must be \(3H, H\)"):
        G.gru_params_from_torch(np.ones((6, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="bias_ih must be"):
        G.gru_params_from_torch(np.ones((6, 3)), np.ones((6, 2)), np.ones(5))
