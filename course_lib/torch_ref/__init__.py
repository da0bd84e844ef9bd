"""PyTorch reference models used by the chapters (this package may import torch)."""

from course_lib.torch_ref.mlp import MLP

__all__ = ["MLP"]
