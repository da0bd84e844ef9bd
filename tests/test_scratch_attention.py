"""course_lib.scratch.attention: scaled dot-product and multi-head attention equal
torch.nn.functional.scaled_dot_product_attention and torch.nn.MultiheadAttention (outputs,
weights and every gradient, float64, <= 1e-10), the pre-LN block equals a torch block with
copied weights, and the masks, positional encodings, GELU, Nadaraya-Watson regression and
entropies behave as their formulas say. Bad inputs give clear errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.scratch.attention import (
    AttentionCache,
    attention_weights,
    block_params_from_torch,
    causal_mask,
    gelu,
    gelu_backward,
    init_block_params,
    init_mha_params,
    merge_heads,
    mha_params_from_torch,
    multihead_attention_backward,
    multihead_attention_forward,
    nadaraya_watson,
    padding_mask,
    rope,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
    sinusoidal_encoding,
    sinusoidal_shift,
    softmax_entropy,
    split_heads,
    transformer_block_forward,
)
from course_lib.scratch.gradcheck import numeric_vjp, rel_error
from course_lib.scratch.information import entropy

TOL = 1e-10          # largest relative error accepted against torch in float64


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("T_q, T_k", [(1, 1), (4, 4), (3, 7), (1, 5), (6, 9)])
def test_causal_mask_equals_torch_tril(T_q, T_k):
    want = torch.ones(T_q, T_k).tril(diagonal=T_k - T_q).bool().numpy()
    got = causal_mask(T_q, T_k)
    assert got.dtype == np.bool_ and got.shape == (T_q, T_k)
    np.testing.assert_array_equal(got, want)
    if T_q == T_k:
        np.testing.assert_array_equal(causal_mask(T_q), got)


def test_causal_mask_with_a_kv_cache_is_the_last_rows_of_the_full_mask():
    np.testing.assert_array_equal(causal_mask(3, 8), causal_mask(8)[-3:])


def test_padding_mask_marks_the_real_keys_and_broadcasts():
    m = padding_mask([3, 1, 5], 5)
    assert m.shape == (3, 1, 1, 5) and m.dtype == np.bool_
    np.testing.assert_array_equal(m[:, 0, 0], [[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1] * 5])
    assert np.broadcast_shapes(m.shape, (3, 4, 2, 5)) == (3, 4, 2, 5)


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention against torch
# ---------------------------------------------------------------------------------------------

# (leading axes, T_q, T_k, d, d_v): batch and heads, T_q != T_k, d != d_v, batch of one,
# one query, no leading axes, T_k < T_q; longer sequences, where the max over keys takes
# several halving steps with an odd count left over (65 → 32 + 1 → 16 ...).
SDPA_SHAPES = [((2, 3), 5, 7, 8, 4), ((1,), 1, 6, 4, 5), ((3, 2), 4, 4, 2, 6), ((), 3, 9, 5, 3),
               ((2, 1), 6, 2, 3, 3), ((1, 1), 1, 1, 1, 1), ((2, 2), 33, 64, 4, 4),
               ((1,), 65, 65, 3, 2)]


def _mask(kind, lead, T_q, T_k, rng):
    """A bool mask (True = may attend) of the given kind, with at least one key per query."""
    if kind == "none":
        return None
    if kind == "causal":
        return causal_mask(T_q, T_k) if T_k >= T_q else np.tril(np.ones((T_q, T_k), bool))
    if kind == "padding":
        B = lead[0] if lead else 1
        m = padding_mask(rng.integers(1, T_k + 1, size=B), T_k)          # (B, 1, 1, T_k)
        return m.reshape((B,) + (1,) * (len(lead) - 1) + (1, T_k)) if lead else m[0, 0]
    m = rng.random(lead + (T_q, T_k)) < 0.5
    m[..., rng.integers(T_k)] = True                                     # no empty row
    return m


def _torch_sdpa(Q, K, V, mask, dout, scale=None):
    """out, dQ, dK, dV from torch's F.scaled_dot_product_attention (float64, autograd)."""
    Qt, Kt, Vt = _t(Q, True), _t(K, True), _t(V, True)
    mt = None if mask is None else torch.from_numpy(mask)
    out = F.scaled_dot_product_attention(Qt, Kt, Vt, attn_mask=mt, scale=scale)
    out.backward(_t(dout))
    return [a.detach().numpy() for a in (out, Qt.grad, Kt.grad, Vt.grad)]


