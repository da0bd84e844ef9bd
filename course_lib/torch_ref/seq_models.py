"""PyTorch sequence models and toy sequence tasks for chapter 11 (LSTM and GRU).

    from course_lib.training import fit_steps

    x, y = adding_problem(64, T=40, rng=rng)             # (64, 40, 2), (64,): a long-range task
    model = LastStateRegressor("lstm", 2, 32)             # recurrent layer -> last state -> Linear
    losses = fit_steps(model, lambda step: adding_problem(64, 40, rng), F.mse_loss, steps=600)

    src, tgt = make_dates(64, rng)                        # "7 march 2024" -> "2024-03-07"
    net = Seq2Seq(len(DATE_SRC_CHARS) + 1, len(DATE_TGT_CHARS) + 1)
    pred = net.greedy(encode_dates(src), length=10)       # (64, 10) target ids

Contents:

- :func:`adding_problem`: Hochreiter & Schmidhuber's adding problem ("Long short-term memory",
  Neural Computation 1997, experiment 4; the form of Le, Jaitly & Hinton, "A simple way to
  initialize recurrent networks of rectified linear units", 2015).
- :class:`LastStateRegressor`: an ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` read to the end,
  then a linear layer on the last hidden state (sequence → vector).
- :func:`sliding_windows`: (past window, next values) pairs from a time series.
- :func:`sample_masked`: sampling from a character model with banned characters and characters
  forced at chosen positions (for acrostic poems).
- :class:`Seq2Seq`, :func:`make_dates`, :func:`encode_dates`, :func:`decode_dates`: an
  encoder–decoder (Sutskever, Vinyals & Le, "Sequence to sequence learning with neural
  networks", NeurIPS 2014; Cho et al., EMNLP 2014) on date-format conversion.

The models are trained with :func:`course_lib.training.fit_steps` (Adam for a number of
steps, a fresh batch each step). Each model takes ``seed`` for its initial weights (None:
the global generator).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.validate import as_array, check_int, check_positive, check_rng
from course_lib.torch_ref.char_rnn import CELLS
from course_lib.training import eval_mode, model_device

__all__ = ["CELLS", "adding_problem", "LastStateRegressor", "sliding_windows",
           "MONTHS", "DATE_SRC_CHARS", "DATE_TGT_CHARS", "make_dates", "encode_dates",
           "decode_dates", "Seq2Seq", "sample_masked"]


# ---------------------------------------------------------------------------------------------
# The adding problem
# ---------------------------------------------------------------------------------------------

def adding_problem(n: int, T: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of the adding problem, float32.

    Each input step carries two numbers: a value drawn uniformly from [0, 1] and a marker that
    is 1 at exactly two steps, one in the first half and one in the second half, 0 elsewhere.
    The target is the sum of the two marked values. Predicting the constant 1 (the mean of
    the target) gives a mean squared error of Var(U₁ + U₂) = 2/12 ≈ 0.167: the trivial
    baseline. To do better a model must remember a value seen up to T − 1 steps earlier.

    Returns:
        ``x`` (n, T, 2) and ``y`` (n,).
    """
    n = check_int(n, "adding_problem", "n", low=1)
    T = check_int(T, "adding_problem", "T", low=2)
    rng = check_rng(rng, "adding_problem")
    values = rng.uniform(0.0, 1.0, size=(n, T))                     # (n, T)
    marks = np.zeros((n, T))
    rows = np.arange(n)
    marks[rows, rng.integers(0, T // 2, size=n)] = 1.0               # one in the first half
    marks[rows, rng.integers(T // 2, T, size=n)] = 1.0               # one in the second half
    x = np.stack([values, marks], axis=-1).astype(np.float32)        # (n, T, 2)
    y = (values * marks).sum(axis=1).astype(np.float32)              # (n,)
    return torch.from_numpy(x), torch.from_numpy(y)


class LastStateRegressor(nn.Module):
    """A recurrent layer read over the whole sequence, then ``Linear`` on its last output.

    Args:
        cell: ``"rnn"`` (Elman, tanh), ``"lstm"`` or ``"gru"``.
        input_size: D. hidden_size: H. out_features: how many numbers to predict.
        forget_bias: for an LSTM, set the forget-gate bias (b_ih + b_hh) to this value at
            initialisation (torch's default leaves it near 0); None: torch's initialisation.
        seed: seed for the initial weights (None: the global generator).

    ``forward(x)`` takes (N, T, D) and returns (N, out_features), or (N,) when
    ``out_features == 1``.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, out_features: int = 1,
                 forget_bias: float | None = None, *, seed: int | None = None):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"LastStateRegressor: cell must be one of {sorted(CELLS)}, "
                             f"got {cell!r}")
        input_size = check_int(input_size, "LastStateRegressor", "input_size", low=1)
        hidden_size = check_int(hidden_size, "LastStateRegressor", "hidden_size", low=1)
        self.out_features = check_int(out_features, "LastStateRegressor", "out_features", low=1)
        self.cell = cell
        with seeded(seed, "LastStateRegressor"):
            self.rnn = CELLS[cell](input_size, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, self.out_features)
        if forget_bias is not None:
            if cell != "lstm":
                raise ValueError(f"LastStateRegressor: forget_bias is for an LSTM, got "
                                 f"cell={cell!r}")
            H = hidden_size
            with torch.no_grad():
                self.rnn.bias_ih_l0[H:2 * H] = float(forget_bias)
                self.rnn.bias_hh_l0[H:2 * H] = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.rnn.input_size:
            raise ValueError(f"LastStateRegressor: x must be (N, T, {self.rnn.input_size}), "
                             f"got {tuple(x.shape)}")
        out, _ = self.rnn(x)                                        # (N, T, H)
        y = self.head(out[:, -1])                                   # (N, out_features)
        return y[:, 0] if self.out_features == 1 else y


# ---------------------------------------------------------------------------------------------
# Time series
# ---------------------------------------------------------------------------------------------

def sliding_windows(series, origins, n_in: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets for forecasting from each origin t (the last observed index).

    ``X[j] = series[t − n_in + 1 : t + 1]`` (the past n_in values, oldest first) and
    ``Y[j] = series[t + 1 : t + 1 + horizon]`` (the next ``horizon`` values), t = origins[j].

    Returns:
        ``X`` (len(origins), n_in) and ``Y`` (len(origins), horizon), float64.
    """
    where = "sliding_windows"
    y = as_array(series, where, "series", ndim=1, dtype_kind="fiu").astype(np.float64)
    t = as_array(origins, where, "origins", ndim=1, dtype_kind="iu").astype(np.int64)
    n_in = check_int(n_in, where, "n_in", low=1)
    horizon = check_int(horizon, where, "horizon", low=1)
    if t.min() < n_in - 1 or t.max() + horizon >= len(y):
        raise ValueError(f"{where}: origins must lie in [{n_in - 1}, {len(y) - horizon - 1}] "
                         f"for n_in={n_in}, horizon={horizon} and a series of {len(y)}, "
                         f"got {t.min()}..{t.max()}")
    X = y[t[:, None] + np.arange(-n_in + 1, 1)]                      # (n, n_in)
    Y = y[t[:, None] + np.arange(1, horizon + 1)]                    # (n, horizon)
    return X, Y


# ---------------------------------------------------------------------------------------------
# Sampling from a character model with constraints
# ---------------------------------------------------------------------------------------------

@torch.no_grad()
def sample_masked(model: nn.Module, vocab, prompt: str, length: int, *,
                  temperature: float = 1.0, seed: int = 0, banned: str = "",
                  forced: dict[int, str] | None = None) -> str:
    """Generate ``length`` characters after ``prompt`` from a character model.

    Each character is drawn from ``softmax(z / τ)`` over the allowed characters (the
    ``banned`` ones get probability 0), except at the positions in ``forced``, where the given
    character is used instead: what the model writes next is then conditioned on it.

    Args:
        model: ``model(ids (1, T) int64, state) -> (logits (1, T, V), state)``, e.g.
            :class:`course_lib.torch_ref.char_rnn.CharRNN`.
        vocab: with ``encode(str) -> ids`` and ``decode(ids) -> str``
            (:class:`course_lib.scratch.text.CharVocab`).
        prompt: the text read before generating (at least one character).
        length: how many characters to generate.
        temperature: τ > 0. seed: seeds a ``torch.Generator`` (same seed, same text).
        banned: characters never sampled. forced: ``{position: character}``, positions
            counted from 0 in the generated text.

    Returns:
        The ``length`` generated characters (without the prompt).
    """
    where = "sample_masked"
    length = check_int(length, where, "length", low=0)
    tau = check_positive(temperature, where, "temperature")
    gen = torch.Generator().manual_seed(check_int(seed, where, "seed", low=0))   # on the CPU
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"{where}: prompt must be a non-empty str, got {prompt!r}")
    forced = dict(forced or {})
    for pos in forced:
        check_int(pos, where, "a position in forced", low=0, high=max(length - 1, 0))
    ban = torch.as_tensor(np.asarray(vocab.encode(banned), dtype=np.int64))        # on the CPU
    device = model_device(model)              # the inputs go where the model is
    prompt_ids = np.asarray(vocab.encode(prompt), dtype=np.int64)
    out = []
    with eval_mode(model):
        logits, state = model(torch.as_tensor(prompt_ids, device=device)[None], None)
        for pos in range(length):
            if pos in forced:
                nxt = int(vocab.encode(forced[pos])[0])
            else:
                # sampled on the CPU, so a seed gives the same text on every device
                z = logits[0, -1].double().cpu() / tau                       # (V,)
                z[ban] = -torch.inf
                nxt = int(torch.multinomial(torch.softmax(z, -1), 1, generator=gen))
            out.append(nxt)
            logits, state = model(torch.tensor([[nxt]], device=device), state)
    return vocab.decode(out)


# ---------------------------------------------------------------------------------------------
# Sequence to sequence: date-format conversion
# ---------------------------------------------------------------------------------------------

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
#: Characters of the human-written dates (id 0 is padding, so character k has id k + 1).
DATE_SRC_CHARS = "".join(sorted(set("".join(MONTHS) + "0123456789 ,/")))
#: Characters of the ISO dates (id 0 is the start symbol, so character k has id k + 1).
DATE_TGT_CHARS = "0123456789-"
DATE_SRC_LEN = 20


def _human(d: datetime.date, style: int) -> str:
    month = MONTHS[d.month - 1]
    return (f"{d.day} {month} {d.year}", f"{month} {d.day}, {d.year}",
            f"{d.day:02d}/{d.month:02d}/{d.year}", f"{month[:3]} {d.day} {d.year}")[style]


def make_dates(n: int, rng: np.random.Generator, *, first_year: int = 1950,
               last_year: int = 2049) -> tuple[list[str], list[str]]:
    """n random dates written four human ways, and the same dates in ISO 8601.

    The styles: ``"7 march 2024"``, ``"march 7, 2024"``, ``"07/03/2024"`` (day first) and
    ``"mar 7 2024"``; the target is always ``"2024-03-07"`` (10 characters).
    """
    n = check_int(n, "make_dates", "n", low=1)
    rng = check_rng(rng, "make_dates")
    lo = datetime.date(check_int(first_year, "make_dates", "first_year", low=1000), 1, 1)
    hi = datetime.date(check_int(last_year, "make_dates", "last_year", low=first_year, high=9999),
                       12, 31)
    days = rng.integers(0, hi.toordinal() - lo.toordinal() + 1, size=n)
    styles = rng.integers(0, 4, size=n)
    dates = [datetime.date.fromordinal(lo.toordinal() + int(k)) for k in days]
    return [_human(d, int(s)) for d, s in zip(dates, styles, strict=True)], \
        [d.isoformat() for d in dates]


def encode_dates(texts: Sequence[str], target: bool = False) -> torch.Tensor:
    """Strings to int64 ids: sources (N, 20) left-padded with 0; ISO targets (N, 10)."""
    chars, width = (DATE_TGT_CHARS, 10) if target else (DATE_SRC_CHARS, DATE_SRC_LEN)
    out = np.zeros((len(texts), width), dtype=np.int64)
    for i, s in enumerate(texts):
        s = s.lower() if not target else s
        bad = sorted(set(s) - set(chars))
        if bad or len(s) > width or (target and len(s) != width):
            raise ValueError(f"encode_dates: {s!r} must be at most {width} characters from "
                             f"{chars!r}" + (f"; unknown {bad}" if bad else ""))
        ids = [chars.index(c) + 1 for c in s]
        out[i, width - len(ids):] = ids
    return torch.from_numpy(out)


def decode_dates(ids: torch.Tensor) -> list[str]:
    """(N, L) target ids back to strings (id 0, the start symbol, becomes '?')."""
    chars = "?" + DATE_TGT_CHARS
    return ["".join(chars[int(i)] for i in row) for row in ids]


class Seq2Seq(nn.Module):
    """An LSTM encoder–decoder without attention.

    The encoder reads the whole source; its final (h, c) is the only thing the decoder gets:
    a fixed-size summary of the input. The decoder is a language model over the target
    characters started from that state; in training it is fed the true previous character
    (teacher forcing), at test time its own previous guess (:meth:`greedy`).

    Args:
        src_vocab: source ids (0 = padding). tgt_vocab: target ids (0 = start symbol).
        embed_dim, hidden_size: sizes of the embeddings and of both LSTMs.
        seed: seed for the initial weights (None: the global generator).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 32,
                 hidden_size: int = 64, *, seed: int | None = None):
        super().__init__()
        src_vocab = check_int(src_vocab, "Seq2Seq", "src_vocab", low=2)
        tgt_vocab = check_int(tgt_vocab, "Seq2Seq", "tgt_vocab", low=2)
        with seeded(seed, "Seq2Seq"):
            self.src_embed = nn.Embedding(src_vocab, embed_dim, padding_idx=0)
            self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim)
            self.encoder = nn.LSTM(embed_dim, hidden_size, batch_first=True)
            self.decoder = nn.LSTM(embed_dim, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, tgt_vocab)

    def encode(self, src: torch.Tensor):
        """(N, S) source ids -> the encoder's final state (h, c), each (1, N, H)."""
        _, state = self.encoder(self.src_embed(src))
        return state

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (N, S) sources and (N, L) targets -> (N, L, tgt_vocab) logits,
        position t predicting ``tgt[:, t]`` from ``tgt[:, :t]``."""
        start = torch.zeros_like(tgt[:, :1])                                # (N, 1) id 0
        dec_in = torch.cat([start, tgt[:, :-1]], dim=1)                     # (N, L)
        out, _ = self.decoder(self.tgt_embed(dec_in), self.encode(src))     # (N, L, H)
        return self.head(out)

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, length: int) -> torch.Tensor:
        """Decode ``length`` ids, each the arg-max given the model's own previous ones."""
        length = check_int(length, "Seq2Seq.greedy", "length", low=1)
        state = self.encode(src)
        y = torch.zeros(len(src), 1, dtype=torch.int64, device=src.device)   # start symbol
        out = []
        for _ in range(length):
            h, state = self.decoder(self.tgt_embed(y), state)                # (N, 1, H)
            y = self.head(h).argmax(-1)                                      # (N, 1)
            out.append(y)
        return torch.cat(out, dim=1)                                         # (N, length)
