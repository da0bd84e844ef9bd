"""Vectorised layers with forward and backward passes (chapter 06).

Every layer is a pair of functions in the CS231n style:

    out, cache = relu_forward(x)          # forward: keep what the backward pass needs
    dx = relu_backward(dout, cache)       # backward: upstream gradient in, local gradients out

``dout`` is ∂L/∂out (the shape of ``out``); a backward returns ∂L/∂(each input) with the shape
of that input. Chaining the backward calls in reverse order is backpropagation (Rumelhart,
Hinton & Williams, "Learning representations by back-propagating errors", Nature 1986).

Contents:

1. ``linear_*``: the affine layer ``out = x W + b``.
2. Activations: sigmoid, tanh, ReLU, LeakyReLU, PReLU (learnable slope), ELU.
3. Losses returning ``(loss, dscores)``: softmax cross-entropy and mean squared error.

The multilayer perceptron built from these layers, and Rosenblatt's perceptron, are in
:mod:`course_lib.scratch.mlp`.

All functions work in the dtype of their inputs; use float64 for gradient checks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.scratch.functional import log_softmax, sigmoid, softmax
from course_lib.scratch.validate import (
    as_float_array,
    check_grad_shape,
    check_labels,
    check_positive,
    check_same_shape,
)

__all__ = [
    "linear_forward", "linear_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "prelu_forward", "prelu_backward", "elu_forward", "elu_backward",
    "softmax_cross_entropy", "mse_loss", "ACTIVATIONS", "LOSSES",
]


# ---------------------------------------------------------------------------------------------
# 1. The affine (linear, fully connected) layer
# ---------------------------------------------------------------------------------------------

def linear_forward(x, W, b) -> tuple[np.ndarray, tuple]:
    """Affine layer ``out = x W + b``.

    Args:
        x: (N, D) inputs.
        W: (D, M) weights (note: ``torch.nn.Linear`` stores the transpose, (M, D)).
        b: (M,) biases.

    Returns:
        ``out`` (N, M) and ``cache = (x, W)``.
    """
    where = "linear_forward"
    x = as_float_array(x, where, "x", ndim=2)
    W = as_float_array(W, where, "W", ndim=2)
    b = as_float_array(b, where, "b", ndim=1)
    if x.shape[1] != W.shape[0]:
        raise ValueError(f"{where}: x is (N, D) = {x.shape} but W is (D, M) = {W.shape}; "
                         f"the D's must match")
    if b.shape[0] != W.shape[1]:
        raise ValueError(f"{where}: b must have shape ({W.shape[1]},) to match W {W.shape}, "
                         f"got {b.shape}")
    out = x @ W + b                                   # (N, M)
    return out, (x, W)


def linear_backward(dout, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`linear_forward`.

    With ``out = x W + b``: ``dx = dout Wᵀ``, ``dW = xᵀ dout``, ``db = Σ_n dout[n]``.

    Args:
        dout: (N, M) upstream gradient ∂L/∂out.
        cache: ``(x, W)`` from the forward pass.

    Returns:
        ``dx`` (N, D), ``dW`` (D, M), ``db`` (M,).
    """
    x, W = cache
    dout = check_grad_shape(dout, (x.shape[0], W.shape[1]), "linear_backward")
    dx = dout @ W.T                                   # (N, M) (M, D) -> (N, D)
    dW = x.T @ dout                                   # (D, N) (N, M) -> (D, M)
    db = dout.sum(axis=0)                             # (M,)
    return dx, dW, db


# ---------------------------------------------------------------------------------------------
# 2. Activations (elementwise; x and out have any shape)
# ---------------------------------------------------------------------------------------------

