"""Checks for the exercises of chapter 00 (Welcome)."""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function


def _mse(y_hat: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((y_hat - y) ** 2))


def _mse_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(1, 20))
    return rng.normal(size=n), rng.normal(size=n)


def check_mse(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(y_hat, y) -> float``: the mean squared error of two (N,) arrays."""
    return check_function(fn, _mse, _mse_inputs, name="mean squared error", strict=strict,
                          hint="square the differences, then average: np.mean((y_hat - y) ** 2)")
