"""Automatic checks for the exercises.

Each chapter has a module here (``course_lib.exercises.ch01`` ...) whose ``check_*``
functions test a learner's function on seeded random inputs against a reference:

    from course_lib.exercises import ch01
    ch01.check_trace(trace_einsum)

A check never crashes the notebook: an exception in the learner's code, a wrong shape or a
wrong value becomes a short verdict saying what was tried, what differed and a hint.
When the environment variable ``COURSE_STRICT_CHECKS=1`` is set (the test suite sets it,
so that the worked solutions are checked on every run), a failed check raises
:class:`ExerciseFailed` after printing its verdict.
"""

from course_lib.exercises._check import (
    STRICT_ENV,
    ExerciseFailed,
    Verdict,
    check_function,
    random_shape,
)

__all__ = ["check_function", "Verdict", "ExerciseFailed", "STRICT_ENV", "random_shape"]
