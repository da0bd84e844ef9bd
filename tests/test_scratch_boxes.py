"""course_lib.scratch.boxes: box formats, IoU and GIoU equal a brute-force double loop and
their hand-computed values; NMS, class-aware NMS and soft-NMS equal simple reference loops on
many random seeds (ties broken by lower index); anchors, R-CNN encoding and anchor matching
behave as Faster R-CNN describes on hand-made cases; precision, recall, AP and mAP equal
values worked out by hand in the comments. Bad inputs give clear errors."""

import math
import textwrap

import numpy as np
import pytest
import torch

from course_lib.scratch import boxes as boxes_module
from course_lib.scratch.boxes import (
    COCO_THRESHOLDS,
    average_precision,
    batched_nms,
    box_area,
    check_boxes,
    cxcywh_to_xyxy,
    decode,
    encode,
    giou,
    iou,
    make_anchors,
    match_anchors,
    match_detections,
    mean_average_precision,
    nms,
    precision_recall,
    soft_nms,
    xyxy_to_cxcywh,
)

SEEDS = range(20)
EMPTY = np.zeros((0, 4))


def random_boxes(rng, n, size=50.0, max_wh=25.0):
    """(n, 4) xyxy boxes with corners in [0, size] and sides in [1, max_wh]."""
    xy = rng.uniform(0, size, size=(n, 2))
    wh = rng.uniform(1, max_wh, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


# Scalar references, written as differently from the module as possible ----------------------

def iou_one(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter)


def giou_one(a, b):
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    i = iou_one(a, b)
    union = (area_a + area_b) / (1 + i)          # I = i·U and U = |A| + |B| − I
    return i - (hull - union) / hull


def nms_reference(boxes, scores, thr):
    """Walk the boxes by descending score (ties: lower index); keep a box unless a box
    already kept overlaps it by more than thr."""
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if all(iou_one(boxes[i], boxes[k]) <= thr for k in kept):
            kept.append(i)
    return kept


def soft_nms_reference(boxes, scores, sigma, score_thr, method, nt):
    s = {i: float(v) for i, v in enumerate(scores) if v >= score_thr}
    kept, kept_s = [], []
    while s:
        best = min(s, key=lambda i: (-s[i], i))
        kept.append(best)
        kept_s.append(s.pop(best))
        for i in list(s):
            o = iou_one(boxes[best], boxes[i])
            if method == "gaussian":
                s[i] *= math.exp(-o * o / sigma)
            elif o > nt:
                s[i] *= 1 - o
            if s[i] < score_thr:
                del s[i]
    return kept, kept_s


# ---------------------------------------------------------------------------------------------
# 1. Box formats
# ---------------------------------------------------------------------------------------------

def test_format_conversion_by_hand_and_round_trip():
    np.testing.assert_array_equal(xyxy_to_cxcywh([[1, 2, 5, 10]]), [[3, 6, 4, 8]])
    np.testing.assert_array_equal(cxcywh_to_xyxy([[3, 6, 4, 8]]), [[1, 2, 5, 10]])
    b = random_boxes(np.random.default_rng(0), 30)
    np.testing.assert_allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(b)), b, rtol=0, atol=1e-12)
    assert xyxy_to_cxcywh(EMPTY).shape == (0, 4)


def test_check_boxes_returns_float64_and_accepts_ints_and_empty():
    b = check_boxes([[0, 0, 2, 3]])
    assert b.dtype == np.float64 and b.shape == (1, 4)
    assert check_boxes(EMPTY).shape == (0, 4)


def test_box_area():
    np.testing.assert_array_equal(box_area([[0, 0, 2, 3], [1, 1, 1.5, 5]]), [6.0, 2.0])


@pytest.mark.parametrize("boxes, exc, match", [
    ([[0, 0, 1, 1], [5, 0, 4, 1]], ValueError, r"row 1 = \[5.0, 0.0, 4.0, 1.0\] is degenerate "
                                               r"or inverted: x2 \(4\) <= x1 \(5\)"),
    ([[0, 0, 1, 1], [0, 2, 1, 2]], ValueError, r"row 1 .* y2 \(2\) <= y1 \(2\)"),
    ([0, 0, 1, 1], ValueError, r"must be a 2-D array, got shape \(4,\)"),
    ([[0, 0, 1, 1, 1]], ValueError, r"must be \(N, 4\), one box per row, got shape \(1, 5\)"),
    ([[0, 0, np.nan, 1]], ValueError, "NaN or inf"),
    (torch.zeros(2, 4), TypeError, "got a torch tensor"),
    ("boxes", TypeError, "must be an array of numbers"),
])
def test_check_boxes_errors(boxes, exc, match):
    with pytest.raises(exc, match=match):
        check_boxes(boxes, "f", "boxes")


