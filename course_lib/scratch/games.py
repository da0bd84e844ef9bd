"""Two-player board games for game-tree search (NumPy only): tic-tac-toe and Connect Four.

**The interface.** A game here is two-player, zero-sum, deterministic and of perfect
information: both players see the whole board, and one player's win is the other's loss. A
*state* is an immutable object (play returns a new one, never changes the old), so states can
be shared between the nodes of a search tree and used as keys of a transposition table::

    state.to_play          +1 for the first player "X", -1 for the second "O"
    state.legal_moves()    tuple of ints, increasing (empty once the game is over)
    state.play(move)       the state after ``move`` (ValueError naming the legal moves if not)
    state.winner()         +1 X won, -1 O won, 0 draw, None while the game goes on
    state.is_terminal()    winner() is not None
    state.board()          (rows, cols) int8 array of +1 (X), -1 (O), 0 (empty); row 0 on top
    state.encode()         (2, rows, cols) float32: plane 0 the stones of the player to move,
                           plane 1 the opponent's (the input of a policy-value network)
    state.n_moves          the number of distinct moves: 9 for tic-tac-toe, cols for Connect Four
    hash(state), ==        equal boards are equal states (a position, not a move history)

A move is an int: for tic-tac-toe the cell ``3 * row + col`` (0..8, row-major); for Connect
Four the column (0..cols-1), and the stone falls to the lowest empty cell of that column.

**Zero-sum values and negamax.** With results scored +1 / 0 / -1 from X's viewpoint, the value
of a position *for the player to move* is::

    v(s) = winner(s) * to_play(s)                  if s is terminal
    v(s) = max_a  -v(play(s, a))                   otherwise

(what is good for me is exactly as bad for you, so one max with a sign flip replaces the
min/max pair of minimax). ``course_lib.scratch.mcts`` searches these trees.

**Bitboards.** A state is two Python ints, the bits of the cells held by the player to move
and by the opponent, so ``play`` costs a handful of integer operations and hashing is cheap.
Tic-tac-toe uses bit ``3 * row + col``; Connect Four stores the cells column by column from
the bottom, bit ``rows * col + height``, so that the cell where a stone lands in column c is
found with one addition (the carry runs through the filled cells of the column)::

    landing(c) = ((occupied & column_mask[c]) + bottom_bit[c]) & column_mask[c]   (0: full)

A win is checked only on the precomputed lines (runs of ``connect`` cells, in the four
directions) through the cell just played: ``bits & line == line``. Legal moves are a table
lookup on the occupied top cells.

Connect Four was solved by Allis (1988, "A knowledge-based approach of Connect-Four", MSc
thesis, Vrije Universiteit Amsterdam) and Allen (1989): on the standard 6 x 7 board the first
player wins. Tic-tac-toe is a draw with perfect play. The default ``ConnectFour()`` is a small
4 x 5 board so that searches finish in seconds on a laptop.

Usage::

    s = TicTacToe()
    s = s.play(4).play(0)              # X in the centre, O in a corner
    s.legal_moves()                    # (1, 2, 3, 5, 6, 7, 8)
    print(s)                           # O . . / . X . / . . .
    c4 = ConnectFour(rows=6, cols=7)   # the standard board
    winner, moves = play_game(random_player(rng), random_player(rng), TicTacToe())
    TicTacToe.from_board([[1, 1, 0], [-1, -1, 0], [0, 0, 0]]).legal_moves()  # X to play
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.scratch.validate import as_array, check_int, check_rng

__all__ = ["GameState", "TicTacToe", "ConnectFour", "play_game", "random_player"]

_SYMBOL = {1: "X", -1: "O", 0: "."}


class _Config:
    """The precomputed tables of one board geometry (shared by all its states).

    Attributes:
        rows, cols, connect: the geometry; ``n_cells = rows * cols``.
        n_moves: the number of distinct moves.
        masks, lows: per move, the mask of the cells the move may fill and its lowest bit
            (tic-tac-toe: both the single cell; Connect Four: the column and its bottom cell).
        top: the mask of the cells whose occupancy decides which moves are legal.
        moves_of: dict ``occupied & top`` -> tuple of legal moves.
        lines: dict bit -> tuple of the line masks through that cell.
        all_lines: tuple of every line mask.
        full: the mask of all cells.
        shifts, flat: (n_cells,) uint64 / int64 arrays: bit i is board cell ``flat[i]`` (row-major).
    """

    def __init__(self, name: str, rows: int, cols: int, connect: int, gravity: bool):
        self.name, self.rows, self.cols, self.connect = name, rows, cols, connect
        self.n_cells = rows * cols
        self.gravity = gravity
        if gravity:   # bit rows * c + h is row (rows - 1 - h), column c of the board
            def bit_of(r, c):
                return 1 << (rows * c + rows - 1 - r)
            self.n_moves = cols
            self.masks = [((1 << rows) - 1) << (rows * c) for c in range(cols)]
            self.lows = [1 << (rows * c) for c in range(cols)]
            self.top = sum(1 << (rows * c + rows - 1) for c in range(cols))
            tops = [1 << (rows * c + rows - 1) for c in range(cols)]
            self.moves_of = {}
            for k in range(1 << cols):
                occ = sum(t for i, t in enumerate(tops) if k >> i & 1)
                self.moves_of[occ] = tuple(c for c in range(cols) if not k >> c & 1)
        else:         # bit cols * r + c
            def bit_of(r, c):
                return 1 << (cols * r + c)
            self.n_moves = rows * cols
            self.masks = [1 << i for i in range(self.n_cells)]
            self.lows = list(self.masks)
            self.top = (1 << self.n_cells) - 1
            self.moves_of = {occ: tuple(i for i in range(self.n_cells) if not occ >> i & 1)
                             for occ in range(1 << self.n_cells)}
        self.full = (1 << self.n_cells) - 1
        lines = []
        for r in range(rows):
            for c in range(cols):
                for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                    cells = [(r + i * dr, c + i * dc) for i in range(connect)]
                    if all(0 <= rr < rows and 0 <= cc < cols for rr, cc in cells):
                        lines.append(sum(bit_of(rr, cc) for rr, cc in cells))
        self.all_lines = tuple(lines)
        self.lines = {}
        flat = np.zeros(self.n_cells, dtype=np.int64)
        for r in range(rows):
            for c in range(cols):
                b = bit_of(r, c)
                self.lines[b] = tuple(L for L in lines if L & b)
                flat[b.bit_length() - 1] = r * cols + c
        self.flat = flat
        self.shifts = np.arange(self.n_cells, dtype=np.uint64)

    def bits_to_cells(self, bits: int) -> np.ndarray:
        """(n_cells,) int8 0/1 in board (row-major) order of the cells set in ``bits``."""
        out = np.zeros(self.n_cells, dtype=np.int8)
        on = (np.uint64(bits) >> self.shifts) & np.uint64(1)
        out[self.flat] = on
        return out


_CONFIGS: dict[tuple, _Config] = {}


def _config(name: str, rows: int, cols: int, connect: int, gravity: bool) -> _Config:
    key = (name, rows, cols, connect)
    cfg = _CONFIGS.get(key)
    if cfg is None:
        cfg = _CONFIGS[key] = _Config(name, rows, cols, connect, gravity)
    return cfg


class GameState:
    """An immutable position of a two-player, zero-sum board game (see the module docstring).

    Made by the subclasses :class:`TicTacToe` and :class:`ConnectFour`; every method below is
    shared. Internally ``_me`` / ``_opp`` are the bitboards of the player to move and of the
    opponent, ``_key = _me | _opp << n_cells`` identifies the position.
    """

    __slots__ = ("_cfg", "_me", "_opp", "_to_play", "_winner", "_key")

    @classmethod
    def _make(cls, cfg: _Config, me: int, opp: int, to_play: int, winner):
        s = object.__new__(cls)
        s._cfg, s._me, s._opp, s._to_play, s._winner = cfg, me, opp, to_play, winner
        s._key = me | opp << cfg.n_cells
        return s

    # ----- the game interface -------------------------------------------------------------
    @property
    def to_play(self) -> int:
        """+1 when the first player (X) is to move, -1 for the second (O)."""
        return self._to_play

    @property
    def n_moves(self) -> int:
        """The number of distinct moves (the length of a policy vector): 9 or cols."""
        return self._cfg.n_moves

    @property
    def rows(self) -> int:
        """Board height."""
        return self._cfg.rows

    @property
    def cols(self) -> int:
        """Board width."""
        return self._cfg.cols

    @property
    def connect(self) -> int:
        """Stones in a row needed to win (3 for tic-tac-toe)."""
        return self._cfg.connect

    @property
    def n_stones(self) -> int:
        """Stones on the board (moves played so far)."""
        return (self._me | self._opp).bit_count()

    def legal_moves(self) -> tuple[int, ...]:
        """The legal moves, increasing ints; ``()`` once the game is over."""
        if self._winner is not None:
            return ()
        cfg = self._cfg
        return cfg.moves_of[(self._me | self._opp) & cfg.top]

    def play(self, move: int) -> GameState:
        """The state after the player to move plays ``move`` (an int, see the module doc).

        Raises ``ValueError`` naming the legal moves if ``move`` is illegal or the game is
        over, ``TypeError`` if it is not an int.
        """
        cfg = self._cfg
        if self._winner is not None:
            raise ValueError(f"{cfg.name}.play: the game is over (winner "
                             f"{self._winner:+d}); there are no legal moves")
        if type(move) is not int:
            if isinstance(move, bool) or not isinstance(move, np.integer):
                raise TypeError(f"{cfg.name}.play: move must be an int, got "
                                f"{type(move).__name__} {move!r}")
            move = int(move)
        occ = self._me | self._opp
        if 0 <= move < cfg.n_moves:
            mk = cfg.masks[move]
            bit = ((occ & mk) + cfg.lows[move]) & mk
        else:
            bit = 0
        if not bit:
            what = "column is full" if cfg.gravity and 0 <= move < cfg.n_moves else \
                "cell is taken" if 0 <= move < cfg.n_moves else "move is off the board"
            raise ValueError(f"{cfg.name}.play: move {move} is illegal ({what}); "
                             f"legal moves are {self.legal_moves()}")
        nb = self._me | bit
        winner = None
        for L in cfg.lines[bit]:
            if nb & L == L:
                winner = self._to_play
                break
        else:
            if occ | bit == cfg.full:
                winner = 0
        return self._make(cfg, self._opp, nb, -self._to_play, winner)

    def winner(self) -> int | None:
        """+1 if X won, -1 if O won, 0 for a draw, None while the game goes on."""
        return self._winner

    def is_terminal(self) -> bool:
        """True once the game is over (a win or a full board)."""
        return self._winner is not None

    # ----- views ----------------------------------------------------------------------------
    def board(self) -> np.ndarray:
        """(rows, cols) int8 array: +1 X, -1 O, 0 empty; row 0 is the top row."""
        cfg = self._cfg
        x, o = (self._me, self._opp) if self._to_play == 1 else (self._opp, self._me)
        flat = cfg.bits_to_cells(x) - cfg.bits_to_cells(o)
        return flat.reshape(cfg.rows, cfg.cols)

    def encode(self) -> np.ndarray:
        """(2, rows, cols) float32: plane 0 the stones of the player to move, plane 1 the
        opponent's (so a network always sees the position from the mover's side)."""
        cfg = self._cfg
        out = np.empty((2, cfg.rows, cfg.cols), dtype=np.float32)
        out[0] = cfg.bits_to_cells(self._me).reshape(cfg.rows, cfg.cols)
        out[1] = cfg.bits_to_cells(self._opp).reshape(cfg.rows, cfg.cols)
        return out

    def __str__(self) -> str:
        b = self.board()
        lines = [" ".join(_SYMBOL[int(v)] for v in row) for row in b]
        if self._cfg.gravity:
            lines.append(" ".join(str(c % 10) for c in range(self._cfg.cols)))
        return "\n".join(lines)

    def __repr__(self) -> str:
        status = ("draw" if self._winner == 0 else f"{_SYMBOL[self._winner]} won"
                  if self._winner is not None else f"{_SYMBOL[self._to_play]} to play")
        rows = "/".join("".join(_SYMBOL[int(v)] for v in row) for row in self.board())
        return f"{self._cfg.name}('{rows}', {status})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other) -> bool:
        if not isinstance(other, GameState):
            return NotImplemented
        return self._cfg is other._cfg and self._key == other._key

    # ----- building a state from a board ----------------------------------------------------
    @classmethod
    def _from_board(cls, cfg: _Config, board, where: str) -> GameState:
        b = as_array(board, where, "board", ndim=2, dtype_kind="iuf")
        if b.shape != (cfg.rows, cfg.cols):
            raise ValueError(f"{where}: board must have shape ({cfg.rows}, {cfg.cols}), "
                             f"got {b.shape}")
        if not np.all(np.isin(b, (-1, 0, 1))):
            raise ValueError(f"{where}: board must hold only +1 (X), -1 (O) and 0 (empty), "
                             f"got values {sorted(set(np.unique(b).tolist()))}")
        b = b.astype(np.int64)
        x = o = 0
        for i in range(cfg.n_cells):
            v = b.flat[cfg.flat[i]]
            if v == 1:
                x |= 1 << i
            elif v == -1:
                o |= 1 << i
        nx, no = x.bit_count(), o.bit_count()
        if nx not in (no, no + 1):
            raise ValueError(f"{where}: X moves first, so X must have as many stones as O or "
                             f"one more; got {nx} X and {no} O")
        if cfg.gravity:
            for c in range(cfg.cols):
                col = b[:, c][::-1]           # bottom first
                h = int(np.count_nonzero(col))
                if np.any(col[:h] == 0):
                    raise ValueError(f"{where}: column {c} has a stone above an empty cell "
                                     f"(stones fall to the bottom)")
        x_won = any(x & L == L for L in cfg.all_lines)
        o_won = any(o & L == L for L in cfg.all_lines)
        if x_won and o_won:
            raise ValueError(f"{where}: both X and O have {cfg.connect} in a row; the game "
                             f"stops at the first")
        if x_won and nx != no + 1:
            raise ValueError(f"{where}: X has {cfg.connect} in a row, so X moved last and must "
                             f"have one stone more than O; got {nx} X and {no} O")
        if o_won and nx != no:
            raise ValueError(f"{where}: O has {cfg.connect} in a row, so O moved last and must "
                             f"have as many stones as X; got {nx} X and {no} O")
        to_play = 1 if nx == no else -1
        winner = 1 if x_won else -1 if o_won else 0 if (x | o) == cfg.full else None
        me, opp = (x, o) if to_play == 1 else (o, x)
        return cls._make(cfg, me, opp, to_play, winner)


class TicTacToe(GameState):
    """Tic-tac-toe on a 3 x 3 board: ``TicTacToe()`` is the empty board, X to play.

    Moves are cells ``3 * row + col`` (0..8, row-major); three in a row, column or diagonal
    wins. ``n_moves = 9``. See :class:`GameState` for the methods.
    """

    __slots__ = ()

    def __init__(self):
        cfg = _config("TicTacToe", 3, 3, 3, gravity=False)
        self._cfg, self._me, self._opp, self._to_play, self._winner = cfg, 0, 0, 1, None
        self._key = 0

    @classmethod
    def from_board(cls, board) -> TicTacToe:
        """The state with ``board`` ((3, 3) array-like of +1 X / -1 O / 0 empty).

        Whose turn it is follows from the counts (X moves first). Raises ``ValueError`` for
        impossible boards (wrong counts, both players with three in a row, ...).
        """
        cfg = _config("TicTacToe", 3, 3, 3, gravity=False)
        return cls._from_board(cfg, board, "TicTacToe.from_board")


class ConnectFour(GameState):
    """Connect Four: ``ConnectFour(rows=4, cols=5, connect=4)`` is the empty board, X to play.

    Moves are columns 0..cols-1; the stone falls to the lowest empty cell. ``connect`` stones
    in a row, column or diagonal win. The default 4 x 5 board keeps searches short; the
    standard game is ``ConnectFour(6, 7)``. ``n_moves = cols``.

    Args:
        rows, cols: board size, 1..16 each (rows * cols <= 64).
        connect: stones in a row to win, 2..max(rows, cols).
    """

    __slots__ = ()

    def __init__(self, rows: int = 4, cols: int = 5, connect: int = 4):
        rows = check_int(rows, "ConnectFour", "rows", low=1, high=16)
        cols = check_int(cols, "ConnectFour", "cols", low=1, high=16)
        connect = check_int(connect, "ConnectFour", "connect", low=2, high=max(rows, cols))
        if rows * cols > 64:
            raise ValueError(f"ConnectFour: rows * cols must be <= 64, got {rows * cols}")
        cfg = _config("ConnectFour", rows, cols, connect, gravity=True)
        self._cfg, self._me, self._opp, self._to_play, self._winner = cfg, 0, 0, 1, None
        self._key = 0

    @classmethod
    def from_board(cls, board, connect: int = 4) -> ConnectFour:
        """The state with ``board`` ((rows, cols) array-like of +1 X / -1 O / 0 empty, row 0
        on top). Raises ``ValueError`` for impossible boards (floating stones, wrong counts,
        both players with ``connect`` in a row, ...)."""
        b = as_array(board, "ConnectFour.from_board", "board", ndim=2, dtype_kind="iuf")
        rows, cols = b.shape
        empty = cls(rows, cols, connect)
        return cls._from_board(empty._cfg, b, "ConnectFour.from_board")


# ---------------------------------------------------------------------------------------------
# Playing games
# ---------------------------------------------------------------------------------------------

Player = Callable[[GameState], int]


def play_game(first: Player, second: Player, state: GameState | None = None
              ) -> tuple[int, list[int]]:
    """Play one game to the end: ``first`` moves in ``state``, then they alternate.

    Args:
        first, second: players, callables ``player(state) -> move``.
        state: the starting position (default: an empty ``TicTacToe()``).

    Returns:
        ``(winner, moves)``: the winner in board terms (+1 X, -1 O, 0 draw; ``first`` is X when
        ``state`` has X to play) and the list of moves played.
    """
    if state is None:
        state = TicTacToe()
    if not isinstance(state, GameState):
        raise TypeError(f"play_game: state must be a GameState (e.g. TicTacToe()), "
                        f"got {type(state).__name__}")
    for name, p in (("first", first), ("second", second)):
        if not callable(p):
            raise TypeError(f"play_game: {name} must be a callable player(state) -> move, "
                            f"got {type(p).__name__}")
    players, moves, i = (first, second), [], 0
    while state._winner is None:
        move = players[i](state)
        try:
            state = state.play(move)
        except (ValueError, TypeError) as e:
            who = "first" if i == 0 else "second"
            raise ValueError(f"play_game: the {who} player chose an illegal move: {e}") from None
        moves.append(int(move))
        i = 1 - i
    return state._winner, moves


def random_player(rng: np.random.Generator) -> Player:
    """A player that picks a legal move uniformly at random with ``rng``."""
    check_rng(rng, "random_player")

    def player(state: GameState) -> int:
        moves = state.legal_moves()
        return moves[int(rng.integers(len(moves)))]

    return player
