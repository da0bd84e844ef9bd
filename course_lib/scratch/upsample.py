"""Going back up in a convolutional decoder (NumPy only): max-unpooling, transposed convolution.

An encoder shrinks an image with pooling and strided convolutions; a decoder must grow it
back. Two learnable-or-not ways, both in ``torch.nn``:

**Max-unpooling** (反池化; Zeiler & Fergus, "Visualizing and understanding convolutional
networks", ECCV 2014; SegNet, Badrinarayanan et al. 2017). Max pooling remembers *where* each
maximum was (its index); unpooling writes each value back at that place and zeros
elsewhere::

    pool:    y[n, c, i, j] = x[n, c, ind],   ind = argmax over window (i, j)  (flat h·W + w)
    unpool:  out[n, c, ind[n, c, i, j]] = y[n, c, i, j],  every other pixel 0

**Transposed convolution** (转置卷积, often miscalled "deconvolution"; Zeiler et al. 2010,
Long, Shelhamer & Darrell, FCN 2015). Every input pixel stamps a copy of the kernel, scaled by
its value, onto the output, the stamps ``stride`` pixels apart and summed where they overlap::

    out[n, o, s·i + a − p, s·j + b − p] += x[n, c, i, j] · w[c, o, a, b]
    out size: (H − 1)·s − 2p + k

It is the transpose (adjoint) of the convolution with the same w, s and p: the map that
backpropagation applies to send a gradient from a conv layer's output to its input.
Index and weight layouts are PyTorch's (``max_pool2d(..., return_indices=True)``,
``max_unpool2d``, ``conv_transpose2d`` with w of shape (C_in, C_out, k, k)).
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.validate import as_array, as_images, check_int

__all__ = ["max_pool2d_with_indices", "max_unpool2d", "conv_transpose2d"]


def max_pool2d_with_indices(x, kernel_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling over non-overlapping k × k windows (stride k), keeping the argmax.

    Args:
        x: (N, C, H, W) images, H and W >= k (trailing rows/columns that do not fill a
            window are dropped, as in torch).
        kernel_size: k >= 1.

    Returns:
        y (N, C, H//k, W//k) the window maxima, and indices (N, C, H//k, W//k) int64, the
        position of each maximum as a flat index h·W + w into its (H, W) plane (the first
        one on a tie), exactly like ``torch.nn.functional.max_pool2d(x, k,
        return_indices=True)``.
    """
    x = as_images(x, "max_pool2d_with_indices")
    k = check_int(kernel_size, "max_pool2d_with_indices", "kernel_size", low=1)
    N, C, H, W = x.shape
    OH, OW = H // k, W // k
    if OH == 0 or OW == 0:
        raise ValueError(f"max_pool2d_with_indices: the {k}x{k} window does not fit x of "
                         f"shape {x.shape}")
    win = x[:, :, :OH * k, :OW * k].reshape(N, C, OH, k, OW, k)
    win = win.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, OH, OW, k * k)   # (N, C, OH, OW, k²)
    arg = win.argmax(axis=-1)                                             # row-major in window
    y = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    rows = np.arange(OH)[:, None] * k + arg // k                         # (N, C, OH, OW)
    cols = np.arange(OW)[None, :] * k + arg % k
    return y, (rows * W + cols).astype(np.int64)


