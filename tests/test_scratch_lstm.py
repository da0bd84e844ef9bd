"""course_lib.scratch.lstm: the scratch LSTM equals torch.nn.LSTM / LSTMCell (forward and
BPTT gradients, float64, weights copied in) and passes numeric gradient checks."""

import numpy as np
import pytest
import torch

from course_lib.scratch import lstm as L
from course_lib.scratch.gradcheck import numeric_vjp, rel_error

# (N, T, D, H): batch of one, one time step, odd sizes, D > H and D < H.
SHAPES = [(1, 1, 1, 1), (1, 5, 3, 2), (4, 1, 2, 3), (3, 7, 5, 4), (2, 4, 1, 6), (5, 3, 6, 1)]


def _params(rng, D, H, scale=0.5):
    return {"Wx": scale * rng.normal(size=(D, 4 * H)), "Wh": scale * rng.normal(size=(H, 4 * H)),
            "b": scale * rng.normal(size=4 * H)}


def _torch_lstm(p, D, H):
    """A float64 torch.nn.LSTM holding the scratch parameters (bias split in two halves)."""
    m = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(p["Wx"].T))
        m.weight_hh_l0.copy_(torch.from_numpy(p["Wh"].T))
        m.bias_ih_l0.copy_(torch.from_numpy(0.3 * p["b"]))
        m.bias_hh_l0.copy_(torch.from_numpy(0.7 * p["b"]))
    return m


@pytest.mark.parametrize("N, T, D, H", SHAPES)
def test_forward_and_bptt_equal_torch(N, T, D, H):
    rng = np.random.default_rng([N, T, D, H])
    p = _params(rng, D, H)
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dh, dcT = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))

    h, cache = L.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"], c0)
    dx, dh0, dc0, dWx, dWh, db = L.lstm_backward(dh, cache, dc_last=dcT)

    m = _torch_lstm(p, D, H)
    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    out, (hn, cn) = m(xt, (h0t[None], c0t[None]))
    (out * torch.from_numpy(dh)).sum().add((cn[0] * torch.from_numpy(dcT)).sum()).backward()

    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
    gates = L.lstm_gates(cache)
    np.testing.assert_allclose(gates["cell"][:, -1], cn[0].detach().numpy(), rtol=0, atol=1e-12)
    db_torch = m.bias_ih_l0.grad.numpy()
    np.testing.assert_allclose(m.bias_hh_l0.grad.numpy(), db_torch)  # both biases: same grad
    for got, ref in ((dx, xt.grad), (dh0, h0t.grad), (dc0, c0t.grad),
                     (dWx, m.weight_ih_l0.grad.T), (dWh, m.weight_hh_l0.grad.T), (db, db_torch)):
        ref = np.asarray(ref)
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("N, T, D, H", SHAPES + [(16, 9, 7, 33)])
def test_fused_layer_is_the_plain_equations_bit_for_bit(N, T, D, H, dtype):
    """lstm_forward folds σ's ½ into the weights and makes one tanh call for the four gates:
    exact rewrites, so it computes the same numbers as the plain equations (with the same
    input-projection GEMM), not just close ones; and it stays close to the step function."""
    rng = np.random.default_rng([N, T, D, H, 1])
    Wx, Wh, b = (v.astype(dtype) for v in _params(rng, D, H, scale=2.0).values())
    x, h0, c0 = (rng.normal(size=s).astype(dtype) for s in ((N, T, D), (N, H), (N, H)))
    h, cache = L.lstm_forward(x, h0, Wx, Wh, b, c0)
    gates = L.lstm_gates(cache)
    xw = (x.reshape(N * T, D) @ Wx + b).reshape(N, T, 4 * H)
    h_t, c_t, h_s, c_s = h0, c0, h0, c0
    for t in range(T):
        a = xw[:, t] + h_t @ Wh
        i, f, g, o = (_sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]),
                      _sigmoid(a[:, 3 * H:]))
        c_t = f * c_t + i * g
        h_t = o * np.tanh(c_t)
        assert np.array_equal(h[:, t], h_t) and np.array_equal(gates["cell"][:, t], c_t)
        for name, want in zip(L.GATE_NAMES, (i, f, g, o), strict=True):
            assert np.array_equal(gates[name][:, t], want), (t, name)
        h_s, c_s, _ = L.lstm_step_forward(x[:, t], h_s, c_s, Wx, Wh, b)  # its own GEMMs:
        tol = 1e-12 if dtype == np.float64 else 1e-5                   # last-bit differences
        np.testing.assert_allclose(h[:, t], h_s, rtol=0, atol=tol)
    assert h.dtype == dtype


