"""course_lib.scratch.hopfield: Hebbian weights and the energy equal their explicit sums,
asynchronous recall never raises the energy and retrieves stored patterns at low load,
synchronous updates can oscillate, the measured capacity lies near 0.138 N (Amit, Gutfreund &
Sompolinsky 1985), the three-pattern mixture is a spurious fixed point, and the modern
Hopfield update retrieves in one step and equals scaled dot-product attention. Bad inputs
give clear errors."""

import numpy as np
import pytest
import torch

from course_lib.scratch.attention import scaled_dot_product_attention
from course_lib.scratch.hopfield import (
    TIE,
    RecallHistory,
    capacity_curve,
    corrupt,
    critical_load,
    energy,
    fixed_point_error,
    hebbian_weights,
    mixture_state,
    modern_hopfield_energy,
    modern_hopfield_update,
    random_patterns,
    recall,
    synchronous_step,
    update_unit,
)

TOL = 1e-12


def _net(P, N, seed):
    xi = random_patterns(P, N, np.random.default_rng(seed))
    W, b = hebbian_weights(xi)
    return xi, W, b


# ---------------------------------------------------------------------------------------------
# Storage and energy
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("P, N", [(1, 1), (1, 5), (3, 7), (10, 20), (4, 2)])
def test_hebbian_weights_equal_the_explicit_sum(P, N):
    xi = random_patterns(P, N, np.random.default_rng(P * 100 + N))
    W, b = hebbian_weights(xi)
    want = np.zeros((N, N))
    for i in range(N):
        for j in range(N):
            if i != j:
                want[i, j] = sum(xi[mu, i] * xi[mu, j] for mu in range(P)) / N
    assert W.shape == (N, N) and W.dtype == np.float64 and b.shape == (N,)
    np.testing.assert_allclose(W, want, rtol=0, atol=TOL)
    np.testing.assert_array_equal(W, W.T)
    np.testing.assert_array_equal(np.diag(W), 0.0)
    np.testing.assert_array_equal(b, 0.0)


def test_hebbian_weights_accept_integer_patterns():
    W, _ = hebbian_weights(np.array([[1, -1, 1], [-1, -1, 1]]))
    np.testing.assert_allclose(W, np.array([[0, 0, 0], [0, 0, -2], [0, -2, 0]]) / 3)


@pytest.mark.parametrize("N, M", [(1, 1), (6, 1), (9, 4)])
def test_energy_equals_the_explicit_double_sum(N, M):
    rng = np.random.default_rng(N)
    A = rng.normal(size=(N, N))
    W, b = A + A.T, rng.normal(size=N)
    S = rng.choice([-1.0, 1.0], size=(M, N))
    want = [-0.5 * sum(W[i, j] * s[i] * s[j] for i in range(N) for j in range(N))
            - sum(b[i] * s[i] for i in range(N)) for s in S]
    got = energy(S, W, b)
    assert got.shape == (M,)
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)
    e0 = energy(S[0], W, b)
    assert isinstance(e0, float) and abs(e0 - want[0]) < 1e-10


def test_random_patterns_and_corrupt():
    xi = random_patterns(4, 50, 3)
    assert xi.shape == (4, 50) and set(np.unique(xi)) == {-1.0, 1.0}
    np.testing.assert_array_equal(xi, random_patterns(4, 50, np.random.default_rng(3)))
    for f, k in [(0.0, 0), (0.1, 5), (0.2, 10), (0.5, 25), (1.0, 50)]:
        s = corrupt(xi[0], f, 0)
        assert np.sum(s != xi[0]) == k and set(np.unique(s)) <= {-1.0, 1.0}
    before = xi.copy()
    corrupt(xi[0], 0.3, 1)
    np.testing.assert_array_equal(xi, before)                  # the pattern is not modified


# ---------------------------------------------------------------------------------------------
# Dynamics
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("P, N, seed", [(3, 30, 0), (10, 50, 1), (20, 60, 2), (40, 80, 3),
                                        (2, 5, 4)])
