"""AlphaZero in miniature: a policy + value network trained by self-play, guiding PUCT search.

AlphaZero (Silver et al. 2017, "Mastering the game of Go without human knowledge", Nature;
Silver et al. 2018, "A general reinforcement learning algorithm that masters chess, shogi and
Go through self-play", Science) replaces the random rollouts of Monte Carlo tree search by a
network f_θ(s) = (p, v): move priors p and a value v ∈ [−1, 1] for the player to move.
Training alternates two steps:

1. **Self-play.** Play games against itself, choosing each move with PUCT search guided by
   f_θ (:func:`course_lib.scratch.mcts.puct_search`, Dirichlet noise at the root for
   exploration). Record, for every position s_t, the search's visit distribution π_t and, at
   the end, the result z_t ∈ {−1, 0, +1} from the viewpoint of the player to move at s_t.
2. **Learning.** Fit f_θ to the recorded positions: the loss (for each position)

       ℓ = (z − v)² − π · log p  (+ weight decay)

   pulls the value towards the game results and the priors towards the search's choices,
   which are better than the raw priors (search is a policy-improvement operator).

    net = PolicyValueNet(TicTacToe(), seed=0)
    log = train_alphazero(TicTacToe(), net, iterations=12, games_per_iteration=24,
                          n_simulations=24, seed=0)
    player = alphazero_player(net, n_simulations=16)       # state -> move
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.env import seeded
from course_lib.scratch import mcts as M
from course_lib.scratch.functional import softmax
from course_lib.scratch.validate import check_int, check_positive
from course_lib.training import eval_mode, model_device, optimizer_step, run_steps

__all__ = ["PolicyValueNet", "NetEvaluator", "self_play_game", "symmetries", "AlphaZeroLog",
           "train_alphazero", "alphazero_player"]


class PolicyValueNet(nn.Module):
    """f_θ(s) = (policy logits over all moves, value in [−1, 1]) from an encoded position.

    Input: (N, 2, rows, cols) float32, plane 0 the stones of the player to move, plane 1 the
    opponent's (``state.encode()`` of :mod:`course_lib.scratch.games`). A shared trunk of two
    fully connected ReLU layers, then a policy head (N, n_moves) of logits and a value head
    (N,) through tanh.

    Args:
        game: an initial game state (for the board shape and the number of moves).
        hidden: width of the trunk. seed: initial weights (None: global generator).
    """

    def __init__(self, game, hidden: int = 64, *, seed: int | None = None):
        super().__init__()
        where = "PolicyValueNet"
        planes = np.asarray(game.encode())
        if planes.ndim != 3 or planes.shape[0] != 2:
            raise ValueError(f"{where}: game.encode() must give (2, rows, cols), got "
                             f"{planes.shape}")
        self.input_shape = tuple(planes.shape)
        self.n_moves = check_int(game.n_moves, where, "game.n_moves", low=1)
        hidden = check_int(hidden, where, "hidden", low=1)
        with seeded(seed, where):
            self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(planes.size, hidden), nn.ReLU(),
                                       nn.Linear(hidden, hidden), nn.ReLU())
            self.policy_head = nn.Linear(hidden, self.n_moves)
            self.value_head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(x.shape[1:]) != self.input_shape:
            shape = ", ".join(map(str, self.input_shape))
            raise ValueError(f"PolicyValueNet: input must be (N, {shape}), got {tuple(x.shape)}")
        h = self.trunk(x)
        return self.policy_head(h), torch.tanh(self.value_head(h)).squeeze(-1)


class NetEvaluator:
    """``evaluate(state) -> (priors (n_moves,), value)`` for PUCT search, from a network.

    Priors are the softmax of the logits over the *legal* moves (0 elsewhere); the value is
    from the viewpoint of the player to move. Results are cached per position (positions are
    hashable); call :meth:`clear` after the network changes. ``calls`` counts network calls.
    """

    def __init__(self, net: PolicyValueNet):
        self.net = net
        self.cache: dict = {}
        self.calls = 0

    def clear(self) -> None:
        self.cache.clear()

    @torch.no_grad()
    def __call__(self, state) -> tuple[np.ndarray, float]:
        hit = self.cache.get(state)
        if hit is not None:
            return hit
        self.calls += 1
        device = model_device(self.net)
        x = torch.as_tensor(np.asarray(state.encode(), dtype=np.float32), device=device)[None]
        with eval_mode(self.net):
            logits, value = self.net(x)
        logits = logits[0].double().cpu().numpy()
        legal = list(state.legal_moves())
        priors = np.zeros(self.net.n_moves)
        priors[legal] = softmax(logits[legal])
        out = (priors, float(value[0]))
        self.cache[state] = out
        return out


def self_play_game(state, evaluate, *, n_simulations: int, rng: np.random.Generator,
                   c_puct: float = 1.5, dirichlet_alpha: float = 0.5, noise_frac: float = 0.25,
                   temperature_moves: int = 2) -> tuple[list, int]:
    """Play one game of the network against itself with PUCT search.

    Each move runs ``puct_search`` from the current position with Dirichlet noise at the root;
    for the first ``temperature_moves`` moves the move is sampled in proportion to the visit
    counts (exploration, temperature 1), afterwards the most visited move is played.

    Returns:
        (records, winner): records is a list over positions of (planes (2, rows, cols)
        float32, π (n_moves,) float64 the normalised visit counts, to_play ±1); winner is
        +1, −1 or 0 (draw).
    """
    records = []
    move_number = 0
    while not state.is_terminal():
        result = M.puct_search(state, evaluate, n_simulations, c_puct=c_puct,
                               dirichlet_alpha=dirichlet_alpha, noise_frac=noise_frac, rng=rng)
        visits = np.asarray(result.visits, dtype=np.float64)
        pi = visits / visits.sum()
        records.append((np.asarray(state.encode(), dtype=np.float32), pi, state.to_play))
        if move_number < temperature_moves:
            move = int(rng.choice(len(pi), p=pi))
        else:
            move = int(np.argmax(visits))
        state = state.play(move)
        move_number += 1
    return records, int(state.winner())


def symmetries(planes: np.ndarray, pi: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The positions equivalent to (planes (2, rows, cols), π (n_moves,)) under the board's
    symmetries, the original first.

    A game whose moves are the cells (n_moves = rows · cols, tic-tac-toe) on a square board has
    the 8 symmetries of the square (4 rotations, each optionally mirrored); a game whose moves
    are the columns (n_moves = cols, Connect Four) has the left-right mirror. The value target
    is the same for every copy; the policy target moves with the board. Anything else: only
    the original.
    """
    _, rows, cols = planes.shape
    if len(pi) == rows * cols and rows == cols:
        board_pi = pi.reshape(rows, cols)
        out = []
        for k in range(4):
            p_rot, q_rot = np.rot90(planes, k, axes=(1, 2)), np.rot90(board_pi, k)
            out.append((p_rot, q_rot))
            out.append((p_rot[:, :, ::-1], q_rot[:, ::-1]))
        return [(np.ascontiguousarray(p), np.ascontiguousarray(q).ravel()) for p, q in out]
    if len(pi) == cols:
        return [(planes, pi), (np.ascontiguousarray(planes[:, :, ::-1]),
                               np.ascontiguousarray(pi[::-1]))]
    return [(planes, pi)]


