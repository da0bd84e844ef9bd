"""course_lib.scratch.mdp: Gymnasium tables become the right arrays; a 2-state MDP matches
values worked out by hand; policy evaluation satisfies the Bellman expectation equation;
value iteration equals brute force over all policies and agrees with policy iteration to 1e-8
(random MDPs, FrozenLake 4x4 and 8x8); γ = 0 gives max_a R; Q-learning converges to Q* on a
deterministic lake; and Sutton & Barto's example 6.6 on CliffWalking-v1 (Q-learning walks the
cliff edge, SARSA takes the safe path and earns more online). Bad inputs give clear errors."""

import itertools
import time

import gymnasium as gym
import numpy as np
import pytest

from course_lib.scratch.mdp import (
    TabularMDP,
    bellman_backup,
    from_gym_table,
    greedy_path,
    greedy_policy,
    policy_evaluation,
    policy_iteration,
    td_control,
    value_iteration,
)


def random_mdp(rng, S, A, end=0.2):
    """A random MDP whose every (s, a) terminates with probability >= end (so γ = 1 is ok)."""
    T = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.6)
    T /= np.maximum(T.sum(axis=2, keepdims=True), 1e-12)
    T *= (1 - end) * rng.random((S, A, 1))
    return TabularMDP(T, rng.normal(size=(S, A)))


def two_state_mdp():
    """State 0: action 0 stays (reward 0), action 1 moves to state 1 (reward 1).
    State 1: action 0 stays (reward 2), action 1 ends the episode (reward 10)."""
    P = {0: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 1, 1.0, False)]},
         1: {0: [(1.0, 1, 2.0, False)], 1: [(1.0, 1, 10.0, True)]}}
    return from_gym_table(P)


def optimal_actions(mdp, V, gamma, tol=1e-8):
    """(S, A) bool: the actions whose Q-value is within tol of the best."""
    Q = bellman_backup(mdp, V, gamma)
    return Q >= Q.max(axis=1, keepdims=True) - tol


# ---------------------------------------------------------------------------------------------
# From Gymnasium tables
# ---------------------------------------------------------------------------------------------


def test_from_gym_table_frozenlake_and_cliffwalking():
    P = gym.make("FrozenLake-v1").unwrapped.P
    mdp = from_gym_table(P)
    assert (mdp.n_states, mdp.n_actions) == (16, 4)
    assert mdp.T.shape == (16, 4, 16) and mdp.R.shape == (16, 4) and mdp.T.dtype == np.float64
    for s, a in itertools.product(range(16), range(4)):
        cont = sum(p for p, _, _, d in P[s][a] if not d)
        goal = sum(p * r for p, _, r, _ in P[s][a])
        assert mdp.T[s, a].sum() == pytest.approx(cont, abs=1e-15)
        assert mdp.R[s, a] == pytest.approx(goal, abs=1e-15)
    assert mdp.T[14, 1].sum() == pytest.approx(2 / 3) and mdp.R[14, 1] == pytest.approx(1 / 3)
    assert np.all(mdp.T[[5, 7, 11, 12, 15]] == 0)            # holes and goal: absorbing

    cw = from_gym_table(gym.make("CliffWalking-v1").unwrapped.P)
    assert (cw.n_states, cw.n_actions) == (48, 4)
    assert cw.T[36, 1, 36] == 1 and cw.R[36, 1] == -100      # into the cliff: back to start
    assert cw.T[35, 2].sum() == 0 and cw.R[35, 2] == -1      # down into the goal: the end
    assert cw.T[24, 1, 25] == 1 and cw.R[24, 1] == -1


