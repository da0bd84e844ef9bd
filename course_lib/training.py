"""The training loops of the course, for PyTorch models.

Two loops, one bounded by epochs and one by steps (training is never bounded by time, so
results reproduce):

    history = fit(model, train_loader, epochs=5, optimizer=opt,
                  loss_fn=nn.CrossEntropyLoss(), val_loader=val_loader,
                  metrics={"acc": accuracy})
    losses = fit_steps(model, lambda step: (x_batch, y_batch), F.mse_loss, steps=600)

- :func:`fit`: epochs over a data loader; shows a ``tqdm`` progress bar, redraws a
  loss/metric plot after every epoch in JupyterLab (a single final plot when live plots are
  off, as under the test suite, which sets ``COURSE_LIVE_PLOTS=0``), and returns a
  :class:`History`.
- :func:`fit_steps`: Adam for a number of steps, a fresh batch each step (tasks that make
  their own data: the adding problem, random mini-batches, ...).
- :func:`run_steps`: the step loop itself, around any ``step(i)`` function that takes one
  training step and returns its numbers. :func:`fit_steps` and every ``fit_<model>``
  function of ``course_lib.torch_ref`` (a character model trained with truncated BPTT, a
  VAE, a GAN with two optimisers, autoencoders, ...) run in it, directly or through
  :func:`fit_steps`.
- :func:`optimizer_step`: the update every loop makes: zero the gradients, backpropagate,
  clip (optionally), step.

**The device rule**, the same in every loop of the course: the model's device decides.
Data may live anywhere (often the CPU); each batch is moved to the device of the model's
first parameter (:func:`model_device`) with :func:`to_device` just before it is used.
Random batches are drawn by index first, so moving the data never changes which examples
are drawn. Every chapter puts its models on ``env.device`` (chosen by ``course_lib.setup``);
a chapter whose networks are tiny uses :func:`small_model_device`, the CPU unless
``COURSE_DEVICE`` asks for another device.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from course_lib.scratch.validate import check_int, check_positive

__all__ = ["accuracy", "History", "model_device", "to_device", "small_model_device",
           "eval_mode", "evaluate", "optimizer_step", "fit", "run_steps", "fit_steps"]

LIVE_ENV = "COURSE_LIVE_PLOTS"


def accuracy(outputs, targets) -> float:
    """Fraction of rows whose arg-max (over the last axis) equals the target class.

    ``outputs``: (N, K) scores or logits; ``targets``: (N,) integer classes.
    """
    if outputs.ndim != 2 or targets.ndim != 1 or len(outputs) != len(targets):
        raise ValueError(f"accuracy: expected outputs (N, K) and targets (N,), got "
                         f"{tuple(outputs.shape)} and {tuple(targets.shape)}")
    return (outputs.argmax(dim=1) == targets).float().mean().item()


@dataclass
class History:
    """Per-epoch (and per-step) records of a :func:`fit` run.

    ``epochs["train_loss"]``, ``epochs["val_loss"]``, ``epochs["train_acc"]``, ... hold one
    value per epoch; ``steps`` holds the loss of every optimiser step.
    """

    epochs: dict[str, list[float]] = field(default_factory=dict)
    steps: list[float] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.epochs:
            raise KeyError(f"History has no record {key!r}; it has {sorted(self.epochs)}")
        return self.epochs[key]

    def last(self, key: str) -> float:
        """The final epoch's value of ``key`` (e.g. ``"val_acc"``)."""
        return self[key][-1]

    def add(self, record: Mapping[str, float]) -> None:
        for k, v in record.items():
            self.epochs.setdefault(k, []).append(float(v))

    def plot(self, axes=None):
        """Loss curves on the left and every metric on the right (if any). Returns the Figure."""
        import matplotlib.pyplot as plt

        metric_names = sorted({k.split("_", 1)[1] for k in self.epochs} - {"loss"})
        ncols = 2 if metric_names else 1
        if axes is None:
            fig, axes = plt.subplots(1, ncols, figsize=(5 * ncols, 3.2), squeeze=False)
            axes = axes[0]
        fig = axes[0].figure
        for k, v in self.epochs.items():
            ax = axes[0] if k.endswith("_loss") else axes[1]
            ax.plot(range(1, len(v) + 1), v, "o-", ms=3, label=k)
        axes[0].set_ylabel("loss")
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.legend(fontsize=8)
        if metric_names:
            axes[1].set_ylabel(", ".join(metric_names))
        fig.tight_layout()
        return fig


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def model_device(model):
    """The device of ``model``'s first parameter (or, without parameters, of its first buffer):
    where its batches must go. A module with neither, a fixed function, runs on the CPU."""
    import torch

    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    return torch.device("cpu") if first is None else first.device


def to_device(batch, device):
    """A tensor, or a tuple or list of tensors (nested), moved to ``device``.

    Anything without a ``.to`` method (``None``, a number) is returned as it is; a tensor
    already on ``device`` is returned itself, not copied.
    """
    if hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    return batch


