"""course_lib.scratch.games: tic-tac-toe and Connect Four follow the rules (wins on rows,
columns and both diagonals, gravity, draws), the bitboard win detection agrees with a brute-force
scan of the board on many random games, states are immutable and hashable (transpositions are
equal), boards round-trip through from_board, encode gives the mover's planes, and bad input
(illegal moves, impossible boards, wrong types) gives clear errors."""

import itertools

import numpy as np
import pytest

from course_lib.scratch.games import ConnectFour, GameState, TicTacToe, play_game, random_player


def play_all(state, moves):
    for m in moves:
        state = state.play(m)
    return state


def brute_lines(board, connect):
    """The set of players (+1 / -1) with `connect` in a row on the (rows, cols) board."""
    rows, cols = board.shape
    found = set()
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + i * dr, c + i * dc) for i in range(connect)]
                if all(0 <= a < rows and 0 <= b < cols for a, b in cells):
                    vals = {int(board[a, b]) for a, b in cells}
                    if len(vals) == 1 and 0 not in vals:
                        found |= vals
    return found


def brute_winner(board, connect):
    """+1 / -1 if that player has `connect` in a row on the (rows, cols) board, else 0."""
    found = brute_lines(board, connect)
    assert len(found) <= 1
    return found.pop() if found else 0


# --- tic-tac-toe ---------------------------------------------------------------------------

def test_empty_tictactoe():
    s = TicTacToe()
    assert s.to_play == 1 and s.n_moves == 9 and s.n_stones == 0
    assert s.legal_moves() == tuple(range(9))
    assert s.winner() is None and not s.is_terminal()
    assert s.board().shape == (3, 3) and not s.board().any()


LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


@pytest.mark.parametrize("line", LINES)
def test_tictactoe_every_line_wins(line):
    others = [m for m in range(9) if m not in line]
    s = play_all(TicTacToe(), [line[0], others[0], line[1], others[1], line[2]])
    assert s.winner() == 1 and s.is_terminal() and s.legal_moves() == ()
    # O on the line, X on three other cells that make no line: O has won
    for xs in itertools.combinations(others, 3):
        b = np.zeros(9, dtype=int)
        b[list(xs)], b[list(line)] = 1, -1
        if brute_lines(b.reshape(3, 3), 3) == {-1}:
            break
    st = TicTacToe.from_board(b.reshape(3, 3))
    assert st.winner() == -1 and st.legal_moves() == ()
    # and O can complete it by playing
    before = b.copy()
    before[line[2]] = 0
    assert TicTacToe.from_board(before.reshape(3, 3)).play(line[2]).winner() == -1


def test_o_wins_a_column():
    s = play_all(TicTacToe(), [0, 2, 3, 5, 7, 8])   # O holds 2, 5, 8
    assert s.winner() == -1 and s.to_play == 1
    assert "O" in str(s) and repr(s).endswith("O won)")


def test_tictactoe_draw():
    s = play_all(TicTacToe(), [0, 1, 2, 4, 3, 5, 7, 6, 8])
    assert s.winner() == 0 and s.is_terminal() and s.legal_moves() == ()
    assert str(s) == "X O X\nX O O\nO X X"


