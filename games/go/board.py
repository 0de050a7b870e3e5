"""The readable Go API over the compiled core.

``Position`` is immutable by default: ``pos.play(move)`` returns a new
position and keeps a link to its parent (``undo``).  ``play(move,
inplace=True)`` is the mutating fast path for loops that own their position
(it drops the parent link: no ``undo``).

A position carries its own recent history, whichever way it was played: the
superko hashes, the last two moves (``last_move``, ``previous_move``) and what
the feature encoders read (how many moves ago each stone was played, and the
boards before the last 8 moves; see ``_core``).  So in-place and immutable
play encode identically, and nothing reads the parent chain but ``undo``.

>>> from games.go import Position, Rules
>>> pos = Position.empty(Rules(size=9))
>>> pos = pos.play(40)            # black on the centre point (E5)
>>> pos.to_move == WHITE
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from games.go import _core, coords
from games.go._core import BLACK, EMPTY, WHITE

__all__ = [
    "BLACK",
    "EMPTY",
    "WHITE",
    "IllegalMoveError",
    "KO_RULES",
    "Position",
    "Rules",
    "color_name",
    "fixed_handicap_points",
    "max_fixed_handicap",
    "opponent",
    "parse_color",
    "score_to_result",
]

KO_RULES = {"simple": _core.KO_SIMPLE, "positional": _core.KO_POSITIONAL, "situational": _core.KO_SITUATIONAL}
_COLOR_NAMES = {BLACK: "black", WHITE: "white"}


class IllegalMoveError(ValueError):
    """A move the rules forbid; the message names the move and the reason."""


def opponent(color: int) -> int:
    return 3 - color


def color_name(color: int) -> str:
    return _COLOR_NAMES[color]


def parse_color(text: str) -> int:
    """``b``/``black``/``w``/``white`` (any case) -> BLACK/WHITE."""
    t = text.strip().lower()
    if t in ("b", "black"):
        return BLACK
    if t in ("w", "white"):
        return WHITE
    raise ValueError(f"invalid color {text!r}: expected black or white")


@dataclass(frozen=True)
class Rules:
    """Board size, komi, ko rule and suicide: everything that changes legality or score."""

    size: int = 19
    komi: float = 7.5
    ko: str = "positional"
    allow_suicide: bool = False

    def __post_init__(self) -> None:
        coords.check_size(self.size)
        if self.ko not in KO_RULES:
            raise ValueError(f"unknown ko rule {self.ko!r}: expected one of {', '.join(KO_RULES)}")
        if not isinstance(self.komi, (int, float)) or self.komi != self.komi:
            raise ValueError(f"komi must be a number, got {self.komi!r}")
        object.__setattr__(self, "komi", float(self.komi))

    @property
    def num_points(self) -> int:
        return self.size * self.size

    @property
    def pass_move(self) -> int:
        return self.size * self.size


class _History:
    """An append-only buffer of position hashes shared along a line of play.

    A position owns the first ``g[NUM_HIST]`` entries.  A child may append in
    place only when nobody has appended past its parent yet (``used``);
    otherwise (a second branch from the same parent) it copies.
    """

    __slots__ = ("arr", "used")

    def __init__(self, arr: np.ndarray, used: int):
        self.arr = arr  # int64 [2, capacity]
        self.used = used

    def for_append(self, n: int) -> _History:
        """A buffer holding these first n entries with room to write entry n."""
        cap = self.arr.shape[1]
        if self.used == n and n < cap:
            return self
        arr = np.zeros((2, cap * 2 if n >= cap else cap), np.int64)
        arr[:, :n] = self.arr[:, :n]
        return _History(arr, n)


class Position:
    """A Go position: stones, side to move, ko state, captures and the game's history."""

    __slots__ = ("rules", "parent", "last_move", "previous_move", "_geo", "_s", "_g", "_hist", "_trace")

    def __init__(self, rules: Rules, *, _state=None, parent: Position | None = None, last_move: int | None = None,
                 previous_move: int | None = None):
        self.rules = rules
        self._geo = _core.geometry(rules.size)
        if _state is None:
            s, g, hist = _core.new_state(rules.size)
            _state = (s, g, _History(hist, int(g[_core.NUM_HIST])), _core.new_trace(rules.size))
        # _hist: _History; _trace int8 [TRACE_ROWS, M]: the encoders' history (see _core)
        self._s, self._g, self._hist, self._trace = _state
        self.parent = parent  # for undo() only
        self.last_move = last_move  # the move that led here (pass = N*N), None for none or setup
        self.previous_move = previous_move  # the last_move of the position before, None for none

    def _child(self, hist: _History, *, last_move: int | None) -> Position:
        # the hot path of immutable play: fill the slots directly rather than through __init__
        pos = Position.__new__(Position)
        pos.rules = self.rules
        pos._geo = self._geo
        pos._s = self._s.copy()
        pos._g = self._g.copy()
        pos._hist = hist
        pos._trace = self._trace.copy()
        pos.parent = self
        pos.last_move = last_move
        pos.previous_move = self.last_move
        return pos

    # ---- construction ----------------------------------------------------------
    @classmethod
    def empty(cls, rules: Rules | None = None, **rule_kwargs) -> Position:
        return cls(rules if rules is not None else Rules(**rule_kwargs))

    @classmethod
    def from_ascii(cls, text: str, rules: Rules | None = None, *, to_move: int = BLACK) -> Position:
        """A position from rows of ``X`` (black), ``O`` (white) and ``.`` (empty).

        Whitespace inside a row is ignored; the size is the number of rows.
        """
        rows = ["".join(line.split()) for line in text.strip().splitlines() if line.strip()]
        size = len(rows)
        if any(len(r) != size for r in rows):
            raise ValueError(f"ASCII board must be square: {size} rows of lengths {[len(r) for r in rows]}")
        rules = rules or Rules(size=size)
        if rules.size != size:
            raise ValueError(f"ASCII board is {size}x{size} but rules say {rules.size}")
        table = {"X": BLACK, "O": WHITE, ".": EMPTY, "+": EMPTY}
        colors = np.zeros(size * size, np.int8)
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                if ch not in table:
                    raise ValueError(f"ASCII board row {r + 1}: unexpected character {ch!r}")
                colors[r * size + c] = table[ch]
        return cls(rules)._with_colors(colors, to_move=to_move)

    def copy(self) -> Position:
        n = int(self._g[_core.NUM_HIST])
        return Position(self.rules, _state=(self._s.copy(), self._g.copy(), _History(self._hist.arr.copy(), n),
                                            self._trace.copy()),
                        parent=self.parent, last_move=self.last_move, previous_move=self.previous_move)

    # ---- properties ------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.rules.size

    @property
    def pass_move(self) -> int:
        return self.rules.size * self.rules.size

    @property
    def to_move(self) -> int:
        return int(self._g[_core.TO_MOVE])

    @property
    def ko_point(self) -> int | None:
        ko = int(self._g[_core.KO])
        return None if ko == _core.NO_POINT else ko

    @property
    def passes(self) -> int:
        """Consecutive passes at the end of the game so far."""
        return int(self._g[_core.PASSES])

    @property
    def is_over(self) -> bool:
        return self.passes >= 2

    @property
    def captures(self) -> dict[int, int]:
        """Stones captured *by* each colour."""
        return {BLACK: int(self._g[_core.CAPS_BLACK]), WHITE: int(self._g[_core.CAPS_WHITE])}

    @property
    def zobrist(self) -> int:
        return int(self._g[_core.HASH])

    @property
    def move_number(self) -> int:
        """Moves played so far, passes included (setup stones are not moves)."""
        return int(self._g[_core.MOVES])

    def stones(self) -> np.ndarray:
        """int8 [N*N]: EMPTY/BLACK/WHITE per point (a copy)."""
        return self._s[_core.COLOR].astype(np.int8)

    def color_at(self, p: int) -> int:
        return int(self._s[_core.COLOR, p])

    def liberties_at(self, p: int) -> int:
        """Liberties of the chain at p (0 for an empty point)."""
        if self._s[_core.COLOR, p] == EMPTY:
            return 0
        geo = self._geo
        return int(_core.liberties(self._s, geo.num_nbr, geo.nbr, self._s[_core.HEAD, p]))

    def chain_at(self, p: int) -> list[int]:
        """The stones of the chain at p, sorted (empty for an empty point)."""
        if self._s[_core.COLOR, p] == EMPTY:
            return []
        head = self._s[_core.HEAD, p]
        out, r = [], head
        while True:
            out.append(int(r))
            r = self._s[_core.NEXT, r]
            if r == head:
                return sorted(out)

    # ---- rules -------------------------------------------------------------------
    def _color(self, color: int | None) -> int:
        if color is None:
            return self.to_move
        if color not in (BLACK, WHITE):
            raise ValueError(f"invalid color {color!r}")
        return color

    def is_legal(self, move: int, color: int | None = None) -> bool:
        c = self._color(color)
        if not 0 <= move <= self.pass_move:
            return False
        geo = self._geo
        return bool(_core.is_legal(self._s, self._g, self._hist.arr, geo.nbr, geo.num_nbr, geo.zob, move, c,
                                   KO_RULES[self.rules.ko], self.rules.allow_suicide))

    def legal_mask(self, color: int | None = None) -> np.ndarray:
        """bool [N*N + 1]: legal moves of ``color`` (default: side to move), pass last."""
        geo = self._geo
        return _core.legal_mask(self._s, self._g, self._hist.arr, geo.nbr, geo.num_nbr, geo.zob, self._color(color),
                                KO_RULES[self.rules.ko], self.rules.allow_suicide)

    def legal_moves(self, color: int | None = None) -> list[int]:
        return [int(p) for p in np.flatnonzero(self.legal_mask(color))]

    def why_illegal(self, move: int, color: int | None = None) -> str | None:
        """None for a legal move, else a short reason."""
        c = self._color(color)
        if not 0 <= move <= self.pass_move:
            return f"{move} is not a move on a {self.size}x{self.size} board"
        if self.is_legal(move, c):
            return None
        if self._s[_core.COLOR, move] != EMPTY:
            return "point is occupied"
        if move == self.ko_point:
            return "ko"
        geo = self._geo
        if not _core.is_legal(self._s, self._g, self._hist.arr, geo.nbr, geo.num_nbr, geo.zob, move, c,
                              _core.KO_SIMPLE, self.rules.allow_suicide):
            return "suicide"
        return "superko (repeats an earlier position)"

    def play(self, move: int, color: int | None = None, *, inplace: bool = False) -> Position:
        """Play ``move`` (flat index, pass = N*N) for ``color`` (default: side to move).

        Raises IllegalMoveError naming the move and the reason.  Returns a new
        position linked to this one, or ``self`` mutated when ``inplace`` (then
        without a parent: no ``undo``, but the same history for the encoders).
        """
        c = self._color(color)
        if not 0 <= move <= self.pass_move:
            raise IllegalMoveError(f"illegal move {color_name(c)} {move}: {self.why_illegal(move, c)}")
        n = int(self._g[_core.NUM_HIST])
        hist = self._hist.for_append(n)
        target = self if inplace else self._child(hist, last_move=move)
        geo = self._geo
        if not _core.try_play_recorded(target._s, target._g, hist.arr, target._trace, geo.nbr, geo.num_nbr, geo.zob,
                                       move, c, KO_RULES[self.rules.ko], self.rules.allow_suicide):
            raise IllegalMoveError(f"illegal move {color_name(c)} {coords.to_gtp(move, self.size)}: "
                                   f"{self.why_illegal(move, c)}")
        hist.used = n + 1
        if inplace:
            self._hist = hist
            self.parent = None
            self.previous_move = self.last_move
            self.last_move = move
        return target

    def playing_on(self, *, inplace: bool = False) -> Position:
        """This position with the count of consecutive passes back at zero, so that two passes no
        longer end the game here (a KGS-style cleanup phase plays on from the position two passes
        ended).  A copy, or ``self`` when ``inplace``."""
        pos = self if inplace else self.copy()
        pos._g[_core.PASSES] = 0
        return pos

    def undo(self) -> Position:
        """The position before the last move (raises ValueError at the start)."""
        if self.parent is None:
            raise ValueError("nothing to undo")
        return self.parent

    def random_move(self, rng: np.ndarray, color: int | None = None) -> int:
        """A random legal move that does not fill the mover's own eye, else pass.

        ``rng`` is a state from ``_core.seed_rng`` (see ``games.go.players``).
        """
        geo = self._geo
        s = self._s.copy()  # the sampler reorders the empty list
        return int(_core.random_move(s, self._g, self._hist.arr, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob,
                                     rng, self._color(color), KO_RULES[self.rules.ko], self.rules.allow_suicide))

    # ---- setup -------------------------------------------------------------------
    def with_setup(self, black: Iterable[int] = (), white: Iterable[int] = (), empty: Iterable[int] = ()) -> Position:
        """Place or remove stones directly (SGF AB/AW/AE, handicap): no captures.

        Setup is not a move: ``last_move`` becomes None, the move count and the
        encoders' history stay, and the stones placed count as old (>= 8 turns)."""
        colors = self.stones()
        for points, col in ((empty, EMPTY), (black, BLACK), (white, WHITE)):
            for p in points:
                if not 0 <= p < self.pass_move:
                    raise ValueError(f"setup point {p} is off a {self.size}x{self.size} board")
                colors[p] = col
        return self._with_colors(colors, to_move=self.to_move)

    def with_to_move(self, color: int) -> Position:
        """The same position with ``color`` to move (SGF PL); recorded as a new history entry (not a move)."""
        return self._with_colors(self._s[_core.COLOR], to_move=self._color(color))

    def _with_colors(self, colors: np.ndarray, *, to_move: int) -> Position:
        n = int(self._g[_core.NUM_HIST])
        pos = self._child(self._hist.for_append(n), last_move=None)
        geo = self._geo
        new = colors.astype(np.int32)
        pos._trace[_core.AGE, (new != EMPTY) & (new != self._s[_core.COLOR])] = _core.AGE_OLD  # setup stones: old
        _core.rebuild(pos._s, pos._g, geo.nbr, geo.num_nbr, geo.zob, new)
        pos._g[_core.TO_MOVE] = to_move
        pos._g[_core.PASSES] = 0
        pos._hist.arr[0, n] = pos._g[_core.HASH]
        pos._hist.arr[1, n] = to_move
        pos._hist.used = n + 1
        pos._g[_core.NUM_HIST] = n + 1
        return pos

    # ---- scoring -----------------------------------------------------------------
    def area_owner(self) -> np.ndarray:
        """int8 [N*N]: Tromp-Taylor owner of each point (EMPTY where neutral)."""
        return _core.area_owner(self._s)

    def score(self) -> float:
        """Tromp-Taylor area score, black minus white minus komi."""
        return float(_core.area_score(self._s)) - self.rules.komi

    def result(self) -> str:
        """The area score as a result string: ``B+3.5``, ``W+0.5`` or ``0``."""
        return score_to_result(self.score())

    def territory_estimate(self) -> float:
        """A territory-style estimate for display: empty points surrounded by one
        colour plus prisoners, black minus white minus komi (no dead-stone removal)."""
        owner = self.area_owner()
        colors = self._s[_core.COLOR]
        empty = colors == EMPTY
        black = int(np.count_nonzero(empty & (owner == BLACK))) + self.captures[BLACK]
        white = int(np.count_nonzero(empty & (owner == WHITE))) + self.captures[WHITE]
        return black - white - self.rules.komi

    # ---- display -------------------------------------------------------------------
    def to_ascii(self, *, coordinates: bool = True, last_move: bool = True) -> str:
        """The board as text: ``X`` black, ``O`` white, ``.`` empty; the last move in parentheses."""
        n = self.size
        colors = self._s[_core.COLOR]
        lines = []
        header = "   " + " ".join(coords.GTP_COLUMNS[:n])
        if coordinates:
            lines.append(header)
        mark = self.last_move if last_move and self.last_move is not None and self.last_move < n * n else -1
        for r in range(n):
            cells = [".XO"[colors[r * n + c]] for c in range(n)]
            seps = [" "] * (n + 1)
            if mark // n == r:
                seps[mark % n], seps[mark % n + 1] = "(", ")"
            row = "".join(seps[i] + cells[i] for i in range(n)) + seps[n]
            lines.append(f"{n - r:2d}{row}{n - r}" if coordinates else row.strip())
        if coordinates:
            lines.append(header)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_ascii()

    def __repr__(self) -> str:
        return f"Position(size={self.size}, to_move={color_name(self.to_move)}, move_number={self.move_number})"


