"""The restricted Boltzmann machine (RBM), trained by contrastive divergence (NumPy only).

A Boltzmann machine (Ackley, Hinton & Sejnowski 1985) gives every joint state of its binary
units a probability through an energy. The *restricted* one (Smolensky 1986, "harmonium") has
visible units v ∈ {0, 1}^D and hidden units h ∈ {0, 1}^H with connections only between the two
layers. With weights W (D, H), visible bias b (D,) and hidden bias c (H,)::

    E(v, h) = −vᵀW h − bᵀv − cᵀh,        p(v, h) = exp(−E(v, h)) / Z,
    Z = Σ_{v, h} exp(−E(v, h))                              (the partition function).

No hidden unit talks to another, so given v they are independent, and likewise given h::

    p(h_j = 1 | v) = σ(c_j + (vW)_j),        p(v_i = 1 | h) = σ(b_i + (W h)_i).

Summing the hidden units out gives the **free energy** F, with p(v) = exp(−F(v)) / Z::

    F(v) = −bᵀv − Σ_j softplus(c_j + (vW)_j),      softplus(x) = log(1 + eˣ).

The gradient of the mean log-likelihood over data v ~ P_data is "data minus model"::

    ∂ log p(v)/∂W = ⟨v p(h|v)ᵀ⟩_data − ⟨v p(h|v)ᵀ⟩_model        (b: ⟨v⟩, c: ⟨p(h|v)⟩),

that is −∇F averaged over the data plus ∇F averaged over the model. The model average needs
samples from p(v), i.e. a long Gibbs chain v → h → v → .... **Contrastive divergence** CD-k
(Hinton 2002) starts the chain at the data and stops after k steps; **persistent CD** (PCD,
Tieleman 2008) keeps one chain running across parameter updates. Choices follow Hinton's
"A practical guide to training restricted Boltzmann machines" (2010, UTML TR 2010-003):

- the chain samples binary h at every step and binary v (so PCD's chain is a true Markov chain);
- both statistics use the *probabilities* p(h|v) for the hidden units, never samples (less
  noise, same expectation);
- W starts at N(0, 0.01²), c at 0, b at log(p_i / (1 − p_i)) from the data's marginals;
- weight decay acts on W only.

Z sums 2^(D+H) terms, so the likelihood is intractable for real models. For tiny RBMs this
module enumerates 2^min(D, H) states (the free energy sums out the other layer exactly). For
larger ones it offers the reconstruction error (cheap, but not what CD optimises) and the
**pseudo-likelihood** (Besag 1975), Σ_i log p(v_i | v_−i), where Z cancels::

    log p(v_i | v_−i) = log σ(F(ṽ⁽ⁱ⁾) − F(v)),       ṽ⁽ⁱ⁾ = v with bit i flipped.

Stacking RBMs, each trained on the hidden probabilities of the one below, gives a deep belief
net (Hinton, Osindero & Teh 2006): :func:`stack_rbms` and :func:`dbn_features`.

Usage::

    import numpy as np
    from course_lib.data import load_digits
    from course_lib.scratch.rbm import train_rbm, pseudo_log_likelihood, gibbs_chain

    ds = load_digits(seed=0)
    V = (ds.X_train.reshape(len(ds.X_train), -1) > 0.5).astype(float)    # (N, 64) binary
    params, hist = train_rbm(V, 64, epochs=20, batch_size=32, lr=0.05, rng=0)
    hist["recon_error"][-1], pseudo_log_likelihood(V, params, rng=0)
    chain = gibbs_chain(V[:8], params, steps=100, rng=np.random.default_rng(0), every=10)

Arrays are float64. A function taking "v" accepts one vector (D,) or a batch (M, D) and
answers in the same form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.functional import log_sigmoid, logsumexp, sigmoid
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_rng,
    check_int,
    check_positive,
    check_rng,
)

__all__ = ["MAX_EXACT_UNITS", "RBMParams", "init_rbm", "energy", "p_h_given_v",
           "p_v_given_h", "sample_bernoulli", "free_energy", "free_energy_grad", "gibbs_step",
           "gibbs_chain", "cd_gradient", "train_rbm", "reconstruction_error",
           "pseudo_log_likelihood", "log_partition", "exact_log_likelihood", "exact_gradient",
           "stack_rbms", "dbn_features"]

#: Exact computations enumerate 2^min(D, H) states; larger RBMs are refused.
MAX_EXACT_UNITS = 20


# ---------------------------------------------------------------------------------------------
# Parameters and input checks
# ---------------------------------------------------------------------------------------------

@dataclass
class RBMParams:
    """The parameters of a binary RBM (also used for their gradients), float64.

    ``W`` (D, H) weights, ``b`` (D,) visible bias, ``c`` (H,) hidden bias.
    """

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray

    def __post_init__(self):
        w = "RBMParams"
        self.W = as_float_array(self.W, w, "W", ndim=2, finite=True, dtype=np.float64)
        self.b = as_float_array(self.b, w, "b", ndim=1, finite=True, dtype=np.float64)
        self.c = as_float_array(self.c, w, "c", ndim=1, finite=True, dtype=np.float64)
        D, H = self.W.shape
        if self.b.shape != (D,) or self.c.shape != (H,):
            raise ValueError(f"{w}: with W of shape (D, H) = {self.W.shape}, b must be ({D},) "
                             f"and c ({H},), got b {self.b.shape} and c {self.c.shape}")

    @property
    def D(self) -> int:
        """The number of visible units."""
        return self.W.shape[0]

    @property
    def H(self) -> int:
        """The number of hidden units."""
        return self.W.shape[1]

    def copy(self) -> RBMParams:
        """An independent copy (the arrays are copied)."""
        return RBMParams(self.W.copy(), self.b.copy(), self.c.copy())


def _check_params(params, where: str) -> RBMParams:
    if not isinstance(params, RBMParams):
        raise TypeError(f"{where}: params must be an RBMParams (from init_rbm or train_rbm), "
                        f"got {type(params).__name__}")
    return params


def _units(x, n: int, where: str, name: str, *, binary: bool) -> tuple[np.ndarray, bool]:
    """``x`` as a float64 batch (M, n) and whether it came as a single vector (n,).

    ``binary=True`` demands values in {0, 1} (states); otherwise values in [0, 1] are accepted
    (probabilities used as data, e.g. the hidden probabilities of the layer below).
    """
    arr = as_array(x, where, name, ndim=(1, 2))
    if arr.shape[-1] != n:
        n_ = "H" if name.startswith("h") else "D"
        raise ValueError(f"{where}: {name} must be ({n_},) or (M, {n_}) with {n_} = {n}, "
                         f"got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if binary and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{where}: {name} must be binary (only 0 and 1), "
                         f"got values such as {arr[(arr != 0) & (arr != 1)][0]!r}")
    if not binary and not np.all((arr >= 0) & (arr <= 1)):
        raise ValueError(f"{where}: {name} must hold values in [0, 1], got values in "
                         f"[{np.nanmin(arr)}, {np.nanmax(arr)}]")
    return np.atleast_2d(arr), arr.ndim == 1


def _single(out: np.ndarray, single: bool):
    """Drop the batch axis again when the input was a single vector."""
    return out[0] if single else out


def init_rbm(D: int, H: int, rng, scale: float = 0.01, *, data=None) -> RBMParams:
    """Initial parameters: W ~ N(0, scale²), c = 0, b = 0 or the data's log-odds.

    With ``data`` (N, D) in [0, 1], b_i = log(p_i / (1 − p_i)) for the mean p_i of column i,
    clipped to [0.001, 0.999] so that a pixel that is always off gives a large negative bias,
    not −inf (Hinton 2010, section 8: the visible units then start at the data's marginals).

    Args:
        D, H: numbers of visible and hidden units (≥ 1).
        rng: a ``np.random.Generator`` or an int seed.
        scale: standard deviation of the weights (> 0).
        data: optional (N, D) training data.

    Returns:
        :class:`RBMParams` with W (D, H), b (D,), c (H,).
    """
    w = "init_rbm"
    D = check_int(D, w, "D", low=1)
    H = check_int(H, w, "H", low=1)
    rng = as_rng(rng, w, "rng")
    scale = check_positive(scale, w, "scale")
    b = np.zeros(D)
    if data is not None:
        V, _ = _units(data, D, w, "data", binary=False)
        p = np.clip(V.mean(axis=0), 1e-3, 1 - 1e-3)                # (D,)
        b = np.log(p / (1 - p))
    return RBMParams(rng.normal(0.0, scale, size=(D, H)), b, np.zeros(H))


# ---------------------------------------------------------------------------------------------
# Energy, conditionals, free energy
# ---------------------------------------------------------------------------------------------

def energy(v, h, params: RBMParams):
    """E(v, h) = −vᵀW h − bᵀv − cᵀh for binary states.

    Args:
        v: (D,) or (M, D) binary visible states.
        h: (H,) or (M, H) binary hidden states, the same form as v.
        params: :class:`RBMParams`.

    Returns:
        (M,) energies, or a float for single vectors.
    """
    w = "energy"
    p = _check_params(params, w)
    V, single_v = _units(v, p.D, w, "v", binary=True)
    Hs, single_h = _units(h, p.H, w, "h", binary=True)
    if V.shape[0] != Hs.shape[0] or single_v != single_h:
        raise ValueError(f"{w}: v and h must both be single vectors or batches of the same "
                         f"size M, got shapes {np.shape(v)} and {np.shape(h)}")
    E = -np.sum((V @ p.W) * Hs, axis=1) - V @ p.b - Hs @ p.c            # (M,)
    return float(E[0]) if single_v else E


def p_h_given_v(v, params: RBMParams) -> np.ndarray:
    """p(h_j = 1 | v) = σ(c_j + (vW)_j).

    Args:
        v: (D,) or (M, D) visible values in [0, 1] (states or probabilities).

    Returns:
        (H,) or (M, H) probabilities.
    """
    p = _check_params(params, "p_h_given_v")
    V, single = _units(v, p.D, "p_h_given_v", "v", binary=False)
    return _single(sigmoid(V @ p.W + p.c), single)                     # (M, H)


def p_v_given_h(h, params: RBMParams) -> np.ndarray:
    """p(v_i = 1 | h) = σ(b_i + (hWᵀ)_i).

    Args:
        h: (H,) or (M, H) hidden values in [0, 1] (states or probabilities).

    Returns:
        (D,) or (M, D) probabilities.
    """
    p = _check_params(params, "p_v_given_h")
    Hs, single = _units(h, p.H, "p_v_given_h", "h", binary=False)
    return _single(sigmoid(Hs @ p.W.T + p.b), single)                  # (M, D)


def sample_bernoulli(p, rng) -> np.ndarray:
    """Independent binary samples: 1 with probability p, else 0.

    Args:
        p: probabilities in [0, 1], any shape.
        rng: a ``np.random.Generator``.

    Returns:
        float64 array of p's shape with entries in {0, 1}.
    """
    p = as_float_array(p, "sample_bernoulli", "p", allow_empty=True, dtype=np.float64)
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("sample_bernoulli: p must hold probabilities in [0, 1]")
    rng = check_rng(rng, "sample_bernoulli")
    return (rng.random(p.shape) < p).astype(np.float64)


def _free_energy(V: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """F(v) for a checked batch V (M, D); softplus(x) = logaddexp(0, x) never overflows."""
    return -V @ b - np.sum(np.logaddexp(0.0, V @ W + c), axis=1)       # (M,)


def free_energy(v, params: RBMParams):
    """F(v) = −bᵀv − Σ_j softplus(c_j + (vW)_j) = −log Σ_h exp(−E(v, h)).

    Args:
        v: (D,) or (M, D) visible values in [0, 1].

    Returns:
        (M,) free energies, or a float for a single vector.
    """
    p = _check_params(params, "free_energy")
    V, single = _units(v, p.D, "free_energy", "v", binary=False)
    F = _free_energy(V, p.W, p.b, p.c)
    return float(F[0]) if single else F


def free_energy_grad(v, params: RBMParams) -> RBMParams:
    """The gradient of the mean free energy (1/M) Σ_m F(v_m) with respect to W, b and c.

    With p_h = σ(vW + c) (M, H), since d softplus(x)/dx = σ(x)::

        ∂F̄/∂W = −vᵀ p_h / M,     ∂F̄/∂b = −mean_m v,     ∂F̄/∂c = −mean_m p_h.

    Args:
        v: (D,) or (M, D) visible values in [0, 1].

    Returns:
        :class:`RBMParams` of gradients, shapes (D, H), (D,), (H,).
    """
    p = _check_params(params, "free_energy_grad")
    V, _ = _units(v, p.D, "free_energy_grad", "v", binary=False)
    M = V.shape[0]
    P_h = sigmoid(V @ p.W + p.c)                                       # (M, H)
    return RBMParams(-V.T @ P_h / M, -V.mean(axis=0), -P_h.mean(axis=0))


# ---------------------------------------------------------------------------------------------
# Gibbs sampling
# ---------------------------------------------------------------------------------------------

def _gibbs(V: np.ndarray, p: RBMParams, rng: np.random.Generator):
    P_h = sigmoid(V @ p.W + p.c)                                       # (M, H)
    Hs = (rng.random(P_h.shape) < P_h).astype(np.float64)              # sampled h
    P_v = sigmoid(Hs @ p.W.T + p.b)                                    # (M, D)
    return (rng.random(P_v.shape) < P_v).astype(np.float64), Hs, P_h


def gibbs_step(v, params: RBMParams, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block-Gibbs step v → h ~ p(h|v) → v' ~ p(v|h).

    Args:
        v: (D,) or (M, D) binary visible states.
        rng: a ``np.random.Generator``.

    Returns:
        ``(v_new, h, p_h)``: the new binary visible states (M, D), the sampled hidden states
        (M, H) and the probabilities p(h|v) (M, H) they were drawn from (without the M axis
        for a single vector).
    """
    w = "gibbs_step"
    p = _check_params(params, w)
    V, single = _units(v, p.D, w, "v", binary=True)
    rng = check_rng(rng, w)
    return tuple(_single(a, single) for a in _gibbs(V, p, rng))


def gibbs_chain(v0, params: RBMParams, steps: int, rng, *, every: int = 1) -> np.ndarray:
    """Run ``steps`` Gibbs steps from v0 and keep every ``every``-th visible state.

    Args:
        v0: (D,) or (M, D) binary start states (M chains side by side).
        steps: number of steps (≥ 0).
        rng: a ``np.random.Generator``.
        every: keep the states after steps 0, every, 2·every, ... (≥ 1).

    Returns:
        (steps // every + 1, M, D) binary states, the first being v0 (no M axis for a
        single v0).
    """
    w = "gibbs_chain"
    p = _check_params(params, w)
    V, single = _units(v0, p.D, w, "v0", binary=True)
    steps = check_int(steps, w, "steps", low=0)
    every = check_int(every, w, "every", low=1)
    rng = check_rng(rng, w)
    states = [V]
    for t in range(1, steps + 1):
        V = _gibbs(V, p, rng)[0]
        if t % every == 0:
            states.append(V)
    out = np.stack(states)                                             # (T, M, D)
    return out[:, 0] if single else out


# ---------------------------------------------------------------------------------------------
# Contrastive divergence and training
# ---------------------------------------------------------------------------------------------

def cd_gradient(v_data, params: RBMParams, rng, k: int = 1, *,
                persistent=None) -> tuple[RBMParams, np.ndarray]:
    """The CD-k (or PCD-k) estimate of the gradient of the mean log-likelihood.

    It is an *ascent* direction: add ``lr · grads`` to the parameters. With F̄ the mean free
    energy and v_model the chain's state after k Gibbs steps::

        grads = −∇F̄(v_data) + ∇F̄(v_model)
              = (⟨v p(h|v)ᵀ⟩_data − ⟨v p(h|v)ᵀ⟩_model,  ⟨v⟩_data − ⟨v⟩_model, ...).

    Both phases use the hidden *probabilities* p(h|v); the chain itself samples binary h and
    binary v (Hinton 2010, section 3).

    Args:
        v_data: (M, D) data in [0, 1] (binary, or probabilities for a DBN's upper layers).
        params: :class:`RBMParams`.
        rng: a ``np.random.Generator``.
        k: Gibbs steps (≥ 1).
        persistent: None for CD-k (chains start at samples of v_data, Hinton 2002), or the
            (P, D) binary chain state for PCD (Tieleman 2008); P need not equal M.

    Returns:
        ``(grads, chain)``: :class:`RBMParams` of the gradient estimate and the chain's
        binary state after k steps ((M, D) for CD, (P, D) for PCD: pass it back next time).
    """
    w = "cd_gradient"
    p = _check_params(params, w)
    V, _ = _units(v_data, p.D, w, "v_data", binary=False)
    rng = check_rng(rng, w)
    k = check_int(k, w, "k", low=1)
    if persistent is None:                                             # CD: start at the data
        chain = (rng.random(V.shape) < V).astype(np.float64)           # binary even for p's
    else:
        chain, _ = _units(persistent, p.D, w, "persistent", binary=True)
    for _ in range(k):
        chain = _gibbs(chain, p, rng)[0]                               # (M or P, D)
    pos = free_energy_grad(V, p)
    neg = free_energy_grad(chain, p)
    grads = RBMParams(neg.W - pos.W, neg.b - pos.b, neg.c - pos.c)
    return grads, chain


def reconstruction_error(V, params: RBMParams) -> float:
    """Mean squared error between V and its mean-field reconstruction p(v | h = p(h|V)).

    Cheap to compute and useful to watch, but not the quantity CD optimises (Hinton 2010,
    section 5): a falling error does not prove a better model.

    Args:
        V: (D,) or (M, D) data in [0, 1].

    Returns:
        The mean over all M·D entries.
    """
    p = _check_params(params, "reconstruction_error")
    X, _ = _units(V, p.D, "reconstruction_error", "V", binary=False)
    R = sigmoid(sigmoid(X @ p.W + p.c) @ p.W.T + p.b)                  # (M, D)
    return float(np.mean((X - R) ** 2))


def train_rbm(V, H: int, *, epochs: int, batch_size: int, lr: float, k: int = 1,
              persistent: bool = False, rng, momentum: float = 0.0, weight_decay: float = 0.0,
              callback: Callable[[int, RBMParams], object] | None = None,
              epochs_iter: Callable[[int], Iterable[int]] = range
              ) -> tuple[RBMParams, dict[str, list[float]]]:
    """Train a binary RBM with CD-k or PCD-k and mini-batch gradient ascent.

    Each epoch shuffles V and, for each mini-batch, updates (θ stands for W, b, c)::

        Δθ ← momentum · Δθ + lr · (grad_θ − weight_decay · θ)   (decay on W only),
        θ ← θ + Δθ.

    Parameters start from :func:`init_rbm` with ``data=V`` (visible biases at the data's
    log-odds). With ``persistent=True`` one set of ``batch_size`` chains, started at samples of
    random training rows, carries over from batch to batch (PCD, Tieleman 2008).

    Args:
        V: (N, D) training data in [0, 1]: binary, or probabilities (e.g. hidden
            probabilities of a lower RBM).
        H: number of hidden units (≥ 1).
        epochs, batch_size: passes over the data (≥ 1) and rows per update (≥ 1).
        lr: learning rate (> 0).
        k: Gibbs steps per update (≥ 1).
        persistent: PCD instead of CD.
        rng: a ``np.random.Generator`` or an int seed (initialisation, shuffling, sampling).
        momentum: in [0, 1).
        weight_decay: L2 coefficient on W (≥ 0).
        callback: called as ``callback(epoch, params)`` after each epoch (e.g. to record a
            validation metric); its return value is ignored. Copy params to keep a snapshot.
        epochs_iter: wraps ``range``: the loop is ``for epoch in epochs_iter(epochs)``. Pass
            ``tqdm.auto.trange`` for a progress bar (scratch code does not import tqdm).

    Returns:
        ``(params, history)`` with ``history["recon_error"]`` the training-set
        :func:`reconstruction_error` after each epoch (a list of ``epochs`` floats).
    """
    w = "train_rbm"
    X = as_array(V, w, "V", ndim=2)
    H = check_int(H, w, "H", low=1)
    X, _ = _units(X, X.shape[1], w, "V", binary=False)
    epochs = check_int(epochs, w, "epochs", low=1)
    batch_size = check_int(batch_size, w, "batch_size", low=1)
    lr = check_positive(lr, w, "lr")
    k = check_int(k, w, "k", low=1)
    rng = as_rng(rng, w, "rng")
    momentum = check_positive(momentum, w, "momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"{w}: momentum must be in [0, 1), got {momentum}")
    weight_decay = check_positive(weight_decay, w, "weight_decay", allow_zero=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"{w}: callback must be callable(epoch, params) or None, "
                        f"got {type(callback).__name__}")

    N, D = X.shape
    params = init_rbm(D, H, rng, data=X)
    vel = RBMParams(np.zeros((D, H)), np.zeros(D), np.zeros(H))
    chain = None
    if persistent:
        start = X[rng.integers(0, N, size=min(batch_size, N))]
        chain = (rng.random(start.shape) < start).astype(np.float64)   # (P, D) binary
    history: dict[str, list[float]] = {"recon_error": []}
    for epoch in epochs_iter(epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            batch = X[order[start:start + batch_size]]                 # (B, D)
            grads, new_chain = cd_gradient(batch, params, rng, k, persistent=chain)
            if persistent:
                chain = new_chain
            vel.W = momentum * vel.W + lr * (grads.W - weight_decay * params.W)
            vel.b = momentum * vel.b + lr * grads.b
            vel.c = momentum * vel.c + lr * grads.c
            params.W += vel.W
            params.b += vel.b
            params.c += vel.c
        history["recon_error"].append(reconstruction_error(X, params))
        if callback is not None:
            callback(epoch, params)
    return params, history


# ---------------------------------------------------------------------------------------------
# Pseudo-likelihood
# ---------------------------------------------------------------------------------------------

def pseudo_log_likelihood(V, params: RBMParams, rng=None, *, all_units: bool = False) -> float:
    """The mean pseudo-log-likelihood Σ_i log p(v_i | v_−i) per example (Besag 1975).

    Each term needs only free energies, Z cancels: log p(v_i | v_−i) = log σ(F(ṽ⁽ⁱ⁾) − F(v))
    with ṽ⁽ⁱ⁾ = v with bit i flipped.

    Args:
        V: (D,) or (M, D) binary data.
        rng: a Generator or an int seed for the random bit (None: seed 0, so repeated calls
            agree); unused when ``all_units``.
        all_units: True: the exact sum over all D bits (D free energies per example).
            False: the unbiased estimate D · log p(v_i | v_−i) with one random i per example.

    Returns:
        The mean over the M examples (a float ≤ 0).
    """
    w = "pseudo_log_likelihood"
    p = _check_params(params, w)
    X, _ = _units(V, p.D, w, "V", binary=True)
    M, D = X.shape
    F = _free_energy(X, p.W, p.b, p.c)                                 # (M,)
    if all_units:
        total = np.zeros(M)
        for i in range(D):
            flipped = X.copy()
            flipped[:, i] = 1 - flipped[:, i]
            total += log_sigmoid(_free_energy(flipped, p.W, p.b, p.c) - F)
        return float(total.mean())
    rng = as_rng(0 if rng is None else rng, w, "rng")
    i = rng.integers(0, D, size=M)                                     # one bit per example
    flipped = X.copy()
    flipped[np.arange(M), i] = 1 - flipped[np.arange(M), i]
    return float(np.mean(D * log_sigmoid(_free_energy(flipped, p.W, p.b, p.c) - F)))


# ---------------------------------------------------------------------------------------------
# Exact quantities for tiny RBMs, by enumeration
# ---------------------------------------------------------------------------------------------

def _states(n: int, start: int, stop: int) -> np.ndarray:
    """The binary vectors number start, ..., stop − 1 of all 2^n, as rows (stop − start, n)
    (row r is the binary expansion of r, bit 0 first)."""
    return ((np.arange(start, stop)[:, None] >> np.arange(n)) & 1).astype(np.float64)


def _check_tiny(p: RBMParams, where: str) -> None:
    if min(p.D, p.H) > MAX_EXACT_UNITS:
        raise ValueError(f"{where}: exact enumeration needs min(D, H) <= {MAX_EXACT_UNITS} "
                         f"(2^min(D, H) states), got D = {p.D}, H = {p.H}; use the "
                         f"pseudo-likelihood for larger RBMs")


_CHUNK = 4096           # states per block, so that memory stays small for 2^20 states


def _smaller_layer_first(p: RBMParams) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray]:
    """The RBM is symmetric in its layers (swap v ↔ h, W ↔ Wᵀ, b ↔ c): return
    ``(swapped, W, b, c)`` with the smaller layer in the visible role, so that enumerating
    its 2^n states and summing the other layer out with the free energy costs 2^min(D, H)."""
    if p.H < p.D:
        return True, p.W.T, p.c, p.b
    return False, p.W, p.b, p.c


def _log_Z(W: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, float]:
    """−F(s) for all 2^n states s of the first layer (2^n,), and log Z = logsumexp(−F)."""
    n = W.shape[0]
    neg_F = np.concatenate([-_free_energy(_states(n, s, min(s + _CHUNK, 2 ** n)), W, b, c)
                            for s in range(0, 2 ** n, _CHUNK)])
    return neg_F, float(logsumexp(neg_F))


def _model_stats(p: RBMParams) -> RBMParams:
    """The model averages (⟨v hᵀ⟩, ⟨v⟩, ⟨h⟩) by enumeration, block by block.

    Over visible states: p(v) = exp(−F(v) − log Z), and since h is independent given v,
    ⟨v hᵀ⟩ = Σ_v p(v) v σ(vW + c)ᵀ and ⟨h⟩ = Σ_v p(v) σ(vW + c).
    """
    swap, W, b, c = _smaller_layer_first(p)
    n, m = W.shape
    neg_F, log_Z = _log_Z(W, b, c)
    vh, mean_s, mean_o = np.zeros((n, m)), np.zeros(n), np.zeros(m)
    for s in range(0, 2 ** n, _CHUNK):
        S = _states(n, s, min(s + _CHUNK, 2 ** n))                     # (B, n)
        prob = np.exp(neg_F[s:s + len(S)] - log_Z)                     # (B,)
        P_o = sigmoid(S @ W + c)                                       # (B, m)
        vh += (S * prob[:, None]).T @ P_o
        mean_s += prob @ S
        mean_o += prob @ P_o
    return RBMParams(vh.T, mean_o, mean_s) if swap else RBMParams(vh, mean_s, mean_o)


def log_partition(params: RBMParams) -> float:
    """log Z = log Σ_v exp(−F(v)), exactly, by enumerating 2^min(D, H) states.

    When H < D the hidden layer is enumerated instead, with the hidden free energy
    F(h) = −cᵀh − Σ_i softplus(b_i + (Wh)_i) (the same formula with the layers swapped).
    Refuses min(D, H) > :data:`MAX_EXACT_UNITS`; 2^20 states take a few seconds.
    """
    p = _check_params(params, "log_partition")
    _check_tiny(p, "log_partition")
    return _log_Z(*_smaller_layer_first(p)[1:])[1]


def exact_log_likelihood(V, params: RBMParams) -> float:
    """The mean log-likelihood (1/M) Σ_m log p(v_m) = −mean F(v) − log Z, exactly.

    Args:
        V: (D,) or (M, D) binary data.

    Returns:
        A float (≤ 0).
    """
    w = "exact_log_likelihood"
    p = _check_params(params, w)
    X, _ = _units(V, p.D, w, "V", binary=True)
    _check_tiny(p, w)
    return float(np.mean(-_free_energy(X, p.W, p.b, p.c)) - log_partition(p))


def exact_gradient(V, params: RBMParams) -> RBMParams:
    """The exact gradient of the mean log-likelihood: data average minus model average.

    grad_W = ⟨v p(h|v)ᵀ⟩_data − ⟨v hᵀ⟩_model, grad_b = ⟨v⟩_data − ⟨v⟩_model,
    grad_c = ⟨p(h|v)⟩_data − ⟨h⟩_model, the model averages by enumeration.

    Args:
        V: (D,) or (M, D) binary data.

    Returns:
        :class:`RBMParams` of gradients (ascent direction), shapes (D, H), (D,), (H,).
    """
    w = "exact_gradient"
    p = _check_params(params, w)
    X, _ = _units(V, p.D, w, "V", binary=True)
    _check_tiny(p, w)
    data = free_energy_grad(X, p)                                      # −⟨...⟩_data
    model = _model_stats(p)
    return RBMParams(-data.W - model.W, -data.b - model.b, -data.c - model.c)


# ---------------------------------------------------------------------------------------------
# Deep belief net: greedy layer-wise stacking
# ---------------------------------------------------------------------------------------------

def stack_rbms(V, hidden_sizes, *, epochs: int, batch_size: int, lr: float, k: int = 1,
               rng, epochs_iter: Callable[[int], Iterable[int]] = range) -> list[RBMParams]:
    """Train a stack of RBMs greedily (Hinton, Osindero & Teh 2006).

    Layer 1 is trained on V; layer l + 1 on the hidden probabilities p(h|v) of layer l for
    the whole training set (probabilities, not samples, as the data of the next layer).

    Args:
        V: (N, D) training data in [0, 1].
        hidden_sizes: the hidden layer sizes, e.g. ``(64, 32)``.
        epochs, batch_size, lr, k, epochs_iter: as in :func:`train_rbm`, for every layer.
        rng: a Generator or an int seed, shared by the layers in turn.

    Returns:
        A list of :class:`RBMParams`, bottom layer first.
    """
    w = "stack_rbms"
    X = as_array(V, w, "V", ndim=2)
    sizes = list(hidden_sizes) if isinstance(hidden_sizes, (list, tuple)) else None
    if not sizes:
        raise ValueError(f"{w}: hidden_sizes must be a non-empty list or tuple of ints, "
                         f"got {hidden_sizes!r}")
    sizes = [check_int(s, w, "hidden_sizes[i]", low=1) for s in sizes]
    rng = as_rng(rng, w, "rng")
    stack = []
    for H in sizes:
        params, _ = train_rbm(X, H, epochs=epochs, batch_size=batch_size, lr=lr, k=k,
                              rng=rng, epochs_iter=epochs_iter)
        stack.append(params)
        X = p_h_given_v(X, params)                                     # (N, H): next data
    return stack


def dbn_features(V, stack: list[RBMParams]) -> np.ndarray:
    """The top layer's hidden probabilities, passing p(h|v) up the stack.

    Args:
        V: (D,) or (M, D) data in [0, 1].
        stack: the list from :func:`stack_rbms` (each layer's D equal to the H below).

    Returns:
        (H_top,) or (M, H_top) probabilities.
    """
    if not isinstance(stack, (list, tuple)) or not stack:
        raise TypeError(f"dbn_features: stack must be a non-empty list of RBMParams, "
                        f"got {type(stack).__name__}")
    X = V
    for params in stack:
        X = p_h_given_v(X, params)
    return X
