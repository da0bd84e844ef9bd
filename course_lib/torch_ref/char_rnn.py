"""A character-level language model in PyTorch, trained with truncated backpropagation through time.

    model = CharRNN(vocab_size=75, hidden_size=128)              # one-hot -> nn.RNN -> Linear
    log = fit_char_model(model, train_ids, steps=300)             # TBPTT, Adam, clipping
    lp = token_log_probs(model, val_ids)                          # (n - 1,) log p(next char)
    text = sample(model, vocab, "It is a truth", 200, temperature=0.8, seed=0)

Truncated BPTT (Williams & Peng, "An efficient gradient-based algorithm for on-line training
of recurrent network trajectories", Neural Computation 1990; as in Mikolov's RNNLM and
Karpathy's char-rnn): the training text is cut into ``batch_size`` contiguous streams that
are read side by side, ``seq_len`` characters at a time. The hidden state is carried from one
window to the next, so the model sees context longer than a window, but it is detached, so
gradients flow back at most ``seq_len`` steps.

``cell`` chooses ``nn.RNN`` (tanh), ``nn.GRU`` or ``nn.LSTM``; everything else is shared.
Training runs in :func:`course_lib.training.run_steps`, the course's step loop, on the
model's device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.text import CharVocab
from course_lib.scratch.validate import as_token_ids, check_int, check_positive
from course_lib.training import eval_mode, model_device, optimizer_step, run_steps

__all__ = ["CELLS", "CharRNN", "TrainLog", "fit_char_model", "token_log_probs", "sample",
           "next_char_probs", "detach_state"]

#: The recurrent layers by name.
CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class CharRNN(nn.Module):
    """One-hot characters -> a recurrent layer (or a stack) -> a linear layer giving logits.

    Args:
        vocab_size: V, the number of characters (also the input size: one-hot inputs).
        hidden_size: H.
        num_layers: stacked recurrent layers.
        cell: ``"rnn"`` (Elman, tanh), ``"gru"`` or ``"lstm"``.
        embed_dim: None feeds one-hot vectors (V,) to the recurrent layer; an int E feeds
            ``nn.Embedding(V, E)`` rows instead: the same as multiplying the one-hot vector
            by a (V, E) matrix, without the multiplication.
        seed: seed for the initial weights (None: the global generator).

    ``forward(ids, state=None)`` takes (B, T) int64 ids and returns ``(logits, state)``:
    logits (B, T, V) for the next character at every position, and the final state
    ((num_layers, B, H); a pair of them for an LSTM) to pass to the next window.
    """

    def __init__(self, vocab_size: int, hidden_size: int = 128, num_layers: int = 1,
                 cell: str = "rnn", embed_dim: int | None = None, *, seed: int | None = None):
        super().__init__()
        self.vocab_size = check_int(vocab_size, "CharRNN", "vocab_size", low=1)
        hidden_size = check_int(hidden_size, "CharRNN", "hidden_size", low=1)
        num_layers = check_int(num_layers, "CharRNN", "num_layers", low=1)
        if cell not in CELLS:
            raise ValueError(f"CharRNN: cell must be one of {sorted(CELLS)}, got {cell!r}")
        if embed_dim is not None:
            embed_dim = check_int(embed_dim, "CharRNN", "embed_dim", low=1)
        self.cell = cell
        with seeded(seed, "CharRNN"):
            self.embed = None if embed_dim is None else nn.Embedding(vocab_size, embed_dim)
            in_size = vocab_size if embed_dim is None else embed_dim
            self.rnn = CELLS[cell](in_size, hidden_size, num_layers, batch_first=True)
            self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        if ids.dim() != 2 or ids.dtype != torch.int64:
            raise ValueError(f"CharRNN: ids must be a (B, T) int64 tensor, got "
                             f"{tuple(ids.shape)} {ids.dtype}")
        if self.embed is None:
            x = F.one_hot(ids, self.vocab_size).to(self.head.weight.dtype)   # (B, T, V)
        else:
            x = self.embed(ids)                                               # (B, T, E)
        out, state = self.rnn(x, state)                                       # (B, T, H)
        return self.head(out), state                                          # (B, T, V)


def detach_state(state):
    """Cut the graph behind a hidden state (a tensor, or an LSTM's (h, c) pair)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _streams(ids: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Inputs and targets as ``batch_size`` contiguous streams: X, Y (B, L), Y = X shifted by
    one; the text is padded with id 0 at the end; returns the number m of real targets.

    Stream b reads ids[b L : (b+1) L] and predicts ids[b L + 1 : (b+1) L + 1].
    """
    m = len(ids) - 1
    L = math.ceil(m / batch_size)
    padded = torch.zeros(batch_size * L + 1, dtype=torch.int64, device=ids.device)
    padded[: len(ids)] = ids
    return padded[:-1].view(batch_size, L), padded[1:].view(batch_size, L), m


@dataclass
class TrainLog:
    """Per-step records of :func:`fit_char_model`: the training loss (mean cross-entropy
    in nats on that window) and the global gradient norm *before* clipping."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)


def fit_char_model(model: CharRNN, train_ids, *, steps: int, batch_size: int = 32,
                   seq_len: int = 64, lr: float = 3e-3, clip: float | None = 1.0,
                   progress: bool = True) -> TrainLog:
    """Train with truncated BPTT for a fixed number of steps (Adam, clipping by global norm).

    Each step reads the next (batch_size, seq_len) window of the streams, starting from the
    previous window's final state (detached). At the end of the streams it starts again from
    the beginning with a zero state (a new epoch).

    Args:
        model: a :class:`CharRNN`; it is in evaluation mode afterwards.
        train_ids: (n,) int ids of the training text.
        steps: optimiser steps.
        batch_size: parallel streams B.
        seq_len: truncation length T: gradients flow back at most T steps.
        lr: Adam's learning rate.
        clip: max global gradient norm (``torch.nn.utils.clip_grad_norm_``); None: no clipping.
        progress: show a tqdm bar.

    Returns:
        A :class:`TrainLog`.
    """
    where = "fit_char_model"
    steps = check_int(steps, where, "steps", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    seq_len = check_int(seq_len, where, "seq_len", low=1)
    lr = check_positive(lr, where, "lr")
    max_norm = math.inf if clip is None else check_positive(clip, where, "clip")
    ids = as_token_ids(train_ids, model.vocab_size, where, "train_ids", min_len=2)   # (n,)
    X, Y, _ = _streams(torch.as_tensor(ids), batch_size)
    if X.shape[1] < seq_len:
        raise ValueError(f"{where}: each of the {batch_size} streams has {X.shape[1]} "
                         f"characters, fewer than seq_len={seq_len}; use less batch or seq_len")
    device = model_device(model)
    X, Y = X.to(device), Y.to(device)
    windows = X.shape[1] // seq_len
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    state = None

    def step(i: int) -> dict[str, float]:
        nonlocal state
        w = i % windows
        if w == 0:
            state = None                                        # a new pass over the text
        x = X[:, w * seq_len:(w + 1) * seq_len]                 # (B, T)
        y = Y[:, w * seq_len:(w + 1) * seq_len]                 # (B, T)
        logits, state = model(x, state)                         # (B, T, V)
        state = detach_state(state)                             # truncate BPTT here
        loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))
        norm = optimizer_step(opt, loss, clip=max_norm, parameters=model.parameters())
        return {"loss": loss.item(), "grad_norm": norm}

    record = run_steps(step, steps=steps, models=[model], progress=progress, where=where)
    return TrainLog(loss=record["loss"], grad_norm=record["grad_norm"])


