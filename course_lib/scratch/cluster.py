"""Clustering from scratch (NumPy only): k-means with k-means++, hierarchical agglomeration.

k-means (Lloyd, "Least squares quantization in PCM", 1957/1982) looks for k centres
c_1..c_k that minimise the **inertia** (簇内平方和), the sum of squared distances from each
point to its nearest centre::

    J(c, z) = Σ_n ‖x_n − c_{z_n}‖²

by alternating two steps, each of which can only lower J:

    assignment   z_n ← argmin_j ‖x_n − c_j‖²                 (nearest centre)
    update       c_j ← mean of the points with z_n = j         (the best centre of a group)

until no assignment changes. J is not convex, so the result depends on the start;
**k-means++** (Arthur & Vassilvitskii, "k-means++: the advantages of careful seeding",
SODA 2007) picks the first centre at random among the points and each next one with
probability proportional to D(x)², the squared distance to the nearest centre chosen so far.

Hierarchical agglomerative clustering (层次聚类) starts with every point in its own cluster
and repeatedly merges the two closest clusters. "Closest" is the **linkage**:

    single     d(A, B) = min  ‖a − b‖      (nearest pair: follows chains)
    complete   d(A, B) = max  ‖a − b‖      (farthest pair: compact, similar-sized groups)
    average    d(A, B) = mean ‖a − b‖      (UPGMA, Sokal & Michener 1958)

After merging i and j, the distance of the new cluster to any k follows from the old ones
(Lance & Williams, "A general theory of classificatory sorting strategies", 1967): the min,
the max, or the size-weighted mean of d(k, i) and d(k, j). The merges are recorded in a
**linkage matrix** Z in SciPy's format, from which :func:`dendrogram_coords` draws the tree
and :func:`cut_tree` reads off a flat clustering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.validate import as_array, as_matrix, as_rng, check_int, check_labels

__all__ = ["sq_distances", "kmeans_plusplus", "assign", "update_centers", "inertia",
           "kmeans", "KMeansResult", "cluster_purity", "LINKAGES", "agglomerative",
           "cut_tree", "dendrogram_coords"]


def _centers(C, d: int, where: str, name: str = "C") -> np.ndarray:
    C = as_matrix(C, where, name)
    if C.shape[1] != d:
        raise ValueError(f"{where}: {name} must have {d} columns like X, got shape {C.shape}")
    return C


# ---------------------------------------------------------------------------------- k-means

def sq_distances(X, C) -> np.ndarray:
    """Squared Euclidean distances ‖x_n − c_j‖² = ‖x_n‖² − 2 x_n·c_j + ‖c_j‖².

    Args:
        X: (N, d) points. C: (K, d) centres.

    Returns:
        (N, K) float64, clipped at 0 (the expansion can give −1e-16 by round-off).
    """
    X = as_matrix(X, "sq_distances", "X")
    C = _centers(C, X.shape[1], "sq_distances")
    D = (X * X).sum(1)[:, None] - 2.0 * X @ C.T + (C * C).sum(1)[None, :]   # (N, K)
    return np.maximum(D, 0.0)


def kmeans_plusplus(X, k: int, seed: int | np.random.Generator = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ seeding (Arthur & Vassilvitskii, 2007).

    The first centre is a point chosen uniformly at random; each next one is a point drawn
    with probability D(x)² / Σ D², where D(x) is the distance from x to its nearest centre
    so far. Far-away points are likely picks, so the centres spread over the data. (This is
    the original algorithm; scikit-learn's default "greedy" variant draws several candidates
    per step and keeps the best.)

    Args:
        X: (N, d) points. k: number of centres, 1 <= k <= N.
        seed: an int or a ``np.random.Generator``.

    Returns:
        centres (k, d) float64 (rows of X) and their row indices (k,) int64.
    """
    X = as_matrix(X, "kmeans_plusplus", "X")
    k = check_int(k, "kmeans_plusplus", "k", low=1, high=len(X))
    rng = as_rng(seed, "kmeans_plusplus")
    idx = [int(rng.integers(len(X)))]
    D2 = sq_distances(X, X[idx])[:, 0]                         # (N,) to the nearest centre
    for _ in range(1, k):
        total = D2.sum()
        if total <= 0:                                         # fewer distinct points than k
            p = np.full(len(X), 1.0 / len(X))
        else:
            p = D2 / total
        idx.append(int(rng.choice(len(X), p=p)))
        D2 = np.minimum(D2, sq_distances(X, X[idx[-1:]])[:, 0])
    idx_arr = np.array(idx, dtype=np.int64)
    return X[idx_arr].copy(), idx_arr


