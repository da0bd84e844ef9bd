"""Counting what a CNN costs: parameters from closed-form formulas, multiply–adds from hooks.

A convolution with ``c_in`` input and ``c_out`` output channels, a k_h×k_w kernel and
``groups`` groups has

    params = c_out · (c_in / groups) · k_h · k_w  (+ c_out biases)
    MACs   = H_out · W_out · c_out · (c_in / groups) · k_h · k_w      per image,

one multiply–add (MAC, 乘加) for every weight at every output position. A Linear layer
``d_in → d_out`` has ``d_in · d_out (+ d_out)`` parameters and ``d_in · d_out`` MACs per row.
BatchNorm has a scale and a shift per channel (its running mean and variance are buffers,
not parameters). FLOPs are about twice the MACs (a multiply and an add); additions of biases,
BatchNorm, activations and pooling are cheap elementwise work and are not counted.

- :func:`count_params` sums the formulas over the layers of a model (no ``numel``), so it can
  be checked against ``sum(p.numel() for p in model.parameters())``;
- :func:`layer_stats` runs one forward pass with forward hooks on every leaf module and
  records its output shape, its parameters and its MACs; :func:`count_macs` sums them;
- :func:`model_table` and :func:`format_table` build the comparison table of chapter 09.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.scratch.validate import check_int

__all__ = ["conv2d_params", "conv2d_macs", "linear_params", "linear_macs", "batchnorm_params",
           "module_params", "count_params", "weight_layers", "LayerStats", "layer_stats",
           "count_macs", "model_table", "format_table"]

#: Leaf modules that hold no parameters and do no multiply–adds worth counting.
_FREE = (nn.ReLU, nn.Identity, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
         nn.AdaptiveMaxPool2d, nn.Flatten, nn.Dropout, nn.LocalResponseNorm, nn.Sigmoid,
         nn.Tanh)


def _pair(k, where: str, name: str) -> tuple[int, int]:
    if isinstance(k, (tuple, list)):
        if len(k) != 2:
            raise ValueError(f"{where}: {name} must be an int or a pair (h, w), got {k!r}")
        return check_int(k[0], where, name, low=1), check_int(k[1], where, name, low=1)
    k = check_int(k, where, name, low=1)
    return k, k


def _check_groups(c_in: int, c_out: int, groups, where: str) -> int:
    groups = check_int(groups, where, "groups", low=1)
    if c_in % groups or c_out % groups:
        raise ValueError(f"{where}: groups must divide c_in and c_out, got groups={groups}, "
                         f"c_in={c_in}, c_out={c_out}")
    return groups


def conv2d_params(c_in: int, c_out: int, k: int | tuple[int, int], *, bias: bool = True,
                  groups: int = 1) -> int:
    """Parameters of ``nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias)``:
    ``c_out · (c_in/groups) · k_h · k_w + (c_out if bias)``."""
    where = "conv2d_params"
    c_in, c_out = check_int(c_in, where, "c_in", low=1), check_int(c_out, where, "c_out", low=1)
    kh, kw = _pair(k, where, "k")
    groups = _check_groups(c_in, c_out, groups, where)
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


def conv2d_macs(c_in: int, c_out: int, k: int | tuple[int, int],
                out_hw: int | tuple[int, int], *, groups: int = 1) -> int:
    """Multiply–adds of one image through a convolution whose output is ``out_hw`` (H', W'):
    ``H' · W' · c_out · (c_in/groups) · k_h · k_w``."""
    where = "conv2d_macs"
    c_in, c_out = check_int(c_in, where, "c_in", low=1), check_int(c_out, where, "c_out", low=1)
    kh, kw = _pair(k, where, "k")
    oh, ow = _pair(out_hw, where, "out_hw")
    groups = _check_groups(c_in, c_out, groups, where)
    return oh * ow * c_out * (c_in // groups) * kh * kw


def linear_params(d_in: int, d_out: int, *, bias: bool = True) -> int:
    """Parameters of ``nn.Linear(d_in, d_out, bias=bias)``: ``d_in · d_out + (d_out if bias)``."""
    d_in = check_int(d_in, "linear_params", "d_in", low=1)
    d_out = check_int(d_out, "linear_params", "d_out", low=1)
    return d_in * d_out + (d_out if bias else 0)


def linear_macs(d_in: int, d_out: int) -> int:
    """Multiply–adds of one input row through ``nn.Linear(d_in, d_out)``: ``d_in · d_out``."""
    return check_int(d_in, "linear_macs", "d_in", low=1) * check_int(d_out, "linear_macs",
                                                                       "d_out", low=1)


def batchnorm_params(c: int, *, affine: bool = True) -> int:
    """Learned parameters of ``nn.BatchNorm2d(c)``: a scale γ and a shift β per channel."""
    return 2 * check_int(c, "batchnorm_params", "c", low=1) if affine else 0


def module_params(module: nn.Module) -> int:
    """Parameters held directly by ``module`` (not its children), from the formulas above.

    Raises ``TypeError`` for a module type with parameters that has no formula here, so that
    a count can never silently fall back to ``numel``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module_params: expected a torch.nn.Module, got {type(module).__name__}")
    if isinstance(module, nn.Conv2d):
        return conv2d_params(module.in_channels, module.out_channels, module.kernel_size,
                             bias=module.bias is not None, groups=module.groups)
    if isinstance(module, nn.Linear):
        return linear_params(module.in_features, module.out_features,
                             bias=module.bias is not None)
    if isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        return batchnorm_params(module.num_features, affine=module.affine)
    if not any(True for _ in module.parameters(recurse=False)):
        return 0
    raise TypeError(f"module_params: no parameter formula for {type(module).__name__}; "
                    "known: Conv2d, Linear, BatchNorm1d/2d and parameter-free modules")


