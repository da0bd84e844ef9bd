"""Transfer learning helpers: freeze a pretrained part, give a model a new head.

    model = copy.deepcopy(pretrained)             # has .features and .head
    model.head = new_head(model, n_classes=5)     # fresh Linear, same input size
    model.features = Frozen(model.features)       # head-only fine-tuning
    opt = torch.optim.Adam(trainable_parameters(model), lr=1e-2)

A :class:`Frozen` module never changes: its parameters do not require gradients, it runs
without building a graph, and it stays in evaluation mode even when the model around it is
put in training mode, so a BatchNorm inside keeps using the running statistics learned during
pretraining (Yosinski et al. 2014, "How transferable are features in deep neural networks?").
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.validate import check_int

__all__ = ["Frozen", "new_head", "trainable_parameters", "count_trainable"]


class Frozen(nn.Module):
    """Wrap ``module`` so that it is fixed: no gradients, always in eval mode.

    ``Frozen(m)(x)`` equals ``m.eval()(x)``; ``Frozen(m).module`` is ``m`` itself.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"Frozen: expected a torch.nn.Module, got {type(module).__name__}")
        for p in module.parameters():
            p.requires_grad_(False)
        self.module = module.eval()

    def train(self, mode: bool = True) -> Frozen:
        """Record ``mode`` like any module, but keep the wrapped module in eval mode."""
        self.training = mode
        self.module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.module(x)


def new_head(model: nn.Module, n_classes: int, *, seed: int | None = None) -> nn.Linear:
    """A freshly initialised ``nn.Linear`` to replace ``model.head`` for ``n_classes`` classes.

    ``model.head`` must be an ``nn.Linear``; the new layer has the same number of inputs and
    lives on the same device with the same dtype. Assign it: ``model.head = new_head(...)``.
    ``seed`` seeds its initial weights (None: the global generator).
    """
    n_classes = check_int(n_classes, "new_head", "n_classes", low=1)
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Linear):
        raise TypeError(f"new_head: model.head must be an nn.Linear, got {type(head).__name__}")
    with seeded(seed, "new_head"):
        return nn.Linear(head.in_features, n_classes, device=head.weight.device,
                         dtype=head.weight.dtype)


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of ``model`` that require gradients (what an optimiser should update)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"trainable_parameters: expected a torch.nn.Module, "
                        f"got {type(model).__name__}")
    return [p for p in model.parameters() if p.requires_grad]


def count_trainable(model: nn.Module) -> int:
    """Number of trainable numbers in ``model``: ``sum(p.numel())`` over trainable parameters."""
    return sum(p.numel() for p in trainable_parameters(model))
