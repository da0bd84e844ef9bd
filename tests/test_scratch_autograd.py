"""course_lib.scratch.autograd: every op and random expressions against torch.autograd,
topological order, deep graphs, the ValueMLP against torch, SGD, errors, and draw_graph."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.autograd_graph import draw_graph  # noqa: E402
from course_lib.scratch.autograd import (  # noqa: E402
    Layer,
    Neuron,
    Value,
    ValueMLP,
    topological_order,
    zero_grad,
)

TOL = 1e-10


def rel(a: float, b: float) -> float:
    """Relative error |a - b| / max(|a|, |b|), 0 when both are 0."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def t64(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


# --------------------------------------------------------------------------- single ops

UNARY = {
    "neg": (lambda v: -v, lambda t: -t, [-2.0, 0.0, 3.5]),
    "exp": (lambda v: v.exp(), torch.exp, [-30.0, -1.0, 0.0, 0.7, 20.0]),
    "log": (lambda v: v.log(), torch.log, [1e-8, 0.3, 1.0, 7.0, 1e6]),
    "tanh": (lambda v: v.tanh(), torch.tanh, [-20.0, -0.5, 0.0, 0.8, 4.0]),
    "sigmoid": (lambda v: v.sigmoid(), torch.sigmoid, [-800.0, -30.0, -1.0, 0.0, 2.0, 40.0]),
    "relu": (lambda v: v.relu(), torch.relu, [-1.5, 0.0, 1e-300, 2.0]),
    "pow2": (lambda v: v ** 2, lambda t: t ** 2, [-3.0, 0.0, 0.5]),
    "pow3": (lambda v: v ** 3, lambda t: t ** 3, [-1.2, 0.0, 2.0]),
    "pow-1": (lambda v: v ** -1, lambda t: t ** -1, [-4.0, 0.25, 3.0]),
    "pow-2.0": (lambda v: v ** -2.0, lambda t: t ** -2.0, [-4.0, 0.25]),
    "pow0.5": (lambda v: v ** 0.5, lambda t: t ** 0.5, [1e-6, 0.5, 9.0]),
    "pow1.5": (lambda v: v ** 1.5, lambda t: t ** 1.5, [0.0, 0.5, 9.0]),
    "pow0": (lambda v: v ** 0, lambda t: t ** 0, [-2.0, 0.0, 3.0]),
    "pow_np": (lambda v: v ** np.float64(2.5), lambda t: t ** 2.5, [0.3, 4.0]),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_op_matches_torch(name):
    f, f_torch, points = UNARY[name]
    for x0 in points:
        x, xt = Value(x0), t64(x0)
        y, yt = f(x), f_torch(xt)
        y.backward()
        yt.backward()
        assert rel(y.data, yt.item()) <= 1e-14, (name, x0, y.data, yt.item())
        assert rel(x.grad, xt.grad.item()) <= 1e-13, (name, x0, x.grad, xt.grad.item())
        assert y.parents == (x,) and y.grad == 1.0


BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("side", ["value-value", "value-number", "number-value"])
def test_binary_op_matches_torch(op, side):
    f = BINARY[op]
    rng = np.random.default_rng(0)
    for a0, b0 in [(2.0, -3.0), (-0.5, 0.25), (1e8, 1e-8), (0.0, 7.0), *rng.normal(size=(5, 2))]:
        a0, b0 = float(a0), float(b0)
        a, b, at, bt = Value(a0), Value(b0), t64(a0), t64(b0)
        if side == "value-value":
            y, yt = f(a, b), f(at, bt)
        elif side == "value-number":
            y, yt = f(a, b0), f(at, b0)
        else:
            y, yt = f(a0, b), f(a0, bt)
        assert isinstance(y, Value) and y.op == op
        y.backward()
        yt.backward()
        assert rel(y.data, yt.item()) <= 1e-15
        if side != "number-value":
            assert rel(a.grad, at.grad.item()) <= 1e-15
        if side != "value-number":
            assert rel(b.grad, bt.grad.item()) <= 1e-15


@pytest.mark.parametrize("a0, b0", [(3e-200, 2e-200), (3e200, 2e200), (0.7, 0.7), (-5.0, -5.0)])
def test_division_by_tiny_huge_and_equal_numbers(a0, b0):
    """∂(a/b)/∂b = -(a/b)/b: finite where b*b would under- or overflow, and x/x has
    gradient exactly 0 (the two paths cancel exactly), as in torch."""
    a, b, at, bt = Value(a0), Value(b0), t64(a0), t64(b0)
    (a / b).backward()
    (at / bt).backward()
    assert rel(a.grad, at.grad.item()) <= 1e-15 and rel(b.grad, bt.grad.item()) <= 1e-15
    assert math.isfinite(b.grad)
    x, xt = Value(a0), t64(a0)
    (x / x).backward()
    (xt / xt).backward()
    assert x.grad == xt.grad.item() == 0.0


def test_numpy_scalars_mix_with_values():
    x = Value(np.float64(1.5))
    for y in (x * np.float32(2.0), np.int64(3) + x, x / np.float64(0.5)):
        assert isinstance(y, Value) and isinstance(y.data, float)
    assert type(Value(np.int64(3)).data) is float


def test_exp_overflow_gives_inf_like_torch():
    y = Value(1000.0).exp()
    assert y.data == math.inf == torch.exp(torch.tensor(1000.0, dtype=torch.float64)).item()


# ------------------------------------------------------------------- random expressions

def random_expression(rng: np.random.Generator, n_leaves: int, depth: int):
    """A random expression built twice, as Values and as torch tensors.

    Returns (root, leaves, root_t, leaves_t). Nodes built earlier are reused as operands
    (diamonds, and ``op(u, u)``), Python numbers appear on either side of binary ops, and
    the ops are steered away from their singularities (log of x <= 0.1, division by a
    number near 0, exp of a large number), so every value stays finite, and tanh/sigmoid
    away from saturation, where the derivative is ill-conditioned.
    """
    xs = rng.uniform(-2, 2, size=n_leaves)
    leaves = [Value(float(x), label=f"x{i}") for i, x in enumerate(xs)]
    leaves_t = [t64(float(x)) for x in xs]
    pool = list(zip(leaves, leaves_t, strict=True))

    def unary(v, t):
        a = v.data
        op = rng.choice(["neg", "exp", "log", "tanh", "sigmoid", "relu", "pow"])
        if (op == "exp" and a > 4) or (op == "log" and a <= 0.1) or (op == "pow" and abs(a) > 20):
            op = "tanh"
        if op in ("tanh", "sigmoid") and abs(a) > 6:
            # Saturated: both engines compute the derivative as 1 - t² (or s(1 - s)) from a
            # rounded output t, whose relative error is about 1e-16 / (1 - |t|), 1e-9 at
            # |a| = 9, so neither is accurate enough there to check the other to 1e-10.
            # Saturation itself is tested op by op in UNARY.
            op = "neg"
        if op == "neg":
            return -v, -t
        if op == "exp":
            return v.exp(), t.exp()
        if op == "log":
            return v.log(), t.log()
        if op == "tanh":
            return v.tanh(), t.tanh()
        if op == "sigmoid":
            return v.sigmoid(), torch.sigmoid(t)
        if op == "relu":
            return v.relu(), torch.relu(t)
        ks = [2, 3] + ([-1, -2] if abs(a) > 0.2 else []) + ([0.5, 1.5] if a > 0.1 else [])
        k = ks[rng.integers(len(ks))]
        return v ** k, t ** k

    def data(v) -> float:
        """The number behind an operand: a Value's data, or the Python number itself."""
        return v.data if isinstance(v, Value) else v

    def binary(left, right):
        """left and right are (Value, tensor) pairs or (number, number) constants."""
        op = rng.choice(["+", "-", "*", "/"])
        (v1, t1), (v2, t2) = left, right
        if op == "/" and abs(data(v2)) < 0.2:
            op = "*"
        if op == "*" and abs(data(v1) * data(v2)) > 1e4:
            op = "+"
        return BINARY[op](v1, v2), BINARY[op](t1, t2)

    def build(d):
        if d == 0 or rng.random() < 0.15:
            return pool[rng.integers(len(pool))]           # a leaf or an earlier node
        r = rng.random()
        if r < 0.35:
            out = unary(*build(d - 1))
        elif r < 0.5:                                      # a Python number on one side
            c = float(rng.choice([-1, 1]) * rng.uniform(0.5, 3.0))
            node = build(d - 1)
            pair = [node, (c, c)]
            if rng.random() < 0.5:
                pair.reverse()
            out = binary(*pair)
        elif r < 0.6:                                      # the same node twice
            node = build(d - 1)
            out = binary(node, node)
        else:
            out = binary(build(d - 1), build(d - 1))
        pool.append(out)
        return out

    root, root_t = build(depth)
    while not isinstance(root, Value) or not root.parents:  # make sure the root is an op
        root, root_t = binary(pool[rng.integers(len(pool))], pool[rng.integers(len(pool))])
    return root, leaves, root_t, leaves_t


def path_magnitude(root: Value, leaves: list[Value]) -> list[float]:
    """For each leaf, Σ over paths to the root of |product of local derivatives|.

    A leaf's gradient is the same sum without the absolute values. When paths cancel
    (``(x/z) * z`` has gradient 0 in z), the gradient is 0 but each engine is left with a
    rounding residue of about 1e-16 times this magnitude, with no reason to agree in sign,
    so the error must be measured against it. Without cancellation it equals |gradient|.
    """
    g = {root: 1.0}
    for node in reversed(topological_order(root)):
        for parent, local in zip(node.parents, node.local_grads, strict=True):
            g[parent] = g.get(parent, 0.0) + g.get(node, 0.0) * abs(local)
    return [g.get(v, 0.0) for v in leaves]


def _worst_random_expression_error(n_trials: int = 400, seed: int = 0) -> tuple[float, int]:
    rng = np.random.default_rng(seed)
    worst, n_nodes = 0.0, 0
    for trial in range(n_trials):
        root, leaves, root_t, leaves_t = random_expression(
            rng, n_leaves=int(rng.integers(1, 5)), depth=1 + trial % 6)
        root.backward()
        root_t.backward()
        n_nodes = max(n_nodes, len(topological_order(root)))
        errs = [rel(root.data, root_t.item())]
        for v, t, scale in zip(leaves, leaves_t, path_magnitude(root, leaves), strict=True):
            g_t = 0.0 if t.grad is None else t.grad.item()
            errs.append(0.0 if scale == 0 else abs(v.grad - g_t) / scale)
        worst = max(worst, *errs)
        assert max(errs) <= TOL, (trial, errs)
    return worst, n_nodes


def test_random_expressions_match_torch():
    worst, n_nodes = _worst_random_expression_error()
    print(f"worst relative error vs torch over random expressions: {worst:.2e} "
          f"(largest graph: {n_nodes} nodes)")
    assert n_nodes > 30                                    # the generator does build deep graphs


def test_random_expressions_reuse_nodes():
    """The generator really produces diamonds (a node used by several others)."""
    rng = np.random.default_rng(1)
    shared = 0
    for _ in range(50):
        root, *_ = random_expression(rng, 3, 6)
        uses: dict[Value, int] = {}
        for v in topological_order(root):
            for p in v.parents:
                uses[p] = uses.get(p, 0) + 1
        shared += any(n > 1 and p.parents for p, n in uses.items())
    assert shared > 10


# ------------------------------------------------------------------ gradient accumulation

def test_node_used_twice_accumulates():
    a = Value(3.0)
    y = a * a                                              # dy/da = 2a, from two uses
    y.backward()
    assert a.grad == 6.0 and y.parents == (a, a)
    b = Value(-2.0)
    z = (b + b) * b                                        # 2b², dz/db = 4b
    z.backward()
    assert b.grad == -8.0


def test_diamond():
    x = Value(0.7)
    u = x.tanh()
    y = u * x.exp() + u ** 2                               # u feeds two branches
    y.backward()
    xt = t64(0.7)
    ut = xt.tanh()
    (ut * xt.exp() + ut ** 2).backward()
    assert rel(x.grad, xt.grad.item()) <= 1e-14


def test_backward_twice_accumulates_like_torch():
    a, b = Value(1.3), Value(-0.4)
    y = (a * b).sigmoid() + a.exp()
    at, bt = t64(1.3), t64(-0.4)
    yt = torch.sigmoid(at * bt) + at.exp()
    y.backward()
    g1 = (a.grad, b.grad)
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    assert y.grad == 2.0                                   # 1 per call
    assert rel(a.grad, at.grad.item()) <= 1e-14 and rel(b.grad, bt.grad.item()) <= 1e-14
    assert rel(a.grad, 2 * g1[0]) <= 1e-15
    zero_grad(y)
    assert all(v.grad == 0.0 for v in topological_order(y))
    y.backward()
    assert (a.grad, b.grad) == g1 and y.grad == 1.0


def test_backward_from_an_inner_node_then_the_root():
    """Two backward calls from different nodes each add their own derivatives."""
    x = Value(0.5)
    h = x.tanh()
    y = h * 3.0
    h.backward()
    assert rel(x.grad, 1 - math.tanh(0.5) ** 2) <= 1e-15
    y.backward()
    assert rel(x.grad, 4 * (1 - math.tanh(0.5) ** 2)) <= 1e-15


def test_zero_grad_on_a_list():
    a, b = Value(1.0), Value(2.0)
    (a * b).backward()
    zero_grad([a, b])
    assert a.grad == b.grad == 0.0
    zero_grad(v for v in [a])                              # any iterable


# ----------------------------------------------------------------- topological order

def _ancestors(root: Value) -> set:
    seen, todo = set(), [root]
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            todo.extend(v.parents)
    return seen


def test_topological_order_properties():
    rng = np.random.default_rng(3)
    for _ in range(100):
        root, leaves, *_ = random_expression(rng, 3, 6)
        order = topological_order(root)
        assert len(order) == len(set(order))               # each node once
        assert set(order) == _ancestors(root)              # and every ancestor
        assert order[-1] is root
        pos = {v: i for i, v in enumerate(order)}
        for v in order:
            assert all(pos[p] < pos[v] for p in v.parents)  # parents first


def test_topological_order_of_a_leaf():
    x = Value(1.0)
    assert topological_order(x) == [x]
    x.backward()
    assert x.grad == 1.0


def test_deep_chain_without_recursion_error():
    x = Value(0.3, label="x")
    y = x
    for _ in range(2500):                                  # 5000 operations
        y = y * 1.001
        y = y - 1e-4
    order = topological_order(y)
    assert len(order) == 1 + 5000 + 5000                   # x, the ops, and the constants
    y.backward()
    assert rel(x.grad, 1.001 ** 2500) <= 1e-12
    zero_grad(y)
    assert x.grad == 0.0


def test_deep_tanh_chain_matches_torch():
    x, xt = Value(0.9), t64(0.9)
    y, yt = x, xt
    for i in range(5000):
        y, yt = (y.tanh(), yt.tanh()) if i % 2 else (y * 1.3, yt * 1.3)
    y.backward()
    yt.backward()
    assert rel(y.data, yt.item()) <= 1e-12 and rel(x.grad, xt.grad.item()) <= 1e-10


# ------------------------------------------------------------------------------- the ValueMLP

def torch_copy(mlp: ValueMLP) -> torch.nn.Sequential:
    """The same network in torch, float64, with the ValueMLP's weights copied in."""
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid,
           "linear": torch.nn.Identity}[mlp.activation]
    mods = []
    for i, layer in enumerate(mlp.layers):
        lin = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons],
                                          dtype=torch.float64))
            lin.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
        mods.append(lin)
        if i < len(mlp.layers) - 1:
            mods.append(act())
    return torch.nn.Sequential(*mods)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("n_in,sizes,batch", [(1, [1], 1), (2, [3], 4), (3, [4, 1], 5),
                                              (3, [5, 4, 2], 3), (4, [3, 3, 3, 1], 2)])
