"""course_lib.scratch.rbm against enumeration, torch autograd and numeric gradients."""

import itertools

import numpy as np
import pytest
import torch

from course_lib.data import load_digits
from course_lib.scratch.rbm import (
    RBMParams,
    cd_gradient,
    dbn_features,
    energy,
    exact_gradient,
    exact_log_likelihood,
    free_energy,
    free_energy_grad,
    gibbs_chain,
    gibbs_step,
    init_rbm,
    log_partition,
    p_h_given_v,
    p_v_given_h,
    pseudo_log_likelihood,
    reconstruction_error,
    sample_bernoulli,
    stack_rbms,
    train_rbm,
)

# Shapes (D, H): square, wide, tall, single units.
SHAPES = [(3, 2), (2, 4), (5, 3), (1, 1), (4, 1), (1, 3)]


def random_params(D, H, seed, scale=0.7):
    rng = np.random.default_rng(seed)
    return RBMParams(rng.normal(0, scale, (D, H)), rng.normal(0, scale, D),
                     rng.normal(0, scale, H))


def states(n):
    """All 2^n binary vectors (2^n, n)."""
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def joint_table(p):
    """Enumerated exp(−E(v, h)) over all (v, h) pairs: an array (2^D, 2^H) and the states."""
    Vs, Hs = states(p.D), states(p.H)
    E = np.array([[energy(v, h, p) for h in Hs] for v in Vs])
    return np.exp(-E), Vs, Hs


def flat(g):
    return np.concatenate([g.W.ravel(), g.b, g.c])


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)


def patterns(n_rows=40, seed=0):
    """A small structured binary dataset over 8 visible units: two noisy prototypes."""
    rng = np.random.default_rng(seed)
    protos = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1, 0, 0]], dtype=float)
    V = protos[rng.integers(0, 2, n_rows)]
    flip = rng.random(V.shape) < 0.05
    return np.where(flip, 1 - V, V)


# ------------------------------------------------------------------ energy and free energy

@pytest.mark.parametrize("D,H", SHAPES)
def test_free_energy_is_minus_log_sum_over_h(D, H):
    p = random_params(D, H, seed=D * 10 + H)
    table, Vs, _ = joint_table(p)
    np.testing.assert_allclose(free_energy(Vs, p), -np.log(table.sum(axis=1)), rtol=1e-12)
    assert isinstance(free_energy(Vs[0], p), float)


def test_energy_batches_agree_with_single_vectors():
    p = random_params(4, 3, seed=1)
    rng = np.random.default_rng(2)
    V, Hs = (rng.random((5, 4)) < 0.5) * 1.0, (rng.random((5, 3)) < 0.5) * 1.0
    E = energy(V, Hs, p)
    assert E.shape == (5,)
    want = [-(V[m] @ p.W @ Hs[m]) - p.b @ V[m] - p.c @ Hs[m] for m in range(5)]
    np.testing.assert_allclose(E, want, rtol=1e-13)
    np.testing.assert_allclose([energy(V[m], Hs[m], p) for m in range(5)], E, rtol=1e-13)


@pytest.mark.parametrize("D,H,M", [(3, 2, 1), (6, 4, 5), (1, 1, 3), (9, 2, 1), (2, 7, 4)])
def test_free_energy_grad_matches_torch_autograd(D, H, M):
    p = random_params(D, H, seed=D + H + M)
    V = (np.random.default_rng(M).random((M, D)) < 0.5) * 1.0
    W, b, c = (torch.tensor(a, requires_grad=True) for a in (p.W, p.b, p.c))
    Vt = torch.tensor(V)
    F = -Vt @ b - torch.nn.functional.softplus(Vt @ W + c).sum(1)
    F.mean().backward()
    g = free_energy_grad(V, p)
    np.testing.assert_allclose(free_energy(V, p), F.detach().numpy(), rtol=1e-12)
    for mine, ref in ((g.W, W.grad), (g.b, b.grad), (g.c, c.grad)):
        assert rel_err(mine, ref.numpy()) <= 1e-10


