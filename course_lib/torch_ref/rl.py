"""Policy gradients in PyTorch: REINFORCE with a learned baseline, for Gymnasium environments.

**The policy-gradient theorem via the log-derivative trick.** For a policy π_θ(a | s) and the
return G of an episode τ = (s_0, a_0, r_1, s_1, ...),

    ∇_θ E_τ[G] = E_τ[ Σ_t ∇_θ log π_θ(a_t | s_t) · G_t ],     G_t = Σ_{k>=t} γ^{k−t} r_{k+1}

because ∇p = p ∇log p and the environment's transition probabilities do not depend on θ
(Williams 1992, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Machine Learning). Subtracting a **baseline** b(s_t) from G_t leaves
the expectation unchanged (E[∇ log π(a | s)] = 0) but can shrink the variance a lot; the usual
baseline is a learned state value V_φ(s_t) ≈ E[G_t | s_t], fitted by least squares.

    policy = PolicyMLP(4, 2, seed=0)                 # CartPole: 4 numbers -> 2 actions
    value = ValueMLP(4, seed=0)
    log = reinforce(gym.make("CartPole-v1"), policy, value, updates=80, seed=0)
    evaluate_policy(gym.make("CartPole-v1"), policy, episodes=20, seed=1000)   # (20,) returns

Every episode is drawn with seeded generators (the environment's ``reset(seed=...)`` once,
then its own generator; the actions from a ``torch.Generator``), so a run repeats exactly on
the same machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.validate import check_fraction, check_int, check_positive
from course_lib.training import eval_mode, model_device, run_steps

__all__ = ["PolicyMLP", "ValueMLP", "Episode", "run_episode", "discounted_returns",
           "reinforce_loss", "ReinforceLog", "reinforce", "evaluate_policy",
           "episode_gradient"]


class PolicyMLP(nn.Module):
    """π(a | s): an MLP from observations (N, obs_dim) to action logits (N, n_actions)."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 32, *,
                 seed: int | None = None):
        super().__init__()
        where = "PolicyMLP"
        self.obs_dim = check_int(obs_dim, where, "obs_dim", low=1)
        self.n_actions = check_int(n_actions, where, "n_actions", low=2)
        hidden = check_int(hidden, where, "hidden", low=1)
        with seeded(seed, where):
            self.net = nn.Sequential(nn.Linear(self.obs_dim, hidden), nn.Tanh(),
                                     nn.Linear(hidden, self.n_actions))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_dim:
            raise ValueError(f"PolicyMLP: observations must have {self.obs_dim} numbers in the "
                             f"last axis, got shape {tuple(obs.shape)}")
        return self.net(obs)


class ValueMLP(nn.Module):
    """V(s): an MLP from observations (N, obs_dim) to values (N,), the REINFORCE baseline."""

    def __init__(self, obs_dim: int, hidden: int = 32, *, seed: int | None = None):
        super().__init__()
        where = "ValueMLP"
        self.obs_dim = check_int(obs_dim, where, "obs_dim", low=1)
        hidden = check_int(hidden, where, "hidden", low=1)
        with seeded(seed, where):
            self.net = nn.Sequential(nn.Linear(self.obs_dim, hidden), nn.Tanh(),
                                     nn.Linear(hidden, 1))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_dim:
            raise ValueError(f"ValueMLP: observations must have {self.obs_dim} numbers in the "
                             f"last axis, got shape {tuple(obs.shape)}")
        return self.net(obs).squeeze(-1)