def _check_model(model, where: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def count_params(model: nn.Module) -> int:
    """Total parameters of ``model``, summed from :func:`module_params` over its modules.

    Equals ``sum(p.numel() for p in model.parameters())`` for models built from Conv2d,
    Linear, BatchNorm and parameter-free layers (the chapter asserts it).
    """
    model = _check_model(model, "count_params")
    return sum(module_params(m) for m in model.modules())


def weight_layers(model: nn.Module) -> int:
    """Number of Conv2d and Linear layers: the "depth" used in the ResNet paper's plots."""
    model = _check_model(model, "weight_layers")
    return sum(isinstance(m, nn.Conv2d | nn.Linear) for m in model.modules())


@dataclass
class LayerStats:
    """One call of a leaf module during :func:`layer_stats`' forward pass.

    ``out_shape`` excludes the batch axis; ``params`` are counted on a module's first call
    only (a module used twice holds its weights once); ``macs`` are per image.
    """

    name: str
    kind: str
    out_shape: tuple[int, ...]
    params: int
    macs: int


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    per_image = output.shape[1:]
    if isinstance(module, nn.Conv2d):
        return conv2d_macs(module.in_channels, module.out_channels, module.kernel_size,
                           (int(per_image[-2]), int(per_image[-1])), groups=module.groups)
    if isinstance(module, nn.Linear):
        rows = per_image.numel() // module.out_features        # (N, *, d_out): * rows an image
        return rows * linear_macs(module.in_features, module.out_features)
    return 0


def layer_stats(model: nn.Module, input_shape: Sequence[int]) -> list[LayerStats]:
    """Shapes, parameters and MACs of every leaf-module call for one image.

    Runs ``model`` once on a batch of two zero images of shape ``input_shape`` (C, H, W), in
    eval mode and without gradients, with a forward hook on every module that has no
    children. The model's train/eval mode is restored afterwards.

    Returns:
        One :class:`LayerStats` per call, in execution order.
    """
    where = "layer_stats"
    model = _check_model(model, where)
    shape = tuple(check_int(s, where, "each entry of input_shape", low=1) for s in input_shape)
    if len(shape) != 3:
        raise ValueError(f"{where}: input_shape must be (C, H, W) for one image, got {shape}")
    names = {m: n for n, m in model.named_modules()}
    rows: list[LayerStats] = []
    seen: set[int] = set()

    def hook(module, inputs, output):
        first = id(module) not in seen
        seen.add(id(module))
        rows.append(LayerStats(names[module] or type(module).__name__, type(module).__name__,
                               tuple(int(s) for s in output.shape[1:]),
                               module_params(module) if first else 0, _macs(module, output)))

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    param = next(model.parameters(), None)
    x = torch.zeros((2, *shape), dtype=param.dtype if param is not None else torch.float32,
                    device=param.device if param is not None else None)
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return rows


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply–adds of one image of shape ``input_shape`` (C, H, W) through ``model``:
    the sum over Conv2d and Linear calls found by :func:`layer_stats`."""
    return sum(r.macs for r in layer_stats(model, input_shape))


def model_table(models: Mapping[str, nn.Module], input_shape: Sequence[int]) -> list[dict]:
    """One row per model: ``{"model", "params", "macs", "weight_layers", "out_shape"}``,
    with parameters from :func:`count_params` and MACs from :func:`count_macs`."""
    if not isinstance(models, Mapping) or not models:
        raise TypeError("model_table: models must be a non-empty {name: nn.Module} dict")
    rows = []
    for name, model in models.items():
        stats = layer_stats(model, input_shape)
        rows.append({"model": name, "params": count_params(model),
                     "macs": sum(r.macs for r in stats), "weight_layers": weight_layers(model),
                     "out_shape": stats[-1].out_shape if stats else ()})
    return rows


def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None) -> str:
    """A plain-text table of ``rows`` (dicts with the same keys); integers get thousands
    separators. ``columns`` picks and orders the keys (default: those of the first row)."""
    rows = list(rows)
    if not rows:
        raise ValueError("format_table: rows must hold at least one dict")
    columns = list(columns or rows[0].keys())

    def fmt(v) -> str:
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

    cells = [[fmt(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(columns, widths, strict=True)))
    out = [line, "-" * len(line)]
    for row in cells:
        out.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                             for i, (v, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(out)
