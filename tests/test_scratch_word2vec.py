"""course_lib.scratch.word2vec: the negative-sampling loss and gradients against torch autograd
and central differences; the data pipeline on small hand-made corpora; training learns."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch import word2vec as W
from course_lib.scratch.gradcheck import numeric_vjp, rel_error


@pytest.mark.parametrize("B, K, d", [(1, 1, 1), (1, 5, 3), (4, 2, 7), (9, 3, 2)])
def test_sgns_loss_equals_torch(B, K, d):
    rng = np.random.default_rng([B, K, d])
    v, u, U = rng.normal(size=(B, d)), rng.normal(size=(B, d)), rng.normal(size=(B, K, d))
    loss, (dv, du, dU) = W.sgns_loss(v, u, U)
    vt, ut, Ut = (torch.tensor(a, requires_grad=True) for a in (v, u, U))
    lt = -(F.logsigmoid((ut * vt).sum(1)).sum()
           + F.logsigmoid(-torch.einsum("bkd,bd->bk", Ut, vt)).sum())
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    for got, ref in ((dv, vt.grad), (du, ut.grad), (dU, Ut.grad)):
        np.testing.assert_allclose(got, ref.numpy(), rtol=1e-10, atol=1e-12)
    for k, arr in enumerate((v, u, U)):
        def f(z, k=k):
            args = [v, u, U]
            args[k] = z
            return W.sgns_loss(*args)[0]
        assert rel_error((dv, du, dU)[k], numeric_vjp(f, arr, h=1e-5)) < 1e-7


def test_sgns_loss_large_scores_are_finite():
    v = np.full((1, 2), 100.0)
    loss, grads = W.sgns_loss(v, -v, np.stack([v]))          # every score is terrible
    assert np.isfinite(loss) and loss > 1e4 and all(np.isfinite(g).all() for g in grads)


def test_scatter_add_equals_add_at():
    rng = np.random.default_rng(0)
    rows, g = rng.integers(0, 5, size=30), rng.normal(size=(30, 3))
    want = np.zeros((5, 3))
    np.add.at(want, rows, g)
    np.testing.assert_allclose(W._scatter_add(rows, g, (5, 3)), want, atol=1e-14)


def test_tokenize_and_vocab():
    toks = W.tokenize("It is a truth; it IS universally acknowledged, a truth!")
    assert toks == ["it", "is", "a", "truth", "it", "is", "universally", "acknowledged", "a",
                    "truth"]
    v = W.build_vocab(toks, min_count=2)
    assert v.words == ["a", "is", "it", "truth"] and list(v.counts) == [2, 2, 2, 2]
    assert len(v) == 4 and v.id("truth") == 3
    np.testing.assert_array_equal(v.encode(["truth", "universally", "a"]), [3, 0])
    with pytest.raises(KeyError, match="not in the vocabulary"):
        v.id("universally")
    with pytest.raises(ValueError, match="no word occurs"):
        W.build_vocab(toks, min_count=3)
    with pytest.raises(TypeError, match="str"):
        W.tokenize(None)
    with pytest.raises(TypeError, match="list of str"):
        W.build_vocab("a b c")


def test_skipgram_pairs_window_one_and_max():
    ids = np.array([0, 1, 2, 3])
    pairs = W.skipgram_pairs(ids, 1, np.random.default_rng(0))
    assert sorted(map(tuple, pairs)) == [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    pairs = W.skipgram_pairs(np.arange(50), 3, np.random.default_rng(1))
    dist = np.abs(pairs[:, 0] - pairs[:, 1])
    assert dist.min() == 1 and dist.max() <= 3
    assert (dist == 1).sum() > (dist == 3).sum()                  # near words are used more
    assert len(W.skipgram_pairs(np.array([4]), 2, np.random.default_rng(0))) == 0
    with pytest.raises(ValueError, match="window"):
        W.skipgram_pairs(ids, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        W.skipgram_pairs(ids, 2, 0)


def test_subsample_drops_frequent_words():
    counts = np.array([9000, 1000, 10])
    ids = np.repeat([0, 1, 2], counts)
    kept = W.subsample(ids, counts, np.random.default_rng(0), t=1e-3)
    frac = np.bincount(kept, minlength=3) / counts
    assert frac[2] == 1.0 and frac[0] < frac[1] < 1.0
    f0 = 9000 / 10010
    assert frac[0] == pytest.approx(np.sqrt(1e-3 / f0) + 1e-3 / f0, abs=0.01)


def test_noise_distribution():
    p = W.noise_distribution(np.array([16, 1]))
    np.testing.assert_allclose(p, np.array([8, 1]) / 9)
    np.testing.assert_allclose(W.noise_distribution(np.array([3, 1]), power=0), [0.5, 0.5])


def test_training_learns_the_two_topics():
    """Two interleaved 'topics' whose words never share a window: after training, every word's
    nearest neighbour is from its own topic, and the loss went down."""
    rng = np.random.default_rng(0)
    sentences = [rng.integers(0, 5, size=8) if rng.random() < 0.5 else rng.integers(5, 10, size=8)
                 for _ in range(400)]
    pairs = np.concatenate([W.skipgram_pairs(s, 2, rng) for s in sentences])
    counts = np.bincount(np.concatenate(sentences), minlength=10)
    model = W.fit_sgns(pairs, counts, dim=8, steps=400, batch_size=64, lr=0.1,
                         rng=np.random.default_rng(1), log_every=100)
    assert len(model.losses) == 4 and model.losses[-1] < model.losses[0] - 0.5
    for w in range(10):
        (nb,), _ = W.nearest(model.V, w, k=1)
        assert (nb < 5) == (w < 5)


def test_nearest():
    E = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    ids, sims = W.nearest(E, 0, k=2)
    assert list(ids) == [1, 2] and sims[0] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    ids, _ = W.nearest(E, np.array([0.0, 2.0]), k=1)
    assert list(ids) == [2]
    ids, _ = W.nearest(E, 0, k=1, exclude=(1,))
    assert list(ids) == [2]
    with pytest.raises(ValueError, match="vector"):
        W.nearest(E, np.ones(3), k=1)
    with pytest.raises(ValueError, match="k must be"):
        W.nearest(E, 0, k=5)


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"v_c \(B, d\)"):
        W.sgns_loss(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 1, 3)))
    with pytest.raises(ValueError, match=r"\(P, 2\)"):
        W.fit_sgns(np.zeros((5, 3), int), np.ones(4), rng=rng)
    with pytest.raises(ValueError, match="must lie in"):
        W.fit_sgns(np.array([[0, 4]]), np.ones(4), rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        W.fit_sgns(np.array([[0, 1]]), np.ones(4), rng=1)
    with pytest.raises(ValueError, match="negatives"):
        W.fit_sgns(np.array([[0, 1]]), np.ones(4), negatives=0, rng=rng)
    with pytest.raises(TypeError, match="numeric"):
        W.subsample(np.array([0.5]), np.ones(2), rng)
