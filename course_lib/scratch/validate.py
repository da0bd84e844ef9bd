"""Input checks shared by the public functions of course_lib (NumPy only).

Each helper raises ``TypeError`` or ``ValueError`` with a message of the form
``"<where>: <what> must be <expected>, got <what came>"`` so a learner sees at once
what to fix, instead of a traceback from deep inside NumPy.

Every module of ``course_lib`` takes its checks from here; none keeps a private copy.

=====================  ============================================================
``as_array``           any numeric array, with an ndim and dtype-kind check
``as_float_array``     the same, converted to floats (ints become float64; float32 stays)
``as_matrix``          a finite 2-D float64 array
``as_images``          a finite float batch of images, ``(N, H, W)`` or ``(N, C, H, W)``
``check_shape``        a float array of one exact shape, e.g. a hidden state (N, H)
``check_grad_shape``   an upstream gradient with the shape of the forward output
``check_same_shape``   two arrays of the same shape (prediction and target, p and q)
``check_labels``       integer class labels in ``[0, k)``, one per row
``as_token_ids``       token ids in ``[0, V)`` of a language model, at least a minimum number
``check_step_caches``  the cache of a recurrent forward pass: a list of step caches
``check_gate_weights`` the weights of a gated recurrent cell (LSTM, GRU), blocks side by side
``check_rng``          a ``np.random.Generator``
``as_rng``             a Generator, or a seed turned into one
``check_int``          an integer in a range
``check_positive``     a finite real number > 0 (or >= 0)
``check_fraction``     a real number in [0, 1] (a probability, an IoU, a threshold)
``check_finite``       no NaN or inf
=====================  ============================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_array(x, where: str, name: str, *, ndim: int | Sequence[int] | None = None,
             dtype_kind: str = "fiub", allow_empty: bool = False) -> np.ndarray:
    """Convert ``x`` to an ndarray and check its number of dimensions and dtype kind.

    Args:
        x: anything ``np.asarray`` accepts (a torch tensor is refused with a hint).
        where: the public function's name, used in messages.
        name: the argument's name, used in messages.
        ndim: the allowed number(s) of dimensions, or None for any.
        dtype_kind: allowed ``dtype.kind`` letters (default: float, int, unsigned, bool).
        allow_empty: whether an array with a zero-length axis is acceptable.

    Returns:
        The array (not copied when already an ndarray).
    """
    if type(x).__module__.startswith("torch"):
        raise TypeError(f"{where}: {name} must be a NumPy array, got a torch tensor; "
                        f"use .detach().cpu().numpy() first")
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{where}: {name} must be an array of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{where}: {name} must be an array of numbers, "
                        f"got {type(x).__name__} ({e})") from None
    if arr.dtype.kind not in dtype_kind:
        raise TypeError(f"{where}: {name} must have a numeric dtype, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{where}: {name} must be a {want} array, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{where}: {name} must not be empty, got shape {arr.shape}")
    return arr


def as_float_array(x, where: str, name: str, *, ndim: int | Sequence[int] | None = None,
                   finite: bool = False, allow_empty: bool = False,
                   dtype=None) -> np.ndarray:
    """``as_array`` for floats: int and unsigned arrays become float64 (bool is refused).

    A float array keeps its dtype (float32 stays float32, so PyTorch parity checks in
    float32 and float64 both work) unless ``dtype`` is given, which forces a cast.
    With ``finite=True`` NaN and inf are refused.
    """
    arr = as_array(x, where, name, ndim=ndim, dtype_kind="fiu", allow_empty=allow_empty)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if finite:
        check_finite(arr, where, name)
    return arr


def as_matrix(A, where: str, name: str = "A", *, allow_empty: bool = False) -> np.ndarray:
    """A finite 2-D numeric array, returned as float64 (a copy only when a cast is needed).

    ``allow_empty=True`` accepts a zero-length axis, e.g. the (N, 0) codes of a 0-component
    reconstruction.
    """
    return as_float_array(A, where, name, ndim=2, finite=True, allow_empty=allow_empty,
                          dtype=np.float64)


def as_images(x, where: str, name: str = "x", *, ndim: int | Sequence[int] = 4,
              dtype=None) -> np.ndarray:
    """A finite float batch of images: ``(N, C, H, W)`` by default; pass ``ndim=3`` for
    ``(N, H, W)`` or ``ndim=(2, 3)`` to accept a single ``(H, W)`` image too."""
    return as_float_array(x, where, name, ndim=ndim, finite=True, dtype=dtype)


def check_shape(x, shape: tuple, where: str, name: str, *, axes: str | None = None,
                finite: bool = False, allow_empty: bool = False) -> np.ndarray:
    """A float array (as :func:`as_float_array`) that must have exactly ``shape``.

    ``axes`` names the dimensions for the message: ``axes="(N, H)"`` gives
    ``"h0 must be (N, H) = (2, 3), got (1, 3)"``; without it ``"h0 must have shape (2, 3), ..."``.
    """
    arr = as_float_array(x, where, name, finite=finite, allow_empty=allow_empty)
    shape = tuple(shape)
    if arr.shape != shape:
        want = f"be {axes} = {shape}" if axes else f"have shape {shape}"
        raise ValueError(f"{where}: {name} must {want}, got {arr.shape}")
    return arr


def check_grad_shape(d, shape: tuple, where: str, name: str = "dout", *,
                     allow_empty: bool = False) -> np.ndarray:
    """An upstream gradient (``dout``, ``dh``, ...) must have the forward output's shape.

    Returns it as a float array (ints become float64).
    """
    d = as_float_array(d, where, name, allow_empty=allow_empty)
    if d.shape != tuple(shape):
        raise ValueError(f"{where}: {name} must have the shape of the forward output "
                         f"{tuple(shape)}, got {d.shape}")
    return d


def check_labels(y, n: int, k: int, where: str, name: str = "y", *,
                 per: str = "row") -> np.ndarray:
    """Integer class labels: shape ``(n,)``, values in ``[0, k - 1]``; returned as int64.

    ``per`` names what each label belongs to in the message ("row", "point", "image").
    """
    y = as_array(y, where, name, ndim=1, dtype_kind="fiub", allow_empty=n == 0)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{where}: {name} must hold integer class labels (an int array such "
                        f"as np.array([0, 2, 1])), got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{where}: {name} must have shape ({n},), one label per {per}, "
                         f"got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"{where}: {name} must hold class labels in [0, {k - 1}], "
                         f"got values in [{y.min()}, {y.max()}]")
    return y.astype(np.int64, copy=False)


def check_step_caches(cache, step_type: type, where: str, producer: str) -> list:
    """The cache a recurrent ``producer`` (e.g. "lstm_forward") returned: a non-empty list
    of ``step_type`` objects, one per time step."""
    if not isinstance(cache, list) or not cache or not isinstance(cache[0], step_type):
        raise TypeError(f"{where}: cache must be the list returned by {producer}, "
                        f"got {type(cache).__name__}")
    return cache


def check_gate_weights(Wx, Wh, biases: dict, gates: Sequence[str], where: str
                       ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], int]:
    """The weights of a gated recurrent cell with k = ``len(gates)`` blocks side by side.

    ``Wx`` must be (D, kH), ``Wh`` (H, kH) and every bias in ``biases`` (``{name: array}``)
    (kH,); all finite floats. ``gates`` names the blocks for the messages, e.g.
    ``("i", "f", "g", "o")``. Returns ``(Wx, Wh, [biases...], H)``.
    """
    k, blocks = len(gates), ", ".join(gates)
    Wx = as_float_array(Wx, where, "Wx", ndim=2, finite=True)
    Wh = as_float_array(Wh, where, "Wh", ndim=2, finite=True)
    bs = [as_float_array(b, where, name, ndim=1, finite=True) for name, b in biases.items()]
    H = Wh.shape[0]
    if Wh.shape != (H, k * H):
        raise ValueError(f"{where}: Wh must be (H, {k}H) with the blocks {blocks} side by side, "
                         f"got shape {Wh.shape}")
    if Wx.shape[1] != k * H:
        raise ValueError(f"{where}: Wx must be (D, {k}H) = (D, {k * H}) to match Wh {Wh.shape}, "
                         f"got {Wx.shape}")
    for name, b in zip(biases, bs, strict=True):
        if b.shape != (k * H,):
            raise ValueError(f"{where}: {name} must have shape ({k * H},) to match Wh "
                             f"{Wh.shape}, got {b.shape}")
    return Wx, Wh, bs, H


def check_rng(rng, where: str, name: str = "rng") -> np.random.Generator:
    """``rng`` must be a ``np.random.Generator`` (as made by ``np.random.default_rng(seed)``)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{where}: {name} must be a numpy Generator "
                        f"(np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def as_rng(seed, where: str, name: str = "seed") -> np.random.Generator:
    """A Generator passed through, or a non-negative integer seed turned into one."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int(seed, where, name, low=0))


def check_finite(arr: np.ndarray, where: str, name: str) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity."""
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: {name} contains NaN or inf values")


