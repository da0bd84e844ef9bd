"""Normalisation layers from scratch: BatchNorm, LayerNorm, GroupNorm, InstanceNorm (NumPy only).

All four compute the same thing over different sets of axes S::

    μ = mean_S(x),   σ² = mean_S((x − μ)²)   (biased),   x̂ = (x − μ) / √(σ² + ε),
    y = γ ⊙ x̂ + β

and differ only in S (for an image batch x of shape (N, C, H, W), see :data:`NORM_AXES`):

- BatchNorm    S = (N, H, W): one mean per channel, over the batch (Ioffe & Szegedy 2015);
- LayerNorm    S = (C, H, W) (the trailing axes): one mean per example (Ba, Kiros & Hinton 2016);
- InstanceNorm S = (H, W): one mean per example and channel (Ulyanov, Vedaldi & Lempitsky 2016);
- GroupNorm    S = (channels of one group, H, W): per example and group (Wu & He 2018).

The backward pass is shared too. With m = |S| elements per mean and d x̂ = dy ⊙ γ::

    dx = (1 / √(σ² + ε)) · (d x̂ − mean_S(d x̂) − x̂ ⊙ mean_S(d x̂ ⊙ x̂))

(the two subtracted terms are the gradients through μ and through σ²), and
dγ = Σ dy ⊙ x̂, dβ = Σ dy, summed over every axis γ is broadcast along.

CS231n style: each ``*_forward`` returns ``(out, cache)`` and each ``*_backward(dout, cache)``
returns ``(dx, dgamma, dbeta)``; the cache is a :class:`NormCache` with named fields. γ and β
may be None (no affine part); their gradients are then None. :func:`normalize` and
:func:`normalize_backward` are the two pieces all four layers share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.validate import (
    as_array,
    check_finite,
    check_grad_shape,
    check_int,
    check_positive,
)

__all__ = ["NORM_AXES", "NormCache", "normalize", "normalize_backward",
           "batchnorm_forward", "batchnorm_backward", "layernorm_forward",
           "layernorm_backward", "groupnorm_forward", "groupnorm_backward",
           "instancenorm_forward", "instancenorm_backward"]

#: Which axes of an (N, C, H, W) batch each layer averages over (0 = N, 1 = C, 2 = H, 3 = W).
#: GroupNorm's axis 1 means "the channels of the same group only" (all of C when G = 1, which
#: is LayerNorm; one channel when G = C, which is InstanceNorm).
NORM_AXES: dict[str, tuple[int, ...]] = {
    "BatchNorm": (0, 2, 3),
    "LayerNorm": (1, 2, 3),
    "InstanceNorm": (2, 3),
    "GroupNorm": (1, 2, 3),
}


# ----------------------------------------------------------------------------- shared pieces

@dataclass(frozen=True)
class NormCache:
    """What a normalisation layer's forward pass keeps for its backward pass.

    Attributes:
        layer: ``"batchnorm"``, ``"layernorm"``, ``"groupnorm"`` or ``"instancenorm"``.
        x_hat: the normalised input x̂, shaped like x.
        inv_std: 1/√(σ² + ε), with the normalised axes kept (size 1) for broadcasting.
        gamma, beta: the affine parameters (or None).
        axes: the axes the means are taken over (for GroupNorm: axis 2 of the (N, G, ·) view).
        bshape: the shape γ and β are reshaped to for broadcasting.
        train: BatchNorm only: batch statistics (True) or running estimates (False).
        groups: GroupNorm only: the number of groups G.
    """

    layer: str
    x_hat: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray | None
    beta: np.ndarray | None
    axes: tuple[int, ...]
    bshape: tuple[int, ...]
    train: bool = True
    groups: int = 1


def _sum(x: np.ndarray, axes: tuple[int, ...], y: np.ndarray | None = None) -> np.ndarray:
    """Σ over ``axes`` of x (or of x ⊙ y), the summed axes kept as size 1.

    The same numbers as ``(x * y).sum(axis=axes, keepdims=True)``, written with ``np.einsum``:
    its summation loop is two to three times faster than ``sum``/``mean`` here, and x ⊙ y is
    summed as it is formed, with no temporary array of x's size."""
    idx = list(range(x.ndim))
    keep = [i for i in idx if i not in axes]
    total = np.einsum(x, idx, keep) if y is None else np.einsum(x, idx, y, idx, keep)
    return total.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])


