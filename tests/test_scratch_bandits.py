"""course_lib.scratch.bandits: testbeds have the right distributions; UCB scores equal the
formula and ucb1_choice tries every arm once in index order; the vectorised UCB1 run equals
repeated ucb1_choice on every run; ε-greedy with ε = 1 is uniform and with ε = 0 is greedy;
Thompson posteriors behave; regret is the cumulative gap; seeds reproduce; and the headline
claims of the notebook (logarithmic regret of UCB1 and Thompson, both beat ε-greedy on the
10-armed Gaussian testbed). Bad inputs give clear errors."""

import math

import numpy as np
import pytest

from course_lib.scratch.bandits import (
    METHODS,
    BanditRun,
    make_testbed,
    run_bandit,
    ucb1_choice,
    ucb_scores,
)

# ---------------------------------------------------------------------------------------------
# Testbeds
# ---------------------------------------------------------------------------------------------


def test_make_testbed_shapes_and_distributions():
    g = make_testbed(2000, 10, rng=0)
    assert g.shape == (2000, 10) and g.dtype == np.float64
    assert abs(g.mean()) < 0.03 and abs(g.std() - 1) < 0.03
    b = make_testbed(2000, 5, "bernoulli", rng=np.random.default_rng(0))
    assert b.shape == (2000, 5) and b.min() >= 0 and b.max() <= 1
    assert abs(b.mean() - 0.5) < 0.02 and abs(b.var() - 1 / 12) < 0.005
    assert make_testbed(1, 1, rng=3).shape == (1, 1)
    np.testing.assert_array_equal(make_testbed(3, 4, rng=7), make_testbed(3, 4, rng=7))


# ---------------------------------------------------------------------------------------------
# UCB scores and the single-run choice
# ---------------------------------------------------------------------------------------------


def test_ucb_scores_formula_on_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(50):
        K = int(rng.integers(1, 8))
        counts = rng.integers(0, 5, size=K)
        values = rng.normal(size=K)
        t = int(counts.sum()) + 1
        c = float(rng.uniform(0, 3))
        s = ucb_scores(counts, values, t, c)
        assert s.shape == (K,) and s.dtype == np.float64
        for a in range(K):
            if counts[a] == 0:
                assert s[a] == np.inf
            else:
                assert s[a] == pytest.approx(values[a] + c * math.sqrt(math.log(t) / counts[a]))
    # default c is sqrt(2) (UCB1); t = 1 gives no bonus
    assert ucb_scores([4], [0.25], 9)[0] == pytest.approx(0.25 + math.sqrt(2 * math.log(9) / 4))
    assert ucb_scores([2, 3], [0.5, 0.1], 1).tolist() == [0.5, 0.1]


def test_ucb1_choice_is_argmax_with_ties_to_lowest_index():
    assert ucb1_choice([3, 0, 2, 0], [0.5, 0.0, 0.7, 0.0], t=6) == 1     # untried, lowest
    assert ucb1_choice([2, 2], [0.3, 0.3], t=5) == 0                      # exact tie
    assert ucb1_choice([1, 100], [0.0, 0.1], t=102) == 0                  # bonus wins
    assert ucb1_choice([1, 100], [0.0, 0.1], t=102, c=0) == 1             # c = 0: greedy
    assert isinstance(ucb1_choice(np.array([1]), np.array([0.0]), t=2), int)
    rng = np.random.default_rng(1)
    for _ in range(50):
        K = int(rng.integers(1, 7))
        counts = rng.integers(1, 6, size=K)
        values = rng.normal(size=K)
        t = int(counts.sum()) + 1
        s = ucb_scores(counts, values, t)
        assert ucb1_choice(counts, values, t) == int(np.flatnonzero(s == s.max())[0])


def test_ucb1_tries_each_arm_once_first():
    rng = np.random.default_rng(2)
    for K in (1, 2, 5, 10):
        counts, sums = np.zeros(K, dtype=int), np.zeros(K)
        pulled = []
        for t in range(1, K + 1):
            values = np.divide(sums, counts, out=np.zeros(K), where=counts > 0)
            a = ucb1_choice(counts, values, t)
            pulled.append(a)
            counts[a] += 1
            sums[a] += rng.normal()
        assert pulled == list(range(K))
        out = run_bandit("ucb1", rng.normal(size=(4, K)), K, rng=0)
        np.testing.assert_array_equal(out.actions, np.tile(np.arange(K), (4, 1)))