def test_energy_never_increases_over_single_unit_updates(P, N, seed):
    xi, W, b = _net(P, N, seed)
    rng = np.random.default_rng(seed + 10)
    for start in (corrupt(xi[0], 0.3, rng), rng.choice([-1.0, 1.0], size=N)):
        s, hist = recall(start, W, b, rng=rng, record=True)
        E = np.array(hist.energies)
        assert len(E) == 1 + N * hist.sweeps
        assert np.all(np.diff(E) <= TOL), np.diff(E).max()
        assert len(hist.states) == 1 + hist.sweeps
        np.testing.assert_array_equal(hist.states[0], start)
        np.testing.assert_array_equal(hist.states[-1], s)
        if hist.converged:
            np.testing.assert_array_equal(synchronous_step(s, W, b), s)   # a fixed point
            assert abs(E[-1] - energy(s, W, b)) < 1e-9


def test_energy_descends_with_a_bias_too():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(12, 12))
    W = A + A.T
    np.fill_diagonal(W, 0.0)
    b = rng.normal(size=12)
    _, hist = recall(rng.choice([-1.0, 1.0], size=12), W, b, rng=1, record=True)
    assert np.all(np.diff(hist.energies) <= TOL) and hist.converged


@pytest.mark.parametrize("N", [100, 200])
def test_stored_patterns_are_fixed_points_at_low_load(N):
    xi, W, b = _net(int(0.05 * N), N, N)
    assert fixed_point_error(xi, W, b) == 0.0
    np.testing.assert_array_equal(synchronous_step(xi, W, b), xi)
    for mu in range(len(xi)):
        s, hist = recall(xi[mu], W, b, rng=mu)
        np.testing.assert_array_equal(s, xi[mu])
        assert hist.converged and hist.sweeps == 1 and hist.energies == []


@pytest.mark.parametrize("flip", [0.1, 0.15, 0.2])
def test_recall_from_a_corrupted_pattern_returns_it(flip):
    N = 200
    xi, W, b = _net(int(0.05 * N), N, 7)
    rng = np.random.default_rng(int(flip * 100))
    for mu in range(len(xi)):
        s, hist = recall(corrupt(xi[mu], flip, rng), W, b, rng=rng)
        np.testing.assert_array_equal(s, xi[mu])
        assert hist.converged and isinstance(hist, RecallHistory)


def test_recall_is_deterministic_given_the_seed_and_stops_at_max_sweeps():
    xi, W, b = _net(30, 60, 0)
    s0 = random_patterns(1, 60, 9)[0]
    a, _ = recall(s0, W, b, rng=4)
    c, _ = recall(s0, W, b, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a, c)
    _, hist = recall(s0, W, b, rng=4, max_sweeps=1)
    assert hist.sweeps == 1


def test_update_unit_changes_only_unit_i_and_keeps_it_on_zero_input():
    xi, W, b = _net(3, 10, 0)
    s = -xi[0]
    s[:5] = xi[0][:5]
    for i in range(10):
        new = update_unit(s, i, W, b)
        want = s.copy()
        h = W[i] @ s + b[i]
        want[i] = s[i] if abs(h) <= TIE else np.sign(h)
        np.testing.assert_array_equal(new, want)
    W0 = np.zeros((3, 3))
    s = np.array([1.0, -1.0, 1.0])
    np.testing.assert_array_equal(update_unit(s, 1, W0, np.zeros(3)), s)   # sign(0) keeps
    np.testing.assert_array_equal(synchronous_step(s, W0, np.zeros(3)), s)


def test_synchronous_updates_can_oscillate_with_period_two():
    W, b = hebbian_weights([[1, 1]])                           # W = [[0, ½], [½, 0]]
    s = np.array([1.0, -1.0])
    s1 = synchronous_step(s, W, b)
    np.testing.assert_array_equal(s1, [-1.0, 1.0])
    np.testing.assert_array_equal(synchronous_step(s1, W, b), s)      # back: a 2-cycle
    assert energy(s1, W, b) == energy(s, W, b)                 # no descent
    s_async, hist = recall(s, W, b, rng=0)                     # one at a time converges
    assert hist.converged and abs(s_async.sum()) == 2


# ---------------------------------------------------------------------------------------------
# Capacity and spurious states
# ---------------------------------------------------------------------------------------------

