"""course_lib.scratch.bpe: pre-tokenisation, pair counting and merging (vs by hand), learning
(vs a hand computation on Sennrich's toy), encoding (vs merge_pair applied merge by merge) and
round trips on the novel and on random strings."""

import re
from collections import Counter

import numpy as np
import pytest

from course_lib.data import load_pride_and_prejudice
from course_lib.scratch import bpe as B
from course_lib.scratch.text import CharVocab

# Sennrich et al.'s toy dictionary {low: 5, lower: 2, newest: 6, widest: 3}, each word with
# its leading space, so the four pieces are " low", " lower", " newest", " widest".
TOY = " low" * 5 + " lower" * 2 + " newest" * 6 + " widest" * 3


@pytest.fixture(scope="module")
def novel() -> str:
    return load_pride_and_prejudice()


@pytest.fixture(scope="module")
def novel_bpe(novel) -> B.BPE:
    return B.BPE.learn(novel, 100)


@pytest.fixture(scope="module")
def slice_bpe(novel) -> B.BPE:
    return B.BPE.learn(novel[:60_000], 150)


# ------------------------------------------------------------------------------------------
# pre-tokenisation
# ------------------------------------------------------------------------------------------
def test_pretokenize_examples():
    assert B.pretokenize("It is\n\nNo.") == ["It", " is", "\n\n", "No", "."]
    assert B.pretokenize("a  b") == ["a", " ", " b"]              # the last space joins b
    assert B.pretokenize('"Mr. Darcy," 1813!') == ['"', "Mr", ".", " Darcy", ',"', " 1813", "!"]
    assert B.pretokenize(" x \n") == [" x", " \n"]
    assert B.pretokenize("\n\n  the\t") == ["\n\n", " ", " the", "\t"]
    assert B.pretokenize("") == []


def test_pretokenize_covers_the_text_exactly(novel):
    pieces = B.pretokenize(novel)
    assert "".join(pieces) == novel and all(pieces)
    # strange characters and whitespace too: every character falls in exactly one piece
    odd = "é\t\t x\u00a0y  \r\n  1.5e3 -- ¿qué?  \n"
    assert "".join(B.pretokenize(odd)) == odd


# ------------------------------------------------------------------------------------------
# pair_counts and merge_pair
# ------------------------------------------------------------------------------------------
def test_pair_counts():
    assert B.pair_counts([1, 2, 1, 2, 2]) == Counter({(1, 2): 2, (2, 1): 1, (2, 2): 1})
    assert B.pair_counts(np.array([3, 3, 3])) == Counter({(3, 3): 2})   # overlaps all count
    assert B.pair_counts([]) == Counter() and B.pair_counts([7]) == Counter()
    ids = np.random.default_rng(0).integers(0, 4, size=50)
    c = B.pair_counts(ids)
    assert sum(c.values()) == 49 and all(isinstance(a, int) for pair in c for a in pair)


@pytest.mark.parametrize("ids, pair, want", [
    ([], (1, 2), []),
    ([1], (1, 2), [1]),
    ([1], (1, 1), [1]),
    ([3, 4, 5], (1, 2), [3, 4, 5]),                    # no occurrence
    ([2, 1, 2, 1], (1, 2), [2, 9, 1]),
    ([1, 1, 1], (1, 1), [9, 1]),                       # left to right, no overlap
    ([1, 1, 1, 1], (1, 1), [9, 9]),
    ([1, 1, 1, 1, 1], (1, 1), [9, 9, 1]),
    ([0, 1, 2], (1, 2), [0, 9]),                       # pair at the end
    ([1, 2, 1, 2], (1, 2), [9, 9]),
    ([2, 1], (1, 2), [2, 1]),                          # order matters
])
def test_merge_pair(ids, pair, want):
    for x in (ids, np.array(ids, dtype=np.int32)):
        out = B.merge_pair(x, pair, 9)
        assert out.dtype == np.int64 and out.ndim == 1 and out.tolist() == want


