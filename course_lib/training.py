"""A small, readable training loop for PyTorch models.

    history = fit(model, train_loader, epochs=5, optimizer=opt,
                  loss_fn=nn.CrossEntropyLoss(), val_loader=val_loader,
                  metrics={"acc": accuracy})

shows a ``tqdm`` progress bar, redraws a loss/metric plot after every epoch in JupyterLab
(a single final plot when live plots are off, as under the test suite, which sets
``COURSE_LIVE_PLOTS=0``), and returns a :class:`History`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from course_lib.scratch.validate import check_int

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


def _to(batch, device):
    if hasattr(batch, "to"):
        return batch.to(device)
    return type(batch)(_to(b, device) for b in batch)


def evaluate(model, loader: Iterable, loss_fn: Callable, *,
             metrics: Mapping[str, Callable] | None = None, device=None) -> dict[str, float]:
    """Average loss and metrics of ``model`` over ``loader`` (batches of ``(x, y)``), no grad.

    Averages are weighted by batch size. Returns ``{"loss": ..., <metric>: ...}``.
    """
    import torch

    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    n = 0
    with torch.no_grad():
        for x, y in loader:
            x, y = _to(x, device), _to(y, device)
            out = model(x)
            b = len(y)
            totals["loss"] = totals.get("loss", 0.0) + loss_fn(out, y).item() * b
            for name, fn in (metrics or {}).items():
                totals[name] = totals.get(name, 0.0) + float(fn(out, y)) * b
            n += b
    model.train(was_training)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {k: v / n for k, v in totals.items()}


def fit(model, train_loader: Iterable, *, epochs: int, optimizer, loss_fn: Callable,
        val_loader: Iterable | None = None, metrics: Mapping[str, Callable] | None = None,
        scheduler=None, device=None, clip_grad_norm: float | None = None,
        progress: bool = True, live: bool | None = None, plot: bool = True) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Args:
        model: a ``torch.nn.Module`` (already on ``device``).
        train_loader: yields ``(x, y)`` batches (e.g. from ``course_lib.data.make_loaders``).
        epochs: number of passes (training is bounded by epochs, never by wall-clock time,
            so results reproduce).
        optimizer: a ``torch.optim`` optimiser over ``model.parameters()``.
        loss_fn: ``loss_fn(model(x), y) -> scalar tensor``.
        val_loader: optional, evaluated after every epoch.
        metrics: ``{name: fn(outputs, targets) -> float}``, e.g. ``{"acc": accuracy}``.
        scheduler: optional learning-rate scheduler, stepped once per epoch.
        device: where batches go; default the device of the model's first parameter.
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
    device = device or next(model.parameters()).device
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
            x, y = _to(x, device), _to(y, device)
            out = model(x)
            loss = loss_fn(out, y)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"fit: the loss became {loss.item()} at step "
                                         f"{len(history.steps)}; lower the learning rate?")
            optimizer.zero_grad()
            loss.backward()
            if clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            b = len(y)
            history.steps.append(loss.item())
            totals["loss"] = totals.get("loss", 0.0) + loss.item() * b
            with torch.no_grad():
                for name, fn in (metrics or {}).items():
                    totals[name] = totals.get(name, 0.0) + float(fn(out, y)) * b
            n += b
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
