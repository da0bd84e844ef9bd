"""Tests for course_lib.scratch.linalg and course_lib.scratch.sparse_coding (chapter 01)."""

import numpy as np
import pytest
import torch

from course_lib.checks import compare_with_torch
from course_lib.scratch.linalg import (
    compress,
    low_rank_approx,
    low_rank_storage,
    orthonormal_basis,
    project,
    svd_via_eig,
    sym_eig,
)
from course_lib.scratch.sparse_coding import (
    dictionary_learning,
    lasso_objective,
    soft_threshold,
    sparse_code,
)

SHAPES = [(7, 4), (4, 7), (5, 5), (1, 6), (6, 1), (1, 1), (40, 25), (25, 40)]


def _rank_deficient(rng, m, n, r):
    return rng.normal(size=(m, r)) @ rng.normal(size=(r, n))


def _matrices():
    """(name, A) pairs: random shapes plus rank-deficient and degenerate matrices."""
    rng = np.random.default_rng(1)
    cases = [(f"random{m}x{n}", rng.normal(size=(m, n))) for m, n in SHAPES]
    cases += [("rank2_tall_8x5", _rank_deficient(rng, 8, 5, 2)),
              ("rank3_wide_5x9", _rank_deficient(rng, 5, 9, 3)),
              ("rank1_square_6x6", _rank_deficient(rng, 6, 6, 1)),
              ("zero_3x4", np.zeros((3, 4))),
              ("repeated_columns", np.repeat(rng.normal(size=(6, 2)), 3, axis=1)),
              ("integers", rng.integers(-5, 5, size=(4, 3)))]
    return cases


MATRICES = _matrices()
IDS = [name for name, _ in MATRICES]


# ---------------------------------------------------------------- orthonormal basis, projection

@pytest.mark.parametrize("name,A", MATRICES, ids=IDS)
def test_orthonormal_basis_spans_column_space(name, A):
    Q = orthonormal_basis(A)
    r = np.linalg.matrix_rank(A)
    assert Q.shape == (A.shape[0], r)
    np.testing.assert_allclose(Q.T @ Q, np.eye(r), atol=1e-12)
    np.testing.assert_allclose(Q @ (Q.T @ A), A, atol=1e-10)   # every column of A is in span(Q)


def test_orthonormal_basis_keeps_an_orthonormal_input():
    Q0, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 4)))
    np.testing.assert_allclose(np.abs(orthonormal_basis(Q0)), np.abs(Q0), atol=1e-12)


@pytest.mark.parametrize("name,A", MATRICES, ids=IDS)
def test_project_matches_pseudo_inverse_formula_in_torch(name, A):
    rng = np.random.default_rng(2)
    x = rng.normal(size=A.shape[0])
    X = rng.normal(size=(A.shape[0], 3))
    A_t = torch.from_numpy(np.asarray(A, dtype=np.float64))
    P_t = (A_t @ torch.linalg.pinv(A_t)).numpy()                 # A A⁺: projector onto col(A)
    np.testing.assert_allclose(project(x, A), P_t @ x, atol=1e-10)
    np.testing.assert_allclose(project(X, A), P_t @ X, atol=1e-10)


def test_project_properties():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(10, 3))
    x = rng.normal(size=10)
    p = project(x, A)
    np.testing.assert_allclose(A.T @ (x - p), 0, atol=1e-12)    # residual ⟂ subspace
    np.testing.assert_allclose(project(p, A), p, atol=1e-12)    # P² = P
    np.testing.assert_allclose(p, A @ np.linalg.solve(A.T @ A, A.T @ x), atol=1e-12)
    np.testing.assert_allclose(project(A[:, 1], A), A[:, 1], atol=1e-12)


# ------------------------------------------------------------------------- eigendecomposition

