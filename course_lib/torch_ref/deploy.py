"""Carrying a model out of the notebook: safe checkpoints, exact resuming, a validated
``predict`` and latency measured properly.

**Saving safely.** ``torch.save`` pickles; ``torch.load`` of a pickle can run any code the
file names (a pickle stores "call this function with these arguments"). Since PyTorch 2.6
``torch.load`` defaults to ``weights_only=True``, an unpickler that accepts only tensors,
numbers, strings and plain containers and refuses everything else; this module always passes
it explicitly, stores only such data, and turns a refusal into a clear error. A
``state_dict`` (the name → tensor mapping) is what to save, never the pickled ``nn.Module``,
whose loading needs (and runs) its class's code.

**Resuming exactly.** A training run is a deterministic function of the weights, the
optimiser's state (Adam's moment estimates and step count), the learning-rate scheduler's
state, and every random generator it draws from (batches, dropout). A checkpoint that holds
all of them lets a fresh process continue as if never interrupted: same losses, bit for bit,
on the same machine and device.

    save_checkpoint("ckpt.pt", model=model, optimizer=opt, scheduler=sched, step=100,
                    generators={"batches": gen})
    state = load_checkpoint("ckpt.pt", model=model2, optimizer=opt2, scheduler=sched2,
                            generators={"batches": gen2})      # state["step"] == 100
    predict = make_predict(lambda x: model(torch.from_numpy(x)).detach().numpy())
    predict(image)                                    # (label, probabilities); checks input
    measure_latency(lambda: model(x))                 # median seconds per call, and spread
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from course_lib.scratch.functional import softmax
from course_lib.scratch.validate import check_int, check_positive

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError", "make_predict",
           "Latency", "measure_latency"]


class CheckpointError(ValueError):
    """A checkpoint file that is not a course checkpoint or holds more than plain data."""


def _rng_state(generators: dict[str, torch.Generator] | None) -> dict:
    np_state = np.random.get_state()                 # ('MT19937', keys, pos, has_gauss, gauss)
    py_version, py_internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": {"version": py_version, "internal": list(py_internal), "gauss": py_gauss},
        "generators": {name: g.get_state() for name, g in (generators or {}).items()},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, generators: dict[str, torch.Generator] | None) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    saved = state.get("generators", {})
    for name, g in (generators or {}).items():
        if name not in saved:
            raise CheckpointError(f"load_checkpoint: the checkpoint has no generator {name!r}; "
                                  f"it has {sorted(saved)}")
        g.set_state(saved[name])


def save_checkpoint(path, *, model: torch.nn.Module, optimizer=None, scheduler=None,
                    step: int = 0, generators: dict[str, torch.Generator] | None = None,
                    extra: dict | None = None) -> Path:
    """Write everything needed to resume training to ``path`` (plain data only).

    Stored: ``model.state_dict()``, the optimiser's and the scheduler's ``state_dict()`` (if
    given), ``step``, the states of PyTorch's global generator (and CUDA's), NumPy's and
    Python's global generators and of each named ``torch.Generator`` in ``generators``, and
    ``extra`` (numbers, strings, tensors, lists and dicts only). Returns the path.
    """
    where = "save_checkpoint"
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{where}: model must be an nn.Module, got {type(model).__name__}")
    step = check_int(step, where, "step", low=0)
    for name, g in (generators or {}).items():
        if not isinstance(g, torch.Generator):
            raise TypeError(f"{where}: generators[{name!r}] must be a torch.Generator, got "
                            f"{type(g).__name__}")
    ckpt = {"format": "course-checkpoint-1", "step": step, "model": model.state_dict(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": _rng_state(generators), "extra": extra or {}}
    path = Path(path)
    torch.save(ckpt, path)
    return path


def load_checkpoint(path, *, model: torch.nn.Module, optimizer=None, scheduler=None,
                    generators: dict[str, torch.Generator] | None = None,
                    restore_rng: bool = True) -> dict:
    """Load a :func:`save_checkpoint` file into the given objects; returns the checkpoint dict.

    The file is read with ``torch.load(weights_only=True)`` (tensors, numbers, strings and
    containers only; anything else, such as a pickled object that could run code, is refused
    with :class:`CheckpointError`), mapped to the model's device. The model's weights must match
    exactly (``strict=True``). With ``restore_rng`` the global generators and the named ones in
    ``generators`` are set to their saved states, so training continues exactly.
    """
    where = "load_checkpoint"
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{where}: model must be an nn.Module, got {type(model).__name__}")
    device = next(model.parameters(), torch.empty(0)).device
    try:
        ckpt = torch.load(Path(path), map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{where}: {path} holds more than tensors and plain data, so it "
                              f"was refused (weights_only=True); only load such a file if you "
                              f"trust whoever wrote it. PyTorch said: {str(err)[:300]}") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != "course-checkpoint-1":
        raise CheckpointError(f"{where}: {path} is not a checkpoint written by save_checkpoint")
    model.load_state_dict(ckpt["model"])
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None:
            if ckpt[name] is None:
                raise CheckpointError(f"{where}: the checkpoint holds no {name} state")
            obj.load_state_dict(ckpt[name])
    if restore_rng:
        rng = dict(ckpt["rng"])
        rng["torch"] = rng["torch"].cpu()
        _set_rng_state(rng, generators)
    return ckpt


def make_predict(run: Callable[[np.ndarray], np.ndarray], *,
                 image_shape: tuple[int, int] = (28, 28),
                 value_range: tuple[float, float] = (0.0, 1.0),
                 class_names: list[str] | None = None):
    """Wrap a model into ``predict(images) -> (labels, probabilities)`` that checks its input.

    ``run`` maps float32 (N, 1, H, W) arrays to (N, C) logits (an eager model, a
    ``torch.export`` program or an ONNX Runtime session, wrapped in a small lambda). The
    returned ``predict`` accepts one image (H, W) or a batch (N, H, W) or (N, 1, H, W), of
    floats in ``value_range`` or of uint8 pixels (0..255, mapped onto the range), and refuses
    anything else with a message saying what it expected: wrong shape, wrong dtype, NaN,
    values out of range. A batch gives labels (N,) (ints, or the class names) and softmax
    probabilities (N, C) float32; one image gives one label and (C,) probabilities.
    """
    where = "predict"
    if not callable(run):
        raise TypeError(f"make_predict: run must be a function, got {type(run).__name__}")
    H, W = (check_int(s, "make_predict", "image_shape", low=1) for s in image_shape)
    lo, hi = (float(v) for v in value_range)

    def predict(images):
        x = np.asarray(images)
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / 255.0 * (hi - lo) + lo
        elif not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"{where}: images must be floats in [{lo}, {hi}] or uint8 pixels, "
                            f"got dtype {x.dtype}")
        single = x.ndim == 2
        if x.ndim == 2:
            x = x[None, None]
        elif x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1:] != (1, H, W):
            raise ValueError(f"{where}: expected one {H}x{W} grayscale image (H, W) or a batch "
                             f"(N, H, W) or (N, 1, H, W); got shape "
                             f"{np.asarray(images).shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{where}: images contain NaN or infinite values")
        if x.min() < lo or x.max() > hi:
            raise ValueError(f"{where}: pixel values must lie in [{lo}, {hi}] (as in training), "
                             f"got {x.min():.3g} to {x.max():.3g}; rescale the image first")
        logits = np.asarray(run(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float64)
        probs = softmax(logits, axis=1).astype(np.float32)
        labels = probs.argmax(axis=1)
        if class_names is not None:
            labels = np.array([class_names[k] for k in labels])
        if single:
            return labels[0], probs[0]
        return labels, probs

    return predict


@dataclass
class Latency:
    """Measured time per call in seconds: ``median`` and the interquartile range ``iqr`` over
    ``runs`` timed blocks (each block the mean of several calls)."""

    median: float
    iqr: float
    runs: int

    def __str__(self) -> str:
        return f"{self.median * 1e3:.3f} ms ± {self.iqr * 1e3 / 2:.3f}"


def measure_latency(fn: Callable[[], object], *, min_run_time: float = 0.2,
                    threads: int | None = None) -> Latency:
    """Time ``fn()`` with ``torch.utils.benchmark`` (warm-up, repeated blocks, median).

    ``torch.utils.benchmark.Timer`` runs warm-up calls, then blocks of calls until
    ``min_run_time`` seconds have passed, and (for CUDA work) synchronises the device around
    each block, so asynchronous GPU kernels are not mistaken for instant ones. ``threads``
    sets PyTorch's CPU threads for the measurement (None: the current setting).
    """
    from torch.utils import benchmark

    where = "measure_latency"
    if not callable(fn):
        raise TypeError(f"{where}: fn must be a function of no arguments")
    min_run_time = check_positive(min_run_time, where, "min_run_time")
    num_threads = torch.get_num_threads() if threads is None else check_int(threads, where,
                                                                              "threads", low=1)
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=num_threads)
    m = timer.blocked_autorange(min_run_time=min_run_time)
    return Latency(median=float(m.median), iqr=float(m.iqr), runs=len(m.times))
