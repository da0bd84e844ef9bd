"""Numeric gradients by central differences, and the relative error used to compare them.

CS231n-style gradient checking: compare an analytic gradient with

    df/dx_i ≈ (f(x + h e_i) - f(x - h e_i)) / (2h),

whose truncation error is O(h²) and whose round-off error is O(ε/h), so h ≈ 1e-6 is a
good compromise in float64 (chapter 02 plots the trade-off).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.scratch.validate import as_array, check_positive


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                     h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function.

    Args:
        f: maps an array shaped like ``x`` to a scalar (a Python float or 0-d array).
        x: the point, any shape; use float64 for gradient checks.
        h: the step.

    Returns:
        ``grad`` with ``grad.shape == x.shape`` and ``grad.dtype == float64``.
        ``x`` is left unchanged.
    """
    x = as_array(x, "numeric_gradient", "x", dtype_kind="f").astype(np.float64, copy=True)
    h = check_positive(h, "numeric_gradient", "h")
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        f_plus = _scalar(f(x))
        flat_x[i] = old - h
        f_minus = _scalar(f(x))
        flat_x[i] = old
        flat_g[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numeric_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                           dout: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Numeric gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    This is how a layer's backward pass is checked: ``dout`` is the upstream gradient
    (same shape as ``f(x)``), and the result has the shape of ``x``.
    """
    dout = as_array(dout, "numeric_gradient_array", "dout", dtype_kind="f", allow_empty=True)
    return numeric_gradient(lambda z: float(np.sum(f(z) * dout)), x, h)


def rel_error(a, b, eps: float = 1e-12) -> float:
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, eps)``.

    ``a`` and ``b`` must have the same shape. Returns 0.0 for two empty arrays.
    """
    a = as_array(a, "rel_error", "a", allow_empty=True).astype(np.float64)
    b = as_array(b, "rel_error", "b", allow_empty=True).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: a and b must have the same shape, "
                         f"got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))


def _scalar(value) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"numeric_gradient: f must return a scalar, got shape {arr.shape}")
    return float(arr.reshape(()))