def test_free_energy_is_stable_for_large_weights():
    p = RBMParams(np.full((3, 2), 400.0), np.zeros(3), np.full(2, -300.0))
    F = free_energy(np.ones((1, 3)), p)
    np.testing.assert_allclose(F, [-2 * 900.0], rtol=1e-12)


# ------------------------------------------------------------------ conditionals and sampling

@pytest.mark.parametrize("D,H", [(3, 2), (2, 3), (4, 1)])
def test_conditionals_equal_ratios_of_the_joint(D, H):
    p = random_params(D, H, seed=7 + D)
    table, Vs, Hs = joint_table(p)
    p_h = table / table.sum(axis=1, keepdims=True)          # p(h | v), rows are v
    marg_h = p_h @ Hs                                       # (2^D, H): p(h_j = 1 | v)
    np.testing.assert_allclose(p_h_given_v(Vs, p), marg_h, rtol=1e-12)
    p_v = table / table.sum(axis=0, keepdims=True)          # p(v | h), columns are h
    np.testing.assert_allclose(p_v_given_h(Hs, p), p_v.T @ Vs, rtol=1e-12)
    assert p_h_given_v(Vs[1], p).shape == (H,)
    assert p_v_given_h(Hs[0], p).shape == (D,)


def test_sample_bernoulli_frequencies_and_values():
    rng = np.random.default_rng(0)
    p = np.array([0.0, 0.2, 0.9, 1.0])
    S = sample_bernoulli(np.tile(p, (20000, 1)), rng)
    assert set(np.unique(S)) <= {0.0, 1.0}
    np.testing.assert_allclose(S.mean(axis=0), p, atol=0.01)


def test_gibbs_step_and_chain_shapes_and_values():
    p = random_params(6, 4, seed=3)
    rng = np.random.default_rng(0)
    V = (rng.random((5, 6)) < 0.5) * 1.0
    v1, h, ph = gibbs_step(V, p, rng)
    assert v1.shape == (5, 6) and h.shape == (5, 4) and ph.shape == (5, 4)
    assert set(np.unique(v1)) <= {0.0, 1.0} and set(np.unique(h)) <= {0.0, 1.0}
    np.testing.assert_allclose(ph, p_h_given_v(V, p))
    chain = gibbs_chain(V, p, steps=10, rng=rng, every=3)
    assert chain.shape == (4, 5, 6)                          # steps 0, 3, 6, 9
    np.testing.assert_array_equal(chain[0], V)
    assert set(np.unique(chain)) <= {0.0, 1.0}
    single = gibbs_chain(V[0], p, steps=4, rng=rng)
    assert single.shape == (5, 6)
    assert gibbs_step(V[0], p, rng)[0].shape == (6,)


def test_long_gibbs_chain_reaches_the_model_distribution():
    p = random_params(3, 2, seed=11, scale=1.0)
    table, Vs, _ = joint_table(p)
    p_v = table.sum(axis=1) / table.sum()
    chain = gibbs_chain(np.zeros((200, 3)), p, steps=60, rng=np.random.default_rng(0))
    tail = chain[20:].reshape(-1, 3)                         # (41 * 200, 3)
    codes = (tail * 2 ** np.arange(3)[::-1]).sum(1).astype(int)
    freq = np.bincount(codes, minlength=8) / len(codes)
    np.testing.assert_allclose(freq, p_v, atol=0.02)


# ------------------------------------------------------------------ exact quantities

@pytest.mark.parametrize("D,H", SHAPES)
def test_log_partition_and_probabilities_sum_to_one(D, H):
    p = random_params(D, H, seed=5 * D + H)
    table, Vs, _ = joint_table(p)
    np.testing.assert_allclose(log_partition(p), np.log(table.sum()), rtol=1e-12)
    probs = [np.exp(exact_log_likelihood(v, p)) for v in Vs]
    np.testing.assert_allclose(np.sum(probs), 1.0, rtol=1e-12)


