"""course_lib.scratch.linear_regression against PyTorch and scikit-learn on random data."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from course_lib.scratch.batching import minibatch_indices
from course_lib.scratch.linear_regression import (
    add_intercept,
    batch_gd,
    fit_standardizer,
    lasso,
    lasso_lambda_max,
    lasso_path,
    least_squares,
    linear_mse,
    minibatch_gd,
    mse_grad,
    normal_equations,
    polynomial_features,
    ridge,
    ridge_path,
    standardize,
    steps_to_reach,
    unstandardize,
)

# (n, p): one example, one feature, odd sizes, tall and nearly square
SHAPES = [(1, 1), (2, 1), (5, 3), (17, 4), (40, 7), (9, 9)]


def regression(rng, n, p, noise=0.1):
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, size=p) + rng.normal(size=p)
    theta = rng.normal(size=p)
    return X, X @ theta + noise * rng.normal(size=n)


def assert_close(got, want, rtol=1e-8, atol=1e-10):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    err = float(np.abs(got - want).max()) if want.size else 0.0
    assert err <= atol + rtol * scale, f"max error {err:.2e} (scale {scale:.2e})"


# ---------------------------------------------------------------------- loss and gradient

@pytest.mark.parametrize("n,p", SHAPES)
def test_linear_mse_and_grad_match_autograd(n, p):
    rng = np.random.default_rng([n, p])
    X, y = regression(rng, n, p)
    theta = rng.normal(size=p)
    th = torch.tensor(theta, requires_grad=True)
    loss_t = torch.nn.functional.mse_loss(torch.tensor(X) @ th, torch.tensor(y))
    loss_t.backward()
    assert_close(linear_mse(theta, X, y), loss_t.item(), rtol=1e-12)
    assert_close(mse_grad(theta, X, y), th.grad.numpy(), rtol=1e-12)


def test_linear_mse_of_a_whole_path_and_of_a_column_target():
    rng = np.random.default_rng(0)
    X, y = regression(rng, 12, 3)
    path = rng.normal(size=(6, 3))
    losses = linear_mse(path, X, y)
    assert losses.shape == (6,)
    assert_close(losses, [linear_mse(t, X, y) for t in path], rtol=1e-14)
    assert linear_mse(path[0], X, y[:, None]) == linear_mse(path[0], X, y)
    assert np.isinf(linear_mse(np.array([[np.inf, 0, 0], [0, 0, 0]]), X, y)[0])


def test_add_intercept():
    X = np.arange(6.0).reshape(3, 2)
    A = add_intercept(X)
    assert A.shape == (3, 3) and np.all(A[:, 0] == 1) and np.array_equal(A[:, 1:], X)


# ---------------------------------------------------------------------- closed forms

@pytest.mark.parametrize("n,p", [s for s in SHAPES if s[0] >= s[1]])
def test_normal_equations_and_lstsq_match_torch(n, p):
    rng = np.random.default_rng([n, p, 1])
    X, y = regression(rng, n, p)
    want = torch.linalg.lstsq(torch.tensor(X), torch.tensor(y)[:, None]).solution[:, 0].numpy()
    assert_close(normal_equations(X, y), want, rtol=1e-8)
    assert_close(least_squares(X, y), want, rtol=1e-10)
    # the normal equations hold: the residual is orthogonal to every column
    r = y - X @ normal_equations(X, y)
    assert np.abs(X.T @ r).max() <= 1e-9 * np.abs(X).max() * max(1.0, np.abs(y).max()) * n


def test_exact_fit_is_recovered():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 5))
    theta = rng.normal(size=5)
    assert_close(normal_equations(X, X @ theta), theta, rtol=1e-12)
    assert_close(least_squares(X, X @ theta), theta, rtol=1e-12)


def test_least_squares_is_minimum_norm_when_rank_deficient():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, 3))
    X = np.hstack([X, X[:, :1] + X[:, 1:2]])       # 4 columns, rank 3
    y = rng.normal(size=8)
    theta = least_squares(X, y)
    want = torch.linalg.lstsq(torch.tensor(X), torch.tensor(y)[:, None],
                              driver="gelsd").solution[:, 0].numpy()
    assert_close(theta, want, rtol=1e-10)
    assert_close(theta, np.linalg.pinv(X) @ y, rtol=1e-10)
    with pytest.raises(ValueError, match="linearly dependent"):
        normal_equations(X, y)
    wide = rng.normal(size=(2, 4))                 # n < p: infinitely many exact fits
    theta = least_squares(wide, np.array([1.0, 2.0]))
    assert_close(wide @ theta, [1.0, 2.0], rtol=1e-12)
    assert_close(theta, np.linalg.pinv(wide) @ np.array([1.0, 2.0]), rtol=1e-10)
    with pytest.raises(ValueError, match="fewer rows than columns"):
        normal_equations(wide, np.array([1.0, 2.0]))


def test_lstsq_is_more_accurate_than_the_normal_equations_when_ill_conditioned():
    x = np.linspace(0, 1, 60)
    X = x[:, None] ** np.arange(9)                 # Vandermonde, cond(X) ~ 1e7
    theta = np.ones(9)
    y = X @ theta                                  # exact data: the error is all round-off
    err_lstsq = np.abs(least_squares(X, y) - theta).max()
    err_normal = np.abs(normal_equations(X, y) - theta).max()
    assert err_lstsq < 1e-6 and err_normal > 10 * err_lstsq


# ---------------------------------------------------------------------- gradient descent

def torch_sgd_path(X, y, lr, batches, theta0):
    """θ after each update of torch.optim.SGD on nn.MSELoss over the given index batches."""
    model = torch.nn.Linear(X.shape[1], 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(theta0)[None, :])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    path = [theta0.copy()]
    for idx in batches:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(Xt[idx])[:, 0], yt[idx])
        loss.backward()
        opt.step()
        path.append(model.weight.detach()[0].numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("n,p", SHAPES)
def test_batch_gd_matches_torch_sgd(n, p):
    rng = np.random.default_rng([n, p, 2])
    X, y = regression(rng, n, p)
    theta0 = rng.normal(size=p)
    L = np.linalg.eigvalsh(2 / n * X.T @ X).max()
    path = batch_gd(X, y, 1.0 / L, 25, theta0=theta0)
    assert path.shape == (26, p) and np.array_equal(path[0], theta0)
    want = torch_sgd_path(X, y, 1.0 / L, [np.arange(n)] * 25, theta0)
    assert_close(path, want, rtol=1e-10)


def test_batch_gd_reaches_the_closed_form_below_2_over_L_and_diverges_above():
    rng = np.random.default_rng(5)
    X, y = regression(rng, 50, 4)
    lam = np.linalg.eigvalsh(2 / 50 * X.T @ X)
    best = 2 / (lam.min() + lam.max())
    path = batch_gd(X, y, best, 3000)
    theta_star = normal_equations(X, y)
    assert np.abs(path[-1] - theta_star).max() < 1e-8
    t = steps_to_reach(path, theta_star, 1e-6)
    assert t is not None and 0 < t < 3000
    assert np.abs(path[t] - theta_star).max() <= 1e-6 < np.abs(path[t - 1] - theta_star).max()
    diverging = batch_gd(X, y, 1.05 * 2 / lam.max(), 400)
    assert not np.all(np.isfinite(diverging[-1])) or \
        np.abs(diverging[-1]).max() > 1e6 * np.abs(theta_star).max()
    assert steps_to_reach(diverging, theta_star, 1e-6) is None


@pytest.mark.parametrize("n,batch_size", [(1, 1), (7, 1), (7, 3), (10, 4), (16, 16), (9, 20)])
def test_minibatch_gd_matches_torch_with_the_same_batches(n, batch_size):
    rng = np.random.default_rng([n, batch_size])
    X, y = regression(rng, n, 3)
    theta0 = rng.normal(size=3)
    run = minibatch_gd(X, y, 0.01, 3, batch_size, rng=np.random.default_rng(7), theta0=theta0)
    shuffle_rng = np.random.default_rng(7)            # replay the same shuffles
    batches = [idx for _ in range(3) for idx in minibatch_indices(n, batch_size, rng=shuffle_rng)]
    per_epoch = -(-n // batch_size)
    assert run.path.shape == (3 * per_epoch + 1, 3)
    assert list(run.epoch_ends) == [per_epoch, 2 * per_epoch, 3 * per_epoch]
    assert run.seconds.shape == (len(run.path),) and np.all(np.diff(run.seconds) >= 0)
    assert np.array_equal(run.theta, run.path[-1])
    assert_close(run.path, torch_sgd_path(X, y, 0.01, batches, theta0), rtol=1e-10)


def test_full_batch_without_shuffle_is_batch_gd():
    rng = np.random.default_rng(8)
    X, y = regression(rng, 23, 5)
    run = minibatch_gd(X, y, 0.02, 40, 23, shuffle=False)
    assert_close(run.path, batch_gd(X, y, 0.02, 40), rtol=1e-12)


def test_sgd_gets_close_to_the_closed_form():
    rng = np.random.default_rng(9)
    X, y = regression(rng, 200, 3, noise=0.05)
    theta_star = least_squares(X, y)
    run = minibatch_gd(X, y, 0.005, 60, 1, rng=np.random.default_rng(0))
    start = linear_mse(run.path[0], X, y)
    gap = linear_mse(run.theta, X, y) - linear_mse(theta_star, X, y)
    assert 0 <= gap < 1e-3 * start                 # near the optimum, not exactly on it


# ---------------------------------------------------------------------- features

@pytest.mark.parametrize("n,d", [(1, 1), (2, 3), (11, 4), (50, 2)])
def test_standardize_matches_sklearn(n, d):
    rng = np.random.default_rng([n, d, 3])
    X = rng.normal(size=(n, d)) * 5 + 3
    X_other = rng.normal(size=(4, d))
    mu, sigma = fit_standardizer(X)
    scaler = StandardScaler().fit(X)
    assert_close(mu, scaler.mean_, rtol=1e-13)
    assert_close(standardize(X, mu, sigma), scaler.transform(X), rtol=1e-12)
    assert_close(standardize(X_other, mu, sigma), scaler.transform(X_other), rtol=1e-12)


def test_constant_column_is_only_centred():
    X = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    mu, sigma = fit_standardizer(X)
    assert sigma[1] == 1.0
    Z = standardize(X, mu, sigma)
    assert np.all(Z[:, 1] == 0) and abs(Z[:, 0].std() - 1) < 1e-14


def test_unstandardize_gives_the_same_predictions():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(20, 3)) * [1, 10, 100] + [5, -2, 40]
    mu, sigma = fit_standardizer(X)
    w, b = rng.normal(size=3), 1.5
    w_raw, b_raw = unstandardize(w, b, mu, sigma)
    assert_close(X @ w_raw + b_raw, standardize(X, mu, sigma) @ w + b, rtol=1e-12)


@pytest.mark.parametrize("degree", [0, 1, 2, 5])
@pytest.mark.parametrize("include_bias", [True, False])
def test_polynomial_features_match_sklearn(degree, include_bias):
    if degree == 0 and not include_bias:
        with pytest.raises(ValueError, match="degree"):
            polynomial_features(np.ones(3), 0)
        return
    x = np.random.default_rng(degree).uniform(-2, 2, size=7)
    want = PolynomialFeatures(degree, include_bias=include_bias).fit_transform(x[:, None])
    assert_close(polynomial_features(x, degree, include_bias=include_bias), want, rtol=1e-14)
    assert_close(polynomial_features(x[:, None], degree, include_bias=include_bias), want,
                 rtol=1e-14)


def test_steps_to_reach():
    path = np.array([[4.0, 0.0], [2.0, 0.5], [1.0, 0.1], [0.5, 0.0]])
    assert steps_to_reach(path, np.array([1.0, 0.0]), 0.15) == 2
    assert steps_to_reach(path, np.array([4.0, 0.0]), 0.1) == 0
    assert steps_to_reach(path, np.array([9.0, 9.0]), 0.1) is None
    assert steps_to_reach(np.array([[np.nan, 0.0], [0.0, 0.0]]), np.zeros(2), 1e-9) == 1


# ---------------------------------------------------------------------- ridge

RIDGE_CASES = [(1, 1, 0.5), (3, 5, 1.0), (12, 4, 0.01), (12, 4, 10.0), (60, 8, 3.0), (5, 5, 0.2)]


@pytest.mark.parametrize("n,d,lam", RIDGE_CASES)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_matches_sklearn(n, d, lam, fit_intercept):
    rng = np.random.default_rng([n, d, int(100 * lam)])
    X, y = regression(rng, n, d)
    w, b = ridge(X, y, lam, fit_intercept=fit_intercept)
    sk = Ridge(alpha=lam, fit_intercept=fit_intercept, solver="cholesky").fit(X, y)
    assert_close(w, sk.coef_, rtol=1e-9)
    assert_close(b, sk.intercept_, rtol=1e-9)


def test_ridge_at_zero_is_least_squares_and_shrinks_with_lambda():
    rng = np.random.default_rng(11)
    X, y = regression(rng, 30, 4)
    w, b = ridge(X, y, 0.0)
    sk = LinearRegression().fit(X, y)
    assert_close(w, sk.coef_, rtol=1e-10)
    assert_close(b, sk.intercept_, rtol=1e-10)
    lams = np.array([0.0, 0.1, 1.0, 10.0, 100.0, 1e6])
    W, B = ridge_path(X, y, lams)
    assert W.shape == (6, 4) and B.shape == (6,)
    norms = np.linalg.norm(W, axis=1)
    assert np.all(np.diff(norms) < 0) and norms[-1] < 1e-3 * norms[0]
    assert abs(B[-1] - y.mean()) < 1e-3 * abs(y.mean()) + 1e-3   # all shrunk: b → mean of y


def test_ridge_handles_dependent_columns_only_with_lambda():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(10, 2))
    X = np.hstack([X, X[:, :1]])                   # a repeated column
    y = rng.normal(size=10)
    with pytest.raises(ValueError, match="singular"):
        ridge(X, y, 0.0)
    w, _ = ridge(X, y, 1.0)
    assert abs(w[0] - w[2]) < 1e-12                # the penalty splits the weight equally


# ---------------------------------------------------------------------- lasso

def sk_lasso(X, y, lam, fit_intercept=True):
    return Lasso(alpha=lam, fit_intercept=fit_intercept, tol=1e-14, max_iter=1_000_000).fit(X, y)


def lasso_objective(X, y, w, b, lam):
    return 0.5 / len(y) * np.sum((y - X @ w - b) ** 2) + lam * np.abs(w).sum()


LASSO_CASES = [(1, 1), (2, 3), (8, 12), (15, 4), (50, 6), (120, 10)]


@pytest.mark.parametrize("n,d", LASSO_CASES)
@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.01])
def test_lasso_matches_sklearn(n, d, fraction):
    rng = np.random.default_rng([n, d, int(1000 * fraction)])
    X, y = regression(rng, n, d)
    lam = fraction * lasso_lambda_max(X, y) if n > 1 else 0.1
    w, b = lasso(X, y, lam)
    sk = sk_lasso(X, y, lam)
    obj, obj_sk = lasso_objective(X, y, w, b, lam), lasso_objective(X, y, sk.coef_,
                                                                       sk.intercept_, lam)
    assert obj <= obj_sk * (1 + 1e-12) + 1e-14
    if n >= d:                                     # unique solution: the same coefficients
        assert_close(w, sk.coef_, rtol=1e-7)
        assert_close(b, sk.intercept_, rtol=1e-7)


@pytest.mark.parametrize("n,d", [(20, 3), (40, 7)])
def test_lasso_without_intercept_and_kkt(n, d):
    rng = np.random.default_rng([n, d, 9])
    X, y = regression(rng, n, d)
    lam = 0.2 * lasso_lambda_max(X, y, fit_intercept=False)
    w, b = lasso(X, y, lam, fit_intercept=False)
    assert b == 0.0
    assert_close(w, sk_lasso(X, y, lam, fit_intercept=False).coef_, rtol=1e-7)
    # optimality: g = Xᵀ(y − Xw)/n equals λ·sign(w_j) where w_j ≠ 0 and |g_j| ≤ λ where w_j = 0
    g = X.T @ (y - X @ w) / n
    nz = w != 0
    assert_close(g[nz], lam * np.sign(w[nz]), rtol=1e-8)
    assert np.all(np.abs(g[~nz]) <= lam * (1 + 1e-9))


def test_lasso_lambda_max_is_where_every_weight_becomes_zero():
    rng = np.random.default_rng(13)
    X, y = regression(rng, 30, 5)
    lam_max = lasso_lambda_max(X, y)
    w, b = lasso(X, y, lam_max)
    assert np.all(w == 0) and b == pytest.approx(y.mean(), rel=1e-12)
    w, _ = lasso(X, y, 0.999 * lam_max)
    assert np.count_nonzero(w) == 1
    w0, b0 = lasso(X, y, 0.0)                      # no penalty: ordinary least squares
    sk = LinearRegression().fit(X, y)
    assert_close(w0, sk.coef_, rtol=1e-9)
    assert_close(b0, sk.intercept_, rtol=1e-9)


def test_lasso_path_matches_separate_fits_and_gets_sparser():
    rng = np.random.default_rng(14)
    X, y = regression(rng, 40, 6)
    lams = lasso_lambda_max(X, y) * np.geomspace(1, 1e-3, 12)
    W, B = lasso_path(X, y, lams)
    assert W.shape == (12, 6) and B.shape == (12,)
    for i in (0, 5, 11):
        w, b = lasso(X, y, float(lams[i]))
        assert_close(W[i], w, rtol=1e-8)
        assert_close(B[i], b, rtol=1e-8)
    nonzeros = np.count_nonzero(W, axis=1)
    assert nonzeros[0] == 0 and nonzeros[-1] == 6 and np.all(np.diff(nonzeros) >= 0)


def test_lasso_warns_when_out_of_sweeps_and_keeps_zero_columns_at_zero():
    rng = np.random.default_rng(15)
    X, y = regression(rng, 30, 4)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        lasso(X, y, 0.01, max_sweeps=1, tol=0.0)
    X[:, 2] = 3.0                                  # constant: zero after centring
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w, _ = lasso(X, y, 0.01)
    assert w[2] == 0.0


# ---------------------------------------------------------------------- bad input

def test_bad_input_says_what_was_expected():
    X, y = np.ones((4, 2)), np.ones(4)
    with pytest.raises(ValueError, match="same number of rows"):
        normal_equations(X, np.ones(3))
    with pytest.raises(ValueError, match=r"2-D"):
        least_squares(np.ones(4), y)
    with pytest.raises(ValueError, match=r"vector \(n,\) or a column"):
        ridge(X, np.ones((4, 2)), 1.0)
    with pytest.raises(TypeError, match="torch tensor"):
        linear_mse(np.zeros(2), torch.ones(4, 2), y)
    with pytest.raises(ValueError, match="NaN"):
        lasso(np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2), 0.1)
    with pytest.raises(ValueError, match="2 entries"):
        mse_grad(np.zeros(3), X, y)
    with pytest.raises(ValueError, match="lam must be finite and >= 0"):
        ridge(X, y, -1.0)
    with pytest.raises(TypeError, match="lam must be a number"):
        lasso(X, y, "big")
    with pytest.raises(ValueError, match="batch_gd: lr must be finite and > 0"):
        batch_gd(X, y, 0.0, 10)
    with pytest.raises(TypeError, match="batch_gd: n_steps must be an int"):
        batch_gd(X, y, 0.1, 2.5)
    with pytest.raises(TypeError, match="rng"):
        minibatch_gd(X, y, 0.1, 1, 2)              # shuffling needs a Generator
    with pytest.raises(ValueError, match="batch_size"):
        minibatch_gd(X, y, 0.1, 1, 0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="theta0 must have 2 entries"):
        batch_gd(X, y, 0.1, 3, theta0=np.zeros(5))
    with pytest.raises(ValueError, match="one feature"):
        polynomial_features(np.ones((3, 2)), 2)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        standardize(X, np.zeros(2), np.array([1.0, 0.0]))
    with pytest.raises(TypeError, match="b must be a number"):
        unstandardize(np.ones(2), None, np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="tol"):
        steps_to_reach(np.zeros((3, 2)), np.zeros(2), 0.0)
