"""Evaluation measures from scratch (NumPy only): the ROC curve and its area, principal angles.

**ROC curve** (受试者工作特征曲线). A detector gives every example a score (higher = more
likely positive, e.g. "anomaly"). Declaring positive every example with score >= τ gives a
true-positive rate TPR(τ) = TP / P and a false-positive rate FPR(τ) = FP / N; lowering τ
from +∞ to the smallest score traces the ROC curve from (0, 0) to (1, 1). Its area (AUC) is
the probability that a random positive scores above a random negative, ties counting one
half (Hanley & McNeil, "The meaning and use of the area under a ROC curve", Radiology 1982):

    AUC = P(s⁺ > s⁻) + ½ P(s⁺ = s⁻)        (the Mann–Whitney U statistic / (P·N))

**Principal angles** (主角) between two subspaces (Björck & Golub, "Numerical methods for
computing angles between linear subspaces", Math. Comp. 1973). With Q_A (n, p) and Q_B
(n, q) orthonormal bases, the singular values of Q_Aᵀ Q_B are the cosines cos θ_1 >= ... of
the angles between the subspaces. The largest angle is 0 exactly when one subspace lies in
the other. Small angles are computed from sines instead (arccos is ill-conditioned near 1),
as Knyazev & Argentati (SIAM J. Sci. Comput. 2002) recommend.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.validate import as_array, as_float_array, as_matrix, check_same_shape

__all__ = ["roc_curve", "trapezoid_area", "roc_auc", "principal_angles"]


def _scores_labels(scores, labels, where: str) -> tuple[np.ndarray, np.ndarray]:
    s = as_float_array(scores, where, "scores", ndim=1, finite=True, dtype=np.float64)
    y = as_array(labels, where, "labels", ndim=1)
    check_same_shape(s, y, where, "scores", "labels")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{where}: labels must be 0 (negative) or 1 (positive), "
                         f"got values {np.unique(y)[:5]}")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError(f"{where}: labels must contain both classes (0 and 1), "
                         f"got only {int(y[0])}s; the ROC curve is undefined")
    return s, y


def roc_curve(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve: (FPR, TPR) at every distinct threshold, highest threshold first.

    Sort by score, descending; after the examples with score >= τ, TP(τ) and FP(τ) are
    cumulative counts of positives and negatives. Only the last of a run of tied scores is
    kept (all of them switch at once). A first point (0, 0) at τ = +∞ is prepended.
    Matches ``sklearn.metrics.roc_curve(labels, scores, drop_intermediate=False)``.

    Args:
        scores: (n,) real scores, higher = more positive.
        labels: (n,) 0/1 (or bool), both classes present.

    Returns:
        fpr (m,), tpr (m,), thresholds (m,) float64 with m = distinct scores + 1.
    """
    s, y = _scores_labels(scores, labels, "roc_curve")
    order = np.argsort(-s, kind="stable")                      # descending scores
    s, y = s[order], y[order]
    tp = np.cumsum(y)                                          # positives with score >= s_i
    fp = np.cumsum(~y)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each run of ties
    tpr = np.r_[0.0, tp[last] / tp[-1]]
    fpr = np.r_[0.0, fp[last] / fp[-1]]
    return fpr, tpr, np.r_[np.inf, s[last]]


def trapezoid_area(x, y) -> float:
    """Area under a piecewise-linear curve through (x_i, y_i): Σ (x_{i+1} − x_i)(y_i + y_{i+1})/2.

    Args:
        x: (m,) non-decreasing. y: (m,).
    """
    x = as_float_array(x, "trapezoid_area", "x", ndim=1, dtype=np.float64)
    y = as_float_array(y, "trapezoid_area", "y", ndim=1, dtype=np.float64)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"trapezoid_area: x and y must have the same length >= 2, "
                         f"got {len(x)} and {len(y)}")
    if np.any(np.diff(x) < 0):
        raise ValueError("trapezoid_area: x must be non-decreasing")
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve, by the trapezoid rule on :func:`roc_curve`.

    Equals the pair-counting definition P(s⁺ > s⁻) + ½ P(s⁺ = s⁻): a tie run moves the
    curve diagonally, and the trapezoid under a diagonal counts those pairs one half.
    0.5 is chance; 1 separates the classes perfectly.

    Args:
        scores: (n,) real scores. labels: (n,) 0/1, both present.

    Returns:
        AUC, a float in [0, 1].
    """
    fpr, tpr, _ = roc_curve(scores, labels)
    return trapezoid_area(fpr, tpr)


def _orthonormal(A, where: str, name: str) -> np.ndarray:
    A = as_matrix(A, where, name)
    if A.shape[1] > A.shape[0]:
        raise ValueError(f"{where}: {name} must be (n, k) with k <= n basis columns, "
                         f"got shape {A.shape}")
    Q, R = np.linalg.qr(A)                                     # (n, k)
    d = np.abs(np.diag(R))
    if d.min() <= 1e-12 * max(d.max(), 1e-300):
        raise ValueError(f"{where}: the columns of {name} must be linearly independent")
    return Q


def principal_angles(A, B) -> np.ndarray:
    """Principal angles between span(A) and span(B), in radians, ascending.

    With orthonormal bases Q_A, Q_B (QR): the cosines are the singular values σ of
    Q_Aᵀ Q_B, the sines those of (I − Q_A Q_Aᵀ) Q_B. θ = arcsin(sine) where θ < π/4 (accurate
    for tiny angles), arccos(cosine) elsewhere.

    Args:
        A: (n, p) and B: (n, q), independent columns; min(p, q) angles are returned.

    Returns:
        (min(p, q),) float64 angles in [0, π/2], smallest first. The same values as
        ``scipy.linalg.subspace_angles(A, B)`` (which lists them largest first).
    """
    Q_A = _orthonormal(A, "principal_angles", "A")
    Q_B = _orthonormal(B, "principal_angles", "B")
    if Q_A.shape[0] != Q_B.shape[0]:
        raise ValueError(f"principal_angles: A and B must have the same number of rows, "
                         f"got {Q_A.shape[0]} and {Q_B.shape[0]}")
    if Q_A.shape[1] < Q_B.shape[1]:                            # let A be the larger space
        Q_A, Q_B = Q_B, Q_A
    k = Q_B.shape[1]
    cos = np.clip(np.linalg.svd(Q_A.T @ Q_B, compute_uv=False), 0.0, 1.0)   # (k,) descending
    resid = Q_B - Q_A @ (Q_A.T @ Q_B)                          # (n, k) part of B outside A
    sin = np.clip(np.linalg.svd(resid, compute_uv=False), 0.0, 1.0)[::-1]  # (k,) ascending
    theta = np.where(cos ** 2 < 0.5, np.arccos(cos), np.arcsin(sin[:k]))
    return np.sort(theta)
