"""course_lib.scratch.pool: loops and im2col max/avg pooling against torch, forward and
backward, on random shapes (batch of one, odd sizes, stride != kernel, padding, channels)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.conv import conv_output_size
from course_lib.scratch.pool import (
    avg_pool2d_backward,
    avg_pool2d_backward_loops,
    avg_pool2d_forward,
    avg_pool2d_forward_loops,
    max_pool2d_backward,
    max_pool2d_backward_loops,
    max_pool2d_forward,
    max_pool2d_forward_loops,
)

POOLS = {
    "max-loops": (max_pool2d_forward_loops, max_pool2d_backward_loops, F.max_pool2d),
    "max-im2col": (max_pool2d_forward, max_pool2d_backward, F.max_pool2d),
    "avg-loops": (avg_pool2d_forward_loops, avg_pool2d_backward_loops, F.avg_pool2d),
    "avg-im2col": (avg_pool2d_forward, avg_pool2d_backward, F.avg_pool2d),
}


def _random_case(seed):
    rng = np.random.default_rng(100 + seed)
    N, C = (int(v) for v in rng.integers(1, 4, size=2))
    k = int(rng.integers(1, 5))
    s = int(rng.integers(1, 4))
    p = int(rng.integers(0, k // 2 + 1))
    H, W = (int(v) for v in rng.integers(max(1, k - 2 * p), 12, size=2))
    return N, C, H, W, k, s, p


CASES = [
    (1, 1, 4, 4, 2, None, 0),      # batch of one, default stride = kernel
    (2, 3, 8, 8, 3, 2, 1),         # overlapping windows, stride 2, padding 1
    (1, 2, 7, 9, 2, 2, 1),         # odd sizes, stride 2, padding 1
    (3, 2, 5, 6, 3, 1, 1),         # stride 1: every input in up to 9 windows
    (2, 1, 9, 7, 2, 3, 0),         # stride larger than the window: gaps
    (1, 4, 3, 3, 3, None, 0),      # one window covering the image (global pooling)
    (2, 2, 6, 6, 1, 1, 0),         # 1x1 window: the identity
] + [_random_case(seed) for seed in range(10)]


def _close(a, b, tol=1e-10):
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.abs(a - b).max(initial=0.0) <= tol * max(1.0, np.abs(b).max(initial=0.0))


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_pool_matches_torch_forward_and_backward(pool, case):
    N, C, H, W, k, s, p = case
    forward, backward, torch_pool = POOLS[pool]
    rng = np.random.default_rng(sum(v or 0 for v in case))
    x = rng.normal(size=(N, C, H, W))
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch_pool(xt, k, s, p)
    g = rng.normal(size=tuple(out_t.shape))
    out_t.backward(torch.tensor(g))
    out, cache = forward(x, k, s, p)
    dx = backward(g, cache)
    stride = k if s is None else s
    assert out.shape == (N, C, conv_output_size(H, k, p, stride), conv_output_size(W, k, p, stride))
    _close(out, out_t.detach().numpy())
    _close(dx, xt.grad.numpy())


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_loops_and_im2col_give_identical_results(kind):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4, 10, 9))
    (f_loop, b_loop, _), (f_fast, b_fast, _) = POOLS[f"{kind}-loops"], POOLS[f"{kind}-im2col"]
    a, ca = f_loop(x, 3, 2, 1)
    b, cb = f_fast(x, 3, 2, 1)
    _close(a, b, 1e-14)
    g = rng.normal(size=a.shape)
    _close(b_loop(g, ca), b_fast(g, cb), 1e-14)


def test_max_pool_gradient_goes_to_the_first_maximum_on_ties():
    x = np.zeros((1, 1, 2, 2))                  # all equal: torch picks the first
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, 2).sum().backward()
    for forward, backward in ((max_pool2d_forward_loops, max_pool2d_backward_loops),
                              (max_pool2d_forward, max_pool2d_backward)):
        out, cache = forward(x, 2)
        np.testing.assert_array_equal(backward(np.ones_like(out), cache), xt.grad.numpy())



@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 2, 1), (3, 1, 1)])
def test_max_pool_nan_propagates_and_gets_the_gradient_as_in_torch(k, s, p):
    """A NaN wins its window; torch sends the gradient to the window's last NaN."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 2, 6, 7))
    x[0, 0, 1, 1] = x[0, 0, 1, 0] = x[1, 1, 4, 5] = np.nan
    out, cache = max_pool2d_forward(x, k, s, p)
    g = rng.standard_normal(out.shape)
    xt = torch.tensor(x, requires_grad=True)
    ot = F.max_pool2d(xt, k, s, p)
    ot.backward(torch.tensor(g))
    assert np.isnan(out).any()
    np.testing.assert_array_equal(out, ot.detach().numpy())
    # overlapping windows add several gradients into one input, maybe in another order
    np.testing.assert_allclose(max_pool2d_backward(g, cache), xt.grad.numpy(), rtol=0, atol=1e-12)


def test_max_pool_window_of_more_than_256_positions():
    """Window positions are stored in one byte while k² ≤ 256; a larger window still works."""
    x = np.random.default_rng(3).standard_normal((1, 2, 20, 21))
    out, cache = max_pool2d_forward(x, 17, 2)
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, 17, 2).sum().backward()
    np.testing.assert_array_equal(out, F.max_pool2d(torch.tensor(x), 17, 2).numpy())
    np.testing.assert_array_equal(max_pool2d_backward(np.ones_like(out), cache), xt.grad.numpy())

def test_dtype_is_kept():
    x = np.random.default_rng(0).normal(size=(1, 1, 4, 4)).astype(np.float32)
    for name, (forward, backward, _) in POOLS.items():
        out, cache = forward(x, 2)
        assert out.dtype == np.float32, name
        assert backward(np.ones_like(out), cache).dtype == np.float32, name


@pytest.mark.parametrize("pool", POOLS)
def test_bad_inputs_raise_clear_errors(pool):
    forward, backward, _ = POOLS[pool]
    with pytest.raises(ValueError, match=r"x must be a 4-D array, got shape \(4, 4\)"):
        forward(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="padding must be at most kernel_size / 2"):
        forward(np.zeros((1, 1, 4, 4)), 2, 1, 2)
    with pytest.raises(ValueError, match="does not fit"):
        forward(np.zeros((1, 1, 2, 5)), 3)
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        forward(np.zeros((1, 1, 4, 4)), 2.0)
    with pytest.raises(ValueError, match="stride must be in"):
        forward(np.zeros((1, 1, 4, 4)), 2, 0)
    _, cache = forward(np.zeros((1, 1, 4, 4)), 2)
    with pytest.raises(ValueError, match=r"dout must have the shape .*\(1, 1, 2, 2\)"):
        backward(np.zeros((1, 1, 3, 3)), cache)