# ------------------------------------------------------------------------------------------
# learning
# ------------------------------------------------------------------------------------------
def test_learn_toy_by_hand():
    # Base ids (sorted): ' '=0 d=1 e=2 i=3 l=4 n=5 o=6 r=7 s=8 t=9 w=10.
    # Step 1, pair counts (word count × occurrences):
    #   (' ',l)=5+2=7 (l,o)=7 (o,w)=7 (w,e)=2+6=8 (e,r)=2 (' ',n)=6 (n,e)=6 (e,w)=6
    #   (e,s)=6+3=9 (s,t)=9 (' ',w)=3 (w,i)=3 (i,d)=3 (d,e)=3
    #   -> tie at 9 between (e,s)=(2,8) and (s,t)=(8,9): the smaller, "es" = 11.
    # Step 2: (es,t) occurs 6+3=9, every other count ≤ 7            -> "est" = 12.
    # Step 3: (w,e) fell to 2; (' ',l), (l,o), (o,w) tie at 7: (0,4) -> " l" = 13.
    # Step 4: (' l',o)=(13,6) and (o,w)=(6,10), both 7: (6,10)     -> "ow" = 14.
    # Step 5: (' l',ow)=7                                          -> " low" = 15.
    # Step 6: (' ',n) (n,e) (e,w) (w,est) all 6: smallest (0,5)     -> " n" = 16.
    # Step 7: (' n',e)=(16,2), (e,w)=(2,10), (w,est)=(10,12): (2,10) -> "ew" = 17.
    # Step 8: (' n',ew)=(16,17) before (ew,est)=(17,12)            -> " new" = 18.
    # Step 9: (' new',est)=6                                       -> " newest" = 19.
    bpe = B.BPE.learn(TOY, 9)
    assert bpe.tokens[:bpe.n_base] == tuple(" deilnorstw") and bpe.n_base == 11
    assert bpe.merges == ((2, 8), (11, 9), (0, 4), (6, 10), (13, 14), (0, 5), (2, 10),
                          (16, 17), (18, 12))
    assert bpe.tokens[11:] == ("es", "est", " l", "ow", " low", " n", "ew", " new", " newest")
    assert bpe.vocab_size == len(bpe) == 20
    assert bpe.token_lengths.tolist() == [1] * 11 + [2, 3, 2, 2, 4, 2, 2, 4, 7]
    # Asked for more, learning stops when every piece is one token (no pair left):
    # " w", "dest", "idest", " widest", "er", " lower" come next.
    full = B.BPE.learn(TOY, 100)
    assert full.merges[:9] == bpe.merges and len(full.merges) == 15
    assert full.tokens[20:] == (" w", "dest", "idest", " widest", "er", " lower")
    assert full.encode(TOY).size == 16                           # one token per word


def test_learn_matches_recounting_from_scratch(novel):
    # The reference recounts every pair of every piece at each step, with pair_counts and
    # merge_pair; learn() only re-counts the pieces that held the merged pair.
    text = novel[10_000:16_000]
    bpe = B.BPE.learn(text, 25)
    vocab = CharVocab.from_text(text)
    pieces = [vocab.encode(p) for p in B.pretokenize(text)]
    merges = []
    for i in range(25):
        counts = Counter()
        for p in pieces:
            counts.update(B.pair_counts(p))
        best = max(counts.items(), key=lambda pc: (pc[1], -pc[0][0], -pc[0][1]))[0]
        merges.append(best)
        pieces = [B.merge_pair(p, best, vocab.size + i) for p in pieces]
    assert bpe.merges == tuple(merges)
    assert bpe.encode(text).tolist() == np.concatenate(pieces).tolist()


def test_learn_stops_when_no_pair_occurs_twice():
    bpe = B.BPE.learn("abcd", 5)                                 # every pair occurs once
    assert bpe.merges == () and bpe.vocab_size == 4
    assert B.BPE.learn("abab", 5).tokens == ("a", "b", "ab")     # (a,b) twice, then nothing


def test_learn_is_deterministic_and_prints_progress(novel, capsys):
    a = B.BPE.learn(novel[:30_000], 40, progress=True)
    b = B.BPE.learn(novel[:30_000], 40)
    assert a == b and a.merges == b.merges and a.tokens == b.tokens
    assert capsys.readouterr().out.count("merge ") == 10


def test_merges_never_span_two_pieces(slice_bpe, novel):
    text = novel[:20_000]
    ids = slice_bpe.encode(text)
    token_ends = set(np.cumsum(slice_bpe.token_lengths[ids]).tolist())
    piece_ends = set(np.cumsum([len(p) for p in B.pretokenize(text)]).tolist())
    assert piece_ends <= token_ends                    # every piece boundary is a token boundary
    for t in slice_bpe.tokens:                         # and each token is within one piece
        assert B.pretokenize(t) == [t]