@pytest.mark.parametrize("kind", ["none", "causal", "padding", "random"])
@pytest.mark.parametrize("lead, T_q, T_k, d, d_v", SDPA_SHAPES)
def test_sdpa_forward_and_backward_equal_torch(lead, T_q, T_k, d, d_v, kind):
    rng = np.random.default_rng([T_q, T_k, d, d_v, len(kind)])
    Q, K = rng.normal(size=lead + (T_q, d)), rng.normal(size=lead + (T_k, d))
    V, dout = rng.normal(size=lead + (T_k, d_v)), rng.normal(size=lead + (T_q, d_v))
    mask = _mask(kind, lead, T_q, T_k, rng)

    out, cache = scaled_dot_product_attention(Q, K, V, mask)
    grads = scaled_dot_product_attention_backward(dout, cache)
    ref = _torch_sdpa(Q, K, V, mask, dout)
    assert out.shape == lead + (T_q, d_v)
    for name, got, want in zip(["out", "dQ", "dK", "dV"], (out, *grads), ref, strict=True):
        assert got.shape == want.shape, name
        assert rel_error(got, want) <= TOL, (name, rel_error(got, want))
    # the weights: rows sum to 1, masked keys get exactly 0, and attention_weights agrees
    np.testing.assert_allclose(cache.A.sum(axis=-1), 1.0, rtol=1e-14)
    if mask is not None:
        assert np.all(cache.A[~np.broadcast_to(mask, cache.A.shape)] == 0.0)
    np.testing.assert_array_equal(attention_weights(Q, K, mask), cache.A)


@pytest.mark.parametrize("scale", [1.0, 0.05, 3.0])
def test_sdpa_custom_scale_equals_torch(scale):
    rng = np.random.default_rng(1)
    Q, K, V = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 2))
    dout = rng.normal(size=(2, 4, 2))
    out, cache = scaled_dot_product_attention(Q, K, V, causal_mask(4, 5), scale=scale)
    ref = _torch_sdpa(Q, K, V, causal_mask(4, 5), dout, scale=scale)
    for got, want in zip((out, *scaled_dot_product_attention_backward(dout, cache)), ref,
                         strict=True):
        assert rel_error(got, want) <= TOL


def test_sdpa_broadcasts_leading_axes_and_sums_their_gradients():
    """K and V shared by all heads (leading axes (2, 1) against Q's (2, 3))."""
    rng = np.random.default_rng(2)
    Q, K, V = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 1, 6, 5)), \
        rng.normal(size=(2, 1, 6, 2))
    dout = rng.normal(size=(2, 3, 4, 2))
    out, cache = scaled_dot_product_attention(Q, K, V)
    dQ, dK, dV = scaled_dot_product_attention_backward(dout, cache)
    Qt, Kt, Vt = _t(Q, True), _t(K, True), _t(V, True)
    ref = F.scaled_dot_product_attention(Qt, Kt.expand(2, 3, 6, 5), Vt.expand(2, 3, 6, 2))
    ref.backward(_t(dout))
    assert dK.shape == K.shape and dV.shape == V.shape
    for got, want in ((out, ref), (dQ, Qt.grad), (dK, Kt.grad), (dV, Vt.grad)):
        assert rel_error(got, want.detach().numpy()) <= TOL


@pytest.mark.parametrize("kind", ["none", "padding"])
def test_sdpa_backward_numeric_gradient_check(kind):
    rng = np.random.default_rng(3)
    Q, K, V = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))
    dout = rng.normal(size=(2, 3, 3))
    mask = None if kind == "none" else padding_mask([5, 2], 5)[:, 0]      # (2, 1, 5)
    _, cache = scaled_dot_product_attention(Q, K, V, mask)
    grads = scaled_dot_product_attention_backward(dout, cache)
    args = {"Q": Q, "K": K, "V": V}
    for (name, x), g in zip(args.items(), grads, strict=True):
        def f(z, name=name):
            return scaled_dot_product_attention(**{**args, name: z}, mask=mask)[0]
        err = rel_error(g, numeric_vjp(f, x, dout, h=1e-3, order=4))
        assert err < 1e-8, (name, err)


