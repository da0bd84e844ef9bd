"""One trainer and one scorer for every language model of chapter 12, so comparisons are fair.

    log = fit_lm(model, train_ids, steps=500, batch_size=32, context=64, lr=3e-3, warmup=50)
    lp = lm_log_probs(model, val_ids, context=64)          # (n - 1,) log p(next token)
    ppl = perplexity(lp)                                     # course_lib.scratch.text

:func:`fit_lm` trains on random windows: each step draws ``batch_size`` windows of
``context + 1`` consecutive tokens from the training text (the inputs are the first
``context``, the targets the last ``context``, shifted by one) and minimises the mean
cross-entropy of the next token at every position, as GPT is trained (Radford et al. 2018).
The windows depend only on ``seed``, the text, ``batch_size`` and ``context``, so models trained
with the same arguments see exactly the same batches in the same order.

**Which models.** Any ``nn.Module`` with a ``vocab_size`` attribute whose
``forward(ids)`` takes (B, T) int64 ids and returns either logits (B, T, V) or a tuple whose
first item is the logits (as chapter 10's ``CharRNN`` returns ``(logits, state)``; the state
is ignored, so a recurrent model starts every window from a zero state, like the GPT, which
sees nothing before its window either). A model with a ``context`` attribute (a :class:`GPT`)
must have ``context`` at least the window length. The model must be causal: the logits at
position t may depend on tokens up to t only (padding after the text relies on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.optim import warmup_cosine
from course_lib.scratch.validate import as_token_ids, check_int, check_positive
from course_lib.training import eval_mode, model_device, optimizer_step, run_steps, to_device

__all__ = ["LMTrainLog", "fit_lm", "lm_log_probs"]


def _check_model(model, where: str, context: int) -> int:
    """The model's vocabulary size V, after checking it fits the conventions above."""
    if not isinstance(model, nn.Module) or not isinstance(getattr(model, "vocab_size", None),
                                                          int):
        raise TypeError(f"{where}: model must be an nn.Module with an int vocab_size (GPT, "
                        f"BigramLM, CharRNN), got {type(model).__name__}")
    own = getattr(model, "context", None)
    if own is not None and own < context:
        raise ValueError(f"{where}: context={context} is longer than the model's context of "
                         f"{own} positions")
    return model.vocab_size


def _logits(model, x: torch.Tensor) -> torch.Tensor:
    """The adapter: ``model(x)`` is logits, or a tuple whose first item is the logits."""
    out = model(x)
    return out[0] if isinstance(out, tuple) else out               # (B, T, V)


