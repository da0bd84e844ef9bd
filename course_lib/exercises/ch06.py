"""Checks for the exercises of chapter 06 (Perceptrons, MLPs and backpropagation).

    from course_lib.exercises import ch06
    ch06.check_linear_backward(linear_backward)

The backward-pass checks are gradient checks: the expected answer is computed by central
differences of the forward pass (``numeric_vjp``), never from a backward formula, so they
test exactly what the chapter teaches: a backward pass must agree with the derivative of
its forward pass.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.exercises import Verdict, check_function, random_shape
from course_lib.scratch import layers
from course_lib.scratch.autograd import Value
from course_lib.scratch.gradcheck import numeric_vjp

__all__ = ["check_linear_backward", "check_elu_backward", "check_softmax_cross_entropy",
           "check_value_sin", "check_elm_output_weights"]


def _dout(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Upstream gradients of size 0.5 to 1.5 with random signs (no entry near 0)."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)


# --------------------------------------------------------------- 1. the linear layer backward

def _linear_inputs(rng: np.random.Generator):
    N, D, M = (int(v) for v in rng.integers(1, 6, size=3))
    x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    return _dout(rng, (N, M)), x, W, b


def _linear_numeric(dout, x, W, b):
    def out(x_, W_, b_):
        return x_ @ W_ + b_

    return (numeric_vjp(lambda z: out(z, W, b), x, dout),
            numeric_vjp(lambda z: out(x, z, b), W, dout),
            numeric_vjp(lambda z: out(x, W, z), b, dout))


def check_linear_backward(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(dout, x, W, b) -> (dx, dW, db)`` for ``out = x W + b``:
    dout (N, M), x (N, D), W (D, M), b (M,); dx (N, D), dW (D, M), db (M,).
    The expected gradients come from central differences of the forward pass."""
    return check_function(
        fn, _linear_numeric, _linear_inputs, name="linear layer backward (gradient check)",
        trials=6, rtol=1e-6, atol=1e-8, strict=strict,
        hint="dx = dout Wᵀ, dW = xᵀ dout, db = dout summed over the batch (axis 0); "
             "check each shape against its parameter")


# ------------------------------------------------------------------------ 2. ELU backward

def _elu_inputs(rng: np.random.Generator):
    shape = random_shape(rng)
    x = 3 * rng.normal(size=shape)
    x = np.where(np.abs(x) < 1e-2, 0.5, x)                # stay clear of the kink at 0
    alpha = float(rng.choice([1.0, 0.5, 2.0]))
    return _dout(rng, shape), x, alpha


def _elu_numeric(dout, x, alpha):
    return numeric_vjp(lambda z: layers.elu_forward(z, alpha)[0], x, dout)


