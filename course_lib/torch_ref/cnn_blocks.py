"""The building blocks of the CNNs that won ImageNet, in versions small enough for a laptop.

Each block is a few lines of PyTorch; the shape of the tensor is written where it changes.
Every convolution inside a block is followed by BatchNorm (Ioffe & Szegedy 2015) unless
``batch_norm=False``; BatchNorm came after AlexNet and VGG, but it is what lets the small
versions here train quickly, and it is part of every block used today.

- :class:`MiniAlexNet`: the ideas of AlexNet (Krizhevsky, Sutskever & Hinton 2012): ReLU,
  local response normalisation, overlapping max-pooling (3×3 windows, stride 2), dropout in a
  large fully connected head; five convolutions and three fully connected layers.
- :class:`VGGBlock`, :class:`MiniVGG` (Simonyan & Zisserman 2015): stacks of 3×3
  convolutions, then a 2×2 max-pool that halves the size.
- :class:`InceptionBlock`, :class:`MiniGoogLeNet` (Szegedy et al. 2015): four parallel
  branches (1×1; 1×1 → 3×3; 1×1 → 5×5; 3×3 max-pool → 1×1) concatenated along channels; the
  1×1 convolutions shrink the channels before the expensive 3×3 and 5×5 ones.
- :class:`BasicBlock`, :class:`Bottleneck`, :class:`MiniResNet` (He et al. 2016):
  ``out = ReLU(F(x) + shortcut(x))``; the bottleneck version computes F with 1×1 → 3×3 → 1×1.
  ``residual=False`` removes the shortcut, giving the "plain" network of the paper's
  degradation experiment.
- :class:`DenseLayer`, :class:`DenseBlock`, :class:`Transition`, :class:`MiniDenseNet`
  (Huang et al. 2017): every layer receives the concatenation of all earlier feature maps
  and adds ``growth`` new channels.

Every network has ``features`` (images → one vector per image, or a feature map for
:class:`MiniAlexNet` and VGG's fully connected head) and ``head`` (→ logits), so that
``model.head`` can be replaced for fine-tuning (see :mod:`course_lib.torch_ref.transfer`).
Every block and network takes ``seed`` for its initial weights (None, the default: the
global generator).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.conv import conv_output_size
from course_lib.scratch.validate import check_int, check_positive

__all__ = ["conv_bn_relu", "MiniAlexNet", "VGGBlock", "MiniVGG", "InceptionBlock",
           "MiniGoogLeNet", "BasicBlock", "Bottleneck", "MiniResNet", "DenseLayer", "DenseBlock",
           "Transition", "MiniDenseNet"]


def _check_bool(value, where: str, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be True or False, got {type(value).__name__} "
                        f"{value!r}")
    return value


def _check_input(x, channels: int, where: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{where}: x must be (N, {channels}, H, W), got shape {tuple(x.shape)}")


def conv_bn_relu(c_in: int, c_out: int, k: int = 3, *, stride: int = 1,
                 padding: int | None = None, batch_norm: bool = True,
                 seed: int | None = None) -> nn.Sequential:
    """Conv2d(k×k) → BatchNorm2d → ReLU, the unit most modern CNNs are built from.

    The convolution has no bias when BatchNorm follows (BN's shift β does its job).
    ``padding`` defaults to ``k // 2`` ("same" size for odd k at stride 1).
    Shapes: (N, c_in, H, W) → (N, c_out, H', W') with H' = ⌊(H + 2p − k)/stride⌋ + 1.
    """
    where = "conv_bn_relu"
    c_in, c_out = check_int(c_in, where, "c_in", low=1), check_int(c_out, where, "c_out", low=1)
    k = check_int(k, where, "k", low=1)
    stride = check_int(stride, where, "stride", low=1)
    padding = k // 2 if padding is None else check_int(padding, where, "padding", low=0)
    batch_norm = _check_bool(batch_norm, where, "batch_norm")
    with seeded(seed, where):
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding,
                                             bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _Net(nn.Module):
    """``forward(x) = head(features(x))`` with a check of the input's channels."""

    in_channels: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, type(self).__name__)
        return self.head(self.features(x))


