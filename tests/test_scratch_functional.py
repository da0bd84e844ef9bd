"""course_lib.scratch.functional against torch (float64): random shapes and axes, extreme and
infinite inputs, 0-d and 1-d inputs, the re-exports of chapters 03, 05, 06 and 10, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch import elm, information, logistic, text
from course_lib.scratch.functional import (
    log_sigmoid,
    log_softmax,
    logsumexp,
    one_hot,
    sigmoid,
    softmax,
)

SHAPES = [(1,), (7,), (3, 5), (2, 3, 4), (1, 1, 6)]
EXTREME = np.array([-1000.0, -745.5, -40.0, -1e-300, 0.0, 1e-300, 40.0, 709.9, 1000.0])


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def _close(ours, ref, rtol=1e-13, atol=1e-300):
    """Relative agreement; ``atol`` only covers subnormal results (or, for the log-softmax, the
    rounding of x − logsumexp(x), which is absolute: a few ulps of max |x|)."""
    ref = ref.numpy() if isinstance(ref, torch.Tensor) else ref
    assert ours.dtype == np.float64 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, equal_nan=True)


# ------------------------------------------------------------------------------- elementwise

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 30.0, 800.0])
def test_sigmoid_and_log_sigmoid_match_torch(shape, scale):
    z = np.random.default_rng(len(shape)).normal(size=shape) * scale
    _close(sigmoid(z), torch.sigmoid(_t(z)))
    _close(log_sigmoid(z), F.logsigmoid(_t(z)))


def test_extreme_logits_stay_finite_and_exact():
    s, ls = sigmoid(EXTREME), log_sigmoid(EXTREME)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ls))
    assert 0.0 <= s[0] < 1e-300 and s[-1] == 1.0 and ls[-1] == 0.0
    assert ls[0] == -1000.0                                  # log σ(z) = z far to the left
    _close(s, torch.sigmoid(_t(EXTREME)))
    _close(ls, F.logsigmoid(_t(EXTREME)))
    # the naive forms fail here: exp(1000) overflows
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(np.exp(1000.0) / (1 + np.exp(1000.0)))


def test_sigmoid_infinities_scalars_and_ints():
    np.testing.assert_array_equal(sigmoid(np.array([-np.inf, np.inf])), [0.0, 1.0])
    assert np.isnan(sigmoid(np.array([np.nan])))[0]
    out = sigmoid(0)
    assert out.shape == () and out.dtype == np.float64 and out == 0.5
    assert log_sigmoid(np.int64(0)) == pytest.approx(-np.log(2.0), rel=1e-15)
    assert sigmoid(np.zeros((0, 3))).shape == (0, 3)
    x32 = np.array([0.5], dtype=np.float32)
    assert sigmoid(x32).dtype == np.float64                  # always float64
    np.testing.assert_allclose(sigmoid(-EXTREME), 1.0 - sigmoid(EXTREME), atol=1e-16)


def test_log_sigmoid_is_minus_softplus_of_minus_z():
    z = np.linspace(-50, 50, 101)
    np.testing.assert_allclose(log_sigmoid(z), -np.logaddexp(0.0, -z), rtol=1e-14, atol=0)
    np.testing.assert_allclose(log_sigmoid(z) - log_sigmoid(-z), z, rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------------------- along an axis

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 100.0, 1000.0])
def test_axis_functions_match_torch_on_every_axis(shape, scale):
    x = np.random.default_rng(sum(shape)).normal(size=shape) * scale
    for axis in range(-len(shape), len(shape)):
        _close(softmax(x, axis=axis), torch.softmax(_t(x), dim=axis))
        _close(log_softmax(x, axis=axis), torch.log_softmax(_t(x), dim=axis), rtol=1e-12,
               atol=8 * np.finfo(float).eps * np.abs(x).max())
        _close(logsumexp(x, axis=axis), torch.logsumexp(_t(x), dim=axis))
        _close(logsumexp(x, axis=axis, keepdims=True),
               torch.logsumexp(_t(x), dim=axis, keepdim=True))


def test_default_axis_is_the_last():
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_array_equal(softmax(x), softmax(x, axis=1))
    np.testing.assert_array_equal(log_softmax(x), log_softmax(x, axis=-1))
    np.testing.assert_array_equal(logsumexp(x), logsumexp(x, axis=1))


def test_extreme_and_infinite_entries_match_torch():
    inf = np.inf
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [-inf, 3.0, 2.0],
                  [-inf, -inf, -inf], [inf, 1.0, 0.0], [1e308, -1e308, 0.0],
                  [np.nan, 0.0, 1.0]])
    with np.errstate(all="raise", under="ignore"):   # no warning escapes from our code
        ours = softmax(x), log_softmax(x), logsumexp(x)
    refs = torch.softmax(_t(x), -1), torch.log_softmax(_t(x), -1), torch.logsumexp(_t(x), -1)
    for got, ref in zip(ours, refs, strict=True):
        _close(got, ref, rtol=1e-12, atol=8 * np.finfo(float).eps)
    assert softmax(x)[0].tolist() == [1.0, 0.0, 0.0]
    assert softmax(x)[2, 0] == 0.0                   # -inf masks an entry
    assert logsumexp(x)[3] == -inf and logsumexp(x)[4] == inf


def test_one_dimensional_inputs_and_ints():
    x = np.array([1, 2, 3])
    p = softmax(x)
    assert p.dtype == np.float64 and p.sum() == pytest.approx(1.0, rel=1e-15)
    assert logsumexp(x).shape == ()
    _close(logsumexp(x), torch.logsumexp(_t(x), 0))
    _close(log_softmax([0.0]), np.zeros(1))


def test_softmax_is_shift_invariant_and_consistent():
    x = np.random.default_rng(2).normal(size=(5, 4))
    np.testing.assert_allclose(softmax(x + 1e4), softmax(x), rtol=1e-9)
    np.testing.assert_allclose(np.exp(log_softmax(x)), softmax(x), rtol=1e-14)
    np.testing.assert_allclose(log_softmax(x), x - logsumexp(x, keepdims=True), rtol=0,
                               atol=0)


# ------------------------------------------------------------------------------- one-hot

@pytest.mark.parametrize("shape, k", [((1,), 1), ((5,), 7), ((2, 3), 4), ((1, 1, 6), 6)])
def test_one_hot_matches_torch(shape, k):
    y = np.random.default_rng(k).integers(0, k, size=shape)
    out = one_hot(y, k)
    assert out.shape == shape + (k,) and out.dtype == np.float64
    np.testing.assert_array_equal(out, F.one_hot(torch.as_tensor(y), k).numpy())
    assert one_hot(y.astype(np.uint8), k, dtype=np.float32).dtype == np.float32


# ------------------------------------------------------------------------------- re-exports

def test_chapter_modules_reexport_the_same_functions():
    assert logistic.sigmoid is sigmoid and logistic.log_sigmoid is log_sigmoid
    assert information.softmax is softmax and information.log_softmax is log_softmax
    assert information.logsumexp is logsumexp
    assert text.one_hot is one_hot and elm.one_hot is one_hot


# ------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call, exc, words", [
    (lambda: sigmoid("z"), TypeError, "sigmoid: z must be an array of numbers, got str"),
    (lambda: sigmoid(np.array([True])), TypeError, "numeric dtype"),
    (lambda: sigmoid(torch.ones(2)), TypeError, "torch tensor"),
    (lambda: log_sigmoid(np.array([0.0, np.inf])), ValueError, "log_sigmoid: z contains NaN"),
    (lambda: softmax(np.float64(1.0)), ValueError,
     "softmax: x must have at least one dimension, got a scalar"),
    (lambda: log_softmax(np.ones((2, 3)), axis=2), ValueError,
     r"log_softmax: axis must be in \[-2, 1\], got 2"),
    (lambda: logsumexp(np.ones(3), axis=0.0), TypeError, "axis must be an int"),
    (lambda: logsumexp(np.ones((2, 0))), ValueError, "must not be empty"),
    (lambda: softmax(None), TypeError, "got NoneType"),
    (lambda: one_hot(np.array([0, 3]), 3), ValueError,
     r"one_hot: labels must hold class labels in \[0, 2\], got values in \[0, 3\]"),
    (lambda: one_hot(np.array([-1]), 3), ValueError, r"in \[0, 2\]"),
    (lambda: one_hot(np.array([0.0, 1.0]), 3), TypeError, "integer class labels"),
    (lambda: one_hot(np.array([0]), 0), ValueError, r"n_classes must be in \[1, inf\]"),
    (lambda: one_hot(np.array([], dtype=int), 3), ValueError, "must not be empty"),
])
def test_bad_input_is_explained(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
