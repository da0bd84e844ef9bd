"""Sparse coding and dictionary learning with ISTA: the third kind of linear transform.

Eigendecomposition and SVD write data in an orthonormal basis. Dictionary learning (字典学习)
drops orthogonality and asks for *sparse* (稀疏) coefficients instead (Olshausen & Field,
1996): the columns of A (d, p) are signals, and

    A ≈ D N,   D (d, k) a dictionary of unit-norm atoms (often k > d),  N (k, p) mostly zeros.

Sparse coding (稀疏编码) finds N for a fixed D by solving the lasso

    min_N  ½‖A − D N‖_F² + λ‖N‖₁

with ISTA, the iterative shrinkage-thresholding algorithm: a gradient step on the smooth
part, then soft-thresholding, the proximal map of λ‖·‖₁ (Daubechies, Defrise & De Mol, 2004;
Beck & Teboulle, 2009, who also give the accelerated FISTA used when ``fista=True``):

    N ← S_{λ/L}(N − Dᵀ(D N − A) / L),   S_t(x) = sign(x) · max(|x| − t, 0),   L = ‖D‖₂².

Dictionary learning alternates sparse coding with a least-squares dictionary update.
NumPy and the standard library only.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.validate import as_array, as_matrix, as_rng, check_int, check_positive

__all__ = ["soft_threshold", "lasso_objective", "sparse_code", "dictionary_learning"]


def soft_threshold(x, t: float) -> np.ndarray:
    """Soft-thresholding ``S_t(x) = sign(x) · max(|x| − t, 0)``, elementwise.

    It is the minimiser of ``½(z − x)² + t|z|`` over z: values within t of zero become
    exactly zero, the others move t towards zero.

    Args:
        x: array of any shape. t: threshold >= 0.

    Returns:
        float64 array with the shape of x.
    """
    x = as_array(x, "soft_threshold", "x", allow_empty=True).astype(np.float64)
    t = check_positive(t, "soft_threshold", "t", allow_zero=True)
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def lasso_objective(A, D, N, lam: float) -> float:
    """The sparse-coding objective ``½‖A − D N‖_F² + λ‖N‖₁`` (a float)."""
    A, D, N = (np.asarray(v, dtype=np.float64) for v in (A, D, N))
    return float(0.5 * np.sum((A - D @ N) ** 2) + lam * np.abs(N).sum())


def _check_pair(A, D, where: str) -> tuple[np.ndarray, np.ndarray]:
    A = as_matrix(A, where, "A")
    D = as_matrix(D, where, "D")
    if D.shape[0] != A.shape[0]:
        raise ValueError(f"{where}: D must have {A.shape[0]} rows like A {A.shape} "
                         f"(one row per signal entry), got D of shape {D.shape}")
    return A, D


def sparse_code(A, D, lam: float, n_iter: int = 200, *, N0=None,
                fista: bool = True) -> np.ndarray:
    """Sparse codes N of the columns of A in the dictionary D, by (F)ISTA on the lasso.

    Minimises ``½‖A − D N‖_F² + λ‖N‖₁`` (all columns at once; they do not interact) with

        N ← S_{λ/L}(Y − Dᵀ(D Y − A) / L),   L = ‖D‖₂² (largest singular value squared),

    where Y = N for ISTA, and Y is the FISTA momentum point
    ``Y = N + (t_old − 1)/t_new · (N − N_prev)``, ``t_new = (1 + √(1 + 4 t_old²)) / 2``.
    At the solution the lasso optimality (KKT) conditions hold: with G = Dᵀ(A − D N),
    ``G_ij = λ sign(N_ij)`` where N_ij ≠ 0 and ``|G_ij| <= λ`` where N_ij = 0.

    Args:
        A: (d, p) signals as columns. D: (d, k) dictionary, atoms as columns.
        lam: sparsity weight λ >= 0 (λ = 0 gives least squares).
        n_iter: number of iterations (>= 1).
        N0: optional (k, p) starting codes (warm start); default zeros.
        fista: use the accelerated variant (Beck & Teboulle, 2009); False gives plain ISTA.

    Returns:
        N: (k, p) float64 codes.
    """
    A, D = _check_pair(A, D, "sparse_code")
    lam = check_positive(lam, "sparse_code", "lam", allow_zero=True)
    n_iter = check_int(n_iter, "sparse_code", "n_iter", low=1)
    k, p = D.shape[1], A.shape[1]
    if N0 is None:
        N = np.zeros((k, p))
    else:
        N = as_matrix(N0, "sparse_code", "N0").copy()
        if N.shape != (k, p):
            raise ValueError(f"sparse_code: N0 must have shape {(k, p)}, got {N.shape}")
    L = np.linalg.norm(D, 2) ** 2                     # Lipschitz constant of the gradient
    if L == 0:
        return np.zeros((k, p))                       # a zero dictionary explains nothing
    DtA, DtD = D.T @ A, D.T @ D                       # (k, p), (k, k): computed once
    Y, t = N.copy(), 1.0
    for _ in range(n_iter):
        N_prev = N
        N = soft_threshold(Y - (DtD @ Y - DtA) / L, lam / L)      # (k, p)
        if fista:
            t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
            Y = N + (t - 1) / t_new * (N - N_prev)
            t = t_new
        else:
            Y = N
    return N


def dictionary_learning(A, n_atoms: int, lam: float, n_iter: int = 30, *, code_iter: int = 50,
                        seed: int | np.random.Generator = 0
                        ) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Learn a dictionary D and sparse codes N with ``A ≈ D N`` by alternating minimisation.

    Each outer iteration:

    1. codes: ``N = sparse_code(A, D, λ, code_iter)``, warm-started from the previous N;
    2. dictionary: least squares ``D = A Nᵀ (N Nᵀ + εI)⁻¹`` (the D minimising ‖A − D N‖_F²),
       then each atom is scaled to unit norm (the scale moves into N, so D N is unchanged);
       an unused atom (a zero row of N) is restarted at a random signal.

    Unit-norm atoms stop the trivial escape of shrinking N by growing D.

    Args:
        A: (d, p) signals as columns.
        n_atoms: k, the number of atoms (k > d is an overcomplete dictionary).
        lam: sparsity weight λ > 0 of the lasso.
        n_iter: outer iterations (>= 1). code_iter: FISTA iterations per sparse-coding step.
        seed: int or ``np.random.Generator`` for the initial atoms (random signals).

    Returns:
        D: (d, k) float64, unit-norm columns. N: (k, p) float64 codes of the final D.
        history: the objective ``½‖A − D N‖_F² + λ‖N‖₁`` after each sparse-coding step.
    """
    A = as_matrix(A, "dictionary_learning", "A")
    k = check_int(n_atoms, "dictionary_learning", "n_atoms", low=1)
    lam = check_positive(lam, "dictionary_learning", "lam")
    n_iter = check_int(n_iter, "dictionary_learning", "n_iter", low=1)
    code_iter = check_int(code_iter, "dictionary_learning", "code_iter", low=1)
    rng = as_rng(seed, "dictionary_learning")
    d, p = A.shape

    def unit(M: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(M, axis=0)
        return M / np.where(norms > 0, norms, 1.0)

    D = unit(A[:, rng.choice(p, size=k, replace=p < k)] + 1e-3 * rng.normal(size=(d, k)))
    N = np.zeros((k, p))
    history = []
    for _ in range(n_iter):
        N = sparse_code(A, D, lam, code_iter, N0=N)                       # (k, p)
        history.append(lasso_objective(A, D, N, lam))
        G = N @ N.T + 1e-8 * np.eye(k)                                    # (k, k)
        D_new = np.linalg.solve(G, N @ A.T).T                             # (d, k) = A Nᵀ G⁻¹
        unused = ~np.any(N != 0, axis=1)
        D_new[:, unused] = A[:, rng.choice(p, size=int(unused.sum()))] \
            + 1e-3 * rng.normal(size=(d, int(unused.sum())))
        norms = np.linalg.norm(D_new, axis=0)
        norms = np.where(norms > 0, norms, 1.0)
        D, N = D_new / norms, N * norms[:, None]                          # D N unchanged
    N = sparse_code(A, D, lam, code_iter, N0=N)
    return D, N, history
