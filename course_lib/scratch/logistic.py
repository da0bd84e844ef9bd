"""Logistic and softmax regression in NumPy: losses, gradients, predictions and a trainer.

**Logistic regression** (binary, Cox 1958) models ``P(y = 1 | x) = σ(z)`` with the logit
``z = x·w + b`` and the sigmoid ``σ(z) = 1 / (1 + e^{-z})``. The negative log-likelihood of a
Bernoulli label ``y ∈ {0, 1}`` (the *log loss*) simplifies to

    ℓ(z, y) = -[y log σ(z) + (1 - y) log(1 - σ(z))] = softplus(z) - y z,
    softplus(z) = log(1 + e^z),          dℓ/dz = σ(z) - y,

so with the mean over N examples and an optional L2 penalty ``(λ/2)‖w‖²``

    L(w, b)  = (1/N) Σ_i ℓ(x_i·w + b, y_i) + (λ/2)‖w‖²
    ∇_w L    = (1/N) Xᵀ(σ(Xw + b) - y) + λ w,         ∂L/∂b = (1/N) Σ_i (σ(z_i) - y_i).

**Softmax regression** (multinomial logistic regression, Bridle 1990) has K logits
``z = xW + b`` and ``P(y = k | x) = softmax(z)_k``; with one-hot targets Y (N, K)

    L(W, b)  = -(1/N) Σ_i log softmax(z_i)_{y_i} + (λ/2)‖W‖²_F
    ∇_W L    = (1/N) Xᵀ(softmax(Z) - Y) + λ W,        ∇_b L = (1/N) Σ_i (softmax(z_i) - y_i).

The bias is never penalised (as in scikit-learn). Everything is float64; ``sigmoid``,
``log_sigmoid``, ``log_softmax`` and ``softmax`` (the log-sum-exp trick of chapter 03) come
from :mod:`course_lib.scratch.functional`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.scratch.batching import minibatch_indices
from course_lib.scratch.functional import log_sigmoid, log_softmax, sigmoid, softmax
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_matrix,
    check_int,
    check_labels,
    check_positive,
    check_rng,
)

# sigmoid and log_sigmoid live in functional (every chapter uses them); they are re-exported
# here for the chapter 05 notebook, which teaches them.
__all__ = [
    "sigmoid", "log_sigmoid", "log_loss", "log_loss_grad", "softmax_loss", "softmax_loss_grad",
    "predict_proba", "predict", "fit_logistic", "fit_softmax", "confusion_matrix",
]


# ---------------------------------------------------------------------------------------------
# Input checks shared by the losses
# ---------------------------------------------------------------------------------------------

def _l2(l2, where: str) -> float:
    return check_positive(l2, where, "l2", allow_zero=True)


def _binary_params(w, b, X, y, where: str, has_y: bool = True):
    """Validate (w, b, X, y) of logistic regression; return them as float64."""
    X = as_matrix(X, where, "X")
    n, d = X.shape
    w = as_float_array(w, where, "w", ndim=1, finite=True, dtype=np.float64)
    if w.shape != (d,):
        raise ValueError(f"{where}: w must have shape ({d},) to match X of shape {X.shape}, "
                         f"got {w.shape}")
    b = _scalar_bias(b, where)
    if not has_y:
        return w, b, X, None
    y = as_array(y, where, "y", ndim=1, dtype_kind="fiub").astype(np.float64)
    if y.shape != (n,):
        raise ValueError(f"{where}: y must have shape ({n},), one label per row of X, "
                         f"got {y.shape}")
    if not np.all((y >= 0) & (y <= 1)):
        raise ValueError(f"{where}: y must hold labels in [0, 1] (usually 0/1), got values in "
                         f"[{np.nanmin(y):.6g}, {np.nanmax(y):.6g}]")
    return w, b, X, y


def _scalar_bias(b, where: str) -> float:
    arr = as_array(b, where, "b", dtype_kind="fiu")
    if arr.size != 1 or arr.ndim > 1:
        raise ValueError(f"{where}: b must be a scalar for logistic regression, "
                         f"got shape {arr.shape}")
    b = float(arr.reshape(()))
    if not np.isfinite(b):
        raise ValueError(f"{where}: b must be finite, got {b}")
    return b


def _softmax_params(W, b, X, y, where: str, has_y: bool = True):
    """Validate (W, b, X, y) of softmax regression; return float64 arrays and int labels."""
    X = as_matrix(X, where, "X")
    n, d = X.shape
    W = as_matrix(W, where, "W")
    if W.shape[0] != d:
        raise ValueError(f"{where}: W must have shape ({d}, K) to match X of shape {X.shape}, "
                         f"got {W.shape}")
    k = W.shape[1]
    b = as_float_array(b, where, "b", ndim=1, finite=True, dtype=np.float64)
    if b.shape != (k,):
        raise ValueError(f"{where}: b must have shape ({k},), one bias per class, got {b.shape}")
    if not has_y:
        return W, b, X, None
    y = check_labels(y, n, k, where, per="row of X")
    return W, b, X, y


# ---------------------------------------------------------------------------------------------
# Losses and gradients
# ---------------------------------------------------------------------------------------------

def log_loss(w, b, X, y, l2: float = 0.0) -> float:
    """Mean binary log loss of logistic regression plus ``(l2/2)‖w‖²``.

    ``ℓ_i = softplus(z_i) - y_i z_i`` with ``z = Xw + b``; ``softplus(z) = log(1 + e^z)`` is
    computed as ``np.logaddexp(0, z)``, finite for any finite z. Equals
    ``F.binary_cross_entropy_with_logits(X @ w + b, y)`` when ``l2 = 0``.

    Args:
        w: (D,) weights. b: scalar bias.
        X: (N, D) inputs. y: (N,) labels in [0, 1] (0/1, or soft targets).
        l2: L2 strength λ ≥ 0 (the bias is not penalised).

    Returns:
        The loss as a float.
    """
    return log_loss_grad(w, b, X, y, l2)[0]


def log_loss_grad(w, b, X, y, l2: float = 0.0) -> tuple[float, np.ndarray, float]:
    """Log loss of logistic regression and its gradient.

    ``∇_w L = (1/N) Xᵀ(σ(z) - y) + λ w`` and ``∂L/∂b = mean(σ(z) - y)``, ``z = Xw + b``.

    Args:
        w: (D,) weights. b: scalar bias. X: (N, D) inputs. y: (N,) labels in [0, 1].
        l2: L2 strength λ ≥ 0.

    Returns:
        ``(loss, dw, db)``: a float, a (D,) float64 array and a float.
    """
    where = "log_loss_grad"
    w, b, X, y = _binary_params(w, b, X, y, where)
    l2 = _l2(l2, where)
    n = X.shape[0]
    z = X @ w + b                                            # (N,) logits
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * (w @ w)
    dz = (sigmoid(z) - y) / n                                # (N,) dL/dz_i
    dw = X.T @ dz + l2 * w                                   # (D,)
    return float(loss), dw, float(np.sum(dz))


def softmax_loss(W, b, X, y, l2: float = 0.0) -> float:
    """Mean cross-entropy of softmax regression plus ``(l2/2)‖W‖²_F``.

    Equals ``F.cross_entropy(X @ W + b, y)`` when ``l2 = 0``.

    Args:
        W: (D, K) weights. b: (K,) biases. X: (N, D) inputs.
        y: (N,) integer labels in [0, K). l2: L2 strength λ ≥ 0.

    Returns:
        The loss as a float.
    """
    return softmax_loss_grad(W, b, X, y, l2)[0]


def softmax_loss_grad(W, b, X, y, l2: float = 0.0) -> tuple[float, np.ndarray, np.ndarray]:
    """Cross-entropy of softmax regression and its gradient.

    ``∇_W L = (1/N) Xᵀ(P - Y) + λ W`` and ``∇_b L = (1/N) Σ_i (P_i - Y_i)``, where
    ``P = softmax(XW + b)`` row by row and Y is the one-hot encoding of y.

    Args:
        W: (D, K) weights. b: (K,) biases. X: (N, D) inputs.
        y: (N,) integer labels in [0, K). l2: L2 strength λ ≥ 0.

    Returns:
        ``(loss, dW, db)``: a float, a (D, K) and a (K,) float64 array.
    """
    where = "softmax_loss_grad"
    W, b, X, y = _softmax_params(W, b, X, y, where)
    l2 = _l2(l2, where)
    n = X.shape[0]
    rows = np.arange(n)
    Z = X @ W + b                                            # (N, K) logits
    loss = -np.mean(log_softmax(Z, axis=1)[rows, y]) + 0.5 * l2 * np.sum(W * W)
    dZ = softmax(Z, axis=1)                                  # (N, K) P
    dZ[rows, y] -= 1.0                                       # P - Y
    dZ /= n
    dW = X.T @ dZ + l2 * W                                   # (D, K)
    return float(loss), dW, dZ.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------------------------

def predict_proba(w, b, X) -> np.ndarray:
    """Class probabilities of a fitted model.

    Args:
        w, b: logistic regression ``(D,)`` and a scalar, or softmax regression ``(D, K)``
            and ``(K,)``.
        X: (N, D) inputs.

    Returns:
        (N,) ``P(y = 1 | x)`` for logistic regression, (N, K) rows summing to 1 for softmax.
    """
    w_arr = as_array(w, "predict_proba", "w", ndim=(1, 2), dtype_kind="fiu")
    if w_arr.ndim == 1:
        w, b, X, _ = _binary_params(w, b, X, None, "predict_proba", has_y=False)
        return sigmoid(X @ w + b)
    W, b, X, _ = _softmax_params(w, b, X, None, "predict_proba", has_y=False)
    return softmax(X @ W + b, axis=1)


def predict(w, b, X, threshold: float = 0.5) -> np.ndarray:
    """Predicted labels: ``[σ(z) ≥ threshold]`` (logistic) or ``argmax_k z_k`` (softmax).

    Args:
        w, b, X: as in :func:`predict_proba`.
        threshold: decision threshold in (0, 1) for logistic regression (ignored for softmax).
            The boundary is the line ``x·w + b = log(t / (1 - t))``.

    Returns:
        (N,) int64 labels.
    """
    p = predict_proba(w, b, X)
    if p.ndim == 2:
        return np.argmax(p, axis=1).astype(np.int64)
    threshold = check_positive(threshold, "predict", "threshold")
    if threshold >= 1:
        raise ValueError(f"predict: threshold must lie in (0, 1), got {threshold}")
    return (p >= threshold).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Training by gradient descent
# ---------------------------------------------------------------------------------------------

def _descend(loss_grad: Callable, w: np.ndarray, b, X: np.ndarray, y: np.ndarray, *,
             lr: float, epochs: int, batch_size: int | None, rng, where: str):
    """Plain (mini-batch) gradient descent ``θ ← θ - lr ∇L(θ)``.

    ``loss_grad(w, b, X, y) -> (loss, dw, db)``. Returns ``(w, b, history)`` with
    ``history[t]`` the full-data loss after t epochs, t = 0 .. epochs.
    """
    lr = check_positive(lr, where, "lr")
    epochs = check_int(epochs, where, "epochs", low=0)
    n = X.shape[0]
    if batch_size is not None:
        batch_size = check_int(batch_size, where, "batch_size", low=1)
        check_rng(rng, where, "rng (mini-batches need it)")
    history = []
    for _ in range(epochs):
        if batch_size is None:                              # full batch: one step per epoch,
            loss, dw, db = loss_grad(w, b, X, y)            # whose loss comes with its gradient
            history.append(loss)
            w, b = w - lr * dw, b - lr * db
            continue
        history.append(loss_grad(w, b, X, y)[0])
        for idx in minibatch_indices(n, batch_size, rng=rng):
            _, dw, db = loss_grad(w, b, X[idx], y[idx])
            w, b = w - lr * dw, b - lr * db
    history.append(loss_grad(w, b, X, y)[0])
    return w, b, np.array(history)


def fit_logistic(X, y, *, lr: float = 0.1, epochs: int = 100, l2: float = 0.0, w0=None,
                 b0: float = 0.0, batch_size: int | None = None,
                 rng: np.random.Generator | None = None
                 ) -> tuple[np.ndarray, float, np.ndarray]:
    """Train logistic regression by gradient descent ``θ ← θ - lr ∇L(θ)``.

    Args:
        X: (N, D) inputs (standardise the features first). y: (N,) 0/1 labels.
        lr: step size. epochs: passes over the data.
        l2: L2 strength λ ≥ 0.
        w0: (D,) starting weights (default zeros). b0: starting bias.
        batch_size: None for full-batch gradient descent (one step per epoch), else the
            mini-batch size (shuffled every epoch by :func:`minibatch_indices`, needs ``rng``).
        rng: a Generator for the shuffles.

    Returns:
        ``(w, b, history)``: (D,) weights, the bias as a float, and the (epochs + 1,) full-data
        loss before training and after each epoch.
    """
    where = "fit_logistic"
    X = as_matrix(X, where, "X")
    w0 = np.zeros(X.shape[1]) if w0 is None else w0
    w, b, X, y = _binary_params(w0, b0, X, y, where)
    l2 = _l2(l2, where)
    w, b, history = _descend(lambda *a: log_loss_grad(*a, l2=l2), w.copy(), b, X, y, lr=lr,
                             epochs=epochs, batch_size=batch_size, rng=rng, where=where)
    return w, float(b), history


def fit_softmax(X, y, n_classes: int, *, lr: float = 0.1, epochs: int = 100, l2: float = 0.0,
                W0=None, b0=None, batch_size: int | None = None,
                rng: np.random.Generator | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train softmax regression by gradient descent.

    Args:
        X: (N, D) inputs. y: (N,) labels in [0, n_classes). n_classes: K ≥ 2.
        lr, epochs, l2, batch_size, rng: as in :func:`fit_logistic`.
        W0: (D, K) starting weights (default zeros). b0: (K,) starting biases (default zeros).

    Returns:
        ``(W, b, history)``: (D, K) weights, (K,) biases and the (epochs + 1,) loss history.
    """
    where = "fit_softmax"
    X = as_matrix(X, where, "X")
    k = check_int(n_classes, where, "n_classes", low=2)
    W0 = np.zeros((X.shape[1], k)) if W0 is None else W0
    b0 = np.zeros(k) if b0 is None else b0
    if np.ndim(W0) == 2 and np.shape(W0)[1] != k:            # before the labels are checked
        raise ValueError(f"{where}: W0 must have n_classes = {k} columns, got shape "
                         f"{np.shape(W0)}")
    W, b, X, y = _softmax_params(W0, b0, X, y, where)
    l2 = _l2(l2, where)
    return _descend(lambda *a: softmax_loss_grad(*a, l2=l2), W.copy(), b.copy(), X, y, lr=lr,
                    epochs=epochs, batch_size=batch_size, rng=rng, where=where)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------

def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` = number of examples of true class i predicted as class j.

    The diagonal holds the correct predictions; ``C.sum(1)`` are the class sizes.

    Args:
        y_true, y_pred: (N,) integer labels in [0, n_classes).
        n_classes: K ≥ 1.

    Returns:
        (K, K) int64 array.
    """
    where = "confusion_matrix"
    k = check_int(n_classes, where, "n_classes", low=1)
    y_true = as_array(y_true, where, "y_true", ndim=1)
    y_true = check_labels(y_true, len(y_true), k, where, "y_true", per="example")
    y_pred = check_labels(y_pred, len(y_true), k, where, "y_pred", per="entry of y_true")
    C = np.zeros((k, k), dtype=np.int64)
    np.add.at(C, (y_true, y_pred), 1)
    return C
