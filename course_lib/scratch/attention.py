"""Attention and the Transformer block from scratch (NumPy only), checked against PyTorch.

**Attention as kernel regression** (Nadaraya 1964; Watson 1964). Predict y at a query x from
pairs (x_j, y_j) by a weighted average whose weights are a softmax of similarities::

    ŷ(x) = Σ_j α(x, x_j) y_j,      α(x, x_j) = softmax_j(−(x − x_j)² / (2h²))

**Scaled dot-product attention** (Vaswani et al. 2017, "Attention is all you need") does the
same with learned vectors: queries Q (T_q, d), keys K (T_k, d), values V (T_k, d_v)::

    S = Q Kᵀ / √d                 (T_q, T_k)   scores; 1/√d keeps their variance near 1
    A = softmax(S) along keys     (T_q, T_k)   with masked scores set to −∞ (weight 0)
    out = A V                     (T_q, d_v)

and the backward pass (dS is the softmax Jacobian applied row by row)::

    dV = Aᵀ dout,   dA = dout Vᵀ,   dS = A ⊙ (dA − Σ_k dA ⊙ A),
    dQ = dS K / √d,   dK = dSᵀ Q / √d

Masks are boolean with **True = may attend**, as ``F.scaled_dot_product_attention`` in torch
(``nn.MultiheadAttention`` uses the opposite: True = blocked; pass it ``~mask``). A query row
whose keys are all masked has, by definition here, zero weights, a zero output row and zero
gradients (torch 2.13's F.scaled_dot_product_attention gives the same zeros on CPU;
``nn.MultiheadAttention`` with ``need_weights=True`` gives NaN there).

**Multi-head attention** (Vaswani et al. 2017, §3.2.2) runs h attentions of size d_h = E/h on
learned projections, in ``torch.nn.MultiheadAttention``'s parameter layout (weights (out, in))::

    Q = q W_qᵀ + b_q,  K = k W_kᵀ + b_k,  V = v W_vᵀ + b_v     ([W_q; W_k; W_v] = W_in (3E, E))
    head_i = attention(Q_i, K_i, V_i)                            (columns i·d_h ... (i+1)·d_h)
    out = [head_1, ..., head_h] W_outᵀ + b_out

**Positions.** Attention is permutation-equivariant, so order must be added: the sinusoidal
encoding of Vaswani et al. (2017), where PE[t + k] = PE[t] M_k for a fixed rotation M_k, and
rotary embeddings (RoPE; Su et al. 2021, "RoFormer"), which rotate q and k so that q·k depends
only on the offset m − n.

**The pre-LN Transformer block** (Xiong et al. 2020, "On layer normalization in the
Transformer architecture"), with the tanh GELU (Hendrycks & Gimpel 2016)::

    h = x + MHA(LN₁(x)),     out = h + GELU(LN₂(h) W₁ + b₁) W₂ + b₂

CS231n style: the layers with a backward pass return ``(out, cache)`` from the forward and take
``(dout, cache)`` in the backward. Usage::

    rng = np.random.default_rng(0)
    Q = rng.normal(size=(2, 4, 5, 8))                      # (batch, heads, T_q, d)
    K, V = rng.normal(size=(2, 4, 7, 8)), rng.normal(size=(2, 4, 7, 3))
    out, cache = scaled_dot_product_attention(Q, K, V, mask=causal_mask(5, 7))  # (2, 4, 5, 3)
    dQ, dK, dV = scaled_dot_product_attention_backward(np.ones_like(out), cache)

    x = rng.normal(size=(3, 6, 16))                        # (B, T, E)
    params = init_mha_params(16, rng)                      # or mha_params_from_torch(module)
    y, mcache = multihead_attention_forward(x, x, x, params, n_heads=4)   # (3, 6, 16)
    mcache.weights                                         # (3, 4, 6, 6), one map per head
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.functional import softmax
from course_lib.scratch.norm import layernorm_forward
from course_lib.scratch.parallel import split_batch
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_rng,
    check_grad_shape,
    check_int,
    check_positive,
    check_shape,
)

__all__ = [
    "nadaraya_watson", "softmax_entropy",
    "causal_mask", "padding_mask",
    "AttentionCache", "attention_weights", "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "split_heads", "merge_heads", "init_mha_params", "mha_params_from_torch",
    "MHACache", "multihead_attention_forward", "multihead_attention_backward",
    "sinusoidal_encoding", "sinusoidal_shift", "rope",
    "gelu", "gelu_backward",
    "init_block_params", "block_params_from_torch", "transformer_block_forward",
]

MHA_KEYS = ("W_in", "b_in", "W_out", "b_out")


# ---------------------------------------------------------------------------------------------
# 1. Attention before deep learning: Nadaraya-Watson kernel regression
# ---------------------------------------------------------------------------------------------

def nadaraya_watson(x_query, x_keys, y_values, bandwidth: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Nadaraya-Watson kernel regression (Nadaraya 1964; Watson 1964) as attention.

    With a Gaussian kernel of bandwidth h the weights are a softmax over the keys::

        α[i, j] = softmax_j(−(q_i − k_j)² / (2h²)),      ŷ_i = Σ_j α[i, j] y_j

    A small h gives the nearest key's value (a hard lookup); a huge h the mean of the values.

    Args:
        x_query: (m,) query points.
        x_keys: (n,) key points.
        y_values: (n,) or (n, d_v) values, one per key.
        bandwidth: h > 0.

    Returns:
        ``(y_hat, weights)``: y_hat (m,) or (m, d_v); weights (m, n), rows summing to 1
        (a query more than ~1e154 bandwidths from every key has no weights left: NaN).
    """
    where = "nadaraya_watson"
    q = as_float_array(x_query, where, "x_query", ndim=1, finite=True)
    k = as_float_array(x_keys, where, "x_keys", ndim=1, finite=True)
    y = as_float_array(y_values, where, "y_values", ndim=(1, 2), finite=True)
    h = check_positive(bandwidth, where, "bandwidth")
    if y.shape[0] != k.shape[0]:
        raise ValueError(f"{where}: y_values must have one row per key, (n,) or (n, d_v) with "
                         f"n = {k.shape[0]}, got shape {y.shape}")
    with np.errstate(over="ignore"):                       # (q - k)/h beyond 1e154: weight 0
        scores = -0.5 * ((q[:, None] - k[None, :]) / h) ** 2   # (m, n)
    weights = softmax(scores, axis=1)                      # (m, n)
    return weights @ y, weights


