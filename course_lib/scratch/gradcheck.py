"""Numeric gradients by central differences, and the relative error used to compare them.

CS231n-style gradient checking: compare an analytic gradient with

    df/dx_i ≈ (f(x + h e_i) - f(x - h e_i)) / (2h),

whose truncation error is O(h²) and whose round-off error is O(ε/h), so h ≈ 1e-6 is a
good compromise in float64 (chapter 02 plots the trade-off).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.scratch.validate import as_array, as_float_array, check_positive


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


def numeric_vjp(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout=None, *,
                h: float = 1e-5, order: int = 2) -> np.ndarray:
    """Numeric vector-Jacobian product ``g_i = Σ_j dout_j ∂f_j/∂x_i`` by central differences:
    what a layer's backward pass must return for the upstream gradient ``dout``.

    Unlike :func:`numeric_gradient_array`, the outputs are differenced *before* they are
    weighted and summed (as CS231n's ``eval_numerical_gradient_array``): outputs that do
    not depend on ``x_i`` cancel exactly instead of adding round-off the size of the whole
    sum, so each entry's error is set by its own outputs only.

    - ``order=2``: ``(f(x+h) − f(x−h)) / 2h``; error O(h²) + O(ε/h), best h ≈ 1e-5.
    - ``order=4``: ``(8[f(x+h) − f(x−h)] − [f(x+2h) − f(x−2h)]) / 12h``, the five-point
      stencil (Richardson extrapolation of the first); error O(h⁴) + O(ε/h), best
      h ≈ 1e-3, about 100 times more accurate, but only where f is smooth within 2h of
      x (no ReLU kink that close).

    Args:
        f: maps an array shaped like ``x`` to an array shaped like ``dout`` (or a scalar).
        x: the point, float, any shape; left unchanged.
        dout: the upstream gradient, shaped like ``f(x)``; None for a scalar ``f`` (dout = 1).
        h: the step (> 0).
        order: 2 or 4.

    Returns:
        float64 array shaped like ``x``.
    """
    where = "numeric_vjp"
    x = as_array(x, where, "x", dtype_kind="f").astype(np.float64, copy=True)
    h = check_positive(h, where, "h")
    if order not in (2, 4):
        raise ValueError(f"{where}: order must be 2 or 4, got {order!r}")
    dout = (np.array(1.0) if dout is None else
            as_float_array(dout, where, "dout", allow_empty=True, dtype=np.float64))
    flat_x = x.reshape(-1)
    grad = np.zeros_like(x)
    flat_g = grad.reshape(-1)

    def f_at(i: int, step: float) -> np.ndarray:
        old = flat_x[i]
        flat_x[i] = old + step
        out = np.asarray(f(x), dtype=np.float64)
        flat_x[i] = old
        if out.shape != dout.shape:
            raise ValueError(f"{where}: f(x) has shape {out.shape} but dout has shape "
                             f"{dout.shape}; they must match (dout=None for a scalar f)")
        return out

    for i in range(flat_x.size):
        d1 = f_at(i, h) - f_at(i, -h)                    # shape of f(x)
        if order == 2:
            flat_g[i] = np.sum(d1 * dout) / (2 * h)
        else:
            d2 = f_at(i, 2 * h) - f_at(i, -2 * h)
            flat_g[i] = np.sum((8 * d1 - d2) * dout) / (12 * h)
    return grad


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
