"""fit() trains, reproduces, reports; the MLP reference model: test_torch_ref_mlp.py."""

import math

import matplotlib
import pytest
import torch
from torch import nn

from course_lib import setup
from course_lib.torch_ref import MLP
from course_lib.training import (
    History,
    accuracy,
    eval_mode,
    evaluate,
    fit,
    fit_steps,
    model_device,
    optimizer_step,
    run_steps,
    small_model_device,
    to_device,
)

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


# --------------------------------------------------------------------------- the step loop

def test_fit_steps_is_the_plain_adam_loop():
    """fit_steps does exactly what a hand-written loop does: same batches, same updates."""
    def batches(step):
        g = torch.Generator().manual_seed(step)
        X = torch.randn(8, 3, generator=g)
        return X, X.sum(1, keepdim=True)

    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    losses = fit_steps(model, batches, nn.functional.mse_loss, steps=20, lr=0.05, clip=0.5,
                       progress=False)
    assert not model.training
    torch.manual_seed(0)
    ref = nn.Linear(3, 1)
    opt = torch.optim.Adam(ref.parameters(), lr=0.05)
    want = []
    for step in range(20):
        x, y = batches(step)
        loss = nn.functional.mse_loss(ref(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
        opt.step()
        want.append(loss.item())
    assert losses == want
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), ref.parameters(),
                                                 strict=True))


def test_fit_steps_errors():
    model = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"fit_steps: steps must be in \[1, inf\]"):
        fit_steps(model, lambda s: (torch.zeros(1, 2), torch.zeros(1, 1)),
                  nn.functional.mse_loss, steps=0)
    with pytest.raises(ValueError, match="fit_steps: lr must be finite and > 0"):
        fit_steps(model, lambda s: (torch.zeros(1, 2), torch.zeros(1, 1)),
                  nn.functional.mse_loss, steps=1, lr=0.0)

    def blows_up(step):                        # the target becomes infinite at step 2
        return torch.zeros(1, 2), torch.full((1, 1), math.inf if step == 2 else 0.0)

    with pytest.raises(FloatingPointError, match="fit_steps: the loss became inf at step 2"):
        fit_steps(model, blows_up, nn.functional.mse_loss, steps=5, progress=False)


def test_run_steps_records_modes_and_stops_on_nan():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    modes = []

    def step(i):
        modes.append(model.training)
        return {"a": float(i), "b": 2.0 * i}

    model.eval()
    rec = run_steps(step, steps=4, models=[model], progress=False)
    assert rec == {"a": [0.0, 1.0, 2.0, 3.0], "b": [0.0, 2.0, 4.0, 6.0]}
    assert modes == [True] * 4 and not model.training            # train inside, eval after
    with pytest.raises(FloatingPointError, match=r"fit_gan: the g_loss became nan at step 1"):
        run_steps(lambda i: {"d_loss": 1.0, "g_loss": float("nan") if i else 0.0}, steps=3,
                  progress=False, where="fit_gan")
    with pytest.raises(TypeError, match="my_loop: steps must be an int"):
        run_steps(lambda i: {}, steps=2.0, where="my_loop")


def test_optimizer_step_clips_and_reports_the_norm():
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(0.0)
    opt = torch.optim.SGD(lin.parameters(), lr=1.0)
    x = torch.tensor([[3.0, 4.0]])
    assert optimizer_step(opt, lin(x).sum()) is None              # no clip: no norm
    torch.testing.assert_close(lin.weight, -x)                     # w − 1·grad
    norm = optimizer_step(opt, lin(x).sum(), clip=1.0)
    assert norm == pytest.approx(5.0)                               # ‖(3, 4)‖ before clipping
    torch.testing.assert_close(lin.weight, -x - x / 5.0)           # the step has norm 1
    assert optimizer_step(opt, lin(x).sum(), clip=math.inf) == pytest.approx(5.0)
    torch.testing.assert_close(lin.weight, -2.2 * x)               # inf: measured, not clipped


def test_eval_mode_restores_every_mode():
    a, b = nn.Dropout(0.5), nn.Dropout(0.5)
    a.train()
    b.eval()
    with eval_mode(a, b, len):                                     # a function is left alone
        assert not a.training and not b.training
    assert a.training and not b.training
    with pytest.raises(RuntimeError), eval_mode(a):
        raise RuntimeError
    assert a.training


def test_device_helpers():
    model = nn.Linear(2, 1)
    assert model_device(model) == torch.device("cpu")
    assert model_device(nn.ReLU()) == torch.device("cpu")             # no parameters: the CPU
    with_buffer = nn.Module()
    with_buffer.register_buffer("scale", torch.ones(1, device="meta"))
    assert model_device(with_buffer) == torch.device("meta")
    x = torch.zeros(2)
    assert to_device(x, "cpu") is x                                 # no copy on the same device
    moved = to_device((x, [x, None], 3), torch.device("cpu"))
    assert isinstance(moved, tuple) and isinstance(moved[1], list)
    assert moved[0] is x and moved[1][1] is None and moved[2] == 3


def test_small_model_device_is_the_cpu_unless_asked(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    assert small_model_device(torch.device("meta")) == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "meta")                    # the learner's choice wins
    assert small_model_device(torch.device("meta")) == torch.device("meta")
    assert small_model_device("cpu") == torch.device("cpu")
