"""One call at the top of every notebook: seeds, threads, plot defaults and the device.

    from course_lib import setup
    env = setup(seed=0)

prints one line such as

    Python 3.11.7 · NumPy 2.4.6 · PyTorch 2.13.0 · device cpu (no CUDA or Apple MPS found)
    · 2 threads · seed 0

(on one line), then one yellow line for each course package that is missing or outside the
range the course supports, with the command that installs the tested version (nothing when all
is well; ``python -m course_lib.doctor`` checks more). :func:`seeded` is the one helper with
which every model of ``course_lib.torch_ref`` seeds its initial weights (``Model(..., seed=0)``).

The package check (:mod:`course_lib.versions`, shared with :mod:`course_lib.doctor`) compares
what is installed with the supported ranges that ``pyproject.toml`` declares and the exact
versions that ``requirements.txt`` locks.
"""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from course_lib.scratch.parallel import default_threads, set_threads
from course_lib.scratch.validate import check_int
from course_lib.versions import version_warnings

#: Environment variables the course reads.
DEVICE_ENV = "COURSE_DEVICE"      # "cpu", "cuda", "cuda:1", "mps": overrides the automatic choice


@dataclass
class CourseEnv:
    """What :func:`setup` chose. ``rng`` is a NumPy Generator seeded with ``seed``."""

    seed: int
    device: object            # torch.device
    device_reason: str
    threads: int
    rng: np.random.Generator = field(repr=False)
    summary: str = ""

    def __str__(self) -> str:
        return self.summary


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global RNG and PyTorch (CPU and CUDA).

    Returns a fresh ``np.random.Generator`` seeded with ``seed``: prefer passing it (or
    seeds) explicitly over relying on global state.
    """
    seed = check_int(seed, "seed_everything", "seed", low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


@contextmanager
def seeded(seed: int | None, where: str = "seeded") -> Iterator[None]:
    """Run a block with PyTorch's CPU generator seeded with ``seed``, then restore it.

        with seeded(0):
            layer = nn.Linear(3, 2)        # the same weights on every run

    Every model of ``course_lib.torch_ref`` builds its layers inside ``seeded(seed)``, so
    ``Model(..., seed=0)`` always starts from the same weights and leaves the global generator
    as it was. ``seed=None`` does nothing: the weights come from the global generator, as
    seeded by :func:`setup`, and consume its draws. (``torch.manual_seed`` also seeds the
    CUDA generators, which are not restored.)

    ``where`` names the caller in the error raised for a bad seed.
    """
    if seed is None:
        yield
        return
    seed = check_int(seed, where, "seed", low=0)
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def choose_device(requested: str | None = None) -> tuple[object, str]:
    """Pick the device: ``requested`` or ``$COURSE_DEVICE`` if set, else CUDA, then MPS, then CPU.

    Returns ``(torch.device, reason)`` where ``reason`` says why in a few words. Asking for a
    device that is not available raises ``RuntimeError`` naming what is available.
    """
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    via = "requested" if requested is not None else f"requested via {DEVICE_ENV}"
    requested = requested if requested is not None else os.environ.get(DEVICE_ENV) or None
    if requested:
        try:
            dev = torch.device(requested)
        except RuntimeError as e:
            raise ValueError(f"setup: {DEVICE_ENV} must name a torch device such as 'cpu', "
                             f"'cuda' or 'mps', got {requested!r} ({e})") from None
        available = {"cpu": True, "cuda": cuda, "mps": mps}.get(dev.type, False)
        if not available:
            have = ", ".join(k for k, v in (("cuda", cuda), ("mps", mps), ("cpu", True)) if v)
            raise RuntimeError(f"setup: device {requested!r} was requested (via argument or "
                               f"{DEVICE_ENV}) but is not available here; available: {have}")
        return dev, via
    if cuda:
        return torch.device("cuda"), f"CUDA found: {torch.cuda.get_device_name(0)}"
    if mps:
        return torch.device("mps"), "Apple MPS found"
    return torch.device("cpu"), "no CUDA or Apple MPS found"


def set_plot_defaults() -> None:
    """Matplotlib defaults shared by every chapter: readable sizes, no top/right spines."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 90,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "image.cmap": "viridis",
        "font.size": 10,
    })


def setup(seed: int = 0, *, threads: int | None = None, device: str | None = None,
          quiet: bool = False) -> CourseEnv:
    """Prepare a notebook: seed everything, set threads and plot defaults, choose the device.

    Args:
        seed: seed for Python, NumPy and PyTorch (0 ≤ seed < 2**32).
        threads: CPU threads for PyTorch and for the batch split of the scratch code
            (:mod:`course_lib.scratch.parallel`); default ``$COURSE_THREADS`` or the usable
            cores (≤ 8).
        device: force a device ("cpu", "cuda", "mps"); default ``$COURSE_DEVICE`` or automatic
            (CUDA, then Apple MPS, then CPU).
        quiet: print nothing (neither the summary line nor the package warnings).

    Returns:
        A :class:`CourseEnv` with ``seed``, ``device``, ``threads``, ``rng`` and ``summary``.
    """
    import torch

    rng = seed_everything(seed)
    n_threads = default_threads() if threads is None else check_int(threads, "setup", "threads",
                                                                       low=1)
    torch.set_num_threads(n_threads)
    set_threads(n_threads)                       # the scratch code's batch split, too
    set_plot_defaults()
    dev, reason = choose_device(device)
    summary = (f"Python {platform.python_version()} · NumPy {np.__version__} · "
               f"PyTorch {torch.__version__} · device {dev} ({reason}) · "
               f"{n_threads} thread{'s' if n_threads > 1 else ''} · seed {seed}")
    if not quiet:
        print(summary)
        for line in version_warnings():
            print(f"\033[33m{line}\033[0m")              # yellow
    return CourseEnv(seed=seed, device=dev, device_reason=reason, threads=n_threads, rng=rng,
                     summary=summary)
