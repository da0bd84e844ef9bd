"""A scalar reverse-mode automatic differentiation engine, and an MLP built on it (ValueMLP).

Every :class:`Value` holds one number (``data``), the numbers it was computed from
(``parents``), the name of the operation (``op``) and the *local derivatives*
∂out/∂parent of that operation, evaluated during the forward pass (``local_grads``).
The chain rule then needs nothing else::

    ∂L/∂parent  +=  ∂L/∂out · ∂out/∂parent          (summed over every use of parent)

:meth:`Value.backward` visits the graph in reverse topological order (each node after
every node that uses it), so ∂L/∂out is complete before it is passed on. This is
reverse-mode differentiation (Linnainmaa, 1970; backpropagation for neural networks:
Rumelhart, Hinton & Williams, 1986). The design follows the spirit of Karpathy's
*micrograd*: one number per node, a hundred-odd lines, nothing hidden.

Example::

    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    L = (a * b + a).tanh()
    L.backward()            # a.grad == ∂L/∂a, b.grad == ∂L/∂b
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np

from course_lib.scratch.validate import check_rng

__all__ = ["Value", "topological_order", "zero_grad", "Neuron", "Layer", "ValueMLP"]


def _check_number(x, where: str, name: str) -> float:
    """Return ``x`` as a float; raise TypeError unless it is a real number (not a bool)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number (int or float), "
                        f"got {type(x).__name__} {x!r}")
    return float(x)