def assign(X, C) -> np.ndarray:
    """The assignment step: z_n = argmin_j ‖x_n − c_j‖² (the first centre on a tie).

    Args:
        X: (N, d) points. C: (K, d) centres.

    Returns:
        labels (N,) int64 in 0..K-1.
    """
    return sq_distances(X, C).argmin(axis=1).astype(np.int64)


def update_centers(X, labels, C_old) -> np.ndarray:
    """The update step: c_j = mean of the points labelled j.

    A centre that lost all its points keeps its old position (scikit-learn instead moves
    it to a far-away point; with k-means++ seeding an empty cluster is rare).

    Args:
        X: (N, d) points. labels: (N,) ints in 0..K-1. C_old: (K, d) current centres.

    Returns:
        (K, d) float64 new centres.
    """
    X = as_matrix(X, "update_centers", "X")
    C_old = _centers(C_old, X.shape[1], "update_centers", "C_old")
    labels = check_labels(labels, len(X), len(C_old), "update_centers", "labels",
                          per="point")
    K = len(C_old)
    counts = np.bincount(labels, minlength=K).astype(np.float64)   # (K,)
    sums = np.zeros_like(C_old)
    np.add.at(sums, labels, X)                                     # (K, d) per-cluster sums
    C = C_old.copy()
    full = counts > 0
    C[full] = sums[full] / counts[full, None]
    return C


def inertia(X, C, labels=None) -> float:
    """J = Σ_n ‖x_n − c_{z_n}‖²; with ``labels=None`` each point uses its nearest centre."""
    D = sq_distances(X, C)
    if labels is None:
        return float(D.min(axis=1).sum())
    labels = check_labels(labels, D.shape[0], D.shape[1], "inertia", "labels", per="point")
    return float(D[np.arange(len(labels)), labels].sum())


@dataclass
class KMeansResult:
    """The result of :func:`kmeans`.

    ``centers`` (K, d) and ``labels`` (N,) are final and consistent (every point is assigned
    to its nearest final centre); ``inertia`` is J for them; ``n_iter`` is T, the number of
    assignment steps. ``center_path`` (T + 1, K, d) holds the centres used by each
    assignment step, then the final ones; ``label_path`` (T, N) the assignments made with
    ``center_path[t]``; ``inertia_path`` (T,) J after each assignment step. ``converged`` is
    True when the run stopped because nothing could change any more.
    """

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    center_path: np.ndarray
    label_path: np.ndarray
    inertia_path: np.ndarray


def kmeans(X, k: int | None = None, *, init="k-means++", max_iter: int = 300,
           seed: int | np.random.Generator = 0) -> KMeansResult:
    """Lloyd's k-means: alternate :func:`assign` and :func:`update_centers` until stable.

    Iteration t assigns every point to its nearest centre and moves each centre to the mean
    of its points. The run stops when an assignment step changes no label or no centre
    moves (either way nothing can change any more), or after ``max_iter`` iterations.
    Started from the same centres, this is scikit-learn's
    ``KMeans(init=C0, n_init=1, algorithm="lloyd", tol=0)``.

    Args:
        X: (N, d) points.
        k: number of clusters (needed unless ``init`` is an array).
        init: ``"k-means++"`` (:func:`kmeans_plusplus`), ``"random"`` (k distinct points at
            random) or a (K, d) array of starting centres.
        max_iter: the most iterations, >= 1.
        seed: int or Generator for the random initialisations.

    Returns:
        A :class:`KMeansResult`.
    """
    X = as_matrix(X, "kmeans", "X")
    max_iter = check_int(max_iter, "kmeans", "max_iter", low=1)
    if isinstance(init, str):
        if k is None:
            raise ValueError("kmeans: give k, the number of clusters, with init="
                             f"{init!r}")
        k = check_int(k, "kmeans", "k", low=1, high=len(X))
        if init == "k-means++":
            C, _ = kmeans_plusplus(X, k, seed)
        elif init == "random":
            C = X[as_rng(seed, "kmeans").choice(len(X), size=k, replace=False)].copy()
        else:
            raise ValueError(f"kmeans: init must be 'k-means++', 'random' or a (k, d) array, "
                             f"got {init!r}")
    else:
        C = _centers(init, X.shape[1], "kmeans", "init").copy()
        if k is not None and check_int(k, "kmeans", "k", low=1) != len(C):
            raise ValueError(f"kmeans: k={k} but init has {len(C)} centres")
    centers, labels_path, J_path = [C], [], []
    labels = None
    converged = False
    for _ in range(max_iter):
        D = sq_distances(X, C)                                     # (N, K)
        new = D.argmin(axis=1)                                     # assignment step
        labels_path.append(new)
        J_path.append(float(D[np.arange(len(X)), new].sum()))
        if labels is not None and np.array_equal(new, labels):
            converged = True
            centers.append(C)                                      # final = last used
            break
        labels = new
        C_new = update_centers(X, labels, C)                       # update step
        centers.append(C_new)
        if np.array_equal(C_new, C):                               # nothing moved: stable
            converged = True
            break
        C = C_new
    if not converged:                                              # labels for the final C
        labels = assign(X, C)
    return KMeansResult(C, labels.astype(np.int64), inertia(X, C, labels), len(labels_path),
                        converged, np.array(centers), np.array(labels_path, dtype=np.int64),
                        np.array(J_path))


