"""Bounding boxes for object detection from scratch (NumPy only): IoU, NMS, anchors, AP.

**Box formats.** A box is four floats. ``xyxy`` = (x1, y1, x2, y2), the top-left and
bottom-right corners (x to the right, y down, in pixels), with x2 > x1 and y2 > y1;
``cxcywh`` = (cx, cy, w, h), the centre and the size::

    cx = (x1 + x2) / 2,  cy = (y1 + y2) / 2,  w = x2 − x1,  h = y2 − y1,  area = w · h

Every function here takes and returns ``xyxy`` float arrays of shape (N, 4) unless its name
says otherwise. Boxes are continuous: a box (0, 0, 2, 2) has area 4 (there is no "+1" of the
old pixel-index convention).

**Intersection over union** (交并比), the overlap measure of PASCAL VOC (Everingham et al.
2010, "The PASCAL Visual Object Classes (VOC) challenge", IJCV) and COCO (Lin et al. 2014,
"Microsoft COCO: common objects in context", ECCV)::

    IoU(A, B) = |A ∩ B| / |A ∪ B| = I / (|A| + |B| − I)                in [0, 1]

**Generalised IoU** (Rezatofighi et al. 2019, "Generalized intersection over union", CVPR)
also ranks disjoint pairs, by how much of their smallest enclosing box C (the hull) is empty::

    GIoU(A, B) = IoU(A, B) − (|C| − |A ∪ B|) / |C|                      in (−1, 1]

**Non-maximum suppression** (非极大值抑制). A detector fires many overlapping boxes on one
object; greedy NMS keeps the highest-scoring box, deletes every remaining box whose IoU with
it is *greater than* the threshold, and repeats. Soft-NMS (Bodla et al. 2017, "Soft-NMS:
improving object detection with one line of code", ICCV) decays the scores instead of
deleting: s_i ← s_i · (1 − IoU) when IoU > N_t (linear) or s_i ← s_i · exp(−IoU² / σ)
(Gaussian), and drops a box only when its score falls below a small threshold.
Ties in score are broken by the lower index first (a stable sort), everywhere in this module.

**Anchors and box encoding.** Faster R-CNN (Ren et al. 2015, "Faster R-CNN: towards
real-time object detection with region proposal networks", NeurIPS) places A = len(scales) ·
len(ratios) anchor boxes at the centre of every cell of an (H, W) feature map with stride s,
and a network predicts, for each anchor a, the offsets of R-CNN (Girshick et al. 2014, "Rich
feature hierarchies for accurate object detection and semantic segmentation", CVPR,
appendix C) that move it onto a box b::

    dx = w_x (cx − cx_a) / w_a,   dy = w_y (cy − cy_a) / h_a,
    dw = w_w log(w / w_a),        dh = w_h log(h / h_a)          (weights (w_x, w_y, w_w, w_h))

Offsets are relative to the anchor's size, so one regressor serves small and large anchors.
Training labels each anchor by IoU: positive (matched to a ground-truth box) when its best
IoU >= 0.5 here (0.7 for the RPN of Faster R-CNN), background when < 0.4 (0.3 there),
ignored in between; and each ground-truth box also claims its highest-IoU anchor(s).

**Average precision** (平均精度). Sort the detections of one class by descending score; the
k-th gives precision P_k = TP_k / k and recall R_k = TP_k / n_gt (TP_k = true positives among
the first k). The all-point interpolated AP of VOC 2010+ makes precision non-increasing from
the right and takes the area under the resulting step curve::

    P̂_k = max_{k' >= k} P_k',     AP = Σ_k (R_k − R_{k−1}) P̂_k      (R_0 = 0)

A detection is a true positive when it overlaps a not-yet-matched ground-truth box of its
class with IoU >= the threshold (greedy, by descending score). mAP is the mean of AP over
classes; COCO's mAP@[.5:.95] also averages over the IoU thresholds 0.50, 0.55, ..., 0.95.

Usage::

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30.]])
    scores = np.array([0.9, 0.8, 0.7])
    iou(boxes, boxes)                          # (3, 3), ones on the diagonal
    nms(boxes, scores, iou_threshold=0.5)      # array([0, 2]): box 1 overlaps box 0
    anchors = make_anchors((4, 4), stride=8, scales=(8, 16), ratios=(0.5, 1, 2))  # (96, 4)
    labels = match_anchors(anchors, boxes)     # (96,) gt index, −1 background, −2 ignore
    deltas = encode(anchors[labels >= 0], boxes[labels[labels >= 0]])  # regression targets
    decode(anchors[labels >= 0], deltas)       # the matched ground-truth boxes back
    preds = [(boxes, scores, np.array([0, 0, 1]))]        # one image: boxes, scores, labels
    gts = [(boxes[[0, 2]], np.array([0, 1]))]             # one image: boxes, labels
    mean_average_precision(preds, gts, n_classes=2)["map"]                       # 1.0
    mean_average_precision(preds, gts, n_classes=2, iou_thresholds=COCO_THRESHOLDS)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    check_fraction,
    check_int,
    check_labels,
    check_positive,
    check_same_shape,
)

__all__ = [
    "xyxy_to_cxcywh", "cxcywh_to_xyxy", "check_boxes", "box_area",
    "iou", "giou",
    "nms", "batched_nms", "soft_nms",
    "make_anchors", "encode", "decode", "match_anchors",
    "precision_recall", "average_precision", "match_detections", "mean_average_precision",
    "COCO_THRESHOLDS",
]

# (10,) the IoU thresholds 0.50, 0.55, ..., 0.95 of COCO's mAP@[.5:.95]. Rounded so that an
# IoU of exactly 0.8 passes the threshold 0.8 (np.arange alone gives 0.8000000000000002).
COCO_THRESHOLDS = np.round(np.arange(0.5, 0.96, 0.05), 2)


# ---------------------------------------------------------------------------------------------
# Input checks built on course_lib.scratch.validate
# ---------------------------------------------------------------------------------------------

def _as_n4(x, where: str, name: str) -> np.ndarray:
    """A finite float64 (N, 4) array (N may be 0)."""
    arr = as_float_array(x, where, name, ndim=2, finite=True, allow_empty=True,
                         dtype=np.float64)
    if arr.shape[1] != 4:
        raise ValueError(f"{where}: {name} must be (N, 4), one box per row, "
                         f"got shape {arr.shape}")
    return arr


def _check_scores(scores, n: int, where: str, name: str = "scores") -> np.ndarray:
    """Finite float64 scores, one per box: shape (n,)."""
    s = as_float_array(scores, where, name, ndim=1, finite=True, allow_empty=True,
                       dtype=np.float64)
    if s.shape != (n,):
        raise ValueError(f"{where}: {name} must have shape ({n},), one score per box, "
                         f"got {s.shape}")
    return s


def check_boxes(boxes, where: str = "check_boxes", name: str = "boxes") -> np.ndarray:
    """Validate ``xyxy`` boxes and return them as float64 (N, 4).

    Args:
        boxes: (N, 4) array-like of (x1, y1, x2, y2); N may be 0 (shape (0, 4)).
        where, name: the calling function and argument, used in error messages.

    Returns:
        (N, 4) float64 array (not copied when already float64).

    Raises:
        TypeError for a torch tensor or non-numbers; ValueError for a wrong shape, NaN/inf,
        or a degenerate or inverted box (x2 <= x1 or y2 <= y1), naming the first bad row.
    """
    b = _as_n4(boxes, where, name)
    bad = np.flatnonzero((b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1]))
    if bad.size:
        i = int(bad[0])
        x1, y1, x2, y2 = b[i]
        why = (f"x2 ({x2:g}) <= x1 ({x1:g})" if x2 <= x1 else f"y2 ({y2:g}) <= y1 ({y1:g})")
        raise ValueError(f"{where}: {name} row {i} = {b[i].tolist()} is degenerate or inverted: "
                         f"{why}; boxes must be (x1, y1, x2, y2) with x2 > x1 and y2 > y1 "
                         f"({bad.size} bad row(s) in all)")
    return b


# ---------------------------------------------------------------------------------------------
# 1. Box formats and areas
# ---------------------------------------------------------------------------------------------

def xyxy_to_cxcywh(boxes) -> np.ndarray:
    """Corners to centre and size.

    Args:
        boxes: (N, 4) xyxy boxes (x2 > x1, y2 > y1).

    Returns:
        (N, 4) float64 (cx, cy, w, h).
    """
    b = check_boxes(boxes, "xyxy_to_cxcywh")
    x1, y1, x2, y2 = b.T                                      # each (N,)
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=1)


def cxcywh_to_xyxy(boxes) -> np.ndarray:
    """Centre and size to corners.

    Args:
        boxes: (N, 4) (cx, cy, w, h) with w > 0 and h > 0.

    Returns:
        (N, 4) float64 xyxy (x1, y1, x2, y2).
    """
    where = "cxcywh_to_xyxy"
    b = _as_n4(boxes, where, "boxes")
    bad = np.flatnonzero((b[:, 2] <= 0) | (b[:, 3] <= 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{where}: boxes row {i} = {b[i].tolist()} has a width or height "
                         f"<= 0; cxcywh boxes must have w > 0 and h > 0")
    cx, cy, w, h = b.T                                        # each (N,)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def box_area(boxes) -> np.ndarray:
    """Areas (x2 − x1)(y2 − y1) of (N, 4) xyxy boxes; returns (N,) float64."""
    b = check_boxes(boxes, "box_area")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


# ---------------------------------------------------------------------------------------------
# 2. IoU and GIoU
# ---------------------------------------------------------------------------------------------

def _iou_parts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intersection and union areas of every pair of checked boxes: both (M, N)."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])        # (M,)
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])        # (N,)
    left_top = np.maximum(a[:, None, :2], b[None, :, :2])     # (M, N, 2) corner of A ∩ B
    right_bottom = np.minimum(a[:, None, 2:], b[None, :, 2:])  # (M, N, 2)
    wh = np.clip(right_bottom - left_top, 0, None)            # (M, N, 2), 0 when disjoint
    inter = wh[..., 0] * wh[..., 1]                           # (M, N)
    union = area_a[:, None] + area_b[None, :] - inter         # (M, N), > 0 for real boxes
    return inter, union


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    inter, union = _iou_parts(a, b)
    return inter / union


def iou(a, b) -> np.ndarray:
    """Pairwise intersection over union, I / (|A| + |B| − I).

    Args:
        a: (M, 4) xyxy boxes; b: (N, 4) xyxy boxes. M or N may be 0.

    Returns:
        (M, N) float64 in [0, 1]; entry [i, j] is IoU(a[i], b[j]). Boxes that only touch
        along an edge have IoU 0.
    """
    return _iou(check_boxes(a, "iou", "a"), check_boxes(b, "iou", "b"))


def giou(a, b) -> np.ndarray:
    """Pairwise generalised IoU (Rezatofighi et al. 2019): IoU − (|C| − |A ∪ B|) / |C|,
    with C the smallest box enclosing A and B.

    Args:
        a: (M, 4) xyxy boxes; b: (N, 4) xyxy boxes.

    Returns:
        (M, N) float64 in (−1, 1]; equals IoU when one box contains the other (then C is
        the larger box and C = A ∪ B), and tends to −1 for small boxes far apart.
    """
    a, b = check_boxes(a, "giou", "a"), check_boxes(b, "giou", "b")
    inter, union = _iou_parts(a, b)                           # (M, N) each
    hull_lt = np.minimum(a[:, None, :2], b[None, :, :2])      # (M, N, 2)
    hull_rb = np.maximum(a[:, None, 2:], b[None, :, 2:])      # (M, N, 2)
    hull = np.prod(hull_rb - hull_lt, axis=-1)                # (M, N), |C| > 0
    return inter / union - (hull - union) / hull


# ---------------------------------------------------------------------------------------------
# 3. Non-maximum suppression
# ---------------------------------------------------------------------------------------------

def _descending(scores: np.ndarray) -> np.ndarray:
    """Indices that sort scores from high to low; equal scores keep index order (stable)."""
    return np.argsort(-scores, kind="stable")


def _greedy_nms(b: np.ndarray, s: np.ndarray, threshold: float) -> np.ndarray:
    order = _descending(s)                                    # (N,) candidates, best first
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        overlap = _iou(b[best][None, :], b[rest])[0]          # (len(rest),)
        order = rest[overlap <= threshold]                    # IoU > threshold: suppressed
    return np.array(keep, dtype=np.int64)


def nms(boxes, scores, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Repeatedly keep the highest-scoring remaining box and delete the remaining boxes whose
    IoU with it is strictly greater than ``iou_threshold``. Equal scores: lower index first.

    Args:
        boxes: (N, 4) xyxy boxes (N may be 0); scores: (N,) floats.
        iou_threshold: in [0, 1]. 1.0 suppresses nothing (IoU never exceeds 1); 0.0 deletes
            every box that overlaps a kept one at all.

    Returns:
        (K,) int64 indices of the kept boxes, by descending score.
    """
    where = "nms"
    b = check_boxes(boxes, where)
    s = _check_scores(scores, len(b), where)
    return _greedy_nms(b, s, check_fraction(iou_threshold, where, "iou_threshold"))


