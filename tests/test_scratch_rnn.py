"""course_lib.scratch.rnn: the tanh RNN and BPTT against torch.nn.RNN / autograd and central
differences (float64), the temporal output layer and loss, Jacobian norms, gradient clipping."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch import rnn as R
from course_lib.scratch.gradcheck import numeric_vjp, rel_error

GRAD_TOL = 1e-8          # relative error of analytic vs five-point numeric gradients
TORCH_TOL = 1e-12        # scratch vs torch in float64

# (N, T, D, H): a batch of one, one time step, odd sizes, D > H and D < H
SHAPES = [(1, 1, 1, 1), (1, 5, 3, 4), (3, 1, 2, 5), (2, 7, 5, 3), (4, 6, 3, 8)]


def _params(rng, D, H, scale=0.5):
    return (scale * rng.normal(size=(D, H)), scale * rng.normal(size=(H, H)) / np.sqrt(H),
            0.1 * rng.normal(size=H))


def _torch_rnn(Wx, Wh, b):
    """A float64 torch.nn.RNN holding our weights (b split between its two biases)."""
    D, H = Wx.shape
    layer = torch.nn.RNN(D, H, batch_first=True).double()
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.tensor(Wx.T))
        layer.weight_hh_l0.copy_(torch.tensor(Wh.T))
        layer.bias_ih_l0.copy_(torch.tensor(0.3 * b))
        layer.bias_hh_l0.copy_(torch.tensor(0.7 * b))
    return layer


def _dout(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)


def _gradient_check(forward, args, dout, grads):
    """Each analytic gradient against five-point central differences of ``forward(*args)[0]``."""
    for i, g in enumerate(grads):
        def f(z, i=i):
            return forward(*args[:i], z, *args[i + 1:])[0]
        num = numeric_vjp(f, args[i], dout, h=1e-3, order=4)
        assert g.shape == args[i].shape
        assert rel_error(g, num) < GRAD_TOL, (i, rel_error(g, num))


# --------------------------------------------------------------------------- one step

@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_step_forward_matches_rnn_cell(N, T, D, H):
    rng = np.random.default_rng([N, T, D, H])
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _params(rng, D, H)
    out, _ = R.rnn_step_forward(x, h, Wx, Wh, b)
    cell = torch.nn.RNNCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(Wx.T))
        cell.weight_hh.copy_(torch.tensor(Wh.T))
        cell.bias_ih.copy_(torch.tensor(b))
        cell.bias_hh.zero_()
    ref = cell(torch.tensor(x), torch.tensor(h)).detach().numpy()
    assert out.shape == (N, H) and out.dtype == np.float64
    assert np.abs(out - ref).max() < TORCH_TOL


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_step_backward_gradient_check(N, T, D, H):
    rng = np.random.default_rng([7, N, D, H])
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _params(rng, D, H)
    dout = _dout(rng, (N, H))
    _, cache = R.rnn_step_forward(x, h, Wx, Wh, b)
    _gradient_check(R.rnn_step_forward, [x, h, Wx, Wh, b], dout,
                    R.rnn_step_backward(dout, cache))


# ----------------------------------------------------------------------- over time

@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_forward_and_bptt_match_torch_rnn(N, T, D, H):
    rng = np.random.default_rng([1, N, T, D, H])
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _params(rng, D, H, scale=1.0)
    h, cache = R.rnn_forward(x, h0, Wx, Wh, b)
    assert h.shape == (N, T, H)

    layer = _torch_rnn(Wx, Wh, b)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)            # (layers, N, H)
    out, hT = layer(xt, h0t)
    assert np.abs(h - out.detach().numpy()).max() < TORCH_TOL
    assert np.abs(h[:, -1] - hT[0].detach().numpy()).max() < TORCH_TOL

    dh = _dout(rng, (N, T, H))
    dx, dh0, dWx, dWh, db = R.rnn_backward(dh, cache)
    out.backward(torch.tensor(dh))
    assert np.abs(dx - xt.grad.numpy()).max() < TORCH_TOL
    assert np.abs(dh0 - h0t.grad[0].numpy()).max() < TORCH_TOL
    assert np.abs(dWx - layer.weight_ih_l0.grad.numpy().T).max() < TORCH_TOL
    assert np.abs(dWh - layer.weight_hh_l0.grad.numpy().T).max() < TORCH_TOL
    assert np.abs(db - layer.bias_ih_l0.grad.numpy()).max() < TORCH_TOL
    assert np.abs(db - layer.bias_hh_l0.grad.numpy()).max() < TORCH_TOL


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_bptt_gradient_check(N, T, D, H):
    rng = np.random.default_rng([2, N, T, D, H])
    args = [rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), *_params(rng, D, H, 1.0)]
    dh = _dout(rng, (N, T, H))
    _, cache = R.rnn_forward(*args)
    _gradient_check(R.rnn_forward, args, dh, R.rnn_backward(dh, cache))


def test_loss_on_final_state_only_reaches_every_step():
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 6, 3, 4
    x, h0 = rng.normal(size=(N, T, D)), np.zeros((N, H))
    Wx, Wh, b = _params(rng, D, H, 1.0)
    h, cache = R.rnn_forward(x, h0, Wx, Wh, b)
    dh = np.zeros_like(h)
    dh[:, -1] = 1.0
    dx = R.rnn_backward(dh, cache)[0]
    assert np.all(np.abs(dx).sum(axis=(0, 2)) > 0)   # the gradient reaches x_1 through time


def test_float32_stays_float32():
    rng = np.random.default_rng(4)
    x, h0 = rng.normal(size=(2, 3, 4)).astype(np.float32), np.zeros((2, 5), np.float32)
    Wx, Wh, b = (a.astype(np.float32) for a in _params(rng, 4, 5))
    h, cache = R.rnn_forward(x, h0, Wx, Wh, b)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in R.rnn_backward(np.ones_like(h), cache))


def test_params_from_torch_round_trip():
    torch.manual_seed(0)
    layer = torch.nn.RNN(3, 5, batch_first=True).double()
    Wx, Wh, b = R.rnn_params_from_torch(*(p.detach().numpy() for p in (
        layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)))
    x = np.random.default_rng(5).normal(size=(2, 4, 3))
    h, _ = R.rnn_forward(x, np.zeros((2, 5)), Wx, Wh, b)
    assert np.abs(h - layer(torch.tensor(x))[0].detach().numpy()).max() < TORCH_TOL
    Wx0, Wh0, b0 = R.rnn_params_from_torch(layer.weight_ih_l0.detach().numpy(),
                                           layer.weight_hh_l0.detach().numpy())
    assert np.all(b0 == 0) and np.array_equal(Wx0, Wx)


# --------------------------------------------------------------- temporal output + loss

@pytest.mark.parametrize("N,T,H,V", [(1, 1, 1, 2), (2, 5, 3, 7), (3, 4, 6, 5)])
def test_temporal_affine_and_loss_match_torch(N, T, H, V):
    rng = np.random.default_rng([N, T, H, V])
    # scores of order 1: no probability so small that its gradient drowns in round-off
    h, W, b = rng.normal(size=(N, T, H)), rng.normal(size=(H, V)) / np.sqrt(H), rng.normal(size=V)
    y = rng.integers(0, V, size=(N, T))
    scores, cache = R.temporal_affine_forward(h, W, b)
    loss, ds = R.temporal_softmax_loss(scores, y)
    dh, dW, db = R.temporal_affine_backward(ds, cache)

    ht, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (h, W, b))
    st = ht @ Wt + bt
    lt = F.cross_entropy(st.reshape(-1, V), torch.tensor(y).reshape(-1))
    lt.backward()
    assert abs(loss - lt.item()) < 1e-12
    for ours, theirs in ((dh, ht.grad), (dW, Wt.grad), (db, bt.grad)):
        assert np.abs(ours - theirs.numpy()).max() < TORCH_TOL
    num = numeric_vjp(lambda s: R.temporal_softmax_loss(s, y)[0], scores, h=1e-3, order=4)
    assert rel_error(ds, num) < GRAD_TOL


def test_whole_language_model_gradient_check():
    """one-hot -> RNN -> affine -> softmax loss: every parameter against central differences."""
    rng = np.random.default_rng(6)
    N, T, V, H = 2, 5, 4, 3
    ids = rng.integers(0, V, size=(N, T + 1))
    x = np.eye(V)[ids[:, :-1]]                               # (N, T, V) one-hot
    params = dict(zip(["Wx", "Wh", "b"], _params(rng, V, H, 1.0), strict=True))
    params["W"], params["c"] = rng.normal(size=(H, V)), rng.normal(size=V)
    h0 = np.zeros((N, H))

    def loss_fn(p):
        h, c1 = R.rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        s, c2 = R.temporal_affine_forward(h, p["W"], p["c"])
        loss, ds = R.temporal_softmax_loss(s, ids[:, 1:])
        return loss, (ds, c1, c2)

    _, (ds, c1, c2) = loss_fn(params)
    dh, dW, dc = R.temporal_affine_backward(ds, c2)
    _, _, dWx, dWh, db = R.rnn_backward(dh, c1)
    grads = {"Wx": dWx, "Wh": dWh, "b": db, "W": dW, "c": dc}
    for k, g in grads.items():
        def f(z, k=k):
            return loss_fn({**params, k: z})[0]
        assert rel_error(g, numeric_vjp(f, params[k], h=1e-3, order=4)) < GRAD_TOL, k


# ----------------------------------------------------------------- Jacobian norms

def test_hidden_jacobian_norms_match_autograd():
    rng = np.random.default_rng(8)
    N, T, D, H = 2, 5, 3, 4
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = _params(rng, D, H, 1.5)
    h, _ = R.rnn_forward(x, h0, Wx, Wh, b)
    norms = R.hidden_jacobian_norms(h, Wh)
    assert norms.shape == (N, T + 1) and np.all(norms[:, 0] == 1.0)
    # torch: the final state as a function of the state k steps earlier, inputs fixed
    for n in range(N):
        for k in range(1, T + 1):
            def run(h_start, n=n, k=k):
                hh = h_start
                for t in range(T - k, T):
                    hh = torch.tanh(torch.tensor(x[n, t]) @ torch.tensor(Wx)
                                    + hh @ torch.tensor(Wh) + torch.tensor(b))
                return hh
            start = h0[n] if k == T else h[n, T - k - 1]
            J = torch.autograd.functional.jacobian(run, torch.tensor(start)).numpy()
            assert abs(norms[n, k] - np.linalg.norm(J, 2)) < 1e-12 * max(1, norms[n, k])


def test_jacobian_norms_of_small_weights_vanish():
    rng = np.random.default_rng(9)
    Wx, Wh, b = _params(rng, 3, 6)
    Wh = 0.3 * Wh / np.abs(np.linalg.eigvals(Wh)).max()      # spectral radius 0.3
    h, _ = R.rnn_forward(rng.normal(size=(1, 30, 3)), np.zeros((1, 6)), Wx, Wh, b)
    norms = R.hidden_jacobian_norms(h, Wh)[0]
    assert norms[-1] < 1e-8 < norms[1]


# ------------------------------------------------------------------ gradient clipping

@pytest.mark.parametrize("max_norm", [0.1, 1.0, 3.0, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(10)
    shapes = [(3, 4), (4,), (1,), (2, 2, 2)]
    grads = [rng.normal(size=s) for s in shapes]
    clipped, total = R.clip_grad_norm(grads, max_norm)
    params = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    ref_total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    assert abs(total - ref_total.item()) < 1e-12 * total
    assert abs(total - np.sqrt(sum(np.sum(g**2) for g in grads))) < 1e-12 * total
    for c, p in zip(clipped, params, strict=True):
        assert np.abs(c - p.grad.numpy()).max() < 1e-15
    expected = min(total, max_norm)                 # clipped to max_norm, or left alone
    assert abs(R.global_norm(clipped) - expected) < 1e-6 * expected


def test_clip_keeps_direction_and_dict_and_leaves_small_gradients():
    g = {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])}            # norm 5
    out, total = R.clip_grad_norm(g, 1.0, eps=0.0)
    assert total == 5.0 and set(out) == {"W", "b"}
    assert np.allclose(out["W"], [[0.6, 0.0]]) and np.allclose(out["b"], [0.8])
    assert g["W"][0, 0] == 3.0                                           # input untouched
    same, _ = R.clip_grad_norm(g, 10.0)
    assert all(np.array_equal(same[k], g[k]) for k in g)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("call, exc, words", [
    (lambda: R.rnn_step_forward(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 5)),
                                np.ones((4, 4)), np.ones(4)), ValueError, "Wx must be"),
    (lambda: R.rnn_step_forward(np.ones((2, 3)), np.ones((1, 4)), np.ones((3, 4)),
                                np.ones((4, 4)), np.ones(4)), ValueError, "h_prev must be"),
    (lambda: R.rnn_step_forward(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 4)),
                                np.ones((4, 3)), np.ones(4)), ValueError, "square"),
    (lambda: R.rnn_forward(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 4)),
                           np.ones((4, 4)), np.ones(4)), ValueError, "3-D"),
    (lambda: R.rnn_forward(np.ones((2, 3, 3)), np.ones((2, 4)), np.ones((3, 4)),
                           np.ones((4, 4)), np.ones(5)), ValueError, "b must be"),
    (lambda: R.rnn_forward(torch.ones(2, 3, 3), np.ones((2, 4)), np.ones((3, 4)),
                           np.ones((4, 4)), np.ones(4)), TypeError, "torch tensor"),
    (lambda: R.rnn_backward(np.ones((2, 3, 4)), None), TypeError, "cache"),
    (lambda: R.temporal_softmax_loss(np.ones((2, 3, 4)), np.full((2, 3), 4)), ValueError,
     "targets"),
    (lambda: R.temporal_softmax_loss(np.ones((2, 3, 4)), np.ones((2, 3))), TypeError, "dtype"),
    (lambda: R.hidden_jacobian_norms(np.ones((1, 3, 4)), np.ones((3, 3))), ValueError, "Wh"),
    (lambda: R.clip_grad_norm([np.ones(2)], 0.0), ValueError, "max_norm"),
    (lambda: R.clip_grad_norm([], 1.0), ValueError, "at least one"),
    (lambda: R.clip_grad_norm(np.ones(3), 1.0), TypeError, "list"),
    (lambda: R.clip_grad_norm([np.array([1.0, np.nan])], 1.0), ValueError, "NaN"),
    (lambda: R.rnn_params_from_torch(np.ones((4, 3)), np.ones((4, 4)), np.ones(3)),
     ValueError, "bias_ih"),
])
def test_bad_input_is_explained(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_backward_checks_dout_shape():
    rng = np.random.default_rng(11)
    h, cache = R.rnn_forward(rng.normal(size=(2, 3, 4)), np.zeros((2, 5)),
                             *_params(rng, 4, 5))
    with pytest.raises(ValueError, match=r"dh must have the shape .*\(2, 3, 5\)"):
        R.rnn_backward(np.ones((2, 3, 4)), cache)
    with pytest.raises(ValueError, match="dh_next"):
        R.rnn_step_backward(np.ones((2, 4)), cache[0])


def test_torch_rnn_weights_any_number_of_gates():
    rng = np.random.default_rng(3)
    w_ih, w_hh, b_ih = rng.normal(size=(6, 4)), rng.normal(size=(6, 3)), rng.normal(size=6)
    Wx, Wh, bx, bh = R.torch_rnn_weights(w_ih, w_hh, b_ih, None, n_gates=2)
    np.testing.assert_array_equal(Wx, w_ih.T)
    np.testing.assert_array_equal(Wh, w_hh.T)
    np.testing.assert_array_equal(bx, b_ih)
    assert bx is not b_ih and not bh.any() and bh.shape == (6,)
    with pytest.raises(ValueError, match=r"weight_hh must be \(2H, H\) and weight_ih \(2H, D\)"):
        R.torch_rnn_weights(w_ih, np.ones((6, 2)), n_gates=2)
    with pytest.raises(ValueError, match="weight_ih contains NaN"):
        R.rnn_params_from_torch(np.full((3, 2), np.nan), np.ones((3, 3)))