@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_sym_eig_matches_torch_and_reconstructs(n):
    rng = np.random.default_rng(n)
    M = rng.normal(size=(n, n))
    B = M + M.T
    lam, E = sym_eig(B)
    assert np.all(np.diff(lam) <= 0), "eigenvalues must be sorted descending"
    lam_t = torch.linalg.eigvalsh(torch.from_numpy(B)).numpy()[::-1]
    np.testing.assert_allclose(lam, lam_t, atol=1e-12 * max(1, np.abs(lam).max()))
    np.testing.assert_allclose(E.T @ E, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(B @ E, E * lam, atol=1e-11)
    np.testing.assert_allclose(E @ np.diag(lam) @ E.T, B, atol=1e-11)


def test_sym_eig_refuses_non_symmetric_and_non_square():
    with pytest.raises(ValueError, match="sym_eig: B must be symmetric"):
        sym_eig(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"sym_eig: B must be a square matrix, got shape \(2, 3\)"):
        sym_eig(np.ones((2, 3)))


# --------------------------------------------------------------------------------------- SVD

@pytest.mark.parametrize("name,A", MATRICES, ids=IDS)
def test_svd_via_eig_against_numpy(name, A):
    m, n = A.shape
    k = min(m, n)
    U, s, Vt = svd_via_eig(A)
    assert U.shape == (m, k) and s.shape == (k,) and Vt.shape == (k, n)
    assert U.dtype == s.dtype == Vt.dtype == np.float64
    s_np = np.linalg.svd(A, compute_uv=False)
    scale = max(1.0, s_np[0])
    np.testing.assert_allclose(s, s_np, rtol=0, atol=1e-10 * scale)
    assert np.all(np.diff(s) <= 0) and np.all(s >= 0)
    np.testing.assert_allclose((U * s) @ Vt, A, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-8)
    np.testing.assert_allclose(Vt @ Vt.T, np.eye(k), atol=1e-10)


@pytest.mark.parametrize("shape", [(9, 4), (4, 9), (6, 6), (30, 12)])
def test_svd_via_eig_vectors_match_numpy_up_to_sign(shape):
    """Singular vectors are unique up to sign when the singular values are distinct."""
    A = np.random.default_rng(sum(shape)).normal(size=shape)
    U, s, Vt = svd_via_eig(A)
    U_np, s_np, Vt_np = np.linalg.svd(A, full_matrices=False)
    assert np.min(np.diff(s_np[::-1])) > 1e-3                  # distinct: vectors well defined
    signs = np.sign(np.sum(U * U_np, axis=0))                  # align u_i with NumPy's
    np.testing.assert_allclose(U * signs, U_np, atol=1e-9)
    np.testing.assert_allclose(Vt * signs[:, None], Vt_np, atol=1e-9)


def test_svd_via_eig_singular_values_match_torch():
    def make_inputs(rng):
        m, n = rng.integers(1, 12, size=2)
        return (rng.normal(size=(m, n)),)

    cmp = compare_with_torch(lambda A: svd_via_eig(A)[1], torch.linalg.svdvals, make_inputs,
                             trials=10, rtol=1e-9, atol=1e-10, name="singular values")
    assert cmp.ok, cmp


def test_svd_via_eig_rank_deficient_gives_exact_zeros_and_orthonormal_U():
    A = _rank_deficient(np.random.default_rng(4), 7, 5, 2)
    U, s, Vt = svd_via_eig(A)
    assert np.all(s[2:] == 0) and np.all(s[:2] > 1)
    np.testing.assert_allclose(U.T @ U, np.eye(5), atol=1e-10)


def test_svd_via_eig_tol_argument():
    A = np.diag([3.0, 1e-3, 0.0])
    U, s, Vt = svd_via_eig(A, tol=1e-2)
    np.testing.assert_allclose(s, [3.0, 0.0, 0.0])
    U, s, Vt = svd_via_eig(A)
    np.testing.assert_allclose(s, [3.0, 1e-3, 0.0], atol=1e-14)


# ------------------------------------------------------------------- low-rank approximation

@pytest.mark.parametrize("name,A", MATRICES, ids=IDS)
def test_eckart_young_identity(name, A):
    s = np.linalg.svd(A, compute_uv=False)
    for r in range(min(A.shape) + 1):
        A_r = low_rank_approx(A, r)
        err2 = np.sum((A - A_r) ** 2)
        assert abs(err2 - np.sum(s[r:] ** 2)) <= 1e-10 * max(1.0, np.sum(s ** 2))
        assert np.linalg.matrix_rank(A_r, tol=1e-9 * max(1.0, s[0])) <= r


def test_low_rank_approx_matches_svd_via_eig_and_torch():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(12, 8))
    U, s, Vt = svd_via_eig(A)
    U_t, s_t, Vt_t = torch.linalg.svd(torch.from_numpy(A), full_matrices=False)
    for r in (1, 3, 8):
        ours = (U[:, :r] * s[:r]) @ Vt[:r]
        theirs = ((U_t[:, :r] * s_t[:r]) @ Vt_t[:r]).numpy()
        np.testing.assert_allclose(low_rank_approx(A, r), theirs, atol=1e-12)
        np.testing.assert_allclose(ours, theirs, atol=1e-10)


def test_other_rank_r_matrices_do_worse():
    rng = np.random.default_rng(6)
    A = rng.normal(size=(20, 15))
    r = 4
    best = np.linalg.norm(A - low_rank_approx(A, r))
    for _ in range(20):
        Q, _ = np.linalg.qr(rng.normal(size=(15, r)))          # a random r-dim row subspace
        assert np.linalg.norm(A - A @ Q @ Q.T) > best
        B = rng.normal(size=(20, r)) @ rng.normal(size=(r, 15)) * 0.3
        assert np.linalg.norm(A - B) > best