def batched_nms(boxes, scores, classes, iou_threshold: float) -> np.ndarray:
    """Class-aware NMS: boxes of different classes never suppress each other.

    Implemented as a loop over the classes present, running :func:`nms` on each class's
    boxes (clearer than the coordinate-offset trick of shifting each class far apart, and
    the same result), then merging the kept indices.

    Args:
        boxes: (N, 4) xyxy; scores: (N,) floats; classes: (N,) integer labels.
        iou_threshold: in [0, 1].

    Returns:
        (K,) int64 indices kept, by descending score over all classes (ties: lower index).
    """
    where = "batched_nms"
    b = check_boxes(boxes, where)
    s = _check_scores(scores, len(b), where)
    c = as_array(classes, where, "classes", ndim=1, dtype_kind="iu", allow_empty=True)
    check_same_shape(s, c, where, "scores", "classes")
    threshold = check_fraction(iou_threshold, where, "iou_threshold")
    keep = [np.flatnonzero(c == k)[_greedy_nms(b[c == k], s[c == k], threshold)]
            for k in np.unique(c)]                            # original indices, per class
    keep = np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)
    keep = np.sort(keep)                                      # index order, for the tie-break
    return keep[_descending(s[keep])].astype(np.int64)


def soft_nms(boxes, scores, *, sigma: float = 0.5, score_threshold: float = 0.001,
             method: str = "gaussian", iou_threshold: float = 0.3
             ) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS (Bodla et al. 2017): decay the scores of overlapping boxes instead of
    deleting them.

    Repeat: pick the remaining box with the highest current score (ties: lower index),
    keep it with that score, and decay every remaining box i by its IoU o_i with it::

        gaussian:  s_i ← s_i · exp(−o_i² / σ)                 (every box; iou_threshold unused)
        linear:    s_i ← s_i · (1 − o_i)   if o_i > iou_threshold, else unchanged

    then drop the remaining boxes whose score is below ``score_threshold`` (boxes that start
    below it are dropped at once).

    Args:
        boxes: (N, 4) xyxy; scores: (N,) floats.
        sigma: > 0, the Gaussian width. score_threshold, iou_threshold: in [0, 1].
        method: "gaussian" or "linear".

    Returns:
        indices: (K,) int64, in the order picked (non-increasing new score);
        new_scores: (K,) float64, the decayed score of each kept box.
    """
    where = "soft_nms"
    b = check_boxes(boxes, where)
    s = _check_scores(scores, len(b), where).copy()
    sigma = check_positive(sigma, where, "sigma")
    score_threshold = check_fraction(score_threshold, where, "score_threshold")
    iou_threshold = check_fraction(iou_threshold, where, "iou_threshold")
    if method not in ("gaussian", "linear"):
        raise ValueError(f"{where}: method must be 'gaussian' or 'linear', got {method!r}")
    remaining = np.flatnonzero(s >= score_threshold)          # in index order
    keep, kept_scores = [], []
    while remaining.size:
        pos = int(np.argmax(s[remaining]))                    # first maximum: lowest index
        best = remaining[pos]
        keep.append(best)
        kept_scores.append(s[best])
        remaining = np.delete(remaining, pos)
        o = _iou(b[best][None, :], b[remaining])[0]           # (len(remaining),)
        if method == "gaussian":
            s[remaining] *= np.exp(-o ** 2 / sigma)
        else:
            s[remaining] *= np.where(o > iou_threshold, 1 - o, 1.0)
        remaining = remaining[s[remaining] >= score_threshold]
    return np.array(keep, dtype=np.int64), np.array(kept_scores, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# 4. Anchors, box encoding and anchor matching
# ---------------------------------------------------------------------------------------------

def _positive_vector(x, where: str, name: str) -> np.ndarray:
    v = as_float_array(x, where, name, ndim=1, finite=True, dtype=np.float64)
    if np.any(v <= 0):
        raise ValueError(f"{where}: {name} must all be > 0, got {v.tolist()}")
    return v


def make_anchors(feature_size: tuple[int, int], stride: int, scales: Sequence[float],
                 ratios: Sequence[float]) -> np.ndarray:
    """Faster R-CNN anchors (Ren et al. 2015) for an (H, W) feature map.

    The cell (i, j) (row i, column j) has centre ((j + 0.5)·stride, (i + 0.5)·stride) in
    image pixels. Each (scale, ratio) pair gives one anchor of area scale² and aspect ratio
    = height / width: w = scale / √ratio, h = scale · √ratio.

    Order: row-major over the grid (i, then j), then scales, then ratios; so anchor
    ``((i·W + j)·S + k)·R + r`` is cell (i, j), scales[k], ratios[r], and
    ``anchors.reshape(H, W, S, R, 4)`` recovers the layout.

    Args:
        feature_size: (H, W) ints >= 1. stride: int >= 1, pixels per cell.
        scales: (S,) anchor side lengths in pixels, > 0. ratios: (R,) height/width, > 0.

    Returns:
        (H·W·S·R, 4) float64 xyxy anchors.
    """
    where = "make_anchors"
    if not isinstance(feature_size, (tuple, list)) or len(feature_size) != 2:
        raise TypeError(f"{where}: feature_size must be a tuple (H, W), got {feature_size!r}")
    H = check_int(feature_size[0], where, "feature_size[0] (H)", low=1)
    W = check_int(feature_size[1], where, "feature_size[1] (W)", low=1)
    stride = check_int(stride, where, "stride", low=1)
    scales = _positive_vector(scales, where, "scales")        # (S,)
    ratios = _positive_vector(ratios, where, "ratios")        # (R,)
    w = (scales[:, None] / np.sqrt(ratios[None, :])).ravel()  # (S·R,) scale-major
    h = (scales[:, None] * np.sqrt(ratios[None, :])).ravel()  # (S·R,)
    shapes = np.stack([-w / 2, -h / 2, w / 2, h / 2], axis=1)  # (A, 4), centred at 0
    cy, cx = np.meshgrid((np.arange(H) + 0.5) * stride, (np.arange(W) + 0.5) * stride,
                         indexing="ij")                       # (H, W) each
    centres = np.stack([cx, cy, cx, cy], axis=-1).reshape(-1, 1, 4)  # (H·W, 1, 4)
    return (centres + shapes[None]).reshape(-1, 4)            # (H·W·A, 4)


def _check_weights(weights, where: str) -> np.ndarray:
    wt = _positive_vector(weights, where, "weights")
    if wt.shape != (4,):
        raise ValueError(f"{where}: weights must be 4 numbers (w_x, w_y, w_w, w_h), "
                         f"got shape {wt.shape}")
    return wt


def encode(anchors, boxes, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> np.ndarray:
    """R-CNN box regression targets (Girshick et al. 2014) of ``boxes`` w.r.t. ``anchors``.

    dx = w_x (cx − cx_a) / w_a,  dy = w_y (cy − cy_a) / h_a,  dw = w_w log(w / w_a),
    dh = w_h log(h / h_a). (Faster R-CNN's detection head uses weights (10, 10, 5, 5) to
    scale the targets to unit-ish variance.)

    Args:
        anchors: (N, 4) xyxy; boxes: (N, 4) xyxy, row n is encoded against anchor n.
        weights: 4 positive numbers (w_x, w_y, w_w, w_h).

    Returns:
        (N, 4) float64 deltas (dx, dy, dw, dh).
    """
    where = "encode"
    a = xyxy_to_cxcywh(check_boxes(anchors, where, "anchors"))   # (N, 4)
    b = xyxy_to_cxcywh(check_boxes(boxes, where, "boxes"))       # (N, 4)
    check_same_shape(a, b, where, "anchors", "boxes")
    wx, wy, ww, wh = _check_weights(weights, where)
    return np.stack([wx * (b[:, 0] - a[:, 0]) / a[:, 2],
                     wy * (b[:, 1] - a[:, 1]) / a[:, 3],
                     ww * np.log(b[:, 2] / a[:, 2]),
                     wh * np.log(b[:, 3] / a[:, 3])], axis=1)


def decode(anchors, deltas, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> np.ndarray:
    """Invert :func:`encode`: apply deltas (dx, dy, dw, dh) to anchors.

    cx = cx_a + (dx / w_x) w_a,  cy = cy_a + (dy / w_y) h_a,  w = w_a exp(dw / w_w),
    h = h_a exp(dh / w_h). (No clamping of dw, dh: a huge delta overflows to inf, which a
    real detector guards against by clipping dw, dh at about log(1000 / 16).)

    Args:
        anchors: (N, 4) xyxy; deltas: (N, 4) finite floats; weights as in :func:`encode`.

    Returns:
        (N, 4) float64 xyxy boxes.
    """
    where = "decode"
    a = xyxy_to_cxcywh(check_boxes(anchors, where, "anchors"))   # (N, 4)
    d = _as_n4(deltas, where, "deltas")
    check_same_shape(a, d, where, "anchors", "deltas")
    wx, wy, ww, wh = _check_weights(weights, where)
    cx = a[:, 0] + d[:, 0] / wx * a[:, 2]
    cy = a[:, 1] + d[:, 1] / wy * a[:, 3]
    w = a[:, 2] * np.exp(d[:, 2] / ww)
    h = a[:, 3] * np.exp(d[:, 3] / wh)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def match_anchors(anchors, gt_boxes, pos_iou: float = 0.5, neg_iou: float = 0.4
                  ) -> np.ndarray:
    """Label each anchor for training, as Faster R-CNN's RPN does (Ren et al. 2015, §3.1.2).

    With q = the anchor's highest IoU over the ground-truth boxes (ties: lower gt index):

    * q >= pos_iou: the index of that gt box (positive);
    * q < neg_iou: −1 (background);
    * otherwise: −2 (ignored by the loss);
    * and every gt box g claims the anchor(s) with the highest IoU with it (if that IoU is
      > 0), so no object is left without an anchor. An anchor claimed by several gt boxes
      goes to the one it overlaps most (ties: lower gt index).

    Args:
        anchors: (A, 4) xyxy; gt_boxes: (G, 4) xyxy, G may be 0 (then all background).
        pos_iou, neg_iou: in [0, 1] with neg_iou <= pos_iou.

    Returns:
        (A,) int64: a gt index in [0, G), −1 or −2.
    """
    where = "match_anchors"
    a = check_boxes(anchors, where, "anchors")
    g = check_boxes(gt_boxes, where, "gt_boxes")
    pos_iou = check_fraction(pos_iou, where, "pos_iou")
    neg_iou = check_fraction(neg_iou, where, "neg_iou")
    if neg_iou > pos_iou:
        raise ValueError(f"{where}: neg_iou must be <= pos_iou, got neg_iou={neg_iou} > "
                         f"pos_iou={pos_iou}")
    labels = np.full(len(a), -1, dtype=np.int64)
    if len(g) == 0 or len(a) == 0:
        return labels
    q = _iou(a, g)                                            # (A, G)
    best_gt = np.argmax(q, axis=1)                            # (A,) first max: lower index
    best = q[np.arange(len(a)), best_gt]                      # (A,)
    labels[best >= neg_iou] = -2
    labels[best >= pos_iou] = best_gt[best >= pos_iou]
    is_top = (q == q.max(axis=0, keepdims=True)) & (q > 0)    # (A, G) g's best anchor(s)
    claimed = np.flatnonzero(is_top.any(axis=1))
    labels[claimed] = np.argmax(np.where(is_top[claimed], q[claimed], -1.0), axis=1)
    return labels


# ---------------------------------------------------------------------------------------------
# 5. Precision, recall and average precision
# ---------------------------------------------------------------------------------------------

def _check_tp(scores, is_tp, n_gt, where: str) -> tuple[np.ndarray, np.ndarray, int]:
    s = as_float_array(scores, where, "scores", ndim=1, finite=True, allow_empty=True,
                       dtype=np.float64)
    t = as_array(is_tp, where, "is_tp", ndim=1, dtype_kind="biu", allow_empty=True)
    check_same_shape(s, t, where, "scores", "is_tp")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError(f"{where}: is_tp must be booleans (or 0/1), got values "
                         f"{np.unique(t)[:5].tolist()}")
    t = t.astype(bool)
    n_gt = check_int(n_gt, where, "n_gt", low=1)
    if t.sum() > n_gt:
        raise ValueError(f"{where}: there are {int(t.sum())} true positives but only "
                         f"n_gt={n_gt} ground-truth boxes; each gt can be matched once")
    return s, t, n_gt


def precision_recall(scores, is_tp, n_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each detection, detections sorted by descending score.

    P_k = TP_k / k,  R_k = TP_k / n_gt. Equal scores keep their input order (stable sort).

    Args:
        scores: (K,) detection scores; is_tp: (K,) bool, whether each is a true positive;
        n_gt: int >= 1, the number of ground-truth boxes.

    Returns:
        precision, recall: (K,) float64 each, in descending-score order.
    """
    s, t, n_gt = _check_tp(scores, is_tp, n_gt, "precision_recall")
    tp = np.cumsum(t[_descending(s)])                         # (K,) TP_k
    k = np.arange(1, len(s) + 1)                              # (K,)
    return tp / k, tp / n_gt


