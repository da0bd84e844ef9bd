"""course_lib.scratch.cluster: k-means against scikit-learn, agglomeration against SciPy."""

import matplotlib
import numpy as np
import pytest
from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.metrics.cluster import contingency_matrix

from course_lib.scratch.cluster import (
    LINKAGES,
    agglomerative,
    assign,
    cluster_purity,
    cut_tree,
    dendrogram_coords,
    inertia,
    kmeans,
    kmeans_plusplus,
    sq_distances,
    update_centers,
)

matplotlib.use("Agg")

SHAPES = [(200, 2, 4), (57, 5, 7), (31, 1, 3), (40, 3, 1), (6, 2, 6), (300, 10, 9)]


def _blobs(rng, n, d, k):
    centres = 4 * rng.normal(size=(k, d))
    return centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))


@pytest.mark.parametrize("n, d, k", SHAPES)
def test_kmeans_matches_sklearn_from_the_same_start(n, d, k):
    rng = np.random.default_rng(n + d + k)
    X = _blobs(rng, n, d, k)
    C0, _ = kmeans_plusplus(X, k, seed=1)
    ours = kmeans(X, init=C0)
    sk = KMeans(k, init=C0, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(X)
    assert ours.converged
    assert abs(ours.inertia - sk.inertia_) <= 1e-10 * sk.inertia_ + 1e-12
    np.testing.assert_allclose(ours.centers, sk.cluster_centers_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours.labels, sk.labels_)
    assert ours.n_iter == sk.n_iter_


def test_kmeans_one_iteration_matches_sklearn():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    C0 = X[:5].copy()
    ours = kmeans(X, init=C0, max_iter=1)
    sk = KMeans(5, init=C0, n_init=1, algorithm="lloyd", tol=0.0, max_iter=1).fit(X)
    assert not ours.converged
    assert abs(ours.inertia - sk.inertia_) <= 1e-10 * sk.inertia_
    np.testing.assert_array_equal(ours.labels, sk.labels_)


def test_kmeans_paths_and_monotone_inertia():
    rng = np.random.default_rng(4)
    X = _blobs(rng, 150, 2, 5)
    res = kmeans(X, 5, init="random", seed=2)
    T = res.n_iter
    assert res.center_path.shape == (T + 1, 5, 2) and res.label_path.shape == (T, 150)
    np.testing.assert_array_equal(res.center_path[-1], res.centers)
    assert np.all(np.diff(res.inertia_path) <= 1e-9)           # Lloyd never increases J
    assert res.inertia_path[-1] == pytest.approx(res.inertia, rel=1e-12)
    np.testing.assert_array_equal(res.labels, assign(X, res.centers))
    assert res.inertia == pytest.approx(inertia(X, res.centers), rel=1e-12)
    again = kmeans(X, 5, init="random", seed=2)
    np.testing.assert_array_equal(again.centers, res.centers)   # seeded: repeatable


def test_sq_distances_and_assign_brute_force():
    rng = np.random.default_rng(5)
    for n, k, d in [(1, 1, 1), (7, 3, 4), (20, 6, 2)]:
        X, C = rng.normal(size=(n, d)), rng.normal(size=(k, d))
        brute = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
        np.testing.assert_allclose(sq_distances(X, C), brute, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(assign(X, C), brute.argmin(1))


def test_update_centers_means_and_empty_cluster():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    C_old = np.array([[1.0, 1.0], [5.0, 5.0], [-3.0, 7.0]])
    C = update_centers(X, np.array([0, 0, 1]), C_old)
    np.testing.assert_allclose(C, [[1.0, 0.0], [10.0, 10.0], [-3.0, 7.0]])   # empty keeps old


def test_kmeans_plusplus_is_d2_sampling():
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    rng = np.random.default_rng(6)
    M = 20000
    counts = np.zeros((4, 4))
    for _ in range(M):
        _, idx = kmeans_plusplus(X, 2, seed=rng)
        counts[idx[0], idx[1]] += 1
    D2 = (X - X.T) ** 2
    expected = D2 / D2.sum(1, keepdims=True) / 4                # P(first=i) P(second=j | i)
    sigma = np.sqrt(expected * (1 - expected) / M)
    assert np.all(np.abs(counts / M - expected) <= 5 * sigma + 1e-12)
    C, idx = kmeans_plusplus(X, 4, seed=0)
    assert sorted(idx) == [0, 1, 2, 3] and np.array_equal(C, X[idx])


def test_cluster_purity_against_contingency():
    rng = np.random.default_rng(7)
    for n in (1, 10, 200):
        pred, true = rng.integers(0, 4, n) * 7 - 3, rng.integers(0, 5, n)
        brute = contingency_matrix(true, pred).max(axis=0).sum() / n
        assert cluster_purity(pred, true) == pytest.approx(brute, rel=1e-12)
    assert cluster_purity([0, 0, 1, 1], [5, 5, 6, 6]) == 1.0
    assert cluster_purity([0, 0, 0, 0], [0, 1, 1, 1]) == 0.75


@pytest.mark.parametrize("method", LINKAGES)
@pytest.mark.parametrize("n, d", [(2, 1), (3, 2), (17, 2), (40, 5)])
def test_agglomerative_matches_scipy(method, n, d):
    X = np.random.default_rng(n * d).normal(size=(n, d))
    Z = agglomerative(X, method)
    Z_sp = linkage(X, method)
    np.testing.assert_allclose(Z, Z_sp, rtol=1e-12, atol=1e-12)
    assert np.all(np.diff(Z[:, 2]) >= 0)                        # heights never decrease
    xs, ys, leaves = dendrogram_coords(Z)
    ref = scipy_dendrogram(Z_sp, no_plot=True)
    assert list(leaves) == ref["leaves"]
    as_set = lambda a: sorted(map(tuple, np.round(np.asarray(a), 9)))  # noqa: E731
    assert as_set(xs) == as_set(ref["icoord"]) and as_set(ys) == as_set(ref["dcoord"])
    for k in sorted({1, 2, 3, n}):
        if k <= n:
            ours, theirs = cut_tree(Z, k), fcluster(Z_sp, k, "maxclust")
            assert len(np.unique(ours)) == k
            assert len(set(zip(ours, theirs, strict=True))) == k    # the same partition


def test_linkages_differ_as_expected():
    # two tight pairs joined by a chain: single linkage follows the chain
    X = np.array([[0.0, 0], [0.5, 0], [1.5, 0], [2.5, 0], [3.5, 0], [4.0, 0]])
    Z_single = agglomerative(X, "single")
    Z_complete = agglomerative(X, "complete")
    assert Z_single[-1, 2] == pytest.approx(1.0)               # the longest chain link
    assert Z_complete[-1, 2] == pytest.approx(4.0)             # the diameter


def test_errors():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="2-D"):
        kmeans(np.zeros(5), 2)
    with pytest.raises(ValueError, match=r"k must be in \[1, 5\]"):
        kmeans(X, 6)
    with pytest.raises(ValueError, match="init must be"):
        kmeans(X, 2, init="best")
    with pytest.raises(ValueError, match="give k"):
        kmeans(X, init="random")
    with pytest.raises(ValueError, match="2 columns like X"):
        assign(X, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        sq_distances(np.array([[np.nan, 0.0]]), X)
    with pytest.raises(ValueError, match=r"labels must hold class labels in \[0, 1\]"):
        update_centers(X, [0, 1, 2, 0, 0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="linkage must be one of"):
        agglomerative(X, "ward")
    with pytest.raises(ValueError, match="at least 2 points"):
        agglomerative(np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"\(N - 1, 4\)"):
        cut_tree(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match="same length"):
        cluster_purity([0, 1], [0])
    with pytest.raises(TypeError, match="torch tensor"):
        import torch

        kmeans(torch.zeros(4, 2), 2)
