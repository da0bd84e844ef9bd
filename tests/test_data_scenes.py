"""Tests for course_lib.data.make_digit_scenes: the synthetic detection scenes of chapter 16."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data as D
from course_lib.scratch import boxes as B


@pytest.fixture(scope="module")
def scenes() -> D.DigitScenes:
    return D.make_digit_scenes(300, seed=1, max_digits=4)


@pytest.fixture(scope="module")
def mnist() -> D.Dataset:
    return D.load_mnist5k(seed=0)


def _ink_box(img: np.ndarray) -> list[float]:
    """Tight (x1, y1, x2, y2) box, x2 and y2 exclusive, of the pixels > 0.1 of a 2-D image."""
    rows = np.flatnonzero((img > 0.1).any(axis=1))
    cols = np.flatnonzero((img > 0.1).any(axis=0))
    return [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]


def _crop_key(img: np.ndarray) -> tuple:
    """The ink's tight crop of a 2-D image, as a hashable key (shape and bytes)."""
    x1, y1, x2, y2 = _ink_box(img)
    crop = np.ascontiguousarray(img[y1:y2, x1:x2], dtype=np.float32)
    return crop.shape, crop.tobytes()


def test_shapes_dtypes_and_ranges(scenes):
    assert len(scenes) == 300 and scenes.canvas == 64 and scenes.split == "train"
    assert scenes.images.shape == (300, 1, 64, 64) and scenes.images.dtype == np.float32
    assert scenes.images.min() >= 0.0 and scenes.images.max() <= 1.0
    assert len(scenes.boxes) == len(scenes.labels) == 300
    for b, lab in zip(scenes.boxes, scenes.labels, strict=True):
        assert b.dtype == np.float32 and b.ndim == 2 and b.shape[1] == 4
        assert lab.dtype == np.int64 and lab.shape == (len(b),)
        assert lab.size == 0 or (lab.min() >= 0 and lab.max() <= 9)
    assert "300 scenes of 64x64" in repr(scenes)


def test_boxes_valid_inside_canvas_and_on_pixel_edges(scenes):
    for b in scenes.boxes:
        B.check_boxes(b)                                       # x2 > x1, y2 > y1, finite
        assert (b >= 0).all() and (b <= scenes.canvas).all()
        assert np.array_equal(b, np.round(b))                  # whole pixels
    # every box holds ink on each of its four edges (it is tight, not the paste square)
    for img, b in zip(scenes.images[:, 0], scenes.boxes, strict=True):
        for x1, y1, x2, y2 in b.astype(int):
            inside = img[y1:y2, x1:x2] > 0.1
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()


def test_one_digit_box_is_the_tight_box_of_the_whole_canvas():
    sc = D.make_digit_scenes(60, canvas=48, min_digits=1, max_digits=1, scales=(8, 40), seed=3)
    for img, b in zip(sc.images[:, 0], sc.boxes, strict=True):
        assert b.shape == (1, 4)
        assert b[0].tolist() == _ink_box(img)


def test_no_overlap_by_default_and_allow_overlap_bounds_iou(scenes):
    n_pairs = 0
    for b in scenes.boxes:
        if len(b) > 1:
            off = B.iou(b, b)[~np.eye(len(b), dtype=bool)]
            assert (off == 0).all()
            n_pairs += off.size
    assert n_pairs > 100
    loose = D.make_digit_scenes(200, max_digits=5, allow_overlap=0.3, seed=2)
    worst = max(B.iou(b, b)[~np.eye(len(b), dtype=bool)].max()
                for b in loose.boxes if len(b) > 1)
    assert 0.0 < worst <= 0.3 + 1e-6