def normalize(x: np.ndarray, axes: tuple[int, ...], eps: float):
    """x̂ = (x − μ)/√(σ² + ε), with μ and the biased σ² taken over ``axes``.

    Args:
        x: float array of any shape; axes: the axes to average over; eps: ε > 0.

    Returns:
        ``(x_hat, mu, var, inv_std)``: x̂ shaped like x, and μ, σ², 1/√(σ² + ε) with the
        averaged axes kept as size 1 (so they broadcast against x).
    """
    m = int(np.prod([x.shape[a] for a in axes]))                   # values per mean
    mu = _sum(x, axes) / m
    x_hat = x - mu                                                 # x − μ, normalised below
    var = _sum(x_hat, axes, x_hat) / m                             # biased variance
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat *= inv_std
    return x_hat, mu, var, inv_std


def normalize_backward(dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray,
                       axes: tuple[int, ...]) -> np.ndarray:
    """Gradient through x̂ = (x − μ)/√(σ² + ε) where μ, σ² are means over ``axes``.

    Args:
        dx_hat: ∂L/∂x̂, shaped like x; x_hat, inv_std: from :func:`normalize`; axes: as there.

    Returns:
        ∂L/∂x, shaped like x: ``inv_std · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂))``.
    """
    m = int(np.prod([x_hat.shape[a] for a in axes]))
    mean_dx_hat = _sum(dx_hat, axes) / m
    mean_dx_hat_x_hat = _sum(dx_hat, axes, x_hat) / m
    dx = x_hat * mean_dx_hat_x_hat                                 # the terms in place,
    dx += mean_dx_hat                                              # one array of x's size
    np.subtract(dx_hat, dx, out=dx)
    dx *= inv_std
    return dx


def _check_x(x, where: str, min_ndim: int, shape_hint: str) -> np.ndarray:
    x = as_array(x, where, "x", dtype_kind="f")       # float only, as torch's norm layers
    check_finite(x, where, "x")
    if x.ndim < min_ndim:
        raise ValueError(f"{where}: x must be {shape_hint}, got shape {x.shape}")
    return x


def _check_param(p, shape: tuple[int, ...], where: str, name: str) -> np.ndarray | None:
    if p is None:
        return None
    p = as_array(p, where, name, dtype_kind="fiu")
    if p.shape != shape:
        raise ValueError(f"{where}: {name} must have shape {shape}, got {p.shape}")
    return p


def _channel_params(gamma, beta, eps, C: int, where: str):
    """Validate per-channel γ, β (each (C,) or None) and ε > 0; return them."""
    return (_check_param(gamma, (C,), where, "gamma"), _check_param(beta, (C,), where, "beta"),
            check_positive(eps, where, "eps"))


def _affine(x_hat, gamma, beta, bshape):
    """y = γ x̂ + β with γ, β reshaped to ``bshape`` for broadcasting (either may be None)."""
    if gamma is None:
        return x_hat if beta is None else x_hat + beta.reshape(bshape)
    out = x_hat * gamma.reshape(bshape)
    if beta is not None:
        out += beta.reshape(bshape)
    return out


def _affine_backward(dout, x_hat, gamma, beta, bshape, sum_axes):
    """(dx̂, dγ, dβ) for y = γ x̂ + β; dγ, dβ summed over ``sum_axes`` (None if absent)."""
    dx_hat = dout if gamma is None else dout * gamma.reshape(bshape)
    dgamma = None if gamma is None else _sum(dout, sum_axes, x_hat).reshape(gamma.shape)
    dbeta = None if beta is None else _sum(dout, sum_axes).reshape(beta.shape)
    return dx_hat, dgamma, dbeta


