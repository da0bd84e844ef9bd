"""Linear regression from scratch: least squares, gradient descent, ridge and lasso (NumPy only).

The model is ŷ = X θ for a design matrix X (n, p) (put a column of ones in X, with
:func:`add_intercept`, to get an intercept), fitted by minimising the mean squared error

    L(θ) = (1/n) ‖X θ − y‖²,     ∇L(θ) = (2/n) Xᵀ(X θ − y).

Ways to find the minimiser, each a function below:

- :func:`normal_equations`  solve XᵀX θ = Xᵀy (Gauss / Legendre, c. 1805), with a linear
  solve, never an explicit inverse;
- :func:`least_squares`     ``np.linalg.lstsq`` (SVD based): works on X itself, so it loses
  half as many digits as the normal equations (cond(XᵀX) = cond(X)²) and handles
  rank-deficient X (minimum-norm solution);
- :func:`batch_gd`          gradient descent on L (Cauchy, 1847);
- :func:`minibatch_gd`      mini-batch stochastic gradient descent (Robbins & Monro, 1951);
  ``batch_size=1`` is SGD, ``batch_size=n`` batch GD.

Penalised fits, with an intercept b that is never penalised (X and y are centred first):

- :func:`ridge`  min ‖y − X w − b‖² + λ‖w‖²  in closed form (Hoerl & Kennard, 1970),
  the same objective as scikit-learn's ``Ridge(alpha=λ)``;
- :func:`lasso`  min (1/2n)‖y − X w − b‖² + λ‖w‖₁  by cyclic coordinate descent with
  soft-thresholding (Tibshirani, 1996; Friedman, Hastie & Tibshirani, 2010), the same
  objective as scikit-learn's ``Lasso(alpha=λ)``.

Helpers: feature standardisation fitted on the training set (:func:`fit_standardizer`,
:func:`standardize`, :func:`unstandardize`), polynomial features
(:func:`polynomial_features`), the number of steps a run needs to reach a target
(:func:`steps_to_reach`) and λ paths (:func:`ridge_path`, :func:`lasso_path`,
:func:`lasso_lambda_max`).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.batching import minibatch_indices
from course_lib.scratch.descent import gradient_descent
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    as_matrix,
    check_int,
    check_positive,
)

__all__ = ["add_intercept", "linear_mse", "mse_grad", "normal_equations", "least_squares",
           "batch_gd", "minibatch_gd", "SGDRun", "steps_to_reach", "fit_standardizer",
           "standardize",
           "unstandardize", "polynomial_features", "ridge", "ridge_path", "lasso",
           "lasso_path", "lasso_lambda_max"]


# ------------------------------------------------------------------------------ input checks

def _vector(v, where: str, name: str, what: str) -> np.ndarray:
    """``v`` as a finite float64 (n,) vector; an (n, 1) column is accepted and flattened."""
    v = as_float_array(v, where, name, ndim=(1, 2), finite=True, dtype=np.float64)
    if v.ndim == 2:
        if v.shape[1] != 1:
            raise ValueError(f"{where}: {name} must be {what}, got shape {v.shape}")
        v = v[:, 0]
    return v


def _xy(X, y, where: str) -> tuple[np.ndarray, np.ndarray]:
    """X as a float64 (n, p) matrix and y as a float64 (n,) vector, both finite."""
    X = as_matrix(X, where, "X")
    y = _vector(y, where, "y", "a vector (n,) or a column (n, 1)")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: X and y must have the same number of rows (examples), "
                         f"got X {X.shape} and y {y.shape}")
    return X, y


def _theta(theta, p: int, where: str, name: str = "theta", batched: bool = False,
           finite: bool = True) -> np.ndarray:
    theta = as_float_array(theta, where, name, ndim=(1, 2) if batched else 1, finite=finite,
                           dtype=np.float64)
    if theta.shape[-1] != p:
        raise ValueError(f"{where}: {name} must have {p} entries (one per column of X), "
                         f"got shape {theta.shape}")
    return theta


def _lam(lam, where: str) -> float:
    return check_positive(lam, where, "lam", allow_zero=True)


# ------------------------------------------------------------------------ the loss, gradient

def add_intercept(X) -> np.ndarray:
    """Prepend a column of ones: (n, d) → (n, d + 1), so θ[0] is the intercept b.

    Then X θ = b + Σ_j θ_j x_j, the affine model, written as a linear one.
    """
    X = as_matrix(X, "add_intercept", "X")
    return np.hstack([np.ones((X.shape[0], 1)), X])


def linear_mse(theta, X, y) -> float | np.ndarray:
    """Mean squared error L(θ) = (1/n) ‖X θ − y‖² (the ``nn.MSELoss()`` of ŷ = X θ).

    Args:
        theta: (p,) parameters, or (T, p) to evaluate T parameter vectors at once (e.g. a
            whole gradient-descent path). Non-finite rows (a divergent run) give inf or NaN.
        X: (n, p) design matrix. y: (n,) targets.

    Returns:
        A float for θ (p,); a float64 array (T,) for θ (T, p).
    """
    X, y = _xy(X, y, "linear_mse")
    theta = _theta(theta, X.shape[1], "linear_mse", batched=True, finite=False)
    with np.errstate(over="ignore", invalid="ignore"):
        R = X @ theta.T - (y if theta.ndim == 1 else y[:, None])    # (n,) or (n, T) residuals
        out = np.mean(R**2, axis=0)
    return float(out) if theta.ndim == 1 else out


def mse_grad(theta, X, y) -> np.ndarray:
    """Gradient of the mean squared error, ∇L(θ) = (2/n) Xᵀ(X θ − y).

    Args:
        theta: (p,) parameters. X: (n, p) design. y: (n,) targets.

    Returns:
        float64 (p,).
    """
    X, y = _xy(X, y, "mse_grad")
    theta = _theta(theta, X.shape[1], "mse_grad")
    return 2.0 / X.shape[0] * (X.T @ (X @ theta - y))


# ------------------------------------------------------------------------- closed forms

def normal_equations(X, y) -> np.ndarray:
    """Least squares by the normal equations XᵀX θ = Xᵀy, solved with ``np.linalg.solve``.

    Setting ∇L(θ) = (2/n) Xᵀ(X θ − y) to zero gives the normal equations. They have a unique
    solution when the columns of X are linearly independent (XᵀX invertible). Solving costs
    about a third of forming (XᵀX)⁻¹ and is more accurate; forming XᵀX at all squares the
    condition number, which is why :func:`least_squares` is preferred on ill-conditioned X.

    Args:
        X: (n, p) design matrix with n ≥ p. y: (n,) targets.

    Returns:
        θ, float64 (p,).

    Raises:
        ValueError: if n < p or XᵀX is singular to working precision (dependent columns).
    """
    X, y = _xy(X, y, "normal_equations")
    n, p = X.shape
    if n < p:
        raise ValueError(f"normal_equations: X has fewer rows than columns ({n} < {p}), so "
                         f"XᵀX (rank ≤ {n}) is singular; use least_squares (minimum-norm "
                         f"solution) or ridge")
    A = X.T @ X                                      # (p, p)
    cond = np.linalg.cond(A)
    if not cond < 1.0 / np.finfo(np.float64).eps:
        raise ValueError(f"normal_equations: XᵀX is singular to working precision (condition "
                         f"number {cond:.1e}): the columns of X are linearly dependent; use "
                         f"least_squares or ridge")
    return np.linalg.solve(A, X.T @ y)               # never inv(A) @ (Xᵀy)


def least_squares(X, y, rcond: float | None = None) -> np.ndarray:
    """Least squares min ‖X θ − y‖ with ``np.linalg.lstsq`` (an SVD of X, never XᵀX).

    For rank-deficient X (dependent columns, or n < p) it returns the minimum-norm solution
    θ = X⁺ y; singular values below ``rcond`` · σ_max count as zero (default: machine
    precision times max(n, p)).

    Args:
        X: (n, p) design. y: (n,) targets.

    Returns:
        θ, float64 (p,).
    """
    X, y = _xy(X, y, "least_squares")
    if rcond is not None:
        rcond = check_positive(rcond, "least_squares", "rcond", allow_zero=True)
    theta, *_ = np.linalg.lstsq(X, y, rcond=rcond)
    return theta


# ------------------------------------------------------------------------- gradient descent

def batch_gd(X, y, lr: float, n_steps: int, *, theta0=None) -> np.ndarray:
    """Batch gradient descent θ ← θ − η (2/n) Xᵀ(X θ − y) on the mean squared error.

    Uses :func:`course_lib.scratch.descent.gradient_descent`. L is a quadratic with Hessian
    H = (2/n) XᵀX, so the run converges exactly when 0 < η < 2 / λ_max(H), and the error
    along the eigenvector of eigenvalue λ shrinks by |1 − η λ| per step: a large condition
    number λ_max / λ_min means slow progress (standardising the features reduces it).

    Args:
        X: (n, p) design. y: (n,) targets.
        lr: step size η > 0. n_steps: number of updates ≥ 0.
        theta0: (p,) start, default zeros.

    Returns:
        The path, float64 (n_steps + 1, p); row 0 is θ0. A divergent run (η too large) is
        not stopped: its path overflows to inf/NaN.
    """
    X, y = _xy(X, y, "batch_gd")
    lr = check_positive(lr, "batch_gd", "lr")
    n_steps = check_int(n_steps, "batch_gd", "n_steps", low=0)
    theta0 = np.zeros(X.shape[1]) if theta0 is None else _theta(theta0, X.shape[1], "batch_gd",
                                                                "theta0")
    n = X.shape[0]
    XtX, Xty = X.T @ X, X.T @ y                      # (p, p), (p,): computed once
    return gradient_descent(lambda th: 2.0 / n * (XtX @ th - Xty), theta0, lr, n_steps)


@dataclass
class SGDRun:
    """The result of :func:`minibatch_gd`.

    ``path`` (T + 1, p): θ before the first update and after each of the T updates;
    ``epoch_ends`` (epochs,): the update count at the end of each epoch (index into path);
    ``seconds`` (T + 1,): wall-clock time since the start when each θ was reached
    (``time.perf_counter``; for plots only, it differs from run to run).
    """

    path: np.ndarray
    epoch_ends: np.ndarray
    seconds: np.ndarray

    @property
    def theta(self) -> np.ndarray:
        """The final parameters (p,)."""
        return self.path[-1]


def minibatch_gd(X, y, lr: float, epochs: int, batch_size: int, *,
                 rng: np.random.Generator | None = None, shuffle: bool = True,
                 theta0=None) -> SGDRun:
    """Mini-batch gradient descent on the mean squared error.

    Each epoch visits the examples once in batches B (from
    :func:`course_lib.scratch.batching.minibatch_indices`), and each batch makes the update

        θ ← θ − η (2/|B|) X_Bᵀ(X_B θ − y_B),

    an unbiased estimate of the full gradient. ``batch_size=1`` is stochastic gradient
    descent (SGD), ``batch_size=n`` with ``shuffle=False`` is batch gradient descent. With a
    constant η the iterates of SGD keep jumping around the minimum (a noise floor whose
    size grows with η / |B|) unless the data are fitted exactly.

    Args:
        X: (n, p) design. y: (n,) targets.
        lr: step size η > 0. epochs: passes over the data ≥ 1.
        batch_size: examples per update, ≥ 1 (a last, smaller batch is kept).
        rng: Generator for the shuffles (required with ``shuffle=True``).
        shuffle: a fresh random order every epoch.
        theta0: (p,) start, default zeros.

    Returns:
        An :class:`SGDRun` (``path`` has ``epochs · ⌈n / batch_size⌉ + 1`` rows). A divergent
        run is not stopped: its path overflows to inf/NaN.
    """
    where = "minibatch_gd"
    X, y = _xy(X, y, where)
    n, p = X.shape
    lr = check_positive(lr, where, "lr")
    epochs = check_int(epochs, where, "epochs", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    theta = np.zeros(p) if theta0 is None else _theta(theta0, p, where, "theta0").copy()
    path, seconds, epoch_ends = [theta.copy()], [0.0], []
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            for idx in minibatch_indices(n, batch_size, rng=rng, shuffle=shuffle):
                X_B, y_B = X[idx], y[idx]                                  # (b, p), (b,)
                theta = theta - lr * 2.0 / len(idx) * (X_B.T @ (X_B @ theta - y_B))
                path.append(theta)
                seconds.append(time.perf_counter() - start)
            epoch_ends.append(len(path) - 1)
    return SGDRun(np.array(path), np.array(epoch_ends), np.array(seconds))


def steps_to_reach(path, target, tol: float) -> int | None:
    """The first step t at which a run is within ``tol`` of a target: max_j |θ_t,j − θ*_j| ≤ tol.

    Args:
        path: (T + 1, p) iterates, row 0 the start (e.g. from :func:`batch_gd`).
        target: (p,) the point to reach, e.g. the closed-form solution.
        tol: > 0, in the units of θ (the largest error over the coordinates).

    Returns:
        The step count t (0 when the start is already close enough), or None when no iterate
        of the path gets there (too few steps, or a divergent run).
    """
    where = "steps_to_reach"
    path = as_float_array(path, where, "path", ndim=2, dtype=np.float64)
    target = _theta(target, path.shape[1], where, "target")
    tol = check_positive(tol, where, "tol")
    with np.errstate(invalid="ignore"):
        close = np.max(np.abs(path - target), axis=1) <= tol     # (T + 1,); NaN rows: False
    return int(np.argmax(close)) if close.any() else None


# ------------------------------------------------------------------------ feature scaling

def fit_standardizer(X) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column of the *training* features.

    Args:
        X: (n, d) training features.

    Returns:
        ``(mu, sigma)``, each float64 (d,). A constant column gets σ = 1 (it is only
        centred), so that :func:`standardize` never divides by zero.
    """
    X = as_matrix(X, "fit_standardizer", "X")
    mu, sigma = X.mean(axis=0), X.std(axis=0)
    return mu, np.where(sigma > 0, sigma, 1.0)


