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


def _accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def _accuracy_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, k = int(rng.integers(7, 30)), int(rng.integers(2, 7))    # n > k: rows are examples
    return rng.normal(size=(n, k)), rng.integers(0, k, size=n)


def check_accuracy(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(scores, labels) -> float``: the fraction of rows of ``scores`` (N, K) whose
    arg-max equals the integer label in ``labels`` (N,)."""
    return check_function(fn, _accuracy, _accuracy_inputs, name="accuracy", strict=strict,
                          hint="each row is one example and each column one class, so the "
                               "predicted class is the arg-max along axis 1: "
                               "scores.argmax(axis=1)")


def _class_probabilities(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _logit_inputs(rng: np.random.Generator) -> tuple[np.ndarray]:
    n, k = int(rng.integers(1, 10)), int(rng.integers(2, 8))
    scale = [1.0, 10.0, 1000.0][int(rng.integers(0, 3))]        # large logits overflow np.exp
    return (scale * rng.normal(size=(n, k)),)


def check_class_probabilities(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(logits) -> P``: the softmax of each row of ``logits`` (N, K), shape (N, K)."""
    return check_function(fn, _class_probabilities, _logit_inputs,
                          name="class probabilities (softmax)", strict=strict,
                          hint="the stable softmax is already in course_lib: "
                               "from course_lib.scratch.functional import softmax, then "
                               "softmax(logits, axis=1)")