@dataclass
class AlphaZeroLog:
    """What :func:`train_alphazero` recorded: per iteration the self-play results (wins of
    the first player, draws, wins of the second) and the network calls; per training step the
    value loss (z − v)² and the policy loss −π · log p; ``positions``: the number of training
    positions in the replay buffer at the end (symmetric copies included)."""

    first_wins: list[int] = field(default_factory=list)
    draws: list[int] = field(default_factory=list)
    second_wins: list[int] = field(default_factory=list)
    net_calls: list[int] = field(default_factory=list)
    value_loss: list[float] = field(default_factory=list)
    policy_loss: list[float] = field(default_factory=list)
    positions: int = 0


def train_alphazero(initial_state, net: PolicyValueNet, *, iterations: int,
                    games_per_iteration: int = 24, n_simulations: int = 24,
                    steps_per_iteration: int = 40, batch_size: int = 64, lr: float = 3e-3,
                    weight_decay: float = 1e-4, replay: int = 4000, c_puct: float = 1.5,
                    dirichlet_alpha: float = 0.5, augment: bool = True, seed: int = 0,
                    progress: bool = True) -> AlphaZeroLog:
    """Alternate self-play and learning (module docstring) for ``iterations`` rounds.

    Each round plays ``games_per_iteration`` self-play games with the current network (its
    evaluations cached within the round), adds their positions to a replay buffer holding the
    latest ``replay`` positions, and takes ``steps_per_iteration`` AdamW steps on random
    mini-batches from the buffer. With ``augment`` every recorded position enters the buffer
    with all its symmetric copies (:func:`symmetries`), as AlphaGo Zero did for Go.

    Args:
        initial_state: the empty board of a game from :mod:`course_lib.scratch.games`.
        net: a :class:`PolicyValueNet` for that game (trained in place; evaluation mode after).
        iterations, games_per_iteration, n_simulations, steps_per_iteration, batch_size, lr,
        weight_decay, replay, c_puct, dirichlet_alpha, augment: as above.
        seed: seeds the search's generator and the mini-batches.
        progress: a tqdm bar over the rounds.
    """
    where = "train_alphazero"
    iterations = check_int(iterations, where, "iterations", low=1)
    games_per_iteration = check_int(games_per_iteration, where, "games_per_iteration", low=1)
    n_simulations = check_int(n_simulations, where, "n_simulations", low=1)
    steps_per_iteration = check_int(steps_per_iteration, where, "steps_per_iteration", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    lr = check_positive(lr, where, "lr")
    weight_decay = check_positive(weight_decay, where, "weight_decay", allow_zero=True)
    replay = check_int(replay, where, "replay", low=1)
    c_puct = check_positive(c_puct, where, "c_puct")
    dirichlet_alpha = check_positive(dirichlet_alpha, where, "dirichlet_alpha")
    seed = check_int(seed, where, "seed", low=0)
    device = model_device(net)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    evaluate = NetEvaluator(net)
    planes, policies, values = [], [], []
    log = AlphaZeroLog()

    def round_(i: int) -> dict[str, float]:
        evaluate.clear()
        calls_before = evaluate.calls
        results = []
        for _ in range(games_per_iteration):
            records, winner = self_play_game(initial_state, evaluate, n_simulations=n_simulations,
                                             rng=rng, c_puct=c_puct,
                                             dirichlet_alpha=dirichlet_alpha)
            results.append(winner)
            for x, pi, to_play in records:
                for x_sym, pi_sym in (symmetries(x, pi) if augment else [(x, pi)]):
                    planes.append(x_sym)
                    policies.append(pi_sym)
                    values.append(float(winner * to_play))
        del planes[:-replay], policies[:-replay], values[:-replay]
        log.first_wins.append(results.count(1))
        log.draws.append(results.count(0))
        log.second_wins.append(results.count(-1))
        log.net_calls.append(evaluate.calls - calls_before)
        X = torch.as_tensor(np.stack(planes), device=device)
        P = torch.as_tensor(np.stack(policies), dtype=torch.float32, device=device)
        Z = torch.as_tensor(values, dtype=torch.float32, device=device)
        net.train()
        for _ in range(steps_per_iteration):
            idx = torch.randint(0, len(X), (min(batch_size, len(X)),), generator=gen)
            logits, v = net(X[idx])
            value_loss = F.mse_loss(v, Z[idx])
            policy_loss = -(P[idx] * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
            optimizer_step(opt, value_loss + policy_loss)
            log.value_loss.append(value_loss.item())
            log.policy_loss.append(policy_loss.item())
        net.eval()
        log.positions = len(X)
        return {"draws": results.count(0) / len(results), "value_loss": log.value_loss[-1]}

    run_steps(round_, steps=iterations, models=[net], progress=progress, desc="self-play",
              where=where)
    return log


def alphazero_player(net: PolicyValueNet, n_simulations: int, *, c_puct: float = 1.5):
    """A player ``state -> move``: PUCT search guided by the network, no noise, the most
    visited move (ties: the lowest move number)."""
    where = "alphazero_player"
    n_simulations = check_int(n_simulations, where, "n_simulations", low=1)
    c_puct = check_positive(c_puct, where, "c_puct")
    evaluate = NetEvaluator(net)
    rng = np.random.default_rng(0)

    def player(state) -> int:
        result = M.puct_search(state, evaluate, n_simulations, c_puct=c_puct, rng=rng)
        return int(np.argmax(np.asarray(result.visits)))

    player.evaluate = evaluate
    return player

