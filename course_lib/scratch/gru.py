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
"""

from __future__ import annotations

import numpy as np

# The input checks are the LSTM module's: the same rules for both cells; σ is chapter 05's.
from course_lib.scratch.logistic import sigmoid
from course_lib.scratch.lstm import _check_grad, _check_state, _float
from course_lib.scratch.validate import check_int

__all__ = ["gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
           "gru_gates", "init_gru", "gru_params_from_torch", "GATE_NAMES"]

#: The order of the three blocks of ``Wx``, ``Wh``, ``bx`` and ``bh`` (torch's order).
GATE_NAMES = ("reset", "update", "candidate")


def _check_weights(Wx, Wh, bx, bh, where: str):
    """Validate (D, 3H), (H, 3H), (3H,), (3H,) and return them with H."""
    Wx, Wh = _float(Wx, where, "Wx", 2), _float(Wh, where, "Wh", 2)
    bx, bh = _float(bx, where, "bx", 1), _float(bh, where, "bh", 1)
    H = Wh.shape[0]
    if Wh.shape != (H, 3 * H):
        raise ValueError(f"{where}: Wh must be (H, 3H) with the blocks r, z, n side by side, "
                         f"got shape {Wh.shape}")
    if Wx.shape[1] != 3 * H:
        raise ValueError(f"{where}: Wx must be (D, 3H) = (D, {3 * H}) to match Wh {Wh.shape}, "
                         f"got {Wx.shape}")
    for name, v in (("bx", bx), ("bh", bh)):
        if v.shape != (3 * H,):
            raise ValueError(f"{where}: {name} must have shape ({3 * H},) to match Wh "
                             f"{Wh.shape}, got {v.shape}")
    return Wx, Wh, bx, bh, H


# ---------------------------------------------------------------------------------------------
# One time step
# ---------------------------------------------------------------------------------------------

def _step(x, h_prev, Wx, Wh, bx, bh):
    H = h_prev.shape[1]
    ax = x @ Wx + bx                                  # (N, 3H)
    ah = h_prev @ Wh + bh                             # (N, 3H)
    r = sigmoid(ax[:, :H] + ah[:, :H])                # (N, H) reset gate
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])      # (N, H) update gate
    ah_n = ah[:, 2 * H:]                              # (N, H)
    n = np.tanh(ax[:, 2 * H:] + r * ah_n)             # (N, H) candidate
    h = (1.0 - z) * n + z * h_prev                    # (N, H)
    return h, (x, h_prev, Wx, Wh, r, z, n, ah_n)


def _step_backward(dh, cache):
    x, h_prev, Wx, Wh, r, z, n, ah_n = cache
    dn = dh * (1.0 - z)                               # h = (1 − z) ⊙ n + z ⊙ h_prev
    dz = dh * (h_prev - n)
    dh_prev = dh * z                                  # the direct, gated path back in time
    dan = dn * (1.0 - n * n)                          # tanh' = 1 − tanh²
    dr = dan * ah_n                                   # n = tanh(ax_n + r ⊙ ah_n)
    dar = dr * r * (1.0 - r)                          # σ' = σ(1 − σ)
    daz = dz * z * (1.0 - z)
    dax = np.concatenate([dar, daz, dan], axis=1)     # (N, 3H)
    dah = np.concatenate([dar, daz, dan * r], axis=1)  # (N, 3H)
    dx = dax @ Wx.T                                   # (N, D)
    dh_prev = dh_prev + dah @ Wh.T                    # (N, H)
    dWx, dWh = x.T @ dax, h_prev.T @ dah              # (D, 3H), (H, 3H)
    dbx, dbh = dax.sum(axis=0), dah.sum(axis=0)       # (3H,), (3H,)
    return dx, dh_prev, dWx, dWh, dbx, dbh


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh) -> tuple[np.ndarray, tuple]:
    """One GRU step (the equations at the top of this module; ``torch.nn.GRUCell``).

    Args:
        x: (N, D) inputs at this time step.
        h_prev: (N, H) previous hidden state.
        Wx: (D, 3H) input-to-hidden weights, blocks r, z, n.
        Wh: (H, 3H) hidden-to-hidden weights, blocks r, z, n.
        bx, bh: (3H,) input and hidden biases.

    Returns:
        ``h`` (N, H) and the cache for :func:`gru_step_backward`.
    """
    where = "gru_step_forward"
    Wx, Wh, bx, bh, H = _check_weights(Wx, Wh, bx, bh, where)
    x = _float(x, where, "x", 2)
    if x.shape[1] != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, D) = {x.shape} but Wx is (D, 3H) = {Wx.shape}; "
                         f"the D's must match")
    h_prev = _check_state(h_prev, x.shape[0], H, where, "h_prev")
    return _step(x, h_prev, Wx, Wh, bx, bh)


def gru_step_backward(dh, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward of :func:`gru_step_forward`.

    Args:
        dh: (N, H) ∂L/∂h.
        cache: from :func:`gru_step_forward`.

    Returns:
        ``dx`` (N, D), ``dh_prev`` (N, H), ``dWx`` (D, 3H), ``dWh`` (H, 3H), ``dbx`` (3H,),
        ``dbh`` (3H,).
    """
    dh = _check_grad(dh, cache[1].shape, "gru_step_backward", "dh")
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
        the cache for :func:`gru_backward` (a list of the T step caches).
    """
    where = "gru_forward"
    Wx, Wh, bx, bh, H = _check_weights(Wx, Wh, bx, bh, where)
    x = _float(x, where, "x", 3)
    N, T, D = x.shape
    if D != Wx.shape[0]:
        raise ValueError(f"{where}: x is (N, T, D) = {x.shape} but Wx is (D, 3H) = {Wx.shape}; "
                         f"the D's must match")
    h_t = _check_state(h0, N, H, where, "h0")
    h = np.empty((N, T, H), dtype=np.result_type(x, h_t, Wx, Wh, bx, bh))
    caches = []
    for t in range(T):
        h_t, cache = _step(x[:, t], h_t, Wx, Wh, bx, bh)
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
    if not isinstance(cache, list) or not cache:
        raise TypeError(f"gru_backward: cache must be the list returned by gru_forward, "
                        f"got {type(cache).__name__}")
    x0, h_prev0, Wx, Wh = cache[0][:4]
    N, H, T, D = h_prev0.shape[0], h_prev0.shape[1], len(cache), x0.shape[1]
    dh = _check_grad(dh, (N, T, H), "gru_backward", "dh")
    dtype = np.result_type(dh, x0)
    dx = np.empty((N, T, D), dtype=dtype)
    dWx, dWh = np.zeros(Wx.shape, dtype=dtype), np.zeros(Wh.shape, dtype=dtype)
    dbx, dbh = np.zeros(3 * H, dtype=dtype), np.zeros(3 * H, dtype=dtype)
    dh_next = np.zeros((N, H), dtype=dtype)
    for t in reversed(range(T)):
        dx[:, t], dh_next, dWx_t, dWh_t, dbx_t, dbh_t = _step_backward(dh[:, t] + dh_next,
                                                                       cache[t])
        dWx += dWx_t
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    return dx, dh_next, dWx, dWh, dbx, dbh


def gru_gates(cache: list) -> dict[str, np.ndarray]:
    """The gate activations saved by :func:`gru_forward`: ``{"reset", "update", "candidate"}``,
    each (N, T, H)."""
    if not isinstance(cache, list) or not cache:
        raise TypeError(f"gru_gates: cache must be the list returned by gru_forward, "
                        f"got {type(cache).__name__}")
    return {name: np.stack([step[4 + k] for step in cache], axis=1)
            for k, name in enumerate(GATE_NAMES)}


def init_gru(D: int, H: int, rng: np.random.Generator,
             dtype=np.float64) -> dict[str, np.ndarray]:
    """Random GRU parameters ``{"Wx": (D, 3H), "Wh": (H, 3H), "bx": (3H,), "bh": (3H,)}``,
    all uniform in ±1/√H as torch's default."""
    D = check_int(D, "init_gru", "D", low=1)
    H = check_int(H, "init_gru", "H", low=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"init_gru: rng must be a numpy Generator (np.random.default_rng), "
                        f"got {type(rng).__name__}")
    k = 1.0 / np.sqrt(H)
    shapes = {"Wx": (D, 3 * H), "Wh": (H, 3 * H), "bx": (3 * H,), "bh": (3 * H,)}
    return {name: rng.uniform(-k, k, size=s).astype(dtype) for name, s in shapes.items()}


