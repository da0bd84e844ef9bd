"""Numeric gradients, relative error and the scratch-vs-torch comparison."""

import numpy as np
import pytest
import torch

from course_lib.checks import (
    compare_with_torch,
    numeric_gradient,
    numeric_gradient_array,
    rel_error,
)


@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (2, 3, 2)])
def test_numeric_gradient_matches_autograd(shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)

    def f(z):
        return np.sum(np.sin(z) * z**2) + np.sum(z) ** 2

    xt = torch.tensor(x, requires_grad=True)
    (torch.sum(torch.sin(xt) * xt**2) + torch.sum(xt) ** 2).backward()
    g = numeric_gradient(f, x)
    assert g.shape == x.shape
    assert rel_error(g, xt.grad.numpy()) < 1e-7


def test_numeric_gradient_leaves_x_alone():
    x = np.arange(4.0)
    numeric_gradient(lambda z: float(z @ z), x)
    np.testing.assert_array_equal(x, np.arange(4.0))


def test_numeric_gradient_array_checks_a_layer():
    rng = np.random.default_rng(1)
    x, W = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    dout = rng.normal(size=(3, 2))
    analytic = dout @ W.T  # d/dx of sum((x @ W) * dout)
    assert rel_error(numeric_gradient_array(lambda z: z @ W, x, dout), analytic) < 1e-8


def test_numeric_gradient_errors():
    with pytest.raises(ValueError, match="f must return a scalar"):
        numeric_gradient(lambda z: z, np.ones(3))
    with pytest.raises(TypeError, match="numeric dtype|must have a numeric dtype|float"):
        numeric_gradient(lambda z: 0.0, np.array(["a"]))
    with pytest.raises(TypeError, match="torch tensor"):
        numeric_gradient(lambda z: 0.0, torch.ones(2))
    with pytest.raises(ValueError, match="h must be"):
        numeric_gradient(lambda z: 0.0, np.ones(2), h=0)


def test_rel_error():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.empty(0), np.empty(0)) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.ones(2), np.ones(3))


def _inputs(rng):
    return (rng.normal(size=(rng.integers(1, 5), rng.integers(1, 6))),)


def test_compare_with_torch_agrees(capsys):
    def scratch_softmax(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    cmp = compare_with_torch(scratch_softmax, lambda t: torch.softmax(t, dim=1), _inputs,
                             name="softmax")
    assert cmp.ok and cmp.max_abs < 1e-15 + 1e-12
    assert "OK" in capsys.readouterr().out


def test_compare_with_torch_reports_worst_element():
    def off_by_a_bit(x):
        y = np.tanh(x)
        y.flat[-1] += 1e-3
        return y

    cmp = compare_with_torch(off_by_a_bit, torch.tanh, _inputs, verbose=False)
    assert not cmp.ok
    assert cmp.max_abs == pytest.approx(1e-3, rel=1e-6)
    assert "index" in cmp.worst and "scratch" in cmp.worst


def test_compare_with_torch_shape_mismatch():
    cmp = compare_with_torch(lambda x: x.T, lambda t: t, lambda rng: (rng.normal(size=(2, 3)),),
                             verbose=False)
    assert not cmp.ok and "shapes differ" in cmp.worst


def test_compare_with_torch_nan_is_a_mismatch():
    cmp = compare_with_torch(lambda x: x * np.nan, lambda t: t, _inputs, verbose=False)
    assert not cmp.ok


def test_compare_with_torch_is_deterministic():
    a = compare_with_torch(np.exp, torch.exp, _inputs, verbose=False, seed=3)
    b = compare_with_torch(np.exp, torch.exp, _inputs, verbose=False, seed=3)
    assert a == b
