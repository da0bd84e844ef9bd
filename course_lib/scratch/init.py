"""Weight initialisation from scratch (NumPy only), and a probe of deep-network statistics.

    W = init_weights((256, 128), "he_normal", rng=rng)      # (fan_out, fan_in) like nn.Linear
    stats = forward_activation_stats(X, n_layers=10, width=256, method="he_normal",
                                     activation="relu", rng=rng)
    stats.act_var            # variance of each layer's activations, (10,)

Fans are counted as ``torch.nn.init`` counts them, for weights shaped ``(out, in, *kernel)``:
``fan_in = in * prod(kernel)``, ``fan_out = out * prod(kernel)``.

| method | distribution | scale |
|---|---|---|
| ``zeros`` / ``constant`` | every entry ``value`` | (breaks nothing but symmetry) |
| ``normal`` | N(0, σ²) | σ = ``std`` (fixed) |
| ``uniform`` | U(−r, r) | r = √(3σ²), so the variance is σ² |
| ``xavier_normal`` / ``xavier_uniform`` | N / U | σ² = gain² · 2 / (fan_in + fan_out) |
| ``he_normal`` / ``he_uniform`` | N / U | σ² = gain² · 2 / fan_in |
| ``orthogonal`` | QR of a Gaussian matrix | gain · Q with QᵀQ = I |

References: X. Glorot & Y. Bengio, "Understanding the difficulty of training deep feedforward
neural networks", AISTATS 2010 (Xavier). K. He, X. Zhang, S. Ren & J. Sun, "Delving deep into
rectifiers", ICCV 2015 (He / Kaiming). A. Saxe, J. McClelland & S. Ganguli, "Exact solutions to
the nonlinear dynamics of learning in deep linear neural networks", ICLR 2014 (orthogonal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.validate import as_float_array, check_int, check_positive, check_rng

METHODS = ("zeros", "constant", "normal", "uniform", "xavier_normal", "xavier_uniform",
           "he_normal", "he_uniform", "orthogonal")
ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid")


def _check_shape(shape, where: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"{where}: shape must be a tuple of ints, got {shape!r}")
    shape = tuple(int(s) for s in shape)
    if any(s < 1 for s in shape):
        raise ValueError(f"{where}: every dimension of shape must be >= 1, got {shape}")
    return shape


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``, as torch counts them.

    A Linear weight ``(out, in)`` has fan_in = in, fan_out = out; a conv weight
    ``(out, in, kh, kw)`` has fan_in = in·kh·kw, fan_out = out·kh·kw. Needs ≥ 2 dimensions.
    """
    shape = _check_shape(shape, "fans")
    if len(shape) < 2:
        raise ValueError(f"fans: fan-in and fan-out need a weight with at least 2 dimensions "
                         f"(out, in, ...), got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def init_std(shape: tuple[int, ...], method: str, *, gain: float = 1.0,
             std: float | None = None) -> float:
    """The standard deviation σ that ``init_weights(shape, method, ...)`` draws with.

    ``normal``/``uniform``: ``std``; Xavier: gain·√(2/(fan_in+fan_out)); He: gain·√(2/fan_in).
    Other methods raise ``ValueError`` (constants have σ = 0; orthogonal is not i.i.d.).
    """
    if method in ("normal", "uniform"):
        if std is None:
            raise ValueError(f"init_weights: method {method!r} needs std=σ (a fixed standard "
                             f"deviation), got std=None")
        return check_positive(std, "init_weights", "std", allow_zero=True)
    gain = check_positive(gain, "init_weights", "gain")
    if method in ("xavier_normal", "xavier_uniform"):
        fan_in, fan_out = fans(shape)
        return gain * np.sqrt(2.0 / (fan_in + fan_out))
    if method in ("he_normal", "he_uniform"):
        fan_in, _ = fans(shape)
        return gain * np.sqrt(2.0 / fan_in)
    raise ValueError(f"init_std: method must be one of normal, uniform, xavier_*, he_*, "
                     f"got {method!r}")


def _orthogonal(shape: tuple[int, ...], rng: np.random.Generator, gain: float) -> np.ndarray:
    rows = shape[0]
    cols = int(np.prod(shape[1:]))
    A = rng.standard_normal((rows, cols))
    if rows < cols:
        A = A.T                                   # QR of the tall matrix
    Q, R = np.linalg.qr(A)                        # Q: (max, min) with orthonormal columns
    Q = Q * np.sign(np.diag(R))                   # fix signs so Q is uniformly distributed
    if rows < cols:
        Q = Q.T
    return gain * Q.reshape(shape)


