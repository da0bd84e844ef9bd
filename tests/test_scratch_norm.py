"""course_lib.scratch.norm: BatchNorm, LayerNorm, GroupNorm, InstanceNorm against
torch.nn.functional (outputs, input gradients, affine gradients, running statistics),
a numeric gradient check, the identities between them, and clear errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.gradcheck import numeric_gradient_array, rel_error
from course_lib.scratch.norm import (
    NORM_AXES,
    batchnorm_backward,
    batchnorm_forward,
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
)

TOL = dict(rtol=1e-9, atol=1e-10)


def _data(shape, seed=0, affine=True):
    """x (shape), dout (shape), gamma and beta (C,) or None; x with an offset and a scale."""
    rng = np.random.default_rng(seed)
    x = 3.0 * rng.normal(size=shape) + 1.5
    dout = rng.normal(size=shape)
    C = shape[1]
    gamma = rng.uniform(0.5, 2.0, size=C) if affine else None
    beta = rng.normal(size=C) if affine else None
    return x, dout, gamma, beta


def _torch_run(fn, x, dout, gamma, beta):
    """Run fn(xt, gt, bt) in torch float64, backprop dout; return out, dx, dgamma, dbeta."""
    xt = torch.tensor(x, requires_grad=True)
    gt = None if gamma is None else torch.tensor(gamma, requires_grad=True)
    bt = None if beta is None else torch.tensor(beta, requires_grad=True)
    out = fn(xt, gt, bt)
    out.backward(torch.tensor(dout))
    grads = [None if t is None else t.grad.numpy() for t in (gt, bt)]
    return out.detach().numpy(), xt.grad.numpy(), grads[0], grads[1]


def _assert_same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        if b is None:
            assert a is None
        else:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, **TOL)


SHAPES = [(8, 3), (1, 4, 5, 5), (5, 2, 3, 7), (2, 6, 9), (3, 1, 1, 4), (16, 5, 2, 2)]


# ----------------------------------------------------------------------------- BatchNorm

@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_train_matches_torch(shape, affine):
    x, dout, gamma, beta = _data(shape, affine=affine)
    C = shape[1]
    state = {}
    out, cache = batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.2, eps=1e-4)
    dx, dg, db = batchnorm_backward(dout, cache)
    rm, rv = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
    ref = _torch_run(lambda a, g, b: F.batch_norm(a, rm, rv, g, b, training=True, momentum=0.2,
                                                  eps=1e-4), x, dout, gamma, beta)
    _assert_same((out, dx, dg, db), ref)
    np.testing.assert_allclose(state["running_mean"], rm.numpy(), **TOL)
    np.testing.assert_allclose(state["running_var"], rv.numpy(), **TOL)


def test_batchnorm_output_is_standardised_per_channel():
    x, _, _, _ = _data((7, 3, 4, 4))
    out, _ = batchnorm_forward(x, None, None, {}, train=True, eps=1e-12)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1.0, rtol=1e-9)


def test_batchnorm_running_statistics_over_many_steps_then_eval_match_torch():
    C = 4
    bn = torch.nn.BatchNorm2d(C, momentum=0.3, eps=1e-3).double()
    rng = np.random.default_rng(3)
    gamma, beta = rng.uniform(0.5, 2, size=C), rng.normal(size=C)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    state = {}
    for step in range(6):
        x = rng.normal(loc=step, scale=1 + step, size=(5, C, 3, 3))
        batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.3, eps=1e-3)
        bn(torch.tensor(x))
    np.testing.assert_allclose(state["running_mean"], bn.running_mean.numpy(), **TOL)
    np.testing.assert_allclose(state["running_var"], bn.running_var.numpy(), **TOL)
    # evaluation mode: normalised by the running estimates; the state is not touched
    bn.eval()
    x, dout, _, _ = _data((3, C, 2, 5), seed=9)
    keep = {k: v.copy() for k, v in state.items()}
    out, cache = batchnorm_forward(x, gamma, beta, state, train=False, eps=1e-3)
    dx, dg, db = batchnorm_backward(dout, cache)
    ref = _torch_run(lambda a, g, b: F.batch_norm(a, bn.running_mean, bn.running_var, g, b,
                                                  training=False, eps=1e-3),
                     x, dout, gamma, beta)
    _assert_same((out, dx, dg, db), ref)
    for k in keep:
        np.testing.assert_array_equal(state[k], keep[k])


def test_batchnorm_eval_of_one_example_does_not_depend_on_the_batch():
    x, _, gamma, beta = _data((6, 3))
    state = {"running_mean": np.array([0.5, -1.0, 2.0]), "running_var": np.array([1.0, 4.0, .5])}
    full, _ = batchnorm_forward(x, gamma, beta, state, train=False)
    one, _ = batchnorm_forward(x[2:3], gamma, beta, state, train=False)
    np.testing.assert_allclose(one[0], full[2], rtol=1e-15)
    train_full, _ = batchnorm_forward(x, gamma, beta, {}, train=True)
    train_part, _ = batchnorm_forward(x[:3], gamma, beta, {}, train=True)
    assert not np.allclose(train_full[:3], train_part)       # in training it does


def test_batchnorm_numeric_gradient():
    x, dout, gamma, beta = _data((4, 3, 2, 2), seed=5)
    _, cache = batchnorm_forward(x, gamma, beta, {}, train=True)
    dx, _, _ = batchnorm_backward(dout, cache)
    num = numeric_gradient_array(lambda z: batchnorm_forward(z, gamma, beta, {}, train=True)[0],
                                 x, dout)
    assert rel_error(dx, num) < 1e-6


def test_batchnorm_leaves_input_alone_and_keeps_float32():
    x, dout, gamma, beta = _data((4, 3))
    keep = x.copy()
    batchnorm_forward(x, gamma, beta, {}, train=True)
    np.testing.assert_array_equal(x, keep)
    out, _ = batchnorm_forward(x.astype(np.float32), None, None, {}, train=True)
    assert out.shape == x.shape and np.all(np.isfinite(out))


# ----------------------------------------------------------------------------- LayerNorm

@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape,k", [((8, 5), 1), ((1, 7), 1), ((4, 3, 6), 1), ((4, 3, 6), 2),
                                     ((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1), ((6,), 1)])
def test_layernorm_matches_torch(shape, k, affine):
    rng = np.random.default_rng(1)
    x = 2.0 * rng.normal(size=shape) - 1.0
    dout = rng.normal(size=shape)
    nshape = shape[len(shape) - k:]
    gamma = rng.uniform(0.5, 2, size=nshape) if affine else None
    beta = rng.normal(size=nshape) if affine else None
    out, cache = layernorm_forward(x, gamma, beta, normalized_ndim=k, eps=1e-6)
    ours = (out, *layernorm_backward(dout, cache))
    ref = _torch_run(lambda a, g, b: F.layer_norm(a, nshape, g, b, eps=1e-6), x, dout, gamma,
                     beta)
    _assert_same(ours, ref)


def test_layernorm_numeric_gradient_and_no_batch_dependence():
    rng = np.random.default_rng(2)
    x, dout = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    gamma, beta = rng.uniform(0.5, 2, size=5), rng.normal(size=5)
    _, cache = layernorm_forward(x, gamma, beta)
    dx, _, _ = layernorm_backward(dout, cache)
    num = numeric_gradient_array(lambda z: layernorm_forward(z, gamma, beta)[0], x, dout)
    assert rel_error(dx, num) < 1e-6
    np.testing.assert_allclose(layernorm_forward(x[1:2], gamma, beta)[0][0],
                               layernorm_forward(x, gamma, beta)[0][1], rtol=1e-14)


# ----------------------------------------------------------------------------- GroupNorm

@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape,G", [((4, 6, 3, 3), 1), ((4, 6, 3, 3), 2), ((4, 6, 3, 3), 3),
                                     ((4, 6, 3, 3), 6), ((1, 4, 5), 2), ((5, 8), 4),
                                     ((2, 3, 1, 7), 3)])
def test_groupnorm_matches_torch(shape, G, affine):
    x, dout, gamma, beta = _data(shape, seed=4, affine=affine)
    out, cache = groupnorm_forward(x, gamma, beta, G, eps=1e-5)
    ours = (out, *groupnorm_backward(dout, cache))
    ref = _torch_run(lambda a, g, b: F.group_norm(a, G, g, b, eps=1e-5), x, dout, gamma, beta)
    _assert_same(ours, ref)


def test_groupnorm_numeric_gradient():
    x, dout, gamma, beta = _data((2, 4, 3, 2), seed=6)
    _, cache = groupnorm_forward(x, gamma, beta, 2)
    dx, _, _ = groupnorm_backward(dout, cache)
    num = numeric_gradient_array(lambda z: groupnorm_forward(z, gamma, beta, 2)[0], x, dout)
    assert rel_error(dx, num) < 1e-6


def test_groupnorm_extremes_are_layernorm_and_instancenorm():
    x, _, _, _ = _data((3, 4, 5, 5), seed=7)
    np.testing.assert_allclose(groupnorm_forward(x, None, None, 1)[0],
                               layernorm_forward(x, None, None, normalized_ndim=3)[0],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(groupnorm_forward(x, None, None, 4)[0],
                               instancenorm_forward(x)[0], rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- InstanceNorm

@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (1, 1, 2, 3), (3, 5, 7), (4, 2, 1, 9),
                                   (2, 2, 2, 2, 2)])
def test_instancenorm_matches_torch(shape, affine):
    x, dout, gamma, beta = _data(shape, seed=8, affine=affine)
    out, cache = instancenorm_forward(x, gamma, beta, eps=1e-5)
    ours = (out, *instancenorm_backward(dout, cache))
    ref = _torch_run(lambda a, g, b: F.instance_norm(a, weight=g, bias=b, eps=1e-5),
                     x, dout, gamma, beta)
    _assert_same(ours, ref)


def test_instancenorm_numeric_gradient():
    x, dout, gamma, beta = _data((2, 3, 2, 3), seed=10)
    _, cache = instancenorm_forward(x, gamma, beta)
    dx, _, _ = instancenorm_backward(dout, cache)
    num = numeric_gradient_array(lambda z: instancenorm_forward(z, gamma, beta)[0], x, dout)
    assert rel_error(dx, num) < 1e-6


# ----------------------------------------------------------------------------- the axes table

def test_norm_axes_table_says_what_each_layer_averages():
    """Normalising with NORM_AXES by hand reproduces each layer (GroupNorm with G = 1)."""
    x, _, _, _ = _data((3, 4, 2, 5), seed=11)
    eps = 1e-5

    def by_hand(axes):
        mu = x.mean(axis=axes, keepdims=True)
        return (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)

    layers = {"BatchNorm": batchnorm_forward(x, None, None, {}, train=True, eps=eps)[0],
              "LayerNorm": layernorm_forward(x, None, None, normalized_ndim=3, eps=eps)[0],
              "InstanceNorm": instancenorm_forward(x, eps=eps)[0],
              "GroupNorm": groupnorm_forward(x, None, None, 1, eps=eps)[0]}
    assert set(layers) == set(NORM_AXES)
    for name, out in layers.items():
        np.testing.assert_allclose(out, by_hand(NORM_AXES[name]), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- bad input

def test_bad_inputs_raise_clear_errors():
    x = np.ones((4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, H, W\), got shape \(5,\)"):
        batchnorm_forward(np.ones(5), None, None, {}, train=True)
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\), got \(4,\)"):
        batchnorm_forward(x, np.ones(4), None, {}, train=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batchnorm_forward(np.ones((1, 3)), None, None, {}, train=True)
    with pytest.raises(TypeError, match="state must be a dict"):
        batchnorm_forward(x, None, None, None, train=True)
    with pytest.raises(ValueError, match=r"running_mean'\] must be a float array of shape"):
        batchnorm_forward(x, None, None, {"running_mean": np.zeros(2)}, train=True)
    with pytest.raises(ValueError, match="momentum must be in"):
        batchnorm_forward(x, None, None, {}, train=True, momentum=1.5)
    with pytest.raises(TypeError, match="dtype"):
        batchnorm_forward(np.ones((4, 3), dtype=int), None, None, {}, train=True)
    with pytest.raises(TypeError, match="torch tensor"):
        layernorm_forward(torch.ones(2, 3), None, None)
    with pytest.raises(ValueError, match="NaN or inf"):
        layernorm_forward(np.array([[1.0, np.nan]]), None, None)
    with pytest.raises(ValueError, match="divisible by num_groups=4"):
        groupnorm_forward(np.ones((2, 6, 3)), None, None, 4)
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        instancenorm_forward(np.ones((2, 3, 1, 1)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(N, C, L\)"):
        instancenorm_forward(np.ones((2, 3)))
    _, cache = layernorm_forward(np.ones((2, 3)) * np.arange(3), None, None)
    with pytest.raises(TypeError, match="cache returned by batchnorm_forward"):
        batchnorm_backward(np.ones((2, 3)), cache)
    with pytest.raises(ValueError,
                       match=r"dout must have the shape of the forward output \(2, 3\)"):
        layernorm_backward(np.ones((3, 2)), cache)