def check_elu_backward(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(dout, x, alpha) -> dx`` for ELU(x) = x (x > 0), α(eˣ − 1) (x ≤ 0);
    dout and x of any shape; dx shaped like x. Expected: central differences."""
    return check_function(
        fn, _elu_numeric, _elu_inputs, name="ELU backward (gradient check)",
        trials=6, rtol=1e-6, atol=1e-9, strict=strict,
        hint="the derivative is 1 where x > 0 and α·eˣ where x ≤ 0; multiply it by dout "
             "(np.where(x > 0, ..., ...))")


# -------------------------------------------------------------- 3. softmax cross-entropy

def _sce_inputs(rng: np.random.Generator):
    N, K = int(rng.integers(1, 7)), int(rng.integers(2, 8))
    scale = [1.0, 5.0, 1000.0][int(rng.integers(0, 3))]  # huge logits: needs the max trick
    return scale * rng.normal(size=(N, K)), rng.integers(0, K, size=N)


def _sce_reference(scores, y):
    return layers.softmax_cross_entropy(scores, y)      # (loss, dscores)


def _sce_compare(got, expected, args):
    """Loss to 1e-8 relative; gradient against the closed form and, where it is accurate,
    against central differences of the loss."""
    scores, y = args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "expected a pair (loss, dscores)"
    try:
        loss, dscores = float(got[0]), np.asarray(got[1], dtype=np.float64)
    except (TypeError, ValueError) as err:
        return f"could not read (loss, dscores) as a number and an array ({err})"
    if not math.isfinite(loss):
        return f"the loss is {loss}; subtract the row maximum before exp"
    if abs(loss - expected[0]) > 1e-8 * max(1.0, abs(expected[0])):
        return f"wrong loss: expected {expected[0]:.10g}, got {loss:.10g}"
    if dscores.shape != scores.shape:
        return f"dscores must have the shape of scores {scores.shape}, got {dscores.shape}"
    if np.abs(scores).max() <= 20:                       # the numeric gradient is accurate here
        num = numeric_vjp(lambda z: layers.softmax_cross_entropy(z, y)[0], scores, h=1e-3,
                          order=4)
        if not np.allclose(dscores, num, rtol=1e-6, atol=1e-9):
            i = np.unravel_index(np.argmax(np.abs(dscores - num)), num.shape)
            return (f"the gradient check fails at {tuple(int(k) for k in i)}: central "
                    f"differences give {num[i]:.8g}, you gave {dscores[i]:.8g}")
    if not np.allclose(dscores, expected[1], rtol=1e-7, atol=1e-12):
        i = np.unravel_index(np.argmax(np.abs(dscores - expected[1])), scores.shape)
        return f"wrong dscores at {tuple(int(k) for k in i)}: expected " \
               f"{expected[1][i]:.8g}, got {dscores[i]:.8g}"
    return None


def check_softmax_cross_entropy(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(scores, y) -> (loss, dscores)``: scores (N, K) logits, y (N,) int labels;
    loss = mean over rows of −log softmax(scores)[y] (a float), dscores (N, K) its gradient.
    Logits of several hundred to a thousand are included (exp overflows without the max trick)."""
    return check_function(
        fn, _sce_reference, _sce_inputs, name="softmax cross-entropy", trials=8,
        compare=_sce_compare, strict=strict,
        hint="shift each row by its max, log-softmax = z − log Σ exp z; the gradient is "
             "(softmax − onehot(y)) / N")


# -------------------------------------------------------------- 4. a new autograd operation

def _sin_reference(x: Value) -> Value:
    return Value(math.sin(x.data), parents=(x,), op="sin", local_grads=(math.cos(x.data),))


def _through_graph(sin_fn):
    """Use ``sin_fn`` inside a small expression, run backward, return (outputs, gradients)."""
    def run(x0: float, y0: float):
        x, y = Value(x0), Value(y0)
        s = sin_fn(x * y)
        if not isinstance(s, Value):
            raise TypeError(f"your function must return a Value, got {type(s).__name__}")
        L = s * x + s * s                                # s is used twice: grads must add up
        L.backward()
        return np.array([s.data, L.data]), np.array([x.grad, y.grad])
    return run


def _sin_inputs(rng: np.random.Generator):
    return float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2))


def check_value_sin(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x: Value) -> Value``: sin(x) as a node of the autograd engine, with
    ``parents=(x,)`` and the local gradient cos(x). The check uses it inside
    ``L = sin(x·y)·x + sin(x·y)²`` and compares L and ∂L/∂x, ∂L/∂y after ``L.backward()``."""
    if not callable(fn):
        return check_function(fn, _through_graph(_sin_reference), _sin_inputs,
                              name="sin as an autograd node", strict=strict)
    return check_function(
        _through_graph(fn), _through_graph(_sin_reference), _sin_inputs,
        name="sin as an autograd node", trials=6, rtol=1e-12, atol=1e-12, strict=strict,
        hint="return Value(math.sin(x.data), parents=(x,), op='sin', "
             "local_grads=(math.cos(x.data),)): backward multiplies by the local gradient")


# ------------------------------------------------------- 5. the closed-form ELM output layer

def _elm_inputs(rng: np.random.Generator):
    N, H, K = int(rng.integers(1, 30)), int(rng.integers(1, 12)), int(rng.integers(1, 4))
    return np.tanh(rng.normal(size=(N, H))), rng.normal(size=(N, K)), \
        float(rng.choice([1e-3, 0.1, 1.0]))


def check_elm_output_weights(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(H, Y, lam) -> beta``: H (N, H_units) hidden activations, Y (N, K) targets,
    lam > 0; beta (H_units, K) minimises ‖H β − Y‖² + lam ‖β‖²."""
    return check_function(
        fn, lambda H, Y, lam: np.linalg.solve(H.T @ H + lam * np.eye(H.shape[1]), H.T @ Y),
        _elm_inputs, name="ELM output weights (ridge least squares)", trials=6,
        rtol=1e-7, atol=1e-9, strict=strict,
        hint="set the gradient 2Hᵀ(Hβ − Y) + 2λβ to zero: (HᵀH + λI) β = HᵀY; "
             "use np.linalg.solve, not an inverse")
