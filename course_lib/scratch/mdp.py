"""Markov decision processes from scratch (NumPy only): dynamic programming and tabular TD control.

**Markov decision process** (马尔可夫决策过程). A finite MDP has S states, A actions and
dynamics p(s', r, done | s, a). Gymnasium's toy-text environments (FrozenLake, CliffWalking,
Taxi) publish them as a table ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.
A transition with terminated=True ends the episode: nothing is bootstrapped after it (the
absorbing state after the end has value 0). ``from_gym_table`` turns the table into arrays::

    T[s, a, s'] = Σ prob over the transitions s, a -> s' with terminated = False
    R[s, a]     = Σ prob · reward over all transitions of (s, a)   (expected reward)

so T[s, a, :] sums to 1 − P(episode ends | s, a). The value of a policy π (deterministic,
π(s) = action, or stochastic, π(a | s)) and the optimal values satisfy the Bellman equations
(Bellman 1957, "Dynamic programming"; Sutton & Barto 2018, "Reinforcement learning: an
introduction", 2nd ed., chapters 3-4)::

    Q(s, a) = R(s, a) + γ Σ_s' T(s, a, s') V(s')                  (one backup: Q = R + γ T V)
    V_π     = R_π + γ T_π V_π    =>   V_π = (I − γ T_π)^(-1) R_π   (policy evaluation)
    V*(s)   = max_a [R(s, a) + γ Σ_s' T(s, a, s') V*(s')]          (optimality)

where R_π(s) = Σ_a π(a|s) R(s, a) and T_π(s, s') = Σ_a π(a|s) T(s, a, s'). For γ < 1 the
system is always solvable; for γ = 1 only if the policy ends the episode with probability 1
from every state (a "proper" policy), which this module checks.

**Value iteration** repeats V_{k+1}(s) = max_a Q_k(s, a). The backup is a γ-contraction in
the max norm, so with δ_k = max |V_{k+1} − V_k| the error is at most γ δ_k / (1 − γ); it stops
when that bound is below ``tol``. **Policy iteration** (Howard 1960) alternates exact policy
evaluation with greedy improvement π(s) <- argmax_a Q_π(s, a) and stops when no state can be
strictly improved; it needs few (often < 10) but expensive iterations.

**Tabular TD control** (S&B chapter 6) learns Q from experience, one step at a time, with an
ε-greedy behaviour policy (greedy with probability 1 − ε, ties among maximal Q broken at
random; a uniformly random action with probability ε)::

    SARSA (Rummery & Niranjan 1994):  Q(s,a) += α [r + γ Q(s', a') − Q(s,a)], a' ~ ε-greedy
    Q-learning (Watkins 1989):        Q(s,a) += α [r + γ max_a' Q(s', a') − Q(s,a)]

(the bracketed target is r alone when the transition terminated). SARSA evaluates the
ε-greedy policy it follows, Q-learning the greedy policy. On the cliff-walking grid (S&B
example 6.6) Q-learning's greedy path runs along the cliff edge, the shortest path, while it
keeps falling in under ε-exploration; SARSA learns the longer safe path and earns a higher
online return.

Usage::

    import gymnasium as gym
    mdp = from_gym_table(gym.make("FrozenLake-v1").unwrapped.P)   # S = 16, A = 4
    V, pi, n = value_iteration(mdp, gamma=0.99)
    V2, pi2, m = policy_iteration(mdp, gamma=0.99)                 # same V to 1e-8
    V, pi, n, deltas = value_iteration(mdp, 0.99, return_history=True)   # plot deltas
    env = gym.make("CliffWalking-v1")
    Q, returns = td_control(env, "sarsa", episodes=500, rng=0)
    greedy_path(env, Q, start=36)                                  # [36, 24, 12, 0, 1, ...]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

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
    "TabularMDP", "from_gym_table",
    "bellman_backup", "greedy_policy", "policy_evaluation",
    "value_iteration", "policy_iteration",
    "TD_METHODS", "td_control", "greedy_path",
]

TD_METHODS = ("q_learning", "sarsa")
_PROB_TOL = 1e-9


# ---------------------------------------------------------------------------------------------
# The MDP as arrays
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP as arrays (see the module docstring).

    Attributes:
        T: (S, A, S) float64 continuation probabilities: T[s, a, s'] is the probability of
            moving to s' *without* the episode ending; each T[s, a, :] sums to <= 1, the rest
            being the probability that the episode terminates.
        R: (S, A) float64 expected immediate reward of taking a in s.
        n_states: S (set from T).
        n_actions: A (set from T).
    """

    T: np.ndarray
    R: np.ndarray
    n_states: int = field(init=False)
    n_actions: int = field(init=False)

    def __post_init__(self):
        where = "TabularMDP"
        T = as_float_array(self.T, where, "T", ndim=3, finite=True, dtype=np.float64)
        S, A, S2 = T.shape
        if S2 != S:
            raise ValueError(f"{where}: T must be (S, A, S), next states on the last axis, "
                             f"got shape {T.shape}")
        R = as_float_array(self.R, where, "R", ndim=2, finite=True, dtype=np.float64)
        if R.shape != (S, A):
            raise ValueError(f"{where}: R must be (S, A) = {(S, A)} to match T {T.shape}, "
                             f"got {R.shape}")
        if T.min() < 0:
            raise ValueError(f"{where}: T must hold probabilities >= 0, got min {T.min():g}")
        rows = T.sum(axis=2)
        if rows.max() > 1 + _PROB_TOL:
            s, a = np.unravel_index(int(np.argmax(rows)), rows.shape)
            raise ValueError(f"{where}: T[s, a, :] must sum to <= 1 (the rest is the "
                             f"probability of terminating), got {rows[s, a]!r} at s={s}, a={a}")
        object.__setattr__(self, "T", T)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "n_states", S)
        object.__setattr__(self, "n_actions", A)


