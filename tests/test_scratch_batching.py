"""Mini-batch iteration covers every example once per epoch, reproducibly."""

import numpy as np
import pytest
import torch

from course_lib.scratch.batching import minibatch_indices, minibatches


@pytest.mark.parametrize("n, b", [(1, 1), (10, 3), (10, 10), (10, 32), (7, 1)])
def test_each_example_once(n, b):
    batches = list(minibatch_indices(n, b, rng=np.random.default_rng(0)))
    assert sorted(np.concatenate(batches).tolist()) == list(range(n))
    assert all(len(x) == b for x in batches[:-1]) and 1 <= len(batches[-1]) <= b


def test_drop_last_and_no_shuffle():
    batches = list(minibatch_indices(10, 3, shuffle=False, drop_last=True))
    assert [x.tolist() for x in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_reproducible_and_matches_torch_sampler_sizes():
    a = [x.tolist() for x in minibatch_indices(20, 6, rng=np.random.default_rng(5))]
    b = [x.tolist() for x in minibatch_indices(20, 6, rng=np.random.default_rng(5))]
    assert a == b
    loader = torch.utils.data.DataLoader(torch.arange(20), batch_size=6, shuffle=True)
    assert [len(x) for x in a] == [len(x) for x in loader]


def test_minibatches_pairs_rows():
    X, y = np.arange(12).reshape(6, 2), np.arange(6)
    for xb, yb in minibatches(X, y, 4, rng=np.random.default_rng(1)):
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)


def test_errors():
    with pytest.raises(TypeError, match=r"rng \(shuffle=True needs it\) must be a numpy Generator"):
        list(minibatch_indices(5, 2))
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, inf\], got 0"):
        list(minibatch_indices(5, 0, shuffle=False))
    with pytest.raises(ValueError, match="same number of rows, got 3 and 2"):
        list(minibatches(np.ones((3, 1)), np.ones(2), 1, shuffle=False))
