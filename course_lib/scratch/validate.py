"""Input checks shared by the public functions of course_lib (NumPy only).

Each helper raises ``TypeError`` or ``ValueError`` with a message of the form
``"<where>: <what> must be <expected>, got <what came>"`` so a learner sees at once
what to fix, instead of a traceback from deep inside NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_array(x, where: str, name: str, *, ndim: int | Sequence[int] | None = None,
             dtype_kind: str = "fiub", allow_empty: bool = False) -> np.ndarray:
    """Convert ``x`` to an ndarray and check its number of dimensions and dtype kind.

    Args:
        x: anything ``np.asarray`` accepts (a torch tensor is refused with a hint).
        where: the public function's name, used in messages.
        name: the argument's name, used in messages.
        ndim: the allowed number(s) of dimensions, or None for any.
        dtype_kind: allowed ``dtype.kind`` letters (default: float, int, unsigned, bool).
        allow_empty: whether an array with a zero-length axis is acceptable.

    Returns:
        The array (not copied when already an ndarray).
    """
    if type(x).__module__.startswith("torch"):
        raise TypeError(f"{where}: {name} must be a NumPy array, got a torch tensor; "
                        f"use .detach().cpu().numpy() first")
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{where}: {name} must be an array of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{where}: {name} must be an array of numbers, "
                        f"got {type(x).__name__} ({e})") from None
    if arr.dtype.kind not in dtype_kind:
        raise TypeError(f"{where}: {name} must have a numeric dtype, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{where}: {name} must be a {want} array, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{where}: {name} must not be empty, got shape {arr.shape}")
    return arr


def check_finite(arr: np.ndarray, where: str, name: str) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity."""
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: {name} contains NaN or inf values")


def check_int(value, where: str, name: str, *, low: int | None = None,
              high: int | None = None) -> int:
    """Check that ``value`` is an integer in ``[low, high]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{where}: {name} must be in [{lo}, {hi}], got {value}")
    return value


def check_positive(value, where: str, name: str, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not np.isfinite(value):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{where}: {name} must be finite and {bound}, got {value}")
    return value


def check_same_shape(a: np.ndarray, b: np.ndarray, where: str, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{where}: {name_a} and {name_b} must have the same shape, "
                         f"got {a.shape} and {b.shape}")