def small_model_device(device):
    """Where a tiny model trains: ``device`` if the learner chose it through ``COURSE_DEVICE``,
    else the CPU.

    A network of a few thousand weights fed batches of a few dozen examples spends a GPU's
    time launching small kernels and copying, not computing, so the CPU trains it faster. The
    chapters whose networks are that small call ``small_model_device(env.device)``; setting
    ``COURSE_DEVICE=cuda`` (or ``mps``) still runs them on the GPU, which is how the test suite
    exercises their device paths.
    """
    import torch

    from course_lib.env import DEVICE_ENV

    return torch.device(device) if os.environ.get(DEVICE_ENV) else torch.device("cpu")


@contextmanager
def eval_mode(*models) -> Iterator[None]:
    """Put ``models`` in evaluation mode for a block, then give each its previous mode back.

        with eval_mode(model), torch.no_grad():
            scores = model(x)                      # dropout off, BatchNorm running statistics

    Arguments that are not ``torch.nn.Module`` (a plain function) are left alone.
    """
    import torch

    modules = [m for m in models if isinstance(m, torch.nn.Module)]
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.train(mode)


def _add_batch(totals: dict[str, float], out, y, loss: float,
               metrics: Mapping[str, Callable] | None) -> int:
    """Add one batch's loss and metrics, weighted by its size, to ``totals``; return the size."""
    b = len(y)
    totals["loss"] = totals.get("loss", 0.0) + loss * b
    for name, fn in (metrics or {}).items():
        totals[name] = totals.get(name, 0.0) + float(fn(out, y)) * b
    return b


def evaluate(model, loader: Iterable, loss_fn: Callable, *,
             metrics: Mapping[str, Callable] | None = None, device=None) -> dict[str, float]:
    """Average loss and metrics of ``model`` over ``loader`` (batches of ``(x, y)``), no grad.

    Averages are weighted by batch size. Returns ``{"loss": ..., <metric>: ...}``.
    """
    import torch

    device = device or model_device(model)
    totals: dict[str, float] = {}
    n = 0
    with eval_mode(model), torch.no_grad():
        for x, y in loader:
            x, y = to_device(x, device), to_device(y, device)
            out = model(x)
            n += _add_batch(totals, out, y, loss_fn(out, y).item(), metrics)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {k: v / n for k, v in totals.items()}


def optimizer_step(optimizer, loss, *, clip: float | None = None,
                   parameters: Iterable | None = None) -> float | None:
    """One update: zero the gradients, ``loss.backward()``, clip them, ``optimizer.step()``.

    Args:
        optimizer: a ``torch.optim`` optimiser.
        loss: the scalar tensor to minimise.
        clip: if given, scale the gradients so that their global L2 norm is at most ``clip``
            (``torch.nn.utils.clip_grad_norm_``); ``math.inf`` measures the norm and leaves
            the gradients as they are.
        parameters: whose gradients are clipped; default every parameter of ``optimizer``.

    Returns:
        The global gradient norm before clipping, or None when ``clip`` is None.
    """
    import torch

    optimizer.zero_grad()
    loss.backward()
    norm = None
    if clip is not None:
        if parameters is None:
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
        norm = float(torch.nn.utils.clip_grad_norm_(parameters, clip))
    optimizer.step()
    return norm


def _check_finite(record: Mapping[str, float], where: str, step: int) -> None:
    for name, value in record.items():
        if not math.isfinite(value):
            raise FloatingPointError(f"{where}: the {name} became {value} at step {step}; "
                                     f"lower the learning rate?")


