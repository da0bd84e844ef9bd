"""Checks for the exercises of chapter 08 (Convolutional networks).

    from course_lib.exercises import ch08
    ch08.check_conv_output_size(conv_output_size)

The references are the scratch implementations in :mod:`course_lib.scratch.conv` and
:mod:`course_lib.scratch.pool`, which the unit tests compare with PyTorch.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch.conv import conv2d_forward, conv_output_size, receptive_field
from course_lib.scratch.pool import max_pool2d_backward, max_pool2d_forward

__all__ = ["check_conv_output_size", "check_receptive_field", "check_conv1x1",
           "check_max_pool_backward"]


# ------------------------------------------------------------------ 1. the output-size formula

def _size_inputs(rng: np.random.Generator) -> tuple[int, int, int, int]:
    n, p, s = int(rng.integers(1, 40)), int(rng.integers(0, 4)), int(rng.integers(1, 5))
    k = int(rng.integers(1, n + 2 * p + 1))          # the kernel always fits the padded input
    return n, k, p, s


def check_conv_output_size(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(n, k, p, s) -> int``: the output length of a convolution with kernel k,
    padding p on each side and stride s over an input of length n."""
    return check_function(
        fn, lambda n, k, p, s: conv_output_size(n, k, p, s), _size_inputs, trials=40,
        name="convolution output size", rtol=0.0, atol=0.0, strict=strict,
        hint="count the positions where the kernel fits in the padded input (length n + 2p), "
             "one every s pixels: (n + 2p - k) // s + 1 (integer division, not /)")


# ------------------------------------------------------------------ 2. the receptive field

def _rf_inputs(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    L = int(rng.integers(1, 7))
    return (tuple(int(k) for k in rng.integers(1, 8, size=L)),
            tuple(int(s) for s in rng.integers(1, 4, size=L)))


def check_receptive_field(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(kernel_sizes, strides) -> int``: the receptive field (in input pixels) of
    one unit of the last layer of a stack of convolutions/poolings (tuples of ints)."""
    return check_function(
        fn, lambda ks, ss: receptive_field(ks, ss)[-1], _rf_inputs, trials=20,
        name="receptive field of a stack", rtol=0.0, atol=0.0, strict=strict,
        hint="start from r = 1 and jump j = 1; each layer adds (k - 1) * j to r, then "
             "multiplies j by its stride")


# ------------------------------------------------------------------ 3. a 1x1 convolution

def _conv1x1_inputs(rng: np.random.Generator):
    N, C, F, H, W = (int(v) for v in rng.integers(1, 6, size=5))
    return rng.normal(size=(N, C, H, W)), rng.normal(size=(F, C)), rng.normal(size=F)


def check_conv1x1(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, w, b) -> out``: a 1×1 convolution, x (N, C, H, W), w (F, C), b (F,),
    out (N, F, H, W) with out[n, f, i, j] = Σ_c w[f, c] x[n, c, i, j] + b[f]."""
    return check_function(
        fn, lambda x, w, b: conv2d_forward(x, w[:, :, None, None], b)[0], _conv1x1_inputs,
        name="1x1 convolution (channel mixing)", rtol=1e-10, atol=1e-12, strict=strict,
        hint="at every pixel the C input channels are multiplied by the (F, C) matrix w: "
             "np.einsum('fc,nchw->nfhw', w, x) has the indices, then add b[None, :, None, None]")


# ------------------------------------------------------------------ 4. max-pool backward

def _pool_inputs(rng: np.random.Generator):
    k = int(rng.integers(1, 4))
    N, C = (int(v) for v in rng.integers(1, 4, size=2))
    H, W = (int(v) for v in rng.integers(k, 3 * k + 3, size=2))
    x = rng.normal(size=(N, C, H, W))
    return rng.normal(size=(N, C, H // k, W // k)), x, k


def _max_pool_backward(dout, x, k):
    _, cache = max_pool2d_forward(x, k)
    return max_pool2d_backward(dout, cache)


def check_max_pool_backward(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(dout, x, k) -> dx``: the gradient of k×k max pooling with stride k (no
    padding) given x (N, C, H, W) and dout (N, C, H // k, W // k); dx has the shape of x."""
    return check_function(
        fn, _max_pool_backward, _pool_inputs, name="max-pool backward", strict=strict,
        hint="for each window, find the position of its maximum (np.argmax on the k×k block, "
             "np.unravel_index for row and column) and put dout there; every other cell gets "
             "0, including rows/columns left over when H or W is not a multiple of k")
