"""A plain multilayer perceptron: the reference model of chapters 00 and 06."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


class MLP(nn.Module):
    """Fully connected network ``Linear → act → ... → Linear``.

    Args:
        sizes: layer widths ``[d_in, h_1, ..., d_out]`` (at least two numbers).
        activation: one of ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"gelu"``.

    Shapes: input (N, d_in) or (N, *) flattened to (N, d_in); output (N, d_out) logits.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu"):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or not all(isinstance(s, int) and s > 0 for s in sizes):
            raise ValueError(f"MLP: sizes must be at least two positive ints [d_in, ..., d_out], "
                             f"got {sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(_ACTIVATIONS)}, "
                             f"got {activation!r}")
        layers: list[nn.Module] = []
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
