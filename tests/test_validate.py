"""The input checks that give learners clear error messages."""

import numpy as np
import pytest

from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_images,
    as_matrix,
    as_rng,
    as_token_ids,
    check_finite,
    check_fraction,
    check_gate_weights,
    check_grad_shape,
    check_int,
    check_labels,
    check_positive,
    check_rng,
    check_same_shape,
    check_shape,
    check_step_caches,
)


def test_as_array_accepts_and_refuses():
    assert as_array([1, 2], "f", "x", ndim=1).shape == (2,)
    with pytest.raises(ValueError, match=r"f: x must be a 2-D array, got shape \(3,\)"):
        as_array(np.ones(3), "f", "x", ndim=2)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        as_array(np.ones((1, 1, 1)), "f", "x", ndim=(1, 2))
    with pytest.raises(TypeError, match="numeric dtype"):
        as_array(np.array(["a", "b"]), "f", "x")
    with pytest.raises(TypeError, match="array of numbers, got str"):
        as_array("abc", "f", "x")
    with pytest.raises(TypeError, match="array of numbers, got NoneType"):
        as_array(None, "f", "x")
    with pytest.raises(ValueError, match="must not be empty"):
        as_array(np.ones((0, 3)), "f", "x")
    assert as_array(np.ones((0, 3)), "f", "x", allow_empty=True).shape == (0, 3)
    with pytest.raises(TypeError, match="array of numbers"):
        as_array([[1, 2], [3]], "f", "x")


def test_scalar_checks():
    assert check_int(3, "f", "k", low=1) == 3
    with pytest.raises(ValueError, match=r"k must be in \[1, 5\], got 7"):
        check_int(7, "f", "k", low=1, high=5)
    with pytest.raises(TypeError, match="k must be an int, got float"):
        check_int(2.0, "f", "k")
    with pytest.raises(TypeError, match="must be an int, got bool"):
        check_int(True, "f", "k")
    assert check_positive(0, "f", "lr", allow_zero=True) == 0.0
    with pytest.raises(ValueError, match="lr must be finite and > 0, got -1"):
        check_positive(-1, "f", "lr")
    with pytest.raises(ValueError, match="finite"):
        check_positive(float("inf"), "f", "lr")
    assert check_fraction(0, "f", "p") == 0.0 and check_fraction(1, "f", "p") == 1.0
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        check_fraction(1.5, "f", "p")
    with pytest.raises(ValueError, match="p must be finite and >= 0"):
        check_fraction(-0.1, "f", "p")
    with pytest.raises(ValueError, match="NaN or inf"):
        check_finite(np.array([1.0, np.nan]), "f", "x")
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        check_same_shape(np.ones(2), np.ones(3), "f", "a", "b")


def test_as_float_array_converts_ints_and_keeps_float32():
    out = as_float_array([1, 2], "f", "x")
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0]
    x32 = np.ones(3, dtype=np.float32)
    assert as_float_array(x32, "f", "x") is x32                      # no copy, dtype kept
    assert as_float_array(x32, "f", "x", dtype=np.float64).dtype == np.float64
    assert as_float_array(np.ones((0, 2)), "f", "x", allow_empty=True).shape == (0, 2)
    with pytest.raises(TypeError, match=r"f: x must have a numeric dtype, got dtype bool"):
        as_float_array(np.array([True, False]), "f", "x")
    with pytest.raises(ValueError, match=r"f: x must be a 2-D array, got shape \(3,\)"):
        as_float_array(np.ones(3), "f", "x", ndim=2)
    with pytest.raises(ValueError, match="f: x contains NaN or inf"):
        as_float_array([1.0, np.inf], "f", "x", finite=True)
    assert np.isinf(as_float_array([1.0, np.inf], "f", "x")[1])      # finite=False lets inf by


def test_as_matrix_and_as_images():
    A = as_matrix(np.eye(2, dtype=np.float32), "f")
    assert A.dtype == np.float64 and A.shape == (2, 2)
    with pytest.raises(ValueError, match=r"f: A must be a 2-D array, got shape \(2,\)"):
        as_matrix(np.ones(2), "f")
    with pytest.raises(ValueError, match="f: B contains NaN or inf"):
        as_matrix([[np.nan]], "f", "B")
    with pytest.raises(ValueError, match="must not be empty"):
        as_matrix(np.ones((2, 0)), "f")
    assert as_matrix(np.ones((2, 0)), "f", allow_empty=True).shape == (2, 0)
    x = as_images(np.zeros((2, 1, 4, 4), dtype=np.uint8), "f")
    assert x.dtype == np.float64 and x.shape == (2, 1, 4, 4)
    assert as_images(np.zeros((4, 4), np.float32), "f", ndim=(2, 3)).dtype == np.float32
    with pytest.raises(ValueError, match=r"f: x must be a 4-D array, got shape \(4, 4\)"):
        as_images(np.zeros((4, 4)), "f")
    with pytest.raises(ValueError, match="f: images contains NaN or inf"):
        as_images(np.full((1, 2, 2), np.nan), "f", "images", ndim=3)