def _rows(table, where: str, name: str, n: int | None) -> list:
    """The entries 0..n-1 of a dict or list table (P or P[s]), in order."""
    if isinstance(table, dict):
        keys = sorted(table)
        if n is None:
            n = len(keys)
        missing = [k for k in range(n) if k not in table]
        if missing:
            raise ValueError(f"{where}: {name} must have an entry for each of 0..{n - 1}, "
                             f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        extra = [k for k in keys if not (isinstance(k, (int, np.integer)) and 0 <= k < n)]
        if extra:
            raise ValueError(f"{where}: {name} has keys outside 0..{n - 1}: {extra[:5]}")
        return [table[k] for k in range(n)]
    if isinstance(table, (list, tuple)):
        if n is not None and len(table) != n:
            raise ValueError(f"{where}: {name} must have {n} entries (0..{n - 1}), "
                             f"got {len(table)}")
        return list(table)
    raise TypeError(f"{where}: {name} must be a dict or list indexed by "
                    f"{'state' if name == 'P' else 'action'}, got {type(table).__name__}")


def from_gym_table(P, n_states: int | None = None, n_actions: int | None = None) -> TabularMDP:
    """Build a :class:`TabularMDP` from a Gymnasium toy-text transition table.

    Args:
        P: ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` for every state s and
            action a (dicts or lists), e.g. ``gym.make("FrozenLake-v1").unwrapped.P``.
        n_states: S; default len(P). Every state 0..S-1 must be in P.
        n_actions: A; default the number of actions of state 0. Every state must have
            actions 0..A-1.

    Returns:
        TabularMDP with T (S, A, S) continuation probabilities and R (S, A) expected rewards.

    Raises:
        TypeError / ValueError naming the first bad (s, a): a malformed transition, a
        probability outside [0, 1], a next state outside [0, S), a non-finite reward, or
        probabilities of (s, a) not summing to 1 within 1e-9.
    """
    where = "from_gym_table"
    if n_states is not None:
        n_states = check_int(n_states, where, "n_states", low=1)
    if n_actions is not None:
        n_actions = check_int(n_actions, where, "n_actions", low=1)
    states = _rows(P, where, "P", n_states)
    S = len(states)
    if S == 0:
        raise ValueError(f"{where}: P must describe at least one state, got an empty table")
    T, R, A = None, None, n_actions
    for s, acts in enumerate(states):
        acts = _rows(acts, where, f"P[{s}]", A)
        if A is None:
            A = len(acts)
            if A == 0:
                raise ValueError(f"{where}: P[0] must have at least one action, got none")
        if T is None:
            T, R = np.zeros((S, A, S)), np.zeros((S, A))
        for a, trans in enumerate(acts):
            if not isinstance(trans, (list, tuple)) or not trans:
                raise ValueError(f"{where}: P[{s}][{a}] must be a non-empty list of (prob, "
                                 f"next_state, reward, terminated), got {trans!r}")
            total = 0.0
            for tr in trans:
                if not isinstance(tr, (list, tuple)) or len(tr) != 4:
                    raise ValueError(f"{where}: P[{s}][{a}] entries must be 4-tuples (prob, "
                                     f"next_state, reward, terminated), got {tr!r}")
                p, s2, r, done = tr
                p = float(as_float_array(p, where, f"P[{s}][{a}] prob", ndim=0))
                if not 0 <= p <= 1:
                    raise ValueError(f"{where}: P[{s}][{a}] probabilities must be in [0, 1], "
                                     f"got {p!r}")
                if isinstance(s2, (bool, np.bool_)) or not isinstance(s2, (int, np.integer)):
                    raise TypeError(f"{where}: P[{s}][{a}] next_state must be an int, "
                                    f"got {type(s2).__name__} {s2!r}")
                if not 0 <= s2 < S:
                    raise ValueError(f"{where}: P[{s}][{a}] next_state must be in "
                                     f"[0, {S - 1}], got {s2}")
                r = float(as_float_array(r, where, f"P[{s}][{a}] reward", ndim=0, finite=True))
                if not isinstance(done, (bool, np.bool_)):
                    raise TypeError(f"{where}: P[{s}][{a}] terminated must be a bool, "
                                    f"got {type(done).__name__} {done!r}")
                total += p
                R[s, a] += p * r
                if not done:
                    T[s, a, int(s2)] += p
            if abs(total - 1) > _PROB_TOL:
                raise ValueError(f"{where}: the probabilities of P[{s}][{a}] must sum to 1 "
                                 f"(within 1e-9), got {total!r}")
    return TabularMDP(T, R)


# ---------------------------------------------------------------------------------------------
# Dynamic programming
# ---------------------------------------------------------------------------------------------

def _check_mdp(mdp, where: str) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"{where}: mdp must be a TabularMDP (from_gym_table(P)), "
                        f"got {type(mdp).__name__}")
    return mdp


