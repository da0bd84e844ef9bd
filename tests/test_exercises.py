"""The exercise-check engine: friendly verdicts, never a crash, strict mode for the suite."""

import numpy as np
import pytest
import torch

from course_lib.exercises import STRICT_ENV, ExerciseFailed, check_function, random_shape


def reference(A, B):
    return A @ B


def make_inputs(rng):
    n, k, m = rng.integers(1, 5, size=3)
    return rng.normal(size=(n, k)), rng.normal(size=(k, m))


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "0")


def run(fn, **kw):
    return check_function(fn, reference, make_inputs, name="matmul", **kw)


def test_correct_function_passes(capsys):
    v = run(lambda A, B: np.einsum("ik,kj->ij", A, B))
    assert v and v.passed
    assert "✅ matmul: passed 5 random tests" in capsys.readouterr().out


def test_torch_tensor_results_are_accepted():
    assert run(lambda A, B: torch.from_numpy(A) @ torch.from_numpy(B))


@pytest.mark.parametrize("fn, expected", [
    (lambda A, B: (A @ B).T, "wrong shape"),
    (lambda A, B: A @ B + 1e-3, "wrong value at index"),
    (lambda A, B: None, "did you forget a `return`"),
    (lambda A, B: "abc", "expected numbers"),
    (lambda A, B: A @ B * np.nan, "NaN or inf"),
    (lambda A, B: A.dot(B.T.T.T), "raised ValueError"),
    (lambda A, B: (A @ B, A), "got a tuple of 2 items"),
])
def test_wrong_functions_get_a_verdict_not_a_crash(fn, expected, capsys):
    v = run(fn, hint="use @")
    assert not v
    out = capsys.readouterr().out
    assert expected in out and "❌" in out
    if "raised" not in expected:
        assert "Hint: use @" in out


def test_not_implemented_is_not_done_yet():
    def stub(A, B):
        raise NotImplementedError

    v = run(stub)
    assert not v and "not done yet" in v.message


def test_not_a_function():
    v = run(np.eye(3))
    assert not v and "expected a function" in v.message


def test_learner_cannot_corrupt_the_reference():
    def mutating(A, B):
        out = A @ B
        A[:] = 0
        return out

    assert run(mutating)


def test_tuple_outputs_and_custom_compare():
    def ref(x):
        return x.sum(), x.max()

    v = check_function(lambda x: (x.sum(), x.max()), ref, lambda rng: (rng.normal(size=4),),
                       name="pair")
    assert v
    v = check_function(lambda x: (x.sum(), x.min()), ref, lambda rng: (rng.normal(size=4),),
                       name="pair")
    assert not v and "output [1]" in v.message
    sign_free = check_function(lambda x: -x, lambda x: x, lambda rng: (rng.normal(size=3),),
                               name="sign", compare=lambda g, e, args:
                               None if np.allclose(np.abs(g), np.abs(e)) else "differs")
    assert sign_free


def test_verdict_is_deterministic():
    a = run(lambda A, B: A @ B + (A.shape[0] == 3))
    b = run(lambda A, B: A @ B + (A.shape[0] == 3))
    assert a.message == b.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(ExerciseFailed, match="wrong shape"):
        run(lambda A, B: (A @ B).T)
    assert run(lambda A, B: A @ B)


def test_strict_false_overrides_the_environment(monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    v = run(lambda A, B: (A @ B).T, strict=False)
    assert not v and "wrong shape" in v.message


@pytest.mark.parametrize("max_ndim, max_size", [(1, 1), (2, 5), (3, 4)])
def test_random_shape_covers_its_range(max_ndim, max_size):
    rng = np.random.default_rng(0)
    shapes = [random_shape(rng, max_ndim, max_size) for _ in range(300)]
    assert {len(s) for s in shapes} == set(range(1, max_ndim + 1))
    assert {n for s in shapes for n in s} == set(range(1, max_size + 1))
    assert all(type(n) is int for s in shapes for n in s)
    again = np.random.default_rng(0)
    assert [random_shape(again, max_ndim, max_size) for _ in range(300)] == shapes


# ---- chapter 03: Bayes' rule in log space -------------------------------------------------

def _lse_last(x):
    m = np.max(x, axis=-1, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


def test_ch03_log_posterior_passes_a_correct_function(capsys):
    from course_lib.exercises import ch03

    def log_posterior(log_prior, log_lik):
        joint = log_prior + log_lik
        return joint - _lse_last(joint)

    assert ch03.check_log_posterior(log_posterior, strict=False)
    assert ch03.check_log_posterior(
        lambda lp, ll: torch.log_softmax(torch.as_tensor(lp + ll), dim=-1), strict=False)


@pytest.mark.parametrize("wrong", [
    lambda lp, ll: ll - _lse_last(ll),                       # forgets the prior
    lambda lp, ll: lp + ll,                                  # forgets to normalise
    lambda lp, ll: lp + ll - np.log(np.sum(np.exp(lp + ll), axis=-1, keepdims=True)),  # naive
    lambda lp, ll: lp + ll - _lse_last(lp + ll)[..., 0],     # normalises along the wrong axis
], ids=["no prior", "not normalised", "naive exp", "wrong broadcast"])
def test_ch03_log_posterior_fails_wrong_functions(wrong, capsys):
    from course_lib.exercises import ch03

    with np.errstate(all="ignore"):
        v = ch03.check_log_posterior(wrong, strict=False)
    assert not v and v.message.startswith("❌"), v.message


# ------------------------------------------------------------ chapter 00: the course's mechanics

def test_ch00_accuracy_check_passes_the_solution_and_fails_wrong_axis(capsys):
    from course_lib.exercises import ch00

    assert ch00.check_accuracy(lambda s, y: float(np.mean(np.argmax(s, axis=1) == y)))
    wrong = ch00.check_accuracy(lambda s, y: float(np.mean(np.argmax(s, axis=0) == y)))
    assert not wrong and "argmax(axis=1)" in wrong.message        # the hint is shown
    assert not ch00.check_accuracy(lambda s, y: float(np.sum(np.argmax(s, axis=1) == y)))


def test_ch00_class_probabilities_check_passes_the_solution_and_fails_naive_softmax(capsys):
    from course_lib.exercises import ch00
    from course_lib.scratch.functional import softmax

    assert ch00.check_class_probabilities(lambda z: softmax(z, axis=1))
    with np.errstate(over="ignore", invalid="ignore"):
        naive = ch00.check_class_probabilities(
            lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    assert not naive and "NaN or inf" in naive.message
    assert "course_lib.scratch.functional" in naive.message        # the hint says where to look
    assert not ch00.check_class_probabilities(lambda z: softmax(z, axis=0))
    assert not ch00.check_class_probabilities(lambda z: np.exp(z))