@pytest.mark.parametrize("D,H", [(3, 2), (2, 4), (4, 4), (1, 2)])
def test_exact_gradient_matches_central_differences(D, H):
    p = random_params(D, H, seed=D * H)
    V = (np.random.default_rng(D).random((6, D)) < 0.5) * 1.0
    g = exact_gradient(V, p)
    eps = 1e-5
    for name in ("W", "b", "c"):
        arr = getattr(p, name)
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = exact_log_likelihood(V, p)
            arr[idx] = old - eps
            down = exact_log_likelihood(V, p)
            arr[idx] = old
            num[idx] = (up - down) / (2 * eps)
        assert rel_err(getattr(g, name), num) <= 1e-6, name


def test_cd1_points_uphill_on_average():
    V = patterns()
    p = init_rbm(8, 4, np.random.default_rng(0), scale=0.1)
    exact = exact_gradient(V, p)
    rng = np.random.default_rng(1)
    draws = [flat(cd_gradient(V, p, rng, k=1)[0]) for _ in range(200)]
    dots = np.array(draws) @ flat(exact)
    assert np.mean(dots) > 0
    assert np.mean(dots > 0) > 0.9


def test_pcd_returns_the_chain_to_pass_back():
    V = patterns()
    p = init_rbm(8, 4, 0)
    rng = np.random.default_rng(0)
    chain = (rng.random((7, 8)) < 0.5) * 1.0
    g, new = cd_gradient(V, p, rng, k=2, persistent=chain)
    assert new.shape == (7, 8) and g.W.shape == (8, 4)
    _, cd_chain = cd_gradient(V, p, rng)
    assert cd_chain.shape == V.shape


@pytest.mark.parametrize("k,persistent", [(1, False), (5, False), (1, True)])
def test_training_raises_the_exact_log_likelihood(k, persistent):
    V = patterns(60)
    before = exact_log_likelihood(V, init_rbm(8, 4, 0, data=V))
    p, hist = train_rbm(V, 4, epochs=30, batch_size=10, lr=0.5, k=k, persistent=persistent,
                        rng=0)
    after = exact_log_likelihood(V, p)
    assert after > before + 1.0, (before, after)       # about -3.45 -> -1.8
    assert len(hist["recon_error"]) == 30


def test_training_reconstruction_error_falls_on_digits():
    ds = load_digits(seed=0)
    V = (ds.X_train[:300].reshape(300, -1) > 0.5) * 1.0     # pixels in [0, 1] -> binary
    seen = []
    p, hist = train_rbm(V, 16, epochs=5, batch_size=20, lr=0.1, momentum=0.5, rng=0,
                        callback=lambda epoch, params: seen.append(epoch))
    assert seen == [0, 1, 2, 3, 4]
    assert reconstruction_error(V, p) < 0.8 * reconstruction_error(V, init_rbm(64, 16, 0))
    assert hist["recon_error"][-1] < hist["recon_error"][0]


def test_training_is_reproducible_with_a_seed():
    V = patterns()
    a, ha = train_rbm(V, 3, epochs=3, batch_size=8, lr=0.1, persistent=True, rng=4)
    b, hb = train_rbm(V, 3, epochs=3, batch_size=8, lr=0.1, persistent=True, rng=4)
    np.testing.assert_array_equal(a.W, b.W)
    assert ha == hb
    c, _ = train_rbm(V, 3, epochs=3, batch_size=8, lr=0.1, persistent=True, rng=5)
    assert not np.array_equal(a.W, c.W)


# ------------------------------------------------------------------ pseudo-likelihood

def test_pseudo_log_likelihood_matches_its_definition():
    p = random_params(4, 3, seed=2)
    table, Vs, _ = joint_table(p)
    p_v = table.sum(axis=1)                                  # unnormalised p(v)
    index = {tuple(v): i for i, v in enumerate(Vs)}
    V = Vs[[1, 5, 6, 15]]
    want = []
    for v in V:
        total = 0.0
        for i in range(4):
            other = v.copy()
            other[i] = 1 - other[i]
            num = p_v[index[tuple(v)]]
            total += np.log(num / (num + p_v[index[tuple(other)]]))
        want.append(total)
    np.testing.assert_allclose(pseudo_log_likelihood(V, p, all_units=True), np.mean(want),
                               rtol=1e-12)
    # the stochastic estimate is unbiased: average it over many seeds
    est = np.mean([pseudo_log_likelihood(V, p, rng=s) for s in range(600)])
    np.testing.assert_allclose(est, np.mean(want), rtol=0.05)
    assert pseudo_log_likelihood(V, p) == pseudo_log_likelihood(V, p, rng=0)


