"""A vanilla recurrent network in NumPy: forward over time, backpropagation through time (BPTT).

The Elman cell (Elman, "Finding structure in time", Cognitive Science 1990) with tanh:

    h_t = tanh(x_t W_x + h_{t-1} W_h + b)          x_t (N, D), h_t (N, H)

Every piece is a CS231n-style pair, ``out, cache = *_forward(...)`` and
``grads = *_backward(dout, cache)``:

1. ``rnn_step_forward`` / ``rnn_step_backward``: one time step.
2. ``rnn_forward`` / ``rnn_backward``: the step unrolled over T steps; the backward walks the
   steps in reverse and adds the gradient flowing back through ``h_{t-1}`` to the one arriving
   from the loss at that step: backpropagation through time (Werbos, "Backpropagation through
   time: what it does and how to do it", Proc. IEEE 1990).
3. ``temporal_affine_*`` and ``temporal_softmax_loss``: the output layer and the
   cross-entropy applied at every step, for a language model.
4. ``hidden_jacobian_norms``: ‖∂h_T/∂h_{T-k}‖ for k = 0..T, to *measure* vanishing and
   exploding gradients (Bengio, Simard & Frasconi, IEEE Trans. Neural Networks 1994;
   Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks",
   ICML 2013).
5. ``clip_grad_norm``: rescale all gradients together when their global norm is too large
   (Pascanu et al. 2013), as ``torch.nn.utils.clip_grad_norm_``.
6. ``rnn_params_from_torch``: PyTorch's weight layout to ours.

Layout: batch first, ``x`` is (N, T, D) and the hidden states ``h`` are (N, T, H), as
``torch.nn.RNN(..., batch_first=True)``. Weights multiply from the right (``x @ W_x`` with
W_x (D, H)); PyTorch stores the transposes, ``weight_ih_l0`` (H, D) and ``weight_hh_l0``
(H, H), and two biases whose sum is our ``b``. A gated cell (LSTM, GRU) follows the same
pattern: a step forward/backward pair with a cache, and a loop over time around it.

All functions compute in the dtype of their inputs; use float64 for gradient checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from course_lib.scratch.information import log_softmax, softmax
from course_lib.scratch.validate import as_array, check_finite, check_positive

__all__ = [
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
    "hidden_jacobian_norms", "clip_grad_norm", "global_norm", "rnn_params_from_torch",
]


def _floats(x, where: str, name: str, ndim: int | None = None) -> np.ndarray:
    """An array of floats (ints become float64) with ``ndim`` dimensions."""
    arr = as_array(x, where, name, ndim=ndim, dtype_kind="fiu")
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _check_weights(Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, D: int, where: str) -> int:
    """Check W_x (D, H), W_h (H, H), b (H,) against the input size D; return H."""
    H = Wh.shape[0]
    if Wh.shape != (H, H):
        raise ValueError(f"{where}: Wh must be square (H, H), got shape {Wh.shape}")
    if Wx.shape != (D, H):
        raise ValueError(f"{where}: Wx must be (D, H) = ({D}, {H}) to match x and Wh, "
                         f"got {Wx.shape}")
    if b.shape != (H,):
        raise ValueError(f"{where}: b must be (H,) = ({H},), got {b.shape}")
    return H


def _check_dout(dout, shape: tuple, where: str, name: str = "dout") -> np.ndarray:
    dout = _floats(dout, where, name)
    if dout.shape != tuple(shape):
        raise ValueError(f"{where}: {name} must have the shape of the forward output "
                         f"{tuple(shape)}, got {dout.shape}")
    return dout


# ---------------------------------------------------------------------------------------------
# 1. One time step
# ---------------------------------------------------------------------------------------------

def rnn_step_forward(x, h_prev, Wx, Wh, b) -> tuple[np.ndarray, tuple]:
    """One step of a tanh RNN: ``h_next = tanh(x Wx + h_prev Wh + b)``.

    Args:
        x: (N, D) inputs at this step.
        h_prev: (N, H) previous hidden state.
        Wx: (D, H) input-to-hidden weights.
        Wh: (H, H) hidden-to-hidden (recurrent) weights.
        b: (H,) bias.

    Returns:
        ``h_next`` (N, H) and ``cache = (x, h_prev, Wx, Wh, h_next)`` for the backward pass.
    """
    where = "rnn_step_forward"
    x = _floats(x, where, "x", ndim=2)
    h_prev = _floats(h_prev, where, "h_prev", ndim=2)
    Wx, Wh = _floats(Wx, where, "Wx", ndim=2), _floats(Wh, where, "Wh", ndim=2)
    b = _floats(b, where, "b", ndim=1)
    H = _check_weights(Wx, Wh, b, x.shape[1], where)
    if h_prev.shape != (x.shape[0], H):
        raise ValueError(f"{where}: h_prev must be (N, H) = ({x.shape[0]}, {H}), "
                         f"got {h_prev.shape}")
    a = x @ Wx + h_prev @ Wh + b                      # (N, H) pre-activation
    h_next = np.tanh(a)                               # (N, H)
    return h_next, (x, h_prev, Wx, Wh, h_next)


def rnn_step_backward(dh_next, cache: tuple) -> tuple[np.ndarray, ...]:
    """Backward of :func:`rnn_step_forward`.

    With ``a = x Wx + h_prev Wh + b`` and ``h = tanh(a)``: ``da = dh (1 − h²)``, then
    ``dx = da Wxᵀ``, ``dh_prev = da Whᵀ``, ``dWx = xᵀ da``, ``dWh = h_prevᵀ da``,
    ``db = Σ_n da[n]``.

    Args:
        dh_next: (N, H) upstream gradient ∂L/∂h_next.
        cache: from the forward pass.

    Returns:
        ``dx`` (N, D), ``dh_prev`` (N, H), ``dWx`` (D, H), ``dWh`` (H, H), ``db`` (H,).
    """
    x, h_prev, Wx, Wh, h_next = cache
    dh_next = _check_dout(dh_next, h_next.shape, "rnn_step_backward", "dh_next")
    da = dh_next * (1.0 - h_next**2)                  # (N, H) through tanh
    dx = da @ Wx.T                                    # (N, H) (H, D) -> (N, D)
    dh_prev = da @ Wh.T                               # (N, H) (H, H) -> (N, H)
    dWx = x.T @ da                                    # (D, N) (N, H) -> (D, H)
    dWh = h_prev.T @ da                               # (H, N) (N, H) -> (H, H)
    db = da.sum(axis=0)                               # (H,)
    return dx, dh_prev, dWx, dWh, db


# ---------------------------------------------------------------------------------------------
# 2. Unrolled over time
# ---------------------------------------------------------------------------------------------

def rnn_forward(x, h0, Wx, Wh, b) -> tuple[np.ndarray, list]:
    """Run the tanh RNN over a whole sequence.

    Args:
        x: (N, T, D) inputs, batch first.
        h0: (N, H) initial hidden state (zeros in ``torch.nn.RNN`` when none is given).
        Wx: (D, H), Wh: (H, H), b: (H,) as in :func:`rnn_step_forward`; the same weights
            at every step (weight sharing across time).

    Returns:
        ``h`` (N, T, H), the hidden state after every step (``h[:, -1]`` is the final state
        h_T), and ``cache``, the list of the T step caches.
    """
    where = "rnn_forward"
    x = _floats(x, where, "x", ndim=3)
    h0 = _floats(h0, where, "h0", ndim=2)
    N, T, D = x.shape
    h_prev, h, cache = h0, [], []
    for t in range(T):
        h_prev, step_cache = rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)   # (N, H)
        h.append(h_prev)
        cache.append(step_cache)
    return np.stack(h, axis=1), cache                 # (N, T, H)


def rnn_backward(dh, cache: list) -> tuple[np.ndarray, ...]:
    """Backpropagation through time for :func:`rnn_forward`.

    ``dh[:, t]`` is the gradient of the loss with respect to ``h_t`` *from the outputs at step
    t only*; the gradient through ``h_{t}``'s later use in step t+1 is added here, walking
    backwards: ``dh_total_t = dh[:, t] + dh_prev from step t+1``. The weight gradients are the
    sums over time of the per-step ones (the weights are shared).

    Args:
        dh: (N, T, H) upstream gradients (a loss on the final state only has zeros except at
            ``dh[:, -1]``).
        cache: from the forward pass.

    Returns:
        ``dx`` (N, T, D), ``dh0`` (N, H), ``dWx`` (D, H), ``dWh`` (H, H), ``db`` (H,).
    """
    if not isinstance(cache, list) or not cache:
        raise TypeError("rnn_backward: cache must be the non-empty list returned by rnn_forward")
    x0, _, Wx, Wh, h1 = cache[0]
    N, H, T, D = h1.shape[0], h1.shape[1], len(cache), x0.shape[1]
    dh = _check_dout(dh, (N, T, H), "rnn_backward", "dh")
    dx = np.zeros((N, T, D), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H, dtype=Wh.dtype)
    dh_prev = np.zeros((N, H), dtype=dh.dtype)        # nothing flows back from step T+1
    for t in reversed(range(T)):
        dx[:, t], dh_prev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dh_prev, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dh_prev, dWx, dWh, db


# ---------------------------------------------------------------------------------------------
# 3. Output layer and loss at every step (language models)
# ---------------------------------------------------------------------------------------------

def temporal_affine_forward(h, W, b) -> tuple[np.ndarray, tuple]:
    """The same affine map at every time step: ``scores[:, t] = h[:, t] W + b``.

    Args:
        h: (N, T, H) hidden states. W: (H, V). b: (V,).

    Returns:
        ``scores`` (N, T, V) and ``cache = (h, W)``.
    """
    where = "temporal_affine_forward"
    h = _floats(h, where, "h", ndim=3)
    W, b = _floats(W, where, "W", ndim=2), _floats(b, where, "b", ndim=1)
    if W.shape[0] != h.shape[2] or b.shape != (W.shape[1],):
        raise ValueError(f"{where}: h (N, T, H) = {h.shape} needs W (H, V) and b (V,), "
                         f"got W {W.shape} and b {b.shape}")
    return h @ W + b, (h, W)                          # (N, T, V)


def temporal_affine_backward(dscores, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`temporal_affine_forward`.

    Returns:
        ``dh`` (N, T, H), ``dW`` (H, V) (summed over batch and time), ``db`` (V,).
    """
    h, W = cache
    dscores = _check_dout(dscores, h.shape[:2] + (W.shape[1],), "temporal_affine_backward",
                          "dscores")
    dh = dscores @ W.T                                # (N, T, V) (V, H) -> (N, T, H)
    dW = np.einsum("nth,ntv->hv", h, dscores)         # (H, V)
    db = dscores.sum(axis=(0, 1))                     # (V,)
    return dh, dW, db


