"""Checks for the exercises of chapter 01 (Linear algebra).

    from course_lib.exercises import ch01
    ch01.check_batch_trace(batch_trace)
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function

__all__ = ["check_batch_trace", "check_projection", "check_low_rank", "check_top_eigenvector"]


# ------------------------------------------------------------------ 1. a batch of traces, einsum

def _batch_trace(A: np.ndarray) -> np.ndarray:
    return np.trace(A, axis1=1, axis2=2)


def _batch_trace_inputs(rng: np.random.Generator) -> tuple[np.ndarray]:
    B, n = rng.integers(1, 6), rng.integers(1, 7)
    return (rng.normal(size=(B, n, n)),)


def check_batch_trace(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(A) -> t``: A (B, n, n), t (B,) with t_b = Σ_i A_bii (the trace of each A_b)."""
    return check_function(fn, _batch_trace, _batch_trace_inputs, name="batch of traces (einsum)",
                          strict=strict,
                          hint="repeat the index i for the diagonal and keep b: "
                               "np.einsum('bii->b', A)")


# ------------------------------------------------------------------ 2. projection onto a subspace

def _projection(x: np.ndarray, A: np.ndarray) -> np.ndarray:
    return A @ np.linalg.solve(A.T @ A, A.T @ x)


def _projection_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    m = int(rng.integers(2, 9))
    n = int(rng.integers(1, m))
    return rng.normal(size=m), rng.normal(size=(m, n))


def check_projection(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, A) -> p``: x (m,), A (m, n) with independent columns, p (m,) the orthogonal
    projection of x onto the column space of A."""
    return check_function(fn, _projection, _projection_inputs,
                          name="projection onto a subspace", strict=strict,
                          hint="p = A c where c solves the normal equations (AᵀA) c = Aᵀx; or "
                               "p = Q Qᵀ x with Q an orthonormal basis of span(A) "
                               "(np.linalg.qr)")


# ------------------------------------------------------------ 3. rank-r approximation and error

def _low_rank(A: np.ndarray, r: int) -> tuple[np.ndarray, float]:
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    A_r = (U[:, :r] * s[:r]) @ Vt[:r]
    return A_r, float(np.sqrt(np.sum(s[r:] ** 2)))


def _low_rank_inputs(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    m, n = (int(v) for v in rng.integers(1, 9, size=2))
    return rng.normal(size=(m, n)), int(rng.integers(0, min(m, n) + 1))


def check_low_rank(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(A, r) -> (A_r, err)``: A (m, n), 0 <= r <= min(m, n); A_r (m, n) the best
    rank-r approximation, err the Frobenius error ‖A − A_r‖_F (a float)."""
    return check_function(fn, _low_rank, _low_rank_inputs,
                          name="rank-r approximation and its error", strict=strict,
                          rtol=1e-7, atol=1e-8,
                          hint="keep the r largest singular triplets of np.linalg.svd(A, "
                               "full_matrices=False); the error is sqrt(sum of the other s_i²), "
                               "and r may be 0")


# ------------------------------------------------------------------- 4. power iteration

def _top_eigenvector(B: np.ndarray) -> np.ndarray:
    return np.linalg.eigh(B)[1][:, -1]


def _top_eigenvector_inputs(rng: np.random.Generator) -> tuple[np.ndarray]:
    n = int(rng.integers(2, 8))
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.sort(rng.uniform(0.0, 1.0, size=n))[::-1]
    lam[0] = 2.0 * lam[1] + 0.5                      # a clear gap: |λ₂/λ₁| < 1/2
    return ((Q * lam) @ Q.T,)


def _same_up_to_sign(got, expected, args) -> str | None:
    if got is None:
        return "returned None; did you forget a `return` statement?"
    try:
        g = np.asarray(got.detach().cpu().numpy() if hasattr(got, "detach") else got,
                       dtype=np.float64)
    except (TypeError, ValueError) as err:
        return f"returned a {type(got).__name__} that is not an array of numbers ({err})"
    if g.shape != expected.shape:
        return f"wrong shape: expected {expected.shape}, got {g.shape}"
    if not np.all(np.isfinite(g)):
        return "the result contains NaN or inf"
    if abs(np.linalg.norm(g) - 1.0) > 1e-6:
        return f"the vector must have length 1, got length {np.linalg.norm(g):.6g}"
    miss = min(np.abs(g - expected).max(), np.abs(g + expected).max())
    if miss > 1e-6:
        return (f"not the top eigenvector: off by {miss:.3g} even allowing a sign flip "
                f"(B v should equal λ_max v)")
    return None


def check_top_eigenvector(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(B) -> v``: B (n, n) symmetric with a largest eigenvalue well above the rest,
    v (n,) its unit eigenvector (either sign is accepted)."""
    return check_function(fn, _top_eigenvector, _top_eigenvector_inputs,
                          name="top eigenvector by power iteration", strict=strict,
                          compare=_same_up_to_sign,
                          hint="start from a nonzero vector, repeat v = B @ v; "
                               "v = v / np.linalg.norm(v) about 100 times")
