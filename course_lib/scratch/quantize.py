"""Post-training quantization from scratch (NumPy only): scales, zero points, int8 matmul.

**Quantization** (量化) stores a float tensor x as small integers q plus a few floats that
map them back. The uniform affine scheme of Jacob et al. 2018 ("Quantization and training
of neural networks for efficient integer-arithmetic-only inference", CVPR) uses a
**scale** (缩放因子) s > 0 and an integer **zero point** (零点) z::

    q = clip(round(x / s) + z, q_min, q_max)          quantize      (float -> int)
    x̂ = s · (q − z)                                   dequantize    (int -> float)

so the representable values are the grid s · (q_min − z), ..., s · (q_max − z), with step s.
Inside that range the error is |x − x̂| <= s / 2 (rounding); outside it x is clipped.
``round`` is round-half-to-even (``np.rint``), as PyTorch does (``std::nearbyint``):
0.5 -> 0, 1.5 -> 2, 2.5 -> 2, −0.5 -> 0. The zero point is added *after* rounding, exactly
as ``torch.fake_quantize_per_tensor_affine`` / ``..._per_channel_affine`` do. (PyTorch
2.x's ``torch.quantize_per_tensor`` / ``quantize_per_channel`` kernels round x / s + z
instead; the two agree except on an exact half-step with an odd z, where they differ by 1:
x / s = 0.5, z = 3 gives 3 here and in fake_quantize, 4 there.) The tests check all of this
against PyTorch on exact half-steps.

**Symmetric** (weights). z = 0 and the restricted signed range of b bits::

    s = max|x| / (2^(b−1) − 1),    q in [−(2^(b−1) − 1), 2^(b−1) − 1]      (−127..127 for b = 8)

The code −2^(b−1) (−128) is left out, as in TensorFlow Lite's int8 weights: the grid is then
symmetric (quantize(−x) = −quantize(x)), +max|x| and −max|x| both land on a code, and every
weight code satisfies |q| <= 127, which gives the int32 accumulator bound below.

**Affine / asymmetric** (activations). The range is stretched to include 0, so that x = 0
is exactly representable (q = z gives x̂ = 0: zero padding and ReLU zeros stay exact)::

    min' = min(min x, 0),  max' = max(max x, 0),  s = (max' − min') / (q_max − q_min),
    z = clip(round(q_min − min' / s), q_min, q_max)

with the unsigned range [0, 2^b − 1] (uint8: 0..255) by default, or the signed
[−2^(b−1), 2^(b−1) − 1] (int8: −128..127). A tensor (or channel) that is all zeros would give
s = 0; this module uses **s = 1.0** there instead (any s > 0 represents 0 exactly and nothing
divides by 0).

**Per-tensor vs per-channel** (Krishnamoorthi 2018, "Quantizing deep convolutional networks
for efficient inference: a whitepaper"; Nagel et al. 2021, "A white paper on neural network
quantization"). One (s, z) per tensor wastes the grid on rows with small values when the
rows of a weight matrix have very different ranges; one (s[c], z[c]) per output channel c
(``axis``: the max/min runs over all the other axes) fixes that at the cost of C floats.

**Error.** ``quantization_error`` reports max |x − x̂|, RMSE and the signal-to-quantization-
noise ratio SQNR = 10 log10(Σ x² / Σ (x − x̂)²) dB (about 6 dB more per extra bit).

**Integer matrix product** (Jacob et al. 2018, section 2.3). With activations quantized per
tensor (s_a, z_a) and weights W (N, K) per output channel (s_w[n], z_w[n] = 0)::

    y[m, n] = Σ_k x[m, k] W[n, k] ≈ s_a · s_w[n] · Σ_k (qa[m, k] − z_a) (qw[n, k] − z_w[n])

The sum is exact integer arithmetic, accumulated in int32 (each 8-bit operand is widened to
int32 *before* the multiply); only the final rescale by s_a · s_w[n] and the bias are float.
With uint8 activations and restricted int8 weights, |qa − z_a| <= 255 and |qw| <= 127, so each
product is at most 255 · 127 = 32385 in size and a length-K sum cannot overflow int32
(2^31 − 1 = 2147483647) for **K <= 66311** (``max_safe_k`` gives the bound for any params;
``int8_matmul`` refuses a longer K rather than wrap around silently).

Storage dtypes: ``quantize`` returns the smallest NumPy integer type that holds
[q_min, q_max]: uint8 / int8 for ranges that fit 8 bits (8-bit, and also 2- to 7-bit codes),
uint16 / int16 up to 16 bits.

Usage::

    rng = np.random.default_rng(0)
    W = rng.normal(size=(64, 256)) * np.logspace(-2, 0, 64)[:, None]  # rows: different scales
    qp_t = symmetric_qparams(W)                   # one scale for the whole matrix
    qp_c = symmetric_qparams(W, axis=0)           # one scale per row (output channel)
    qw = quantize(W, qp_c)                        # int8 (64, 256), values in [-127, 127]
    W_hat = dequantize(qw, qp_c)                  # float32 (64, 256)
    quantization_error(W, qp_t)["sqnr_db"], quantization_error(W, qp_c)["sqnr_db"]
    x = rng.normal(size=(8, 256))
    y = quantized_linear(x, W)                    # float32 (8, 64), close to x @ W.T
    model_size_bytes([W], bits=8), model_size_bytes([W], bits=32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.validate import as_array, as_float_array, check_int

__all__ = [
    "QParams", "symmetric_qparams", "affine_qparams",
    "quantize", "dequantize", "fake_quantize", "quantization_error",
    "max_safe_k", "int8_matmul", "quantized_linear",
    "model_size_bytes",
    "INT32_MAX",
]

# 2^31 − 1, the largest value an int32 accumulator holds.
INT32_MAX = int(np.iinfo(np.int32).max)


# ---------------------------------------------------------------------------------------------
# Quantization parameters
# ---------------------------------------------------------------------------------------------

@dataclass
class QParams:
    """The parameters of a uniform quantizer: x̂ = scale · (q − zero_point), q in [qmin, qmax].

    Attributes:
        scale: a float > 0 (per tensor), or a (C,) float64 array of them (per channel).
        zero_point: an int in [qmin, qmax] (per tensor), or a (C,) int64 array (per channel).
        qmin, qmax: the integer range, qmin < qmax (e.g. 0, 255 for uint8; −127, 127 for the
            restricted symmetric int8 range).
        axis: None for per-tensor parameters, else the (non-negative) channel axis of the
            tensor along which ``scale[c]`` and ``zero_point[c]`` apply.

    The constructor checks all of this (and turns lists into arrays), so hand-made params
    fail early with a clear message.
    """

    scale: float | np.ndarray
    zero_point: int | np.ndarray
    qmin: int
    qmax: int
    axis: int | None = None

    def __post_init__(self):
        where = "QParams"
        self.qmin = check_int(self.qmin, where, "qmin", low=-(2 ** 31), high=2 ** 31 - 1)
        self.qmax = check_int(self.qmax, where, "qmax", low=-(2 ** 31), high=2 ** 31 - 1)
        if self.qmin >= self.qmax:
            raise ValueError(f"{where}: qmin must be < qmax, got qmin={self.qmin}, "
                             f"qmax={self.qmax}")
        if self.axis is None:
            s = as_float_array(self.scale, where, "scale", ndim=0, dtype=np.float64)
            if not (np.isfinite(s) and s > 0):
                raise ValueError(f"{where}: scale must be a finite float > 0, got {float(s)}")
            zp = as_array(self.zero_point, where, "zero_point", ndim=0, dtype_kind="iu")
            self.scale, self.zero_point = float(s), int(zp)
        else:
            self.axis = check_int(self.axis, where, "axis", low=0)
            s = as_float_array(self.scale, where, "scale", ndim=1, dtype=np.float64)
            if not np.all(np.isfinite(s) & (s > 0)):
                raise ValueError(f"{where}: every per-channel scale must be a finite float > 0, "
                                 f"got min {s.min()}")
            zp = as_array(self.zero_point, where, "zero_point", ndim=1, dtype_kind="iu")
            if zp.shape != s.shape:
                raise ValueError(f"{where}: zero_point must have the shape of scale {s.shape} "
                                 f"(one per channel), got {zp.shape}")
            self.scale, self.zero_point = s, zp.astype(np.int64)
        zmin, zmax = np.min(self.zero_point), np.max(self.zero_point)
        if zmin < self.qmin or zmax > self.qmax:
            raise ValueError(f"{where}: zero_point must be in [qmin, qmax] = "
                             f"[{self.qmin}, {self.qmax}], got values in [{zmin}, {zmax}]")

    @property
    def per_channel(self) -> bool:
        """True when the parameters hold one scale per channel along ``axis``."""
        return self.axis is not None

    @property
    def dtype(self) -> np.dtype:
        """The integer dtype ``quantize`` stores codes in (the smallest that holds the range)."""
        return _storage_dtype(self.qmin, self.qmax)


def _storage_dtype(qmin: int, qmax: int) -> np.dtype:
    """The smallest of uint8, int8, uint16, int16, int32 that holds [qmin, qmax]."""
    for dt in (np.uint8, np.int8, np.uint16, np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= qmin and qmax <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def _check_bits(bits, where: str) -> int:
    return check_int(bits, where, "bits", low=2, high=16)


def _check_axis(axis, ndim: int, where: str, name: str = "x") -> int | None:
    """None, or an int axis of an ``ndim``-D array (negative counts from the end)."""
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{where}: axis must be None or an int, got {type(axis).__name__} "
                        f"{axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{where}: axis must be None or in [{-ndim}, {ndim - 1}] for the "
                         f"{ndim}-D {name}, got {axis}")
    return axis % ndim


def _as_input(x, where: str, axis) -> tuple[np.ndarray, int | None]:
    """A finite float array (ints become float64) and its normalised channel axis."""
    x = as_float_array(x, where, "x", finite=True)
    if axis is not None and x.ndim == 0:
        raise ValueError(f"{where}: per-channel parameters (axis={axis}) need an array with "
                         f"at least 1 dimension, got a scalar")
    return x, _check_axis(axis, x.ndim, where)


def _reduce(x: np.ndarray, axis: int | None, fn) -> np.ndarray | float:
    """``fn`` (np.max / np.min) over the whole array, or over every axis but ``axis``."""
    if axis is None:
        return fn(x)
    others = tuple(i for i in range(x.ndim) if i != axis)
    return fn(x, axis=others) if others else x.copy()


def symmetric_qparams(x, *, bits: int = 8, axis: int | None = None) -> QParams:
    """Symmetric (zero point 0) quantization parameters on the restricted signed range.

    scale = max|x| / (2^(bits−1) − 1), zero_point = 0, qmin = −(2^(bits−1) − 1),
    qmax = 2^(bits−1) − 1 (−127, 127 for 8 bits). An all-zero tensor (or channel) gets
    scale 1.0.

    Args:
        x: a finite float array of any shape (ints are converted to float64).
        bits: the code width, 2..16.
        axis: None for one scale for the whole tensor; an int for one scale per index along
            that axis (the max over all the other axes), e.g. 0 for the output channels
            (rows) of a (N, K) linear weight or a (C_out, C_in, kH, kW) conv weight.

    Returns:
        ``QParams`` with a float scale and int zero point 0, or a (C,) float64 scale and a
        (C,) int64 zero point of zeros where C = x.shape[axis].
    """
    where = "symmetric_qparams"
    bits = _check_bits(bits, where)
    x, axis = _as_input(x, where, axis)
    qmax = 2 ** (bits - 1) - 1
    amax = np.asarray(_reduce(np.abs(x.astype(np.float64)), axis, np.max), dtype=np.float64)
    scale = np.where(amax > 0, amax / qmax, 1.0)
    if axis is None:
        return QParams(float(scale), 0, -qmax, qmax, None)
    return QParams(scale, np.zeros(scale.shape, np.int64), -qmax, qmax, axis)


def affine_qparams(x, *, bits: int = 8, axis: int | None = None,
                   signed: bool = False) -> QParams:
    """Affine (asymmetric) quantization parameters whose range includes 0.

    min' = min(min x, 0), max' = max(max x, 0), scale = (max' − min') / (qmax − qmin),
    zero_point = clip(round(qmin − min' / scale), qmin, qmax). The range is [0, 2^bits − 1]
    (``signed=False``, uint8 for 8 bits) or [−2^(bits−1), 2^(bits−1) − 1] (``signed=True``,
    int8). An all-zero tensor (or channel) gets scale 1.0 and zero point qmin.

    Args:
        x: a finite float array of any shape (ints are converted to float64).
        bits: the code width, 2..16.
        axis: None (per tensor) or the channel axis (min and max over all the other axes).
        signed: whether the codes are signed.

    Returns:
        ``QParams``: a float scale and an int zero point, or (C,) float64 scales and (C,)
        int64 zero points, C = x.shape[axis].
    """
    where = "affine_qparams"
    bits = _check_bits(bits, where)
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"{where}: signed must be a bool, got {type(signed).__name__}")
    x, axis = _as_input(x, where, axis)
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    x64 = x.astype(np.float64, copy=False)
    lo = np.minimum(np.asarray(_reduce(x64, axis, np.min), dtype=np.float64), 0.0)
    hi = np.maximum(np.asarray(_reduce(x64, axis, np.max), dtype=np.float64), 0.0)
    span = hi - lo
    scale = np.where(span > 0, span / (qmax - qmin), 1.0)
    zero_point = np.clip(np.rint(qmin - lo / scale), qmin, qmax).astype(np.int64)
    if axis is None:
        return QParams(float(scale), int(zero_point), qmin, qmax, None)
    return QParams(scale, zero_point, qmin, qmax, axis)


# ---------------------------------------------------------------------------------------------
# Quantize / dequantize
# ---------------------------------------------------------------------------------------------

def _check_qparams(qp, where: str, name: str = "qp") -> QParams:
    if not isinstance(qp, QParams):
        raise TypeError(f"{where}: {name} must be a QParams (from symmetric_qparams or "
                        f"affine_qparams), got {type(qp).__name__}")
    return qp


def _broadcast_params(qp: QParams, shape: tuple, where: str, name: str):
    """(scale, zero_point) shaped to broadcast against an array of ``shape``."""
    if qp.axis is None:
        return qp.scale, qp.zero_point
    ndim = len(shape)
    if qp.axis >= ndim:
        raise ValueError(f"{where}: the params are per channel along axis {qp.axis}, but "
                         f"{name} has only {ndim} dimension(s) (shape {shape})")
    c = qp.scale.shape[0]
    if shape[qp.axis] != c:
        raise ValueError(f"{where}: {name} must have {c} channels along axis {qp.axis} to "
                         f"match the {c} per-channel scales, got shape {shape}")
    bshape = [1] * ndim
    bshape[qp.axis] = c
    return qp.scale.reshape(bshape), qp.zero_point.reshape(bshape)


def quantize(x, qp: QParams) -> np.ndarray:
    """Float -> integer codes: q = clip(round(x / scale) + zero_point, qmin, qmax).

    Rounding is half to even (``np.rint``), the rule of PyTorch's quantize ops, and the zero
    point is added after rounding, as in ``torch.fake_quantize_per_tensor_affine`` (see the
    module docstring for the one-code difference from ``torch.quantize_per_tensor`` on exact
    half-steps with an odd zero point). Per-channel parameters are broadcast along
    ``qp.axis``.

    Args:
        x: a finite float array (ints are converted to float64); per channel, x.shape[axis]
            must equal the number of scales.
        qp: the ``QParams``.

    Returns:
        An integer array of x's shape, dtype ``qp.dtype``: uint8 for an unsigned 8-bit range
        (e.g. 0..255), int8 for a signed one (−128..127 or −127..127; also the 2..7-bit ranges),
        uint16 / int16 for 9..16 bits.
    """
    where = "quantize"
    qp = _check_qparams(qp, where)
    x = as_float_array(x, where, "x", finite=True)
    scale, zp = _broadcast_params(qp, x.shape, where, "x")
    q = np.rint(x.astype(np.float64, copy=False) / scale) + zp
    return np.clip(q, qp.qmin, qp.qmax).astype(qp.dtype)


def _as_codes(q, qp: QParams, where: str, name: str, *, ndim=None) -> np.ndarray:
    q = as_array(q, where, name, ndim=ndim)
    if q.dtype.kind not in "iu":
        raise TypeError(f"{where}: {name} must be an integer array of codes (as returned by "
                        f"quantize), got dtype {q.dtype}")
    if q.min() < qp.qmin or q.max() > qp.qmax:
        raise ValueError(f"{where}: {name} must hold codes in [qmin, qmax] = "
                         f"[{qp.qmin}, {qp.qmax}], got values in [{q.min()}, {q.max()}]")
    return q


def dequantize(q, qp: QParams) -> np.ndarray:
    """Integer codes -> floats: x̂ = (q − zero_point) · scale.

    Args:
        q: an integer array of codes in [qp.qmin, qp.qmax] (as returned by ``quantize``).
        qp: the ``QParams`` the codes were made with.

    Returns:
        A float32 array of q's shape (computed in float64, then rounded once to float32).
    """
    where = "dequantize"
    qp = _check_qparams(qp, where)
    q = _as_codes(q, qp, where, "q")
    scale, zp = _broadcast_params(qp, q.shape, where, "q")
    return ((q.astype(np.int64) - zp) * scale).astype(np.float32)


def fake_quantize(x, qp: QParams) -> np.ndarray:
    """Quantize then dequantize: the float32 array x̂ a quantized model "sees" (same shape as x).

    This is what quantization-aware training inserts in the forward pass (PyTorch's
    ``torch.fake_quantize_per_tensor_affine`` / ``..._per_channel_affine``).
    """
    where = "fake_quantize"
    qp = _check_qparams(qp, where)
    x = as_float_array(x, where, "x", finite=True)
    return dequantize(quantize(x, qp), qp)


def quantization_error(x, qp: QParams) -> dict[str, float]:
    """How much ``fake_quantize`` changes x.

    Args:
        x: a finite float array; qp: its ``QParams``.

    Returns:
        ``{"max_abs": max |x − x̂|, "rmse": sqrt(mean (x − x̂)²),
        "sqnr_db": 10 log10(Σ x² / Σ (x − x̂)²)}`` as Python floats (float64 arithmetic).
        SQNR is +inf when the error is exactly 0 (e.g. x all zeros).
    """
    where = "quantization_error"
    qp = _check_qparams(qp, where)
    x = as_float_array(x, where, "x", finite=True)
    x64 = x.astype(np.float64)
    err = x64 - fake_quantize(x, qp).astype(np.float64)
    signal, noise = float(np.sum(x64 ** 2)), float(np.sum(err ** 2))
    sqnr = math.inf if noise == 0 else 10.0 * math.log10(signal / noise)
    return {"max_abs": float(np.max(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "sqnr_db": sqnr}


# ---------------------------------------------------------------------------------------------
# Integer-arithmetic matrix product (Jacob et al. 2018)
# ---------------------------------------------------------------------------------------------

def _max_offset(qp: QParams) -> int:
    """The largest |q − z| any code in [qmin, qmax] can have."""
    zmin, zmax = int(np.min(qp.zero_point)), int(np.max(qp.zero_point))
    return max(qp.qmax - zmin, zmax - qp.qmin)


def max_safe_k(qa_params: QParams, qb_params: QParams) -> int:
    """The longest inner dimension K for which Σ_k (qa − za)(qb − zb) surely fits in int32.

    Every product is at most A · B in size, where A = max |qa − za| and B = max |qb − zb|
    over all codes in the two ranges; K · A · B <= 2^31 − 1 gives K <= (2^31 − 1) // (A · B).
    uint8 activations (A <= 255) with restricted int8 weights (B = 127): K <= 66311.
    """
    where = "max_safe_k"
    qa_params = _check_qparams(qa_params, where, "qa_params")
    qb_params = _check_qparams(qb_params, where, "qb_params")
    return INT32_MAX // (_max_offset(qa_params) * _max_offset(qb_params))


def int8_matmul(qa, qa_params: QParams, qb, qb_params: QParams
                ) -> tuple[np.ndarray, float | np.ndarray]:
    """The integer product of Jacob et al.: acc[m, n] = Σ_k (qa[m, k] − z_a)(qb[n, k] − z_b[n]).

    Both operands are widened to int32 before the multiply and the sum is accumulated in
    int32, as an int8 kernel does; ``acc * scale`` (broadcast over rows) is then the float
    approximation of a @ b.T.

    Args:
        qa: (M, K) integer codes of the activations, quantized per tensor (``qa_params.axis``
            None), e.g. uint8 from ``affine_qparams``.
        qa_params: their ``QParams``.
        qb: (N, K) integer codes of the weights (one row per output), e.g. int8 from
            ``symmetric_qparams(W, axis=0)``.
        qb_params: their ``QParams``, per tensor or per channel along axis 0 (one per row).

    Returns:
        ``(acc, scale)``: acc the (M, N) int32 accumulator, scale = s_a · s_b: a float when
        both are per tensor, else a (N,) float64 array.

    Raises:
        ValueError: mismatched K, params of the wrong kind, or K > ``max_safe_k`` (the int32
            sum could overflow).
    """
    where = "int8_matmul"
    qa_params = _check_qparams(qa_params, where, "qa_params")
    qb_params = _check_qparams(qb_params, where, "qb_params")
    if qa_params.axis is not None:
        raise ValueError(f"{where}: qa_params must be per tensor (axis None): a scale per "
                         f"column k cannot be taken out of the sum over k; got axis "
                         f"{qa_params.axis}")
    if qb_params.axis not in (None, 0):
        raise ValueError(f"{where}: qb_params must be per tensor or per output channel "
                         f"(axis 0, one per row of qb), got axis {qb_params.axis}")
    qa = _as_codes(qa, qa_params, where, "qa", ndim=2)
    qb = _as_codes(qb, qb_params, where, "qb", ndim=2)
    if qa.shape[1] != qb.shape[1]:
        raise ValueError(f"{where}: qa (M, K) and qb (N, K) must have the same K, "
                         f"got shapes {qa.shape} and {qb.shape}")
    _, zb = _broadcast_params(qb_params, qb.shape, where, "qb")
    k, k_max = qa.shape[1], max_safe_k(qa_params, qb_params)
    if k > k_max:
        raise ValueError(f"{where}: K = {k} is longer than {k_max}, the most an int32 "
                         f"accumulator can sum without possible overflow for these ranges")
    a = qa.astype(np.int32) - np.int32(qa_params.zero_point)
    b = qb.astype(np.int32) - np.asarray(zb, dtype=np.int32)
    acc = np.matmul(a, b.T, dtype=np.int32)
    scale = qa_params.scale * qb_params.scale
    return acc, (float(scale) if qb_params.axis is None else np.asarray(scale, np.float64))


def quantized_linear(x, W, b=None, *, bits: int = 8, signed: bool = False,
                     per_channel: bool = True) -> np.ndarray:
    """A linear layer y = x @ W.T + b run with integer arithmetic (a quantized nn.Linear).

    x is quantized affine per tensor (``affine_qparams(x, bits=bits, signed=signed)``: uint8
    by default), W symmetric per output channel (``symmetric_qparams(W, bits=bits, axis=0)``;
    one scale for all of W when ``per_channel=False``), the product is ``int8_matmul``'s int32
    accumulator times s_a · s_w[n], and the bias is added in float.

    Args:
        x: (M, K) finite float activations.
        W: (N, K) finite float weights (PyTorch's nn.Linear layout).
        b: None or a (N,) finite float bias.
        bits: code width for both x and W, 2..16 (K must stay <= ``max_safe_k``).
        signed: int codes for x (True) or unsigned (False).
        per_channel: one weight scale per output row (True) or per tensor (False).

    Returns:
        The (M, N) float32 output, close to x @ W.T + b.
    """
    where = "quantized_linear"
    x = as_float_array(x, where, "x", ndim=2, finite=True)
    W = as_float_array(W, where, "W", ndim=2, finite=True)
    if x.shape[1] != W.shape[1]:
        raise ValueError(f"{where}: x (M, K) and W (N, K) must have the same K, "
                         f"got shapes {x.shape} and {W.shape}")
    if b is not None:
        b = as_float_array(b, where, "b", ndim=1, finite=True)
        if b.shape != (W.shape[0],):
            raise ValueError(f"{where}: b must have shape ({W.shape[0]},), one per row of W, "
                             f"got {b.shape}")
    qa_p = affine_qparams(x, bits=bits, signed=signed)
    qw_p = symmetric_qparams(W, bits=bits, axis=0 if per_channel else None)
    acc, scale = int8_matmul(quantize(x, qa_p), qa_p, quantize(W, qw_p), qw_p)
    y = acc.astype(np.float64) * scale
    if b is not None:
        y = y + b
    return y.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Model size
# ---------------------------------------------------------------------------------------------

def model_size_bytes(arrays: Sequence, bits: int, *, per_channel: bool = True,
                     scale_bytes: int = 4) -> int:
    """Bytes needed to store weight arrays as ``bits``-bit codes plus their scales.

    Each array takes ceil(size · bits / 8) bytes (codes packed tightly, e.g. two 4-bit codes
    per byte) plus ``scale_bytes`` (float32: 4) per scale: one per output channel
    (shape[0]) when ``per_channel``, else one. Symmetric weights have zero point 0, so no
    zero points are stored. ``bits=32`` means plain float32 storage: no scales.

    Args:
        arrays: a list of float arrays (e.g. the weights of a model).
        bits: 1..32.
        per_channel: count one scale per row (True) or one per array (False).
        scale_bytes: bytes per stored scale.

    Returns:
        The total, an int.
    """
    where = "model_size_bytes"
    bits = check_int(bits, where, "bits", low=1, high=32)
    scale_bytes = check_int(scale_bytes, where, "scale_bytes", low=0)
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, Sequence):
        raise TypeError(f"{where}: arrays must be a list of arrays, got "
                        f"{type(arrays).__name__}")
    total = 0
    for i, a in enumerate(arrays):
        a = as_array(a, where, f"arrays[{i}]", dtype_kind="fiu")
        total += -(-a.size * bits // 8)
        if bits < 32:
            n_scales = a.shape[0] if (per_channel and a.ndim > 0) else 1
            total += n_scales * scale_bytes
    return total