# ------------------------------------------------------------------------------------------
# AlexNet (2012): ReLU, LRN, overlapping pooling, dropout
# ------------------------------------------------------------------------------------------
class MiniAlexNet(_Net):
    """A small AlexNet for (N, in_channels, image_size, image_size) images (default 28×28).

    Five convolutions (5×5, 5×5, 3×3, 3×3, 3×3; widths w, 2w, 3w, 3w, 2w) with ReLU, local
    response normalisation after the first two (n = 5, α = 1e-4, β = 0.75, k = 2 as in the
    paper), overlapping 3×3 max-pools of stride 2, then three fully connected layers with
    dropout before the first two. No BatchNorm: this is the 2012 recipe.

    Shapes for 28×28 and w = 32: (32, 28, 28) → pool (32, 13, 13) → (64, 13, 13) → pool
    (64, 6, 6) → (96, 6, 6) → (96, 6, 6) → (64, 6, 6) → pool (64, 2, 2) → 256 → 256 → 256 →
    n_classes.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, *, width: int = 32,
                 hidden: int = 256, dropout: float = 0.5, image_size: int = 28,
                 seed: int | None = None):
        super().__init__()
        where = "MiniAlexNet"
        self.in_channels = check_int(in_channels, where, "in_channels", low=1)
        n_classes = check_int(n_classes, where, "n_classes", low=1)
        w = check_int(width, where, "width", low=1)
        hidden = check_int(hidden, where, "hidden", low=1)
        dropout = check_positive(dropout, where, "dropout", allow_zero=True)
        if dropout >= 1:
            raise ValueError(f"{where}: dropout must be in [0, 1), got {dropout}")
        s = check_int(image_size, where, "image_size", low=1)
        for _ in range(3):                      # three overlapping pools; the convs keep size
            s = conv_output_size(s, 3, stride=2)
        with seeded(seed, where):
            self.features = nn.Sequential(
                nn.Conv2d(self.in_channels, w, 5, padding=2), nn.ReLU(inplace=True),
                nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
                nn.MaxPool2d(3, stride=2),                               # overlapping: 3 > 2
                nn.Conv2d(w, 2 * w, 5, padding=2), nn.ReLU(inplace=True),
                nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
                nn.MaxPool2d(3, stride=2),
                nn.Conv2d(2 * w, 3 * w, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(3 * w, 3 * w, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(3 * w, 2 * w, 3, padding=1), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2),                               # (N, 2w, s, s)
            )
            self.head = nn.Sequential(
                nn.Flatten(),                                            # (N, 2w·s·s)
                nn.Dropout(dropout), nn.Linear(2 * w * s * s, hidden), nn.ReLU(inplace=True),
                nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
                nn.Linear(hidden, n_classes),                            # (N, n_classes)
            )


# ------------------------------------------------------------------------------------------
# VGG (2014): blocks of 3×3 convolutions
# ------------------------------------------------------------------------------------------
class VGGBlock(nn.Sequential):
    """``n_convs`` × (3×3 conv → BN → ReLU), then a 2×2 max-pool.

    Shapes: (N, c_in, H, W) → (N, c_out, ⌊H/2⌋, ⌊W/2⌋). Two stacked 3×3 convolutions see a
    5×5 window with 2·9·c² weights instead of 25·c² (Simonyan & Zisserman 2015).
    """

    def __init__(self, c_in: int, c_out: int, n_convs: int = 2, *, batch_norm: bool = True,
                 seed: int | None = None):
        n_convs = check_int(n_convs, "VGGBlock", "n_convs", low=1)
        layers: list[nn.Module] = []
        with seeded(seed, "VGGBlock"):
            for i in range(n_convs):
                layers += list(conv_bn_relu(c_in if i == 0 else c_out, c_out, 3,
                                            batch_norm=batch_norm))
        layers.append(nn.MaxPool2d(2))
        super().__init__(*layers)
        self.in_channels, self.out_channels = c_in, c_out


class MiniVGG(_Net):
    """VGG blocks on (N, in_channels, image_size, image_size) images.

    Args:
        stages: ``((n_convs, channels), ...)``, one :class:`VGGBlock` each (each halves H, W).
        global_pool: end ``features`` with global average pooling and use a single Linear
            head (convenient for fine-tuning); otherwise flatten and use VGG's fully connected
            head ``Linear → ReLU → Dropout → Linear`` with ``hidden`` units.
        batch_norm: BatchNorm after each convolution.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, *,
                 stages: Sequence[tuple[int, int]] = ((1, 16), (2, 32), (2, 64)),
                 global_pool: bool = False, hidden: int = 128, batch_norm: bool = True,
                 image_size: int = 28, seed: int | None = None):
        super().__init__()
        where = "MiniVGG"
        self.in_channels = check_int(in_channels, where, "in_channels", low=1)
        n_classes = check_int(n_classes, where, "n_classes", low=1)
        global_pool = _check_bool(global_pool, where, "global_pool")
        s = check_int(image_size, where, "image_size", low=1)
        stages = [tuple(st) for st in stages]
        if not stages or any(len(st) != 2 for st in stages):
            raise ValueError(f"{where}: stages must be ((n_convs, channels), ...), got {stages}")
        if not global_pool:
            hidden = check_int(hidden, where, "hidden", low=1)
        blocks, c = [], self.in_channels
        with seeded(seed, where):
            for n_convs, c_out in stages:
                if s < 2:
                    raise ValueError(f"{where}: {len(stages)} stages halve a {image_size}-pixel "
                                     f"image below 1 pixel; use fewer stages or larger images")
                blocks.append(VGGBlock(c, c_out, n_convs, batch_norm=batch_norm))
                c, s = c_out, s // 2
            if global_pool:
                self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
                self.head = nn.Linear(c, n_classes)                  # (N, c) → (N, n_classes)
            else:
                self.features = nn.Sequential(*blocks)               # (N, c, s, s)
                self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * s * s, hidden),
                                          nn.ReLU(inplace=True), nn.Dropout(0.5),
                                          nn.Linear(hidden, n_classes))


