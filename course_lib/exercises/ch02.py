"""Checks for the exercises of chapter 02 (Calculus and optimization)."""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = Q @ np.diag(rng.uniform(0.2, 10.0, size=d)) @ Q.T
    return (A + A.T) / 2


# ---------------------------------------------------------------- 1. central differences

class _Smooth:
    """A random smooth f: R^d -> R, callable, that also knows its exact gradient."""

    __name__ = "f"

    def __init__(self, rng: np.random.Generator):
        self.d = int(rng.integers(1, 6))
        self.w, self.c = rng.normal(size=self.d), rng.normal(size=self.d)

    def __call__(self, x: np.ndarray) -> float:
        return float(np.sum(np.sin(self.w * x)) + 0.5 * np.sum(self.c * x**2)
                     + np.sum(x) ** 3 / 3)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.w * np.cos(self.w * x) + self.c * x + np.sum(x) ** 2


def _central_inputs(rng: np.random.Generator):
    f = _Smooth(rng)
    return f, rng.uniform(-1, 1, size=f.d), 1e-4


def check_central_difference(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(f, x, h) -> (d,)``: the central-difference gradient of f at x (d,).

    The reference is the exact gradient: with h = 1e-4 central differences are within about
    1e-8 of it (error ∝ h²), while a one-sided difference (error ∝ h) is not.
    """
    return check_function(
        fn, lambda f, x, h: f.grad(x), _central_inputs,
        name="central-difference gradient", rtol=1e-6, atol=1e-7, strict=strict,
        hint="for each i: (f(x + h e_i) - f(x - h e_i)) / (2h), with e_i the i-th unit vector; "
             "copy x before changing it")


# ------------------------------------------------------------- 2. the largest stable step

def _spd_inputs(rng: np.random.Generator):
    return (_random_spd(rng, int(rng.integers(1, 7))),)


def check_max_stable_lr(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(A) -> float``: the step size 2 / λ_max(A) beyond which GD diverges."""
    return check_function(
        fn, lambda A: 2.0 / float(np.linalg.eigvalsh(A).max()), _spd_inputs,
        name="largest stable learning rate", rtol=1e-9, atol=0.0, strict=strict,
        hint="each eigen-mode is multiplied by (1 - lr * λ_i) per step; |1 - lr λ_i| < 1 for "
             "all i means lr < 2 / λ_max (np.linalg.eigvalsh gives the eigenvalues)")


# --------------------------------------------------------------------- 3. a Newton step

def _newton_inputs(rng: np.random.Generator):
    d = int(rng.integers(1, 7))
    return _random_spd(rng, d), rng.normal(size=d), 10 * rng.normal(size=d)


def check_newton_step(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(A, b, x) -> (d,)``: one Newton step on f(x) = ½ xᵀA x − bᵀx from x."""
    return check_function(
        fn, lambda A, b, x: x - np.linalg.solve(A, A @ x - b), _newton_inputs,
        name="Newton step on a quadratic", rtol=1e-8, atol=1e-9, strict=strict,
        hint="the gradient is A x - b and the Hessian is A; solve A p = gradient "
             "(np.linalg.solve) and return x - p")


# ------------------------------------------------------------ 4. Hessian of x^T M x

def _square_inputs(rng: np.random.Generator):
    d = int(rng.integers(1, 7))
    return (rng.normal(size=(d, d)),)


def check_quadratic_form_hessian(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(M) -> (d, d)``: the Hessian of g(x) = xᵀM x for a square, non-symmetric M."""
    return check_function(
        fn, lambda M: M + M.T, _square_inputs, name="Hessian of a quadratic form",
        rtol=1e-12, atol=1e-12, strict=strict,
        hint="write g = sum_ij M_ij x_i x_j and differentiate twice: both M_kl and M_lk "
             "contribute to d²g/dx_k dx_l")