def test_fully_masked_query_rows_give_zero_weights_outputs_and_gradients():
    """Query 1 may attend to nothing. Defined here as weights 0, output 0, no gradient.
    torch 2.13's F.scaled_dot_product_attention (CPU) gives the same zeros, while
    nn.MultiheadAttention(need_weights=True) gives NaN on that row."""
    rng = np.random.default_rng(4)
    Q, K, V = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))
    dout = rng.normal(size=(2, 3, 3))
    mask = rng.random((2, 3, 5)) < 0.6
    mask[:, :, 0] = True
    mask[:, 1, :] = False                                  # query 1: every key masked
    mask[1, 2, :] = False                                  # and query 2 of the second batch
    dead = ~mask.any(axis=-1)                              # (2, 3)

    out, cache = scaled_dot_product_attention(Q, K, V, mask)
    dQ, dK, dV = scaled_dot_product_attention_backward(dout, cache)
    assert all(np.all(np.isfinite(a)) for a in (out, cache.A, dQ, dK, dV))
    assert np.all(cache.A[dead] == 0) and np.all(out[dead] == 0) and np.all(dQ[dead] == 0)
    np.testing.assert_allclose(cache.A[~dead].sum(axis=-1), 1.0, rtol=1e-14)
    assert np.all(softmax_entropy(cache.A)[dead] == 0)

    ref = _torch_sdpa(Q, K, V, mask, dout)
    assert np.all(ref[0][dead] == 0) and np.all(ref[1][dead] == 0)   # torch: zeros too
    for got, want in zip((out, dQ, dK, dV), ref, strict=True):
        assert rel_error(got, want) <= TOL                  # all rows, fully masked included

    mha = nn.MultiheadAttention(4, 1, batch_first=True, dtype=torch.float64)
    x = _t(rng.normal(size=(1, 3, 4)))
    blocked = torch.zeros(3, 3, dtype=torch.bool)
    blocked[1] = True                                       # torch MHA: True = blocked
    y, w = mha(x, x, x, attn_mask=blocked, need_weights=True)
    assert torch.isnan(y[0, 1]).all() and torch.isnan(w[0, 1]).all()
    assert not torch.isnan(y[0, [0, 2]]).any()


def test_self_attention_is_permutation_equivariant():
    """Without a mask or positions, shuffling the tokens shuffles the outputs the same way
    (and shuffling only the key-value pairs changes nothing)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 7, 8))
    perm = rng.permutation(7)
    params = init_mha_params(8, rng)
    out, _ = multihead_attention_forward(x, x, x, params, 2)
    out_p, _ = multihead_attention_forward(x[:, perm], x[:, perm], x[:, perm], params, 2)
    np.testing.assert_allclose(out_p, out[:, perm], rtol=1e-12, atol=1e-14)
    kv, _ = multihead_attention_forward(x, x[:, perm], x[:, perm], params, 2)
    np.testing.assert_allclose(kv, out, rtol=1e-12, atol=1e-14)
    # positions added to the tokens (not permuted with them) break the symmetry
    y, y_p = x + sinusoidal_encoding(7, 8), x[:, perm] + sinusoidal_encoding(7, 8)
    out_pe, _ = multihead_attention_forward(y, y, y, params, 2)
    out_pe_p, _ = multihead_attention_forward(y_p, y_p, y_p, params, 2)
    assert not np.allclose(out_pe_p, out_pe[:, perm])


def _spy_threads(monkeypatch):
    """Record the thread of every chunk that scaled_dot_product_attention(_backward) splits."""
    import threading

    from course_lib.scratch import attention
    idents, real = [], attention.split_batch

    def spy(fn, n, work, threads=None):
        def chunk(sl):
            idents.append(threading.get_ident())
            fn(sl)
        real(chunk, n, work, threads)

    monkeypatch.setattr(attention, "split_batch", spy)
    return idents


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["none", "causal", "padding", "random"])
def test_the_batch_split_over_threads_is_bit_identical_to_one_thread(kind, dtype, threads,
                                                                     monkeypatch):
    """Work big enough to be split (course_lib.scratch.parallel): the same bits as one thread,
    and (float64) torch's values; K and V shared by the heads (leading axes (6, 1))."""
    from course_lib.scratch.parallel import use_threads
    rng = np.random.default_rng([threads, len(kind), np.dtype(dtype).itemsize])
    lead, T_q, T_k = (6, 2), 96, 100
    Q = rng.normal(size=lead + (T_q, 8)).astype(dtype)
    K, V = (rng.normal(size=(6, 1, T_k, n)).astype(dtype) for n in (8, 5))
    dout = rng.normal(size=lead + (T_q, 5)).astype(dtype)
    mask = _mask(kind, lead, T_q, T_k, rng)
    with use_threads(1):
        out1, cache1 = scaled_dot_product_attention(Q, K, V, mask)
        grads1 = scaled_dot_product_attention_backward(dout, cache1)
    idents = _spy_threads(monkeypatch)
    with use_threads(threads):
        out, cache = scaled_dot_product_attention(Q, K, V, mask)
        grads = scaled_dot_product_attention_backward(dout, cache)
    assert len(set(idents)) > 1, "the work was not split"
    for got, want in zip((out, cache.A, *grads), (out1, cache1.A, *grads1), strict=True):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    if dtype == np.float64:
        ref = _torch_sdpa(Q, np.broadcast_to(K, lead + (T_k, 8)).copy(),
                          np.broadcast_to(V, lead + (T_k, 5)).copy(), mask, dout)
        ref[2:] = [g.sum(axis=1, keepdims=True) for g in ref[2:]]
        for got, want in zip((out, *grads), ref, strict=True):
            assert rel_error(got, want) <= TOL


