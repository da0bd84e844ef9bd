"""Checking helpers: numeric gradients, relative error, scratch-vs-PyTorch comparison.

    cmp = compare_with_torch(scratch_softmax, torch.softmax_last, make_inputs)
    assert cmp.ok

``compare_with_torch`` runs both functions on the same random inputs (float64), and
reports the worst element: which trial, which index, the two values and the errors.

:func:`compare_arrays` is the one elementwise comparison of a value with an expected value
(shape, tolerance ``|got − expected| <= atol + rtol·|expected|``, NaN handling, worst element,
relative error). ``compare_with_torch`` and the exercise checks
(:func:`course_lib.exercises.check_function`) both use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.gradcheck import numeric_gradient, numeric_gradient_array, rel_error
from course_lib.scratch.validate import check_int, check_positive

__all__ = ["numeric_gradient", "numeric_gradient_array", "rel_error", "compare_with_torch",
           "Comparison", "compare_arrays", "ArrayComparison", "as_numpy"]


def as_numpy(value, dtype=None) -> np.ndarray:
    """``value`` as a NumPy array: a torch tensor is detached and moved to the CPU first."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=dtype)


@dataclass(frozen=True, eq=False)
class ArrayComparison:
    """Elementwise comparison of ``got`` with ``expected`` (see :func:`compare_arrays`).

    ``got`` and ``expected`` are the float64 arrays compared. When the shapes agree,
    ``abs_err`` is ``|got − expected|`` (0 where the two are equal, equal infinities and,
    with ``equal_nan``, two NaN included; inf where the difference is NaN), and ``bad`` marks
    the elements outside the tolerance; when the shapes differ both are None and ``ok`` is
    False.
    """

    got: np.ndarray
    expected: np.ndarray
    rtol: float
    atol: float
    abs_err: np.ndarray | None
    bad: np.ndarray | None

    @property
    def same_shape(self) -> bool:
        return self.abs_err is not None

    @property
    def ok(self) -> bool:
        return self.same_shape and not bool(np.any(self.bad))

    @property
    def n_bad(self) -> int:
        return int(np.sum(self.bad)) if self.same_shape else self.expected.size

    def worst_index(self, among_bad: bool = False) -> tuple[int, ...] | None:
        """Index of the largest absolute error (only among the elements outside the
        tolerance with ``among_bad``); None for empty arrays or different shapes."""
        if not self.same_shape or self.abs_err.size == 0:
            return None
        err = np.where(self.bad, self.abs_err, -1.0) if among_bad else self.abs_err
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))

    @property
    def max_abs(self) -> float:
        """The largest absolute error (inf when the shapes differ, 0 for empty arrays)."""
        if not self.same_shape:
            return np.inf
        return float(self.abs_err.max()) if self.abs_err.size else 0.0

    @property
    def max_rel(self) -> float:
        """The largest ``|got − expected| / |expected|`` over the elements that differ."""
        if not self.same_shape:
            return np.inf
        if self.abs_err.size == 0:
            return 0.0
        with np.errstate(invalid="ignore", over="ignore"):
            rel = self.abs_err / np.maximum(np.abs(self.expected), 1e-300)
        return float(np.max(np.where(self.abs_err == 0, 0.0, rel)))


def compare_arrays(got, expected, *, rtol: float, atol: float,
                   equal_nan: bool = False) -> ArrayComparison:
    """Compare ``got`` with ``expected`` elementwise, in float64.

    An element passes when ``|got − expected| <= atol + rtol·|expected|`` or when the two
    are equal (so inf matches inf of the same sign). An infinite expected value matches only
    itself, and a NaN on either side fails, except that with ``equal_nan`` a NaN in both
    places counts as equal. Arrays of different shapes fail as a whole (no broadcasting).

    Args:
        got, expected: arrays (or anything ``np.asarray`` turns into numbers; torch tensors
            are detached).
        rtol, atol: the tolerances (>= 0).
        equal_nan: treat NaN in both arrays as a match.

    Returns:
        An :class:`ArrayComparison`: ``ok``, ``n_bad``, ``worst_index()``, ``max_abs``,
        ``max_rel`` and the arrays themselves, for the caller to word its report.
    """
    g = as_numpy(got).astype(np.float64)
    e = as_numpy(expected).astype(np.float64)
    if g.shape != e.shape:
        return ArrayComparison(g, e, rtol, atol, None, None)
    with np.errstate(invalid="ignore"):
        diff = np.abs(g - e)                                 # NaN for inf − inf and for NaN
        same = g == e                                        # exact, equal infinities included
        if equal_nan:
            same |= np.isnan(g) & np.isnan(e)
        tol = atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
        bad = ~(same | (diff <= tol))                        # NaN (or inf) diff: never close
    diff = np.where(same, 0.0, np.where(np.isnan(diff), np.inf, diff))
    return ArrayComparison(g, e, rtol, atol, diff, bad)


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
    try:
        return as_numpy(value, dtype=np.float64)
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
        rtol, atol: an element passes when ``|s - t| <= atol + rtol * |t|``, or when both are
            NaN or the same infinity (:func:`compare_arrays` with ``equal_nan=True``).
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
        cmp = compare_arrays(s, r, rtol=rtol, atol=atol, equal_nan=True)  # NaN in both: agree
        if not cmp.same_shape:
            shapes = [np.shape(a) for a in inputs]
            result = Comparison(name, False, t + 1, np.inf, np.inf,
                                f"trial {t}: shapes differ, scratch {s.shape} vs torch {r.shape} "
                                f"(inputs {shapes})", rtol, atol)
            if verbose:
                print(result)
            return result
        if s.size == 0:
            continue
        ok &= cmp.ok
        idx = cmp.worst_index()
        max_rel = max(max_rel, cmp.max_rel)
        if cmp.abs_err[idx] > worst_abs:
            worst_abs = float(cmp.abs_err[idx])
            worst = f"trial {t}, index {idx}: scratch {s[idx]:.10g} vs torch {r[idx]:.10g}"
        max_abs = max(max_abs, cmp.max_abs)
    result = Comparison(name, bool(ok), trials, max_abs, max_rel, worst, rtol, atol)
    if verbose:
        print(result)
    return result