def score_to_result(score: float) -> str:
    if score > 0:
        return f"B+{score:g}"
    if score < 0:
        return f"W+{-score:g}"
    return "0"


def max_fixed_handicap(size: int) -> int:
    """Largest fixed handicap on this board (GTP: 4 on even sizes and 7x7, 9 on odd sizes from 9)."""
    if size < 7:
        return 0
    return 9 if size % 2 == 1 and size >= 9 else 4


def fixed_handicap_points(size: int, num_stones: int) -> list[int]:
    """The standard handicap points (GTP ``fixed_handicap``), as flat indices."""
    limit = max_fixed_handicap(size)
    if not 2 <= num_stones <= limit:
        raise ValueError(f"invalid handicap {num_stones} for a {size}x{size} board: expected 2 to {limit}"
                         if limit else f"no fixed handicap on a {size}x{size} board")
    d = 2 if size < 13 else 3
    lo, hi, mid = d, size - 1 - d, size // 2

    def pt(row_from_bottom: int, col: int) -> int:
        return (size - 1 - row_from_bottom) * size + col

    corners = [pt(lo, lo), pt(hi, hi), pt(hi, lo), pt(lo, hi)]  # D4 Q16 D16 Q4
    sides = [pt(mid, lo), pt(mid, hi), pt(lo, mid), pt(hi, mid)]  # D10 Q10 K4 K16
    centre = pt(mid, mid)
    points = corners[: min(num_stones, 4)]
    if num_stones in (6, 7):
        points += sides[:2]
    elif num_stones in (8, 9):
        points += sides
    if num_stones in (5, 7, 9):
        points.append(centre)
    return points
