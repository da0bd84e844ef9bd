"""Principal component analysis and the linear autoencoder, from scratch (NumPy only).

PCA (主成分分析; Pearson 1901, Hotelling 1933) finds the orthonormal directions along which
centred data vary most. With the data centred, X_c = X − x̄ (N, d), and its thin SVD
X_c = U S Vᵀ (chapter 01):

    components      the rows of Vᵀ: v_1, v_2, ... (unit vectors in pixel space)
    variances       λ_i = s_i² / (N − 1)       (eigenvalues of the covariance X_cᵀX_c/(N − 1))
    codes           z = (x − x̄) V_k             (k numbers per sample)
    reconstruction  x̂ = x̄ + z V_kᵀ

By Eckart–Young, X_c V_k V_kᵀ = U_k S_k V_kᵀ is the best rank-k approximation of X_c, so no
k-dimensional linear code reconstructs the training data better; the squared error left is
Σ_{i>k} s_i². ``method="eig"`` builds V from the eigendecomposition of X_cᵀX_c, exactly the
construction of :func:`course_lib.scratch.linalg.svd_via_eig`.

A **linear autoencoder** x̂ = (x W_enc) W_dec, W_enc (d, k), W_dec (k, d), trained to
minimise the squared error, learns the same subspace: at every minimum the rows of W_dec span
span(v_1..v_k), although they need not be the v_i themselves nor orthonormal (Baldi & Hornik,
"Neural networks and principal component analysis", Neural Networks 2(1), 1989).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.linalg import sym_eig
from course_lib.scratch.validate import as_matrix, as_rng, check_int, check_positive

__all__ = ["PCA", "fit_pca", "pca_transform", "pca_inverse_transform", "pca_reconstruct",
           "linear_ae_loss", "fit_linear_autoencoder"]


@dataclass
class PCA:
    """A fitted PCA (see :func:`fit_pca`).

    ``mean`` (d,); ``components`` (k, d) orthonormal rows, by decreasing variance;
    ``singular_values`` (k,) of the centred data; ``explained_variance`` (k,) = s²/(N − 1);
    ``explained_variance_ratio`` (k,), each variance over the total variance of all d
    directions; ``n_samples`` N.
    """

    mean: np.ndarray
    components: np.ndarray
    singular_values: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    n_samples: int

    @property
    def n_components(self) -> int:
        return len(self.components)


def fit_pca(X, n_components: int | None = None, *, method: str = "svd") -> PCA:
    """Fit PCA to the rows of ``X``.

    Args:
        X: (N, d) data, one sample per row, N >= 2.
        n_components: k, 1 <= k <= min(N, d); default min(N, d).
        method: ``"svd"`` (``np.linalg.svd`` of X_c, accurate) or ``"eig"`` (eigenvectors of
            X_cᵀX_c with :func:`~course_lib.scratch.linalg.sym_eig`, chapter 01's way; loses
            singular values below ~1e-8·s_1, harmless for the leading components).

    Returns:
        A :class:`PCA`. Signs are fixed so that each component's largest-magnitude entry is
        positive (as scikit-learn does), so results are reproducible.
    """
    X = as_matrix(X, "fit_pca", "X")
    N, d = X.shape
    if N < 2:
        raise ValueError(f"fit_pca: need at least 2 samples, got X of shape {X.shape}")
    k = min(N, d) if n_components is None else check_int(n_components, "fit_pca",
                                                          "n_components", low=1, high=min(N, d))
    mean = X.mean(axis=0)                                          # (d,)
    Xc = X - mean                                                  # (N, d)
    if method == "svd":
        _, s, Vt = np.linalg.svd(Xc, full_matrices=False)          # (r,), (r, d), r = min(N, d)
    elif method == "eig":
        lam, E = sym_eig(Xc.T @ Xc)                                # (d,), (d, d) descending
        s, Vt = np.sqrt(np.clip(lam, 0.0, None)), E.T
    else:
        raise ValueError(f"fit_pca: method must be 'svd' or 'eig', got {method!r}")
    s, Vt = s[:k], Vt[:k]
    big = np.abs(Vt).argmax(axis=1)                                # fix each sign
    Vt = Vt * np.sign(Vt[np.arange(k), big])[:, None]
    var = s ** 2 / (N - 1)
    total = (Xc ** 2).sum() / (N - 1)
    ratio = var / total if total > 0 else np.zeros_like(var)
    return PCA(mean, Vt, s, var, ratio, N)


def _check_pca(pca, where: str) -> None:
    if not isinstance(pca, PCA):
        raise TypeError(f"{where}: pca must be a PCA from fit_pca, got {type(pca).__name__}")


def _k(pca: PCA, k, where: str) -> int:
    return pca.n_components if k is None else check_int(k, where, "k", low=0,
                                                         high=pca.n_components)


def pca_transform(pca: PCA, X, k: int | None = None) -> np.ndarray:
    """Codes z = (x − x̄) V_k: (N, d) -> (N, k) (k default: all fitted components)."""
    _check_pca(pca, "pca_transform")
    X = as_matrix(X, "pca_transform", "X")
    if X.shape[1] != len(pca.mean):
        raise ValueError(f"pca_transform: X must have {len(pca.mean)} columns, got {X.shape}")
    k = _k(pca, k, "pca_transform")
    return (X - pca.mean) @ pca.components[:k].T


def pca_inverse_transform(pca: PCA, Z) -> np.ndarray:
    """Reconstruction x̂ = x̄ + z V_kᵀ from codes Z (N, k) -> (N, d)."""
    _check_pca(pca, "pca_inverse_transform")
    Z = as_matrix(Z, "pca_inverse_transform", "Z", allow_empty=True)   # k = 0: only the mean
    k = Z.shape[1]
    if k > pca.n_components:
        raise ValueError(f"pca_inverse_transform: Z has {k} columns but the PCA only "
                         f"{pca.n_components} components")
    return pca.mean + Z @ pca.components[:k]


def pca_reconstruct(pca: PCA, X, k: int) -> np.ndarray:
    """Project X (N, d) onto the first k components and back: x̄ + (x − x̄) V_k V_kᵀ."""
    return pca_inverse_transform(pca, pca_transform(pca, X, k))


# -------------------------------------------------------------------- linear autoencoder

def linear_ae_loss(X, W_enc, W_dec) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss and gradients of a linear autoencoder on (centred) data.

        H = X W_enc (N, k),  R = H W_dec − X (N, d),  L = ‖R‖_F² / (2N)
        ∂L/∂W_dec = Hᵀ R / N          (k, d)
        ∂L/∂W_enc = Xᵀ (R W_decᵀ) / N  (d, k)

    Args:
        X: (N, d) data (centre it first: this model has no biases). W_enc: (d, k).
        W_dec: (k, d).

    Returns:
        (L, dW_enc, dW_dec) with float L.
    """
    X = as_matrix(X, "linear_ae_loss", "X")
    W_enc = as_matrix(W_enc, "linear_ae_loss", "W_enc")
    W_dec = as_matrix(W_dec, "linear_ae_loss", "W_dec")
    N, d = X.shape
    if W_enc.shape[0] != d or W_dec.shape != (W_enc.shape[1], d):
        raise ValueError(f"linear_ae_loss: need W_enc (d, k) and W_dec (k, d) with d = {d}, "
                         f"got {W_enc.shape} and {W_dec.shape}")
    H = X @ W_enc                                                  # (N, k) codes
    R = H @ W_dec - X                                              # (N, d) residuals
    loss = float((R ** 2).sum() / (2 * N))
    return loss, X.T @ (R @ W_dec.T) / N, H.T @ R / N