def init_weights(shape: tuple[int, ...], method: str, *, rng: np.random.Generator,
                 gain: float = 1.0, value: float = 0.0, std: float | None = None) -> np.ndarray:
    """Draw a float64 weight array of ``shape`` (``(out, in, *kernel)``) with ``method``.

    Args:
        shape: the weight's shape; fan-based methods need ≥ 2 dimensions.
        method: one of ``METHODS`` (see the module docstring for each formula).
        rng: the ``np.random.Generator`` every random draw comes from.
        gain: extra factor for Xavier, He and orthogonal. He already includes ReLU's √2, so
            ``he_normal`` with gain 1 equals ``torch.nn.init.kaiming_normal_(w,
            nonlinearity="relu")``; Xavier with gain 1 equals ``xavier_normal_(w)``.
        value: the constant for ``constant``.
        std: σ for ``normal`` and ``uniform`` (uniform uses r = √(3σ²)).

    Returns:
        ``W``: float64 array of ``shape``.
    """
    check_rng(rng, "init_weights")
    if method not in METHODS:
        raise ValueError(f"init_weights: method must be one of {', '.join(METHODS)}, "
                         f"got {method!r}")
    shape = _check_shape(shape, "init_weights")
    if method == "zeros":
        return np.zeros(shape)
    if method == "constant":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"init_weights: value must be a number, got {value!r}")
        return np.full(shape, float(value))
    if method == "orthogonal":
        if len(shape) < 2:
            raise ValueError(f"init_weights: orthogonal needs at least 2 dimensions, "
                             f"got shape {shape}")
        return _orthogonal(shape, rng, check_positive(gain, "init_weights", "gain"))
    sigma = init_std(shape, method, gain=gain, std=std)
    if method.endswith("uniform"):
        r = np.sqrt(3.0 * sigma**2)               # Var U(-r, r) = r²/3 = σ²
        return rng.uniform(-r, r, size=shape)
    return rng.normal(0.0, sigma, size=shape)


# ------------------------------------------------------------------------------------------
# What happens inside a deep stack
# ------------------------------------------------------------------------------------------
def _act(z: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """(h, dh/dz) for an activation."""
    if activation == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(z.dtype)
    if activation == "tanh":
        h = np.tanh(z)
        return h, 1.0 - h**2
    if activation == "sigmoid":
        h = 0.5 * (1.0 + np.tanh(0.5 * z))        # stable σ(z)
        return h, h * (1.0 - h)
    return z, np.ones_like(z)


@dataclass
class ActivationStats:
    """What :func:`forward_activation_stats` measured, one entry per layer ``l = 1..L``.

    ``activations[l-1]``: (N, width) array h_l; ``act_var``/``act_mean``: (L,) its variance and
    mean over all entries; ``grad_var``: (L,) variance of ∂loss/∂h_l when a standard normal
    gradient enters at the top; ``saturated``: (L,) fraction of units whose slope f'(z_l) is
    below 5 % of the activation's largest slope (tanh/sigmoid flat regions, ReLU's zeros).
    """

    activations: list[np.ndarray]
    act_mean: np.ndarray
    act_var: np.ndarray
    grad_var: np.ndarray
    saturated: np.ndarray
    weights: list[np.ndarray]


def forward_activation_stats(X: np.ndarray, *, n_layers: int, width: int, method: str,
                             activation: str, rng: np.random.Generator, gain: float = 1.0,
                             std: float | None = None) -> ActivationStats:
    """Push a batch through ``n_layers`` of Linear (+ zero bias) + ``activation`` and back.

    Forward: z_l = h_{l-1} W_lᵀ, h_l = f(z_l), with W_l of shape (width, fan_in) drawn by
    :func:`init_weights` (h_0 = X). Backward: a gradient g_L ~ N(0, 1) enters at the top and
    g_{l-1} = (g_l ⊙ f'(z_l)) W_l. Glorot & Bengio (2010) plot exactly these two statistics.

    Args:
        X: (N, D) float inputs (standardise them first).
        n_layers, width: depth L and hidden width.
        method, gain, std: passed to :func:`init_weights`.
        activation: ``"linear"``, ``"relu"``, ``"tanh"`` or ``"sigmoid"``.
        rng: Generator for the weights and the top gradient.

    Returns:
        :class:`ActivationStats` with per-layer activations and (L,) statistics.
    """
    where = "forward_activation_stats"
    X = as_float_array(X, where, "X", ndim=2, dtype=np.float64)
    n_layers = check_int(n_layers, where, "n_layers", low=1)
    width = check_int(width, where, "width", low=1)
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where}: activation must be one of {', '.join(ACTIVATIONS)}, "
                         f"got {activation!r}")
    h, Ws, hs, dfs = X, [], [], []
    for _ in range(n_layers):
        W = init_weights((width, h.shape[1]), method, rng=rng, gain=gain, std=std)  # (w, in)
        h, df = _act(h @ W.T, activation)                                            # (N, w)
        Ws.append(W)
        hs.append(h)
        dfs.append(df)
    g = rng.standard_normal(h.shape)                                                 # ∂L/∂h_L
    grad_var = np.zeros(n_layers)
    for l in range(n_layers - 1, -1, -1):
        grad_var[l] = g.var()
        g = (g * dfs[l]) @ Ws[l]                                                     # ∂L/∂h_{l-1}
    peak = 0.25 if activation == "sigmoid" else 1.0                                  # max f'
    saturated = np.array([np.mean(d < 0.05 * peak) for d in dfs])
    return ActivationStats(activations=hs, act_mean=np.array([a.mean() for a in hs]),
                           act_var=np.array([a.var() for a in hs]), grad_var=grad_var,
                           saturated=saturated, weights=Ws)
