"""Numeric gradients, relative error and the scratch-vs-torch comparison."""

import numpy as np
import pytest
import torch

from course_lib.checks import (
    compare_arrays,
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


# ------------------------------------------------------------------------------------------
# compare_arrays: the one comparison behind compare_with_torch and the exercise checks
# ------------------------------------------------------------------------------------------
def test_compare_arrays_tolerance_worst_and_relative_error():
    e = np.array([[1.0, 100.0], [-3.0, 0.0]])
    g = e + np.array([[1e-9, 5e-6], [2e-3, 0.0]])
    cmp = compare_arrays(g, e, rtol=1e-7, atol=1e-9)
    # bound atol + rtol·|e| = 1.01e-7, 1.0001e-5, 3.01e-7, 1e-9
    np.testing.assert_array_equal(cmp.bad, [[False, False], [True, False]])
    assert not cmp.ok and cmp.n_bad == 1 and cmp.same_shape
    assert cmp.worst_index() == (1, 0) == cmp.worst_index(among_bad=True)
    assert cmp.max_abs == pytest.approx(2e-3) and cmp.max_rel == pytest.approx(2e-3 / 3)
    # the largest error overall need not be a failing one: rtol scales with |expected|
    cmp = compare_arrays([1000.5, 1.1], [1000.0, 1.0], rtol=1e-3, atol=0.0)
    assert cmp.worst_index() == (0,) and cmp.worst_index(among_bad=True) == (1,)
    assert compare_arrays(torch.tensor([1.0, 2.0]), [1.0, 2.0], rtol=0, atol=0).ok   # tensors
    assert compare_arrays(3.0, 3.0 + 1e-12, rtol=1e-9, atol=0).worst_index() == ()   # 0-d


def test_compare_arrays_shapes_and_empty():
    cmp = compare_arrays(np.ones((2, 3)), np.ones((3, 2)), rtol=1e-7, atol=1e-9)
    assert not cmp.same_shape and not cmp.ok and cmp.worst_index() is None
    assert cmp.max_abs == np.inf
    assert not compare_arrays(np.ones(3), np.ones((1, 3)), rtol=1, atol=1).ok   # no broadcasting
    empty = compare_arrays(np.empty((0, 2)), np.empty((0, 2)), rtol=0, atol=0)
    assert empty.ok and empty.worst_index() is None and empty.max_abs == 0.0 == empty.max_rel


def test_compare_arrays_nan_and_inf():
    nan, inf = np.nan, np.inf
    g = np.array([nan, nan, 1.0, inf, -inf, 5.0, inf])
    e = np.array([nan, 1.0, nan, inf, inf, inf, 5.0])
    for rtol in (0.0, 1e-7, 0.5):                       # an infinite bound must not excuse
        cmp = compare_arrays(g, e, rtol=rtol, atol=1e-9)
        np.testing.assert_array_equal(cmp.bad, [True, True, True, False, True, True, True])
        np.testing.assert_array_equal(cmp.abs_err, [inf, inf, inf, 0.0, inf, inf, inf])
        cmp = compare_arrays(g, e, rtol=rtol, atol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(cmp.bad, [False, True, True, False, True, True, True])
        assert cmp.abs_err[0] == 0.0


def test_compare_with_torch_and_exercise_checks_agree_on_infinities():
    from course_lib.exercises import check_function

    def ones_then_inf(rng):
        return (np.array([1.0, np.inf, 2.0]),)

    # torch gives inf where scratch gives a finite number: a mismatch, whatever the rtol
    assert not compare_with_torch(lambda x: np.where(np.isinf(x), 1e300, x), lambda t: t,
                                  ones_then_inf, verbose=False)
    assert compare_with_torch(lambda x: x.copy(), lambda t: t, ones_then_inf, verbose=False)
    assert check_function(lambda x: x.copy(), lambda x: x, ones_then_inf, name="inf",
                          strict=False)
    v = check_function(lambda x: np.where(np.isinf(x), 1e300, x), lambda x: x, ones_then_inf,
                       name="inf", strict=False)
    assert not v and "wrong value at index (1,): expected inf, got 1e+300" in v.message