def sigmoid_forward(x) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid ``σ(x) = 1 / (1 + e^{-x})``, computed without overflow.

    Args: x: any shape. Returns: ``out`` (shape of x) and ``cache = out``.
    """
    x = as_float_array(x, "sigmoid_forward", "x")
    out = sigmoid(x).astype(x.dtype, copy=False)      # the stable σ of chapter 05
    return out, out


def sigmoid_backward(dout, cache: np.ndarray) -> np.ndarray:
    """Backward of the sigmoid: ``dx = dout · σ(x)(1 − σ(x))`` (at most 0.25 · dout).

    Args: dout: shape of x; cache: σ(x). Returns: dx, shape of x.
    """
    s = cache
    dout = check_grad_shape(dout, s.shape, "sigmoid_backward")
    return dout * s * (1.0 - s)


def tanh_forward(x) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent ``tanh(x) = 2σ(2x) − 1``, zero-centred, range (−1, 1).

    Args: x: any shape. Returns: ``out`` (shape of x) and ``cache = out``.
    """
    x = as_float_array(x, "tanh_forward", "x")
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache: np.ndarray) -> np.ndarray:
    """Backward of tanh: ``dx = dout · (1 − tanh²(x))``.

    Args: dout: shape of x; cache: tanh(x). Returns: dx, shape of x.
    """
    t = cache
    dout = check_grad_shape(dout, t.shape, "tanh_backward")
    return dout * (1.0 - t * t)


def relu_forward(x) -> tuple[np.ndarray, np.ndarray]:
    """Rectified linear unit ``max(0, x)`` (Nair & Hinton 2010; Glorot et al. 2011).

    Args: x: any shape. Returns: ``out`` (shape of x) and ``cache = x``.
    """
    x = as_float_array(x, "relu_forward", "x")
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache: np.ndarray) -> np.ndarray:
    """Backward of ReLU: ``dx = dout · [x > 0]`` (the derivative at 0 is taken as 0, as torch).

    Args: dout: shape of x; cache: x. Returns: dx, shape of x.
    """
    x = cache
    dout = check_grad_shape(dout, x.shape, "relu_backward")
    return np.where(x > 0, dout, 0.0)


def leaky_relu_forward(x, negative_slope: float = 0.01) -> tuple[np.ndarray, tuple]:
    """Leaky ReLU ``x if x > 0 else a·x`` with a fixed slope ``a`` (Maas et al. 2013).

    Args: x: any shape; negative_slope: a ≥ 0. Returns: ``out`` and ``cache = (x, a)``.
    """
    x = as_float_array(x, "leaky_relu_forward", "x")
    a = check_positive(negative_slope, "leaky_relu_forward", "negative_slope", allow_zero=True)
    return np.where(x > 0, x, a * x), (x, a)


def leaky_relu_backward(dout, cache: tuple) -> np.ndarray:
    """Backward of LeakyReLU: ``dx = dout · (1 if x > 0 else a)``.

    Args: dout: shape of x; cache: (x, a). Returns: dx, shape of x.
    """
    x, a = cache
    dout = check_grad_shape(dout, x.shape, "leaky_relu_backward")
    return np.where(x > 0, dout, a * dout)


def _prelu_slope(x: np.ndarray, a: np.ndarray, where: str) -> np.ndarray:
    """Reshape the slope(s) to broadcast along the channel axis 1, as ``F.prelu``."""
    if a.ndim != 1:
        raise ValueError(f"{where}: a must be a 1-D array of slopes, shape (1,) or (C,), "
                         f"got shape {a.shape}")
    if a.shape[0] == 1:
        return a.reshape(())
    if x.ndim < 2 or x.shape[1] != a.shape[0]:
        raise ValueError(f"{where}: with {a.shape[0]} slopes x must have {a.shape[0]} channels "
                         f"on axis 1, got x of shape {x.shape}")
    return a.reshape((1, -1) + (1,) * (x.ndim - 2))


def prelu_forward(x, a) -> tuple[np.ndarray, tuple]:
    """Parametric ReLU ``x if x > 0 else a_c·x`` with learnable slopes (He et al. 2015).

    Args:
        x: (N, C, ...) inputs (any shape when there is a single slope).
        a: (1,) one slope shared by all units, or (C,) one slope per channel (axis 1).

    Returns:
        ``out`` (shape of x) and ``cache = (x, a)``.
    """
    where = "prelu_forward"
    x = as_float_array(x, where, "x")
    a = as_float_array(a, where, "a")
    a_b = _prelu_slope(x, a, where)
    return np.where(x > 0, x, a_b * x), (x, a)


