"""course_lib.scratch.quantize: codes equal PyTorch's torch.quantize_per_tensor /
quantize_per_channel and fake_quantize_*_affine on random shapes and edge cases (one element,
all zeros, constant channels, one-signed tensors, exact half-steps, huge dynamic range), per
tensor and per channel on axes 0 and 1, for 8 and 4 bits; the round trip is within scale / 2;
per-channel beats per-tensor on rows of very different scale; int8_matmul equals a brute-force
integer triple loop and cannot overflow int32 up to max_safe_k; quantized_linear is close to
x @ W.T + b. Bad inputs give clear errors."""

import inspect
import math

import numpy as np
import pytest
import torch

from course_lib.scratch import quantize as quantize_module
from course_lib.scratch.quantize import (
    INT32_MAX,
    QParams,
    affine_qparams,
    dequantize,
    fake_quantize,
    int8_matmul,
    max_safe_k,
    model_size_bytes,
    quantization_error,
    quantize,
    quantized_linear,
    symmetric_qparams,
)

# quantize_per_tensor & co. warn that quint8 / qint8 tensors are deprecated; they are only
# the reference here.
pytestmark = pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")


def edge_cases():
    """(name, float32 array) pairs, random and awkward."""
    rng = np.random.default_rng(0)
    sign = rng.choice([-1.0, 1.0], size=(6, 9))
    return [
        ("one element", np.array([3.7], np.float32)),
        ("one negative element", np.array([-2.0], np.float32)),
        ("all zeros", np.zeros((4, 5), np.float32)),
        ("negative only", -rng.uniform(1, 5, size=(5, 7)).astype(np.float32)),
        ("positive only", rng.uniform(1, 5, size=(5, 7)).astype(np.float32)),
        ("huge dynamic range", (sign * 10.0 ** rng.uniform(-4, 4, size=(6, 9)))
         .astype(np.float32)),
        ("normal 1-D", rng.normal(size=7).astype(np.float32)),
        ("normal 2-D", rng.normal(size=(3, 5)).astype(np.float32)),
        ("normal 3-D", rng.normal(size=(2, 3, 4)).astype(np.float32)),
    ]


CASES = edge_cases()
CASE_IDS = [name for name, _ in CASES]
KINDS = {
    "symmetric": lambda x, axis, bits=8: symmetric_qparams(x, bits=bits, axis=axis),
    "affine uint": lambda x, axis, bits=8: affine_qparams(x, bits=bits, axis=axis),
    "affine int": lambda x, axis, bits=8: affine_qparams(x, bits=bits, axis=axis, signed=True),
}


# PyTorch references ------------------------------------------------------------------------

def torch_quantize(x, qp):
    """The int codes of torch.quantize_per_tensor / quantize_per_channel (8-bit only)."""
    dtype = torch.quint8 if qp.qmin >= 0 else torch.qint8
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if qp.axis is None:
        q = torch.quantize_per_tensor(t, qp.scale, qp.zero_point, dtype)
    else:
        q = torch.quantize_per_channel(t, torch.tensor(qp.scale, dtype=torch.float64),
                                       torch.tensor(qp.zero_point, dtype=torch.int64),
                                       qp.axis, dtype)
    return q.int_repr().numpy()