def standardize(X, mu, sigma) -> np.ndarray:
    """Standardise features with statistics from the training set: (X − μ) / σ.

    Apply the *training* μ and σ to validation and test data too; refitting them on those
    sets would leak information and make the model see differently scaled inputs.

    Args:
        X: (n, d) features. mu, sigma: (d,) from :func:`fit_standardizer`.

    Returns:
        float64 (n, d).
    """
    X = as_matrix(X, "standardize", "X")
    d = X.shape[1]
    mu = _theta(mu, d, "standardize", "mu")
    sigma = _theta(sigma, d, "standardize", "sigma")
    if np.any(sigma <= 0):
        raise ValueError("standardize: sigma must be > 0 in every column, got "
                         f"min {sigma.min():g}")
    return (X - mu) / sigma


def unstandardize(w, b: float, mu, sigma) -> tuple[np.ndarray, float]:
    """Weights for raw features from weights fitted on standardised ones.

    ŷ = b + Σ_j w_j (x_j − μ_j) / σ_j = (b − Σ_j w_j μ_j / σ_j) + Σ_j (w_j / σ_j) x_j.

    Args:
        w: (d,) weights on standardised features. b: their intercept. mu, sigma: (d,).

    Returns:
        ``(w_raw (d,), b_raw)`` giving the same predictions on raw features.
    """
    w = as_float_array(w, "unstandardize", "w", ndim=1, dtype=np.float64)
    if isinstance(b, bool) or not isinstance(b, (int, float, np.integer, np.floating)):
        raise TypeError(f"unstandardize: b must be a number (the intercept), got "
                        f"{type(b).__name__} {b!r}")
    mu = _theta(mu, w.size, "unstandardize", "mu")
    sigma = _theta(sigma, w.size, "unstandardize", "sigma")
    w_raw = w / sigma
    return w_raw, float(b - w_raw @ mu)


