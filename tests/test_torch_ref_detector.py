"""course_lib.torch_ref.detector: torch boxes equal the NumPy ones, targets round-trip, an oracle
network gets mAP 1, training is seeded and learns."""

import numpy as np
import pytest
import torch

from course_lib.data import make_digit_scenes
from course_lib.scratch import boxes as B
from course_lib.torch_ref.detector import (
    GridDetector,
    GridTargets,
    box_iou,
    decode_offsets,
    detect,
    detection_loss,
    evaluate_detector,
    fit_detector,
    giou_loss,
    grid_targets,
    scene_targets,
)


def _boxes(rng, n, span=30.0):
    xy = rng.uniform(0, span, size=(n, 2))
    return np.concatenate([xy, xy + rng.uniform(0.5, span / 2, size=(n, 2))], axis=1)


@pytest.mark.parametrize("seed", range(5))
def test_box_iou_and_giou_equal_numpy(seed):
    rng = np.random.default_rng(seed)
    m, n = rng.integers(1, 7, size=2)
    a, b = _boxes(rng, m), _boxes(rng, n)
    b[0] = a[0]                                                     # identical pair
    got = box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(got, B.iou(a, b), rtol=1e-12, atol=1e-15)
    k = min(m, n)
    loss = giou_loss(torch.from_numpy(a[:k]), torch.from_numpy(b[:k])).numpy()
    np.testing.assert_allclose(loss, 1 - np.diag(B.giou(a[:k], b[:k])), rtol=1e-12, atol=1e-14)
    plain = giou_loss(torch.from_numpy(a[:k]), torch.from_numpy(b[:k]), generalized=False)
    np.testing.assert_allclose(plain.numpy(), 1 - np.diag(B.iou(a[:k], b[:k])), atol=1e-14)


def test_iou_loss_has_no_gradient_for_disjoint_boxes_but_giou_has():
    target = torch.tensor([[20.0, 20.0, 30.0, 30.0]], dtype=torch.float64)
    for generalized, expect_zero in ((False, True), (True, False)):
        pred = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64, requires_grad=True)
        giou_loss(pred, target, generalized=generalized).sum().backward()
        assert (pred.grad.abs().max().item() == 0) == expect_zero
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\)"):
        giou_loss(pred, target[:, :3])
    with pytest.raises(ValueError, match=r"both be \(N, 4\)"):
        giou_loss(pred, target.repeat(2, 1))
    with pytest.raises(TypeError, match="torch.Tensor"):
        box_iou(np.zeros((1, 4)), target)


@pytest.mark.parametrize("seed", range(4))
def test_decode_offsets_inverts_numpy_encode(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    anchors, boxes = _boxes(rng, n), _boxes(rng, n)
    deltas = B.encode(anchors, boxes)
    got = decode_offsets(torch.from_numpy(anchors), torch.from_numpy(deltas)).numpy()
    np.testing.assert_allclose(got, boxes, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, B.decode(anchors, deltas), rtol=1e-12, atol=1e-12)
    huge = decode_offsets(torch.from_numpy(anchors[:1]), torch.tensor([[0, 0, 1e4, 1e4]],
                                                                      dtype=torch.float64))
    assert torch.isfinite(huge).all()                               # dw, dh are clamped


def test_detector_shapes_and_bad_input():
    m = GridDetector(n_classes=3, width=8, stride=8, seed=0)
    assert m(torch.zeros(2, 1, 32, 48)).shape == (2, 8, 4, 6)
    assert GridDetector(width=4, stride=4, seed=0)(torch.zeros(1, 1, 16, 16)).shape == (1, 15, 4, 4)
    a = m.anchors((2, 3))
    assert a.shape == (6, 4) and np.allclose(a[4], [4, 4, 20, 20])   # cell (1, 1), 16 px
    with pytest.raises(ValueError, match="multiples of the stride 8"):
        m(torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        m(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="stride must be 2, 4, 8 or 16"):
        GridDetector(stride=6)
    with pytest.raises(ValueError, match="even"):
        GridDetector(width=7)
    p1 = [p.detach().clone() for p in GridDetector(seed=3).parameters()]
    p2 = list(GridDetector(seed=3).parameters())
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))