def test_every_public_function_refuses_inverted_boxes():
    bad = [[0, 0, 1, 1], [3, 3, 2, 4]]
    for f in (xyxy_to_cxcywh, box_area):
        with pytest.raises(ValueError, match="row 1"):
            f(bad)
    with pytest.raises(ValueError, match="iou: b row 1"):
        iou([[0, 0, 1, 1]], bad)
    with pytest.raises(ValueError, match="nms: boxes row 1"):
        nms(bad, [0.5, 0.4], 0.5)
    with pytest.raises(ValueError, match="cxcywh_to_xyxy: boxes row 0 .* width or height"):
        cxcywh_to_xyxy([[1, 1, 0, 2]])


# ---------------------------------------------------------------------------------------------
# 2. IoU and GIoU
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_iou_and_giou_equal_a_double_loop(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, rng.integers(1, 9)), random_boxes(rng, rng.integers(1, 9))
    want_iou = np.array([[iou_one(p, q) for q in b] for p in a])
    want_giou = np.array([[giou_one(p, q) for q in b] for p in a])
    np.testing.assert_allclose(iou(a, b), want_iou, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(giou(a, b), want_giou, rtol=1e-12, atol=1e-15)


def test_iou_and_giou_properties_on_random_boxes():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 40), random_boxes(rng, 30)
    q, g = iou(a, b), giou(a, b)
    assert q.shape == g.shape == (40, 30)
    assert np.all((q >= 0) & (q <= 1)) and np.all((g >= -1) & (g <= 1))
    assert np.all(g <= q + 1e-15)                          # the hull penalty is >= 0
    np.testing.assert_allclose(iou(b, a), q.T, rtol=0, atol=0)   # symmetric
    np.testing.assert_allclose(giou(b, a), g.T, rtol=0, atol=0)
    np.testing.assert_allclose(np.diag(iou(a, a)), 1.0)
    np.testing.assert_allclose(np.diag(giou(a, a)), 1.0)


# (a, b, IoU, GIoU), all by hand; unit squares unless said otherwise.
HAND_CASES = [
    # disjoint, 1 apart: I = 0, U = 2, hull 3 × 1 → GIoU = −(3 − 2)/3
    ([0, 0, 1, 1], [2, 0, 3, 1], 0.0, -1 / 3),
    # touching along an edge: I = 0, U = 2 = hull → GIoU 0
    ([0, 0, 1, 1], [1, 0, 2, 1], 0.0, 0.0),
    # touching at a corner: I = 0, U = 2, hull 2 × 2 = 4 → GIoU = −2/4
    ([0, 0, 1, 1], [1, 1, 2, 2], 0.0, -0.5),
    # one inside the other: IoU = area ratio 1/16; the hull is the big box → GIoU = IoU
    ([0, 0, 4, 4], [1, 1, 2, 2], 1 / 16, 1 / 16),
    # identical
    ([3, 4, 7, 9], [3, 4, 7, 9], 1.0, 1.0),
    # half overlap: I = 1 × 2 = 2, U = 4 + 4 − 2 = 6, hull 3 × 2 = 6 → GIoU = IoU = 1/3
    ([0, 0, 2, 2], [1, 0, 3, 2], 1 / 3, 1 / 3),
    # diagonal overlap: I = 1, U = 7, hull 3 × 3 = 9 → GIoU = 1/7 − 2/9
    ([0, 0, 2, 2], [1, 1, 3, 3], 1 / 7, 1 / 7 - 2 / 9),
]


@pytest.mark.parametrize("a, b, want_iou, want_giou", HAND_CASES)
def test_iou_and_giou_by_hand(a, b, want_iou, want_giou):
    assert iou([a], [b])[0, 0] == pytest.approx(want_iou, abs=1e-15)
    assert giou([a], [b])[0, 0] == pytest.approx(want_giou, abs=1e-15)
    assert giou([b], [a])[0, 0] == pytest.approx(want_giou, abs=1e-15)


def test_giou_tends_to_minus_one_for_tiny_boxes_far_apart():
    assert giou([[0, 0, 1e-3, 1e-3]], [[1e3, 1e3, 1e3 + 1e-3, 1e3 + 1e-3]])[0, 0] < -0.999999


def test_iou_with_an_empty_side():
    assert iou(EMPTY, [[0, 0, 1, 1]]).shape == (0, 1)
    assert giou([[0, 0, 1, 1]], EMPTY).shape == (1, 0)