def gru_params_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Convert one layer of ``torch.nn.GRU`` weights (as NumPy arrays) to ``(Wx, Wh, bx, bh)``.

    ``Wx = weight_ihᵀ`` (D, 3H), ``Wh = weight_hhᵀ`` (H, 3H), ``bx = bias_ih``,
    ``bh = bias_hh`` (3H,) (zeros when None); torch's blocks are in the order r, z, n.
    """
    where = "gru_params_from_torch"
    W_ih, W_hh = _float(weight_ih, where, "weight_ih", 2), _float(weight_hh, where, "weight_hh", 2)
    H = W_hh.shape[1]
    if W_hh.shape != (3 * H, H) or W_ih.shape[0] != 3 * H:
        raise ValueError(f"{where}: weight_hh must be (3H, H) and weight_ih (3H, D), "
                         f"got {W_hh.shape} and {W_ih.shape}")
    biases = []
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        bias = np.zeros(3 * H, dtype=W_hh.dtype) if bias is None else _float(bias, where, name, 1)
        if bias.shape != (3 * H,):
            raise ValueError(f"{where}: {name} must be (3H,) = ({3 * H},), got {bias.shape}")
        biases.append(bias.copy())
    return W_ih.T.copy(), W_hh.T.copy(), biases[0], biases[1]
