"""Linear algebra from scratch: orthonormal bases, projections, eigendecomposition, SVD.

Chapter 01 builds the singular value decomposition (奇异值分解) out of the eigendecomposition
(特征分解) of a symmetric matrix, then uses it for the best low-rank approximation:

    B = AᵀA = E Λ Eᵀ          (eigendecomposition of a symmetric matrix)
    Γ = √Λ,  M = A E Γ⁻¹       (so that A = M Γ Eᵀ: the SVD with U = M, s = diag Γ, Vᵀ = Eᵀ)
    A_r = U[:, :r] diag(s[:r]) Vᵀ[:r]   (Eckart & Young, 1936: the best rank-r approximation)

Conventions: a matrix ``A`` is an (m, n) float64 array; singular values come sorted
descending; "thin SVD" means ``U`` (m, k), ``s`` (k,), ``Vt`` (k, n) with k = min(m, n).
NumPy and the standard library only.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.validate import as_float_array, as_matrix, check_int, check_positive

__all__ = ["orthonormal_basis", "project", "sym_eig", "svd_via_eig", "low_rank_approx",
           "low_rank_storage", "compress"]


def orthonormal_basis(A, tol: float = 1e-10) -> np.ndarray:
    """An orthonormal basis (正交规范基) of the column space of ``A`` by Gram–Schmidt.

    Each column a_j has its components along the basis found so far removed,
    ``w = a_j - Q Qᵀ a_j`` (done twice: "twice is enough" for round-off), and is kept as
    ``w / ‖w‖`` when ``‖w‖ > tol · ‖a_j‖``; otherwise a_j depends linearly on the earlier
    columns and is dropped. The number of columns kept is the rank of ``A``.

    Args:
        A: (m, n) array of numbers.
        tol: relative threshold below which a column counts as dependent (> 0).

    Returns:
        Q: (m, r) float64 with QᵀQ = I_r, r = rank(A) (r = 0 for a zero matrix).
    """
    A = as_matrix(A, "orthonormal_basis", "A")
    tol = check_positive(tol, "orthonormal_basis", "tol")
    m, n = A.shape
    Q = np.zeros((m, 0))
    for j in range(n):
        a = A[:, j]
        norm_a = np.linalg.norm(a)
        w = a - Q @ (Q.T @ a)
        w = w - Q @ (Q.T @ w)                         # second pass cleans up round-off
        norm_w = np.linalg.norm(w)
        if norm_a > 0 and norm_w > tol * norm_a and Q.shape[1] < m:
            Q = np.column_stack([Q, w / norm_w])      # (m, r + 1)
    return Q


def project(x, A, tol: float = 1e-10) -> np.ndarray:
    """Orthogonal projection (投影) of ``x`` onto the column space of ``A``.

    With Q an orthonormal basis of span(A) (from :func:`orthonormal_basis`),
    ``proj(x) = Q Qᵀ x``; equivalently ``A (AᵀA)⁻¹ Aᵀ x`` when A has independent columns.
    The residual ``x - proj(x)`` is orthogonal to every column of A.

    Args:
        x: (m,) vector or (m, p) matrix whose columns are projected.
        A: (m, n) matrix spanning the subspace (its columns need not be independent).
        tol: passed to :func:`orthonormal_basis`.

    Returns:
        float64 array with the shape of ``x``.
    """
    A = as_matrix(A, "project", "A")
    x = as_float_array(x, "project", "x", ndim=(1, 2), finite=True, dtype=np.float64)
    if x.shape[0] != A.shape[0]:
        raise ValueError(f"project: x must have {A.shape[0]} rows like A {A.shape}, "
                         f"got shape {x.shape}")
    Q = orthonormal_basis(A, tol)                     # (m, r)
    return Q @ (Q.T @ x)


def sym_eig(B, *, sym_tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Eigendecomposition of a real symmetric matrix, eigenvalues sorted descending.

    ``B = E Λ Eᵀ`` with Λ = diag(lam) real and E orthogonal (EᵀE = I): the columns of E are
    the eigenvectors, ``B E[:, i] = lam[i] E[:, i]``. Uses LAPACK's symmetric solver
    (``np.linalg.eigh``) and reverses its ascending order.

    Args:
        B: (n, n) symmetric array; ``|B - Bᵀ| <= sym_tol · max(1, max|B|)`` is required.
        sym_tol: relative tolerance for the symmetry check.

    Returns:
        lam: (n,) float64, descending. E: (n, n) float64, column i belongs to lam[i].
    """
    B = as_matrix(B, "sym_eig", "B")
    if B.shape[0] != B.shape[1]:
        raise ValueError(f"sym_eig: B must be a square matrix, got shape {B.shape}")
    scale = max(1.0, float(np.abs(B).max()))
    if np.abs(B - B.T).max() > sym_tol * scale:
        raise ValueError(f"sym_eig: B must be symmetric, got max|B - Bᵀ| = "
                         f"{np.abs(B - B.T).max():.3g}; use np.linalg.eig for general matrices")
    lam, E = np.linalg.eigh((B + B.T) / 2)
    order = np.argsort(lam)[::-1]                     # descending
    return lam[order], E[:, order]


