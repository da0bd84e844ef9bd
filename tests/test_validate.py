"""The input checks that give learners clear error messages."""

import numpy as np
import pytest

from course_lib.scratch.validate import (
    as_array,
    check_finite,
    check_int,
    check_positive,
    check_same_shape,
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
    with pytest.raises(ValueError, match="NaN or inf"):
        check_finite(np.array([1.0, np.nan]), "f", "x")
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        check_same_shape(np.ones(2), np.ones(3), "f", "a", "b")