def cluster_purity(labels_pred, labels_true) -> float:
    """Purity (纯度): the fraction of points whose cluster's majority class is their own.

    ``purity = (1/N) Σ_clusters max_class |cluster ∩ class|``. 1 means every cluster holds a
    single class; it rises trivially with more clusters (N clusters give 1), so compare
    clusterings with the same k.

    Args:
        labels_pred: (N,) cluster ids (any integers). labels_true: (N,) class ids.

    Returns:
        A float in (0, 1].
    """
    p = as_array(labels_pred, "cluster_purity", "labels_pred", ndim=1, dtype_kind="iu")
    t = as_array(labels_true, "cluster_purity", "labels_true", ndim=1, dtype_kind="iu")
    if len(p) != len(t):
        raise ValueError(f"cluster_purity: labels_pred and labels_true must have the same "
                         f"length, got {len(p)} and {len(t)}")
    _, p_idx = np.unique(p, return_inverse=True)
    _, t_idx = np.unique(t, return_inverse=True)
    table = np.zeros((p_idx.max() + 1, t_idx.max() + 1), dtype=np.int64)   # contingency
    np.add.at(table, (p_idx, t_idx), 1)
    return float(table.max(axis=1).sum() / len(p))


# ---------------------------------------------------------------- hierarchical clustering

LINKAGES = ("single", "complete", "average")


def agglomerative(X, linkage: str = "average") -> np.ndarray:
    """Hierarchical agglomerative clustering with Euclidean distances.

    Start with N singleton clusters; N − 1 times, merge the two clusters at the smallest
    linkage distance and update the distances to the new cluster by Lance–Williams:

        single    d(k, i∪j) = min(d(k, i), d(k, j))
        complete  d(k, i∪j) = max(d(k, i), d(k, j))
        average   d(k, i∪j) = (n_i d(k, i) + n_j d(k, j)) / (n_i + n_j)

    This is the plain O(N³) algorithm (fine for a few hundred points); SciPy uses faster
    ones (minimum spanning tree, nearest-neighbour chain) with the same output.

    Args:
        X: (N, d) points, N >= 2.
        linkage: "single", "complete" or "average".

    Returns:
        Z: (N − 1, 4) float64 linkage matrix in SciPy's format. Row t merges clusters
        ``Z[t, 0] < Z[t, 1]`` at distance ``Z[t, 2]`` into a cluster of ``Z[t, 3]`` points,
        which gets the id N + t (ids 0..N−1 are the points). Heights never decrease.
    """
    X = as_matrix(X, "agglomerative", "X")
    if linkage not in LINKAGES:
        raise ValueError(f"agglomerative: linkage must be one of {LINKAGES}, got {linkage!r}")
    N = len(X)
    if N < 2:
        raise ValueError(f"agglomerative: need at least 2 points, got {N}")
    D = np.stack([np.sqrt(((X - x) ** 2).sum(1)) for x in X])      # (N, N) ‖x_a − x_b‖
    np.fill_diagonal(D, np.inf)
    ids = np.arange(N)                  # the cluster id held in each row of D
    size = np.ones(N)
    Z = np.zeros((N - 1, 4))
    for t in range(N - 1):
        i, j = np.unravel_index(np.argmin(D), D.shape)             # closest pair of rows
        i, j = min(i, j), max(i, j)
        h = D[i, j]
        if linkage == "single":
            new = np.minimum(D[i], D[j])
        elif linkage == "complete":
            new = np.maximum(D[i], D[j])
        else:
            new = (size[i] * D[i] + size[j] * D[j]) / (size[i] + size[j])
        a, b = sorted((ids[i], ids[j]))
        Z[t] = a, b, h, size[i] + size[j]
        D[i, :] = D[:, i] = new                                    # row i: the merged cluster
        D[i, i] = np.inf
        D[j, :] = D[:, j] = np.inf                                 # row j is retired
        ids[i], size[i] = N + t, size[i] + size[j]
    return Z