def test_mlp_matches_torch(activation, n_in, sizes, batch):
    rng = np.random.default_rng(7)
    mlp = ValueMLP(n_in, sizes, activation=activation, rng=rng)
    net = torch_copy(mlp)
    X = rng.normal(size=(batch, n_in))
    loss = Value(0.0)
    for x in X:
        out = mlp(list(x))
        outs = [out] if isinstance(out, Value) else out
        assert isinstance(out, Value) == (sizes[-1] == 1) and len(outs) == sizes[-1]
        for o in outs:
            loss = loss + o * o
    loss.backward()
    out_t = net(torch.tensor(X))
    loss_t = (out_t ** 2).sum()
    loss_t.backward()
    assert rel(loss.data, loss_t.item()) <= 1e-13
    grads_t = [g for lin in net if isinstance(lin, torch.nn.Linear)
               for j in range(lin.out_features)
               for g in [*lin.weight.grad[j].tolist(), lin.bias.grad[j].item()]]
    grads = [p.grad for p in mlp.parameters()]
    assert len(grads) == len(grads_t) == sum(
        a * b + b for a, b in zip([n_in, *sizes[:-1]], sizes, strict=True))
    assert max(abs(g - gt) for g, gt in zip(grads, grads_t, strict=True)) <= \
        1e-12 * max(1.0, max(abs(g) for g in grads_t))


