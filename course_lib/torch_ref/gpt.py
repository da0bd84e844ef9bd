"""A small GPT: a decoder-only Transformer language model, in one file, plus a bigram baseline.

    config = GPTConfig(vocab_size=80, context=64, n_layer=2, n_head=4, d_model=64)
    model = GPT(config, seed=0)                      # ~114k parameters
    logits = model(ids)                              # (B, T) int64 -> (B, T, V)
    logits, att = model(ids, return_attention=True)  # att: one (B, h, T, T) tensor per layer
    out = generate(model, prompt_ids, 200, temperature=0.8, top_k=10, seed=0)   # np.ndarray
    p = next_token_probs(model, prompt_ids, temperature=0.8)                    # (V,)

The architecture (Vaswani et al., "Attention is all you need", NeurIPS 2017, decoder only, as
in Radford et al., "Improving language understanding by generative pre-training" (GPT), 2018
and "Language models are unsupervised multitask learners" (GPT-2), 2019):

    x_0 = E[ids] + P[positions]                            token + learned position embedding
    for each of the n_layer blocks:                        pre-LN blocks (GPT-2; Xiong et al.,
        x = x + Attention(LayerNorm(x))                    "On layer normalization in the
        x = x + MLP(LayerNorm(x))                          Transformer architecture", ICML 2020)
    logits = Linear(LayerNorm(x))

    Attention: for each of the h heads, softmax(Q K^T / sqrt(d_head) + causal mask) V;
               the heads side by side, then a linear projection.
    MLP:       Linear(d_model -> d_ff) -> GELU -> Linear(d_ff -> d_model); GELU in the tanh
               approximation GPT-2 uses (Hendrycks & Gimpel, "Gaussian error linear units", 2016).

The attention weights are computed explicitly (not with ``F.scaled_dot_product_attention``) so
that ``return_attention=True`` can hand them out for plotting.

**Initialisation** as in GPT-2: every Linear weight and both embeddings ~ N(0, 0.02²), biases
0, LayerNorm gains 1; the two projections that write into the residual stream (attention output
and second MLP layer) ~ N(0, (0.02 / sqrt(2 n_layer))²), to account for the 2 n_layer branches
that add into the residual stream (GPT-2, section 2.3). The output head is its own Linear
layer by default; ``tie_weights=True`` shares its weight with the token embedding (GPT-2
does; Press & Wolf, "Using the output embedding to improve language models", EACL 2017).

**KV cache.** When generating one token at a time, the keys and values of the earlier positions
do not change (causal attention: position t never looks right), so they are kept in a
:class:`KVCache` and only the new position is computed: ``model(ids, kv_cache=cache)`` reads
``ids`` as the positions that follow those already in the cache and appends their keys and
values. A cache holds at most ``context`` positions (the position table has ``context`` rows);
without a cache, :func:`generate` crops the input to the last ``context`` tokens instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.validate import as_token_ids, check_int, check_positive
from course_lib.training import eval_mode, model_device

__all__ = ["GPTConfig", "KVCache", "CausalSelfAttention", "Block", "GPT", "BigramLM",
           "generate", "next_token_probs"]


@dataclass
class GPTConfig:
    """The sizes of a :class:`GPT`.

    Args:
        vocab_size: V, the number of tokens.
        context: the longest input, in tokens (rows of the position table).
        n_layer: number of Transformer blocks.
        n_head: h, attention heads per block; must divide ``d_model``.
        d_model: d, the width of the residual stream; each head has d_head = d / h.
        d_ff: the hidden width of the MLP; None means 4 d (as in Vaswani et al. and GPT-2).
        dropout: the drop probability on embeddings, attention weights and residual branches
            (0 turns dropout off: a small model on a small corpus trains faster without).
        tie_weights: share the output head's weight with the token embedding.
    """

    vocab_size: int
    context: int
    n_layer: int = 2
    n_head: int = 4
    d_model: int = 64
    d_ff: int | None = None
    dropout: float = 0.0
    tie_weights: bool = False

    def __post_init__(self):
        where = "GPTConfig"
        self.vocab_size = check_int(self.vocab_size, where, "vocab_size", low=1)
        self.context = check_int(self.context, where, "context", low=1)
        self.n_layer = check_int(self.n_layer, where, "n_layer", low=1)
        self.n_head = check_int(self.n_head, where, "n_head", low=1)
        self.d_model = check_int(self.d_model, where, "d_model", low=1)
        if self.d_model % self.n_head:
            raise ValueError(f"{where}: n_head must divide d_model, got d_model={self.d_model}, "
                             f"n_head={self.n_head}")
        self.d_ff = 4 * self.d_model if self.d_ff is None else check_int(self.d_ff, where,
                                                                          "d_ff", low=1)
        self.dropout = check_positive(self.dropout, where, "dropout", allow_zero=True)
        if self.dropout >= 1:
            raise ValueError(f"{where}: dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.tie_weights, bool):
            raise TypeError(f"{where}: tie_weights must be a bool, got {self.tie_weights!r}")

    @property
    def d_head(self) -> int:
        """The width of one attention head, d_model / n_head."""
        return self.d_model // self.n_head


class KVCache:
    """The keys and values of the positions a :class:`GPT` has already read.

    ``keys[l]`` and ``values[l]`` are layer l's (B, h, T_so_far, d_head) tensors. Start with an
    empty ``KVCache()`` and pass it to every call of ``model(ids, kv_cache=cache)``: each call
    appends the keys and values of its ``ids`` (in place) and places them after the cached
    positions.
    """

    def __init__(self):
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []

    def __len__(self) -> int:
        """T_so_far, the number of positions cached."""
        return self.keys[0].shape[2] if self.keys else 0

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append layer ``layer``'s new keys and values (B, h, T, d_head); return all of them,
        (B, h, T_so_far + T, d_head) each."""
        if layer == len(self.keys):                          # the first call: nothing cached
            self.keys.append(k)
            self.values.append(v)
        elif layer < len(self.keys):
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        else:
            raise ValueError(f"KVCache.extend: layer {layer} comes before layer "
                             f"{len(self.keys)} was cached")
        return self.keys[layer], self.values[layer]


