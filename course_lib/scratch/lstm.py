"""The long short-term memory (LSTM) cell and layer, forward and backward (NumPy only).

Hochreiter & Schmidhuber, "Long short-term memory", Neural Computation 1997; the forget gate
is from Gers, Schmidhuber & Cummins, "Learning to forget", Neural Computation 2000. With the
gate order and bias convention of ``torch.nn.LSTM`` (i, f, g, o), one step is

    a = x Wx + h_prev Wh + b            (N, 4H)   all four pre-activations at once
    i = σ(a[:, 0:H])                    input gate: how much of the candidate to write
    f = σ(a[:, H:2H])                   forget gate: how much of the old cell to keep
    g = tanh(a[:, 2H:3H])               candidate values
    o = σ(a[:, 3H:4H])                  output gate: how much of the cell to show
    c = f ⊙ c_prev + i ⊙ g              the cell state: an additive, gated memory
    h = o ⊙ tanh(c)                     the hidden state (the layer's output)

The CS231n layout: every forward returns ``(outputs, cache)`` and every backward takes the
upstream gradients and the cache. ``Wx`` is (D, 4H) and ``Wh`` (H, 4H): the transposes of
torch's ``weight_ih_l0`` (4H, D) and ``weight_hh_l0`` (4H, H); ``b`` is torch's
``bias_ih_l0 + bias_hh_l0`` (the two biases only ever appear summed).

All functions work in the dtype of their inputs; use float64 for gradient checks.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.logistic import sigmoid
from course_lib.scratch.validate import as_array, check_finite, check_int

__all__ = ["lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
           "lstm_gates", "init_lstm", "lstm_params_from_torch", "GATE_NAMES"]

#: The order of the four blocks of ``Wx``, ``Wh`` and ``b`` (torch's order).
GATE_NAMES = ("input", "forget", "candidate", "output")


def _float(x, where: str, name: str, ndim: int) -> np.ndarray:
    arr = as_array(x, where, name, ndim=ndim, dtype_kind="fiu")
    arr = arr if arr.dtype.kind == "f" else arr.astype(np.float64)
    check_finite(arr, where, name)
    return arr


def _check_weights(Wx, Wh, b, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Validate (D, 4H), (H, 4H), (4H,) and return them with H."""
    Wx, Wh, b = _float(Wx, where, "Wx", 2), _float(Wh, where, "Wh", 2), _float(b, where, "b", 1)
    H = Wh.shape[0]
    if Wh.shape != (H, 4 * H):
        raise ValueError(f"{where}: Wh must be (H, 4H) with the blocks i, f, g, o side by side, "
                         f"got shape {Wh.shape}")
    if Wx.shape[1] != 4 * H:
        raise ValueError(f"{where}: Wx must be (D, 4H) = (D, {4 * H}) to match Wh {Wh.shape}, "
                         f"got {Wx.shape}")
    if b.shape != (4 * H,):
        raise ValueError(f"{where}: b must have shape ({4 * H},) to match Wh {Wh.shape}, "
                         f"got {b.shape}")
    return Wx, Wh, b, H


def _check_state(s, N: int, H: int, where: str, name: str) -> np.ndarray:
    s = _float(s, where, name, 2)
    if s.shape != (N, H):
        raise ValueError(f"{where}: {name} must be (N, H) = ({N}, {H}), got {s.shape}")
    return s


def _check_grad(d, shape: tuple, where: str, name: str) -> np.ndarray:
    d = as_array(d, where, name, dtype_kind="fiu", allow_empty=True)
    if d.shape != tuple(shape):
        raise ValueError(f"{where}: {name} must have shape {tuple(shape)} (the shape of the "
                         f"forward output), got {d.shape}")
    return d if d.dtype.kind == "f" else d.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# One time step
# ---------------------------------------------------------------------------------------------

