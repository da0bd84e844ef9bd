"""Convolution from scratch (NumPy only): first loops to read, then im2col to run fast.

What a convolutional layer computes (as ``torch.nn.functional.conv2d``, which, like every deep
learning library, implements *cross-correlation* and calls it convolution)::

    out[n, f, i, j] = b[f] + Σ_c Σ_a Σ_b  w[f, c, a, b] · x_pad[n, c, s·i + d·a, s·j + d·b]

with x (N, C, H, W) the input, w (F, C, kh, kw) the F kernels, b (F,) one bias per kernel,
s the stride, d the dilation and x_pad the input with p zeros added on every side. The output
is (N, F, OH, OW) with ``OH = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1`` (same for OW).

Contents, in reading order:

1. :func:`conv_output_size` and :func:`receptive_field`: the arithmetic of convolutions.
2. :func:`corr1d` and :func:`corr2d`: the definition on one signal / one image, one kernel.
3. :func:`conv2d_forward_loops` / :func:`conv2d_backward_loops`: the formula above as nested
   loops, forward and backward, in the CS231n style ``out, cache = forward(...)``,
   ``grads = backward(dout, cache)``. Slow, but every line is the formula.
4. :func:`im2col` / :func:`col2im`: copy every receptive window into a column, so that the
   whole layer becomes one matrix product (Chellapilla, Puri & Simard, "High performance
   convolutional neural networks for document processing", 2006).
5. :func:`conv2d_forward` / :func:`conv2d_backward`: the im2col versions, same results.

Pooling, built on the same :func:`im2col`, is in :mod:`course_lib.scratch.pool`.
Convolutional networks: LeCun et al., "Backpropagation applied to handwritten zip code
recognition", Neural Computation 1989; LeCun, Bottou, Bengio & Haffner, "Gradient-based
learning applied to document recognition", Proc. IEEE 1998.
All functions keep the float dtype of their inputs; use float64 for gradient checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_lib.scratch.validate import as_float_array, check_grad_shape, check_int

__all__ = ["conv_output_size", "receptive_field", "corr1d", "corr2d",
           "conv2d_forward_loops", "conv2d_backward_loops", "pad2d", "im2col", "col2im",
           "conv2d_forward", "conv2d_backward"]


# ---------------------------------------------------------------------------------------------
# 1. Arithmetic: output size and receptive field
# ---------------------------------------------------------------------------------------------

def conv_output_size(n: int, k: int, padding: int = 0, stride: int = 1,
                     dilation: int = 1) -> int:
    """Length of a convolution's output along one axis: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1.

    Args:
        n: input length (≥ 1); k: kernel size (≥ 1); padding p (≥ 0) zeros on each side;
        stride s (≥ 1); dilation d (≥ 1): the kernel taps are d apart, so it spans d(k − 1) + 1.

    Returns:
        The output length (an int ≥ 1). Raises ValueError when the kernel does not fit.
    """
    where = "conv_output_size"
    n, k = check_int(n, where, "n", low=1), check_int(k, where, "k", low=1)
    p = check_int(padding, where, "padding", low=0)
    s = check_int(stride, where, "stride", low=1)
    d = check_int(dilation, where, "dilation", low=1)
    span = d * (k - 1) + 1                       # the kernel's extent in input pixels
    if n + 2 * p < span:
        raise ValueError(f"{where}: the kernel spans {span} pixels (k={k}, dilation={d}) but "
                         f"the padded input has only n + 2p = {n + 2 * p}")
    return (n + 2 * p - span) // s + 1


def receptive_field(kernel_sizes: Sequence[int], strides: Sequence[int] | None = None,
                    dilations: Sequence[int] | None = None) -> list[int]:
    """Receptive field, in input pixels, of one unit after each layer of a stack.

    With j_l the distance in input pixels between neighbouring units of layer l (the product
    of the strides so far, j_0 = 1) and r_0 = 1::

        r_l = r_{l-1} + d_l (k_l − 1) j_{l-1},      j_l = j_{l-1} s_l

    (pooling layers count as layers with their window k and stride s). Padding does not change
    the size, only where the window sits.

    Args:
        kernel_sizes: k_1, ..., k_L; strides: s_l (default all 1); dilations: d_l (default 1).

    Returns:
        ``[r_1, ..., r_L]``, a list of ints.
    """
    where = "receptive_field"
    L = len(kernel_sizes)
    strides = [1] * L if strides is None else list(strides)
    dilations = [1] * L if dilations is None else list(dilations)
    if len(strides) != L or len(dilations) != L:
        raise ValueError(f"{where}: kernel_sizes, strides and dilations must have the same "
                         f"length, got {L}, {len(strides)} and {len(dilations)}")
    r, jump, out = 1, 1, []
    for l_, (k, s, d) in enumerate(zip(kernel_sizes, strides, dilations, strict=True)):
        k = check_int(k, where, f"kernel_sizes[{l_}]", low=1)
        s = check_int(s, where, f"strides[{l_}]", low=1)
        d = check_int(d, where, f"dilations[{l_}]", low=1)
        r += d * (k - 1) * jump
        jump *= s
        out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# 2. The definition: one signal or one image, one kernel, no padding ("valid")
# ---------------------------------------------------------------------------------------------

def corr1d(x, w) -> np.ndarray:
    """Valid 1-D cross-correlation ``y[i] = Σ_a w[a] x[i + a]``.

    Args: x: (n,) signal; w: (k,) kernel, k ≤ n.
    Returns: y: (n − k + 1,). ``np.correlate(x, w, "valid")`` computes the same.
    """
    x = as_float_array(x, "corr1d", "x", ndim=1)
    w = as_float_array(w, "corr1d", "w", ndim=1)
    if len(w) > len(x):
        raise ValueError(f"corr1d: the kernel (length {len(w)}) is longer than x ({len(x)})")
    return np.array([np.sum(w * x[i:i + len(w)]) for i in range(len(x) - len(w) + 1)])


def corr2d(X, K) -> np.ndarray:
    """Valid 2-D cross-correlation ``Y[i, j] = Σ_a Σ_b K[a, b] X[i + a, j + b]``.

    Convolution in the mathematical sense flips the kernel first: ``corr2d(X, K[::-1, ::-1])``.

    Args: X: (H, W) image; K: (kh, kw) kernel with kh ≤ H, kw ≤ W.
    Returns: Y: (H − kh + 1, W − kw + 1).
    """
    X = as_float_array(X, "corr2d", "X", ndim=2)
    K = as_float_array(K, "corr2d", "K", ndim=2)
    kh, kw = K.shape
    if kh > X.shape[0] or kw > X.shape[1]:
        raise ValueError(f"corr2d: the kernel {K.shape} is larger than the image {X.shape}")
    Y = np.zeros((X.shape[0] - kh + 1, X.shape[1] - kw + 1), dtype=np.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = np.sum(K * X[i:i + kh, j:j + kw])
    return Y


# ---------------------------------------------------------------------------------------------
# 3. Multi-channel conv2d with nested loops
# ---------------------------------------------------------------------------------------------

def _check_conv(x, w, b, stride, padding, dilation, where: str):
    """Validate the arguments of a conv2d forward; return them as arrays/ints and (OH, OW)."""
    x = as_float_array(x, where, "x", ndim=4)
    w = as_float_array(w, where, "w", ndim=4)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"{where}: x is (N, C, H, W) = {x.shape} and w is (F, C, kh, kw) = "
                         f"{w.shape}; the channel counts C must match")
    b = (np.zeros(w.shape[0], dtype=w.dtype) if b is None
         else as_float_array(b, where, "b", ndim=1))
    if b.shape != (w.shape[0],):
        raise ValueError(f"{where}: b must have one bias per kernel, shape ({w.shape[0]},), "
                         f"got {b.shape}")
    s = check_int(stride, where, "stride", low=1)
    p = check_int(padding, where, "padding", low=0)
    d = check_int(dilation, where, "dilation", low=1)
    try:
        OH = conv_output_size(x.shape[2], w.shape[2], p, s, d)
        OW = conv_output_size(x.shape[3], w.shape[3], p, s, d)
    except ValueError as e:
        raise ValueError(f"{where}: x {x.shape} is too small for w {w.shape} with padding={p}, "
                         f"dilation={d} ({e})") from None
    return x, w, b, s, p, d, OH, OW


def pad2d(x: np.ndarray, p: int, value: float = 0.0) -> np.ndarray:
    """Add ``p`` rows and columns of ``value`` on every side of the last two axes.

    Args:
        x: (N, C, H, W) array. p: padding width (≥ 0; 0 returns ``x`` itself, not a copy).
        value: what the border holds: 0 for convolution and average pooling, −inf for max
            pooling (so that a padded cell is never the maximum).

    Returns:
        (N, C, H + 2p, W + 2p) array of ``x``'s dtype.
    """
    if p == 0:
        return x
    N, C, H, W = x.shape
    x_pad = np.full((N, C, H + 2 * p, W + 2 * p), value, dtype=x.dtype)
    x_pad[:, :, p:p + H, p:p + W] = x                 # (np.pad does the same, more slowly)
    return x_pad


def conv2d_forward_loops(x, w, b=None, stride: int = 1, padding: int = 0,
                         dilation: int = 1) -> tuple[np.ndarray, tuple]:
    """conv2d as four nested loops over (sample, kernel, output row, output column).

    Args:
        x: (N, C, H, W) input; w: (F, C, kh, kw) kernels; b: (F,) biases or None (zero);
        stride, padding (zeros on every side), dilation: ints as in ``F.conv2d``.

    Returns:
        ``out`` (N, F, OH, OW) and ``cache`` for :func:`conv2d_backward_loops`.
    """
    x, w, b, s, p, d, OH, OW = _check_conv(x, w, b, stride, padding, dilation,
                                           "conv2d_forward_loops")
    N, F = x.shape[0], w.shape[0]
    span_h, span_w = d * (w.shape[2] - 1) + 1, d * (w.shape[3] - 1) + 1
    x_pad = pad2d(x, p)                                           # (N, C, H + 2p, W + 2p)
    out = np.zeros((N, F, OH, OW), dtype=np.result_type(x, w))
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    window = x_pad[n, :, s * i:s * i + span_h:d, s * j:s * j + span_w:d]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]   # (C, kh, kw) · (C, kh, kw)
    return out, (x, w, s, p, d)


def conv2d_backward_loops(dout, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`conv2d_forward_loops`, the same loops run in reverse.

    Each output ``out[n, f, i, j]`` was ``Σ window · w[f] + b[f]``, so its gradient
    ``g = dout[n, f, i, j]`` flows to ``w[f]`` as ``g · window``, to the window of x as
    ``g · w[f]`` (summed where windows overlap) and to ``b[f]`` as ``g``.

    Args:
        dout: (N, F, OH, OW) upstream gradient; cache: from the forward pass.

    Returns:
        ``dx`` (N, C, H, W), ``dw`` (F, C, kh, kw), ``db`` (F,).
    """
    x, w, s, p, d = cache
    N, F, H, W = x.shape[0], w.shape[0], x.shape[2], x.shape[3]
    OH, OW = conv_output_size(H, w.shape[2], p, s, d), conv_output_size(W, w.shape[3], p, s, d)
    dout = check_grad_shape(dout, (N, F, OH, OW), "conv2d_backward_loops")
    span_h, span_w = d * (w.shape[2] - 1) + 1, d * (w.shape[3] - 1) + 1
    x_pad = pad2d(x, p)
    dx_pad, dw = np.zeros_like(x_pad, dtype=dout.dtype), np.zeros_like(w, dtype=dout.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    rows = slice(s * i, s * i + span_h, d)
                    cols = slice(s * j, s * j + span_w, d)
                    g = dout[n, f, i, j]
                    dw[f] += g * x_pad[n, :, rows, cols]
                    dx_pad[n, :, rows, cols] += g * w[f]
    db = dout.sum(axis=(0, 2, 3))                                 # (F,)
    return dx_pad[:, :, p:p + H, p:p + W], dw, db


# ---------------------------------------------------------------------------------------------
# 4. im2col and its adjoint col2im
# ---------------------------------------------------------------------------------------------

def im2col(x, kh: int, kw: int, stride: int = 1, padding: int = 0, dilation: int = 1,
           pad_value: float = 0.0) -> np.ndarray:
    """Unfold every (kh × kw) window of x into a column.

    ``cols[n, (c, a, b), (i, j)] = x_pad[n, c, s·i + d·a, s·j + d·b]``, as
    ``torch.nn.functional.unfold``. Instead of looping over the OH·OW output positions, it
    loops over the kh·kw kernel taps: tap (a, b) reads a strided slice of the whole batch.

    Args:
        x: (N, C, H, W); kh, kw: window size; stride, padding, dilation: ints;
        pad_value: what the padding holds (0 for convolution, −inf for max pooling).

    Returns:
        cols: (N, C·kh·kw, OH·OW), a new array.
    """
    x = as_float_array(x, "im2col", "x", ndim=4)
    N, C, H, W = x.shape
    s, p, d = stride, padding, dilation
    OH, OW = conv_output_size(H, kh, p, s, d), conv_output_size(W, kw, p, s, d)
    x_pad = pad2d(x, p, pad_value)                                # (N, C, H + 2p, W + 2p)
    cols = np.empty((N, C, kh, kw, OH, OW), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            r, c = d * a, d * b                   # where tap (a, b) sits for output (0, 0)
            cols[:, :, a, b] = x_pad[:, :, r:r + s * (OH - 1) + 1:s, c:c + s * (OW - 1) + 1:s]
    return cols.reshape(N, C * kh * kw, OH * OW)


def col2im(cols, x_shape: tuple, kh: int, kw: int, stride: int = 1, padding: int = 0,
           dilation: int = 1) -> np.ndarray:
    """The adjoint (transpose) of :func:`im2col`: add every column back into its window.

    Where windows overlap the values are summed, which is exactly what the backward pass
    needs: ``dx = col2im(dcols)`` when ``cols = im2col(x)``. As ``torch.nn.functional.fold``.

    Args:
        cols: (N, C·kh·kw, OH·OW); x_shape: (N, C, H, W) of the input of im2col; the same
            kh, kw, stride, padding, dilation.

    Returns:
        (N, C, H, W), padding cropped away.
    """
    N, C, H, W = x_shape
    s, p, d = stride, padding, dilation
    OH, OW = conv_output_size(H, kh, p, s, d), conv_output_size(W, kw, p, s, d)
    cols = as_float_array(cols, "col2im", "cols", ndim=3)
    if cols.shape != (N, C * kh * kw, OH * OW):
        raise ValueError(f"col2im: cols must have shape {(N, C * kh * kw, OH * OW)} for "
                         f"x_shape {tuple(x_shape)}, got {cols.shape}")
    cols = cols.reshape(N, C, kh, kw, OH, OW)
    x_pad = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            r, c = d * a, d * b
            x_pad[:, :, r:r + s * (OH - 1) + 1:s, c:c + s * (OW - 1) + 1:s] += cols[:, :, a, b]
    return x_pad[:, :, p:p + H, p:p + W]


# ---------------------------------------------------------------------------------------------
# 5. conv2d as one matrix product
# ---------------------------------------------------------------------------------------------

def _unfold(x, kh, kw, s, p, d, OH, OW) -> np.ndarray:
    """im2col for the whole batch as one matrix, ``cols`` (C·kh·kw, OH·OW·N).

    Two layout choices make it fast: the batch sits in the columns, so that the layer is one
    large matrix product instead of N small ones; and the batch is the innermost axis (the
    "CHWN" layout of cuda-convnet), so that each kernel tap copies runs of N·OW contiguous
    numbers instead of rows of OW."""
    N, C, H, W = x.shape
    x_pad = np.zeros((C, H + 2 * p, W + 2 * p, N), dtype=x.dtype)
    x_pad[:, p:p + H, p:p + W] = x.transpose(1, 2, 3, 0)          # (C, H + 2p, W + 2p, N)
    cols = np.empty((C, kh, kw, OH, OW, N), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            r, c = d * a, d * b                   # where tap (a, b) sits for output (0, 0)
            cols[:, a, b] = x_pad[:, r:r + s * (OH - 1) + 1:s, c:c + s * (OW - 1) + 1:s]
    return cols.reshape(C * kh * kw, OH * OW * N)


def _batch_to_front(a: np.ndarray) -> np.ndarray:
    """``a`` (..., N), batch last, copied to a new C-contiguous (N, ...) array, batch first.

    A cache-blocked transpose. As one strided copy, NumPy writes the result a sample at a time
    and reads ``a`` down a column: each cache line it fetches (16 float32 or 8 float64 numbers
    of one position, from consecutive samples) gives it one number and is evicted before the
    next sample wants the next, so every line comes from memory up to 16 times. Copied in
    blocks of rows of about 32 KB, a block stays in the L1 cache until all N samples have taken
    their share. ``a`` must reshape to (rows, N) without copying (the GEMM output and a whole
    padded image do).
    """
    N = a.shape[-1]
    rows = a.reshape(-1, N)                                       # (R, N)
    block = max(1, 32768 // (N * a.itemsize))                     # rows per block
    out = np.empty((N, rows.shape[0]), dtype=a.dtype)
    for r in range(0, rows.shape[0], block):
        out[:, r:r + block] = rows[r:r + block].T
    return out.reshape(N, *a.shape[:-1])


def _fold_matmul(w, dout_rows, x_shape, s, p, d, OH, OW) -> np.ndarray:
    """``col2im(W_rowᵀ @ dout_rows)`` without the (C·kh·kw, OH·OW·N) matrix ``dcols``: each
    kernel tap's share, ``w[:, :, a, b]ᵀ @ dout_rows`` (C, OH·OW·N), is added into the image as
    soon as it is computed (one vectorised add per tap, never one per pixel or ``np.add.at``).
    Smaller temporaries, so less time spent fetching fresh memory from the system."""
    N, C, H, W = x_shape
    F, _, kh, kw = w.shape
    dx_pad = np.zeros((C, H + 2 * p, W + 2 * p, N), dtype=np.result_type(w, dout_rows))
    for a in range(kh):
        for b in range(kw):
            r, c = d * a, d * b
            dx_tap = (w[:, :, a, b].T @ dout_rows).reshape(C, OH, OW, N)
            dx_pad[:, r:r + s * (OH - 1) + 1:s, c:c + s * (OW - 1) + 1:s] += dx_tap
    return np.ascontiguousarray(_batch_to_front(dx_pad)[:, :, p:p + H, p:p + W])


def conv2d_forward(x, w, b=None, stride: int = 1, padding: int = 0,
                   dilation: int = 1) -> tuple[np.ndarray, tuple]:
    """conv2d with im2col: ``out = W_row @ cols + b``, identical to the loops.

    The columns of the whole batch sit side by side, ``cols`` (C·kh·kw, OH·OW·N), so the layer
    is a single large matrix product (BLAS is fastest on one big GEMM, not on N small ones).

    Args:
        x: (N, C, H, W) input; w: (F, C, kh, kw) kernels; b: (F,) biases or None (zero);
        stride, padding, dilation: ints as in ``torch.nn.functional.conv2d``.

    Returns:
        ``out`` (N, F, OH, OW) and ``cache`` for :func:`conv2d_backward`.
    """
    x, w, b, s, p, d, OH, OW = _check_conv(x, w, b, stride, padding, dilation, "conv2d_forward")
    N, F, _, kh, kw = x.shape[0], *w.shape
    cols = _unfold(x, kh, kw, s, p, d, OH, OW)                    # (C·kh·kw, OH·OW·N)
    W_row = w.reshape(F, -1)                                      # (F, C·kh·kw)
    out = W_row @ cols                                            # (F, OH·OW·N): one GEMM
    out += b[:, None]
    out = _batch_to_front(out.reshape(F, OH, OW, N))              # (N, F, OH, OW)
    return out, (x.shape, cols, w, s, p, d)


def conv2d_backward(dout, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`conv2d_forward`: the backward of a matrix product, then col2im.

    With ``out = W_row cols + b`` (the whole batch at once):
    ``dW_row = dout colsᵀ``, ``dcols = W_rowᵀ dout``, ``db = Σ dout``.

    Args:
        dout: (N, F, OH, OW) upstream gradient; cache: from the forward pass.

    Returns:
        ``dx`` (N, C, H, W), ``dw`` (F, C, kh, kw), ``db`` (F,).
    """
    x_shape, cols, w, s, p, d = cache
    N, F, kh = x_shape[0], w.shape[0], w.shape[2]
    OH = conv_output_size(x_shape[2], kh, p, s, d)
    OW = cols.shape[1] // (N * OH)
    dout = check_grad_shape(dout, (N, F, OH, OW), "conv2d_backward")
    dout_rows = dout.transpose(1, 2, 3, 0).reshape(F, -1)        # (F, OH·OW·N)
    dW_row = dout_rows @ cols.T                                   # (F, C·kh·kw)
    dx = _fold_matmul(w, dout_rows, x_shape, s, p, d, OH, OW)     # col2im(W_rowᵀ dout_rows)
    return dx, dW_row.reshape(w.shape), dout_rows.sum(axis=1)
