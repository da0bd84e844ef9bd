"""Checks for the exercises of chapter 09 (Modern CNN architectures).

The references are the closed-form counts of ``course_lib.torch_ref.counting`` (themselves
tested against ``sum(p.numel())`` and forward-hook counts in tests/test_torch_ref_cnn.py).
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch.conv import conv_output_size

# ------------------------------------------------------------- 1. parameters of a conv layer


def _conv_params_ref(c_in: int, c_out: int, k: int, bias: bool) -> int:
    return c_out * c_in * k * k + (c_out if bias else 0)


def _conv_params_inputs(rng: np.random.Generator):
    return (int(rng.integers(1, 257)), int(rng.integers(1, 257)), int(rng.choice([1, 3, 5, 7])),
            bool(rng.integers(0, 2)))


def check_conv_params(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(c_in, c_out, k, bias) -> int``: the parameters of ``nn.Conv2d(c_in, c_out, k,
    bias=bias)`` (a k×k kernel, no groups)."""
    return check_function(
        fn, _conv_params_ref, _conv_params_inputs, name="parameters of a conv layer",
        trials=8, rtol=0.0, atol=0.0, strict=strict,
        hint="each of the c_out kernels has c_in·k·k weights, plus one bias per kernel "
             "(not one per input channel or per pixel)")


# ------------------------------------------------------------- 2. multiply-adds of a conv

def _conv_macs_ref(c_in: int, c_out: int, k: int, H: int, W: int, stride: int,
                   padding: int) -> int:
    oh = conv_output_size(H, k, padding, stride)
    ow = conv_output_size(W, k, padding, stride)
    return oh * ow * c_out * c_in * k * k


def _conv_macs_inputs(rng: np.random.Generator):
    k = int(rng.choice([1, 3, 5]))
    padding = int(rng.integers(0, k // 2 + 1))
    H, W = (int(v) for v in rng.integers(k, 40, size=2))
    return (int(rng.integers(1, 65)), int(rng.integers(1, 65)), k, H, W,
            int(rng.integers(1, 4)), padding)


def check_conv_macs(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(c_in, c_out, k, H, W, stride, padding) -> int``: the multiply–adds of one
    (c_in, H, W) image through a k×k convolution with that stride and padding."""
    return check_function(
        fn, _conv_macs_ref, _conv_macs_inputs, name="multiply-adds of a conv layer",
        trials=8, rtol=0.0, atol=0.0, strict=strict,
        hint="first the output size ⌊(H + 2p − k)/s⌋ + 1 (and the same for W); then every "
             "output value (c_out·H'·W' of them) costs c_in·k·k multiply-adds")


# ------------------------------------------------------------- 3. the bottleneck's saving

def _bottleneck_ratio_ref(c: int, m: int) -> float:
    basic = 2 * 9 * c * c                    # two 3×3 convolutions c → c
    bottleneck = c * m + 9 * m * m + m * c   # 1×1 c → m, 3×3 m → m, 1×1 m → c
    return basic / bottleneck


def _bottleneck_inputs(rng: np.random.Generator):
    m = int(rng.integers(1, 129))
    return int(m * rng.integers(1, 9)), m


def check_bottleneck_ratio(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(c, m) -> float``: how many times more weights two 3×3 convolutions c → c have
    than the bottleneck 1×1 (c → m) → 3×3 (m → m) → 1×1 (m → c); biases and BN left out."""
    return check_function(
        fn, _bottleneck_ratio_ref, _bottleneck_inputs, name="the bottleneck's saving",
        trials=8, rtol=1e-12, atol=0.0, strict=strict,
        hint="a k×k conv from a to b channels has a·b·k·k weights; add the three convolutions "
             "of the bottleneck, and divide 2·9·c² by that sum")


# ------------------------------------------------------------- 4. a residual block's shape

def _residual_shape_ref(x_shape: tuple, c_out: int, stride: int) -> tuple:
    N, _, H, W = x_shape
    return (N, c_out, conv_output_size(H, 3, 1, stride), conv_output_size(W, 3, 1, stride))


def _residual_shape_inputs(rng: np.random.Generator):
    shape = (int(rng.integers(1, 9)), int(rng.integers(1, 65)), int(rng.integers(1, 40)),
             int(rng.integers(1, 40)))
    return shape, int(rng.integers(1, 129)), int(rng.integers(1, 4))


def check_residual_output_shape(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x_shape, c_out, stride) -> (N, c_out, H', W')``: the output shape of
    ``BasicBlock(C, c_out, stride)`` (two 3×3 convs with padding 1, the first strided) on an
    input of shape ``x_shape = (N, C, H, W)``."""
    return check_function(
        fn, _residual_shape_ref, _residual_shape_inputs, name="a residual block's output shape",
        trials=10, rtol=0.0, atol=0.0, strict=strict,
        hint="only the first 3×3 convolution (padding 1) has the stride: H' = ⌊(H + 2 − 3)/s⌋ + "
             "1; the second keeps the size; the shortcut must produce the same shape")
