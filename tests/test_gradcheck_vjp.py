"""course_lib.scratch.gradcheck.numeric_vjp: against torch's vector-Jacobian products, the
accuracy it was added for, and bad input."""

import numpy as np
import pytest
import torch

from course_lib.scratch.gradcheck import numeric_gradient_array, numeric_vjp, rel_error


def _torch_vjp(f_t, x, dout):
    xt = torch.tensor(x, requires_grad=True)
    f_t(xt).backward(torch.tensor(dout))
    return xt.grad.numpy()


@pytest.mark.parametrize("shape", [(1,), (1, 1), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("order", [2, 4])
def test_matches_torch_on_a_smooth_layer(shape, order):
    rng = np.random.default_rng([len(shape), order])
    x = rng.uniform(-1, 1, size=shape)
    W = rng.normal(size=(shape[-1], 5))
    dout = rng.choice([-1.0, 1.0], size=shape[:-1] + (5,)) * rng.uniform(0.5, 1.5,
                                                                        shape[:-1] + (5,))

    def f(z):
        return np.tanh(z @ W) + np.exp(0.3 * z).sum(axis=-1, keepdims=True)

    def f_t(z):
        return torch.tanh(z @ torch.tensor(W)) + torch.exp(0.3 * z).sum(-1, keepdim=True)

    h = 1e-5 if order == 2 else 1e-3
    got = numeric_vjp(f, x, dout, h=h, order=order)
    assert got.shape == x.shape and got.dtype == np.float64
    assert rel_error(got, _torch_vjp(f_t, x, dout)) < (1e-8 if order == 2 else 1e-10)


def test_scalar_function_with_dout_none():
    x = np.array([0.3, -1.2, 2.0])
    got = numeric_vjp(lambda z: float(np.sum(np.sin(z) * z)), x)
    assert rel_error(got, np.cos(x) * x + np.sin(x)) < 1e-9


def test_fourth_order_is_more_accurate():
    x = np.array([0.7])
    exact = np.cos(0.7) * np.exp(np.sin(0.7))
    err2 = abs(numeric_vjp(lambda z: np.exp(np.sin(z)), x, np.ones(1), h=1e-3)[0] - exact)
    err4 = abs(numeric_vjp(lambda z: np.exp(np.sin(z)), x, np.ones(1), h=1e-3,
                           order=4)[0] - exact)
    assert err4 < 1e-4 * err2


def test_differencing_before_summing_removes_the_round_off_of_the_sum():
    """An elementwise function of 2000 inputs: each gradient entry depends on one output.
    Summing first adds round-off of the size of the whole sum to every entry; differencing
    first does not."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=2000)
    dout = rng.uniform(0.5, 1.5, size=2000) * 50
    exact = dout / np.cosh(x) ** 2

    def f(z):
        return np.tanh(z)

    err_vjp = rel_error(numeric_vjp(f, x, dout), exact)
    err_sum = rel_error(numeric_gradient_array(f, x, dout, h=1e-5), exact)
    assert err_vjp < 1e-8 < err_sum


def test_x_is_left_alone_and_int_dout_is_fine():
    x = np.array([[1.0, 2.0]])
    before = x.copy()
    g = numeric_vjp(lambda z: 3 * z, x, np.array([[1, 2]]))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(g, [[3.0, 6.0]], rtol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="order must be 2 or 4"):
        numeric_vjp(lambda z: z, np.ones(2), np.ones(2), order=3)
    with pytest.raises(ValueError, match="f\\(x\\) has shape \\(3,\\) but dout has shape \\(2,\\)"):
        numeric_vjp(lambda z: np.ones(3), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="dout=None for a scalar"):
        numeric_vjp(lambda z: z, np.ones(2))
    with pytest.raises(TypeError, match="dtype"):
        numeric_vjp(lambda z: z, np.array([1, 2]), np.ones(2))
    with pytest.raises(ValueError, match="h"):
        numeric_vjp(lambda z: z, np.ones(2), np.ones(2), h=0.0)
