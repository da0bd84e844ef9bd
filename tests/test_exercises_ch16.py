"""course_lib.exercises.ch16: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np
import torch.nn.functional as F

from course_lib.exercises import ch16


def _iou(a, b, clip_each_side=True):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clip(min=0) if clip_each_side else rb - lt
    inter = wh.prod(-1) if clip_each_side else np.maximum(wh.prod(-1), 0)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def _encode(anchors, boxes, by_box_size=False):
    ca, cb = (anchors[:, :2] + anchors[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2
    wa, wb = anchors[:, 2:] - anchors[:, :2], boxes[:, 2:] - boxes[:, :2]
    return np.concatenate([(cb - ca) / (wb if by_box_size else wa), np.log(wb / wa)], axis=1)


def _nms(boxes, scores, t, strict_greater=True):
    order, keep = list(np.argsort(-scores, kind="stable")), []
    while order:
        i = order.pop(0)
        keep.append(i)
        if not order:
            break
        o = _iou(boxes[[i]], boxes[order])[0]
        order = [j for j, v in zip(order, o, strict=True) if (v <= t if strict_greater else v < t)]
    return np.array(keep, dtype=np.int64)


def _loss(out, obj, cls, deltas, per_cell=False):
    n = out.shape[0]
    pos = obj > 0
    lo = F.binary_cross_entropy_with_logits(out[:, 0], obj, reduction="sum")
    lc = F.cross_entropy(out[:, 5:].permute(0, 2, 3, 1)[pos], cls[pos], reduction="sum")
    lb = F.smooth_l1_loss(out[:, 1:5].permute(0, 2, 3, 1)[pos], deltas.permute(0, 2, 3, 1)[pos],
                          reduction="sum", beta=0.1)
    return (lo + lc + lb) / (obj.numel() if per_cell else n)


def test_correct_answers_pass():
    assert ch16.check_iou(_iou, strict=False)
    assert ch16.check_encode(_encode, strict=False)
    assert ch16.check_nms(_nms, strict=False)
    assert ch16.check_detection_loss(_loss, strict=False)


def test_typical_mistakes_fail():
    v = ch16.check_iou(lambda a, b: _iou(a, b, clip_each_side=False), strict=False)
    assert not v and "Hint" in v.message                  # two negative sides make a positive
    assert not ch16.check_iou(lambda a, b: _iou(a, b).T, strict=False)
    assert not ch16.check_encode(lambda a, b: _encode(a, b, by_box_size=True), strict=False)
    assert not ch16.check_encode(lambda a, b: _encode(b, a), strict=False)
    assert not ch16.check_nms(lambda b, s, t: np.sort(_nms(b, s, t)), strict=False)
    assert not ch16.check_nms(lambda b, s, t: _nms(b, -s, t), strict=False)
    assert not ch16.check_detection_loss(lambda *a: _loss(*a, per_cell=True), strict=False)
    assert not ch16.check_detection_loss(
        lambda out, obj, cls, d: _loss(out, obj, cls, d) - F.binary_cross_entropy_with_logits(
            out[:, 0], obj, reduction="sum") / out.shape[0], strict=False)   # no objectness term


def test_unfinished_exercise_says_not_done():
    def stub(a, b):
        raise NotImplementedError

    v = ch16.check_iou(stub, strict=False)
    assert not v and "not done yet" in v.message
