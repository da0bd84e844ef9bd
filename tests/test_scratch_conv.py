"""course_lib.scratch.conv: loops and im2col conv2d against torch (forward and gradients),
im2col/col2im against F.unfold/F.fold, the output-size and receptive-field formulas."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.conv import (
    col2im,
    conv2d_backward,
    conv2d_backward_loops,
    conv2d_forward,
    conv2d_forward_loops,
    conv_output_size,
    corr1d,
    corr2d,
    im2col,
    receptive_field,
)

IMPLEMENTATIONS = {"loops": (conv2d_forward_loops, conv2d_backward_loops),
                   "im2col": (conv2d_forward, conv2d_backward)}


def _random_case(seed):
    """A random valid conv configuration: (N, C, H, W, F, kh, kw, stride, padding, dilation)."""
    rng = np.random.default_rng(seed)
    N, C, F_ = (int(v) for v in rng.integers(1, 4, size=3))
    kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
    s, p, d = int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
    H = int(rng.integers(max(1, d * (kh - 1) + 1 - 2 * p), 12))
    W = int(rng.integers(max(1, d * (kw - 1) + 1 - 2 * p), 12))
    return N, C, H, W, F_, kh, kw, s, p, d


CASES = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0, 1),     # batch of one, one channel
    (2, 3, 8, 8, 4, 3, 3, 2, 1, 1),     # stride 2, padding 1
    (1, 2, 7, 9, 3, 3, 3, 2, 1, 1),     # odd sizes, stride 2, padding 1
    (3, 4, 6, 5, 2, 1, 1, 1, 0, 1),     # 1x1 kernel: channel mixing
    (2, 2, 5, 7, 3, 5, 7, 1, 0, 1),     # kernel as large as the input: one output pixel
    (2, 3, 11, 10, 2, 3, 2, 3, 2, 2),   # stride 3, padding 2, dilation 2, non-square kernel
    (1, 1, 4, 4, 2, 3, 3, 5, 1, 1),     # stride larger than the input
] + [_random_case(seed) for seed in range(10)]


def _torch_conv(x, w, b, s, p, d, g):
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d)
    out.backward(torch.tensor(g))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def _close(a, b, tol=1e-10):
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.abs(a - b).max(initial=0.0) <= tol * max(1.0, np.abs(b).max(initial=0.0))


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_conv2d_matches_torch_forward_and_backward(impl, case):
    N, C, H, W, F_, kh, kw, s, p, d = case
    forward, backward = IMPLEMENTATIONS[impl]
    rng = np.random.default_rng(sum(case))
    x, w, b = rng.normal(size=(N, C, H, W)), rng.normal(size=(F_, C, kh, kw)), rng.normal(size=F_)
    OH, OW = conv_output_size(H, kh, p, s, d), conv_output_size(W, kw, p, s, d)
    g = rng.normal(size=(N, F_, OH, OW))
    out_t, dx_t, dw_t, db_t = _torch_conv(x, w, b, s, p, d, g)
    out, cache = forward(x, w, b, stride=s, padding=p, dilation=d)
    dx, dw, db = backward(g, cache)
    for got, want in ((out, out_t), (dx, dx_t), (dw, dw_t), (db, db_t)):
        _close(got, want)
    assert out.dtype == dx.dtype == dw.dtype == np.float64


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_im2col_conv_on_a_batch_that_spans_many_transpose_blocks(dtype, tol):
    """The output (F·OH·OW rows of N) and dx are moved batch-first in blocks of about 32 KB:
    here 7·40·37 rows make several blocks and a partial last one."""
    case = (5, 2, 40, 37, 7, 3, 3, 1, 1, 1)
    N, C, H, W, F_, kh, kw, s, p, d = case
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=(N, C, H, W)), rng.normal(size=(F_, C, kh, kw)), rng.normal(size=F_)
    g = rng.normal(size=(N, F_, H, W))
    want = _torch_conv(x, w, b, s, p, d, g)
    out, cache = conv2d_forward(*(a.astype(dtype) for a in (x, w, b)), stride=s, padding=p)
    got = (out, *conv2d_backward(g.astype(dtype), cache))
    for a, b_ in zip(got, want, strict=True):
        assert a.dtype == dtype and a.flags.c_contiguous
        _close(a, b_, tol)


@pytest.mark.parametrize("shape", [(3, 1), (1, 7), (5000, 3), (2, 3, 4, 5000), (6, 5, 4, 9)])
def test_batch_to_front_is_a_transpose_in_blocks(shape):
    from course_lib.scratch.conv import _batch_to_front
    a = np.random.default_rng(0).normal(size=shape)
    got = _batch_to_front(a)
    assert got.flags.c_contiguous and got.dtype == a.dtype
    assert np.array_equal(got, np.moveaxis(a, -1, 0))


def test_loops_and_im2col_agree_and_bias_defaults_to_zero():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 3))
    a, _ = conv2d_forward_loops(x, w, None, stride=2, padding=1)
    b, _ = conv2d_forward(x, w, np.zeros(4), stride=2, padding=1)
    _close(a, b, 1e-12)


def test_float32_stays_float32_and_ints_become_float64():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(1, 2, 6, 6)).astype(np.float32), rng.normal(size=(3, 2, 3, 3))
    out, cache = conv2d_forward(x, w.astype(np.float32))
    assert out.dtype == np.float32
    assert conv2d_backward(np.ones_like(out), cache)[0].dtype == np.float32
    out_int, _ = conv2d_forward_loops(np.ones((1, 1, 3, 3), dtype=int), np.ones((1, 1, 2, 2),
                                                                                dtype=int))
    assert out_int.dtype == np.float64 and np.all(out_int == 4.0)


@pytest.mark.parametrize("case", CASES[:8], ids=[str(c) for c in CASES[:8]])
def test_im2col_is_unfold_and_col2im_is_fold(case):
    N, C, H, W, _, kh, kw, s, p, d = case
    rng = np.random.default_rng(2)
    x = rng.normal(size=(N, C, H, W))
    cols = im2col(x, kh, kw, s, p, d)
    want = F.unfold(torch.tensor(x), (kh, kw), dilation=d, padding=p, stride=s).numpy()
    _close(cols, want, 0.0)
    c = rng.normal(size=cols.shape)
    back = col2im(c, x.shape, kh, kw, s, p, d)
    want = F.fold(torch.tensor(c), (H, W), (kh, kw), dilation=d, padding=p, stride=s).numpy()
    _close(back, want, 1e-12)
    # col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>
    assert abs(np.sum(cols * c) - np.sum(x * back)) < 1e-10 * np.abs(cols * c).sum()


def test_output_size_formula_against_torch_on_a_grid():
    checked = 0
    for n in (1, 2, 5, 8, 13):
        for k in (1, 2, 3, 5):
            for p in (0, 1, 2):
                for s in (1, 2, 3):
                    for d in (1, 2):
                        if d * (k - 1) + 1 > n + 2 * p:
                            with pytest.raises(ValueError, match="spans"):
                                conv_output_size(n, k, p, s, d)
                            continue
                        out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k),
                                       stride=s, padding=p, dilation=d)
                        assert conv_output_size(n, k, p, s, d) == out.shape[-1]
                        checked += 1
    assert checked > 250


def test_corr1d_and_corr2d_definitions():
    rng = np.random.default_rng(3)
    for n, k in ((1, 1), (7, 3), (10, 10), (9, 2)):
        x, w = rng.normal(size=n), rng.normal(size=k)
        _close(corr1d(x, w), np.correlate(x, w, "valid"), 1e-12)
        want = F.conv1d(torch.tensor(x)[None, None], torch.tensor(w)[None, None])[0, 0]
        _close(corr1d(x, w), want.numpy(), 1e-12)
    for shape, kshape in (((5, 6), (2, 3)), ((1, 1), (1, 1)), ((7, 4), (7, 4))):
        X, K = rng.normal(size=shape), rng.normal(size=kshape)
        want = F.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None])[0, 0]
        _close(corr2d(X, K), want.numpy(), 1e-12)
    # true convolution = cross-correlation with the flipped kernel (checked with the FFT)
    X, K = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    full = np.fft.irfft2(np.fft.rfft2(X, (8, 8)) * np.fft.rfft2(K, (8, 8)), (8, 8))
    _close(corr2d(X, K[::-1, ::-1]), full[2:6, 1:7], 1e-12)


def test_receptive_field_matches_the_gradient_footprint():
    """The input pixels that influence one output unit, found with autograd."""
    stacks = [([3, 3, 3], [1, 1, 1], [1, 1, 1]),
              ([5, 2, 5, 2], [1, 2, 1, 2], [1, 1, 1, 1]),    # LeNet's conv/pool stack
              ([3, 3, 3], [2, 1, 2], [1, 2, 1]),
              ([1], [1], [1]), ([7, 1, 3], [3, 1, 2], [1, 1, 3])]
    for ks, ss, ds in stacks:
        r = receptive_field(ks, ss, ds)
        x = torch.zeros(1, 1, 64, 64, requires_grad=True)
        h = x
        for k, s, d in zip(ks, ss, ds, strict=True):
            h = F.conv2d(h, torch.ones(1, 1, k, k), stride=s, dilation=d)
        h[0, 0, h.shape[2] // 2, h.shape[3] // 2].backward()
        rows = np.flatnonzero(x.grad[0, 0].abs().sum(1).numpy() > 0)
        assert rows.max() - rows.min() + 1 == r[-1], (ks, ss, ds, r)
    assert receptive_field([3] * 4) == [3, 5, 7, 9]


@pytest.mark.parametrize("fn", [conv2d_forward, conv2d_forward_loops])
def test_bad_inputs_raise_clear_errors(fn):
    x, w = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3))
    with pytest.raises(ValueError, match=r"x must be a 4-D array, got shape \(5, 5\)"):
        fn(np.zeros((5, 5)), w)
    with pytest.raises(ValueError, match="channel counts"):
        fn(x, np.zeros((3, 4, 3, 3)))
    with pytest.raises(ValueError, match="one bias per kernel"):
        fn(x, w, np.zeros(2))
    with pytest.raises(ValueError, match="stride must be in"):
        fn(x, w, stride=0)
    with pytest.raises(TypeError, match="padding must be an int"):
        fn(x, w, padding=1.5)
    with pytest.raises(ValueError, match="too small"):
        fn(np.zeros((1, 2, 2, 2)), w)
    with pytest.raises(TypeError, match="torch tensor"):
        fn(torch.zeros(1, 2, 5, 5), w)
    with pytest.raises(TypeError, match="numeric dtype"):
        fn(np.array([["a"]]), w)


def test_backward_checks_dout_and_helpers_validate():
    x, w = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3))
    for forward, backward in IMPLEMENTATIONS.values():
        _, cache = forward(x, w)
        with pytest.raises(ValueError, match=r"dout must have the shape .*\(1, 3, 3, 3\)"):
            backward(np.zeros((1, 3, 4, 4)), cache)
    with pytest.raises(ValueError, match="cols must have shape"):
        col2im(np.zeros((1, 5, 4)), (1, 2, 5, 5), 3, 3)
    with pytest.raises(ValueError, match="longer"):
        corr1d(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="larger than the image"):
        corr2d(np.zeros((2, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="same length"):
        receptive_field([3, 3], [1])
    with pytest.raises(ValueError, match="kernel_sizes\\[1\\] must be in"):
        receptive_field([3, 0])