# ------------------------------------------------------------------ init and DBN

def test_init_rbm_shapes_and_data_biases():
    V = patterns()
    p = init_rbm(8, 5, 0, scale=0.01, data=V)
    assert p.W.shape == (8, 5) and p.b.shape == (8,) and p.c.shape == (5,)
    assert p.W.dtype == np.float64 and np.all(p.c == 0)
    np.testing.assert_allclose(1 / (1 + np.exp(-p.b)), np.clip(V.mean(0), 1e-3, 1 - 1e-3))
    assert np.all(init_rbm(3, 2, 0).b == 0)


def test_dbn_shapes():
    V = patterns(30)
    stack = stack_rbms(V, (5, 3), epochs=2, batch_size=10, lr=0.1, rng=0)
    assert [s.W.shape for s in stack] == [(8, 5), (5, 3)]
    feats = dbn_features(V, stack)
    assert feats.shape == (30, 3) and np.all((feats > 0) & (feats < 1))
    assert dbn_features(V[0], stack).shape == (3,)


# ------------------------------------------------------------------ bad inputs

def test_bad_inputs_raise_clear_errors():
    p = random_params(4, 3, seed=0)
    V = np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"v must be binary"):
        energy(np.full(4, 0.5), np.zeros(3), p)
    with pytest.raises(ValueError, match=r"V must be binary"):
        exact_log_likelihood(np.full((2, 4), 0.3), p)
    with pytest.raises(ValueError, match=r"must be \(D,\) or \(M, D\) with D = 4"):
        free_energy(np.zeros((2, 5)), p)
    with pytest.raises(ValueError, match=r"must be a 1-D or 2-D array"):
        p_h_given_v(np.zeros((2, 2, 4)), p)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        train_rbm(np.full((3, 4), 2.0), 2, epochs=1, batch_size=2, lr=0.1, rng=0)
    with pytest.raises(ValueError, match=r"same size M"):
        energy(V, np.zeros((3, 3)), p)
    with pytest.raises(TypeError, match=r"torch tensor"):
        free_energy(torch.zeros(2, 4), p)
    with pytest.raises(TypeError, match=r"params must be an RBMParams"):
        free_energy(V, {"W": p.W})
    with pytest.raises(ValueError, match=r"b must be \(4,\) and c \(3,\)"):
        RBMParams(p.W, np.zeros(3), p.c)
    big = RBMParams(np.zeros((22, 21)), np.zeros(22), np.zeros(21))
    with pytest.raises(ValueError, match=r"exact enumeration needs min\(D, H\) <= 20"):
        log_partition(big)
    with pytest.raises(TypeError, match=r"rng must be a numpy Generator"):
        cd_gradient(V, p, rng=0)
    with pytest.raises(ValueError, match=r"k must be in \[1, inf\]"):
        cd_gradient(V, p, np.random.default_rng(0), k=0)
    with pytest.raises(ValueError, match=r"persistent must be binary"):
        cd_gradient(V, p, np.random.default_rng(0), persistent=np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        train_rbm(V, 2, epochs=1, batch_size=2, lr=0.1, rng=0, momentum=1.0)
    with pytest.raises(ValueError, match=r"lr must be finite and > 0"):
        train_rbm(V, 2, epochs=1, batch_size=2, lr=0.0, rng=0)
    with pytest.raises(ValueError, match=r"hidden_sizes must be a non-empty"):
        stack_rbms(V, [], epochs=1, batch_size=2, lr=0.1, rng=0)