def _complete_basis(U: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Replace the columns of U not in ``keep`` by unit vectors orthogonal to all others."""
    m, k = U.shape
    Q = U[:, keep]
    for j in np.flatnonzero(~keep):
        for e in np.eye(m):                           # try e_1, e_2, ... until one is new
            w = e - Q @ (Q.T @ e)
            w = w - Q @ (Q.T @ w)
            if np.linalg.norm(w) > 1e-6:
                break
        U[:, j] = w / np.linalg.norm(w)
        Q = np.column_stack([Q, U[:, j]])
    return U


def svd_via_eig(A, tol: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD ``A = U diag(s) Vt`` built from the eigendecomposition of AᵀA.

    For a tall or square A (m >= n):

        B = AᵀA = E Λ Eᵀ,   s = √Λ (= diag Γ),   V = E,   U = A E Γ⁻¹.

    Column i of U is ``A v_i / s_i``. When s_i is (numerically) zero, which happens exactly
    when A is rank-deficient, that division is impossible; s_i is set to 0 and u_i is chosen
    as any unit vector orthogonal to the other columns (it multiplies 0, so A is unchanged).
    A wide A (m < n) is handled through its transpose: Aᵀ = U' S V'ᵀ gives A = V' S U'ᵀ, so
    the eigenproblem is always the smaller one, min(m, n) × min(m, n).

    Squaring A squares its condition number: singular values much smaller than
    √eps · s_max ≈ 1e-8 · s_max are lost in round-off. Libraries avoid AᵀA (Golub–Kahan
    bidiagonalisation) for that reason; here the construction is the point.

    Args:
        A: (m, n) array of numbers, any m, n >= 1.
        tol: singular values <= tol are set to 0 (their u_i completed as above). Default
            ``sqrt(max(m, n) · eps) · s_max``, the round-off level of this method.

    Returns:
        U: (m, k) float64 with orthonormal columns, k = min(m, n).
        s: (k,) float64, descending, >= 0.
        Vt: (k, n) float64 with orthonormal rows.
    """
    A = as_matrix(A, "svd_via_eig", "A")
    if tol is not None:
        tol = check_positive(tol, "svd_via_eig", "tol", allow_zero=True)
    m, n = A.shape
    if m < n:                                         # wide: decompose Aᵀ (tall) instead
        U_t, s, Vt_t = svd_via_eig(A.T, tol)
        return Vt_t.T, s, U_t.T
    B = A.T @ A                                       # (n, n) symmetric, positive semi-definite
    lam, E = sym_eig((B + B.T) / 2)                   # (n,), (n, n), descending
    s = np.sqrt(np.clip(lam, 0.0, None))              # Γ = √Λ; tiny negatives are round-off
    if tol is None:
        tol = np.sqrt(max(m, n) * np.finfo(np.float64).eps) * (s[0] if s.size else 0.0)
    keep = s > tol
    s = np.where(keep, s, 0.0)
    U = np.zeros((m, n))
    U[:, keep] = (A @ E[:, keep]) / s[keep]           # M = A E Γ⁻¹, (m, n)
    if not keep.all():
        U = _complete_basis(U, keep)
    return U, s, E.T


def low_rank_approx(A, r: int) -> np.ndarray:
    """Best rank-r approximation of ``A`` in the Frobenius (and spectral) norm.

    ``A_r = Σ_{i<=r} s_i u_i v_iᵀ = U[:, :r] diag(s[:r]) Vt[:r]``. By Eckart & Young (1936),
    ``‖A - A_r‖_F² = Σ_{i>r} s_i²`` and no matrix of rank <= r comes closer. Uses NumPy's
    SVD (accurate for tiny singular values); :func:`svd_via_eig` gives the same A_r up to
    round-off.

    Args:
        A: (m, n) array of numbers.
        r: target rank, 0 <= r <= min(m, n) (r = 0 gives the zero matrix).

    Returns:
        A_r: (m, n) float64.
    """
    A = as_matrix(A, "low_rank_approx", "A")
    r = check_int(r, "low_rank_approx", "r", low=0, high=min(A.shape))
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    return (U[:, :r] * s[:r]) @ Vt[:r]                # (m, r) (r,) (r, n) -> (m, n)


def low_rank_storage(m: int, n: int, r: int) -> int:
    """Numbers stored for a rank-r SVD of an (m, n) matrix: r·m + r + r·n (U_r, s_r, V_r)."""
    m = check_int(m, "low_rank_storage", "m", low=1)
    n = check_int(n, "low_rank_storage", "n", low=1)
    r = check_int(r, "low_rank_storage", "r", low=0, high=min(m, n))
    return r * (m + n + 1)


def compress(A, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Compress the rows of ``A`` to r numbers each: ``V = A E_r`` (and ``A ≈ V E_rᵀ``).

    E_r (n, r) holds the eigenvectors of AᵀA with the r largest eigenvalues, an orthonormal
    basis of the directions in which the rows of A vary most (uncentred PCA). Each row
    a_k (n numbers) becomes v_k = a_k E_r (r numbers); ``V E_rᵀ`` is the projection of each
    row onto span(E_r), and equals the rank-r approximation of A.

    Args:
        A: (m, n) array, one sample per row.
        r: number of kept directions, 1 <= r <= n.

    Returns:
        V: (m, r) float64 codes. E_r: (n, r) float64 with orthonormal columns.
    """
    A = as_matrix(A, "compress", "A")
    r = check_int(r, "compress", "r", low=1, high=A.shape[1])
    _, E = sym_eig(A.T @ A)                           # (n, n), columns by eigenvalue, descending
    E_r = E[:, :r]                                    # (n, r)
    return A @ E_r, E_r                               # (m, r), (n, r)
