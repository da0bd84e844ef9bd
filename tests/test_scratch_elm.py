"""course_lib.scratch.elm: the closed-form output weights against scikit-learn and NumPy,
the random features, shapes, determinism, learning, and bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import Ridge

from course_lib.scratch import elm as E


@pytest.mark.parametrize("n_classes, n", [(1, 1), (2, 5), (10, 37)])
def test_one_hot_matches_torch(n_classes, n):
    y = np.random.default_rng(n).integers(0, n_classes, size=n)
    np.testing.assert_array_equal(E.one_hot(y, n_classes),
                                  F.one_hot(torch.from_numpy(y), n_classes).numpy())


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_hidden_layer_is_the_formula(activation):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    model = E.fit_elm(X, rng.normal(size=6), 4, rng=np.random.default_rng(1),
                      activation=activation)
    Z = torch.from_numpy(X @ model.W + model.b)
    want = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[activation](Z)
    np.testing.assert_allclose(E.elm_hidden(model, X), want.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("N, D, H, K", [(1, 1, 1, 1), (20, 3, 8, 1), (50, 4, 30, 3),
                                        (10, 2, 40, 2)])
@pytest.mark.parametrize("ridge", [1e-3, 1.0])
def test_output_weights_equal_sklearn_ridge(N, D, H, K, ridge):
    rng = np.random.default_rng([N, D, H, K])
    X, Y = rng.normal(size=(N, D)), rng.normal(size=(N, K))
    model = E.fit_elm(X, Y, H, rng=np.random.default_rng(7), ridge=ridge)
    Hmat = E.elm_hidden(model, X)                                         # (N, H)
    ref = Ridge(alpha=ridge, fit_intercept=False, solver="svd").fit(Hmat, Y)
    np.testing.assert_allclose(model.beta, ref.coef_.reshape(K, H).T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(E.elm_predict(model, X), Hmat @ model.beta, rtol=1e-13)


@pytest.mark.parametrize("N, H", [(30, 10), (10, 30), (1, 3)])
def test_no_ridge_is_the_minimum_norm_least_squares_solution(N, H):
    rng = np.random.default_rng([N, H])
    X, Y = rng.normal(size=(N, 2)), rng.normal(size=(N, 2))
    model = E.fit_elm(X, Y, H, rng=np.random.default_rng(3), ridge=0.0)
    Hmat = E.elm_hidden(model, X)
    np.testing.assert_allclose(model.beta, np.linalg.pinv(Hmat) @ Y, rtol=1e-8, atol=1e-10)
    if H >= N:                                                            # interpolates
        np.testing.assert_allclose(E.elm_predict(model, X), Y, atol=1e-8)


def test_vector_targets_give_vector_predictions():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(15, 2)), rng.normal(size=15)
    model = E.fit_elm(X, y, 5, rng=rng)
    assert E.elm_predict(model, X).shape == (15,) and model.beta.shape == (5, 1)
    model2 = E.fit_elm(X, y[:, None], 5, rng=np.random.default_rng(1))
    assert E.elm_predict(model2, X[:1]).shape == (1, 1)


def test_deterministic_given_the_generator():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    a = E.fit_elm(X, y, 12, rng=np.random.default_rng(5))
    b = E.fit_elm(X, y, 12, rng=np.random.default_rng(5))
    c = E.fit_elm(X, y, 12, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a.beta, b.beta)
    assert not np.allclose(a.W, c.W)


def test_regression_error_falls_with_more_hidden_units():
    x = np.linspace(-3, 3, 200)[:, None]
    y = np.sin(2 * x[:, 0]) + 0.3 * x[:, 0] ** 2
    errs = [np.mean((E.elm_predict(E.fit_elm(x, y, h, rng=np.random.default_rng(0),
                                              weight_scale=3.0, ridge=1e-8), x) - y) ** 2)
            for h in (2, 8, 32, 128)]
    assert errs[-1] < 1e-4 < errs[0] and all(b < a for a, b in zip(errs, errs[1:], strict=False))


def test_classifies_two_blobs():
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(-1.5, 1, (100, 2)), rng.normal(1.5, 1, (100, 2))])
    y = np.repeat([0, 1], 100)
    model = E.fit_elm(X, E.one_hot(y, 2), 50, rng=rng, ridge=1e-2)
    assert np.mean(E.elm_predict(model, X).argmax(1) == y) > 0.9


def test_bad_input():
    rng = np.random.default_rng(0)
    X, y = np.ones((4, 2)), np.ones(4)
    with pytest.raises(ValueError, match="4 rows but Y has 3"):
        E.fit_elm(X, np.ones(3), 3, rng=rng)
    with pytest.raises(ValueError, match="n_hidden"):
        E.fit_elm(X, y, 0, rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        E.fit_elm(X, y, 3, rng=0)
    with pytest.raises(ValueError, match="activation"):
        E.fit_elm(X, y, 3, rng=rng, activation="gelu")
    with pytest.raises(ValueError, match="ridge"):
        E.fit_elm(X, y, 3, rng=rng, ridge=-1.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        E.fit_elm(np.array([[np.nan, 0.0]]), np.ones(1), 3, rng=rng)
    with pytest.raises(ValueError, match="2-D"):
        E.fit_elm(np.ones(4), y, 3, rng=rng)
    model = E.fit_elm(X, y, 3, rng=rng)
    with pytest.raises(ValueError, match="2 columns"):
        E.elm_predict(model, np.ones((4, 3)))
    with pytest.raises(TypeError, match="ELM"):
        E.elm_predict("model", X)
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        E.one_hot(np.array([0, 3]), 3)
