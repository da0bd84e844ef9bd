"""course_lib.torch_ref.rl: returns by hand, the REINFORCE estimator against the exact gradient
of a one-step problem, a baseline that lowers the variance, seeded and learning training."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from course_lib.torch_ref.rl import (
    PolicyMLP,
    ValueMLP,
    discounted_returns,
    episode_gradient,
    evaluate_policy,
    reinforce,
    run_episode,
)


class OneStep(gym.Env):
    """A one-step problem: observe a constant, pick one of K actions, get reward[action]."""

    def __init__(self, reward):
        self.reward = np.asarray(reward, dtype=np.float64)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(len(self.reward))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action):
        return np.ones(1, np.float32), float(self.reward[action]), True, False, {}


class Logits(nn.Module):
    """π(a) = softmax(θ), whatever the observation."""

    def __init__(self, theta):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(theta, dtype=torch.float32))

    def forward(self, obs):
        return self.theta.expand(obs.shape[0], -1)


def test_discounted_returns_by_hand():
    np.testing.assert_allclose(discounted_returns([1, 1, 1], 0.5), [1.75, 1.5, 1.0])
    np.testing.assert_allclose(discounted_returns([3, 0, 2], 0.0), [3, 0, 2])
    assert discounted_returns([], 0.9).shape == (0,)
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\]"):
        discounted_returns([1.0], 1.5)
    with pytest.raises(ValueError, match="1-D"):
        discounted_returns(np.ones((2, 2)), 0.9)


def test_score_function_estimator_matches_the_exact_gradient():
    reward = np.array([1.0, 3.0, -2.0])
    theta = np.array([0.2, -0.5, 0.3])
    pi = np.exp(theta) / np.exp(theta).sum()
    exact = pi * (reward - pi @ reward)                  # ∇_θ Σ_a π(a) r(a)
    env, policy = OneStep(reward), Logits(theta)
    gen = torch.Generator().manual_seed(0)
    grads = np.array([episode_gradient(policy, run_episode(env, policy, generator=gen), gamma=1.0)
                      for _ in range(4000)])
    mean, sem = grads.mean(0), grads.std(0) / np.sqrt(len(grads))
    assert np.all(np.abs(mean - exact) < 4 * sem + 1e-3), (mean, exact, sem)


def test_a_baseline_lowers_the_variance_without_changing_the_mean():
    reward = np.array([10.0, 11.0])                      # large common offset: high variance
    env, policy = OneStep(reward), Logits([0.0, 0.0])
    baseline = ValueMLP(1, seed=0)
    with torch.no_grad():
        for p in baseline.parameters():
            p.zero_()
        baseline.net[2].bias.fill_(10.5)                 # b = E[G]
    gen = torch.Generator().manual_seed(1)
    eps = [run_episode(env, policy, generator=gen) for _ in range(2000)]
    plain = np.array([episode_gradient(policy, e, gamma=1.0) for e in eps])
    based = np.array([episode_gradient(policy, e, gamma=1.0, value=baseline) for e in eps])
    assert based.var(0).sum() < 0.01 * plain.var(0).sum()
    np.testing.assert_allclose(based.mean(0), [-0.25, 0.25], atol=1e-9)   # exact here
    assert abs(plain.mean(0)[1] - 0.25) < 4 * plain.std(0)[1] / np.sqrt(2000)


def test_run_episode_and_evaluate_policy_on_cartpole():
    env = gym.make("CartPole-v1")
    policy = PolicyMLP(4, 2, seed=0)
    ep = run_episode(env, policy, generator=torch.Generator().manual_seed(0), seed=3)
    assert ep.obs.shape == (len(ep), 4) and ep.obs.dtype == np.float32
    assert ep.actions.dtype == np.int64 and set(ep.actions) <= {0, 1}
    assert ep.total == len(ep) and (ep.terminated or len(ep) == 500)
    again = run_episode(env, policy, generator=torch.Generator().manual_seed(0), seed=3)
    np.testing.assert_array_equal(ep.actions, again.actions)
    r = evaluate_policy(env, policy, episodes=3, seed=7)
    assert r.shape == (3,) and np.array_equal(r, evaluate_policy(env, policy, episodes=3, seed=7))
    with pytest.raises(TypeError, match="Gymnasium environment"):
        run_episode(object(), policy)
    with pytest.raises(ValueError, match="4 numbers"):
        policy(torch.zeros(1, 3))


def test_reinforce_is_seeded_and_learns_a_one_step_problem():
    logs = []
    for _ in range(2):
        policy, value = PolicyMLP(1, 3, hidden=8, seed=0), ValueMLP(1, hidden=8, seed=0)
        logs.append(reinforce(OneStep([0.0, 1.0, 0.2]), policy, value, updates=60,
                              episodes_per_update=8, lr=0.05, seed=0, snapshots=(1, 60),
                              progress=False))
    assert logs[0].returns == logs[1].returns and logs[0].steps == 480
    with torch.no_grad():
        p = torch.softmax(policy(torch.ones(1, 1)), -1)[0]
    assert p[1] > 0.9, p
    assert np.mean(logs[0].returns[:8]) < 0.8 < 0.95 < np.mean(logs[0].returns[-80:])
    assert not policy.training and not value.training
    first, last = logs[0].snapshots[1], logs[0].snapshots[60]
    assert sorted(logs[0].snapshots) == [1, 60]
    assert all(torch.equal(last[0][k], v) for k, v in policy.state_dict().items())
    assert not torch.equal(first[0]["net.0.weight"], last[0]["net.0.weight"])
    with pytest.raises(ValueError, match="snapshots"):
        reinforce(OneStep([0.0, 1.0]), policy, updates=2, snapshots=(3,))
    with pytest.raises(ValueError, match="updates"):
        reinforce(OneStep([0.0, 1.0]), policy, updates=0)
