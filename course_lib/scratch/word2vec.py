"""Skip-gram word embeddings with negative sampling (word2vec), in NumPy.

Mikolov, Chen, Corrado & Dean, "Efficient estimation of word representations in vector space",
2013, and Mikolov, Sutskever, Chen, Corrado & Dean, "Distributed representations of words and
phrases and their compositionality", NeurIPS 2013.

Every word w has two vectors: ``V[w]`` when it is the centre word and ``U[w]`` when it is a
context word. For a centre word c seen with a context word o, and K "negative" words
k₁..k_K drawn from the noise distribution P_n(w) ∝ count(w)^¾, the loss is

    ℓ = − log σ(u_o·v_c) − Σ_j log σ(−u_kj·v_c)

a logistic regression that tells the real pair from K fake ones. Its gradients are

    ∂ℓ/∂v_c = (σ(u_o·v_c) − 1) u_o + Σ_j σ(u_kj·v_c) u_kj
    ∂ℓ/∂u_o = (σ(u_o·v_c) − 1) v_c          ∂ℓ/∂u_kj = σ(u_kj·v_c) v_c

The pipeline: :func:`tokenize` → :func:`build_vocab` → :func:`subsample` (drop frequent words
at random) → :func:`skipgram_pairs` → :func:`fit_sgns` (mini-batch SGD, each batch's
row gradients scattered into V and U with ``np.add.at``) → :func:`nearest` (cosine similarity).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from course_lib.scratch.functional import log_sigmoid, sigmoid
from course_lib.scratch.validate import as_array, check_int, check_positive, check_rng

__all__ = ["tokenize", "Vocab", "build_vocab", "subsample", "skipgram_pairs", "noise_distribution",
           "sgns_loss", "SGNSModel", "fit_sgns", "nearest"]

_WORD = re.compile(r"[a-z]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words made of the letters a-z (punctuation, digits and apostrophes split)."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize: text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


@dataclass
class Vocab:
    """Words kept by :func:`build_vocab`, most frequent first.

    ``words[i]`` is the word with id i, ``index[word] == i``, ``counts[i]`` its count in the
    corpus (int64 array).
    """

    words: list[str]
    counts: np.ndarray
    index: dict[str, int] = field(repr=False)

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Token ids (int64), dropping the words that are not in the vocabulary."""
        return np.array([self.index[t] for t in tokens if t in self.index], dtype=np.int64)

    def id(self, word: str) -> int:
        """The id of ``word``; a KeyError that says so when it is not in the vocabulary."""
        if word not in self.index:
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self)} words, "
                           f"rare words were dropped)")
        return self.index[word]


def build_vocab(tokens: list[str], min_count: int = 5) -> Vocab:
    """The words occurring at least ``min_count`` times, sorted by count (ties alphabetically)."""
    if not isinstance(tokens, (list, tuple)):
        raise TypeError(f"build_vocab: tokens must be a list of str, got {type(tokens).__name__}")
    min_count = check_int(min_count, "build_vocab", "min_count", low=1)
    counts = Counter(tokens)
    kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    if not kept:
        raise ValueError(f"build_vocab: no word occurs {min_count} times or more "
                         f"({len(tokens)} tokens)")
    return Vocab(kept, np.array([counts[w] for w in kept], dtype=np.int64),
                 {w: i for i, w in enumerate(kept)})


def subsample(ids, counts, rng: np.random.Generator, t: float = 1e-4) -> np.ndarray:
    """Drop each occurrence of word w with probability 1 − (√(t/f_w) + t/f_w), f_w its frequency.

    The rule of word2vec's code (Mikolov et al. 2013b): "the", "and", "of" are mostly
    dropped, so they crowd the windows less and rare words get closer together.

    Args:
        ids: (n,) token ids. counts: (V,) count of each id. t: the threshold.

    Returns:
        The kept ids, in order (int64).
    """
    ids = as_array(ids, "subsample", "ids", ndim=1, dtype_kind="iu")
    counts = as_array(counts, "subsample", "counts", ndim=1, dtype_kind="iuf")
    t = check_positive(t, "subsample", "t")
    f = counts / counts.sum()                                  # (V,) frequencies
    keep = np.minimum(1.0, np.sqrt(t / f) + t / f)             # (V,)
    return ids[check_rng(rng, "subsample").random(len(ids)) < keep[ids]].astype(np.int64)


