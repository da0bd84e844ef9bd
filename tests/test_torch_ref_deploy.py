"""course_lib.torch_ref.deploy: checkpoints resume a run exactly, untrusted pickles are refused,
predict checks its input, latency is measured."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.torch_ref.deploy import (
    CheckpointError,
    load_checkpoint,
    make_predict,
    measure_latency,
    save_checkpoint,
)


def _setup(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    return model, opt, sched


def _steps(model, opt, sched, gen, n):
    losses = []
    for _ in range(n):
        x = torch.randn(8, 5, generator=gen)
        noise = np.random.normal(size=(8, 1)) + random.random()   # global NumPy and Python RNGs
        y = x.sum(1, keepdim=True) + torch.as_tensor(noise, dtype=torch.float32)
        loss = ((model(x) - y) ** 2).mean()                       # dropout: torch's global RNG
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def test_resuming_from_a_checkpoint_repeats_the_uninterrupted_run_exactly(tmp_path):
    np.random.seed(0)
    random.seed(0)
    model, opt, sched = _setup()
    gen = torch.Generator().manual_seed(1)
    full = _steps(model, opt, sched, gen, 20)

    np.random.seed(0)
    random.seed(0)
    model, opt, sched = _setup()
    gen = torch.Generator().manual_seed(1)
    first = _steps(model, opt, sched, gen, 10)
    path = save_checkpoint(tmp_path / "ckpt.pt", model=model, optimizer=opt, scheduler=sched,
                           step=10, generators={"batches": gen}, extra={"note": "half way"})
    _steps(model, opt, sched, gen, 3)                             # disturb every generator
    torch.rand(5), np.random.rand(5), random.random()

    model2, opt2, sched2 = _setup(seed=123)                       # a fresh, different model
    gen2 = torch.Generator().manual_seed(999)
    ckpt = load_checkpoint(path, model=model2, optimizer=opt2, scheduler=sched2,
                           generators={"batches": gen2})
    assert ckpt["step"] == 10 and ckpt["extra"] == {"note": "half way"}
    assert first + _steps(model2, opt2, sched2, gen2, 10) == full


def test_untrusted_or_foreign_files_are_refused(tmp_path):
    model, _, _ = _setup()
    bad = tmp_path / "bad.pt"
    torch.save({"format": "course-checkpoint-1", "model": model}, bad)   # a pickled module
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_checkpoint(bad, model=model)
    other = tmp_path / "other.pt"
    torch.save(model.state_dict(), other)
    with pytest.raises(CheckpointError, match="not a checkpoint written by save_checkpoint"):
        load_checkpoint(other, model=model)
    path = save_checkpoint(tmp_path / "c.pt", model=model)
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(path, model=model, optimizer=torch.optim.SGD(model.parameters(), 0.1))
    with pytest.raises(CheckpointError, match="no generator 'batches'"):
        load_checkpoint(path, model=model, generators={"batches": torch.Generator()})
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_checkpoint(path, model=nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(),
                                                  nn.Linear(8, 1)))


def test_predict_checks_its_input():
    weights = np.random.default_rng(0).normal(size=(28 * 28, 3))
    predict = make_predict(lambda x: x.reshape(len(x), -1) @ weights, class_names=["a", "b", "c"])
    img = np.random.default_rng(1).random((28, 28))
    label, probs = predict(img)
    assert label in ("a", "b", "c") and probs.shape == (3,) and abs(probs.sum() - 1) < 1e-6
    labels, probs = predict(np.stack([img, img]))
    assert labels.shape == (2,) and probs.shape == (2, 3) and labels[0] == label
    assert predict((img * 255).astype(np.uint8))[0] == label
    assert predict(img[None, None])[1].shape == (1, 3)
    with pytest.raises(ValueError, match=r"28x28 grayscale image .* got shape \(32, 32\)"):
        predict(np.zeros((32, 32)))
    with pytest.raises(ValueError, match=r"must lie in \[0.0, 1.0\]"):
        predict(img * 255)
    with pytest.raises(ValueError, match="NaN"):
        predict(np.full((28, 28), np.nan))
    with pytest.raises(TypeError, match="dtype int64"):
        predict(np.zeros((28, 28), dtype=np.int64))


def test_measure_latency_returns_a_median_and_a_spread():
    x = torch.randn(16, 32)
    lat = measure_latency(lambda: x @ x.T, min_run_time=0.02, threads=1)
    assert lat.median > 0 and lat.iqr >= 0 and lat.runs >= 1 and "ms" in str(lat)
    with pytest.raises(TypeError, match="function of no arguments"):
        measure_latency(42)