def test_shape_checks():
    h = check_shape(np.zeros((2, 3), dtype=int), (2, 3), "f", "h0", axes="(N, H)")
    assert h.dtype == np.float64
    with pytest.raises(ValueError, match=r"f: h0 must be \(N, H\) = \(2, 3\), got \(1, 3\)"):
        check_shape(np.zeros((1, 3)), (2, 3), "f", "h0", axes="(N, H)")
    with pytest.raises(ValueError, match=r"f: h0 must have shape \(2, 3\), got \(3,\)"):
        check_shape(np.zeros(3), (2, 3), "f", "h0")
    with pytest.raises(ValueError, match="NaN or inf"):
        check_shape(np.full((2, 3), np.nan), (2, 3), "f", "h0", finite=True)
    d = check_grad_shape(np.ones((2, 3), dtype=np.float32), (2, 3), "f")
    assert d.dtype == np.float32
    with pytest.raises(ValueError, match=r"f: dout must have the shape of the forward output "
                                         r"\(2, 3\), got \(3, 2\)"):
        check_grad_shape(np.ones((3, 2)), (2, 3), "f")
    with pytest.raises(ValueError, match="dh must not be empty"):
        check_grad_shape(np.ones((0, 3)), (0, 3), "f", "dh")
    assert check_grad_shape(np.ones((0, 3)), (0, 3), "f", "dh", allow_empty=True).shape == (0, 3)
    check_same_shape(np.ones((2, 2)), np.zeros((2, 2)), "f", "a", "b")


def test_check_labels():
    y = check_labels(np.array([0, 2, 1], dtype=np.uint8), 3, 3, "f")
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 1]
    assert check_labels(np.array([], dtype=int), 0, 3, "f").shape == (0,)
    with pytest.raises(TypeError, match=r"f: y must hold integer class labels .* dtype float64"):
        check_labels(np.array([0.0, 1.0]), 2, 2, "f")
    with pytest.raises(ValueError, match=r"f: y must have shape \(3,\), one label per point, "
                                         r"got \(2,\)"):
        check_labels(np.array([0, 1]), 3, 2, "f", per="point")
    with pytest.raises(ValueError, match=r"f: labels must hold class labels in \[0, 1\], "
                                         r"got values in \[-1, 1\]"):
        check_labels(np.array([-1, 1]), 2, 2, "f", "labels")
    with pytest.raises(ValueError, match=r"in \[0, 2\], got values in \[0, 3\]"):
        check_labels(np.array([0, 3]), 2, 3, "f")


def test_rng_checks():
    rng = np.random.default_rng(0)
    assert check_rng(rng, "f") is rng
    with pytest.raises(TypeError, match=r"f: rng must be a numpy Generator "
                                        r"\(np.random.default_rng\(seed\)\), got int"):
        check_rng(0, "f")
    with pytest.raises(TypeError, match="got RandomState"):
        check_rng(np.random.RandomState(0), "f")
    assert as_rng(rng, "f") is rng
    assert as_rng(3, "f").random() == np.random.default_rng(3).random()
    with pytest.raises(ValueError, match=r"f: seed must be in \[0, inf\], got -1"):
        as_rng(-1, "f")
    with pytest.raises(TypeError, match="f: seed must be an int, got NoneType"):
        as_rng(None, "f")


def test_check_step_caches():
    class Step:
        pass

    caches = [Step(), Step()]
    assert check_step_caches(caches, Step, "f_backward", "f_forward") is caches
    for bad, got in ((None, "NoneType"), ([], "list"), ((Step(),), "tuple"), ([1], "list")):
        with pytest.raises(TypeError, match=f"f_backward: cache must be the list returned by "
                                            f"f_forward, got {got}"):
            check_step_caches(bad, Step, "f_backward", "f_forward")


def test_check_gate_weights():
    Wx, Wh, b = np.ones((3, 8), dtype=int), np.ones((2, 8)), np.zeros(8)
    Wx2, Wh2, (b2,), H = check_gate_weights(Wx, Wh, {"b": b}, ("i", "f", "g", "o"), "f")
    assert H == 2 and Wx2.dtype == np.float64 and b2 is b
    with pytest.raises(ValueError, match=r"f: Wh must be \(H, 3H\) with the blocks r, z, n side "
                                         r"by side, got shape \(2, 8\)"):
        check_gate_weights(Wx, Wh, {"bx": b, "bh": b}, ("r", "z", "n"), "f")
    with pytest.raises(ValueError, match=r"f: Wx must be \(D, 4H\) = \(D, 8\) to match Wh"):
        check_gate_weights(np.ones((3, 6)), Wh, {"b": b}, "ifgo", "f")
    with pytest.raises(ValueError, match=r"f: bh must have shape \(8,\) to match Wh"):
        check_gate_weights(Wx, Wh, {"bx": b, "bh": np.zeros(6)}, "ifgo", "f")
    with pytest.raises(ValueError, match="f: Wh contains NaN or inf"):
        check_gate_weights(Wx, np.full((2, 8), np.nan), {"b": b}, "ifgo", "f")


def test_as_token_ids():
    ids = as_token_ids([0, 2, 1], 3, "f")
    assert ids.dtype == np.int64 and ids.tolist() == [0, 2, 1]
    with pytest.raises(ValueError,
                       match=r"f: ids must be in \[0, 2\] \(vocab_size 3\), got values from 0 to"):
        as_token_ids([0, 3], 3, "f")
    with pytest.raises(ValueError, match="f: train_ids must hold at least 2 ids, got 1"):
        as_token_ids([1], 3, "f", "train_ids", min_len=2)
    with pytest.raises(TypeError, match="dtype"):
        as_token_ids([0.0, 1.0], 3, "f")
