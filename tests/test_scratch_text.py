"""course_lib.scratch.text: vocabulary, one-hot (vs torch), n-gram models (vs counting by hand),
perplexity (vs torch's cross-entropy) and the temperature softmax."""

from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch import text as X

SAMPLE = "It is a truth universally acknowledged, that a single man\nin possession..."


def test_vocab_round_trip_and_order():
    v = X.CharVocab.from_text(SAMPLE)
    assert v.chars == tuple(sorted(set(SAMPLE))) and v.size == len(v) == len(set(SAMPLE))
    ids = v.encode(SAMPLE)
    assert ids.dtype == np.int64 and ids.shape == (len(SAMPLE),)
    assert v.decode(ids) == SAMPLE and v.decode([]) == "" and v.encode("") .size == 0
    assert v.chars[ids[0]] == "I"


@pytest.mark.parametrize("call, exc, words", [
    (lambda: X.CharVocab.from_text(""), TypeError, "non-empty"),
    (lambda: X.CharVocab(("a", "a")), ValueError, "distinct"),
    (lambda: X.CharVocab(("ab",)), TypeError, "single"),
    (lambda: X.CharVocab.from_text("abc").encode("abz"), ValueError, "'z'"),
    (lambda: X.CharVocab.from_text("abc").decode([0, 3]), ValueError, r"\[0, 2\]"),
    (lambda: X.one_hot(np.array([0, 3]), 3), ValueError, r"labels must hold class labels in \[0,"),
    (lambda: X.one_hot(np.array([0.0, 1.0]), 3), TypeError, "dtype"),
    (lambda: X.bigram_log_probs(np.array([1]), 3), ValueError, "at least 2"),
    (lambda: X.unigram_log_probs(np.array([1, 2]), 3, alpha=-1.0), ValueError, "alpha"),
    (lambda: X.perplexity(np.array([-1.0, 0.5])), ValueError, "≤ 0"),
    (lambda: X.perplexity(np.array([np.nan])), ValueError, "NaN"),
    (lambda: X.temperature_softmax(np.ones(3), 0.0), ValueError, "temperature"),
    (lambda: X.bigram_token_log_probs(np.zeros((2, 3)), np.array([0, 1])), ValueError, "square"),
])
def test_bad_input_is_explained(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


@pytest.mark.parametrize("shape, V", [((1,), 1), ((5,), 7), ((2, 3), 4), ((1, 1, 6), 6)])
def test_one_hot_matches_torch(shape, V):
    ids = np.random.default_rng(V).integers(0, V, size=shape)
    oh = X.one_hot(ids, V)
    assert oh.shape == shape + (V,) and oh.dtype == np.float64
    assert np.array_equal(oh, F.one_hot(torch.tensor(ids), V).numpy())
    W = np.random.default_rng(0).normal(size=(V, 3))
    assert np.array_equal(oh @ W, W[ids])                     # a one-hot row picks a row of W


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_ngram_tables_count_by_hand(alpha):
    v = X.CharVocab.from_text(SAMPLE + "qz")                   # q, z: seen once at the end
    ids = v.encode(SAMPLE)
    V, n = v.size, len(ids)
    uni = X.unigram_log_probs(ids, V, alpha)
    c = Counter(SAMPLE)
    for ch in v.chars:
        with np.errstate(divide="ignore"):
            want = np.log((c[ch] + alpha) / (n + alpha * V))
        assert uni[v.encode(ch)[0]] == pytest.approx(want, rel=1e-12) if np.isfinite(want) \
            else uni[v.encode(ch)[0]] == -np.inf
    big = X.bigram_log_probs(ids, V, alpha)
    pairs = Counter(zip(SAMPLE[:-1], SAMPLE[1:], strict=True))
    first = Counter(SAMPLE[:-1])
    for u in "a tn":
        for w in "ntu .":
            with np.errstate(divide="ignore"):
                want = np.log((pairs[(u, w)] + alpha) / (first[u] + alpha * V))
            assert big[v.encode(u)[0], v.encode(w)[0]] == pytest.approx(want, rel=1e-12)
    seen = [v.encode(u)[0] for u in set(SAMPLE[:-1])]
    assert np.allclose(np.exp(big[seen]).sum(axis=1), 1.0)     # each seen row is a distribution
    row_q = big[v.encode("q")[0]]                               # never followed by anything
    assert np.all(np.isnan(row_q)) if alpha == 0 else np.allclose(row_q, -np.log(V))


def test_bigram_token_log_probs_and_perplexity():
    rng = np.random.default_rng(1)
    V = 5
    train, test = rng.integers(0, V, size=200), rng.integers(0, V, size=50)
    table = X.bigram_log_probs(train, V, 1.0)
    lp = X.bigram_token_log_probs(table, test)
    assert lp.shape == (49,) and np.array_equal(lp, table[test[:-1], test[1:]])
    ppl = X.perplexity(lp)
    # perplexity = exp(cross-entropy), with the table's rows as predicted distributions
    ce = F.nll_loss(torch.tensor(table[test[:-1]]), torch.tensor(test[1:])).item()
    assert ppl == pytest.approx(np.exp(ce), rel=1e-12)


def test_perplexity_of_uniform_guess_is_vocab_size():
    for V in (1, 2, 75):
        assert X.perplexity(np.full((3, 4), -np.log(V))) == pytest.approx(V, rel=1e-12)
    assert X.perplexity(np.array([0.0, -np.inf])) == np.inf


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0, 3.0])
def test_temperature_softmax(tau):
    z = np.random.default_rng(2).normal(size=(3, 6)) * 4
    p = X.temperature_softmax(z, tau)
    assert np.allclose(p, torch.softmax(torch.tensor(z) / tau, dim=-1).numpy(), rtol=1e-12)
    assert np.allclose(p.sum(axis=-1), 1.0)
    # lower temperature, sharper distribution: the top probability does not decrease
    assert np.all(X.temperature_softmax(z, tau / 2).max(-1) >= p.max(-1) - 1e-15)
    big = X.temperature_softmax(np.array([1000.0, 0.0]), 1e-3)
    assert np.array_equal(big, [1.0, 0.0])                      # no overflow
