"""Multi-armed bandits (多臂老虎机) from scratch (NumPy only): ε-greedy, UCB1, Thompson sampling.

**The problem.** A bandit has K arms. Pulling arm a at step t pays a random reward R_t whose
mean μ_a is unknown. The agent wants a large total reward, so it must *explore* (pull arms to
learn their means) and *exploit* (pull the arm that looks best). The best mean is
μ* = max_a μ_a, the gap of arm a is Δ_a = μ* − μ_a, and the (cumulative pseudo-)regret after T
steps is the reward lost in expectation by not always pulling a best arm::

    regret(T) = Σ_{t=1..T} (μ* − μ_{A_t}) = Σ_a Δ_a · N_T(a)        (N_T(a): pulls of a)

A good algorithm has regret(T) growing like log T, so regret(T) / T → 0; an algorithm that
explores at a fixed rate (ε-greedy) has regret linear in T.

**Testbeds.** ``make_testbed`` draws one bandit per run, as the 10-armed testbed of Sutton &
Barto (2018, "Reinforcement learning: an introduction", 2nd ed., section 2.3): Gaussian arms
with q*(a) ~ N(0, 1) and rewards R ~ N(q*(a), 1); or Bernoulli arms with p_a ~ U(0, 1) and
rewards in {0, 1}.

**ε-greedy** (S&B section 2.2-2.4). Keep the sample average of each arm's rewards::

    Q(a) = (sum of rewards of a) / N(a)          (0 while N(a) = 0)

With probability ε pull an arm uniformly at random, otherwise pull argmax_a Q(a); ties among
the maximal estimates are broken uniformly at random (so at the start, when every Q(a) = 0,
the greedy pull is a random arm, as in S&B).

**UCB1** (Auer, Cesa-Bianchi & Fischer 2002, "Finite-time analysis of the multiarmed bandit
problem", Machine Learning 47). Pull the arm with the highest optimistic score::

    U_t(a) = Q(a) + c · sqrt(ln t / N(a)),      U_t(a) = +inf when N(a) = 0

Here t is the 1-based index of the step being decided, i.e. (number of pulls so far) + 1,
as in S&B's equation (2.10). Ties go to the lowest index, so untried arms are tried once each
in index order first. c = sqrt(2) is UCB1 of Auer et al., proven for rewards in [0, 1]; the
same bonus is the standard one for 1-sub-Gaussian rewards (Lattimore & Szepesvári 2020,
"Bandit algorithms", chapter 7), which covers the unit-variance Gaussian testbed.

**Thompson sampling** (Thompson 1933, Biometrika 25; Agrawal & Goyal 2012, COLT; Russo et al.
2018, "A tutorial on Thompson sampling"). Keep a posterior over each arm's mean, draw one
sample θ_a per arm from it and pull argmax_a θ_a: an arm is pulled with the probability that
it is the best one. Conjugate posteriors make this cheap:

- Bernoulli rewards, prior Beta(α0, β0) (default Beta(1, 1) = uniform)::

      θ_a ~ Beta(α0 + successes_a, β0 + failures_a)

- Gaussian rewards with known noise variance 1, prior N(m0, v0) (default N(0, 1))::

      precision_a = 1/v0 + N(a),   θ_a ~ N((m0/v0 + S_a) / precision_a, 1 / precision_a)

  (S_a = sum of the rewards of a).

Every run of ``run_bandit`` advances in lock-step: each step is a few NumPy operations over
the (n_runs, K) arrays of counts and estimates, so 200 runs cost little more than one.

Usage::

    means = make_testbed(200, 10, rng=0)                    # (200, 10) arm means
    out = run_bandit("ucb1", means, 10_000, rng=1)
    out.regret.mean(axis=0)[-1] / 10_000                    # average regret per step
    out.optimal.mean(axis=0)                                # (10000,) % optimal action curve
    ucb1_choice(np.array([3, 0, 2]), np.array([0.5, 0., 0.7]), t=6)   # 1: untried arm first
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_rng,
    check_fraction,
    check_int,
    check_positive,
)

__all__ = [
    "KINDS", "METHODS",
    "make_testbed", "ucb_scores", "ucb1_choice", "BanditRun", "run_bandit",
]

KINDS = ("gaussian", "bernoulli")
METHODS = ("epsilon_greedy", "ucb1", "thompson")
SQRT2 = float(np.sqrt(2.0))


def _check_kind(kind, where: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    return kind


def make_testbed(n_runs: int, n_arms: int = 10, kind: str = "gaussian", *, rng) -> np.ndarray:
    """Draw the arm means of ``n_runs`` independent bandits.

    Args:
        n_runs: number of bandits (runs), >= 1.
        n_arms: K, the number of arms, >= 1.
        kind: "gaussian": q*(a) ~ N(0, 1) (rewards will be N(q*(a), 1), the 10-armed testbed
            of Sutton & Barto); "bernoulli": p_a ~ U(0, 1) (rewards will be 0 or 1).
        rng: a ``np.random.Generator`` or an int seed.

    Returns:
        (n_runs, n_arms) float64 arm means.
    """
    where = "make_testbed"
    n_runs = check_int(n_runs, where, "n_runs", low=1)
    n_arms = check_int(n_arms, where, "n_arms", low=1)
    kind = _check_kind(kind, where)
    rng = as_rng(rng, where, "rng")
    if kind == "gaussian":
        return rng.standard_normal((n_runs, n_arms))
    return rng.random((n_runs, n_arms))


def _check_counts_values(counts, values, where: str) -> tuple[np.ndarray, np.ndarray]:
    counts = as_array(counts, where, "counts", ndim=1, dtype_kind="iuf")
    if counts.dtype.kind == "f":
        if not np.all(np.isfinite(counts)) or np.any(counts != np.round(counts)):
            raise TypeError(f"{where}: counts must hold whole numbers of pulls (an int array), "
                            f"got {counts}")
    if np.any(counts < 0):
        raise ValueError(f"{where}: counts must be >= 0 (pulls per arm), got {counts}")
    values = as_float_array(values, where, "values", ndim=1, finite=True, dtype=np.float64)
    if values.shape != counts.shape:
        raise ValueError(f"{where}: values must have the shape of counts {counts.shape} "
                         f"(one sample mean per arm), got {values.shape}")
    return counts.astype(np.float64), values


def _check_t(t, where: str) -> int:
    return check_int(t, where, "t", low=1)


def ucb_scores(counts, values, t: int, c: float = SQRT2) -> np.ndarray:
    """UCB scores ``values + c * sqrt(ln t / counts)`` of one bandit, +inf for untried arms.

    Args:
        counts: (K,) int, N(a) >= 0 pulls of each arm so far.
        values: (K,) float, the sample mean reward of each arm (ignored where counts == 0).
        t: int >= 1, the 1-based index of the step being decided = (pulls so far) + 1 =
            ``counts.sum() + 1`` in a plain run.
        c: exploration weight >= 0 (sqrt(2) is UCB1; 0 is greedy).

    Returns:
        (K,) float64 scores; +inf where counts == 0.
    """
    where = "ucb_scores"
    n, q = _check_counts_values(counts, values, where)
    t = _check_t(t, where)
    c = check_positive(c, where, "c", allow_zero=True)
    out = np.full(n.shape, np.inf)
    tried = n > 0
    out[tried] = q[tried] + c * np.sqrt(np.log(t) / n[tried])
    return out


def ucb1_choice(counts, values, t: int, c: float = SQRT2) -> int:
    """The arm UCB1 pulls at step ``t``: argmax of :func:`ucb_scores`, ties to the lowest index.

    So while some arms are untried (score +inf) the untried arm of lowest index is pulled:
    the first K steps try arms 0, 1, ..., K − 1 in order.

    Args:
        counts: (K,) int pulls per arm so far (>= 0).
        values: (K,) float sample means.
        t: int >= 1, the 1-based step index = (pulls so far) + 1.
        c: exploration weight >= 0 (default sqrt(2), UCB1 of Auer et al. 2002).

    Returns:
        A Python int in [0, K).
    """
    where = "ucb1_choice"
    n, q = _check_counts_values(counts, values, where)
    t = _check_t(t, where)
    c = check_positive(c, where, "c", allow_zero=True)
    untried = np.flatnonzero(n == 0)
    if untried.size:
        return int(untried[0])
    return int(np.argmax(q + c * np.sqrt(np.log(t) / n)))


@dataclass(frozen=True, eq=False)
class BanditRun:
    """What :func:`run_bandit` returns; every array is (n_runs, steps), row r = run r.

    Attributes:
        rewards: float64 reward received at each step.
        actions: int64 arm pulled at each step.
        regret: float64 cumulative pseudo-regret Σ_{s <= t} (μ* − μ_{A_s}), non-decreasing.
        optimal: bool, whether the arm pulled had the best mean (any of them, if tied).
    """

    rewards: np.ndarray
    actions: np.ndarray
    regret: np.ndarray
    optimal: np.ndarray


def _check_prior(prior, kind: str, where: str) -> tuple[float, float]:
    if prior is None:
        return (0.0, 1.0) if kind == "gaussian" else (1.0, 1.0)
    what = ("(mean, variance) of the Normal prior" if kind == "gaussian"
            else "(alpha, beta) of the Beta prior")
    if not isinstance(prior, (tuple, list)) or len(prior) != 2:
        raise TypeError(f"{where}: prior must be None or a pair {what}, got {prior!r}")
    if kind == "gaussian":
        m0 = float(as_float_array(prior[0], where, "prior mean", ndim=0, finite=True))
        return m0, check_positive(prior[1], where, "prior variance")
    return check_positive(prior[0], where, "prior alpha"), check_positive(prior[1], where,
                                                                          "prior beta")


def run_bandit(method: str, means, steps: int, *, kind: str = "gaussian", rng,
               epsilon: float = 0.1, c: float = SQRT2, prior=None) -> BanditRun:
    """Run one bandit algorithm on n_runs bandits at once, all runs in lock-step.

    Args:
        method: "epsilon_greedy" (sample averages; explore with probability ``epsilon``,
            otherwise greedy with ties broken uniformly at random), "ucb1" (scores of
            :func:`ucb_scores` with t = step index 1, 2, ..., ties to the lowest index, so
            each run behaves exactly as repeated :func:`ucb1_choice`), or "thompson"
            (conjugate posterior sampling, see the module docstring).
        means: (n_runs, K) float arm means (e.g. from :func:`make_testbed`); a (K,) array is
            one run. Bernoulli means must be in [0, 1].
        steps: T >= 1, the number of pulls per run.
        kind: "gaussian" (rewards N(mean, 1)) or "bernoulli" (rewards 1 with probability mean).
        rng: a ``np.random.Generator`` or an int seed; the same seed gives the same run.
        epsilon: exploration probability of ε-greedy, in [0, 1] (other methods ignore it).
        c: UCB exploration weight >= 0 (other methods ignore it).
        prior: Thompson prior, None for the default: (mean, variance) = (0, 1) for Gaussian
            arms, (alpha, beta) = (1, 1) for Bernoulli arms.

    Returns:
        :class:`BanditRun` with (n_runs, T) arrays rewards, actions, regret, optimal.
    """
    where = "run_bandit"
    if method not in METHODS:
        raise ValueError(f"{where}: method must be one of {METHODS}, got {method!r}")
    kind = _check_kind(kind, where)
    mu = as_float_array(means, where, "means", ndim=(1, 2), finite=True, dtype=np.float64)
    if mu.ndim == 1:
        mu = mu[None, :]
    if kind == "bernoulli" and (mu.min() < 0 or mu.max() > 1):
        raise ValueError(f"{where}: Bernoulli means must be probabilities in [0, 1], "
                         f"got values from {mu.min():g} to {mu.max():g}")
    steps = check_int(steps, where, "steps", low=1)
    rng = as_rng(rng, where, "rng")
    epsilon = check_fraction(epsilon, where, "epsilon")
    c = check_positive(c, where, "c", allow_zero=True)
    a0, b0 = _check_prior(prior, kind, where)

    R, K = mu.shape
    rows = np.arange(R)
    best = mu.max(axis=1)                                     # (R,) μ*
    gaps = best[:, None] - mu                                 # (R, K) Δ_a >= 0
    is_best = mu == best[:, None]                             # (R, K)
    counts = np.zeros((R, K))                                 # N(a)
    q = np.zeros((R, K))                                      # sample means, 0 if untried
    sums = np.zeros((R, K))                                   # S_a, sum of rewards of a
    actions = np.empty((R, steps), dtype=np.int64)
    rewards = np.empty((R, steps))
    prec0 = 1.0 / b0 if kind == "gaussian" else 0.0           # Gaussian prior precision

    for t in range(1, steps + 1):
        if method == "epsilon_greedy":
            ismax = q == q.max(axis=1, keepdims=True)
            a = np.argmax(rng.random((R, K)) * ismax, axis=1)     # random among maxima
            explore = rng.random(R) < epsilon
            n_explore = int(explore.sum())
            if n_explore:
                a[explore] = rng.integers(0, K, size=n_explore)
        elif method == "ucb1":
            with np.errstate(divide="ignore", invalid="ignore"):
                score = sums / counts + c * np.sqrt(np.log(t) / counts)
            score[counts == 0] = np.inf
            a = np.argmax(score, axis=1)                      # ties: lowest index
        elif kind == "gaussian":                              # Thompson, Normal posterior
            prec = prec0 + counts
            theta = (a0 * prec0 + sums) / prec + rng.standard_normal((R, K)) / np.sqrt(prec)
            a = np.argmax(theta, axis=1)
        else:                                                 # Thompson, Beta posterior
            theta = rng.beta(a0 + sums, b0 + counts - sums)
            a = np.argmax(theta, axis=1)
        m = mu[rows, a]
        if kind == "gaussian":
            r = m + rng.standard_normal(R)
        else:
            r = (rng.random(R) < m).astype(np.float64)
        counts[rows, a] += 1.0
        sums[rows, a] += r
        if method == "epsilon_greedy":
            q[rows, a] = sums[rows, a] / counts[rows, a]
        actions[:, t - 1] = a
        rewards[:, t - 1] = r

    regret = np.cumsum(np.take_along_axis(gaps, actions, axis=1), axis=1)
    optimal = np.take_along_axis(is_best, actions, axis=1)
    return BanditRun(rewards=rewards, actions=actions, regret=regret, optimal=optimal)
