"""One Go game, and the one loop that plays it between two players.

``Game`` holds a game: its rules, the position (played in place), the moves
with their optional comments, the phase, how and when it ended, and the
result, as a number and as an SGF ``GameRecord``.  ``play_game`` is the
sequential driver: it asks two ``games.go.player.Player`` objects for moves
until the game is over.  ``rlengine match``, ``rlengine selfplay``,
``rlengine watch``, ``rlengine play`` and batched MCTS self-play all keep
their games in a ``Game``; none has a loop of its own for the rules of the end.

The end of a game (ARCHITECTURE.md, "One game loop"):

- **Two passes** end normal play.  With ``cleanup=True`` (the default, for
  games between engines) a **cleanup phase** follows, as on KGS: play goes
  on from the same position with the pass count back at zero, the players
  capture the stones they believe dead (``play_game`` asks
  ``genmove_cleanup(position, color)`` when a player has it, else
  ``genmove``; ``gtp:`` engines answer ``kgs-genmove_cleanup``), and **two
  more passes** end the game.  Only then is it scored, by Tromp-Taylor area
  (black minus white minus komi).  Every stone left is counted alive, so the
  result agrees with a scorer that removes dead stones (GNU Go's
  ``final_score``) once both sides have cleaned up.  The Tromp-Taylor result
  after the first two passes is kept (``first_score``) and written next to
  the final one in the record.  With ``cleanup=False`` (the tree's own view in
  self-play, a person at ``rlengine play``) two passes end the game.
- **The cleanup phase is capped** at ``cleanup_moves`` moves (default N*N,
  enough to capture every stone on the board); past that the game is scored
  as it stands, with a note.
- **The move cap** (``max_moves``, none unless the caller sets one; self-play
  and matches do) counts every move, cleanup moves included.  A game stopped
  there is scored as it stands, with a note.
- **Resignation** (``resign``): ``B+R`` / ``W+R``.  **Forfeit** (``forfeit``,
  an illegal move from a player): ``B+F`` / ``W+F``.  ``void(error)``
  (``RE[Void]``) and ``stop(why)`` (no result) end a game that was not
  decided.

``score`` is the final area score (None for resignation, forfeit, void and
stop); ``outcome`` is +1 / -1 / 0 for a black win / white win / draw or no
result, the number self-play trains on.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from games.go import coords
from games.go.board import (BLACK, WHITE, IllegalMoveError, Position, Rules, color_name, fixed_handicap_points,
                            opponent, score_to_result)
from games.go.sgf import GameNode, GameRecord, Move, Setup

__all__ = ["CLEANUP", "Game", "OVER", "PLAY", "ask_move", "default_move_cap", "play_game"]

PLAY = "play"  # normal play
CLEANUP = "cleanup"  # after the first two passes: capture dead stones, two more passes end the game
OVER = "over"

# how a game ended (Game.end)
END_PASSES, END_RESIGN, END_FORFEIT, END_CAP, END_CLEANUP_CAP, END_VOID, END_STOP = (
    "passes", "resign", "forfeit", "move cap", "cleanup cap", "void", "stopped")


def default_move_cap(size: int) -> int:
    """The move cap of self-play and matches: 3*N*N moves, passes and cleanup moves included."""
    return 3 * size * size


def _letter(color: int) -> str:
    return "B" if color == BLACK else "W"


class Game:
    """One game: rules, position, moves, phase, end of game and result.

    ``start`` is the position before the first move (default: the empty board,
    or the ``handicap`` fixed stones with white to move).  ``position`` is
    played in place: hold a ``copy()`` to keep one.
    """

    def __init__(self, rules: Rules | None = None, *, start: Position | None = None, handicap: int = 0,
                 cleanup: bool = True, max_moves: int | None = None, cleanup_moves: int | None = None):
        if rules is None and start is None:
            raise ValueError("Game needs rules or a start position")
        if start is not None and rules is not None and start.rules != rules:
            raise ValueError(f"the start position's rules {start.rules} are not the game's {rules}")
        rules = rules if rules is not None else start.rules
        if max_moves is not None and max_moves < 1:
            raise ValueError(f"max_moves must be at least 1, got {max_moves}")
        if cleanup_moves is not None and cleanup_moves < 2:
            raise ValueError(f"cleanup_moves must be at least 2 (two passes), got {cleanup_moves}")
        self.rules = rules
        self.handicap = int(handicap)
        self.handicap_points: list[int] = []
        if handicap:
            if start is not None:
                raise ValueError("give a handicap or a start position, not both")
            self.handicap_points = fixed_handicap_points(rules.size, handicap)
            start = Position.empty(rules).with_setup(black=self.handicap_points).with_to_move(WHITE)
        self._start = (start if start is not None else Position.empty(rules)).copy()
        self.cleanup = bool(cleanup)
        self.max_moves = None if max_moves is None else int(max_moves)
        self.cleanup_moves = int(cleanup_moves) if cleanup_moves is not None else rules.size * rules.size
        self._reset()

    def _reset(self) -> None:
        self.position = self._start.copy()
        self.moves: list[Move] = []  # (color, point), passes included
        self.comments: list[str | None] = []  # one per move
        self.phase = PLAY
        self.cleanup_start: int | None = None  # number of moves when the cleanup phase began
        self.first_score: float | None = None  # Tromp-Taylor at the first two passes (cleanup games)
        self.score: float | None = None  # the final area score (black minus white minus komi)
        self.result: str | None = None  # SGF RE: B+3.5, W+R, B+F, 0, Void; None while playing or stopped
        self.end: str | None = None  # how it ended: passes, resign, forfeit, move cap, cleanup cap, void, stopped
        self.notes: list[str] = []  # lines for the record's root comment

    # ---- state -----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.rules.size

    @property
    def start(self) -> Position:
        """A copy of the position before the first move."""
        return self._start.copy()

    @property
    def over(self) -> bool:
        return self.phase == OVER

    @property
    def to_move(self) -> int:
        return self.position.to_move

    @property
    def num_moves(self) -> int:
        return len(self.moves)

    @property
    def winner(self) -> int | None:
        """BLACK, WHITE, or None (not over, draw, void, stopped)."""
        r = self.result or ""
        return BLACK if r.startswith("B+") else WHITE if r.startswith("W+") else None

    @property
    def outcome(self) -> int:
        """+1 black won, -1 white won, 0 otherwise (draw, no result, not over)."""
        w = self.winner
        return 1 if w == BLACK else -1 if w == WHITE else 0

    def why_illegal(self, move: int, color: int | None = None) -> str | None:
        """None for a legal move now, else a short reason."""
        if not 0 <= move <= self.position.pass_move:
            return "not a point on the board"
        return self.position.why_illegal(move, color)

    # ---- moves -------------------------------------------------------------------------------
    def play(self, move: int, color: int | None = None, *, comment: str | None = None) -> None:
        """Play ``move`` for ``color`` (default: the side to move) and apply the end-of-game rules.

        Raises IllegalMoveError for an illegal move (the game is unchanged) and
        ValueError when the game is over.
        """
        if self.over:
            raise ValueError(f"the game is over ({self.end}); no more moves")
        color = self.position.to_move if color is None else color
        if not 0 <= move <= self.position.pass_move:
            raise IllegalMoveError(f"illegal move {color_name(color)} {move}: not a point on the board")
        self.position.play(move, color, inplace=True)  # raises IllegalMoveError naming the move
        self.moves.append(Move(color, move))
        self.comments.append(comment)
        self._after_move()

    def _after_move(self) -> None:
        pos = self.position
        n = len(self.moves)
        if pos.passes >= 2:
            if self.phase == PLAY and self.cleanup:
                self.first_score = pos.score()
                self.phase = CLEANUP
                self.cleanup_start = n
                # the cleanup phase starts with no passes, as on KGS: players see a game going on
                pos.playing_on(inplace=True)
                self._comment_last(f"two passes: cleanup phase (Tromp-Taylor here {score_to_result(self.first_score)}"
                                   f"); two more passes end the game")
            else:
                self._finish(END_PASSES, pos.score())
                return
        if self.phase == CLEANUP and n - self.cleanup_start >= self.cleanup_moves:
            self._finish(END_CLEANUP_CAP, pos.score(),
                         f"stopped at the cleanup cap ({self.cleanup_moves} moves after the first two passes); "
                         f"scored as it stands")
        elif self.max_moves is not None and n >= self.max_moves:
            self._finish(END_CAP, pos.score(),
                         f"stopped at the move cap ({self.max_moves}); {color_name(self.moves[-1].color)} moved "
                         f"last; scored as it stands")

    def _comment_last(self, text: str) -> None:
        old = self.comments[-1]
        self.comments[-1] = text if not old else f"{old}\n{text}"

    def _finish(self, end: str, score: float | None, note: str | None = None, result: str | None = None) -> None:
        self.phase = OVER
        self.end = end
        self.score = score
        self.result = result if result is not None else (score_to_result(score) if score is not None else None)
        if note:
            self.notes.append(note)
        if self.first_score is not None and score is not None:
            cleanup = len(self.moves) - self.cleanup_start
            self.notes.append(f"cleanup phase: {cleanup} moves after the first two passes; Tromp-Taylor there "
                              f"{score_to_result(self.first_score)}, at the end {score_to_result(score)}"
                              + ("" if score_to_result(score) == score_to_result(self.first_score)
                                 else " (the result)"))

    def resign(self, color: int) -> None:
        """``color`` resigns."""
        self._check_open()
        self._finish(END_RESIGN, None, f"{color_name(color)} resigned after {len(self.moves)} moves",
                     result=f"{_letter(opponent(color))}+R")

    def forfeit(self, color: int, move: int, why: str, *, who: str | None = None) -> None:
        """``color`` answered the illegal ``move`` and loses by forfeit; ``who`` names the player in the note."""
        self._check_open()
        vertex = coords.to_gtp(move, self.size) if 0 <= move <= self.position.pass_move else str(move)
        name = f"{color_name(color)} ({who})" if who else color_name(color)
        self._finish(END_FORFEIT, None, f"forfeit: {name} played the illegal move {vertex} at move "
                                        f"{len(self.moves) + 1}: {why}", result=f"{_letter(opponent(color))}+F")

    def void(self, error: str) -> None:
        """A player failed (crashed, hung): the game is void (``RE[Void]``)."""
        self.phase = OVER
        self.end = END_VOID
        self.score = None
        self.result = "Void"
        self.notes.append(f"error at move {len(self.moves) + 1}: {error}")

    def stop(self, why: str) -> None:
        """End the game without a result (quit, end of input, a failed opponent)."""
        if self.over:
            return
        self.phase = OVER
        self.end = END_STOP
        self.notes.append(f"{why} after {len(self.moves)} moves; no result")

    def set_score(self, score: float, note: str | None = None) -> None:
        """Replace the area score of a game that ended by passes (e.g. dead stones removed by an estimate)."""
        if self.end not in (END_PASSES, END_CAP, END_CLEANUP_CAP):
            raise ValueError(f"only a scored game can be rescored, this one ended by {self.end}")
        self.score = float(score)
        self.result = score_to_result(self.score)
        if note:
            self.notes.append(note)

    def _check_open(self) -> None:
        if self.over:
            raise ValueError(f"the game is over ({self.end})")

    def undo(self, count: int = 1) -> list[Move]:
        """Take back the last ``count`` moves (the game is open again); returns them, oldest first."""
        if not 0 <= count <= len(self.moves):
            raise ValueError(f"cannot take back {count} of {len(self.moves)} moves")
        keep = len(self.moves) - count
        moves, comments = self.moves, self.comments
        self._reset()
        for mv, comment in zip(moves[:keep], comments[:keep]):
            self.play(mv.point, mv.color, comment=comment)
            if self.comments[-1] != comment:  # a phase comment is added again by play
                self.comments[-1] = comment
        return moves[keep:]

    # ---- the record ----------------------------------------------------------------------------
    def record(self, *, black: str | None = None, white: str | None = None,
               comment: str | Iterable[str] | None = None) -> GameRecord:
        """The game as SGF: moves with their comments, RE, KM, the start position (handicap or setup),
        and a root comment of ``comment`` followed by the game's own notes (end, cleanup, cap)."""
        head = [comment] if isinstance(comment, str) else list(comment or [])
        lines = head + self.notes
        start = self._start
        setup = Setup()
        to_move = None
        if self.handicap:
            setup, to_move = Setup(black=self.handicap_points), WHITE
        elif start.stones().any() or start.to_move != BLACK:
            stones = start.stones()
            setup = Setup(black=[int(p) for p in (stones == BLACK).nonzero()[0]],
                          white=[int(p) for p in (stones == WHITE).nonzero()[0]])
            to_move = start.to_move
        nodes = tuple(GameNode(move=mv, comment=c) for mv, c in zip(self.moves, self.comments))
        return GameRecord(size=self.size, komi=self.rules.komi, handicap=self.handicap, result=self.result,
                          black_player=black, white_player=white, setup=setup, to_move=to_move,
                          comment="\n".join(lines) if lines else None, nodes=nodes)