def fit(model, train_loader: Iterable, *, epochs: int, optimizer, loss_fn: Callable,
        val_loader: Iterable | None = None, metrics: Mapping[str, Callable] | None = None,
        scheduler=None, device=None, clip_grad_norm: float | None = None,
        progress: bool = True, live: bool | None = None, plot: bool = True) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Args:
        model: a ``torch.nn.Module``.
        train_loader: yields ``(x, y)`` batches (e.g. from ``course_lib.data.make_loaders``).
        epochs: number of passes (training is bounded by epochs, never by wall-clock time,
            so results reproduce).
        optimizer: a ``torch.optim`` optimiser over ``model.parameters()``.
        loss_fn: ``loss_fn(model(x), y) -> scalar tensor``.
        val_loader: optional, evaluated after every epoch.
        metrics: ``{name: fn(outputs, targets) -> float}``, e.g. ``{"acc": accuracy}``.
        scheduler: optional learning-rate scheduler, stepped once per epoch.
        device: where batches go; default the model's device (:func:`model_device`).
        clip_grad_norm: if given, clip the global gradient norm to this value each step.
        progress: show a ``tqdm.auto`` bar over epochs.
        live: redraw the plot after every epoch; default: on inside a Jupyter kernel unless
            ``COURSE_LIVE_PLOTS=0``.
        plot: draw the curves (live, or once at the end).

    Returns:
        A :class:`History` with per-epoch ``train_loss``, ``train_<metric>``, ``val_loss``,
        ``val_<metric>`` and per-step losses.
    """
    import torch
    from tqdm.auto import tqdm

    epochs = check_int(epochs, "fit", "epochs", low=1)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"fit: optimizer must be a torch.optim.Optimizer, "
                        f"got {type(optimizer).__name__}")
    device = device or model_device(model)
    if live is None:
        live = _in_kernel() and os.environ.get(LIVE_ENV, "1") != "0"
    history = History()
    handle = None
    bar = tqdm(range(epochs), desc="epochs", disable=not progress)
    for _ in bar:
        model.train()
        totals: dict[str, float] = {}
        n = 0
        for x, y in train_loader:
            x, y = to_device(x, device), to_device(y, device)
            out = model(x)
            loss = loss_fn(out, y)
            _check_finite({"loss": loss.item()}, "fit", len(history.steps))
            optimizer_step(optimizer, loss, clip=clip_grad_norm, parameters=model.parameters())
            history.steps.append(loss.item())
            with torch.no_grad():
                n += _add_batch(totals, out, y, loss.item(), metrics)
        if n == 0:
            raise ValueError("fit: train_loader yielded no batches")
        if scheduler is not None:
            scheduler.step()
        record = {f"train_{k}": v / n for k, v in totals.items()}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, metrics=metrics, device=device)
            record.update({f"val_{k}": v for k, v in val.items()})
        history.add(record)
        bar.set_postfix({k: f"{v:.3g}" for k, v in record.items()})
        if plot and live:
            handle = _redraw(history, handle)
    if plot and not live:
        import matplotlib.pyplot as plt

        history.plot()
        plt.show()
    return history


def run_steps(step: Callable[[int], Mapping[str, float]], *, steps: int, models: Iterable = (),
              progress: bool = True, desc: str = "training",
              where: str = "run_steps") -> dict[str, list[float]]:
    """The step loop: call ``step(i)`` for i = 0, 1, ..., steps − 1 and collect its numbers.

    ``step(i)`` takes one training step (draw a batch, compute the loss, call
    :func:`optimizer_step` once or more) and returns what it wants recorded, as
    ``{name: float}``, e.g. ``{"loss": loss.item()}``. A number that is NaN or infinite stops
    the run with ``FloatingPointError``.

    Args:
        step: the step function.
        steps: how many steps (training is bounded by steps, never by time).
        models: modules put in training mode before the first step and in evaluation mode
            after the last.
        progress: show a ``tqdm.auto`` bar; its postfix shows the latest record.
        desc: the bar's label.
        where: the caller's name, used in error messages.

    Returns:
        ``{name: [value at step 0, value at step 1, ...]}``.
    """
    from tqdm.auto import trange

    steps = check_int(steps, where, "steps", low=1)
    models = list(models)
    for m in models:
        m.train()
    records: dict[str, list[float]] = {}
    bar = trange(steps, desc=desc, disable=not progress, mininterval=1.0)
    for i in bar:
        record = step(i)
        _check_finite(record, where, i)
        for name, value in record.items():
            records.setdefault(name, []).append(float(value))
        if progress:
            bar.set_postfix({k: f"{v:.3g}" for k, v in record.items()}, refresh=False)
    for m in models:
        m.eval()
    return records


def fit_steps(model, batches: Callable[[int], tuple], loss_fn: Callable, *, steps: int,
              lr: float = 1e-2, clip: float | None = 1.0, progress: bool = True,
              desc: str = "training") -> list[float]:
    """Adam for exactly ``steps`` steps, a fresh batch each step; returns the loss per step.

    Args:
        model: a ``torch.nn.Module``; it is in evaluation mode afterwards.
        batches: ``batches(step) -> (inputs, target)``; ``inputs`` is a tensor or a tuple of
            tensors given to ``model(*inputs)``. Both are moved to the model's device.
        loss_fn: ``loss_fn(model(*inputs), target) -> scalar tensor``.
        steps: optimiser steps (training is bounded by steps, never by time).
        lr: Adam's learning rate.
        clip: max global gradient norm (``clip_grad_norm_``); None: no clipping.
        progress: show a ``tqdm.auto`` bar.
        desc: the bar's label.
    """
    import torch

    where = "fit_steps"
    steps = check_int(steps, where, "steps", low=1)
    lr = check_positive(lr, where, "lr")
    if clip is not None:
        clip = check_positive(clip, where, "clip")
    device = model_device(model)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(i: int) -> dict[str, float]:
        inputs, target = batches(i)
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        inputs, target = to_device(inputs, device), to_device(target, device)
        loss = loss_fn(model(*inputs), target)
        optimizer_step(opt, loss, clip=clip, parameters=model.parameters())
        return {"loss": loss.item()}

    return run_steps(step, steps=steps, models=[model], progress=progress, desc=desc,
                     where=where)["loss"]


def _redraw(history: History, handle):
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig = history.plot()
    if handle is None:
        handle = display(fig, display_id=True)
    else:
        handle.update(fig)
    plt.close(fig)
    return handle
