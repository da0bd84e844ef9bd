"""course_lib.torch_ref.cnn_blocks / counting / transfer: shapes, parameter counts against
closed-form formulas and torch's numel, multiply–add counts against hand formulas, residual
blocks that are the identity when their branch is zero, and frozen modules for fine-tuning."""

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.scratch.conv import conv2d_forward, conv_output_size
from course_lib.scratch.norm import batchnorm_forward
from course_lib.torch_ref import cnn_blocks as B
from course_lib.torch_ref import counting as C
from course_lib.torch_ref.transfer import Frozen, count_trainable, new_head, trainable_parameters


def numel(model):
    return sum(p.numel() for p in model.parameters())


def bn(c):  # a BatchNorm2d's learned numbers: γ and β
    return 2 * c


ALL_MODELS = {
    "alexnet": lambda: B.MiniAlexNet(),
    "alexnet-3ch-32": lambda: B.MiniAlexNet(3, 7, width=8, hidden=32, image_size=32),
    "vgg": lambda: B.MiniVGG(),
    "vgg-gap": lambda: B.MiniVGG(stages=((1, 8), (1, 16), (1, 32)), global_pool=True),
    "vgg-nobn": lambda: B.MiniVGG(batch_norm=False),
    "googlenet": lambda: B.MiniGoogLeNet(),
    "resnet": lambda: B.MiniResNet(),
    "resnet-bottleneck": lambda: B.MiniResNet(block="bottleneck", widths=(4, 8), blocks=(2, 2)),
    "resnet-plain": lambda: B.MiniResNet(widths=(8,), blocks=(3,), residual=False),
    "densenet": lambda: B.MiniDenseNet(growth=6, layers=(2, 3)),
}


# ------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("c_in, c_out, k, bias, groups", [
    (1, 1, 1, True, 1), (3, 8, 3, True, 1), (4, 6, (3, 5), False, 2), (8, 8, 3, False, 8),
    (16, 32, 1, True, 4)])
def test_conv_and_linear_param_formulas_match_torch(c_in, c_out, k, bias, groups):
    conv = nn.Conv2d(c_in, c_out, k, bias=bias, groups=groups)
    assert C.conv2d_params(c_in, c_out, k, bias=bias, groups=groups) == numel(conv)
    assert C.module_params(conv) == numel(conv)
    lin = nn.Linear(c_in, c_out, bias=bias)
    assert C.linear_params(c_in, c_out, bias=bias) == numel(lin) == C.module_params(lin)
    assert C.batchnorm_params(c_out) == numel(nn.BatchNorm2d(c_out))
    assert C.batchnorm_params(c_out, affine=False) == numel(nn.BatchNorm2d(c_out, affine=False))


@pytest.mark.parametrize("c_in, c_out, k, stride, padding, groups, H, W", [
    (1, 6, 5, 1, 2, 1, 28, 28), (3, 4, 3, 2, 1, 1, 9, 7), (4, 8, (3, 1), 1, 0, 2, 5, 6),
    (6, 6, 3, 3, 1, 6, 11, 11), (2, 5, 1, 1, 0, 1, 1, 1)])
def test_conv_macs_from_hooks_equal_the_hand_formula(c_in, c_out, k, stride, padding, groups,
                                                     H, W):
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, groups=groups)
    kh, kw = (k, k) if isinstance(k, int) else k
    oh, ow = conv_output_size(H, kh, padding, stride), conv_output_size(W, kw, padding, stride)
    # every output value (c_out·oh·ow of them) needs (c_in/groups)·kh·kw multiply-adds
    hand = c_out * oh * ow * (c_in // groups) * kh * kw
    assert C.conv2d_macs(c_in, c_out, k, (oh, ow), groups=groups) == hand
    (row,) = C.layer_stats(conv, (c_in, H, W))
    assert row.macs == hand and row.out_shape == (c_out, oh, ow)
    assert row.params == numel(conv)


def test_linear_macs_count_every_row():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3))
    assert C.count_macs(model, (1, 3, 4)) == 12 * 5 + 5 * 3
    per_row = nn.Linear(4, 7)               # applied to (N, 2, 3, 4): 2·3 rows an image
    assert C.count_macs(per_row, (2, 3, 4)) == 6 * 4 * 7


def test_lenet_like_total_by_hand():
    # LeNet-5's sizes: conv 5×5 1→6 (28×28 out), pool, conv 5×5 6→16 (10×10 out), pool, 3 Linear.
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))
    macs = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10
    params = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10
                                                                                         + 10)
    assert C.count_macs(model, (1, 28, 28)) == macs == 416_520
    assert C.count_params(model) == params == numel(model) == 61_706
    assert C.weight_layers(model) == 5