def test_float32_inputs_stay_float32():
    rng = np.random.default_rng(6)
    Q, K, V = (rng.normal(size=(2, 3, 4)).astype(np.float32) for _ in range(3))
    out, cache = scaled_dot_product_attention(Q, K, V, causal_mask(3))
    assert out.dtype == np.float32 and cache.A.dtype == np.float32
    assert scaled_dot_product_attention_backward(np.ones_like(out), cache)[0].dtype == np.float32


# ---------------------------------------------------------------------------------------------
# Multi-head attention against torch.nn.MultiheadAttention
# ---------------------------------------------------------------------------------------------

def _mha_pair(E, h, rng):
    """Random scratch params (non-zero biases) and a float64 torch MHA holding them."""
    p = {"W_in": 0.5 * rng.normal(size=(3 * E, E)), "b_in": 0.5 * rng.normal(size=3 * E),
         "W_out": 0.5 * rng.normal(size=(E, E)), "b_out": 0.5 * rng.normal(size=E)}
    m = nn.MultiheadAttention(E, h, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        m.in_proj_weight.copy_(_t(p["W_in"]))
        m.in_proj_bias.copy_(_t(p["b_in"]))
        m.out_proj.weight.copy_(_t(p["W_out"]))
        m.out_proj.bias.copy_(_t(p["b_out"]))
    return p, m


def _torch_masks(kind, mask, B, h, T_q, T_k):
    """Our mask (True = may attend) as torch MHA's (attn_mask, key_padding_mask), True =
    blocked: the opposite convention."""
    if kind == "none":
        return None, None
    if kind == "padding":
        return None, torch.from_numpy(~mask[:, 0, 0, :])                  # (B, T_k)
    if kind == "causal":
        return torch.from_numpy(~mask), None                              # (T_q, T_k)
    return torch.from_numpy(~mask.reshape(B * h, T_q, T_k)), None         # per batch and head


# (B, T_q, T_k, E, n_heads); T_q == T_k for self-attention.
MHA_CASES = [(2, 5, 5, 8, 1), (3, 4, 4, 8, 2), (2, 6, 6, 8, 4), (1, 1, 1, 4, 4),
             (2, 3, 6, 8, 2), (1, 4, 7, 6, 1), (3, 1, 5, 8, 4)]


@pytest.mark.parametrize("kind", ["none", "causal", "padding", "random"])
@pytest.mark.parametrize("B, T_q, T_k, E, h", MHA_CASES)
def test_mha_forward_weights_and_gradients_equal_torch(B, T_q, T_k, E, h, kind):
    rng = np.random.default_rng([B, T_q, T_k, E, h, len(kind)])
    p, m = _mha_pair(E, h, rng)
    self_attn = T_q == T_k
    q = rng.normal(size=(B, T_q, E))
    k, v = (q, q) if self_attn else (rng.normal(size=(B, T_k, E)), rng.normal(size=(B, T_k, E)))
    dout = rng.normal(size=(B, T_q, E))
    mask = {"none": None, "causal": causal_mask(T_q, T_k),
            "padding": padding_mask(rng.integers(1, T_k + 1, size=B), T_k),
            "random": _mask("random", (B, h), T_q, T_k, rng)}[kind]

    out, cache = multihead_attention_forward(q, k, v, p, h, mask)
    dq, dk, dv, grads = multihead_attention_backward(dout, cache)

    attn_mask, kpm = _torch_masks(kind, mask, B, h, T_q, T_k)
    if self_attn:                                   # one tensor x = q = k = v, as in a model
        qt = _t(q, True)
        kt = vt = qt
    else:
        qt, kt, vt = _t(q, True), _t(k, True), _t(v, True)
    ref, w = m(qt, kt, vt, attn_mask=attn_mask, key_padding_mask=kpm, need_weights=True,
               average_attn_weights=False)
    ref.backward(_t(dout))
    # The key bias gets no gradient: it adds q·b_k to every score of a row, and softmax
    # ignores a constant added to a whole row. Both sides give round-off there (~1e-16), so
    # only the query and value parts of b_in are compared as relative errors.
    db_ref = m.in_proj_bias.grad.numpy()
    np.testing.assert_allclose(grads["b_in"][E:2 * E], 0.0, atol=1e-12)
    np.testing.assert_allclose(db_ref[E:2 * E], 0.0, atol=1e-12)
    keep = np.r_[0:E, 2 * E:3 * E]
    pairs = [("out", out, ref), ("weights", cache.weights, w),
             ("W_in", grads["W_in"], m.in_proj_weight.grad),
             ("b_in (q, v)", grads["b_in"][keep], m.in_proj_bias.grad[keep]),
             ("W_out", grads["W_out"], m.out_proj.weight.grad),
             ("b_out", grads["b_out"], m.out_proj.bias.grad)]
    if self_attn:
        pairs.append(("dx", dq + dk + dv, qt.grad))
    else:
        pairs += [("dq", dq, qt.grad), ("dk", dk, kt.grad), ("dv", dv, vt.grad)]
    for name, got, want in pairs:
        want = want.detach().numpy()
        assert got.shape == want.shape, name
        assert rel_error(got, want) <= TOL, (name, rel_error(got, want))


def test_mha_params_from_torch_and_init():
    rng = np.random.default_rng(7)
    p, m = _mha_pair(6, 3, rng)
    got = mha_params_from_torch(m)
    assert set(got) == {"W_in", "b_in", "W_out", "b_out"}
    for key in p:
        assert got[key].dtype == np.float64
        np.testing.assert_array_equal(got[key], p[key])
    got["W_in"][0, 0] += 1.0                         # a copy: the module is not touched
    assert m.in_proj_weight[0, 0].item() == p["W_in"][0, 0]
    init = init_mha_params(6, np.random.default_rng(0))
    assert {k: v.shape for k, v in init.items()} == {k: v.shape for k, v in p.items()}
    np.testing.assert_array_equal(init["W_in"], init_mha_params(6, 0)["W_in"])  # seeded
    assert np.abs(init["W_in"]).max() <= np.sqrt(6 / 24) and np.all(init["b_in"] == 0)


def test_split_and_merge_heads():
    x = np.arange(2 * 3 * 8, dtype=float).reshape(2, 3, 8)
    s = split_heads(x, 4)
    assert s.shape == (2, 4, 3, 2)
    np.testing.assert_array_equal(s[1, 2, 0], x[1, 0, 4:6])       # head 2 = features 4, 5
    np.testing.assert_array_equal(merge_heads(s), x)


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("T, d", [(1, 2), (10, 4), (50, 16), (7, 6)])
def test_sinusoidal_encoding_values_and_shift(T, d):
    PE = sinusoidal_encoding(T, d)
    assert PE.shape == (T, d)
    np.testing.assert_array_equal(PE[0, 0::2], 0.0)
    np.testing.assert_array_equal(PE[0, 1::2], 1.0)
    t = np.arange(T)[:, None]
    np.testing.assert_allclose(PE[:, 0], np.sin(t[:, 0]), rtol=0, atol=1e-15)     # ω_0 = 1
    np.testing.assert_allclose(PE[:, -1], np.cos(t[:, 0] * 1e4 ** (-(d - 2) / d)), atol=1e-15)
    big = sinusoidal_encoding(T + 20, d)
    for k in (0, 1, 3, 20):
        np.testing.assert_allclose(big[k:k + T], PE @ sinusoidal_shift(k, d), rtol=0, atol=1e-12)
    np.testing.assert_allclose(big[3:3 + T] @ sinusoidal_shift(-3, d), PE, rtol=0, atol=1e-12)
    M = sinusoidal_shift(5, d)
    np.testing.assert_allclose(M @ M.T, np.eye(d), atol=1e-15)   # a rotation
    np.testing.assert_allclose(sinusoidal_shift(-5, d), M.T, atol=1e-15)


def test_sinusoidal_encoding_with_another_base():
    PE = sinusoidal_encoding(4, 4, base=100.0)
    np.testing.assert_allclose(PE[3], [np.sin(3), np.cos(3), np.sin(0.3), np.cos(0.3)],
                               rtol=1e-15)


def test_rope_relative_positions_norms_and_identity_at_zero():
    rng = np.random.default_rng(8)
    d = 8
    q, k = rng.normal(size=d), rng.normal(size=d)
    T = 40
    rq = rope(np.tile(q, (T, 1)))                   # q at every position 0 ... T-1, (T, d)
    rk = rope(np.tile(k, (T, 1)))
    for offset in (0, 1, 5, -3, 17):
        dots = [rq[m] @ rk[m - offset] for m in range(max(offset, 0), min(T, T + offset))]
        np.testing.assert_allclose(dots, dots[0], rtol=1e-12)     # depends on m − n only
    x = rng.normal(size=(2, 3, T, d))
    rx = rope(x)
    np.testing.assert_allclose(np.linalg.norm(rx, axis=-1), np.linalg.norm(x, axis=-1),
                               rtol=1e-13)
    np.testing.assert_array_equal(rx[..., 0, :], x[..., 0, :])     # position 0: identity
    np.testing.assert_array_equal(rope(x[..., :1, :], positions=[0]), x[..., :1, :])
    # positions given explicitly (a KV cache: the last 4 tokens at positions 36 ... 39)
    np.testing.assert_allclose(rope(x[..., -4:, :], positions=np.arange(36, 40)),
                               rx[..., -4:, :], rtol=1e-15, atol=1e-15)
    # as row vectors, rope(x)[t] = x[t] @ sinusoidal_shift(-t)
    np.testing.assert_allclose(rx[0, 0, 7], x[0, 0, 7] @ sinusoidal_shift(-7, d), atol=1e-14)


def test_rope_rotates_the_pairs_by_hand():
    x = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 2.0, 0.0]])    # positions 0 and 1, d = 4
    out = rope(x, base=100.0)                                      # ω = (1, 0.1)
    np.testing.assert_allclose(out[1], [np.cos(1), np.sin(1), 2 * np.cos(0.1), 2 * np.sin(0.1)],
                               rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# GELU and the pre-LN Transformer block
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (1,)])
def test_gelu_and_its_gradient_equal_torch(shape):
    rng = np.random.default_rng(len(shape))
    x = 3 * rng.normal(size=shape)
    x.flat[0] = 0.0
    dout = rng.normal(size=shape)
    xt = _t(x, True)
    y = F.gelu(xt, approximate="tanh")
    y.backward(_t(dout))
    assert rel_error(gelu(x), y.detach().numpy()) <= TOL
    assert rel_error(gelu_backward(dout, x), xt.grad.numpy()) <= TOL
    x = rng.normal(size=shape)              # where gelu' is not ~1e-20 (far left tail)
    assert rel_error(gelu_backward(dout, x), numeric_vjp(gelu, x, dout, h=1e-3, order=4)) < 1e-9