def _check_gamma(gamma, where: str) -> float:
    return check_fraction(gamma, where, "gamma")


def _check_values(V, S: int, where: str, name: str = "V") -> np.ndarray:
    V = as_float_array(V, where, name, ndim=1, finite=True, dtype=np.float64)
    if V.shape != (S,):
        raise ValueError(f"{where}: {name} must have shape ({S},), one value per state, "
                         f"got {V.shape}")
    return V


def bellman_backup(mdp: TabularMDP, V, gamma: float) -> np.ndarray:
    """One Bellman backup: Q = R + γ T V.

    Args:
        mdp: the TabularMDP (S states, A actions).
        V: (S,) float state values.
        gamma: discount γ in [0, 1].

    Returns:
        (S, A) float64 Q(s, a) = R(s, a) + γ Σ_s' T(s, a, s') V(s').
    """
    where = "bellman_backup"
    mdp = _check_mdp(mdp, where)
    V = _check_values(V, mdp.n_states, where)
    gamma = _check_gamma(gamma, where)
    return mdp.R + gamma * (mdp.T @ V)


def greedy_policy(Q) -> np.ndarray:
    """The greedy policy π(s) = argmax_a Q(s, a), exact ties to the lowest action index.

    Args:
        Q: (S, A) float action values.

    Returns:
        (S,) int64 actions.
    """
    Q = as_float_array(Q, "greedy_policy", "Q", ndim=2, finite=True)
    return np.argmax(Q, axis=1).astype(np.int64)


def _policy_matrix(policy, S: int, A: int, where: str) -> np.ndarray:
    """(S, A) action probabilities from a deterministic (S,) or stochastic (S, A) policy."""
    pol = as_array(policy, where, "policy", ndim=(1, 2))
    if pol.ndim == 1:
        if pol.dtype.kind not in "iu":
            raise TypeError(f"{where}: a deterministic policy must be an int array of actions, "
                            f"one per state, got dtype {pol.dtype}")
        if pol.shape != (S,):
            raise ValueError(f"{where}: policy must have shape ({S},), one action per state, "
                             f"got {pol.shape}")
        if pol.min() < 0 or pol.max() >= A:
            raise ValueError(f"{where}: policy actions must be in [0, {A - 1}], got values "
                             f"from {pol.min()} to {pol.max()}")
        out = np.zeros((S, A))
        out[np.arange(S), pol] = 1.0
        return out
    pol = as_float_array(pol, where, "policy", finite=True, dtype=np.float64)
    if pol.shape != (S, A):
        raise ValueError(f"{where}: a stochastic policy must be (S, A) = {(S, A)} "
                         f"probabilities pi(a|s), got {pol.shape}")
    if pol.min() < 0 or np.abs(pol.sum(axis=1) - 1).max() > _PROB_TOL:
        raise ValueError(f"{where}: each row of a stochastic policy must hold probabilities "
                         f">= 0 summing to 1")
    return pol


