"""course_lib.torch_ref.mlp: the torch MLP built from NumPy parameters computes what the
scratch MLP computes, and the weights go back and forth unchanged."""

import numpy as np
import pytest
import torch

from course_lib.scratch import layers as L
from course_lib.torch_ref.mlp import MLP, mlp_from_params, mlp_params


@pytest.mark.parametrize("activation", sorted(L.ACTIVATIONS))
@pytest.mark.parametrize("sizes, N", [([1, 1], 1), ([3, 5, 2], 1), ([4, 7, 6, 3], 9)])
def test_same_outputs_and_gradients_as_the_scratch_mlp(activation, sizes, N):
    rng = np.random.default_rng([len(sizes), N])
    params = L.init_mlp(sizes, rng=rng)
    params = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in params.items()}
    X = rng.normal(size=(N, sizes[0]))
    y = rng.integers(0, sizes[-1], size=N)
    model = mlp_from_params(params, activation)
    assert next(model.parameters()).dtype == torch.float64
    scores = model(torch.from_numpy(X))
    np.testing.assert_allclose(scores.detach().numpy(), L.mlp_forward(params, X, activation)[0],
                               rtol=1e-13, atol=1e-14)
    torch.nn.functional.cross_entropy(scores, torch.from_numpy(y)).backward()
    _, grads = L.mlp_loss(params, X, y, activation=activation)
    linears = [m for m in model.net if isinstance(m, torch.nn.Linear)]
    for i, lin in enumerate(linears, start=1):
        np.testing.assert_allclose(lin.weight.grad.numpy().T, grads[f"W{i}"], rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(lin.bias.grad.numpy(), grads[f"b{i}"], rtol=1e-12,
                                   atol=1e-15)


def test_round_trip_and_float32():
    params = L.init_mlp([5, 4, 3], rng=np.random.default_rng(0))
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