def polynomial_features(x, degree: int, *, include_bias: bool = False) -> np.ndarray:
    """Powers of a single feature: columns x, x², …, x^degree (and 1 first with ``include_bias``).

    A linear model on these columns is a polynomial of the given degree in x. On a wide range
    of x the columns are nearly parallel (a Vandermonde matrix), so X is badly conditioned
    at high degree; standardising x first helps.

    Args:
        x: (n,) or (n, 1) values. degree: ≥ 1 (≥ 0 with ``include_bias``).

    Returns:
        float64 (n, degree) or (n, degree + 1) with ``include_bias``.
    """
    x = _vector(x, "polynomial_features", "x", "one feature, (n,) or (n, 1)")
    degree = check_int(degree, "polynomial_features", "degree", low=0 if include_bias else 1)
    powers = np.arange(0 if include_bias else 1, degree + 1)
    return x[:, None] ** powers                      # (n, len(powers))


# ------------------------------------------------------------------------ ridge and lasso

def _centre(X: np.ndarray, y: np.ndarray, fit_intercept: bool):
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), 0.0
    x_bar, y_bar = X.mean(axis=0), float(y.mean())
    return X - x_bar, y - y_bar, x_bar, y_bar


def ridge(X, y, lam: float, *, fit_intercept: bool = True) -> tuple[np.ndarray, float]:
    """Ridge regression (L2, 岭回归) in closed form, with an unpenalised intercept.

    Minimises ‖y − X w − b‖² + λ‖w‖² (scikit-learn's ``Ridge(alpha=λ)``). The optimal b
    makes the residuals sum to zero, so with centred X_c = X − x̄ and y_c = y − ȳ

        (X_cᵀX_c + λ I) w = X_cᵀ y_c,     b = ȳ − x̄ᵀw.

    For λ > 0 the matrix is positive definite even when n < d or columns repeat.

    Args:
        X: (n, d) features. y: (n,) targets. lam: λ ≥ 0.
        fit_intercept: fit b (else b = 0 and nothing is centred).

    Returns:
        ``(w (d,), b)``, float64 and float.
    """
    X, y = _xy(X, y, "ridge")
    lam = _lam(lam, "ridge")
    Xc, yc, x_bar, y_bar = _centre(X, y, fit_intercept)
    d = X.shape[1]
    A = Xc.T @ Xc + lam * np.eye(d)                  # (d, d)
    if not np.linalg.cond(A) < 1.0 / np.finfo(np.float64).eps:
        raise ValueError("ridge: XᵀX + λI is singular (λ = 0 with dependent columns or "
                         "n ≤ d); use lam > 0")
    w = np.linalg.solve(A, Xc.T @ yc)
    return w, float(y_bar - x_bar @ w)


