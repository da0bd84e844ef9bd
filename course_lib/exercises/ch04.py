"""Checks for the exercises of chapter 04 (Linear regression)."""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function


def _design(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    """A random (n, p) design with columns of different scales and offsets."""
    return rng.normal(size=(n, p)) * rng.uniform(0.5, 4.0, size=p) + rng.normal(size=p)


# ------------------------------------------------------------------ 1. normal equations

def _tall_inputs(rng: np.random.Generator):
    p = int(rng.integers(1, 6))
    n = p + int(rng.integers(0, 30))
    X = _design(rng, n, p)
    return X, X @ rng.normal(size=p) + 0.3 * rng.normal(size=n)


def check_normal_equations(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(X, y) -> θ (p,)``: least squares for X (n, p) of full column rank, n ≥ p."""
    return check_function(
        fn, lambda X, y: np.linalg.lstsq(X, y, rcond=None)[0], _tall_inputs,
        name="least squares by the normal equations", rtol=1e-6, atol=1e-8, strict=strict,
        hint="build A = X.T @ X (p, p) and c = X.T @ y (p,), then np.linalg.solve(A, c)")


# ------------------------------------------------------------------ 2. ridge, no intercept

def _ridge_inputs(rng: np.random.Generator):
    d = int(rng.integers(1, 7))
    n = int(rng.integers(1, 12))                     # sometimes fewer examples than features
    X = _design(rng, n, d)
    return X, rng.normal(size=n), float(rng.choice([0.01, 0.5, 3.0, 50.0]))


def _ridge_reference(X, y, lam):
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def check_ridge(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(X, y, lam) -> w (d,)``: ridge without intercept, argmin ‖y − Xw‖² + λ‖w‖²."""
    return check_function(
        fn, _ridge_reference, _ridge_inputs, name="ridge regression in closed form",
        rtol=1e-7, atol=1e-9, strict=strict,
        hint="set the gradient -2 Xᵀ(y - Xw) + 2 λ w to zero: (XᵀX + λ I) w = Xᵀy; "
             "np.eye(d) gives I. Note the λ, not λ/2 or nλ")


# ------------------------------------------------------------------ 3. one epoch of SGD

def _epoch_inputs(rng: np.random.Generator):
    n, p = int(rng.integers(1, 25)), int(rng.integers(1, 5))
    X = _design(rng, n, p) / 3
    y = X @ rng.normal(size=p) + 0.1 * rng.normal(size=n)
    batch_size = int(rng.integers(1, n + 1))
    order = rng.permutation(n)
    batches = tuple(order[i:i + batch_size] for i in range(0, n, batch_size))
    return X, y, rng.normal(size=p), 0.05, batches


def _epoch_reference(X, y, theta, lr, batches):
    theta = theta.copy()
    for idx in batches:
        X_B, y_B = X[idx], y[idx]
        theta = theta - lr * 2.0 / len(idx) * X_B.T @ (X_B @ theta - y_B)
    return theta


def check_minibatch_epoch(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(X, y, theta, lr, batches) -> θ (p,)``: one epoch of mini-batch GD on the MSE."""
    return check_function(
        fn, _epoch_reference, _epoch_inputs, name="one epoch of mini-batch gradient descent",
        rtol=1e-9, atol=1e-11, strict=strict,
        hint="for each index array B in batches: θ ← θ − lr · (2/|B|) X_Bᵀ(X_B θ − y_B); "
             "divide by the size of the batch (the last one may be smaller), not by n, and "
             "use the updated θ for the next batch")


# ------------------------------------------------------------------ 4. a lasso coordinate

def _coordinate_inputs(rng: np.random.Generator):
    n, d = int(rng.integers(2, 30)), int(rng.integers(1, 6))
    X = _design(rng, n, d)
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    w = rng.normal(size=d)
    j = int(rng.integers(0, d))
    scale = float(np.abs(X[:, j] @ y) / n)
    return X, y, w, j, float(rng.choice([0.01, 0.3, 1.0, 3.0])) * scale


def _coordinate_reference(X, y, w, j, lam):
    n = len(y)
    r_j = y - X @ w + X[:, j] * w[j]                 # residual without feature j
    rho = X[:, j] @ r_j / n
    return np.sign(rho) * max(abs(rho) - lam, 0.0) / (X[:, j] @ X[:, j] / n)


def check_lasso_coordinate(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(X, y, w, j, lam) -> float``: the best w_j, others fixed, for the lasso.

    The objective is (1/2n)‖y − Xw‖² + λ‖w‖₁ (no intercept), as scikit-learn's ``Lasso``.
    """
    return check_function(
        fn, _coordinate_reference, _coordinate_inputs,
        name="one lasso coordinate update", rtol=1e-9, atol=1e-12, strict=strict,
        hint="ρ = x_jᵀ(y − Xw + x_j w_j)/n, then w_j = S_λ(ρ) / (x_jᵀx_j / n) with the soft "
             "threshold S_λ(ρ) = sign(ρ) max(|ρ| − λ, 0)")