class Value:
    """A scalar that remembers how it was computed.

    Attributes:
        data: the number (a Python float).
        grad: ∂root/∂self accumulated by :meth:`backward` (0.0 until then).
        label: a name for pictures and printing ("" when unnamed).
        op: the operation that produced it: "+", "-", "*", "/", "neg", "**k", "exp",
            "log", "tanh", "sigmoid", "relu"; "" for a leaf (an input or a parameter).
        parents: the Values it was computed from, in argument order; a Value used twice
            (``a * a``) appears twice.
        local_grads: ∂self/∂parent for each entry of ``parents``, same length.

    Arithmetic works with Values and Python numbers on either side (a number becomes a
    constant leaf). Equality is identity, so Values can be dictionary keys.
    """

    def __init__(self, data: float, *, label: str = "", parents: Sequence[Value] = (),
                 op: str = "", local_grads: Sequence[float] = ()):
        self.data = _check_number(data, "Value", "data")
        self.grad = 0.0
        self.label = str(label)
        self.op = str(op)
        self.parents = tuple(parents)
        for p in self.parents:
            if not isinstance(p, Value):
                raise TypeError(f"Value: parents must be Values, got {type(p).__name__}")
        self.local_grads = tuple(float(g) for g in local_grads)
        if self.local_grads and len(self.local_grads) != len(self.parents):
            raise ValueError(f"Value: need one local gradient per parent, got "
                             f"{len(self.local_grads)} for {len(self.parents)} parents")
        if self.parents and not self.local_grads:
            self.local_grads = (0.0,) * len(self.parents)   # a node the user built by hand

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ------------------------------------------------------------------ binary operations
    @staticmethod
    def _wrap(other) -> Value | None:
        """A Value for ``other`` (numbers become constant leaves), or None if unsupported."""
        if isinstance(other, Value):
            return other
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return Value(other)
        return None

    def __add__(self, other) -> Value:
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        # out = a + b          ∂out/∂a = 1,  ∂out/∂b = 1
        return Value(self.data + other.data, parents=(self, other), op="+",
                     local_grads=(1.0, 1.0))

    def __radd__(self, other) -> Value:          # number + Value
        return self + other

    def __sub__(self, other) -> Value:
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        # out = a - b          ∂out/∂a = 1,  ∂out/∂b = -1
        return Value(self.data - other.data, parents=(self, other), op="-",
                     local_grads=(1.0, -1.0))

    def __rsub__(self, other) -> Value:          # number - Value
        other = self._wrap(other)
        return NotImplemented if other is None else other - self

    def __mul__(self, other) -> Value:
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        # out = a · b          ∂out/∂a = b,  ∂out/∂b = a
        return Value(self.data * other.data, parents=(self, other), op="*",
                     local_grads=(other.data, self.data))

    def __rmul__(self, other) -> Value:          # number * Value
        return self * other

    def __truediv__(self, other) -> Value:
        other = self._wrap(other)
        if other is None:
            return NotImplemented
        a, b = self.data, other.data
        if b == 0.0:
            raise ZeroDivisionError(f"Value: division by zero ({a!r} / 0)")
        # out = a / b          ∂out/∂a = 1/b,  ∂out/∂b = -a/b² = -out/b
        # (-out/b, not -a/(b*b): b*b under- or overflows for |b| < 1e-154 or > 1e154, and
        # this is the form PyTorch uses, so x / x has a gradient of exactly 0 in both)
        out = a / b
        return Value(out, parents=(self, other), op="/", local_grads=(1.0 / b, -out / b))

    def __rtruediv__(self, other) -> Value:      # number / Value
        other = self._wrap(other)
        return NotImplemented if other is None else other / self

    def __neg__(self) -> Value:
        # out = -a             ∂out/∂a = -1
        return Value(-self.data, parents=(self,), op="neg", local_grads=(-1.0,))

    def __pow__(self, k) -> Value:
        if isinstance(k, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number; "
                            "write (k * x.log()).exp() for x ** k with a Value k")
        k = _check_number(k, "Value.__pow__", "exponent")
        x = self.data
        if x < 0 and not k.is_integer():
            raise ValueError(f"Value.__pow__: a negative base ({x!r}) needs an integer "
                             f"exponent, got {k!r}")
        if x == 0 and k < 0:
            raise ZeroDivisionError(f"Value.__pow__: 0 ** {k!r} is infinite")
        # out = xᵏ             ∂out/∂x = k · xᵏ⁻¹     (infinite at x = 0 when 0 < k < 1)
        if x == 0 and k < 1:
            d = 0.0 if k == 0 else math.inf
        else:
            d = k * x ** (k - 1)
        return Value(x ** k, parents=(self,), op=f"**{k:g}", local_grads=(d,))

    def __rpow__(self, other):
        raise TypeError("number ** Value is not supported: write (x * math.log(base)).exp() "
                        "for base ** x")

    # ------------------------------------------------------------------- unary functions
    def exp(self) -> Value:
        try:
            e = math.exp(self.data)
        except OverflowError:
            e = math.inf
        # out = eˣ             ∂out/∂x = eˣ = out
        return Value(e, parents=(self,), op="exp", local_grads=(e,))

    def log(self) -> Value:
        x = self.data
        if not x > 0:
            raise ValueError(f"Value.log: the argument must be > 0, got {x!r}")
        # out = ln x           ∂out/∂x = 1/x
        return Value(math.log(x), parents=(self,), op="log", local_grads=(1.0 / x,))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        # out = tanh x         ∂out/∂x = 1 - tanh²x = 1 - out²
        return Value(t, parents=(self,), op="tanh", local_grads=(1.0 - t * t,))

    def sigmoid(self) -> Value:
        x = self.data
        if x >= 0:                                  # exp of a non-positive number never overflows
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        # out = σ(x) = 1/(1+e⁻ˣ)    ∂out/∂x = σ(x)(1 - σ(x))
        return Value(s, parents=(self,), op="sigmoid", local_grads=(s * (1.0 - s),))

    def relu(self) -> Value:
        x = self.data
        # out = max(0, x)      ∂out/∂x = 1 if x > 0 else 0   (0 at the kink, as in PyTorch)
        return Value(max(0.0, x), parents=(self,), op="relu",
                     local_grads=(1.0 if x > 0 else 0.0,))

    # ---------------------------------------------------------------------- backward pass
    def backward(self) -> None:
        """Reverse-mode differentiation: add ∂self/∂v to ``v.grad`` for every ancestor v.

        The gradients of one call are first gathered in a fresh table, so each call adds
        exactly one copy of ∂self/∂v to every node's ``.grad`` (self included: its grad
        grows by ∂self/∂self = 1, so it is 1 after the first call). Calling ``backward``
        twice therefore doubles the grads, as ``loss.backward()`` does in PyTorch; reset
        them with :func:`zero_grad` between steps.
        """
        order = topological_order(self)
        g = {self: 1.0}                              # ∂self/∂node for this call only
        for node in reversed(order):                 # children before parents
            g_out = g.get(node, 0.0)
            for parent, local in zip(node.parents, node.local_grads, strict=True):
                g[parent] = g.get(parent, 0.0) + g_out * local   # chain rule, summed over uses
        for node in order:
            node.grad += g.get(node, 0.0)