def _check_ids(ids, where: str, vocab_size: int) -> None:
    """ids must be a (B, T) int64 tensor, T >= 1, with values in [0, V)."""
    if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype != torch.int64:
        got = (f"{tuple(ids.shape)} {ids.dtype}" if isinstance(ids, torch.Tensor)
               else type(ids).__name__)
        raise ValueError(f"{where}: ids must be a (B, T) int64 tensor, got {got}")
    if ids.shape[0] == 0 or ids.shape[1] == 0:
        raise ValueError(f"{where}: ids must not be empty, got shape {tuple(ids.shape)}")
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"{where}: ids must be in [0, {vocab_size - 1}], got {lo}..{hi}")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees positions <= t only.

    ``forward(x, kv_cache=None, layer=0)`` takes x (B, T, d) and returns ``(y, att)``: y
    (B, T, d) and the attention weights att (B, h, T, T_k), each row a probability
    distribution over the T_k keys (T_k = T, or cached positions + T with a cache).
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.d_head = config.n_head, config.d_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)  # W_Q, W_K, W_V side by side
        self.proj = nn.Linear(config.d_model, config.d_model)     # W_O
        self.attn_drop = nn.Dropout(config.dropout)
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, kv_cache: KVCache | None = None, layer: int = 0):
        B, T, d = x.shape
        h, dh = self.n_head, self.d_head
        q, k, v = self.qkv(x).split(d, dim=2)                      # (B, T, d) each
        q = q.view(B, T, h, dh).transpose(1, 2)                    # (B, h, T, d_head)
        k = k.view(B, T, h, dh).transpose(1, 2)                    # (B, h, T, d_head)
        v = v.view(B, T, h, dh).transpose(1, 2)                    # (B, h, T, d_head)
        if kv_cache is not None:
            k, v = kv_cache.extend(layer, k, v)                    # (B, h, T_k, d_head)
        T_k = k.shape[2]                                           # T_k = T_past + T
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)           # (B, h, T, T_k)
        # query i sits at position T_k - T + i and may look at keys j <= T_k - T + i
        allowed = torch.ones(T, T_k, dtype=torch.bool, device=x.device).tril(T_k - T)
        scores = scores.masked_fill(~allowed, float("-inf"))       # the future gets weight 0
        att = torch.softmax(scores, dim=-1)                        # (B, h, T, T_k), rows sum to 1
        y = self.attn_drop(att) @ v                                # (B, h, T, d_head)
        y = y.transpose(1, 2).reshape(B, T, d)                     # (B, T, d): heads side by side
        return self.resid_drop(self.proj(y)), att                  # (B, T, d)