class TorchBlock(nn.Module):
    """The reference pre-LN Transformer block (float64)."""

    def __init__(self, E, h, hidden):
        super().__init__()
        kw = dict(dtype=torch.float64)
        self.ln1 = nn.LayerNorm(E, **kw)
        self.attn = nn.MultiheadAttention(E, h, batch_first=True, **kw)
        self.ln2 = nn.LayerNorm(E, **kw)
        self.fc1 = nn.Linear(E, hidden, **kw)
        self.fc2 = nn.Linear(hidden, E, **kw)

    def forward(self, x, mask=None):
        """mask: bool (T, T), True = may attend (converted to torch MHA's True = blocked)."""
        a = self.ln1(x)
        att, w = self.attn(a, a, a, attn_mask=None if mask is None else ~mask,
                           need_weights=True, average_attn_weights=False)
        h = x + att
        return h + self.fc2(F.gelu(self.fc1(self.ln2(h)), approximate="tanh")), w


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("B, T, E, h, hidden", [(2, 5, 8, 2, 32), (1, 1, 4, 1, 8),
                                                (3, 6, 12, 4, 20)])
def test_transformer_block_equals_torch(B, T, E, h, hidden, causal):
    torch.manual_seed(B * T + E)
    block = TorchBlock(E, h, hidden)
    with torch.no_grad():                      # make every parameter non-trivial
        for prm in block.parameters():
            prm.add_(0.3 * torch.randn_like(prm))
    x = np.random.default_rng(T).normal(size=(B, T, E))
    mask = causal_mask(T) if causal else None
    params = block_params_from_torch(block)
    out, w = transformer_block_forward(x, params, h, mask)
    with torch.no_grad():
        ref, ref_w = block(_t(x), None if mask is None else torch.from_numpy(mask))
    assert out.shape == (B, T, E) and w.shape == (B, h, T, T)
    assert rel_error(out, ref.numpy()) <= TOL
    assert rel_error(w, ref_w.numpy()) <= TOL
    np.testing.assert_array_equal(params["W1"], block.fc1.weight.detach().numpy().T)


