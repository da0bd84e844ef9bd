"""Extreme learning machine: a random hidden layer and output weights in closed form.

Huang, Zhu & Siew, "Extreme learning machine: theory and applications", Neurocomputing 70
(2006). A one-hidden-layer network

    H = g(X W + b)        (N, H)   W (D, H), b (H,) drawn at random and never trained
    Ŷ = H β               (N, K)

is fitted by choosing only β, a linear least-squares problem. With ridge regularisation
λ ≥ 0 (Tikhonov),

    β = argmin ‖H β − Y‖² + λ ‖β‖²  =  (HᵀH + λI)⁻¹ HᵀY,

solved with ``np.linalg.solve`` (λ > 0) or ``np.linalg.lstsq`` (λ = 0, minimum-norm solution).
No gradients and no iterations: training costs one matrix factorisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.functional import one_hot
from course_lib.scratch.validate import (
    as_float_array,
    as_matrix,
    check_int,
    check_positive,
    check_rng,
)

# one_hot lives in functional (chapter 10 uses it too); re-exported for chapter 06.
__all__ = ["ELM", "fit_elm", "elm_hidden", "elm_predict", "one_hot"]

_ACTS = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),   # σ(z), without overflow
    "relu": lambda z: np.maximum(z, 0.0),
}


@dataclass
class ELM:
    """A fitted extreme learning machine: random ``W`` (D, H) and ``b`` (H,), the solved
    ``beta`` (H, K), the ``activation`` name, and whether targets were a 1-D vector
    (``squeeze``: then predictions are (N,))."""

    W: np.ndarray
    b: np.ndarray
    beta: np.ndarray
    activation: str
    squeeze: bool


def elm_hidden(model: ELM, X) -> np.ndarray:
    """The random features ``H = g(X W + b)``: (N, D) inputs → (N, H)."""
    X = as_float_array(X, "elm_hidden", "X", ndim=2, dtype=np.float64)
    if X.shape[1] != model.W.shape[0]:
        raise ValueError(f"elm: X must have {model.W.shape[0]} columns, got shape {X.shape}")
    return _ACTS[model.activation](X @ model.W + model.b)


def fit_elm(X, Y, n_hidden: int, *, rng: np.random.Generator, activation: str = "tanh",
            ridge: float = 1e-6, weight_scale: float = 1.0) -> ELM:
    """Fit an extreme learning machine.

    Args:
        X: (N, D) inputs (float64 is used inside).
        Y: (N,) or (N, K) real targets; for classification pass ``one_hot(y, K)``.
        n_hidden: number of random hidden units H ≥ 1.
        rng: draws ``W ~ N(0, weight_scale² / D)`` and ``b ~ N(0, weight_scale²)``.
        activation: ``"tanh"``, ``"sigmoid"`` or ``"relu"``.
        ridge: λ ≥ 0; 0 means plain least squares by ``lstsq``.
        weight_scale: scale of the random weights (the "bandwidth" of the features).

    Returns:
        An :class:`ELM`; predict with :func:`elm_predict`.
    """
    where = "fit_elm"
    X = as_matrix(X, where, "X")
    Y = as_float_array(Y, where, "Y", ndim=(1, 2), finite=True, dtype=np.float64)
    if len(Y) != len(X):
        raise ValueError(f"{where}: X has {len(X)} rows but Y has {len(Y)}")
    n_hidden = check_int(n_hidden, where, "n_hidden", low=1)
    check_rng(rng, where)
    if activation not in _ACTS:
        raise ValueError(f"{where}: activation must be one of {sorted(_ACTS)}, got {activation!r}")
    ridge = check_positive(ridge, where, "ridge", allow_zero=True)
    weight_scale = check_positive(weight_scale, where, "weight_scale")
    D = X.shape[1]
    W = rng.normal(0.0, weight_scale / np.sqrt(D), size=(D, n_hidden))   # (D, H)
    b = rng.normal(0.0, weight_scale, size=n_hidden)                      # (H,)
    model = ELM(W, b, np.zeros((n_hidden, 1)), activation, squeeze=Y.ndim == 1)
    H = elm_hidden(model, X)                                              # (N, H)
    T = Y.reshape(len(Y), -1)                                             # (N, K)
    if ridge > 0:
        model.beta = np.linalg.solve(H.T @ H + ridge * np.eye(n_hidden), H.T @ T)   # (H, K)
    else:
        model.beta = np.linalg.lstsq(H, T, rcond=None)[0]                           # (H, K)
    return model


def elm_predict(model: ELM, X) -> np.ndarray:
    """Outputs ``Ŷ = g(X W + b) β``: (N, K), or (N,) when the model was fitted on (N,) targets.
    For classification take ``argmax`` over axis 1."""
    if not isinstance(model, ELM):
        raise TypeError(f"elm_predict: model must be an ELM from fit_elm, "
                        f"got {type(model).__name__}")
    out = elm_hidden(model, X) @ model.beta                               # (N, K)
    return out[:, 0] if model.squeeze else out