def skipgram_pairs(ids, window: int, rng: np.random.Generator) -> np.ndarray:
    """All (centre, context) pairs with the context within a random window of each centre.

    As in word2vec, each centre draws its window size b uniformly from 1..``window``, so near
    neighbours are used more often than far ones.

    Returns:
        (P, 2) int64 array of ``[centre_id, context_id]`` rows.
    """
    ids = as_array(ids, "skipgram_pairs", "ids", ndim=1, dtype_kind="iu")
    window = check_int(window, "skipgram_pairs", "window", low=1)
    b = check_rng(rng, "skipgram_pairs").integers(1, window + 1, size=len(ids))   # (n,)
    pairs = []
    for off in range(1, window + 1):
        for sign in (-1, 1):
            pos = np.arange(len(ids))
            ctx = pos + sign * off
            ok = (ctx >= 0) & (ctx < len(ids)) & (b >= off)
            pairs.append(np.stack([ids[pos[ok]], ids[ctx[ok]]], axis=1))
    return np.concatenate(pairs).astype(np.int64)


def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
    """P_n(w) ∝ count(w)^power, the distribution negatives are drawn from; (V,) float64."""
    counts = as_array(counts, "noise_distribution", "counts", ndim=1, dtype_kind="iuf")
    p = counts.astype(np.float64) ** check_positive(power, "noise_distribution", "power",
                                                     allow_zero=True)
    return p / p.sum()