def policy_evaluation(mdp: TabularMDP, policy, gamma: float) -> np.ndarray:
    """Exact value of a policy: solve (I − γ T_π) V = R_π.

    Args:
        mdp: the TabularMDP.
        policy: (S,) int actions (deterministic) or (S, A) float probabilities π(a|s).
        gamma: discount in [0, 1]. With γ = 1 the policy must end the episode with
            probability 1 from every state.

    Returns:
        (S,) float64 V_π.

    Raises:
        ValueError if γ = 1 and from some state the policy never terminates (the system is
        singular: the undiscounted return is not defined or infinite).
    """
    where = "policy_evaluation"
    mdp = _check_mdp(mdp, where)
    gamma = _check_gamma(gamma, where)
    pi = _policy_matrix(policy, mdp.n_states, mdp.n_actions, where)
    return _evaluate(mdp, pi, gamma, where)


def _evaluate(mdp: TabularMDP, pi: np.ndarray, gamma: float, where: str) -> np.ndarray:
    S = mdp.n_states
    T_pi = np.einsum("sa,sat->st", pi, mdp.T)                 # (S, S)
    R_pi = (pi * mdp.R).sum(axis=1)                           # (S,)
    if gamma == 1.0:
        # (I − T_π) is invertible iff every state can reach a state that leaks (terminates)
        can_end = T_pi.sum(axis=1) < 1 - 1e-12
        while True:
            grown = can_end | (T_pi[:, can_end].sum(axis=1) > 0)
            if np.array_equal(grown, can_end):
                break
            can_end = grown
        if not can_end.all():
            bad = np.flatnonzero(~can_end)
            raise ValueError(f"{where}: with gamma = 1 the policy must end the episode from "
                             f"every state, but from states {bad[:10].tolist()}"
                             f"{' ...' if bad.size > 10 else ''} it never terminates, so "
                             f"(I - gamma T_pi) is singular; use gamma < 1 or another policy")
    try:
        return np.linalg.solve(np.eye(S) - gamma * T_pi, R_pi)
    except np.linalg.LinAlgError:
        raise ValueError(f"{where}: (I - gamma T_pi) is singular; use gamma < 1") from None


def value_iteration(mdp: TabularMDP, gamma: float, tol: float = 1e-10,
                    max_iter: int = 100_000, *, return_history: bool = False):
    """Value iteration V_{k+1} = max_a (R + γ T V_k), from V_0 = 0.

    Stops after the first sweep k with γ δ_k / (1 − γ) < tol, where δ_k = max |V_{k+1} − V_k|
    (then max |V − V*| < tol); for γ = 1 it stops when δ_k < tol (no such guarantee). It
    warns if ``max_iter`` sweeps were not enough.

    Args:
        mdp: the TabularMDP.
        gamma: discount in [0, 1].
        tol: accuracy > 0 of the returned values.
        max_iter: the most sweeps, >= 1.
        return_history: also return the list of δ_k (one float per sweep), e.g. to plot the
            geometric convergence on a log scale.

    Returns:
        ``(V, policy, n_iter)``: V (S,) float64, the greedy policy (S,) int64 w.r.t. V (ties
        to the lowest action), and the number of sweeps; plus ``history`` (list of float) if
        ``return_history``.
    """
    where = "value_iteration"
    mdp = _check_mdp(mdp, where)
    gamma = _check_gamma(gamma, where)
    tol = check_positive(tol, where, "tol")
    max_iter = check_int(max_iter, where, "max_iter", low=1)
    factor = gamma / (1 - gamma) if gamma < 1 else 1.0
    V = np.zeros(mdp.n_states)
    history = []
    n = 0
    converged = False
    while n < max_iter:
        V_new = (mdp.R + gamma * (mdp.T @ V)).max(axis=1)
        delta = float(np.abs(V_new - V).max())
        V = V_new
        n += 1
        history.append(delta)
        if delta * factor < tol:
            converged = True
            break
    if not converged:
        warnings.warn(f"{where}: not converged to tol={tol:g} after max_iter={max_iter} "
                      f"sweeps (last change {history[-1]:.3g})", RuntimeWarning, stacklevel=2)
    policy = np.argmax(mdp.R + gamma * (mdp.T @ V), axis=1).astype(np.int64)
    return (V, policy, n, history) if return_history else (V, policy, n)


