"""Vectorised layers with forward and backward passes, a scratch MLP, and the perceptron.

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
4. A multilayer perceptron with its parameters in a dict (``W1, b1, W2, b2, ...``),
   forward/backward through the layers, an SGD step and a mini-batch trainer.
5. Rosenblatt's perceptron learning rule (Rosenblatt, "The perceptron", Psychological
   Review 1958).

All functions work in the dtype of their inputs; use float64 for gradient checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.batching import minibatch_indices
from course_lib.scratch.information import log_softmax, softmax
from course_lib.scratch.init import init_std
from course_lib.scratch.logistic import sigmoid
from course_lib.scratch.optim import Optimizer
from course_lib.scratch.validate import as_array, check_finite, check_int, check_positive

__all__ = [
    "linear_forward", "linear_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "prelu_forward", "prelu_backward", "elu_forward", "elu_backward",
    "softmax_cross_entropy", "mse_loss", "ACTIVATIONS",
    "init_mlp", "mlp_forward", "mlp_backward", "mlp_loss", "mlp_predict", "sgd_step",
    "train_mlp", "perceptron_update", "perceptron_train", "PerceptronResult",
]


def _float_array(x, where: str, name: str, ndim=None) -> np.ndarray:
    arr = as_array(x, where, name, ndim=ndim, dtype_kind="fiu")
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _check_dout(dout, out_shape: tuple, where: str) -> np.ndarray:
    dout = _float_array(dout, where, "dout")
    if dout.shape != tuple(out_shape):
        raise ValueError(f"{where}: dout must have the shape of the forward output "
                         f"{tuple(out_shape)}, got {dout.shape}")
    return dout


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
    x = _float_array(x, where, "x", ndim=2)
    W = _float_array(W, where, "W", ndim=2)
    b = _float_array(b, where, "b", ndim=1)
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
    dout = _check_dout(dout, (x.shape[0], W.shape[1]), "linear_backward")
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
    x = _float_array(x, "sigmoid_forward", "x")
    out = sigmoid(x).astype(x.dtype, copy=False)      # the stable σ of chapter 05
    return out, out


def sigmoid_backward(dout, cache: np.ndarray) -> np.ndarray:
    """Backward of the sigmoid: ``dx = dout · σ(x)(1 − σ(x))`` (at most 0.25 · dout).

    Args: dout: shape of x; cache: σ(x). Returns: dx, shape of x.
    """
    s = cache
    dout = _check_dout(dout, s.shape, "sigmoid_backward")
    return dout * s * (1.0 - s)


def tanh_forward(x) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent ``tanh(x) = 2σ(2x) − 1``, zero-centred, range (−1, 1).

    Args: x: any shape. Returns: ``out`` (shape of x) and ``cache = out``.
    """
    x = _float_array(x, "tanh_forward", "x")
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache: np.ndarray) -> np.ndarray:
    """Backward of tanh: ``dx = dout · (1 − tanh²(x))``.

    Args: dout: shape of x; cache: tanh(x). Returns: dx, shape of x.
    """
    t = cache
    dout = _check_dout(dout, t.shape, "tanh_backward")
    return dout * (1.0 - t * t)


def relu_forward(x) -> tuple[np.ndarray, np.ndarray]:
    """Rectified linear unit ``max(0, x)`` (Nair & Hinton 2010; Glorot et al. 2011).

    Args: x: any shape. Returns: ``out`` (shape of x) and ``cache = x``.
    """
    x = _float_array(x, "relu_forward", "x")
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache: np.ndarray) -> np.ndarray:
    """Backward of ReLU: ``dx = dout · [x > 0]`` (the derivative at 0 is taken as 0, as torch).

    Args: dout: shape of x; cache: x. Returns: dx, shape of x.
    """
    x = cache
    dout = _check_dout(dout, x.shape, "relu_backward")
    return np.where(x > 0, dout, 0.0)


def leaky_relu_forward(x, negative_slope: float = 0.01) -> tuple[np.ndarray, tuple]:
    """Leaky ReLU ``x if x > 0 else a·x`` with a fixed slope ``a`` (Maas et al. 2013).

    Args: x: any shape; negative_slope: a ≥ 0. Returns: ``out`` and ``cache = (x, a)``.
    """
    x = _float_array(x, "leaky_relu_forward", "x")
    a = check_positive(negative_slope, "leaky_relu_forward", "negative_slope", allow_zero=True)
    return np.where(x > 0, x, a * x), (x, a)


def leaky_relu_backward(dout, cache: tuple) -> np.ndarray:
    """Backward of LeakyReLU: ``dx = dout · (1 if x > 0 else a)``.

    Args: dout: shape of x; cache: (x, a). Returns: dx, shape of x.
    """
    x, a = cache
    dout = _check_dout(dout, x.shape, "leaky_relu_backward")
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
    x = _float_array(x, where, "x")
    a = _float_array(a, where, "a")
    a_b = _prelu_slope(x, a, where)
    return np.where(x > 0, x, a_b * x), (x, a)