def topological_order(root: Value) -> list[Value]:
    """Every Value ``root`` depends on (root included), each once, parents before children.

    Iterative depth-first search with an explicit stack, so a graph thousands of
    operations deep needs no recursion. ``root`` is the last element.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: root must be a Value, got {type(root).__name__}")
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:                  # every parent has been emitted: emit the node
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))        # come back once the parents below it are done
        stack.extend((p, False) for p in node.parents if p not in visited)
    return order


def zero_grad(root_or_values: Value | Iterable[Value]) -> None:
    """Set ``.grad = 0`` on a Value and all its ancestors, or on each Value of an iterable
    (e.g. ``model.parameters()``)."""
    if isinstance(root_or_values, Value):
        values: Iterable[Value] = topological_order(root_or_values)
    else:
        try:
            values = list(root_or_values)
        except TypeError:
            raise TypeError(f"zero_grad: expected a Value or an iterable of Values, got "
                            f"{type(root_or_values).__name__}") from None
    for v in values:
        if not isinstance(v, Value):
            raise TypeError(f"zero_grad: expected Values, got {type(v).__name__}")
        v.grad = 0.0


# ------------------------------------------------------------------------------ networks

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


def _as_inputs(x, n_in: int, where: str) -> list[Value]:
    if isinstance(x, Value) or isinstance(x, numbers.Real):
        x = [x]
    try:
        x = list(x)
    except TypeError:
        raise TypeError(f"{where}: x must be a list of numbers or Values, got "
                        f"{type(x).__name__}") from None
    if len(x) != n_in:
        raise ValueError(f"{where}: x must have {n_in} entries, got {len(x)}")
    return [xi if isinstance(xi, Value) else Value(_check_number(xi, where, "x[i]")) for xi in x]


class Neuron:
    """One unit: ``act(Σᵢ wᵢ xᵢ + b)``.

    Weights start uniform in ±1/√n_in (so the pre-activation has variance about 1/3 for
    inputs of unit size), the bias at 0.

    Args:
        n_in: number of inputs (≥ 1).
        activation: "tanh", "relu", "sigmoid" or "linear".
        rng: the random generator for the weights.
        name: prefix for the parameters' labels.
    """

    def __init__(self, n_in: int, *, activation: str = "tanh", rng: np.random.Generator,
                 name: str = ""):
        _check_net_args(n_in, activation, rng, "Neuron")
        self.n_in, self.activation = n_in, activation
        bound = 1.0 / math.sqrt(n_in)
        self.w = [Value(float(wi), label=f"{name}w{i}")
                  for i, wi in enumerate(rng.uniform(-bound, bound, size=n_in))]
        self.b = Value(0.0, label=f"{name}b")

    def __call__(self, x: Sequence[float | Value]) -> Value:
        """The neuron's output for inputs ``x`` (``n_in`` numbers or Values)."""
        x = _as_inputs(x, self.n_in, "Neuron")
        z = self.w[0] * x[0]
        for wi, xi in zip(self.w[1:], x[1:], strict=True):
            z = z + wi * xi                          # z = Σᵢ wᵢ xᵢ ...
        z = z + self.b                               #     ... + b
        if self.activation == "linear":
            return z
        return getattr(z, self.activation)()

    def parameters(self) -> list[Value]:
        """``[w0, ..., w_{n_in-1}, b]``."""
        return [*self.w, self.b]


