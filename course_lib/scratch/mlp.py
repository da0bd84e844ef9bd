"""A multilayer perceptron from the layers of :mod:`course_lib.scratch.layers`, and
Rosenblatt's perceptron (chapter 06; chapter 07 trains the same MLP with its optimisers).

1. An MLP with its parameters in a dict (``W1, b1, W2, b2, ...``): :func:`init_mlp`,
   forward/backward through the layers, :func:`mlp_loss`, :func:`mlp_predict`, a plain SGD
   step and the mini-batch trainer :func:`fit_mlp`.
2. Rosenblatt's perceptron learning rule (Rosenblatt, "The perceptron", Psychological
   Review 1958): :func:`perceptron_update` and :func:`fit_perceptron`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.batching import minibatch_indices
from course_lib.scratch.init import init_std
from course_lib.scratch.layers import ACTIVATIONS, LOSSES, linear_backward, linear_forward
from course_lib.scratch.optim import Optimizer
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    check_int,
    check_positive,
    check_rng,
    check_same_shape,
)

__all__ = [
    "init_mlp", "mlp_forward", "mlp_backward", "mlp_loss", "mlp_predict", "sgd_step",
    "fit_mlp", "perceptron_update", "fit_perceptron", "PerceptronResult",
]


# ---------------------------------------------------------------------------------------------
# 1. A multilayer perceptron from the layers of course_lib.scratch.layers
# ---------------------------------------------------------------------------------------------

def init_mlp(sizes: Iterable[int], *, rng: np.random.Generator, scale: str | float = "he",
             dtype=np.float64) -> dict[str, np.ndarray]:
    """Random parameters of an MLP ``Linear → act → ... → Linear``.

    Args:
        sizes: widths ``[d_in, h_1, ..., d_out]`` (at least two).
        rng: the Generator for the weights.
        scale: ``"he"`` (std √(2/fan_in), He et al. 2015, for ReLU), ``"xavier"``
            (std √(2/(fan_in + fan_out)), Glorot & Bengio 2010, for tanh), or a number used
            as the std of every weight matrix. Biases start at 0. (The formulas are those of
            ``course_lib.scratch.init``; chapter 07 explains them.)
        dtype: float dtype of the parameters.

    Returns:
        ``{"W1": (d_in, h_1), "b1": (h_1,), ..., "WL": (h_{L-1}, d_out), "bL": (d_out,)}``.
    """
    sizes = [check_int(s, "init_mlp", "sizes[i]", low=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"init_mlp: sizes must list at least [d_in, d_out], got {sizes}")
    check_rng(rng, "init_mlp")
    if isinstance(scale, str) and scale not in ("he", "xavier"):
        raise ValueError(f"init_mlp: scale must be 'he', 'xavier' or a number, got {scale!r}")
    params = {}
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        if isinstance(scale, str):                    # fans of the (out, in) = (m, d) weight
            std = init_std((m, d), "he_normal" if scale == "he" else "xavier_normal")
        else:
            std = check_positive(scale, "init_mlp", "scale")
        params[f"W{i}"] = (std * rng.standard_normal((d, m))).astype(dtype)
        params[f"b{i}"] = np.zeros(m, dtype=dtype)
    return params


def _n_layers(params: dict) -> int:
    if not isinstance(params, dict) or "W1" not in params:
        raise TypeError("mlp: params must be the dict from init_mlp with keys W1, b1, W2, ...")
    n = 0
    while f"W{n + 1}" in params:
        n += 1
    return n


def mlp_forward(params: dict[str, np.ndarray], X, activation: str = "relu"
                ) -> tuple[np.ndarray, list]:
    """Forward pass ``h_0 = X, h_l = act(h_{l-1} W_l + b_l)``, no activation after the last.

    Args:
        params: from :func:`init_mlp`.
        X: (N, d_in) inputs (or (N, ...) flattened to (N, d_in)).
        activation: a key of :data:`ACTIVATIONS`.

    Returns:
        ``scores`` (N, d_out) and the list of caches, one ``(linear_cache, act_cache)`` a layer.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp_forward: activation must be one of {sorted(ACTIVATIONS)}, "
                         f"got {activation!r}")
    L = _n_layers(params)
    X = as_float_array(X, "mlp_forward", "X")
    h = X.reshape(len(X), -1) if X.ndim > 2 else X    # (N, d_in)
    act_forward = ACTIVATIONS[activation][0]
    caches = []
    for i in range(1, L + 1):
        h, lin_cache = linear_forward(h, params[f"W{i}"], params[f"b{i}"])   # (N, h_i)
        act_cache = None
        if i < L:
            h, act_cache = act_forward(h)
        caches.append((lin_cache, act_cache))
    return h, caches