# ------------------------------------------------------------------------------------------
# encoding and decoding
# ------------------------------------------------------------------------------------------
def test_round_trip_whole_novel(novel, novel_bpe):
    ids = novel_bpe.encode(novel)
    assert ids.dtype == np.int64 and ids.ndim == 1
    assert ids.min() >= 0 and ids.max() < novel_bpe.vocab_size
    assert novel_bpe.decode(ids) == novel
    assert B.compression_ratio(novel, novel_bpe) == pytest.approx(len(novel) / ids.size)


def test_round_trip_random_strings(slice_bpe):
    rng = np.random.default_rng(12)
    chars = np.array(slice_bpe.tokens[:slice_bpe.n_base])
    assert {" ", "\n", ".", ","} <= set(chars)
    # also random sequences of whole tokens, which mix merged pieces with odd spacing
    for n in (1, 2, 7, 100, 1000):
        s = "".join(rng.choice(chars, size=n))
        t = "".join(slice_bpe.tokens[i] for i in rng.integers(0, slice_bpe.vocab_size, n))
        for text in (s, t):
            assert slice_bpe.decode(slice_bpe.encode(text)) == text
    assert slice_bpe.encode("").tolist() == [] and slice_bpe.decode([]) == ""


def test_encode_applies_merges_in_learned_order(slice_bpe, novel):
    vocab = CharVocab(slice_bpe.tokens[:slice_bpe.n_base])
    pieces = B.pretokenize(novel[60_000:63_000])
    want = []
    for piece in pieces:
        ids = vocab.encode(piece)
        for i, pair in enumerate(slice_bpe.merges):
            ids = B.merge_pair(ids, pair, slice_bpe.n_base + i)
        want.extend(ids.tolist())
    assert slice_bpe.encode("".join(pieces)).tolist() == want


def test_no_merges_is_the_character_vocabulary(novel):
    text = novel[:5_000]
    bpe = B.BPE.learn(text, 0)
    vocab = CharVocab.from_text(text)
    assert bpe.tokens == vocab.chars and bpe.merges == ()
    assert np.array_equal(bpe.encode(text), vocab.encode(text))
    assert B.compression_ratio(text, bpe) == 1.0


def test_compression_grows_with_merges(novel):
    text = novel[:40_000]
    ratios = [B.compression_ratio(text, B.BPE.learn(text, n)) for n in (0, 20, 80, 200)]
    assert ratios[0] == 1.0 and all(a < b for a, b in zip(ratios[:-1], ratios[1:], strict=True))


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, exc, words", [
    (lambda: B.BPE.learn(b"abc", 3), TypeError, "text must be a non-empty str, got bytes"),
    (lambda: B.BPE.learn("", 3), ValueError, "non-empty str, got an empty str"),
    (lambda: B.BPE.learn("abab", -1), ValueError, r"n_merges must be in \[0, inf\], got -1"),
    (lambda: B.BPE.learn("abab", 2.0), TypeError, "n_merges must be an int"),
    (lambda: B.BPE.learn("abab", 1).encode("abQ"), ValueError, "'Q'"),
    (lambda: B.BPE.learn("abab", 1).encode("xab\n"), ValueError, r"'\\n', 'x'"),
    (lambda: B.BPE.learn("abab", 1).encode(["a"]), TypeError, "str"),
    (lambda: B.BPE.learn("abab", 1).decode([0, 3]), ValueError, re.escape("[0, 2], got 0..3")),
    (lambda: B.BPE.learn("abab", 1).decode([-1]), ValueError, re.escape("[0, 2]")),
    (lambda: B.BPE.learn("abab", 1).decode([0.0]), TypeError, "dtype"),
    (lambda: B.BPE(("b", "a"), ()), ValueError, "sorted"),
    (lambda: B.BPE(("a", "b", "ba"), ((0, 1),)), ValueError, "'ab'"),
    (lambda: B.BPE(("a", "b", "ab"), ((0, 2),)), ValueError, r"merges\[0\]"),
    (lambda: B.merge_pair([1, 2], (1, 2, 3), 5), TypeError, "pair must be a pair"),
    (lambda: B.merge_pair([1, 2], (1, 2), -1), ValueError, "new_id"),
    (lambda: B.merge_pair([[1, 2]], (1, 2), 5), ValueError, "1-D"),
    (lambda: B.pair_counts("abc"), TypeError, "ids must be an array of numbers"),
    (lambda: B.pretokenize(3), TypeError, "text must be a str"),
    (lambda: B.compression_ratio("ab", "bpe"), TypeError, "bpe must be a BPE"),
])
def test_bad_input_is_explained(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