# ---------------------------------------------------------------------------------------------
# 3. NMS, class-aware NMS and soft-NMS
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.7])
def test_nms_equals_the_reference(seed, thr):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    b = random_boxes(rng, n)
    s = rng.integers(0, 5, size=n) / 4 if seed % 2 else rng.random(n)   # many ties when odd
    got = nms(b, s, thr)
    assert got.dtype == np.int64
    assert got.tolist() == nms_reference(b, s, thr)


def test_nms_by_hand_and_ties_break_by_lower_index():
    b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30.]])   # IoU(0, 1) = 81/119
    np.testing.assert_array_equal(nms(b, [0.9, 0.8, 0.7], 0.5), [0, 2])
    np.testing.assert_array_equal(nms(b, [0.7, 0.8, 0.9], 0.5), [2, 1])
    np.testing.assert_array_equal(nms(b, [0.8, 0.8, 0.8], 0.5), [0, 2])   # tie: index 0 wins
    np.testing.assert_array_equal(nms(b, [0.8, 0.8, 0.8], 0.7), [0, 1, 2])  # 0.68 <= 0.7
    # identical boxes with equal scores: the first one is kept
    np.testing.assert_array_equal(nms([[0, 0, 1, 1]] * 3, [0.5, 0.5, 0.5], 0.5), [0])


def test_nms_threshold_one_keeps_every_box_and_zero_keeps_only_disjoint_ones():
    rng = np.random.default_rng(3)
    b, s = random_boxes(rng, 30), rng.random(30)
    np.testing.assert_array_equal(nms(b, s, 1.0), np.argsort(-s, kind="stable"))
    kept = nms(b, s, 0.0)
    q = iou(b[kept], b[kept])
    assert np.all(q[~np.eye(len(kept), dtype=bool)] == 0)


def test_nms_empty_and_single_box():
    got = nms(EMPTY, np.zeros(0), 0.5)
    assert got.shape == (0,) and got.dtype == np.int64
    np.testing.assert_array_equal(nms([[0, 0, 1, 1]], [0.3], 0.5), [0])


@pytest.mark.parametrize("seed", SEEDS)
def test_batched_nms_equals_the_coordinate_offset_trick(seed):
    # Shifting each class by class · (largest coordinate + 1) makes boxes of different
    # classes disjoint, so plain NMS on the shifted boxes is class-aware NMS.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    b, s, c = random_boxes(rng, n), rng.random(n), rng.integers(0, 3, size=n)
    shifted = b + (c * (b.max() + 1))[:, None]
    np.testing.assert_array_equal(batched_nms(b, s, c, 0.4), nms(shifted, s, 0.4))


def test_batched_nms_never_suppresses_across_classes():
    b = [[0, 0, 10, 10]] * 3
    # class 0: boxes 0 (0.5) and 2 (0.7) are identical → 2 kept; class 1: box 1 alone
    np.testing.assert_array_equal(batched_nms(b, [0.5, 0.9, 0.7], [0, 1, 0], 0.5), [1, 2])
    np.testing.assert_array_equal(batched_nms(b, [0.5, 0.5, 0.5], [0, 1, 2], 0.5), [0, 1, 2])
    # equal scores across classes: the merged result is still in index order
    far = [[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]]
    np.testing.assert_array_equal(batched_nms(far, [0.5] * 3, [1, 0, 1], 0.5), [0, 1, 2])
    got = batched_nms(EMPTY, np.zeros(0), np.zeros(0, dtype=int), 0.5)
    assert got.shape == (0,) and got.dtype == np.int64


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_soft_nms_equals_the_reference(seed, method):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    b, s = random_boxes(rng, n), rng.random(n)
    idx, new = soft_nms(b, s, sigma=0.5, score_threshold=0.05, method=method,
                        iou_threshold=0.3)
    want_idx, want_new = soft_nms_reference(b, s, 0.5, 0.05, method, 0.3)
    assert idx.dtype == np.int64 and idx.tolist() == want_idx
    np.testing.assert_allclose(new, want_new, rtol=1e-12)
    assert np.all(np.diff(new) <= 0)                       # picked by non-increasing score


