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

Speed (the same arithmetic as cuDNN organises it): :func:`lstm_forward` computes the input
projection ``x_t Wx + b`` of all T steps in one matrix product before the recurrence, and
:func:`lstm_backward` computes ``dx``, ``dWx``, ``dWh`` and ``db`` of all steps in one product
each after it; only ``h_{t-1} Wh`` and ``da_t Whᵀ`` remain inside the loop over time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.rnn import torch_rnn_weights
from course_lib.scratch.validate import (
    as_float_array,
    check_gate_weights,
    check_grad_shape,
    check_int,
    check_rng,
    check_shape,
    check_step_caches,
)

__all__ = ["LSTMStepCache", "lstm_step_forward", "lstm_step_backward", "lstm_forward",
           "lstm_backward", "lstm_gates", "init_lstm", "lstm_params_from_torch", "GATE_NAMES"]

#: The order of the four blocks of ``Wx``, ``Wh`` and ``b`` (torch's order).
GATE_NAMES = ("input", "forget", "candidate", "output")


@dataclass(frozen=True, eq=False)
class LSTMStepCache:
    """What one LSTM step keeps for its backward pass: the inputs ``x`` (N, D), ``h_prev`` and
    ``c_prev`` (N, H), the weights ``Wx`` (D, 4H) and ``Wh`` (H, 4H), the four gate
    activations ``i``, ``f``, ``g``, ``o`` (N, H) and ``tanh_c`` = tanh(c) (N, H)."""

    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = (1 + tanh(z/2)) / 2: the same function, never overflows, and keeps z's dtype
    (``functional.sigmoid`` returns float64, which would turn a float32 layer into float64)."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _check_weights(Wx, Wh, b, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Validate (D, 4H), (H, 4H), (4H,) and return them with H."""
    Wx, Wh, (b,), H = check_gate_weights(Wx, Wh, {"b": b}, ("i", "f", "g", "o"), where)
    return Wx, Wh, b, H


# ---------------------------------------------------------------------------------------------
# One time step
# ---------------------------------------------------------------------------------------------

def _step(x, h_prev, c_prev, Wx, Wh, b):
    H = h_prev.shape[1]
    a = (x @ Wx + b) + h_prev @ Wh                    # (N, 4H) all four pre-activations
    i_f = _sigmoid(a[:, :2 * H])                      # (N, 2H) both gates at once:
    i, f = i_f[:, :H], i_f[:, H:]                     # (N, H) input and forget gates
    g = np.tanh(a[:, 2 * H:3 * H])                    # (N, H) candidate
    o = _sigmoid(a[:, 3 * H:])                        # (N, H) output gate
    c = f * c_prev + i * g                            # (N, H) new cell state
    tc = np.tanh(c)                                   # (N, H)
    h = o * tc                                        # (N, H) new hidden state
    return h, c, LSTMStepCache(x, h_prev, c_prev, Wx, Wh, i, f, g, o, tc)


