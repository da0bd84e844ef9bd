"""First-order optimisers and learning-rate schedules from scratch (NumPy only).

Each optimiser holds a list of parameter arrays and updates them **in place** when
``step(grads)`` is called with one gradient array per parameter. The update equations are
exactly those of ``torch.optim`` (same defaults, same order of operations, same state
names), so the two agree to rounding error step for step:

=============  ==========================================  ===================================
class          idea                                        paper
=============  ==========================================  ===================================
``SGD``        gradient step, heavy-ball momentum,         Polyak 1964; Nesterov 1983,
               Nesterov momentum                           Sutskever et al. 2013
``AdaGrad``    per-coordinate step ∝ 1/√(Σ g²)             Duchi, Hazan & Singer 2011
``AdaDelta``   ratio of running RMS of updates and grads   Zeiler 2012
``RMSprop``    step ∝ 1/√(running mean of g²)              Tieleman & Hinton 2012 (lecture 6e)
``Adam``       momentum + RMSprop + bias correction        Kingma & Ba 2015
``AdamW``      Adam with decoupled weight decay            Loshchilov & Hutter 2019
=============  ==========================================  ===================================

Notation in the docstrings: θ a parameter, g its gradient at step t (t = 1, 2, ...),
η the learning rate (``lr``), λ the weight decay. Every optimiser but AdamW applies weight
decay as an L2 term added to the gradient, g ← g + λθ.

The schedules are plain functions ``lr(t)`` of the step (or epoch) counter t = 0, 1, 2, ...;
each accepts an int or an integer array of steps and returns a float or an array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from course_lib.scratch.validate import as_array, check_positive

__all__ = ["Optimizer", "SGD", "AdaGrad", "AdaDelta", "RMSprop", "Adam", "AdamW",
           "inverse_time_decay", "exponential_decay", "natural_exp_decay", "step_decay",
           "cosine_decay", "warmup_cosine", "cyclic_lr"]


# ----------------------------------------------------------------------------- base class

class Optimizer:
    """Base class: keeps the parameters, the step counter and per-parameter state.

    Attributes:
        params: the list of parameter arrays (float, any shapes), updated in place.
        lr: the learning rate η; may be changed between steps (e.g. from a schedule).
        t: the number of steps taken so far.
        state: one dict per parameter holding its buffers (names as in ``torch.optim``,
            e.g. ``"momentum_buffer"``, ``"exp_avg"``, ``"exp_avg_sq"``).
    """

    def __init__(self, params: Sequence[np.ndarray] | np.ndarray, lr: float) -> None:
        where = type(self).__name__
        if isinstance(params, np.ndarray):
            params = [params]
        if not isinstance(params, (list, tuple)) or len(params) == 0:
            raise TypeError(f"{where}: params must be a non-empty list of NumPy arrays, "
                            f"got {type(params).__name__}")
        for i, p in enumerate(params):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                kind = p.dtype if isinstance(p, np.ndarray) else type(p).__name__
                raise TypeError(f"{where}: params[{i}] must be a float NumPy array (it is "
                                f"updated in place), got {kind}")
            if not p.flags.writeable:
                raise ValueError(f"{where}: params[{i}] is read-only; it must be writeable")
        self.params: list[np.ndarray] = list(params)
        self.lr = check_positive(lr, where, "lr")
        self.t = 0
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]

    def step(self, grads: Sequence[np.ndarray] | np.ndarray) -> None:
        """Update every parameter in place given its gradient.

        Args:
            grads: one array per parameter, ``grads[i].shape == params[i].shape``
                (a single array is accepted when there is one parameter).
        """
        where = f"{type(self).__name__}.step"
        if isinstance(grads, np.ndarray) and len(self.params) == 1:
            grads = [grads]
        if not isinstance(grads, (list, tuple)) or len(grads) != len(self.params):
            n = len(grads) if isinstance(grads, (list, tuple)) else type(grads).__name__
            raise ValueError(f"{where}: grads must be a list of {len(self.params)} arrays "
                             f"(one per parameter), got {n}")
        checked = []
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            g = as_array(g, where, f"grads[{i}]", dtype_kind="fiu", allow_empty=True)
            if g.shape != p.shape:
                raise ValueError(f"{where}: grads[{i}] must have the shape of params[{i}] "
                                 f"{p.shape}, got {g.shape}")
            checked.append(g.astype(p.dtype, copy=False))
        self.lr = check_positive(self.lr, where, "lr")
        self.t += 1
        for p, g, s in zip(self.params, checked, self.state, strict=True):
            self._update(p, g, s)

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        shapes = ", ".join(str(p.shape) for p in self.params)
        return f"{type(self).__name__}(lr={self.lr}, params=[{shapes}], t={self.t})"


def _in_range(value, where: str, name: str, low: float, high: float,
              high_open: bool = False) -> float:
    """Check low <= value <= high (or < high) and return it as a float."""
    value = check_positive(value, where, name, allow_zero=True) if low == 0 else float(value)
    ok = low <= value and (value < high if high_open else value <= high)
    if not ok:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{where}: {name} must be in [{low}, {high}{bracket}, got {value}")
    return value


# ----------------------------------------------------------------------------- optimisers

class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    Update at step t (μ = ``momentum``, τ = ``dampening``)::

        g   ← g + λ θ                               (weight decay, if λ > 0)
        b_t = g                    if t = 1         (momentum buffer, if μ > 0)
        b_t = μ b_{t-1} + (1 − τ) g  otherwise
        d   = g + μ b_t  (Nesterov)  or  b_t  (heavy ball)  or  g  (μ = 0)
        θ   ← θ − η d

    Heavy-ball momentum: Polyak (1964), "Some methods of speeding up the convergence of
    iteration methods". Nesterov momentum: Nesterov (1983); in this "look-ahead" form,
    Sutskever, Martens, Dahl & Hinton (2013), "On the importance of initialization and
    momentum in deep learning".
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = check_positive(momentum, "SGD", "momentum", allow_zero=True)
        self.dampening = _in_range(dampening, "SGD", "dampening", 0.0, 1.0)
        self.weight_decay = check_positive(weight_decay, "SGD", "weight_decay", allow_zero=True)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, "
                             f"got momentum={self.momentum}, dampening={self.dampening}")

    def _update(self, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "momentum_buffer" not in s:
                s["momentum_buffer"] = np.array(g, dtype=p.dtype)   # b_1 = g (a copy)
            else:
                b = s["momentum_buffer"]
                b *= self.momentum
                b += (1 - self.dampening) * g                    # b_t = μ b + (1 − τ) g
            b = s["momentum_buffer"]
            g = g + self.momentum * b if self.nesterov else b
        p -= self.lr * g


class AdaGrad(Optimizer):
    """AdaGrad, as ``torch.optim.Adagrad`` (without its ``lr_decay``).

    Update at step t (G starts at ``initial_accumulator_value``)::

        g   ← g + λ θ
        G_t = G_{t-1} + g ⊙ g                       (sum of squared gradients)
        θ   ← θ − η g / (√G_t + ε)

    Coordinates with large past gradients get small steps, rare ones large steps; the
    effective step only ever shrinks. Duchi, Hazan & Singer (2011), "Adaptive subgradient
    methods for online learning and stochastic optimization", JMLR 12.
    """

    def __init__(self, params, lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0) -> None:
        super().__init__(params, lr)
        self.eps = check_positive(eps, "AdaGrad", "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "AdaGrad", "weight_decay",
                                           allow_zero=True)
        self.initial_accumulator_value = check_positive(
            initial_accumulator_value, "AdaGrad", "initial_accumulator_value", allow_zero=True)
        for p, s in zip(self.params, self.state, strict=True):
            s["sum"] = np.full_like(p, self.initial_accumulator_value)

    def _update(self, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        s["sum"] += g * g                                         # G_t
        p -= self.lr * g / (np.sqrt(s["sum"]) + self.eps)


class AdaDelta(Optimizer):
    """AdaDelta, as ``torch.optim.Adadelta``.

    Update at step t (E[g²] and E[Δθ²] start at 0, ρ = ``rho``)::

        g        ← g + λ θ
        E[g²]_t  = ρ E[g²]_{t-1} + (1 − ρ) g ⊙ g
        Δθ_t     = √(E[Δθ²]_{t-1} + ε) / √(E[g²]_t + ε) ⊙ g
        E[Δθ²]_t = ρ E[Δθ²]_{t-1} + (1 − ρ) Δθ_t ⊙ Δθ_t
        θ        ← θ − η Δθ_t

    The ratio of the two running RMS values gives the step the units of θ, so the
    original method needs no learning rate (η = 1). Zeiler (2012), "ADADELTA: an adaptive
    learning rate method", arXiv:1212.5701.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.rho = _in_range(rho, "AdaDelta", "rho", 0.0, 1.0)
        self.eps = check_positive(eps, "AdaDelta", "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "AdaDelta", "weight_decay",
                                           allow_zero=True)
        for p, s in zip(self.params, self.state, strict=True):
            s["square_avg"], s["acc_delta"] = np.zeros_like(p), np.zeros_like(p)

    def _update(self, p, g, s):
        rho, eps = self.rho, self.eps
        if self.weight_decay:
            g = g + self.weight_decay * p
        v, u = s["square_avg"], s["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g                                    # E[g²]_t
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g           # Δθ_t
        u *= rho
        u += (1 - rho) * delta * delta                            # E[Δθ²]_t
        p -= self.lr * delta


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (optionally centred, optionally with momentum).

    Update at step t (v, ḡ, b start at 0, α = ``alpha``, μ = ``momentum``)::

        g   ← g + λ θ
        v_t = α v_{t-1} + (1 − α) g ⊙ g
        ḡ_t = α ḡ_{t-1} + (1 − α) g                  (centred only)
        r   = √(v_t − ḡ_t ⊙ ḡ_t) + ε  (centred)   or   √v_t + ε
        b_t = μ b_{t-1} + g / r;  θ ← θ − η b_t       (if μ > 0)
        θ   ← θ − η g / r                             (otherwise)

    The centred form divides by an estimate of the gradient's standard deviation instead
    of its RMS. Tieleman & Hinton (2012), Coursera "Neural networks for machine learning",
    lecture 6e; centred form: Graves (2013), "Generating sequences with recurrent neural
    networks", arXiv:1308.0850.
    """

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, centered: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.alpha = _in_range(alpha, "RMSprop", "alpha", 0.0, 1.0)
        self.eps = check_positive(eps, "RMSprop", "eps", allow_zero=True)
        self.momentum = check_positive(momentum, "RMSprop", "momentum", allow_zero=True)
        self.centered = bool(centered)
        self.weight_decay = check_positive(weight_decay, "RMSprop", "weight_decay",
                                           allow_zero=True)
        for p, s in zip(self.params, self.state, strict=True):
            s["square_avg"] = np.zeros_like(p)
            if self.momentum:
                s["momentum_buffer"] = np.zeros_like(p)
            if self.centered:
                s["grad_avg"] = np.zeros_like(p)

    def _update(self, p, g, s):
        a = self.alpha
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = s["square_avg"]
        v *= a
        v += (1 - a) * g * g                                      # v_t
        if self.centered:
            m = s["grad_avg"]
            m *= a
            m += (1 - a) * g                                      # ḡ_t
            r = np.sqrt(v - m * m) + self.eps
        else:
            r = np.sqrt(v) + self.eps
        if self.momentum:
            b = s["momentum_buffer"]
            b *= self.momentum
            b += g / r                                            # b_t
            p -= self.lr * b
        else:
            p -= self.lr * g / r


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (weight decay as an L2 term added to the gradient).

    Update at step t (m, v start at 0, β₁, β₂ = ``betas``)::

        g   ← g + λ θ
        m_t = β₁ m_{t-1} + (1 − β₁) g               (first moment: momentum)
        v_t = β₂ v_{t-1} + (1 − β₂) g ⊙ g           (second moment: RMSprop)
        m̂_t = m_t / (1 − β₁ᵗ),   v̂_t = v_t / (1 − β₂ᵗ)   (bias correction)
        θ   ← θ − η m̂_t / (√v̂_t + ε)

    Because λθ passes through the division by √v̂, large-gradient coordinates are decayed
    less: L2 regularisation is *not* weight decay for Adam (see :class:`AdamW`).
    Kingma & Ba (2015), "Adam: a method for stochastic optimization", ICLR.
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        where = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_in_range(betas[0], where, "betas[0]", 0.0, 1.0, high_open=True),
                      _in_range(betas[1], where, "betas[1]", 0.0, 1.0, high_open=True))
        self.eps = check_positive(eps, where, "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, where, "weight_decay",
                                           allow_zero=True)
        for p, s in zip(self.params, self.state, strict=True):
            s["exp_avg"], s["exp_avg_sq"] = np.zeros_like(p), np.zeros_like(p)

    def _update(self, p, g, s):
        b1, b2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                p *= 1 - self.lr * self.weight_decay                # θ ← θ − ηλθ
            else:
                g = g + self.weight_decay * p                       # g ← g + λθ
        m, v = s["exp_avg"], s["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g                                           # m_t
        v *= b2
        v += (1 - b2) * g * g                                       # v_t
        m_hat = m / (1 - b1 ** self.t)
        v_hat = v / (1 - b2 ** self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Update at step t: first shrink the weights, then take the plain Adam step::

        θ ← θ − η λ θ
        θ ← θ − η m̂_t / (√v̂_t + ε)        (m̂, v̂ from the gradient g alone, as in Adam)

    Every coordinate decays at the same rate ηλ whatever its gradient history, which is
    what "weight decay" means for SGD. Loshchilov & Hutter (2019), "Decoupled weight decay
    regularization", ICLR. Note the default λ = 0.01 (torch's default), unlike Adam's 0.
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


# ----------------------------------------------------------------------------- schedules

def _steps(t, where: str) -> tuple[np.ndarray, bool]:
    """Validate a step counter: an int (or real) >= 0, or an array of them."""
    arr = as_array(t, where, "t", dtype_kind="iuf", allow_empty=True)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: t must be finite")
    if np.any(arr < 0):
        raise ValueError(f"{where}: t must be >= 0, got min {arr.min()}")
    return arr.astype(np.float64), arr.ndim == 0


def _out(value: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(value) if scalar else value


def inverse_time_decay(lr0: float, t, decay_rate: float,
                       decay_steps: int = 1) -> float | np.ndarray:
    """Inverse-time decay: η_t = η₀ / (1 + r · t / s).

    Args:
        lr0: the initial rate η₀ > 0.
        t: the step, an int >= 0 or an integer array of steps.
        decay_rate: r >= 0.
        decay_steps: s > 0; η has halved when r t / s = 1.

    Returns:
        η_t, a float for a scalar t, else an array shaped like t.
    The classic Robbins–Monro choice η ∝ 1/t for stochastic approximation (1951).
    """
    where = "inverse_time_decay"
    lr0 = check_positive(lr0, where, "lr0")
    r = check_positive(decay_rate, where, "decay_rate", allow_zero=True)
    s = check_positive(decay_steps, where, "decay_steps")
    t, scalar = _steps(t, where)
    return _out(lr0 / (1.0 + r * t / s), scalar)


def exponential_decay(lr0: float, t, decay_rate: float,
                      decay_steps: int = 1) -> float | np.ndarray:
    """Exponential decay: η_t = η₀ · r^(t / s).

    With s = 1 this is ``torch.optim.lr_scheduler.ExponentialLR(gamma=r)``.

    Args:
        lr0: η₀ > 0. t: the step (int >= 0 or integer array). decay_rate: r in (0, 1].
        decay_steps: s > 0, the number of steps over which η is multiplied by r.

    Returns:
        η_t, a float for a scalar t, else an array shaped like t.
    """
    where = "exponential_decay"
    lr0 = check_positive(lr0, where, "lr0")
    r = check_positive(decay_rate, where, "decay_rate")
    s = check_positive(decay_steps, where, "decay_steps")
    t, scalar = _steps(t, where)
    return _out(lr0 * r ** (t / s), scalar)


def natural_exp_decay(lr0: float, t, k: float) -> float | np.ndarray:
    """Natural-exponential decay: η_t = η₀ · e^(−k t).

    The same curve as :func:`exponential_decay` with r = e^(−k).

    Args:
        lr0: η₀ > 0. t: the step (int >= 0 or integer array). k: the decay constant >= 0.

    Returns:
        η_t, a float for a scalar t, else an array shaped like t.
    """
    where = "natural_exp_decay"
    lr0 = check_positive(lr0, where, "lr0")
    k = check_positive(k, where, "k", allow_zero=True)
    t, scalar = _steps(t, where)
    return _out(lr0 * np.exp(-k * t), scalar)


def step_decay(lr0: float, t, drop: float, every: int) -> float | np.ndarray:
    """Step (piecewise-constant) decay: η_t = η₀ · drop^⌊t / every⌋.

    ``torch.optim.lr_scheduler.StepLR(step_size=every, gamma=drop)``.

    Args:
        lr0: η₀ > 0. t: the step (int >= 0 or integer array).
        drop: the factor applied every ``every`` steps, in (0, 1]. every: an int >= 1.

    Returns:
        η_t, a float for a scalar t, else an array shaped like t.
    """
    where = "step_decay"
    lr0 = check_positive(lr0, where, "lr0")
    drop = check_positive(drop, where, "drop")
    every = check_positive(every, where, "every")
    t, scalar = _steps(t, where)
    return _out(lr0 * drop ** np.floor(t / every), scalar)


def cosine_decay(lr0: float, t, total: int, lr_min: float = 0.0) -> float | np.ndarray:
    """Cosine annealing: η_t = η_min + ½ (η₀ − η_min)(1 + cos(π t / T)) for t <= T.

    After t = T the rate stays at η_min (torch's ``CosineAnnealingLR(T_max=T,
    eta_min=η_min)`` agrees for t <= T; it would rise again after T).
    Loshchilov & Hutter (2017), "SGDR: stochastic gradient descent with warm restarts", ICLR.

    Args:
        lr0: η₀ > 0. t: the step (int >= 0 or integer array). total: T > 0.
        lr_min: η_min in [0, η₀].

    Returns:
        η_t, a float for a scalar t, else an array shaped like t.
    """
    where = "cosine_decay"
    lr0 = check_positive(lr0, where, "lr0")
    T = check_positive(total, where, "total")
    lr_min = check_positive(lr_min, where, "lr_min", allow_zero=True)
    if lr_min > lr0:
        raise ValueError(f"{where}: lr_min must be <= lr0, got lr_min={lr_min}, lr0={lr0}")
    t, scalar = _steps(t, where)
    t = np.minimum(t, T)
    return _out(lr_min + 0.5 * (lr0 - lr_min) * (1 + np.cos(math.pi * t / T)), scalar)


def cyclic_lr(base_lr: float, max_lr: float, t, step_size: int) -> float | np.ndarray:
    """Triangular cyclical learning rate (Smith 2017).

    The rate climbs linearly from ``base_lr`` to ``max_lr`` in ``step_size`` steps, falls back
    in another ``step_size`` steps, and repeats::

        cycle = ⌊1 + t / (2 s)⌋,   x = |t / s − 2 cycle + 1|,
        η_t   = η_base + (η_max − η_base) · max(0, 1 − x)

    ``torch.optim.lr_scheduler.CyclicLR(mode="triangular", step_size_up=s)``.
    Smith (2017), "Cyclical learning rates for training neural networks", WACV.

    Args:
        base_lr: η_base > 0. max_lr: η_max >= η_base. t: the step (int >= 0 or integer array).
        step_size: s > 0, half a cycle.

    Returns:
        η_t, a float for a scalar t, else an array shaped like t.
    """
    where = "cyclic_lr"
    base_lr = check_positive(base_lr, where, "base_lr")
    max_lr = check_positive(max_lr, where, "max_lr")
    if max_lr < base_lr:
        raise ValueError(f"{where}: max_lr must be >= base_lr, got {max_lr} < {base_lr}")
    s = check_positive(step_size, where, "step_size")
    t, scalar = _steps(t, where)
    cycle = np.floor(1 + t / (2 * s))
    x = np.abs(t / s - 2 * cycle + 1)
    return _out(base_lr + (max_lr - base_lr) * np.maximum(0.0, 1 - x), scalar)


def warmup_cosine(lr_max: float, t, warmup: int, total: int) -> float | np.ndarray:
    """Linear warm-up, then cosine decay to 0::

        η_t = η_max · t / W                                  for t < W
        η_t = η_max · ½ (1 + cos(π · min(1, (t − W) / (T − W))))   for t >= W

    The rate climbs from 0 to η_max over the first W steps, follows a half cosine down to 0
    at step T and stays at 0 after T. The usual schedule for Adam on large models, whose
    early moment estimates are noisy (Goyal et al. 2017, "Accurate, large minibatch SGD";
    Vaswani et al. 2017 warm up too). With W = 0 it is :func:`cosine_decay`.

    In PyTorch: ``SequentialLR([LinearLR(start_factor=s, total_iters=W),
    CosineAnnealingLR(T_max=T − W)], milestones=[W])`` for t <= T, up to the warm-up starting
    at s·η_max instead of 0 (``LinearLR`` needs s > 0).

    Args:
        lr_max: the peak rate η_max > 0, reached at t = W.
        t: the step (int >= 0 or integer array).
        warmup: W >= 0, the number of warm-up steps.
        total: T > W, the step at which the rate reaches 0.

    Returns:
        η_t, a float for a scalar t, else an array shaped like t.
    """
    where = "warmup_cosine"
    lr_max = check_positive(lr_max, where, "lr_max")
    W = check_positive(warmup, where, "warmup", allow_zero=True)
    T = check_positive(total, where, "total")
    if T <= W:
        raise ValueError(f"{where}: total must be > warmup, got total={T}, warmup={W}")
    t, scalar = _steps(t, where)
    ramp = lr_max * t / W if W > 0 else np.zeros_like(t)    # used only where t < W
    decay = cosine_decay(lr_max, np.maximum(t - W, 0.0), T - W)   # stays 0 after T
    return _out(np.where(t < W, ramp, decay), scalar)