def test_soft_nms_by_hand():
    # IoU(A, B) = 100 / 200 = 0.5
    b = [[0, 0, 10, 10], [0, 0, 10, 20], [50, 50, 60, 60]]
    s = [0.9, 0.8, 0.1]
    idx, new = soft_nms(b, s)                              # gaussian: 0.8 · exp(−0.25 / 0.5)
    np.testing.assert_array_equal(idx, [0, 1, 2])
    np.testing.assert_allclose(new, [0.9, 0.8 * math.exp(-0.5), 0.1], rtol=1e-14)
    idx, new = soft_nms(b, s, method="linear")             # 0.5 > 0.3: 0.8 · (1 − 0.5)
    np.testing.assert_allclose(new, [0.9, 0.4, 0.1], rtol=1e-14)
    idx, new = soft_nms(b, s, method="linear", iou_threshold=0.6)   # 0.5 <= 0.6: untouched
    np.testing.assert_allclose(new, [0.9, 0.8, 0.1], rtol=1e-14)
    idx, new = soft_nms(b, s, method="linear", score_threshold=0.45)  # 0.4 and 0.1 dropped
    np.testing.assert_array_equal(idx, [0])
    idx, new = soft_nms(b, s, method="linear", score_threshold=0.4)   # 0.4 is not below 0.4
    np.testing.assert_array_equal(idx, [0, 1])
    # the decayed score can fall below an untouched box: the order follows the new scores
    idx, new = soft_nms(b, [0.9, 0.8, 0.5], method="linear")
    np.testing.assert_array_equal(idx, [0, 2, 1])


def test_soft_nms_ties_empty_and_one_box():
    idx, _ = soft_nms([[0, 0, 1, 1], [5, 5, 6, 6]], [0.5, 0.5])
    np.testing.assert_array_equal(idx, [0, 1])
    idx, new = soft_nms(EMPTY, np.zeros(0))
    assert idx.shape == new.shape == (0,) and idx.dtype == np.int64
    idx, new = soft_nms([[0, 0, 1, 1]], [0.3])
    np.testing.assert_array_equal(idx, [0])
    np.testing.assert_array_equal(new, [0.3])


def test_nms_errors():
    b = [[0, 0, 1, 1], [2, 2, 3, 3]]
    with pytest.raises(ValueError, match=r"nms: scores must have shape \(2,\), one score per "
                                         r"box, got \(3,\)"):
        nms(b, [0.1, 0.2, 0.3], 0.5)
    for thr in (1.5, -0.1):
        with pytest.raises(ValueError, match=r"iou_threshold must be .*(in \[0, 1\]|>= 0)"):
            nms(b, [0.1, 0.2], thr)
    with pytest.raises(TypeError, match="iou_threshold must be a number"):
        nms(b, [0.1, 0.2], "0.5")
    with pytest.raises(TypeError, match="torch tensor"):
        nms(b, torch.tensor([0.1, 0.2]), 0.5)
    with pytest.raises(ValueError, match="scores and classes must have the same shape"):
        batched_nms(b, [0.1, 0.2], [0], 0.5)
    with pytest.raises(TypeError, match="classes must have a numeric dtype"):
        batched_nms(b, [0.1, 0.2], [0.0, 1.0], 0.5)
    with pytest.raises(ValueError, match="method must be 'gaussian' or 'linear'"):
        soft_nms(b, [0.1, 0.2], method="hard")
    with pytest.raises(ValueError, match="sigma must be finite and > 0"):
        soft_nms(b, [0.1, 0.2], sigma=0)
    with pytest.raises(ValueError, match=r"score_threshold must be in \[0, 1\]"):
        soft_nms(b, [0.1, 0.2], score_threshold=2)


# ---------------------------------------------------------------------------------------------
# 4. Anchors, encoding, matching
# ---------------------------------------------------------------------------------------------

def test_make_anchors_single_cell_by_hand():
    np.testing.assert_array_equal(make_anchors((1, 1), 16, [16], [1]), [[0, 0, 16, 16]])
    # ratio = height / width = 4, area 8²: w = 8 / 2 = 4, h = 8 · 2 = 16, centre (4, 4)
    np.testing.assert_allclose(make_anchors((1, 1), 8, [8], [4]), [[2, -4, 6, 12]])


def test_make_anchors_layout_centres_and_shapes():
    H, W, stride, scales, ratios = 3, 5, 8, [8.0, 16.0], [0.5, 1.0, 2.0]
    a = make_anchors((H, W), stride, scales, ratios)
    assert a.shape == (H * W * 6, 4) and a.dtype == np.float64
    grid = a.reshape(H, W, len(scales), len(ratios), 4)
    c = xyxy_to_cxcywh(a).reshape(H, W, len(scales), len(ratios), 4)
    for i in range(H):
        for j in range(W):
            np.testing.assert_allclose(c[i, j, ..., 0], (j + 0.5) * stride)
            np.testing.assert_allclose(c[i, j, ..., 1], (i + 0.5) * stride)
    for k, s in enumerate(scales):
        for r, ratio in enumerate(ratios):
            w, h = c[0, 0, k, r, 2], c[0, 0, k, r, 3]
            assert w * h == pytest.approx(s * s, rel=1e-14)
            assert h / w == pytest.approx(ratio, rel=1e-14)
    # anchor ((i·W + j)·S + k)·R + r is cell (i, j), scale k, ratio r
    i, j, k, r = 2, 3, 1, 2
    np.testing.assert_array_equal(a[((i * W + j) * 2 + k) * 3 + r], grid[i, j, k, r])


