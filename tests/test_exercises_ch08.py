"""course_lib.exercises.ch08: correct answers pass, typical mistakes fail with a useful verdict."""

import numpy as np

from course_lib.exercises import ch08


def test_correct_answers_pass():
    assert ch08.check_conv_output_size(lambda n, k, p, s: (n + 2 * p - k) // s + 1, strict=False)

    def rf(ks, ss):
        r, j = 1, 1
        for k, s in zip(ks, ss, strict=True):
            r, j = r + (k - 1) * j, j * s
        return r

    assert ch08.check_receptive_field(rf, strict=False)
    assert ch08.check_conv1x1(
        lambda x, w, b: np.einsum("fc,nchw->nfhw", w, x) + b[None, :, None, None], strict=False)

    def pool_backward(dout, x, k):
        N, C, H, W = x.shape
        dx = np.zeros_like(x)
        for n in range(N):
            for c in range(C):
                for i in range(H // k):
                    for j in range(W // k):
                        block = x[n, c, i * k:(i + 1) * k, j * k:(j + 1) * k]
                        a, b = np.unravel_index(np.argmax(block), block.shape)
                        dx[n, c, i * k + a, j * k + b] = dout[n, c, i, j]
        return dx

    assert ch08.check_max_pool_backward(pool_backward, strict=False)


def test_typical_mistakes_fail():
    v = ch08.check_conv_output_size(lambda n, k, p, s: (n + 2 * p - k) / s + 1, strict=False)
    assert not v and "Hint" in v.message                       # true division
    assert not ch08.check_conv_output_size(lambda n, k, p, s: (n + p - k) // s + 1, strict=False)
    assert not ch08.check_receptive_field(lambda ks, ss: 1 + sum(k - 1 for k in ks), strict=False)
    assert not ch08.check_conv1x1(lambda x, w, b: np.einsum("fc,nchw->nfhw", w, x), strict=False)

    def spread(dout, x, k):                                    # average-pool gradient instead
        up = np.repeat(np.repeat(dout, k, axis=2), k, axis=3) / k**2
        dx = np.zeros_like(x)
        dx[:, :, :up.shape[2], :up.shape[3]] = up
        return dx

    assert not ch08.check_max_pool_backward(spread, strict=False)
