"""LeNet-5, the convolutional network of LeCun, Bottou, Bengio & Haffner (1998).

    "Gradient-based learning applied to document recognition", Proc. IEEE 86(11), 1998.

The layer sizes are the paper's; two details are modernised by default and can be switched
back: ReLU instead of the scaled tanh, and max instead of average ("subsampling") pooling.
The paper's C3 layer connects each of its 16 maps to a subset of the 6 input maps and its
output layer is made of RBF units; here every map sees all inputs (as in every modern
library) and the output is a plain linear layer giving logits. The 28×28 MNIST images are
padded by 2 in the first convolution, which plays the role of the paper's 32×32 input.

Shapes for one (1, 28, 28) image::

    conv1  5×5, 6 maps, padding 2   (6, 28, 28)      pool1  2×2   (6, 14, 14)
    conv2  5×5, 16 maps             (16, 10, 10)     pool2  2×2   (16, 5, 5)
    fc1    400 → 120,  fc2  120 → 84,  fc3  84 → n_classes (logits)
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.validate import check_int

__all__ = ["LeNet5"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    """LeNet-5 for (N, in_channels, 28, 28) images; 61,706 parameters for one channel, 10 classes.

    Args:
        n_classes: number of output logits.
        in_channels: channels of the input images (1 for MNIST).
        activation: ``"relu"`` (default), ``"tanh"`` (closest to the paper) or ``"sigmoid"``.
        pool: ``"max"`` (default) or ``"avg"`` (the paper's subsampling, without its weights).
        seed: seed for the initial weights (None: the global generator).

    ``forward(x)`` returns (N, n_classes) logits; :meth:`feature_maps` returns every
    intermediate activation, for visualisation.
    """

    def __init__(self, n_classes: int = 10, in_channels: int = 1, activation: str = "relu",
                 pool: str = "max", *, seed: int | None = None):
        super().__init__()
        n_classes = check_int(n_classes, "LeNet5", "n_classes", low=1)
        in_channels = check_int(in_channels, "LeNet5", "in_channels", low=1)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"LeNet5: activation must be one of {sorted(_ACTIVATIONS)}, "
                             f"got {activation!r}")
        if pool not in _POOLS:
            raise ValueError(f"LeNet5: pool must be one of {sorted(_POOLS)}, got {pool!r}")
        act, Pool = _ACTIVATIONS[activation], _POOLS[pool]
        self.in_channels = in_channels
        with seeded(seed, "LeNet5"):
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), act(),  # (N, 6, 28, 28)
                Pool(2),                                                      # (N, 6, 14, 14)
                nn.Conv2d(6, 16, kernel_size=5), act(),                       # (N, 16, 10, 10)
                Pool(2),                                                      # (N, 16, 5, 5)
            )
            self.classifier = nn.Sequential(
                nn.Flatten(),                                                 # (N, 400)
                nn.Linear(16 * 5 * 5, 120), act(),                            # (N, 120)
                nn.Linear(120, 84), act(),                                    # (N, 84)
                nn.Linear(84, n_classes),                                     # (N, n_classes)
            )

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"LeNet5: x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.in_channels, 28, 28):
            raise ValueError(f"LeNet5: x must be (N, {self.in_channels}, 28, 28), got "
                             f"{tuple(x.shape)}; add the channel axis with x.unsqueeze(1)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return self.classifier(self.features(x))

    def feature_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every activation on the way, keyed ``"conv1"`` (after the activation), ``"pool1"``,
        ``"conv2"``, ``"pool2"``, ``"fc1"``, ``"fc2"``, ``"logits"``; computed without grad."""
        self._check(x)
        f, c = self.features, self.classifier
        with torch.no_grad():
            conv1 = f[1](f[0](x))                   # (N, 6, 28, 28)
            pool1 = f[2](conv1)                     # (N, 6, 14, 14)
            conv2 = f[4](f[3](pool1))               # (N, 16, 10, 10)
            pool2 = f[5](conv2)                     # (N, 16, 5, 5)
            fc1 = c[2](c[1](c[0](pool2)))           # (N, 120)
            fc2 = c[4](c[3](fc1))                   # (N, 84)
            logits = c[5](fc2)                      # (N, n_classes)
        return {"conv1": conv1, "pool1": pool1, "conv2": conv2, "pool2": pool2,
                "fc1": fc1, "fc2": fc2, "logits": logits}
