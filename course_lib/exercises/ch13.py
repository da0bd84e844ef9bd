"""Checks for the exercises of chapter 13 (Unsupervised learning)."""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch.cluster import assign, cluster_purity
from course_lib.scratch.metrics import roc_auc
from course_lib.scratch.pca import fit_pca

# ----------------------------------------------------------------- 1. the assignment step


def _assign_inputs(rng: np.random.Generator):
    d, K = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    N = int(rng.integers(1, 40))
    return rng.normal(size=(N, d)), 2 * rng.normal(size=(K, d))


def check_assign(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(X, C) -> (N,)``: the index of the nearest centre (K, d) for each point (N, d)."""
    return check_function(
        fn, assign, _assign_inputs, name="k-means assignment step", rtol=0.0, atol=0.0,
        strict=strict,
        hint="compute the (N, K) squared distances with broadcasting, "
             "((X[:, None, :] - C[None, :, :]) ** 2).sum(-1), then argmin over axis 1")


# ----------------------------------------------------------------------- 2. cluster purity

def _purity_inputs(rng: np.random.Generator):
    N = int(rng.integers(1, 60))
    n_clusters, n_classes = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    pred = rng.integers(0, n_clusters, size=N) * 3 + 1           # ids need not be 0..K-1
    return pred, rng.integers(0, n_classes, size=N)


def check_purity(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(labels_pred, labels_true) -> float``: cluster purity in (0, 1]."""
    return check_function(
        fn, cluster_purity, _purity_inputs, name="cluster purity", rtol=1e-12, atol=1e-12,
        strict=strict,
        hint="for each cluster id in np.unique(labels_pred), count its most common true "
             "label (np.bincount(...).max()); add these counts and divide by N")


# ------------------------------------------------------------ 3. explained variance ratio

def _evr_inputs(rng: np.random.Generator):
    d = int(rng.integers(1, 7))
    N = d + int(rng.integers(1, 30))
    scales = rng.uniform(0.1, 3.0, size=d)
    return (rng.normal(size=(N, d)) * scales + rng.normal(size=d),)


def check_explained_variance_ratio(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(X) -> (d,)``: PCA's explained variance ratios of X (N, d), N > d, descending."""
    return check_function(
        fn, lambda X: fit_pca(X).explained_variance_ratio, _evr_inputs,
        name="explained variance ratio", rtol=1e-8, atol=1e-10, strict=strict,
        hint="centre X (subtract the column means), take the singular values s of the "
             "centred matrix (np.linalg.svd), and return s**2 / np.sum(s**2)")


# ------------------------------------------------------------------- 4. AUC by pair counting

def _auc_inputs(rng: np.random.Generator):
    N = int(rng.integers(2, 50))
    labels = rng.integers(0, 2, size=N)
    labels[:2] = 0, 1                                             # both classes present
    scores = np.round(rng.normal(size=N) + labels, 1)             # rounding makes ties
    return scores, labels


def check_roc_auc(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(scores, labels) -> float``: the ROC AUC, ties between classes counting ½."""
    return check_function(
        fn, roc_auc, _auc_inputs, name="ROC AUC by pair counting", rtol=1e-12, atol=1e-12,
        strict=strict,
        hint="compare every positive score with every negative one: "
             "(s_pos[:, None] > s_neg[None, :]) counts 1, == counts 0.5; take the mean")
