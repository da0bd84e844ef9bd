"""course_lib.torch_ref.seq_models: the toy tasks are what they claim, the models have the
documented shapes, and a few training steps reduce the loss."""

import datetime

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.torch_ref import seq_models as S
from course_lib.training import fit_steps


def test_adding_problem():
    x, y = S.adding_problem(500, 10, np.random.default_rng(0))
    assert x.shape == (500, 10, 2) and y.shape == (500,) and x.dtype == torch.float32
    marks = x[..., 1]
    assert torch.all(marks.sum(1) == 2)
    assert torch.all(marks[:, :5].sum(1) == 1) and torch.all(marks[:, 5:].sum(1) == 1)
    torch.testing.assert_close(y, (x[..., 0] * marks).sum(1))
    assert abs(float(((y - 1) ** 2).mean()) - 1 / 6) < 0.03       # the trivial baseline's MSE
    x2, _ = S.adding_problem(500, 10, np.random.default_rng(0))
    assert torch.equal(x, x2)
    with pytest.raises(ValueError, match="T must be"):
        S.adding_problem(3, 1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        S.adding_problem(3, 5, 0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_last_state_regressor_shapes_and_training(cell):
    torch.manual_seed(0)
    m = S.LastStateRegressor(cell, 2, 8)
    rng = np.random.default_rng(0)
    assert m(torch.zeros(3, 5, 2)).shape == (3,)
    assert S.LastStateRegressor(cell, 2, 8, out_features=4)(torch.zeros(3, 5, 2)).shape == (3, 4)
    losses = fit_steps(m, lambda step: S.adding_problem(32, 6, rng), F.mse_loss, steps=60,
                       lr=0.01, progress=False)
    assert len(losses) == 60 and np.mean(losses[-10:]) < np.mean(losses[:10])
    assert not m.training


def test_forget_bias_and_bad_input():
    m = S.LastStateRegressor("lstm", 2, 3, forget_bias=1.0)
    b = (m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0).detach()
    torch.testing.assert_close(b[3:6], torch.ones(3))
    with pytest.raises(ValueError, match="forget_bias is for an LSTM"):
        S.LastStateRegressor("gru", 2, 3, forget_bias=1.0)
    with pytest.raises(ValueError, match="cell must be one of"):
        S.LastStateRegressor("transformer", 2, 3)
    with pytest.raises(ValueError, match=r"x must be \(N, T, 2\)"):
        m(torch.zeros(4, 2))
    with pytest.raises(FloatingPointError, match="loss became"):
        fit_steps(m, lambda s: (torch.zeros(2, 3, 2), torch.tensor([np.inf, 0.0])),
                  F.mse_loss, steps=2, progress=False)


def test_sliding_windows():
    y = np.arange(20.0)
    X, Y = S.sliding_windows(y, np.array([4, 10]), n_in=5, horizon=3)
    np.testing.assert_array_equal(X, [[0, 1, 2, 3, 4], [6, 7, 8, 9, 10]])
    np.testing.assert_array_equal(Y, [[5, 6, 7], [11, 12, 13]])
    with pytest.raises(ValueError, match="origins must lie"):
        S.sliding_windows(y, np.array([3]), n_in=5, horizon=3)
    with pytest.raises(ValueError, match="origins must lie"):
        S.sliding_windows(y, np.array([17]), n_in=5, horizon=3)


def test_dates():
    src, tgt = S.make_dates(200, np.random.default_rng(0))
    for s, t in zip(src, tgt, strict=True):
        d = datetime.date.fromisoformat(t)
        assert 1950 <= d.year <= 2049 and str(d.year) in s and len(s) <= S.DATE_SRC_LEN
    assert {"/" in s for s in src} == {True, False}
    X, Y = S.encode_dates(src), S.encode_dates(tgt, target=True)
    assert X.shape == (200, 20) and Y.shape == (200, 10) and int(Y.min()) >= 1
    assert S.decode_dates(Y) == tgt
    assert int(X[0, 0]) == 0 or len(src[0]) == 20                  # left padding
    with pytest.raises(ValueError, match="unknown"):
        S.encode_dates(["7 março 2024"])
    with pytest.raises(ValueError, match="at most 10"):
        S.encode_dates(["2024-3-7"], target=True)


def test_seq2seq_shapes_and_learning():
    torch.manual_seed(0)
    net = S.Seq2Seq(len(S.DATE_SRC_CHARS) + 1, len(S.DATE_TGT_CHARS) + 1, hidden_size=16)
    rng = np.random.default_rng(0)

    def batch(step):
        src, tgt = S.make_dates(16, rng)
        Y = S.encode_dates(tgt, target=True)
        return (S.encode_dates(src), Y), Y

    X, Y = batch(0)[0]
    assert net(X, Y).shape == (16, 10, len(S.DATE_TGT_CHARS) + 1)
    losses = fit_steps(net, batch, lambda out, y: F.cross_entropy(out.transpose(1, 2), y),
                       steps=40, lr=0.01, progress=False)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    pred = net.greedy(X, 10)
    assert pred.shape == (16, 10) and pred.dtype == torch.int64
    with pytest.raises(ValueError, match="length must be"):
        net.greedy(X, 0)


class _Counter(torch.nn.Module):
    """A fake character model over 'abc': always prefers the character after the last one."""

    def forward(self, ids, state=None):
        return F.one_hot((ids + 1) % 3, 3).double() * 50.0, state


class _Vocab:
    chars = "abc"

    def encode(self, s):
        return np.array([self.chars.index(c) for c in s], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


def test_sample_masked():
    m, v = _Counter(), _Vocab()
    assert S.sample_masked(m, v, "a", 5) == "bcabc"
    assert S.sample_masked(m, v, "a", 5, forced={2: "b"}) == "bcbca"
    text = S.sample_masked(m, v, "a", 30, banned="c", temperature=100.0, seed=3)
    assert "c" not in text and set(text) == {"a", "b"}
    assert text == S.sample_masked(m, v, "a", 30, banned="c", temperature=100.0, seed=3)
    with pytest.raises(ValueError, match="prompt"):
        S.sample_masked(m, v, "", 3)
    with pytest.raises(ValueError, match="position in forced"):
        S.sample_masked(m, v, "a", 3, forced={3: "a"})
