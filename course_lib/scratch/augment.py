"""Data augmentation for grayscale image batches (NumPy only): shifts, rotations, noise.

    X_aug = random_augment(X, rng=rng, max_shift=1, max_angle=15.0, noise_std=0.05)

Every function takes ``images`` of shape (N, H, W) (a single (H, W) image is accepted too) and
returns a new float64 array of the same shape; the input is never modified. Pixels that come
from outside the image are filled with ``fill`` (0 = black background for digits).

Rotation uses inverse mapping: each output pixel asks where it came from, p_src = R(−θ)·(p − c)
+ c about the centre c = ((H−1)/2, (W−1)/2), and reads the input there by bilinear
interpolation (or the nearest pixel). Positive angles turn the picture counter-clockwise as
displayed, like ``np.rot90``.

Simard, Steinkraus & Platt, "Best practices for convolutional neural networks applied to
visual document analysis", ICDAR 2003, popularised such distortions for digits.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.validate import (
    as_images,
    check_finite,
    check_int,
    check_positive,
    check_rng,
)


def _batch(images, where: str) -> tuple[np.ndarray, bool]:
    """The images as a finite float64 (N, H, W) batch, and whether a single (H, W) came in."""
    x = as_images(images, where, "images", ndim=(2, 3), dtype=np.float64)
    single = x.ndim == 2
    return (x[None] if single else x), single


def _per_image(value, n: int, where: str, name: str) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if v.ndim == 0:
        v = np.full(n, float(v))
    if v.shape != (n,):
        raise ValueError(f"{where}: {name} must be a number or one per image, shape ({n},), "
                         f"got shape {v.shape}")
    check_finite(v, where, name)
    return v


def shift(images, dy, dx, *, fill: float = 0.0) -> np.ndarray:
    """Translate images by whole pixels: out[n, r, c] = in[n, r − dy, c − dx] (else ``fill``).

    Args:
        images: (N, H, W) or (H, W).
        dy, dx: ints (positive = down / right), or (N,) int arrays, one shift per image.
        fill: value for pixels shifted in from outside.

    Returns:
        float64 array shaped like ``images``.
    """
    x, single = _batch(images, "shift")
    n, H, W = x.shape
    dys = _per_image(dy, n, "shift", "dy")
    dxs = _per_image(dx, n, "shift", "dx")
    if np.any(dys != np.round(dys)) or np.any(dxs != np.round(dxs)):
        raise TypeError("shift: dy and dx must be whole numbers of pixels; use rotate/"
                        "bilinear sampling for sub-pixel moves")
    r = np.arange(H)[None, :, None] - dys.astype(int)[:, None, None]        # (N, H, 1) source row
    c = np.arange(W)[None, None, :] - dxs.astype(int)[:, None, None]        # (N, 1, W) source col
    inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)                         # (N, H, W)
    out = x[np.arange(n)[:, None, None], np.clip(r, 0, H - 1), np.clip(c, 0, W - 1)]
    out = np.where(inside, out, fill)
    return out[0] if single else out


def _sample(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill: float,
            method: str) -> np.ndarray:
    """Read x (N, H, W) at real-valued positions rows, cols (N, H, W)."""
    n, H, W = x.shape
    idx = np.arange(n)[:, None, None]

    def at(r, c):                                  # integer lookup, ``fill`` outside the image
        ok = (r >= 0) & (r < H) & (c >= 0) & (c < W)
        return np.where(ok, x[idx, np.clip(r, 0, H - 1), np.clip(c, 0, W - 1)], fill)

    if method == "nearest":
        return at(np.round(rows).astype(int), np.round(cols).astype(int))
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - r0, cols - c0                  # fractional parts in [0, 1)
    return ((1 - fr) * (1 - fc) * at(r0, c0) + (1 - fr) * fc * at(r0, c0 + 1)
            + fr * (1 - fc) * at(r0 + 1, c0) + fr * fc * at(r0 + 1, c0 + 1))


def rotate(images, angle, *, method: str = "bilinear", fill: float = 0.0) -> np.ndarray:
    """Rotate images about their centre by ``angle`` degrees (counter-clockwise as displayed).

    Args:
        images: (N, H, W) or (H, W).
        angle: degrees, a number or an (N,) array (one angle per image).
        method: ``"bilinear"`` (smooth) or ``"nearest"`` (copies pixels; exact for multiples
            of 90° on square images).
        fill: value for pixels whose source lies outside the image.

    Returns:
        float64 array shaped like ``images``.
    """
    if method not in ("bilinear", "nearest"):
        raise ValueError(f"rotate: method must be 'bilinear' or 'nearest', got {method!r}")
    x, single = _batch(images, "rotate")
    n, H, W = x.shape
    theta = np.deg2rad(_per_image(angle, n, "rotate", "angle"))[:, None, None]   # (N, 1, 1)
    cy, cx = (H - 1) / 2, (W - 1) / 2
    y = np.arange(H)[None, :, None] - cy                                        # (1, H, 1)
    xx = np.arange(W)[None, None, :] - cx                                       # (1, 1, W)
    cos, sin = np.cos(theta), np.sin(theta)
    # snap values within 1e-12 of an integer: rotations by multiples of 90° land on pixels
    rows = cy + cos * y + sin * xx                                              # (N, H, W)
    cols = cx + cos * xx - sin * y
    rows = np.where(np.abs(rows - np.round(rows)) < 1e-9, np.round(rows), rows)
    cols = np.where(np.abs(cols - np.round(cols)) < 1e-9, np.round(cols), cols)
    out = _sample(x, rows, cols, fill, method)
    return out[0] if single else out


def add_noise(images, std: float, *, rng: np.random.Generator,
              clip: tuple[float, float] | None = (0.0, 1.0)) -> np.ndarray:
    """Add Gaussian noise N(0, std²) to every pixel, then clip to ``clip`` (None: no clip).

    Returns a float64 array shaped like ``images``; the same ``rng`` state gives the same noise.
    """
    check_rng(rng, "add_noise")
    x, single = _batch(images, "add_noise")
    std = check_positive(std, "add_noise", "std", allow_zero=True)
    out = x + rng.normal(0.0, std, size=x.shape) if std > 0 else x.copy()
    if clip is not None:
        lo, hi = clip
        if not lo < hi:
            raise ValueError(f"add_noise: clip must be (low, high) with low < high, got {clip}")
        out = np.clip(out, lo, hi)
    return out[0] if single else out


def random_augment(images, *, rng: np.random.Generator, max_shift: int = 1,
                   max_angle: float = 10.0, noise_std: float = 0.0,
                   fill: float = 0.0) -> np.ndarray:
    """A random shift, rotation and noise for every image (a fresh draw per image).

    Each image gets an integer shift dy, dx uniform in {−max_shift, ..., max_shift}, an angle
    uniform in [−max_angle, max_angle] degrees (bilinear rotation), then Gaussian noise of
    ``noise_std`` (clipped to [0, 1]). Args as in :func:`shift`, :func:`rotate`,
    :func:`add_noise`. Returns float64 (N, H, W) (or (H, W) for a single image).
    """
    check_rng(rng, "random_augment")
    x, single = _batch(images, "random_augment")
    n = len(x)
    max_shift = check_int(max_shift, "random_augment", "max_shift", low=0)
    max_angle = check_positive(max_angle, "random_augment", "max_angle", allow_zero=True)
    noise_std = check_positive(noise_std, "random_augment", "noise_std", allow_zero=True)
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    angle = rng.uniform(-max_angle, max_angle, size=n)
    out = rotate(shift(x, dy, dx, fill=fill), angle, fill=fill)
    if noise_std > 0:
        out = add_noise(out, noise_std, rng=rng)
    return out[0] if single else out