def max_unpool2d(y, indices, output_size: tuple[int, int]) -> np.ndarray:
    """Max-unpooling: put each value of y back at the position its index names, zeros elsewhere.

    Args:
        y: (N, C, h, w) values. indices: (N, C, h, w) flat positions h·W + w in the output
            plane, e.g. from :func:`max_pool2d_with_indices`.
        output_size: (H, W) of the output plane.

    Returns:
        (N, C, H, W) with ``out.reshape(N, C, -1)[n, c, indices[n, c]] = y[n, c]``, as
        ``torch.nn.functional.max_unpool2d(y, indices, k, output_size=(H, W))``.
    """
    y = as_images(y, "max_unpool2d", "y")
    ind = as_array(indices, "max_unpool2d", "indices", ndim=4, dtype_kind="iu")
    if ind.shape != y.shape:
        raise ValueError(f"max_unpool2d: indices must have the shape of y {y.shape}, "
                         f"got {ind.shape}")
    if not (isinstance(output_size, (tuple, list)) and len(output_size) == 2):
        raise TypeError(f"max_unpool2d: output_size must be a pair (H, W), got {output_size!r}")
    H = check_int(output_size[0], "max_unpool2d", "output_size[0]", low=1)
    W = check_int(output_size[1], "max_unpool2d", "output_size[1]", low=1)
    if ind.min() < 0 or ind.max() >= H * W:
        raise ValueError(f"max_unpool2d: indices must lie in 0..{H * W - 1} for output "
                         f"{(H, W)}, got {ind.min()}..{ind.max()}")
    N, C = y.shape[:2]
    out = np.zeros((N, C, H * W), dtype=y.dtype)
    np.put_along_axis(out, ind.reshape(N, C, -1), y.reshape(N, C, -1), axis=2)
    return out.reshape(N, C, H, W)


def conv_transpose2d(x, w, b=None, stride: int = 1, padding: int = 0,
                     output_padding: int = 0) -> np.ndarray:
    """Transposed convolution: each input pixel adds ``x · kernel`` to the output, s apart.

    ``full[n, o, s·i + a, s·j + b'] += Σ_c x[n, c, i, j] · w[c, o, a, b']``, then ``padding``
    rows/columns are cut from every side (``output_padding`` extra rows/columns of the full
    result are kept at the bottom/right) and the bias added. One loop over the k × k kernel
    offsets; each offset writes a strided slice of the output at once.

    Args:
        x: (N, C_in, H, W). w: (C_in, C_out, k, k), PyTorch's layout for this layer.
        b: (C_out,) or None. stride: s >= 1. padding: p >= 0.
        output_padding: 0 <= op < s, to reach an exact size, e.g. 7 → 14 with k = 3, s = 2,
            p = 1, op = 1.

    Returns:
        (N, C_out, (H − 1)s − 2p + k + op, (W − 1)s − 2p + k + op), the same as
        ``torch.nn.functional.conv_transpose2d(x, w, b, stride, padding, output_padding)``.
    """
    x = as_images(x, "conv_transpose2d")
    w = as_images(w, "conv_transpose2d", "w")
    N, C, H, W = x.shape
    if w.shape[0] != C:
        raise ValueError(f"conv_transpose2d: w must be (C_in={C}, C_out, k, k) for x {x.shape}, "
                         f"got {w.shape}")
    _, O, kh, kw = w.shape
    s = check_int(stride, "conv_transpose2d", "stride", low=1)
    p = check_int(padding, "conv_transpose2d", "padding", low=0)
    op = check_int(output_padding, "conv_transpose2d", "output_padding", low=0, high=s - 1)
    FH, FW = (H - 1) * s + kh + op, (W - 1) * s + kw + op          # size before cropping
    if FH - 2 * p < 1 or FW - 2 * p < 1:
        raise ValueError(f"conv_transpose2d: padding {p} leaves no output for x {x.shape} "
                         f"and kernel {kh}x{kw}")
    full = np.zeros((N, O, FH, FW), dtype=np.result_type(x, w))
    for a in range(kh):
        for c in range(kw):
            # every input pixel (i, j) lands on (s·i + a, s·j + c): a strided slice
            full[:, :, a:a + s * (H - 1) + 1:s, c:c + s * (W - 1) + 1:s] += \
                np.einsum("nchw,co->nohw", x, w[:, :, a, c])
    out = full[:, :, p:FH - p, p:FW - p]                           # (N, O, FH − 2p, FW − 2p)
    if b is not None:
        b = as_array(b, "conv_transpose2d", "b", ndim=1)
        if b.shape != (O,):
            raise ValueError(f"conv_transpose2d: b must have shape ({O},), got {b.shape}")
        out = out + b[None, :, None, None]
    return np.ascontiguousarray(out)