# ---- the driver ------------------------------------------------------------------------------------


def ask_move(player, game: Game, color: int | None = None, position: Position | None = None) -> int | None:
    """``player``'s move for ``color`` (default: the side to move) in ``game``: ``genmove``, or in the
    cleanup phase ``genmove_cleanup`` when the player has it.  ``position``: what the player is shown
    (default ``game.position``).  None means resign."""
    color = game.to_move if color is None else color
    position = game.position if position is None else position
    if game.phase == CLEANUP:
        cleanup = getattr(player, "genmove_cleanup", None)
        if cleanup is not None:
            return cleanup(position, color)
    return player.genmove(position, color)


def _unique(players: Iterable) -> list:
    return list({id(p): p for p in players}.values())


def play_game(players: Sequence | Mapping[int, object], game: Game | Rules, *, illegal: str = "forfeit",
              labels: Mapping[int, str] | None = None, max_moves: int | None = None) -> Game:
    """Play ``game`` (a ``Game``, or ``Rules`` for a new one) to its end between ``players``
    (``(black, white)`` or ``{BLACK: ..., WHITE: ...}``, possibly one object twice); returns the game.

    Every player first gets ``reset(rules)`` and ``observe(color, move)`` for the moves the game
    already holds (an opening), then the loop asks the side to move (``ask_move``), plays the move
    and tells every player with ``observe``.  ``None`` resigns.  An illegal move forfeits
    (``illegal="forfeit"``, ``labels`` names the players in the note) or raises IllegalMoveError
    naming the player (``illegal="raise"``).  A player's exception propagates; the game keeps the
    moves so far (``Game.void`` records it).  ``max_moves`` applies only when ``game`` is ``Rules``.
    """
    if illegal not in ("forfeit", "raise"):
        raise ValueError(f"illegal must be 'forfeit' or 'raise', got {illegal!r}")
    if isinstance(game, Rules):
        game = Game(game, max_moves=max_moves)
    elif max_moves is not None:
        raise ValueError("max_moves is for a new game; set it on the Game")
    by_color = dict(players) if isinstance(players, Mapping) else {BLACK: players[0], WHITE: players[1]}
    unique = _unique(by_color.values())
    for p in unique:
        reset = getattr(p, "reset", None)
        if reset is not None:
            reset(game.rules)
    for p in unique:
        observe = getattr(p, "observe", None)
        if observe is not None:
            for mv in game.moves:
                observe(mv.color, mv.point)
    while not game.over:
        color = game.to_move
        player = by_color[color]
        move = ask_move(player, game, color)
        if move is None:
            game.resign(color)
            break
        move = int(move)
        why = game.why_illegal(move, color)
        if why is not None:
            if illegal == "raise":
                vertex = coords.to_gtp(move, game.size) if 0 <= move <= game.position.pass_move else str(move)
                raise IllegalMoveError(f"{getattr(player, 'name', player)!s} ({color_name(color)}) played the "
                                       f"illegal move {vertex} at move {game.num_moves + 1}: {why}")
            game.forfeit(color, move, why, who=(labels or {}).get(color))
            break
        game.play(move, color)
        for p in unique:
            observe = getattr(p, "observe", None)
            if observe is not None:
                observe(color, move)
    return game
