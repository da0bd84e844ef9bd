"""Chapter 06 exercise checks: correct answers pass, and the typical mistakes are caught
with a verdict that points at them (the notebook runs the worked solutions in strict mode)."""

import math

import numpy as np
import pytest

from course_lib.exercises import ch06
from course_lib.scratch.autograd import Value


def _sce(scores, y, stable=True):
    z = scores - scores.max(axis=1, keepdims=True) if stable else scores
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))     # overflows unless stable
    n = len(y)
    p = np.exp(log_p)
    p[np.arange(n), y] -= 1
    return -log_p[np.arange(n), y].mean(), p / n


def _sin(sign=1.0, op=math.sin):
    return lambda x: Value(op(x.data), parents=(x,), op="sin",
                           local_grads=(sign * math.cos(x.data),))


CASES = {
    "check_linear_backward": (
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.sum(axis=0)),
        [(lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.mean(axis=0)), "wrong value"),
         (lambda dout, x, W, b: (dout @ W, x.T @ dout, dout.sum(axis=0)), "❌"),
         (lambda dout, x, W, b: (W @ dout.T, x.T @ dout, dout.sum(axis=0)), "❌")]),
    "check_elu_backward": (
        lambda dout, x, a: np.where(x > 0, dout, dout * a * np.exp(np.minimum(x, 0))),
        [(lambda dout, x, a: np.where(x > 0, dout, a * np.exp(np.minimum(x, 0))), "wrong value"),
         (lambda dout, x, a: np.where(x > 0, dout, dout * (a * np.expm1(np.minimum(x, 0)))),
          "wrong value")]),
    "check_softmax_cross_entropy": (
        _sce,
        [(lambda s, y: _sce(s, y, stable=False), "the loss is"),
         (lambda s, y: (_sce(s, y)[0], _sce(s, y)[1] * len(y)), "wrong dscores"),
         (lambda s, y: _sce(s, y)[0], "pair")]),
    "check_value_sin": (
        _sin(),
        [(_sin(-1.0), "wrong value"), (_sin(op=math.cos), "wrong value"),
         (lambda x: math.sin(x.data), "must return a Value")]),
    "check_elm_output_weights": (
        lambda H, Y, lam: np.linalg.solve(H.T @ H + lam * np.eye(H.shape[1]), H.T @ Y),
        [(lambda H, Y, lam: np.linalg.lstsq(H, Y, rcond=None)[0], "wrong value"),
         (lambda H, Y, lam: np.linalg.solve(H.T @ H + lam * np.eye(H.shape[1]), H.T @ Y).T,
          "❌")]),
}


@pytest.mark.parametrize("name", CASES)
def test_correct_solution_passes(name, capsys):
    assert getattr(ch06, name)(CASES[name][0], strict=True)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("name, i", [(n, i) for n, (_, wrong) in CASES.items()
                                     for i in range(len(wrong))])
def test_typical_mistakes_fail_with_a_pointer(name, i, capsys):
    fn, expected = CASES[name][1][i]
    with np.errstate(all="ignore"):
        v = getattr(ch06, name)(fn, strict=False)
    assert not v and expected in v.message, v.message