@torch.no_grad()
def token_log_probs(model: CharRNN, ids, *, batch_size: int = 32,
                    seq_len: int = 256) -> np.ndarray:
    """``log p(ids[i] | earlier ids)`` for i = 1 .. n−1, in nats.

    The text is read as ``batch_size`` contiguous streams (for speed), each starting from a
    zero state: the first characters of each stream are predicted with little context.

    Args:
        model: a :class:`CharRNN`.
        ids: (n,) int ids, n ≥ 2.
        batch_size, seq_len: streams and window length (results do not depend on seq_len).

    Returns:
        (n − 1,) float64 array; ``exp(−mean)`` is the perplexity.
    """
    where = "token_log_probs"
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    seq_len = check_int(seq_len, where, "seq_len", low=1)
    device = model_device(model)
    ids = as_token_ids(ids, model.vocab_size, where, min_len=2)                      # (n,)
    X, Y, m = _streams(torch.as_tensor(ids), batch_size)
    out, state = [], None
    with eval_mode(model):
        for start in range(0, X.shape[1], seq_len):
            x = X[:, start:start + seq_len].to(device)                 # (B, T)
            y = Y[:, start:start + seq_len].to(device)
            logits, state = model(x, state)                            # (B, T, V)
            lp = F.log_softmax(logits.double(), dim=-1)
            out.append(lp.gather(-1, y[..., None])[..., 0].cpu())      # (B, T)
    return torch.cat(out, dim=1).reshape(-1)[:m].numpy()


def _prompt_ids(vocab: CharVocab, prompt: str, where: str) -> torch.Tensor:
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"{where}: vocab must be a CharVocab, got {type(vocab).__name__}")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"{where}: prompt must be a non-empty str, got {prompt!r}")
    return torch.as_tensor(vocab.encode(prompt))[None]                    # (1, P)


@torch.no_grad()
def next_char_probs(model: CharRNN, vocab: CharVocab, prompt: str,
                    temperature: float = 1.0) -> np.ndarray:
    """The model's distribution of the character after ``prompt``, at ``temperature``.

    Returns:
        (V,) float64 probabilities ``softmax(z / τ)`` of the last position's logits z.
    """
    tau = check_positive(temperature, "next_char_probs", "temperature")
    ids = _prompt_ids(vocab, prompt, "next_char_probs")
    with eval_mode(model):
        logits, _ = model(ids.to(model_device(model)))
    return torch.softmax(logits[0, -1].double() / tau, dim=-1).cpu().numpy()


@torch.no_grad()
def sample(model: CharRNN, vocab: CharVocab, prompt: str, length: int, *,
           temperature: float = 1.0, seed: int = 0) -> str:
    """Generate ``length`` characters after ``prompt``, one at a time.

    At each step the next character is drawn from ``softmax(z / τ)`` with a
    ``torch.Generator`` seeded with ``seed`` (the same text for the same seed), then fed back
    as the next input.

    Returns:
        ``prompt`` followed by the ``length`` generated characters.
    """
    where = "sample"
    length = check_int(length, where, "length", low=0)
    tau = check_positive(temperature, where, "temperature")
    seed = check_int(seed, where, "seed", low=0)
    device = model_device(model)
    ids = _prompt_ids(vocab, prompt, where).to(device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = []
    with eval_mode(model):
        logits, state = model(ids)                                      # read the prompt
        for _ in range(length):
            p = torch.softmax(logits[0, -1].double().cpu() / tau, dim=-1)   # (V,)
            nxt = int(torch.multinomial(p, 1, generator=gen))
            out.append(nxt)
            logits, state = model(torch.tensor([[nxt]], device=device), state)
    return prompt + vocab.decode(out)
