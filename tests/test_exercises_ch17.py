"""course_lib.exercises.ch17: correct answers pass, typical mistakes fail with a useful verdict."""

import math

import numpy as np
import torch

from course_lib.exercises import ch17

SQRT2 = math.sqrt(2)


def _ucb(counts, values, t, c=SQRT2, ln=np.log):
    with np.errstate(divide="ignore"):
        score = np.where(counts > 0, values + c * np.sqrt(ln(t) / np.maximum(counts, 1)), np.inf)
    return int(np.argmax(score))


def _loss(logits, actions, weights, sign=-1.0, stable=True):
    logp = torch.log_softmax(logits, -1) if stable else torch.log(torch.softmax(logits, -1))
    return sign * (logp[torch.arange(len(actions)), actions] * weights).sum()


def test_correct_answers_pass():
    assert ch17.check_ucb1_choice(_ucb, strict=False)
    assert ch17.check_bellman_backup(lambda T, R, V, g: R + g * T @ V, strict=False)
    assert ch17.check_uct_score(
        lambda q, n, N, c: math.inf if n == 0 else q + c * math.sqrt(math.log(N) / n),
        strict=False)
    assert ch17.check_reinforce_loss(_loss, strict=False)


def test_typical_mistakes_fail():
    v = ch17.check_ucb1_choice(lambda c, v, t: int(np.argmax(v)), strict=False)    # greedy
    assert not v and "Hint" in v.message
    assert not ch17.check_ucb1_choice(lambda c, v, t: _ucb(c, v, t, c=1.0), strict=False)
    assert not ch17.check_bellman_backup(lambda T, R, V, g: R + T @ V, strict=False)
    assert not ch17.check_bellman_backup(
        lambda T, R, V, g: np.max(R + g * T @ V, axis=1), strict=False)          # took the max
    assert not ch17.check_uct_score(
        lambda q, n, N, c: math.inf if n == 0 else q + c * math.sqrt(math.log(n) / N),
        strict=False)                                                           # swapped counts
    assert not ch17.check_uct_score(
        lambda q, n, N, c: q + c * math.sqrt(math.log(N) / max(n, 1)), strict=False)
    assert not ch17.check_reinforce_loss(lambda *a: _loss(*a, sign=1.0), strict=False)
    assert not ch17.check_reinforce_loss(
        lambda lg, a, w: -(torch.log_softmax(lg, -1)[torch.arange(len(a)), a] * w).mean(),
        strict=False)                                                           # mean, not sum