@pytest.mark.parametrize("name", sorted(ALL_MODELS))
def test_count_params_equals_numel_and_macs_are_the_sum_of_layers(name):
    torch.manual_seed(0)
    model = ALL_MODELS[name]()
    shape = (3, 32, 32) if "3ch" in name else (1, 28, 28)
    assert C.count_params(model) == numel(model)
    stats = C.layer_stats(model, shape)
    assert sum(r.params for r in stats) == numel(model)     # each weight counted once
    by_formula = 0
    for r in stats:
        mod = dict(model.named_modules())[r.name]
        if isinstance(mod, nn.Conv2d):
            by_formula += (r.out_shape[1] * r.out_shape[2] * mod.out_channels
                           * mod.in_channels // mod.groups * mod.kernel_size[0]
                           * mod.kernel_size[1])
        elif isinstance(mod, nn.Linear):
            by_formula += mod.in_features * mod.out_features
    assert C.count_macs(model, shape) == by_formula > 0
    assert stats[-1].out_shape == (7 if "3ch" in name else 10,)


def test_layer_stats_restores_mode_and_counts_shared_modules_once():
    lin = nn.Linear(4, 4)
    model = nn.Sequential(nn.Flatten(), lin, nn.ReLU(), lin)   # the same Linear twice
    model.train()
    stats = C.layer_stats(model, (1, 2, 2))
    assert model.training
    assert [r.params for r in stats if r.kind == "Linear"] == [20, 0]
    assert C.count_macs(model, (1, 2, 2)) == 2 * 16
    assert C.count_params(model) == numel(model) == 20


def test_unknown_layers_and_bad_arguments_raise():
    with pytest.raises(TypeError, match="no parameter formula for Embedding"):
        C.count_params(nn.Sequential(nn.Embedding(3, 2)))
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        C.count_params("resnet")
    with pytest.raises(ValueError, match="groups must divide"):
        C.conv2d_params(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="c_in must be in"):
        C.conv2d_params(0, 6, 3)
    with pytest.raises(TypeError, match="k must be an int"):
        C.conv2d_macs(1, 1, 2.5, 3)
    with pytest.raises(ValueError, match="input_shape must be \\(C, H, W\\)"):
        C.layer_stats(nn.Conv2d(1, 1, 1), (28, 28))
    with pytest.raises(ValueError, match="at least one"):
        C.format_table([])


def test_model_table_and_format_table():
    rows = C.model_table({"vgg": B.MiniVGG(), "resnet": B.MiniResNet()}, (1, 28, 28))
    assert [r["model"] for r in rows] == ["vgg", "resnet"]
    assert rows[1]["params"] == numel(B.MiniResNet())
    text = C.format_table(rows, ["model", "params", "macs"])
    assert f"{rows[0]['params']:,}" in text and len(text.splitlines()) == 4


# ------------------------------------------------------------------------------ blocks
@pytest.mark.parametrize("c_in, c_out, stride, H, W, N", [
    (4, 4, 1, 8, 8, 1), (4, 8, 1, 7, 5, 2), (3, 6, 2, 9, 8, 3), (8, 8, 2, 5, 5, 1),
    (2, 2, 3, 10, 4, 2)])