def check_int(value, where: str, name: str, *, low: int | None = None,
              high: int | None = None) -> int:
    """Check that ``value`` is an integer in ``[low, high]`` (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{where}: {name} must be in [{lo}, {hi}], got {value}")
    return value


def check_positive(value, where: str, name: str, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not np.isfinite(value):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{where}: {name} must be finite and {bound}, got {value}")
    return value


def check_fraction(value, where: str, name: str) -> float:
    """Check that ``value`` is a real number in [0, 1] (a probability, a fraction, an IoU)."""
    value = check_positive(value, where, name, allow_zero=True)
    if value > 1:
        raise ValueError(f"{where}: {name} must be in [0, 1], got {value}")
    return value


def as_token_ids(ids, vocab_size: int, where: str, name: str = "ids", *, min_len: int = 1,
                 ndim: int | None = 1) -> np.ndarray:
    """Token ids of a vocabulary of ``vocab_size``: an int64 array with values in
    ``[0, vocab_size)`` and at least ``min_len`` entries (``ndim`` axes; None: any)."""
    arr = as_array(ids, where, name, ndim=ndim, dtype_kind="iu", allow_empty=min_len == 0)
    if arr.size < min_len:
        raise ValueError(f"{where}: {name} must hold at least {min_len} ids, got {arr.size}")
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(f"{where}: {name} must be in [0, {vocab_size - 1}] (vocab_size "
                         f"{vocab_size}), got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64, copy=False)


def check_same_shape(a: np.ndarray, b: np.ndarray, where: str, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"{where}: {name_a} and {name_b} must have the same shape, "
                         f"got {a.shape} and {b.shape}")
