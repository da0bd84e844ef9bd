"""Checks for the exercises of chapter 10 (Recurrent networks).

    from course_lib.exercises import ch10
    ch10.check_rnn_step(rnn_step)

Each check runs the learner's function on seeded random inputs (a batch of one, a hidden size
of one, gradients already below the threshold, ...) against the reference in
``course_lib.scratch``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function, random_shape
from course_lib.scratch.rnn import clip_grad_norm, rnn_step_forward
from course_lib.scratch.text import bigram_log_probs

__all__ = ["check_rnn_step", "check_clip_by_global_norm", "check_perplexity",
           "check_bigram_log_probs"]


# ------------------------------------------------------------------- 1. one RNN step

def _step_inputs(rng: np.random.Generator):
    N, D, H = int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
    return (rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(D, H)),
            rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=H))


def check_rnn_step(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, h_prev, Wx, Wh, b) -> h_next`` for ``h_next = tanh(x Wx + h_prev Wh + b)``:
    x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,); h_next (N, H)."""
    return check_function(
        fn, lambda *a: rnn_step_forward(*a)[0], _step_inputs, name="one RNN step",
        trials=6, rtol=1e-10, atol=1e-12, strict=strict,
        hint="x @ Wx is (N, H) and h_prev @ Wh is (N, H); add b (broadcast over the batch), "
             "then np.tanh")


# --------------------------------------------------------------- 2. clip by global norm

def _clip_inputs(rng: np.random.Generator):
    shapes = [random_shape(rng, max_size=4) for _ in range(int(rng.integers(1, 4)))]
    grads = [rng.normal(size=s) for s in shapes]
    total = np.sqrt(sum(np.sum(g**2) for g in grads))
    # half of the trials below the threshold (nothing to do), half above
    factor = float(rng.choice([0.2, 0.5, 2.0, 5.0]))
    return grads, float(total * factor)


def check_clip_by_global_norm(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(grads, max_norm) -> list of arrays``: every gradient times
    ``min(1, max_norm / ‖g‖)`` where ‖g‖ is the norm of all of them together."""
    return check_function(
        fn, lambda g, m: clip_grad_norm(g, m)[0], _clip_inputs,
        name="clip by global norm", trials=8, rtol=1e-6, atol=1e-12, strict=strict,
        hint="‖g‖ = sqrt of the sum of the squares of every entry of every array; scale all "
             "arrays by the same factor, and only when ‖g‖ > max_norm")


# ----------------------------------------------------------------- 3. perplexity

def _ppl_inputs(rng: np.random.Generator):
    N, V = int(rng.integers(1, 9)), int(rng.integers(2, 9))
    z = 3 * rng.normal(size=(N, V))
    log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))     # (N, V) rows
    return log_probs, rng.integers(0, V, size=N)


def _ppl_reference(log_probs, targets):
    return float(np.exp(-np.mean(log_probs[np.arange(len(targets)), targets])))


def check_perplexity(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(log_probs, targets) -> float``: log_probs (N, V) are log-softmax rows,
    targets (N,) the symbols that came; perplexity = exp(−mean log-prob of the targets)."""
    return check_function(
        fn, _ppl_reference, _ppl_inputs, name="perplexity from log-probabilities",
        trials=6, rtol=1e-10, atol=0.0, strict=strict,
        hint="pick each row's target entry with log_probs[np.arange(N), targets], average, "
             "negate, exponentiate")


# ---------------------------------------------------------------- 4. a bigram table

def _bigram_inputs(rng: np.random.Generator):
    V = int(rng.integers(2, 7))
    n = int(rng.integers(2, 30))
    return rng.integers(0, V, size=n), V, float(rng.choice([0.1, 0.5, 1.0]))


def check_bigram_log_probs(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(ids, V, alpha) -> (V, V)``: row u holds log p(· | u) with add-α smoothing,
    ``(c(u, w) + α) / (c(u·) + α V)``, counted over consecutive pairs of ``ids``."""
    return check_function(
        fn, bigram_log_probs, _bigram_inputs, name="bigram table with add-α smoothing",
        trials=8, rtol=1e-10, atol=1e-12, strict=strict,
        hint="count pairs (ids[i-1], ids[i]) with np.add.at(C, (ids[:-1], ids[1:]), 1), add "
             "alpha, divide each row by its sum, take the log")
