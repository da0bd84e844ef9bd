"""Max and average pooling from scratch (NumPy only): loops to read, im2col to run fast.

Pooling slides a k × k window with stride s over every channel separately and keeps one
number per window::

    max:      out[n, c, i, j] = max_{a,b}  x_pad[n, c, s·i + a, s·j + b]
    average:  out[n, c, i, j] = (1/k²) Σ_{a,b} x_pad[n, c, s·i + a, s·j + b]

as ``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` with their defaults: the stride
defaults to k; padding p adds −inf (max) or zeros (average, which still divides by k², torch's
``count_include_pad=True``) on every side and must be at most k/2. The output size is
``⌊(H + 2p − k)/s⌋ + 1`` as for a convolution.

Backward: average pooling spreads each output's gradient evenly, ``dout/k²``, over its
window; max pooling sends it all to the one input that was the maximum (the first one on a
tie, as torch does), so the forward pass remembers where each maximum was.

Max pooling: Zhou & Chellappa, "Computation of optical flow using a neural network", 1988;
Ranzato, Huang, Boureau & LeCun, CVPR 2007. Average ("subsampling") pooling: LeNet (LeCun et
al. 1989, 1998).
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.conv import col2im, conv_output_size, im2col, pad2d
from course_lib.scratch.validate import as_float_array, check_grad_shape, check_int

__all__ = ["max_pool2d_forward_loops", "max_pool2d_backward_loops",
           "avg_pool2d_forward_loops", "avg_pool2d_backward_loops",
           "max_pool2d_forward", "max_pool2d_backward",
           "avg_pool2d_forward", "avg_pool2d_backward"]


def _check_pool(x, kernel_size, stride, padding, where: str):
    """Validate pooling arguments; return x, k, s, p and the output size (OH, OW)."""
    x = as_float_array(x, where, "x", ndim=4)
    k = check_int(kernel_size, where, "kernel_size", low=1)
    s = k if stride is None else check_int(stride, where, "stride", low=1)
    p = check_int(padding, where, "padding", low=0)
    if 2 * p > k:
        raise ValueError(f"{where}: padding must be at most kernel_size / 2 = {k / 2:g} "
                         f"(as in torch), got {p}")
    if min(x.shape[2], x.shape[3]) + 2 * p < k:
        raise ValueError(f"{where}: the {k}x{k} window does not fit x {x.shape} with "
                         f"padding {p}")
    return x, k, s, p, conv_output_size(x.shape[2], k, p, s), conv_output_size(x.shape[3], k, p, s)


# ---------------------------------------------------------------------------------------------
# 1. Loops
# ---------------------------------------------------------------------------------------------

def max_pool2d_forward_loops(x, kernel_size: int, stride: int | None = None,
                             padding: int = 0) -> tuple[np.ndarray, tuple]:
    """Max pooling with loops over (sample, channel, output row, output column).

    Args:
        x: (N, C, H, W); kernel_size k; stride s (default k); padding p ≤ k/2 (−inf values).

    Returns:
        ``out`` (N, C, OH, OW) and ``cache = (x.shape, argmax, k, s, p)`` where
        ``argmax[n, c, i, j]`` is the flat index (a·k + b) of the maximum in its window.
    """
    x, k, s, p, OH, OW = _check_pool(x, kernel_size, stride, padding, "max_pool2d_forward_loops")
    N, C = x.shape[:2]
    x_pad = pad2d(x, p, -np.inf)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    window = x_pad[n, c, s * i:s * i + k, s * j:s * j + k]   # (k, k)
                    argmax[n, c, i, j] = np.argmax(window)                  # first maximum
                    out[n, c, i, j] = window.flat[argmax[n, c, i, j]]
    return out, (x.shape, argmax, k, s, p)


def max_pool2d_backward_loops(dout, cache: tuple) -> np.ndarray:
    """Backward of max pooling: each ``dout[n, c, i, j]`` goes to its window's maximum.

    Args: dout: (N, C, OH, OW); cache: from :func:`max_pool2d_forward_loops`.
    Returns: dx: (N, C, H, W) (summed where overlapping windows share a maximum).
    """
    (N, C, H, W), argmax, k, s, p = cache
    dout = check_grad_shape(dout, argmax.shape, "max_pool2d_backward_loops")
    dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dout.dtype)
    OH, OW = argmax.shape[2:]
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    a, b = divmod(int(argmax[n, c, i, j]), k)               # row, column in window
                    dx_pad[n, c, s * i + a, s * j + b] += dout[n, c, i, j]
    return dx_pad[:, :, p:p + H, p:p + W]


def avg_pool2d_forward_loops(x, kernel_size: int, stride: int | None = None,
                             padding: int = 0) -> tuple[np.ndarray, tuple]:
    """Average pooling with loops (zero padding counted in the k² divisor, as torch).

    Args: x: (N, C, H, W); kernel_size k; stride s (default k); padding p ≤ k/2.
    Returns: ``out`` (N, C, OH, OW) and ``cache = (x.shape, k, s, p)``.
    """
    x, k, s, p, OH, OW = _check_pool(x, kernel_size, stride, padding, "avg_pool2d_forward_loops")
    N, C = x.shape[:2]
    x_pad = pad2d(x, p)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    out[n, c, i, j] = x_pad[n, c, s * i:s * i + k, s * j:s * j + k].sum() / k**2
    return out, (x.shape, k, s, p)


def avg_pool2d_backward_loops(dout, cache: tuple) -> np.ndarray:
    """Backward of average pooling: each window receives ``dout / k²`` in every cell.

    Args: dout: (N, C, OH, OW); cache: from :func:`avg_pool2d_forward_loops`.
    Returns: dx: (N, C, H, W).
    """
    (N, C, H, W), k, s, p = cache
    OH, OW = conv_output_size(H, k, p, s), conv_output_size(W, k, p, s)
    dout = check_grad_shape(dout, (N, C, OH, OW), "avg_pool2d_backward_loops")
    dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    dx_pad[n, c, s * i:s * i + k, s * j:s * j + k] += dout[n, c, i, j] / k**2
    return dx_pad[:, :, p:p + H, p:p + W]


# ---------------------------------------------------------------------------------------------
# 2. im2col: every window becomes a column; pooling is a max or a mean down the columns
# ---------------------------------------------------------------------------------------------

def max_pool2d_forward(x, kernel_size: int, stride: int | None = None,
                       padding: int = 0) -> tuple[np.ndarray, tuple]:
    """Max pooling with im2col; same arguments and results as :func:`max_pool2d_forward_loops`.

    The channels are pooled separately, so x is viewed as N·C one-channel images.
    Returns ``out`` (N, C, OH, OW) and a cache for :func:`max_pool2d_backward`; the cache
    keeps, for every output, which of the k² window positions held the maximum.
    """
    x, k, s, p, OH, OW = _check_pool(x, kernel_size, stride, padding, "max_pool2d_forward")
    N, C, H, W = x.shape
    cols = im2col(x.reshape(N * C, 1, H, W), k, k, s, p, pad_value=-np.inf)  # (N·C, k², L)
    # The first maximum down each column, as cols.argmax(axis=1) but several times faster: one
    # pass per row of the window (k² of them) with whole-array arithmetic (NumPy's argmax along
    # a middle axis is slow, and masked copies such as np.copyto(where=) are slower still), and
    # the positions kept in one byte each rather than eight: memory traffic is the cost here.
    out = cols[:, 0].copy()                                        # (N·C, L) running maximum
    pos = np.zeros(out.shape, dtype=np.uint8 if k * k <= 256 else np.int32)  # where it is
    for t in range(1, k * k):
        row = cols[:, t]
        pos += (row > out) * (t - pos)            # t where strictly greater: ties keep the first
        np.maximum(out, row, out=out)                  # a NaN propagates, as in torch
    nan = np.isnan(out)
    if nan.any():                                      # rare: torch points at the window's last NaN
        r, c = np.nonzero(nan)
        pos[r, c] = k * k - 1 - np.isnan(cols[r, ::-1, c]).argmax(axis=1)
    return out.reshape(N, C, OH, OW), (x.shape, pos, k, s, p)


def max_pool2d_backward(dout, cache: tuple) -> np.ndarray:
    """Backward of :func:`max_pool2d_forward`: each output's gradient goes to its maximum.

    One pass per window position t = (a, b): ``dout`` where t held the maximum lands on the
    strided view of dx that position t reads, which is col2im done in place. When the windows
    do not overlap (stride ≥ k, the usual case) each input gets at most one gradient, so the
    products are written straight into dx instead of added.

    Returns dx: (N, C, H, W).
    """
    (N, C, H, W), pos, k, s, p = cache
    OH = conv_output_size(H, k, p, s)
    OW = pos.shape[1] // OH
    dout = check_grad_shape(dout, (N, C, OH, OW), "max_pool2d_backward")
    pos = pos.reshape(N, C, OH, OW)
    dx_pad = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dout.dtype)
    for t in range(k * k):
        a, b = divmod(t, k)
        view = dx_pad[:, :, a:a + s * (OH - 1) + 1:s, b:b + s * (OW - 1) + 1:s]   # (N, C, OH, OW)
        if s >= k:
            np.multiply(dout, pos == t, out=view)
        else:
            view += dout * (pos == t)
    return dx_pad[:, :, p:p + H, p:p + W]


def avg_pool2d_forward(x, kernel_size: int, stride: int | None = None,
                       padding: int = 0) -> tuple[np.ndarray, tuple]:
    """Average pooling with im2col; same as :func:`avg_pool2d_forward_loops`.

    Returns ``out`` (N, C, OH, OW) and a cache for :func:`avg_pool2d_backward`.
    """
    x, k, s, p, OH, OW = _check_pool(x, kernel_size, stride, padding, "avg_pool2d_forward")
    N, C, H, W = x.shape
    cols = im2col(x.reshape(N * C, 1, H, W), k, k, s, p)          # (N·C, k², L)
    return cols.mean(axis=1).reshape(N, C, OH, OW), (x.shape, k, s, p)


def avg_pool2d_backward(dout, cache: tuple) -> np.ndarray:
    """Backward of :func:`avg_pool2d_forward`: every row of dcols is dout / k², then col2im.

    Returns dx: (N, C, H, W).
    """
    (N, C, H, W), k, s, p = cache
    OH, OW = conv_output_size(H, k, p, s), conv_output_size(W, k, p, s)
    dout = check_grad_shape(dout, (N, C, OH, OW), "avg_pool2d_backward")
    dcols = np.broadcast_to(dout.reshape(N * C, 1, OH * OW) / k**2, (N * C, k * k, OH * OW))
    return col2im(dcols, (N * C, 1, H, W), k, k, s, p).reshape(N, C, H, W)
