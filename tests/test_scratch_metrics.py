"""course_lib.scratch.metrics: ROC and AUC against scikit-learn and pair counting; principal
angles against SciPy."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from course_lib.scratch.metrics import principal_angles, roc_auc, roc_curve, trapezoid_area


def _scores(rng, n, decimals):
    y = rng.integers(0, 2, n)
    y[:2] = 0, 1
    s = rng.normal(size=n) + y
    return (np.round(s, decimals) if decimals is not None else s), y


@pytest.mark.parametrize("n", [2, 3, 17, 500])
@pytest.mark.parametrize("decimals", [None, 1, 0])          # 0 and 1 decimals: many ties
def test_roc_matches_sklearn(n, decimals):
    s, y = _scores(np.random.default_rng(n), n, decimals)
    fpr, tpr, th = roc_curve(s, y)
    F, T, TH = sk_roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, F, rtol=0, atol=1e-15)
    np.testing.assert_allclose(tpr, T, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(th, TH)
    auc = roc_auc(s, y)
    assert auc == pytest.approx(roc_auc_score(y, s), rel=1e-12, abs=1e-15)
    pos, neg = s[y == 1], s[y == 0]
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    assert auc == pytest.approx(pairs.mean(), rel=1e-12, abs=1e-15)


def test_roc_extremes_and_bool_labels():
    y = np.array([False, False, True, True])
    assert roc_auc([0.1, 0.2, 0.8, 0.9], y) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], y) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], y) == 0.5
    fpr, tpr, _ = roc_curve([0.5, 0.5, 0.5, 0.5], y)
    np.testing.assert_array_equal(fpr, [0, 1]) and np.testing.assert_array_equal(tpr, [0, 1])


def test_trapezoid_area():
    rng = np.random.default_rng(1)
    x, y = np.sort(rng.uniform(size=20)), rng.normal(size=20)
    assert trapezoid_area(x, y) == pytest.approx(np.trapezoid(y, x), rel=1e-12)
    with pytest.raises(ValueError, match="non-decreasing"):
        trapezoid_area([1.0, 0.0], [0.0, 1.0])


@pytest.mark.parametrize("n, p, q", [(10, 3, 3), (20, 5, 2), (6, 1, 4), (4, 4, 4), (3, 1, 1)])
def test_principal_angles_match_scipy(n, p, q):
    rng = np.random.default_rng(n * p * q)
    A, B = rng.normal(size=(n, p)), rng.normal(size=(n, q))
    theta = principal_angles(A, B)
    assert theta.shape == (min(p, q),) and np.all(np.diff(theta) >= 0)
    np.testing.assert_allclose(theta, np.sort(subspace_angles(A, B)), rtol=1e-9, atol=1e-12)


def test_principal_angles_small_exact_and_right_angles():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(30, 4))
    B = A @ rng.normal(size=(4, 4))                             # the same subspace
    assert principal_angles(A, B).max() < 1e-7
    # rotate one basis vector by a known tiny angle inside a plane orthogonal to the rest
    Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    eps = 1e-9
    A = Q[:, :3]
    B = np.column_stack([Q[:, 0], Q[:, 1], np.cos(eps) * Q[:, 2] + np.sin(eps) * Q[:, 5]])
    np.testing.assert_allclose(principal_angles(A, B), [0, 0, eps], rtol=1e-6, atol=1e-15)
    E = np.eye(5)
    np.testing.assert_allclose(principal_angles(E[:, :2], E[:, 2:4]), [np.pi / 2] * 2)
    np.testing.assert_allclose(principal_angles(E[:, :1], (E[:, 0] + E[:, 1])[:, None]),
                               [np.pi / 4], rtol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match=r"scores and labels must have the same shape, got \(3,\)"):
        roc_curve([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ValueError, match="0 \\(negative\\) or 1"):
        roc_auc([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([np.nan, 0.2], [0, 1])
    with pytest.raises(ValueError, match="linearly independent"):
        principal_angles(np.ones((4, 2)), np.eye(4)[:, :1])
    with pytest.raises(ValueError, match="same number of rows"):
        principal_angles(np.eye(4)[:, :2], np.eye(5)[:, :2])
    with pytest.raises(ValueError, match="k <= n"):
        principal_angles(np.ones((2, 3)), np.eye(2))