def prelu_backward(dout, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Backward of PReLU: ``dx = dout · (1 if x > 0 else a)`` and, for the slope,
    ``da_c = Σ over every element of channel c with x ≤ 0 of dout · x``.

    Args: dout: shape of x; cache: (x, a).
    Returns: ``dx`` (shape of x) and ``da`` (shape of a).
    """
    x, a = cache
    dout = _check_dout(dout, x.shape, "prelu_backward")
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
    x = _float_array(x, "elu_forward", "x")
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
    dout = _check_dout(dout, x.shape, "elu_backward")
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

def _labels(y, n: int, k: int, where: str) -> np.ndarray:
    y = as_array(y, where, "y", ndim=1, dtype_kind="iu")
    if y.shape[0] != n:
        raise ValueError(f"{where}: scores have {n} rows but y has {y.shape[0]} labels")
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"{where}: labels must be integers in [0, {k - 1}], "
                         f"got values from {y.min()} to {y.max()}")
    return y


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
    z = _float_array(scores, where, "scores", ndim=2)
    check_finite(z, where, "scores")
    n, k = z.shape
    y = _labels(y, n, k, where)
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
    pred = _float_array(pred, where, "pred")
    target = _float_array(target, where, "target")
    if pred.shape != target.shape:
        raise ValueError(f"{where}: pred and target must have the same shape, "
                         f"got {pred.shape} and {target.shape}")
    diff = pred - target
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


_LOSSES: dict[str, Callable] = {"cross_entropy": softmax_cross_entropy, "mse": mse_loss}


# ---------------------------------------------------------------------------------------------
# 4. A multilayer perceptron from the layers above
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
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"init_mlp: rng must be a numpy.random.Generator, "
                        f"got {type(rng).__name__}")
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
    X = _float_array(X, "mlp_forward", "X")
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
    if loss not in _LOSSES:
        raise ValueError(f"mlp_loss: loss must be one of {sorted(_LOSSES)}, got {loss!r}")
    scores, caches = mlp_forward(params, X, activation)
    value, dscores = _LOSSES[loss](scores, y)
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


def train_mlp(params: dict[str, np.ndarray], X, y, *, epochs: int, batch_size: int,
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
    epochs = check_int(epochs, "train_mlp", "epochs", low=1)
    if (lr is None) == (optimizer is None):
        raise ValueError("train_mlp: give exactly one of lr (plain SGD) or optimizer, got "
                         f"lr={lr!r} and optimizer={type(optimizer).__name__}")
    if optimizer is not None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"train_mlp: optimizer must be a course_lib.scratch.optim "
                            f"optimiser, got {type(optimizer).__name__}")
        if len(optimizer.params) != len(params) or any(
                a is not b for a, b in zip(optimizer.params, params.values(), strict=False)):
            raise ValueError("train_mlp: the optimizer must be built on "
                             "list(params.values()), the same arrays in the same order")
    else:
        lr = check_positive(lr, "train_mlp", "lr")
    X = _float_array(X, "train_mlp", "X")
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_mlp: X has {len(X)} rows but y has {len(y)}")
    history = []
    epoch_iter: Iterable = range(epochs)
    if wrap is not None:
        epoch_iter = wrap(epoch_iter)
    for _ in epoch_iter:
        for idx in minibatch_indices(len(X), batch_size, rng=rng):
            value, grads = mlp_loss(params, X[idx], y[idx], activation=activation, loss=loss)
            if not np.isfinite(value):
                raise FloatingPointError(f"train_mlp: the loss became {value} at step "
                                         f"{len(history)}; lower the learning rate?")
            if optimizer is None:
                sgd_step(params, grads, lr)
            else:
                optimizer.step([grads[k] for k in params])
            history.append(value)
    return history


# ---------------------------------------------------------------------------------------------
# 5. Rosenblatt's perceptron
# ---------------------------------------------------------------------------------------------

@dataclass
class PerceptronResult:
    """Outcome of :func:`perceptron_train`: weights ``w`` (D,), bias ``b``, the number of
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
    w = _float_array(w, "perceptron_update", "w", ndim=1)
    x = _float_array(x, "perceptron_update", "x", ndim=1)
    if y not in (-1, 1):
        raise ValueError(f"perceptron_update: y must be -1 or +1, got {y!r}")
    if w.shape != x.shape:
        raise ValueError(f"perceptron_update: w and x must have the same shape, "
                         f"got {w.shape} and {x.shape}")
    if y * (w @ x + b) <= 0:
        return w + lr * y * x, float(b + lr * y)
    return w.copy(), float(b)


def perceptron_train(X, y, *, max_epochs: int = 100, lr: float = 1.0,
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
    where = "perceptron_train"
    X = _float_array(X, where, "X", ndim=2)
    y = as_array(y, where, "y", ndim=1, dtype_kind="iuf")
    if len(y) != len(X):
        raise ValueError(f"{where}: X has {len(X)} rows but y has {len(y)} labels")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError(f"{where}: labels must be -1 or +1, got values {np.unique(y)[:5]}")
    max_epochs = check_int(max_epochs, where, "max_epochs", low=1)
    lr = check_positive(lr, where, "lr")
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
