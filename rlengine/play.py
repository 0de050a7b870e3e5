"""A terminal Go game for a person against an agent: ``rlengine play``.

``PlaySession`` holds the game and knows nothing about terminals: ``start()``
and ``handle(line)`` return (and, with ``out``, also write) the text a person
sees, so tests drive it line by line.  ``run_session`` is the loop over
stdin/stdout that the CLI uses; it saves the game as SGF on every way out
(game over, ``quit``, end of input, Ctrl-C).

The game itself (moves, handicap, passes, resignation, result, SGF) is a
``games.go.game.Game``, the one game loop's state, without a cleanup phase: a
person ends the game with two passes, and the agent's ownership estimate
removes dead stones from the score.  The opponent is any player spec
(``rlengine.registry.load_player``) and is driven like
``games.go.game.play_game`` drives players: ``reset(rules)`` at the start,
``observe(color, move)`` after every move by either side, ``close()`` at the
end.  ``undo`` calls ``reset(rules)`` again and replays
``observe`` for the moves that remain, which is how engines with their own
board (``gtp:``) get back in step.  ``hint`` uses the optional
``analyze(position, color, visits=N)`` (issue 5 analysis protocol); at the end
the optional ``ownership(position)`` drops the stones the agent judges dead.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from games.go import coords, scoring
from games.go.board import BLACK, WHITE, Position, Rules, color_name, max_fixed_handicap, opponent, score_to_result
from games.go.game import END_PASSES, Game, ask_move
from games.go.players import GtpPlayer
from games.go.sgf import GameRecord, Move, save_sgf

__all__ = ["HELP", "PlaySession", "check_handicap", "default_sgf_path", "run_session"]

log = logging.getLogger(__name__)

HELP = """\
Commands (case does not matter):
  D4         play a move (GTP coordinates: columns {columns}, skipping I; rows 1-{size} from the bottom)
  pass       pass (two passes in a row end the game, which is then scored)
  resign     give up the game
  undo       take back your last move and the agent's reply
  hint       the agent's top 3 moves for you, with win rates
  board      show the board again
  help       this text
  quit       stop now (the game is saved; Ctrl-D does the same)"""

_VERTEX_LIKE = re.compile(r"^[a-z][0-9]+$", re.IGNORECASE)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


class PlaySession:
    """One game between a person (``human_color``) and ``opponent`` (a Player).

    Call ``start()`` once, then ``handle(line)`` for each line the person types
    until ``finished``; ``record()`` gives the game as a ``GameRecord`` at any
    time and ``close()`` frees the opponent.
    """

    def __init__(self, opponent_player, rules: Rules, *, human_color: int = BLACK, handicap: int = 0,
                 hint_visits: int = 200, opponent_name: str | None = None, human_name: str = "human",
                 out: TextIO | None = None):
        if human_color not in (BLACK, WHITE):
            raise ValueError(f"invalid colour {human_color!r}: expected BLACK (1) or WHITE (2)")
        check_handicap(rules.size, handicap)
        if hint_visits < 1:
            raise ValueError(f"hint visits must be at least 1, got {hint_visits}")
        self.opponent = opponent_player
        self.rules = rules
        self.human_color = human_color
        self.agent_color = opponent(human_color)
        self.handicap = handicap
        self.game = Game(rules, handicap=handicap, cleanup=False)  # a person ends the game with two passes
        self.handicap_points = self.game.handicap_points
        self.hint_visits = hint_visits
        self.opponent_name = opponent_name or getattr(opponent_player, "name", "agent")
        self.human_name = human_name
        self.out = out
        self._started = False
        self._chunks: list[str] = []
        # Engines with their own board (gtp:) learn stones only from moves, so they see the handicap
        # stones as black moves before the game (GTP allows consecutive moves of one colour).
        self._handicap_as_moves = bool(handicap) and isinstance(opponent_player, GtpPlayer)

    # ---- state -------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._started

    @property
    def position(self) -> Position:
        return self.game.position

    @property
    def moves(self) -> list[Move]:
        """(color, move) of every move so far, passes included."""
        return self.game.moves

    @property
    def result(self) -> str | None:
        return self.game.result

    @property
    def finished(self) -> bool:
        return self.game.over

    @property
    def size(self) -> int:
        return self.rules.size

    def _who(self, color: int) -> str:
        return f"{color_name(color)} ({'you' if color == self.human_color else 'agent'})"

    def _vertex(self, move: int) -> str:
        return coords.to_gtp(move, self.size)

    def _opponent_view(self) -> Position:
        """The position the opponent is given: the game's, or (handicap stones as moves) its shadow."""
        if not self._handicap_as_moves:
            return self.position
        pos = Position.empty(self.rules)
        for p in self.handicap_points:
            pos = pos.play(p, BLACK, inplace=True)
        for color, move in self.moves:
            pos = pos.play(move, color, inplace=True)
        return pos

    # ---- output --------------------------------------------------------------------------------
    def _emit(self, text: str) -> None:
        self._chunks.append(text + "\n")
        if self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()

    def _take_output(self) -> str:
        text = "".join(self._chunks)
        self._chunks = []
        return text

    def board_text(self) -> str:
        pos = self.position
        caps = pos.captures
        lines = [pos.to_ascii()]
        last = ""
        if self.moves:
            color, move = self.moves[-1]
            last = f"; last move: {color_name(color)} {self._vertex(move)}"
        lines.append(f"Move {len(self.moves)}{last}; captures: black {caps[BLACK]}, white {caps[WHITE]}")
        if not self.finished:
            lines.append(f"{self._who(pos.to_move).capitalize()} to play.")
        return "\n".join(lines)

    def prompt(self) -> str:
        return f"{color_name(self.human_color)} {len(self.moves) + 1}> "

    # ---- the game ------------------------------------------------------------------------------
    def start(self) -> str:
        """Set the opponent up for a new game, show the board, and let the agent move when it starts."""
        if self._started:
            raise RuntimeError("start() was already called")
        self._started = True
        self._sync_opponent()
        komi = f"{self.rules.komi:g}"
        extra = f", handicap {self.handicap} (white moves first)" if self.handicap else ""
        self._emit(f"{self.size}x{self.size} Go, komi {komi}{extra}. You play {color_name(self.human_color)} "
                   f"(X is black, O is white) against {self.opponent_name}.")
        self._emit("Type a move like D4, or pass, resign, undo, hint, help, quit.")
        if self.position.to_move == self.agent_color:
            self._agent_turn()
        if not self.finished:
            self._emit(self.board_text())
        return self._take_output()

    def handle(self, line: str) -> str:
        """Act on one line the person typed; returns the text to show."""
        if not self._started:
            raise RuntimeError("call start() first")
        text = line.strip()
        word = text.lower()
        if self.finished:
            self._emit("The game is over.")
        elif not text:
            pass
        elif word in ("help", "h", "?"):
            self._emit(HELP.format(columns=f"A-{coords.GTP_COLUMNS[self.size - 1]}", size=self.size))
        elif word in ("quit", "exit", "q"):
            self._stop("stopped by the player (quit)")
        elif word == "board":
            self._emit(self.board_text())
        elif word == "resign":
            self.game.resign(self.human_color)
            self._end(f"You resign; {color_name(self.agent_color)} wins.")
        elif word == "undo":
            self._undo()
        elif word == "hint":
            self._hint()
        else:
            self._human_move(text)
        return self._take_output()

    def stop(self, why: str) -> str:
        """End the game without a result (quit, end of input, Ctrl-C); returns the text to show."""
        self._stop(why)
        return self._take_output()

    def _stop(self, why: str) -> None:
        if not self.finished:
            self.game.stop(why)
            self._emit(f"Game stopped after {len(self.moves)} moves, no result.")

    def _human_move(self, text: str) -> None:
        try:
            move = coords.from_gtp(text, self.size)
        except coords.CoordError:
            last_col = coords.GTP_COLUMNS[self.size - 1]
            if _VERTEX_LIKE.match(text) and text[0].upper() == "I":
                self._emit(f"{text.upper()} is not a point: coordinates skip the letter I (columns A-{last_col}).")
            elif _VERTEX_LIKE.match(text):
                self._emit(f"{text.upper()} is not a point on a {self.size}x{self.size} board "
                           f"(columns A-{last_col} without I, rows 1-{self.size}).")
            else:
                self._emit(f"I do not understand {text!r}: type a move like D4, or pass, resign, undo, hint, "
                           f"help, quit.")
            return
        pos = self.position
        reason = pos.why_illegal(move, self.human_color)
        if reason is not None:
            vertex = text.upper()
            if reason == "point is occupied":
                self._emit(f"{vertex} is occupied; try another point.")
            elif reason == "ko":
                self._emit(f"{vertex} is illegal: ko (you cannot retake the ko at once; play elsewhere first).")
            else:
                self._emit(f"{vertex} is illegal: {reason}.")
            return
        self._play(self.human_color, move)
        if move == pos.pass_move:
            self._emit("You pass.")
        if self._check_two_passes():
            return
        self._agent_turn()
        if not self.finished:
            self._emit(self.board_text())

    def _play(self, color: int, move: int) -> None:
        self.game.play(move, color)
        observe = getattr(self.opponent, "observe", None)
        if observe is not None:
            observe(color, move)

    def _agent_turn(self) -> None:
        color = self.agent_color
        pos = self.position
        self._emit(f"{color_name(color).capitalize()} (agent) is thinking...")
        try:
            move = ask_move(self.opponent, self.game, color, self._opponent_view())
        except Exception as exc:  # an engine that crashes or hangs ends the game, not the program
            log.exception("the agent failed in genmove")
            self._emit(f"The agent failed: {_first_line(exc)} (details on stderr)")
            self._stop("the agent failed")
            return
        if move is None:
            self.game.resign(color)
            self._end(f"{color_name(color).capitalize()} (agent) resigns; you win.")
            return
        move = int(move)
        reason = pos.why_illegal(move, color)
        if reason is not None:
            log.error("the agent chose the illegal move %s (%s); it passes instead", move, reason)
            vertex = self._vertex(move) if 0 <= move <= pos.pass_move else str(move)
            self._emit(f"The agent chose an illegal move ({vertex}: {reason}); it passes instead.")
            move = pos.pass_move
        self._play(color, move)
        self._emit(f"{color_name(color).capitalize()} (agent) plays {self._vertex(move)}.")
        self._check_two_passes()

    def _check_two_passes(self) -> bool:
        if self.game.end != END_PASSES:
            return False
        self._score()
        return True

    def _score(self) -> None:
        pos = self.position
        area = pos.score()
        lines = [pos.to_ascii(), f"Two passes: the game is over after {len(self.moves)} moves."]
        lines.append(f"Area score (Tromp-Taylor, every stone on the board counted alive): "
                     f"{score_to_result(area)}")
        final = area
        own = self._ownership()
        dead = scoring.dead_stones(pos, own) if own is not None else []
        if dead:
            final = scoring.score_with_ownership(pos, own, dead=dead)
            names = " ".join(self._vertex(p) for p in dead)
            lines.append(f"The agent judges these stones dead: {names}")
            lines.append(f"Score with them removed: {score_to_result(final)}")
            self.game.set_score(final, f"Tromp-Taylor {score_to_result(area)}; the agent judged dead: {names}; "
                                       f"with them removed {score_to_result(final)}")
        self._emit("\n".join(lines))
        winner = BLACK if final > 0 else WHITE if final < 0 else None
        if winner is None:
            verdict = "A draw."
        else:
            verdict = f"{color_name(winner).capitalize()} wins by {abs(final):g} points; " \
                      f"{'you win' if winner == self.human_color else 'the agent wins'}."
        self._end(verdict)

    def _ownership(self) -> np.ndarray | None:
        """The agent's ownership estimate of the final position (+1 black), or None without a usable one;
        ``games.go.scoring`` turns it into dead stones and a score, as GTP ``final_score`` does."""
        ownership = getattr(self.opponent, "ownership", None)
        if ownership is None:
            return None
        try:
            own = np.asarray(ownership(self._opponent_view()), dtype=np.float64).reshape(-1)  # [N*N], +1 black
        except Exception:
            log.exception("the agent's ownership estimate failed; scoring every stone alive")
            return None
        if own.shape != (self.size * self.size,):
            log.error("ownership has shape %s, expected (%d,); scoring every stone alive", own.shape, self.size**2)
            return None
        return own

    def _end(self, verdict: str) -> None:
        self._emit(f"Result: {self.game.result}. {verdict}")

    def _undo(self) -> None:
        humans = [i for i, (color, _) in enumerate(self.moves) if color == self.human_color]
        if not humans:
            self._emit("Nothing to undo: you have not moved yet.")
            return
        taken = self.game.undo(len(self.moves) - humans[-1])
        self._sync_opponent()
        words = []
        for color, move in taken:
            who = "your" if color == self.human_color else "the agent's"
            words.append(f"{who} {self._vertex(move)}")
        self._emit(f"Took back {' and '.join(words)}.")
        self._emit(self.board_text())

    def _sync_opponent(self) -> None:
        """``reset`` the opponent and replay ``observe`` for every move so far (game start and undo)."""
        reset = getattr(self.opponent, "reset", None)
        if reset is not None:
            reset(self.rules)
        observe = getattr(self.opponent, "observe", None)
        if observe is None:
            return
        if self._handicap_as_moves:
            for p in self.handicap_points:
                observe(BLACK, p)
        for color, move in self.moves:
            observe(color, move)

    def _hint(self) -> None:
        analyze = getattr(self.opponent, "analyze", None)
        if analyze is None:
            self._emit(f"This opponent ({self.opponent_name}) cannot give hints: it has no analysis "
                       f"(an mcts: player can).")
            return
        self._emit(f"Thinking about your move ({self.hint_visits} visits)...")
        try:
            analysis = analyze(self._opponent_view(), self.human_color, visits=self.hint_visits)
        except Exception as exc:
            log.exception("analyze failed")
            self._emit(f"The hint failed: {_first_line(exc)} (details on stderr)")
            return
        infos = list(analysis.moves)[:3]
        if not infos:
            self._emit("No hint: the analysis found no moves.")
            return
        lines = [f"Hint for {color_name(self.human_color)} (win rates for you):"]
        for rank, info in enumerate(infos, 1):
            lines.append(f"  {rank}. {self._vertex(int(info.move)):>4}  win {100 * float(info.winrate):5.1f}%  "
                         f"visits {int(info.visits)}")
        self._emit("\n".join(lines))

    # ---- record and teardown -------------------------------------------------------------------
    def record(self) -> GameRecord:
        names = {self.human_color: self.human_name, self.agent_color: self.opponent_name}
        return self.game.record(black=names[BLACK], white=names[WHITE])

    def save(self, path: str | Path) -> Path:
        """Write the game so far as SGF, atomically (the folder is created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_sgf(self.record(), path)
        return path

    def close(self) -> None:
        close = getattr(self.opponent, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("closing the opponent failed")


def check_handicap(size: int, handicap: int) -> None:
    """ValueError naming the allowed range unless ``handicap`` fixed stones fit this board."""
    limit = max_fixed_handicap(size)
    if handicap != 0 and not 2 <= handicap <= limit:
        allowed = f"0 or 2 to {limit}" if limit >= 2 else "0"
        raise ValueError(f"invalid handicap {handicap} on a {size}x{size} board: expected {allowed}")


def default_sgf_path(folder: str | Path = Path("runs/play")) -> Path:
    """``runs/play/<UTC timestamp>.sgf``, with a suffix when that name is taken."""
    folder = Path(folder)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = folder / f"{stamp}.sgf"
    n = 2
    while path.exists():
        path = folder / f"{stamp}-{n}.sgf"
        n += 1
    return path


def _read_line(prompt: str, stdin: TextIO, stdout: TextIO) -> str:
    """One line of input (the terminal's own line editing applies); EOFError at the end of input.

    Plain reads rather than ``input()`` with GNU readline: readline can miss a Ctrl-C that lands
    just as it starts waiting, and then the game would not be saved until the next key.
    """
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if not line:
        raise EOFError
    return line


def run_session(session: PlaySession, sgf_path: str | Path, *, stdin: TextIO | None = None,
                stdout: TextIO | None = None) -> int:
    """Play ``session`` over stdin/stdout until the game ends; save the SGF on every way out.

    Starts the session unless that was done already; ``session.out`` should be ``stdout``.
    Returns 0, or 130 after Ctrl-C.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    code = 0
    try:
        if not session.started:
            session.start()
        while not session.finished:
            try:
                line = _read_line(session.prompt(), stdin, stdout)
            except EOFError:
                stdout.write("\n")
                session.stop("stopped at the end of input")
                break
            session.handle(line)
    except KeyboardInterrupt:
        stdout.write("\n")
        session.stop("interrupted (Ctrl-C)")
        code = 130
    finally:
        try:
            path = session.save(sgf_path)
            stdout.write(f"Game saved to {path}\n")
            stdout.flush()
        finally:
            session.close()
    return code
