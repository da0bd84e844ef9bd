"""course_lib.exercises.ch11: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np

from course_lib.exercises import ch11
from course_lib.scratch.gru import gru_step_forward
from course_lib.scratch.lstm import lstm_step_forward


def _sig(a):
    return 1 / (1 + np.exp(-a))


def test_correct_answers_pass():
    assert ch11.check_lstm_step(lambda *a: lstm_step_forward(*a)[:2], strict=False)
    assert ch11.check_gru_step(lambda *a: gru_step_forward(*a)[0], strict=False)

    def seasonal(y, m, horizon):
        season = y[-m:]
        return np.array([season[(h - 1) % m] for h in range(1, horizon + 1)])

    assert ch11.check_seasonal_naive(seasonal, strict=False)
    assert ch11.check_sgns_loss(
        lambda v, u, U: -np.log(_sig(u @ v)) - np.log(_sig(-U @ v)).sum(), strict=False)


def test_typical_mistakes_fail():
    def lstm_wrong_order(x, h, c, Wx, Wh, b):      # CS231n's order i, f, o, g instead of torch's
        H = h.shape[1]
        a = x @ Wx + h @ Wh + b
        i, f, o = _sig(a[:, :H]), _sig(a[:, H:2 * H]), _sig(a[:, 2 * H:3 * H])
        g = np.tanh(a[:, 3 * H:])
        c = f * c + i * g
        return o * np.tanh(c), c

    v = ch11.check_lstm_step(lstm_wrong_order, strict=False)
    assert not v and "Hint" in v.message
    assert not ch11.check_lstm_step(lambda *a: lstm_step_forward(*a)[0], strict=False)

    def gru_paper(x, h, Wx, Wh, bx, bh):           # reset gate before the product (Cho et al.)
        H = h.shape[1]
        ax, ah = x @ Wx + bx, h @ Wh + bh
        r, z = _sig(ax[:, :H] + ah[:, :H]), _sig(ax[:, H:2 * H] + ah[:, H:2 * H])
        n = np.tanh(ax[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + bh[2 * H:])
        return (1 - z) * n + z * h

    assert not ch11.check_gru_step(gru_paper, strict=False)
    assert not ch11.check_seasonal_naive(lambda y, m, horizon: np.repeat(y[-1], horizon),
                                         strict=False)
    assert not ch11.check_seasonal_naive(lambda y, m, horizon: y[-m:][:horizon], strict=False)
    assert not ch11.check_sgns_loss(
        lambda v, u, U: -np.log(_sig(u @ v)) - np.log(_sig(U @ v)).sum(), strict=False)