def test_encode_by_hand_and_with_weights():
    # anchor: centre (5, 5), size 10 × 10; box: centre (15, 5), size 20 × 10
    anchors, boxes = [[0, 0, 10, 10]], [[5, 0, 25, 10]]
    np.testing.assert_allclose(encode(anchors, boxes), [[1, 0, math.log(2), 0]], rtol=1e-15)
    np.testing.assert_allclose(encode(anchors, boxes, weights=(10, 10, 5, 5)),
                               [[10, 0, 5 * math.log(2), 0]], rtol=1e-15)
    np.testing.assert_allclose(encode(anchors, anchors), np.zeros((1, 4)))


@pytest.mark.parametrize("weights", [(1, 1, 1, 1), (10, 10, 5, 5)])
def test_decode_inverts_encode(weights):
    rng = np.random.default_rng(7)
    anchors, boxes = random_boxes(rng, 50), random_boxes(rng, 50)
    d = encode(anchors, boxes, weights)
    np.testing.assert_allclose(decode(anchors, d, weights), boxes, rtol=1e-12, atol=1e-12)
    d = rng.normal(size=(50, 4))
    np.testing.assert_allclose(encode(anchors, decode(anchors, d, weights), weights), d,
                               rtol=1e-12, atol=1e-12)
    assert encode(EMPTY, EMPTY).shape == decode(EMPTY, EMPTY).shape == (0, 4)


def test_match_anchors_by_hand():
    gt = [[0, 0, 10, 10], [40, 40, 60, 60]]
    anchors = [
        [0, 0, 10, 10],      # IoU 1 with gt 0                     → 0
        [5, 0, 15, 10],      # IoU 50/150 = 1/3 < 0.4              → −1
        [0, 0, 10, 22],      # IoU 100/220 ≈ 0.45, in [0.4, 0.5)   → −2 (ignore)
        [0, 0, 10, 20],      # IoU 100/200 = 0.5 >= 0.5            → 0
        [40, 40, 50, 50],    # IoU 100/400 = 0.25 with gt 1, but it is (tied) best for gt 1 → 1
        [50, 50, 60, 60],    # the same, tied best for gt 1        → 1
        [100, 100, 110, 110],  # overlaps nothing                  → −1
        [0, 0, 10, 4],       # IoU 40/100 = 0.4 exactly: not < 0.4 → −2
    ]
    got = match_anchors(anchors, gt)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [0, -1, -2, 0, 1, 1, -1, -2])


def test_match_anchors_an_anchor_claimed_twice_goes_to_the_larger_overlap():
    anchors = [[0, 0, 10, 10], [100, 100, 110, 110]]
    # IoU with gt 0 = 100/300 = 1/3, with gt 1 = 100/200 = 1/2; both claim anchor 0
    np.testing.assert_array_equal(
        match_anchors(anchors, [[0, 0, 10, 30], [0, 0, 20, 10]], pos_iou=0.9, neg_iou=0.8),
        [1, -1])
    # equal IoU 1/2 with both: the lower gt index wins
    np.testing.assert_array_equal(
        match_anchors(anchors, [[0, 0, 10, 20], [0, 0, 20, 10]], pos_iou=0.9, neg_iou=0.8),
        [0, -1])


def test_match_anchors_without_gt_or_overlap():
    anchors = make_anchors((2, 2), 8, [8], [1])
    np.testing.assert_array_equal(match_anchors(anchors, EMPTY), [-1] * 4)
    # a gt overlapping no anchor claims none
    np.testing.assert_array_equal(match_anchors(anchors, [[100, 100, 110, 110]]), [-1] * 4)


