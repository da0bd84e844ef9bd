"""course_lib.exercises.ch13: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np

from course_lib.exercises import ch13


def test_correct_answers_pass():
    assert ch13.check_assign(
        lambda X, C: ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1).argmin(1), strict=False)

    def purity(pred, true):
        return sum(np.bincount(true[pred == c]).max() for c in np.unique(pred)) / len(pred)

    assert ch13.check_purity(purity, strict=False)

    def evr(X):
        s = np.linalg.svd(X - X.mean(0), compute_uv=False)
        return s ** 2 / np.sum(s ** 2)

    assert ch13.check_explained_variance_ratio(evr, strict=False)

    def auc(scores, labels):
        pos, neg = scores[labels == 1], scores[labels == 0]
        return np.mean((pos[:, None] > neg) + 0.5 * (pos[:, None] == neg))

    assert ch13.check_roc_auc(auc, strict=False)


def test_typical_mistakes_fail():
    v = ch13.check_assign(lambda X, C: ((X[:, None] - C[None]) ** 2).sum(-1).argmax(1),
                          strict=False)
    assert not v and "Hint" in v.message
    assert not ch13.check_purity(lambda p, t: np.mean(p == t), strict=False)

    def evr_uncentred(X):                                     # forgot to centre
        s = np.linalg.svd(X, compute_uv=False)
        return s ** 2 / np.sum(s ** 2)

    assert not ch13.check_explained_variance_ratio(evr_uncentred, strict=False)

    def auc_strict(scores, labels):                           # ties count 0, not 1/2
        pos, neg = scores[labels == 1], scores[labels == 0]
        return np.mean(pos[:, None] > neg)

    assert not ch13.check_roc_auc(auc_strict, strict=False)
