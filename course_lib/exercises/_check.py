"""The exercise-checking engine: :func:`check_function` and its :class:`Verdict`.

``check_function`` runs a learner's function and a reference on the same seeded random
inputs and turns whatever happens (a crash, ``NotImplementedError``, a wrong shape, a wrong
value) into a short printed verdict; in strict mode (``$COURSE_STRICT_CHECKS``) a failure
also raises :class:`ExerciseFailed`. Each verdict of a chapter's check is recorded by
:func:`course_lib.progress.record_verdict` (the learner's progress file). Values are compared by
:func:`course_lib.checks.compare_arrays`, the comparison ``compare_with_torch`` uses too.
The public names are re-exported by :mod:`course_lib.exercises`.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_lib.checks import as_numpy, compare_arrays
from course_lib.progress import record_verdict

STRICT_ENV = "COURSE_STRICT_CHECKS"

__all__ = ["check_function", "Verdict", "ExerciseFailed", "STRICT_ENV", "random_shape"]


class ExerciseFailed(AssertionError):
    """Raised by a failed check in strict mode (``COURSE_STRICT_CHECKS=1``)."""


@dataclass
class Verdict:
    """The outcome of one exercise check. ``bool(verdict)`` is ``verdict.passed``."""

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        # The check already printed its message; showing it again as Out[] would repeat it.
        pass


def _describe(args: tuple) -> str:
    parts = []
    for a in args:
        if isinstance(a, np.ndarray):
            parts.append(f"array{a.shape} {a.dtype}")
        elif callable(a):
            parts.append(getattr(a, "__name__", "function"))
        else:
            text = repr(a)
            parts.append(text if len(text) < 40 else text[:37] + "...")
    return "(" + ", ".join(parts) + ")"


def _copy(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _compare(got, expected, rtol: float, atol: float, path: str = "") -> str | None:
    """Return None when ``got`` matches ``expected``, else a sentence saying what differs."""
    where = f" in output {path}" if path else ""
    if isinstance(expected, (tuple, list)) and not isinstance(expected, np.ndarray):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (tuple, list)) else 1
            return f"expected {len(expected)} outputs{where}, got {n}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = _compare(g, e, rtol, atol, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if got is None:
        return f"returned None{where}; did you forget a `return` statement?"
    if isinstance(got, (tuple, list)) and np.ndim(expected) > 0:
        return (f"expected one array of shape {np.shape(expected)}{where}, "
                f"got a {type(got).__name__} of {len(got)} items")
    try:
        g = as_numpy(got)
        e = as_numpy(expected)
    except Exception as err:  # noqa: BLE001 - anything the learner returns must be handled
        return f"returned a {type(got).__name__}{where} that is not an array ({err})"
    if g.dtype == object or g.dtype.kind not in "fiubc":
        return f"returned {type(got).__name__}{where} with dtype {g.dtype}; expected numbers"
    cmp = compare_arrays(g, e, rtol=rtol, atol=atol)
    if not cmp.same_shape:
        return f"wrong shape{where}: expected {e.shape}, got {g.shape}"
    if e.size == 0:
        return None
    if not np.all(np.isfinite(cmp.got)) and np.all(np.isfinite(cmp.expected)):
        return f"the result{where} contains NaN or inf"
    if not cmp.ok:
        idx = cmp.worst_index(among_bad=True)
        pos = f" at index {idx}" if e.ndim else ""
        return (f"wrong value{where}{pos}: expected {cmp.expected[idx]:.6g}, "
                f"got {cmp.got[idx]:.6g} ({cmp.n_bad} of {e.size} elements differ)")
    return None


def random_shape(rng: np.random.Generator, max_ndim: int = 2,
                 max_size: int = 5) -> tuple[int, ...]:
    """A random array shape for a check's inputs: 1 to ``max_ndim`` axes of 1 to ``max_size``."""
    return tuple(int(n) for n in rng.integers(1, max_size + 1,
                                              size=int(rng.integers(1, max_ndim + 1))))


