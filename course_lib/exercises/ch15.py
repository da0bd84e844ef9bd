"""Checks for the exercises of chapter 15 (Energy-based models).

    from course_lib.exercises import ch15
    ch15.check_hebbian_weights(hebbian)

Each check runs the learner's function on seeded random inputs (one pattern, one unit, a batch
of one, large weights, ...) against the reference in ``course_lib.scratch.hopfield`` and
``course_lib.scratch.rbm``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch import hopfield, rbm

__all__ = ["check_hebbian_weights", "check_energy", "check_p_h_given_v", "check_free_energy"]


def _pm1(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape)


# ------------------------------------------------------------ 1. Hebbian weights

def _hebb_inputs(rng: np.random.Generator):
    return (_pm1(rng, (int(rng.integers(1, 6)), int(rng.integers(1, 9)))),)


def check_hebbian_weights(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(patterns) -> (N, N)``: W = (1/N) Σ_μ ξ^μ ξ^μᵀ with a zero diagonal, for
    patterns (P, N) of ±1."""
    return check_function(
        fn, lambda P: hopfield.hebbian_weights(P)[0], _hebb_inputs, name="Hebbian weights",
        trials=8, rtol=1e-12, atol=1e-12, strict=strict,
        hint="patterns.T @ patterns is the (N, N) sum of outer products; divide by N (the "
             "number of units, patterns.shape[1], not of patterns), then zero the diagonal")


# ------------------------------------------------------------ 2. Hopfield energy

def _energy_inputs(rng: np.random.Generator):
    N = int(rng.integers(1, 9))
    W, _ = hopfield.hebbian_weights(_pm1(rng, (int(rng.integers(1, 4)), N)))
    return _pm1(rng, N), W, rng.normal(size=N)


def check_energy(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(s, W, b) -> float``: E(s) = −½ sᵀ W s − bᵀ s for s (N,) of ±1."""
    return check_function(
        fn, lambda s, W, b: float(hopfield.energy(s, W, b)), _energy_inputs,
        name="Hopfield energy", trials=8, rtol=1e-10, atol=1e-12, strict=strict,
        hint="-0.5 * s @ W @ s - b @ s: mind the one half (each pair i, j appears twice in "
             "sᵀ W s) and the minus signs")


# ------------------------------------------------------------ 3. p(h | v)

def _rbm_inputs(rng: np.random.Generator, with_b: bool):
    M, D, H = (int(rng.integers(1, 6)) for _ in range(3))
    scale = float(rng.choice([0.1, 1.0, 30.0]))                 # large: exp must not overflow
    v = (rng.random((M, D)) < 0.5).astype(float)
    W, c = scale * rng.normal(size=(D, H)), rng.normal(size=H)
    return (v, W, rng.normal(size=D), c) if with_b else (v, W, c)


def _p_h(v, W, c):
    return rbm.p_h_given_v(v, rbm.RBMParams(W, np.zeros(W.shape[0]), c))


def check_p_h_given_v(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(v, W, c) -> (M, H)``: σ(c + v W) for v (M, D) binary, W (D, H), c (H,)."""
    return check_function(
        fn, _p_h, lambda rng: _rbm_inputs(rng, False), name="p(h = 1 | v)", trials=8,
        rtol=1e-9, atol=1e-12, strict=strict,
        hint="v @ W is (M, H); add c (broadcast over the rows) and apply the logistic "
             "sigmoid 1 / (1 + exp(-a))")


# ------------------------------------------------------------ 4. free energy

def check_free_energy(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(v, W, b, c) -> (M,)``: F(v) = −bᵀv − Σ_j log(1 + exp(c_j + (v W)_j)) for
    each row of v (M, D)."""
    return check_function(
        fn, lambda v, W, b, c: rbm.free_energy(v, rbm.RBMParams(W, b, c)),
        lambda rng: _rbm_inputs(rng, True), name="RBM free energy", trials=8, rtol=1e-9,
        atol=1e-12, strict=strict,
        hint="one value per row: -(v @ b) - np.logaddexp(0, v @ W + c).sum(axis=1); "
             "np.log(1 + np.exp(x)) overflows for large x")