def test_init_block_params_round_trip_through_torch():
    E, h, hidden = 8, 2, 16
    p = init_block_params(E, h, hidden, np.random.default_rng(9))
    assert p["W1"].shape == (E, hidden) and p["W2"].shape == (hidden, E)
    block = TorchBlock(E, h, hidden)
    with torch.no_grad():
        for name in ("ln1", "ln2"):
            getattr(block, name).weight.copy_(_t(p[f"{name}_g"]))
            getattr(block, name).bias.copy_(_t(p[f"{name}_b"]))
        block.attn.in_proj_weight.copy_(_t(p["attn"]["W_in"]))
        block.attn.in_proj_bias.copy_(_t(p["attn"]["b_in"]))
        block.attn.out_proj.weight.copy_(_t(p["attn"]["W_out"]))
        block.attn.out_proj.bias.copy_(_t(p["attn"]["b_out"]))
        for i in (1, 2):
            getattr(block, f"fc{i}").weight.copy_(_t(p[f"W{i}"].T))
            getattr(block, f"fc{i}").bias.copy_(_t(p[f"b{i}"]))
    back = block_params_from_torch(block)
    for key, val in p.items():
        for a, b in ((val, back[key]),) if key != "attn" else \
                ((val[k], back[key][k]) for k in val):
            np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).normal(size=(2, 4, E))
    with torch.no_grad():
        ref, _ = block(_t(x), torch.from_numpy(causal_mask(4)))
    assert rel_error(transformer_block_forward(x, p, h, causal_mask(4))[0], ref.numpy()) <= TOL


