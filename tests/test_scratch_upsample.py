"""course_lib.scratch.upsample: max-pool indices, max-unpooling and transposed convolution
against torch.nn.functional, and the transpose (adjoint) identity with conv2d."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.upsample import conv_transpose2d, max_pool2d_with_indices, max_unpool2d


@pytest.mark.parametrize("shape, k", [((2, 3, 8, 8), 2), ((1, 1, 7, 9), 2), ((3, 2, 9, 9), 3),
                                      ((1, 1, 4, 4), 1), ((2, 1, 5, 6), 5)])
def test_pool_and_unpool_match_torch(shape, k):
    x = np.random.default_rng(sum(shape) + k).normal(size=shape)
    y, ind = max_pool2d_with_indices(x, k)
    yt, it = F.max_pool2d(torch.tensor(x), k, return_indices=True)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(ind, it.numpy())
    H, W = shape[2:]
    u = max_unpool2d(y, ind, (H, W))
    np.testing.assert_array_equal(u, F.max_unpool2d(yt, it, k, output_size=(H, W)).numpy())
    assert np.count_nonzero(u) == y.size                        # one value per window


def test_pool_ties_pick_the_first_like_torch():
    x = np.zeros((1, 1, 4, 4))
    _, ind = max_pool2d_with_indices(x, 2)
    _, it = F.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(ind, it.numpy())


CASES = [((2, 3, 5, 5), 4, 3, 2, 1, 0), ((1, 1, 1, 1), 1, 2, 2, 0, 0),
         ((2, 2, 4, 6), 3, 4, 3, 2, 0), ((1, 3, 7, 7), 2, 2, 2, 0, 0),
         ((2, 4, 7, 7), 8, 3, 2, 1, 1), ((1, 2, 3, 5), 1, 3, 3, 1, 2)]


@pytest.mark.parametrize("shape, O, k, s, p, op", CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose_matches_torch(shape, O, k, s, p, op, bias):
    rng = np.random.default_rng(sum(shape) + O + k)
    x = rng.normal(size=shape)
    w = rng.normal(size=(shape[1], O, k, k))
    b = rng.normal(size=O) if bias else None
    ours = conv_transpose2d(x, w, b, s, p, op)
    ref = F.conv_transpose2d(torch.tensor(x), torch.tensor(w),
                             None if b is None else torch.tensor(b), s, p, op).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, O, k, s, p", [((2, 3, 9, 9), 4, 3, 2, 1),
                                                ((1, 2, 8, 8), 1, 2, 2, 0),
                                                ((1, 1, 8, 8), 2, 3, 2, 0)])
def test_conv_transpose_is_the_input_gradient_of_conv(shape, O, k, s, p):
    """<conv(x), y> = <x, convᵀ(y)>: the transposed conv sends gradients back through a conv."""
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=shape), requires_grad=True)
    w_conv = torch.tensor(rng.normal(size=(O, shape[1], k, k)))    # conv2d layout (C_out, C_in)
    out = F.conv2d(x, w_conv, stride=s, padding=p)
    dout = rng.normal(size=tuple(out.shape))
    out.backward(torch.tensor(dout))
    # the same weights read as a transposed conv from O channels back to C_in
    back = conv_transpose2d(dout, w_conv.detach().numpy(), None, s, p)
    assert back.shape[2] <= shape[2]                            # rows the conv never read: 0
    grad = x.grad.numpy()
    np.testing.assert_allclose(back, grad[:, :, :back.shape[2], :back.shape[3]],
                               rtol=1e-10, atol=1e-12)
    assert np.all(grad[:, :, back.shape[2]:] == 0) and np.all(grad[:, :, :, back.shape[3]:] == 0)


def test_errors():
    with pytest.raises(ValueError, match="4-D"):
        max_pool2d_with_indices(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match="does not fit"):
        max_pool2d_with_indices(np.zeros((1, 1, 2, 2)), 3)
    y, ind = max_pool2d_with_indices(np.zeros((1, 1, 4, 4)), 2)
    with pytest.raises(ValueError, match="indices must lie in 0..3"):
        max_unpool2d(y, ind, (2, 2))
    with pytest.raises(ValueError, match="shape of y"):
        max_unpool2d(y, ind[:, :, :1], (4, 4))
    with pytest.raises(TypeError, match="pair"):
        max_unpool2d(y, ind, 4)
    with pytest.raises(ValueError, match="C_in=2"):
        conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((3, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"output_padding must be in \[0, 1\]"):
        conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), stride=2,
                         output_padding=2)
    with pytest.raises(ValueError, match=r"b must have shape \(1,\)"):
        conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), b=np.zeros(2))