def test_anchor_errors():
    with pytest.raises(TypeError, match=r"feature_size must be a tuple \(H, W\)"):
        make_anchors(4, 8, [8], [1])
    with pytest.raises(ValueError, match=r"feature_size\[1\] \(W\) must be in \[1, inf\]"):
        make_anchors((4, 0), 8, [8], [1])
    with pytest.raises(TypeError, match="stride must be an int"):
        make_anchors((4, 4), 8.0, [8], [1])
    with pytest.raises(ValueError, match="ratios must all be > 0"):
        make_anchors((4, 4), 8, [8], [1, -2])
    with pytest.raises(ValueError, match="anchors and boxes must have the same shape"):
        encode([[0, 0, 1, 1]], [[0, 0, 1, 1]] * 2)
    with pytest.raises(ValueError, match=r"weights must be 4 numbers"):
        encode([[0, 0, 1, 1]], [[0, 0, 1, 1]], weights=(1, 1))
    with pytest.raises(ValueError, match=r"deltas must be \(N, 4\)"):
        decode([[0, 0, 1, 1]], [[0, 0, 1]])
    with pytest.raises(ValueError, match="neg_iou must be <= pos_iou"):
        match_anchors([[0, 0, 1, 1]], [[0, 0, 1, 1]], pos_iou=0.3, neg_iou=0.5)
    with pytest.raises(ValueError, match=r"pos_iou must be in \[0, 1\]"):
        match_anchors([[0, 0, 1, 1]], [[0, 0, 1, 1]], pos_iou=1.2)


# ---------------------------------------------------------------------------------------------
# 5. Precision, recall, AP, mAP
# ---------------------------------------------------------------------------------------------

def test_average_precision_by_hand():
    # 3 gts; 5 detections with scores 0.9 0.8 0.7 0.6 0.5 and pattern TP FP TP FP TP.
    #   k:          1     2     3     4     5
    #   precision:  1     1/2   2/3   2/4   3/5
    #   recall:     1/3   1/3   2/3   2/3   1
    #   envelope:   1     2/3   2/3   3/5   3/5     (max of the precisions to the right)
    #   AP = 1/3 · 1 + (2/3 − 1/3) · 2/3 + (1 − 2/3) · 3/5 = 1/3 + 2/9 + 1/5 = 34/45
    # The inputs are shuffled: the functions must sort by score themselves.
    scores = np.array([0.6, 0.9, 0.5, 0.8, 0.7])
    is_tp = np.array([False, True, True, False, True])
    p, r = precision_recall(scores, is_tp, 3)
    np.testing.assert_allclose(p, [1, 1 / 2, 2 / 3, 2 / 4, 3 / 5], rtol=1e-15)
    np.testing.assert_allclose(r, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1], rtol=1e-15)
    assert average_precision(scores, is_tp, 3) == pytest.approx(34 / 45, rel=1e-14)


def test_average_precision_uses_the_monotone_envelope():
    # 3 gts; pattern TP FP TP TP → precision 1, 1/2, 2/3, 3/4; recall 1/3, 1/3, 2/3, 1.
    # Envelope 1, 3/4, 3/4, 3/4, so AP = 1/3 · 1 + 1/3 · 3/4 + 1/3 · 3/4 = 5/6
    # (the raw precisions would give 1/3 + 2/9 + 1/4 = 29/36).
    assert average_precision([4, 3, 2, 1], [1, 0, 1, 1], 3) == pytest.approx(5 / 6, rel=1e-15)


def test_average_precision_with_missed_objects_and_ties():
    # 4 gts, found 2: TP TP FP → precision 1, 1, 2/3; recall 1/4, 1/2, 1/2 → AP = 1/2
    assert average_precision([0.9, 0.8, 0.7], [1, 1, 0], 4) == pytest.approx(0.5, rel=1e-15)
    # equal scores keep input order: FP first gives precision 0, 1/2 → AP = (1/1) · 1/2
    assert average_precision([0.5, 0.5], [0, 1], 1) == pytest.approx(0.5, rel=1e-15)
    assert average_precision([0.5, 0.5], [1, 0], 1) == pytest.approx(1.0, rel=1e-15)


def test_average_precision_extremes():
    assert average_precision([0.9, 0.1, 0.5], [True] * 3, 3) == 1.0        # perfect
    assert average_precision(np.zeros(0), np.zeros(0, dtype=bool), 3) == 0.0  # no detections
    assert average_precision([0.9, 0.8], [False, False], 2) == 0.0         # all wrong
    # perfect ranking but half the objects missed: AP = recall = 1/2
    assert average_precision([0.9], [True], 2) == pytest.approx(0.5)
    p, r = precision_recall(np.zeros(0), np.zeros(0, dtype=bool), 1)
    assert p.shape == r.shape == (0,)


