"""course_lib.scratch.descent: test functions against torch.autograd, GD's 2/L limit, Newton."""

import numpy as np
import pytest
import torch

from course_lib.scratch.descent import (
    descend,
    double_well,
    gradient_descent,
    ill_conditioned_bowl,
    lipschitz_constant,
    newton,
    numeric_hessian,
    numeric_jacobian,
    quadratic,
    rosenbrock,
)
from course_lib.scratch.gradcheck import numeric_gradient, rel_error


def random_spd(rng, d, low=0.5, high=5.0):
    """A random symmetric positive definite (d, d) matrix with eigenvalues in [low, high]."""
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = rng.uniform(low, high, size=d)
    lam[0], lam[-1] = low, high                      # pin the extremes: L = high exactly
    A = Q @ np.diag(lam) @ Q.T
    return (A + A.T) / 2


# (objective, the same function written in torch) pairs; the torch versions are written
# from the formulas independently of the NumPy code.
def _cases():
    rng = np.random.default_rng(0)
    cases = []
    for d in (1, 2, 3, 6):
        A = rng.normal(size=(d, d))
        A = (A + A.T) / 2                             # symmetric, possibly indefinite
        b = rng.normal(size=d)
        At, bt = torch.tensor(A), torch.tensor(b)
        cases.append((f"quadratic d={d}", quadratic(A, b),
                      lambda x, At=At, bt=bt: 0.5 * x @ At @ x - bt @ x))
    bowl = ill_conditioned_bowl(kappa=40.0, angle=0.3)
    At = torch.tensor(bowl.hess(np.zeros(2)))
    cases.append(("ill-conditioned", bowl, lambda x: 0.5 * x @ At @ x))
    for a, b in ((1.0, 100.0), (0.5, 3.0)):
        cases.append((f"rosenbrock a={a}", rosenbrock(a, b),
                      lambda x, a=a, b=b: (a - x[0]) ** 2 + b * (x[1] - x[0] ** 2) ** 2))
    for c in (0.0, 0.3, -0.2):
        cases.append((f"double well c={c}", double_well(c),
                      lambda x, c=c: 0.5 * x[0] ** 2 + 0.25 * x[1] ** 4 - 0.5 * x[1] ** 2
                      + c * x[1]))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name,obj,f_torch", CASES, ids=[c[0] for c in CASES])
def test_value_grad_hess_match_autograd(name, obj, f_torch):
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.uniform(-2, 2, size=obj.dim)
        xt = torch.tensor(x, requires_grad=True)
        ft = f_torch(xt)
        (gt,) = torch.autograd.grad(ft, xt)
        Ht = torch.autograd.functional.hessian(f_torch, torch.tensor(x)).numpy()
        assert abs(obj.value(x) - ft.item()) <= 1e-12 * max(1.0, abs(ft.item()))
        assert np.abs(obj.grad(x) - gt.numpy()).max() <= 1e-10 * max(1.0, np.abs(gt.numpy()).max())
        assert rel_error(obj.grad(x), gt.numpy()) < 1e-10
        assert np.abs(obj.hess(x) - Ht).max() <= 1e-10 * max(1.0, np.abs(Ht).max())
        np.testing.assert_allclose(obj.hess(x), obj.hess(x).T, atol=0)
        # and the differences agree with the analytic derivatives
        assert rel_error(numeric_gradient(obj.value, x), obj.grad(x)) < 1e-6
        assert np.abs(numeric_hessian(obj.grad, x) - Ht).max() < 1e-6 * max(1.0, np.abs(Ht).max())


@pytest.mark.parametrize("name,obj,f_torch", CASES, ids=[c[0] for c in CASES])
def test_value_is_vectorised(name, obj, f_torch):
    X = np.random.default_rng(2).uniform(-1, 1, size=(4, 3, obj.dim))
    V = obj.value(X)
    assert V.shape == (4, 3)
    assert V[2, 1] == pytest.approx(obj.value(X[2, 1]), rel=1e-14, abs=1e-14)
    if obj.dim == 2:
        np.testing.assert_allclose(obj.surface(X[..., 0], X[..., 1]), V, rtol=1e-14)


def test_minimizers():
    for obj in (rosenbrock(), rosenbrock(0.5, 3.0), ill_conditioned_bowl(), double_well(0.0),
                double_well(0.3), double_well(-0.2)):
        assert np.linalg.norm(obj.grad(obj.minimizer)) < 1e-12
        assert np.linalg.eigvalsh(obj.hess(obj.minimizer)).min() > 0
    # with a tilt, the reported minimiser is the lower of the two wells
    dw = double_well(0.3)
    other = descend(dw.grad, np.array([0.0, 2.0]), 5000, lr=0.1, tol=1e-12).x
    assert other[1] > 0 and dw.value(other) > dw.value(dw.minimizer) + 0.1
    # the origin of the untilted well is a saddle: one negative Hessian eigenvalue
    assert np.linalg.eigvalsh(double_well().hess(np.zeros(2))).tolist() == [-1.0, 1.0]
    rng = np.random.default_rng(3)
    A, b = random_spd(rng, 4), rng.normal(size=4)
    np.testing.assert_allclose(quadratic(A, b).minimizer, np.linalg.solve(A, b), rtol=1e-12)
    assert quadratic(np.diag([1.0, -1.0])).minimizer is None