def _normalize_affine(layer: str, x, axes, eps, gamma, beta, bshape
                      ) -> tuple[np.ndarray, NormCache]:
    """normalize over ``axes``, then y = γ x̂ + β: the forward pass of Layer/InstanceNorm."""
    x_hat, _, _, inv_std = normalize(x, axes, eps)
    out = _affine(x_hat, gamma, beta, bshape)
    return out, NormCache(layer, x_hat, inv_std, gamma, beta, axes, bshape)


def _normalize_affine_backward(dout, cache: NormCache, sum_axes: tuple[int, ...]):
    """(dx, dγ, dβ) through y = γ x̂ + β and the normalisation; dγ, dβ summed over
    ``sum_axes``."""
    dx_hat, dgamma, dbeta = _affine_backward(dout, cache.x_hat, cache.gamma, cache.beta,
                                             cache.bshape, sum_axes)
    return normalize_backward(dx_hat, cache.x_hat, cache.inv_std, cache.axes), dgamma, dbeta


def _check_cache(dout, cache, where: str) -> np.ndarray:
    """The cache must come from the matching forward pass; dout must have x̂'s shape."""
    layer = where.replace("_backward", "")
    if not isinstance(cache, NormCache) or cache.layer != layer:
        raise TypeError(f"{where}: cache must be the cache returned by {layer}_forward")
    return check_grad_shape(dout, cache.x_hat.shape, where)


# ----------------------------------------------------------------------------- BatchNorm

def batchnorm_forward(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                      state: dict, *, train: bool, momentum: float = 0.1,
                      eps: float = 1e-5) -> tuple[np.ndarray, NormCache]:
    """Batch normalisation (Ioffe & Szegedy 2015), as ``torch.nn.functional.batch_norm``.

    Training mode normalises each channel with the mean and biased variance of the batch
    (over N and the spatial axes) and updates the running estimates in place::

        running_mean ← (1 − momentum) running_mean + momentum μ_B
        running_var  ← (1 − momentum) running_var  + momentum σ²_B · m / (m − 1)

    (m = N·H·W values per channel; the running variance is the *unbiased* estimate, as in
    torch). Evaluation mode normalises with the running estimates instead, so the output of
    one example no longer depends on the rest of the batch.

    Args:
        x: (N, C) or (N, C, H, W) (any (N, C, *spatial)), float.
        gamma, beta: (C,) scale and shift, or None.
        state: dict holding ``"running_mean"`` and ``"running_var"``, float arrays (C,);
            created as zeros / ones when missing; updated in place when ``train``.
        train: training (batch statistics) or evaluation (running statistics) mode.
        momentum: weight of the new batch in the running estimates, in [0, 1].
        eps: ε > 0 added to the variance.

    Returns:
        out: shaped like x.
        cache: for :func:`batchnorm_backward`.

    Raises:
        ValueError: in training mode with a single value per channel (N·H·W = 1), whose
            variance is undefined (torch raises too).
    """
    where = "batchnorm_forward"
    x = _check_x(x, where, 2, "(N, C) or (N, C, H, W)")
    C = x.shape[1]
    gamma, beta, eps = _channel_params(gamma, beta, eps, C, where)
    momentum = check_positive(momentum, where, "momentum", allow_zero=True)
    if momentum > 1:
        raise ValueError(f"{where}: momentum must be in [0, 1], got {momentum}")
    if not isinstance(state, dict):
        raise TypeError(f"{where}: state must be a dict (holding running_mean and "
                        f"running_var), got {type(state).__name__}")
    state.setdefault("running_mean", np.zeros(C))
    state.setdefault("running_var", np.ones(C))
    for key in ("running_mean", "running_var"):
        arr = state[key]
        if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f" or arr.shape != (C,):
            got = arr.shape if isinstance(arr, np.ndarray) else type(arr).__name__
            raise ValueError(f"{where}: state['{key}'] must be a float array of shape ({C},), "
                             f"got {got}")

    axes = (0,) + tuple(range(2, x.ndim))                          # all but the channel axis
    bshape = (1, C) + (1,) * (x.ndim - 2)                          # (1, C, 1, 1)
    if train:
        m = x.size // C                                            # values per channel
        if m <= 1:
            raise ValueError(f"{where}: expected more than 1 value per channel when "
                             f"training, got x of shape {x.shape}; use a larger batch or "
                             f"train=False")
        x_hat, mu, var, inv_std = normalize(x, axes, eps)
        state["running_mean"] *= 1 - momentum
        state["running_mean"] += momentum * mu.reshape(C)
        state["running_var"] *= 1 - momentum
        state["running_var"] += momentum * var.reshape(C) * m / (m - 1)
    else:
        mu = state["running_mean"].reshape(bshape)
        inv_std = 1.0 / np.sqrt(state["running_var"].reshape(bshape) + eps)
        x_hat = (x - mu) * inv_std
    out = _affine(x_hat, gamma, beta, bshape)
    cache = NormCache("batchnorm", x_hat, inv_std, gamma, beta, axes, bshape, train=bool(train))
    return out, cache


