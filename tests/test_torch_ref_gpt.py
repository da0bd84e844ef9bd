"""course_lib.torch_ref.gpt and lm_training: shapes, causality, the KV cache, sampling, seeds,
and the shared trainer and scorer of chapter 12's model comparison."""

import math

import numpy as np
import pytest
import torch

from course_lib.env import seeded
from course_lib.scratch.text import CharVocab, perplexity
from course_lib.torch_ref.char_rnn import CharRNN
from course_lib.torch_ref.gpt import (
    GPT,
    BigramLM,
    GPTConfig,
    KVCache,
    generate,
    next_token_probs,
)
from course_lib.torch_ref.lm_training import fit_lm, lm_log_probs

TEXT = "hello world. " * 60
VOCAB = CharVocab.from_text(TEXT)
V = VOCAB.size


def small(context=16, seed=0, dtype=torch.float32, **kw) -> GPT:
    kw = {"n_layer": 2, "n_head": 2, "d_model": 16} | kw
    return GPT(GPTConfig(V, context, **kw), seed=seed).to(dtype).eval()


def rand_ids(B, T, seed=0) -> torch.Tensor:
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------- the model

@pytest.mark.parametrize("B, T", [(1, 1), (3, 7), (2, 16)])
def test_shapes(B, T):
    m = small(n_layer=3, n_head=4)
    logits = m(rand_ids(B, T))
    assert logits.shape == (B, T, V) and logits.dtype == torch.float32
    logits2, att = m(rand_ids(B, T), return_attention=True)
    assert logits2.shape == (B, T, V)
    assert len(att) == 3 and all(a.shape == (B, 4, T, T) for a in att)
    assert m.config.d_ff == 64 and m.config.d_head == 4
    assert BigramLM(V, seed=0)(rand_ids(B, T)).shape == (B, T, V)


@pytest.mark.parametrize("n_layer, d_model, n_head, d_ff, tie", [
    (1, 8, 1, None, False), (2, 16, 4, 24, False), (3, 12, 3, None, True)])
def test_parameter_count(n_layer, d_model, n_head, d_ff, tie):
    C, d = 10, d_model
    f = 4 * d if d_ff is None else d_ff
    m = GPT(GPTConfig(V, C, n_layer=n_layer, n_head=n_head, d_model=d, d_ff=d_ff,
                      tie_weights=tie), seed=0)
    block = (2 * d                       # LayerNorm 1
             + d * 3 * d + 3 * d         # W_Q, W_K, W_V and their biases
             + d * d + d                 # W_O
             + 2 * d                     # LayerNorm 2
             + d * f + f + f * d + d)    # the MLP
    expected = V * d + C * d + n_layer * block + 2 * d + (0 if tie else d * V) + V
    assert sum(p.numel() for p in m.parameters()) == expected
    assert (m.head.weight is m.tok_emb.weight) == tie
    assert sum(p.numel() for p in BigramLM(V).parameters()) == V * V


def test_gpt2_initialisation():
    m = GPT(GPTConfig(V, 64, n_layer=8, n_head=4, d_model=128), seed=0)
    resid = 0.02 / math.sqrt(16)
    for name, p in m.named_parameters():
        if name.endswith(("attn.proj.weight", "mlp.2.weight")):
            assert p.std().item() == pytest.approx(resid, rel=0.1), name
        elif name.endswith("bias") and "ln" not in name:
            assert torch.all(p == 0), name
        elif p.dim() == 2:
            assert p.std().item() == pytest.approx(0.02, rel=0.1), name


