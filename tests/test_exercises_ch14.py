"""course_lib.exercises.ch14: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np

from course_lib.exercises import ch14


def softplus(l):
    return np.maximum(l, 0) + np.log1p(np.exp(-np.abs(l)))


def sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


def test_correct_answers_pass():
    assert ch14.check_gaussian_kl(
        lambda mu, lv: 0.5 * np.sum(mu**2 + np.exp(lv) - 1 - lv, axis=-1), strict=False)
    assert ch14.check_reparameterize(lambda mu, lv, eps: mu + np.exp(0.5 * lv) * eps,
                                     strict=False)

    def elbo(x, logits, mu, lv):
        rec = np.sum(x * logits - softplus(logits), axis=1)
        return rec - 0.5 * np.sum(mu**2 + np.exp(lv) - 1 - lv, axis=1)

    assert ch14.check_elbo(elbo, strict=False)
    assert ch14.check_generator_gradients(lambda a: (-sigmoid(a), -(1 - sigmoid(a))),
                                          strict=False)


def test_typical_mistakes_fail():
    v = ch14.check_gaussian_kl(lambda mu, lv: 0.5 * np.sum(mu**2 + np.exp(lv) - 1 - lv),
                               strict=False)                       # summed over the batch too
    assert not v and "Hint" in v.message
    assert not ch14.check_gaussian_kl(
        lambda mu, lv: 0.5 * np.sum(mu**2 + lv - 1 - np.log(lv + 10), axis=-1), strict=False)
    assert not ch14.check_reparameterize(lambda mu, lv, eps: mu + np.exp(lv) * eps,
                                         strict=False)             # variance, not std
    assert not ch14.check_reparameterize(
        lambda mu, lv, eps: mu + np.exp(0.5 * lv) * np.random.default_rng(0).normal(
            size=mu.shape), strict=False)                          # fresh noise

    def naive_elbo(x, logits, mu, lv):
        p = 1 / (1 + np.exp(-logits))
        with np.errstate(divide="ignore", invalid="ignore"):
            rec = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)
        return rec - 0.5 * np.sum(mu**2 + np.exp(lv) - 1 - lv, axis=1)

    assert not ch14.check_elbo(naive_elbo, strict=False)          # -inf for big logits

    def elbo_plus_kl(x, logits, mu, lv):
        rec = np.sum(x * logits - softplus(logits), axis=1)
        return rec + 0.5 * np.sum(mu**2 + np.exp(lv) - 1 - lv, axis=1)

    assert not ch14.check_elbo(elbo_plus_kl, strict=False)
    assert not ch14.check_generator_gradients(lambda a: (-(1 - sigmoid(a)), -sigmoid(a)),
                                              strict=False)       # swapped
    assert not ch14.check_generator_gradients(lambda a: -sigmoid(a), strict=False)
