"""Checks for the exercises of chapter 16 (Object detection).

    from course_lib.exercises import ch16
    ch16.check_iou(my_iou)

Each check runs the learner's function on seeded random inputs against the reference in
``course_lib.scratch.boxes`` (IoU, box encoding, greedy NMS) or
``course_lib.torch_ref.detector`` (the detector's loss). The random boxes include the edge cases
that catch the usual bugs: disjoint and touching boxes (intersection 0, not negative), one box
inside another, identical boxes, a single box, and crowded clusters for NMS.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch import boxes as B

__all__ = ["check_iou", "check_encode", "check_nms", "check_detection_loss"]


def _random_boxes(rng: np.random.Generator, n: int, span: float = 20.0) -> np.ndarray:
    xy = rng.uniform(0, span, size=(n, 2))
    wh = rng.uniform(1, span / 2, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)                # (n, 4) xyxy


def _box_pairs(rng: np.random.Generator):
    """(M, 4), (N, 4) boxes; some trials add the edge cases to a random set."""
    a = _random_boxes(rng, int(rng.integers(1, 6)))
    b = _random_boxes(rng, int(rng.integers(1, 6)))
    if rng.random() < 0.7:
        x1, y1, x2, y2 = a[0]
        w, h = x2 - x1, y2 - y1
        extra = np.array([[x1, y1, x2, y2],                      # identical
                          [x2, y1, x2 + w, y2],                  # touching on the right edge
                          [x2 + 5, y2 + 5, x2 + 6, y2 + 7],      # disjoint
                          [x1 + w / 4, y1 + h / 4, x2 - w / 4, y2 - h / 4],   # inside
                          [x1 - 3, y1 - 3, x2 + 3, y2 + 3]])     # around
        b = np.concatenate([b, extra])
    return a, b


def check_iou(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(a, b) -> (M, N)``: pairwise IoU of xyxy boxes a (M, 4) and b (N, 4)."""
    return check_function(
        fn, B.iou, _box_pairs, name="pairwise IoU", trials=10, rtol=1e-9, atol=1e-12,
        strict=strict,
        hint="broadcast a[:, None, :] against b[None, :, :]: the intersection is "
             "max(0, min(x2) − max(x1)) · max(0, min(y2) − max(y1)); clip each side at 0 "
             "separately (two disjoint boxes must not get a positive product of two negative "
             "sides), then IoU = I / (area_a + area_b − I)")


def _encode_inputs(rng: np.random.Generator):
    n = int(rng.integers(1, 7))
    anchors = _random_boxes(rng, n)
    boxes = _random_boxes(rng, n)
    if rng.random() < 0.3:
        boxes[0] = anchors[0]                                    # deltas (0, 0, 0, 0)
    return anchors, boxes


def check_encode(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(anchors, boxes) -> (N, 4)``: the offsets (dx, dy, dw, dh) of box n w.r.t.
    anchor n, dx = (cx − cx_a) / w_a, dy = (cy − cy_a) / h_a, dw = log(w / w_a),
    dh = log(h / h_a)."""
    return check_function(
        fn, B.encode, _encode_inputs, name="box encoding", trials=8, rtol=1e-9, atol=1e-12,
        strict=strict,
        hint="work with centres and sizes (cx = (x1 + x2) / 2, w = x2 − x1); the shifts are "
             "divided by the *anchor's* width and height, and the sizes enter as log-ratios "
             "log(w / w_a), so that a box twice the anchor's size gives log 2 whatever the "
             "anchor")


def _nms_inputs(rng: np.random.Generator):
    n_centres = int(rng.integers(1, 4))
    centres = _random_boxes(rng, n_centres, span=40.0)
    per = rng.integers(1, 6, size=n_centres)
    boxes = np.concatenate([c + rng.normal(scale=1.5, size=(k, 4)).clip(-2, 2)
                            for c, k in zip(centres, per, strict=True)])
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 0.5)   # keep them valid
    scores = rng.permutation(len(boxes)) / len(boxes) + rng.uniform(0, 0.01, len(boxes))
    threshold = float(rng.choice([0.3, 0.5, 0.7]))
    return boxes, scores, threshold


def check_nms(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(boxes, scores, iou_threshold) -> (K,) int indices``: greedy NMS, the kept
    boxes in descending order of score."""
    return check_function(
        fn, lambda b, s, t: B.nms(b, s, t), _nms_inputs, name="greedy NMS", trials=10,
        rtol=0, atol=0, strict=strict,
        hint="order = np.argsort(-scores); while boxes remain: keep the first, compute its IoU "
             "with the rest, and drop those with IoU > iou_threshold (greater than, not >=); "
             "return the kept indices in the order you kept them")


def _loss_inputs(rng: np.random.Generator):
    import torch

    from course_lib.torch_ref.detector import grid_targets

    n, g, c = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
    stride, size = 8, 16.0
    boxes, labels = [], []
    for _ in range(n):
        k = int(rng.integers(0, 3))
        centres = rng.uniform(0, g * stride, size=(k, 2))
        wh = rng.uniform(4, 20, size=(k, 2))
        boxes.append(np.concatenate([centres - wh / 2, centres + wh / 2], axis=1))
        labels.append(rng.integers(0, c, size=k))
    if not any(len(b) for b in boxes):                          # at least one object
        boxes[0] = np.array([[2.0, 2.0, 10.0, 12.0]])
        labels[0] = np.array([c - 1])
    t = grid_targets(boxes, labels, grid=(g, g), stride=stride, anchor_size=size, n_classes=c)
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31)))
    out = 2 * torch.randn(n, 5 + c, g, g, generator=gen, dtype=torch.float64)
    return out, t.obj.double(), t.cls, t.deltas.double()


def _reference_loss(out, obj, cls, deltas):
    from course_lib.torch_ref.detector import GridTargets, detection_loss

    return detection_loss(out, GridTargets(obj, cls, deltas))[0]


def check_detection_loss(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(out, obj, cls, deltas) -> scalar tensor``: the detector's loss for raw outputs
    out (N, 5 + C, G, G) and targets obj (N, G, G), cls (N, G, G) (−1: no object) and
    deltas (N, 4, G, G): objectness BCE over every cell + class cross-entropy and smooth-L1
    (beta 0.1) over the cells with an object, each summed and divided by N."""
    return check_function(
        fn, _reference_loss, _loss_inputs, name="detection loss", trials=8, rtol=1e-9,
        atol=1e-12, strict=strict,
        hint="pos = obj > 0; BCE-with-logits of out[:, 0] against obj over all cells; "
             "out[:, 5:].permute(0, 2, 3, 1)[pos] are the (P, C) class logits of the positive "
             "cells and out[:, 1:5].permute(0, 2, 3, 1)[pos] their (P, 4) offsets; use "
             "reduction='sum' for all three and divide the total by N (the number of images), "
             "not by the number of cells or objects")