def fit_linear_autoencoder(X, k: int, *, n_steps: int, lr: float | None = None,
                             init_scale: float = 0.1, seed: int = 0
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train a linear autoencoder by full-batch gradient descent on :func:`linear_ae_loss`.

    Args:
        X: (N, d) centred data.
        k: code size, 1 <= k <= d.
        n_steps: number of gradient steps.
        lr: step size; default 0.5 / λ_max with λ_max the largest eigenvalue of XᵀX/N (a
            safe step for this loss near its minima).
        init_scale: standard deviation of the Gaussian initial weights.
        seed: seed for the initial weights.

    Returns:
        W_enc (d, k), W_dec (k, d), losses (n_steps + 1,) (the loss before each step and at
        the end).
    """
    X = as_matrix(X, "fit_linear_autoencoder", "X")
    N, d = X.shape
    k = check_int(k, "fit_linear_autoencoder", "k", low=1, high=d)
    n_steps = check_int(n_steps, "fit_linear_autoencoder", "n_steps", low=0)
    init_scale = check_positive(init_scale, "fit_linear_autoencoder", "init_scale")
    if lr is None:
        lam_max = float(np.linalg.eigvalsh(X.T @ X / N)[-1])
        lr = 0.5 / lam_max if lam_max > 0 else 1.0
    lr = check_positive(lr, "fit_linear_autoencoder", "lr")
    rng = as_rng(seed, "fit_linear_autoencoder")
    W_enc = init_scale * rng.normal(size=(d, k))
    W_dec = init_scale * rng.normal(size=(k, d))
    losses = np.empty(n_steps + 1)
    for t in range(n_steps + 1):
        losses[t], dW_enc, dW_dec = linear_ae_loss(X, W_enc, W_dec)
        if t < n_steps:
            W_enc -= lr * dW_enc
            W_dec -= lr * dW_dec
    return W_enc, W_dec, losses