# ------------------------------------------------------------------------------------------
# Inception / GoogLeNet (2014): parallel branches, 1×1 bottlenecks
# ------------------------------------------------------------------------------------------
class InceptionBlock(nn.Module):
    """Four parallel branches concatenated along channels (Szegedy et al. 2015, Fig. 2b).

    - b1: 1×1 conv → ``c1`` channels;
    - b2: 1×1 conv → ``c3_reduce``, then 3×3 conv → ``c3``;
    - b3: 1×1 conv → ``c5_reduce``, then 5×5 conv → ``c5``;
    - b4: 3×3 max-pool (stride 1, padding 1), then 1×1 conv → ``pool_proj``.

    Each convolution is followed by BN and ReLU. Shapes: (N, c_in, H, W) →
    (N, c1 + c3 + c5 + pool_proj, H, W).
    """

    def __init__(self, c_in: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int,
                 pool_proj: int, *, batch_norm: bool = True, seed: int | None = None):
        super().__init__()
        self.in_channels = check_int(c_in, "InceptionBlock", "c_in", low=1)
        bn = batch_norm
        with seeded(seed, "InceptionBlock"):
            self.b1 = conv_bn_relu(c_in, c1, 1, batch_norm=bn)
            self.b2 = nn.Sequential(conv_bn_relu(c_in, c3_reduce, 1, batch_norm=bn),
                                    conv_bn_relu(c3_reduce, c3, 3, batch_norm=bn))
            self.b3 = nn.Sequential(conv_bn_relu(c_in, c5_reduce, 1, batch_norm=bn),
                                    conv_bn_relu(c5_reduce, c5, 5, batch_norm=bn))
            self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                    conv_bn_relu(c_in, pool_proj, 1, batch_norm=bn))
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "InceptionBlock")
        branches = [self.b1(x), self.b2(x), self.b3(x), self.b4(x)]  # each (N, c_i, H, W)
        return torch.cat(branches, dim=1)                            # (N, Σ c_i, H, W)