def test_turns_alternate_and_board_values():
    s = play_all(TicTacToe(), [4, 0])
    assert s.to_play == 1 and s.n_stones == 2
    np.testing.assert_array_equal(s.board(), [[-1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert s.legal_moves() == (1, 2, 3, 5, 6, 7, 8)


def test_illegal_moves_name_the_legal_ones():
    s = play_all(TicTacToe(), [4, 0])
    with pytest.raises(ValueError, match=r"move 4 is illegal.*legal moves are \(1, 2, 3, 5"):
        s.play(4)
    with pytest.raises(ValueError, match="off the board.*legal moves are"):
        s.play(9)
    with pytest.raises(ValueError, match="off the board"):
        s.play(-1)
    with pytest.raises(TypeError, match="move must be an int"):
        s.play(1.0)
    with pytest.raises(TypeError, match="move must be an int"):
        s.play(True)
    done = play_all(TicTacToe(), [0, 3, 1, 4, 2])
    with pytest.raises(ValueError, match="game is over"):
        done.play(5)
    assert s.play(np.int64(1)) == s.play(1)


def test_states_are_immutable_and_hashable():
    s = TicTacToe()
    t = s.play(4)
    assert s.board().sum() == 0 and s.to_play == 1      # unchanged
    with pytest.raises(AttributeError):
        t.to_play = 1
    a = play_all(TicTacToe(), [0, 4, 8])
    b = play_all(TicTacToe(), [8, 4, 0])                # same position, other order
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != play_all(TicTacToe(), [0, 4, 7])
    assert TicTacToe() == TicTacToe() and TicTacToe() != ConnectFour(3, 3, 3)
    assert ConnectFour() != ConnectFour(6, 7)


def test_encode_planes_follow_the_player_to_move():
    s = play_all(TicTacToe(), [4, 0, 8])                 # O to move
    e = s.encode()
    assert e.shape == (2, 3, 3) and e.dtype == np.float32
    np.testing.assert_array_equal(e[0], (s.board() == -1))   # O's stones first
    np.testing.assert_array_equal(e[1], (s.board() == 1))
    e2 = s.play(1).encode()                              # X to move
    np.testing.assert_array_equal(e2[0], (s.play(1).board() == 1))


def test_from_board_round_trip_and_turn():
    s = TicTacToe.from_board([[1, 1, 0], [-1, -1, 0], [0, 0, 0]])
    assert s.to_play == 1 and s.legal_moves() == (2, 5, 6, 7, 8) and s.winner() is None
    assert s.play(2).winner() == 1
    t = TicTacToe.from_board(np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0]]))
    assert t.to_play == -1 and t == TicTacToe().play(0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        st = TicTacToe()
        for _ in range(int(rng.integers(0, 9))):
            if st.is_terminal():
                break
            st = st.play(random_player(rng)(st))
        back = TicTacToe.from_board(st.board())
        assert back == st and back.to_play == st.to_play and back.winner() == st.winner()


def test_from_board_rejects_impossible_boards():
    with pytest.raises(ValueError, match="shape"):
        TicTacToe.from_board(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="only"):
        TicTacToe.from_board([[2, 0, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="X moves first"):
        TicTacToe.from_board([[-1, 0, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="both X and O"):
        TicTacToe.from_board([[1, 1, 1], [-1, -1, -1], [1, 0, 0]])
    with pytest.raises(ValueError, match="X has 3 in a row"):
        TicTacToe.from_board([[1, 1, 1], [-1, -1, 0], [0, 0, -1]])
    with pytest.raises(TypeError, match="torch|array"):
        TicTacToe.from_board("xo")


# --- Connect Four ---------------------------------------------------------------------------

def test_connect_four_gravity():
    s = ConnectFour()                                    # 4 x 5, connect 4
    assert s.n_moves == 5 and s.board().shape == (4, 5) and s.connect == 4
    s = play_all(s, [2, 2, 2])
    np.testing.assert_array_equal(s.board()[:, 2], [0, 1, -1, 1])   # bottom row is last
    s = s.play(2)
    assert 2 not in s.legal_moves() and s.legal_moves() == (0, 1, 3, 4)
    with pytest.raises(ValueError, match=r"column is full.*legal moves are \(0, 1, 3, 4\)"):
        s.play(2)
    assert str(s).splitlines()[-1] == "0 1 2 3 4"


def test_connect_four_wins():
    vertical = play_all(ConnectFour(6, 7), [0, 1, 0, 1, 0, 1, 0])
    assert vertical.winner() == 1
    horizontal = play_all(ConnectFour(6, 7), [0, 0, 1, 1, 2, 2, 3])
    assert horizontal.winner() == 1
    # rising diagonal (bottom-left to top-right) for X: columns 0..3 at heights 0..3
    rising = play_all(ConnectFour(6, 7), [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3])
    assert rising.winner() == 1
    assert brute_winner(rising.board(), 4) == 1
    # falling diagonal: mirror image
    falling = play_all(ConnectFour(6, 7), [6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3])
    assert falling.winner() == 1
    # O wins vertically
    o_wins = play_all(ConnectFour(), [0, 1, 2, 1, 3, 1, 4, 1])
    assert o_wins.winner() == -1
    # no win with three
    assert play_all(ConnectFour(), [0, 1, 0, 1, 0]).winner() is None


def test_connect_four_draw_on_a_tiny_board():
    s = play_all(ConnectFour(2, 2, 2), [0, 1])
    assert s.winner() is None
    s = play_all(ConnectFour(2, 3, 3), [0, 1, 2, 0, 1, 2])
    assert s.winner() == 0 and s.legal_moves() == ()


@pytest.mark.parametrize("shape", [(6, 7, 4), (4, 5, 4), (3, 4, 3), (5, 5, 3)])
def test_random_games_agree_with_brute_force(shape):
    rows, cols, k = shape
    rng = np.random.default_rng(rows * 100 + cols)
    for _ in range(60):
        s = ConnectFour(rows, cols, k)
        while True:
            w = brute_winner(s.board(), k)
            full = not (s.board() == 0).any()
            expected = w if w else (0 if full else None)
            assert s.winner() == expected
            assert ConnectFour.from_board(s.board(), connect=k) == s
            if s.is_terminal():
                break
            legal = s.legal_moves()
            assert legal == tuple(c for c in range(cols) if s.board()[0, c] == 0)
            s = s.play(legal[int(rng.integers(len(legal)))])


def test_connect_four_bad_input():
    with pytest.raises(ValueError, match="connect"):
        ConnectFour(4, 5, 6)
    with pytest.raises(TypeError, match="rows must be an int"):
        ConnectFour(4.0, 5)
    with pytest.raises(ValueError, match="above an empty cell"):
        ConnectFour.from_board([[1, 0, 0], [0, 0, 0], [-1, 0, 0]], connect=3)


# --- playing games -------------------------------------------------------------------------

def test_play_game_random_players_are_reproducible():
    def run(seed):
        rng = np.random.default_rng(seed)
        return play_game(random_player(rng), random_player(rng), TicTacToe())
    assert run(3) == run(3)
    results = [run(s) for s in range(200)]
    for winner, moves in results:
        final = play_all(TicTacToe(), moves)
        assert final.winner() == winner and final.is_terminal()
    wins = [w for w, _ in results]
    # a random first player wins tic-tac-toe about 58% of the time, O about 29%
    assert 0.45 < wins.count(1) / 200 < 0.72 and wins.count(-1) > 30


def test_play_game_on_connect_four_and_errors():
    rng = np.random.default_rng(0)
    winner, moves = play_game(random_player(rng), random_player(rng), ConnectFour(6, 7))
    assert play_all(ConnectFour(6, 7), moves).winner() == winner
    with pytest.raises(ValueError, match="first player chose an illegal move"):
        play_game(lambda s: 99, random_player(rng), TicTacToe())
    with pytest.raises(TypeError, match="callable"):
        play_game(None, random_player(rng), TicTacToe())
    with pytest.raises(TypeError, match="GameState"):
        play_game(random_player(rng), random_player(rng), "board")
    with pytest.raises(TypeError, match="Generator"):
        random_player(0)
    assert isinstance(TicTacToe(), GameState)
