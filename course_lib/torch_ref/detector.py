"""A small one-stage grid detector (YOLO / CenterNet style) for chapter 16's digit scenes.

The image is cut into a G × G grid of cells of ``stride`` pixels. Every cell owns one anchor,
a square of side ``anchor_size`` centred on the cell (the Faster R-CNN anchor of
:func:`course_lib.scratch.boxes.make_anchors` with one scale and ratio 1), and predicts, from
the feature vector of its cell, ``5 + C`` numbers::

    channel 0        objectness logit o:   P(an object's centre lies in this cell) = σ(o)
    channels 1..4    offsets (dx, dy, dw, dh) of the box w.r.t. the cell's anchor (the R-CNN
                     encoding of :func:`course_lib.scratch.boxes.encode`)
    channels 5..5+C  class logits:         P(class c | object) = softmax(logits)_c

The score of class c in a cell is σ(o) · softmax_c, as in YOLO (Redmon et al. 2016, "You only
look once: unified, real-time object detection", CVPR). Training assigns each ground-truth box
to the one cell that holds its centre (as YOLO and CenterNet do; Zhou et al. 2019, "Objects as
points") and minimises, per image::

    L = Σ_cells BCE(o, [cell holds a centre])                  (objectness, every cell)
      + Σ_positive cells CE(class logits, the box's class)     (classification)
      + Σ_positive cells smooth-L1(offsets − encode(anchor, box))   (box regression)

Detection (:func:`detect`) keeps, per cell, the best class and its score, drops scores below a
threshold, decodes the boxes and removes duplicates with the class-aware NMS of
:func:`course_lib.scratch.boxes.batched_nms`.

    model = GridDetector(n_classes=10, seed=0)               # (N, 1, 64, 64) → (N, 15, 8, 8)
    log = fit_detector(model, train_scenes, steps=400)
    preds = detect(model, val_scenes.images)                 # list of (boxes, scores, labels)
    evaluate_detector(model, val_scenes)["map"]              # mAP@0.5 over the classes
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.env import seeded
from course_lib.scratch import boxes as B
from course_lib.scratch.optim import warmup_cosine
from course_lib.scratch.validate import check_fraction, check_int, check_positive
from course_lib.torch_ref.cnn_blocks import conv_bn_relu
from course_lib.training import eval_mode, model_device, optimizer_step, run_steps

__all__ = ["GridDetector", "box_iou", "giou_loss", "decode_offsets", "grid_targets",
           "detection_loss", "decode_outputs", "detect", "DetectorLog", "fit_detector",
           "evaluate_detector", "scene_targets"]


# --------------------------------------------------------------------------- boxes in torch

def _check_box_tensor(x, where: str, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor of xyxy boxes, got "
                        f"{type(x).__name__}")
    if x.ndim < 1 or x.shape[-1] != 4:
        raise ValueError(f"{where}: {name} must have shape (..., 4) (x1, y1, x2, y2), got "
                         f"{tuple(x.shape)}")
    return x


def _overlap(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Intersection and union areas of broadcastable (..., 4) xyxy boxes."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = (a[..., 2:] - a[..., :2]).prod(-1) + (b[..., 2:] - b[..., :2]).prod(-1) - inter
    return inter, union


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of xyxy boxes in PyTorch: (M, 4), (N, 4) → (M, N), differentiable.

    The same formula as :func:`course_lib.scratch.boxes.iou` (no validity check of the
    corners: a network's raw boxes may be inverted during training).
    """
    where = "box_iou"
    a, b = _check_box_tensor(a, where, "a"), _check_box_tensor(b, where, "b")
    inter, union = _overlap(a[:, None, :], b[None, :, :])        # (M, N) each
    return inter / union