def test_from_gym_table_lists_and_explicit_sizes():
    P = [[[(0.25, 0, 1.0, False), (0.75, 1, 0.0, True)]], [[(1.0, 1, -1.0, False)]]]
    mdp = from_gym_table(P, n_states=2, n_actions=1)
    np.testing.assert_allclose(mdp.T, [[[0.25, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(mdp.R, [[0.25], [-1.0]])
    one = from_gym_table({0: {0: [(1.0, 0, 3.0, True)]}})   # 1 state, 1 action
    assert one.T.shape == (1, 1, 1) and one.R.tolist() == [[3.0]]


# ---------------------------------------------------------------------------------------------
# Backups, policy evaluation, a 2-state MDP by hand
# ---------------------------------------------------------------------------------------------


def test_bellman_backup_and_greedy_policy():
    rng = np.random.default_rng(0)
    mdp = random_mdp(rng, 5, 3)
    V = rng.normal(size=5)
    Q = bellman_backup(mdp, V, 0.7)
    for s, a in itertools.product(range(5), range(3)):
        ref = mdp.R[s, a] + 0.7 * sum(mdp.T[s, a, t] * V[t] for t in range(5))
        assert Q[s, a] == pytest.approx(ref, abs=1e-12)
    assert greedy_policy(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])).tolist() == [1, 0]
    assert greedy_policy(Q).dtype == np.int64


def test_two_state_mdp_by_hand():
    mdp = two_state_mdp()
    # γ = 0.5: ending pays 10 > 2 / (1 − 0.5) = 4, so V(1) = 10, V(0) = 1 + 0.5 · 10 = 6
    for solve in (value_iteration, policy_iteration):
        V, pi, _ = solve(mdp, 0.5)
        np.testing.assert_allclose(V, [6.0, 10.0], atol=1e-9)
        assert pi.tolist() == [1, 1]
    # γ = 0.9: staying pays 2 / (1 − 0.9) = 20 > 10, V(0) = 1 + 0.9 · 20 = 19
    for solve in (value_iteration, policy_iteration):
        V, pi, _ = solve(mdp, 0.9)
        np.testing.assert_allclose(V, [19.0, 20.0], atol=1e-8)
        assert pi.tolist() == [1, 0]
    # policy evaluation: [stay, end] at γ = 0.5 never collects anything in state 0
    np.testing.assert_allclose(policy_evaluation(mdp, np.array([0, 1]), 0.5), [0, 10])
    np.testing.assert_allclose(policy_evaluation(mdp, np.array([1, 1]), 1.0), [11, 10])
    # uniform random policy at γ = 0.5: V1 = 5 + (2 + V1/2)/2 = 8, V0 = V0/4 + (1 + 4)/2 = 10/3
    np.testing.assert_allclose(policy_evaluation(mdp, np.full((2, 2), 0.5), 0.5),
                               [10 / 3, 8], atol=1e-12)
    # γ = 0: only the immediate reward counts
    V, pi, n = value_iteration(mdp, 0.0)
    assert V.tolist() == [1.0, 10.0] and pi.tolist() == [1, 1] and n == 1


def test_policy_evaluation_solves_bellman_expectation_equation():
    rng = np.random.default_rng(1)
    for _ in range(30):
        S, A = int(rng.integers(1, 9)), int(rng.integers(1, 5))
        mdp = random_mdp(rng, S, A)
        gamma = float(rng.choice([0.0, 0.5, 0.99, 1.0]))
        det = rng.integers(0, A, size=S)
        V = policy_evaluation(mdp, det, gamma)
        rows = np.arange(S)
        resid = V - (mdp.R[rows, det] + gamma * mdp.T[rows, det] @ V)
        assert np.abs(resid).max() < 1e-10
        pi = rng.dirichlet(np.ones(A), size=S)
        V = policy_evaluation(mdp, pi, gamma)
        resid = V - ((pi * mdp.R).sum(1) + gamma * np.einsum("sa,sat,t->s", pi, mdp.T, V))
        assert np.abs(resid).max() < 1e-10


def test_gamma_zero_gives_max_immediate_reward():
    rng = np.random.default_rng(2)
    for S, A in [(1, 1), (1, 4), (6, 1), (7, 3)]:
        mdp = random_mdp(rng, S, A)
        for solve in (value_iteration, policy_iteration):
            V, pi, _ = solve(mdp, 0.0)
            np.testing.assert_allclose(V, mdp.R.max(axis=1), atol=1e-15)
            assert pi.tolist() == mdp.R.argmax(axis=1).tolist()


# ---------------------------------------------------------------------------------------------
# Value iteration and policy iteration
# ---------------------------------------------------------------------------------------------


def test_value_iteration_equals_brute_force_over_all_policies():
    rng = np.random.default_rng(3)
    for _ in range(15):
        S, A = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        mdp = random_mdp(rng, S, A)
        gamma = float(rng.choice([0.3, 0.9, 1.0]))
        all_V = np.array([policy_evaluation(mdp, np.array(p), gamma)
                          for p in itertools.product(range(A), repeat=S)])
        V_star = all_V.max(axis=0)                            # an optimal policy dominates
        V, pi, _ = value_iteration(mdp, gamma, tol=1e-12)
        np.testing.assert_allclose(V, V_star, atol=1e-9)
        np.testing.assert_allclose(policy_evaluation(mdp, pi, gamma), V_star, atol=1e-9)
        V2, pi2, _ = policy_iteration(mdp, gamma)
        np.testing.assert_allclose(V2, V_star, atol=1e-10)


@pytest.mark.parametrize("name", ["FrozenLake-v1", "FrozenLake8x8-v1"])
@pytest.mark.parametrize("slippery", [True, False])
def test_value_iteration_agrees_with_policy_iteration_on_frozenlake(name, slippery):
    mdp = from_gym_table(gym.make(name, is_slippery=slippery).unwrapped.P)
    gamma = 0.99
    V, pi, n_vi, hist = value_iteration(mdp, gamma, tol=1e-10, return_history=True)
    V2, pi2, n_pi = policy_iteration(mdp, gamma)
    assert np.abs(V - V2).max() < 1e-8                        # measured ~3e-11
    assert n_pi < 20 and len(hist) == n_vi
    # both policies are optimal (ties, e.g. in holes, may be broken differently)
    best = optimal_actions(mdp, V2, gamma)
    rows = np.arange(mdp.n_states)
    assert best[rows, pi].all() and best[rows, pi2].all()
    unique = best.sum(axis=1) == 1
    assert np.array_equal(pi[unique], pi2[unique])
    np.testing.assert_allclose(policy_evaluation(mdp, pi, gamma), V2, atol=1e-10)
    # the history is what the notebook plots: it shrinks, roughly geometrically
    assert hist[-1] * gamma / (1 - gamma) < 1e-10 and hist[-1] < hist[0]
    if slippery:
        assert V2[0] == pytest.approx(0.542 if name == "FrozenLake-v1" else 0.415, abs=1e-3)
    else:
        # shortest path: 6 (14) moves, the reward of 1 arrives on the last one
        assert V2[0] == pytest.approx(gamma ** (5 if name == "FrozenLake-v1" else 13))


def test_value_iteration_history_and_max_iter_warning():
    mdp = from_gym_table(gym.make("FrozenLake-v1").unwrapped.P)
    with pytest.warns(RuntimeWarning, match="not converged"):
        V, pi, n, hist = value_iteration(mdp, 0.99, max_iter=5, return_history=True)
    assert n == 5 and len(hist) == 5 and all(isinstance(h, float) for h in hist)


# ---------------------------------------------------------------------------------------------
# TD control on Gymnasium environments
# ---------------------------------------------------------------------------------------------


def test_q_learning_converges_to_q_star_on_deterministic_lake():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    mdp = from_gym_table(env.unwrapped.P)
    V, _, _ = value_iteration(mdp, 0.9)
    Q_star = bellman_backup(mdp, V, 0.9)
    # off-policy: a uniformly random behaviour (ε = 1) still learns Q*
    Q, returns = td_control(env, "q_learning", 3000, alpha=0.5, epsilon=1.0, gamma=0.9, rng=0)
    assert Q.shape == (16, 4) and returns.shape == (3000,)
    assert set(np.unique(returns)) <= {0.0, 1.0}
    assert np.abs(Q - Q_star).max() < 1e-3
    path = greedy_path(env, Q, 0)
    assert path[-1] == 15 and len(path) == 7                 # 6 moves, the shortest


def test_td_control_is_reproducible_and_respects_max_steps():
    env = gym.make("CliffWalking-v1")
    Q1, r1 = td_control(env, "sarsa", 20, rng=5)
    Q2, r2 = td_control(env, "sarsa", 20, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(Q1, Q2)
    np.testing.assert_array_equal(r1, r2)
    _, r3 = td_control(env, "sarsa", 20, rng=6)
    assert not np.array_equal(r1, r3)
    # each episode is cut after 3 steps: returns between 3 · (−100) and −3
    _, r = td_control(env, "q_learning", 30, rng=0, max_steps=3, epsilon=1.0)
    assert np.all(r <= -3) and np.all(r >= -300)
    # slippery FrozenLake: the env's own randomness is seeded from rng too
    lake = gym.make("FrozenLake-v1")
    a, b = (td_control(lake, "q_learning", 50, rng=1)[1] for _ in range(2))
    np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def cliff_runs():
    env = gym.make("CliffWalking-v1")
    out, seconds = {}, {}
    for method in ("sarsa", "q_learning"):
        t0 = time.perf_counter()
        runs = [td_control(env, method, 500, alpha=0.5, epsilon=0.1, rng=seed)
                for seed in range(10)]
        seconds[method] = time.perf_counter() - t0
        out[method] = (np.mean([Q for Q, _ in runs], axis=0), np.array([r for _, r in runs]))
    return env, out, seconds


def test_cliff_walking_sutton_barto_example_6_6(cliff_runs):
    env, out, seconds = cliff_runs
    cliff, edge_row = set(range(37, 47)), set(range(24, 36))
    Q_sarsa, ret_sarsa = out["sarsa"]
    Q_q, ret_q = out["q_learning"]
    # Q-learning's greedy path runs along the edge of the cliff: the optimal 13 moves
    assert greedy_path(env, Q_q, 36) == [36, *range(24, 36), 47]
    # SARSA's goes higher: up from the start, back down only in the last column
    path = greedy_path(env, Q_sarsa, 36)
    assert path[0] == 36 and path[-1] == 47 and not cliff & set(path)
    assert set(path) & edge_row == {24, 35}
    assert len(path) - 1 > 13
    # ... and SARSA earns more online under ε-greedy exploration (measured ≈ −27 vs ≈ −51)
    sarsa, qlearn = ret_sarsa[:, 100:].mean(), ret_q[:, 100:].mean()
    assert sarsa > qlearn + 10
    assert -35 < sarsa < -17 and qlearn < -40
    assert sum(seconds.values()) < 10                         # measured ~2 s on one core


# ---------------------------------------------------------------------------------------------
# greedy_path
# ---------------------------------------------------------------------------------------------


def test_greedy_path_on_a_table_and_loops():
    P = {s: {0: [(1.0, s, 0.0, False)], 1: [(1.0, s + 1, 1.0, s == 2)]} for s in range(3)}
    P[3] = {0: [(1.0, 3, 0.0, True)], 1: [(1.0, 3, 0.0, True)]}
    Q = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    assert greedy_path(P, Q, 0) == [0, 1, 2, 3]
    assert greedy_path(P, Q, 0, max_steps=2) == [0, 1, 2]
    Q[1] = [1.0, 0.0]                                         # state 1 stays put: a loop
    assert greedy_path(P, Q, 0) == [0, 1, 1]


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_bad_tables_raise_clear_errors():
    ok = {0: {0: [(1.0, 0, 0.0, True)]}}
    with pytest.raises(ValueError, match=r"probabilities of P\[0\]\[0\] must sum to 1"):
        from_gym_table({0: {0: [(0.5, 0, 0.0, True)]}})
    with pytest.raises(ValueError, match=r"next_state must be in \[0, 0\], got 3"):
        from_gym_table({0: {0: [(1.0, 3, 0.0, True)]}})
    with pytest.raises(ValueError, match="must be 4-tuples"):
        from_gym_table({0: {0: [(1.0, 0, 0.0)]}})
    with pytest.raises(ValueError, match=r"probabilities must be in \[0, 1\]"):
        from_gym_table({0: {0: [(1.5, 0, 0.0, True), (-0.5, 0, 0.0, True)]}})
    with pytest.raises(TypeError, match="terminated must be a bool"):
        from_gym_table({0: {0: [(1.0, 0, 0.0, "yes")]}})
    with pytest.raises(TypeError, match="next_state must be an int"):
        from_gym_table({0: {0: [(1.0, 0.0, 0.0, True)]}})
    with pytest.raises(ValueError, match="reward contains NaN"):
        from_gym_table({0: {0: [(1.0, 0, np.nan, True)]}})
    with pytest.raises(ValueError, match=r"P must have an entry for each of 0..1, missing \[1\]"):
        from_gym_table(ok, n_states=2)
    with pytest.raises(ValueError, match=r"P\[1\] must have an entry for each of 0..1"):
        from_gym_table({0: {0: ok[0][0], 1: ok[0][0]}, 1: {0: ok[0][0]}})
    with pytest.raises(ValueError, match="must be a non-empty list"):
        from_gym_table({0: {0: []}})
    with pytest.raises(TypeError, match="P must be a dict or list"):
        from_gym_table("table")
    with pytest.raises(ValueError, match="T must be"):
        TabularMDP(np.zeros((2, 1, 3)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="must sum to <= 1"):
        TabularMDP(np.ones((2, 1, 2)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"R must be \(S, A\) = \(2, 1\)"):
        TabularMDP(np.zeros((2, 1, 2)), np.zeros((1, 2)))


def test_dp_errors_are_clear():
    mdp = two_state_mdp()
    with pytest.raises(ValueError, match=r"with gamma = 1 .* from states \[0\] it never "
                                         r"terminates"):
        policy_evaluation(mdp, np.array([0, 1]), 1.0)
    with pytest.raises(ValueError, match="never terminates"):
        policy_iteration(mdp, 1.0)                            # starts from "stay" everywhere
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\]"):
        value_iteration(mdp, 1.5)
    with pytest.raises(TypeError, match="mdp must be a TabularMDP"):
        value_iteration({0: {}}, 0.9)
    with pytest.raises(ValueError, match=r"policy actions must be in \[0, 1\]"):
        policy_evaluation(mdp, np.array([0, 2]), 0.5)
    with pytest.raises(ValueError, match=r"policy must have shape \(2,\)"):
        policy_evaluation(mdp, np.array([0, 1, 1]), 0.5)
    with pytest.raises(TypeError, match="deterministic policy must be an int array"):
        policy_evaluation(mdp, np.array([0.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="summing to 1"):
        policy_evaluation(mdp, np.full((2, 2), 0.6), 0.5)
    with pytest.raises(ValueError, match=r"V must have shape \(2,\)"):
        bellman_backup(mdp, np.zeros(3), 0.5)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        value_iteration(mdp, 0.5, tol=0)


def test_td_errors_are_clear():
    env = gym.make("CliffWalking-v1")
    with pytest.raises(ValueError, match="method must be one of"):
        td_control(env, "expected_sarsa", 10, rng=0)
    with pytest.raises(TypeError, match="env must be a Gymnasium environment"):
        td_control(env.unwrapped.P, "sarsa", 10, rng=0)
    with pytest.raises(TypeError, match="observation_space must be a Discrete space"):
        td_control(gym.make("CartPole-v1"), "sarsa", 10, rng=0)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        td_control(env, "sarsa", 10, alpha=0.0, rng=0)
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]"):
        td_control(env, "sarsa", 10, epsilon=2.0, rng=0)
    with pytest.raises(TypeError, match="rng must be an int"):
        td_control(env, "sarsa", 10, rng="seed")
    Q = np.zeros((16, 4))
    with pytest.raises(ValueError, match="dynamics must be deterministic"):
        greedy_path(gym.make("FrozenLake-v1"), Q, 0)
    with pytest.raises(ValueError, match=r"Q must have one row per state.*S = 48"):
        greedy_path(env, Q, 36)
    with pytest.raises(ValueError, match=r"start must be in \[0, 47\]"):
        greedy_path(env, np.zeros((48, 4)), 48)
    with pytest.raises(TypeError, match="no transition table"):
        greedy_path(gym.make("CartPole-v1"), np.zeros((1, 2)), 0)
