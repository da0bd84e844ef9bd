"""course_lib.torch_ref.mlp: the torch MLP built from NumPy parameters computes what the
scratch MLP computes, and the weights go back and forth unchanged."""

import numpy as np
import pytest
import torch

from course_lib.scratch import layers as L
from course_lib.scratch import mlp as M
from course_lib.torch_ref.mlp import MLP, mlp_from_params, mlp_params


@pytest.mark.parametrize("activation", sorted(L.ACTIVATIONS))
@pytest.mark.parametrize("sizes, N", [([1, 1], 1), ([3, 5, 2], 1), ([4, 7, 6, 3], 9)])
def test_same_outputs_and_gradients_as_the_scratch_mlp(activation, sizes, N):
    rng = np.random.default_rng([len(sizes), N])
    params = M.init_mlp(sizes, rng=rng)
    params = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in params.items()}
    X = rng.normal(size=(N, sizes[0]))
    y = rng.integers(0, sizes[-1], size=N)
    model = mlp_from_params(params, activation)
    assert next(model.parameters()).dtype == torch.float64
    scores = model(torch.from_numpy(X))
    np.testing.assert_allclose(scores.detach().numpy(), M.mlp_forward(params, X, activation)[0],
                               rtol=1e-13, atol=1e-14)
    torch.nn.functional.cross_entropy(scores, torch.from_numpy(y)).backward()
    _, grads = M.mlp_loss(params, X, y, activation=activation)
    linears = [m for m in model.net if isinstance(m, torch.nn.Linear)]
    for i, lin in enumerate(linears, start=1):
        np.testing.assert_allclose(lin.weight.grad.numpy().T, grads[f"W{i}"], rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(lin.bias.grad.numpy(), grads[f"b{i}"], rtol=1e-12,
                                   atol=1e-15)


def test_round_trip_and_float32():
    params = M.init_mlp([5, 4, 3], rng=np.random.default_rng(0))
    back = mlp_params(mlp_from_params(params))
    assert list(back) == list(params)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])
    m32 = mlp_from_params(params, "tanh", dtype=torch.float32)
    assert next(m32.parameters()).dtype == torch.float32
    model = MLP([6, 3, 2])
    again = mlp_from_params(mlp_params(model), dtype=torch.float32)
    x = torch.randn(4, 6)
    torch.testing.assert_close(again(x), model(x))


_HAND_ACTIVATIONS = {                     # written out, not taken from torch.nn
    "relu": lambda z: torch.where(z > 0, z, torch.zeros_like(z)),
    "tanh": lambda z: (torch.exp(z) - torch.exp(-z)) / (torch.exp(z) + torch.exp(-z)),
    "sigmoid": lambda z: 1 / (1 + torch.exp(-z)),
    "gelu": lambda z: 0.5 * z * (1 + torch.erf(z / 2**0.5)),
    "elu": lambda z: torch.where(z > 0, z, torch.exp(z) - 1),
    "leaky_relu": lambda z: torch.where(z > 0, z, 0.01 * z),
}


@pytest.mark.parametrize("activation", sorted(_HAND_ACTIVATIONS))
def test_mlp_reference(activation):
    torch.manual_seed(0)
    sizes = [4, 8, 5, 3]
    m = MLP(sizes, activation).double()
    linears = [mod for mod in m.net if isinstance(mod, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(4, 8), (8, 5), (5, 3)]
    assert len(m.net) == 5                                 # Linear, act, Linear, act, Linear
    assert sum(p.numel() for p in m.parameters()) == 4 * 8 + 8 + 8 * 5 + 5 + 5 * 3 + 3
    x = torch.randn(6, 2, 2, dtype=torch.float64)          # (N, *) is flattened to (N, 4)
    out = m(x)
    assert out.shape == (6, 3)
    # by hand from the weights: h = act(x Wᵀ + b) for the hidden layers, logits at the end
    act = _HAND_ACTIVATIONS[activation]
    h, hidden = x.reshape(6, 4), []
    for i, lin in enumerate(linears):
        h = h @ lin.weight.T + lin.bias
        if i < len(linears) - 1:
            h = act(h)
            hidden.append(h)
    torch.testing.assert_close(out, h, rtol=1e-12, atol=1e-14)
    # gradients reach every parameter; for the last layer they are known in closed form
    out.sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.all(torch.isfinite(p.grad)), name
        assert p.grad.abs().sum() > 0, name
    torch.testing.assert_close(linears[-1].bias.grad, torch.full((3,), 6.0, dtype=torch.float64))
    torch.testing.assert_close(linears[-1].weight.grad,
                               hidden[-1].detach().sum(0).expand(3, 5), rtol=1e-12, atol=1e-14)


def test_mlp_reference_one_layer_and_errors():
    m = MLP([3, 2], activation="tanh")                     # no hidden layer: no activation
    assert len(m.net) == 1 and isinstance(m.net[0], torch.nn.Linear)
    x = torch.randn(4, 3)
    torch.testing.assert_close(m(x), x @ m.net[0].weight.T + m.net[0].bias)
    with pytest.raises(ValueError, match=r"expected inputs with 3 features, got shape \(5, 4\)"):
        m(torch.randn(5, 4))
    with pytest.raises(ValueError, match="at least two positive ints"):
        MLP([4])
    with pytest.raises(ValueError, match="at least two positive ints"):
        MLP([4, 0, 2])
    with pytest.raises(ValueError, match="at least two positive ints"):
        MLP([4, 2.0])
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([4, 2], activation="swish")


def test_bad_input():
    with pytest.raises(TypeError, match="W1, b1"):
        mlp_from_params([np.ones((2, 2))])
    with pytest.raises(ValueError, match="W2 must be"):
        mlp_from_params({"W1": np.ones((2, 3)), "b1": np.ones(3), "W2": np.ones((4, 2)),
                         "b2": np.ones(2)})
    with pytest.raises(ValueError, match=r"W1 must be \(d, m\)"):
        mlp_from_params({"W1": np.ones(3), "b1": np.ones(3)})
    with pytest.raises(ValueError, match="b1"):
        mlp_from_params({"W1": np.ones((2, 3)), "b1": np.ones(2)})
    with pytest.raises(ValueError, match="activation"):
        mlp_from_params({"W1": np.ones((2, 3)), "b1": np.ones(3)}, "swish")
    with pytest.raises(TypeError, match="MLP"):
        mlp_params(torch.nn.Linear(2, 2))