# ---------------------------------------------------------------------------------------------
# Nadaraya-Watson kernel regression and the entropy of attention rows
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("d_v", [None, 3])
def test_nadaraya_watson_is_the_explicit_formula(d_v):
    rng = np.random.default_rng(10)
    xk, xq = rng.uniform(0, 5, size=12), rng.uniform(0, 5, size=7)
    y = rng.normal(size=12 if d_v is None else (12, d_v))
    y_hat, w = nadaraya_watson(xq, xk, y, 0.7)
    assert w.shape == (7, 12) and y_hat.shape == (7,) + y.shape[1:]
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-14)
    K = np.exp(-(xq[:, None] - xk[None, :]) ** 2 / (2 * 0.7**2))
    np.testing.assert_allclose(w, K / K.sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(y_hat, (K @ y) / K.sum(axis=1).reshape((-1,) + (1,) * (y.ndim - 1)),
                               rtol=1e-12)


def test_nadaraya_watson_bandwidth_limits():
    rng = np.random.default_rng(11)
    xk = np.arange(10) * 0.5 + rng.uniform(0, 0.1, size=10)      # keys at least 0.4 apart
    y = rng.normal(size=(10, 2))
    pick = rng.integers(10, size=6)
    xq = xk[pick] + rng.uniform(-0.05, 0.05, size=6)            # each query near one key
    y_hat, w = nadaraya_watson(xq, xk, y, 1e-3)                  # h -> 0: nearest neighbour
    np.testing.assert_array_equal(w.argmax(axis=1), pick)
    np.testing.assert_allclose(y_hat, y[pick], rtol=1e-12)
    y_hat, w = nadaraya_watson(xq, xk, y, 1e6)                   # h -> inf: the mean
    np.testing.assert_allclose(w, 0.1, rtol=1e-9)
    np.testing.assert_allclose(y_hat, np.broadcast_to(y.mean(axis=0), (6, 2)), rtol=1e-9)


def test_softmax_entropy():
    w = np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0, 0, 0], [0, 0, 0, 0], [0.5, 0.5, 0, 0]])
    np.testing.assert_allclose(softmax_entropy(w), [np.log(4), 0, 0, np.log(2)], rtol=1e-15)
    rng = np.random.default_rng(12)
    A = attention_weights(rng.normal(size=(2, 3, 5, 4)), rng.normal(size=(2, 3, 6, 4)))
    H = softmax_entropy(A)
    assert H.shape == (2, 3, 5)
    np.testing.assert_allclose(H, entropy(A), rtol=1e-14)
    np.testing.assert_allclose(softmax_entropy(A.swapaxes(-1, -2), axis=-2), H, rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# Clear errors
# ---------------------------------------------------------------------------------------------

def _bad_inputs():
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(2, 4, 8)), rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 5, 3))
    p = init_mha_params(8, rng)
    x = rng.normal(size=(2, 4, 8))
    _, cache = scaled_dot_product_attention(Q, K, V)
    return [
        (lambda: scaled_dot_product_attention(Q[0, 0], K, V), ValueError,
         r"Q must be \(\.\.\., T_q, d\), got shape \(8,\)"),
        (lambda: scaled_dot_product_attention(Q, rng.normal(size=(2, 5, 7)), V), ValueError,
         r"scaled_dot_product_attention: K must be \(\.\.\., T_k, d\) with the d of Q \(8\), "
         r"got shape \(2, 5, 7\)"),
        (lambda: scaled_dot_product_attention(Q, K, V[:, :4]), ValueError,
         r"V must be \(\.\.\., T_k, d_v\) with the T_k of K \(5\)"),
        (lambda: scaled_dot_product_attention(Q, K[:1].repeat(3, 0), V), ValueError,
         "leading .* must broadcast"),
        (lambda: scaled_dot_product_attention(Q, K, V, causal_mask(5)), ValueError,
         r"mask must broadcast to the scores' shape \(\.\.\., T_q, T_k\) = \(2, 4, 5\), "
         r"got shape \(5, 5\)"),
        (lambda: scaled_dot_product_attention(Q, K, V, padding_mask([5, 3], 5)), ValueError,
         "mask must broadcast"),
        (lambda: scaled_dot_product_attention(Q, K, V, np.ones((4, 5))), TypeError,
         "mask must be a bool array .*got dtype float64"),
        (lambda: scaled_dot_product_attention(Q, K, V, scale=0.0), ValueError,
         "scale must be finite and > 0"),
        (lambda: scaled_dot_product_attention(torch.tensor(Q), K, V), TypeError,
         "Q must be a NumPy array, got a torch tensor"),
        (lambda: attention_weights(Q, K[..., :3]), ValueError, "attention_weights: K must be"),
        (lambda: scaled_dot_product_attention_backward(np.ones((2, 4, 8)), cache), ValueError,
         r"dout must have the shape of the forward output \(2, 4, 3\)"),
        (lambda: scaled_dot_product_attention_backward(np.ones((2, 4, 3)), (Q, K, V)), TypeError,
         "cache must be the AttentionCache"),
        (lambda: causal_mask(5, 3), ValueError, r"causal_mask: T_k must be in \[5, inf\]"),
        (lambda: padding_mask([2.0, 3.0], 4), TypeError, r"lengths\[0\] must be an int"),
        (lambda: padding_mask([2, 7], 4), ValueError, r"lengths\[1\] must be in \[0, 4\]"),
        (lambda: multihead_attention_forward(x, x, x, p, 3), ValueError,
         "n_heads=3 must divide the embedding size E=8"),
        (lambda: multihead_attention_forward(x[0], x, x, p, 2), ValueError,
         r"q must be a 3-D array, got shape \(4, 8\)"),
        (lambda: multihead_attention_forward(x[..., :6], x, x, p, 2), ValueError,
         r"q must be \(B, T_q, E\) with the E of params \(8\)"),
        (lambda: multihead_attention_forward(x, x[:1], x[:1], p, 2), ValueError,
         r"k must be \(B, T_k, E\) = \(2, T_k, 8\)"),
        (lambda: multihead_attention_forward(x, x, x[:, :3], p, 2), ValueError,
         "v must be .* the shape of k"),
        (lambda: multihead_attention_forward(x, x, x, p, 2, causal_mask(3)), ValueError,
         r"mask must broadcast to .* = \(2, 2, 4, 4\)"),
        (lambda: multihead_attention_forward(x, x, x, {"W_in": p["W_in"]}, 2), ValueError,
         r"params is missing \['b_in', 'W_out', 'b_out'\]"),
        (lambda: multihead_attention_forward(x, x, x, {**p, "b_out": np.ones(3)}, 2), ValueError,
         r"params\['b_out'\] must be \(E,\) = \(8,\), got \(3,\)"),
        (lambda: multihead_attention_backward(np.ones((2, 4, 8)), cache), TypeError,
         "cache must be the MHACache"),
        (lambda: split_heads(x, 5), ValueError, "n_heads=5 must divide"),
        (lambda: sinusoidal_encoding(10, 7), ValueError, "d must be even .* got d=7"),
        (lambda: sinusoidal_shift(1, 5), ValueError, "sinusoidal_shift: d must be even"),
        (lambda: rope(rng.normal(size=(4, 5))), ValueError, "rope: d must be even"),
        (lambda: rope(rng.normal(size=(4, 6)), positions=np.arange(3)), ValueError,
         r"positions must have shape \(T,\) = \(4,\)"),
        (lambda: rope(np.ones(6)), ValueError, r"x must be \(\.\.\., T, d\)"),
        (lambda: nadaraya_watson(Q[0, 0], Q[0, 0], Q[0, 0], 0.0), ValueError,
         "bandwidth must be finite and > 0"),
        (lambda: nadaraya_watson(Q[0, 0], Q[0, 0], Q[0, 0], -1.0), ValueError,
         "bandwidth must be finite and > 0"),
        (lambda: nadaraya_watson(Q[0, 0], Q[0, 0], Q[0, :5], 1.0), ValueError,
         "y_values must have one row per key"),
        (lambda: softmax_entropy(-Q), ValueError, "weights must be >= 0"),
        (lambda: gelu_backward(np.ones(3), np.ones(4)), ValueError, "dout must have the shape"),
        (lambda: init_block_params(8, 3, 16, 0), ValueError, "n_heads=3 must divide"),
        (lambda: transformer_block_forward(x, {"W1": 1}, 2), ValueError,
         "params must be a dict with keys"),
        (lambda: block_params_from_torch(nn.Linear(2, 2)), TypeError,
         r"missing \['ln1', 'attn', 'ln2', 'fc1', 'fc2'\]"),
        (lambda: mha_params_from_torch(nn.Linear(2, 2)), TypeError,
         "module must be a torch.nn.MultiheadAttention"),
    ]


@pytest.mark.parametrize("i", range(len(_bad_inputs())))
def test_bad_inputs_give_clear_errors(i):
    call, exc, match = _bad_inputs()[i]
    with pytest.raises(exc, match=match):
        call()


def test_inputs_are_left_unchanged_and_cache_holds_them():
    rng = np.random.default_rng(13)
    Q, K, V = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    keep = [a.copy() for a in (Q, K, V)]
    out, cache = scaled_dot_product_attention(Q, K, V, causal_mask(3))
    scaled_dot_product_attention_backward(np.ones_like(out), cache)
    rope(Q)
    for a, b in zip((Q, K, V), keep, strict=True):
        np.testing.assert_array_equal(a, b)
    assert isinstance(cache, AttentionCache) and cache.scale == 0.5