def test_vectorised_ucb1_equals_repeated_ucb1_choice():
    means = make_testbed(5, 4, rng=3)
    out = run_bandit("ucb1", means, 60, rng=4, c=1.3)
    for r in range(5):
        counts, sums = np.zeros(4, dtype=int), np.zeros(4)
        for t in range(1, 61):
            values = np.divide(sums, counts, out=np.zeros(4), where=counts > 0)
            a = ucb1_choice(counts, values, t, c=1.3)
            assert a == out.actions[r, t - 1], (r, t)
            counts[a] += 1
            sums[a] += out.rewards[r, t - 1]


# ---------------------------------------------------------------------------------------------
# ε-greedy and Thompson sampling
# ---------------------------------------------------------------------------------------------


def test_epsilon_one_picks_arms_uniformly():
    K, R, T = 6, 50, 400
    out = run_bandit("epsilon_greedy", make_testbed(R, K, rng=0), T, rng=1, epsilon=1.0)
    freq = np.bincount(out.actions.ravel(), minlength=K)
    expected = R * T / K
    chi2 = ((freq - expected) ** 2 / expected).sum()
    assert chi2 < 25.7          # 99.99th percentile of chi-square with 5 degrees of freedom


def test_epsilon_zero_is_greedy():
    rng = np.random.default_rng(5)
    for kind in ("gaussian", "bernoulli"):
        means = make_testbed(7, 5, kind, rng=rng)
        out = run_bandit("epsilon_greedy", means, 80, kind=kind, rng=6, epsilon=0.0)
        for r in range(7):
            counts, sums = np.zeros(5), np.zeros(5)
            for t in range(80):
                q = np.divide(sums, counts, out=np.zeros(5), where=counts > 0)
                a = out.actions[r, t]
                assert q[a] == q.max()          # a greedy pull (ties broken at random)
                counts[a] += 1
                sums[a] += out.rewards[r, t]
    # the first greedy pull (all estimates 0) is spread over the arms, not always arm 0
    first = run_bandit("epsilon_greedy", np.zeros((400, 4)), 1, rng=0, epsilon=0).actions
    assert set(np.unique(first)) == {0, 1, 2, 3}


def test_thompson_concentrates_and_respects_rewards():
    # a clear best arm is found by both posteriors; Bernoulli rewards are 0/1
    means = np.tile([0.1, 0.9, 0.5], (20, 1))
    out = run_bandit("thompson", means, 300, kind="bernoulli", rng=0)
    assert set(np.unique(out.rewards)) <= {0.0, 1.0}
    assert out.optimal[:, -100:].mean() > 0.9
    out = run_bandit("thompson", np.tile([0.0, 2.0, -1.0], (20, 1)), 300, rng=0)
    assert out.optimal[:, -100:].mean() > 0.95
    # a strong wrong prior is overcome; custom priors are accepted
    out = run_bandit("thompson", means, 300, kind="bernoulli", rng=0, prior=(2.0, 5.0))
    assert out.optimal[:, -100:].mean() > 0.9
    out = run_bandit("thompson", np.tile([0.0, 2.0], (20, 1)), 300, rng=0, prior=(1.0, 0.5))
    assert out.optimal[:, -100:].mean() > 0.95


def test_bernoulli_rewards_have_the_arm_means():
    means = np.array([[0.2, 0.7]])
    out = run_bandit("epsilon_greedy", np.repeat(means, 200, 0), 200, kind="bernoulli",
                     rng=0, epsilon=1.0)
    for a in range(2):
        assert out.rewards[out.actions == a].mean() == pytest.approx(means[0, a], abs=0.02)


# ---------------------------------------------------------------------------------------------
# Regret, optimal flags, reproducibility, edge cases
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["gaussian", "bernoulli"])
def test_regret_is_cumulative_gap_and_non_decreasing(method, kind):
    rng = np.random.default_rng([METHODS.index(method), len(kind)])
    R, K, T = int(rng.integers(1, 6)), int(rng.integers(1, 7)), int(rng.integers(1, 60))
    means = make_testbed(R, K, kind, rng=rng)
    means[:, -1] = means[:, 0]                                   # ties for the best arm
    out = run_bandit(method, means, T, kind=kind, rng=rng)
    assert isinstance(out, BanditRun)
    for x, dt in ((out.rewards, np.float64), (out.actions, np.int64), (out.regret, np.float64),
                  (out.optimal, np.bool_)):
        assert x.shape == (R, T) and x.dtype == dt
    assert out.actions.min() >= 0 and out.actions.max() < K
    for r in range(R):
        gap = [means[r].max() - means[r, a] for a in out.actions[r]]
        np.testing.assert_allclose(out.regret[r], np.cumsum(gap), atol=1e-12)
        assert out.optimal[r].tolist() == [means[r, a] == means[r].max()
                                           for a in out.actions[r]]
    assert np.all(np.diff(out.regret, axis=1) >= 0) and np.all(out.regret >= 0)
    # with one arm there is nothing to learn: zero regret, always optimal
    one = run_bandit(method, means[:, :1], T, kind=kind, rng=0)
    assert np.all(one.regret == 0) and one.optimal.all() and np.all(one.actions == 0)


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_run(method):
    means = make_testbed(4, 5, rng=0)
    a = run_bandit(method, means, 50, rng=11)
    b = run_bandit(method, means, 50, rng=np.random.default_rng(11))
    c = run_bandit(method, means, 50, rng=12)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    assert not np.array_equal(a.rewards, c.rewards)
    single = run_bandit(method, means[0], 50, rng=11)            # (K,) means = one run
    assert single.actions.shape == (1, 50)


