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
6. ``rnn_params_from_torch``: PyTorch's weight layout to ours (``torch_rnn_weights`` does it
   for any recurrent layer, and serves the LSTM and GRU modules too).

Layout: batch first, ``x`` is (N, T, D) and the hidden states ``h`` are (N, T, H), as
``torch.nn.RNN(..., batch_first=True)``. Weights multiply from the right (``x @ W_x`` with
W_x (D, H)); PyTorch stores the transposes, ``weight_ih_l0`` (H, D) and ``weight_hh_l0``
(H, H), and two biases whose sum is our ``b``. A gated cell (LSTM, GRU) follows the same
pattern: a step forward/backward pair with a cache, and a loop over time around it.

All functions compute in the dtype of their inputs; use float64 for gradient checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.functional import log_softmax, softmax
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    check_grad_shape,
    check_int,
    check_positive,
    check_step_caches,
)

__all__ = [
    "RNNStepCache", "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
    "hidden_jacobian_norms", "clip_grad_norm", "global_norm", "torch_rnn_weights",
    "rnn_params_from_torch",
]


@dataclass(frozen=True, eq=False)
class RNNStepCache:
    """What :func:`rnn_step_forward` keeps for :func:`rnn_step_backward`: the step's inputs
    ``x`` (N, D) and ``h_prev`` (N, H), the weights ``Wx`` (D, H) and ``Wh`` (H, H), and its
    output ``h_next`` (N, H) (tanh' = 1 − h_next² needs nothing else)."""

    x: np.ndarray
    h_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    h_next: np.ndarray


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


# ---------------------------------------------------------------------------------------------
# 1. One time step
# ---------------------------------------------------------------------------------------------

def rnn_step_forward(x, h_prev, Wx, Wh, b) -> tuple[np.ndarray, RNNStepCache]:
    """One step of a tanh RNN: ``h_next = tanh(x Wx + h_prev Wh + b)``.

    Args:
        x: (N, D) inputs at this step.
        h_prev: (N, H) previous hidden state.
        Wx: (D, H) input-to-hidden weights.
        Wh: (H, H) hidden-to-hidden (recurrent) weights.
        b: (H,) bias.

    Returns:
        ``h_next`` (N, H) and an :class:`RNNStepCache` for the backward pass.
    """
    where = "rnn_step_forward"
    x = as_float_array(x, where, "x", ndim=2)
    h_prev = as_float_array(h_prev, where, "h_prev", ndim=2)
    Wx, Wh = as_float_array(Wx, where, "Wx", ndim=2), as_float_array(Wh, where, "Wh", ndim=2)
    b = as_float_array(b, where, "b", ndim=1)
    H = _check_weights(Wx, Wh, b, x.shape[1], where)
    if h_prev.shape != (x.shape[0], H):
        raise ValueError(f"{where}: h_prev must be (N, H) = ({x.shape[0]}, {H}), "
                         f"got {h_prev.shape}")
    a = x @ Wx + h_prev @ Wh + b                      # (N, H) pre-activation
    h_next = np.tanh(a)                               # (N, H)
    return h_next, RNNStepCache(x, h_prev, Wx, Wh, h_next)