class Block(nn.Module):
    """One pre-LN Transformer block: x + Attention(LN(x)), then x + MLP(LN(x)).

    ``forward(x, kv_cache=None, layer=0)`` takes x (B, T, d) and returns ``(x, att)``.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(config.d_model, config.d_ff),                # (B, T, d) -> (B, T, d_ff)
            nn.GELU(approximate="tanh"),
            nn.Linear(config.d_ff, config.d_model),                # (B, T, d_ff) -> (B, T, d)
            nn.Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor, kv_cache: KVCache | None = None, layer: int = 0):
        a, att = self.attn(self.ln1(x), kv_cache, layer)           # (B, T, d), (B, h, T, T_k)
        x = x + a                                                  # residual
        x = x + self.mlp(self.ln2(x))                              # (B, T, d), residual
        return x, att


class GPT(nn.Module):
    """A decoder-only Transformer language model (see the module docstring).

    Args:
        config: a :class:`GPTConfig`.
        seed: seed for the initial weights (None: the global generator).

    ``forward(ids, *, kv_cache=None, return_attention=False)`` takes (B, T) int64 ids with
    T <= ``config.context`` (with a cache: cached positions + T <= ``config.context``) and
    returns logits (B, T, V) for the next token at every position; with
    ``return_attention=True`` it returns ``(logits, att)``, att a list of ``n_layer``
    (B, h, T, T_k) tensors of attention weights.
    """

    def __init__(self, config: GPTConfig, *, seed: int | None = None):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT: config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.vocab_size = config.vocab_size                        # V
        self.context = config.context
        d = config.d_model
        with seeded(seed, "GPT"):
            self.tok_emb = nn.Embedding(config.vocab_size, d)      # E: (V, d)
            self.pos_emb = nn.Embedding(config.context, d)         # P: (context, d)
            self.drop = nn.Dropout(config.dropout)
            self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, config.vocab_size)            # (B, T, d) -> (B, T, V)
            self._init_weights()
        if config.tie_weights:
            self.head.weight = self.tok_emb.weight                 # one (V, d) matrix, twice

    def _init_weights(self) -> None:
        """GPT-2's initialisation (see the module docstring)."""
        resid_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, m in self.named_modules():
            if isinstance(m, nn.Linear):
                std = resid_std if name.endswith(("attn.proj", "mlp.2")) else 0.02
                nn.init.normal_(m.weight, mean=0.0, std=std)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, ids: torch.Tensor, *, kv_cache: KVCache | None = None,
                return_attention: bool = False):
        _check_ids(ids, "GPT", self.vocab_size)
        B, T = ids.shape
        past = 0
        if kv_cache is not None:
            if not isinstance(kv_cache, KVCache):
                raise TypeError(f"GPT: kv_cache must be a KVCache, got "
                                f"{type(kv_cache).__name__}")
            past = len(kv_cache)
            if past and (len(kv_cache.keys) != len(self.blocks)
                         or kv_cache.keys[0].shape[0] != B):
                raise ValueError(f"GPT: kv_cache holds {len(kv_cache.keys)} layers of batch "
                                 f"{kv_cache.keys[0].shape[0]}, the model has "
                                 f"{len(self.blocks)} layers and ids have batch {B}")
        if kv_cache is None and T > self.context:
            raise ValueError(f"GPT: ids have T = {T} positions, more than the context of "
                             f"{self.context}; crop them to the last {self.context} "
                             f"(ids[:, -{self.context}:])")
        if past + T > self.context:
            raise ValueError(f"GPT: the KV cache holds {past} positions and ids add {T}: "
                             f"{past + T} > the context of {self.context}; a cache cannot go "
                             f"beyond the context (without a cache, crop the input instead)")
        pos = torch.arange(past, past + T, device=ids.device)      # (T,) positions
        x = self.drop(self.tok_emb(ids) + self.pos_emb(pos))       # (B, T, d)
        atts = []
        for layer, block in enumerate(self.blocks):
            x, att = block(x, kv_cache, layer)                     # (B, T, d)
            atts.append(att)                                       # (B, h, T, T_k)
        logits = self.head(self.ln_f(x))                           # (B, T, V)
        return (logits, atts) if return_attention else logits