def ridge_path(X, y, lams, *, fit_intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Ridge solutions for several λ: coefficients (k, d) and intercepts (k,)."""
    lams = as_array(lams, "ridge_path", "lams", ndim=1, dtype_kind="fiu")
    fits = [ridge(X, y, float(lam), fit_intercept=fit_intercept) for lam in lams]
    return np.array([w for w, _ in fits]), np.array([b for _, b in fits])


def lasso_lambda_max(X, y, *, fit_intercept: bool = True) -> float:
    """The smallest λ for which the lasso solution is w = 0: λ_max = ‖X_cᵀ y_c‖_∞ / n.

    At w = 0 the optimality condition |x_jᵀ y_c| / n ≤ λ must hold for every column j.
    """
    X, y = _xy(X, y, "lasso_lambda_max")
    Xc, yc, _, _ = _centre(X, y, fit_intercept)
    return float(np.max(np.abs(Xc.T @ yc)) / X.shape[0])


def lasso(X, y, lam: float, *, fit_intercept: bool = True, max_sweeps: int = 10_000,
          tol: float = 1e-12, w0=None) -> tuple[np.ndarray, float]:
    """The lasso (L1, 套索回归) by cyclic coordinate descent, with an unpenalised intercept.

    Minimises (1/2n)‖y − X w − b‖² + λ‖w‖₁ (scikit-learn's ``Lasso(alpha=λ)``). With
    centred data, G = X_cᵀX_c / n and c = X_cᵀy_c / n, one coordinate at a time

        ρ_j = c_j − Σ_{k≠j} G_jk w_k,     w_j ← S_λ(ρ_j) / G_jj,

    the exact minimiser over w_j with the others fixed. S_λ(ρ) = sign(ρ) max(|ρ| − λ, 0) is
    the soft threshold (:func:`course_lib.scratch.sparse_coding.soft_threshold`, written out
    here for one number at a time because it runs d times a sweep): every |ρ_j| ≤ λ gives
    exactly w_j = 0, which is why the lasso selects features. b = ȳ − x̄ᵀw.

    Args:
        X: (n, d) features. y: (n,) targets. lam: λ ≥ 0.
        fit_intercept: fit b (else b = 0 and nothing is centred).
        max_sweeps: the most passes over all coordinates. tol: stop when no coordinate
            moved by more than ``tol · max(1, max|w|)`` in a sweep.
        w0: (d,) warm start (e.g. the solution for a nearby λ), default zeros.

    Returns:
        ``(w (d,), b)``. Warns (RuntimeWarning) if ``max_sweeps`` ran out first.
    """
    X, y = _xy(X, y, "lasso")
    lam = _lam(lam, "lasso")
    max_sweeps = check_int(max_sweeps, "lasso", "max_sweeps", low=1)
    tol = check_positive(tol, "lasso", "tol", allow_zero=True)
    n, d = X.shape
    w = np.zeros(d) if w0 is None else _theta(w0, d, "lasso", "w0").copy()
    Xc, yc, x_bar, y_bar = _centre(X, y, fit_intercept)
    G, c = Xc.T @ Xc / n, Xc.T @ yc / n              # (d, d), (d,)
    active = np.diag(G) > 0                          # a zero column keeps w_j = 0
    w[~active] = 0.0
    for _ in range(max_sweeps):
        biggest_move = 0.0
        for j in np.flatnonzero(active):
            rho = c[j] - G[j] @ w + G[j, j] * w[j]
            w_j = math.copysign(max(abs(rho) - lam, 0.0), rho) / G[j, j]    # S_λ(ρ_j) / G_jj
            biggest_move = max(biggest_move, abs(w_j - w[j]))
            w[j] = w_j
        if biggest_move <= tol * max(1.0, np.abs(w).max()):
            break
    else:
        warnings.warn(f"lasso: coordinate descent did not converge in {max_sweeps} sweeps "
                      f"(last move {biggest_move:.1e}); raise max_sweeps", RuntimeWarning,
                      stacklevel=2)
    return w, float(y_bar - x_bar @ w)


def lasso_path(X, y, lams, *, fit_intercept: bool = True, max_sweeps: int = 10_000,
               tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Lasso solutions for several λ, each warm-started from the previous one.

    Pass ``lams`` from large to small (e.g. ``lasso_lambda_max(X, y) * np.geomspace(1, 1e-3,
    50)``): the solution changes little between neighbours, so each fit takes few sweeps.

    Returns:
        Coefficients (k, d) and intercepts (k,) for the k values of λ, in the given order.
    """
    X, y = _xy(X, y, "lasso_path")
    lams = as_float_array(lams, "lasso_path", "lams", ndim=1, dtype=np.float64)
    W, b = np.zeros((lams.size, X.shape[1])), np.zeros(lams.size)
    w = None
    for i, lam in enumerate(lams):
        w, b[i] = lasso(X, y, float(lam), fit_intercept=fit_intercept, max_sweeps=max_sweeps,
                        tol=tol, w0=w)
        W[i] = w
    return W, b
