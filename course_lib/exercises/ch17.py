"""Checks for the exercises of chapter 17 (Reinforcement learning and game search).

    from course_lib.exercises import ch17
    ch17.check_ucb1_choice(my_ucb1)

Each check runs the learner's function on seeded random inputs against the reference in
``course_lib.scratch.bandits`` (UCB1), ``course_lib.scratch.mdp`` (a Bellman backup),
``course_lib.scratch.mcts`` (the UCT score) or ``course_lib.torch_ref.rl`` (the REINFORCE
surrogate loss). The inputs include the edge cases: untried arms, ties, γ = 0, one state or one
action, an unvisited child.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch import bandits, mcts, mdp

__all__ = ["check_ucb1_choice", "check_bellman_backup", "check_uct_score",
           "check_reinforce_loss"]


def _ucb_inputs(rng: np.random.Generator):
    k = int(rng.integers(1, 8))
    counts = rng.integers(1, 60, size=k)                    # some arms well known, some not
    values = rng.normal(scale=0.5, size=k)
    if rng.random() < 0.3:                                  # an untried arm
        j = int(rng.integers(k))
        counts[j], values[j] = 0, 0.0
    if k > 1 and rng.random() < 0.3:                        # a tie between two arms
        counts[1], values[1] = counts[0], values[0]
    return counts, values, int(counts.sum()) + 1


def check_ucb1_choice(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(counts, values, t) -> int``: the arm maximising
    values + sqrt(2 ln t / counts), untried arms (count 0) first, ties to the lowest index."""
    return check_function(
        fn, lambda c, v, t: bandits.ucb1_choice(c, v, t), _ucb_inputs, name="UCB1 choice",
        trials=12, rtol=0, atol=0, strict=strict,
        hint="score = values + np.sqrt(2 * np.log(t) / counts); an arm with count 0 has an "
             "infinite score (compute the scores only where counts > 0, or use np.inf); "
             "np.argmax returns the first maximum, which is the lowest index on ties")


def _backup_inputs(rng: np.random.Generator):
    S, A = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    T = rng.random((S, A, S)) * (rng.random((S, A, 1)) < 0.8)   # some (s, a) terminate
    T = T / np.maximum(T.sum(-1, keepdims=True), 1e-12) * rng.uniform(0.5, 1, (S, A, 1))
    R = rng.normal(size=(S, A))
    V = rng.normal(size=S)
    gamma = float(rng.choice([0.0, 0.5, 0.9, 1.0]))
    return T, R, V, gamma


def check_bellman_backup(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(T, R, V, gamma) -> (S, A)``: Q(s, a) = R(s, a) + γ Σ_s' T(s, a, s') V(s')
    for T (S, A, S) (the probabilities of going on to s'; what is missing from 1 ends the
    episode), R (S, A), V (S,)."""
    return check_function(
        fn, lambda T, R, V, g: mdp.bellman_backup(mdp.TabularMDP(T, R), V, g), _backup_inputs,
        name="Bellman backup", trials=10, rtol=1e-10, atol=1e-12, strict=strict,
        hint="T @ V contracts the last axis of T (S, A, S) with V (S,) and gives (S, A); then "
             "Q = R + gamma * (T @ V). Do not take the max over actions here: that is the "
             "next step of value iteration")


def _uct_inputs(rng: np.random.Generator):
    n_parent = int(rng.integers(1, 200))
    n = 0 if rng.random() < 0.25 else int(rng.integers(1, n_parent + 1))   # 0: unvisited
    return float(rng.uniform(-1, 1)), n, n_parent, float(rng.choice([0.5, np.sqrt(2), 2.0]))


def check_uct_score(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(q, n, n_parent, c) -> float``: the UCT score q + c sqrt(ln n_parent / n) of a
    child visited n times with mean value q, +inf when n = 0."""
    return check_function(
        fn, lambda q, n, npar, c: float(mcts.uct_score(q, n, npar, c)), _uct_inputs,
        name="UCT score", trials=12, rtol=1e-12, atol=1e-12, strict=strict,
        hint="q + c * math.sqrt(math.log(n_parent) / n); return math.inf when n == 0 (an "
             "unvisited child is always tried first); the log is of the parent's count, the "
             "division by the child's")


def _loss_inputs(rng: np.random.Generator):
    import torch

    T, K = int(rng.integers(1, 9)), int(rng.integers(2, 5))
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31)))
    logits = torch.randn(T, K, generator=gen, dtype=torch.float64) * 3
    actions = torch.as_tensor(rng.integers(0, K, size=T))
    weights = torch.as_tensor(rng.normal(size=T) * 5)
    return logits, actions, weights


def _reference_loss(logits, actions, weights):
    import torch

    from course_lib.torch_ref.rl import reinforce_loss

    return reinforce_loss(torch.nn.Identity(), logits, actions, weights)


def check_reinforce_loss(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(logits, actions, weights) -> scalar tensor``: −Σ_t log π(a_t | s_t) w_t for
    logits (T, K) of the policy at the visited states, actions (T,) int64 and weights (T,)
    (returns or advantages)."""
    return check_function(
        fn, _reference_loss, _loss_inputs, name="REINFORCE loss", trials=10, rtol=1e-10,
        atol=1e-12, strict=strict,
        hint="torch.log_softmax(logits, dim=-1) gives log π for every action (stable; not "
             "log(softmax)); pick the taken ones with .gather(1, actions[:, None]) or "
             "[torch.arange(T), actions]; multiply by the weights, sum over t and put a minus "
             "sign in front (we minimise the loss to climb the return)")