class BigramLM(nn.Module):
    """The simplest neural language model: a (V, V) table of logits, row = previous token.

    ``forward(ids)`` takes (B, T) int64 ids and returns logits (B, T, V): row ``ids[b, t]`` of
    the table, the scores of the token after it. Trained by gradient descent it learns what the
    counting bigram of chapter 10 counts. Initial table ~ N(0, 0.02²), as the GPT's weights.

    Args:
        vocab_size: V.
        seed: seed for the initial table (None: the global generator).
    """

    def __init__(self, vocab_size: int, *, seed: int | None = None):
        super().__init__()
        self.vocab_size = check_int(vocab_size, "BigramLM", "vocab_size", low=1)
        with seeded(seed, "BigramLM"):
            self.table = nn.Embedding(vocab_size, vocab_size)     # (V, V) logits
            nn.init.normal_(self.table.weight, mean=0.0, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _check_ids(ids, "BigramLM", self.vocab_size)
        return self.table(ids)                                     # (B, T) -> (B, T, V)


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------

def _prompt(model, prompt_ids, where: str) -> np.ndarray:
    if not isinstance(model, nn.Module) or not hasattr(model, "vocab_size"):
        raise TypeError(f"{where}: model must be a language model (an nn.Module with a "
                        f"vocab_size, such as GPT or BigramLM), got {type(model).__name__}")
    return as_token_ids(prompt_ids, model.vocab_size, where, "prompt_ids")


def _check_sampling(temperature, top_k, V: int, where: str) -> tuple[float, int | None]:
    tau = check_positive(temperature, where, "temperature", allow_zero=True)
    if top_k is not None:
        top_k = check_int(top_k, where, "top_k", low=1, high=V)
    return tau, top_k


def _last_logits(model, ids: list[int], kv_cache: KVCache | None, device) -> torch.Tensor:
    """The logits (V,) after ``ids``: all of them (cropped to the context) without a cache,
    only the ones not yet cached with one."""
    if kv_cache is None:
        context = getattr(model, "context", None)
        if context is not None:
            ids = ids[-context:]                                   # crop to the context
        out = model(torch.tensor([ids], device=device))            # (1, T) -> (1, T, V)
    else:
        new = torch.tensor([ids[len(kv_cache):]], device=device)   # (1, T_new), not yet cached
        out = model(new, kv_cache=kv_cache)                        # (1, T_new, V)
    logits = out[0] if isinstance(out, tuple) else out             # (1, T, V)
    return logits[0, -1].double().cpu()                            # (V,)


def _distribution(logits: torch.Tensor, tau: float, top_k: int | None) -> torch.Tensor:
    """(V,) logits -> (V,) probabilities of softmax(z / τ) over the top k (τ = 0: one-hot)."""
    if top_k is not None:
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))   # ties with the k-th stay
    if tau == 0:
        return F.one_hot(logits.argmax(), logits.numel()).double()  # greedy
    return torch.softmax(logits / tau, dim=-1)