def average_precision(scores, is_tp, n_gt: int) -> float:
    """All-point interpolated AP (PASCAL VOC 2010+, Everingham et al. 2010).

    AP = Σ_k (R_k − R_{k−1}) · max_{k' >= k} P_k', the area under the precision-recall curve
    made non-increasing from the right. Missed ground truth (recall never reaching 1) counts
    as precision 0; no detections give AP 0.

    Args:
        scores: (K,) floats; is_tp: (K,) bool; n_gt: int >= 1.

    Returns:
        AP, a float in [0, 1].
    """
    precision, recall = precision_recall(scores, is_tp, n_gt)
    if precision.size == 0:
        return 0.0
    p_hat = np.maximum.accumulate(precision[::-1])[::-1]      # (K,) monotone envelope
    r_prev = np.concatenate([[0.0], recall[:-1]])             # (K,) R_{k−1}
    return float(np.sum((recall - r_prev) * p_hat))


def match_detections(pred_boxes, pred_scores, gt_boxes, iou_threshold: float) -> np.ndarray:
    """Mark each detection of one class in one image as a true or false positive.

    Greedy by descending score (ties: lower index): a detection is matched to the
    not-yet-matched gt box it overlaps most, if that IoU >= ``iou_threshold``; otherwise it is
    a false positive. So each gt is matched at most once and a second detection of an object
    already found is a false positive. (This is COCO's rule; the VOC devkit instead takes the
    detection's best gt among *all* gts and calls it a false positive if that gt is taken;
    the two differ only when a detection overlaps several gt boxes.)

    Args:
        pred_boxes: (K, 4) xyxy; pred_scores: (K,); gt_boxes: (G, 4) xyxy. K, G may be 0.
        iou_threshold: in [0, 1].

    Returns:
        is_tp: (K,) bool, in the input order of the detections.
    """
    where = "match_detections"
    p = check_boxes(pred_boxes, where, "pred_boxes")
    s = _check_scores(pred_scores, len(p), where, "pred_scores")
    g = check_boxes(gt_boxes, where, "gt_boxes")
    threshold = check_fraction(iou_threshold, where, "iou_threshold")
    is_tp = np.zeros(len(p), dtype=bool)
    if len(g) == 0:
        return is_tp
    q = _iou(p, g)                                            # (K, G)
    taken = np.zeros(len(g), dtype=bool)
    for k in _descending(s):
        candidates = np.where(taken, -1.0, q[k])              # (G,) taken gts excluded
        j = int(np.argmax(candidates))
        if candidates[j] >= threshold and not taken[j]:
            is_tp[k], taken[j] = True, True
    return is_tp


