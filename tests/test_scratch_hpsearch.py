"""course_lib.scratch.hpsearch: grid search covers every combination (as sklearn's
ParameterGrid does), random search draws uniform / log-uniform values, successive halving keeps
the best 1/eta each round with eta times the budget; clear errors."""

import math

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid

from course_lib.scratch.hpsearch import (
    SearchResult,
    grid_search,
    random_search,
    sample_config,
    successive_halving,
)


def bowl(config):
    """A validation-loss stand-in: best at lr = 1e-2, nearly flat in weight_decay."""
    return (math.log10(config["lr"]) + 2) ** 2 + 0.01 * math.log10(config["weight_decay"]) ** 2


# ----------------------------------------------------------------------------- grid search

def test_grid_search_tries_every_combination_once():
    grid = {"lr": [1e-3, 1e-2, 1e-1], "weight_decay": [1e-4, 1e-3], "depth": [2, 3]}
    seen = []
    result = grid_search(lambda c: seen.append(c) or bowl(c), grid)
    assert len(result.trials) == 12 == len(seen)
    got = sorted(tuple(sorted(t["config"].items())) for t in result.trials)
    want = sorted(tuple(sorted(c.items())) for c in ParameterGrid(grid))
    assert got == want
    # itertools.product order: the last name changes fastest
    assert [t["config"]["depth"] for t in result.trials[:4]] == [2, 3, 2, 3]
    scores = result.scores()
    assert result.best_score == scores.min()
    assert result.best_config == result.trials[int(np.argmin(scores))]["config"]
    assert result.best_config["lr"] == 1e-2
    np.testing.assert_array_equal(result.values("lr")[:4], [1e-3] * 4)


def test_ties_go_to_the_earlier_config_and_nan_counts_as_worst():
    result = grid_search(lambda c: 1.0, {"a": [1, 2, 3]})
    assert result.best_config == {"a": 1}
    result = grid_search(lambda c: float("nan") if c["a"] == 1 else c["a"], {"a": [1, 2, 3]})
    assert result.trials[0]["score"] == math.inf and result.best_config == {"a": 2}
    result = grid_search(lambda c: float("nan"), {"a": [1, 2]})   # everything diverged
    assert result.best_config == {"a": 1} and result.best_score == math.inf


def test_objective_gets_a_copy_of_the_config():
    def meddle(c):
        c["lr"] = -1
        return 0.0
    result = grid_search(meddle, {"lr": [0.1]})
    assert result.trials[0]["config"] == {"lr": 0.1}


# ----------------------------------------------------------------------------- random search

def test_sample_config_log_and_linear_distributions():
    space = {"lr": (1e-4, 1.0, "log"), "dropout": (0.0, 0.5, "linear")}
    rng = np.random.default_rng(0)
    draws = [sample_config(space, rng) for _ in range(4000)]
    lr = np.array([d["lr"] for d in draws])
    p = np.array([d["dropout"] for d in draws])
    assert lr.min() >= 1e-4 and lr.max() <= 1.0 and p.min() >= 0 and p.max() <= 0.5
    # log-uniform: log10(lr) is uniform on [-4, 0] (mean -2, variance 16/12); each decade
    # holds a quarter of the draws
    u = np.log10(lr)
    assert abs(u.mean() + 2) < 4 * np.sqrt(16 / 12 / 4000)
    counts = np.histogram(u, bins=[-4, -3, -2, -1, 0])[0] / 4000
    np.testing.assert_allclose(counts, 0.25, atol=0.03)
    assert abs(p.mean() - 0.25) < 4 * np.sqrt(0.25 / 12 / 4000)


def test_random_search_is_reproducible_and_finds_a_good_lr():
    space = {"lr": (1e-5, 1.0, "log"), "weight_decay": (1e-6, 1e-1, "log")}
    a = random_search(bowl, space, n_trials=30, rng=np.random.default_rng(1))
    b = random_search(bowl, space, n_trials=30, rng=np.random.default_rng(1))
    assert [t["config"] for t in a.trials] == [t["config"] for t in b.trials]
    assert len(a.trials) == 30 and isinstance(a, SearchResult)
    assert a.best_score == min(t["score"] for t in a.trials)
    assert abs(math.log10(a.best_config["lr"]) + 2) < 0.5


def test_random_search_tries_more_distinct_values_than_a_grid_of_the_same_cost():
    """The Bergstra-Bengio argument: 9 grid trials test 3 learning rates, 9 random trials 9."""
    grid = grid_search(bowl, {"lr": [1e-4, 1e-2, 1.0], "weight_decay": [1e-5, 1e-3, 1e-1]})
    rand = random_search(bowl, {"lr": (1e-4, 1.0, "log"), "weight_decay": (1e-5, 1e-1, "log")},
                         n_trials=9, rng=np.random.default_rng(0))
    assert len(np.unique(grid.values("lr"))) == 3
    assert len(np.unique(rand.values("lr"))) == 9