def _step_backward(dh, dc, cache: LSTMStepCache, param_grads: bool = True):
    i, f, g, o, tc = cache.i, cache.f, cache.g, cache.o, cache.tanh_c
    do = dh * tc                                      # h = o ⊙ tanh(c)
    dc = dc + dh * o * (1.0 - tc * tc)                # c feeds h and the next step
    df, di, dg = dc * cache.c_prev, dc * g, dc * i    # c = f ⊙ c_prev + i ⊙ g
    dc_prev = dc * f                                  # the "constant error carousel"
    da = np.concatenate([di * i * (1.0 - i),          # σ' = σ(1 − σ)
                         df * f * (1.0 - f),
                         dg * (1.0 - g * g),          # tanh' = 1 − tanh²
                         do * o * (1.0 - o)], axis=1)  # (N, 4H)
    dh_prev = da @ cache.Wh.T                         # (N, H)
    if not param_grads:                               # lstm_backward does the rest for all
        return da, dh_prev, dc_prev                   # steps at once
    dx = da @ cache.Wx.T                              # (N, D)
    dWx = cache.x.T @ da                              # (D, 4H)
    dWh = cache.h_prev.T @ da                         # (H, 4H)
    db = da.sum(axis=0)                               # (4H,)
    return dx, dh_prev, dc_prev, dWx, dWh, db


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b
                      ) -> tuple[np.ndarray, np.ndarray, LSTMStepCache]:
    """One LSTM step (the equations at the top of this module; ``torch.nn.LSTMCell``).

    Args:
        x: (N, D) inputs at this time step.
        h_prev: (N, H) previous hidden state.
        c_prev: (N, H) previous cell state.
        Wx: (D, 4H) input-to-hidden weights, blocks i, f, g, o.
        Wh: (H, 4H) hidden-to-hidden weights, blocks i, f, g, o.
        b: (4H,) biases.

    Returns:
        ``h`` (N, H), ``c`` (N, H) and the :class:`LSTMStepCache` for
        :func:`lstm_step_backward`.
    """
    where = "lstm_step_forward"
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, where)
    x = as_float_array(x, where, "x", ndim=2, finite=True)
    if x.shape[1] != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, D) = {x.shape} but Wx is (D, 4H) = {Wx.shape}; "
                         f"the D's must match")
    state = (x.shape[0], H)
    h_prev = check_shape(h_prev, state, where, "h_prev", axes="(N, H)", finite=True)
    c_prev = check_shape(c_prev, state, where, "c_prev", axes="(N, H)", finite=True)
    return _step(x, h_prev, c_prev, Wx, Wh, b)