def mlp_backward(dscores, caches: list, activation: str = "relu") -> dict[str, np.ndarray]:
    """Backward pass through :func:`mlp_forward`: the gradient of every parameter.

    Args:
        dscores: (N, d_out) ∂L/∂scores.
        caches: from :func:`mlp_forward`.
        activation: the same activation as in the forward pass.

    Returns:
        ``{"W1": dW1, "b1": db1, ...}`` with the shapes of the parameters.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp_backward: activation must be one of {sorted(ACTIVATIONS)}, "
                         f"got {activation!r}")
    act_backward = ACTIVATIONS[activation][1]
    grads = {}
    dh = dscores
    for i in range(len(caches), 0, -1):
        lin_cache, act_cache = caches[i - 1]
        if act_cache is not None:
            dh = act_backward(dh, act_cache)
        dh, grads[f"W{i}"], grads[f"b{i}"] = linear_backward(dh, lin_cache)
    return grads


def mlp_loss(params: dict[str, np.ndarray], X, y, *, activation: str = "relu",
             loss: str = "cross_entropy") -> tuple[float, dict[str, np.ndarray]]:
    """Loss of the MLP on a batch and the gradient of every parameter.

    Args:
        params: from :func:`init_mlp`.
        X: (N, d_in) inputs; y: (N,) int labels (cross-entropy) or (N, d_out) targets (mse).
        activation: hidden activation; loss: ``"cross_entropy"`` or ``"mse"``.

    Returns:
        ``(loss, grads)``.
    """
    if loss not in LOSSES:
        raise ValueError(f"mlp_loss: loss must be one of {sorted(LOSSES)}, got {loss!r}")
    scores, caches = mlp_forward(params, X, activation)
    value, dscores = LOSSES[loss](scores, y)
    return value, mlp_backward(dscores, caches, activation)


def mlp_predict(params: dict[str, np.ndarray], X, activation: str = "relu") -> np.ndarray:
    """Predicted class ``argmax_k scores[n, k]`` for (N, d_in) inputs; returns (N,) int64."""
    return np.argmax(mlp_forward(params, X, activation)[0], axis=1)


def sgd_step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
    """Plain gradient descent step ``θ ← θ − lr · ∂L/∂θ``, in place, for every key of params."""
    lr = check_positive(lr, "sgd_step", "lr")
    for key, value in params.items():
        if key not in grads:
            raise KeyError(f"sgd_step: no gradient for parameter {key!r}")
        if grads[key].shape != value.shape:
            raise ValueError(f"sgd_step: gradient of {key} has shape {grads[key].shape}, "
                             f"parameter has {value.shape}")
        value -= lr * grads[key]


def fit_mlp(params: dict[str, np.ndarray], X, y, *, epochs: int, batch_size: int,
              lr: float | None = None, rng: np.random.Generator, activation: str = "relu",
              loss: str = "cross_entropy", wrap: Callable[[Iterable], Iterable] | None = None,
              optimizer: Optimizer | None = None) -> list[float]:
    """Mini-batch training of the MLP; updates ``params`` in place.

    Args:
        params: from :func:`init_mlp`.
        X: (N, d_in) inputs; y: (N,) labels or (N, d_out) targets.
        epochs, batch_size: the schedule (epochs bounded, never wall-clock time).
        lr: step of plain SGD (:func:`sgd_step`); give either ``lr`` or ``optimizer``.
        rng: shuffles the examples each epoch (via ``minibatch_indices``).
        activation, loss: as in :func:`mlp_loss`.
        wrap: optional wrapper of the epoch iterator, e.g. ``tqdm`` for a progress bar.
        optimizer: a ``course_lib.scratch.optim`` optimiser built on
            ``list(params.values())`` (e.g. ``SGD(list(params.values()), 0.1, momentum=0.9)``).

    Returns:
        The loss of every mini-batch step, in order (a list of floats).
    """
    epochs = check_int(epochs, "fit_mlp", "epochs", low=1)
    if (lr is None) == (optimizer is None):
        raise ValueError("fit_mlp: give exactly one of lr (plain SGD) or optimizer, got "
                         f"lr={lr!r} and optimizer={type(optimizer).__name__}")
    if optimizer is not None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"fit_mlp: optimizer must be a course_lib.scratch.optim "
                            f"optimiser, got {type(optimizer).__name__}")
        if len(optimizer.params) != len(params) or any(
                a is not b for a, b in zip(optimizer.params, params.values(), strict=False)):
            raise ValueError("fit_mlp: the optimizer must be built on "
                             "list(params.values()), the same arrays in the same order")
    else:
        lr = check_positive(lr, "fit_mlp", "lr")
    X = as_float_array(X, "fit_mlp", "X")
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"fit_mlp: X has {len(X)} rows but y has {len(y)}")
    history = []
    epoch_iter: Iterable = range(epochs)
    if wrap is not None:
        epoch_iter = wrap(epoch_iter)
    for _ in epoch_iter:
        for idx in minibatch_indices(len(X), batch_size, rng=rng):
            value, grads = mlp_loss(params, X[idx], y[idx], activation=activation, loss=loss)
            if not np.isfinite(value):
                raise FloatingPointError(f"fit_mlp: the loss became {value} at step "
                                         f"{len(history)}; lower the learning rate?")
            if optimizer is None:
                sgd_step(params, grads, lr)
            else:
                optimizer.step([grads[k] for k in params])
            history.append(value)
    return history


# ---------------------------------------------------------------------------------------------
# 2. Rosenblatt's perceptron
# ---------------------------------------------------------------------------------------------

@dataclass
class PerceptronResult:
    """Outcome of :func:`fit_perceptron`: weights ``w`` (D,), bias ``b``, the number of
    ``updates`` (mistakes corrected), ``epochs`` run, and whether it ``converged`` (an epoch
    without a single mistake)."""

    w: np.ndarray
    b: float
    updates: int
    epochs: int
    converged: bool


def perceptron_update(w, b: float, x, y: int, lr: float = 1.0) -> tuple[np.ndarray, float]:
    """One step of the perceptron rule on example ``(x, y)``, y ∈ {−1, +1}.

    If the example is misclassified or on the boundary, ``y (w·x + b) ≤ 0``, then
    ``w ← w + lr·y·x`` and ``b ← b + lr·y``; otherwise nothing changes.

    Args: w: (D,) weights; b: bias; x: (D,) example; y: its label; lr: step (> 0).
    Returns: the new ``(w, b)`` (w is a new array; the input is not modified).
    """
    w = as_float_array(w, "perceptron_update", "w", ndim=1)
    x = as_float_array(x, "perceptron_update", "x", ndim=1)
    if y not in (-1, 1):
        raise ValueError(f"perceptron_update: y must be -1 or +1, got {y!r}")
    check_same_shape(w, x, "perceptron_update", "w", "x")
    if y * (w @ x + b) <= 0:
        return w + lr * y * x, float(b + lr * y)
    return w.copy(), float(b)


def fit_perceptron(X, y, *, max_epochs: int = 100, lr: float = 1.0,
                     rng: np.random.Generator | None = None) -> PerceptronResult:
    """Rosenblatt's perceptron learning rule, cycling through the data until no mistakes.

    The perceptron convergence theorem (Novikoff 1962): if some unit vector separates the data
    with margin γ and every ``‖x‖ ≤ R``, the rule makes at most ``(R/γ)²`` updates (with the
    bias folded into ``w``). On data that is not linearly separable (XOR) it never converges.

    Args:
        X: (N, D) inputs.
        y: (N,) labels in {−1, +1}.
        max_epochs: passes over the data before giving up.
        lr: step size (> 0; with w and b starting at 0 it only rescales them).
        rng: if given, the examples are visited in a fresh random order each epoch.

    Returns:
        A :class:`PerceptronResult`.
    """
    where = "fit_perceptron"
    X = as_float_array(X, where, "X", ndim=2)
    y = as_array(y, where, "y", ndim=1, dtype_kind="iuf")
    if len(y) != len(X):
        raise ValueError(f"{where}: X has {len(X)} rows but y has {len(y)} labels")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError(f"{where}: labels must be -1 or +1, got values {np.unique(y)[:5]}")
    max_epochs = check_int(max_epochs, where, "max_epochs", low=1)
    lr = check_positive(lr, where, "lr")
    if rng is not None:
        check_rng(rng, where)
    w, b, updates = np.zeros(X.shape[1]), 0.0, 0
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        order = rng.permutation(len(X)) if rng is not None else range(len(X))
        for i in order:
            if y[i] * (X[i] @ w + b) <= 0:
                w = w + lr * y[i] * X[i]
                b += lr * float(y[i])
                mistakes += 1
        updates += mistakes
        if mistakes == 0:
            return PerceptronResult(w, b, updates, epoch, True)
    return PerceptronResult(w, b, updates, max_epochs, False)