def test_grid_targets_put_each_box_in_its_centre_cell_and_round_trip():
    boxes = [np.array([[2.0, 3.0, 12.0, 13.0], [20.0, 4.0, 30.0, 20.0]]), np.zeros((0, 4))]
    labels = [np.array([4, 1]), np.array([], dtype=np.int64)]
    t = grid_targets(boxes, labels, grid=(4, 4), stride=8, anchor_size=16.0, n_classes=5)
    assert t.obj.shape == (2, 4, 4) and t.obj.sum() == 2 and t.dropped == 0
    assert t.obj[0, 1, 0] == 1 and t.cls[0, 1, 0] == 4             # centre (7, 8): row 1, col 0
    assert t.obj[0, 1, 3] == 1 and t.cls[0, 1, 3] == 1             # centre (25, 12)
    assert (t.cls[1] == -1).all()
    anchors = torch.tensor([[-4.0, 4.0, 12.0, 20.0], [20.0, 4.0, 36.0, 20.0]])
    back = decode_offsets(anchors, torch.stack([t.deltas[0, :, 1, 0], t.deltas[0, :, 1, 3]]))
    np.testing.assert_allclose(back.numpy(), boxes[0], atol=1e-5)
    # two centres in one cell: the larger box keeps it
    t2 = grid_targets([np.array([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 6.0, 6.0]])], [np.array([0, 1])],
                      grid=(2, 2), stride=8, anchor_size=8.0, n_classes=2)
    assert t2.dropped == 1 and t2.cls[0, 0, 0] == 1
    with pytest.raises(ValueError, match=r"must lie in \[0, 5\)"):
        grid_targets(boxes, [np.array([4, 5]), labels[1]], grid=(4, 4), stride=8,
                     anchor_size=16.0, n_classes=5)
    with pytest.raises(ValueError, match="one entry per image"):
        grid_targets(boxes, labels[:1], grid=(4, 4), stride=8, anchor_size=16.0, n_classes=5)
    with pytest.raises(ValueError, match="2 ints"):
        grid_targets(boxes[:1], [np.array([1.5, 2.0])], grid=(4, 4), stride=8,
                     anchor_size=16.0, n_classes=5)


def test_detection_loss_by_hand_and_errors():
    t = GridTargets(obj=torch.tensor([[[1.0, 0.0]]]), cls=torch.tensor([[[2, -1]]]),
                    deltas=torch.zeros(1, 4, 1, 2))
    out = torch.zeros(1, 8, 1, 2)
    out[0, 1:5, 0, 0] = torch.tensor([0.5, 0.0, 0.0, 0.0])         # |dx| = 0.5 > beta
    total, parts = detection_loss(out, t)
    assert parts["obj"] == pytest.approx(2 * np.log(2))            # two cells at p = 1/2
    assert parts["cls"] == pytest.approx(np.log(3))                # uniform over 3 classes
    assert parts["box"] == pytest.approx(0.5 - 0.05)               # smooth-L1, beta 0.1
    assert total.item() == pytest.approx(sum(parts.values()))
    with pytest.raises(ValueError, match=r"targets are for"):
        detection_loss(torch.zeros(1, 8, 2, 2), t)


class _Oracle(GridDetector):
    """Outputs the targets themselves: confident objectness and class, exact offsets."""

    def __init__(self, scenes):
        super().__init__(n_classes=10, width=2, seed=0)
        self.t = scene_targets(self, scenes)
        self.images = torch.from_numpy(scenes.images)

    def forward(self, x):
        idx = [int(torch.nonzero((self.images == xi).flatten(1).all(1))[0]) for xi in x]
        t = self.t[idx]
        out = torch.zeros(len(x), 15, *t.obj.shape[1:])
        out[:, 0] = 20 * (2 * t.obj - 1)
        out[:, 1:5] = t.deltas
        out[:, 5:] = 20 * torch.nn.functional.one_hot(t.cls.clamp(min=0), 10).permute(0, 3, 1, 2)
        return out


def test_an_oracle_network_gets_map_one_and_detect_is_well_formed():
    scenes = make_digit_scenes(40, split="val", seed=1)
    oracle = _Oracle(scenes)
    r = evaluate_detector(oracle, scenes, iou_thresholds=B.COCO_THRESHOLDS)
    assert r["map"] > 0.999                                         # boxes decode to within 1e-5
    for (bx, sc, lab), gt in zip(r["preds"], scenes.boxes, strict=True):
        assert bx.shape == (len(gt), 4) and sc.shape == lab.shape == (len(gt),)
        assert np.all(np.diff(sc) <= 0) and lab.dtype == np.int64
    few = detect(oracle, scenes.images[:5], max_detections=1)
    assert [len(b) for b, _, _ in few] == [min(1, len(g)) for g in scenes.boxes[:5]]
    with pytest.raises(ValueError, match="score_threshold"):
        detect(oracle, scenes.images, score_threshold=1.5)


def test_fit_detector_is_seeded_and_learns():
    scenes = make_digit_scenes(96, split="train", seed=0)
    logs = []
    for _ in range(2):
        model = GridDetector(width=8, seed=0)
        logs.append(fit_detector(model, scenes, steps=40, batch_size=16, lr=1e-2, warmup=5,
                                 progress=False))
    assert logs[0].loss == logs[1].loss
    first, last = np.mean(logs[0].loss[:5]), np.mean(logs[0].loss[-5:])
    assert last < 0.5 * first, (first, last)
    assert not model.training and len(logs[0].lr) == 40 and max(logs[0].lr) == pytest.approx(1e-2)
    with pytest.raises(TypeError, match="GridDetector"):
        fit_detector(torch.nn.Linear(2, 2), scenes, steps=1)
    with pytest.raises(ValueError, match="warmup"):
        fit_detector(model, scenes, steps=3, warmup=3)
