"""course_lib.torch_ref.autoencoders: shapes, seeded training, denoising corruptions,
greedy layer-wise pretraining copied into an MLP."""

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.scratch.upsample import conv_transpose2d, max_unpool2d
from course_lib.torch_ref.autoencoders import (
    ConvAutoencoder,
    MLPAutoencoder,
    fit_autoencoder,
    fit_classifier,
    gaussian_noise,
    masking_noise,
    pretrain_stack,
    reconstruction_errors,
    stack_into_mlp,
)
from course_lib.torch_ref.mlp import MLP


def _images(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g)


def test_mlp_autoencoder_shapes():
    ae = MLPAutoencoder([20, 8, 2])
    x = torch.rand(5, 20)
    assert ae.encode(x).shape == (5, 2) and ae(x).shape == (5, 20)
    assert ae(torch.rand(3, 4, 5)).shape == (3, 20)               # (N, *) is flattened
    with torch.no_grad():
        assert float(ae(x).min()) > 0 and float(ae(x).max()) < 1  # sigmoid output
    linear = MLPAutoencoder([6, 3], out="linear")
    assert len(linear.encoder) == 1 and len(linear.decoder) == 1
    assert isinstance(MLPAutoencoder([6, 4, 2]).encoder[1], nn.ReLU)


@pytest.mark.parametrize("upsample", ["transpose", "unpool"])
def test_conv_autoencoder_shapes(upsample):
    ae = ConvAutoencoder(upsample, channels=(3, 2))
    x = _images(4)
    z, (i1, i2) = ae.encode(x)
    assert z.shape == (4, 2, 7, 7) and i1.shape == (4, 3, 14, 14) and i2.shape == (4, 2, 7, 7)
    assert ae(x).shape == (4, 1, 28, 28)


def test_conv_decoders_agree_with_scratch_layers():
    torch.manual_seed(0)
    ae_t = ConvAutoencoder("transpose", channels=(3, 2)).double()
    z = torch.rand(2, 2, 7, 7, dtype=torch.float64)
    with torch.no_grad():
        ref = ae_t.up1(z).numpy()
    ours = conv_transpose2d(z.numpy(), ae_t.up1.weight.detach().numpy(),
                            ae_t.up1.bias.detach().numpy(), stride=2, padding=1,
                            output_padding=1)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    ae_u = ConvAutoencoder("unpool", channels=(3, 2)).double()
    _, (_, i2) = ae_u.encode(_images(2).double())
    un = torch.nn.functional.max_unpool2d(z, i2, 2).numpy()
    np.testing.assert_array_equal(max_unpool2d(z.numpy(), i2.numpy(), (14, 14)), un)


def test_training_is_seeded_and_lowers_the_loss():
    X = _images(128).flatten(1)
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        ae = MLPAutoencoder([784, 32, 4])
        runs.append(fit_autoencoder(ae, X, steps=60, batch_size=32, seed=3, progress=False))
    assert runs[0] == runs[1]
    assert np.mean(runs[0][-10:]) < np.mean(runs[0][:10])
    err = reconstruction_errors(ae, X)
    with torch.no_grad():
        manual = ((ae(X) - X) ** 2).mean(1)
    torch.testing.assert_close(err, manual)
    assert not ae.training


def test_conv_autoencoder_trains():
    torch.manual_seed(0)
    X = _images(64)
    ae = ConvAutoencoder("unpool", channels=(4, 2))
    losses = fit_autoencoder(ae, X, steps=30, batch_size=16, seed=0, progress=False)
    assert losses[-1] < losses[0]


def test_corruptions():
    g = torch.Generator().manual_seed(0)
    x = torch.full((200, 50), 0.5)
    noisy = gaussian_noise(0.2)(x, g)
    assert 0.15 < float((noisy - x).std()) < 0.25 and noisy.min() >= 0 and noisy.max() <= 1
    masked = masking_noise(0.3)(x, g)
    frac = float((masked == 0).float().mean())
    assert 0.27 < frac < 0.33 and set(masked.unique().tolist()) <= {0.0, 0.5}
    assert torch.equal(masking_noise(0.0)(x, g), x)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_noise(-1)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        masking_noise(1.0)


def test_denoising_training_uses_the_corruption():
    torch.manual_seed(0)
    X = torch.rand(64, 10)
    seen = []

    def spy(x, g):
        seen.append(x.shape)
        return x * 0

    fit_autoencoder(MLPAutoencoder([10, 3]), X, steps=3, batch_size=8, corrupt=spy,
                    progress=False)
    assert seen == [(8, 10)] * 3


def test_pretrain_stack_and_mlp():
    X = torch.rand(100, 12)
    state = torch.random.get_rng_state()
    layers, curves = pretrain_stack(X, [12, 6, 3], steps=20, batch_size=16, progress=False)
    assert torch.equal(state, torch.random.get_rng_state())       # global RNG untouched
    assert [tuple(m.weight.shape) for m in layers] == [(6, 12), (3, 6)]
    assert len(curves) == 2 and len(curves[0]) == 20
    model = stack_into_mlp(layers, 4)
    assert isinstance(model, MLP)
    linears = [m for m in model.net if isinstance(m, nn.Linear)]
    assert torch.equal(linears[0].weight, layers[0].weight)
    assert torch.equal(linears[1].bias, layers[1].bias) and linears[2].out_features == 4
    y = torch.randint(0, 4, (100,))
    losses = fit_classifier(model, X, y, steps=50, lr=1e-2)
    assert losses[-1] < losses[0]
    again, _ = pretrain_stack(X, [12, 6, 3], steps=20, batch_size=16, progress=False)
    assert torch.equal(again[1].weight, layers[1].weight)         # seeded


def test_errors():
    with pytest.raises(ValueError, match="sizes must be"):
        MLPAutoencoder([10])
    with pytest.raises(ValueError, match="activation must be"):
        MLPAutoencoder([10, 2], activation="swish")
    with pytest.raises(ValueError, match="out must be"):
        MLPAutoencoder([10, 2], out="tanh")
    with pytest.raises(ValueError, match="expected inputs with 10 features"):
        MLPAutoencoder([10, 2])(torch.rand(2, 11))
    with pytest.raises(ValueError, match="upsample must be"):
        ConvAutoencoder("bilinear")
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        ConvAutoencoder()(torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match=r"steps must be in \[1, inf\]"):
        fit_autoencoder(MLPAutoencoder([4, 2]), torch.rand(3, 4), steps=0)
    with pytest.raises(TypeError, match="steps must be an int"):
        fit_classifier(MLP([4, 2]), torch.rand(3, 4), torch.zeros(3, dtype=torch.long),
                       steps=2.5)
    with pytest.raises(TypeError, match="float tensor"):
        fit_autoencoder(MLPAutoencoder([4, 2]), np.zeros((3, 4)), steps=1)
    with pytest.raises(ValueError, match=r"\(N, 12\)"):
        pretrain_stack(torch.rand(3, 5), [12, 4], steps=1)
    with pytest.raises(TypeError, match="nn.Linear"):
        stack_into_mlp([], 3)