def test_mlp_is_deterministic_and_labelled():
    a = ValueMLP(3, [4, 2], rng=np.random.default_rng(0))
    b = ValueMLP(3, [4, 2], rng=np.random.default_rng(0))
    c = ValueMLP(3, [4, 2], rng=np.random.default_rng(1))
    pa, pb, pc = ([p.data for p in m.parameters()] for m in (a, b, c))
    assert pa == pb and pa != pc
    assert len(set(p.label for p in a.parameters())) == len(pa)   # unique names
    assert all(abs(w) <= 1 / math.sqrt(3) for w in pa)
    assert "26 parameters" in repr(a)


def test_neuron_and_layer():
    rng = np.random.default_rng(0)
    n = Neuron(2, activation="relu", rng=rng)
    x = [Value(1.0), 2.0]                                  # Values and numbers mixed
    z = n.w[0].data * 1.0 + n.w[1].data * 2.0 + n.b.data
    assert n(x).data == max(0.0, z) and len(n.parameters()) == 3
    layer = Layer(2, 3, rng=rng)
    assert len(layer(x)) == 3 and len(layer.parameters()) == 9
    assert isinstance(Layer(2, 1, rng=rng)(x), Value)


def test_sgd_reduces_the_loss_on_xor():
    rng = np.random.default_rng(0)
    X = [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
    y = [-1.0, 1.0, 1.0, -1.0]                             # XOR: needs the hidden layer
    mlp = ValueMLP(2, [8, 1], rng=rng)
    params = mlp.parameters()
    losses = []
    for _ in range(60):
        loss = sum(((mlp(x) - t) ** 2 for x, t in zip(X, y, strict=True)), Value(0.0)) * 0.25
        zero_grad(params)
        loss.backward()
        for p in params:
            p.data -= 0.2 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0], losses[::10]
    assert all(np.sign(mlp(x).data) == t for x, t in zip(X, y, strict=True))