def softmax_entropy(weights, axis: int = -1) -> np.ndarray:
    """Entropy in nats of each attention row, ``H = −Σ_j α_j log α_j`` with ``0 · log 0 = 0``.

    0 for a row that looks at one key only, log T_k for a uniform row. Unlike
    :func:`course_lib.scratch.information.entropy` the rows need not sum to 1, so the all-zero
    rows of fully masked queries are accepted (entropy 0).

    Args:
        weights: (..., T_k, ...) non-negative weights, e.g. (B, h, T_q, T_k).
        axis: the axis that holds one distribution (the keys).

    Returns:
        float64 array of ``weights.shape`` without ``axis``.
    """
    where = "softmax_entropy"
    p = as_float_array(weights, where, "weights", finite=True, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError(f"{where}: weights must have at least one dimension, got a scalar")
    axis = check_int(axis, where, "axis", low=-p.ndim, high=p.ndim - 1)
    if np.any(p < 0):
        raise ValueError(f"{where}: weights must be >= 0, got a minimum of {p.min()}")
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -plogp.sum(axis=axis)


# ---------------------------------------------------------------------------------------------
# 2. Masks (True = may attend)
# ---------------------------------------------------------------------------------------------

def causal_mask(T_q: int, T_k: int | None = None) -> np.ndarray:
    """The causal (look-back only) mask: query i may attend to key j iff j <= i + T_k − T_q.

    With T_k = T_q this is the lower triangle. With T_k > T_q the queries are the *last* T_q
    of the T_k positions (a KV cache: new tokens attend to all cached ones and to themselves).
    Equals ``torch.ones(T_q, T_k).tril(T_k - T_q).bool()``.

    Args:
        T_q: number of queries, >= 1.
        T_k: number of keys, >= T_q (default T_q).

    Returns:
        bool (T_q, T_k), True = may attend.
    """
    T_q = check_int(T_q, "causal_mask", "T_q", low=1)
    T_k = T_q if T_k is None else check_int(T_k, "causal_mask", "T_k", low=T_q)
    return np.arange(T_k)[None, :] <= np.arange(T_q)[:, None] + (T_k - T_q)


def padding_mask(lengths, T_k: int) -> np.ndarray:
    """Mask the padding of sequences of different lengths: key j of sequence b is real iff
    j < lengths[b].

    Args:
        lengths: (B,) ints in [0, T_k] (a length of 0 masks every key of that sequence).
        T_k: the padded length, >= 1.

    Returns:
        bool (B, 1, 1, T_k), True = may attend; broadcasts against scores (B, h, T_q, T_k).
        (torch's ``key_padding_mask`` (B, T_k) is the opposite: True = padding.)
    """
    where = "padding_mask"
    T_k = check_int(T_k, where, "T_k", low=1)
    lengths = as_array(lengths, where, "lengths", ndim=1)
    lengths = np.array([check_int(n, where, f"lengths[{b}]", low=0, high=T_k)
                        for b, n in enumerate(lengths)])            # (B,)
    return (np.arange(T_k)[None, :] < lengths[:, None])[:, None, None, :]


def _check_mask(mask, scores_shape: tuple[int, ...], where: str) -> np.ndarray | None:
    """A bool mask that broadcasts to ``scores_shape`` (..., T_q, T_k) without enlarging it."""
    if mask is None:
        return None
    mask = as_array(mask, where, "mask")
    if mask.dtype != np.bool_:
        raise TypeError(f"{where}: mask must be a bool array (True = may attend), "
                        f"got dtype {mask.dtype}")
    try:
        fits = np.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{where}: mask must broadcast to the scores' shape (..., T_q, T_k) = "
                         f"{scores_shape}, got shape {mask.shape}")
    return mask


# ---------------------------------------------------------------------------------------------
# 3. Scaled dot-product attention
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class AttentionCache:
    """What :func:`scaled_dot_product_attention` keeps for its backward pass: the inputs
    ``Q`` (..., T_q, d), ``K`` (..., T_k, d), ``V`` (..., T_k, d_v), the weights ``A``
    (..., T_q, T_k), the bool ``mask`` (or None) and the ``scale``."""

    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    A: np.ndarray
    mask: np.ndarray | None
    scale: float


def _check_qk(Q, K, mask, scale, where: str):
    """Validate Q (..., T_q, d), K (..., T_k, d), the mask and the scale (default 1/√d)."""
    Q = as_float_array(Q, where, "Q", finite=True)
    K = as_float_array(K, where, "K", finite=True)
    if Q.ndim < 2:
        raise ValueError(f"{where}: Q must be (..., T_q, d), got shape {Q.shape}")
    d = Q.shape[-1]
    if K.ndim < 2 or K.shape[-1] != d:
        raise ValueError(f"{where}: K must be (..., T_k, d) with the d of Q ({d}), "
                         f"got shape {K.shape}")
    try:
        batch = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2])
    except ValueError:
        raise ValueError(f"{where}: the leading (batch) axes of Q {Q.shape} and K {K.shape} "
                         f"must broadcast") from None
    mask = _check_mask(mask, batch + (Q.shape[-2], K.shape[-2]), where)
    scale = 1.0 / float(np.sqrt(d)) if scale is None else check_positive(scale, where, "scale")
    return Q, K, mask, scale