def test_bad_input():
    m = small()
    with pytest.raises(ValueError, match=r"\(B, T\) int64"):
        m(rand_ids(2, 4).float())
    with pytest.raises(ValueError, match=r"\(B, T\) int64"):
        m(torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\(B, T\) int64"):
        m(np.zeros((1, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="must not be empty"):
        m(torch.zeros(1, 0, dtype=torch.int64))
    with pytest.raises(ValueError, match=rf"ids must be in \[0, {V - 1}\]"):
        m(torch.full((1, 3), V))
    with pytest.raises(ValueError, match="T = 17 positions, more than the context of 16"):
        m(rand_ids(1, 17))
    with pytest.raises(ValueError, match="ids must be"):
        BigramLM(V)(rand_ids(1, 3).int())
    with pytest.raises(ValueError, match="n_head must divide d_model"):
        GPTConfig(V, 8, n_head=3, d_model=16)
    with pytest.raises(ValueError, match="dropout must be in"):
        GPTConfig(V, 8, dropout=1.0)
    with pytest.raises(ValueError, match="vocab_size"):
        GPTConfig(0, 8)
    with pytest.raises(ValueError, match="d_ff"):
        GPTConfig(V, 8, d_ff=0)
    with pytest.raises(TypeError, match="context must be an int"):
        GPTConfig(V, 8.0)
    with pytest.raises(TypeError, match="tie_weights"):
        GPTConfig(V, 8, tie_weights=1)
    with pytest.raises(TypeError, match="GPTConfig"):
        GPT({"vocab_size": V, "context": 8})


# ------------------------------------------------------------------------------- causality

@pytest.mark.parametrize("dtype, tol", [(torch.float64, 0.0), (torch.float32, 1e-6)])
def test_causal(dtype, tol):
    m = small(dtype=dtype, n_layer=2, n_head=4)
    a = rand_ids(3, 16, seed=1)
    with torch.no_grad():
        la, att = m(a, return_attention=True)
        for t in (0, 5, 14):
            b = a.clone()
            b[:, t + 1:] = rand_ids(3, 15 - t, seed=2 + t)        # change the future of t
            lb = m(b)
            assert torch.allclose(la[:, :t + 1], lb[:, :t + 1], rtol=0, atol=tol)
            assert not torch.allclose(la[:, t + 1:], lb[:, t + 1:])
    for w in att:                                                  # (B, h, T, T)
        assert torch.all(w.triu(1) == 0)
        assert torch.allclose(w.sum(-1), torch.ones((), dtype=dtype), atol=10 * tol + 1e-12)
        assert torch.all(w[..., 0, 0] == 1)                        # the first sees itself only


def test_attention_matches_pytorch_scaled_dot_product_attention():
    m = small(dtype=torch.float64, n_head=4)
    attn = m.blocks[0].attn
    x = torch.randn(3, 11, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y, att = attn(x)
    q, k, v = (t.view(3, 11, 4, 4).transpose(1, 2) for t in attn.qkv(x).split(16, dim=2))
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    ref = attn.proj(ref.transpose(1, 2).reshape(3, 11, 16))
    assert torch.allclose(y, ref, rtol=0, atol=1e-12)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(attn.qkv.bias)
        mha.out_proj.weight.copy_(attn.proj.weight)
        mha.out_proj.bias.copy_(attn.proj.bias)
    mask = torch.ones(11, 11, dtype=torch.bool).triu(1)          # True: not allowed
    y2, w2 = mha(x, x, x, attn_mask=mask, average_attn_weights=False)
    assert torch.allclose(y, y2, rtol=0, atol=1e-12) and torch.allclose(att, w2, atol=1e-12)


# ------------------------------------------------------------------------------- KV cache

@pytest.mark.parametrize("chunks", [(5, 1, 1, 1, 1, 1, 1), (1,) * 12, (4, 3, 5), (12,)])
def test_kv_cache_matches_full_recomputation(chunks):
    m = small(dtype=torch.float64, n_layer=3, n_head=2)
    ids = rand_ids(2, sum(chunks), seed=3)
    with torch.no_grad():
        full, full_att = m(ids, return_attention=True)
        cache, parts, start = KVCache(), [], 0
        for n in chunks:
            logits, att = m(ids[:, start:start + n], kv_cache=cache, return_attention=True)
            parts.append(logits)
            start += n
            assert len(cache) == start
            assert all(k.shape == (2, 2, start, 8) for k in cache.keys + cache.values)
            for a, f in zip(att, full_att, strict=True):            # the rows just computed
                assert a.shape == (2, 2, n, start)
                assert torch.allclose(a, f[:, :, start - n:start, :start], rtol=0, atol=1e-12)
    inc = torch.cat(parts, dim=1)
    assert ((inc - full).abs().max() / full.abs().max()).item() <= 1e-10


def test_kv_cache_limits():
    m = small(context=8)
    cache = KVCache()
    m(rand_ids(2, 6), kv_cache=cache)
    with pytest.raises(ValueError, match="holds 6 positions and ids add 3: 9 > the context of 8"):
        m(rand_ids(2, 3), kv_cache=cache)
    with pytest.raises(ValueError, match="batch"):
        m(rand_ids(1, 1), kv_cache=cache)
    with pytest.raises(TypeError, match="KVCache"):
        m(rand_ids(2, 1), kv_cache=[])
    assert m(rand_ids(2, 2), kv_cache=cache).shape == (2, 2, V) and len(cache) == 8


# ------------------------------------------------------------------------------- sampling

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (0.7, 5), (2.0, None), (0, None)])
def test_generate_with_and_without_cache_agree(dtype, temperature, top_k):
    m = small(context=24, dtype=dtype)
    prompt = VOCAB.encode("hello")
    kw = {"temperature": temperature, "top_k": top_k, "seed": 3}
    a = generate(m, prompt, 20, use_cache=True, **kw)              # 5 + 20 - 1 <= 24
    b = generate(m, prompt, 20, use_cache=False, **kw)
    assert a.dtype == np.int64 and a.shape == (25,)
    assert np.array_equal(a[:5], prompt) and np.array_equal(a, b)
    assert np.array_equal(a, generate(m, prompt, 20, **kw))        # the same seed, the same text


def test_generate_greedy_top_k_and_errors():
    m = small(context=16)
    prompt = VOCAB.encode("hel")
    greedy = generate(m, prompt, 10, temperature=0, seed=0)
    assert np.array_equal(greedy, generate(m, prompt, 10, temperature=0, seed=5))
    assert np.array_equal(greedy, generate(m, prompt, 10, top_k=1, seed=7))
    p = next_token_probs(m, prompt)
    assert greedy[3] == p.argmax()
    assert not np.array_equal(generate(m, prompt, 10, seed=0), generate(m, prompt, 10, seed=1))
    assert np.array_equal(generate(m, prompt, 0), prompt)
    # longer than the context: only without the cache (cropping to the last 16 tokens)
    assert generate(m, prompt, 30, use_cache=False).shape == (33,)
    with pytest.raises(ValueError, match="must fit the context of 16"):
        generate(m, prompt, 15)
    assert generate(m, prompt, 14).shape == (17,)                  # 3 + 14 - 1 = 16 fits
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            generate(m, prompt, 3, temperature=bad)
    with pytest.raises(TypeError, match="temperature"):
        next_token_probs(m, prompt, temperature="hot")
    with pytest.raises(ValueError, match="top_k"):
        generate(m, prompt, 3, top_k=V + 1)
    with pytest.raises(ValueError, match="prompt_ids must be in"):
        generate(m, [0, V], 3)
    with pytest.raises(ValueError, match="empty"):
        generate(m, np.array([], dtype=np.int64), 3)
    bigram = BigramLM(V, seed=0)
    with pytest.raises(TypeError, match="use_cache=False"):
        generate(bigram, prompt, 3)
    assert generate(bigram, prompt, 3, use_cache=False).shape == (6,)


def test_next_token_probs():
    m = small()
    prompt = VOCAB.encode("hello wor")
    p = next_token_probs(m, prompt)
    assert p.shape == (V,) and p.dtype == np.float64 and p.sum() == pytest.approx(1, abs=1e-12)
    with torch.no_grad():
        ref = torch.softmax(m(torch.as_tensor(prompt)[None])[0, -1].double() / 0.5, -1)
    assert np.allclose(next_token_probs(m, prompt, temperature=0.5), ref.numpy(), atol=1e-7)
    p3 = next_token_probs(m, prompt, top_k=3)
    assert np.count_nonzero(p3) == 3 and set(np.flatnonzero(p3)) == set(np.argsort(p)[-3:])
    p0 = next_token_probs(m, prompt, temperature=0)
    assert p0.max() == 1 and p0.sum() == 1 and p0.argmax() == p.argmax()
    long = VOCAB.encode(TEXT[:40])                                 # only the last 16 are read
    assert np.array_equal(next_token_probs(m, long), next_token_probs(m, long[-16:]))


# ------------------------------------------------------------------------------- seeds

BUILDS = {
    "GPT": lambda seed: GPT(GPTConfig(7, 5, n_layer=1, n_head=2, d_model=4), seed=seed),
    "GPT(tied)": lambda seed: GPT(GPTConfig(7, 5, n_layer=1, n_head=2, d_model=4,
                                            tie_weights=True), seed=seed),
    "BigramLM": lambda seed: BigramLM(7, seed=seed),
}


def _weights(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_seeds(name):
    """The same contract as tests/test_torch_ref_seeds.py for the models of chapter 12."""
    build = BUILDS[name]
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b, c = _weights(build(0)), _weights(build(0)), _weights(build(1))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert _same(a, b) and not _same(a, c)
    torch.manual_seed(5)
    d = _weights(build(None))
    after = torch.rand(1)
    with seeded(5):
        e = _weights(build(None))
        assert torch.equal(torch.rand(1), after)
    assert _same(d, e)
    with pytest.raises(ValueError, match="seed must be in"):
        build(-1)


# ------------------------------------------------------------------------------- fit_lm

IDS = VOCAB.encode(TEXT)


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_fit_lm_is_reproducible(dropout):
    def run(seed):
        m = GPT(GPTConfig(V, 8, n_layer=1, n_head=2, d_model=8, dropout=dropout), seed=0)
        return fit_lm(m, IDS, steps=5, batch_size=4, context=8, seed=seed, progress=False).loss

    torch.manual_seed(0)
    first = run(0)
    torch.manual_seed(1)                                 # the global generator does not matter
    assert run(0) == first
    assert run(1) != first                               # other windows (and dropout masks)


@pytest.mark.parametrize("name, build, floor", [
    ("GPT", lambda: GPT(GPTConfig(V, 16, n_layer=1, n_head=2, d_model=16), seed=0), 0.3),
    ("LSTM", lambda: CharRNN(V, 16, cell="lstm", embed_dim=8, seed=0), 0.3),
    # the best a bigram can do on this text is 0.47 nats
    ("BigramLM", lambda: BigramLM(V, seed=0), 0.8),
])
def test_fit_lm_learns_a_repetitive_text(name, build, floor):
    model = build()
    start = -lm_log_probs(model, IDS, context=16).mean()
    log = fit_lm(model, IDS, steps=150, batch_size=8, context=16, lr=3e-2 if name ==
                 "BigramLM" else 1e-2, progress=False, eval_ids=IDS[:200], eval_every=50)
    assert start > floor + 1
    assert np.mean(log.loss[-10:]) < floor, name
    assert log.eval_steps == [50, 100, 150] and log.eval_loss[-1] < floor
    assert log.eval_loss[-1] == pytest.approx(-lm_log_probs(model, IDS[:200], context=16).mean())
    assert not model.training


def test_fit_lm_schedule_and_errors():
    m = BigramLM(V, seed=0)
    log = fit_lm(m, IDS, steps=20, batch_size=2, context=4, lr=0.1, warmup=5, progress=False)
    assert len(log.loss) == len(log.grad_norm) == len(log.lr) == 20
    assert np.allclose(log.lr[:5], [0.02, 0.04, 0.06, 0.08, 0.1])  # linear warm-up
    assert np.all(np.diff(log.lr[4:]) < 0) and 0 < log.lr[-1] < 0.01   # cosine decay
    flat = fit_lm(m, IDS, steps=6, batch_size=2, context=4, lr=0.1, warmup=2, cosine=False,
                  progress=False)
    assert np.allclose(flat.lr, [0.05, 0.1, 0.1, 0.1, 0.1, 0.1])
    gpt = small(context=8)
    with pytest.raises(ValueError, match="longer than the model's context of 8"):
        fit_lm(gpt, IDS, steps=1, context=9, progress=False)
    with pytest.raises(ValueError, match="at least 9 ids"):
        fit_lm(gpt, IDS[:8], steps=1, context=8, progress=False)
    with pytest.raises(ValueError, match="needs eval_ids"):
        fit_lm(gpt, IDS, steps=1, context=8, eval_every=1, progress=False)
    with pytest.raises(ValueError, match="warmup"):
        fit_lm(gpt, IDS, steps=3, context=8, warmup=3, progress=False)
    with pytest.raises(TypeError, match="vocab_size"):
        fit_lm(torch.nn.Linear(2, 2), IDS, steps=1, progress=False)
    with pytest.raises(ValueError, match="train_ids must be in"):
        fit_lm(BigramLM(3), IDS, steps=1, progress=False)


# ------------------------------------------------------------------------------- lm_log_probs

@pytest.mark.parametrize("build", [
    lambda: small(context=16, dtype=torch.float64),
    lambda: CharRNN(V, 6, cell="lstm", embed_dim=4, seed=0).double(),
    lambda: BigramLM(V, seed=0).double(),
], ids=["GPT", "LSTM", "BigramLM"])
def test_lm_log_probs_scores_every_token_once(build):
    model = build()
    ids = IDS[:50]

    def direct(x):                                                 # log p of x[1:] given x[:-1]
        out = model(torch.as_tensor(x[:-1])[None])
        out = out[0] if isinstance(out, tuple) else out
        lp = torch.log_softmax(out[0].double(), -1)
        return lp[torch.arange(len(x) - 1), torch.as_tensor(x[1:])].detach().numpy()

    short = lm_log_probs(model, ids[:17], context=16)              # one window
    assert short.shape == (16,) and np.allclose(short, direct(ids[:17]), rtol=0, atol=1e-12)
    lp = lm_log_probs(model, ids, context=16, batch_size=2)
    assert lp.shape == (49,) and lp.dtype == np.float64 and np.all(lp <= 0)
    for s in (0, 16, 32, 48):                                      # windows overlap by one token
        window = ids[s:s + 17]
        assert np.allclose(lp[s:s + len(window) - 1], direct(window), rtol=0, atol=1e-12)
    assert np.allclose(lp, lm_log_probs(model, ids, context=16, batch_size=64), rtol=0,
                       atol=1e-12)                                 # batching changes nothing
    with pytest.raises(ValueError, match="at least 2 ids"):
        lm_log_probs(model, ids[:1], context=16)


def test_a_zero_model_has_perplexity_vocab_size():
    m = BigramLM(V)
    torch.nn.init.zeros_(m.table.weight)
    assert perplexity(lm_log_probs(m, IDS[:100], context=7)) == pytest.approx(V, rel=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_model_device_decides():
    """The device rule: windows are drawn on the CPU, then moved; results match the CPU's."""
    cpu = small(context=16, dtype=torch.float64)
    gpu = small(context=16, dtype=torch.float64).cuda()
    a = lm_log_probs(cpu, IDS[:100], context=16)
    assert np.allclose(a, lm_log_probs(gpu, IDS[:100], context=16), rtol=0, atol=1e-10)
    kw = {"steps": 3, "batch_size": 4, "context": 16, "progress": False}
    assert np.allclose(fit_lm(cpu, IDS, **kw).loss, fit_lm(gpu, IDS, **kw).loss, rtol=1e-8)
    prompt = IDS[:3]
    assert np.array_equal(generate(cpu, prompt, 10, seed=1), generate(gpu, prompt, 10, seed=1))
    assert np.array_equal(generate(gpu, prompt, 10, seed=1),
                          generate(gpu, prompt, 10, seed=1, use_cache=False))
