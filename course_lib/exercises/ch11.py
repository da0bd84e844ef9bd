"""Checks for the exercises of chapter 11 (LSTM and GRU).

The LSTM and GRU steps are compared with ``torch.nn.LSTMCell`` and ``torch.nn.GRUCell``
holding the same weights, in float64.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a, dtype=np.float64))


# ------------------------------------------------------------------------- 1. one LSTM step

def _lstm_inputs(rng: np.random.Generator):
    N, D, H = (int(v) for v in rng.integers(1, 6, size=3))
    return (rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H)),
            0.7 * rng.normal(size=(D, 4 * H)), 0.7 * rng.normal(size=(H, 4 * H)),
            0.5 * rng.normal(size=4 * H))


def _lstm_reference(x, h_prev, c_prev, Wx, Wh, b):
    import torch

    D, H = Wx.shape[0], Wh.shape[0]
    cell = torch.nn.LSTMCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(_t(Wx.T))
        cell.weight_hh.copy_(_t(Wh.T))
        cell.bias_ih.copy_(_t(b))
        cell.bias_hh.zero_()
        h, c = cell(_t(x), (_t(h_prev), _t(c_prev)))
    return h.numpy(), c.numpy()


def check_lstm_step(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, h_prev, c_prev, Wx, Wh, b) -> (h, c)``: one LSTM step, gate order i, f, g, o.

    Shapes: x (N, D), h_prev and c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    """
    return check_function(
        fn, _lstm_reference, _lstm_inputs, name="one LSTM step", rtol=1e-9, atol=1e-12,
        strict=strict,
        hint="a = x @ Wx + h_prev @ Wh + b; split a into 4 blocks of H columns (i, f, g, o); "
             "sigmoid for i, f, o and tanh for g; c = f*c_prev + i*g; h = o*tanh(c); "
             "return (h, c)")


# -------------------------------------------------------------------------- 2. one GRU step

def _gru_inputs(rng: np.random.Generator):
    N, D, H = (int(v) for v in rng.integers(1, 6, size=3))
    return (rng.normal(size=(N, D)), rng.normal(size=(N, H)),
            0.7 * rng.normal(size=(D, 3 * H)), 0.7 * rng.normal(size=(H, 3 * H)),
            0.5 * rng.normal(size=3 * H), 0.5 * rng.normal(size=3 * H))


def _gru_reference(x, h_prev, Wx, Wh, bx, bh):
    import torch

    D, H = Wx.shape[0], Wh.shape[0]
    cell = torch.nn.GRUCell(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(_t(Wx.T))
        cell.weight_hh.copy_(_t(Wh.T))
        cell.bias_ih.copy_(_t(bx))
        cell.bias_hh.copy_(_t(bh))
        return cell(_t(x), _t(h_prev)).numpy()


def check_gru_step(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, h_prev, Wx, Wh, bx, bh) -> h``: one GRU step as ``torch.nn.GRUCell``.

    Shapes: x (N, D), h_prev (N, H), Wx (D, 3H), Wh (H, 3H), bx and bh (3H,); blocks r, z, n.
    """
    return check_function(
        fn, _gru_reference, _gru_inputs, name="one GRU step", rtol=1e-9, atol=1e-12,
        strict=strict,
        hint="ax = x @ Wx + bx and ah = h_prev @ Wh + bh; r and z are sigmoids of the sums of "
             "their blocks; n = tanh(ax_n + r * ah_n) (r multiplies the hidden part, bias "
             "included); h = (1 - z) * n + z * h_prev")


# --------------------------------------------------------------- 3. seasonal-naive forecast

def _seasonal_inputs(rng: np.random.Generator):
    m = int(rng.integers(1, 13))
    n = int(rng.integers(m, 4 * m + 5))
    return rng.normal(size=n).cumsum(), m, int(rng.integers(1, 3 * m + 2))


def _seasonal_reference(y, m, horizon):
    y = np.asarray(y, dtype=np.float64)
    h = np.arange(1, horizon + 1)
    k = (h - 1) // m                        # whole seasons beyond the first
    return y[len(y) - 1 + h - m * (k + 1)]


def check_seasonal_naive(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(y, m, horizon) -> (horizon,)``: the seasonal-naive forecast of the values
    after the end of ``y`` (n,), with season length m ≤ n, for horizons 1..horizon (which may
    exceed m)."""
    return check_function(
        fn, _seasonal_reference, _seasonal_inputs, name="seasonal-naive forecast",
        rtol=0.0, atol=0.0, strict=strict,
        hint="the forecast h steps after the last value y[n-1] repeats the last observed "
             "season: y[n - 1 + h - m*(k + 1)] with k = (h - 1) // m, so for h <= m it is "
             "y[n - 1 + h - m]")


# ------------------------------------------------------- 4. the negative-sampling loss

def _sgns_inputs(rng: np.random.Generator):
    d, K = int(rng.integers(1, 9)), int(rng.integers(1, 8))
    return rng.normal(size=d), rng.normal(size=d), rng.normal(size=(K, d))


def _sgns_reference(v_c, u_o, U_neg):
    import torch.nn.functional as F

    v = _t(v_c)
    return float(-(F.logsigmoid(_t(u_o) @ v) + F.logsigmoid(-(_t(U_neg) @ v)).sum()))


def check_sgns_loss(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(v_c, u_o, U_neg) -> float``: the skip-gram negative-sampling loss of one
    (centre, context) pair, v_c and u_o (d,), with K negatives U_neg (K, d)."""
    return check_function(
        fn, _sgns_reference, _sgns_inputs, name="negative-sampling loss", rtol=1e-9,
        atol=1e-12, strict=strict,
        hint="-log σ(u_o·v_c) - Σ_k log σ(-u_k·v_c); log σ(s) = -np.logaddexp(0, -s) "
             "never overflows")