def test_match_detections_greedy_by_score_duplicates_are_false_positives():
    gt = [[0, 0, 10, 10], [20, 0, 30, 10]]
    pred = [[1, 1, 11, 11],      # IoU 81/119 ≈ 0.68 with gt 0, lower score → duplicate: FP
            [0, 0, 10, 10],      # IoU 1 with gt 0, higher score → TP
            [20, 0, 30, 20],     # IoU 100/200 = 0.5 with gt 1: exactly the threshold → TP
            [50, 50, 60, 60]]    # nothing → FP
    got = match_detections(pred, [0.8, 0.9, 0.3, 0.95], gt, 0.5)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, [False, True, True, False])
    # if the duplicate scores higher, it takes gt 0 and the exact box becomes the FP
    np.testing.assert_array_equal(match_detections(pred, [0.95, 0.9, 0.3, 0.1], gt, 0.5),
                                  [True, False, True, False])
    np.testing.assert_array_equal(match_detections(pred, [0.8, 0.9, 0.3, 0.95], gt, 0.7),
                                  [False, True, False, False])


def test_match_detections_skips_taken_gts_coco_rule():
    # the second detection overlaps gt 0 (taken, IoU 0.8) and gt 1 (IoU 100/150 = 2/3):
    # it is matched to gt 1
    gt = [[0, 0, 10, 10], [0, 0, 10, 15]]
    got = match_detections([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], gt, 0.5)
    np.testing.assert_array_equal(got, [True, True])


def test_match_detections_empty():
    assert match_detections(EMPTY, np.zeros(0), [[0, 0, 1, 1]], 0.5).shape == (0,)
    np.testing.assert_array_equal(match_detections([[0, 0, 1, 1]], [0.5], EMPTY, 0.5), [False])


# Two images, two classes (plus an unused class 2 in the second test).
#   image 0: gts A = [0, 0, 10, 10] (class 0), B = [20, 0, 30, 10] (class 0),
#                C = [0, 20, 10, 30] (class 1)
#            preds p1 = A exactly, 0.9, class 0              → TP (A)
#                  p2 = [1, 1, 11, 11], 0.8, class 0         → FP (duplicate of A)
#                  p3 = C exactly, 0.7, class 1              → TP (C)
#                  p4 = B exactly, 0.3, class 1              → FP (wrong class)
#   image 1: gt    D = [0, 0, 10, 10] (class 1)
#            preds p5 = D exactly, 0.6, class 1              → TP (D)
#                  p6 = [50, 50, 60, 60], 0.95, class 0      → FP
#   class 0 (2 gts), by score: p6 FP, p1 TP, p2 FP → precision 0, 1/2, 1/3; recall 0, 1/2, 1/2
#            AP = (1/2 − 0) · 1/2 = 1/4
#   class 1 (2 gts), by score: p3 TP, p5 TP, p4 FP → precision 1, 1, 2/3; recall 1/2, 1, 1
#            AP = 1
#   mAP = (1/4 + 1) / 2 = 5/8
A, B, C, D = [0, 0, 10, 10], [20, 0, 30, 10], [0, 20, 10, 30], [0, 0, 10, 10]
PREDS = [(np.array([A, [1, 1, 11, 11], C, B], float), np.array([0.9, 0.8, 0.7, 0.3]),
          np.array([0, 0, 1, 1])),
         (np.array([D, [50, 50, 60, 60]], float), np.array([0.6, 0.95]), np.array([1, 0]))]
GTS = [(np.array([A, B, C], float), np.array([0, 0, 1])),
       (np.array([D], float), np.array([1]))]


def test_mean_average_precision_two_classes_by_hand():
    out = mean_average_precision(PREDS, GTS, n_classes=2)
    np.testing.assert_allclose(out["ap_per_class"], [1 / 4, 1], rtol=1e-15)
    assert out["map"] == pytest.approx(5 / 8, rel=1e-15)
    assert out["ap"].shape == (1, 2)
    np.testing.assert_allclose(out["map_per_threshold"], [5 / 8])


def test_mean_average_precision_excludes_classes_without_gt():
    preds = PREDS + [(np.array([[0, 0, 5, 5.]]), np.array([0.99]), np.array([2]))]
    gts = GTS + [(EMPTY, np.zeros(0, dtype=int))]
    out = mean_average_precision(preds, gts, n_classes=3)
    assert np.isnan(out["ap_per_class"][2])
    assert out["map"] == pytest.approx(5 / 8, rel=1e-15)


def test_mean_average_precision_perfect_and_empty_predictions():
    perfect = [(b, np.ones(len(b)), lab) for b, lab in GTS]
    assert mean_average_precision(perfect, GTS, 2)["map"] == 1.0
    nothing = [(EMPTY, np.zeros(0), np.zeros(0, dtype=int)) for _ in GTS]
    out = mean_average_precision(nothing, GTS, 2)
    assert out["map"] == 0.0
    np.testing.assert_array_equal(out["ap_per_class"], [0, 0])