def test_digit_counts():
    sc = D.make_digit_scenes(200, min_digits=2, max_digits=4, scales=(12, 16), seed=4)
    counts = np.array([len(lab) for lab in sc.labels])
    assert set(counts.tolist()) == {2, 3, 4}
    # A crowded canvas: digits that find no free place are skipped, so fewer than min_digits.
    crowded = D.make_digit_scenes(50, canvas=32, min_digits=4, max_digits=4, scales=(20, 24))
    counts = np.array([len(lab) for lab in crowded.labels])
    assert counts.min() >= 1 and counts.max() <= 4 and (counts < 4).any()
    empty = D.make_digit_scenes(30, min_digits=0, max_digits=1, seed=5)
    assert any(b.shape == (0, 4) for b in empty.boxes)


def test_determinism():
    a = D.make_digit_scenes(20, seed=7)
    b = D.make_digit_scenes(20, seed=7)
    assert np.array_equal(a.images, b.images)
    assert all(np.array_equal(x, y) for x, y in zip(a.boxes, b.boxes, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(a.labels, b.labels, strict=True))
    assert not np.array_equal(a.images, D.make_digit_scenes(20, seed=8).images)
    assert not np.array_equal(a.images, D.make_digit_scenes(20, seed=7, split="val").images)


@pytest.mark.parametrize("split, other", [("train", "val"), ("val", "train"), ("test", "train")])
def test_scenes_use_digits_of_their_split_only(mnist, split, other):
    """Digits pasted at their own size (28) are exact copies: each crop must be an image of
    ``split`` with the same label, and none of ``other``."""
    own: dict[tuple, set[int]] = {}
    for x, y in zip(getattr(mnist, f"X_{split}"), getattr(mnist, f"y_{split}"), strict=True):
        own.setdefault(_crop_key(x), set()).add(int(y))
    foreign = {_crop_key(x) for x in getattr(mnist, f"X_{other}")}
    sc = D.make_digit_scenes(100, split=split, canvas=40, min_digits=1, max_digits=1,
                             scales=(28, 28), seed=11)
    for img, b, lab in zip(sc.images[:, 0], sc.boxes, sc.labels, strict=True):
        x1, y1, x2, y2 = b[0].astype(int)
        crop = np.ascontiguousarray(img[y1:y2, x1:x2])             # the pasted digit's ink
        key = crop.shape, crop.tobytes()
        assert key in own and int(lab[0]) in own[key]
        assert key not in foreign
    assert sc.split == split


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(n_scenes=0), ValueError, r"n_scenes must be in \[1, inf\], got 0"),
    (dict(n_scenes=2.0), TypeError, "n_scenes must be an int, got float"),
    (dict(n_scenes=2, split="training"), ValueError, "split must be one of train, val, test"),
    (dict(n_scenes=2, split=1), TypeError, "split must be a str"),
    (dict(n_scenes=2, canvas=4), ValueError, r"canvas must be in \[5, inf\], got 4"),
    (dict(n_scenes=2, max_digits=0), ValueError, r"max_digits must be in \[1, inf\]"),
    (dict(n_scenes=2, min_digits=-1), ValueError, r"min_digits must be in \[0, inf\]"),
    (dict(n_scenes=2, min_digits=3, max_digits=2), ValueError,
     "min_digits must be <= max_digits, got min_digits=3 > max_digits=2"),
    (dict(n_scenes=2, scales=(4, 10)), ValueError, r"4 < scales\[0\] <= scales\[1\] <= canvas"),
    (dict(n_scenes=2, scales=(12, 65)), ValueError, r"<= canvas \(64\), got \(12, 65\)"),
    (dict(n_scenes=2, scales=(20, 10)), ValueError, r"got \(20, 10\)"),
    (dict(n_scenes=2, scales=12), TypeError, "scales must be a pair of ints"),
    (dict(n_scenes=2, scales=(12.0, 20)), TypeError, r"scales\[0\] must be an int"),
    (dict(n_scenes=2, seed=-1), ValueError, r"seed must be in \[0, inf\]"),
    (dict(n_scenes=2, allow_overlap=1.5), ValueError, r"allow_overlap must be in \[0, 1\]"),
    (dict(n_scenes=2, allow_overlap="0"), TypeError, "allow_overlap must be a number"),
])
def test_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        D.make_digit_scenes(**kwargs)