def _strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0", "false", "False")


def _finish(name: str, passed: bool, message: str, strict: bool | None = None,
            exercise: str | None = None) -> Verdict:
    print(message)
    verdict = Verdict(name, passed, message)
    if exercise is not None and strict is None:   # an explicit strict= is a demo or a grader
        record_verdict(exercise, name, passed)
    if not passed and (_strict() if strict is None else strict):
        raise ExerciseFailed(message)
    return verdict


def check_function(fn: Callable, reference: Callable,
                   make_inputs: Callable[[np.random.Generator], tuple], *, name: str,
                   trials: int = 5, rtol: float = 1e-7, atol: float = 1e-9, hint: str = "",
                   compare: Callable | None = None, strict: bool | None = None) -> Verdict:
    """Test a learner's function against a reference on seeded random inputs.

    Args:
        fn: the learner's function.
        reference: the correct function, called with the same arguments.
        make_inputs: ``make_inputs(rng) -> tuple of arguments`` (arrays, numbers, ...); each
            trial gets a Generator seeded from ``name`` and the trial number, so a check
            gives the same verdict on every run.
        name: what the exercise is called in the verdict.
        trials: number of random trials.
        rtol, atol: an element passes when ``|got - expected| <= atol + rtol * |expected|``.
        hint: one sentence shown when a trial fails.
        compare: optional ``compare(got, expected, args) -> str | None`` replacing the default
            elementwise comparison (return None when the result is acceptable, else a
            sentence saying what is wrong), e.g. for answers defined only up to sign.
        strict: raise :class:`ExerciseFailed` on failure; default: ``$COURSE_STRICT_CHECKS``.
            Pass ``strict=False`` to show what a failing verdict looks like.

    Returns:
        A :class:`Verdict`. The verdict is printed. In strict mode a failure also raises
        :class:`ExerciseFailed`.
    """
    # The progress file keys a verdict by the chapter's check that called us: "ch04.check_ridge".
    caller = sys._getframe(1)
    module = caller.f_globals.get("__name__", "")
    exercise = (f"{module.rsplit('.', 1)[1]}.{caller.f_code.co_name}"
                if re.fullmatch(r"course_lib\.exercises\.ch\d\d", module) else None)
    if not callable(fn):
        return _finish(name, False, f"❌ {name}: expected a function, got {type(fn).__name__}. "
                                    f"Pass the function itself, without calling it.", strict,
                       exercise)
    seed = zlib.crc32(name.encode())
    for t in range(trials):
        args = make_inputs(np.random.default_rng([seed, t]))
        if not isinstance(args, tuple):
            args = (args,)
        expected = reference(*_copy(args))
        try:
            got = fn(*_copy(args))
        except NotImplementedError:
            return _finish(name, False, f"⏳ {name}: not done yet: your function raises "
                                        f"NotImplementedError. Replace that line with your "
                                        f"code.", strict, exercise)
        except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
            frame = traceback.extract_tb(err.__traceback__)[-1]
            return _finish(name, False,
                           f"❌ {name}: your function raised {type(err).__name__}: {err}\n"
                           f"   on inputs {_describe(args)} (line {frame.lineno}: "
                           f"{frame.line})" + (f"\n   Hint: {hint}" if hint else ""), strict,
                           exercise)
        if compare is not None:
            problem = compare(got, expected, args)
        else:
            problem = _compare(got, expected, rtol, atol)
        if problem:
            return _finish(name, False,
                           f"❌ {name}: test {t + 1} of {trials}, inputs {_describe(args)}: "
                           f"{problem}" + (f"\n   Hint: {hint}" if hint else ""), strict,
                           exercise)
    return _finish(name, True, f"✅ {name}: passed {trials} random tests "
                               f"(e.g. inputs {_describe(args)})", strict, exercise)
