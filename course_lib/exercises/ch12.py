"""Checks for the exercises of chapter 12 (Attention and Transformers).

    from course_lib.exercises import ch12
    ch12.check_causal_mask(causal_mask)

Each check runs the learner's function on seeded random inputs (one query, one key, a batch
of one, a mask that hides most of a row, runs of a repeated pair, ...) against the reference
in ``course_lib.scratch.attention`` and ``course_lib.scratch.bpe``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch.attention import (
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_encoding,
)
from course_lib.scratch.bpe import merge_pair

__all__ = ["check_causal_mask", "check_attention", "check_sinusoidal_encoding",
           "check_merge_pair"]


_NONE = "returned None; did you forget a `return` statement?"


def _bool_array(got, expected, args) -> str | None:
    if got is None:
        return _NONE
    got = np.asarray(got)
    if got.dtype != np.bool_:
        return (f"the mask must be a boolean array (True = may attend), got dtype {got.dtype}; "
                f"compare with >= or <= to get booleans")
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got {got.shape}"
    if not np.array_equal(got, expected):
        i, j = np.argwhere(got != expected)[0]
        return (f"entry ({i}, {j}) is {bool(got[i, j])}, expected {bool(expected[i, j])}: "
                f"query {i} {'may' if expected[i, j] else 'may not'} see key {j}")
    return None


# --------------------------------------------------------------- 1. the causal mask

def _mask_inputs(rng: np.random.Generator):
    return (int(rng.integers(1, 9)),)


def check_causal_mask(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(T) -> (T, T) bool``: entry (i, j) is True when query i may attend to key j,
    that is when j <= i (no position sees the future)."""
    return check_function(
        fn, causal_mask, _mask_inputs, name="causal mask", trials=6, compare=_bool_array,
        strict=strict,
        hint="row i is a query, column j a key; True on and below the diagonal: "
             "np.tril(np.ones((T, T), dtype=bool)), or j <= i with broadcast aranges")


# ---------------------------------------------------- 2. scaled dot-product attention

def _attention_inputs(rng: np.random.Generator):
    B, T_q, T_k = int(rng.integers(1, 4)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
    d, d_v = int(rng.integers(1, 7)), int(rng.integers(1, 5))
    Q, K = rng.normal(size=(B, T_q, d)), rng.normal(size=(B, T_k, d))
    V = rng.normal(size=(B, T_k, d_v))
    mask = rng.random((T_q, T_k)) < 0.7
    mask[np.arange(T_q), rng.integers(0, T_k, size=T_q)] = True        # every query sees a key
    return Q, K, V, mask


def check_attention(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(Q, K, V, mask) -> (B, T_q, d_v)``: softmax over the keys of
    Q Kᵀ / √d, with the entries where ``mask`` is False set to −∞ first, times V.
    Q (B, T_q, d), K (B, T_k, d), V (B, T_k, d_v), mask (T_q, T_k) bool (True = may attend;
    every row has at least one True)."""
    return check_function(
        fn, lambda Q, K, V, m: scaled_dot_product_attention(Q, K, V, m)[0], _attention_inputs,
        name="scaled dot-product attention", trials=8, rtol=1e-9, atol=1e-12, strict=strict,
        hint="scores = Q @ K.swapaxes(-1, -2) / np.sqrt(d) is (B, T_q, T_k); "
             "np.where(mask, scores, -np.inf); subtract each row's max before np.exp; "
             "normalise over the last axis (the keys); multiply by V")


# ------------------------------------------------------- 3. sinusoidal encodings

def _sinusoid_inputs(rng: np.random.Generator):
    return int(rng.integers(1, 40)), 2 * int(rng.integers(1, 9))


def check_sinusoidal_encoding(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(T, d) -> (T, d)``: PE[t, 2i] = sin(t / 10000^(2i/d)) and
    PE[t, 2i+1] = cos(t / 10000^(2i/d)), for positions t = 0..T-1 and an even d."""
    return check_function(
        fn, sinusoidal_encoding, _sinusoid_inputs, name="sinusoidal positional encoding",
        trials=6, rtol=1e-9, atol=1e-12, strict=strict,
        hint="angles = t[:, None] / 10000 ** (np.arange(0, d, 2) / d) is (T, d/2); "
             "even columns get np.sin(angles), odd columns np.cos(angles)")


# ------------------------------------------------------------ 4. one BPE merge

def _merge_inputs(rng: np.random.Generator):
    n_symbols = int(rng.integers(2, 4))                   # few symbols: pairs repeat and overlap
    ids = rng.integers(0, n_symbols, size=int(rng.integers(0, 16)))
    pair = (int(rng.integers(0, n_symbols)), int(rng.integers(0, n_symbols)))
    return ids, pair, n_symbols


def _same_ids(got, expected, args) -> str | None:
    if got is None:
        return _NONE
    got = np.asarray(got)
    if got.ndim != 1 or got.dtype.kind not in "iu":
        return f"expected a 1-D integer array, got shape {got.shape} and dtype {got.dtype}"
    if not np.array_equal(got, expected):
        return (f"for ids {args[0].tolist()} and pair {args[1]} -> {args[2]}, expected "
                f"{expected.tolist()}, got {got.tolist()}")
    return None


def check_merge_pair(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(ids, pair, new_id) -> 1-D int array``: every occurrence of the adjacent
    ``pair`` (a, b) in ``ids``, read left to right without overlaps, replaced by ``new_id``
    (so with pair (7, 7), [7, 7, 7] becomes [new_id, 7])."""
    return check_function(
        fn, merge_pair, _merge_inputs, name="one BPE merge", trials=12, compare=_same_ids,
        strict=strict,
        hint="walk with an index i: if ids[i], ids[i + 1] is the pair, emit new_id and jump "
             "by 2, else emit ids[i] and step by 1; mind the last element and runs like a a a")