def giou_loss(pred: torch.Tensor, target: torch.Tensor, *, generalized: bool = True
              ) -> torch.Tensor:
    """Per-pair box loss ``1 − GIoU`` (or ``1 − IoU`` with ``generalized=False``): (N, 4) → (N,).

    Rezatofighi et al. 2019: GIoU = IoU − |C \\ (A ∪ B)| / |C| with C the smallest box
    enclosing both. For disjoint boxes IoU is 0 whatever their distance, so ``1 − IoU`` has a
    zero gradient there; the hull term still pulls the prediction towards the target.
    """
    where = "giou_loss"
    pred, target = _check_box_tensor(pred, where, "pred"), _check_box_tensor(target, where,
                                                                           "target")
    if pred.shape != target.shape or pred.ndim != 2:
        raise ValueError(f"{where}: pred and target must both be (N, 4), got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    inter, union = _overlap(pred, target)                          # (N,) each
    iou = inter / union
    if not generalized:
        return 1 - iou
    hull = (torch.maximum(pred[:, 2:], target[:, 2:])
            - torch.minimum(pred[:, :2], target[:, :2])).prod(-1)  # (N,)
    return 1 - (iou - (hull - union) / hull)


def decode_offsets(anchors: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """The inverse of the R-CNN encoding in PyTorch: (..., 4) anchors and deltas → xyxy boxes.

    cx = cx_a + dx·w_a, cy = cy_a + dy·h_a, w = w_a·exp(dw), h = h_a·exp(dh), as
    :func:`course_lib.scratch.boxes.decode` with unit weights. dw and dh are clamped at
    log(1000/16) (as torchvision does) so an untrained network cannot overflow exp.
    """
    where = "decode_offsets"
    anchors = _check_box_tensor(anchors, where, "anchors")
    deltas = _check_box_tensor(deltas, where, "deltas")
    wa = anchors[..., 2] - anchors[..., 0]
    ha = anchors[..., 3] - anchors[..., 1]
    cxa = anchors[..., 0] + wa / 2
    cya = anchors[..., 1] + ha / 2
    limit = math.log(1000.0 / 16)
    cx = cxa + deltas[..., 0] * wa
    cy = cya + deltas[..., 1] * ha
    w = wa * torch.exp(deltas[..., 2].clamp(max=limit))
    h = ha * torch.exp(deltas[..., 3].clamp(max=limit))
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


# --------------------------------------------------------------------------- the network

class GridDetector(nn.Module):
    """A one-stage detector: a small CNN backbone and a 1×1-convolution head on a G×G grid.

    Backbone: ``log2(stride)`` stages of conv-BN-ReLU (3×3) + 2×2 max-pool, widths
    ``width/2, width, 2·width, 2·width, ...``, then two more 3×3 conv-BN-ReLU at the grid's
    resolution (to widen the receptive field to about 40 pixels at stride 8); the head is one
    1×1 convolution to ``5 + n_classes`` channels.

    Shapes: ``forward``: (N, in_channels, H, W) → (N, 5 + n_classes, H / stride, W / stride),
    H and W multiples of ``stride``. The objectness bias starts at −log(99), a prior of 1 %
    for "a centre is here" (Lin et al. 2017, RetinaNet, §4.1), so the first steps are not
    spent unlearning a 50 % guess on every empty cell.

    Args:
        n_classes: C >= 1. in_channels: image channels. width: channels of the second stage
            (even, >= 2). stride: 2, 4, 8 or 16 pixels per cell. anchor_size: the side of
            each cell's square anchor in pixels. seed: initial weights (None: global generator).
    """

    def __init__(self, n_classes: int = 10, *, in_channels: int = 1, width: int = 24,
                 stride: int = 8, anchor_size: float = 16.0, seed: int | None = None):
        super().__init__()
        where = "GridDetector"
        self.n_classes = check_int(n_classes, where, "n_classes", low=1)
        self.in_channels = check_int(in_channels, where, "in_channels", low=1)
        width = check_int(width, where, "width", low=2)
        if width % 2:
            raise ValueError(f"{where}: width must be even, got {width}")
        self.stride = check_int(stride, where, "stride")
        if self.stride not in (2, 4, 8, 16):
            raise ValueError(f"{where}: stride must be 2, 4, 8 or 16, got {stride}")
        self.anchor_size = check_positive(anchor_size, where, "anchor_size")
        n_pools = int(math.log2(self.stride))
        widths = [width // 2, width] + [2 * width] * (n_pools - 1)
        with seeded(seed, where):
            layers: list[nn.Module] = []
            c = self.in_channels
            for w in widths[:n_pools]:
                layers += [conv_bn_relu(c, w), nn.MaxPool2d(2)]    # halves H and W
                c = w
            top = 2 * width
            layers += [conv_bn_relu(c, top), conv_bn_relu(top, top)]
            self.backbone = nn.Sequential(*layers)                 # (N, top, H/s, W/s)
            self.head = nn.Conv2d(top, 5 + self.n_classes, 1)      # (N, 5 + C, H/s, W/s)
            with torch.no_grad():
                self.head.bias.zero_()
                self.head.bias[0] = -math.log(99.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        where = "GridDetector"
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{where}: x must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] % self.stride \
                or x.shape[3] % self.stride:
            raise ValueError(f"{where}: x must be (N, {self.in_channels}, H, W) with H and W "
                             f"multiples of the stride {self.stride}, got {tuple(x.shape)}")
        return self.head(self.backbone(x))

    def anchors(self, grid: tuple[int, int]) -> np.ndarray:
        """(G_h·G_w, 4) float64 xyxy anchors of the cells, row-major (cell (i, j) at i·G_w + j)."""
        return B.make_anchors(grid, self.stride, (self.anchor_size,), (1.0,))


# --------------------------------------------------------------------------- targets and loss

@dataclass
class GridTargets:
    """Training targets on a G_h × G_w grid for N images.

    ``obj`` float32 (N, G_h, G_w): 1 where a box's centre falls. ``cls`` int64 (N, G_h, G_w):
    the box's class there, −1 elsewhere. ``deltas`` float32 (N, 4, G_h, G_w): the encoded box
    (zero elsewhere). ``dropped``: how many boxes lost their cell to a larger box whose centre
    fell in the same cell (one box per cell, as in YOLO v1).
    """

    obj: torch.Tensor
    cls: torch.Tensor
    deltas: torch.Tensor
    dropped: int = 0

    def __getitem__(self, idx) -> GridTargets:
        return GridTargets(self.obj[idx], self.cls[idx], self.deltas[idx], self.dropped)

    def to(self, device) -> GridTargets:
        return GridTargets(self.obj.to(device), self.cls.to(device), self.deltas.to(device),
                           self.dropped)


def grid_targets(boxes, labels, *, grid: tuple[int, int], stride: int, anchor_size: float,
                 n_classes: int) -> GridTargets:
    """Assign every ground-truth box to the grid cell holding its centre.

    Args:
        boxes: list over N images of (k_i, 4) xyxy boxes in pixels.
        labels: list over the same images of (k_i,) ints in [0, n_classes).
        grid: (G_h, G_w). stride: pixels per cell. anchor_size: side of the cells' anchors.
        n_classes: C.

    Returns:
        A :class:`GridTargets`. A centre on the far edge of the image goes to the last cell.
    """
    where = "grid_targets"
    if not isinstance(boxes, (list, tuple)) or not isinstance(labels, (list, tuple)):
        raise TypeError(f"{where}: boxes and labels must be lists over images, got "
                        f"{type(boxes).__name__} and {type(labels).__name__}")
    if len(boxes) != len(labels):
        raise ValueError(f"{where}: boxes and labels must have one entry per image, got "
                         f"{len(boxes)} and {len(labels)}")
    gh, gw = (check_int(g, where, "grid", low=1) for g in grid)
    stride = check_int(stride, where, "stride", low=1)
    anchor_size = check_positive(anchor_size, where, "anchor_size")
    n = len(boxes)
    obj = np.zeros((n, gh, gw), np.float32)
    cls = np.full((n, gh, gw), -1, np.int64)
    deltas = np.zeros((n, 4, gh, gw), np.float32)
    dropped = 0
    for i, (b, lab) in enumerate(zip(boxes, labels, strict=True)):
        b = B.check_boxes(b, where, f"boxes[{i}]")
        lab = np.asarray(lab)
        if lab.shape != (len(b),) or (len(b) and not np.issubdtype(lab.dtype, np.integer)):
            raise ValueError(f"{where}: labels[{i}] must be {len(b)} ints (one per box), got "
                             f"{lab.dtype} {lab.shape}")
        if len(b) and (lab.min() < 0 or lab.max() >= n_classes):
            raise ValueError(f"{where}: labels[{i}] must lie in [0, {n_classes}), got "
                             f"{lab.min()}..{lab.max()}")
        if not len(b):
            continue
        c = B.xyxy_to_cxcywh(b)
        gx = np.clip((c[:, 0] // stride).astype(int), 0, gw - 1)
        gy = np.clip((c[:, 1] // stride).astype(int), 0, gh - 1)
        ax, ay = (gx + 0.5) * stride, (gy + 0.5) * stride
        h = anchor_size / 2
        anchors = np.stack([ax - h, ay - h, ax + h, ay + h], axis=1)
        d = B.encode(anchors, b)                                   # (k, 4)
        for k in np.argsort(-c[:, 2] * c[:, 3], kind="stable"):    # larger boxes first
            if obj[i, gy[k], gx[k]]:
                dropped += 1
                continue
            obj[i, gy[k], gx[k]] = 1
            cls[i, gy[k], gx[k]] = lab[k]
            deltas[i, :, gy[k], gx[k]] = d[k]
    return GridTargets(torch.from_numpy(obj), torch.from_numpy(cls), torch.from_numpy(deltas),
                       dropped)


def scene_targets(model: GridDetector, scenes) -> GridTargets:
    """:func:`grid_targets` for a :class:`course_lib.data.DigitScenes` and a detector."""
    H, W = scenes.images.shape[2:]
    return grid_targets(scenes.boxes, scenes.labels, grid=(H // model.stride, W // model.stride),
                        stride=model.stride, anchor_size=model.anchor_size,
                        n_classes=model.n_classes)


def detection_loss(out: torch.Tensor, targets: GridTargets, *, box_beta: float = 0.1
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """The three-part loss of the module docstring, summed over cells, averaged over images.

    Args:
        out: (N, 5 + C, G_h, G_w) raw outputs of :class:`GridDetector`.
        targets: a :class:`GridTargets` of the same N and grid (on the same device).
        box_beta: the smooth-L1 (Huber) transition point.

    Returns:
        (total loss, scalar tensor; {"obj": ..., "cls": ..., "box": ...} as floats).
    """
    where = "detection_loss"
    if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[1] < 6:
        raise ValueError(f"{where}: out must be a (N, 5 + C, G_h, G_w) tensor, got "
                         f"{getattr(out, 'shape', type(out).__name__)}")
    if tuple(targets.obj.shape) != (out.shape[0], *out.shape[2:]):
        raise ValueError(f"{where}: targets are for {tuple(targets.obj.shape)} (N, G_h, G_w), "
                         f"out is {tuple(out.shape)}")
    n = out.shape[0]
    pos = targets.obj > 0                                           # (N, G_h, G_w)
    obj = F.binary_cross_entropy_with_logits(out[:, 0], targets.obj, reduction="sum") / n
    logits = out[:, 5:].permute(0, 2, 3, 1)[pos]                    # (P, C)
    cls = F.cross_entropy(logits, targets.cls[pos], reduction="sum") / n
    pred = out[:, 1:5].permute(0, 2, 3, 1)[pos]                     # (P, 4)
    true = targets.deltas.permute(0, 2, 3, 1)[pos]                  # (P, 4)
    box = F.smooth_l1_loss(pred, true, reduction="sum", beta=box_beta) / n
    total = obj + cls + box
    return total, {"obj": obj.item(), "cls": cls.item(), "box": box.item()}


# --------------------------------------------------------------------------- inference

def decode_outputs(model: GridDetector, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes and class scores of every cell.

    Args:
        model: the detector (for its stride and anchor size).
        out: (N, 5 + C, G_h, G_w) raw outputs.

    Returns:
        boxes (N, G_h·G_w, 4) xyxy in pixels (row-major cells) and scores (N, G_h·G_w, C),
        score = σ(objectness) · softmax(class logits).
    """
    n, _, gh, gw = out.shape
    anchors = torch.as_tensor(model.anchors((gh, gw)), dtype=out.dtype, device=out.device)
    flat = out.flatten(2).transpose(1, 2)                           # (N, G_h·G_w, 5 + C)
    boxes = decode_offsets(anchors.expand(n, -1, -1), flat[..., 1:5])
    scores = torch.sigmoid(flat[..., :1]) * torch.softmax(flat[..., 5:], dim=-1)
    return boxes, scores


@torch.no_grad()
def detect(model: GridDetector, images, *, score_threshold: float = 0.05,
           iou_threshold: float = 0.5, max_detections: int = 100, batch_size: int = 256
           ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Detections for each image: the best class per cell, a score threshold, then class-aware NMS.

    Args:
        model: a :class:`GridDetector` (run in evaluation mode, on its device).
        images: (N, C_in, H, W) float array or tensor.
        score_threshold: keep cells whose best score is >= this (in [0, 1]).
        iou_threshold: NMS threshold (:func:`course_lib.scratch.boxes.batched_nms`).
        max_detections: at most this many per image, the highest scores.
        batch_size: images per forward pass.

    Returns:
        A list over images of (boxes (K, 4) float64 xyxy clipped to the image, scores (K,)
        float64 descending, labels (K,) int64).
    """
    where = "detect"
    score_threshold = check_fraction(score_threshold, where, "score_threshold")
    iou_threshold = check_fraction(iou_threshold, where, "iou_threshold")
    max_detections = check_int(max_detections, where, "max_detections", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    x = torch.as_tensor(np.asarray(images, np.float32) if not isinstance(images, torch.Tensor)
                        else images, dtype=torch.float32)
    if x.ndim != 4:
        raise ValueError(f"{where}: images must be (N, C, H, W), got {tuple(x.shape)}")
    H, W = x.shape[2:]
    device = model_device(model)
    results = []
    with eval_mode(model):
        for start in range(0, len(x), batch_size):
            out = model(x[start:start + batch_size].to(device))
            boxes, scores = decode_outputs(model, out)
            best, label = scores.max(dim=-1)                        # (n, G·G)
            for bx, sc, lab in zip(boxes.double().cpu().numpy(), best.double().cpu().numpy(),
                                   label.cpu().numpy(), strict=True):
                keep = sc >= score_threshold
                bx = bx[keep]
                bx[:, [0, 2]] = bx[:, [0, 2]].clip(0, W)
                bx[:, [1, 3]] = bx[:, [1, 3]].clip(0, H)
                ok = (bx[:, 2] > bx[:, 0]) & (bx[:, 3] > bx[:, 1])  # clipping can flatten one
                bx, sc_k, lab_k = bx[ok], sc[keep][ok], lab[keep][ok].astype(np.int64)
                kept = B.batched_nms(bx, sc_k, lab_k, iou_threshold)[:max_detections]
                results.append((bx[kept], sc_k[kept], lab_k[kept]))
    return results


def evaluate_detector(model: GridDetector, scenes, *, iou_thresholds=(0.5,),
                      score_threshold: float = 0.05, iou_threshold: float = 0.5) -> dict:
    """mAP of the model on a :class:`course_lib.data.DigitScenes` (see
    :func:`course_lib.scratch.boxes.mean_average_precision`; its dict, plus ``"preds"``)."""
    preds = detect(model, scenes.images, score_threshold=score_threshold,
                   iou_threshold=iou_threshold)
    gts = [(np.asarray(b, np.float64), np.asarray(lab)) for b, lab in
           zip(scenes.boxes, scenes.labels, strict=True)]
    result = B.mean_average_precision(preds, gts, model.n_classes,
                                      iou_thresholds=iou_thresholds)
    result["preds"] = preds
    return result


# --------------------------------------------------------------------------- training

@dataclass
class DetectorLog:
    """What :func:`fit_detector` recorded: per step the total loss, its three parts and the
    learning rate; ``dropped``: boxes of the training scenes that lost their cell."""

    loss: list[float] = field(default_factory=list)
    obj: list[float] = field(default_factory=list)
    cls: list[float] = field(default_factory=list)
    box: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    dropped: int = 0


def fit_detector(model: GridDetector, scenes, *, steps: int, batch_size: int = 64,
                 lr: float = 6e-3, weight_decay: float = 1e-4, warmup: int = 20,
                 seed: int = 0, progress: bool = True) -> DetectorLog:
    """Train a detector on the scenes with AdamW, random mini-batches, warm-up + cosine rate.

    Step i draws ``batch_size`` scenes (with replacement) from a CPU generator seeded with
    ``seed`` and takes one step on :func:`detection_loss` at the rate
    ``warmup_cosine(lr, i + 1, warmup, steps + 1)``; gradients are clipped to norm 10.

    Args:
        model: a :class:`GridDetector` (in evaluation mode afterwards).
        scenes: a :class:`course_lib.data.DigitScenes` (its images, boxes and labels).
        steps: optimiser steps. batch_size: scenes per step. lr: peak learning rate.
        weight_decay: AdamW's decoupled decay. warmup: linear warm-up steps (< steps).
        seed: seed of the batches. progress: show a tqdm bar.

    Returns:
        A :class:`DetectorLog`.
    """
    where = "fit_detector"
    if not isinstance(model, GridDetector):
        raise TypeError(f"{where}: model must be a GridDetector, got {type(model).__name__}")
    steps = check_int(steps, where, "steps", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    lr = check_positive(lr, where, "lr")
    weight_decay = check_positive(weight_decay, where, "weight_decay", allow_zero=True)
    warmup = check_int(warmup, where, "warmup", low=0, high=steps - 1)
    seed = check_int(seed, where, "seed", low=0)
    images = getattr(scenes, "images", None)
    if not isinstance(images, np.ndarray) or images.ndim != 4 \
            or images.shape[1] != model.in_channels:
        raise TypeError(f"{where}: scenes must be a DigitScenes with images (N, "
                        f"{model.in_channels}, H, W), got {type(scenes).__name__}")
    device = model_device(model)
    x_all = torch.from_numpy(images)
    targets = scene_targets(model, scenes)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    log = DetectorLog(dropped=targets.dropped)

    def step(i: int) -> dict[str, float]:
        rate = warmup_cosine(lr, i + 1, warmup, steps + 1)
        for group in opt.param_groups:
            group["lr"] = rate
        idx = torch.randint(0, len(x_all), (batch_size,), generator=gen)
        out = model(x_all[idx].to(device))
        loss, parts = detection_loss(out, targets[idx].to(device))
        optimizer_step(opt, loss, clip=10.0, parameters=model.parameters())
        return {"loss": loss.item(), **parts, "lr": rate}

    record = run_steps(step, steps=steps, models=[model], progress=progress, desc="detector",
                       where=where)
    log.loss, log.obj, log.cls, log.box, log.lr = (record[k] for k in
                                                   ("loss", "obj", "cls", "box", "lr"))
    return log