def _max_over_keys(St: np.ndarray) -> np.ndarray:
    """``St.max(axis=-2, keepdims=True)`` for St (..., T_k, T_q), as a new array.

    A pairwise (tree) reduction: the maximum of the first and second half of the keys, then
    of the halves of that, log2(T_k) times. Each step is one elementwise ``np.maximum`` over
    long runs of memory, where NumPy's reduction along a middle axis loops over short rows."""
    n = St.shape[-2]
    m = St
    while n > 1:
        half = n // 2
        top = np.maximum(m[..., :half, :], m[..., half:2 * half, :])
        if n % 2:                                               # an odd key left over
            np.maximum(top[..., :1, :], m[..., 2 * half:n, :], out=top[..., :1, :])
        m, n = top, half
    return m.copy() if m is St else m


def _weights(Q, K, mask, scale, out: np.ndarray | None = None) -> np.ndarray:
    """A = softmax(scale · Q Kᵀ) over keys, masked scores −∞, fully masked rows 0.

    The softmax is written out here, in place and in the dtype of Q (``functional.softmax``
    returns float64: a float32 layer would pay for float64 arithmetic and two conversions).
    Speed comes from memory layout, not from other arithmetic. The scores are computed
    transposed, Sᵀ = K Qᵀ (..., T_k, T_q), keys down the rows: NumPy reduces along the last
    axis one short row at a time, but along the second-to-last axis it runs elementwise over
    whole rows, so the max and the sum over keys become a few long vectorised passes. The
    result is the transposed view of Aᵀ (no copy): ``A @ V`` and the backward pass hand the
    transposition to BLAS. Also: the scale multiplies Q (T_q·d numbers) rather than the scores
    (T_q·T_k), the sum is an ``einsum`` (faster than ``sum()`` here), and one reciprocal per
    query replaces T_k divisions. ``out``: a C-contiguous array (..., T_k, T_q) for Aᵀ."""
    St = np.matmul(K, np.swapaxes(Q * Q.dtype.type(scale), -1, -2), out=out)  # (scale Q Kᵀ)ᵀ
    if mask is not None:                                        # an additive mask, built on
        add = np.where(np.swapaxes(mask, -1, -2), 0.0, -np.inf).astype(St.dtype)  # its shape
        if add.shape[-2:] == St.shape[-2:] and add.size == add.shape[-2] * add.shape[-1]:
            rows = St.reshape(-1, add.size)                     # one (T_k, T_q) for all: add it
            rows += add.reshape(-1)                             # to rows of T_k·T_q (long
        else:                                                   # inner loops; St is a fresh,
            St += add                                           # contiguous array: a view)
    m = _max_over_keys(St)                                      # (..., 1, T_q) max over keys
    if mask is not None:
        m[np.isneginf(m)] = 0.0                                 # queries with only −∞: exp → 0
    St -= m                                                     # every exponent ≤ 0
    At = np.exp(St, out=St)
    total = np.einsum("...kq->...q", At)[..., None, :]          # (..., 1, T_q) sums over keys
    if mask is not None:
        total[total == 0] = 1.0                                 # fully masked queries stay 0
    At *= 1.0 / total
    return np.swapaxes(At, -1, -2)                              # A (..., T_q, T_k), a view


def attention_weights(Q, K, mask=None, *, scale: float | None = None) -> np.ndarray:
    """The attention weights ``A = softmax(Q Kᵀ · scale)`` alone (for plots and entropies).

    Args and conventions as :func:`scaled_dot_product_attention`.

    Returns:
        A (..., T_q, T_k): rows sum to 1, except fully masked rows, which are all zero.
    """
    Q, K, mask, scale = _check_qk(Q, K, mask, scale, "attention_weights")
    return _weights(Q, K, mask, scale)


def scaled_dot_product_attention(Q, K, V, mask=None, *, scale: float | None = None
                                 ) -> tuple[np.ndarray, AttentionCache]:
    """Scaled dot-product attention (Vaswani et al. 2017): ``softmax(Q Kᵀ · scale) V``.

    Same conventions as ``torch.nn.functional.scaled_dot_product_attention``: a bool
    ``mask`` with True = may attend (a masked score becomes −∞, i.e. weight 0).

    **Fully masked rows.** A query whose every key is masked has nothing to average; here its
    weights are all 0, its output row is 0 and no gradient flows through it. torch 2.13's
    F.scaled_dot_product_attention returns the same zeros (output and gradients, CPU);
    ``nn.MultiheadAttention(need_weights=True)`` and the naive ``softmax(S) V`` give NaN.

    Args:
        Q: (..., T_q, d) queries.
        K: (..., T_k, d) keys.
        V: (..., T_k, d_v) values.
        mask: bool, broadcastable to (..., T_q, T_k) (e.g. :func:`causal_mask` (T_q, T_k) or
            :func:`padding_mask` (B, 1, 1, T_k)), True = may attend; None for no mask.
        scale: the factor on the scores, > 0; default 1/√d.

    The leading axes ``...`` (batch, heads) of Q, K, V must broadcast; usually they are equal.

    Returns:
        out (..., T_q, d_v), and an :class:`AttentionCache` (its ``A`` holds the weights).
    """
    where = "scaled_dot_product_attention"
    Q, K, mask, scale = _check_qk(Q, K, mask, scale, where)
    V = as_float_array(V, where, "V", finite=True)
    if V.ndim < 2 or V.shape[-2] != K.shape[-2]:
        raise ValueError(f"{where}: V must be (..., T_k, d_v) with the T_k of K "
                         f"({K.shape[-2]}), got shape {V.shape}")
    try:
        np.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2])
    except ValueError:
        raise ValueError(f"{where}: the leading (batch) axes of Q {Q.shape}, K {K.shape} and "
                         f"V {V.shape} must broadcast") from None
    At = np.empty(np.broadcast_shapes(Q.shape[:-2], K.shape[:-2]) + (K.shape[-2], Q.shape[-2]),
                  np.result_type(Q, K))                         # Aᵀ (..., T_k, T_q), to fill
    out = np.empty(np.broadcast_shapes(At.shape[:-2], V.shape[:-2]) + (Q.shape[-2], V.shape[-1]),
                   np.result_type(At, V))                       # (..., T_q, d_v), to fill

    def attend(Q, K, V, mask, At, out):                         # the formulas, on a batch chunk
        A = _weights(Q, K, mask, scale, out=At)                 # softmax(scale Q Kᵀ), masked
        np.matmul(A, V, out=out)                                # A V

    # Split the batch over the CPU cores, as torch's CPU kernel does (course_lib.scratch.
    # parallel): each chunk of the leading axis fills its slice of Aᵀ and of out.
    n, cut = _batch_split(Q, K, V)
    split_batch(lambda sl: attend(*(cut(x, sl) for x in (Q, K, V, mask, At, out))), n,
                work=At.size)
    return out, AttentionCache(Q, K, V, np.swapaxes(At, -1, -2), mask, scale)


