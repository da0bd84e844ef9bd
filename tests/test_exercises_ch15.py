"""course_lib.exercises.ch15: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np

from course_lib.exercises import ch15


def _hebb(P):
    W = P.T @ P / P.shape[1]
    np.fill_diagonal(W, 0)
    return W


def test_correct_answers_pass():
    assert ch15.check_hebbian_weights(_hebb, strict=False)
    assert ch15.check_energy(lambda s, W, b: float(-0.5 * s @ W @ s - b @ s), strict=False)
    assert ch15.check_p_h_given_v(lambda v, W, c: 0.5 * (1 + np.tanh((v @ W + c) / 2)),
                                  strict=False)
    assert ch15.check_free_energy(
        lambda v, W, b, c: -(v @ b) - np.logaddexp(0, v @ W + c).sum(1), strict=False)


def test_typical_mistakes_fail():
    assert not ch15.check_hebbian_weights(lambda P: P.T @ P / P.shape[1], strict=False)
    v = ch15.check_hebbian_weights(lambda P: _hebb(P) * P.shape[1] / len(P), strict=False)
    assert not v and "Hint" in v.message                       # divided by P instead of N
    assert not ch15.check_energy(lambda s, W, b: float(-s @ W @ s - b @ s), strict=False)
    assert not ch15.check_energy(lambda s, W, b: float(0.5 * s @ W @ s + b @ s), strict=False)
    assert not ch15.check_p_h_given_v(lambda v, W, c: 1 / (1 + np.exp(-(v @ W))), strict=False)
    assert not ch15.check_p_h_given_v(lambda v, W, c: 1 / (1 + np.exp(v @ W + c)), strict=False)
    assert not ch15.check_free_energy(                          # one number for the batch
        lambda v, W, b, c: -(v @ b) - np.logaddexp(0, v @ W + c).sum(), strict=False)
    assert not ch15.check_free_energy(                          # the sign of the visible term
        lambda v, W, b, c: (v @ b) - np.logaddexp(0, v @ W + c).sum(1), strict=False)
