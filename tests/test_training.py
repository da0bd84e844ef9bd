"""fit() trains, reproduces, reports; the MLP reference model checks its input."""

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from course_lib import setup
from course_lib.torch_ref import MLP
from course_lib.training import History, accuracy, evaluate, fit

matplotlib.use("Agg")


def _loaders(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(200, 2, generator=g)
    y = (X[:, 0] * X[:, 1] > 0).long()  # XOR-like quadrants
    ds = torch.utils.data.TensorDataset(X, y)
    train = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True,
                                        generator=torch.Generator().manual_seed(seed))
    val = torch.utils.data.DataLoader(ds, batch_size=100)
    return train, val


def _run(seed=0, epochs=15):
    setup(seed, quiet=True)
    model = MLP([2, 16, 2], activation="tanh")
    train, val = _loaders(seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    return fit(model, train, epochs=epochs, optimizer=opt, loss_fn=nn.CrossEntropyLoss(),
               val_loader=val, metrics={"acc": accuracy}, progress=False, plot=False), model


def test_fit_learns_and_records():
    history, model = _run()
    assert len(history["train_loss"]) == 15 and len(history.steps) == 15 * 7
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert history.last("val_acc") > 0.9
    _, val = _loaders()
    assert evaluate(model, val, nn.CrossEntropyLoss(), metrics={"acc": accuracy})["acc"] == \
        pytest.approx(history.last("val_acc"))


def test_fit_is_reproducible():
    a, _ = _run(seed=3, epochs=3)
    b, _ = _run(seed=3, epochs=3)
    assert a.epochs == b.epochs and a.steps == b.steps


def test_fit_plots_once_at_the_end(monkeypatch):
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    setup(0, quiet=True)
    model = MLP([2, 4, 2])
    train, _ = _loaders()
    fit(model, train, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        loss_fn=nn.CrossEntropyLoss(), progress=False, live=False)
    assert len(shown) == 1 and shown[0].axes[0].get_ylabel() == "loss"
    plt.close("all")


def test_fit_errors():
    model = MLP([2, 2])
    train, _ = _loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be in"):
        fit(model, train, epochs=0, optimizer=opt, loss_fn=nn.CrossEntropyLoss())
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        fit(lambda x: x, train, epochs=1, optimizer=opt, loss_fn=nn.CrossEntropyLoss())
    with pytest.raises(TypeError, match="optimizer must be"):
        fit(model, train, epochs=1, optimizer="adam", loss_fn=nn.CrossEntropyLoss())
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        fit(model, train, epochs=1, optimizer=opt, loss_fn=lambda out, y: out.sum() / 0.0,
            progress=False, plot=False)


def test_history_and_accuracy():
    h = History()
    h.add({"train_loss": 1.0})
    with pytest.raises(KeyError, match="has no record 'val_acc'"):
        h["val_acc"]
    assert accuracy(torch.tensor([[0.1, 0.9], [2.0, 1.0]]), torch.tensor([1, 1])) == 0.5
    with pytest.raises(ValueError, match=r"outputs \(N, K\)"):
        accuracy(torch.ones(3), torch.ones(3))


def test_mlp_reference():
    m = MLP([4, 8, 3])
    assert m(torch.randn(5, 2, 2)).shape == (5, 3)  # flattened
    with pytest.raises(ValueError, match="expected inputs with 4 features"):
        m(torch.randn(5, 3))
    with pytest.raises(ValueError, match="at least two positive ints"):
        MLP([4])
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP([4, 2], activation="swish")
    assert np.isfinite(sum(p.sum().item() for p in m.parameters()))