# ---------------------------------------------------------------------------- bad input

def test_bad_input_gives_clear_errors():
    x = Value(2.0)
    with pytest.raises(ValueError, match="log.*> 0.*-1"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="> 0"):
        Value(0.0).log()
    with pytest.raises(TypeError, match="exponent must be a number"):
        x ** Value(2.0)
    with pytest.raises(TypeError, match="exponent"):
        x ** "2"
    with pytest.raises(TypeError, match="number \\*\\* Value"):
        2.0 ** x
    with pytest.raises(ValueError, match="negative base"):
        Value(-8.0) ** (1 / 3)
    with pytest.raises(ZeroDivisionError):
        Value(0.0) ** -1
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        x / 0
    with pytest.raises(ZeroDivisionError):
        1.0 / Value(0.0)
    for bad in ("1.0", None, [1.0], True, 1j, Value(1.0), np.array([1.0, 2.0])):
        with pytest.raises(TypeError, match="real number"):
            Value(bad)
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        "a" * x
    with pytest.raises(TypeError, match="Value"):
        topological_order(3.0)
    with pytest.raises(TypeError, match="zero_grad"):
        zero_grad(3.0)
    with pytest.raises(TypeError, match="zero_grad"):
        zero_grad([x, 1.0])


def test_bad_network_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_in"):
        ValueMLP(0, [2], rng=rng)
    with pytest.raises(ValueError, match="sizes"):
        ValueMLP(2, [], rng=rng)
    with pytest.raises(ValueError, match="sizes"):
        ValueMLP(2, [3, 0], rng=rng)
    with pytest.raises(ValueError, match="activation"):
        ValueMLP(2, [3], activation="gelu", rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        ValueMLP(2, [3], rng=0)
    mlp = ValueMLP(2, [3, 1], rng=rng)
    with pytest.raises(ValueError, match="2 entries, got 3"):
        mlp([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="real number"):
        mlp([1.0, "x"])


# ------------------------------------------------------------------------------ drawing

def test_draw_graph_one_box_per_value():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    e = a * b
    e.label = "e"
    L = (e + a ** 2).tanh() + 1.0 / b                      # a is used twice, 1.0 is a constant
    L.label = "L"
    L.backward()
    ax = draw_graph(L)
    order = topological_order(L)
    boxes = [p for p in ax.patches if p.get_gid() == "value"]
    ops = [p for p in ax.patches if p.get_gid() == "op"]
    assert len(boxes) == len(order)
    assert len(ops) == sum(1 for v in order if v.parents)
    texts = [t.get_text() for t in ax.texts]
    for name in ("a", "b", "e", "L", "tanh", "×", "÷"):
        assert name in texts
    assert f"grad {a.grad:.4g}" in texts
    ax.figure.canvas.draw()                                # renders without error
    plt.close(ax.figure)

    fig, ax2 = plt.subplots()
    assert draw_graph(L, ax2, show_grad=False) is ax2
    assert not any(t.get_text().startswith("grad") for t in ax2.texts)
    plt.close(fig)


def test_draw_graph_rejects_bad_input():
    with pytest.raises(TypeError, match="Value"):
        draw_graph(1.0)
    y = Value(1.0)
    for _ in range(100):
        y = y + 1.0
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(y)