def _batch_split(Q, K, V):
    """``(n, cut)``: the leading (batch) axis of n items that Q, K and V share, and
    ``cut(x, sl)``, which takes the items ``sl`` of an array with that axis and leaves an array
    broadcast along it (None, a mask (T_q, T_k) or (1, ...)) whole. ``(1, ...)`` when the
    leading axes are broadcast (e.g. K with fewer dimensions than Q): nothing to split."""
    nd, n = Q.ndim, Q.shape[0]
    if nd < 3 or K.ndim != nd or V.ndim != nd or K.shape[0] != n or V.shape[0] != n:
        return 1, lambda x, sl: x
    return n, lambda x, sl: (x[sl] if x is not None and x.ndim == nd and x.shape[0] == n
                             else x)


def _sum_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum g over the axes along which an array of ``shape`` was repeated."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def scaled_dot_product_attention_backward(dout, cache: AttentionCache
                                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`scaled_dot_product_attention`.

    Args:
        dout: (..., T_q, d_v) upstream gradient ∂L/∂out.
        cache: from the forward pass.

    Returns:
        ``(dQ, dK, dV)`` shaped like Q, K, V. Masked entries of A get no gradient, and a fully
        masked query row gives a zero row of dQ.
    """
    where = "scaled_dot_product_attention_backward"
    if not isinstance(cache, AttentionCache):
        raise TypeError(f"{where}: cache must be the AttentionCache returned by "
                        f"scaled_dot_product_attention, got {type(cache).__name__}")
    Q, K, V, A, s = cache.Q, cache.K, cache.V, cache.A, cache.scale
    out_shape = np.broadcast_shapes(A.shape[:-2], V.shape[:-2]) + (A.shape[-2], V.shape[-1])
    dout = check_grad_shape(dout, out_shape, where)
    dtypes = (np.result_type(A, dout, Q, K, V),) * 2 + (np.result_type(A, dout),)
    grads = [np.empty(x.shape, dt) for x, dt in zip((Q, K, V), dtypes, strict=True)]  # to fill

    def backward(Q, K, V, A, dout, dQ, dK, dV):                 # the formulas, on a batch chunk
        # In the transposed layout of the forward pass (keys down the rows): dA = dout Vᵀ,
        # dS = A ⊙ (dA − Σ_keys dA ⊙ A), dQ = s dS K, dK = s dSᵀ Q, dV = Aᵀ dout.
        At = np.swapaxes(A, -1, -2)                             # (..., T_k, T_q)
        dAt = V @ np.swapaxes(dout, -1, -2)                     # (..., T_k, T_q) = dAᵀ
        dSt = At * (dAt - np.einsum("...kq,...kq->...q", dAt, At)[..., None, :])  # softmax bwd
        dQ[...] = _sum_to_shape(s * (np.swapaxes(dSt, -1, -2) @ K), dQ.shape)  # (..., T_q, d)
        dK[...] = _sum_to_shape(s * (dSt @ Q), dK.shape)                       # (..., T_k, d)
        dV[...] = _sum_to_shape(At @ dout, dV.shape)                           # (..., T_k, d_v)

    # The batch is split over the CPU cores as in the forward pass.
    n, cut = _batch_split(Q, K, V)
    split_batch(lambda sl: backward(*(cut(x, sl) for x in (Q, K, V, A, dout, *grads))), n,
                work=A.size)
    return tuple(grads)


# ---------------------------------------------------------------------------------------------
# 4. Multi-head attention (torch.nn.MultiheadAttention's layout, batch_first)
# ---------------------------------------------------------------------------------------------

def _check_heads(E: int, n_heads, where: str) -> int:
    h = check_int(n_heads, where, "n_heads", low=1)
    if E % h:
        raise ValueError(f"{where}: n_heads={h} must divide the embedding size E={E}")
    return h


def split_heads(x, n_heads: int) -> np.ndarray:
    """(B, T, E) -> (B, h, T, E/h): head i gets the features i·E/h ... (i+1)·E/h − 1."""
    x = as_float_array(x, "split_heads", "x", ndim=3)
    B, T, E = x.shape
    h = _check_heads(E, n_heads, "split_heads")
    return x.reshape(B, T, h, E // h).transpose(0, 2, 1, 3)


def merge_heads(x) -> np.ndarray:
    """(B, h, T, d_h) -> (B, T, h·d_h): the inverse of :func:`split_heads` (concatenate heads)."""
    x = as_float_array(x, "merge_heads", "x", ndim=4)
    B, h, T, d_h = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, h * d_h)


def init_mha_params(E: int, rng) -> dict[str, np.ndarray]:
    """Parameters of a multi-head attention layer, initialised as ``nn.MultiheadAttention``.

    W_in ~ Xavier-uniform on (3E, E), i.e. U(±√(6 / 4E)); W_out ~ U(±1/√E); biases 0.

    Args:
        E: the embedding size, >= 1.
        rng: a ``np.random.Generator`` or an int seed.

    Returns:
        dict with ``W_in`` (3E, E), ``b_in`` (3E,), ``W_out`` (E, E), ``b_out`` (E,), float64.
    """
    E = check_int(E, "init_mha_params", "E", low=1)
    rng = as_rng(rng, "init_mha_params", "rng")
    a_in, a_out = np.sqrt(6.0 / (4 * E)), 1.0 / np.sqrt(E)
    return {"W_in": rng.uniform(-a_in, a_in, size=(3 * E, E)), "b_in": np.zeros(3 * E),
            "W_out": rng.uniform(-a_out, a_out, size=(E, E)), "b_out": np.zeros(E)}


def _to_numpy(t, where: str, name: str) -> np.ndarray:
    """A float64 NumPy copy of a torch parameter (duck-typed: scratch never imports torch)."""
    if not hasattr(t, "detach"):
        raise TypeError(f"{where}: {name} must be a torch tensor, got {type(t).__name__}")
    return np.array(t.detach().cpu().numpy(), dtype=np.float64)


def mha_params_from_torch(module) -> dict[str, np.ndarray]:
    """float64 NumPy copies of an ``nn.MultiheadAttention``'s parameters.

    Supports the default layout (one ``in_proj_weight``, same embed size for q, k, v) without
    ``add_bias_kv`` or ``add_zero_attn``; a module made with ``bias=False`` gives zero biases.
    Dropout is not modelled: compare with ``dropout=0`` or in ``eval()`` mode.

    Returns:
        dict with ``W_in`` = in_proj_weight (3E, E), ``b_in`` = in_proj_bias (3E,),
        ``W_out`` = out_proj.weight (E, E), ``b_out`` = out_proj.bias (E,).
    """
    where = "mha_params_from_torch"
    if getattr(module, "in_proj_weight", None) is None or not hasattr(module, "out_proj"):
        raise TypeError(f"{where}: module must be a torch.nn.MultiheadAttention with equal "
                        f"embed sizes for q, k and v (one in_proj_weight), "
                        f"got {type(module).__name__}")
    if getattr(module, "bias_k", None) is not None or getattr(module, "add_zero_attn", False):
        raise ValueError(f"{where}: add_bias_kv and add_zero_attn are not supported")
    W_in = _to_numpy(module.in_proj_weight, where, "in_proj_weight")
    W_out = _to_numpy(module.out_proj.weight, where, "out_proj.weight")
    E = W_out.shape[0]
    b_in, b_out = module.in_proj_bias, module.out_proj.bias
    return {"W_in": W_in,
            "b_in": np.zeros(3 * E) if b_in is None else _to_numpy(b_in, where, "in_proj_bias"),
            "W_out": W_out,
            "b_out": np.zeros(E) if b_out is None else _to_numpy(b_out, where, "out_proj.bias")}


def _check_mha_params(params, where: str) -> tuple[dict[str, np.ndarray], int]:
    """The four arrays of an MHA params dict, checked against each other; returns them and E."""
    if not isinstance(params, dict):
        raise TypeError(f"{where}: params must be a dict with keys {list(MHA_KEYS)} "
                        f"(see init_mha_params), got {type(params).__name__}")
    missing = [k for k in MHA_KEYS if k not in params]
    if missing:
        raise ValueError(f"{where}: params is missing {missing}; it needs {list(MHA_KEYS)}")
    W_in = as_float_array(params["W_in"], where, "params['W_in']", ndim=2, finite=True)
    E = W_in.shape[1]
    p = {"W_in": check_shape(W_in, (3 * E, E), where, "params['W_in']", axes="(3E, E)"),
         "b_in": check_shape(params["b_in"], (3 * E,), where, "params['b_in']", axes="(3E,)",
                             finite=True),
         "W_out": check_shape(params["W_out"], (E, E), where, "params['W_out']", axes="(E, E)",
                              finite=True),
         "b_out": check_shape(params["b_out"], (E,), where, "params['b_out']", axes="(E,)",
                              finite=True)}
    return p, E


@dataclass(frozen=True, eq=False)
class MHACache:
    """What :func:`multihead_attention_forward` keeps: the inputs ``q`` (B, T_q, E), ``k`` and
    ``v`` (B, T_k, E), the checked ``params``, ``n_heads``, the heads' :class:`AttentionCache`
    ``attn`` (its arrays are (B, h, T, E/h)) and ``concat`` (B, T_q, E), the merged heads
    before the output projection. ``weights`` is the per-head attention (B, h, T_q, T_k)."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    params: dict
    n_heads: int
    attn: AttentionCache
    concat: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        """The attention weights of every head, (B, h, T_q, T_k)."""
        return self.attn.A


