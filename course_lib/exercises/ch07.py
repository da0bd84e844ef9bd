"""Checks for the exercises of chapter 07 (Training deep networks).

Each check runs the learner's function on seeded random inputs and compares it with the
reference in :mod:`course_lib.scratch` (optim, norm, regularization), which the chapter checks
against PyTorch. The warm-up exercise's reference is ``optim.warmup_cosine``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function, random_shape
from course_lib.scratch import norm, optim, regularization

# ----------------------------------------------------------------------------- 1. one Adam step

def _adam_inputs(rng: np.random.Generator):
    shape = random_shape(rng)
    t = int(rng.integers(1, 20))
    theta, g = rng.normal(size=shape), rng.normal(size=shape)
    m = 0.1 * rng.normal(size=shape) if t > 1 else np.zeros(shape)
    v = 0.1 * rng.random(size=shape) if t > 1 else np.zeros(shape)
    lr = float(10 ** rng.uniform(-3, -1))
    beta1, beta2 = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999))
    return theta, g, m, v, t, lr, beta1, beta2, 1e-8


def _adam_reference(theta, g, m, v, t, lr, beta1, beta2, eps):
    opt = optim.Adam([theta.copy()], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.state[0]["exp_avg"][...] = m
    opt.state[0]["exp_avg_sq"][...] = v
    opt.t = t - 1                                  # step() makes it t
    opt.step([g])
    return opt.params[0], opt.state[0]["exp_avg"], opt.state[0]["exp_avg_sq"]


def check_adam_step(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(theta, g, m, v, t, lr, beta1, beta2, eps) -> (theta, m, v)``: step t of Adam.

    ``m``, ``v`` are the moment estimates after step t − 1 (zeros when t = 1); the function
    returns the new parameter and the new moments, all shaped like ``theta``.
    """
    return check_function(
        fn, _adam_reference, _adam_inputs, name="one Adam step", trials=6,
        rtol=1e-9, atol=1e-12, strict=strict,
        hint="m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ); "
             "θ − lr·m̂/(√v̂ + ε). Return (theta, m, v) in that order")


# ----------------------------------------------------------------------------- 2. warm-up + cosine

def _warmup_reference(t: np.ndarray, lr_max: float, warmup: int, total: int) -> np.ndarray:
    """:func:`course_lib.scratch.optim.warmup_cosine`, in the exercise's argument order."""
    return optim.warmup_cosine(lr_max, t, warmup, total)


def _warmup_inputs(rng: np.random.Generator):
    warmup = int(rng.integers(1, 20))
    total = warmup + int(rng.integers(1, 100))
    t = np.arange(total + 5)
    return t, float(10 ** rng.uniform(-4, 0)), warmup, total


def check_warmup_cosine(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(t, lr_max, warmup, total) -> array``: linear warm-up then cosine decay.

    ``t``: (n,) integer steps 0, 1, ...; returns (n,) rates: η_max·t/W for t < W, then
    η_max·½(1 + cos(π(t − W)/(T − W))) for W ≤ t ≤ T, and 0 after T.
    """
    return check_function(
        fn, _warmup_reference, _warmup_inputs, name="warm-up + cosine schedule",
        trials=6, rtol=1e-9, atol=1e-15, strict=strict,
        hint="use np.where(t < warmup, ramp, cosine part); clip (t − W)/(T − W) to [0, 1] so "
             "the rate stays 0 after T; work on the whole array t at once")


# ----------------------------------------------------------------------------- 3. BN backward

def _bn_inputs(rng: np.random.Generator):
    N, D = int(rng.integers(2, 9)), int(rng.integers(1, 6))
    x = 2.0 * rng.normal(size=(N, D)) + rng.normal(size=D)
    return x, rng.uniform(0.5, 2.0, size=D), rng.normal(size=(N, D)), 1e-5


def _bn_backward_reference(x, gamma, dout, eps):
    _, cache = norm.batchnorm_forward(x, gamma, np.zeros_like(gamma), {}, train=True, eps=eps)
    return norm.batchnorm_backward(dout, cache)[0]


def check_batchnorm_backward(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, gamma, dout, eps) -> dx``: BatchNorm's input gradient in training mode.

    ``x``, ``dout``: (N, D); ``gamma``: (D,); the forward pass normalises each column with
    the batch mean and biased variance, then scales by gamma.
    """
    return check_function(
        fn, _bn_backward_reference, _bn_inputs, name="BatchNorm backward", trials=6,
        rtol=1e-7, atol=1e-10, strict=strict,
        hint="with x̂ = (x − μ)/√(σ² + ε) and d x̂ = dout·γ: dx = (d x̂ − mean(d x̂) − "
             "x̂·mean(d x̂·x̂)) / √(σ² + ε), means over the batch axis 0")


# ----------------------------------------------------------------------------- 4. label smoothing

def _ls_inputs(rng: np.random.Generator):
    N, K = int(rng.integers(1, 8)), int(rng.integers(2, 8))
    scale = 400.0 if rng.random() < 0.3 else 3.0           # some logits overflow a naive exp
    return (scale * rng.normal(size=(N, K)), rng.integers(0, K, size=N),
            float(rng.choice([0.0, 0.1, 0.25])))


def check_label_smoothing(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(logits, y, smoothing) -> float``: mean cross-entropy against the smoothed
    targets (1 − ε)·one_hot(y) + ε/K, finite even for logits in the hundreds."""
    return check_function(
        fn, lambda z, y, e: regularization.label_smoothing_cross_entropy(z, y, e)[0],
        _ls_inputs, name="label-smoothed cross-entropy", trials=8, rtol=1e-9, atol=1e-12,
        strict=strict,
        hint="log-softmax = z − m − log Σ exp(z − m) with m the row max; build q with ε/K "
             "everywhere plus 1 − ε on the true class; loss = −mean over rows of Σ q·log p")