def _step(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b                      # (N, 4H)
    i = sigmoid(a[:, :H])                             # (N, H) input gate
    f = sigmoid(a[:, H:2 * H])                        # (N, H) forget gate
    g = np.tanh(a[:, 2 * H:3 * H])                    # (N, H) candidate
    o = sigmoid(a[:, 3 * H:])                         # (N, H) output gate
    c = f * c_prev + i * g                            # (N, H) new cell state
    tc = np.tanh(c)                                   # (N, H)
    h = o * tc                                        # (N, H) new hidden state
    return h, c, (x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc)


def _step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc = cache
    do = dh * tc                                      # h = o ⊙ tanh(c)
    dc = dc + dh * o * (1.0 - tc * tc)                # c feeds h and the next step
    df, di, dg = dc * c_prev, dc * g, dc * i          # c = f ⊙ c_prev + i ⊙ g
    dc_prev = dc * f                                  # the "constant error carousel"
    da = np.concatenate([di * i * (1.0 - i),          # σ' = σ(1 − σ)
                         df * f * (1.0 - f),
                         dg * (1.0 - g * g),          # tanh' = 1 − tanh²
                         do * o * (1.0 - o)], axis=1)  # (N, 4H)
    dx = da @ Wx.T                                    # (N, D)
    dh_prev = da @ Wh.T                               # (N, H)
    dWx = x.T @ da                                    # (D, 4H)
    dWh = h_prev.T @ da                               # (H, 4H)
    db = da.sum(axis=0)                               # (4H,)
    return dx, dh_prev, dc_prev, dWx, dWh, db


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One LSTM step (the equations at the top of this module; ``torch.nn.LSTMCell``).

    Args:
        x: (N, D) inputs at this time step.
        h_prev: (N, H) previous hidden state.
        c_prev: (N, H) previous cell state.
        Wx: (D, 4H) input-to-hidden weights, blocks i, f, g, o.
        Wh: (H, 4H) hidden-to-hidden weights, blocks i, f, g, o.
        b: (4H,) biases.

    Returns:
        ``h`` (N, H), ``c`` (N, H) and the cache for :func:`lstm_step_backward`.
    """
    where = "lstm_step_forward"
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, where)
    x = _float(x, where, "x", 2)
    if x.shape[1] != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, D) = {x.shape} but Wx is (D, 4H) = {Wx.shape}; "
                         f"the D's must match")
    h_prev = _check_state(h_prev, x.shape[0], H, where, "h_prev")
    c_prev = _check_state(c_prev, x.shape[0], H, where, "c_prev")
    return _step(x, h_prev, c_prev, Wx, Wh, b)


def lstm_step_backward(dh, dc, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward of :func:`lstm_step_forward`.

    Args:
        dh: (N, H) ∂L/∂h, the gradient arriving at this step's hidden state.
        dc: (N, H) ∂L/∂c from the next time step (zeros at the last step).
        cache: from :func:`lstm_step_forward`.

    Returns:
        ``dx`` (N, D), ``dh_prev`` (N, H), ``dc_prev`` (N, H), ``dWx`` (D, 4H),
        ``dWh`` (H, 4H), ``db`` (4H,).
    """
    shape = cache[1].shape
    dh = _check_grad(dh, shape, "lstm_step_backward", "dh")
    dc = _check_grad(dc, shape, "lstm_step_backward", "dc")
    return _step_backward(dh, dc, cache)


# ---------------------------------------------------------------------------------------------
# A whole sequence: unroll the step over time, and backpropagation through time
# ---------------------------------------------------------------------------------------------

def lstm_forward(x, h0, Wx, Wh, b, c0=None) -> tuple[np.ndarray, list]:
    """An LSTM layer run over a batch of sequences (``torch.nn.LSTM(batch_first=True)``).

    Args:
        x: (N, T, D) input sequences.
        h0: (N, H) initial hidden state.
        Wx, Wh, b: (D, 4H), (H, 4H), (4H,) as in :func:`lstm_step_forward`.
        c0: (N, H) initial cell state; zeros when None.

    Returns:
        ``h`` (N, T, H), the hidden state at every step (so ``h[:, -1]`` is torch's ``h_n``),
        and the cache for :func:`lstm_backward` (a list of the T step caches; see
        :func:`lstm_gates` for the gate values it holds).
    """
    where = "lstm_forward"
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, where)
    x = _float(x, where, "x", 3)
    N, T, D = x.shape
    if D != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, T, D) = {x.shape} but Wx is (D, 4H) = {Wx.shape}; "
                         f"the D's must match")
    h_t = _check_state(h0, N, H, where, "h0")
    c_t = np.zeros_like(h_t) if c0 is None else _check_state(c0, N, H, where, "c0")
    dtype = np.result_type(x, h_t, c_t, Wx, Wh, b)
    h = np.empty((N, T, H), dtype=dtype)
    caches = []
    for t in range(T):
        h_t, c_t, cache = _step(x[:, t], h_t, c_t, Wx, Wh, b)
        h[:, t] = h_t
        caches.append(cache)
    return h, caches


