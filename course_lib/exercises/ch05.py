"""Checks for the exercises of chapter 05 (Logistic and softmax regression).

Each check runs the learner's function on seeded random inputs (a batch of one, a single
feature, logits in the hundreds where a naive log loss gives ``log 0``) and compares it with
the reference in :mod:`course_lib.scratch.logistic`.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch import logistic as lg

# ------------------------------------------------------------- 1. log loss from logits


def _logit_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(1, 30))
    scale = [1.0, 40.0, 800.0][int(rng.integers(0, 3))]     # 40 and 800: sigma(z) rounds to 1
    return scale * rng.normal(size=n), rng.integers(0, 2, size=n).astype(np.float64)


def check_log_loss_from_logits(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(z, y) -> float``: the mean log loss ``-[y log σ(z) + (1-y) log(1-σ(z))]`` of
    (N,) logits and (N,) 0/1 labels, finite even for logits of ±800."""
    return check_function(
        fn, lambda z, y: float(np.mean(np.logaddexp(0.0, z) - y * z)), _logit_inputs,
        name="log loss from logits", trials=8, rtol=1e-10, atol=1e-12, strict=strict,
        hint="rewrite the loss as softplus(z) - y z with softplus(z) = log(1 + e^z), computed "
             "without overflow by np.logaddexp(0, z); never form log(sigmoid(z))")


# ------------------------------------------------------------ 2. logistic-regression gradient

def _binary_inputs(rng: np.random.Generator):
    n, d = int(rng.integers(1, 25)), int(rng.integers(1, 6))
    return (rng.normal(size=d), float(rng.normal()), rng.normal(size=(n, d)),
            rng.integers(0, 2, size=n).astype(np.float64))


def check_logistic_gradient(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(w, b, X, y) -> (dw, db)``: the gradient of the mean log loss of logistic
    regression, w (D,), b a float, X (N, D), y (N,) 0/1; dw (D,) and db a float."""
    return check_function(
        fn, lambda w, b, X, y: lg.log_loss_grad(w, b, X, y)[1:], _binary_inputs,
        name="logistic-regression gradient", trials=6, rtol=1e-9, atol=1e-12, strict=strict,
        hint="with z = X @ w + b, dL/dz_i = (sigmoid(z_i) - y_i) / N; then dw = X.T @ dz and "
             "db = dz.sum()")


# --------------------------------------------------------------- 3. softmax-regression gradient

def _multi_inputs(rng: np.random.Generator):
    n, d, k = int(rng.integers(1, 25)), int(rng.integers(1, 6)), int(rng.integers(2, 7))
    return (rng.normal(size=(d, k)), rng.normal(size=k), rng.normal(size=(n, d)),
            rng.integers(0, k, size=n))


def check_softmax_gradient(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(W, b, X, y) -> (dW, db)``: the gradient of the mean cross-entropy of softmax
    regression, W (D, K), b (K,), X (N, D), integer y (N,); dW (D, K) and db (K,)."""
    return check_function(
        fn, lambda W, b, X, y: lg.softmax_loss_grad(W, b, X, y)[1:], _multi_inputs,
        name="softmax-regression gradient", trials=6, rtol=1e-9, atol=1e-12, strict=strict,
        hint="dL/dZ = (softmax(Z) - Y) / N with Y the one-hot labels (subtract 1 at "
             "[np.arange(N), y]); then dW = X.T @ dZ and db = dZ.sum(axis=0)")


# ------------------------------------------------------------------ 4. the boundary line

def _line_inputs(rng: np.random.Generator):
    w = rng.normal(size=2)
    w[1] = np.sign(w[1] + 1e-12) * (0.5 + abs(w[1]))        # |w_2| >= 0.5: a line y = a x + c
    return w, float(rng.normal()), float(rng.uniform(0.05, 0.95))


def _boundary_line(w, b, t):
    logit = np.log(t / (1 - t))
    return -w[0] / w[1], (logit - b) / w[1]


def check_boundary_line(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(w, b, t) -> (slope, intercept)``: the line ``x_2 = slope x_1 + intercept``
    on which a 2-D logistic regression (w (2,), b) gives probability exactly t."""
    return check_function(
        fn, _boundary_line, _line_inputs, name="decision-boundary line", trials=6,
        rtol=1e-9, atol=1e-12, strict=strict,
        hint="sigmoid(z) = t exactly when z = log(t / (1 - t)); solve "
             "w_1 x_1 + w_2 x_2 + b = log(t / (1 - t)) for x_2")
