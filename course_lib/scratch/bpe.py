"""Byte-pair encoding (字节对编码): subword tokens learned by merging frequent pairs.

A character vocabulary (chapter 10) is small but turns text into long sequences; a word
vocabulary (chapter 11) gives short sequences but cannot spell a word it never saw.
Byte-pair encoding sits in between. Start from the characters and repeat ``n_merges`` times:

    1. count every adjacent pair of tokens (a, b) in the training text;
    2. the most frequent pair becomes a new token, with id ``n_base + i`` at step i and the
       string ``tokens[a] + tokens[b]``;
    3. replace every occurrence of (a, b) by the new id.

Frequent words end up as one token, rare words are spelled from pieces, and any text over
the base characters can still be encoded.

- Gage (1994), "A new algorithm for data compression", *C Users Journal* 12(2): the idea as
  a compressor (the most frequent pair of bytes is replaced by a byte the data does not use).
- Sennrich, Haddow & Birch (2016), "Neural machine translation of rare words with subword
  units", ACL: the merges learned on a table of word frequencies, the tokens used as the
  vocabulary of a translation model. This module follows them.
- Radford et al. (2019), "Language models are unsupervised multitask learners" (GPT-2): the
  same algorithm on the UTF-8 *bytes* of the text, so the 256 base symbols spell every string
  and nothing is ever unknown. Not done here: our base symbols are the characters of the
  training text, as in chapter 10, and a character never seen in training cannot be encoded.

**Pre-tokenisation.** The text is first cut into pieces ("words") by the regular expression
:data:`PRETOKENIZE_PATTERN`, close to GPT-2's: a run of letters, of digits or of other
symbols, each with the space before it attached (``" truth"``), and runs of whitespace.
One difference: GPT-2 cuts ``"\n\nIt"`` into ``"\n", "\n", "It"``; here a run of whitespace
ending in a newline stays whole (``"\n\n", "It"``), since only a space joins the next word.
Every character falls in one piece, so ``"".join(pretokenize(text)) == text``. Merges never
cross a piece boundary: no token is ``"e t"``, and the same word always gets the same tokens.

**Learning** (:meth:`BPE.learn`) works on the table ``{piece: count}``, not on the raw text:
a piece such as ``" the"`` occurs thousands of times in a novel but is stored, and merged,
once. The pair counts are kept up to date after each merge by re-counting only the pieces
that contained the merged pair.

**Encoding** (:meth:`BPE.encode`) applies the merges to each piece in the order they were
learned. A pair that contains token ``n_base + i`` can only have been learned after merge i,
so this is the same as repeatedly merging the pair with the smallest merge index (rank)
among those present, which is how it is computed; each distinct piece is encoded once and
cached.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.validate import as_array, check_int

__all__ = ["PRETOKENIZE_PATTERN", "pretokenize", "pair_counts", "merge_pair", "BPE",
           "compression_ratio"]

# An optional space + letters | digits | other symbols; whitespace up to its last newline
# (or tab: [^\S ] is whitespace other than a space); spaces, keeping the last one for the
# next word ("  the" gives " " and " the"); any whitespace left (a safety net).
PRETOKENIZE_PATTERN = r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s*[^\S ]|\s+(?!\S)|\s+"
_PIECE = re.compile(PRETOKENIZE_PATTERN)


def pretokenize(text: str) -> list[str]:
    """Cut ``text`` into the pieces BPE merges within; ``"".join(pieces) == text``.

    ``"It is\\n\\nNo."`` -> ``["It", " is", "\\n\\n", "No", "."]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"pretokenize: text must be a str, got {type(text).__name__}")
    return _PIECE.findall(text)


def _check_text(text, where: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"{where}: text must be a non-empty str, got {type(text).__name__}")
    if not text:
        raise ValueError(f"{where}: text must be a non-empty str, got an empty str")


def _int_ids(ids, where: str) -> np.ndarray:
    """A 1-D int array (an empty list is accepted and gives an empty int64 array)."""
    if not isinstance(ids, np.ndarray):
        ids = list(ids) if isinstance(ids, Iterable) and not isinstance(ids, str) else ids
        if isinstance(ids, list) and not ids:
            return np.zeros(0, dtype=np.int64)
    return as_array(ids, where, "ids", ndim=1, dtype_kind="iu", allow_empty=True)


def _pairs(ids: list[int]):
    """The adjacent pairs (ids[0], ids[1]), (ids[1], ids[2]), ..."""
    return zip(ids[:-1], ids[1:], strict=True)