@dataclass
class LMTrainLog:
    """What :func:`fit_lm` recorded.

    ``loss``, ``grad_norm`` and ``lr``: one value per step (the mean cross-entropy in nats on
    that step's batch, the global gradient norm before clipping, the learning rate used).
    ``eval_steps`` and ``eval_loss``: after how many steps the evaluation text was scored, and
    its mean cross-entropy in nats then (``exp`` of it is the perplexity); empty without
    ``eval_ids``.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)


def fit_lm(model: nn.Module, train_ids, *, steps: int, batch_size: int = 32, context: int = 64,
           lr: float = 3e-3, weight_decay: float = 0.0, clip: float | None = 1.0,
           warmup: int = 0, cosine: bool = True, seed: int = 0, progress: bool = True,
           eval_ids=None, eval_every: int | None = None) -> LMTrainLog:
    """Train a language model on random windows of the training text, for ``steps`` steps.

    Step i draws ``batch_size`` window starts uniformly from a ``torch.Generator`` seeded with
    ``seed`` (on the CPU), cuts inputs x = ids[s : s + context] and targets
    y = ids[s + 1 : s + context + 1] (B, context) each, moves them to the model's device and
    takes one AdamW step (Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR
    2019) on the mean cross-entropy, gradients clipped to global norm ``clip``. Weight decay
    applies to matrices and embedding tables only, not to biases and LayerNorm parameters (as
    for GPT-2); with ``weight_decay=0`` AdamW is Adam.

    Learning rate of step i (counting from 0): ``warmup_cosine(lr, i + 1, warmup, steps + 1)``
    (``course_lib.scratch.optim``): a linear warm-up over the first ``warmup`` steps, then a half
    cosine that would reach 0 one step after the last, so no step has rate 0. ``cosine=False``
    keeps the rate at ``lr`` after the warm-up.

    The whole run, dropout included, draws from generators seeded with ``seed`` (the global
    generator is left as it was), so the same model, data and arguments give the same losses.

    Args:
        model: a language model (see the module docstring); in evaluation mode afterwards.
        train_ids: (n,) int ids, n >= context + 1.
        steps: optimiser steps.
        batch_size: windows per step, B.
        context: window length T (the model sees at most T tokens of context).
        lr: peak learning rate.
        weight_decay: AdamW's decoupled weight decay (>= 0).
        clip: max global gradient norm; None: no clipping (the norm is still recorded).
        warmup: linear warm-up steps (0 <= warmup < steps).
        cosine: decay the rate along a half cosine after the warm-up.
        seed: seed for the windows (and for dropout).
        progress: show a tqdm bar.
        eval_ids: optional (m,) ids scored with :func:`lm_log_probs` every ``eval_every``
            steps and after the last step.
        eval_every: how often to score ``eval_ids`` (default: only after the last step).

    Returns:
        An :class:`LMTrainLog`.
    """
    where = "fit_lm"
    steps = check_int(steps, where, "steps", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    context = check_int(context, where, "context", low=1)
    lr = check_positive(lr, where, "lr")
    weight_decay = check_positive(weight_decay, where, "weight_decay", allow_zero=True)
    max_norm = math.inf if clip is None else check_positive(clip, where, "clip")
    warmup = check_int(warmup, where, "warmup", low=0, high=steps - 1)
    seed = check_int(seed, where, "seed", low=0)
    V = _check_model(model, where, context)
    ids = torch.as_tensor(as_token_ids(train_ids, V, where, "train_ids", min_len=context + 1))
    if eval_ids is not None:
        as_token_ids(eval_ids, V, where, "eval_ids", min_len=2)
        eval_every = steps if eval_every is None else check_int(eval_every, where,
                                                                "eval_every", low=1)
    elif eval_every is not None:
        raise ValueError(f"{where}: eval_every={eval_every} needs eval_ids")
    device = model_device(model)
    decay = [p for p in model.parameters() if p.dim() >= 2]        # weight matrices, tables
    no_decay = [p for p in model.parameters() if p.dim() < 2]      # biases, LayerNorm
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    offsets = torch.arange(context + 1)                            # (T + 1,)
    log = LMTrainLog()

    def rate(i: int) -> float:
        if cosine:
            return warmup_cosine(lr, i + 1, warmup, steps + 1)
        return lr * min(1.0, (i + 1) / warmup) if warmup else lr

    def step(i: int) -> dict[str, float]:
        for group in opt.param_groups:
            group["lr"] = rate(i)
        starts = torch.randint(0, len(ids) - context, (batch_size,), generator=gen)   # (B,)
        chunk = ids[starts[:, None] + offsets]                     # (B, T + 1), on the CPU
        x, y = to_device((chunk[:, :-1], chunk[:, 1:]), device)   # (B, T) each
        logits = _logits(model, x)                                 # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        norm = optimizer_step(opt, loss, clip=max_norm, parameters=model.parameters())
        if eval_ids is not None and ((i + 1) % eval_every == 0 or i + 1 == steps):
            lp = lm_log_probs(model, eval_ids, context=context)
            log.eval_steps.append(i + 1)
            log.eval_loss.append(float(-lp.mean()))
        return {"loss": loss.item(), "grad_norm": norm, "lr": rate(i)}

    with seeded(seed, where):                                      # dropout masks
        record = run_steps(step, steps=steps, models=[model], progress=progress, where=where)
    log.loss, log.grad_norm, log.lr = record["loss"], record["grad_norm"], record["lr"]
    return log


@torch.no_grad()
def lm_log_probs(model: nn.Module, ids, *, context: int = 64, batch_size: int = 64) -> np.ndarray:
    """``log p(ids[i] | the tokens before it in its window)`` for i = 1 .. n−1, in nats.

    The text is cut into consecutive windows that overlap by one token: window w reads
    ``ids[w T : w T + T]`` and is scored on ``ids[w T + 1 : w T + T + 1]`` (T = ``context``), so
    every token after the first is scored exactly once, and the first token of each window is
    predicted from the last one of the previous window. Each window starts fresh (no state is
    carried over), so a token sees between 1 and T tokens of context, the same for every
    model. The last window is padded after the text (the padding is never scored; causal
    models do not let it change earlier positions).

    Args:
        model: a language model (see the module docstring).
        ids: (n,) int ids, n >= 2.
        context: window length T.
        batch_size: windows per forward pass (speed only; results do not depend on it).

    Returns:
        (n − 1,) float64 array; ``course_lib.scratch.text.perplexity`` of it is the perplexity.
    """
    where = "lm_log_probs"
    context = check_int(context, where, "context", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    V = _check_model(model, where, context)
    ids = torch.as_tensor(as_token_ids(ids, V, where, min_len=2))
    m = len(ids) - 1                                               # tokens to score
    n_windows = math.ceil(m / context)
    padded = torch.zeros(n_windows * context + 1, dtype=torch.int64)
    padded[: len(ids)] = ids
    X = padded[:-1].view(n_windows, context)                       # (W, T) inputs
    Y = padded[1:].view(n_windows, context)                        # (W, T) targets
    device = model_device(model)
    out = []
    with eval_mode(model):
        for b in range(0, n_windows, batch_size):
            x, y = to_device((X[b:b + batch_size], Y[b:b + batch_size]), device)
            lp = F.log_softmax(_logits(model, x).double(), dim=-1)  # (B, T, V)
            out.append(lp.gather(-1, y[..., None])[..., 0].cpu())  # (B, T)
    return torch.cat(out).reshape(-1)[:m].numpy()
