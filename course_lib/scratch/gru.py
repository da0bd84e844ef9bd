"""The gated recurrent unit (GRU) cell and layer, forward and backward (NumPy only).

Cho et al., "Learning phrase representations using RNN encoder-decoder for statistical
machine translation", EMNLP 2014. With the gate order and bias convention of ``torch.nn.GRU``
(r, z, n), one step is

    ax = x Wx + bx                       (N, 3H)   input part of the three pre-activations
    ah = h_prev Wh + bh                  (N, 3H)   hidden part
    r = σ(ax_r + ah_r)                   reset gate: how much of the past enters the candidate
    z = σ(ax_z + ah_z)                   update gate: how much of the old state to keep
    n = tanh(ax_n + r ⊙ ah_n)            candidate state
    h = (1 − z) ⊙ n + z ⊙ h_prev         a gated average of candidate and old state

Two details follow torch (and cuDNN) rather than the paper: the reset gate multiplies
``h_prev Wh_n + bh_n`` (the paper puts it before the product, ``(r ⊙ h_prev) Wh_n``), and so
there are two bias vectors, because ``bh_n`` sits inside the product with r and cannot be
merged with ``bx_n``. ``Wx`` (D, 3H), ``Wh`` (H, 3H) are the transposes of torch's
``weight_ih_l0`` (3H, D) and ``weight_hh_l0`` (3H, H); ``bx``, ``bh`` are ``bias_ih_l0`` and
``bias_hh_l0``.

CS231n layout, as :mod:`course_lib.scratch.lstm`: forwards return ``(outputs, cache)``,
backwards take the upstream gradients and the cache. Use float64 for gradient checks.

Speed, as in :mod:`course_lib.scratch.lstm`: :func:`gru_forward` computes ``x_t Wx + bx`` of all
T steps in one matrix product before the recurrence, and :func:`gru_backward` computes ``dx``,
``dWx``, ``dWh``, ``dbx`` and ``dbh`` of all steps in one product each after it.
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

__all__ = ["GRUStepCache", "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
           "gru_gates", "init_gru", "gru_params_from_torch", "GATE_NAMES"]

#: The order of the three blocks of ``Wx``, ``Wh``, ``bx`` and ``bh`` (torch's order).
GATE_NAMES = ("reset", "update", "candidate")


@dataclass(frozen=True, eq=False)
class GRUStepCache:
    """What one GRU step keeps for its backward pass: the inputs ``x`` (N, D) and ``h_prev``
    (N, H), the weights ``Wx`` (D, 3H) and ``Wh`` (H, 3H), the gates ``r``, ``z``, the
    candidate ``n`` and ``ah_n`` = h_prev Wh_n + bh_n (all (N, H))."""

    x: np.ndarray
    h_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    r: np.ndarray
    z: np.ndarray
    n: np.ndarray
    ah_n: np.ndarray


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = (1 + tanh(z/2)) / 2: the same function, never overflows, and keeps z's dtype
    (``functional.sigmoid`` returns float64, which would turn a float32 layer into float64)."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def _check_weights(Wx, Wh, bx, bh, where: str):
    """Validate (D, 3H), (H, 3H), (3H,), (3H,) and return them with H."""
    Wx, Wh, (bx, bh), H = check_gate_weights(Wx, Wh, {"bx": bx, "bh": bh}, ("r", "z", "n"),
                                             where)
    return Wx, Wh, bx, bh, H


# ---------------------------------------------------------------------------------------------
# One time step
# ---------------------------------------------------------------------------------------------

def _step(x, h_prev, Wx, Wh, bx, bh, ax=None):
    H = h_prev.shape[1]
    if ax is None:                                    # gru_forward passes it precomputed
        ax = x @ Wx + bx                              # (N, 3H)
    ah = h_prev @ Wh + bh                             # (N, 3H)
    rz = _sigmoid(ax[:, :2 * H] + ah[:, :2 * H])      # (N, 2H) both gates at once
    r, z = rz[:, :H], rz[:, H:]                       # (N, H) reset and update gates
    ah_n = ah[:, 2 * H:]                              # (N, H)
    n = np.tanh(ax[:, 2 * H:] + r * ah_n)             # (N, H) candidate
    h = (1.0 - z) * n + z * h_prev                    # (N, H)
    return h, GRUStepCache(x, h_prev, Wx, Wh, r, z, n, ah_n)


def _step_backward(dh, cache: GRUStepCache, param_grads: bool = True):
    r, z, n = cache.r, cache.z, cache.n
    dn = dh * (1.0 - z)                               # h = (1 − z) ⊙ n + z ⊙ h_prev
    dz = dh * (cache.h_prev - n)
    dh_prev = dh * z                                  # the direct, gated path back in time
    dan = dn * (1.0 - n * n)                          # tanh' = 1 − tanh²
    dr = dan * cache.ah_n                             # n = tanh(ax_n + r ⊙ ah_n)
    dar = dr * r * (1.0 - r)                          # σ' = σ(1 − σ)
    daz = dz * z * (1.0 - z)
    dax = np.concatenate([dar, daz, dan], axis=1)     # (N, 3H)
    dah = np.concatenate([dar, daz, dan * r], axis=1)  # (N, 3H)
    dh_prev = dh_prev + dah @ cache.Wh.T              # (N, H)
    if not param_grads:                               # gru_backward does the rest for all
        return dax, dah, dh_prev                      # steps at once
    dx = dax @ cache.Wx.T                             # (N, D)
    dWx, dWh = cache.x.T @ dax, cache.h_prev.T @ dah  # (D, 3H), (H, 3H)
    dbx, dbh = dax.sum(axis=0), dah.sum(axis=0)       # (3H,), (3H,)
    return dx, dh_prev, dWx, dWh, dbx, dbh


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh) -> tuple[np.ndarray, GRUStepCache]:
    """One GRU step (the equations at the top of this module; ``torch.nn.GRUCell``).

    Args:
        x: (N, D) inputs at this time step.
        h_prev: (N, H) previous hidden state.
        Wx: (D, 3H) input-to-hidden weights, blocks r, z, n.
        Wh: (H, 3H) hidden-to-hidden weights, blocks r, z, n.
        bx, bh: (3H,) input and hidden biases.

    Returns:
        ``h`` (N, H) and the :class:`GRUStepCache` for :func:`gru_step_backward`.
    """
    where = "gru_step_forward"
    Wx, Wh, bx, bh, H = _check_weights(Wx, Wh, bx, bh, where)
    x = as_float_array(x, where, "x", ndim=2, finite=True)
    if x.shape[1] != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, D) = {x.shape} but Wx is (D, 3H) = {Wx.shape}; "
                         f"the D's must match")
    h_prev = check_shape(h_prev, (x.shape[0], H), where, "h_prev", axes="(N, H)", finite=True)
    return _step(x, h_prev, Wx, Wh, bx, bh)


def gru_step_backward(dh, cache: GRUStepCache) -> tuple[np.ndarray, ...]:
    """Backward of :func:`gru_step_forward`.

    Args:
        dh: (N, H) ∂L/∂h.
        cache: from :func:`gru_step_forward`.

    Returns:
        ``dx`` (N, D), ``dh_prev`` (N, H), ``dWx`` (D, 3H), ``dWh`` (H, 3H), ``dbx`` (3H,),
        ``dbh`` (3H,).
    """
    if not isinstance(cache, GRUStepCache):
        raise TypeError(f"gru_step_backward: cache must be the GRUStepCache returned by "
                        f"gru_step_forward, got {type(cache).__name__}")
    dh = check_grad_shape(dh, cache.h_prev.shape, "gru_step_backward", "dh", allow_empty=True)
    return _step_backward(dh, cache)


# ---------------------------------------------------------------------------------------------
# A whole sequence
# ---------------------------------------------------------------------------------------------

def gru_forward(x, h0, Wx, Wh, bx, bh) -> tuple[np.ndarray, list]:
    """A GRU layer run over a batch of sequences (``torch.nn.GRU(batch_first=True)``).

    Args:
        x: (N, T, D) input sequences.
        h0: (N, H) initial hidden state.
        Wx, Wh, bx, bh: as in :func:`gru_step_forward`.

    Returns:
        ``h`` (N, T, H), the hidden state at every step (``h[:, -1]`` is torch's ``h_n``), and
        the cache for :func:`gru_backward` (a list of the T :class:`GRUStepCache`).
    """
    where = "gru_forward"
    Wx, Wh, bx, bh, H = _check_weights(Wx, Wh, bx, bh, where)
    x = as_float_array(x, where, "x", ndim=3, finite=True)
    N, T, D = x.shape
    if D != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, T, D) = {x.shape} but Wx is (D, 3H) = {Wx.shape}; "
                         f"the D's must match")
    h_t = check_shape(h0, (N, H), where, "h0", axes="(N, H)", finite=True)
    h = np.empty((N, T, H), dtype=np.result_type(x, h_t, Wx, Wh, bx, bh))
    # x_t Wx + bx does not depend on the recurrence: one (N·T, D) @ (D, 3H) product for all
    # T steps (as cuDNN does), instead of T small ones inside the loop; bx is added in place
    # (a second (N·T, 3H) array would be fresh memory from the system: slower than the GEMM).
    ax = x.reshape(N * T, D) @ Wx
    ax += bx
    ax = ax.reshape(N, T, 3 * H)
    caches = []
    for t in range(T):
        h_t, cache = _step(x[:, t], h_t, Wx, Wh, bx, bh, ax[:, t])
        h[:, t] = h_t
        caches.append(cache)
    return h, caches


def gru_backward(dh, cache: list) -> tuple[np.ndarray, ...]:
    """Backpropagation through time for :func:`gru_forward`.

    Args:
        dh: (N, T, H) ∂L/∂h for every step's hidden state.
        cache: from :func:`gru_forward`.

    Returns:
        ``dx`` (N, T, D), ``dh0`` (N, H), ``dWx`` (D, 3H), ``dWh`` (H, 3H), ``dbx`` (3H,),
        ``dbh`` (3H,).
    """
    first = check_step_caches(cache, GRUStepCache, "gru_backward", "gru_forward")[0]
    (N, H), T, D = first.h_prev.shape, len(cache), first.x.shape[1]
    dh = check_grad_shape(dh, (N, T, H), "gru_backward", "dh", allow_empty=True)
    dtype = np.result_type(dh, first.x)
    dax = np.empty((N, T, 3 * H), dtype=dtype)       # ∂L/∂(x_t Wx + bx) of every step
    dah = np.empty((N, T, 3 * H), dtype=dtype)       # ∂L/∂(h_{t-1} Wh + bh)
    dh_next = np.zeros((N, H), dtype=dtype)
    for t in reversed(range(T)):                      # only what feeds the recurrence
        dax[:, t], dah[:, t], dh_next = _step_backward(dh[:, t] + dh_next, cache[t],
                                                       param_grads=False)
    # The weight gradients summed over t and n at once: one large product each.
    dax, dah = dax.reshape(N * T, 3 * H), dah.reshape(N * T, 3 * H)
    x = np.stack([step.x for step in cache], axis=1).reshape(N * T, D)
    h_prev = np.stack([step.h_prev for step in cache], axis=1).reshape(N * T, H)
    dx = (dax @ first.Wx.T).reshape(N, T, D)          # (N, T, D)
    dWx, dWh = x.T @ dax, h_prev.T @ dah              # (D, 3H), (H, 3H)
    return dx, dh_next, dWx, dWh, dax.sum(axis=0), dah.sum(axis=0)


def gru_gates(cache: list) -> dict[str, np.ndarray]:
    """The gate activations saved by :func:`gru_forward`: ``{"reset", "update", "candidate"}``,
    each (N, T, H)."""
    check_step_caches(cache, GRUStepCache, "gru_gates", "gru_forward")
    fields = {"reset": "r", "update": "z", "candidate": "n"}
    return {name: np.stack([getattr(step, fields[name]) for step in cache], axis=1)
            for name in GATE_NAMES}


def init_gru(D: int, H: int, rng: np.random.Generator,
             dtype=np.float64) -> dict[str, np.ndarray]:
    """Random GRU parameters ``{"Wx": (D, 3H), "Wh": (H, 3H), "bx": (3H,), "bh": (3H,)}``,
    all uniform in ±1/√H as torch's default."""
    D = check_int(D, "init_gru", "D", low=1)
    H = check_int(H, "init_gru", "H", low=1)
    check_rng(rng, "init_gru")
    k = 1.0 / np.sqrt(H)
    shapes = {"Wx": (D, 3 * H), "Wh": (H, 3 * H), "bx": (3 * H,), "bh": (3 * H,)}
    return {name: rng.uniform(-k, k, size=s).astype(dtype) for name, s in shapes.items()}


def gru_params_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Convert one layer of ``torch.nn.GRU`` weights (as NumPy arrays) to ``(Wx, Wh, bx, bh)``.

    ``Wx = weight_ihᵀ`` (D, 3H), ``Wh = weight_hhᵀ`` (H, 3H), ``bx = bias_ih``,
    ``bh = bias_hh`` (3H,) (zeros when None); torch's blocks are in the order r, z, n.
    """
    return torch_rnn_weights(weight_ih, weight_hh, bias_ih, bias_hh, n_gates=3,
                             where="gru_params_from_torch")