class MiniGoogLeNet(_Net):
    """Stem (3×3 conv, 2×2 max-pool) → two Inception blocks → 3×3/2 max-pool → one more →
    global average pooling → Linear. For 28×28 inputs: (32, 14, 14) → (56, 14, 14) →
    (88, 14, 14) → (88, 7, 7) → (120, 7, 7) → 120 → n_classes."""

    def __init__(self, in_channels: int = 1, n_classes: int = 10, *, batch_norm: bool = True,
                 seed: int | None = None):
        super().__init__()
        self.in_channels = check_int(in_channels, "MiniGoogLeNet", "in_channels", low=1)
        n_classes = check_int(n_classes, "MiniGoogLeNet", "n_classes", low=1)
        bn = batch_norm
        with seeded(seed, "MiniGoogLeNet"):
            i1 = InceptionBlock(32, 16, 16, 24, 4, 8, 8, batch_norm=bn)       # → 56
            i2 = InceptionBlock(56, 24, 24, 32, 8, 16, 16, batch_norm=bn)     # → 88
            i3 = InceptionBlock(88, 32, 32, 48, 8, 16, 24, batch_norm=bn)     # → 120
            self.features = nn.Sequential(
                conv_bn_relu(self.in_channels, 32, 3, batch_norm=bn), nn.MaxPool2d(2),
                i1, i2, nn.MaxPool2d(3, stride=2, padding=1), i3,
                nn.AdaptiveAvgPool2d(1), nn.Flatten(),               # (N, 120)
            )
            self.head = nn.Linear(i3.out_channels, n_classes)


# ------------------------------------------------------------------------------------------
# ResNet (2015): residual blocks
# ------------------------------------------------------------------------------------------
def _shortcut(c_in: int, c_out: int, stride: int, batch_norm: bool) -> nn.Module:
    """Identity when the shape is kept, else a 1×1 convolution (+ BN) with the same stride
    (the "projection shortcut", option B of He et al. 2016)."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 1, stride=stride, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(c_out))
    return nn.Sequential(*layers)


class _Residual(nn.Module):
    """``ReLU(F(x) + shortcut(x))``, or ``ReLU(F(x))`` when ``residual`` is False."""

    residual: bool
    branch: nn.Sequential
    shortcut: nn.Module | None

    def _init(self, layers: list[nn.Module], c_in: int, c_out: int, stride: int,
              batch_norm: bool, residual: bool, zero_init_residual: bool) -> None:
        """Finish the block: ``layers`` (+ BN) become the branch F, then the shortcut."""
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        self.branch = nn.Sequential(*layers)
        self.in_channels, self.out_channels = c_in, c_out
        self.residual = _check_bool(residual, type(self).__name__, "residual")
        self.shortcut = _shortcut(c_in, c_out, stride, batch_norm) if residual else None
        if _check_bool(zero_init_residual, type(self).__name__, "zero_init_residual"):
            # Start as the identity: the last BN's scale γ (or the last conv) is zero, so
            # F(x) = 0 (Goyal et al. 2017, "Accurate, large minibatch SGD", section 5.1).
            last = self.branch[-1]
            nn.init.zeros_(last.weight)
            if last.bias is not None and not isinstance(last, nn.BatchNorm2d):
                nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, type(self).__name__)
        out = self.branch(x)                                         # F(x): (N, c_out, H', W')
        if self.shortcut is not None:
            out = out + self.shortcut(x)                             # F(x) + x
        return torch.relu(out)


class BasicBlock(_Residual):
    """Two 3×3 convolutions with a shortcut (He et al. 2016, Fig. 2).

    ``F(x) = BN(conv3×3(ReLU(BN(conv3×3_stride(x)))))``; ``out = ReLU(F(x) + shortcut(x))``.
    Shapes: (N, c_in, H, W) → (N, c_out, ⌊(H − 1)/stride⌋ + 1, ⌊(W − 1)/stride⌋ + 1). The
    shortcut is the identity when ``stride == 1 and c_in == c_out``, else a 1×1 projection.

    Args:
        residual: False gives the "plain" block (same layers, no shortcut).
        zero_init_residual: initialise the last BN's γ to 0 so the block starts as identity.
        seed: seed for the initial weights (None: the global generator).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1, *, batch_norm: bool = True,
                 residual: bool = True, zero_init_residual: bool = False,
                 seed: int | None = None):
        super().__init__()
        where = "BasicBlock"
        c_in, c_out = check_int(c_in, where, "c_in", low=1), check_int(c_out, where, "c_out", low=1)
        stride = check_int(stride, where, "stride", low=1)
        batch_norm = _check_bool(batch_norm, where, "batch_norm")
        with seeded(seed, where):
            layers: list[nn.Module] = [
                *conv_bn_relu(c_in, c_out, 3, stride=stride, batch_norm=batch_norm),
                nn.Conv2d(c_out, c_out, 3, padding=1, bias=not batch_norm),
            ]
            self._init(layers, c_in, c_out, stride, batch_norm, residual, zero_init_residual)