def test_ill_conditioned_bowl_has_condition_number_kappa():
    for kappa in (1.0, 10.0, 250.0):
        lam = np.linalg.eigvalsh(ill_conditioned_bowl(kappa, angle=1.1).hess(np.ones(2)))
        np.testing.assert_allclose(lam, [1.0, kappa], rtol=1e-12)


def test_lipschitz_constant():
    rng = np.random.default_rng(4)
    for d in range(1, 7):
        A = random_spd(rng, d, 0.5, 5.0) if d > 1 else np.array([[5.0]])
        assert lipschitz_constant(A) == pytest.approx(5.0, rel=1e-12)
        x, y = rng.normal(size=d), rng.normal(size=d)
        assert np.linalg.norm(A @ (x - y)) <= 5.0 * np.linalg.norm(x - y) * (1 + 1e-12)
    assert lipschitz_constant(np.diag([1.0, -3.0])) == 3.0


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 6])
def test_gd_converges_below_2_over_L_and_diverges_above(d):
    rng = np.random.default_rng(10 + d)
    for _ in range(3):
        A = random_spd(rng, d) if d > 1 else np.array([[rng.uniform(0.5, 5.0)]])
        b, x0 = rng.normal(size=d), rng.normal(size=d)
        f = quadratic(A, b)
        x_star = np.linalg.solve(A, b)
        lr_max = 2 / lipschitz_constant(A)
        e0 = np.linalg.norm(x0 - x_star)
        below = gradient_descent(f.grad, x0, 0.9 * lr_max, 300)
        assert below.shape == (301, d)
        assert np.linalg.norm(below[-1] - x_star) < 1e-10 * max(e0, 1.0)
        # the error of each eigen-mode is multiplied by (1 - η λ_i) per step, exactly
        lam, Q = np.linalg.eigh(A)
        c0, c5 = Q.T @ (x0 - x_star), Q.T @ (below[5] - x_star)
        np.testing.assert_allclose(c5, (1 - 0.9 * lr_max * lam) ** 5 * c0, atol=1e-12)
        run = descend(f.grad, x0, 2000, lr=1.1 * lr_max, blowup=1e6 * (1 + np.abs(x0).max()))
        assert run.status == "diverged"
        assert np.all(np.isfinite(run.path)) and len(run.grad_norms) == len(run.path)
        assert run.grad_norms[-1] > 1e3 * run.grad_norms[0]
        conv = descend(f.grad, x0, 2000, lr=0.9 * lr_max, tol=1e-9)
        assert conv.status == "converged" and conv.grad_norms[-1] <= 1e-9
        np.testing.assert_array_equal(conv.path, below[: len(conv.path)])