def _check_linkage(Z, where: str) -> np.ndarray:
    Z = as_array(Z, where, "Z", ndim=2).astype(np.float64)
    if Z.shape[1] != 4:
        raise ValueError(f"{where}: Z must be an (N - 1, 4) linkage matrix, got shape {Z.shape}")
    N = len(Z) + 1
    ids = Z[:, :2]
    if np.any(ids != np.round(ids)) or ids.min() < 0 or \
            np.any(ids >= N + np.arange(N - 1)[:, None]):
        raise ValueError(f"{where}: Z[t, :2] must be ids of earlier clusters (< N + t)")
    return Z


def cut_tree(Z, n_clusters: int) -> np.ndarray:
    """Flat clusters from a linkage matrix: undo the last ``n_clusters − 1`` merges.

    Replays the first N − n_clusters merges of Z (the lowest ones) with a union-find.
    Same partition as ``scipy.cluster.hierarchy.fcluster(Z, n_clusters, "maxclust")`` when
    no two heights tie.

    Args:
        Z: (N − 1, 4) linkage matrix. n_clusters: 1 <= n_clusters <= N.

    Returns:
        labels (N,) int64 in 0..n_clusters−1, numbered in order of first appearance.
    """
    Z = _check_linkage(Z, "cut_tree")
    N = len(Z) + 1
    n_clusters = check_int(n_clusters, "cut_tree", "n_clusters", low=1, high=N)
    parent = np.arange(2 * N - 1)

    def root(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for t in range(N - n_clusters):
        a, b = int(Z[t, 0]), int(Z[t, 1])
        parent[root(a)] = parent[root(b)] = N + t
    roots = np.array([root(i) for i in range(N)])
    _, first = np.unique(roots, return_index=True)
    order = {r: n for n, r in enumerate(roots[np.sort(first)])}
    return np.array([order[r] for r in roots], dtype=np.int64)


def dendrogram_coords(Z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates of the dendrogram (树状图) of a linkage matrix, as SciPy draws it.

    The leaves are laid out left to right by walking the tree from the root, left child
    ``Z[t, 0]`` before right child ``Z[t, 1]``; leaf number p sits at x = 10 p + 5. A merge at
    height h is drawn as a "∏": up from the left child, across at h, down to the right child.

    Args:
        Z: (N − 1, 4) linkage matrix.

    Returns:
        xs: (N − 1, 4) and ys: (N − 1, 4), row t the four corners of merge t's "∏"
        (``ax.plot(xs[t], ys[t])`` draws it); leaves: (N,) int64 point ids, left to right.
    """
    Z = _check_linkage(Z, "dendrogram_coords")
    N = len(Z) + 1
    leaves: list[int] = []
    stack = [2 * N - 2]                                            # the root's id
    while stack:                                                   # depth first, left first
        c = stack.pop()
        if c < N:
            leaves.append(c)
        else:
            stack += [int(Z[c - N, 1]), int(Z[c - N, 0])]
    x = np.zeros(2 * N - 1)
    y = np.zeros(2 * N - 1)
    x[np.array(leaves)] = 10.0 * np.arange(N) + 5.0
    xs, ys = np.zeros((N - 1, 4)), np.zeros((N - 1, 4))
    for t in range(N - 1):                                         # children come before t
        a, b, h = int(Z[t, 0]), int(Z[t, 1]), Z[t, 2]
        xs[t] = x[a], x[a], x[b], x[b]
        ys[t] = y[a], h, h, y[b]
        x[N + t], y[N + t] = (x[a] + x[b]) / 2, h
    return xs, ys, np.array(leaves, dtype=np.int64)