def policy_iteration(mdp: TabularMDP, gamma: float, max_iter: int = 1000):
    """Policy iteration: exact evaluation, then greedy improvement, until stable.

    Starts from the policy "action 0 everywhere". A state's action changes only when another
    action is better by more than 1e-12 · (1 + |Q|) (so ties and round-off cannot make it
    cycle); new actions are the lowest-index maximisers.

    Args:
        mdp: the TabularMDP.
        gamma: discount in [0, 1]; with γ = 1 every policy met must terminate (see
            :func:`policy_evaluation`).
        max_iter: the most improvement rounds, >= 1.

    Returns:
        ``(V, policy, n_iter)``: V (S,) float64 = V_π of the final policy, the policy (S,)
        int64, and the number of evaluations done.
    """
    where = "policy_iteration"
    mdp = _check_mdp(mdp, where)
    gamma = _check_gamma(gamma, where)
    max_iter = check_int(max_iter, where, "max_iter", low=1)
    S, A = mdp.n_states, mdp.n_actions
    rows = np.arange(S)
    policy = np.zeros(S, dtype=np.int64)
    for n in range(1, max_iter + 1):
        pi = np.zeros((S, A))
        pi[rows, policy] = 1.0
        V = _evaluate(mdp, pi, gamma, where)
        Q = mdp.R + gamma * (mdp.T @ V)
        best = np.argmax(Q, axis=1)
        better = Q[rows, best] > Q[rows, policy] + 1e-12 * (1 + np.abs(Q[rows, policy]))
        if not better.any():
            return V, policy, n
        policy = np.where(better, best, policy)
    warnings.warn(f"{where}: policy still changing after max_iter={max_iter} rounds",
                  RuntimeWarning, stacklevel=2)
    return V, policy, max_iter


# ---------------------------------------------------------------------------------------------
# Tabular TD control on a Gymnasium environment
# ---------------------------------------------------------------------------------------------

def _discrete_n(space, where: str, name: str) -> int:
    n = getattr(space, "n", None)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise TypeError(f"{where}: env.{name} must be a Discrete space (with an int .n), "
                        f"got {space!r}")
    return int(n)


def td_control(env, method: str = "q_learning", episodes: int = 500, *, alpha: float = 0.5,
               epsilon: float = 0.1, gamma: float = 1.0, rng, max_steps: int = 10_000):
    """SARSA or Q-learning with an ε-greedy behaviour policy on a Gymnasium environment.

    Q starts at 0. The behaviour policy picks a uniformly random action with probability ε,
    otherwise a greedy action, ties among the maximal Q(s, ·) broken uniformly at random (with
    Q = 0 at the start, always picking action 0 would make the first episodes very long).
    A terminated step is not bootstrapped (target = r); a truncated one (time limit of the
    env, or ``max_steps``) is bootstrapped and ends the episode.

    Args:
        env: a Gymnasium env with Discrete observation and action spaces and the
            ``reset(seed=) -> (s, info)``, ``step(a) -> (s, r, terminated, truncated, info)``
            API, e.g. ``gym.make("CliffWalking-v1")``. It is reset with a seed drawn from
            ``rng`` before the first episode (so runs are reproducible), then without one.
        method: "q_learning" or "sarsa".
        episodes: number of episodes, >= 1.
        alpha: step size in (0, 1].
        epsilon: exploration probability in [0, 1].
        gamma: discount in [0, 1].
        rng: a ``np.random.Generator`` or an int seed.
        max_steps: the longest episode, >= 1.

    Returns:
        ``(Q, returns)``: Q (S, A) float64 learned action values, and returns (episodes,)
        float64, the online return of each episode: the plain (undiscounted) sum of the
        rewards collected while following the ε-greedy behaviour policy, as plotted in
        Sutton & Barto's figure 6.4.
    """
    where = "td_control"
    if method not in TD_METHODS:
        raise ValueError(f"{where}: method must be one of {TD_METHODS}, got {method!r}")
    for attr in ("reset", "step", "observation_space", "action_space"):
        if not hasattr(env, attr):
            raise TypeError(f"{where}: env must be a Gymnasium environment (gym.make(...)) "
                            f"with .{attr}, got {type(env).__name__}")
    S = _discrete_n(env.observation_space, where, "observation_space")
    A = _discrete_n(env.action_space, where, "action_space")
    episodes = check_int(episodes, where, "episodes", low=1)
    alpha = check_fraction(alpha, where, "alpha")
    if alpha == 0:
        raise ValueError(f"{where}: alpha must be in (0, 1], got 0.0")
    epsilon = check_fraction(epsilon, where, "epsilon")
    gamma = _check_gamma(gamma, where)
    rng = as_rng(rng, where, "rng")
    max_steps = check_int(max_steps, where, "max_steps", low=1)
    sarsa = method == "sarsa"

    # Plain Python lists and a buffer of uniforms: the loop runs ~10^4-10^5 single steps, where
    # NumPy's per-call overhead would dominate.
    Q = [[0.0] * A for _ in range(S)]
    buf, pos = rng.random(8192).tolist(), 0
    returns = np.zeros(episodes)

    def act(row):
        nonlocal buf, pos
        if pos + 2 > len(buf):
            buf, pos = rng.random(8192).tolist(), 0
        u, v = buf[pos], buf[pos + 1]
        pos += 2
        if u < epsilon:
            return int(v * A)
        m = max(row)
        best = [i for i, q in enumerate(row) if q == m]
        return best[0] if len(best) == 1 else best[int(v * len(best))]

    for ep in range(episodes):
        if ep == 0:
            s, _ = env.reset(seed=int(rng.integers(2**31)))
        else:
            s, _ = env.reset()
        s = int(s)
        a = act(Q[s])
        total = 0.0
        for t in range(max_steps):
            s2, r, terminated, truncated, _ = env.step(a)
            s2 = int(s2)
            r = float(r)
            total += r
            row2 = Q[s2]
            a2 = act(row2)
            if terminated:
                target = r
            elif sarsa:
                target = r + gamma * row2[a2]
            else:
                target = r + gamma * max(row2)
            q = Q[s]
            q[a] += alpha * (target - q[a])
            if terminated or truncated or t == max_steps - 1:
                break
            s, a = s2, a2
        returns[ep] = total
    return np.array(Q, dtype=np.float64), returns


