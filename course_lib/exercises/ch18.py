"""Checks for the exercises of chapter 18 (Deployment).

    from course_lib.exercises import ch18
    ch18.check_per_channel_scale(my_scales)

The quantization checks compare the learner's function with ``course_lib.scratch.quantize``
on seeded random weights and activations (rows of very different sizes, a row of zeros,
values on exact half-steps, values outside the range that must be clipped). The checkpoint
check trains a small model for a few steps, saves what the learner's function returns with
``torch.save``, reads it back with ``torch.load(weights_only=True)`` (so it must hold tensors
and plain data only), restores a fresh model and optimiser from it, and compares the losses of
three more steps with those of the run that was never interrupted.
"""

from __future__ import annotations

import io

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch import quantize as Q

__all__ = ["check_per_channel_scale", "check_fake_quantize", "check_checkpoint"]


def _weights(rng: np.random.Generator):
    C, K = int(rng.integers(1, 7)), int(rng.integers(1, 9))
    W = rng.normal(size=(C, K)) * np.logspace(-3, 0, C)[:, None]   # rows of different sizes
    if C > 1 and rng.random() < 0.3:
        W[int(rng.integers(C))] = 0.0                                # a dead channel
    return (W,)


def check_per_channel_scale(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(W) -> (C,)``: the symmetric int8 scale of each output channel (row) of W
    (C, K), max_k |W[c, k]| / 127, and 1.0 for a row of zeros."""
    return check_function(
        fn, lambda W: Q.symmetric_qparams(W, axis=0).scale, _weights,
        name="per-channel scales", trials=10, rtol=1e-12, atol=0, strict=strict,
        hint="np.abs(W).max(axis=1) is the (C,) largest magnitude of each row; divide by 127 "
             "(the restricted int8 range −127..127), and use 1.0 where the row is all zeros "
             "(np.where) so that nothing divides by zero later")


def _activations(rng: np.random.Generator):
    scale = float(rng.choice([0.01, 0.1, 0.5]))
    zero_point = int(rng.integers(0, 256))
    x = rng.normal(scale=100 * scale, size=int(rng.integers(2, 12)))
    x[:2] = (np.array([0.5, 1.5]) + rng.integers(-3, 3)) * scale   # exact half-steps
    return x, scale, zero_point


def check_fake_quantize(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, scale, zero_point) -> array``: quantize x to uint8 codes
    q = clip(round(x / scale) + zero_point, 0, 255) (round half to even, as ``np.rint``) and
    map them back, scale · (q − zero_point)."""
    return check_function(
        fn, lambda x, s, z: Q.fake_quantize(x, Q.QParams(s, z, 0, 255)), _activations,
        name="fake quantization (uint8)", trials=10, rtol=1e-6, atol=1e-9, strict=strict,
        hint="q = np.clip(np.rint(x / scale) + zero_point, 0, 255); return scale * (q - "
             "zero_point). np.rint rounds half to even (2.5 -> 2), as PyTorch does; "
             "np.round does too, but int(x + 0.5) does not; clip before dequantizing")


def _train_steps(model, opt, gen, n):
    import torch

    losses = []
    for _ in range(n):
        x = torch.randn(8, 4, generator=gen, dtype=torch.float64)
        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _resume_run(make_checkpoint):
    """seed -> losses of 3 steps after restoring from ``make_checkpoint(model, opt, step)``."""
    import torch

    def run(seed):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                    torch.nn.Linear(8, 1)).double()
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        gen = torch.Generator().manual_seed(seed)
        _train_steps(model, opt, gen, 3)
        buffer = io.BytesIO()
        torch.save(make_checkpoint(model, opt, 3), buffer)
        buffer.seek(0)
        ckpt = torch.load(buffer, weights_only=True)
        fresh = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                    torch.nn.Linear(8, 1)).double()
        fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.05)
        fresh.load_state_dict(ckpt["model"])
        fresh_opt.load_state_dict(ckpt["optimizer"])
        return np.array([float(ckpt["step"]), *_train_steps(fresh, fresh_opt, gen, 3)])

    return run


def _reference_checkpoint(model, optimizer, step):
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}


def check_checkpoint(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(model, optimizer, step) -> dict``: a checkpoint with the keys "model" (the
    model's state_dict), "optimizer" (the optimiser's state_dict) and "step", from which a
    fresh model and optimiser continue training exactly as the original would have."""
    return check_function(
        _resume_run(fn), _resume_run(_reference_checkpoint),
        lambda rng: (int(rng.integers(0, 1000)),), name="a checkpoint dictionary", trials=3,
        rtol=0, atol=0, strict=strict,
        hint="return {'model': model.state_dict(), 'optimizer': optimizer.state_dict(), "
             "'step': step}. Save the state_dicts, not the objects: torch.load with "
             "weights_only=True refuses a pickled module, and without the optimiser's state "
             "(Adam's moments) the resumed run takes different steps")