class Bottleneck(_Residual):
    """1×1 (reduce to ``c_mid``) → 3×3 → 1×1 (expand to ``c_out``) with a shortcut
    (He et al. 2016, Fig. 5 right). ``c_out`` defaults to ``4 · c_mid`` as in ResNet-50.

    The stride sits on the 3×3 convolution (as in torchvision's ResNet; the paper put it on
    the first 1×1). Shapes as for :class:`BasicBlock`.
    """

    def __init__(self, c_in: int, c_mid: int, c_out: int | None = None, stride: int = 1, *,
                 batch_norm: bool = True, residual: bool = True,
                 zero_init_residual: bool = False, seed: int | None = None):
        super().__init__()
        where = "Bottleneck"
        c_in, c_mid = check_int(c_in, where, "c_in", low=1), check_int(c_mid, where, "c_mid",
                                                                         low=1)
        c_out = 4 * c_mid if c_out is None else check_int(c_out, where, "c_out", low=1)
        stride = check_int(stride, where, "stride", low=1)
        batch_norm = _check_bool(batch_norm, where, "batch_norm")
        with seeded(seed, where):
            layers: list[nn.Module] = [
                *conv_bn_relu(c_in, c_mid, 1, batch_norm=batch_norm),        # reduce
                *conv_bn_relu(c_mid, c_mid, 3, stride=stride, batch_norm=batch_norm),
                nn.Conv2d(c_mid, c_out, 1, bias=not batch_norm),             # expand
            ]
            self._init(layers, c_in, c_out, stride, batch_norm, residual, zero_init_residual)