def rnn_step_backward(dh_next, cache: RNNStepCache) -> tuple[np.ndarray, ...]:
    """Backward of :func:`rnn_step_forward`.

    With ``a = x Wx + h_prev Wh + b`` and ``h = tanh(a)``: ``da = dh (1 − h²)``, then
    ``dx = da Wxᵀ``, ``dh_prev = da Whᵀ``, ``dWx = xᵀ da``, ``dWh = h_prevᵀ da``,
    ``db = Σ_n da[n]``.

    Args:
        dh_next: (N, H) upstream gradient ∂L/∂h_next.
        cache: the :class:`RNNStepCache` of the forward pass.

    Returns:
        ``dx`` (N, D), ``dh_prev`` (N, H), ``dWx`` (D, H), ``dWh`` (H, H), ``db`` (H,).
    """
    if not isinstance(cache, RNNStepCache):
        raise TypeError(f"rnn_step_backward: cache must be the RNNStepCache returned by "
                        f"rnn_step_forward, got {type(cache).__name__}")
    dh_next = check_grad_shape(dh_next, cache.h_next.shape, "rnn_step_backward", "dh_next")
    da = dh_next * (1.0 - cache.h_next**2)            # (N, H) through tanh
    dx = da @ cache.Wx.T                              # (N, H) (H, D) -> (N, D)
    dh_prev = da @ cache.Wh.T                         # (N, H) (H, H) -> (N, H)
    dWx = cache.x.T @ da                              # (D, N) (N, H) -> (D, H)
    dWh = cache.h_prev.T @ da                         # (H, N) (N, H) -> (H, H)
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
        h_T), and ``cache``, the list of the T :class:`RNNStepCache` (one per step).
    """
    where = "rnn_forward"
    x = as_float_array(x, where, "x", ndim=3)
    h0 = as_float_array(h0, where, "h0", ndim=2)
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
    first = check_step_caches(cache, RNNStepCache, "rnn_backward", "rnn_forward")[0]
    (N, H), T, D = first.h_next.shape, len(cache), first.x.shape[1]
    dh = check_grad_shape(dh, (N, T, H), "rnn_backward", "dh")
    dx = np.zeros((N, T, D), dtype=dh.dtype)
    dWx, dWh = np.zeros_like(first.Wx), np.zeros_like(first.Wh)
    db = np.zeros(H, dtype=first.Wh.dtype)
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
    h = as_float_array(h, where, "h", ndim=3)
    W, b = as_float_array(W, where, "W", ndim=2), as_float_array(b, where, "b", ndim=1)
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
    dscores = check_grad_shape(dscores, h.shape[:2] + (W.shape[1],), "temporal_affine_backward",
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
    s = as_float_array(scores, where, "scores", ndim=3, finite=True)
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
    h = as_float_array(h, where, "h", ndim=3, dtype=np.float64)
    Wh = as_float_array(Wh, where, "Wh", ndim=2, dtype=np.float64)
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
    return keys, [as_float_array(grads[k], where, f"grads[{k!r}]", finite=True) for k in keys]


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

def torch_rnn_weights(weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, n_gates: int = 1,
                      where: str = "torch_rnn_weights"
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One layer of ``torch.nn.RNN``, ``LSTM`` or ``GRU`` weights, checked and in our layout.

    torch stores ``weight_ih`` (kH, D), ``weight_hh`` (kH, H) and two biases (kH,), with
    k = ``n_gates`` blocks stacked (1 for the RNN, 4 for the LSTM's i, f, g, o, 3 for the GRU's
    r, z, n); our weights multiply from the right, so they are the transposes.

    Args:
        weight_ih, weight_hh: finite float arrays, e.g. ``lstm.weight_ih_l0.detach().numpy()``.
        bias_ih, bias_hh: (kH,) each, or None for a layer built with ``bias=False``.
        n_gates: k ≥ 1.
        where: the name used in error messages (the calling function's).

    Returns:
        ``Wx`` = weight_ihᵀ (D, kH), ``Wh`` = weight_hhᵀ (H, kH), ``b_ih`` and ``b_hh`` (kH,)
        (zeros where None); all new arrays.
    """
    k = check_int(n_gates, where, "n_gates", low=1)
    kH = "H" if k == 1 else f"{k}H"
    W_ih = as_float_array(weight_ih, where, "weight_ih", ndim=2, finite=True)
    W_hh = as_float_array(weight_hh, where, "weight_hh", ndim=2, finite=True)
    H = W_hh.shape[1]
    if W_hh.shape != (k * H, H) or W_ih.shape[0] != k * H:
        raise ValueError(f"{where}: weight_hh must be ({kH}, H) and weight_ih ({kH}, D), "
                         f"got {W_hh.shape} and {W_ih.shape}")
    biases = []
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is None:
            biases.append(np.zeros(k * H, dtype=W_hh.dtype))
            continue
        bias = as_float_array(bias, where, name, ndim=1, finite=True)
        if bias.shape != (k * H,):
            raise ValueError(f"{where}: {name} must be ({kH},) = ({k * H},), got {bias.shape}")
        biases.append(bias.copy())
    return W_ih.T.copy(), W_hh.T.copy(), biases[0], biases[1]


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
    Wx, Wh, b_ih, b_hh = torch_rnn_weights(weight_ih, weight_hh, bias_ih, bias_hh,
                                           where="rnn_params_from_torch")
    return Wx, Wh, b_ih + b_hh