class Layer:
    """``n_out`` neurons that see the same ``n_in`` inputs.

    Calling it returns a list of ``n_out`` Values, or a single Value when ``n_out == 1``.
    """

    def __init__(self, n_in: int, n_out: int, *, activation: str = "tanh",
                 rng: np.random.Generator, name: str = ""):
        _check_net_args(n_in, activation, rng, "Layer")
        if isinstance(n_out, bool) or not isinstance(n_out, numbers.Integral) or n_out < 1:
            raise ValueError(f"Layer: n_out must be an int >= 1, got {n_out!r}")
        self.n_in, self.n_out = n_in, int(n_out)
        self.neurons = [Neuron(n_in, activation=activation, rng=rng, name=f"{name}n{j}.")
                        for j in range(self.n_out)]

    def __call__(self, x: Sequence[float | Value]) -> Value | list[Value]:
        x = _as_inputs(x, self.n_in, "Layer")
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """The neurons' parameters, neuron by neuron (each: weights then bias)."""
        return [p for n in self.neurons for p in n.parameters()]


class ValueMLP:
    """A multilayer perceptron of scalar Values (the PyTorch module of chapter 06 is
    :class:`course_lib.torch_ref.mlp.MLP`).

    ``ValueMLP(3, [4, 4, 1], rng=rng)`` maps 3 inputs through two hidden layers of 4 units
    (``activation``) to one linear output. The last layer is always linear, so add a
    sigmoid or a softmax in the loss as needed.

    Args:
        n_in: number of inputs.
        sizes: the number of units of each layer, the last being the outputs.
        activation: hidden-layer activation: "tanh", "relu", "sigmoid" or "linear".
        rng: the random generator for the weights (deterministic given its seed).

    Calling it returns a Value when the last layer has one unit, else a list of Values.
    ``parameters()`` lists layer by layer, neuron by neuron, weights then bias: the same
    numbers as a torch ``nn.Linear`` stack's ``weight[j, :]`` and ``bias[j]``.
    """

    def __init__(self, n_in: int, sizes: Sequence[int], *, activation: str = "tanh",
                 rng: np.random.Generator):
        _check_net_args(n_in, activation, rng, "ValueMLP")
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
        if not isinstance(sizes, list) or not sizes or any(
                isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1
                for s in sizes):
            raise ValueError(f"ValueMLP: sizes must be a non-empty list of ints >= 1, "
                             f"got {sizes!r}")
        dims = [n_in, *sizes]
        self.n_in, self.sizes, self.activation = n_in, [int(s) for s in sizes], activation
        self.layers = [Layer(dims[i], dims[i + 1], rng=rng, name=f"L{i}.",
                             activation=activation if i < len(sizes) - 1 else "linear")
                       for i in range(len(sizes))]

    def __call__(self, x: Sequence[float | Value]) -> Value | list[Value]:
        h = _as_inputs(x, self.n_in, "ValueMLP")
        for layer in self.layers:
            h = layer(h)
            h = [h] if isinstance(h, Value) else h
        return h[0] if len(h) == 1 else h

    def parameters(self) -> list[Value]:
        """All weights and biases, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return (f"ValueMLP({self.n_in} -> {' -> '.join(map(str, self.sizes))}, "
                f"activation={self.activation!r}, {len(self.parameters())} parameters)")


def _check_net_args(n_in, activation, rng, where: str) -> None:
    if isinstance(n_in, bool) or not isinstance(n_in, numbers.Integral) or n_in < 1:
        raise ValueError(f"{where}: n_in must be an int >= 1, got {n_in!r}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{where}: activation must be one of {_ACTIVATIONS}, "
                         f"got {activation!r}")
    check_rng(rng, where)
