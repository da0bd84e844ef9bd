"""course_lib.exercises.ch18: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np

from course_lib.exercises import ch18


def _scales(W):
    m = np.abs(W).max(axis=1)
    return np.where(m > 0, m / 127, 1.0)


def _fake(x, s, z, rounding=np.rint):
    q = np.clip(rounding(x / s) + z, 0, 255)
    return s * (q - z)


def test_correct_answers_pass():
    assert ch18.check_per_channel_scale(_scales, strict=False)
    assert ch18.check_fake_quantize(_fake, strict=False)
    assert ch18.check_checkpoint(lambda m, o, s: {"model": m.state_dict(),
                                                  "optimizer": o.state_dict(), "step": s},
                                 strict=False)


def test_typical_mistakes_fail():
    v = ch18.check_per_channel_scale(lambda W: np.abs(W).max() / 127 * np.ones(len(W)),
                                     strict=False)                          # per tensor
    assert not v and "Hint" in v.message
    assert not ch18.check_per_channel_scale(lambda W: _scales(W) * 127 / 128, strict=False)
    assert not ch18.check_per_channel_scale(lambda W: np.abs(W).max(axis=0) / 127,
                                            strict=False)                   # columns
    assert not ch18.check_fake_quantize(
        lambda x, s, z: _fake(x, s, z, rounding=lambda v: np.floor(v + 0.5)), strict=False)
    assert not ch18.check_fake_quantize(lambda x, s, z: s * (np.rint(x / s)), strict=False)
    v = ch18.check_checkpoint(lambda m, o, s: {"model": m, "optimizer": o.state_dict(),
                                               "step": s}, strict=False)   # pickled module
    assert not v and "weights_only" in v.message
    assert not ch18.check_checkpoint(lambda m, o, s: {"model": m.state_dict(),
                                                      "optimizer": {"state": {},
                                                                    "param_groups":
                                                                    o.state_dict()["param_groups"]},
                                                      "step": s}, strict=False)
