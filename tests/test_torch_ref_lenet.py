"""course_lib.torch_ref.lenet: LeNet-5's shapes, parameter count, feature maps and errors."""

import pytest
import torch
from torch import nn

from course_lib.torch_ref.lenet import LeNet5


def test_shapes_and_parameter_count():
    torch.manual_seed(0)
    net = LeNet5()
    # conv1 6(25+1) + conv2 16(150+1) + fc1 400*120+120 + fc2 120*84+84 + fc3 84*10+10
    assert sum(p.numel() for p in net.parameters()) == 156 + 2416 + 48120 + 10164 + 850
    x = torch.randn(3, 1, 28, 28)
    assert net(x).shape == (3, 10)
    maps = net.feature_maps(x)
    shapes = {k: tuple(v.shape) for k, v in maps.items()}
    assert shapes == {"conv1": (3, 6, 28, 28), "pool1": (3, 6, 14, 14),
                      "conv2": (3, 16, 10, 10), "pool2": (3, 16, 5, 5),
                      "fc1": (3, 120), "fc2": (3, 84), "logits": (3, 10)}
    torch.testing.assert_close(maps["logits"], net(x))
    assert (maps["conv1"] >= 0).all() and (maps["fc2"] >= 0).all()   # after ReLU


@pytest.mark.parametrize("activation,pool", [("tanh", "avg"), ("sigmoid", "max")])
def test_variants(activation, pool):
    net = LeNet5(n_classes=4, in_channels=3, activation=activation, pool=pool)
    assert net(torch.zeros(2, 3, 28, 28)).shape == (2, 4)
    kinds = {type(m) for m in net.modules()}
    assert (nn.AvgPool2d if pool == "avg" else nn.MaxPool2d) in kinds
    assert (nn.Tanh if activation == "tanh" else nn.Sigmoid) in kinds


def test_learns_a_tiny_problem():
    torch.manual_seed(0)
    net = LeNet5(n_classes=2)
    x = torch.zeros(16, 1, 28, 28)
    x[8:, :, :, 14:] = 1.0                          # class 1: right half bright
    y = torch.tensor([0] * 8 + [1] * 8)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (net(x).argmax(1) == y).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        LeNet5(activation="gelu")
    with pytest.raises(ValueError, match="pool must be one of"):
        LeNet5(pool="min")
    with pytest.raises(ValueError, match=r"LeNet5: n_classes must be in \[1, inf\]"):
        LeNet5(n_classes=0)
    net = LeNet5()
    with pytest.raises(ValueError, match=r"x must be \(N, 1, 28, 28\), got \(2, 28, 28\)"):
        net(torch.zeros(2, 28, 28))
    with pytest.raises(TypeError, match="torch.Tensor"):
        net.feature_maps([[0.0]])


def _notebook_lenet():
    """The LeNet class that chapter 08 writes out, executed from the notebook's own cell."""
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parent.parent / "notebooks" / "08_cnn_basics.ipynb"
    cells = [c.source for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "code" and c.source.startswith("class LeNet(nn.Module):")]
    assert len(cells) == 1, "chapter 08 must define `class LeNet(nn.Module)` in one cell"
    namespace = {"nn": nn, "torch": torch}
    exec(cells[0], namespace)
    return namespace["LeNet"]


def test_chapter_08_lenet_is_the_same_architecture():
    LeNet = _notebook_lenet()
    torch.manual_seed(0)
    ours, reference = LeNet(), LeNet5()
    # the same layers in the same order, with the same settings
    assert [repr(m) for m in ours.modules()][1:] == [repr(m) for m in reference.modules()][1:]
    shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert sum(p.numel() for p in ours.parameters()) == 61_706
    # identical outputs once the weights are copied (both ways)
    x = torch.randn(5, 1, 28, 28)
    reference.load_state_dict(ours.state_dict())
    with torch.no_grad():
        assert torch.equal(ours(x), reference(x))
    torch.manual_seed(1)
    other = LeNet5()
    ours.load_state_dict(other.state_dict())
    with torch.no_grad():
        assert torch.equal(ours(x), other(x))
    assert LeNet(n_classes=3)(x).shape == (5, 3)
