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
           "check_value_sin", "check_elm_output_weights", "check_mlp_module"]


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


# ------------------------------------------------------------- 6. an MLP as an nn.Module

def _mlp_module_inputs(rng: np.random.Generator):
    """Layer widths with no two neighbours equal (so no weight matrix is square), a batch
    x (N, d_in), labels y (N,) and the seed of the reference weights."""
    n_hidden = int(rng.integers(1, 3))                      # one or two hidden layers
    sizes = [3, 3]
    while any(a == b for a, b in zip(sizes[:-1], sizes[1:], strict=True)):
        sizes = [int(rng.integers(3, 9)), *(int(h) for h in rng.integers(4, 13, size=n_hidden)),
                 int(rng.integers(2, 7))]
    N = int(rng.integers(2, 7))
    return sizes, rng.normal(size=(N, sizes[0])), rng.integers(0, sizes[-1], size=N), \
        int(rng.integers(0, 2**31 - 1))


def _run_mlp_module(factory):
    """The check's protocol for ``factory(sizes) -> nn.Module``: build the module, check the
    output shape and the parameter count, copy the weights of the reference MLP (seeded
    with ``seed``) into it in the order of ``parameters()``, and return its outputs on ``x``
    and the cross-entropy before and after one SGD step (lr 0.5). A problem found before the
    outputs can be compared is returned as a sentence."""
    def run(sizes, x, y, seed):
        import torch
        import torch.nn.functional as F
        from torch import nn

        from course_lib.env import seeded
        from course_lib.torch_ref.mlp import MLP

        ref = MLP(sizes, "relu", seed=seed).double()
        with seeded(seed):                                 # leave the global generator alone
            model = factory(list(sizes))
        if not isinstance(model, nn.Module):
            return (f"{getattr(factory, '__name__', 'factory')}({sizes}) must give an "
                    f"nn.Module, got {type(model).__name__}")
        if type(model).forward is nn.Module.forward:
            return (f"{type(model).__name__} has no forward method: define "
                    f"def forward(self, x) inside the class")
        params = list(model.parameters())
        x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
        with torch.no_grad():                              # the module's own dtype, float32 usually
            out = model(x_t.to(params[0].dtype if params else torch.float32))
        if not isinstance(out, torch.Tensor):
            return f"forward must return a tensor of logits, got {type(out).__name__}"
        if tuple(out.shape) != (len(x), sizes[-1]):
            return (f"wrong output shape: for sizes {sizes} and x of shape {x.shape}, expected "
                    f"logits of shape {(len(x), sizes[-1])}, got {tuple(out.shape)}")
        ref_params = list(ref.parameters())
        n, n_ref = sum(p.numel() for p in params), sum(p.numel() for p in ref_params)
        if n != n_ref:
            if n == n_ref - sum(sizes[1:]):
                return (f"{n} parameters, expected {n_ref}: the layers have no bias "
                        f"(nn.Linear adds one unless bias=False)")
            return (f"{n} parameters, expected {n_ref} = sum of (a + 1)·b over neighbouring "
                    f"widths a, b of sizes {sizes}: check the layer sizes, and that every "
                    f"layer is registered (an attribute of self or in an nn.ModuleList, not "
                    f"in a Python list)")
        shapes = [tuple(p.shape) for p in params]
        ref_shapes = [tuple(p.shape) for p in ref_params]
        if len(shapes) != len(ref_shapes) or any(
                s not in (r, r[::-1]) for s, r in zip(shapes, ref_shapes, strict=True)):
            return (f"parameter shapes {shapes} in the order of parameters(), expected "
                    f"{ref_shapes}: each layer's weight (out, in), then its bias, layer by "
                    f"layer from input to output")
        model = model.double()
        params = list(model.parameters())
        with torch.no_grad():
            for p, r in zip(params, ref_params, strict=True):
                p.copy_(r if tuple(p.shape) == tuple(r.shape) else r.T)
        out = model(x_t)
        loss_0 = F.cross_entropy(out, y_t)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        opt.zero_grad()
        loss_0.backward()
        opt.step()
        with torch.no_grad():
            loss_1 = F.cross_entropy(model(x_t), y_t)
        return out.detach().numpy(), np.array([loss_0.item(), loss_1.item()])
    return run


def _mlp_module_compare(got, expected, args):
    if isinstance(got, str):
        return got
    out, losses_ = got
    out_ref, losses_ref = expected
    if not np.allclose(out, out_ref, rtol=1e-10, atol=1e-12):
        i = np.unravel_index(np.argmax(np.abs(out - out_ref)), out.shape)
        return (f"with the reference's weights copied in, the logits differ at "
                f"{tuple(int(k) for k in i)}: expected {out_ref[i]:.6g}, got {out[i]:.6g}")
    if not np.allclose(losses_, losses_ref, rtol=1e-10, atol=1e-12):
        return (f"the same logits, but after one SGD step the loss is {losses_[1]:.8g} instead "
                f"of {losses_ref[1]:.8g}: does every parameter take part in forward and "
                f"receive a gradient?")
    return None


def check_mlp_module(factory, *, strict: bool | None = None) -> Verdict:
    """Check ``factory(sizes) -> nn.Module`` (a class such as ``MyMLP`` or a function): an MLP
    ``Linear → ReLU → ... → Linear`` for widths ``sizes = [d_in, h_1, ..., d_out]``, mapping
    x (N, d_in) to logits (N, d_out), with a bias in every layer.

    The contract: on a few random ``sizes`` (one or two hidden layers) the check builds the
    module, converts it to float64, and checks the output shape and the number of
    parameters, Σ (a + 1)·b over neighbouring widths. It then copies the weights of the
    reference :class:`course_lib.torch_ref.mlp.MLP` into the module by the order of
    ``parameters()``: each layer's weight (out, in), then its bias, from input to output
    (the order ``nn.Linear`` layers created in that order give; a weight stored as
    (in, out) for ``x @ W`` is copied transposed; no weight matrix is square, so this is
    never ambiguous). With those weights the logits and the cross-entropy before and after
    one SGD step must agree with the reference to 1e-10. So the check does not depend on how
    the module initialises its weights, only on what it computes with them.
    """
    name = "an MLP as an nn.Module"
    if not callable(factory):
        return check_function(factory, _run_mlp_module(None), _mlp_module_inputs, name=name,
                              strict=strict)
    from course_lib.torch_ref.mlp import MLP

    return check_function(
        _run_mlp_module(factory), _run_mlp_module(lambda sizes: MLP(sizes, "relu")),
        _mlp_module_inputs, name=name, trials=4, compare=_mlp_module_compare, strict=strict,
        hint="in __init__ (after super().__init__()) create nn.Linear(a, b) for each pair of "
             "neighbouring widths, kept in an nn.ModuleList; forward applies them in order "
             "with torch.relu between them, not after the last")
