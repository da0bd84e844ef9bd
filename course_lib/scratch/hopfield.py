"""Hopfield networks, classical and modern, from scratch (NumPy only).

**The classical network** (Hopfield 1982, "Neural networks and physical systems with emergent
collective computational abilities", PNAS 79:2554). N binary units s_i ∈ {−1, +1}, symmetric
weights W (N, N) with a zero diagonal and biases b (N,). The energy

    E(s) = −½ sᵀ W s − bᵀ s = −½ Σ_{i≠j} W_ij s_i s_j − Σ_i b_i s_i

never increases under **asynchronous** updates, one unit at a time:

    h_i = Σ_j W_ij s_j + b_i,      s_i ← sign(h_i)      (sign(0): s_i keeps its value)

because flipping s_i changes the energy by ΔE = −(s_i' − s_i) h_i ≤ 0 (W symmetric, W_ii = 0).
E is bounded below and the states are finite, so the dynamics stop at a local minimum: a
fixed point. **Synchronous** updates (all units at once, s ← sign(W s + b)) have no such
guarantee: they may end in a 2-cycle, s → s' → s (a hand-built case: W = [[0, 1], [1, 0]],
s = (+1, −1) swaps forever).

**Hebbian storage** of P patterns ξ^μ ∈ {±1}^N ("fire together, wire together")::

    W = (1/N) Σ_μ ξ^μ ξ^μᵀ,  with the diagonal set to 0,     b = 0

The input to unit i at a stored pattern ξ^ν is ξ^ν_i (signal) plus crosstalk from the other
patterns, of variance ≈ P/N. Random patterns stay retrievable up to the load α = P/N ≈ 0.138
(Amit, Gutfreund & Sompolinsky 1985, "Storing infinite numbers of patterns in a spin-glass
model of neural networks", PRL 55:1530); there the retrieval error jumps from ≈ 1.6 % to
near 50 %. Besides the patterns, the energy has **spurious minima**, e.g. the mixture
sign(ξ¹ + ξ² + ξ³), which lie above the stored patterns (Hertz, Krogh & Palmer 1991,
"Introduction to the theory of neural computation", ch. 2).

**The modern (dense) Hopfield network** (Ramsauer et al. 2020, "Hopfield networks is all you
need", arXiv:2008.02217) stores P patterns as the columns of X (N, P) and has a continuous
state ξ (N,), with lse(β, z) = β⁻¹ log Σ_μ exp(β z_μ) and M = max_μ ‖x_μ‖::

    E(ξ) = −lse(β, Xᵀ ξ) + ½ ξᵀ ξ + β⁻¹ log P + ½ M²
    ξ ← X softmax(β Xᵀ ξ)

The update (the concave–convex procedure on E) typically retrieves a pattern in one step and
stores exponentially many patterns in N. With the query ξ as a row, it **is attention**:
keys = values = the stored patterns (rows of Xᵀ) and the score scale β instead of 1/√d::

    ξ_newᵀ = softmax(β ξᵀ X) Xᵀ = scaled_dot_product_attention(Q=ξᵀ, K=Xᵀ, V=Xᵀ, scale=β)

Usage::

    rng = np.random.default_rng(0)
    patterns = random_patterns(5, 100, rng)                  # (P, N) of ±1
    W, b = hebbian_weights(patterns)                         # (N, N), (N,)
    s0 = corrupt(patterns[0], 0.2, rng)                      # 20 of the 100 bits flipped
    s, hist = recall(s0, W, b, rng=rng, record=True)         # hist.energies never increase
    np.array_equal(s, patterns[0]), hist.converged           # True, True

    loads = np.arange(0.01, 0.26, 0.01)
    err = capacity_curve(200, loads, seeds=(0, 1, 2))        # (25,) bit errors after recall
    critical_load(loads, err)                                # ≈ 0.14

    X = patterns.T                                           # (N, P): patterns as columns
    xi = modern_hopfield_update(s0, X, beta=0.5)             # ≈ patterns[0] after one step
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from course_lib.scratch.functional import logsumexp, softmax
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_rng,
    check_fraction,
    check_int,
    check_positive,
)

__all__ = [
    "hebbian_weights", "energy", "update_unit", "RecallHistory", "recall", "synchronous_step",
    "corrupt", "random_patterns", "fixed_point_error", "capacity_curve", "critical_load",
    "mixture_state", "modern_hopfield_update", "modern_hopfield_energy", "TIE",
]


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------

def _check_pm1(x, where: str, name: str, ndim) -> np.ndarray:
    """A float64 array of only −1 and +1 entries."""
    x = as_array(x, where, name, ndim=ndim)
    bad = (x != 1) & (x != -1)
    if np.any(bad):
        raise ValueError(f"{where}: {name} must hold only -1 and +1, got the value "
                         f"{x[bad].flat[0]!r} (use 2 * bits - 1 to map {{0, 1}} to {{-1, +1}})")
    return x.astype(np.float64)


def _check_net(W, b, where: str) -> tuple[np.ndarray, np.ndarray]:
    """W a finite square (N, N) matrix and b finite (N,), both float64."""
    W = as_float_array(W, where, "W", ndim=2, finite=True, dtype=np.float64)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"{where}: W must be square (N, N), got shape {W.shape}")
    b = as_float_array(b, where, "b", ndim=1, finite=True, dtype=np.float64)
    if b.shape != (W.shape[0],):
        raise ValueError(f"{where}: b must have shape ({W.shape[0]},) to match W {W.shape}, "
                         f"got {b.shape}")
    return W, b


def _check_states(s, N: int, where: str, name: str = "s") -> np.ndarray:
    """±1 states (N,) or a batch (M, N) for a network of N units."""
    s = _check_pm1(s, where, name, ndim=(1, 2))
    if s.shape[-1] != N:
        raise ValueError(f"{where}: {name} must have N = {N} entries per state to match W, "
                         f"got shape {s.shape}")
    return s


#: Inputs with |h| ≤ TIE count as exactly 0. Hebbian inputs are multiples of 1/N, and a
#: true 0 can come out as ±1e-17 depending on the order of the sum (W[i] @ s vs s @ W.T).
TIE = 1e-9


def _sign_keep(h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """sign(h), with s where h = 0 (|h| ≤ TIE): a unit with zero input keeps its state."""
    return np.where(h > TIE, 1.0, np.where(h < -TIE, -1.0, s))


# ---------------------------------------------------------------------------------------------
# 1. Storage and energy
# ---------------------------------------------------------------------------------------------

def random_patterns(P: int, N: int, rng) -> np.ndarray:
    """P random patterns of N independent, equally likely ±1 bits.

    Args:
        P, N: number and length of the patterns (≥ 1).
        rng: a ``np.random.Generator`` or an int seed.

    Returns:
        (P, N) float64 array of ±1.
    """
    where = "random_patterns"
    P, N = check_int(P, where, "P", low=1), check_int(N, where, "N", low=1)
    return as_rng(rng, where, "rng").choice(np.array([-1.0, 1.0]), size=(P, N))


def hebbian_weights(patterns) -> tuple[np.ndarray, np.ndarray]:
    """Hebb's rule (Hopfield 1982): W = (1/N) Σ_μ ξ^μ ξ^μᵀ with a zero diagonal, b = 0.

    Args:
        patterns: (P, N) array of ±1, one pattern ξ^μ per row.

    Returns:
        W (N, N) float64, symmetric with zero diagonal, and b (N,) float64 zeros.
    """
    xi = _check_pm1(patterns, "hebbian_weights", "patterns", ndim=2)   # (P, N)
    N = xi.shape[1]
    W = xi.T @ xi / N                                                  # (N, N)
    np.fill_diagonal(W, 0.0)                                           # no self-coupling
    return W, np.zeros(N)


def energy(s, W, b) -> float | np.ndarray:
    """E(s) = −½ sᵀ W s − bᵀ s, for one state or a batch.

    Args:
        s: (N,) or (M, N) real states (usually ±1; any finite values are accepted).
        W: (N, N) weights. b: (N,) biases.

    Returns:
        A float for s (N,), or (M,) float64 energies for a batch.
    """
    where = "energy"
    W, b = _check_net(W, b, where)
    s = as_float_array(s, where, "s", ndim=(1, 2), finite=True, dtype=np.float64)
    if s.shape[-1] != W.shape[0]:
        raise ValueError(f"{where}: s must have N = {W.shape[0]} entries per state to match W, "
                         f"got shape {s.shape}")
    E = -0.5 * np.sum((s @ W) * s, axis=-1) - s @ b                    # () or (M,)
    return float(E) if s.ndim == 1 else E


# ---------------------------------------------------------------------------------------------
# 2. Dynamics: asynchronous (energy descent) and synchronous (may oscillate)
# ---------------------------------------------------------------------------------------------

def update_unit(s, i: int, W, b) -> np.ndarray:
    """One asynchronous update of unit i: s_i ← sign(W_i · s + b_i); other units unchanged.

    sign(0) keeps the current value of s_i, so a unit with zero input never flips (this keeps
    the energy from rising and makes a fixed point well defined). Inputs with |h_i| ≤ ``TIE``
    (1e-9) count as 0, so that rounding cannot decide a tie.

    Args:
        s: (N,) state of ±1. i: the unit, in [0, N). W: (N, N). b: (N,).

    Returns:
        A new (N,) float64 state (``s`` is not modified).
    """
    where = "update_unit"
    W, b = _check_net(W, b, where)
    s = _check_states(s, W.shape[0], where)
    if s.ndim != 1:
        raise ValueError(f"{where}: s must be one state (N,), got shape {s.shape}")
    i = check_int(i, where, "i", low=0, high=W.shape[0] - 1)
    s_new = s.copy()
    s_new[i] = _sign_keep(W[i] @ s + b[i], s[i])
    return s_new


@dataclass
class RecallHistory:
    """What :func:`recall` saw. ``energies``: E after every single-unit update, with E(s0)
    first (only with ``record=True``); ``states``: the (N,) state after every sweep, s0
    first (only with ``record=True``); ``converged``: a full sweep changed nothing;
    ``sweeps``: number of sweeps run (the last, unchanged one included)."""

    energies: list[float] = field(default_factory=list)
    states: list[np.ndarray] = field(default_factory=list)
    converged: bool = False
    sweeps: int = 0


def recall(s0, W, b, *, max_sweeps: int = 20, rng=None, record: bool = False
           ) -> tuple[np.ndarray, RecallHistory]:
    """Asynchronous recall: sweep over the units in a fresh random order, updating one at a
    time (as :func:`update_unit`), until a whole sweep changes nothing or ``max_sweeps``.

    For symmetric W with W_ii ≥ 0 every single update lowers E or leaves it unchanged.

    Args:
        s0: (N,) start state of ±1 (e.g. a corrupted pattern).
        W: (N, N) weights. b: (N,) biases.
        max_sweeps: the most sweeps to run (≥ 1).
        rng: a ``np.random.Generator`` or an int seed for the update orders (None: seed 0).
        record: keep the energy after every update and the state after every sweep.

    Returns:
        s (N,) float64 final state, and a :class:`RecallHistory`.
    """
    where = "recall"
    W, b = _check_net(W, b, where)
    s = _check_states(s0, W.shape[0], where, "s0").copy()
    if s.ndim != 1:
        raise ValueError(f"{where}: s0 must be one state (N,), got shape {s.shape}")
    max_sweeps = check_int(max_sweeps, where, "max_sweeps", low=1)
    rng = as_rng(0 if rng is None else rng, where, "rng")
    hist = RecallHistory()
    if record:
        hist.energies.append(energy(s, W, b))
        hist.states.append(s.copy())
    for _ in range(max_sweeps):
        hist.sweeps += 1
        before = s.copy()
        for i in rng.permutation(len(s)):
            s[i] = _sign_keep(W[i] @ s + b[i], s[i])
            if record:
                hist.energies.append(energy(s, W, b))
        if record:
            hist.states.append(s.copy())
        if np.array_equal(s, before):               # a unit flipped in a sweep stays flipped
            hist.converged = True
            break
    return s, hist


def synchronous_step(s, W, b) -> np.ndarray:
    """All units at once: s ← sign(W s + b) (sign(0) keeps the unit's value).

    Unlike asynchronous updates this need not lower the energy and can oscillate with period
    2 (s → s' → s): with W = [[0, 1], [1, 0]], b = 0, the state (+1, −1) becomes (−1, +1)
    and back, forever.

    Args:
        s: (N,) or a batch (M, N) of ±1 states. W: (N, N). b: (N,).

    Returns:
        New float64 states, shaped like s.
    """
    where = "synchronous_step"
    W, b = _check_net(W, b, where)
    s = _check_states(s, W.shape[0], where)
    return _sign_keep(s @ W.T + b, s)                                  # (N,) or (M, N)


def corrupt(pattern, flip_fraction: float, rng) -> np.ndarray:
    """A copy of ``pattern`` with exactly round(flip_fraction · N) entries, chosen at random
    without repetition, flipped (Python's ``round``: halves go to the even number).

    Args:
        pattern: (N,) of ±1. flip_fraction: in [0, 1].
        rng: a ``np.random.Generator`` or an int seed.

    Returns:
        (N,) float64 state of ±1.
    """
    where = "corrupt"
    s = _check_pm1(pattern, where, "pattern", ndim=1).copy()
    f = check_fraction(flip_fraction, where, "flip_fraction")
    idx = as_rng(rng, where, "rng").choice(len(s), size=round(f * len(s)), replace=False)
    s[idx] *= -1
    return s


# ---------------------------------------------------------------------------------------------
# 3. Capacity
# ---------------------------------------------------------------------------------------------

def fixed_point_error(patterns, W, b) -> float:
    """The fraction of bits that ONE synchronous step from each stored pattern flips.

    0 means every pattern is a fixed point (no bit has input of the wrong sign). For Hebbian
    weights this is ≈ Φ(−√(N/P)) (the crosstalk is ≈ Gaussian with variance P/N).

    Args:
        patterns: (P, N) of ±1. W: (N, N). b: (N,).

    Returns:
        A float in [0, 1], averaged over all P·N bits.
    """
    where = "fixed_point_error"
    W, b = _check_net(W, b, where)
    xi = _check_states(patterns, W.shape[0], where, "patterns")
    return float(np.mean(synchronous_step(xi, W, b) != xi))


def _recall_batch(S: np.ndarray, W: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                  max_sweeps: int) -> np.ndarray:
    """Asynchronous recall of M states (M, N) at once: in each sweep unit i is updated in all
    M states together, in one shared random order (each state follows exactly the dynamics of
    :func:`recall`). Stops when a sweep changes no state; returns the final (M, N) states."""
    S = S.copy()
    for _ in range(max_sweeps):
        before = S.copy()
        for i in rng.permutation(S.shape[1]):
            S[:, i] = _sign_keep(S @ W[i] + b[i], S[:, i])             # (M,)
        if np.array_equal(S, before):               # each unit moves at most once a sweep
            break
    return S


def capacity_curve(N: int, loads, *, seeds: Sequence[int] = (0, 1, 2),
                   max_sweeps: int = 20) -> np.ndarray:
    """The retrieval bit error of a Hebbian network of N units as a function of its load.

    For each load α and each seed: draw P = max(1, round(α N)) random patterns, build
    :func:`hebbian_weights`, run asynchronous recall (as :func:`recall`, at most
    ``max_sweeps`` sweeps) started AT each stored pattern, and count the fraction of bits
    of the final states that differ from the pattern. The curve is the mean over patterns,
    bits and seeds. This is the quantity of Amit, Gutfreund & Sompolinsky (1985): the error
    of the retrieval state, small (≤ 1.6 %) below α ≈ 0.138 and jumping up above it. In
    small networks (N = 100-200, ≤ 20 sweeps) the rise is gradual and noisy: the error
    first passes 1 % at α ≈ 0.12-0.15 and is only ≈ 5-15 % at α = 0.25.

    Each (seed, N, P) gets its own Generator ``np.random.default_rng((seed, N, P))``, for the
    patterns and for the update order, so a point does not depend on the other loads.

    Args:
        N: number of units (≥ 2).
        loads: (L,) increasing loads α = P/N, > 0.
        seeds: non-negative int seeds to average over.
        max_sweeps: sweeps per recall.

    Returns:
        (L,) float64 mean bit-error fractions, in [0, 1].
    """
    where = "capacity_curve"
    N = check_int(N, where, "N", low=2)
    loads = _check_loads(loads, where)
    seeds = [check_int(sd, where, "seeds[k]", low=0) for sd in seeds]
    if not seeds:
        raise ValueError(f"{where}: seeds must hold at least one seed, got none")
    max_sweeps = check_int(max_sweeps, where, "max_sweeps", low=1)
    errors = np.zeros(len(loads))
    for k, alpha in enumerate(loads):
        P = max(1, round(alpha * N))
        for sd in seeds:
            rng = np.random.default_rng((sd, N, P))
            xi = random_patterns(P, N, rng)                            # (P, N)
            W, b = hebbian_weights(xi)
            S = _recall_batch(xi, W, b, rng, max_sweeps)               # (P, N)
            errors[k] += np.mean(S != xi) / len(seeds)
    return errors


def _check_loads(loads, where: str) -> np.ndarray:
    loads = as_float_array(loads, where, "loads", ndim=1, finite=True, dtype=np.float64)
    if np.any(loads <= 0) or np.any(np.diff(loads) <= 0):
        raise ValueError(f"{where}: loads must be positive and increasing, got {loads}")
    return loads


def critical_load(loads, errors, threshold: float = 0.01) -> float:
    """The first (smallest) load whose error exceeds ``threshold``; NaN if none does.

    Args:
        loads: (L,) increasing loads. errors: (L,) errors, e.g. from :func:`capacity_curve`.
        threshold: the error level, > 0 (1 % by default).

    Returns:
        A float: loads[k] for the first k with errors[k] > threshold, or NaN.
    """
    where = "critical_load"
    loads = _check_loads(loads, where)
    errors = as_float_array(errors, where, "errors", ndim=1, finite=True, dtype=np.float64)
    if errors.shape != loads.shape:
        raise ValueError(f"{where}: errors must have the shape of loads {loads.shape}, "
                         f"got {errors.shape}")
    threshold = check_positive(threshold, where, "threshold")
    above = np.flatnonzero(errors > threshold)
    return float(loads[above[0]]) if above.size else float("nan")


def mixture_state(patterns, idx: Sequence[int] = (0, 1, 2)) -> np.ndarray:
    """The spurious mixture sign(ξ^a + ξ^b + ξ^c + ...) of an odd number of stored patterns.

    With three patterns each bit is the majority vote of the three, so the mixture agrees
    with each pattern on ≈ 75 % of the bits; it is often a fixed point of the dynamics, with
    an energy above that of the stored patterns (Hertz, Krogh & Palmer 1991, §2.2).

    Args:
        patterns: (P, N) of ±1. idx: an odd number of distinct row indices (no ties).

    Returns:
        (N,) float64 state of ±1.
    """
    where = "mixture_state"
    xi = _check_pm1(patterns, where, "patterns", ndim=2)
    idx = [check_int(i, where, "idx[k]", low=0, high=len(xi) - 1) for i in idx]
    if len(idx) % 2 == 0 or len(set(idx)) != len(idx):
        raise ValueError(f"{where}: idx must hold an odd number of distinct pattern indices "
                         f"(so the vote has no ties), got {idx}")
    return np.sign(xi[idx].sum(axis=0))


# ---------------------------------------------------------------------------------------------
# 4. Modern (dense) Hopfield network = attention
# ---------------------------------------------------------------------------------------------

def _check_modern(xi, X, beta, where: str) -> tuple[np.ndarray, np.ndarray, float]:
    X = as_float_array(X, where, "X", ndim=2, finite=True, dtype=np.float64)
    xi = as_float_array(xi, where, "xi", ndim=(1, 2), finite=True, dtype=np.float64)
    if xi.shape[-1] != X.shape[0]:
        raise ValueError(f"{where}: xi must have N = {X.shape[0]} entries per state to match "
                         f"X (N, P) = {X.shape} (patterns are the COLUMNS of X), "
                         f"got shape {xi.shape}")
    return xi, X, check_positive(beta, where, "beta")


def modern_hopfield_update(xi, X, beta: float) -> np.ndarray:
    """One update of the modern Hopfield network: ξ ← X softmax(β Xᵀ ξ) (Ramsauer et al. 2020).

    For a batch of row states this is attention with queries ξ, keys = values = Xᵀ and the
    scale β: ``scaled_dot_product_attention(xi, X.T, X.T, scale=beta)[0]``.

    Args:
        xi: (N,) state or (M, N) batch of states (any real values).
        X: (N, P) stored patterns as COLUMNS.
        beta: inverse temperature, > 0 (large β: nearest pattern; small: their average).

    Returns:
        New float64 states shaped like xi.
    """
    xi, X, beta = _check_modern(xi, X, beta, "modern_hopfield_update")
    p = softmax(beta * (xi @ X), axis=-1)                              # (P,) or (M, P)
    return p @ X.T                                                     # (N,) or (M, N)


def modern_hopfield_energy(xi, X, beta: float) -> float | np.ndarray:
    """E(ξ) = −lse(β, Xᵀ ξ) + ½ ξᵀ ξ + β⁻¹ log P + ½ M², lse(β, z) = β⁻¹ log Σ_μ exp(β z_μ),
    M = max_μ ‖x_μ‖ (Ramsauer et al. 2020). The last two terms make E ≥ ½(‖ξ‖ − M)² ≥ 0.

    Args:
        xi: (N,) state or (M, N) batch. X: (N, P) patterns as columns. beta: > 0.

    Returns:
        A float for xi (N,), or (M,) float64 energies.
    """
    xi, X, beta = _check_modern(xi, X, beta, "modern_hopfield_energy")
    P = X.shape[1]
    M = np.max(np.linalg.norm(X, axis=0))
    lse = logsumexp(beta * (xi @ X), axis=-1) / beta                   # () or (M,)
    E = -lse + 0.5 * np.sum(xi * xi, axis=-1) + np.log(P) / beta + 0.5 * M ** 2
    return float(E) if xi.ndim == 1 else E