class MiniResNet(_Net):
    """Stem (3×3 conv → BN → ReLU) → stages of residual blocks → global average pool → Linear.

    Args:
        widths: channels of each stage (bottleneck stages output ``4 · width``).
        blocks: number of blocks in each stage; the first block of every stage after the
            first has stride 2 (halving H and W).
        block: ``"basic"`` or ``"bottleneck"``.
        residual: False removes every shortcut: the "plain" network of the degradation
            experiment, with exactly the same weight layers.

    With ``block="basic"`` the network has ``2 + 2·sum(blocks)`` weight layers (stem, two
    convolutions a block, the Linear head) plus one 1×1 projection at each stage where the
    channel count or size changes (counted by ``counting.weight_layers``).
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, *,
                 widths: Sequence[int] = (16, 32, 64), blocks: Sequence[int] = (1, 1, 1),
                 block: str = "basic", residual: bool = True, batch_norm: bool = True,
                 zero_init_residual: bool = False, seed: int | None = None):
        super().__init__()
        where = "MiniResNet"
        self.in_channels = check_int(in_channels, where, "in_channels", low=1)
        n_classes = check_int(n_classes, where, "n_classes", low=1)
        widths, blocks = list(widths), list(blocks)
        if not widths or len(widths) != len(blocks):
            raise ValueError(f"{where}: widths and blocks must be non-empty and of equal "
                             f"length, got {widths} and {blocks}")
        for w, b in zip(widths, blocks, strict=True):
            check_int(w, where, "each width", low=1)
            check_int(b, where, "each entry of blocks", low=1)
        if block not in ("basic", "bottleneck"):
            raise ValueError(f"{where}: block must be 'basic' or 'bottleneck', got {block!r}")
        kw = dict(batch_norm=batch_norm, residual=residual, zero_init_residual=zero_init_residual)
        with seeded(seed, where):
            layers: list[nn.Module] = [conv_bn_relu(self.in_channels, widths[0], 3,
                                                    batch_norm=batch_norm)]
            c = widths[0]
            for i, (w, n) in enumerate(zip(widths, blocks, strict=True)):
                for j in range(n):
                    stride = 2 if (i > 0 and j == 0) else 1
                    if block == "basic":
                        layers.append(BasicBlock(c, w, stride, **kw))
                        c = w
                    else:
                        layers.append(Bottleneck(c, w, 4 * w, stride, **kw))
                        c = 4 * w
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]               # (N, c)
            self.features = nn.Sequential(*layers)
            self.head = nn.Linear(c, n_classes)


# ------------------------------------------------------------------------------------------
# DenseNet (2016): concatenate everything
# ------------------------------------------------------------------------------------------
class DenseLayer(nn.Module):
    """BN → ReLU → 1×1 conv (4·growth) → BN → ReLU → 3×3 conv (growth), then concatenation
    with the input: (N, c_in, H, W) → (N, c_in + growth, H, W) (DenseNet-B, Huang et al. 2017).
    ``bottleneck=False`` drops the 1×1 part."""

    def __init__(self, c_in: int, growth: int, *, bottleneck: bool = True,
                 seed: int | None = None):
        super().__init__()
        self.in_channels = check_int(c_in, "DenseLayer", "c_in", low=1)
        growth = check_int(growth, "DenseLayer", "growth", low=1)
        layers: list[nn.Module] = []
        c = c_in
        with seeded(seed, "DenseLayer"):
            if _check_bool(bottleneck, "DenseLayer", "bottleneck"):
                layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                           nn.Conv2d(c, 4 * growth, 1, bias=False)]
                c = 4 * growth
            layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.Conv2d(c, growth, 3, padding=1, bias=False)]
        self.branch = nn.Sequential(*layers)
        self.out_channels = c_in + growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, "DenseLayer")
        return torch.cat([x, self.branch(x)], dim=1)                 # (N, c_in + growth, H, W)


class DenseBlock(nn.Sequential):
    """``n_layers`` dense layers: (N, c_in, H, W) → (N, c_in + n_layers · growth, H, W)."""

    def __init__(self, c_in: int, growth: int, n_layers: int, *, bottleneck: bool = True,
                 seed: int | None = None):
        n_layers = check_int(n_layers, "DenseBlock", "n_layers", low=1)
        c_in = check_int(c_in, "DenseBlock", "c_in", low=1)
        with seeded(seed, "DenseBlock"):
            layers = [DenseLayer(c_in + i * growth, growth, bottleneck=bottleneck)
                      for i in range(n_layers)]
        super().__init__(*layers)
        self.in_channels, self.out_channels = c_in, c_in + n_layers * growth


class Transition(nn.Sequential):
    """BN → ReLU → 1×1 conv → 2×2 average pool, between dense blocks:
    (N, c_in, H, W) → (N, c_out, ⌊H/2⌋, ⌊W/2⌋)."""

    def __init__(self, c_in: int, c_out: int, *, seed: int | None = None):
        c_in = check_int(c_in, "Transition", "c_in", low=1)
        c_out = check_int(c_out, "Transition", "c_out", low=1)
        with seeded(seed, "Transition"):
            conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        super().__init__(nn.BatchNorm2d(c_in), nn.ReLU(inplace=True), conv, nn.AvgPool2d(2))
        self.in_channels, self.out_channels = c_in, c_out


class MiniDenseNet(_Net):
    """Stem (3×3 conv, 2·growth channels, 2×2 max-pool) → dense blocks separated by transitions that
    halve the size and multiply the channels by ``compression`` → BN → ReLU → global average
    pool → Linear (DenseNet-BC, Huang et al. 2017)."""

    def __init__(self, in_channels: int = 1, n_classes: int = 10, *, growth: int = 12,
                 layers: Sequence[int] = (4, 4, 4), compression: float = 0.5,
                 seed: int | None = None):
        super().__init__()
        where = "MiniDenseNet"
        self.in_channels = check_int(in_channels, where, "in_channels", low=1)
        n_classes = check_int(n_classes, where, "n_classes", low=1)
        growth = check_int(growth, where, "growth", low=1)
        compression = check_positive(compression, where, "compression")
        if compression > 1:
            raise ValueError(f"{where}: compression must be in (0, 1], got {compression}")
        layers = list(layers)
        if not layers:
            raise ValueError(f"{where}: layers must list at least one dense block size")
        c = 2 * growth
        with seeded(seed, where):
            mods: list[nn.Module] = [nn.Conv2d(self.in_channels, c, 3, padding=1, bias=False),
                                     nn.MaxPool2d(2)]
            for i, n in enumerate(layers):
                block = DenseBlock(c, growth, n)
                mods.append(block)
                c = block.out_channels
                if i < len(layers) - 1:
                    c_next = max(1, int(c * compression))
                    mods.append(Transition(c, c_next))
                    c = c_next
            mods += [nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
                     nn.Flatten()]
            self.features = nn.Sequential(*mods)
            self.head = nn.Linear(c, n_classes)