# ----------------------------------------------------------------------------- successive halving

def _curve(config, budget):
    """Loss after `budget` epochs: approaches the config's final quality q like 1/budget."""
    return config["q"] + 1.0 / budget


def test_successive_halving_rounds_budgets_and_winner():
    configs = [{"q": q} for q in [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4]]
    result = successive_halving(configs, _curve, min_budget=1, eta=2)
    rounds = [t["round"] for t in result.trials]
    assert [rounds.count(r) for r in range(4)] == [8, 4, 2, 1]
    assert sorted({t["budget"] for t in result.trials}) == [1, 2, 4, 8]
    assert result.best_config == {"q": 0.1}
    assert result.best_score == pytest.approx(0.1 + 1 / 8)
    round1 = sorted(t["config"]["q"] for t in result.trials if t["round"] == 1)
    assert round1 == [0.1, 0.2, 0.3, 0.4]                      # the best half survived
    total = sum(t["budget"] for t in result.trials)
    assert total == 8 * 1 + 4 * 2 + 2 * 4 + 1 * 8              # = 32, vs 64 for all at 8


def test_successive_halving_eta3_max_budget_and_odd_counts():
    configs = [{"q": q} for q in np.linspace(1, 0, 10)]
    result = successive_halving(configs, _curve, min_budget=2, eta=3)
    rounds = [t["round"] for t in result.trials]
    assert [rounds.count(r) for r in range(4)] == [10, 4, 2, 1]      # ceil(n / 3) survive
    assert sorted({t["budget"] for t in result.trials}) == [2, 6, 18, 54]
    assert result.best_config["q"] == 0.0
    capped = successive_halving(configs, _curve, min_budget=2, eta=2, max_budget=5)
    assert max(t["budget"] for t in capped.trials) == 5
    assert sorted({t["round"] for t in capped.trials}) == [0, 1, 2]
    assert capped.best_config["q"] == 0.0
    one = successive_halving([{"q": 1.0}], _curve, min_budget=3)
    assert len(one.trials) == 1 and one.best_config == {"q": 1.0}


def test_successive_halving_drops_a_diverged_run():
    def train(config, budget):
        return float("nan") if config["q"] == 0.0 else _curve(config, budget)
    result = successive_halving([{"q": 0.0}, {"q": 0.5}, {"q": 0.6}], train, min_budget=1)
    assert result.best_config == {"q": 0.5}
    assert {"q": 0.0} not in [t["config"] for t in result.trials if t["round"] > 0]


# ----------------------------------------------------------------------------- bad input

def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(0)
    space = {"lr": (1e-3, 1.0, "log")}
    with pytest.raises(TypeError, match="objective must be a function"):
        grid_search(3, {"a": [1]})
    with pytest.raises(ValueError, match="non-empty dict"):
        grid_search(bowl, {})
    with pytest.raises(ValueError, match=r"grid\['a'\] must be a non-empty list"):
        grid_search(bowl, {"a": []})
    with pytest.raises(ValueError, match=r"grid\['a'\] must be a non-empty list"):
        grid_search(bowl, {"a": "abc"})
    with pytest.raises(TypeError, match="grid_search: the objective must return a number"):
        grid_search(lambda c: "good", {"a": [1]})
    with pytest.raises(ValueError, match="log-scaled, so low must be > 0"):
        random_search(bowl, {"lr": (0.0, 1.0, "log")}, n_trials=2, rng=rng)
    with pytest.raises(ValueError, match=r"\(low, high, 'log' \| 'linear'\) with low < high"):
        random_search(bowl, {"lr": (1.0, 0.1, "log")}, n_trials=2, rng=rng)
    with pytest.raises(ValueError, match=r"\(low, high, 'log' \| 'linear'\)"):
        sample_config({"lr": (0.1, 1.0, "cubic")}, rng)
    with pytest.raises(ValueError, match=r"\(low, high, 'log' \| 'linear'\)"):
        sample_config({"lr": (True, 2.0, "linear")}, rng)
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        random_search(bowl, space, n_trials=2, rng=0)
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        sample_config(space, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="n_trials must be in"):
        random_search(bowl, space, n_trials=0, rng=rng)
    with pytest.raises(ValueError, match="configs must be a non-empty list of dicts"):
        successive_halving([], _curve, min_budget=1)
    with pytest.raises(ValueError, match="eta must be in"):
        successive_halving([{"q": 1}], _curve, min_budget=1, eta=1)
    with pytest.raises(ValueError, match="min_budget must be a number > 0"):
        successive_halving([{"q": 1}], _curve, min_budget=0)
    with pytest.raises(ValueError, match="max_budget must be a number >= min_budget"):
        successive_halving([{"q": 1}], _curve, min_budget=4, max_budget=2)
    with pytest.raises(TypeError, match="train_fn must be a function"):
        successive_halving([{"q": 1}], None, min_budget=1)
