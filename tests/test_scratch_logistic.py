"""course_lib.scratch.logistic against PyTorch, scikit-learn and numeric gradients."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from course_lib.scratch.batching import minibatch_indices
from course_lib.scratch.gradcheck import numeric_gradient, rel_error
from course_lib.scratch.logistic import (
    confusion_matrix,
    fit_logistic,
    fit_softmax,
    log_loss,
    log_loss_grad,
    log_sigmoid,
    predict,
    predict_proba,
    sigmoid,
    softmax_loss,
    softmax_loss_grad,
)

# (N, D) for logistic and (N, D, K) for softmax regression: batch of one, one feature, odd sizes.
BIN_SHAPES = [(1, 1), (1, 4), (5, 1), (7, 3), (13, 6), (64, 10)]
MULTI_SHAPES = [(1, 1, 2), (1, 5, 3), (6, 1, 4), (9, 3, 2), (17, 7, 5), (50, 8, 10)]
RTOL = 1e-10


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def _close(got, want, rtol=RTOL, atol=1e-12):
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=atol)


def _binary_problem(rng, n, d, scale=1.0, soft=False):
    X = rng.normal(size=(n, d))
    w = scale * rng.normal(size=d)
    b = float(scale * rng.normal())
    y = rng.uniform(size=n) if soft else rng.integers(0, 2, size=n)
    return w, b, X, y


def _multi_problem(rng, n, d, k, scale=1.0):
    return (scale * rng.normal(size=(d, k)), scale * rng.normal(size=k), rng.normal(size=(n, d)),
            rng.integers(0, k, size=n))


# ------------------------------------------------------------------------------ sigmoid

@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (3, 4), (2, 3, 5)])
def test_sigmoid_matches_torch(shape):
    rng = np.random.default_rng(len(shape))
    z = rng.normal(size=shape) * 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no overflow warnings
        got = sigmoid(z)
    assert got.shape == np.shape(z) and got.dtype == np.float64
    _close(got, torch.sigmoid(_t(z)), rtol=1e-14, atol=1e-300)


def test_sigmoid_extremes_and_symmetry():
    z = np.array([-1e308, -1000.0, -745.0, -50.0, -1e-20, 0.0, 1e-20, 50.0, 710.0, 1e308,
                  np.inf, -np.inf, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(z)
    _close(s, torch.sigmoid(_t(z)), rtol=1e-14, atol=1e-320)
    assert s[-3] == 1.0 and s[-2] == 0.0 and np.isnan(s[-1]) and s[5] == 0.5
    x = np.linspace(-40, 40, 801)
    # sigma(-x) = 1 - sigma(x); the sum rounds to 1 within one unit in the last place
    np.testing.assert_allclose(sigmoid(-x) + sigmoid(x), 1.0, rtol=0, atol=np.finfo(float).eps)
    assert sigmoid(3).dtype == np.float64 and float(sigmoid(3)) == pytest.approx(1 / (1 + np.e**-3))


# ------------------------------------------------------------------ log loss and gradient

@pytest.mark.parametrize("n,d", BIN_SHAPES)
@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("soft", [False, True])
def test_log_loss_grad_matches_torch_autograd(n, d, l2, soft):
    rng = np.random.default_rng([n, d, int(10 * l2), soft])
    w, b, X, y = _binary_problem(rng, n, d, soft=soft)
    loss, dw, db = log_loss_grad(w, b, X, y, l2=l2)
    wt, bt = _t(w).requires_grad_(), _t(b).requires_grad_()
    lt = F.binary_cross_entropy_with_logits(_t(X) @ wt + bt, _t(y)) + 0.5 * l2 * wt @ wt
    lt.backward()
    _close(loss, lt)
    _close(dw, wt.grad)
    _close(db, bt.grad)
    assert isinstance(loss, float) and isinstance(db, float) and dw.shape == (d,)
    assert log_loss(w, b, X, y, l2=l2) == loss


@pytest.mark.parametrize("scale", [30.0, 1000.0])
def test_log_loss_is_finite_for_huge_logits(scale):
    rng = np.random.default_rng(int(scale))
    w, b, X, y = _binary_problem(rng, 20, 3, scale=scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dw, db = log_loss_grad(w, b, X, y)
    wt, bt = _t(w).requires_grad_(), _t(b).requires_grad_()
    lt = F.binary_cross_entropy_with_logits(_t(X) @ wt + bt, _t(y).double())
    lt.backward()
    assert np.isfinite(loss) and loss > 1.0                  # confidently wrong examples cost a lot
    _close(loss, lt)
    _close(dw, wt.grad)
    _close(db, bt.grad)


@pytest.mark.parametrize("n,d", BIN_SHAPES[:5])
def test_log_loss_grad_numeric(n, d):
    rng = np.random.default_rng([n, d, 7])
    w, b, X, y = _binary_problem(rng, n, d)
    theta = np.append(w, b)                                  # (D + 1,)

    def f(th):
        return log_loss(th[:-1], th[-1], X, y, l2=0.1)

    _, dw, db = log_loss_grad(w, b, X, y, l2=0.1)
    assert rel_error(numeric_gradient(f, theta, h=1e-5), np.append(dw, db)) < 1e-7


# --------------------------------------------------------------- softmax loss and gradient

@pytest.mark.parametrize("n,d,k", MULTI_SHAPES)
@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_softmax_loss_grad_matches_torch_autograd(n, d, k, l2):
    rng = np.random.default_rng([n, d, k, int(10 * l2)])
    W, b, X, y = _multi_problem(rng, n, d, k)
    loss, dW, db = softmax_loss_grad(W, b, X, y, l2=l2)
    Wt, bt = _t(W).requires_grad_(), _t(b).requires_grad_()
    lt = F.cross_entropy(_t(X) @ Wt + bt, torch.from_numpy(y)) + 0.5 * l2 * (Wt * Wt).sum()
    lt.backward()
    _close(loss, lt)
    _close(dW, Wt.grad)
    _close(db, bt.grad)
    assert dW.shape == (d, k) and db.shape == (k,)
    assert softmax_loss(W, b, X, y, l2=l2) == loss


def test_softmax_loss_is_finite_for_huge_logits():
    rng = np.random.default_rng(3)
    W, b, X, y = _multi_problem(rng, 30, 4, 6, scale=500.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dW, db = softmax_loss_grad(W, b, X, y)
    Wt, bt = _t(W).requires_grad_(), _t(b).requires_grad_()
    lt = F.cross_entropy(_t(X) @ Wt + bt, torch.from_numpy(y))
    lt.backward()
    assert np.isfinite(loss) and loss > 10
    _close(loss, lt)
    _close(dW, Wt.grad)
    _close(db, bt.grad)


@pytest.mark.parametrize("n,d,k", MULTI_SHAPES[:5])
def test_softmax_loss_grad_numeric(n, d, k):
    rng = np.random.default_rng([n, d, k, 11])
    W, b, X, y = _multi_problem(rng, n, d, k)
    _, dW, db = softmax_loss_grad(W, b, X, y, l2=0.05)
    # h = 1e-5: with losses near 2, round-off (eps |L| / h) dominates at h = 1e-6
    num_W = numeric_gradient(lambda V: softmax_loss(V, b, X, y, l2=0.05), W, h=1e-5)
    num_b = numeric_gradient(lambda c: softmax_loss(W, c, X, y, l2=0.05), b, h=1e-5)
    assert rel_error(num_W, dW) < 1e-7 and rel_error(num_b, db) < 1e-7


def test_two_class_softmax_is_logistic_regression():
    # softmax over (z0, z1) gives P(1) = sigma(z1 - z0): logistic regression with w = W1 - W0.
    rng = np.random.default_rng(5)
    W, b, X, y = _multi_problem(rng, 25, 4, 2)
    w, c = W[:, 1] - W[:, 0], b[1] - b[0]
    np.testing.assert_allclose(predict_proba(W, b, X)[:, 1], predict_proba(w, c, X), rtol=1e-13)
    assert softmax_loss(W, b, X, y) == pytest.approx(log_loss(w, c, X, y), rel=1e-13)
    np.testing.assert_array_equal(predict(W, b, X), predict(w, c, X))


# ---------------------------------------------------------------------------- prediction

def test_predict_proba_and_predict():
    rng = np.random.default_rng(8)
    W, b, X, _ = _multi_problem(rng, 11, 3, 4)
    P = predict_proba(W, b, X)
    _close(P, torch.softmax(_t(X) @ _t(W) + _t(b), dim=1), rtol=1e-13)
    np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(predict(W, b, X), np.argmax(X @ W + b, axis=1))
    assert predict(W, b, X).dtype == np.int64
    w, c, X, _ = _binary_problem(rng, 40, 2)
    p = predict_proba(w, c, X)
    _close(p, torch.sigmoid(_t(X) @ _t(w) + c), rtol=1e-13)
    np.testing.assert_array_equal(predict(w, c, X), (X @ w + c >= 0).astype(np.int64))
    t = 0.8                                                  # boundary x.w + b = logit(0.8)
    np.testing.assert_array_equal(predict(w, c, X, threshold=t),
                                  (X @ w + c >= np.log(t / (1 - t))).astype(np.int64))
    assert predict(w, c, X, threshold=0.2).sum() >= predict(w, c, X).sum() \
        >= predict(w, c, X, threshold=0.8).sum()


# ------------------------------------------------------------------------------ training

def _torch_descent(model, params, loss_fn, X, y, lr, epochs, batches=None):
    """Plain (mini-batch) gradient descent with torch.optim.SGD; batches: list per epoch."""
    opt = torch.optim.SGD(params, lr=lr)
    Xt, yt = _t(X), torch.from_numpy(np.asarray(y))
    for e in range(epochs):
        for idx in (batches[e] if batches is not None else [slice(None)]):
            loss = loss_fn(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return loss_fn(model(Xt), yt).item()


@pytest.mark.parametrize("batch_size", [None, 1, 7])
def test_fit_logistic_matches_torch_sgd_from_the_same_start(batch_size):
    rng = np.random.default_rng(21)
    w0, b0, X, y = _binary_problem(rng, 23, 3)
    epochs, lr = 15, 0.3
    # The same shuffles as fit_logistic draws: replay minibatch_indices with the same seed.
    replay = np.random.default_rng(4)
    batches = None if batch_size is None else [list(minibatch_indices(23, batch_size, rng=replay))
                                               for _ in range(epochs)]
    w, b, hist = fit_logistic(X, y, lr=lr, epochs=epochs, w0=w0, b0=b0, batch_size=batch_size,
                              rng=np.random.default_rng(4))
    lin = torch.nn.Linear(3, 1, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(_t(w0)[None])
        lin.bias.fill_(b0)
    final = _torch_descent(lambda x: lin(x)[:, 0], lin.parameters(),
                           F.binary_cross_entropy_with_logits, X,
                           y.astype(np.float64), lr, epochs, batches)
    _close(w, lin.weight.detach()[0])
    _close(b, lin.bias.detach()[0])
    _close(hist[-1], final)
    assert hist.shape == (epochs + 1,) and hist[0] == pytest.approx(log_loss(w0, b0, X, y))


@pytest.mark.parametrize("batch_size", [None, 4])
def test_fit_softmax_matches_torch_sgd_from_the_same_start(batch_size):
    rng = np.random.default_rng(22)
    W0, b0, X, y = _multi_problem(rng, 19, 5, 4)
    epochs, lr = 12, 0.5
    replay = np.random.default_rng(9)
    batches = None if batch_size is None else [list(minibatch_indices(19, batch_size, rng=replay))
                                               for _ in range(epochs)]
    W, b, hist = fit_softmax(X, y, 4, lr=lr, epochs=epochs, W0=W0, b0=b0, batch_size=batch_size,
                             rng=np.random.default_rng(9))
    lin = torch.nn.Linear(5, 4, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(_t(W0).T)
        lin.bias.copy_(_t(b0))
    final = _torch_descent(lin, lin.parameters(), F.cross_entropy, X, y, lr, epochs, batches)
    _close(W, lin.weight.detach().T)
    _close(b, lin.bias.detach())
    _close(hist[-1], final)


def test_full_batch_history_decreases_and_inputs_untouched():
    rng = np.random.default_rng(30)
    w0, b0, X, y = _binary_problem(rng, 50, 4)
    X_copy, w0_copy = X.copy(), w0.copy()
    w, b, hist = fit_logistic(X, y, lr=0.5, epochs=40, w0=w0, b0=b0)
    assert np.all(np.diff(hist) < 0)                          # lr < 4 / lambda_max: monotone
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(w0, w0_copy)
    w_, b_, h_ = fit_logistic(X, y, epochs=0, w0=w0, b0=b0)
    np.testing.assert_array_equal(w_, w0)
    assert w_ is not w0 and not np.shares_memory(w_, w0)     # a new array, never an alias
    assert b_ == b0 and h_.shape == (1,)
    W0, b0k = rng.normal(size=(4, 3)), rng.normal(size=3)
    W0_copy, b0k_copy = W0.copy(), b0k.copy()
    W, bk, _ = fit_softmax(X, y, 3, epochs=5, W0=W0, b0=b0k)
    np.testing.assert_array_equal(W0, W0_copy)
    np.testing.assert_array_equal(b0k, b0k_copy)
    assert not np.array_equal(W, W0) and not np.array_equal(bk, b0k)


@pytest.mark.parametrize("n,d", [(30, 1), (40, 4), (101, 7)])
def test_fit_logistic_reaches_sklearn_minimum(n, d):
    # scikit-learn minimises C * sum_i loss_i + ||w||^2 / 2, i.e. ours with l2 = 1 / (C N).
    rng = np.random.default_rng([n, d])
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(int)
    C = 0.5
    ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(X, y)
    w, b, _ = fit_logistic(X, y, lr=1.0, epochs=3000, l2=1 / (C * n))
    np.testing.assert_allclose(w, ref.coef_[0], rtol=1e-8, atol=1e-10)
    assert b == pytest.approx(ref.intercept_[0], rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("n,d,k", [(30, 2, 3), (60, 5, 4)])
def test_fit_softmax_reaches_sklearn_minimum(n, d, k):
    rng = np.random.default_rng([n, d, k])
    X = rng.normal(size=(n, d))
    y = np.argmax(X @ rng.normal(size=(d, k)) + rng.normal(size=(n, k)), axis=1)
    y[:k] = np.arange(k)                                      # every class present
    C = 0.5
    ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(X, y)
    W, b, _ = fit_softmax(X, y, k, lr=1.0, epochs=3000, l2=1 / (C * n))
    np.testing.assert_allclose(W, ref.coef_.T, rtol=1e-8, atol=1e-10)
    # biases are defined up to a common shift (softmax ignores it and they are not penalised)
    np.testing.assert_allclose(b - b.mean(), ref.intercept_ - ref.intercept_.mean(),
                               rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------- confusion matrix

@pytest.mark.filterwarnings("ignore:A single label was found")     # sklearn, for n = k = 1
@pytest.mark.parametrize("n,k", [(1, 1), (1, 3), (10, 2), (57, 5), (200, 10)])
def test_confusion_matrix_matches_sklearn(n, k):
    rng = np.random.default_rng([n, k])
    y_true, y_pred = rng.integers(0, k, size=n), rng.integers(0, k, size=n)
    C = confusion_matrix(y_true, y_pred, k)
    np.testing.assert_array_equal(C, sk_confusion_matrix(y_true, y_pred, labels=np.arange(k)))
    assert C.dtype == np.int64 and C.sum() == n
    np.testing.assert_array_equal(C.sum(1), np.bincount(y_true, minlength=k))


# -------------------------------------------------------------------------------- errors

def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(0)
    w, b, X, y = _binary_problem(rng, 6, 3)
    W, c, _, yk = _multi_problem(rng, 6, 3, 4)
    bad = [
        (lambda: log_loss(w[:2], b, X, y), ValueError, r"w must have shape \(3,\)"),
        (lambda: log_loss(w, np.ones(2), X, y), ValueError, "b must be a scalar"),
        (lambda: log_loss(w, b, X[0], y), ValueError, "X must be a 2-D array"),
        (lambda: log_loss(w, b, X, y[:5]), ValueError, r"y must have shape \(6,\)"),
        (lambda: log_loss(w, b, X, y + 2), ValueError, r"labels in \[0, 1\]"),
        (lambda: log_loss(w, b, np.where(X > 0, np.nan, X), y), ValueError, "NaN or inf"),
        (lambda: log_loss(w, b, X, y, l2=-1.0), ValueError, "l2 must be finite and >= 0"),
        (lambda: log_loss(torch.tensor(w), b, X, y), TypeError, "torch tensor"),
        (lambda: log_loss(w, b, "X", y), TypeError, "array of numbers"),
        (lambda: softmax_loss(W, c, X, yk.astype(float)), TypeError, "integer class labels"),
        (lambda: softmax_loss(W, c, X, yk + 4), ValueError, r"class labels in \[0, 3\]"),
        (lambda: softmax_loss(W, c[:3], X, yk), ValueError, r"b must have shape \(4,\)"),
        (lambda: softmax_loss(W[:2], c, X, yk), ValueError, r"W must have shape \(3, K\)"),
        (lambda: predict(w, b, X, threshold=1.0), ValueError, r"threshold must lie in \(0, 1\)"),
        (lambda: predict(w, b, X, threshold=0.0), ValueError, "threshold must be finite and > 0"),
        (lambda: predict_proba(np.ones((2, 2, 2)), b, X), ValueError, "w must be a 1-D or 2-D"),
        (lambda: fit_logistic(X, y, lr=0.0), ValueError, "lr must be finite and > 0"),
        (lambda: fit_logistic(X, y, epochs=2.5), TypeError, "epochs must be an int"),
        (lambda: fit_logistic(X, y, batch_size=2), TypeError,
         r"rng \(mini-batches need it\) must be a numpy Generator"),
        (lambda: fit_logistic(X, y, batch_size=0, rng=rng), ValueError, "batch_size must be"),
        (lambda: fit_softmax(X, yk, 1), ValueError, "n_classes must be in"),
        (lambda: fit_softmax(X, yk, 4, W0=np.zeros((3, 5))), ValueError,
         "W0 must have n_classes = 4 columns"),
        (lambda: fit_softmax(X, yk, 3), ValueError, r"class labels in \[0, 2\]"),
        (lambda: confusion_matrix(yk, yk[:5], 4), ValueError, r"y_pred must have shape \(6,\)"),
        (lambda: confusion_matrix(yk, yk, 3), ValueError, r"y_true must hold class labels"),
        (lambda: confusion_matrix(yk * 1.0, yk, 4), TypeError, "y_true must hold integer"),
        (lambda: sigmoid("z"), TypeError, "array of numbers"),
    ]
    for call, err, msg in bad:
        with pytest.raises(err, match=msg):
            call()


# ------------------------------------------------------------- the chapter's exercise checks

def test_exercise_checks_accept_right_and_reject_typical_mistakes(monkeypatch, capsys):
    from course_lib.exercises import ch05

    monkeypatch.setenv("COURSE_STRICT_CHECKS", "0")

    def naive_log_loss(z, y):                                 # log(sigmoid) gives log 0 = -inf
        with np.errstate(all="ignore"):
            s = 1 / (1 + np.exp(-z))
            return float(-np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)))

    def grad_sum_not_mean(w, b, X, y):                        # forgot the 1/N
        _, dw, db = log_loss_grad(w, b, X, y)
        return dw * len(y), db * len(y)

    def softmax_grad_no_onehot(W, b, X, y):                   # X^T P / N without subtracting Y
        P = predict_proba(W, b, X)
        return X.T @ P / len(y), P.mean(axis=0)

    def line_ignoring_threshold(w, b, t):                     # the t = 0.5 line for every t
        return -w[0] / w[1], -b / w[1]

    right = [
        (ch05.check_log_loss_from_logits, lambda z, y: log_loss(np.ones(1), 0.0, z[:, None], y)),
        (ch05.check_logistic_gradient, lambda w, b, X, y: log_loss_grad(w, b, X, y)[1:]),
        (ch05.check_softmax_gradient, lambda W, b, X, y: softmax_loss_grad(W, b, X, y)[1:]),
        (ch05.check_boundary_line,
         lambda w, b, t: (-w[0] / w[1], (np.log(t) - np.log1p(-t) - b) / w[1])),
    ]
    for check, fn in right:
        assert check(fn), capsys.readouterr().out
    for check, fn in [(ch05.check_log_loss_from_logits, naive_log_loss),
                      (ch05.check_logistic_gradient, grad_sum_not_mean),
                      (ch05.check_softmax_gradient, softmax_grad_no_onehot),
                      (ch05.check_boundary_line, line_ignoring_threshold)]:
        assert not check(fn), capsys.readouterr().out


@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5)])
def test_log_sigmoid_matches_torch_and_the_definition(shape):
    z = np.random.default_rng(3).normal(scale=300.0, size=shape)   # many |z| >> 40
    got = log_sigmoid(z)
    np.testing.assert_allclose(got, F.logsigmoid(torch.tensor(z)).numpy(), rtol=1e-14, atol=0)
    mild = np.clip(z, -30, 30)
    np.testing.assert_allclose(log_sigmoid(mild), -np.log1p(np.exp(-mild)), rtol=1e-13)


def test_log_sigmoid_refuses_non_finite():
    with pytest.raises(ValueError, match="log_sigmoid"):
        log_sigmoid(np.array([0.0, np.inf]))
