"""Game-tree search from scratch (NumPy only): negamax, alpha-beta, UCT and PUCT (AlphaZero).

All values are from the viewpoint of a stated player: +1 a win, 0 a draw, -1 a loss. The games
are those of ``course_lib.scratch.games`` (immutable states with ``to_play``, ``legal_moves``,
``play``, ``winner``).

**Negamax** (the minimax of von Neumann, written with one max): the value of a state for the
player to move is::

    v(s) = winner(s) * to_play(s)             if s is terminal   (0 or -1: the mover lost)
    v(s) = max_a  -v(play(s, a))              otherwise

Plain negamax visits the whole game tree. Counting every state it reaches, the root included,
the tic-tac-toe tree has 549,946 nodes (255,168 of them finished games).

**Alpha-beta pruning** (Knuth & Moore 1975, "An analysis of alpha-beta pruning", Artificial
Intelligence 6) searches with a window (alpha, beta): alpha is what the mover is already sure
of, beta what the opponent already holds her to. Once a move scores v >= beta the opponent
will never allow this position, so its remaining moves are skipped (a cut-off)::

    v(s, alpha, beta) = max_a -v(play(s, a), -beta, -alpha)   stopping as soon as v >= beta

The value returned for the root with the full window is exact, and the number of nodes visited
drops from about b^d to about b^(d/2) with good move ordering (here: moves in increasing
order). To list *all* optimal moves at the root, each root move is searched with the window
(best - 1, +inf): values are integers, so a move fails low exactly when it is worse than the
best so far.

**Monte Carlo tree search** (Coulom 2006; survey: Browne et al. 2012, "A survey of Monte Carlo
tree search methods", IEEE Trans. Comp. Intell. AI Games 4) grows a tree one node per
simulation, in four steps: *select* a path from the root with a bandit rule, *expand* one new
child, *simulate* a random game (a rollout) from it, and *back up* the result along the path.
UCT (Kocsis & Szepesvári 2006, "Bandit based Monte-Carlo planning", ECML) selects with UCB1::

    UCT(child) = Q + c sqrt(ln N_parent / N),    Q = W / N,    c = sqrt(2) by default

(an unvisited child, N = 0, scores +inf, so every child is tried once first). ``W`` sums the
results from the viewpoint of the player *who chose the move into the child* (the parent's
player to move), so at every level the player to move picks the child best for herself: the
sign flip of negamax, applied when backing up. The move played is the most visited child.

**PUCT** (AlphaGo: Silver et al. 2016, "Mastering the game of Go with deep neural networks and
tree search", Nature 529; AlphaGo Zero / AlphaZero: Silver et al. 2017, Nature 550, and 2018,
Science 362) drops the rollouts: a network ``evaluate(s) -> (P(s, .), v(s))`` gives priors over
the moves and a value, and selection uses::

    PUCT(s, a) = Q(s, a) + c_puct P(s, a) sqrt(N(s)) / (1 + N(s, a))

with Q(s, a) = 0 for an unvisited move. A new leaf is evaluated once (its value v backed up,
negated at each level); a finished game uses its true result. For self-play, Dirichlet noise
is mixed into the root priors, P <- (1 - eps) P + eps Dir(alpha), so that every move is tried.

Usage::

    negamax(TicTacToe())                                   # value 0, moves (0..8), 549,946 nodes
    negamax(TicTacToe(), alpha_beta=True).nodes            # far fewer
    mcts(TicTacToe(), 400, rng=np.random.default_rng(0)).best_move
    player = mcts_player(400, np.random.default_rng(0))    # plays with play_game
    uniform = lambda s: (np.ones(s.n_moves) / s.n_moves, 0.0)
    puct_search(state, uniform, 200).visits                # (n_moves,) visit counts
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.games import GameState
from course_lib.scratch.validate import (
    as_float_array,
    check_fraction,
    check_int,
    check_positive,
    check_rng,
)

__all__ = [
    "SearchResult", "negamax", "game_value", "perfect_player",
    "uct_score", "puct_score",
    "Node", "MCTSResult", "mcts", "mcts_player",
    "PUCTNode", "PUCTResult", "puct_search",
]


def _check_state(state, where: str, *, playable: bool = False) -> GameState:
    if not isinstance(state, GameState):
        raise TypeError(f"{where}: state must be a game state (e.g. TicTacToe()), "
                        f"got {type(state).__name__}")
    if playable and state._winner is not None:
        raise ValueError(f"{where}: the game is over (winner {state._winner:+d}); "
                         f"there is no move to search for")
    return state


# ---------------------------------------------------------------------------------------------
# Exact search: negamax and alpha-beta
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchResult:
    """The result of :func:`negamax`.

    Attributes:
        value: the exact value for the player to move: +1 win, 0 draw, -1 loss.
        moves: tuple of the optimal moves (increasing; empty for a finished game).
        nodes: states visited, the root included (each call on a state counts once).
    """

    value: int
    moves: tuple[int, ...]
    nodes: int


def negamax(state: GameState, *, alpha_beta: bool = False) -> SearchResult:
    """The exact value of ``state`` and its optimal moves by full-width negamax search.

    No memoisation, so ``nodes`` is the textbook count: every state reached, the root
    included (549,946 for plain minimax from the empty tic-tac-toe board). With
    ``alpha_beta=True`` branches that cannot change the result are pruned (Knuth & Moore);
    the value and the optimal moves are the same. The cost is exponential: fine for
    tic-tac-toe, far too slow for Connect Four beyond a few empty cells (use
    :func:`game_value` there).

    Args:
        state: a game state (TicTacToe or ConnectFour).
        alpha_beta: prune with alpha-beta (moves tried in increasing order).

    Returns:
        :class:`SearchResult` ``(value, moves, nodes)``, value for ``state.to_play``.
    """
    _check_state(state, "negamax")
    if state._winner is not None:
        return SearchResult(state._winner * state._to_play, (), 1)
    cfg = state._cfg
    masks, lows, top, moves_of, lines, full = (cfg.masks, cfg.lows, cfg.top, cfg.moves_of,
                                               cfg.lines, cfg.full)
    nodes = 1

    def plain(me: int, opp: int) -> int:
        # value for the player owning `me`, to move in a non-terminal state
        nonlocal nodes
        occ = me | opp
        best = -2
        for m in moves_of[occ & top]:
            nodes += 1
            mk = masks[m]
            bit = ((occ & mk) + lows[m]) & mk
            nb = me | bit
            for L in lines[bit]:
                if nb & L == L:
                    v = 1
                    break
            else:
                v = 0 if occ | bit == full else -plain(opp, nb)
            if v > best:
                best = v
        return best

    def ab(me: int, opp: int, alpha: int, beta: int) -> int:
        # fail-soft alpha-beta: exact when alpha < value < beta, a bound otherwise
        nonlocal nodes
        occ = me | opp
        best = -2
        for m in moves_of[occ & top]:
            nodes += 1
            mk = masks[m]
            bit = ((occ & mk) + lows[m]) & mk
            nb = me | bit
            for L in lines[bit]:
                if nb & L == L:
                    v = 1
                    break
            else:
                v = 0 if occ | bit == full else -ab(opp, nb, -beta, -alpha)
            if v > best:
                best = v
                if v > alpha:
                    alpha = v
                    if alpha >= beta:
                        break
        return best

    me, opp = state._me, state._opp
    occ = me | opp
    best, optimal = -2, []
    for m in moves_of[occ & top]:
        nodes += 1
        mk = masks[m]
        bit = ((occ & mk) + lows[m]) & mk
        nb = me | bit
        if any(nb & L == L for L in lines[bit]):
            v = 1
        elif occ | bit == full:
            v = 0
        elif alpha_beta:   # window (best - 1, 2): fails low exactly when v < best
            v = -ab(opp, nb, -2, -(best - 1))
        else:
            v = -plain(opp, nb)
        if v > best:
            best, optimal = v, [m]
        elif v == best:
            optimal.append(m)
    return SearchResult(best, tuple(optimal), nodes)


_VALUE_CACHES: dict[int, dict[int, int]] = {}


def game_value(state: GameState) -> int:
    """The exact value of ``state`` for the player to move (+1 / 0 / -1), memoised.

    A transposition table (one dict per board geometry, kept between calls) stores the value
    of every position solved, so each position is solved once: tic-tac-toe has 5,478 legal
    positions (3,964 stored, as a move that wins ends the search of a position), solved in
    about 6 ms. Connect Four: 4 x 4 takes 0.2 s (124 k positions); the default 4 x 5 about
    5 s and 200 MB (2.5 M positions; it is a draw); 6 x 7 is far out of reach.

    Returns:
        int: +1 win, 0 draw, -1 loss for ``state.to_play`` with perfect play by both.
    """
    _check_state(state, "game_value")
    if state._winner is not None:
        return state._winner * state._to_play
    cfg = state._cfg
    cache = _VALUE_CACHES.setdefault(id(cfg), {})
    masks, lows, top, moves_of, lines, full, n = (cfg.masks, cfg.lows, cfg.top, cfg.moves_of,
                                                  cfg.lines, cfg.full, cfg.n_cells)

    def solve(me: int, opp: int) -> int:
        key = me | opp << n
        v = cache.get(key)
        if v is not None:
            return v
        occ = me | opp
        best = -2
        for m in moves_of[occ & top]:
            mk = masks[m]
            bit = ((occ & mk) + lows[m]) & mk
            nb = me | bit
            for L in lines[bit]:
                if nb & L == L:
                    v = 1
                    break
            else:
                v = 0 if occ | bit == full else -solve(opp, nb)
            if v > best:
                best = v
                if best == 1:      # cannot do better than a win (still exact)
                    break
        cache[key] = best
        return best

    return solve(state._me, state._opp)


def perfect_player(rng: np.random.Generator) -> Callable[[GameState], int]:
    """A player that always plays an optimal move, chosen uniformly at random among them.

    Uses :func:`game_value` (memoised), so after the first game each move costs a few dict
    look-ups. For tic-tac-toe and small Connect Four boards (4 x 5: about 5 s for the first
    move of the first game).

    Returns:
        A player ``player(state) -> move``.
    """
    check_rng(rng, "perfect_player")

    def player(state: GameState) -> int:
        _check_state(state, "perfect_player", playable=True)
        moves = state.legal_moves()
        values = [-game_value(state.play(m)) for m in moves]
        best = max(values)
        optimal = [m for m, v in zip(moves, values, strict=True) if v == best]
        return optimal[int(rng.integers(len(optimal)))]

    return player


# ---------------------------------------------------------------------------------------------
# Bandit scores
# ---------------------------------------------------------------------------------------------

def uct_score(q, n, n_parent, c: float = math.sqrt(2)):
    """UCT / UCB1 score of a child: ``q + c sqrt(ln(n_parent) / n)``, +inf when ``n == 0``.

    Args:
        q: mean result W / N of the child, from the viewpoint of the player who chose the move
            into it (the parent's player to move); float or array.
        n: the child's visit count (>= 0); int or array (broadcast with q).
        n_parent: the parent's visit count (>= 1).
        c: exploration constant (> 0; sqrt(2) is UCB1's).

    Returns:
        A float, or an array of the broadcast shape.
    """
    q = as_float_array(q, "uct_score", "q", allow_empty=True)
    n = as_float_array(n, "uct_score", "n", allow_empty=True)
    n_parent = as_float_array(n_parent, "uct_score", "n_parent", allow_empty=True)
    check_positive(c, "uct_score", "c", allow_zero=True)
    if np.any(n < 0) or np.any(n_parent < 1):
        raise ValueError("uct_score: visit counts must satisfy n >= 0 and n_parent >= 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(n > 0, q + c * np.sqrt(np.log(n_parent) / n), np.inf)
    return float(s) if s.ndim == 0 else s


def puct_score(q, prior, n, n_parent, c_puct: float = 1.5):
    """PUCT score of AlphaZero: ``q + c_puct * prior * sqrt(n_parent) / (1 + n)``.

    Args:
        q: mean value of the move from the viewpoint of the player choosing it (0 when the move
            is unvisited, as in AlphaZero); float or array.
        prior: the network's probability of the move, in [0, 1].
        n: the move's visit count N(s, a) (>= 0).
        n_parent: the visit count N(s) of the state (>= 0).
        c_puct: exploration constant (> 0).

    Returns:
        A float, or an array of the broadcast shape.
    """
    q = as_float_array(q, "puct_score", "q", allow_empty=True)
    prior = as_float_array(prior, "puct_score", "prior", allow_empty=True)
    n = as_float_array(n, "puct_score", "n", allow_empty=True)
    n_parent = as_float_array(n_parent, "puct_score", "n_parent", allow_empty=True)
    check_positive(c_puct, "puct_score", "c_puct", allow_zero=True)
    if np.any(prior < 0) or np.any(prior > 1):
        raise ValueError("puct_score: prior must be in [0, 1]")
    if np.any(n < 0) or np.any(n_parent < 0):
        raise ValueError("puct_score: visit counts n and n_parent must be >= 0")
    s = q + c_puct * prior * np.sqrt(n_parent) / (1 + n)
    return float(s) if s.ndim == 0 else s


# ---------------------------------------------------------------------------------------------
# UCT: Monte Carlo tree search with random rollouts
# ---------------------------------------------------------------------------------------------

class Node:
    """A node of the UCT tree.

    Attributes:
        state: the game state at this node.
        parent: the parent Node (None at the root); move: the move from the parent (None).
        children: dict move -> Node of the expanded children.
        untried: list of legal moves not expanded yet.
        N: visit count; W: sum of results from the viewpoint of the player who made ``move``
            (``-state.to_play``), so ``Q = W / N`` is what the parent's player wants to
            maximise.
    """

    __slots__ = ("state", "parent", "move", "children", "untried", "N", "W", "_sign")

    def __init__(self, state: GameState, parent: Node | None = None, move: int | None = None):
        self.state, self.parent, self.move = state, parent, move
        self.children: dict[int, Node] = {}
        self.untried = list(state.legal_moves())
        self.N = 0
        self.W = 0.0
        self._sign = -state._to_play      # the player who moved into this node

    @property
    def Q(self) -> float:
        """Mean result W / N (nan when unvisited)."""
        return self.W / self.N if self.N else math.nan

    def __repr__(self) -> str:
        return f"Node(move={self.move}, N={self.N}, Q={self.Q:.3f}, children={len(self.children)})"


@dataclass(frozen=True)
class MCTSResult:
    """The result of :func:`mcts`.

    Attributes:
        visits: (n_moves,) int64 visit counts of the root's children (0 for illegal moves).
        q: (n_moves,) float64 mean result of each root move for the player to move at the root
            (nan when unvisited or illegal).
        best_move: the most visited move (ties: higher q, then lower index).
        root: the root :class:`Node` of the search tree (for inspection).
    """

    visits: np.ndarray
    q: np.ndarray
    best_move: int
    root: Node


def _rollout(state: GameState, u: np.ndarray) -> int:
    """Random playout from ``state`` with the uniforms ``u``; returns the winner (+1/-1/0)."""
    w = state._winner
    if w is not None:
        return w
    cfg = state._cfg
    masks, lows, top, moves_of, lines, full = (cfg.masks, cfg.lows, cfg.top, cfg.moves_of,
                                               cfg.lines, cfg.full)
    me, opp, player = state._me, state._opp, state._to_play
    occ = me | opp
    for x in u.tolist():
        moves = moves_of[occ & top]
        m = moves[int(x * len(moves))]
        mk = masks[m]
        bit = ((occ & mk) + lows[m]) & mk
        me |= bit
        occ |= bit
        for L in lines[bit]:
            if me & L == L:
                return player
        if occ == full:
            return 0
        me, opp, player = opp, me, -player
    raise AssertionError("rollout ran out of random numbers")  # pragma: no cover


def mcts(state: GameState, n_simulations: int, *, c: float = math.sqrt(2),
         rng: np.random.Generator,
         rollout: Callable[[GameState, np.random.Generator], float] | None = None
         ) -> MCTSResult:
    """UCT Monte Carlo tree search from ``state`` (see the module docstring).

    Each simulation selects children by ``Q + c sqrt(ln N_parent / N)`` (unvisited children
    first, in random order), expands one new node, plays a uniformly random game from it (or
    calls ``rollout``) and backs the result up, each node counting it from the viewpoint of
    the player who moved into it.

    Args:
        state: a non-terminal game state.
        n_simulations: number of simulations (>= 1); the tree gains one node per simulation.
        c: exploration constant (>= 0).
        rng: the Generator for expansion order and rollouts (reproducible with a seed).
        rollout: optional ``rollout(state, rng) -> result`` in [-1, 1] from X's viewpoint
            (+1 good for X), called on non-terminal leaves instead of the random playout.

    Returns:
        :class:`MCTSResult` ``(visits, q, best_move, root)``.
    """
    _check_state(state, "mcts", playable=True)
    n_simulations = check_int(n_simulations, "mcts", "n_simulations", low=1)
    c = check_positive(c, "mcts", "c", allow_zero=True)
    check_rng(rng, "mcts")
    if rollout is not None and not callable(rollout):
        raise TypeError(f"mcts: rollout must be a callable rollout(state, rng) -> float, "
                        f"got {type(rollout).__name__}")
    log, sqrt = math.log, math.sqrt
    root = Node(state)
    n_u = state._cfg.n_cells + 1
    for _ in range(n_simulations):
        u = rng.random(n_u)
        node = root
        # 1. selection: descend through fully expanded nodes
        while not node.untried and node.children:
            k = c * sqrt(log(node.N))
            best, best_s = None, -math.inf
            for ch in node.children.values():
                n = ch.N
                s = ch.W / n + k / sqrt(n)
                if s > best_s:
                    best, best_s = ch, s
            node = best
        # 2. expansion: one untried move, chosen at random
        untried = node.untried
        if untried:
            i = int(u[-1] * len(untried))
            untried[i], untried[-1] = untried[-1], untried[i]
            m = untried.pop()
            child = Node(node.state.play(m), node, m)
            node.children[m] = child
            node = child
        # 3. simulation
        if rollout is None or node.state._winner is not None:
            r = _rollout(node.state, u[:-1])
        else:
            r = float(rollout(node.state, rng))
            if not -1 <= r <= 1:
                raise ValueError(f"mcts: rollout must return a result in [-1, 1] from X's "
                                 f"viewpoint, got {r}")
        # 4. backup
        while node is not None:
            node.N += 1
            node.W += r * node._sign
            node = node.parent
    visits = np.zeros(state.n_moves, dtype=np.int64)
    q = np.full(state.n_moves, np.nan)
    for m, ch in root.children.items():
        visits[m] = ch.N
        q[m] = ch.W / ch.N
    best_move = max(root.children, key=lambda m: (visits[m], q[m], -m))
    return MCTSResult(visits, q, int(best_move), root)


def mcts_player(n_simulations: int, rng: np.random.Generator, c: float = math.sqrt(2)
                ) -> Callable[[GameState], int]:
    """A player that runs :func:`mcts` with ``n_simulations`` per move and plays best_move.

    The same ``rng`` is used for every move, so a game is reproducible from its seed.
    """
    n_simulations = check_int(n_simulations, "mcts_player", "n_simulations", low=1)
    check_rng(rng, "mcts_player")
    c = check_positive(c, "mcts_player", "c", allow_zero=True)

    def player(state: GameState) -> int:
        return mcts(state, n_simulations, c=c, rng=rng).best_move

    return player


# ---------------------------------------------------------------------------------------------
# PUCT: AlphaZero-style search guided by a policy-value function
# ---------------------------------------------------------------------------------------------

class PUCTNode:
    """A node of the PUCT tree.

    Attributes:
        state: the game state; terminal: whether the game is over there.
        value: the evaluation used at expansion, for the player to move (true result when
            terminal).
        moves: tuple of legal moves; P, N, W: lists over all ``n_moves`` moves of the prior,
            the visit count N(s, a) and the summed value W(s, a), from the viewpoint of the
            player to move here; children: dict move -> PUCTNode.
        visits: N(s), the simulations through this node, its own expansion included
            (= 1 + sum of N(s, a)).
    """

    __slots__ = ("state", "terminal", "value", "moves", "P", "N", "W", "children", "visits")

    def __init__(self, state: GameState, priors: list | None, value: float):
        self.state = state
        self.terminal = state._winner is not None
        self.value = value
        self.moves = state.legal_moves()
        k = state.n_moves
        self.P = priors if priors is not None else [0.0] * k
        self.N = [0] * k
        self.W = [0.0] * k
        self.children: dict[int, PUCTNode] = {}
        self.visits = 1


@dataclass(frozen=True)
class PUCTResult:
    """The result of :func:`puct_search`.

    Attributes:
        visits: (n_moves,) int64 visit counts N(root, a) (the AlphaZero policy target is
            visits / visits.sum()).
        q: (n_moves,) float64 mean value Q(root, a) for the player to move at the root
            (0 when unvisited or illegal).
        best_move: the most visited move (ties: higher prior, then lower index).
        root_value: (evaluation of the root + sum of all backed-up values) / visits, for the
            player to move at the root.
        root: the root :class:`PUCTNode`.
    """

    visits: np.ndarray
    q: np.ndarray
    best_move: int
    root_value: float
    root: PUCTNode


def _evaluate(evaluate, state: GameState, cache: dict) -> tuple[list, float]:
    """Priors masked to the legal moves and renormalised (uniform if they sum to 0), value."""
    hit = cache.get(state)
    if hit is not None:
        return hit
    out = evaluate(state)
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"puct_search: evaluate(state) must return a tuple (priors, value), "
                        f"got {type(out).__name__}")
    p = as_float_array(out[0], "puct_search", "priors from evaluate", finite=True)
    if p.shape != (state.n_moves,):
        raise ValueError(f"puct_search: evaluate must return priors of shape "
                         f"({state.n_moves},) (one per move, n_moves), got {p.shape}")
    if np.any(p < 0):
        raise ValueError("puct_search: priors from evaluate must be >= 0 (probabilities)")
    v = out[1]
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"puct_search: the value from evaluate must be a float, "
                        f"got {type(v).__name__}") from None
    if not -1 <= v <= 1:
        raise ValueError(f"puct_search: the value from evaluate must be in [-1, 1] (for the "
                         f"player to move), got {v}")
    legal = list(state.legal_moves())
    masked = np.zeros(state.n_moves)
    total = float(p[legal].sum())
    masked[legal] = p[legal] / total if total > 0 else 1.0 / len(legal)
    hit = cache[state] = (masked.tolist(), v)
    return hit


def puct_search(state: GameState, evaluate: Callable[[GameState], tuple[np.ndarray, float]],
                n_simulations: int, *, c_puct: float = 1.5, dirichlet_alpha: float | None = None,
                noise_frac: float = 0.25, rng: np.random.Generator | None = None) -> PUCTResult:
    """AlphaZero-style search: PUCT selection, network evaluation at the leaves, no rollouts.

    The root is evaluated and expanded first; each of the ``n_simulations`` simulations then
    descends by ``argmax_a Q(s, a) + c_puct P(s, a) sqrt(N(s)) / (1 + N(s, a))`` (Q = 0 for
    unvisited moves; N(s) = 1 + sum_a N(s, a)), evaluates the new leaf once (the true result
    -1 or 0 if the game is over there) and backs its value up, negated at each level.
    Evaluations are cached per state within one search (a position reached by two paths is
    evaluated once).

    Args:
        state: a non-terminal game state.
        evaluate: ``evaluate(state) -> (priors, value)``: priors (n_moves,) >= 0 over all moves
            (masked to the legal ones and renormalised here), value in [-1, 1] for the player
            to move.
        n_simulations: number of simulations (>= 1).
        c_puct: exploration constant (>= 0).
        dirichlet_alpha: if given (> 0), mix Dir(alpha) noise into the root priors.
        noise_frac: the weight eps of the noise, in [0, 1].
        rng: Generator for the noise (required with ``dirichlet_alpha``).

    Returns:
        :class:`PUCTResult` ``(visits, q, best_move, root_value, root)``.
    """
    _check_state(state, "puct_search", playable=True)
    if not callable(evaluate):
        raise TypeError(f"puct_search: evaluate must be a callable evaluate(state) -> "
                        f"(priors, value), got {type(evaluate).__name__}")
    n_simulations = check_int(n_simulations, "puct_search", "n_simulations", low=1)
    c_puct = check_positive(c_puct, "puct_search", "c_puct", allow_zero=True)
    noise_frac = check_fraction(noise_frac, "puct_search", "noise_frac")
    cache: dict = {}
    priors, v0 = _evaluate(evaluate, state, cache)
    root = PUCTNode(state, list(priors), v0)
    if dirichlet_alpha is not None:
        dirichlet_alpha = check_positive(dirichlet_alpha, "puct_search", "dirichlet_alpha")
        if rng is None:
            raise TypeError("puct_search: rng (a numpy Generator) is required with "
                            "dirichlet_alpha")
        check_rng(rng, "puct_search")
        eta = rng.dirichlet([dirichlet_alpha] * len(root.moves))
        for m, e in zip(root.moves, eta.tolist(), strict=True):
            root.P[m] = (1 - noise_frac) * root.P[m] + noise_frac * e
    elif rng is not None:
        check_rng(rng, "puct_search")
    sqrt = math.sqrt
    for _ in range(n_simulations):
        node, path = root, []
        while True:
            k = c_puct * sqrt(node.visits)
            P, N, W = node.P, node.N, node.W
            best, best_s = -1, -math.inf
            for a in node.moves:
                n = N[a]
                s = (W[a] / n if n else 0.0) + k * P[a] / (1 + n)
                if s > best_s:
                    best, best_s = a, s
            path.append((node, best))
            child = node.children.get(best)
            if child is None:
                st = node.state.play(best)
                if st._winner is not None:
                    child = PUCTNode(st, None, float(st._winner * st._to_play))
                else:
                    p, v = _evaluate(evaluate, st, cache)
                    child = PUCTNode(st, p, v)
                node.children[best] = child
                v = child.value
                break
            if child.terminal:
                child.visits += 1
                v = child.value
                break
            node = child
        # backup: v is for the player to move at the leaf; each edge stores its chooser's view
        for nd, a in reversed(path):
            v = -v
            nd.N[a] += 1
            nd.W[a] += v
            nd.visits += 1
    visits = np.array(root.N, dtype=np.int64)
    n_safe = np.maximum(visits, 1)
    q = np.array(root.W) / n_safe
    best_move = max(root.moves, key=lambda m: (visits[m], root.P[m], -m))
    root_value = (v0 + sum(root.W)) / (1 + int(visits.sum()))
    return PUCTResult(visits, q, int(best_move), float(root_value), root)
