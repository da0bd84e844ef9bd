"""course_lib.scratch.losses: every margin loss against PyTorch / scikit-learn, the bounds and
shapes the chapter-06 gallery relies on, numerical stability and bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import hinge_loss, zero_one_loss

from course_lib.scratch import losses as Lo
from course_lib.scratch import mlp


def _data(seed, shape=(50,), scale=3.0):
    rng = np.random.default_rng(seed)
    y = rng.choice([-1, 1], size=shape)
    f = scale * rng.normal(size=shape)
    return y, f


def _t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


SHAPES = [(1,), (7,), (3, 4), (2, 3, 5)]


@pytest.mark.parametrize("shape", SHAPES)
def test_margin(shape):
    y, f = _data(0, shape)
    np.testing.assert_array_equal(Lo.margin(y, f), y * f)


@pytest.mark.parametrize("shape", SHAPES)
def test_regression_losses_match_torch(shape):
    y, f = _data(1, shape)
    m = Lo.margin(y, f)
    # For y = ±1: (1 - m)² = (y - f)² and |1 - m| = |y - f|, torch's mse and l1 losses.
    np.testing.assert_allclose(Lo.square(m), F.mse_loss(_t(f), _t(y), reduction="none"),
                               rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(Lo.absolute(m), F.l1_loss(_t(f), _t(y), reduction="none"),
                               rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES)
def test_logistic_family_matches_torch(shape):
    y, f = _data(2, shape, scale=10.0)
    m = Lo.margin(y, f)
    t = (1 + y) / 2                                                       # labels in {0, 1}
    softplus = F.softplus(_t(-m)).numpy()                 # ln(1 + e^-m) with log1p: accurate
    np.testing.assert_allclose(Lo.log(m), softplus, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(Lo.cross_entropy_bits(m), softplus / np.log(2), rtol=1e-14,
                               atol=1e-300)
    # The log loss *is* binary cross-entropy on labels (1 + y)/2. Torch's BCE-with-logits
    # forms ln(1 + e^-m) without log1p, so its small values (m ≫ 1) carry an absolute error
    # of ~1e-16 rather than a relative one: compared with an absolute tolerance.
    bce = F.binary_cross_entropy_with_logits(_t(f), _t(t), reduction="none").numpy()
    np.testing.assert_allclose(Lo.log(m), bce, rtol=1e-14, atol=2e-15)
    np.testing.assert_allclose(Lo.exponential(m), torch.exp(-_t(y) * _t(f)).numpy(),
                               rtol=1e-14)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_focal_matches_its_definition_in_torch(gamma):
    """Focal loss from probabilities (Lin et al. 2017, eq. 4), computed independently."""
    y, f = _data(3, (40,), scale=4.0)
    p = torch.sigmoid(_t(f))
    p_t = torch.where(_t(y) > 0, p, 1 - p)
    want = (-(1 - p_t) ** gamma * torch.log(p_t)).numpy()
    np.testing.assert_allclose(Lo.focal(Lo.margin(y, f), gamma), want, rtol=1e-10, atol=1e-300)
    if gamma == 0.0:
        np.testing.assert_allclose(Lo.focal(y * f, 0.0), Lo.log(y * f), rtol=1e-15)


def test_hinge_and_zero_one_match_sklearn():
    y, f = _data(4, (200,))
    assert abs(np.mean(Lo.hinge(y * f)) - hinge_loss(y, f)) < 1e-14
    assert np.mean(Lo.zero_one(y * f)) == zero_one_loss(y, np.sign(f))
    np.testing.assert_array_equal(Lo.zero_one(np.array([-1.0, 0.0, 1e-300, 2.0])),
                                  [1.0, 1.0, 0.0, 0.0])         # a point on the boundary counts


def test_perceptron_loss_subgradient_is_the_perceptron_rule():
    """−∂/∂(w, b) of max(0, −y(w·x + b)) is y·(x, 1) on a mistake: the perceptron update."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        w, b, x = rng.normal(size=3), float(rng.normal()), rng.normal(size=3)
        y = int(rng.choice([-1, 1]))
        wt = _t(w).requires_grad_(True)
        bt = _t(b).requires_grad_(True)
        loss = torch.relu(-y * (wt @ _t(x) + bt))
        m = y * (w @ x + b)
        assert abs(loss.item() - Lo.perceptron(np.array(m))) < 1e-15
        loss.backward()
        w_new, b_new = mlp.perceptron_update(w, b, x, y)
        if m < 0:
            np.testing.assert_allclose(w_new, w - wt.grad.numpy(), rtol=1e-15)
            assert abs(b_new - (b - bt.grad.item())) < 1e-15
        else:
            np.testing.assert_array_equal(wt.grad.numpy(), 0.0)
    m = np.linspace(-3, 3, 61)
    np.testing.assert_array_equal(Lo.perceptron(m), Lo.hinge(m + 1))    # hinge shifted by 1