def test_gd_matches_torch_sgd():
    rng = np.random.default_rng(5)
    A, b, x0 = random_spd(rng, 3), rng.normal(size=3), rng.normal(size=3)
    path = gradient_descent(quadratic(A, b).grad, x0, 0.2, 20)
    xt = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.SGD([xt], lr=0.2)
    At, bt = torch.tensor(A), torch.tensor(b)
    for t in range(20):
        opt.zero_grad()
        (0.5 * xt @ At @ xt - bt @ xt).backward()
        opt.step()
        np.testing.assert_allclose(xt.detach().numpy(), path[t + 1], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_newton_solves_a_quadratic_in_one_step(d):
    rng = np.random.default_rng(20 + d)
    A = random_spd(rng, d, 1e-3, 1e3) if d > 1 else np.array([[0.01]])
    b, x0 = rng.normal(size=d), 100 * rng.normal(size=d)
    f = quadratic(A, b)
    path = newton(f.grad, f.hess, x0, 3)
    assert path.shape == (4, d)
    x_star = np.linalg.solve(A, b)
    assert np.linalg.norm(path[1] - x_star) <= 1e-9 * max(1.0, np.linalg.norm(x_star))
    run = descend(f.grad, x0, 10, hess=f.hess, tol=1e-8 * np.linalg.norm(A @ x0 - b))
    assert run.status == "converged" and run.steps == 1


def test_newton_beats_gd_on_rosenbrock_and_bowl():
    r = rosenbrock()
    x0 = np.array([-1.2, 1.0])
    nt = descend(r.grad, x0, 100, hess=r.hess, tol=1e-8)
    gd = descend(r.grad, x0, 50_000, lr=1e-3, tol=1e-8)
    assert nt.status == "converged" and nt.steps < 10
    assert np.allclose(nt.x, [1.0, 1.0], atol=1e-8)
    assert gd.steps > 100 * nt.steps
    bowl = ill_conditioned_bowl(50.0)
    nb = descend(bowl.grad, np.array([2.0, 1.0]), 10, hess=bowl.hess, tol=1e-10)
    gb = descend(bowl.grad, np.array([2.0, 1.0]), 10_000, lr=2 / 51, tol=1e-10)
    assert nb.steps == 1 and gb.status == "converged" and gb.steps > 100


def test_saddle_stalls_gd():
    dw = double_well()
    run = descend(dw.grad, np.array([1.5, 1e-10]), 1000, lr=0.1, tol=1e-12)
    near = np.linalg.norm(run.path, axis=1) < 1e-3       # iterates close to the saddle (0, 0)
    assert near.sum() > 50 and run.grad_norms[near].min() < 1e-4  # GD lingers there
    assert run.status == "converged" and np.allclose(run.x, [0.0, 1.0], atol=1e-10)


def test_edge_cases():
    f = quadratic(np.array([[2.0]]), np.array([1.0]))
    x0 = np.array([3.0])
    for path in (gradient_descent(f.grad, x0, 0.1, 0), newton(f.grad, f.hess, x0, 0)):
        assert path.shape == (1, 1) and path[0, 0] == 3.0
    run = descend(f.grad, x0, 0)
    assert run.steps == 0 and run.status == "max_steps" and run.grad_norms.shape == (1,)
    run = descend(f.grad, np.array([0.5]), 5, tol=1e-12)   # starts at the minimum
    assert run.status == "converged" and run.steps == 0
    assert gradient_descent(f.grad, [3], 0.25, 1)[1, 0] == pytest.approx(3 - 0.25 * 5)
    # plain GD past the limit overflows without warnings, descend stops cleanly
    with np.errstate(all="raise"):
        p = gradient_descent(f.grad, x0, 1.5, 3000)
    assert not np.all(np.isfinite(p[-1]))
    run = descend(f.grad, x0, 3000, lr=1.5, blowup=np.inf)
    assert run.status == "diverged" and np.all(np.isfinite(run.path))


def test_numeric_jacobian():
    rng = np.random.default_rng(6)
    W = rng.normal(size=(3, 4))

    def F(x):
        return np.tanh(W @ x) * x[0]

    def F_t(x):
        return torch.tanh(torch.tensor(W) @ x) * x[0]

    for _ in range(3):
        x = rng.normal(size=4)
        J = numeric_jacobian(F, x)
        assert J.shape == (3, 4)
        Jt = torch.autograd.functional.jacobian(F_t, torch.tensor(x)).numpy()
        assert np.abs(J - Jt).max() < 1e-8
    assert numeric_jacobian(lambda x: float(x @ x), np.array([1.0, 2.0])).shape == (1, 2)


def test_bad_input_errors():
    f = quadratic(np.eye(2))
    with pytest.raises(ValueError, match="symmetric"):
        quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="square"):
        quadratic(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        quadratic(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="2-D array"):
        lipschitz_constant(np.ones(3))
    with pytest.raises(ValueError, match=r"x must have shape \(2,\)"):
        f.grad(np.ones(3))
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
        f.value(np.ones((4, 3)))
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        gradient_descent(f.grad, np.ones(2), 0.0, 5)
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        descend(f.grad, np.ones(2), 5, lr=-1.0)
    with pytest.raises(ValueError, match=r"n_steps must be in \[0, inf\]"):
        gradient_descent(f.grad, np.ones(2), 0.1, -1)
    with pytest.raises(TypeError, match="n_steps must be an int"):
        newton(f.grad, f.hess, np.ones(2), 2.5)
    with pytest.raises(ValueError, match="x0 must be a 1-D array"):
        gradient_descent(f.grad, np.ones((2, 2)), 0.1, 3)
    with pytest.raises(ValueError, match="x0 contains NaN"):
        gradient_descent(f.grad, np.array([1.0, np.nan]), 0.1, 3)
    with pytest.raises(ValueError, match=r"grad\(x\) must return shape \(2,\)"):
        gradient_descent(lambda x: np.ones(3), np.ones(2), 0.1, 3)
    with pytest.raises(TypeError, match="grad must be a function"):
        gradient_descent("grad", np.ones(2), 0.1, 3)
    with pytest.raises(ValueError, match="singular"):
        newton(f.grad, lambda x: np.zeros((2, 2)), np.ones(2), 1)
    with pytest.raises(ValueError, match=r"hess\(x\) must return shape \(2, 2\)"):
        newton(f.grad, lambda x: np.eye(3), np.ones(2), 1)
    with pytest.raises(TypeError, match="torch tensor"):
        gradient_descent(f.grad, torch.ones(2), 0.1, 3)
    with pytest.raises(ValueError, match="only 2-D"):
        quadratic(np.eye(3)).surface(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="kappa must be finite and > 0"):
        ill_conditioned_bowl(0.0)
    with pytest.raises(ValueError, match="blowup must be a number > 0"):
        descend(f.grad, np.ones(2), 3, blowup=0)
    with pytest.raises(TypeError, match="hess must be a function or None"):
        descend(f.grad, np.ones(2), 3, hess=np.eye(2))
    with pytest.raises(ValueError, match="tol must be finite and >= 0"):
        descend(f.grad, np.ones(2), 3, tol=-1.0)
    with pytest.raises(ValueError, match="h must be"):
        numeric_jacobian(np.sin, np.ones(2), h=0.0)
