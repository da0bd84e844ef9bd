"""Mini-batches: the index bookkeeping behind SGD and mini-batch gradient descent."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from course_lib.scratch.validate import check_int, check_rng


def minibatch_indices(n: int, batch_size: int, *, rng: np.random.Generator | None = None,
                      shuffle: bool = True, drop_last: bool = False) -> Iterator[np.ndarray]:
    """Yield the index arrays of one epoch of mini-batches over ``n`` examples.

    Args:
        n: number of examples (≥ 1).
        batch_size: examples per batch (≥ 1); ``batch_size=1`` is SGD, ``batch_size=n``
            batch gradient descent.
        rng: Generator for the shuffle; required when ``shuffle`` is True, so that every
            run can be reproduced.
        shuffle: visit the examples in a random order (a fresh permutation every epoch).
        drop_last: skip a final batch smaller than ``batch_size``.

    Yields:
        int64 arrays of shape (b,), b = batch_size except possibly the last; together they
        cover ``range(n)`` exactly once (less the dropped tail with ``drop_last``).
    """
    n = check_int(n, "minibatch_indices", "n", low=1)
    batch_size = check_int(batch_size, "minibatch_indices", "batch_size", low=1)
    if shuffle:
        order = check_rng(rng, "minibatch_indices", "rng (shuffle=True needs it)").permutation(n)
    else:
        order = np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def minibatches(X: np.ndarray, y: np.ndarray, batch_size: int, *,
                rng: np.random.Generator | None = None, shuffle: bool = True,
                drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X[idx], y[idx])`` for the batches of :func:`minibatch_indices`.

    ``X``: (N, ...) inputs; ``y``: (N, ...) targets with the same first dimension.
    """
    if len(X) != len(y):
        raise ValueError(f"minibatches: X and y must have the same number of rows, "
                         f"got {len(X)} and {len(y)}")
    for idx in minibatch_indices(len(X), batch_size, rng=rng, shuffle=shuffle,
                                 drop_last=drop_last):
        yield X[idx], y[idx]
