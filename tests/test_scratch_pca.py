"""course_lib.scratch.pca: PCA against scikit-learn and chapter 01's SVD; the linear
autoencoder's gradients against torch.autograd and its subspace against PCA."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA as SkPCA

from course_lib.scratch.linalg import low_rank_approx
from course_lib.scratch.metrics import principal_angles
from course_lib.scratch.pca import (
    PCA,
    fit_linear_autoencoder,
    fit_pca,
    linear_ae_loss,
    pca_inverse_transform,
    pca_reconstruct,
    pca_transform,
)

SHAPES = [(50, 6, 3), (7, 12, 4), (2, 3, 1), (30, 1, 1), (100, 20, 20)]


def _data(rng, n, d):
    return rng.normal(size=(n, d)) * rng.uniform(0.2, 3.0, size=d) + rng.normal(size=d)


@pytest.mark.parametrize("n, d, k", SHAPES)
@pytest.mark.parametrize("method", ["svd", "eig"])
def test_pca_matches_sklearn(n, d, k, method):
    X = _data(np.random.default_rng(n * d + k), n, d)
    if method == "eig" and k >= min(n, d):
        k = max(1, min(n, d) - 1)          # eig loses the round-off-level last direction
    ours = fit_pca(X, k, method=method)
    sk = SkPCA(k, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.mean, sk.mean_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.components, sk.components_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance, sk.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio, sk.explained_variance_ratio_,
                               rtol=1e-8)
    np.testing.assert_allclose(ours.singular_values, sk.singular_values_, rtol=1e-8)
    Z = pca_transform(ours, X)
    np.testing.assert_allclose(Z, sk.transform(X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(pca_inverse_transform(ours, Z),
                               sk.inverse_transform(sk.transform(X)), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.components @ ours.components.T, np.eye(k), atol=1e-10)


@pytest.mark.parametrize("n, d", [(40, 8), (9, 15), (3, 2)])
def test_reconstruction_is_eckart_young(n, d):
    X = _data(np.random.default_rng(n + d), n, d)
    p = fit_pca(X)
    Xc = X - X.mean(0)
    s = np.linalg.svd(Xc, compute_uv=False)
    for k in range(0, p.n_components + 1):
        X_hat = pca_reconstruct(p, X, k)
        np.testing.assert_allclose(X_hat - p.mean, low_rank_approx(Xc, k), atol=1e-10)
        err = ((X - X_hat) ** 2).sum()
        assert err == pytest.approx((s[k:] ** 2).sum(), rel=1e-9, abs=1e-10)
    assert p.explained_variance_ratio.sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("n, d, k", [(1, 3, 1), (10, 5, 2), (33, 8, 8), (4, 2, 1)])
def test_linear_ae_gradients_match_autograd(n, d, k):
    rng = np.random.default_rng(n + d + k)
    X, W_e, W_d = rng.normal(size=(n, d)), rng.normal(size=(d, k)), rng.normal(size=(k, d))
    loss, dW_e, dW_d = linear_ae_loss(X, W_e, W_d)
    Xt = torch.tensor(X)
    W_et = torch.tensor(W_e, requires_grad=True)
    W_dt = torch.tensor(W_d, requires_grad=True)
    Lt = ((Xt @ W_et @ W_dt - Xt) ** 2).sum() / (2 * n)
    Lt.backward()
    assert loss == pytest.approx(Lt.item(), rel=1e-12)
    np.testing.assert_allclose(dW_e, W_et.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW_d, W_dt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_autoencoder_finds_the_pca_subspace():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    X = rng.normal(size=(400, 10)) * np.array([3, 2.5, 2, 1, .6, .5, .4, .3, .2, .1]) @ Q.T
    X = X - X.mean(0)
    W_e, W_d, losses = fit_linear_autoencoder(X, 3, n_steps=1500, seed=1)
    p = fit_pca(X, 3)
    angles = principal_angles(W_d.T, p.components.T)
    assert np.degrees(angles.max()) < 0.1
    pca_loss = ((X - pca_reconstruct(p, X, 3)) ** 2).sum() / (2 * len(X))
    assert losses[-1] == pytest.approx(pca_loss, rel=1e-4)
    assert losses[-1] < losses[0] and np.all(np.diff(losses) <= 1e-12)   # GD descends
    W_e2, _, _ = fit_linear_autoencoder(X, 3, n_steps=5, seed=1)
    W_e3, _, _ = fit_linear_autoencoder(X, 3, n_steps=5, seed=1)
    np.testing.assert_array_equal(W_e2, W_e3)


def test_errors():
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match="at least 2 samples"):
        fit_pca(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"n_components must be in \[1, 3\]"):
        fit_pca(X, 4)
    with pytest.raises(ValueError, match="method must be"):
        fit_pca(X, method="qr")
    with pytest.raises(ValueError, match="2-D"):
        fit_pca(np.ones(3))
    p = fit_pca(np.random.default_rng(0).normal(size=(6, 3)))
    assert isinstance(p, PCA)
    with pytest.raises(ValueError, match="3 columns"):
        pca_transform(p, np.ones((2, 4)))
    with pytest.raises(TypeError, match="pca must be a PCA"):
        pca_transform("pca", X)
    with pytest.raises(ValueError, match="W_enc"):
        linear_ae_loss(X, np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        linear_ae_loss(np.full((2, 2), np.nan), np.ones((2, 1)), np.ones((1, 2)))