def multihead_attention_forward(q, k, v, params: dict, n_heads: int, mask=None
                                ) -> tuple[np.ndarray, MHACache]:
    """Multi-head attention (Vaswani et al. 2017, §3.2.2), as ``nn.MultiheadAttention`` with
    ``batch_first=True`` (no dropout): self-attention with q = k = v, cross-attention
    otherwise.

    Args:
        q: (B, T_q, E) queries.
        k, v: (B, T_k, E) keys and values.
        params: ``W_in`` (3E, E), ``b_in`` (3E,), ``W_out`` (E, E), ``b_out`` (E,) in torch's
            layout (weights are (out, in): y = x Wᵀ + b); see :func:`init_mha_params`.
        n_heads: h, dividing E; each head has size d_h = E/h and scale 1/√d_h.
        mask: bool, True = may attend, broadcastable to (B, h, T_q, T_k): e.g. (T_q, T_k) from
            :func:`causal_mask` or (B, 1, 1, T_k) from :func:`padding_mask`. torch's MHA takes
            the opposite convention (``attn_mask`` True = blocked): give it ``~mask``.

    Returns:
        out (B, T_q, E), and an :class:`MHACache` (``cache.weights``: (B, h, T_q, T_k)).
    """
    where = "multihead_attention_forward"
    p, E = _check_mha_params(params, where)
    q = as_float_array(q, where, "q", ndim=3, finite=True)
    k = as_float_array(k, where, "k", ndim=3, finite=True)
    v = as_float_array(v, where, "v", ndim=3, finite=True)
    if q.shape[2] != E:
        raise ValueError(f"{where}: q must be (B, T_q, E) with the E of params ({E}), "
                         f"got shape {q.shape}")
    if k.shape != (q.shape[0], k.shape[1], E):
        raise ValueError(f"{where}: k must be (B, T_k, E) = ({q.shape[0]}, T_k, {E}) to match q "
                         f"{q.shape}, got shape {k.shape}")
    if v.shape != k.shape:
        raise ValueError(f"{where}: v must be (B, T_k, E) with the shape of k {k.shape}, "
                         f"got shape {v.shape}")
    h = _check_heads(E, n_heads, where)
    B, T_q, T_k = q.shape[0], q.shape[1], k.shape[1]
    mask = _check_mask(mask, (B, h, T_q, T_k), where)

    if q is k and k is v:                                       # self-attention: Q, K and V
        qkv = q @ p["W_in"].T + p["b_in"]                       # in one product, (B, T, 3E)
        Q, K, V = (split_heads(a, h) for a in np.split(qkv, 3, axis=2))
    else:
        W_q, W_k, W_v = np.split(p["W_in"], 3)                 # each (E, E)
        b_q, b_k, b_v = np.split(p["b_in"], 3)                 # each (E,)
        Q = split_heads(q @ W_q.T + b_q, h)                     # (B, h, T_q, d_h)
        K = split_heads(k @ W_k.T + b_k, h)                     # (B, h, T_k, d_h)
        V = split_heads(v @ W_v.T + b_v, h)                     # (B, h, T_k, d_h)
    heads, attn = scaled_dot_product_attention(Q, K, V, mask)   # (B, h, T_q, d_h)
    concat = merge_heads(heads)                                 # (B, T_q, E)
    out = concat @ p["W_out"].T + p["b_out"]                    # (B, T_q, E)
    return out, MHACache(q, k, v, p, h, attn, concat)


