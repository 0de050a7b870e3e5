"""Go Text Protocol v2, the engine side (``GtpEngine``); the client is ``games.go.gtp_client``.

The engine knows only the protocol: board state, rules and the commands of
GTP v2 plus the usual extensions (``kgs-*``, ``printsgf``).  Moves come from a
``Player`` behind ``genmove``.  Handlers are ``cmd_<name>`` methods (``-``
spelled ``_``); each takes the argument list and returns the response text or
raises ``GtpError``, which becomes a ``? message`` response.  stdout carries
only responses; logs go to stderr through ``logging``.

Streaming commands (Leela Zero's analysis extension, which Lizzie, Sabaki and
KaTrain speak) are ``stream_<name>`` methods that write their response
piece by piece; they are offered only when the player has what they need:

- ``lz-analyze [color] [interval] [interval N] [minmoves N] [maxmoves N]``
  (player ``analyze``): ``=`` on its own line, then every ``interval``
  centiseconds one line holding every searched move, most visited first,
  ``info move D4 visits 12 winrate 5321 prior 1234 lcb 5100 order 0 pv D4 C3
  info move Q16 ...`` (win rate for the analysed colour, prior and lcb in
  1/10000, lcb a Wilson lower bound at 95% from win rate and visits).  The
  search goes on until the next input line arrives (any line); then the
  response ends with an empty line and that line is handled.  ``interval`` 0
  (the default, as in Leela Zero) searches silently.
- ``lz-genmove_analyze color [interval]`` (player ``genmove_analyze``): the
  same info lines while the player thinks on its usual genmove budget, then
  ``play D4`` (``pass``, ``resign``), the move committed, then the empty line.

``serve`` reads stdin on a thread, so the search runs while input arrives;
all writes go through one lock.  ``handle(line)`` has no input to wait for:
there ``lz-analyze`` searches for one interval and answers with what it found.

``GtpClient`` (``games.go.gtp_client``) drives an external engine (GNU Go, or
our own ``rlengine gtp``) over pipes; it is re-exported here for old imports.
"""

from __future__ import annotations

import logging
import queue
import re
import sys
import threading
from typing import IO, Callable, Sequence

import numpy as np

from games.go import coords, scoring
from games.go.board import (
    BLACK,
    EMPTY,
    WHITE,
    IllegalMoveError,
    Position,
    Rules,
    color_name,
    fixed_handicap_points,
    max_fixed_handicap,
    parse_color,
    score_to_result,
)
from games.go.gtp_client import GtpClient, GtpError, GtpResponseError, GtpTimeout  # noqa: F401 (old home)
from games.go.player import Analysis, Player
from games.go.timecontrol import TimeSettings

__all__ = [
    "GtpEngine",
    "GtpError",
    "TimeSettings",
    "lz_info_line",
    "parse_command",
    "preprocess_line",
]

log = logging.getLogger(__name__)

PROTOCOL_VERSION = "2"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def preprocess_line(line: str) -> str:
    """GTP 2 preprocessing: drop control characters but HT/LF, HT -> space, strip comments."""
    line = line.replace("\t", " ")
    line = _CONTROL.sub("", line)
    hash_at = line.find("#")
    if hash_at >= 0:
        line = line[:hash_at]
    return line.strip()


def parse_command(line: str) -> tuple[int | None, str, list[str]] | None:
    """``[id] name args...`` of a preprocessed line, or None for an empty line."""
    parts = line.split()
    if not parts:
        return None
    cmd_id = None
    if re.fullmatch(r"[0-9]+", parts[0]):
        cmd_id = int(parts[0])
        parts = parts[1:]
        if not parts:
            return cmd_id, "", []
    return cmd_id, parts[0].lower(), parts[1:]


def _int_arg(args: Sequence[str], i: int, what: str) -> int:
    try:
        return int(args[i])
    except (IndexError, ValueError):
        raise GtpError(f"syntax error: expected an integer {what}") from None