def prelu_backward(dout, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Backward of PReLU: ``dx = dout · (1 if x > 0 else a)`` and, for the slope,
    ``da_c = Σ over every element of channel c with x ≤ 0 of dout · x``.

    Args: dout: shape of x; cache: (x, a).
    Returns: ``dx`` (shape of x) and ``da`` (shape of a).
    """
    x, a = cache
    dout = check_grad_shape(dout, x.shape, "prelu_backward")
    a_b = _prelu_slope(x, a, "prelu_backward")
    dx = np.where(x > 0, dout, a_b * dout)
    contrib = np.where(x > 0, 0.0, dout * x)          # shape of x
    if a.shape[0] == 1:
        da = np.array([contrib.sum()], dtype=dx.dtype)
    else:
        axes = (0,) + tuple(range(2, x.ndim))
        da = contrib.sum(axis=axes)                   # (C,)
    return dx, da


def elu_forward(x, alpha: float = 1.0) -> tuple[np.ndarray, tuple]:
    """Exponential linear unit ``x if x > 0 else α(eˣ − 1)`` (Clevert et al. 2016).

    Args: x: any shape; alpha: α ≥ 0. Returns: ``out`` and ``cache = (x, out, α)``.
    """
    x = as_float_array(x, "elu_forward", "x")
    alpha = check_positive(alpha, "elu_forward", "alpha", allow_zero=True)
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    return out, (x, out, alpha)


def elu_backward(dout, cache: tuple) -> np.ndarray:
    """Backward of ELU: ``dx = dout · (1 if x > 0 else α eˣ)``.

    ``α eˣ`` equals ``out + α``, but for x ≪ 0 that sum cancels to exactly 0 (at x = −50,
    −α + α·1.9e-22 rounds to −α), so the derivative is computed from x directly.

    Args: dout: shape of x; cache: (x, out, α). Returns: dx, shape of x.
    """
    x, _, alpha = cache
    dout = check_grad_shape(dout, x.shape, "elu_backward")
    return np.where(x > 0, dout, dout * (alpha * np.exp(np.minimum(x, 0.0))))


#: name -> (forward, backward) of the activations without parameters, used by the MLP.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "elu": (elu_forward, elu_backward),
}


# ---------------------------------------------------------------------------------------------
# 3. Losses: (loss, gradient with respect to the scores)
# ---------------------------------------------------------------------------------------------

def softmax_cross_entropy(scores, y) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy ``L = −(1/N) Σ_n log softmax(z_n)[y_n]`` and ∂L/∂z.

    The gradient is the famous ``(softmax(z) − onehot(y)) / N``.

    Args:
        scores: (N, K) logits z.
        y: (N,) integer labels in [0, K).

    Returns:
        ``loss`` (float, as ``F.cross_entropy``) and ``dscores`` (N, K).
    """
    where = "softmax_cross_entropy"
    z = as_float_array(scores, where, "scores", ndim=2, finite=True)
    n, k = z.shape
    y = check_labels(y, n, k, where, per="row of scores")
    rows = np.arange(n)
    loss = -float(np.mean(log_softmax(z, axis=1)[rows, y]))
    dz = softmax(z, axis=1).astype(z.dtype, copy=True)   # (N, K)
    dz[rows, y] -= 1.0
    return loss, dz / n


def mse_loss(pred, target) -> tuple[float, np.ndarray]:
    """Mean squared error ``L = mean((pred − target)²)`` over every element, and ∂L/∂pred.

    Args:
        pred, target: arrays of the same shape (any).

    Returns:
        ``loss`` (float, as ``F.mse_loss``) and ``dpred = 2 (pred − target) / size``.
    """
    where = "mse_loss"
    pred = as_float_array(pred, where, "pred")
    target = as_float_array(target, where, "target")
    check_same_shape(pred, target, where, "pred", "target")
    diff = pred - target
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


LOSSES: dict[str, Callable] = {"cross_entropy": softmax_cross_entropy, "mse": mse_loss}
"""The losses by name: each maps ``(scores, targets)`` to ``(loss, dscores)``."""
