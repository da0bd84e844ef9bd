"""Checking helpers: numeric gradients, relative error, scratch-vs-PyTorch comparison.

    cmp = compare_with_torch(scratch_softmax, torch.softmax_last, make_inputs)
    assert cmp.ok

``compare_with_torch`` runs both functions on the same random inputs (float64), and
reports the worst element: which trial, which index, the two values and the errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.gradcheck import numeric_gradient, numeric_gradient_array, rel_error
from course_lib.scratch.validate import check_int, check_positive

__all__ = ["numeric_gradient", "numeric_gradient_array", "rel_error", "compare_with_torch",
           "Comparison"]


@dataclass
class Comparison:
    """Result of :func:`compare_with_torch`.

    ``max_abs``/``max_rel`` are the worst errors over all trials and elements; ``worst``
    describes where the worst absolute error occurred.
    """

    name: str
    ok: bool
    trials: int
    max_abs: float
    max_rel: float
    worst: str
    rtol: float
    atol: float

    def __str__(self) -> str:
        mark = "OK " if self.ok else "MISMATCH"
        return (f"{mark} {self.name}: {self.trials} random trials, max abs error "
                f"{self.max_abs:.2e}, max rel error {self.max_rel:.2e} "
                f"(tolerance rtol={self.rtol:g}, atol={self.atol:g}); worst: {self.worst}")

    def __bool__(self) -> bool:
        return self.ok


def _to_numpy(value, who: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"compare_with_torch: {who} must return an array or tensor of "
                        f"numbers, got {type(value).__name__} ({e})") from None


def compare_with_torch(scratch_fn: Callable, torch_fn: Callable,
                       make_inputs: Callable[[np.random.Generator], tuple], *,
                       trials: int = 5, seed: int = 0, rtol: float = 1e-7, atol: float = 1e-10,
                       name: str = "", verbose: bool = True) -> Comparison:
    """Run a NumPy function and a PyTorch function on the same random inputs and compare.

    Args:
        scratch_fn: takes the NumPy arrays from ``make_inputs`` and returns an array.
        torch_fn: takes the same inputs as float64 torch tensors (integer arrays stay integer)
            and returns a tensor.
        make_inputs: ``make_inputs(rng) -> tuple of arrays``; called once per trial with a
            Generator seeded from ``seed`` and the trial number, so every run is identical.
        trials: number of random trials (≥ 1).
        rtol, atol: an element passes when ``|s - t| <= atol + rtol * |t|``.
        name: shown in the report.
        verbose: print the one-line report.

    Returns:
        A :class:`Comparison`; ``bool(cmp)`` is ``cmp.ok``.
    """
    import torch

    trials = check_int(trials, "compare_with_torch", "trials", low=1)
    rtol = check_positive(rtol, "compare_with_torch", "rtol", allow_zero=True)
    atol = check_positive(atol, "compare_with_torch", "atol", allow_zero=True)
    name = name or getattr(scratch_fn, "__name__", "scratch function")
    ok, max_abs, max_rel, worst, worst_abs = True, 0.0, 0.0, "all elements equal", -1.0
    for t in range(trials):
        rng = np.random.default_rng([seed, t])
        inputs = make_inputs(rng)
        if not isinstance(inputs, tuple):
            inputs = (inputs,)
        s = _to_numpy(scratch_fn(*inputs), "scratch_fn")
        tensors = [torch.from_numpy(np.array(a, dtype=np.float64 if np.asarray(a).dtype.kind == "f"
                                             else None)) for a in inputs]
        r = _to_numpy(torch_fn(*tensors), "torch_fn")
        if s.shape != r.shape:
            shapes = [np.shape(a) for a in inputs]
            result = Comparison(name, False, t + 1, np.inf, np.inf,
                                f"trial {t}: shapes differ, scratch {s.shape} vs torch {r.shape} "
                                f"(inputs {shapes})", rtol, atol)
            if verbose:
                print(result)
            return result
        if s.size == 0:
            continue
        diff = np.abs(s - r)
        diff = np.where(np.isnan(s) & np.isnan(r), 0.0, diff)  # NaN in both: agree
        diff = np.where(np.isnan(diff), np.inf, diff)
        bad = diff > atol + rtol * np.abs(r)
        ok &= not bool(np.any(bad))
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
        rel = diff / np.maximum(np.abs(r), 1e-300)
        max_rel = max(max_rel, float(np.max(np.where(diff == 0, 0.0, rel))))
        if diff[idx] > worst_abs:
            worst_abs = float(diff[idx])
            worst = f"trial {t}, index {tuple(int(i) for i in idx)}: scratch {s[idx]:.10g} vs " \
                    f"torch {r[idx]:.10g}"
        max_abs = max(max_abs, float(diff[idx]))
    result = Comparison(name, bool(ok), trials, max_abs, max_rel, worst, rtol, atol)
    if verbose:
        print(result)
    return result
