"""A plain multilayer perceptron: the reference model of chapters 00 and 06.

:func:`mlp_from_params` builds it from the parameter dict of the NumPy MLP of
``course_lib.scratch.mlp`` (``{"W1": (d_in, h_1), "b1": (h_1,), ...}``), so the two can
be run side by side from identical weights; :func:`mlp_params` goes the other way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from course_lib.env import seeded

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
                "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


class MLP(nn.Module):
    """Fully connected network ``Linear → act → ... → Linear``.

    Args:
        sizes: layer widths ``[d_in, h_1, ..., d_out]`` (at least two numbers).
        activation: one of ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"gelu"``, ``"elu"``,
            ``"leaky_relu"`` (PyTorch's defaults: ELU α = 1, LeakyReLU slope 0.01).
        seed: seed for the initial weights (None: the global generator).

    Shapes: input (N, d_in) or (N, *) flattened to (N, d_in); output (N, d_out) logits.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", *,
                 seed: int | None = None):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or not all(isinstance(s, int) and s > 0 for s in sizes):
            raise ValueError(f"MLP: sizes must be at least two positive ints [d_in, ..., d_out], "
                             f"got {sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(_ACTIVATIONS)}, "
                             f"got {activation!r}")
        layers: list[nn.Module] = []
        with seeded(seed, "MLP"):
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
                layers.append(nn.Linear(a, b))
                if i < len(sizes) - 2:
                    layers.append(_ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.d_in = sizes[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)  # (N, *) -> (N, d_in)
        if x.shape[1] != self.d_in:
            raise ValueError(f"MLP: expected inputs with {self.d_in} features, "
                             f"got shape {tuple(x.shape)}")
        return self.net(x)


def mlp_from_params(params: Mapping[str, np.ndarray], activation: str = "relu", *,
                    dtype: torch.dtype = torch.float64) -> MLP:
    """A torch :class:`MLP` holding a copy of the NumPy MLP parameters ``params``.

    Args:
        params: ``{"W1": (d_in, h_1), "b1": (h_1,), ..., "WL": (h_{L-1}, d_out), "bL": (d_out,)}``
            as made by ``course_lib.scratch.mlp.init_mlp``. The scratch layer computes
            ``x W + b``; ``nn.Linear`` stores the transpose, so ``weight = Wᵀ`` (out, in).
        activation: the hidden activation, as for :class:`MLP`.
        dtype: the model's floating dtype (float64 to compare with NumPy to ~1e-15).

    Returns:
        The model; its outputs equal ``mlp_forward(params, X, activation)[0]``.
    """
    if not isinstance(params, Mapping) or "W1" not in params:
        raise TypeError("mlp_from_params: params must be a dict with keys W1, b1, W2, b2, ... "
                        f"(from init_mlp), got {type(params).__name__}")
    n = 0
    while f"W{n + 1}" in params:
        n += 1
    Ws = [np.asarray(params[f"W{i}"]) for i in range(1, n + 1)]
    bs = [np.asarray(params.get(f"b{i}")) for i in range(1, n + 1)]
    sizes = [Ws[0].shape[0] if Ws[0].ndim == 2 else -1]
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True), start=1):
        if W.ndim != 2 or W.shape[0] != sizes[-1] or b.shape != (W.shape[1],):
            d_in = sizes[-1] if sizes[-1] > 0 else "d"
            raise ValueError(f"mlp_from_params: W{i} must be ({d_in}, m) and b{i} (m,), "
                             f"got {W.shape} and {b.shape}")
        sizes.append(W.shape[1])
    model = MLP([int(s) for s in sizes], activation).to(dtype)
    linears = [m for m in model.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for lin, W, b in zip(linears, Ws, bs, strict=True):
            lin.weight.copy_(torch.as_tensor(W.T, dtype=dtype, device=lin.weight.device))
            lin.bias.copy_(torch.as_tensor(b, dtype=dtype, device=lin.bias.device))
    return model


def mlp_params(model: MLP) -> dict[str, np.ndarray]:
    """The weights of a torch :class:`MLP` as a NumPy parameter dict (``W = weightᵀ``),
    the inverse of :func:`mlp_from_params`. Arrays are copies, float64."""
    if not isinstance(model, MLP):
        raise TypeError(f"mlp_params: model must be a course_lib.torch_ref.MLP, "
                        f"got {type(model).__name__}")
    linears = [m for m in model.net if isinstance(m, nn.Linear)]
    out = {}
    for i, lin in enumerate(linears, start=1):
        out[f"W{i}"] = lin.weight.detach().cpu().double().numpy().T.copy()
        out[f"b{i}"] = lin.bias.detach().cpu().double().numpy().copy()
    return out