def test_coco_thresholds_and_the_mean_over_them():
    np.testing.assert_allclose(COCO_THRESHOLDS, np.arange(0.5, 0.96, 0.05), atol=1e-15)
    assert len(COCO_THRESHOLDS) == 10 and 0.8 in COCO_THRESHOLDS
    # one gt and one detection with IoU 77/100 = 0.77: a TP at the 6 thresholds
    # 0.50, ..., 0.75 (AP 1) and a FP at 0.80, ..., 0.95 (AP 0) → mAP@[.5:.95] = 6/10
    gts = [(np.array([[0, 0, 10, 10.]]), np.array([0]))]
    preds = [(np.array([[0, 0, 10, 7.7]]), np.array([0.9]), np.array([0]))]
    out = mean_average_precision(preds, gts, 1, iou_thresholds=COCO_THRESHOLDS)
    np.testing.assert_array_equal(out["ap"][:, 0], [1] * 6 + [0] * 4)
    assert out["map"] == pytest.approx(0.6, rel=1e-15)
    assert out["ap_per_class"][0] == 1.0                   # at the first threshold, 0.5
    # an IoU of exactly 0.8 passes the threshold 0.8: 7 of 10
    preds = [(np.array([[0, 0, 10, 8.]]), np.array([0.9]), np.array([0]))]
    out = mean_average_precision(preds, gts, 1, iou_thresholds=COCO_THRESHOLDS)
    assert out["map"] == pytest.approx(0.7, rel=1e-15)


def test_ap_errors():
    with pytest.raises(ValueError, match="scores and is_tp must have the same shape"):
        average_precision([0.1, 0.2], [True], 1)
    with pytest.raises(ValueError, match=r"n_gt must be in \[1, inf\], got 0"):
        average_precision([0.1], [True], 0)
    with pytest.raises(ValueError, match="2 true positives but only n_gt=1"):
        precision_recall([0.1, 0.2], [True, True], 1)
    with pytest.raises(ValueError, match=r"is_tp must be booleans \(or 0/1\)"):
        average_precision([0.1, 0.2], [2, 0], 3)
    with pytest.raises(TypeError, match="torch tensor"):
        average_precision(torch.tensor([0.1]), [True], 1)
    with pytest.raises(ValueError, match=r"pred_scores must have shape \(1,\)"):
        match_detections([[0, 0, 1, 1]], [0.1, 0.2], [[0, 0, 1, 1]], 0.5)
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0, 1\]"):
        match_detections([[0, 0, 1, 1]], [0.1], [[0, 0, 1, 1]], 1.01)


def test_map_errors():
    with pytest.raises(ValueError, match="one entry per image, got 2 and 1"):
        mean_average_precision(PREDS, GTS[:1], 2)
    with pytest.raises(ValueError, match=r"preds\[0\] labels must hold class labels in "
                                         r"\[0, 0\]"):
        mean_average_precision(PREDS, GTS, 1)
    with pytest.raises(ValueError, match=r"gts\[0\] boxes row 0 .* degenerate or inverted"):
        mean_average_precision(PREDS, [(np.array([[5, 5, 1, 1.]]), np.array([0])), GTS[1]], 2)
    with pytest.raises(ValueError, match=r"preds\[0\] must be \(boxes, scores, labels\)"):
        mean_average_precision([PREDS[0][:2], PREDS[1]], GTS, 2)
    with pytest.raises(ValueError, match=r"iou_thresholds must be in \[0, 1\]"):
        mean_average_precision(PREDS, GTS, 2, iou_thresholds=(0.5, 1.5))
    with pytest.raises(ValueError, match="no ground-truth boxes in any image"):
        mean_average_precision([PREDS[1]], [(EMPTY, np.zeros(0, dtype=int))], 2)
    with pytest.raises(TypeError, match="must be lists over images"):
        mean_average_precision(iter(PREDS), GTS, 2)


def test_the_usage_block_of_the_module_docstring_runs_and_says_the_truth():
    usage = boxes_module.__doc__.split("Usage::")[1]
    ns = {"np": np, **{name: getattr(boxes_module, name) for name in boxes_module.__all__}}
    exec(textwrap.dedent(usage), ns)
    np.testing.assert_array_equal(nms(ns["boxes"], ns["scores"], 0.5), [0, 2])
    assert ns["anchors"].shape == (96, 4) and ns["labels"].shape == (96,)
    keep = ns["labels"] >= 0
    np.testing.assert_allclose(decode(ns["anchors"][keep], ns["deltas"]),
                               ns["boxes"][ns["labels"][keep]], atol=1e-12)
    assert mean_average_precision(ns["preds"], ns["gts"], n_classes=2)["map"] == 1.0
