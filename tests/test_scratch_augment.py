"""course_lib.scratch.augment: exact shifts, rotations against np.rot90 and torch, seeded noise."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.augment import add_noise, random_augment, rotate, shift


def _imgs(shape=(3, 8, 8), seed=0):
    return np.random.default_rng(seed).random(shape)


@pytest.mark.parametrize("dy,dx", [(0, 0), (1, 0), (0, -2), (3, 2), (-1, -1), (7, 0), (9, 9)])
@pytest.mark.parametrize("shape", [(2, 8, 8), (1, 5, 7), (4, 1, 6)])
def test_shift_moves_pixels_exactly(shape, dy, dx):
    x = _imgs(shape)
    out = shift(x, dy, dx, fill=-1.0)
    n, H, W = shape
    for r in range(H):
        for c in range(W):
            rs, cs = r - dy, c - dx
            want = x[:, rs, cs] if (0 <= rs < H and 0 <= cs < W) else np.full(n, -1.0)
            np.testing.assert_array_equal(out[:, r, c], want)


def test_shift_per_image_and_single_image_and_no_mutation():
    x = _imgs((3, 6, 6))
    keep = x.copy()
    out = shift(x, np.array([0, 1, -2]), np.array([2, 0, 1]))
    for i, (dy, dx) in enumerate([(0, 2), (1, 0), (-2, 1)]):
        np.testing.assert_array_equal(out[i], shift(x[i], dy, dx))
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_array_equal(shift(x, 1, 1)[0], shift(x[0], 1, 1))
    # shifting there and back only loses the border
    back = shift(shift(x, 1, 2), -1, -2)
    np.testing.assert_array_equal(back[:, :-1, :-2], x[:, :-1, :-2])


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("shape", [(2, 8, 8), (1, 5, 5), (3, 4, 7), (1, 1, 1)])
def test_rotate_zero_is_identity(shape, method):
    x = _imgs(shape)
    np.testing.assert_array_equal(rotate(x, 0.0, method=method), x)
    np.testing.assert_allclose(rotate(x, 360.0, method=method), x, atol=1e-12)


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("k", [1, 2, 3, -1])
@pytest.mark.parametrize("n", [1, 4, 5, 8])
def test_rotate_multiples_of_90_match_rot90(n, k, method):
    x = _imgs((2, n, n), seed=k + 10)
    want = np.rot90(x, k=k, axes=(1, 2))
    np.testing.assert_allclose(rotate(x, 90.0 * k, method=method), want, atol=1e-12)


def test_rotate_matches_torch_grid_sample():
    # torch's affine_grid + grid_sample (bilinear, zeros padding, align_corners=True) does the
    # same inverse-mapped bilinear rotation about the centre.
    x = _imgs((3, 9, 7), seed=4)
    angles = np.array([13.0, -25.0, 170.0])
    ours = rotate(x, angles)
    t = np.deg2rad(angles)
    H, W = x.shape[1:]
    # normalised coordinates: u = 2 col/(W-1) - 1, v = 2 row/(H-1) - 1; source (u, v) from output
    sx, sy = (W - 1) / 2, (H - 1) / 2
    theta = np.zeros((3, 2, 3))
    theta[:, 0, 0] = np.cos(t)
    theta[:, 0, 1] = -np.sin(t) * sy / sx
    theta[:, 1, 0] = np.sin(t) * sx / sy
    theta[:, 1, 1] = np.cos(t)
    grid = F.affine_grid(torch.tensor(theta), (3, 1, H, W), align_corners=True)
    ref = F.grid_sample(torch.tensor(x)[:, None], grid, mode="bilinear",
                        padding_mode="zeros", align_corners=True)[:, 0].numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_rotate_keeps_mass_roughly_and_fill():
    x = np.zeros((1, 9, 9))
    x[0, 4, 4] = 1.0                                   # the centre pixel stays put
    assert rotate(x, 37.0)[0, 4, 4] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(rotate(x, 37.0, method="nearest"), x, atol=0)
    ones = np.ones((1, 6, 6))
    out = rotate(ones, 45.0, fill=0.0)
    assert out.min() == 0.0 and out.max() == pytest.approx(1.0)   # corners come from outside


def test_noise_seeded_and_clipped():
    x = _imgs((4, 8, 8))
    a = add_noise(x, 0.1, rng=np.random.default_rng(5))
    b = add_noise(x, 0.1, rng=np.random.default_rng(5))
    c = add_noise(x, 0.1, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    raw = add_noise(x, 0.1, rng=np.random.default_rng(5), clip=None)
    assert (raw - x).std() == pytest.approx(0.1, rel=0.15)
    np.testing.assert_array_equal(add_noise(x, 0.0, rng=np.random.default_rng(0)), x)


def test_random_augment_seeded_shapes():
    x = _imgs((10, 8, 8))
    a = random_augment(x, rng=np.random.default_rng(1), max_shift=2, max_angle=15, noise_std=0.05)
    b = random_augment(x, rng=np.random.default_rng(1), max_shift=2, max_angle=15, noise_std=0.05)
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and a.dtype == np.float64
    same = random_augment(x, rng=np.random.default_rng(1), max_shift=0, max_angle=0.0)
    np.testing.assert_array_equal(same, x)
    assert random_augment(x[0], rng=np.random.default_rng(1)).shape == (8, 8)


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        shift(np.zeros((2, 2, 2, 2)), 1, 1)
    with pytest.raises(TypeError, match="whole numbers"):
        shift(np.zeros((1, 4, 4)), 0.5, 0)
    with pytest.raises(ValueError, match="one per image"):
        shift(np.zeros((3, 4, 4)), np.array([1, 2]), 0)
    with pytest.raises(ValueError, match="method"):
        rotate(np.zeros((4, 4)), 10, method="cubic")
    with pytest.raises(TypeError, match="Generator"):
        add_noise(np.zeros((4, 4)), 0.1, rng=1)
    with pytest.raises(ValueError, match="std"):
        add_noise(np.zeros((4, 4)), -0.1, rng=rng)
    with pytest.raises(ValueError, match="NaN"):
        rotate(np.full((3, 3), np.nan), 10)
    with pytest.raises(TypeError, match="torch tensor"):
        rotate(torch.zeros(3, 3), 10)
    with pytest.raises(ValueError, match="max_shift"):
        random_augment(np.zeros((2, 4, 4)), rng=rng, max_shift=-1)