def batchnorm_backward(dout: np.ndarray, cache: NormCache
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward pass of :func:`batchnorm_forward`.

    Args:
        dout: upstream gradient, shaped like the output (N, C, ...).
        cache: from the forward pass.

    Returns:
        dx shaped like x; dgamma, dbeta of shape (C,) (None where gamma/beta were None).
        In evaluation mode μ and σ² are constants, so dx = dout ⊙ γ / √(running_var + ε).
    """
    dout = _check_cache(dout, cache, "batchnorm_backward")
    if cache.train:
        return _normalize_affine_backward(dout, cache, cache.axes)
    dx_hat, dgamma, dbeta = _affine_backward(dout, cache.x_hat, cache.gamma, cache.beta,
                                             cache.bshape, cache.axes)
    return dx_hat * cache.inv_std, dgamma, dbeta


# ----------------------------------------------------------------------------- LayerNorm

def layernorm_forward(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None, *,
                      normalized_ndim: int = 1, eps: float = 1e-5) -> tuple[np.ndarray, NormCache]:
    """Layer normalisation (Ba, Kiros & Hinton 2016), as ``torch.nn.functional.layer_norm``.

    Each example is normalised over its last ``normalized_ndim`` axes (e.g. the features of a
    token, or C, H, W of an image), so the result does not depend on the batch and is the
    same in training and evaluation.

    Args:
        x: (*, D₁, ..., D_k) with k = ``normalized_ndim``, float.
        gamma, beta: (D₁, ..., D_k) elementwise scale and shift, or None.
        normalized_ndim: k >= 1, the number of trailing axes normalised over.
        eps: ε > 0.

    Returns:
        out shaped like x, and the cache for :func:`layernorm_backward`.
    """
    where = "layernorm_forward"
    k = check_int(normalized_ndim, where, "normalized_ndim", low=1)
    x = _check_x(x, where, k, f"an array with at least normalized_ndim={k} axes")
    shape = x.shape[x.ndim - k:]
    gamma = _check_param(gamma, shape, where, "gamma")
    beta = _check_param(beta, shape, where, "beta")
    eps = check_positive(eps, where, "eps")
    return _normalize_affine("layernorm", x, tuple(range(x.ndim - k, x.ndim)), eps, gamma, beta,
                             shape)


def layernorm_backward(dout: np.ndarray, cache: NormCache
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward pass of :func:`layernorm_forward`.

    Returns:
        dx shaped like x; dgamma, dbeta shaped like gamma, beta (None where those were None),
        summed over the leading (batch) axes.
    """
    dout = _check_cache(dout, cache, "layernorm_backward")
    return _normalize_affine_backward(dout, cache, tuple(range(dout.ndim - len(cache.axes))))


# ----------------------------------------------------------------------------- GroupNorm

def groupnorm_forward(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                      num_groups: int, *, eps: float = 1e-5) -> tuple[np.ndarray, NormCache]:
    """Group normalisation (Wu & He 2018), as ``torch.nn.functional.group_norm``.

    The C channels are split into G groups of C/G consecutive channels; each example is
    normalised over each group's channels and all spatial positions. G = 1 is LayerNorm over
    (C, H, W); G = C is InstanceNorm. The scale and shift stay per channel.

    Args:
        x: (N, C, *spatial), e.g. (N, C, H, W), float; C divisible by G.
        gamma, beta: (C,), or None.
        num_groups: G >= 1.
        eps: ε > 0.

    Returns:
        out shaped like x, and the cache for :func:`groupnorm_backward`.
    """
    where = "groupnorm_forward"
    x = _check_x(x, where, 2, "(N, C, *spatial)")
    N, C = x.shape[:2]
    G = check_int(num_groups, where, "num_groups", low=1)
    if C % G:
        raise ValueError(f"{where}: the number of channels C={C} must be divisible by "
                         f"num_groups={G}")
    gamma, beta, eps = _channel_params(gamma, beta, eps, C, where)
    xg = x.reshape(N, G, -1)                                       # (N, G, C/G · H · W)
    xg_hat, _, _, inv_std = normalize(xg, (2,), eps)
    x_hat = xg_hat.reshape(x.shape)
    bshape = (1, C) + (1,) * (x.ndim - 2)
    out = _affine(x_hat, gamma, beta, bshape)
    cache = NormCache("groupnorm", x_hat, inv_std, gamma, beta, (2,), bshape, groups=G)
    return out, cache


def groupnorm_backward(dout: np.ndarray, cache: NormCache
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward pass of :func:`groupnorm_forward`.

    Returns:
        dx shaped like x; dgamma, dbeta of shape (C,) (None where gamma/beta were None).
    """
    dout = _check_cache(dout, cache, "groupnorm_backward")
    x_hat, N, G = cache.x_hat, dout.shape[0], cache.groups
    sum_axes = (0,) + tuple(range(2, dout.ndim))
    dx_hat, dgamma, dbeta = _affine_backward(dout, x_hat, cache.gamma, cache.beta,
                                             cache.bshape, sum_axes)
    dxg = normalize_backward(dx_hat.reshape(N, G, -1), x_hat.reshape(N, G, -1),
                             cache.inv_std, cache.axes)
    return dxg.reshape(dout.shape), dgamma, dbeta


# ----------------------------------------------------------------------------- InstanceNorm

def instancenorm_forward(x: np.ndarray, gamma: np.ndarray | None = None,
                         beta: np.ndarray | None = None, *,
                         eps: float = 1e-5) -> tuple[np.ndarray, NormCache]:
    """Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016), as
    ``torch.nn.functional.instance_norm`` (batch statistics, no running estimates).

    Each (example, channel) pair is normalised over its spatial positions, which removes
    per-image contrast: the layer of style-transfer networks.

    Args:
        x: (N, C, H, W) or (N, C, L) (any (N, C, *spatial)), float, with more than one
            spatial position.
        gamma, beta: (C,) optional affine scale and shift.
        eps: ε > 0.

    Returns:
        out shaped like x, and the cache for :func:`instancenorm_backward`.
    """
    where = "instancenorm_forward"
    x = _check_x(x, where, 3, "(N, C, H, W) or (N, C, L)")
    C = x.shape[1]
    if np.prod(x.shape[2:]) <= 1:
        raise ValueError(f"{where}: expected more than 1 spatial element per channel, "
                         f"got x of shape {x.shape}")
    gamma, beta, eps = _channel_params(gamma, beta, eps, C, where)
    return _normalize_affine("instancenorm", x, tuple(range(2, x.ndim)), eps, gamma, beta,
                             (1, C) + (1,) * (x.ndim - 2))


def instancenorm_backward(dout: np.ndarray, cache: NormCache
                          ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Backward pass of :func:`instancenorm_forward`.

    Returns:
        dx shaped like x; dgamma, dbeta of shape (C,), or None when not affine.
    """
    dout = _check_cache(dout, cache, "instancenorm_backward")
    return _normalize_affine_backward(dout, cache, (0,) + cache.axes)