def test_basic_block_shape_rule_and_parameter_formula(c_in, c_out, stride, H, W, N):
    block = B.BasicBlock(c_in, c_out, stride)
    y = block(torch.randn(N, c_in, H, W))
    # both 3×3 convolutions have padding 1, only the first has the stride
    assert y.shape == (N, c_out, (H - 1) // stride + 1, (W - 1) // stride + 1)
    assert y.shape[2] == conv_output_size(H, 3, 1, stride)
    projection = not (stride == 1 and c_in == c_out)
    expected = 9 * c_in * c_out + bn(c_out) + 9 * c_out * c_out + bn(c_out)
    expected += (c_in * c_out + bn(c_out)) if projection else 0
    assert numel(block) == expected == C.count_params(block)
    assert isinstance(block.shortcut, nn.Identity) != projection
    assert (y >= 0).all()


@pytest.mark.parametrize("c_in, c_mid, c_out, stride", [
    (16, 4, None, 1), (16, 4, 16, 1), (8, 2, 12, 2), (3, 5, 7, 1)])
def test_bottleneck_shape_and_parameter_formula(c_in, c_mid, c_out, stride):
    block = B.Bottleneck(c_in, c_mid, c_out, stride)
    c_out = 4 * c_mid if c_out is None else c_out
    y = block(torch.randn(2, c_in, 7, 6))
    assert y.shape == (2, c_out, (7 - 1) // stride + 1, (6 - 1) // stride + 1)
    expected = (c_in * c_mid + bn(c_mid) + 9 * c_mid * c_mid + bn(c_mid) + c_mid * c_out
                + bn(c_out))
    if stride != 1 or c_in != c_out:
        expected += c_in * c_out + bn(c_out)
    assert numel(block) == expected


def test_bottleneck_saves_parameters_over_the_basic_block():
    c, m = 256, 64                         # ResNet-50's first stage
    basic = 2 * 9 * c * c                  # two 3×3 convolutions c → c
    bottleneck = c * m + 9 * m * m + m * c
    assert (basic, bottleneck) == (1_179_648, 69_632)   # about 17 times fewer weights
    no_bn = B.Bottleneck(c, m, c, batch_norm=False)       # convolutions then have biases
    assert C.count_params(no_bn) == numel(no_bn) == bottleneck + m + m + c
    assert C.count_params(B.BasicBlock(c, c, batch_norm=False)) == basic + 2 * c


@pytest.mark.parametrize("block", [lambda: B.BasicBlock(5, 5), lambda: B.Bottleneck(8, 2, 8)])
def test_residual_block_is_the_identity_when_its_branch_is_zero(block):
    torch.manual_seed(0)
    b = block()
    x = torch.rand(3, b.in_channels, 6, 5)               # ≥ 0, as after a ReLU
    with torch.no_grad():
        for m in b.branch:
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
    for mode in (True, False):                           # BN(0) = β = 0 in both modes
        b.train(mode)
        assert torch.equal(b(x), x)
    plain = block()
    plain.shortcut = None                                # the same layers without shortcut
    with torch.no_grad():
        for m in plain.branch:
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
    assert torch.equal(plain(x), torch.zeros_like(x))


@pytest.mark.parametrize("batch_norm", [True, False])
def test_zero_init_residual_starts_as_identity(batch_norm):
    torch.manual_seed(1)
    b = B.BasicBlock(4, 4, zero_init_residual=True, batch_norm=batch_norm)
    x = torch.rand(2, 4, 5, 5)
    assert torch.equal(b(x), x)
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(b(x), torch.relu(x))              # the final ReLU still applies
    b2 = B.BasicBlock(4, 4)
    assert not torch.equal(b2(x), torch.relu(x))


def test_basic_block_equals_numpy_from_scratch_layers():
    """F(x) = BN(conv(ReLU(BN(conv(x))))) built from the chapter 07/08 NumPy layers."""
    torch.manual_seed(2)
    rng = np.random.default_rng(2)
    for stride, c_in, c_out in [(1, 3, 3), (2, 3, 5), (1, 2, 4)]:
        block = B.BasicBlock(c_in, c_out, stride).double()
        with torch.no_grad():                        # non-trivial γ, β
            for m in block.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
        x = rng.normal(size=(4, c_in, 7, 6))
        out = block(torch.from_numpy(x)).detach().numpy()

        def conv(t, m, s, p):
            return conv2d_forward(t, m.weight.detach().numpy(), None, stride=s, padding=p)[0]

        def batchnorm(t, m):
            return batchnorm_forward(t, m.weight.detach().numpy(), m.bias.detach().numpy(), {},
                                     train=True)[0]

        c1, n1, _, c2, n2 = block.branch
        h = np.maximum(batchnorm(conv(x, c1, stride, 1), n1), 0)
        f = batchnorm(conv(h, c2, 1, 1), n2)
        if isinstance(block.shortcut, nn.Identity):
            sc = x
        else:
            sc = batchnorm(conv(x, block.shortcut[0], stride, 0), block.shortcut[1])
        np.testing.assert_allclose(out, np.maximum(f + sc, 0), rtol=1e-10, atol=1e-12)


def test_vgg_inception_dense_shapes_and_formulas():
    x = torch.randn(2, 3, 9, 8)
    vgg = B.VGGBlock(3, 5, 2)
    assert vgg(x).shape == (2, 5, 4, 4)
    assert numel(vgg) == 9 * 3 * 5 + bn(5) + 9 * 5 * 5 + bn(5)
    inc = B.InceptionBlock(3, 4, 2, 6, 1, 3, 2)
    assert inc(x).shape == (2, 4 + 6 + 3 + 2, 9, 8) and inc.out_channels == 15
    assert numel(inc) == ((3 * 4 + bn(4)) + (3 * 2 + bn(2) + 9 * 2 * 6 + bn(6))
                          + (3 * 1 + bn(1) + 25 * 1 * 3 + bn(3)) + (3 * 2 + bn(2)))
    layer = B.DenseLayer(3, 4)
    y = layer(x)
    assert y.shape == (2, 7, 9, 8) and torch.equal(y[:, :3], x)   # the input is kept as is
    assert numel(layer) == bn(3) + 3 * 16 + bn(16) + 9 * 16 * 4
    assert numel(B.DenseLayer(3, 4, bottleneck=False)) == bn(3) + 9 * 3 * 4
    block = B.DenseBlock(3, 4, 5)
    assert block(x).shape == (2, 3 + 5 * 4, 9, 8) and block.out_channels == 23
    assert B.Transition(23, 11)(block(x)).shape == (2, 11, 4, 4)


@pytest.mark.parametrize("name", sorted(ALL_MODELS))
def test_networks_give_logits_for_a_batch_of_one_and_train(name):
    torch.manual_seed(0)
    model = ALL_MODELS[name]()
    c, s, k = (3, 32, 7) if "3ch" in name else (1, 28, 10)
    model.eval()
    assert model(torch.randn(1, c, s, s)).shape == (1, k)
    model.train()
    out = model(torch.randn(4, c, s, s))
    nn.functional.cross_entropy(out, torch.arange(4) % k).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_degradation_nets_plain_and_residual_have_the_same_layers(n):
    plain = B.MiniResNet(widths=(8,), blocks=(n,), residual=False)
    res = B.MiniResNet(widths=(8,), blocks=(n,), residual=True)
    assert C.weight_layers(plain) == C.weight_layers(res) == 2 * n + 2
    assert numel(plain) == numel(res)
    assert all(blk.shortcut is None for blk in plain.features if isinstance(blk, B.BasicBlock))


def test_resnet_stages_halve_and_project():
    model = B.MiniResNet(widths=(4, 8), blocks=(1, 2))
    stats = C.layer_stats(model, (1, 12, 12))
    shapes = [r.out_shape for r in stats if r.kind == "Conv2d"]
    assert shapes[0] == (4, 12, 12) and shapes[-1] == (8, 6, 6)
    assert C.weight_layers(model) == 2 + 2 * 3 + 1          # + one projection shortcut


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"x must be \(N, 1, H, W\), got shape \(28, 28\)"):
        B.MiniResNet()(torch.randn(28, 28))
    with pytest.raises(ValueError, match=r"BasicBlock: x must be \(N, 4, H, W\)"):
        B.BasicBlock(4, 4)(torch.randn(2, 3, 5, 5))
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        B.MiniVGG()(np.zeros((1, 1, 28, 28)))
    with pytest.raises(ValueError, match="block must be 'basic' or 'bottleneck'"):
        B.MiniResNet(block="dense")
    with pytest.raises(ValueError, match="equal length"):
        B.MiniResNet(widths=(8, 16), blocks=(1,))
    with pytest.raises(TypeError, match="residual must be True or False"):
        B.BasicBlock(2, 2, residual=1)
    with pytest.raises(ValueError, match="kernel spans"):
        B.MiniAlexNet(image_size=8)
    with pytest.raises(ValueError, match="below 1 pixel"):
        B.MiniVGG(image_size=4)
    with pytest.raises(ValueError, match="dropout must be in"):
        B.MiniAlexNet(dropout=1.0)
    with pytest.raises(ValueError, match="compression must be in"):
        B.MiniDenseNet(compression=2.0)
    with pytest.raises(ValueError, match="c_in must be in"):
        B.conv_bn_relu(0, 3)


# ---------------------------------------------------------------------------- transfer
def test_frozen_features_stay_fixed_and_in_eval_mode():
    torch.manual_seed(0)
    model = B.MiniVGG(stages=((1, 4), (1, 8)), global_pool=True)
    x = torch.randn(6, 1, 28, 28)
    model.train()
    model(x)                                   # moves the BN running statistics off 0 / 1
    model.eval()
    reference = model.features(x).clone()
    model.head = new_head(model, 3)
    model.features = Frozen(model.features)
    assert model.head.out_features == 3 and model.head.in_features == 8
    assert trainable_parameters(model) == list(model.head.parameters())
    assert count_trainable(model) == 8 * 3 + 3
    model.train()
    assert model.training and model.features.training and not model.features.module.training
    state = {k: v.clone() for k, v in model.features.state_dict().items()}
    out = model(x)
    assert torch.equal(model.features(x), reference)          # BN uses running statistics
    nn.functional.cross_entropy(out, torch.arange(6) % 3).backward()
    assert model.head.weight.grad is not None
    assert all(p.grad is None for p in model.features.parameters())
    for k, v in model.features.state_dict().items():
        assert torch.equal(v, state[k])                        # nothing moved


def test_transfer_bad_inputs():
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        Frozen(lambda x: x)
    with pytest.raises(TypeError, match="model.head must be an nn.Linear"):
        new_head(B.MiniVGG(), 3)                                # VGG's fc head is a Sequential
    with pytest.raises(ValueError, match="n_classes must be in"):
        new_head(B.MiniResNet(), 0)
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        trainable_parameters([1, 2])
