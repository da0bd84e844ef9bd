"""course_lib.exercises.ch12: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np

from course_lib.exercises import ch12
from course_lib.scratch.attention import (
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_encoding,
)
from course_lib.scratch.bpe import merge_pair


def test_correct_answers_pass():
    assert ch12.check_causal_mask(causal_mask, strict=False)
    assert ch12.check_causal_mask(lambda T: np.tril(np.ones((T, T), dtype=bool)), strict=False)
    assert ch12.check_attention(lambda Q, K, V, m: scaled_dot_product_attention(Q, K, V, m)[0],
                                strict=False)
    assert ch12.check_sinusoidal_encoding(sinusoidal_encoding, strict=False)
    assert ch12.check_merge_pair(merge_pair, strict=False)


def test_typical_mistakes_fail():
    v = ch12.check_causal_mask(lambda T: np.triu(np.ones((T, T), dtype=bool)), strict=False)
    assert not v and "may not see key" in v.message            # the future instead of the past
    v = ch12.check_causal_mask(lambda T: np.tril(np.ones((T, T))), strict=False)
    assert not v and "boolean" in v.message                    # 0/1 floats, not a mask
    assert not ch12.check_causal_mask(lambda T: np.tril(np.ones((T, T), bool), -1), strict=False)

    def unscaled(Q, K, V, m):
        s = np.where(m, Q @ K.swapaxes(-1, -2), -np.inf)
        w = np.exp(s - s.max(-1, keepdims=True))
        return w / w.sum(-1, keepdims=True) @ V

    def softmax_over_queries(Q, K, V, m):
        s = np.where(m, Q @ K.swapaxes(-1, -2) / np.sqrt(Q.shape[-1]), -np.inf)
        w = np.exp(s - s.max(-2, keepdims=True))
        return np.nan_to_num(w / w.sum(-2, keepdims=True)) @ V

    def mask_ignored(Q, K, V, m):
        return scaled_dot_product_attention(Q, K, V)[0]

    for wrong in (unscaled, softmax_over_queries, mask_ignored):
        v = ch12.check_attention(wrong, strict=False)
        assert not v and "Hint" in v.message

    def swapped(T, d):                                           # cos in the even columns
        PE = sinusoidal_encoding(T, d)
        return PE[:, [i + 1 if i % 2 == 0 else i - 1 for i in range(d)]]

    assert not ch12.check_sinusoidal_encoding(swapped, strict=False)
    assert not ch12.check_sinusoidal_encoding(
        lambda T, d: sinusoidal_encoding(T + 1, d)[1:], strict=False)   # positions from 1

    def overlapping(ids, pair, new_id):                          # a a a -> new new
        ids = list(ids)
        return np.array([new_id if (ids[i], ids[i + 1]) == pair else ids[i]
                         for i in range(len(ids) - 1)] + ids[-1:], dtype=np.int64)

    def first_only(ids, pair, new_id):
        ids = list(ids)
        for i in range(len(ids) - 1):
            if (ids[i], ids[i + 1]) == pair:
                return np.array(ids[:i] + [new_id] + ids[i + 2:], dtype=np.int64)
        return np.array(ids, dtype=np.int64)

    for wrong in (overlapping, first_only):
        v = ch12.check_merge_pair(wrong, strict=False)
        assert not v and "expected" in v.message
    assert not ch12.check_merge_pair(lambda ids, p, n: None, strict=False)