def _scatter_add(rows: np.ndarray, grads: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A (V, d) array G with G[rows[i]] += grads[i] for every i (repeated rows add up).

    The same as ``G = zeros(shape); np.add.at(G, rows, grads)``, done by one ``np.bincount``
    over the flat positions ``row * d + column``, which is several times faster.
    """
    n_rows, d = shape
    flat = (rows[:, None] * d + np.arange(d)).ravel()             # (B·d,) flat positions
    return np.bincount(flat, weights=grads.ravel(), minlength=n_rows * d).reshape(shape)


def sgns_loss(v_c, u_o, u_neg) -> tuple[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The skip-gram negative-sampling loss of a batch, summed over the batch, with gradients.

    Args:
        v_c: (B, d) centre vectors. u_o: (B, d) true context vectors.
        u_neg: (B, K, d) negative context vectors.

    Returns:
        ``loss`` (float, the sum of ℓ over the batch) and ``(dv_c, du_o, du_neg)``, shaped like
        the inputs.
    """
    where = "sgns_loss"
    v_c = as_array(v_c, where, "v_c", ndim=2, dtype_kind="f")
    u_o = as_array(u_o, where, "u_o", ndim=2, dtype_kind="f")
    u_neg = as_array(u_neg, where, "u_neg", ndim=3, dtype_kind="f")
    if u_o.shape != v_c.shape or u_neg.shape[0] != v_c.shape[0] or \
            u_neg.shape[2] != v_c.shape[1]:
        raise ValueError(f"{where}: expected v_c (B, d), u_o (B, d), u_neg (B, K, d), got "
                         f"{v_c.shape}, {u_o.shape}, {u_neg.shape}")
    s_pos = np.sum(u_o * v_c, axis=1)                         # (B,)   u_o·v_c
    s_neg = np.matmul(u_neg, v_c[:, :, None])[:, :, 0]         # (B, K) u_k·v_c
    loss = -float(log_sigmoid(s_pos).sum() + log_sigmoid(-s_neg).sum())
    g_pos = sigmoid(s_pos) - 1.0                              # (B,)   ∂ℓ/∂s_pos
    g_neg = sigmoid(s_neg)                                    # (B, K) ∂ℓ/∂s_neg
    dv_c = g_pos[:, None] * u_o + np.matmul(g_neg[:, None, :], u_neg)[:, 0]   # (B, d)
    du_o = g_pos[:, None] * v_c
    du_neg = g_neg[:, :, None] * v_c[:, None, :]
    return loss, (dv_c, du_o, du_neg)


@dataclass
class SGNSModel:
    """Trained skip-gram vectors: ``V`` (vocab, d) centre vectors (the embeddings usually
    kept), ``U`` (vocab, d) context vectors, and the mean loss of each logged interval."""

    V: np.ndarray
    U: np.ndarray
    losses: list[float]


def fit_sgns(pairs, counts, *, dim: int = 50, negatives: int = 5, steps: int = 1000,
               batch_size: int = 512, lr: float = 0.5, rng: np.random.Generator,
               log_every: int = 50, progress=None) -> SGNSModel:
    """Mini-batch SGD on the skip-gram negative-sampling loss.

    Each step draws ``batch_size`` pairs at random, ``negatives`` noise words per pair from
    :func:`noise_distribution`, and moves every row used by ``lr / batch_size`` times its
    gradient (rows used several times in a batch get the sum, via ``np.add.at``). The step size
    decays linearly to 0, as in word2vec. V starts uniform in ±0.5/d, U at zero.

    Args:
        pairs: (P, 2) int [centre, context] ids from :func:`skipgram_pairs`.
        counts: (V,) word counts (for the noise distribution and the vocabulary size).
        dim, negatives, steps, batch_size, lr: as named.
        rng: the Generator for initialisation and sampling.
        log_every: record the mean loss per pair every this many steps.
        progress: optional wrapper for the step range, e.g. ``tqdm.auto.tqdm``.

    Returns:
        An :class:`SGNSModel`.
    """
    where = "fit_sgns"
    pairs = as_array(pairs, where, "pairs", ndim=2, dtype_kind="iu")
    if pairs.shape[1] != 2:
        raise ValueError(f"{where}: pairs must be (P, 2) [centre, context] ids, got {pairs.shape}")
    counts = as_array(counts, where, "counts", ndim=1, dtype_kind="iuf")
    n_words = len(counts)
    if pairs.max() >= n_words or pairs.min() < 0:
        raise ValueError(f"{where}: pair ids must lie in [0, {n_words}), got "
                         f"[{pairs.min()}, {pairs.max()}]")
    dim = check_int(dim, where, "dim", low=1)
    K = check_int(negatives, where, "negatives", low=1)
    steps = check_int(steps, where, "steps", low=1)
    B = check_int(batch_size, where, "batch_size", low=1)
    lr = check_positive(lr, where, "lr")
    log_every = check_int(log_every, where, "log_every", low=1)
    rng = check_rng(rng, where)
    cdf = np.cumsum(noise_distribution(counts))
    V = rng.uniform(-0.5 / dim, 0.5 / dim, size=(n_words, dim))
    U = np.zeros((n_words, dim))
    losses, running = [], 0.0
    for step in (progress or (lambda r: r))(range(steps)):
        batch = pairs[rng.integers(0, len(pairs), size=B)]            # (B, 2)
        c, o = batch[:, 0], batch[:, 1]
        neg = np.minimum(np.searchsorted(cdf, rng.random((B, K))), n_words - 1)   # (B, K)
        loss, (dv, du_o, du_neg) = sgns_loss(V[c], U[o], U[neg])
        eta = lr * (1.0 - step / steps)
        V -= eta * _scatter_add(c, dv, V.shape)
        U -= eta * _scatter_add(np.concatenate([o, neg.reshape(-1)]),
                                np.concatenate([du_o, du_neg.reshape(-1, dim)]), U.shape)
        running += loss / B
        if (step + 1) % log_every == 0:
            losses.append(running / log_every)
            running = 0.0
    return SGNSModel(V, U, losses)


def nearest(E, query: int | np.ndarray, k: int = 5, exclude: tuple[int, ...] = ()) -> \
        tuple[np.ndarray, np.ndarray]:
    """The k rows of ``E`` most cosine-similar to a query.

    Args:
        E: (V, d) embeddings.
        query: a row id of ``E`` (that row is left out of the answer) or a (d,) vector.
        k: how many neighbours.
        exclude: further row ids to leave out (e.g. the words of an analogy question).

    Returns:
        ``ids`` (k,) int64 and their cosine similarities (k,), most similar first.
    """
    E = as_array(E, "nearest", "E", ndim=2, dtype_kind="f")
    k = check_int(k, "nearest", "k", low=1, high=E.shape[0])
    if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
        q_id = check_int(query, "nearest", "query", low=0, high=E.shape[0] - 1)
        q, exclude = E[q_id], (*exclude, q_id)
    else:
        q = as_array(query, "nearest", "query", ndim=1, dtype_kind="f")
        if q.shape != (E.shape[1],):
            raise ValueError(f"nearest: query must be a row id or a ({E.shape[1]},) vector, "
                             f"got shape {q.shape}")
    En = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    sims = En @ (q / max(np.linalg.norm(q), 1e-12))                  # (V,)
    sims[list(exclude)] = -np.inf
    top = np.argsort(-sims, kind="stable")[:k]
    return top.astype(np.int64), sims[top]