# Measured (seeds 0, 1, 2; loads 0.01 ... 0.25): N = 100 -> 0.14, N = 200 -> 0.14; other
# seed triples gave 0.12-0.15.
@pytest.mark.parametrize("N", [100, 200])
def test_critical_load_is_near_amit_gutfreund_sompolinsky(N):
    loads = np.round(np.arange(0.01, 0.2501, 0.01), 2)
    err = capacity_curve(N, loads, seeds=(0, 1, 2))
    assert err.shape == loads.shape and np.all((err >= 0) & (err <= 1))
    assert np.all(err[loads <= 0.06] < 0.005)                  # near-perfect at low load
    assert err[-1] > 0.03                                      # broken down at α = 0.25
    alpha_c = critical_load(loads, err)
    assert 0.10 <= alpha_c <= 0.18, alpha_c


def test_capacity_curve_points_do_not_depend_on_the_other_loads():
    a = capacity_curve(50, [0.05, 0.1, 0.2], seeds=(1,))
    b = capacity_curve(50, [0.2], seeds=(1,))
    assert a[-1] == b[0]


def test_critical_load_picks_the_first_load_above_the_threshold():
    loads = [0.1, 0.12, 0.14, 0.16]
    assert critical_load(loads, [0.0, 0.02, 0.005, 0.3]) == 0.12
    assert critical_load(loads, [0.0, 0.02, 0.005, 0.3], threshold=0.1) == 0.16
    assert np.isnan(critical_load(loads, [0.0, 0.0, 0.0, 0.0]))


def test_fixed_point_error_matches_the_crosstalk_estimate():
    # At α = 0.2 the one-step flip rate is ≈ Φ(−√5) ≈ 1.3 %; it grows with the load.
    rates = [fixed_point_error(*_net(P, 400, seed=P)) for P in (10, 80)]
    assert rates[0] < 1e-3 and 0.005 < rates[1] < 0.025, rates


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixture_of_three_patterns_is_a_spurious_fixed_point_above_the_patterns(seed):
    xi, W, b = _net(5, 100, seed)
    m = mixture_state(xi)
    np.testing.assert_array_equal(m, np.sign(xi[0] + xi[1] + xi[2]))
    assert set(np.unique(m)) == {-1.0, 1.0}
    np.testing.assert_array_equal(synchronous_step(m, W, b), m)
    s, hist = recall(m, W, b, rng=seed)
    np.testing.assert_array_equal(s, m)
    assert hist.converged and hist.sweeps == 1
    assert energy(m, W, b) > energy(xi, W, b).max()
    assert np.all(np.abs(xi[:3] @ m / 100 - 0.5) < 0.25)      # overlap ≈ ½ with each


# ---------------------------------------------------------------------------------------------
# Modern Hopfield network
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("N", [64, 100, 200])
def test_modern_hopfield_retrieves_in_one_step_with_P_5N(N):
    beta = 8 / np.sqrt(N)                                      # β = 8/√N: 1.0, 0.8, 0.57
    rng = np.random.default_rng(N)
    xi = random_patterns(5 * N, N, rng)
    X = xi.T                                                   # (N, P): patterns as columns
    mus = rng.choice(5 * N, size=10, replace=False)
    Q = np.stack([corrupt(xi[mu], 0.2, rng) for mu in mus])   # (10, N), 20 % flipped
    new = modern_hopfield_update(Q, X, beta)                   # (10, N)
    overlaps = np.sum(new * xi[mus], axis=1) / N
    assert np.all(overlaps > 0.99), overlaps
    np.testing.assert_allclose(modern_hopfield_update(Q[0], X, beta), new[0], atol=TOL)
    E0, E1 = modern_hopfield_energy(Q, X, beta), modern_hopfield_energy(new, X, beta)
    assert E0.shape == (10,) and np.all(E1 <= E0)             # the update lowers E


@pytest.mark.parametrize("N, P, M, beta", [(8, 5, 1, 0.3), (16, 40, 7, 1 / 4), (3, 2, 4, 2.0)])
def test_modern_hopfield_update_is_attention(N, P, M, beta):
    rng = np.random.default_rng(N + P)
    X = rng.normal(size=(N, P))
    xi = rng.normal(size=(M, N))
    out, cache = scaled_dot_product_attention(xi, X.T, X.T, scale=beta)
    got = modern_hopfield_update(xi, X, beta)
    np.testing.assert_allclose(got, out, rtol=1e-12, atol=1e-12)
    # and with torch's attention
    t = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(xi), torch.tensor(X.T), torch.tensor(X.T), scale=beta).numpy()
    np.testing.assert_allclose(got, t, rtol=1e-10, atol=1e-10)