@torch.no_grad()
def next_token_probs(model, prompt_ids, temperature: float = 1.0,
                     top_k: int | None = None) -> np.ndarray:
    """The model's distribution of the token after ``prompt_ids``, as :func:`generate` samples it.

    Args:
        model: a :class:`GPT` or any model whose ``forward(ids)`` returns logits (B, T, V) or
            ``(logits, state)``, with a ``vocab_size`` attribute.
        prompt_ids: (P,) int ids, P >= 1; only the last ``model.context`` are read.
        temperature: τ >= 0; the logits z become softmax(z / τ); τ = 0 puts all the mass on
            the most likely token (greedy decoding).
        top_k: keep only the k most likely tokens (the rest get probability 0), or None.

    Returns:
        (V,) float64 probabilities summing to 1.
    """
    where = "next_token_probs"
    ids = _prompt(model, prompt_ids, where)
    tau, top_k = _check_sampling(temperature, top_k, model.vocab_size, where)
    with eval_mode(model):
        logits = _last_logits(model, ids.tolist(), None, model_device(model))
    return _distribution(logits, tau, top_k).numpy()


@torch.no_grad()
def generate(model, prompt_ids, n_new: int, *, temperature: float = 1.0,
             top_k: int | None = None, seed: int = 0, use_cache: bool = True) -> np.ndarray:
    """Sample ``n_new`` tokens after ``prompt_ids``, one at a time (autoregressive decoding).

    Each new token is drawn from ``softmax(z / τ)`` of the last position's logits z (restricted
    to the ``top_k`` most likely tokens if given) with a ``torch.Generator`` seeded with
    ``seed``, so the same seed gives the same text; ``temperature=0`` takes the most likely
    token instead (greedy decoding, no randomness). The token is appended and fed back.

    With ``use_cache=True`` (a :class:`GPT` only) the prompt is read once and every later step
    reads only the new token, reusing the keys and values of the earlier ones from a
    :class:`KVCache`; the whole sequence must then fit the context:
    ``len(prompt_ids) + n_new - 1 <= context``. With ``use_cache=False`` every step reads the
    whole sequence again, cropped to its last ``context`` tokens, so any length works. The two
    give the same tokens wherever both apply (up to float rounding in the logits).

    Args:
        model: a :class:`GPT`, or (with ``use_cache=False``) any model that
            :func:`next_token_probs` accepts.
        prompt_ids: (P,) int ids, P >= 1.
        n_new: how many tokens to add (>= 0).
        temperature: τ >= 0 (0: greedy).
        top_k: sample among the k most likely tokens only, or None for all.
        seed: seed of the sampling generator.
        use_cache: use a KV cache.

    Returns:
        (P + n_new,) int64 array: the prompt followed by the new tokens.
    """
    where = "generate"
    ids = _prompt(model, prompt_ids, where).tolist()
    n_new = check_int(n_new, where, "n_new", low=0)
    tau, top_k = _check_sampling(temperature, top_k, model.vocab_size, where)
    seed = check_int(seed, where, "seed", low=0)
    if use_cache:
        if not isinstance(model, GPT):
            raise TypeError(f"{where}: use_cache=True needs a GPT, got "
                            f"{type(model).__name__}; pass use_cache=False")
        if n_new and len(ids) + n_new - 1 > model.context:
            raise ValueError(f"{where}: with a KV cache the prompt ({len(ids)}) and the new "
                             f"tokens but the last ({n_new - 1}) must fit the context of "
                             f"{model.context}; generate fewer tokens or pass use_cache=False "
                             f"(which crops to the last {model.context} tokens)")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    cache = KVCache() if use_cache else None
    device = model_device(model)
    with eval_mode(model):
        for _ in range(n_new):
            p = _distribution(_last_logits(model, ids, cache, device), tau, top_k)   # (V,)
            nxt = int(p.argmax()) if tau == 0 else int(torch.multinomial(p, 1, generator=gen))
            ids.append(nxt)
    return np.array(ids, dtype=np.int64)
