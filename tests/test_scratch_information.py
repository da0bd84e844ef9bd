"""course_lib.scratch.information against PyTorch: log-sum-exp, softmax, entropy, KL, MLE."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.information import (
    bernoulli_log_likelihood,
    bernoulli_mle,
    binary_cross_entropy,
    cross_entropy,
    entropy,
    gaussian_mle,
    gaussian_nll,
    kl_divergence,
    log_softmax,
    logsumexp,
    softmax,
)

SHAPES = [(1,), (7,), (1, 1), (1, 5), (4, 3), (2, 3, 5), (3, 1, 4), (2, 3, 4, 5), (1, 2, 1, 3)]
RTOL = 1e-12


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def _close(got, want, rtol=RTOL, atol=1e-12):
    """allclose that also demands identical NaN/inf positions."""
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def _shape_axis_cases():
    for i, shape in enumerate(SHAPES):
        for axis in range(-len(shape), len(shape)):
            yield pytest.param(shape, axis, i, id=f"{shape}-axis{axis}")


def _logits(rng, shape, kind):
    x = rng.normal(size=shape)
    if kind == "extreme":           # ±1000: exp overflows / underflows in float64
        x = 1000.0 * np.sign(x) + rng.normal(size=shape)
    elif kind == "spread":          # huge spread within a slice
        x = x * 10.0 ** rng.integers(-3, 200, size=shape)
    return x


# ---------------------------------------------------------------- logsumexp / softmax ------

@pytest.mark.parametrize("kind", ["normal", "extreme", "spread"])
@pytest.mark.parametrize("shape,axis,i", list(_shape_axis_cases()))
def test_logsumexp_softmax_log_softmax_match_torch(shape, axis, i, kind):
    rng = np.random.default_rng([i, axis + 10, len(kind)])
    x = _logits(rng, shape, kind)
    for keepdims in (False, True):
        got = logsumexp(x, axis=axis, keepdims=keepdims)
        _close(got, torch.logsumexp(_t(x), dim=axis, keepdim=keepdims))
        assert np.all(np.isfinite(got))
    s, ls = softmax(x, axis=axis), log_softmax(x, axis=axis)
    _close(s, torch.softmax(_t(x), dim=axis))
    _close(ls, torch.log_softmax(_t(x), dim=axis))
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ls))
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)


def test_plus_minus_1000_where_naive_fails():
    x = np.array([[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        naive_lse = np.log(np.exp(x).sum(-1))
        naive_sm = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    assert np.isinf(naive_lse).all() and np.isnan(naive_sm).all()
    _close(logsumexp(x), torch.logsumexp(_t(x), -1))
    # The two rows are shifts of each other: the softmax is shift-invariant.
    s = softmax(x)
    _close(s, torch.softmax(_t(x), -1))
    np.testing.assert_allclose(s[0], s[1], rtol=1e-14)
    np.testing.assert_allclose(logsumexp(x), [1000.0, -1000.0] + np.log(1 + np.exp(-1) +
                                                                         np.exp(-2)), rtol=1e-15)


def test_infinities_follow_torch():
    inf = np.inf
    x = np.array([[-inf, 3.0, 2.0], [-inf, -inf, -inf], [inf, 1.0, 0.0], [1e308, -1e308, 0.0],
                  [-inf, -inf, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no RuntimeWarning shown to a learner either
        got_lse, got_s, got_ls = logsumexp(x), softmax(x), log_softmax(x)
    t = _t(x)
    _close(got_lse, torch.logsumexp(t, -1))
    _close(got_s, torch.softmax(t, -1))
    _close(got_ls, torch.log_softmax(t, -1))
    # Masked (-inf) entries get probability exactly 0; partially masked rows stay finite.
    assert got_s[0, 0] == 0.0 and got_s[4].tolist() == [0.0, 0.0, 1.0]
    assert np.isneginf(got_lse[1]) and np.isposinf(got_lse[2])
    assert np.isfinite(got_lse[[0, 3, 4]]).all()


def test_integer_and_float32_input():
    x = np.arange(12).reshape(3, 4)
    _close(logsumexp(x), torch.logsumexp(_t(x), -1))
    assert logsumexp(x).dtype == np.float64
    x32 = np.float32([[1000.0, -1000.0]])
    assert np.isfinite(softmax(x32)).all()


def test_logsumexp_gradient_is_softmax():
    from course_lib.scratch.gradcheck import numeric_gradient

    x = np.random.default_rng(3).normal(size=(3, 5))
    g = numeric_gradient(lambda z: logsumexp(z).sum(), x)
    np.testing.assert_allclose(g, softmax(x), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fn", [logsumexp, softmax, log_softmax])
def test_logits_bad_input(fn):
    with pytest.raises(ValueError, match="axis must be in"):
        fn(np.ones((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis must be an int"):
        fn(np.ones(3), axis=0.5)
    with pytest.raises(ValueError, match="at least one dimension"):
        fn(np.float64(3.0))
    with pytest.raises(TypeError, match="torch tensor"):
        fn(torch.ones(3))
    with pytest.raises(ValueError, match="must not be empty"):
        fn(np.ones((0,)))
    with pytest.raises(TypeError, match="array of numbers"):
        fn("logits")


# ---------------------------------------------------------------- entropy / CE / KL --------

def _probs(rng, shape, zeros=False):
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros and shape[-1] > 1:
        p = np.where(rng.random(shape) < 0.3, 0.0, p)
        p[..., 0] += 1e-3                              # keep every row non-empty
        p /= p.sum(-1, keepdims=True)
    return p


@pytest.mark.parametrize("zeros", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_entropy_kl_cross_entropy_match_torch(shape, zeros):
    rng = np.random.default_rng([len(shape), shape[-1], zeros])
    p = _probs(rng, shape, zeros)
    z = 3 * rng.normal(size=shape)                     # logits of the model
    q = softmax(z)                                     # strictly positive
    _close(entropy(p), torch.distributions.Categorical(probs=_t(p)).entropy())
    _close(kl_divergence(p, q), F.kl_div(_t(np.log(q)), _t(p), reduction="none").sum(-1))
    # F.cross_entropy takes logits with the classes in dimension 1: (N, K) or (N, K, d...).
    z2, p2 = z.reshape(-1, shape[-1]), p.reshape(-1, shape[-1])
    want = F.cross_entropy(_t(z2), _t(p2), reduction="none").numpy().reshape(shape[:-1])
    _close(cross_entropy(p, q), want, rtol=1e-11)
    assert np.shape(entropy(p)) == shape[:-1]


def test_cross_entropy_with_labels_is_torch_cross_entropy():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(6, 4)) * 5
    y = rng.integers(0, 4, size=6)
    one_hot = np.eye(4)[y]
    got = cross_entropy(one_hot, softmax(z)).mean()
    _close(got, F.cross_entropy(_t(z), torch.from_numpy(y)), rtol=1e-12)
    # and from log_softmax directly, the way a classifier computes it:
    _close(-log_softmax(z)[np.arange(6), y].mean(), F.cross_entropy(_t(z), torch.from_numpy(y)))
    assert np.all(entropy(one_hot) == 0.0)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_is_entropy_plus_kl(shape):
    rng = np.random.default_rng(shape[-1] * 10 + len(shape))
    p, q = _probs(rng, shape, zeros=True), _probs(rng, shape)
    residual = cross_entropy(p, q) - entropy(p) - kl_divergence(p, q)
    assert np.max(np.abs(residual)) < 1e-12
    kl_pq, kl_qp = kl_divergence(p, q), kl_divergence(q, p) if (p > 0).all() else None
    assert np.all(kl_pq >= 0)
    if kl_qp is not None:
        assert np.all(kl_qp >= 0)
    np.testing.assert_allclose(kl_divergence(p, p), 0.0, atol=1e-15)


def test_kl_is_asymmetric_and_handles_zeros():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    assert kl_divergence(p, q) == pytest.approx(np.log(2), rel=1e-15)
    assert np.isinf(kl_divergence(q, p))              # q puts mass where p has none
    a, b = np.array([0.9, 0.1]), np.array([0.5, 0.5])
    assert abs(kl_divergence(a, b) - kl_divergence(b, a)) > 0.05
    assert kl_divergence(a, b) > 0 and kl_divergence(b, a) > 0
    assert np.isinf(cross_entropy(p[::-1], p))        # log 0 where p_i > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert entropy(p) == pytest.approx(np.log(2))


def test_bases_and_known_values():
    assert entropy([0.5, 0.5], base=2) == pytest.approx(1.0, rel=1e-15)
    assert entropy(np.full(8, 1 / 8), base=2) == pytest.approx(3.0, rel=1e-15)
    assert entropy(np.full(10, 0.1), base=10) == pytest.approx(1.0, rel=1e-15)
    p, q = np.array([0.2, 0.8]), np.array([0.6, 0.4])
    assert kl_divergence(p, q, base=2) == pytest.approx(kl_divergence(p, q) / np.log(2))
    assert cross_entropy(p, q, base=2) == pytest.approx(cross_entropy(p, q) / np.log(2))
    # batch of one keeps its batch axis
    assert entropy(np.array([[0.25] * 4])).shape == (1,)


@pytest.mark.parametrize("fn", [entropy, lambda p, **k: kl_divergence(p, p, **k),
                                lambda p, **k: cross_entropy(p, p, **k)])
def test_distribution_bad_input(fn):
    with pytest.raises(ValueError, match="non-negative"):
        fn(np.array([1.2, -0.2]))
    with pytest.raises(ValueError, match=r"must sum to 1 .*1\.1"):
        fn(np.array([[0.5, 0.5], [0.6, 0.5]]))
    with pytest.raises(ValueError, match="NaN or inf"):
        fn(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="at least one dimension"):
        fn(np.float64(1.0))
    with pytest.raises(ValueError, match="base must be positive and not 1"):
        fn(np.array([0.5, 0.5]), base=1)
    with pytest.raises(ValueError, match="base must be finite and > 0"):
        fn(np.array([0.5, 0.5]), base=-2)
    with pytest.raises(TypeError, match="torch tensor"):
        fn(torch.tensor([0.5, 0.5]))
    fn(np.array([0.5, 0.5 + 1e-9]))                    # within the tolerance: accepted


def test_pair_shape_mismatch():
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        cross_entropy(np.full((2, 2), 0.5), [0.5, 0.5])


# ---------------------------------------------------------------- maximum likelihood -------

def test_bernoulli_mle_is_the_argmax_of_the_log_likelihood():
    rng = np.random.default_rng(0)
    x = (rng.random(137) < 0.3).astype(int)
    theta_hat = bernoulli_mle(x)
    assert theta_hat == x.sum() / x.size
    grid = np.linspace(0, 1, 100_001)
    ll = bernoulli_log_likelihood(grid, x)
    assert abs(grid[np.argmax(ll)] - theta_hat) <= 1e-5
    # the same log-likelihood from torch's Bernoulli distribution
    want = torch.distributions.Bernoulli(probs=torch.tensor(0.37, dtype=torch.float64)) \
        .log_prob(_t(x)).sum()
    _close(bernoulli_log_likelihood(0.37, x), want)
    # edges: all heads is maximised at θ = 1, where the likelihood is 1
    assert bernoulli_log_likelihood(1.0, np.ones(5)) == 0.0
    assert np.isneginf(bernoulli_log_likelihood(0.0, np.ones(5)))
    assert bernoulli_mle(np.array([True, False, True, True])) == 0.75


def test_binary_cross_entropy_matches_torch_and_is_bernoulli_nll():
    rng = np.random.default_rng(1)
    for shape in [(1,), (9,), (3, 4), (2, 2, 3)]:
        p = rng.uniform(0.01, 0.99, size=shape)
        y = (rng.random(shape) < 0.5).astype(float)
        _close(binary_cross_entropy(p, y), F.binary_cross_entropy(_t(p), _t(y)))
    # θ constant: the mean log loss is -log L(θ) / n
    x = (rng.random(50) < 0.6).astype(float)
    assert binary_cross_entropy(np.full(50, 0.4), x) == pytest.approx(
        -bernoulli_log_likelihood(0.4, x) / 50, rel=1e-13)
    # torch clamps each log at -100; so do we
    _close(binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 1.0])),
           F.binary_cross_entropy(_t([0.0, 1.0]), _t([1.0, 1.0])))


def test_gaussian_mle_and_nll_match_torch():
    rng = np.random.default_rng(2)
    for n in (1, 2, 17, 1000):
        x = rng.normal(3.0, 2.0, size=n)
        mu, s2 = gaussian_mle(x)
        assert mu == pytest.approx(x.mean(), rel=1e-14)
        assert s2 == pytest.approx(np.var(x), rel=1e-12, abs=1e-300)
        tx = _t(x)
        assert s2 == pytest.approx(tx.var(unbiased=False).item(), rel=1e-12, abs=1e-300)
    x = rng.normal(size=(4, 5))
    mu = rng.normal(size=(4, 5))
    var = rng.uniform(0.5, 2.0, size=(4, 5))
    for red in ("mean", "sum", "none"):
        _close(gaussian_nll(x, mu, var, reduction=red),
               F.gaussian_nll_loss(_t(mu), _t(x), _t(var), full=True, reduction=red))
    # scalar variance broadcasts; the log-likelihood of a Normal from torch agrees
    want = -torch.distributions.Normal(_t(mu), 1.5 ** 0.5).log_prob(_t(x)).mean()
    _close(gaussian_nll(x, mu, 1.5), want)


def test_gaussian_nll_is_mse_up_to_constants():
    rng = np.random.default_rng(4)
    x = rng.normal(size=20)
    m1, m2 = rng.normal(size=20), rng.normal(size=20)
    s2 = 0.7
    d_nll = gaussian_nll(x, m1, s2) - gaussian_nll(x, m2, s2)
    d_mse = np.mean((x - m1) ** 2) - np.mean((x - m2) ** 2)
    assert d_nll == pytest.approx(d_mse / (2 * s2), rel=1e-12)


def test_mle_bad_input():
    with pytest.raises(ValueError, match="0/1 outcomes, got a value 0.5"):
        bernoulli_mle([0, 0.5, 1])
    with pytest.raises(ValueError, match=r"theta must lie in \[0, 1\]"):
        bernoulli_log_likelihood(1.5, [0, 1])
    with pytest.raises(ValueError, match="same shape"):
        binary_cross_entropy(np.full(3, 0.5), np.ones(2))
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        binary_cross_entropy(np.array([1.5]), np.ones(1))
    with pytest.raises(ValueError, match="sigma2 must be > 0"):
        gaussian_nll(np.zeros(3), 0.0, 0.0)
    with pytest.raises(ValueError, match="broadcast together"):
        gaussian_nll(np.zeros(3), np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="reduction must be"):
        gaussian_nll(np.zeros(3), 0.0, 1.0, reduction="avg")
    with pytest.raises(ValueError, match="NaN or inf"):
        gaussian_mle([1.0, np.inf])
    with pytest.raises(ValueError, match="must not be empty"):
        gaussian_mle([])