def test_surrogates_bound_the_zero_one_loss():
    m = np.linspace(-5, 5, 2001)
    zo = Lo.zero_one(m)
    for fn in (Lo.hinge, Lo.exponential, Lo.square, Lo.absolute, Lo.cross_entropy_bits):
        assert np.all(fn(m) >= zo), fn.__name__
    assert Lo.log(np.array(0.0)) < 1.0 and Lo.perceptron(np.array(0.0)) == 0.0   # not bounds
    assert abs(Lo.cross_entropy_bits(np.array(0.0)) - 1.0) < 1e-15                  # through (0, 1)
    assert np.all(Lo.focal(m) <= Lo.log(m))             # γ = 2: focal = σ(−m)² · log loss
    assert np.all(Lo.focal(m[m > 3]) < 0.0025 * Lo.log(m[m > 3]))  # easy examples: ÷ 400+
    assert np.all(Lo.focal(m[m < -3]) > 0.9 * Lo.log(m[m < -3]))   # hard ones barely change


def test_convex_losses_are_convex_and_focal_is_not():
    m = np.linspace(-4, 4, 801)
    for fn in (Lo.absolute, Lo.square, Lo.log, Lo.exponential, Lo.hinge, Lo.perceptron,
               Lo.cross_entropy_bits):
        second = fn(m[2:]) - 2 * fn(m[1:-1]) + fn(m[:-2])
        assert np.all(second >= -1e-12), fn.__name__
    second = Lo.focal(m[2:]) - 2 * Lo.focal(m[1:-1]) + Lo.focal(m[:-2])
    assert np.any(second < -1e-9)


def test_extreme_margins_are_finite_without_warnings():
    m = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name, fn in Lo.MARGIN_LOSSES.items():
            if name != "exponential":                             # e^800 overflows, as it should
                v = fn(m)
                assert np.all(np.isfinite(v)) and np.all(v >= 0), name
    np.testing.assert_allclose(Lo.log(m), [800.0, 40.0, np.log(2), np.exp(-40.0), 0.0],
                               rtol=1e-14, atol=1e-300)
    assert Lo.focal(np.array(800.0)) == 0.0 and Lo.focal(np.array(-800.0)) == 800.0


def test_gallery_lists_every_loss_once():
    assert list(Lo.MARGIN_LOSSES.values()) == [Lo.zero_one, Lo.absolute, Lo.square, Lo.log,
                                               Lo.exponential, Lo.hinge, Lo.perceptron,
                                               Lo.cross_entropy_bits, Lo.focal]
    for fn in Lo.MARGIN_LOSSES.values():
        out = fn(np.zeros((2, 3)))
        assert out.shape == (2, 3) and out.dtype == np.float64
        assert fn(np.array([], dtype=np.float64)).shape == (0,)
        assert fn(np.array([1, -2])).dtype == np.float64          # integer margins accepted


def test_bad_input():
    with pytest.raises(TypeError, match="m"):
        Lo.hinge("abc")
    with pytest.raises(TypeError, match="torch"):
        Lo.log(torch.zeros(3))
    with pytest.raises(ValueError, match="-1 or \\+1"):
        Lo.margin(np.array([0, 1]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="same shape"):
        Lo.margin(np.array([1, -1]), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="gamma"):
        Lo.focal(np.zeros(3), gamma=-1.0)
