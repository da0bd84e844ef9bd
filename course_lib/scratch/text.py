"""Text as numbers: a character vocabulary, one-hot vectors, n-gram baselines and perplexity.

A language model gives a probability to the next symbol given the ones before it. Its quality
on held-out text ``w_1 … w_n`` is the **perplexity**

    PPL = exp( −(1/n) Σ_i log p(w_i | w_<i) ),

the exponential of the mean negative log-likelihood (the cross-entropy, in nats). A model
that spreads its probability evenly over V symbols has PPL = V: perplexity is the effective
number of choices the model hesitates between at each step.

Two baselines that any neural model must beat (Jurafsky & Martin, *Speech and Language
Processing*, ch. 3, "N-gram language models"):

- **unigram**: ``p(w_i) = (c(w) + α) / (n + α V)``, the frequency of each symbol;
- **bigram**: ``p(w_i | w_{i−1}) = (c(u, w) + α) / (c(u) + α V)``, the frequency of each
  symbol after the previous one,

both with add-α (Lidstone; α = 1 is Laplace) smoothing so that a pair never seen in training
still gets a probability > 0, and the perplexity on new text stays finite.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.functional import one_hot, softmax
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_token_ids,
    check_int,
    check_positive,
)

# one_hot lives in functional (chapter 06's ELM uses it too); re-exported for chapter 10.
__all__ = ["CharVocab", "one_hot", "unigram_log_probs", "bigram_log_probs",
           "bigram_token_log_probs", "perplexity", "temperature_softmax"]


@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: ``chars[i]`` is the character with id ``i``.

    Build it with :meth:`from_text` (the sorted set of characters of a text), then
    ``encode`` a string to an int64 array of ids and ``decode`` ids back to a string.
    """

    chars: tuple[str, ...]

    def __post_init__(self):
        if not isinstance(self.chars, tuple) or not all(
                isinstance(c, str) and len(c) == 1 for c in self.chars):
            raise TypeError("CharVocab: chars must be a tuple of single characters")
        if not self.chars or len(set(self.chars)) != len(self.chars):
            raise ValueError(f"CharVocab: chars must be non-empty and distinct, got "
                             f"{len(self.chars)} characters, {len(set(self.chars))} distinct")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of the distinct characters of ``text``, sorted by code point."""
        if not isinstance(text, str) or not text:
            raise TypeError(f"CharVocab.from_text: text must be a non-empty str, "
                            f"got {type(text).__name__}")
        return cls(tuple(sorted(set(text))))

    @property
    def size(self) -> int:
        """V, the number of characters."""
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``text`` (length n) -> (n,) int64 ids; an unknown character raises ``ValueError``."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: text must be a str, got {type(text).__name__}")
        try:
            return np.fromiter((self._index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise ValueError(f"CharVocab.encode: character {e.args[0]!r} is not in the "
                             f"vocabulary of {self.size} characters") from None

    def decode(self, ids: Iterable[int]) -> str:
        """(n,) ids -> a string of n characters."""
        if not isinstance(ids, np.ndarray):
            ids = list(ids)
            if not ids:
                return ""
        ids = as_array(ids, "CharVocab.decode", "ids", ndim=1, dtype_kind="iu",
                       allow_empty=True)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"CharVocab.decode: ids must be in [0, {self.size - 1}], "
                             f"got {ids.min()}..{ids.max()}")
        return "".join(self.chars[i] for i in ids)


def unigram_log_probs(ids, vocab_size: int, alpha: float = 1.0) -> np.ndarray:
    """Add-α unigram model: ``log p(w) = log (c(w) + α) − log (n + α V)``.

    Args:
        ids: (n,) training ids in [0, V).
        vocab_size: V.
        alpha: smoothing pseudo-count (≥ 0; 0 gives the maximum-likelihood frequencies).

    Returns:
        (V,) float64 log-probabilities (``-inf`` for an unseen symbol when α = 0).
    """
    where = "unigram_log_probs"
    V = check_int(vocab_size, where, "vocab_size", low=1)
    ids = as_token_ids(ids, V, where)
    alpha = check_positive(alpha, where, "alpha", allow_zero=True)
    counts = np.bincount(ids, minlength=V) + alpha                       # (V,)
    with np.errstate(divide="ignore"):
        return np.log(counts) - np.log(counts.sum())


def bigram_log_probs(ids, vocab_size: int, alpha: float = 1.0) -> np.ndarray:
    """Add-α bigram model: ``log p(w | u) = log (c(u, w) + α) − log (c(u·) + α V)``.

    ``c(u, w)`` counts the positions i with ``ids[i−1] = u`` and ``ids[i] = w``; ``c(u·)`` is
    the row sum (u followed by anything). A row never seen in training (c(u·) = 0) becomes
    uniform when α > 0; with α = 0 such a row is NaN (no data, no estimate).

    Args:
        ids: (n,) training ids, n ≥ 2.
        vocab_size: V.
        alpha: smoothing pseudo-count (≥ 0).

    Returns:
        (V, V) float64 table; row u holds ``log p(· | u)``.
    """
    where = "bigram_log_probs"
    V = check_int(vocab_size, where, "vocab_size", low=1)
    ids = as_token_ids(ids, V, where, min_len=2)
    alpha = check_positive(alpha, where, "alpha", allow_zero=True)
    counts = np.bincount(ids[:-1] * V + ids[1:], minlength=V * V).reshape(V, V) + alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))


def bigram_token_log_probs(table, ids) -> np.ndarray:
    """``log p(ids[i] | ids[i−1])`` for i = 1..n−1 under a bigram table.

    Args:
        table: (V, V) from :func:`bigram_log_probs`.
        ids: (n,) ids, n ≥ 2.

    Returns:
        (n − 1,) log-probabilities (the first symbol has no predecessor and is not scored).
    """
    where = "bigram_token_log_probs"
    table = as_array(table, where, "table", ndim=2, dtype_kind="f")
    if table.shape[0] != table.shape[1]:
        raise ValueError(f"{where}: table must be square (V, V), got {table.shape}")
    ids = as_token_ids(ids, table.shape[0], where,
               min_len=2)
    return table[ids[:-1], ids[1:]]


def perplexity(token_log_probs) -> float:
    """``exp(−mean(log p))`` of the log-probabilities a model gave to the observed symbols.

    Args:
        token_log_probs: array of any shape of natural-log probabilities (≤ 0), one per
            predicted symbol; ``-inf`` (a symbol called impossible) gives ``inf``.

    Returns:
        The perplexity, a float ≥ 1.
    """
    where = "perplexity"
    lp = as_float_array(token_log_probs, where, "token_log_probs", dtype=np.float64)
    if np.any(np.isnan(lp)) or np.any(np.isposinf(lp)):
        raise ValueError(f"{where}: token_log_probs must be log-probabilities, got NaN or +inf")
    if np.any(lp > 1e-12):
        raise ValueError(f"{where}: token_log_probs must be ≤ 0 (log of a probability), "
                         f"got a maximum of {lp.max():.6g}")
    with np.errstate(over="ignore"):
        return float(np.exp(-np.mean(lp)))


def temperature_softmax(logits, temperature: float) -> np.ndarray:
    """``softmax(z / τ)`` along the last axis: the sampling distribution at temperature τ.

    τ = 1 is the model's own distribution; τ → 0 puts all mass on the most likely symbol
    (greedy decoding); τ → ∞ flattens it towards uniform.

    Args:
        logits: (..., V) finite scores.
        temperature: τ > 0.

    Returns:
        (..., V) float64 probabilities summing to 1 along the last axis.
    """
    where = "temperature_softmax"
    z = as_float_array(logits, where, "logits", finite=True, dtype=np.float64)
    if z.ndim == 0:
        raise ValueError(f"{where}: logits must have at least one dimension, got a scalar")
    tau = check_positive(temperature, where, "temperature")
    return softmax(z / tau, axis=-1)