@pytest.mark.parametrize("N, D, H", [(1, 1, 1), (3, 4, 2), (2, 3, 5)])
def test_step_equals_lstmcell(N, D, H):
    rng = np.random.default_rng([7, N, D, H])
    p = _params(rng, D, H)
    x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h, c, _ = L.lstm_step_forward(x, h_prev, c_prev, p["Wx"], p["Wh"], p["b"])
    cell = torch.nn.LSTMCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(p["Wx"].T))
        cell.weight_hh.copy_(torch.from_numpy(p["Wh"].T))
        cell.bias_ih.copy_(torch.from_numpy(p["b"]))
        cell.bias_hh.zero_()
    ht, ct = cell(torch.from_numpy(x), (torch.from_numpy(h_prev), torch.from_numpy(c_prev)))
    np.testing.assert_allclose(h, ht.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(c, ct.detach().numpy(), rtol=0, atol=1e-13)


def test_step_gates_by_hand():
    """The gate equations written out for one unit (H = 1), no matrices."""
    x, h_prev, c_prev = np.array([[0.5]]), np.array([[-0.2]]), np.array([[0.7]])
    Wx, Wh, b = np.array([[1.0, 2.0, -1.0, 0.5]]), np.array([[0.3, -0.4, 0.2, 0.1]]), np.zeros(4)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    a = 0.5 * Wx[0] - 0.2 * Wh[0]
    i, f, g, o = sig(a[0]), sig(a[1]), np.tanh(a[2]), sig(a[3])
    c_want = f * 0.7 + i * g
    h, c, _ = L.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    assert c[0, 0] == pytest.approx(c_want, rel=1e-14)
    assert h[0, 0] == pytest.approx(o * np.tanh(c_want), rel=1e-14)


@pytest.mark.parametrize("N, T, D, H", [(1, 3, 2, 2), (2, 4, 3, 3)])
def test_bptt_numeric_gradient_check(N, T, D, H):
    """Every gradient of lstm_backward against central differences of lstm_forward."""
    rng = np.random.default_rng([11, N, T])
    p = _params(rng, D, H)
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dh = rng.normal(size=(N, T, H))
    _, cache = L.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"], c0)
    grads = dict(zip(["x", "h0", "c0", "Wx", "Wh", "b"], L.lstm_backward(dh, cache), strict=True))
    args = {"x": x, "h0": h0, "c0": c0, **p}

    def f_of(name):
        def f(z):
            a = {**args, name: z}
            return L.lstm_forward(a["x"], a["h0"], a["Wx"], a["Wh"], a["b"], a["c0"])[0]
        return f

    for name, g in grads.items():
        err = rel_error(g, numeric_vjp(f_of(name), args[name], dh, h=1e-3, order=4))
        assert err < 1e-7, (name, err)


def test_dtype_float32_and_int_inputs():
    rng = np.random.default_rng(0)
    p = {k: v.astype(np.float32) for k, v in _params(rng, 2, 3).items()}
    h, cache = L.lstm_forward(rng.normal(size=(2, 4, 2)).astype(np.float32),
                              np.zeros((2, 3), np.float32), p["Wx"], p["Wh"], p["b"])
    assert h.dtype == np.float32
    dx, *_ = L.lstm_backward(np.ones((2, 4, 3), np.float32), cache)
    assert dx.dtype == np.float32
    h, _ = L.lstm_forward(np.ones((1, 2, 2), dtype=int), np.zeros((1, 3)), *_params(rng, 2, 3)
                          .values())
    assert h.dtype == np.float64


def test_forget_gate_keeps_memory():
    """With f = 1, i = 0 the cell state is carried unchanged: the constant error carousel."""
    H, D = 2, 1
    Wx, Wh, b = np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    b[:H], b[H:2 * H] = -50.0, 50.0                       # i ≈ 0, f ≈ 1
    c0 = np.array([[0.3, -0.8]])
    h, cache = L.lstm_forward(np.ones((1, 20, D)), np.zeros((1, H)), Wx, Wh, b, c0)
    np.testing.assert_allclose(L.lstm_gates(cache)["cell"][0, -1], c0[0], rtol=1e-12)
    dh = np.zeros((1, 20, H))
    dh[0, -1] = 1.0
    dc0 = L.lstm_backward(dh, cache)[2]
    assert np.abs(dc0).min() > 0.1                        # the gradient reaches step 0 intact


def test_init_lstm():
    p = L.init_lstm(3, 4, np.random.default_rng(0))
    assert p["Wx"].shape == (3, 16) and p["Wh"].shape == (4, 16) and p["b"].shape == (16,)
    np.testing.assert_array_equal(p["b"][4:8], 1.0)
    assert np.abs(p["Wh"]).max() <= 0.5
    with pytest.raises(TypeError, match="Generator"):
        L.init_lstm(3, 4, 0)
    with pytest.raises(ValueError, match="H must be"):
        L.init_lstm(3, 0, np.random.default_rng(0))


def test_bad_input():
    rng = np.random.default_rng(0)
    p = _params(rng, 3, 2)
    x, h0 = np.ones((2, 5, 3)), np.zeros((2, 2))
    with pytest.raises(ValueError, match="Wh must be"):
        L.lstm_forward(x, h0, p["Wx"], np.ones((2, 6)), p["b"])
    with pytest.raises(ValueError, match="Wx must be"):
        L.lstm_forward(x, h0, np.ones((3, 6)), p["Wh"], p["b"])
    with pytest.raises(ValueError, match="b must have shape"):
        L.lstm_forward(x, h0, p["Wx"], p["Wh"], np.ones(7))
    with pytest.raises(ValueError, match="D's must match"):
        L.lstm_forward(np.ones((2, 5, 4)), h0, p["Wx"], p["Wh"], p["b"])
    with pytest.raises(ValueError, match="3-D"):
        L.lstm_forward(np.ones((5, 3)), h0, p["Wx"], p["Wh"], p["b"])
    with pytest.raises(ValueError, match=r"h0 must be \(N, H\)"):
        L.lstm_forward(x, np.zeros((3, 2)), p["Wx"], p["Wh"], p["b"])
    with pytest.raises(ValueError, match=r"c0 must be \(N, H\)"):
        L.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"], c0=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        L.lstm_forward(np.full((2, 5, 3), np.nan), h0, p["Wx"], p["Wh"], p["b"])
    with pytest.raises(TypeError, match="torch tensor"):
        L.lstm_step_forward(torch.ones(2, 3), h0, h0, p["Wx"], p["Wh"], p["b"])
    with pytest.raises(ValueError, match=r"c_prev must be \(N, H\)"):
        L.lstm_step_forward(np.ones((2, 3)), h0, np.zeros((2, 3)), p["Wx"], p["Wh"], p["b"])
    _, cache = L.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    with pytest.raises(ValueError, match="dh must have the shape of the forward output"):
        L.lstm_backward(np.ones((2, 4, 2)), cache)
    with pytest.raises(ValueError, match="dc_last must have the shape of the forward output"):
        L.lstm_backward(np.ones((2, 5, 2)), cache, dc_last=np.ones(2))
    with pytest.raises(TypeError, match="list returned by lstm_forward"):
        L.lstm_backward(np.ones((2, 5, 2)), (1, 2))
    with pytest.raises(TypeError, match="list returned by lstm_forward"):
        L.lstm_gates(None)
    _, _, step_cache = L.lstm_step_forward(np.ones((2, 3)), h0, h0, p["Wx"], p["Wh"], p["b"])
    with pytest.raises(ValueError, match="dc must have the shape of the forward output"):
        L.lstm_step_backward(np.ones((2, 2)), np.ones((1, 2)), step_cache)


def test_params_from_torch():
    m = torch.nn.LSTM(3, 2, batch_first=True).double()
    Wx, Wh, b = L.lstm_params_from_torch(*(p.detach().numpy() for p in (
        m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0)))
    assert Wx.shape == (3, 8) and Wh.shape == (2, 8) and b.shape == (8,)
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    h, _ = L.lstm_forward(x, np.zeros((2, 2)), Wx, Wh, b)
    np.testing.assert_allclose(h, m(torch.from_numpy(x))[0].detach().numpy(), atol=1e-13)
    _, _, b0 = L.lstm_params_from_torch(np.ones((8, 3)), np.ones((8, 2)))
    np.testing.assert_array_equal(b0, 0.0)
    with pytest.raises(ValueError, match=r"weight_hh must be \(4H, H\)"):
        L.lstm_params_from_torch(np.ones((8, 3)), np.ones((6, 2)))
    with pytest.raises(ValueError, match="bias_hh must be"):
        L.lstm_params_from_torch(np.ones((8, 3)), np.ones((8, 2)), np.ones(8), np.ones(6))