def lstm_backward(dh, cache: list, dc_last=None) -> tuple[np.ndarray, ...]:
    """Backpropagation through time for :func:`lstm_forward`.

    Walks the steps from T−1 down to 0; at each step the gradient reaching ``h_t`` is the
    upstream ``dh[:, t]`` plus what flows back from step t+1, and the cell gradient flows back
    through ``dc_prev = dc ⊙ f`` (Werbos, "Backpropagation through time", Proc. IEEE 1990).

    Args:
        dh: (N, T, H) ∂L/∂h for every step's hidden state (put a loss on ``h_n`` into
            ``dh[:, -1]``).
        cache: from :func:`lstm_forward`.
        dc_last: (N, H) ∂L/∂c_T when the loss also uses the final cell state; else None.

    Returns:
        ``dx`` (N, T, D), ``dh0`` (N, H), ``dc0`` (N, H), ``dWx`` (D, 4H), ``dWh`` (H, 4H),
        ``db`` (4H,).
    """
    where = "lstm_backward"
    if not isinstance(cache, list) or not cache:
        raise TypeError(f"lstm_backward: cache must be the list returned by lstm_forward, "
                        f"got {type(cache).__name__}")
    x0, h_prev0 = cache[0][0], cache[0][1]
    N, H, T, D = h_prev0.shape[0], h_prev0.shape[1], len(cache), x0.shape[1]
    dh = _check_grad(dh, (N, T, H), where, "dh")
    dc = (np.zeros((N, H), dtype=dh.dtype) if dc_last is None
          else _check_grad(dc_last, (N, H), where, "dc_last"))
    Wx, Wh = cache[0][3], cache[0][4]
    dx = np.empty((N, T, D), dtype=np.result_type(dh, x0))
    dWx, dWh = np.zeros_like(Wx, dtype=dx.dtype), np.zeros_like(Wh, dtype=dx.dtype)
    db = np.zeros(4 * H, dtype=dx.dtype)
    dh_next = np.zeros((N, H), dtype=dx.dtype)
    for t in reversed(range(T)):
        dx_t, dh_next, dc, dWx_t, dWh_t, db_t = _step_backward(dh[:, t] + dh_next, dc, cache[t])
        dx[:, t] = dx_t
        dWx += dWx_t                                  # the same weights at every step:
        dWh += dWh_t                                  # their gradients add up over time
        db += db_t
    return dx, dh_next, dc, dWx, dWh, db


def lstm_gates(cache: list) -> dict[str, np.ndarray]:
    """The gate activations and cell states saved by :func:`lstm_forward`.

    Returns:
        ``{"input", "forget", "candidate", "output", "cell"}``, each (N, T, H); "cell" is the
        cell state c_t after each step.
    """
    if not isinstance(cache, list) or not cache:
        raise TypeError(f"lstm_gates: cache must be the list returned by lstm_forward, "
                        f"got {type(cache).__name__}")
    out = {name: np.stack([step[5 + k] for step in cache], axis=1)
           for k, name in enumerate(GATE_NAMES)}
    out["cell"] = out["forget"] * np.stack([step[2] for step in cache], axis=1) \
        + out["input"] * out["candidate"]
    return out


def init_lstm(D: int, H: int, rng: np.random.Generator, *, forget_bias: float = 1.0,
              dtype=np.float64) -> dict[str, np.ndarray]:
    """Random LSTM parameters ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``.

    Weights are uniform in ±1/√H, as torch's default; the forget-gate bias starts at
    ``forget_bias`` (1 by default, so the cell keeps its memory at first: Gers et al. 2000;
    Jozefowicz, Zaremba & Sutskever, ICML 2015), the other biases at 0.
    """
    D = check_int(D, "init_lstm", "D", low=1)
    H = check_int(H, "init_lstm", "H", low=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"init_lstm: rng must be a numpy Generator (np.random.default_rng), "
                        f"got {type(rng).__name__}")
    k = 1.0 / np.sqrt(H)
    b = np.zeros(4 * H, dtype=dtype)
    b[H:2 * H] = forget_bias
    return {"Wx": rng.uniform(-k, k, size=(D, 4 * H)).astype(dtype),
            "Wh": rng.uniform(-k, k, size=(H, 4 * H)).astype(dtype), "b": b}


def lstm_params_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert one layer of ``torch.nn.LSTM`` weights (as NumPy arrays) to ``(Wx, Wh, b)``.

    ``Wx = weight_ihᵀ`` (D, 4H), ``Wh = weight_hhᵀ`` (H, 4H), ``b = bias_ih + bias_hh`` (4H,);
    torch's blocks are already in the order i, f, g, o used here.

    Args:
        weight_ih: (4H, D), e.g. ``lstm.weight_ih_l0.detach().numpy()``.
        weight_hh: (4H, H).
        bias_ih, bias_hh: (4H,) each, or None for a layer built with ``bias=False``.
    """
    where = "lstm_params_from_torch"
    W_ih, W_hh = _float(weight_ih, where, "weight_ih", 2), _float(weight_hh, where, "weight_hh", 2)
    H = W_hh.shape[1]
    if W_hh.shape != (4 * H, H) or W_ih.shape[0] != 4 * H:
        raise ValueError(f"{where}: weight_hh must be (4H, H) and weight_ih (4H, D), "
                         f"got {W_hh.shape} and {W_ih.shape}")
    b = np.zeros(4 * H, dtype=W_hh.dtype)
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is not None:
            bias = _float(bias, where, name, 1)
            if bias.shape != (4 * H,):
                raise ValueError(f"{where}: {name} must be (4H,) = ({4 * H},), got {bias.shape}")
            b = b + bias
    return W_ih.T.copy(), W_hh.T.copy(), b