def torch_fake_quantize(x, qp):
    """torch.fake_quantize_per_tensor_affine / per_channel_affine, any bit width."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if qp.axis is None:
        out = torch.fake_quantize_per_tensor_affine(t, qp.scale, qp.zero_point,
                                                    qp.qmin, qp.qmax)
    else:
        out = torch.fake_quantize_per_channel_affine(
            t, torch.tensor(qp.scale, dtype=torch.float32),
            torch.tensor(qp.zero_point, dtype=torch.int32), qp.axis, qp.qmin, qp.qmax)
    return out.numpy()


def per_element(values, qp, shape):
    """Per-channel parameter values broadcast to ``shape`` (per tensor: unchanged)."""
    if qp.axis is None:
        return values
    bshape = [1] * len(shape)
    bshape[qp.axis] = -1
    return np.broadcast_to(np.reshape(values, bshape), shape)


def near_tie(x, qp, tol=1e-4):
    """Where x / scale is within ``tol`` of a half-integer. PyTorch computes x * (1 / scale)
    in float32, this module x / scale in float64, so only there may they round apart."""
    t = x.astype(np.float64) / per_element(qp.scale, qp, x.shape)
    return np.abs(np.abs(t - np.floor(t)) - 0.5) < tol


def assert_codes_match(q, q_ref, x, qp):
    diff = np.abs(q.astype(np.int64) - q_ref.astype(np.int64))
    assert np.all(diff <= 1)
    assert np.all(diff[~near_tie(x, qp)] == 0), np.argwhere(diff)


# Parity with PyTorch -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("name", "x"), CASES, ids=CASE_IDS)
def test_per_tensor_codes_match_torch(name, x, kind):
    qp = KINDS[kind](x, None)
    q = quantize(x, qp)
    assert q.shape == x.shape
    assert q.dtype == (np.uint8 if kind == "affine uint" else np.int8)
    assert_codes_match(q, torch_quantize(x, qp), x, qp)
    np.testing.assert_allclose(fake_quantize(x, qp), torch_fake_quantize(x, qp),
                               rtol=1e-6, atol=0)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize(("name", "x"), [c for c in CASES if c[1].ndim >= 2],
                         ids=[c[0] for c in CASES if c[1].ndim >= 2])
def test_per_channel_codes_match_torch(name, x, axis, kind):
    qp = KINDS[kind](x, axis)
    assert qp.axis == axis and qp.scale.shape == (x.shape[axis],)
    q = quantize(x, qp)
    assert_codes_match(q, torch_quantize(x, qp), x, qp)
    np.testing.assert_allclose(fake_quantize(x, qp), torch_fake_quantize(x, qp),
                               rtol=1e-6, atol=0)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_four_bits_match_torch_fake_quantize(kind, axis):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(6, 10)) * rng.uniform(0.1, 3, size=(6, 1))).astype(np.float32)
    qp = KINDS[kind](x, axis, bits=4)
    assert (qp.qmin, qp.qmax) == {"symmetric": (-7, 7), "affine uint": (0, 15),
                                  "affine int": (-8, 7)}[kind]
    q = quantize(x, qp)
    assert q.dtype == (np.uint8 if kind == "affine uint" else np.int8)
    assert q.min() >= qp.qmin and q.max() <= qp.qmax
    ref = torch_fake_quantize(x, qp)
    xhat = fake_quantize(x, qp)
    step = per_element(qp.scale, qp, x.shape)
    ok = ~near_tie(x, qp)
    np.testing.assert_allclose(xhat[ok], ref[ok], rtol=1e-6, atol=0)
    assert np.all(np.abs(xhat - ref) <= step * (1 + 1e-6))


def test_round_half_to_even_like_torch():
    # scale 0.5 is exact in binary, so x / scale is exactly k + 1/2 in both libraries
    x = ((np.arange(-6, 6) + 0.5) * 0.5).astype(np.float32)
    qp = QParams(0.5, 0, -127, 127)
    q = quantize(x, qp)
    assert q.tolist() == [-6, -4, -4, -2, -2, 0, 0, 2, 2, 4, 4, 6]   # to the even neighbour
    np.testing.assert_array_equal(q, torch_quantize(x, qp))
    np.testing.assert_array_equal(fake_quantize(x, qp), torch_fake_quantize(x, qp))
    # with a zero point: round first, then shift (0.5 -> 0 + 3, 1.5 -> 2 + 3), as PyTorch's
    # fake_quantize does; torch.quantize_per_tensor rounds x / s + z = 3.5 -> 4 instead, so on
    # exact half-steps with an odd zero point it is one code away (documented in the module)
    qp_a = QParams(0.5, 3, 0, 255)
    xp = x[x > 0]
    np.testing.assert_array_equal(quantize(xp, qp_a), [3, 5, 5, 7, 7, 9])
    np.testing.assert_array_equal(fake_quantize(xp, qp_a), torch_fake_quantize(xp, qp_a))
    assert np.all(np.abs(quantize(xp, qp_a).astype(int) - torch_quantize(xp, qp_a)) <= 1)
    qp_even = QParams(0.5, 4, 0, 255)                # even zero point: both roundings agree
    np.testing.assert_array_equal(quantize(xp, qp_even), torch_quantize(xp, qp_even))
    np.testing.assert_array_equal(quantize(xp, qp_even), [4, 6, 6, 8, 8, 10])
    # per channel, half-steps of two different scales along axis 1
    xc = np.array([[0.25, 0.125], [0.75, 0.375], [1.25, 0.625]], np.float32)
    qp_c = QParams([0.5, 0.25], [0, 0], -127, 127, axis=1)
    np.testing.assert_array_equal(quantize(xc, qp_c), [[0, 0], [2, 2], [2, 2]])
    np.testing.assert_array_equal(quantize(xc, qp_c), torch_quantize(xc, qp_c))
    np.testing.assert_array_equal(fake_quantize(xc, qp_c), torch_fake_quantize(xc, qp_c))


# Parameters and round trip -----------------------------------------------------------------

def test_symmetric_and_affine_params_by_hand():
    x = np.array([-1.0, 0.5, 2.54])
    qp = symmetric_qparams(x)
    assert (qp.qmin, qp.qmax, qp.zero_point, qp.axis) == (-127, 127, 0, None)
    assert qp.scale == pytest.approx(2.54 / 127)
    qa = affine_qparams(x)                       # [min', max'] = [-1, 2.54]
    assert (qa.qmin, qa.qmax) == (0, 255)
    assert qa.scale == pytest.approx(3.54 / 255)
    assert qa.zero_point == round(1 / (3.54 / 255))                    # 72
    qs = affine_qparams(x, signed=True)
    assert (qs.qmin, qs.qmax, qs.zero_point) == (-128, 127, 72 - 128)
    # positive-only data: min' = 0, so the zero point sits at qmin; negative-only: at qmax
    assert affine_qparams(np.array([2.0, 3.0])).zero_point == 0
    assert affine_qparams(np.array([-2.0, -3.0])).zero_point == 255
    # negative axis is normalised
    assert symmetric_qparams(np.ones((2, 3)), axis=-1).axis == 1


def test_zero_is_exact_and_all_zero_gets_scale_one():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-0.3, 5, size=50), [0.0]])
    for qp in (affine_qparams(x), affine_qparams(x, signed=True), symmetric_qparams(x)):
        assert dequantize(quantize(np.array([0.0]), qp), qp)[0] == 0.0
    z = np.zeros((3, 4))
    for qp in (symmetric_qparams(z), affine_qparams(z), affine_qparams(z, signed=True)):
        assert qp.scale == 1.0
        np.testing.assert_array_equal(fake_quantize(z, qp), 0)
        err = quantization_error(z, qp)
        assert err["max_abs"] == 0 and err["rmse"] == 0 and err["sqnr_db"] == math.inf
    qp = symmetric_qparams(np.array([[0.0, 0.0], [1.0, -2.0]]), axis=0)
    np.testing.assert_allclose(qp.scale, [1.0, 2.0 / 127])


def test_constant_channel_is_reconstructed():
    x = np.stack([np.full(8, 2.5), np.zeros(8), np.linspace(-1, 3, 8), np.full(8, -0.7)])
    for qp in (symmetric_qparams(x, axis=0), affine_qparams(x, axis=0)):
        xhat = fake_quantize(x, qp)
        np.testing.assert_allclose(xhat[[0, 1, 3]], x[[0, 1, 3]], rtol=1e-6, atol=0)


@pytest.mark.parametrize("bits", [8, 4, 2, 12, 16])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_round_trip_error_at_most_half_a_step(bits, kind, axis):
    rng = np.random.default_rng(bits)
    x = rng.normal(size=(5, 40)) * rng.uniform(0.01, 10, size=(5, 1)) + rng.normal(size=(5, 1))
    qp = KINDS[kind](x, axis, bits=bits)
    q = quantize(x, qp)
    assert q.dtype == qp.dtype and q.min() >= qp.qmin and q.max() <= qp.qmax
    step = per_element(qp.scale, qp, x.shape)
    err = np.abs(fake_quantize(x, qp).astype(np.float64) - x)
    assert np.all(err <= step / 2 * (1 + 1e-9) + 1e-6 * np.abs(x))


def test_codes_are_widest_dtype_needed():
    assert QParams(1.0, 0, 0, 255).dtype == np.uint8
    assert QParams(1.0, 0, -127, 127).dtype == np.int8
    assert symmetric_qparams(np.ones(3), bits=16).dtype == np.int16
    assert affine_qparams(np.ones(3), bits=16).dtype == np.uint16
    assert affine_qparams(np.ones(3), bits=9, signed=True).dtype == np.int16


def test_per_channel_beats_per_tensor_on_rows_of_different_scale():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(64, 256)) * np.logspace(-3, 0, 64)[:, None]
    e_t = quantization_error(W, symmetric_qparams(W))
    e_c = quantization_error(W, symmetric_qparams(W, axis=0))
    # measured: SQNR 31.7 dB per tensor, 42.9 dB per channel; RMSE ratio 3.6
    assert e_c["sqnr_db"] > e_t["sqnr_db"] + 8
    assert e_t["rmse"] > 2.5 * e_c["rmse"]
    # the small rows are where per-tensor loses: most of them quantize to all zeros
    small = W[:16]
    assert np.mean(quantize(small, symmetric_qparams(W)) == 0) > 0.9
    # SQNR by hand
    xhat = fake_quantize(W, symmetric_qparams(W, axis=0)).astype(np.float64)
    ref = 10 * np.log10(np.sum(W ** 2) / np.sum((W - xhat) ** 2))
    assert e_c["sqnr_db"] == pytest.approx(ref)
    assert e_c["max_abs"] == pytest.approx(np.max(np.abs(W - xhat)))


def test_sqnr_grows_about_6_db_per_bit():
    x = np.random.default_rng(4).uniform(-1, 1, size=20000)
    sq = {b: quantization_error(x, symmetric_qparams(x, bits=b))["sqnr_db"] for b in (4, 8)}
    # uniform data: noise power scale² / 12, scale = 1 / (2^(b-1) - 1)
    assert sq[8] - sq[4] == pytest.approx(20 * np.log10(127 / 7), abs=0.5)


# Integer matrix product --------------------------------------------------------------------

def matmul_loop(qa, za, qb, zb):
    """Σ_k (qa[m, k] − za)(qb[n, k] − zb[n]) with Python ints (no overflow possible)."""
    M, K = qa.shape
    N = qb.shape[0]
    out = [[0] * N for _ in range(M)]
    for m in range(M):
        for n in range(N):
            for k in range(K):
                out[m][n] += (int(qa[m, k]) - int(za)) * (int(qb[n, k]) - int(zb[n]))
    return np.array(out, dtype=np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_int8_matmul_equals_integer_triple_loop(seed):
    rng = np.random.default_rng(seed)
    M, K, N = rng.integers(1, 6, size=3)
    x = rng.normal(size=(M, K)) + rng.normal()
    W = rng.normal(size=(N, K)) * rng.uniform(0.1, 2, size=(N, 1))
    qa_p = affine_qparams(x, signed=bool(seed % 2))
    wkinds = [symmetric_qparams(W, axis=0), symmetric_qparams(W),
              affine_qparams(W, axis=0, signed=True)]      # last: non-zero weight zero points
    for qb_p in wkinds:
        qa, qb = quantize(x, qa_p), quantize(W, qb_p)
        acc, scale = int8_matmul(qa, qa_p, qb, qb_p)
        assert acc.dtype == np.int32 and acc.shape == (M, N)
        zb = np.broadcast_to(qb_p.zero_point, (N,))
        np.testing.assert_array_equal(acc, matmul_loop(qa, qa_p.zero_point, qb, zb))
        np.testing.assert_allclose(scale, qa_p.scale * np.asarray(qb_p.scale))
        if qb_p.axis is None:
            assert isinstance(scale, float)
        else:
            assert scale.shape == (N,)


def test_operands_are_widened_before_multiplying():
    # 255 * 127 * 10 = 323850 overflows uint8, int8 and int16 products; int32 holds it
    qa = np.full((2, 10), 255, np.uint8)
    qb = np.full((3, 10), 127, np.int8)
    acc, _ = int8_matmul(qa, QParams(1.0, 0, 0, 255), qb, QParams(1.0, 0, -127, 127))
    np.testing.assert_array_equal(acc, 323850)


def test_int32_accumulator_bound():
    a_p, w_p = QParams(0.1, 255, 0, 255), QParams(0.1, 0, -127, 127)
    k = max_safe_k(a_p, w_p)
    assert k == 66311 == INT32_MAX // (255 * 127)
    assert k * 255 * 127 <= INT32_MAX < (k + 1) * 255 * 127
    # the worst case at K = bound: every product is (0 - 255) * 127
    qa = np.zeros((1, k), np.uint8)
    qb = np.full((2, k), 127, np.int8)
    acc, _ = int8_matmul(qa, a_p, qb, w_p)
    assert acc.tolist() == [[-255 * 127 * k] * 2]
    with pytest.raises(ValueError, match="K = 66312 is longer than 66311"):
        int8_matmul(np.zeros((1, k + 1), np.uint8), a_p,
                    np.full((1, k + 1), 127, np.int8), w_p)
    # the bound follows the params: a zero point in the middle halves the worst offset
    assert max_safe_k(QParams(0.1, 128, 0, 255), w_p) == INT32_MAX // (128 * 127)


def test_quantized_linear_close_to_float_product():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 256))
    W = rng.normal(size=(32, 256))
    b = rng.normal(size=32)
    ref = x @ W.T + b
    y = quantized_linear(x, W, b)
    assert y.dtype == np.float32 and y.shape == (64, 32)
    rel = np.linalg.norm(y - ref) / np.linalg.norm(ref)
    # measured 1.1e-2: uint8 x (scale ≈ 8.6σ / 255) and int8 rows (scale ≈ 2.9σ / 127) each
    # add about 1e-2 / 0.7e-2 relative rounding noise; the predicted total is 1.2e-2
    assert rel < 1.5e-2
    # the integer path equals the float product of the fake-quantized operands
    fx = fake_quantize(x, affine_qparams(x)).astype(np.float64)
    fw = fake_quantize(W, symmetric_qparams(W, axis=0)).astype(np.float64)
    np.testing.assert_allclose(y, fx @ fw.T + b, rtol=1e-5, atol=1e-5)
    # signed activations and no bias work too
    y_s = quantized_linear(x, W, signed=True)
    assert np.linalg.norm(y_s - x @ W.T) / np.linalg.norm(x @ W.T) < 1.5e-2
    # 4 bits: about 16x the error of 8 bits (measured 0.19, 17.5x)
    rel4 = np.linalg.norm(quantized_linear(x, W, b, bits=4) - ref) / np.linalg.norm(ref)
    assert 8 * rel < rel4 < 0.3


def test_quantized_linear_per_channel_helps_on_uneven_rows():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(16, 128))
    W = rng.normal(size=(24, 128)) * np.logspace(-2, 0, 24)[:, None]
    ref = x @ W.T

    def row_rel(y):
        return np.linalg.norm(y - ref, axis=0) / np.linalg.norm(ref, axis=0)

    per_c = row_rel(quantized_linear(x, W))
    per_t = row_rel(quantized_linear(x, W, per_channel=False))
    assert np.median(per_t) > 3 * np.median(per_c)     # measured 9.7e-2 vs 1.0e-2


def test_model_size_bytes():
    W1, W2 = np.zeros((64, 256)), np.zeros((10, 3, 3, 3))
    assert model_size_bytes([W1], bits=32) == 64 * 256 * 4
    assert model_size_bytes([W1], bits=8) == 64 * 256 + 64 * 4
    assert model_size_bytes([W1], bits=4) == 64 * 128 + 64 * 4
    assert model_size_bytes([W1], bits=8, per_channel=False) == 64 * 256 + 4
    assert model_size_bytes([W1, W2], bits=4) == 64 * 128 + 64 * 4 + 135 + 10 * 4
    with pytest.raises(TypeError, match="list of arrays"):
        model_size_bytes(W1, bits=8)


# Errors and house rules --------------------------------------------------------------------

def test_bad_inputs_give_clear_errors():
    x = np.ones((3, 4))
    qp = symmetric_qparams(x)
    for bits in (1, 17, 0):
        with pytest.raises(ValueError, match=r"symmetric_qparams: bits must be in \[2, 16\]"):
            symmetric_qparams(x, bits=bits)
    with pytest.raises(TypeError, match="bits must be an int"):
        affine_qparams(x, bits=8.0)
    with pytest.raises(ValueError, match=r"axis must be None or in \[-2, 1\].*got 2"):
        symmetric_qparams(x, axis=2)
    with pytest.raises(TypeError, match="axis must be None or an int"):
        affine_qparams(x, axis="0")
    with pytest.raises(ValueError, match="need an array with at least 1 dimension"):
        symmetric_qparams(3.0, axis=0)
    bad = x.copy()
    bad[1, 2] = np.nan
    for fn in (symmetric_qparams, affine_qparams):
        with pytest.raises(ValueError, match="x contains NaN or inf"):
            fn(bad)
    with pytest.raises(ValueError, match="quantize: x contains NaN"):
        quantize(bad, qp)
    with pytest.raises(TypeError, match="got a torch tensor"):
        quantize(torch.ones(3), qp)
    with pytest.raises(TypeError, match="qp must be a QParams"):
        quantize(x, {"scale": 1.0})
    qc = symmetric_qparams(x, axis=0)
    with pytest.raises(ValueError, match="must have 3 channels along axis 0.*got shape"):
        quantize(np.ones((4, 4)), qc)
    with pytest.raises(ValueError, match="axis 1, but x has only 1 dimension"):
        quantize(np.ones(4), symmetric_qparams(x, axis=1))
    with pytest.raises(ValueError, match=r"q must hold codes in \[qmin, qmax\] = \[-127, 127\]"):
        dequantize(np.array([-128, 0], np.int8), qp)
    with pytest.raises(TypeError, match="q must be an integer array of codes.*float64"):
        dequantize(np.array([1.0, 2.0]), qp)
    with pytest.raises(TypeError, match="q must have a numeric dtype"):
        dequantize(np.array(["a"]), qp)


def test_bad_qparams_and_matmul_shapes():
    with pytest.raises(ValueError, match="scale must be a finite float > 0"):
        QParams(0.0, 0, 0, 255)
    with pytest.raises(ValueError, match=r"zero_point must be in \[qmin, qmax\]"):
        QParams(1.0, 300, 0, 255)
    with pytest.raises(ValueError, match="qmin must be < qmax"):
        QParams(1.0, 0, 5, 5)
    with pytest.raises(ValueError, match="zero_point must have the shape of scale"):
        QParams([1.0, 2.0], [0], -127, 127, axis=0)
    a_p, w_p = QParams(0.1, 0, 0, 255), QParams(0.1, 0, -127, 127)
    qa, qb = np.zeros((2, 5), np.uint8), np.zeros((3, 4), np.int8)
    with pytest.raises(ValueError, match=r"same K, got shapes \(2, 5\) and \(3, 4\)"):
        int8_matmul(qa, a_p, qb, w_p)
    with pytest.raises(ValueError, match="qa must be a 2-D array"):
        int8_matmul(np.zeros(5, np.uint8), a_p, qb, w_p)
    with pytest.raises(ValueError, match="qa_params must be per tensor"):
        int8_matmul(qa, QParams(np.ones(5), np.zeros(5, int), 0, 255, axis=1),
                    np.zeros((3, 5), np.int8), w_p)
    with pytest.raises(ValueError, match="per output channel"):
        int8_matmul(qa, a_p, np.zeros((3, 5), np.int8),
                    QParams(np.ones(5), np.zeros(5, int), -127, 127, axis=1))
    with pytest.raises(ValueError, match=r"qb must hold codes in \[qmin, qmax\]"):
        int8_matmul(qa, a_p, np.full((3, 5), -128, np.int8), w_p)
    with pytest.raises(ValueError, match=r"quantized_linear: x \(M, K\) and W \(N, K\)"):
        quantized_linear(np.ones((2, 5)), np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        quantized_linear(np.ones((2, 4)), np.ones((3, 4)), np.ones(4))


def test_module_is_numpy_only_and_documented():
    src = inspect.getsource(quantize_module)
    assert "import torch" not in src and "from torch" not in src
    for name in quantize_module.__all__:
        obj = getattr(quantize_module, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
