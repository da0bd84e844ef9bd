"""Gradient descent and Newton's method on small test functions (NumPy only).

Test functions (each an :class:`Objective` with value, gradient and Hessian):

- :func:`quadratic`             f(x) = ½ xᵀA x − bᵀx,  ∇f = A x − b,  ∇²f = A;
- :func:`ill_conditioned_bowl`  a rotated 2-D quadratic whose Hessian has condition number κ;
- :func:`rosenbrock`            (a − x)² + b (y − x²)², a curved valley (Rosenbrock, 1960);
- :func:`double_well`           ½x² + ¼y⁴ − ½y² + c·y: two minima and a saddle between them.

Methods, each returning the path of iterates as an (n_steps + 1, d) array:

- :func:`gradient_descent`  x ← x − η ∇f(x)   (Cauchy, 1847);
- :func:`newton`            x ← x − [∇²f(x)]⁻¹ ∇f(x), computed with a linear solve.

:func:`descend` runs either method with stopping rules (gradient small: converged; iterate
non-finite or huge: diverged) so that a divergent run ends cleanly instead of filling the
path with inf and NaN. :func:`numeric_jacobian` and :func:`numeric_hessian` extend the
central differences of :mod:`course_lib.scratch.gradcheck` to vector-valued functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.validate import as_float_array, as_matrix, check_int, check_positive

__all__ = ["Objective", "quadratic", "ill_conditioned_bowl", "rosenbrock", "double_well",
           "lipschitz_constant", "gradient_descent", "newton", "descend", "Run",
           "numeric_jacobian", "numeric_hessian"]


# ----------------------------------------------------------------------------- test functions

@dataclass(frozen=True)
class Objective:
    """A smooth function f: Rᵈ → R with its gradient and Hessian.

    ``value(x)`` takes x of shape (..., d) and returns (...) (so it is vectorised for contour
    plots); ``grad(x)`` takes (d,) and returns (d,); ``hess(x)`` takes (d,) and returns (d, d).
    ``minimizer`` is the global minimiser (d,) when known, else None.
    """

    name: str
    dim: int
    _value: Callable[[np.ndarray], np.ndarray]
    _grad: Callable[[np.ndarray], np.ndarray]
    _hess: Callable[[np.ndarray], np.ndarray]
    minimizer: np.ndarray | None = None

    def _point(self, x, what: str, batched: bool = False) -> np.ndarray:
        where = f"{self.name}.{what}"
        x = as_float_array(x, where, "x", dtype=np.float64)
        if batched and (x.ndim == 0 or x.shape[-1] != self.dim):
            raise ValueError(f"{where}: x must have shape (..., {self.dim}), got {x.shape}")
        if not batched and x.shape != (self.dim,):
            raise ValueError(f"{where}: x must have shape ({self.dim},), got {x.shape}")
        return x

    def value(self, x) -> np.ndarray | float:
        """f(x) for x of shape (..., d); a float for a single point."""
        out = self._value(self._point(x, "value", batched=True))
        return float(out) if np.ndim(out) == 0 else out

    def grad(self, x) -> np.ndarray:
        """∇f(x), shape (d,), for x of shape (d,)."""
        return self._grad(self._point(x, "grad"))

    def hess(self, x) -> np.ndarray:
        """∇²f(x), shape (d, d) and symmetric, for x of shape (d,)."""
        return self._hess(self._point(x, "hess"))

    def surface(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """f on a meshgrid (2-D functions only): ``surface(X, Y)[i, j] = f(X[i, j], Y[i, j])``."""
        if self.dim != 2:
            raise ValueError(f"{self.name}.surface: only 2-D functions, this one has d={self.dim}")
        return self._value(np.stack([np.asarray(X, float), np.asarray(Y, float)], axis=-1))


def _symmetric(A, where: str) -> np.ndarray:
    A = as_matrix(A, where, "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{where}: A must be a square (d, d) matrix, got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(A).max())):
        raise ValueError(f"{where}: A must be symmetric (A == A.T); use (A + A.T) / 2, "
                         f"which defines the same quadratic form")
    return A


def quadratic(A, b=None, name: str = "quadratic") -> Objective:
    """The quadratic f(x) = ½ xᵀA x − bᵀx with ∇f(x) = A x − b and ∇²f(x) = A.

    Args:
        A: symmetric (d, d) matrix. When A is positive definite, f is a convex bowl whose
            unique minimiser solves A x* = b.
        b: (d,) vector, default zeros.

    Returns:
        An :class:`Objective` of dimension d (``minimizer`` set when A is positive definite).
    """
    A = _symmetric(A, "quadratic")
    d = A.shape[0]
    b = np.zeros(d) if b is None else as_float_array(b, "quadratic", "b", ndim=1,
                                                       dtype=np.float64)
    if b.shape != (d,):
        raise ValueError(f"quadratic: b must have shape ({d},) to match A {A.shape}, got {b.shape}")
    x_star = np.linalg.solve(A, b) if np.linalg.eigvalsh(A).min() > 0 else None
    return Objective(
        name, d,
        lambda x: 0.5 * np.einsum("...i,ij,...j->...", x, A, x) - x @ b,
        lambda x: A @ x - b,
        lambda x: A.copy(),
        x_star)


def ill_conditioned_bowl(kappa: float = 25.0, angle: float = np.pi / 6) -> Objective:
    """A 2-D quadratic bowl ½ xᵀA x with eigenvalues 1 and κ, rotated by ``angle``.

    A = R diag(1, κ) Rᵀ with R the rotation by ``angle`` (radians), so the condition number
    λ_max / λ_min is κ and the long axis of the elliptic contours is tilted. Minimum at 0.
    """
    kappa = check_positive(kappa, "ill_conditioned_bowl", "kappa")
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    A = R @ np.diag([1.0, kappa]) @ R.T
    return quadratic((A + A.T) / 2, name=f"ill-conditioned bowl (κ={kappa:g})")


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    """Rosenbrock's valley f(x, y) = (a − x)² + b (y − x²)², minimum 0 at (a, a²).

    ∇f = [−2(a − x) − 4b x (y − x²),  2b (y − x²)],
    ∇²f = [[2 − 4b (y − x²) + 8b x²,  −4b x], [−4b x,  2b]].
    (H. H. Rosenbrock, "An automatic method for finding the greatest or least value of a
    function", The Computer Journal, 1960.)
    """
    a = float(a)
    b = check_positive(b, "rosenbrock", "b")

    def value(p):
        x, y = p[..., 0], p[..., 1]
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(p):
        x, y = p
        return np.array([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)])

    def hess(p):
        x, y = p
        return np.array([[2 - 4 * b * (y - x**2) + 8 * b * x**2, -4 * b * x],
                         [-4 * b * x, 2 * b]])

    return Objective("Rosenbrock", 2, value, grad, hess, np.array([a, a * a]))


def double_well(tilt: float = 0.0) -> Objective:
    """f(x, y) = ½x² + ¼y⁴ − ½y² + c·y (c = ``tilt``): non-convex, with a saddle.

    ∇f = [x, y³ − y + c],  ∇²f = diag(1, 3y² − 1). For c = 0 the minima are (0, ±1)
    (f = −¼) and the origin is a saddle point (Hessian eigenvalues 1 and −1): along x it is a
    minimum, along y a maximum, like x² − y². A small tilt c makes one well deeper than the
    other, so one minimum is global and the other only local (``minimizer`` is the global one).
    """
    c = float(tilt)
    if not np.isfinite(c):
        raise ValueError(f"double_well: tilt must be finite, got {tilt}")

    def value(p):
        x, y = p[..., 0], p[..., 1]
        return 0.5 * x**2 + 0.25 * y**4 - 0.5 * y**2 + c * y

    roots = np.roots([1.0, 0.0, -1.0, c])            # y³ − y + c = 0
    ys = roots[np.abs(roots.imag) < 1e-9].real
    ys = ys[3 * ys**2 - 1 > 0]                       # the minima, not the saddle
    y_best = ys[np.argmin(0.25 * ys**4 - 0.5 * ys**2 + c * ys)]
    return Objective(f"double well (tilt={c:g})", 2, value,
                     lambda p: np.array([p[0], p[1] ** 3 - p[1] + c]),
                     lambda p: np.diag([1.0, 3 * p[1] ** 2 - 1]),
                     np.array([0.0, y_best]))


def lipschitz_constant(A) -> float:
    """The Lipschitz constant L of ∇f for f(x) = ½ xᵀA x − bᵀx: L = max_i |λ_i(A)|.

    ‖∇f(x) − ∇f(y)‖ = ‖A (x − y)‖ ≤ L ‖x − y‖. For a positive definite A this is λ_max(A),
    and gradient descent on f converges exactly when the step satisfies 0 < η < 2 / L.

    Args:
        A: symmetric (d, d) matrix.
    """
    return float(np.abs(np.linalg.eigvalsh(_symmetric(A, "lipschitz_constant"))).max())


# ----------------------------------------------------------------------------------- methods

def _call(fn: Callable, x: np.ndarray, shape: tuple, where: str, what: str) -> np.ndarray:
    if not callable(fn):
        raise TypeError(f"{where}: {what} must be a function, got {type(fn).__name__}")
    out = np.asarray(fn(x.copy()), dtype=np.float64)
    if out.shape != shape:
        raise ValueError(f"{where}: {what}(x) must return shape {shape} for x of shape "
                         f"{x.shape}, got {out.shape}")
    return out


def gradient_descent(grad: Callable[[np.ndarray], np.ndarray], x0, lr: float,
                     n_steps: int) -> np.ndarray:
    """Plain gradient descent x_{t+1} = x_t − η ∇f(x_t) for a fixed number of steps.

    Args:
        grad: maps a point (d,) to the gradient (d,).
        x0: starting point, shape (d,).
        lr: the step size (learning rate) η > 0.
        n_steps: number of updates, ≥ 0.

    Returns:
        The path, float64 of shape (n_steps + 1, d); row 0 is x0. A divergent run may
        overflow to inf/NaN here: use :func:`descend` to stop such a run cleanly.
    """
    x = as_float_array(x0, "gradient_descent", "x0", ndim=1, finite=True, dtype=np.float64)
    lr = check_positive(lr, "gradient_descent", "lr")
    n_steps = check_int(n_steps, "gradient_descent", "n_steps", low=0)
    path = np.empty((n_steps + 1, x.size))
    path[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(n_steps):
            path[t + 1] = path[t] - lr * _call(grad, path[t], x.shape, "gradient_descent", "grad")
    return path


def _newton_direction(hess: Callable, g: np.ndarray, x: np.ndarray, where: str) -> np.ndarray:
    H = _call(hess, x, (x.size, x.size), where, "hess")
    try:
        return np.linalg.solve(H, g)                 # H p = ∇f, never inv(H) @ ∇f
    except np.linalg.LinAlgError:
        raise ValueError(f"{where}: the Hessian at x = {x} is singular, so the Newton step "
                         f"H p = ∇f has no unique solution") from None


def newton(grad: Callable[[np.ndarray], np.ndarray], hess: Callable[[np.ndarray], np.ndarray],
           x0, n_steps: int) -> np.ndarray:
    """Newton's method x_{t+1} = x_t − p_t with ∇²f(x_t) p_t = ∇f(x_t) (a linear solve).

    Newton's step minimises the second-order Taylor model of f at x_t, so on a quadratic
    with positive definite A it lands on the minimiser A⁻¹b in one step.

    Args:
        grad: point (d,) → gradient (d,).
        hess: point (d,) → Hessian (d, d).
        x0: starting point (d,).
        n_steps: number of updates, ≥ 0.

    Returns:
        The path, float64 of shape (n_steps + 1, d). Raises ``ValueError`` if a Hessian is
        singular.
    """
    x = as_float_array(x0, "newton", "x0", ndim=1, finite=True, dtype=np.float64)
    n_steps = check_int(n_steps, "newton", "n_steps", low=0)
    path = np.empty((n_steps + 1, x.size))
    path[0] = x
    for t in range(n_steps):
        g = _call(grad, path[t], x.shape, "newton", "grad")
        path[t + 1] = path[t] - _newton_direction(hess, g, path[t], "newton")
    return path


@dataclass
class Run:
    """The result of :func:`descend`.

    ``path`` (T + 1, d) holds the finite iterates, ``grad_norms`` (T + 1,) the gradient norm
    at each, and ``status`` is "converged" (‖∇f‖ ≤ tol), "diverged" (an iterate became
    non-finite or larger than ``blowup``; that iterate is not kept) or "max_steps".
    """

    path: np.ndarray
    grad_norms: np.ndarray
    status: str

    @property
    def steps(self) -> int:
        """The number of updates kept in ``path`` (its length minus one)."""
        return len(self.path) - 1

    @property
    def x(self) -> np.ndarray:
        """The last kept iterate (d,)."""
        return self.path[-1]


def descend(grad: Callable[[np.ndarray], np.ndarray], x0, n_steps: int, *, lr: float = 1.0,
            hess: Callable[[np.ndarray], np.ndarray] | None = None, tol: float = 0.0,
            blowup: float = 1e8) -> Run:
    """Gradient descent (or damped Newton when ``hess`` is given) with stopping rules.

    Each step is x ← x − η ∇f(x), or x ← x − η [∇²f(x)]⁻¹ ∇f(x) with ``hess``. The run stops
    when ‖∇f(x)‖ ≤ ``tol`` (converged), when the next iterate is non-finite or has norm above
    ``blowup`` (diverged; the bad iterate is dropped, so ``path`` is always finite), or after
    ``n_steps`` updates.

    Args:
        grad: point (d,) → gradient (d,).
        x0: starting point (d,).
        n_steps: the most updates to make, ≥ 0.
        lr: the step size η > 0 (for Newton, 1 is the full step).
        hess: point (d,) → Hessian (d, d), or None for gradient descent.
        tol: gradient-norm threshold ≥ 0 (0 never stops early).
        blowup: norm beyond which the run counts as diverged (``np.inf``: only inf/NaN).

    Returns:
        A :class:`Run` with ``path`` (T + 1, d), ``grad_norms`` (T + 1,), ``status``.
    """
    where = "descend"
    x = as_float_array(x0, where, "x0", ndim=1, finite=True, dtype=np.float64)
    n_steps = check_int(n_steps, where, "n_steps", low=0)
    lr = check_positive(lr, where, "lr")
    tol = check_positive(tol, where, "tol", allow_zero=True)
    if isinstance(blowup, bool) or not isinstance(blowup, (int, float, np.number)) \
            or not blowup > 0:
        raise ValueError(f"{where}: blowup must be a number > 0 (inf allowed), got {blowup!r}")
    if hess is not None and not callable(hess):
        raise TypeError(f"{where}: hess must be a function or None, got {type(hess).__name__}")
    path, norms = [x], []
    status = "max_steps"
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(n_steps + 1):
            g = _call(grad, x, x.shape, where, "grad")
            norms.append(float(np.linalg.norm(g)))
            if not np.isfinite(norms[-1]):
                status = "diverged"
                break
            if norms[-1] <= tol:
                status = "converged"
                break
            if t == n_steps:
                break
            step = g if hess is None else _newton_direction(hess, g, x, where)
            x_new = x - lr * step
            if not np.all(np.isfinite(x_new)) or np.linalg.norm(x_new) > blowup:
                status = "diverged"
                break
            x = x_new
            path.append(x)
    path = np.array(path)
    norms = np.array(norms[: len(path)])
    return Run(path, norms, status)


# ------------------------------------------------------------------- derivatives by differences

def numeric_jacobian(F: Callable[[np.ndarray], np.ndarray], x, h: float = 1e-6) -> np.ndarray:
    """Jacobian J[i, j] = ∂F_i/∂x_j of F: Rᵈ → Rᵐ by central differences.

    Column j is (F(x + h e_j) − F(x − h e_j)) / (2h), the same formula as
    :func:`course_lib.scratch.gradcheck.numeric_gradient` applied to every output at once.

    Args:
        F: maps a point (d,) to a vector (m,) (a scalar counts as m = 1).
        x: the point, shape (d,).
        h: the step.

    Returns:
        J, float64 of shape (m, d).
    """
    x = as_float_array(x, "numeric_jacobian", "x", ndim=1, dtype=np.float64)
    h = check_positive(h, "numeric_jacobian", "h")
    if not callable(F):
        raise TypeError(f"numeric_jacobian: F must be a function, got {type(F).__name__}")
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        f_plus = np.atleast_1d(np.asarray(F(x + e), dtype=np.float64))
        f_minus = np.atleast_1d(np.asarray(F(x - e), dtype=np.float64))
        if f_plus.ndim != 1:
            raise ValueError(f"numeric_jacobian: F must return a vector (m,), got shape "
                             f"{f_plus.shape}")
        columns.append((f_plus - f_minus) / (2 * h))
    return np.stack(columns, axis=1)


def numeric_hessian(grad: Callable[[np.ndarray], np.ndarray], x, h: float = 1e-5) -> np.ndarray:
    """Hessian as the Jacobian of the gradient by central differences, symmetrised.

    Args:
        grad: point (d,) → gradient (d,).
        x: the point (d,).
        h: the step (1e-5 balances truncation and round-off for second derivatives from
            an exact gradient).

    Returns:
        H ≈ ∇²f(x), float64 of shape (d, d), symmetric.
    """
    J = numeric_jacobian(grad, x, h)
    if J.shape[0] != J.shape[1]:
        raise ValueError(f"numeric_hessian: grad must return shape ({J.shape[1]},), "
                         f"got {J.shape[0]} values")
    return 0.5 * (J + J.T)