def multihead_attention_backward(dout, cache: MHACache
                                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Backward pass of :func:`multihead_attention_forward`.

    Args:
        dout: (B, T_q, E) upstream gradient.
        cache: from the forward pass.

    Returns:
        ``(dq, dk, dv, grads)``: dq (B, T_q, E), dk and dv (B, T_k, E), and grads with the keys
        of params (``W_in``, ``b_in``, ``W_out``, ``b_out``) and their shapes. For
        self-attention called as f(x, x, x) the gradient of x is dq + dk + dv.
    """
    where = "multihead_attention_backward"
    if not isinstance(cache, MHACache):
        raise TypeError(f"{where}: cache must be the MHACache returned by "
                        f"multihead_attention_forward, got {type(cache).__name__}")
    p, h = cache.params, cache.n_heads
    dout = check_grad_shape(dout, cache.concat.shape, where)
    E = dout.shape[2]
    # Σ over b and t of outer products: one (E, B·T) @ (B·T, E) product (np.einsum would
    # loop in C without BLAS).
    dW_out = dout.reshape(-1, E).T @ cache.concat.reshape(-1, E)   # (E, E)
    db_out = dout.sum(axis=(0, 1))                              # (E,)
    dheads = split_heads(dout @ p["W_out"], h)                  # (B, h, T_q, d_h)
    dQ, dK, dV = scaled_dot_product_attention_backward(dheads, cache.attn)
    dx, dW, db = [], [], []
    for dP, x, W in zip((dQ, dK, dV), (cache.q, cache.k, cache.v), np.split(p["W_in"], 3),
                        strict=True):
        dP = merge_heads(dP)                                    # (B, T, E): ∂L/∂(x Wᵀ + b)
        dx.append(dP @ W)                                       # (B, T, E)
        dW.append(dP.reshape(-1, E).T @ x.reshape(-1, E))      # (E, E)
        db.append(dP.sum(axis=(0, 1)))                          # (E,)
    grads = {"W_in": np.concatenate(dW), "b_in": np.concatenate(db),
             "W_out": dW_out, "b_out": db_out}
    return dx[0], dx[1], dx[2], grads


# ---------------------------------------------------------------------------------------------
# 5. Positions: sinusoidal encodings and rotary embeddings
# ---------------------------------------------------------------------------------------------

def _frequencies(d, base, where: str) -> np.ndarray:
    """ω_i = base^(−2i/d) for i = 0 ... d/2 − 1, after checking that d is even and base > 0."""
    d = check_int(d, where, "d", low=2)
    if d % 2:
        raise ValueError(f"{where}: d must be even (the features come in (sin, cos) pairs), "
                         f"got d={d}")
    base = check_positive(base, where, "base")
    return base ** (-np.arange(0, d, 2) / d)                    # (d/2,)


def sinusoidal_encoding(T: int, d: int, base: float = 10000.0) -> np.ndarray:
    """The sinusoidal positional encoding of Vaswani et al. (2017), §3.5::

        PE[t, 2i] = sin(t ω_i),   PE[t, 2i+1] = cos(t ω_i),   ω_i = base^(−2i/d)

    Wavelengths from 2π to 2π·base: each pair of columns is a clock at its own speed.

    Args:
        T: number of positions, >= 1.
        d: the model width, even.
        base: > 0.

    Returns:
        float64 (T, d), added to the (T, d) token embeddings.
    """
    omega = _frequencies(d, base, "sinusoidal_encoding")
    T = check_int(T, "sinusoidal_encoding", "T", low=1)
    angles = np.arange(T)[:, None] * omega[None, :]             # (T, d/2)
    PE = np.empty((T, omega.size * 2))
    PE[:, 0::2] = np.sin(angles)
    PE[:, 1::2] = np.cos(angles)
    return PE


def sinusoidal_shift(k: int, d: int, base: float = 10000.0) -> np.ndarray:
    """The matrix M_k with ``PE[t + k] = PE[t] @ M_k`` for every t: a shift by k positions is
    linear, the same for all t (which is why Vaswani et al. chose sinusoids).

    M_k is block-diagonal with, for each pair (2i, 2i+1), the 2×2 rotation (c = cos kω_i,
    s = sin kω_i)::

        [[ c, −s],      [sin, cos] @ [[c, −s], [s, c]] = [sin(a + b), cos(a + b)]
         [ s,  c]]

    Args:
        k: the shift, any int (negative shifts go back).
        d, base: as :func:`sinusoidal_encoding`.

    Returns:
        float64 (d, d).
    """
    omega = _frequencies(d, base, "sinusoidal_shift")
    k = check_int(k, "sinusoidal_shift", "k")
    c, s = np.cos(k * omega), np.sin(k * omega)                 # (d/2,)
    i = np.arange(0, omega.size * 2, 2)
    M = np.zeros((omega.size * 2, omega.size * 2))
    M[i, i], M[i, i + 1], M[i + 1, i], M[i + 1, i + 1] = c, -s, s, c
    return M


def rope(x, positions=None, base: float = 10000.0) -> np.ndarray:
    """Rotary position embedding (Su et al. 2021, "RoFormer"): rotate each pair of features
    (2i, 2i+1) of the token at position p by the angle θ = p · ω_i, ω_i = base^(−2i/d)::

        x'[2i]   = x[2i] cos θ − x[2i+1] sin θ
        x'[2i+1] = x[2i] sin θ + x[2i+1] cos θ

    Applied to queries and keys, rope(q)_m · rope(k)_n depends only on m − n (rotations by
    mθ and nθ leave the angle (m − n)θ between them), and norms are unchanged. As row
    vectors, ``rope(x)[t] = x[t] @ sinusoidal_shift(-positions[t], d, base)``.

    Args:
        x: (..., T, d) with d even (e.g. queries (B, h, T, d_h)).
        positions: (T,) positions (ints, or floats), default 0, 1, ..., T − 1; with a KV
            cache, the new tokens' absolute positions.
        base: > 0.

    Returns:
        array shaped like x.
    """
    where = "rope"
    x = as_float_array(x, where, "x", finite=True)
    if x.ndim < 2:
        raise ValueError(f"{where}: x must be (..., T, d), got shape {x.shape}")
    T, d = x.shape[-2:]
    omega = _frequencies(d, base, where)
    if positions is None:
        positions = np.arange(T)
    positions = as_float_array(positions, where, "positions", ndim=1, finite=True)
    if positions.shape != (T,):
        raise ValueError(f"{where}: positions must have shape (T,) = ({T},), one per row of x, "
                         f"got {positions.shape}")
    theta = positions[:, None] * omega[None, :]                 # (T, d/2)
    cos, sin = np.cos(theta), np.sin(theta)
    x_even, x_odd = x[..., 0::2], x[..., 1::2]                  # (..., T, d/2) each
    out = np.empty_like(x)
    out[..., 0::2] = x_even * cos - x_odd * sin
    out[..., 1::2] = x_even * sin + x_odd * cos
    return out


# ---------------------------------------------------------------------------------------------
# 6. GELU and the pre-LN Transformer block (forward only)
# ---------------------------------------------------------------------------------------------

_GELU_C = float(np.sqrt(2.0 / np.pi))


def gelu(x) -> np.ndarray:
    """The GELU (Hendrycks & Gimpel 2016) in its tanh approximation, elementwise::

        gelu(x) = ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))

    Equals ``torch.nn.functional.gelu(x, approximate="tanh")`` (the exact GELU is x Φ(x)).

    Args:
        x: any shape.

    Returns:
        array shaped like x.
    """
    x = as_float_array(x, "gelu", "x", allow_empty=True)
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def gelu_backward(dout, x) -> np.ndarray:
    """Backward of :func:`gelu`: with u = √(2/π)(x + 0.044715 x³) and t = tanh u::

        gelu'(x) = ½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²)

    Args:
        dout: upstream gradient, shaped like x.
        x: the forward input.

    Returns:
        dx shaped like x.
    """
    x = as_float_array(x, "gelu_backward", "x", allow_empty=True)
    dout = check_grad_shape(dout, x.shape, "gelu_backward", allow_empty=True)
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * _GELU_C * (1 + 3 * 0.044715 * x**2))


BLOCK_KEYS = ("ln1_g", "ln1_b", "attn", "ln2_g", "ln2_b", "W1", "b1", "W2", "b2")


def init_block_params(E: int, n_heads: int, hidden: int, rng) -> dict:
    """Parameters of a pre-LN Transformer block, initialised as the torch layers would be.

    Args:
        E: the embedding size; n_heads: h, dividing E; hidden: the MLP width (often 4E).
        rng: a ``np.random.Generator`` or an int seed.

    Returns:
        dict with ``ln1_g``, ``ln1_b``, ``ln2_g``, ``ln2_b`` (E,) (ones, zeros), ``attn`` (an
        :func:`init_mha_params` dict), ``W1`` (E, hidden), ``b1`` (hidden,), ``W2``
        (hidden, E), ``b2`` (E,) drawn from U(±1/√fan_in) as ``nn.Linear``. The MLP weights
        are (in, out), y = x W + b: the *transpose* of ``nn.Linear.weight``.
    """
    where = "init_block_params"
    E = check_int(E, where, "E", low=1)
    _check_heads(E, n_heads, where)
    hidden = check_int(hidden, where, "hidden", low=1)
    rng = as_rng(rng, where, "rng")
    a1, a2 = 1.0 / np.sqrt(E), 1.0 / np.sqrt(hidden)
    return {"ln1_g": np.ones(E), "ln1_b": np.zeros(E), "attn": init_mha_params(E, rng),
            "ln2_g": np.ones(E), "ln2_b": np.zeros(E),
            "W1": rng.uniform(-a1, a1, size=(E, hidden)), "b1": rng.uniform(-a1, a1, hidden),
            "W2": rng.uniform(-a2, a2, size=(hidden, E)), "b2": rng.uniform(-a2, a2, E)}


def block_params_from_torch(block) -> dict:
    """float64 NumPy copies of a torch pre-LN block's parameters, in :func:`init_block_params`'s
    layout.

    Args:
        block: a torch module with the attributes ``ln1`` (nn.LayerNorm(E)), ``attn``
            (nn.MultiheadAttention(E, h, batch_first=True)), ``ln2`` (nn.LayerNorm(E)), ``fc1``
            (nn.Linear(E, hidden)) and ``fc2`` (nn.Linear(hidden, E)), whose forward is
            ``h = x + attn(ln1(x)); out = h + fc2(gelu_tanh(fc1(ln2(h))))``.

    Returns:
        dict with the keys of :func:`init_block_params`; ``W1 = fc1.weight.T``,
        ``W2 = fc2.weight.T``.
    """
    where = "block_params_from_torch"
    missing = [a for a in ("ln1", "attn", "ln2", "fc1", "fc2") if not hasattr(block, a)]
    if missing:
        raise TypeError(f"{where}: block must have the attributes ln1, attn, ln2, fc1, fc2, "
                        f"missing {missing}")
    for name in ("ln1", "ln2"):
        ln = getattr(block, name)
        if getattr(ln, "weight", None) is None or getattr(ln, "eps", None) != 1e-5:
            raise ValueError(f"{where}: block.{name} must be an affine nn.LayerNorm with "
                             f"eps=1e-5, as transformer_block_forward uses")
    return {"ln1_g": _to_numpy(block.ln1.weight, where, "ln1.weight"),
            "ln1_b": _to_numpy(block.ln1.bias, where, "ln1.bias"),
            "attn": mha_params_from_torch(block.attn),
            "ln2_g": _to_numpy(block.ln2.weight, where, "ln2.weight"),
            "ln2_b": _to_numpy(block.ln2.bias, where, "ln2.bias"),
            "W1": _to_numpy(block.fc1.weight, where, "fc1.weight").T,
            "b1": _to_numpy(block.fc1.bias, where, "fc1.bias"),
            "W2": _to_numpy(block.fc2.weight, where, "fc2.weight").T,
            "b2": _to_numpy(block.fc2.bias, where, "fc2.bias")}


def transformer_block_forward(x, params: dict, n_heads: int, mask=None
                              ) -> tuple[np.ndarray, np.ndarray]:
    """One pre-LN Transformer block (Xiong et al. 2020), forward only::

        h   = x + MHA(LN₁(x))                         attention sub-layer with a residual
        out = h + GELU(LN₂(h) W₁ + b₁) W₂ + b₂         position-wise MLP with a residual

    (LayerNorm with ε = 1e-5 as torch; GELU in its tanh form.) Normalising *before* each
    sub-layer keeps the residual path x → out an identity, which trains without warm-up.

    Args:
        x: (B, T, E) token vectors.
        params: as :func:`init_block_params` (MLP weights (in, out)).
        n_heads: h, dividing E.
        mask: bool, True = may attend, broadcastable to (B, h, T, T), e.g. causal_mask(T).

    Returns:
        ``(out, attn_weights)``: out (B, T, E); attn_weights (B, h, T, T) per head.
    """
    where = "transformer_block_forward"
    if not isinstance(params, dict) or any(k not in params for k in BLOCK_KEYS):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"{where}: params must be a dict with keys {list(BLOCK_KEYS)} "
                         f"(see init_block_params), got {got}")
    x = as_float_array(x, where, "x", ndim=3, finite=True)
    E = x.shape[2]
    W1 = as_float_array(params["W1"], where, "params['W1']", ndim=2, finite=True)
    hidden = W1.shape[1]
    W1 = check_shape(W1, (E, hidden), where, "params['W1']", axes="(E, hidden)")
    b1 = check_shape(params["b1"], (hidden,), where, "params['b1']", axes="(hidden,)")
    W2 = check_shape(params["W2"], (hidden, E), where, "params['W2']", axes="(hidden, E)")
    b2 = check_shape(params["b2"], (E,), where, "params['b2']", axes="(E,)")

    a, _ = layernorm_forward(x, params["ln1_g"], params["ln1_b"])          # (B, T, E)
    att, cache = multihead_attention_forward(a, a, a, params["attn"], n_heads, mask)
    h = x + att                                                             # (B, T, E)
    m, _ = layernorm_forward(h, params["ln2_g"], params["ln2_b"])          # (B, T, E)
    out = h + gelu(m @ W1 + b1) @ W2 + b2                                   # (B, T, E)
    return out, cache.weights