def lstm_step_backward(dh, dc, cache: LSTMStepCache) -> tuple[np.ndarray, ...]:
    """Backward of :func:`lstm_step_forward`.

    Args:
        dh: (N, H) ∂L/∂h, the gradient arriving at this step's hidden state.
        dc: (N, H) ∂L/∂c from the next time step (zeros at the last step).
        cache: from :func:`lstm_step_forward`.

    Returns:
        ``dx`` (N, D), ``dh_prev`` (N, H), ``dc_prev`` (N, H), ``dWx`` (D, 4H),
        ``dWh`` (H, 4H), ``db`` (4H,).
    """
    if not isinstance(cache, LSTMStepCache):
        raise TypeError(f"lstm_step_backward: cache must be the LSTMStepCache returned by "
                        f"lstm_step_forward, got {type(cache).__name__}")
    shape = cache.h_prev.shape
    dh = check_grad_shape(dh, shape, "lstm_step_backward", "dh", allow_empty=True)
    dc = check_grad_shape(dc, shape, "lstm_step_backward", "dc", allow_empty=True)
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
        and the cache for :func:`lstm_backward` (a list of the T :class:`LSTMStepCache`;
        see :func:`lstm_gates` for the gate values it holds).
    """
    where = "lstm_forward"
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, where)
    x = as_float_array(x, where, "x", ndim=3, finite=True)
    N, T, D = x.shape
    if D != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, T, D) = {x.shape} but Wx is (D, 4H) = {Wx.shape}; "
                         f"the D's must match")
    h_t = check_shape(h0, (N, H), where, "h0", axes="(N, H)", finite=True)
    c_t = (np.zeros_like(h_t) if c0 is None
           else check_shape(c0, (N, H), where, "c0", axes="(N, H)", finite=True))
    dtype = np.result_type(x, h_t, c_t, Wx, Wh, b)
    h = np.empty((N, T, H), dtype=dtype)
    # The same arithmetic as _step, organised for speed (the results are identical, bit for bit):
    # 1. x_t Wx + b does not depend on the recurrence: one (N·T, D) @ (D, 4H) product for all
    #    T steps (as cuDNN does), instead of T small ones inside the loop; b is added in place
    #    (a second (N·T, 4H) array would be fresh memory from the system: slower than the GEMM).
    # 2. One tanh call for all four gates: σ(z) = ½ + ½ tanh(z/2), and the ½ inside is folded
    #    into the columns of Wx, Wh and b of the three σ gates (scaling by ½ is exact), so the
    #    step makes 9 whole-array operations on (N, 4H) and (N, H) arrays instead of 17.
    scale = np.full(4 * H, 0.5, dtype=dtype)
    scale[2 * H:3 * H] = 1.0                          # the candidate g is a plain tanh
    shift = (scale == 0.5).astype(dtype) / 2          # ½ + ½ tanh(·) for i, f, o; 0 for g
    Wh_half = Wh * scale
    xWx_b = x.reshape(N * T, D) @ (Wx * scale)
    xWx_b += b * scale
    xWx_b = xWx_b.reshape(N, T, 4 * H)
    caches = []
    for t in range(T):
        a = h_t @ Wh_half                             # (N, 4H) a/2 for i, f, o; a for g
        a += xWx_b[:, t]
        np.tanh(a, out=a)
        a *= scale                                    # i, f, o: ½ + ½ tanh(a/2) = σ(a)
        a += shift
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        c = f * c_t
        c += i * g                                    # c = f ⊙ c_prev + i ⊙ g
        tc = np.tanh(c)
        np.multiply(o, tc, out=h[:, t])               # h = o ⊙ tanh(c)
        caches.append(LSTMStepCache(x[:, t], h_t, c_t, Wx, Wh, i, f, g, o, tc))
        h_t, c_t = h[:, t], c
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
    first = check_step_caches(cache, LSTMStepCache, where, "lstm_forward")[0]
    (N, H), T, D = first.h_prev.shape, len(cache), first.x.shape[1]
    dh = check_grad_shape(dh, (N, T, H), where, "dh", allow_empty=True)
    dc = (np.zeros((N, H), dtype=dh.dtype) if dc_last is None
          else check_grad_shape(dc_last, (N, H), where, "dc_last", allow_empty=True))
    dtype = np.result_type(dh, first.x)
    da = np.empty((N, T, 4 * H), dtype=dtype)        # ∂L/∂a_t of every step
    dh_next = np.zeros((N, H), dtype=dtype)
    for t in reversed(range(T)):                      # only what feeds the recurrence
        da[:, t], dh_next, dc = _step_backward(dh[:, t] + dh_next, dc, cache[t],
                                               param_grads=False)
    # The same weights at every step: their gradients add up over time. Summed over t and n
    # at once, each is one large matrix product instead of T small ones.
    da = da.reshape(N * T, 4 * H)
    x = np.stack([step.x for step in cache], axis=1).reshape(N * T, D)
    h_prev = np.stack([step.h_prev for step in cache], axis=1).reshape(N * T, H)
    dx = (da @ first.Wx.T).reshape(N, T, D)           # (N, T, D)
    dWx, dWh, db = x.T @ da, h_prev.T @ da, da.sum(axis=0)   # (D, 4H), (H, 4H), (4H,)
    return dx, dh_next, dc, dWx, dWh, db


def lstm_gates(cache: list) -> dict[str, np.ndarray]:
    """The gate activations and cell states saved by :func:`lstm_forward`.

    Returns:
        ``{"input", "forget", "candidate", "output", "cell"}``, each (N, T, H); "cell" is the
        cell state c_t after each step.
    """
    check_step_caches(cache, LSTMStepCache, "lstm_gates", "lstm_forward")
    fields = {"input": "i", "forget": "f", "candidate": "g", "output": "o"}
    out = {name: np.stack([getattr(step, fields[name]) for step in cache], axis=1)
           for name in GATE_NAMES}
    out["cell"] = out["forget"] * np.stack([step.c_prev for step in cache], axis=1) \
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
    check_rng(rng, "init_lstm")
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
    Wx, Wh, b_ih, b_hh = torch_rnn_weights(weight_ih, weight_hh, bias_ih, bias_hh, n_gates=4,
                                           where="lstm_params_from_torch")
    return Wx, Wh, b_ih + b_hh