def temporal_softmax_loss(scores, y) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over every (sequence, step): ``L = −mean_{n,t} log softmax(s_nt)[y_nt]``.

    Equals ``F.cross_entropy(scores.reshape(-1, V), y.reshape(-1))``; ``exp(L)`` is the
    perplexity on these targets.

    Args:
        scores: (N, T, V) logits. y: (N, T) integer targets in [0, V).

    Returns:
        ``loss`` (float) and ``dscores`` (N, T, V) = (softmax − one-hot) / (N T).
    """
    where = "temporal_softmax_loss"
    s = _floats(scores, where, "scores", ndim=3)
    check_finite(s, where, "scores")
    y = as_array(y, where, "y", ndim=2, dtype_kind="iu")
    N, T, V = s.shape
    if y.shape != (N, T):
        raise ValueError(f"{where}: y must be (N, T) = ({N}, {T}) like scores, got {y.shape}")
    if y.min() < 0 or y.max() >= V:
        raise ValueError(f"{where}: targets must be in [0, {V - 1}], got {y.min()}..{y.max()}")
    n, t = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")        # (N, T) each
    loss = -float(np.mean(log_softmax(s, axis=-1)[n, t, y]))
    ds = softmax(s, axis=-1).astype(s.dtype, copy=True)                  # (N, T, V)
    ds[n, t, y] -= 1.0
    return loss, ds / (N * T)


# ---------------------------------------------------------------------------------------------
# 4. Measuring vanishing / exploding gradients
# ---------------------------------------------------------------------------------------------

def hidden_jacobian_norms(h, Wh) -> np.ndarray:
    """Spectral norms of ``∂h_T/∂h_{T−k}`` for k = 0, 1, ..., T (k = T is the initial state).

    One step has the Jacobian ``∂h_s/∂h_{s−1} = diag(1 − h_s²) W_hᵀ`` (entry [i, j] is
    ∂h_s[i]/∂h_{s−1}[j]), so by the chain rule

        ∂h_T/∂h_{T−k} = J_T J_{T−1} ··· J_{T−k+1},     J_s = diag(1 − h_s²) W_hᵀ.

    A product of k such matrices shrinks or grows roughly geometrically in k: vanishing
    gradients when the factors' norms are below 1, exploding ones when above.

    Args:
        h: (N, T, H) hidden states from :func:`rnn_forward`.
        Wh: (H, H) the recurrent weights used to produce them.

    Returns:
        (N, T + 1) float64 array; column k is ‖∂h_T/∂h_{T−k}‖₂ (the largest singular value)
        for each sequence. Column 0 is 1 (the identity).
    """
    where = "hidden_jacobian_norms"
    h = _floats(h, where, "h", ndim=3).astype(np.float64, copy=False)
    Wh = _floats(Wh, where, "Wh", ndim=2).astype(np.float64, copy=False)
    N, T, H = h.shape
    if Wh.shape != (H, H):
        raise ValueError(f"{where}: Wh must be (H, H) = ({H}, {H}) to match h {h.shape}, "
                         f"got {Wh.shape}")
    J = np.broadcast_to(np.eye(H), (N, H, H)).copy()  # (N, H, H) ∂h_T/∂h_T
    norms = np.ones((N, T + 1))
    for k in range(1, T + 1):
        s = T - k                                     # index of h_{T-k+1} in h[:, s]
        J = J @ ((1.0 - h[:, s] ** 2)[:, :, None] * Wh.T)     # (N, H, H) times J_{T-k+1}
        norms[:, k] = np.linalg.norm(J, ord=2, axis=(1, 2))
    return norms


# ---------------------------------------------------------------------------------------------
# 5. Gradient clipping by global norm
# ---------------------------------------------------------------------------------------------

def _grad_list(grads, where: str) -> tuple[list, list[np.ndarray]]:
    if isinstance(grads, np.ndarray) or not isinstance(grads, (Mapping, Sequence)) \
            or isinstance(grads, str):
        raise TypeError(f"{where}: grads must be a list/tuple or dict of arrays, "
                        f"got {type(grads).__name__}")
    keys = list(grads) if isinstance(grads, Mapping) else list(range(len(grads)))
    if not keys:
        raise ValueError(f"{where}: grads must hold at least one array, got none")
    arrays = [_floats(grads[k], where, f"grads[{k!r}]") for k in keys]
    for k, g in zip(keys, arrays, strict=True):
        check_finite(g, where, f"grads[{k!r}]")
    return keys, arrays


def global_norm(grads) -> float:
    """``‖g‖ = sqrt(Σ_i ‖g_i‖²)``: the Euclidean norm of all gradients seen as one long vector.

    Args:
        grads: a list/tuple or dict of arrays of any shapes.
    """
    _, arrays = _grad_list(grads, "global_norm")
    return _norm(arrays)


def _norm(arrays: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in arrays)))


def clip_grad_norm(grads, max_norm: float, eps: float = 1e-6):
    """Rescale all gradients by one factor so that their global norm is at most ``max_norm``.

    ``g_i ← g_i · min(1, max_norm / (‖g‖ + eps))``: the direction of the whole update is kept,
    only its length is capped (Pascanu et al. 2013). ``eps = 1e-6`` as in
    ``torch.nn.utils.clip_grad_norm_``, which this matches (it changes the tensors in place;
    this returns new arrays).

    Args:
        grads: a list/tuple or dict of arrays (finite; a NaN or inf cannot be clipped away).
        max_norm: the largest allowed global norm (> 0).
        eps: added to the norm before dividing (≥ 0).

    Returns:
        ``(clipped, total_norm)``: the rescaled gradients in a container of the same kind
        (list for a list or tuple, dict for a dict) and the global norm *before* clipping.
    """
    where = "clip_grad_norm"
    keys, arrays = _grad_list(grads, where)
    max_norm = check_positive(max_norm, where, "max_norm")
    eps = check_positive(eps, where, "eps", allow_zero=True)
    total = _norm(arrays)
    coef = min(1.0, max_norm / (total + eps))
    clipped = [g * coef for g in arrays]
    if isinstance(grads, Mapping):
        return dict(zip(keys, clipped, strict=True)), total
    return clipped, total


# ---------------------------------------------------------------------------------------------
# 6. PyTorch's layout
# ---------------------------------------------------------------------------------------------

def rnn_params_from_torch(weight_ih, weight_hh, bias_ih=None, bias_hh=None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert one layer of ``torch.nn.RNN`` weights (as NumPy arrays) to ``(Wx, Wh, b)``.

    PyTorch computes ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)``, so
    ``Wx = W_ihᵀ`` (D, H), ``Wh = W_hhᵀ`` (H, H) and ``b = b_ih + b_hh`` (H,).

    Args:
        weight_ih: (H, D), e.g. ``rnn.weight_ih_l0.detach().numpy()``.
        weight_hh: (H, H).
        bias_ih, bias_hh: (H,) each, or None for a layer built with ``bias=False``.
    """
    where = "rnn_params_from_torch"
    W_ih = _floats(weight_ih, where, "weight_ih", ndim=2)
    W_hh = _floats(weight_hh, where, "weight_hh", ndim=2)
    H = W_hh.shape[0]
    if W_hh.shape != (H, H) or W_ih.shape[0] != H:
        raise ValueError(f"{where}: weight_hh must be (H, H) and weight_ih (H, D), "
                         f"got {W_hh.shape} and {W_ih.shape}")
    b = np.zeros(H, dtype=W_hh.dtype)
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is not None:
            bias = _floats(bias, where, name, ndim=1)
            if bias.shape != (H,):
                raise ValueError(f"{where}: {name} must be (H,) = ({H},), got {bias.shape}")
            b = b + bias
    return W_ih.T.copy(), W_hh.T.copy(), b