def pair_counts(ids) -> Counter:
    """How often each adjacent pair ``(ids[t], ids[t+1])`` occurs in a sequence.

    Args:
        ids: (n,) int ids (list or array).

    Returns:
        ``Counter`` mapping ``(a, b)`` (Python ints) to its count; n − 1 pairs in all.
    """
    ids = _int_ids(ids, "pair_counts").tolist()
    return Counter(_pairs(ids))


def _merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """merge_pair on a Python list, without the checks (learn and encode call it often)."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)             # the pair: one new token, skip both
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def merge_pair(ids, pair: tuple[int, int], new_id: int) -> np.ndarray:
    """Replace each occurrence of ``pair`` in ``ids`` by ``new_id``, scanning left to right.

    Occurrences do not overlap: with pair (a, a), ``[a, a, a]`` becomes ``[new, a]``.

    Args:
        ids: (n,) int ids.
        pair: ``(a, b)``, two ints.
        new_id: the id of the merged token.

    Returns:
        (m,) int64 ids, m = n − (number of occurrences replaced).
    """
    where = "merge_pair"
    ids = _int_ids(ids, where)
    if not isinstance(pair, Sequence) or len(pair) != 2:
        raise TypeError(f"{where}: pair must be a pair of ints (a, b), got {pair!r}")
    a, b = (check_int(p, where, "pair[i]") for p in pair)
    new_id = check_int(new_id, where, "new_id", low=0)
    return np.array(_merge(ids.tolist(), (a, b), new_id), dtype=np.int64)


@dataclass(frozen=True)
class BPE:
    """A learned byte-pair encoding.

    ``tokens[i]`` is the string of token i: first the ``n_base`` base characters sorted by
    code point (so with no merges, ids are those of chapter 10's ``CharVocab``), then one
    token per merge. ``merges[i] = (a, b)`` created token ``n_base + i`` with the string
    ``tokens[a] + tokens[b]``. Two merges may spell the same string (``"ab"+"c"`` and
    ``"a"+"bc"``); they are still two ids.

    Build it with :meth:`learn`; then ``encode`` a string to int64 ids and ``decode`` back.
    """

    tokens: tuple[str, ...]
    merges: tuple[tuple[int, int], ...]

    def __post_init__(self):
        where = "BPE"
        if not isinstance(self.tokens, tuple) or not all(
                isinstance(t, str) and t for t in self.tokens):
            raise TypeError(f"{where}: tokens must be a tuple of non-empty str")
        if not isinstance(self.merges, tuple):
            raise TypeError(f"{where}: merges must be a tuple of (a, b) pairs, "
                            f"got {type(self.merges).__name__}")
        n_base = len(self.tokens) - len(self.merges)
        base = self.tokens[:n_base]
        if n_base < 1 or any(len(c) != 1 for c in base) or list(base) != sorted(set(base)):
            raise ValueError(f"{where}: tokens must start with distinct single characters "
                             f"sorted by code point, one more token per merge; got "
                             f"{len(self.tokens)} tokens for {len(self.merges)} merges")
        for i, pair in enumerate(self.merges):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise TypeError(f"{where}: merges[{i}] must be a pair (a, b), got {pair!r}")
            a, b = (check_int(p, where, f"merges[{i}][j]", low=0, high=n_base + i - 1)
                    for p in pair)
            if self.tokens[n_base + i] != self.tokens[a] + self.tokens[b]:
                raise ValueError(f"{where}: token {n_base + i} must be tokens[{a}] + "
                                 f"tokens[{b}] = {self.tokens[a] + self.tokens[b]!r}, "
                                 f"got {self.tokens[n_base + i]!r}")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(base)})
        object.__setattr__(self, "_rank", {pair: i for i, pair in enumerate(self.merges)})
        object.__setattr__(self, "_cache", {})         # piece -> its token ids

    # ---------------------------------------------------------------------------------------
    @classmethod
    def learn(cls, text: str, n_merges: int, *, progress: bool = False) -> BPE:
        """Learn up to ``n_merges`` merges on ``text`` (Sennrich et al. 2016).

        Each step merges the most frequent adjacent pair; a tie goes to the smallest pair
        ``(a, b)``, so the result is deterministic. Learning stops early when no pair occurs
        twice (merging it would not shorten the text).

        Args:
            text: non-empty training text; its characters are the base tokens.
            n_merges: the number of merges wanted, ≥ 0 (vocab size ≤ n_base + n_merges).
            progress: print about ten progress lines.

        Returns:
            The ``BPE``.
        """
        where = "BPE.learn"
        _check_text(text, where)
        n_merges = check_int(n_merges, where, "n_merges", low=0)
        start = time.perf_counter()
        tokens = sorted(set(text))
        n_base = len(tokens)
        index = {c: i for i, c in enumerate(tokens)}

        # The word table: each distinct piece as a list of ids, with its count.
        table = Counter(pretokenize(text))
        words = [[index[c] for c in piece] for piece in table]
        freqs = list(table.values())

        # counts[(a, b)]: occurrences in the whole text; where_is[(a, b)]: words that hold it.
        counts: Counter = Counter()
        where_is: dict[tuple[int, int], set[int]] = {}
        for w, (word, f) in enumerate(zip(words, freqs, strict=True)):
            for pair in _pairs(word):
                counts[pair] += f
                where_is.setdefault(pair, set()).add(w)

        merges = []
        for step in range(n_merges):
            if not counts:
                break
            # most frequent; among equals, the smallest (a, b)
            pair, count = max(counts.items(), key=lambda pc: (pc[1], -pc[0][0], -pc[0][1]))
            if count < 2:
                break
            new_id = n_base + step
            merges.append(pair)
            tokens.append(tokens[pair[0]] + tokens[pair[1]])
            for w in where_is.pop(pair):              # re-count only the words it was in
                word, f = words[w], freqs[w]
                for p in _pairs(word):
                    counts[p] -= f
                    if counts[p] == 0:
                        del counts[p]
                word = words[w] = _merge(word, pair, new_id)
                for p in _pairs(word):
                    counts[p] += f
                    where_is.setdefault(p, set()).add(w)
            if progress and (step + 1) % max(1, n_merges // 10) == 0:
                print(f"merge {step + 1}/{n_merges}: {tokens[pair[0]]!r} + "
                      f"{tokens[pair[1]]!r} (count {count}), "
                      f"{time.perf_counter() - start:.1f} s")
        return cls(tuple(tokens), tuple(merges))

    # ---------------------------------------------------------------------------------------
    @property
    def n_base(self) -> int:
        """The number of base characters (the ids 0 .. n_base − 1)."""
        return len(self.tokens) - len(self.merges)

    @property
    def vocab_size(self) -> int:
        """V = n_base + number of merges."""
        return len(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def token_lengths(self) -> np.ndarray:
        """(V,) int64: the number of characters of each token."""
        return np.array([len(t) for t in self.tokens], dtype=np.int64)

    def _encode_piece(self, piece: str) -> list[int]:
        ids = self._cache.get(piece)
        if ids is None:
            ids = [self._index[c] for c in piece]
            while len(ids) > 1:
                # the present pair that was learned first
                pair = min(_pairs(ids), key=lambda p: self._rank.get(p, float("inf")))
                if pair not in self._rank:
                    break
                ids = _merge(ids, pair, self.n_base + self._rank[pair])
            self._cache[piece] = ids
        return ids

    def encode(self, text: str) -> np.ndarray:
        """``text`` -> (n,) int64 token ids; ``decode(encode(text)) == text``.

        An unknown character (one not among the base characters) raises ``ValueError``.
        """
        if not isinstance(text, str):
            raise TypeError(f"BPE.encode: text must be a str, got {type(text).__name__}")
        unknown = set(text).difference(self._index)
        if unknown:
            shown = ", ".join(repr(c) for c in sorted(unknown)[:10])
            raise ValueError(f"BPE.encode: characters {shown} are not among the "
                             f"{self.n_base} base characters of this BPE")
        out: list[int] = []
        for piece in pretokenize(text):
            out.extend(self._encode_piece(piece))
        return np.array(out, dtype=np.int64)

    def decode(self, ids) -> str:
        """(n,) int ids in [0, V) -> the string they spell."""
        ids = _int_ids(ids, "BPE.decode")
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"BPE.decode: ids must be in [0, {self.vocab_size - 1}], "
                             f"got {ids.min()}..{ids.max()}")
        return "".join(self.tokens[i] for i in ids.tolist())


def compression_ratio(text: str, bpe: BPE) -> float:
    """Characters per token, ``len(text) / len(bpe.encode(text))`` (1.0 with no merges)."""
    _check_text(text, "compression_ratio")
    if not isinstance(bpe, BPE):
        raise TypeError(f"compression_ratio: bpe must be a BPE, got {type(bpe).__name__}")
    return len(text) / len(bpe.encode(text))
