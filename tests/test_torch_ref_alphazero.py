"""course_lib.torch_ref.alphazero: symmetries move the policy with the board, the evaluator
masks illegal moves, self-play records are consistent, training is seeded."""

import numpy as np
import pytest
import torch

from course_lib.scratch.games import ConnectFour, TicTacToe
from course_lib.torch_ref.alphazero import (
    NetEvaluator,
    PolicyValueNet,
    alphazero_player,
    self_play_game,
    symmetries,
    train_alphazero,
)


def test_symmetries_move_the_policy_with_the_board():
    state = TicTacToe().play(0).play(4).play(5)               # X at 0 and 5, O at 4
    planes = state.encode()
    pi = np.zeros(9)
    pi[[1, 8]] = [0.25, 0.75]
    copies = symmetries(planes, pi)
    assert len(copies) == 8 and np.array_equal(copies[0][0], planes)
    for p, q in copies:
        # the cell that carries policy mass must be empty in the transformed board, and the
        # number of stones and the policy's values are unchanged
        assert np.all(p.sum(0).ravel()[q > 0] == 0)
        assert p.sum() == planes.sum() and sorted(q) == sorted(pi)
    boards = {p.tobytes() for p, _ in copies}
    assert len(boards) == 8                                    # this position has no symmetry
    c4 = ConnectFour().play(0)
    pi4 = np.array([0.1, 0.2, 0.3, 0.4, 0.0])
    (p0, q0), (p1, q1) = symmetries(c4.encode(), pi4)
    assert np.array_equal(p1, p0[:, :, ::-1]) and np.array_equal(q1, pi4[::-1])


def test_evaluator_masks_illegal_moves_and_caches():
    net = PolicyValueNet(TicTacToe(), seed=0)
    ev = NetEvaluator(net)
    state = TicTacToe().play(4).play(0)
    priors, value = ev(state)
    assert priors.shape == (9,) and priors[[0, 4]].sum() == 0
    assert abs(priors.sum() - 1) < 1e-12 and -1 <= value <= 1
    ev(state)
    assert ev.calls == 1
    ev.clear()
    ev(state)
    assert ev.calls == 2
    with pytest.raises(ValueError, match=r"\(N, 2, 3, 3\)"):
        net(torch.zeros(1, 2, 4, 4))


def test_self_play_records_and_seeded_training():
    net = PolicyValueNet(TicTacToe(), hidden=16, seed=0)
    records, winner = self_play_game(TicTacToe(), NetEvaluator(net), n_simulations=8,
                                     rng=np.random.default_rng(0))
    assert winner in (-1, 0, 1) and 5 <= len(records) <= 9
    assert [r[2] for r in records] == [(-1) ** k for k in range(len(records))]
    assert all(abs(pi.sum() - 1) < 1e-12 and pi.shape == (9,) for _, pi, _ in records)
    losses = []
    for _ in range(2):
        net = PolicyValueNet(TicTacToe(), hidden=16, seed=0)
        log = train_alphazero(TicTacToe(), net, iterations=2, games_per_iteration=3,
                              n_simulations=8, steps_per_iteration=5, seed=1, progress=False)
        losses.append(log.value_loss + log.policy_loss)
    assert losses[0] == losses[1] and len(log.value_loss) == 10
    assert sum(log.first_wins) + sum(log.draws) + sum(log.second_wins) == 6
    assert not net.training
    move = alphazero_player(net, 8)(TicTacToe().play(4))
    assert move in TicTacToe().play(4).legal_moves()
    with pytest.raises(ValueError, match="iterations"):
        train_alphazero(TicTacToe(), net, iterations=0)