def test_modern_hopfield_energy_equals_its_formula_and_is_nonnegative():
    rng = np.random.default_rng(0)
    N, P, beta = 6, 4, 0.7
    X = rng.normal(size=(N, P))
    xi = rng.normal(size=N)
    lse = np.log(np.sum(np.exp(beta * (X.T @ xi)))) / beta
    Mx = max(np.linalg.norm(X[:, mu]) for mu in range(P))
    want = -lse + 0.5 * xi @ xi + np.log(P) / beta + 0.5 * Mx ** 2
    got = modern_hopfield_energy(xi, X, beta)
    assert isinstance(got, float) and abs(got - want) < 1e-10
    assert np.all(modern_hopfield_energy(rng.normal(size=(50, N)) * 3, X, beta) >= 0)


# ---------------------------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------------------------

def test_bad_inputs_give_clear_errors():
    xi, W, b = _net(3, 10, 0)
    with pytest.raises(ValueError, match=r"hebbian_weights: patterns must hold only -1 and \+1"):
        hebbian_weights(np.array([[0, 1, 1], [1, -1, 1]]))
    with pytest.raises(ValueError, match=r"patterns must be a 2-D array"):
        hebbian_weights(np.ones(4))
    with pytest.raises(ValueError, match=r"recall: s0 must hold only -1 and \+1"):
        recall(np.full(10, 0.5), W, b)
    with pytest.raises(ValueError, match=r"recall: s0 must have N = 10 entries"):
        recall(np.ones(9), W, b)
    with pytest.raises(ValueError, match=r"energy: s must have N = 10 entries"):
        energy(np.ones((2, 11)), W, b)
    with pytest.raises(ValueError, match=r"W must be square"):
        synchronous_step(np.ones(10), np.ones((10, 9)), b)
    with pytest.raises(ValueError, match=r"b must have shape \(10,\)"):
        update_unit(np.ones(10), 0, W, np.zeros(9))
    with pytest.raises(ValueError, match=r"update_unit: i must be in \[0, 9\], got 10"):
        update_unit(np.ones(10), 10, W, b)
    with pytest.raises(ValueError, match=r"fixed_point_error: patterns must have N = 10"):
        fixed_point_error(np.ones((2, 8)), W, b)
    for f in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"corrupt: flip_fraction must be"):
            corrupt(xi[0], f, 0)
    with pytest.raises(TypeError, match=r"corrupt: rng must be an int"):
        corrupt(xi[0], 0.1, "seed")
    with pytest.raises(TypeError, match=r"recall: s0 must be a NumPy array, got a torch tensor"):
        recall(torch.ones(10), W, b)
    with pytest.raises(TypeError, match=r"hebbian_weights: patterns must be a NumPy array"):
        hebbian_weights(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"loads must be positive and increasing"):
        capacity_curve(20, [0.1, 0.05])
    with pytest.raises(ValueError, match=r"errors must have the shape of loads"):
        critical_load([0.1, 0.2], [0.0])
    with pytest.raises(ValueError, match=r"mixture_state: idx must hold an odd number"):
        mixture_state(xi, idx=(0, 1))
    with pytest.raises(ValueError, match=r"idx\[k\] must be in \[0, 2\], got 5"):
        mixture_state(xi, idx=(0, 1, 5))
    with pytest.raises(ValueError, match=r"modern_hopfield_update: xi must have N = 10 "
                                         r"entries per state to match X"):
        modern_hopfield_update(np.ones(3), xi.T, 1.0)
    with pytest.raises(ValueError, match=r"beta must be finite and > 0"):
        modern_hopfield_energy(np.ones(10), xi.T, 0.0)
    with pytest.raises(TypeError, match=r"modern_hopfield_update: X must be a NumPy array"):
        modern_hopfield_update(np.ones(10), torch.ones(10, 3), 1.0)
