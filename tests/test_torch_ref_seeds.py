"""Every torch_ref model that draws its initial weights takes ``seed=``, through one helper,
``course_lib.env.seeded``: the same seed gives the same weights, another seed other weights,
the global generator is left as it was, and ``seed=None`` draws from the global generator."""

import pytest
import torch
from torch import nn

from course_lib.env import seeded
from course_lib.torch_ref import autoencoders as A
from course_lib.torch_ref import char_rnn as C
from course_lib.torch_ref import cnn_blocks as B
from course_lib.torch_ref import generative as G
from course_lib.torch_ref import lenet, mlp, seq_models, transfer

# name -> build(seed): every class (and block-building function) that owns random weights
MODELS = {
    "MLP": lambda seed: mlp.MLP([6, 5, 3], seed=seed),
    "LeNet5": lambda seed: lenet.LeNet5(seed=seed),
    "CharRNN": lambda seed: C.CharRNN(7, 5, num_layers=2, cell="lstm", embed_dim=3, seed=seed),
    "LastStateRegressor": lambda seed: seq_models.LastStateRegressor("gru", 2, 4, seed=seed),
    "LastStateRegressor(forget_bias)": lambda seed: seq_models.LastStateRegressor(
        "lstm", 2, 4, forget_bias=1.0, seed=seed),
    "Seq2Seq": lambda seed: seq_models.Seq2Seq(12, 6, embed_dim=4, hidden_size=5, seed=seed),
    "MLPAutoencoder": lambda seed: A.MLPAutoencoder([10, 6, 2], seed=seed),
    "ConvAutoencoder(transpose)": lambda seed: A.ConvAutoencoder("transpose", (3, 2), seed=seed),
    "ConvAutoencoder(unpool)": lambda seed: A.ConvAutoencoder("unpool", (3, 2), seed=seed),
    "conv_bn_relu": lambda seed: B.conv_bn_relu(3, 4, seed=seed),
    "MiniAlexNet": lambda seed: B.MiniAlexNet(width=4, hidden=8, seed=seed),
    "VGGBlock": lambda seed: B.VGGBlock(3, 4, seed=seed),
    "MiniVGG": lambda seed: B.MiniVGG(stages=((1, 4), (1, 6)), hidden=8, seed=seed),
    "MiniVGG(global_pool)": lambda seed: B.MiniVGG(stages=((1, 4),), global_pool=True,
                                                   seed=seed),
    "InceptionBlock": lambda seed: B.InceptionBlock(4, 2, 2, 3, 1, 2, 2, seed=seed),
    "MiniGoogLeNet": lambda seed: B.MiniGoogLeNet(seed=seed),
    "BasicBlock": lambda seed: B.BasicBlock(4, 6, stride=2, seed=seed),
    "Bottleneck": lambda seed: B.Bottleneck(4, 2, seed=seed),
    "MiniResNet": lambda seed: B.MiniResNet(widths=(4, 8), blocks=(1, 1), seed=seed),
    "MiniResNet(bottleneck)": lambda seed: B.MiniResNet(widths=(2, 4), blocks=(1, 1),
                                                        block="bottleneck", seed=seed),
    "DenseLayer": lambda seed: B.DenseLayer(4, 3, seed=seed),
    "DenseBlock": lambda seed: B.DenseBlock(4, 3, 2, seed=seed),
    "Transition": lambda seed: B.Transition(4, 2, seed=seed),
    "MiniDenseNet": lambda seed: B.MiniDenseNet(growth=2, layers=(1, 1), seed=seed),
    "VAE": lambda seed: G.VAE(latent_dim=2, hidden=8, seed=seed),
    "Generator": lambda seed: G.Generator(z_dim=3, hidden=8, seed=seed),
    "Generator(conditional)": lambda seed: G.Generator(z_dim=3, hidden=8, n_classes=2,
                                                       seed=seed),
    "Discriminator": lambda seed: G.Discriminator(hidden=8, seed=seed),
    "Discriminator(conditional)": lambda seed: G.Discriminator(hidden=8, n_classes=2, seed=seed),
    "new_head": lambda seed: transfer.new_head(B.MiniResNet(widths=(4,), blocks=(1,), seed=0),
                                               3, seed=seed),
}


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in model.state_dict().values()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_seed_same_weights_other_seed_other_weights(name):
    build = MODELS[name]
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b, c = _weights(build(0)), _weights(build(0)), _weights(build(1))
    assert torch.equal(torch.random.get_rng_state(), state)      # global generator untouched
    assert _same(a, b)
    assert not _same(a, c)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_seed_none_draws_from_the_global_generator(name):
    build = MODELS[name]
    torch.manual_seed(5)
    a = _weights(build(None))
    after_a = torch.rand(1)
    torch.manual_seed(5)
    b = _weights(build(None))
    assert _same(a, b) and torch.equal(torch.rand(1), after_a)   # same draws, same amount
    with seeded(5):
        c = _weights(build(None))                                 # the same as seeding by hand
    assert _same(a, c)


def test_seeded_restores_the_generator_and_checks_the_seed():
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    with seeded(7):
        x = torch.rand(3)
    assert torch.equal(torch.random.get_rng_state(), before)
    with seeded(7):
        assert torch.equal(torch.rand(3), x)
    with seeded(None):
        y = torch.rand(3)                                         # None: the global generator
    assert not torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(3), y)
    with pytest.raises(ValueError, match=r"MLP: seed must be in \[0, inf\]"):
        mlp.MLP([2, 2], seed=-1)
    with pytest.raises(TypeError, match="VAE: seed must be an int"):
        G.VAE(seed=1.5)