def _float_arg(args: Sequence[str], i: int, what: str) -> float:
    try:
        value = float(args[i])
    except (IndexError, ValueError):
        raise GtpError(f"syntax error: expected a number {what}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise GtpError(f"syntax error: expected a finite number {what}")
    return value


class GtpEngine:
    """A GTP v2 engine around a ``Player``.

    ``handle(line)`` answers one input line (None for lines that carry no
    command); ``serve(stdin, stdout)`` runs the loop until ``quit`` or EOF.
    Commands that need an optional player method (``lz-analyze``:
    ``analyze``; ``lz-genmove_analyze``: ``genmove_analyze``) exist only when
    the player has it.  ``final_score`` / ``final_status_list`` use the
    player's ``final_score`` / ``dead_stones`` hooks when it has them, else its
    ``ownership`` (``games.go.scoring``), else Tromp-Taylor with every stone alive.
    """

    REQUIRES = {"lz-analyze": "analyze", "lz-genmove_analyze": "genmove_analyze"}

    def __init__(self, player: Player, rules: Rules | None = None, *, name: str = "rlengine",
                 version: str | None = None):
        self.player = player
        self.rules = rules or Rules(size=19)
        self.name = name
        self.version = version or _package_version()
        self.time = TimeSettings()
        self.quit_requested = False
        self.handlers: dict[str, Callable[[list[str]], str]] = {
            _command_name(attr): getattr(self, attr) for attr in dir(self) if attr.startswith("cmd_")
        }
        self.streamers: dict[str, Callable[[str, list[str], Callable[[str], None], threading.Event | None], None]] = {
            _command_name("cmd_" + attr[len("stream_"):]): getattr(self, attr)
            for attr in dir(self) if attr.startswith("stream_")
        }
        for table in (self.handlers, self.streamers):
            for command, method in self.REQUIRES.items():
                if command in table and not callable(getattr(player, method, None)):
                    del table[command]
        self._new_game()

    # ---- game state --------------------------------------------------------------
    def _new_game(self) -> None:
        self.position = Position.empty(self.rules)
        self.history: list[Position] = []  # positions before each move, for undo
        self.moves: list[tuple[int, int]] = []  # (color, move) played since the setup
        self.setup_black: list[int] = []
        self.setup_white: list[int] = []
        self.handicap = 0
        reset = getattr(self.player, "reset", None)
        if reset is not None:
            reset(self.rules)

    def _vertex(self, text: str) -> int:
        try:
            return coords.from_gtp(text, self.rules.size)
        except coords.CoordError as exc:
            raise GtpError(f"syntax error: {exc}") from None

    def _color(self, text: str) -> int:
        try:
            return parse_color(text)
        except ValueError as exc:
            raise GtpError(f"syntax error: {exc}") from None

    def _play(self, color: int, move: int) -> None:
        try:
            new = self.position.play(move, color)
        except IllegalMoveError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise GtpError(f"illegal move: {reason}") from None
        self.history.append(self.position)
        self.position = new
        self.moves.append((color, move))

    # ---- the loop ----------------------------------------------------------------
    def known(self, name: str) -> bool:
        """Whether this engine answers the command ``name``."""
        return name in self.handlers or name in self.streamers

    def handle(self, line: str) -> str | None:
        """The full response (ending in a blank line) to one raw input line."""
        out: list[str] = []
        self._dispatch(line, out.append, None)
        return "".join(out) or None

    def _dispatch(self, line: str, write: Callable[[str], None], stop: threading.Event | None) -> None:
        """Answer one raw input line through ``write``; ``stop`` is set when more input is waiting
        (None: no input can arrive, see ``handle``)."""
        parsed = parse_command(preprocess_line(line))
        if parsed is None:
            return
        cmd_id, name, args = parsed
        prefix = "" if cmd_id is None else str(cmd_id)
        streamer = self.streamers.get(name)
        if streamer is not None:
            started: list[bool] = []

            def tracked(text: str) -> None:
                started.append(True)
                write(text)

            try:
                streamer(prefix, args, tracked, stop)
            except GtpError as exc:  # raised before the response started
                write(f"?{prefix} {exc}\n\n")
            except Exception as exc:  # a bug must not kill the engine a GUI is talking to
                log.exception("command %r failed", line.strip())
                write("\n" if started else f"?{prefix} internal error: {type(exc).__name__}: {exc}\n\n")
            return
        write(self._respond(prefix, name, args))

    def _respond(self, prefix: str, name: str, args: list[str]) -> str:
        handler = self.handlers.get(name)
        if handler is None:
            return f"?{prefix} unknown command\n\n"
        try:
            result = handler(args)
        except GtpError as exc:
            return f"?{prefix} {exc}\n\n"
        except Exception as exc:  # a bug must not kill the engine a GUI is talking to
            log.exception("command %r failed", line.strip())
            return f"?{prefix} internal error: {type(exc).__name__}: {exc}\n\n"
        result = result.rstrip("\n")
        return f"={prefix} {result}\n\n" if result and not result.startswith("\n") else f"={prefix}{result}\n\n"

    def serve(self, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> None:
        """Answer the lines of ``stdin`` on ``stdout`` until ``quit`` or the end of the input.

        A thread reads ``stdin`` into a queue and sets an event whenever a line
        is waiting, which stops a running ``lz-analyze``; every write to
        ``stdout`` (search callbacks may come from other threads) holds one lock.
        """
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        lines: queue.Queue[str | None] = queue.Queue()
        waiting = threading.Event()

        def read() -> None:
            try:
                for raw in stdin:
                    lines.put(raw)
                    waiting.set()
            except Exception:  # an unreadable stdin ends the session like EOF
                log.exception("cannot read the GTP input")
            finally:
                lines.put(None)
                waiting.set()

        lock = threading.Lock()

        def write(text: str) -> None:
            with lock:
                stdout.write(text)
                stdout.flush()

        threading.Thread(target=read, name="gtp-stdin", daemon=True).start()
        while True:
            line = lines.get()
            waiting.clear()
            if not lines.empty():  # the reader puts before it sets, so nothing is missed
                waiting.set()
            if line is None:
                break
            self._dispatch(line, write, waiting)
            if self.quit_requested:
                break

    # ---- administrative commands -------------------------------------------------
    def cmd_protocol_version(self, args: list[str]) -> str:
        return PROTOCOL_VERSION

    def cmd_name(self, args: list[str]) -> str:
        return self.name

    def cmd_version(self, args: list[str]) -> str:
        # a player that values ended games one way or another says which (mcts: scoring=area|tromp-taylor)
        scoring_in_force = getattr(self.player, "scoring", None)
        return self.version if scoring_in_force is None else f"{self.version} (scoring {scoring_in_force})"

    def cmd_known_command(self, args: list[str]) -> str:
        if not args:
            raise GtpError("syntax error: known_command needs a command name")
        return "true" if self.known(args[0].lower()) else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        return "\n".join(sorted([*self.handlers, *self.streamers]))

    def cmd_quit(self, args: list[str]) -> str:
        self.quit_requested = True
        return ""

    # ---- setup -----------------------------------------------------------------------
    def cmd_boardsize(self, args: list[str]) -> str:
        size = _int_arg(args, 0, "board size")
        try:
            self.rules = Rules(size, self.rules.komi, self.rules.ko, self.rules.allow_suicide)
        except ValueError:
            raise GtpError("unacceptable size") from None
        self._new_game()
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        self._new_game()
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        komi = _float_arg(args, 0, "komi")
        self.rules = Rules(self.rules.size, komi, self.rules.ko, self.rules.allow_suicide)
        self.position = _with_rules(self.position, self.rules)
        return ""

    def _require_empty_board(self) -> None:
        if self.moves or self.position.stones().any():
            raise GtpError("board not empty")

    def _place_handicap(self, points: list[int]) -> str:
        self.position = self.position.with_setup(black=points).with_to_move(WHITE)
        self.setup_black = list(points)
        self.handicap = len(points)
        return " ".join(coords.to_gtp(p, self.rules.size) for p in points)

    def cmd_fixed_handicap(self, args: list[str]) -> str:
        n = _int_arg(args, 0, "number of stones")
        self._require_empty_board()
        try:
            points = fixed_handicap_points(self.rules.size, n)
        except ValueError:
            raise GtpError("invalid handicap") from None
        return self._place_handicap(points)

    def cmd_place_free_handicap(self, args: list[str]) -> str:
        n = _int_arg(args, 0, "number of stones")
        self._require_empty_board()
        num_points = self.rules.num_points
        if not 2 <= n < num_points:
            raise GtpError("invalid handicap")
        limit = max_fixed_handicap(self.rules.size)
        points = fixed_handicap_points(self.rules.size, min(n, limit)) if limit >= 2 else []
        # beyond the standard points: spread the rest over the board, centre outwards
        order = sorted(range(num_points), key=lambda p: _distance_from_centre(p, self.rules.size))
        for p in order:
            if len(points) >= n:
                break
            if p not in points:
                points.append(p)
        return self._place_handicap(points[:n])

    def cmd_set_free_handicap(self, args: list[str]) -> str:
        self._require_empty_board()
        points = [self._vertex(a) for a in args]
        if len(points) < 2 or len(points) >= self.rules.num_points:
            raise GtpError("bad vertex list: expected at least two and fewer than all points")
        if self.rules.pass_move in points or len(set(points)) != len(points):
            raise GtpError("bad vertex list: pass or a repeated vertex")
        self._place_handicap(points)
        return ""

    # ---- play ----------------------------------------------------------------------------
    def cmd_play(self, args: list[str]) -> str:
        if len(args) < 2:
            raise GtpError("syntax error: play needs a color and a vertex")
        color = self._color(args[0])
        self._play(color, self._vertex(args[1]))
        return ""

    def _generate(self, args: list[str], *, commit: bool, cleanup: bool = False) -> str:
        if not args:
            raise GtpError("syntax error: expected a color")
        color = self._color(args[0])
        if cleanup and hasattr(self.player, "genmove_cleanup"):
            move = self.player.genmove_cleanup(self.position, color)
        else:
            move = self.player.genmove(self.position, color)
        if move is None:
            return "resign"
        if not self.position.is_legal(move, color):
            log.error("player %s chose the illegal move %s; passing instead", self.player.name, move)
            move = self.position.pass_move
        if commit:
            self._play(color, move)
        return coords.to_gtp(move, self.rules.size)

    def cmd_genmove(self, args: list[str]) -> str:
        return self._generate(args, commit=True)

    def cmd_reg_genmove(self, args: list[str]) -> str:
        return self._generate(args, commit=False)

    def cmd_kgs_genmove_cleanup(self, args: list[str]) -> str:
        return self._generate(args, commit=True, cleanup=True)

    # ---- analysis (Leela Zero's GTP extension) -------------------------------------------
    def _analyze_args(self, args: list[str], *, need_color: bool) -> tuple[int, int]:
        """``[color] [interval] [interval N] [minmoves N] [maxmoves N]`` -> (color, interval in centiseconds)."""
        rest = list(args)
        color = self.position.to_move
        if rest and rest[0].lower() in ("b", "w", "black", "white"):
            color = self._color(rest.pop(0))
        elif need_color:
            raise GtpError("syntax error: expected a color")
        interval = 0

        def number(text: str, what: str) -> int:
            try:
                value = int(text)
            except ValueError:
                raise GtpError(f"syntax error: expected an integer {what}, got {text!r}") from None
            if value < 0:
                raise GtpError(f"syntax error: {what} must not be negative")
            return value

        if rest and re.fullmatch(r"[+-]?[0-9]+", rest[0]):
            interval = number(rest.pop(0), "interval")
        while rest:
            key = rest.pop(0).lower()
            if key in ("interval", "minmoves", "maxmoves"):
                if not rest:
                    raise GtpError(f"syntax error: {key} needs a number")
                value = number(rest.pop(0), key)
                if key == "interval":
                    interval = value
            elif key in ("avoid", "allow"):
                raise GtpError(f"{key} is not supported")
            else:
                raise GtpError(f"syntax error: unknown analysis option {key!r}")
        return color, interval

    def _analysis_position(self, color: int) -> Position:
        return self.position if self.position.to_move == color else self.position.with_to_move(color)

    def stream_lz_analyze(self, prefix: str, args: list[str], write: Callable[[str], None],
                          stop: threading.Event | None) -> None:
        """``lz-analyze``: search until ``stop`` is set, one info line every interval."""
        color, interval = self._analyze_args(args, need_color=False)
        position = self._analysis_position(color)
        size = self.rules.size
        timer = None
        if stop is None:  # handle(): no input will come, so search for one interval
            stop = threading.Event()
            if interval > 0:
                timer = threading.Timer(interval / 100.0, stop.set)
                timer.daemon = True
                timer.start()
            else:
                stop.set()
        write(f"={prefix}\n")
        last: list[int | None] = [None]

        def emit(analysis: Analysis) -> None:
            line = lz_info_line(analysis, size)
            if line:
                write(line + "\n")
                last[0] = analysis.visits

        try:
            result = self.player.analyze(position, color, stop=stop, callback=emit if interval > 0 else None,
                                         interval=interval / 100.0)
            if interval > 0 and result is not None and result.visits != last[0]:
                emit(result)  # the final state, unless the last update already showed it
        except Exception:  # the response has started: it can only end
            log.exception("lz-analyze failed")
        finally:
            if timer is not None:
                timer.cancel()
        write("\n")

    def stream_lz_genmove_analyze(self, prefix: str, args: list[str], write: Callable[[str], None],
                                  stop: threading.Event | None) -> None:
        """``lz-genmove_analyze``: the player's genmove with info lines, then ``play MOVE``; the move is played."""
        color, interval = self._analyze_args(args, need_color=True)
        size = self.rules.size
        started = threading.Event()
        lock = threading.Lock()

        def start() -> None:
            with lock:
                if not started.is_set():
                    write(f"={prefix}\n")
                    started.set()

        def emit(analysis: Analysis) -> None:
            line = lz_info_line(analysis, size)
            if line:
                start()
                write(line + "\n")

        try:
            move = self.player.genmove_analyze(self.position, color, callback=emit if interval > 0 else None,
                                               interval=interval / 100.0)
        except Exception as exc:
            log.exception("lz-genmove_analyze failed")
            if not started.is_set():
                raise GtpError(f"internal error: {type(exc).__name__}: {exc}") from None
            write("\n")
            return
        if move is None:
            vertex = "resign"
        else:
            if not self.position.is_legal(move, color):
                log.error("player %s chose the illegal move %s; passing instead", self.player.name, move)
                move = self.position.pass_move
            self._play(color, move)
            vertex = coords.to_gtp(move, size)
        start()
        write(f"play {vertex}\n\n")

    def cmd_undo(self, args: list[str]) -> str:
        if not self.history:
            raise GtpError("cannot undo")
        self.position = self.history.pop()
        self.moves.pop()
        return ""

    # ---- information ---------------------------------------------------------------------
    def cmd_showboard(self, args: list[str]) -> str:
        caps = self.position.captures
        return (f"\n{self.position.to_ascii()}\n"
                f"{color_name(self.position.to_move)} to move; captures: black {caps[BLACK]}, white {caps[WHITE]}")

    def cmd_list_stones(self, args: list[str]) -> str:
        """GNU Go's extension: the vertices of one colour's stones."""
        if not args:
            raise GtpError("syntax error: expected a color")
        color = self._color(args[0])
        stones = self.position.stones()
        return " ".join(coords.to_gtp(int(p), self.rules.size) for p in (stones == color).nonzero()[0])

    def _ownership(self) -> np.ndarray | None:
        """The player's ownership estimate of the current position (None without one).

        Kept for as long as the position stands, so ``final_score`` and both
        ``final_status_list`` answers agree (an estimate from rollouts varies)
        and the estimate is paid for once."""
        fn = getattr(self.player, "ownership", None)
        if fn is None:
            return None
        cached = getattr(self, "_ownership_cache", None)
        if cached is not None and cached[0] is self.position:
            return cached[1]
        own = fn(self.position)
        own = None if own is None else np.asarray(own, dtype=np.float64)
        self._ownership_cache = (self.position, own)
        return own

    def _dead(self) -> set[int]:
        dead_fn = getattr(self.player, "dead_stones", None)
        if dead_fn is not None:
            return set(dead_fn(self.position))
        own = self._ownership()
        if own is None:
            return set()
        try:
            return set(scoring.dead_stones(self.position, own))
        except ValueError as exc:
            raise GtpError(f"cannot score: {exc}") from None

    def cmd_final_score(self, args: list[str]) -> str:
        scorer = getattr(self.player, "final_score", None)
        if scorer is not None:
            return scorer(self.position)
        own = self._ownership()
        if own is None:
            return self.position.result()
        try:
            return score_to_result(scoring.score_with_ownership(self.position, own))
        except ValueError as exc:
            raise GtpError(f"cannot score: {exc}") from None

    def cmd_final_status_list(self, args: list[str]) -> str:
        """``dead``: the chains the ownership gives to the opponent; ``alive``: the other stones;
        ``seki``: always empty (seki is not told apart)."""
        if not args or args[0].lower() not in ("alive", "dead", "seki"):
            raise GtpError("syntax error: expected alive, dead or seki")
        status = args[0].lower()
        if status == "seki":
            return ""
        dead = self._dead()
        stones = self.position.stones()
        chosen = [int(p) for p in range(len(stones)) if stones[p] != EMPTY and ((int(p) in dead) == (status == "dead"))]
        return " ".join(coords.to_gtp(p, self.rules.size) for p in chosen)

    # ---- SGF ---------------------------------------------------------------------------------
    def cmd_loadsgf(self, args: list[str]) -> str:
        from games.go import sgf

        if not args:
            raise GtpError("syntax error: loadsgf needs a file name")
        stop = _int_arg(args, 1, "move number") if len(args) > 1 else None
        try:
            trees = sgf.read_sgf(args[0])
            if not trees:
                raise sgf.SgfError(f"{args[0]}: no game in the file")
            record = sgf.GameRecord.from_tree(trees[0], source=args[0])
        except FileNotFoundError:
            raise GtpError(f"cannot load file: {args[0]} not found") from None
        except (OSError, ValueError) as exc:
            raise GtpError(f"cannot load file: {exc}") from None
        old = (self.rules, self.position, self.history, self.moves, self.setup_black, self.setup_white,
               self.handicap)
        self.rules = record.rules(ko=self.rules.ko, allow_suicide=self.rules.allow_suicide)
        self._new_game()
        self.position = record.start(ko=self.rules.ko, allow_suicide=self.rules.allow_suicide)
        self.setup_black, self.setup_white = list(record.setup.black), list(record.setup.white)
        self.handicap = record.handicap
        number = 0
        for node in record.nodes:
            if node.move is not None and stop is not None and number + 1 >= stop:
                break  # the position before move number ``stop``
            if node.setup:
                self.position = node.setup.apply(self.position)
            if node.to_move is not None:
                self.position = self.position.with_to_move(node.to_move)
            if node.move is not None:
                number += 1
                try:
                    self._play(node.move.color, node.move.point)
                except GtpError as exc:
                    (self.rules, self.position, self.history, self.moves, self.setup_black, self.setup_white,
                     self.handicap) = old
                    raise GtpError(f"cannot load file: {args[0]}: move {number}: {exc}") from None
        return color_name(self.position.to_move)

    def cmd_printsgf(self, args: list[str]) -> str:
        """The game so far as SGF; with a file name, written there (atomically) instead."""
        from games.go import sgf

        start = self.history[0] if self.history else self.position
        record = sgf.GameRecord(
            size=self.rules.size, komi=self.rules.komi, handicap=self.handicap,
            setup=sgf.Setup(black=self.setup_black, white=self.setup_white),
            to_move=start.to_move if self.setup_black or self.setup_white else None,
            nodes=tuple(sgf.GameNode(move=sgf.Move(c, m)) for c, m in self.moves),
        )
        if args:
            try:
                sgf.save_sgf(record, args[0])
            except OSError as exc:
                raise GtpError(f"cannot write {args[0]}: {exc}") from None
            return ""
        return "\n" + record.to_sgf().rstrip("\n")

    # ---- time ------------------------------------------------------------------------------------
    def _time_changed(self) -> None:
        hook = getattr(self.player, "set_time", None)
        if hook is not None:
            hook(self.time)

    def cmd_time_settings(self, args: list[str]) -> str:
        main = _float_arg(args, 0, "main time")
        byo = _float_arg(args, 1, "byo-yomi time")
        stones = _int_arg(args, 2, "byo-yomi stones")
        if main < 0 or byo < 0 or stones < 0:
            raise GtpError("syntax error: negative time")
        system = "none" if byo > 0 and stones == 0 else ("absolute" if stones == 0 else "canadian")
        self.time = TimeSettings(system, main, byo, stones, 0)
        self._time_changed()
        return ""

    def cmd_kgs_time_settings(self, args: list[str]) -> str:
        if not args:
            raise GtpError("syntax error: expected none, absolute, byoyomi or canadian")
        system = args[0].lower()
        try:
            self._kgs_time_settings(system, args)
        except ValueError as exc:
            raise GtpError(f"syntax error: {exc}") from None
        self._time_changed()
        return ""

    def _kgs_time_settings(self, system: str, args: list[str]) -> None:
        if system == "none":
            self.time = TimeSettings("none")
        elif system == "absolute":
            self.time = TimeSettings("absolute", _float_arg(args, 1, "main time"))
        elif system == "byoyomi":
            self.time = TimeSettings("byoyomi", _float_arg(args, 1, "main time"), _float_arg(args, 2, "period time"),
                                     0, _int_arg(args, 3, "periods"))
        elif system == "canadian":
            self.time = TimeSettings("canadian", _float_arg(args, 1, "main time"), _float_arg(args, 2, "period time"),
                                     _int_arg(args, 3, "stones"), 0)
        else:
            raise GtpError(f"syntax error: unknown time system {args[0]!r}")

    def cmd_time_left(self, args: list[str]) -> str:
        color = self._color(args[0]) if args else None
        seconds = _float_arg(args, 1, "time")
        stones = _int_arg(args, 2, "stones")
        self.time.time_left[color] = (seconds, stones)
        self._time_changed()
        return ""


_EXTENSION_PREFIXES = ("kgs", "lz", "gogui")
_Z95 = 1.959964


def _wilson_lower(winrate: float, visits: int) -> float:
    """Lower end of the 95% Wilson interval of a win rate seen over ``visits`` trials (0 for none)."""
    if visits <= 0:
        return 0.0
    w = min(max(winrate, 0.0), 1.0)
    z2 = _Z95 * _Z95
    centre = w + z2 / (2 * visits)
    spread = _Z95 * np.sqrt(w * (1 - w) / visits + z2 / (4 * visits * visits))
    return max((centre - spread) / (1 + z2 / visits), 0.0)


def _per_10000(x: float) -> int:
    x = float(x)
    return int(min(max(x, 0.0), 1.0) * 10000) if x == x else 0  # NaN -> 0


def lz_info_line(analysis: Analysis, size: int) -> str:
    """Leela Zero's one-line analysis update: every move with visits, most visited first,
    ``info move D4 visits 12 winrate 5321 prior 1234 lcb 5100 order 0 pv D4 C3 info move ...``
    (win rate for ``analysis.color``; win rate, prior and lcb in 1/10000); "" when no move has visits."""
    moves = sorted((m for m in analysis.moves if m.visits > 0), key=lambda m: (-m.visits, -m.winrate))
    parts = []
    for order, m in enumerate(moves):
        pv = m.pv if m.pv and m.pv[0] == m.move else (m.move, *m.pv)
        parts.append(f"info move {coords.to_gtp(m.move, size)} visits {m.visits} winrate {_per_10000(m.winrate)} "
                     f"prior {_per_10000(m.prior)} lcb {_per_10000(_wilson_lower(m.winrate, m.visits))} "
                     f"order {order} pv {' '.join(coords.to_gtp(int(p), size) for p in pv)}")
    return " ".join(parts)


def _command_name(method: str) -> str:
    """``cmd_kgs_genmove_cleanup`` -> ``kgs-genmove_cleanup``; ``cmd_play`` -> ``play``."""
    name = method[4:]
    head, _, rest = name.partition("_")
    return f"{head}-{rest}" if head in _EXTENSION_PREFIXES and rest else name


def _with_rules(position: Position, rules: Rules) -> Position:
    """The same position under new rules (komi changes mid-game)."""
    pos = position.copy()
    pos.rules = rules
    return pos


def _distance_from_centre(p: int, size: int) -> tuple[int, int]:
    r, c = divmod(p, size)
    mid = (size - 1) / 2
    return (abs(r - mid) + abs(c - mid), p)


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("rlengine")
    except Exception:
        return "0+unknown"