def greedy_path(env_or_P, Q, start: int, max_steps: int = 100) -> list[int]:
    """Follow the greedy action argmax_a Q(s, a) (ties to the lowest index) on deterministic
    dynamics and list the states visited.

    The walk stops when a transition terminates, when a state repeats (deterministic
    dynamics and a deterministic policy then loop forever; the repeated state is the last
    entry, e.g. the start state after a fall off the cliff), or after ``max_steps`` moves.

    Args:
        env_or_P: a toy-text Gymnasium env (its ``env.unwrapped.P`` is used) or a table
            ``P[s][a] = [(prob, next_state, reward, terminated)]`` with one transition of
            probability 1 per (s, a) along the path.
        Q: (S, A) float action values.
        start: the start state, in [0, S).
        max_steps: the most moves, >= 1.

    Returns:
        list of int states, starting with ``start``.
    """
    where = "greedy_path"
    P = env_or_P
    if hasattr(env_or_P, "unwrapped"):
        P = getattr(env_or_P.unwrapped, "P", None)
        if P is None:
            raise TypeError(f"{where}: the env has no transition table .unwrapped.P; pass a "
                            f"toy-text env (FrozenLake, CliffWalking, Taxi) or the table P")
    if not isinstance(P, (dict, list, tuple)):
        raise TypeError(f"{where}: env_or_P must be a Gymnasium toy-text env or a table "
                        f"P[s][a], got {type(env_or_P).__name__}")
    Q = as_float_array(Q, where, "Q", ndim=2, finite=True)
    S = len(P)
    if Q.shape[0] != S:
        raise ValueError(f"{where}: Q must have one row per state, (S, A) with S = {S}, "
                         f"got {Q.shape}")
    start = check_int(start, where, "start", low=0, high=S - 1)
    max_steps = check_int(max_steps, where, "max_steps", low=1)
    policy = np.argmax(Q, axis=1)
    path, seen = [start], {start}
    s = start
    for _ in range(max_steps):
        trans = [tr for tr in P[s][int(policy[s])] if tr[0] > 0]
        if len(trans) != 1 or abs(trans[0][0] - 1) > _PROB_TOL:
            raise ValueError(f"{where}: the dynamics must be deterministic along the path, but "
                             f"P[{s}][{int(policy[s])}] has {len(trans)} possible transitions "
                             f"(e.g. FrozenLake with is_slippery=True)")
        _, s2, _, done = trans[0]
        s = int(s2)
        path.append(s)
        if done or s in seen:
            break
        seen.add(s)
    return path
