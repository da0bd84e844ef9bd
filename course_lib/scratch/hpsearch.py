"""Hyperparameter search (NumPy only): grid search, random search, successive halving.

    space = {"lr": (1e-4, 1.0, "log"), "weight_decay": (1e-6, 1e-1, "log")}
    result = random_search(objective, space, n_trials=20, rng=rng)
    result.best_config, result.best_score          # the smallest score wins

``objective(config) -> float`` (a validation loss, say) is minimised. Every procedure is
deterministic given its Generator, and ties go to the earlier configuration.

- Grid search tries every combination of listed values.
- Random search draws each value independently: uniformly, or log-uniformly for scales such as
  learning rates. With the same budget it tries *more distinct values of each parameter* than a
  grid, which wins when only a few parameters matter (Bergstra & Bengio, "Random search for
  hyper-parameter optimization", JMLR 2012).
- Successive halving trains every configuration on a small budget, keeps the best 1/η, and
  multiplies the budget by η, until one is left (Jamieson & Talwalkar, AISTATS 2016; the inner
  loop of Hyperband, Li et al., JMLR 2018).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from course_lib.scratch.validate import check_int, check_rng


@dataclass
class SearchResult:
    """The trials of a search, in the order they ran.

    ``trials``: list of dicts ``{"config": dict, "score": float, "budget": float | None,
    "round": int}``; ``best_config`` / ``best_score``: the trial with the smallest score (for
    successive halving: the winner of the last round).
    """

    trials: list[dict] = field(default_factory=list)
    best_config: dict | None = None
    best_score: float = math.inf

    def scores(self) -> np.ndarray:
        """All scores as a float64 array, in trial order."""
        return np.array([t["score"] for t in self.trials], dtype=np.float64)

    def values(self, name: str) -> np.ndarray:
        """The value of hyperparameter ``name`` in every trial, in trial order."""
        return np.array([t["config"][name] for t in self.trials], dtype=np.float64)


def _score(objective: Callable, config: dict, where: str, *args) -> float:
    s = objective(dict(config), *args)
    try:
        s = float(s)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: the objective must return a number, got "
                        f"{type(s).__name__} for config {config}") from None
    return s if not math.isnan(s) else math.inf      # a diverged run counts as the worst


def _record(result: SearchResult, config: dict, score: float, budget=None, rnd: int = 0):
    result.trials.append({"config": dict(config), "score": score, "budget": budget,
                          "round": rnd})
    if result.best_config is None or score < result.best_score:
        result.best_config, result.best_score = dict(config), score


def grid_search(objective: Callable[[dict], float],
                grid: Mapping[str, Sequence]) -> SearchResult:
    """Evaluate ``objective`` on every combination of the values in ``grid``.

    Args:
        objective: ``objective(config) -> float`` to minimise; ``config`` is a dict.
        grid: ``{name: [values, ...]}``; a grid of k names with m values each costs mᵏ trials.

    Returns:
        :class:`SearchResult` (trials in ``itertools.product`` order, last name fastest).
    """
    if not callable(objective):
        raise TypeError(f"grid_search: objective must be a function, got "
                        f"{type(objective).__name__}")
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid_search: grid must be a non-empty dict {{name: [values]}}, "
                         f"got {grid!r}")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
            raise ValueError(f"grid_search: grid[{name!r}] must be a non-empty list of values, "
                             f"got {values!r}")
    result = SearchResult()
    names = list(grid)
    for combo in itertools.product(*(list(grid[k]) for k in names)):
        config = dict(zip(names, combo, strict=True))
        _record(result, config, _score(objective, config, "grid_search"))
    return result


def _is_real(v) -> bool:
    return (not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))
            and math.isfinite(v))


def _check_space(space: Mapping, where: str) -> None:
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"{where}: space must be a non-empty dict "
                         f"{{name: (low, high, 'log' | 'linear')}}, got {space!r}")
    for name, spec in space.items():
        ok = isinstance(spec, (tuple, list)) and len(spec) == 3 and spec[2] in ("log", "linear")
        if ok:
            low, high, scale = spec
            ok = _is_real(low) and _is_real(high) and low < high
            if ok and scale == "log" and low <= 0:
                raise ValueError(f"{where}: space[{name!r}] is log-scaled, so low must be > 0, "
                                 f"got {spec}")
        if not ok:
            raise ValueError(f"{where}: space[{name!r}] must be (low, high, 'log' | 'linear') "
                             f"with low < high, got {spec!r}")


def sample_config(space: Mapping[str, tuple], rng: np.random.Generator) -> dict:
    """Draw one configuration: ``(low, high, "linear")`` → U(low, high);
    ``(low, high, "log")`` → exp(U(log low, log high)) (log-uniform).

    Args:
        space: ``{name: (low, high, "log" | "linear")}``.
        rng: the Generator the draws come from (one draw per name, in the dict's order).

    Returns:
        ``{name: float}``.
    """
    check_rng(rng, "sample_config")
    _check_space(space, "sample_config")
    config = {}
    for name, (low, high, scale) in space.items():
        if scale == "log":
            config[name] = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        else:
            config[name] = float(rng.uniform(low, high))
    return config


def random_search(objective: Callable[[dict], float], space: Mapping[str, tuple], *,
                  n_trials: int, rng: np.random.Generator) -> SearchResult:
    """Evaluate ``objective`` on ``n_trials`` configurations drawn by :func:`sample_config`.

    Args:
        objective: ``objective(config) -> float`` to minimise.
        space: ``{name: (low, high, "log" | "linear")}``.
        n_trials: number of configurations.
        rng: the Generator every draw comes from.

    Returns:
        :class:`SearchResult`.
    """
    if not callable(objective):
        raise TypeError(f"random_search: objective must be a function, got "
                        f"{type(objective).__name__}")
    check_rng(rng, "random_search")
    _check_space(space, "random_search")
    n_trials = check_int(n_trials, "random_search", "n_trials", low=1)
    result = SearchResult()
    for _ in range(n_trials):
        config = sample_config(space, rng)
        _record(result, config, _score(objective, config, "random_search"))
    return result


def successive_halving(configs: Sequence[dict], train_fn: Callable[[dict, float], float], *,
                       min_budget: float, eta: int = 2,
                       max_budget: float | None = None) -> SearchResult:
    """Successive halving: train all, keep the best 1/η, give them η× the budget, repeat.

    Round r trains each surviving config with budget ``min_budget · ηʳ`` (capped at
    ``max_budget``) by calling ``train_fn(config, budget) -> score`` (smaller is better; e.g.
    the validation loss after ``budget`` epochs, trained from scratch). The best
    ⌈n/η⌉ survive. It stops when one config is left or the budget reaches ``max_budget``.

    Args:
        configs: the candidate configurations (dicts), e.g. from :func:`sample_config`.
        train_fn: ``train_fn(config, budget) -> float``.
        min_budget: the first round's budget (> 0).
        eta: the reduction factor η ≥ 2.
        max_budget: optional cap on the budget.

    Returns:
        :class:`SearchResult` with every (config, budget, round) trial; ``best_config`` is the
        best config of the last round (scores at different budgets are not comparable, so it is
        not the overall smallest score).
    """
    where = "successive_halving"
    if not callable(train_fn):
        raise TypeError(f"{where}: train_fn must be a function, got {type(train_fn).__name__}")
    configs = list(configs)
    if not configs or not all(isinstance(c, Mapping) for c in configs):
        raise ValueError(f"{where}: configs must be a non-empty list of dicts, got {configs!r}")
    eta = check_int(eta, where, "eta", low=2)
    if not _is_real(min_budget) or not min_budget > 0:
        raise ValueError(f"{where}: min_budget must be a number > 0, got {min_budget!r}")
    if max_budget is not None and not (_is_real(max_budget) and max_budget >= min_budget):
        raise ValueError(f"{where}: max_budget must be a number >= min_budget={min_budget}, "
                         f"got {max_budget!r}")
    result = SearchResult()
    alive = [dict(c) for c in configs]
    budget, rnd = min_budget, 0
    while True:
        scores = []
        for config in alive:
            s = _score(train_fn, config, where, budget)
            result.trials.append({"config": dict(config), "score": s, "budget": budget,
                                  "round": rnd})
            scores.append(s)
        order = np.argsort(np.asarray(scores), kind="stable")     # ties: earlier config first
        last = len(alive) == 1 or (max_budget is not None and budget >= max_budget)
        if last:
            result.best_config, result.best_score = dict(alive[order[0]]), scores[order[0]]
            return result
        keep = max(1, math.ceil(len(alive) / eta))
        alive = [alive[i] for i in order[:keep]]
        budget = budget * eta if max_budget is None else min(budget * eta, max_budget)
        rnd += 1