# ---------------------------------------------------------------------------------------------
# The headline claims of the notebook
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gaussian_testbed_runs():
    means = make_testbed(200, 10, rng=2024)
    return {m: run_bandit(m, means, 10_000, rng=7).regret.mean(axis=0) for m in METHODS}


def test_ucb1_and_thompson_regret_is_sublinear(gaussian_testbed_runs):
    for m in ("ucb1", "thompson"):
        reg = gaussian_testbed_runs[m]
        per_step_1k, per_step_10k = reg[999] / 1_000, reg[-1] / 10_000
        assert per_step_1k / per_step_10k > 2, m                # measured ~6x
    eg = gaussian_testbed_runs["epsilon_greedy"]
    assert (eg[999] / 1_000) / (eg[-1] / 10_000) < 2             # linear: ~1.3x


def test_ucb1_and_thompson_beat_epsilon_greedy(gaussian_testbed_runs):
    eg = gaussian_testbed_runs["epsilon_greedy"][-1]
    for m in ("ucb1", "thompson"):
        assert gaussian_testbed_runs[m][-1] < eg / 3, m         # measured ~10x lower


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_errors_are_clear():
    with pytest.raises(ValueError, match="kind must be one of"):
        make_testbed(3, 4, "poisson", rng=0)
    with pytest.raises(ValueError, match=r"n_arms must be in \[1, inf\]"):
        make_testbed(3, 0, rng=0)
    with pytest.raises(TypeError, match="rng must be an int"):
        make_testbed(3, 4, rng="seed")
    with pytest.raises(ValueError, match="counts must be >= 0"):
        ucb_scores([1, -1], [0.0, 0.0], 3)
    with pytest.raises(TypeError, match="counts must hold whole numbers"):
        ucb1_choice([1.5, 1.0], [0.0, 0.0], 3)
    with pytest.raises(ValueError, match="values must have the shape of counts"):
        ucb1_choice([1, 1], [0.0, 0.0, 0.0], 3)
    with pytest.raises(ValueError, match=r"t must be in \[1, inf\], got 0"):
        ucb_scores([1, 1], [0.0, 0.0], 0)
    with pytest.raises(ValueError, match="c must be finite and >= 0"):
        ucb1_choice([1, 1], [0.0, 0.0], 3, c=-1)
    with pytest.raises(ValueError, match="counts must be a 1-D array"):
        ucb1_choice([[1, 1]], [[0.0, 0.0]], 3)
    means = make_testbed(2, 3, rng=0)
    with pytest.raises(ValueError, match="method must be one of"):
        run_bandit("softmax", means, 10, rng=0)
    with pytest.raises(ValueError, match="Bernoulli means must be probabilities"):
        run_bandit("thompson", means, 10, kind="bernoulli", rng=0)
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        run_bandit("epsilon_greedy", means, 10, rng=0, epsilon=1.5)
    with pytest.raises(ValueError, match=r"steps must be in \[1, inf\]"):
        run_bandit("ucb1", means, 0, rng=0)
    with pytest.raises(ValueError, match="means must be a 1-D or 2-D array"):
        run_bandit("ucb1", means[None], 10, rng=0)
    with pytest.raises(ValueError, match="means contains NaN"):
        run_bandit("ucb1", np.array([[0.0, np.nan]]), 10, rng=0)
    with pytest.raises(TypeError, match="prior must be None or a pair"):
        run_bandit("thompson", means, 10, rng=0, prior=1.0)
    with pytest.raises(ValueError, match="prior variance must be finite and > 0"):
        run_bandit("thompson", means, 10, rng=0, prior=(0.0, 0.0))
    with pytest.raises(TypeError, match="numpy Generator|rng must be an int"):
        run_bandit("thompson", means, 10, rng=None)