@dataclass
class Episode:
    """One episode: ``obs`` float32 (T, obs_dim), ``actions`` int64 (T,), ``rewards`` float32
    (T,) (reward r_{t+1} after action a_t), and whether it ended by ``terminated`` (a real end,
    e.g. the pole fell) or by the time limit."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool

    @property
    def total(self) -> float:
        return float(self.rewards.sum())

    def __len__(self) -> int:
        return len(self.actions)


def _check_env(env, where: str) -> None:
    if not (hasattr(env, "reset") and hasattr(env, "step")):
        raise TypeError(f"{where}: env must be a Gymnasium environment (with reset and step), "
                        f"got {type(env).__name__}")


@torch.no_grad()
def run_episode(env, policy: nn.Module, *, generator: torch.Generator | None = None,
                greedy: bool = False, seed: int | None = None,
                max_steps: int = 100_000) -> Episode:
    """Play one episode with the policy: sample a ~ π(· | s) (or take argmax with ``greedy``).

    Args:
        env: a Gymnasium environment with a Box observation and Discrete actions.
        policy: maps (1, obs_dim) float32 observations to (1, n_actions) logits.
        generator: a CPU ``torch.Generator`` for the action samples (None: the global one).
        greedy: take the most probable action (evaluation) instead of sampling.
        seed: passed to ``env.reset(seed=...)`` (None: continue the env's own generator).
        max_steps: a safety bound on the length.
    """
    where = "run_episode"
    _check_env(env, where)
    device = model_device(policy)
    obs, _ = env.reset(seed=seed)
    all_obs, actions, rewards = [], [], []
    terminated = False
    with eval_mode(policy):
        for _ in range(max_steps):
            logits = policy(torch.as_tensor(obs, dtype=torch.float32, device=device)[None])[0]
            if greedy:
                a = int(logits.argmax())
            else:
                probs = torch.softmax(logits.double().cpu(), dim=-1)
                a = int(torch.multinomial(probs, 1, generator=generator))
            all_obs.append(np.asarray(obs, dtype=np.float32))
            actions.append(a)
            obs, r, terminated, truncated, _ = env.step(a)
            rewards.append(float(r))
            if terminated or truncated:
                break
    return Episode(np.stack(all_obs), np.array(actions, dtype=np.int64),
                   np.array(rewards, dtype=np.float32), bool(terminated))


def discounted_returns(rewards, gamma: float) -> np.ndarray:
    """G_t = r_{t+1} + γ G_{t+1} (G_T = 0) for one episode: (T,) rewards -> (T,) float64."""
    gamma = check_fraction(gamma, "discounted_returns", "gamma")
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"discounted_returns: rewards must be 1-D (T,), got shape {r.shape}")
    out = np.empty_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running
        out[t] = running
    return out


def reinforce_loss(policy: nn.Module, obs: torch.Tensor, actions: torch.Tensor,
                   weights: torch.Tensor) -> torch.Tensor:
    """The surrogate −Σ_t log π(a_t | s_t) · w_t whose gradient is the REINFORCE estimate.

    Args:
        policy: the policy network. obs: (T, obs_dim). actions: (T,) int64.
        weights: (T,) the returns G_t or advantages G_t − b(s_t), treated as constants.
    """
    logp = torch.log_softmax(policy(obs), dim=-1)                  # (T, n_actions)
    return -(logp.gather(1, actions[:, None]).squeeze(1) * weights.detach()).sum()


def episode_gradient(policy: nn.Module, episode: Episode, *, gamma: float = 0.99,
                     value: nn.Module | None = None) -> np.ndarray:
    """The REINFORCE gradient estimate of the expected return from one episode, flattened.

    Σ_t ∇ log π(a_t | s_t) (G_t − b(s_t)) with b = ``value`` (or 0), as a float64 vector of
    all the policy's parameters (the ascent direction, i.e. minus the surrogate's gradient).
    """
    device = model_device(policy)
    obs = torch.as_tensor(episode.obs, device=device)
    returns = torch.as_tensor(discounted_returns(episode.rewards, gamma), dtype=torch.float32,
                              device=device)
    if value is not None:
        with torch.no_grad():
            returns = returns - value(obs)
    policy.zero_grad()
    reinforce_loss(policy, obs, torch.as_tensor(episode.actions, device=device),
                   returns).backward()
    return -torch.cat([p.grad.flatten() for p in policy.parameters()]).double().cpu().numpy()


@dataclass
class ReinforceLog:
    """What :func:`reinforce` recorded: the return and length of every training episode, and
    per update the policy's surrogate loss and the baseline's mean squared error;
    ``snapshots[u]``: copies of the (policy, value) ``state_dict``s after u updates, for the
    u asked for (value None without a baseline)."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    policy_loss: list[float] = field(default_factory=list)
    value_loss: list[float] = field(default_factory=list)
    snapshots: dict[int, tuple[dict, dict | None]] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Environment steps used in training."""
        return int(sum(self.lengths))


def reinforce(env, policy: nn.Module, value: nn.Module | None = None, *, updates: int,
              episodes_per_update: int = 4, gamma: float = 0.99, lr: float = 1e-2,
              value_lr: float = 1e-2, normalize: bool = True, seed: int = 0,
              snapshots: tuple[int, ...] = (), progress: bool = True) -> ReinforceLog:
    """Train the policy with REINFORCE (Williams 1992), with a learned baseline if ``value``.

    Each update plays ``episodes_per_update`` episodes with the current policy, computes the
    returns G_t, the advantages A_t = G_t − V(s_t) (or G_t without a baseline), standardises
    them over the batch when ``normalize`` (a common variance reduction; it keeps the sign of
    each advantage relative to the batch mean), and takes one Adam step on
    ``reinforce_loss / episodes_per_update``; the baseline takes one Adam step on the mean
    squared error (V(s_t) − G_t)².

    Args:
        env: a Gymnasium environment (Box observations, Discrete actions); reset with ``seed``
            once, then with its own generator.
        policy: a :class:`PolicyMLP` (or any module: (N, obs_dim) -> (N, n_actions) logits).
        value: a :class:`ValueMLP` baseline, or None for plain REINFORCE.
        updates: the number of policy updates (training is bounded by updates, never time).
        episodes_per_update, gamma, lr, value_lr, normalize: as above.
        seed: seeds the environment's first reset and the action sampling.
        snapshots: update counts (1 .. updates) after which to keep copies of the weights in
            ``log.snapshots`` (to study the policy part-way through training).
        progress: show a tqdm bar with the mean return of the latest batch.

    Returns:
        A :class:`ReinforceLog`; both networks are left in evaluation mode.
    """
    where = "reinforce"
    _check_env(env, where)
    updates = check_int(updates, where, "updates", low=1)
    k = check_int(episodes_per_update, where, "episodes_per_update", low=1)
    gamma = check_fraction(gamma, where, "gamma")
    lr = check_positive(lr, where, "lr")
    value_lr = check_positive(value_lr, where, "value_lr")
    seed = check_int(seed, where, "seed", low=0)
    keep = {check_int(u, where, "snapshots[i]", low=1, high=updates) for u in snapshots}
    device = model_device(policy)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    vopt = torch.optim.Adam(value.parameters(), lr=value_lr) if value is not None else None
    gen = torch.Generator().manual_seed(seed)
    env.reset(seed=seed)
    log = ReinforceLog()

    def step(i: int) -> dict[str, float]:
        batch = [run_episode(env, policy, generator=gen) for _ in range(k)]
        obs = torch.as_tensor(np.concatenate([e.obs for e in batch]), device=device)
        actions = torch.as_tensor(np.concatenate([e.actions for e in batch]), device=device)
        returns = torch.as_tensor(np.concatenate([discounted_returns(e.rewards, gamma)
                                                  for e in batch]),
                                  dtype=torch.float32, device=device)
        adv = returns
        if value is not None:
            value.train()
            v = value(obs)
            adv = returns - v.detach()
            value_loss = ((v - returns) ** 2).mean()
            vopt.zero_grad()
            value_loss.backward()
            vopt.step()
            log.value_loss.append(value_loss.item())
        if normalize and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy.train()
        loss = reinforce_loss(policy, obs, actions, adv) / k
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.policy_loss.append(loss.item())
        for e in batch:
            log.returns.append(e.total)
            log.lengths.append(len(e))
        if i + 1 in keep:
            copy = lambda m: {k: v.detach().clone() for k, v in m.state_dict().items()}  # noqa: E731
            log.snapshots[i + 1] = (copy(policy), copy(value) if value is not None else None)
        return {"return": float(np.mean([e.total for e in batch]))}

    run_steps(step, steps=updates, models=[m for m in (policy, value) if m is not None],
              progress=progress, desc="REINFORCE", where=where)
    return log


def evaluate_policy(env, policy: nn.Module, *, episodes: int = 20, seed: int = 10_000,
                    greedy: bool = True) -> np.ndarray:
    """Returns of ``episodes`` fresh episodes (env reset with seeds seed, seed + 1, ...):
    (episodes,) float64. ``greedy``: take the most probable action."""
    where = "evaluate_policy"
    _check_env(env, where)
    episodes = check_int(episodes, where, "episodes", low=1)
    seed = check_int(seed, where, "seed", low=0)
    gen = torch.Generator().manual_seed(seed)
    return np.array([run_episode(env, policy, generator=gen, greedy=greedy, seed=seed + i).total
                     for i in range(episodes)])