def mean_average_precision(preds, gts, n_classes: int,
                           iou_thresholds: Sequence[float] = (0.5,)) -> dict:
    """mAP over classes (and IoU thresholds) for a set of images.

    For each threshold t and class c, the detections of class c in all images are matched
    image by image (:func:`match_detections`), pooled, and scored by
    :func:`average_precision` against the number of class-c gt boxes. Classes with no gt
    box in any image have AP = NaN and are left out of every mean (their detections, all
    false positives, do not lower the mAP). With ``iou_thresholds=COCO_THRESHOLDS`` the
    result is mAP@[.5:.95] with all-point AP (official COCO numbers use 101 recall points
    and differ slightly).

    Args:
        preds: list over images of (boxes (K, 4) xyxy, scores (K,), labels (K,) ints).
        gts: list over the same images of (boxes (G, 4) xyxy, labels (G,) ints).
        n_classes: int >= 1; labels must lie in [0, n_classes).
        iou_thresholds: (T,) numbers in [0, 1].

    Returns:
        dict with
          "map": float, mean over the classes with gt of the mean over thresholds;
          "ap_per_class": (C,) float64 AP at the first threshold (NaN: no gt);
          "ap": (T, C) float64, AP for every threshold and class;
          "map_per_threshold": (T,) float64, mean over classes with gt at each threshold;
          "iou_thresholds": (T,) float64.
    """
    where = "mean_average_precision"
    n_classes = check_int(n_classes, where, "n_classes", low=1)
    thresholds = as_float_array(iou_thresholds, where, "iou_thresholds", ndim=1, finite=True,
                                dtype=np.float64)
    for t in thresholds:
        check_fraction(float(t), where, "iou_thresholds")
    if not isinstance(preds, (list, tuple)) or not isinstance(gts, (list, tuple)):
        raise TypeError(f"{where}: preds and gts must be lists over images, got "
                        f"{type(preds).__name__} and {type(gts).__name__}")
    if len(preds) != len(gts):
        raise ValueError(f"{where}: preds and gts must have one entry per image, got "
                         f"{len(preds)} and {len(gts)}")
    images = []
    for i, (pred, gt) in enumerate(zip(preds, gts, strict=True)):
        if len(pred) != 3 or len(gt) != 2:
            raise ValueError(f"{where}: preds[{i}] must be (boxes, scores, labels) and gts[{i}] "
                             f"(boxes, labels), got {len(pred)} and {len(gt)} items")
        pb = check_boxes(pred[0], where, f"preds[{i}] boxes")
        ps = _check_scores(pred[1], len(pb), where, f"preds[{i}] scores")
        pl = check_labels(pred[2], len(pb), n_classes, where, f"preds[{i}] labels",
                          per="box")
        gb = check_boxes(gt[0], where, f"gts[{i}] boxes")
        gl = check_labels(gt[1], len(gb), n_classes, where, f"gts[{i}] labels", per="box")
        images.append((pb, ps, pl, gb, gl))
    n_gt = np.zeros(n_classes, dtype=np.int64)
    for *_, gl in images:
        n_gt += np.bincount(gl, minlength=n_classes)
    if not n_gt.any():
        raise ValueError(f"{where}: there are no ground-truth boxes in any image; "
                         f"mAP is undefined")
    ap = np.full((len(thresholds), n_classes), np.nan)       # (T, C)
    for ti, t in enumerate(thresholds):
        for c in np.flatnonzero(n_gt):
            scores, is_tp = [], []
            for pb, ps, pl, gb, gl in images:
                mine = pl == c
                scores.append(ps[mine])
                is_tp.append(match_detections(pb[mine], ps[mine], gb[gl == c], t))
            ap[ti, c] = average_precision(np.concatenate(scores), np.concatenate(is_tp),
                                          int(n_gt[c]))
    with_gt = n_gt > 0
    map_per_threshold = ap[:, with_gt].mean(axis=1)           # (T,)
    return {"map": float(map_per_threshold.mean()), "ap_per_class": ap[0].copy(), "ap": ap,
            "map_per_threshold": map_per_threshold, "iou_thresholds": thresholds}