def test_low_rank_approx_ends():
    A = np.random.default_rng(7).normal(size=(5, 3))
    np.testing.assert_array_equal(low_rank_approx(A, 0), np.zeros((5, 3)))
    np.testing.assert_allclose(low_rank_approx(A, 3), A, atol=1e-13)


def test_low_rank_storage():
    assert low_rank_storage(100, 80, 5) == 5 * 181
    assert low_rank_storage(3, 4, 0) == 0
    with pytest.raises(ValueError, match=r"low_rank_storage: r must be in \[0, 3\], got 4"):
        low_rank_storage(3, 4, 4)


@pytest.mark.parametrize("shape,r", [((30, 6), 2), ((10, 10), 10), ((4, 9), 3)])
def test_compress_codes_reconstruct_the_rank_r_approximation(shape, r):
    A = np.random.default_rng(8).normal(size=shape)
    V, E_r = compress(A, r)
    assert V.shape == (shape[0], r) and E_r.shape == (shape[1], r)
    np.testing.assert_allclose(E_r.T @ E_r, np.eye(r), atol=1e-12)
    np.testing.assert_allclose(V @ E_r.T, low_rank_approx(A, r), atol=1e-10)


# ----------------------------------------------------------------------- ISTA, sparse coding

def test_soft_threshold_matches_torch_softshrink():
    def make_inputs(rng):
        return (rng.normal(size=tuple(rng.integers(1, 6, size=2))),)

    cmp = compare_with_torch(lambda x: soft_threshold(x, 0.3),
                             lambda x: torch.nn.functional.softshrink(x, 0.3), make_inputs,
                             rtol=0, atol=1e-15, name="soft threshold")
    assert cmp.ok, cmp
    np.testing.assert_array_equal(soft_threshold([-2.0, -0.5, 0.0, 0.5, 2.0], 1.0),
                                  [-1.0, 0.0, 0.0, 0.0, 1.0])


def test_sparse_code_with_orthonormal_dictionary_is_soft_thresholding():
    """For DᵀD = I the lasso separates: N = S_λ(Dᵀ A) exactly."""
    rng = np.random.default_rng(9)
    D, _ = np.linalg.qr(rng.normal(size=(10, 6)))               # (10, 6), orthonormal columns
    A = rng.normal(size=(10, 4))
    for fista in (False, True):
        N = sparse_code(A, D, lam=0.4, n_iter=200, fista=fista)
        np.testing.assert_allclose(N, soft_threshold(D.T @ A, 0.4), atol=1e-12)


@pytest.mark.parametrize("d,k,p,lam", [(8, 16, 5, 0.1), (20, 40, 3, 0.5), (5, 5, 1, 0.05)])
def test_sparse_code_satisfies_lasso_kkt_conditions(d, k, p, lam):
    rng = np.random.default_rng(d + k)
    D = rng.normal(size=(d, k))
    D /= np.linalg.norm(D, axis=0)
    A = rng.normal(size=(d, p))
    N = sparse_code(A, D, lam, n_iter=5000)
    G = D.T @ (A - D @ N)                                       # (k, p): minus the gradient
    on = N != 0
    np.testing.assert_allclose(G[on], lam * np.sign(N[on]), atol=1e-7)
    assert np.all(np.abs(G[~on]) <= lam + 1e-7)
    if k > d:
        assert (~on).sum() > 0, "an overcomplete lasso solution should have zeros"


def test_sparse_code_recovers_a_known_sparse_solution():
    rng = np.random.default_rng(10)
    d, k = 40, 60
    D = rng.normal(size=(d, k))
    D /= np.linalg.norm(D, axis=0)
    N_true = np.zeros((k, 4))
    for j in range(4):
        N_true[rng.choice(k, size=3, replace=False), j] = rng.choice([-1, 1], size=3) * \
            rng.uniform(1, 2, size=3)
    A = D @ N_true
    N = sparse_code(A, D, lam=1e-3, n_iter=3000)
    np.testing.assert_array_equal(np.abs(N) > 0.05, N_true != 0)   # the right support
    np.testing.assert_allclose(N, N_true, atol=1e-2)            # shrunk by about λ only


def test_ista_objective_never_increases_and_fista_agrees():
    rng = np.random.default_rng(11)
    D = rng.normal(size=(6, 12))
    A = rng.normal(size=(6, 3))
    objs = [lasso_objective(A, D, sparse_code(A, D, 0.2, n, fista=False), 0.2)
            for n in range(1, 40)]
    assert np.all(np.diff(objs) <= 1e-12)
    N_ista = sparse_code(A, D, 0.2, 20000, fista=False)
    N_fista = sparse_code(A, D, 0.2, 3000)
    assert abs(lasso_objective(A, D, N_ista, 0.2) - lasso_objective(A, D, N_fista, 0.2)) < 1e-9


