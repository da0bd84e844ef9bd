"""course_lib.torch_ref.char_rnn: shapes, truncated-BPTT streams, scoring, seeded sampling."""

import math

import numpy as np
import pytest
import torch

from course_lib.scratch.text import CharVocab, perplexity
from course_lib.torch_ref import char_rnn as C

TEXT = "abcabcabd abcab cabcabcabd " * 40


@pytest.fixture
def vocab():
    return CharVocab.from_text(TEXT)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("embed_dim", [None, 5])
def test_shapes_and_state(cell, embed_dim, vocab):
    torch.manual_seed(0)
    m = C.CharRNN(vocab.size, 8, num_layers=2, cell=cell, embed_dim=embed_dim)
    ids = torch.as_tensor(vocab.encode(TEXT[:21])).view(3, 7)
    logits, state = m(ids)
    assert logits.shape == (3, 7, vocab.size)
    hs = state if cell == "lstm" else (state,)
    assert all(h.shape == (2, 3, 8) for h in hs)
    # carrying the state equals reading the whole sequence at once
    l1, s1 = m(ids[:, :4])
    l2, _ = m(ids[:, 4:], s1)
    assert torch.allclose(torch.cat([l1, l2], 1), logits, atol=1e-6)
    d = C.detach_state(state)
    assert all(not h.requires_grad for h in (d if cell == "lstm" else (d,)))


def test_bad_input(vocab):
    with pytest.raises(ValueError, match="cell"):
        C.CharRNN(vocab.size, cell="transformer")
    m = C.CharRNN(vocab.size, 4)
    with pytest.raises(ValueError, match=r"\(B, T\) int64"):
        m(torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match="ids must be in"):
        C.token_log_probs(m, np.array([0, vocab.size]))
    with pytest.raises(ValueError, match="fewer than seq_len"):
        C.fit_char_model(m, vocab.encode(TEXT[:50]), steps=1, batch_size=4, seq_len=20)
    with pytest.raises(ValueError, match="prompt"):
        C.sample(m, vocab, "", 5)
    with pytest.raises(TypeError, match="CharVocab"):
        C.sample(m, "abc", "a", 5)


@pytest.mark.parametrize("batch_size, seq_len", [(1, 1000), (3, 7), (7, 5), (16, 256)])
def test_token_log_probs_score_every_position(vocab, batch_size, seq_len):
    torch.manual_seed(1)
    m = C.CharRNN(vocab.size, 6).double()
    ids = vocab.encode(TEXT[:101])
    lp = C.token_log_probs(m, ids, batch_size=batch_size, seq_len=seq_len)
    assert lp.shape == (100,) and lp.dtype == np.float64 and np.all(lp <= 0)
    # with one stream, the same as running the whole text at once
    logits, _ = m(torch.as_tensor(ids[:-1])[None])
    ref = torch.log_softmax(logits[0], -1)[torch.arange(100), torch.as_tensor(ids[1:])]
    one = C.token_log_probs(m, ids, batch_size=1, seq_len=seq_len)
    assert np.allclose(one, ref.detach().numpy(), atol=1e-12)
    # each stream starts from a zero state: the positions at stream starts match a fresh run
    L = math.ceil(100 / batch_size)
    for b in range(batch_size):
        start = b * L
        if start < 100:
            lg, _ = m(torch.as_tensor(ids[start:start + 1])[None])
            want = torch.log_softmax(lg[0, 0], -1)[ids[start + 1]].item()
            assert lp[start] == pytest.approx(want, abs=1e-12)


def test_untrained_zero_model_has_perplexity_vocab_size(vocab):
    m = C.CharRNN(vocab.size, 4)
    with torch.no_grad():
        m.head.weight.zero_()
        m.head.bias.zero_()
    lp = C.token_log_probs(m, vocab.encode(TEXT))
    assert perplexity(lp) == pytest.approx(vocab.size, rel=1e-6)


def test_training_learns_the_pattern_and_clips(vocab):
    torch.manual_seed(2)
    m = C.CharRNN(vocab.size, 16, embed_dim=8)
    ids = vocab.encode(TEXT)
    before = perplexity(C.token_log_probs(m, ids))
    log = C.fit_char_model(m, ids, steps=60, batch_size=4, seq_len=16, lr=0.02, clip=0.5,
                           progress=False)
    after = perplexity(C.token_log_probs(m, ids))
    assert len(log.loss) == len(log.grad_norm) == 60
    assert after < 2.0 < before                      # the text is nearly periodic
    assert np.mean(log.loss[-10:]) < np.mean(log.loss[:10])
    assert all(math.isfinite(g) and g >= 0 for g in log.grad_norm)


def test_sampling_is_seeded_and_temperature_sharpens(vocab):
    torch.manual_seed(3)
    m = C.CharRNN(vocab.size, 8)
    a = C.sample(m, vocab, "ab", 40, temperature=1.0, seed=5)
    b = C.sample(m, vocab, "ab", 40, temperature=1.0, seed=5)
    c = C.sample(m, vocab, "ab", 40, temperature=1.0, seed=6)
    assert a == b and a != c and a.startswith("ab") and len(a) == 42
    assert set(a) <= set(vocab.chars)
    p1 = C.next_char_probs(m, vocab, "abc", 1.0)
    p_cold = C.next_char_probs(m, vocab, "abc", 0.05)
    assert p1.shape == (vocab.size,) and abs(p1.sum() - 1) < 1e-12
    assert p_cold.max() > p1.max() and int(p_cold.argmax()) == int(p1.argmax())
    greedy = C.sample(m, vocab, "abc", 1, temperature=1e-4, seed=0)
    assert greedy[-1] == vocab.chars[int(p1.argmax())]


def _notebook_class(name: str, class_name: str):
    """Exec the cell of notebooks/``name`` that defines ``class_name`` and return the class."""
    from pathlib import Path

    import nbformat
    from torch import nn

    path = Path(__file__).resolve().parent.parent / "notebooks" / name
    cells = [c.source for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "code" and f"class {class_name}(nn.Module)" in c.source]
    assert len(cells) == 1, f"{name}: expected one cell defining {class_name}, found {len(cells)}"
    namespace = {"torch": torch, "nn": nn, "F": torch.nn.functional}
    exec(cells[0], namespace)
    return namespace[class_name]


def test_chapter_10_model_is_the_library_char_rnn(vocab):
    """Chapter 10 writes its character model itself; it must be CharRNN's architecture."""
    NotebookModel = _notebook_class("10_rnn.ipynb", "CharRNNModel")
    torch.manual_seed(0)
    ours = NotebookModel(vocab.size, embed_dim=6, hidden_size=9)
    ref = C.CharRNN(vocab.size, hidden_size=9, embed_dim=6)
    shapes = {k: tuple(p.shape) for k, p in ours.named_parameters()}
    assert shapes == {k: tuple(p.shape) for k, p in ref.named_parameters()}
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    ref.load_state_dict(ours.state_dict())
    ids = torch.as_tensor(vocab.encode(TEXT[:40])).view(4, 10)
    with torch.no_grad():
        l1, s1 = ours(ids)
        l2, s2 = ref(ids)
        assert torch.equal(l1, l2) and torch.equal(s1, s2)
        # the carried state works the same way
        assert torch.equal(ours(ids, s1)[0], ref(ids, s2)[0])
    # it trains with the course's loop like CharRNN does
    log = C.fit_char_model(ours, vocab.encode(TEXT), steps=3, batch_size=4, seq_len=8,
                           progress=False)
    assert len(log.loss) == 3