def test_sparse_code_lam_zero_is_least_squares_and_warm_start():
    rng = np.random.default_rng(12)
    D = rng.normal(size=(10, 4))
    A = rng.normal(size=(10, 2))
    N_ls = np.linalg.lstsq(D, A, rcond=None)[0]
    np.testing.assert_allclose(sparse_code(A, D, 0.0, 2000), N_ls, atol=1e-9)
    np.testing.assert_allclose(sparse_code(A, D, 0.0, 1, N0=N_ls), N_ls, atol=1e-12)
    np.testing.assert_array_equal(sparse_code(A, np.zeros((10, 4)), 0.1, 5), np.zeros((4, 2)))


def test_dictionary_learning_finds_a_sparse_model_of_sparse_data():
    rng = np.random.default_rng(13)
    d, k, p = 12, 16, 300
    D_true = rng.normal(size=(d, k))
    D_true /= np.linalg.norm(D_true, axis=0)
    N_true = rng.normal(size=(k, p)) * (rng.random((k, p)) < 0.15)
    A = D_true @ N_true
    D, N, history = dictionary_learning(A, k, lam=0.05, n_iter=100, code_iter=50, seed=0)
    assert D.shape == (d, k) and N.shape == (k, p) and len(history) == 100
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-12)
    N_best = sparse_code(A, D_true, 0.05, 500)                   # the codes of the true atoms
    assert history[-1] < 1.05 * lasso_objective(A, D_true, N_best, 0.05)
    assert np.linalg.norm(A - D @ N) / np.linalg.norm(A) < 0.1
    assert np.mean(N != 0) < 0.25
    match = np.abs(D_true.T @ D).max(axis=1)                     # best |cosine| per true atom
    assert np.all(match > 0.95), match                           # every true atom recovered
    D2, N2, _ = dictionary_learning(A, k, lam=0.05, n_iter=100, code_iter=50,
                                    seed=np.random.default_rng(0))
    np.testing.assert_array_equal(D, D2)                        # same seed, same result
    np.testing.assert_array_equal(N, N2)


# --------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call,exc,message", [
    (lambda: svd_via_eig(np.ones(3)), ValueError,
     r"svd_via_eig: A must be a 2-D array, got shape \(3,\)"),
    (lambda: svd_via_eig(np.ones((2, 2, 2))), ValueError, r"svd_via_eig: A must be a 2-D array"),
    (lambda: svd_via_eig(np.zeros((0, 3))), ValueError, r"svd_via_eig: A must not be empty"),
    (lambda: svd_via_eig(torch.ones(2, 2)), TypeError, r"svd_via_eig: A must be a NumPy array"),
    (lambda: svd_via_eig("abc"), TypeError, r"svd_via_eig: A must be an array of numbers"),
    (lambda: svd_via_eig(np.array([[1.0, np.nan]])), ValueError, r"A contains NaN or inf"),
    (lambda: svd_via_eig(np.ones((2, 2)), tol=-1.0), ValueError, r"tol must be finite and >= 0"),
    (lambda: low_rank_approx(np.ones((3, 4)), 4), ValueError,
     r"low_rank_approx: r must be in \[0, 3\], got 4"),
    (lambda: low_rank_approx(np.ones((3, 4)), 1.5), TypeError,
     r"low_rank_approx: r must be an int"),
    (lambda: project(np.ones(4), np.ones((3, 2))), ValueError,
     r"project: x must have 3 rows like A \(3, 2\), got shape \(4,\)"),
    (lambda: orthonormal_basis(np.ones((3, 2)), tol=0), ValueError, r"tol must be finite and > 0"),
    (lambda: compress(np.ones((3, 4)), 0), ValueError, r"compress: r must be in \[1, 4\]"),
    (lambda: soft_threshold(np.ones(3), -0.1), ValueError, r"soft_threshold: t must be finite"),
    (lambda: sparse_code(np.ones((4, 2)), np.ones((3, 5)), 0.1), ValueError,
     r"sparse_code: D must have 4 rows like A \(4, 2\)"),
    (lambda: sparse_code(np.ones((4, 2)), np.ones((4, 5)), 0.1, 0), ValueError,
     r"sparse_code: n_iter must be in \[1, inf\], got 0"),
    (lambda: sparse_code(np.ones((4, 2)), np.ones((4, 5)), 0.1, N0=np.ones((2, 5))), ValueError,
     r"sparse_code: N0 must have shape \(5, 2\)"),
    (lambda: dictionary_learning(np.ones((4, 2)), 3, 0.0), ValueError,
     r"dictionary_learning: lam must be finite and > 0"),
    (lambda: dictionary_learning(np.ones(4), 3, 0.1), ValueError,
     r"dictionary_learning: A must be a 2-D array, got shape \(4,\)"),
])
def test_bad_input_gives_a_clear_error(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
