"""The players that ship with ``games.go``: ``random`` and ``gtp:COMMAND``.

Players are found by name through the ``rlengine.players`` entry points:
``random`` (``make_random_player``, uniformly random moves that do not fill
one's own eye) and ``gtp:COMMAND`` (``make_gtp_player``, an external engine
such as GNU Go).  The ``Player`` protocol they follow, with its optional hooks
and search methods, and the analysis records are in ``games.go.player``
(re-exported here).
"""

from __future__ import annotations

from games.go import _core, coords
from games.go.board import BLACK, Position, Rules
from games.go.gtp_client import GtpClient, GtpError, GtpResponseError
from games.go.player import Analysis, MoveInfo, Player

__all__ = ["Analysis", "EngineError", "GtpPlayer", "MoveInfo", "Player", "RandomPlayer", "make_gtp_player",
           "make_random_player"]


class RandomPlayer:
    """Uniformly random legal moves that never fill the mover's own single-point eye;
    passes when nothing else is left."""

    name = "random"

    def __init__(self, seed: int | None = None):
        import random

        self._seed = seed if seed is not None else random.SystemRandom().randrange(2**62)
        self._rng = _core.seed_rng(self._seed)

    def reset(self, rules: Rules) -> None:  # stateless beyond its generator
        return None

    def reseed(self, seed: int) -> None:
        self._seed = seed
        self._rng = _core.seed_rng(seed)

    def genmove(self, position: Position, color: int) -> int:
        return position.random_move(self._rng, color)


def make_random_player(arg: str = "", *, seed: int | None = None) -> RandomPlayer:
    """Entry-point factory for the player spec ``random``."""
    if arg:
        raise ValueError(f"player 'random' takes no argument, got {arg!r}")
    return RandomPlayer(seed)


# ---- external engines over GTP -------------------------------------------------------------


class EngineError(RuntimeError):
    """An external GTP engine crashed, hung or refused a move; the message names its command
    and ends with the tail of its stderr."""


class GtpPlayer:
    """An external engine (``gtp:COMMAND``) behind the Player protocol.

    ``reset(rules)`` sends ``boardsize``/``komi``/``clear_board`` (restarting the
    engine first when it is not running, or when ``COMMAND`` holds ``{seed}`` and
    ``reseed`` gave a new seed).  Before each ``genmove`` the engine's board is
    brought in line with the game: the moves it has not seen are sent with
    ``play``; when the game is not a continuation of what the engine holds
    (an undo, another game) the board is cleared and the whole game replayed.
    The game's moves come from ``observe(color, move)`` calls (``play_game``
    and the match runner make them) or, without those, from the position's
    ``parent``/``last_move`` chain.

    Once a pass has been played the engine is asked ``kgs-genmove_cleanup``
    when it knows that command, so it captures dead stones before passing
    (area scoring counts every stone left on the board); ``genmove_cleanup``,
    which the game loop calls in the cleanup phase after two passes
    (``games.go.game``), always asks it.  ``resign`` -> None.
    A crash or a silent engine (``timeout`` seconds per command) raises
    ``EngineError`` naming the command and the engine's stderr tail.
    """

    def __init__(self, command: str, *, seed: int | None = None, timeout: float = 60.0,
                 start_timeout: float = 30.0):
        import shlex

        if not command.strip():
            raise ValueError("player 'gtp' needs a command, e.g. gtp:/usr/games/gnugo --mode gtp")
        self.command = command
        self.name = f"gtp:{command}"
        self.timeout = timeout
        self.start_timeout = start_timeout
        try:
            shlex.split(command.replace("{seed}", "0"))
        except ValueError as exc:
            raise ValueError(f"player spec gtp:{command}: cannot split the command: {exc}") from None
        self._seed = seed
        self._client = None
        self._started_seed: int | None = None
        self._rules: Rules | None = None
        self._sent: list[tuple[int, int]] = []  # (color, move) the engine's board holds
        self._observed: list[tuple[int, int]] | None = None  # the game's moves, when observe() is used
        self._cleanup: bool | None = None  # engine knows kgs-genmove_cleanup
        self._start()

    # ---- process ------------------------------------------------------------------
    def _argv(self) -> list[str]:
        import shlex

        seed = self._seed
        if seed is None and "{seed}" in self.command:
            import random

            seed = random.SystemRandom().randrange(2**31)
        self._started_seed = self._seed
        return shlex.split(self.command.replace("{seed}", str(seed % 2**31 if seed is not None else 0)))

    def _start(self) -> None:
        argv = self._argv()
        try:
            self._client = GtpClient(argv, timeout=self.timeout)
        except GtpError as exc:
            raise EngineError(f"GTP engine {self.command!r}: {exc}") from None
        self._sent = []
        self._cleanup = None
        try:  # one round trip proves it speaks GTP
            self._client.send("protocol_version", timeout=self.start_timeout)
        except GtpError as exc:
            raise self._error("protocol_version", exc) from None

    @property
    def alive(self) -> bool:
        return self._client is not None and self._client.alive

    def _error(self, command: str, exc: Exception) -> EngineError:
        client = self._client
        tail = client.stderr_tail if client is not None else ""
        message = str(exc)
        if tail and tail not in message:
            message += f"; its stderr ends with:\n{tail}"
        return EngineError(f"GTP engine {self.command!r} failed on {command!r}: {message}")

    def _send(self, command: str) -> str:
        if self._client is None:
            raise EngineError(f"GTP engine {self.command!r} is closed")
        try:
            return self._client.send(command, timeout=self.timeout)
        except GtpResponseError as exc:
            raise EngineError(f"GTP engine {self.command!r} refused {command!r}: {exc.message}") from None
        except GtpError as exc:
            if self._client.alive:  # a timeout closes the client; make sure nothing is left running
                self._client.close(graceful=False)
            raise self._error(command, exc) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ---- Player hooks --------------------------------------------------------------
    def reseed(self, seed: int) -> None:
        """The seed for ``{seed}`` in the command; takes effect (with a restart) at the next ``reset``."""
        self._seed = seed

    def reset(self, rules: Rules) -> None:
        restart = not self.alive or ("{seed}" in self.command and self._seed != self._started_seed)
        if restart:
            if self._client is not None:
                self._client.close(graceful=self._client.alive)
            self._start()
        self._rules = rules
        self._send(f"boardsize {rules.size}")
        self._send(f"komi {rules.komi:g}")
        self._send("clear_board")
        self._sent = []
        self._observed = []

    def observe(self, color: int, move: int) -> None:
        """A move was played in the game (by either side)."""
        if self._observed is not None:
            self._observed.append((color, move))

    def _game_moves(self, position: Position) -> list[tuple[int, int]]:
        if self._observed is not None and len(self._observed) == position.move_number:
            return list(self._observed)
        chain: list[tuple[int, int]] = []
        pos = position
        while pos.parent is not None and pos.last_move is not None:
            parent = pos.parent
            chain.append((parent.to_move, pos.last_move))
            pos = parent
        if pos.move_number == 0 and len(chain) == position.move_number and not pos.stones().any():
            return chain[::-1]
        raise EngineError(f"GTP engine {self.command!r}: cannot tell the game's moves: call observe(color, move) "
                          f"for every move or pass positions played without inplace")

    def _sync(self, position: Position) -> None:
        if self._rules is None or self._rules.size != position.size or self._rules.komi != position.rules.komi:
            self.reset(position.rules)
            self._observed = None
        moves = self._game_moves(position)
        if moves[:len(self._sent)] != self._sent:  # diverged: start again from the empty board
            self._send("clear_board")
            self._sent = []
        size = position.size
        for color, move in moves[len(self._sent):]:
            self._send(f"play {'b' if color == BLACK else 'w'} {coords.to_gtp(move, size)}")
            self._sent.append((color, move))

    def _knows_cleanup(self) -> bool:
        if self._cleanup is None:
            self._cleanup = self._send("known_command kgs-genmove_cleanup").strip().lower() == "true"
        return self._cleanup

    def genmove(self, position: Position, color: int) -> int | None:
        self._sync(position)
        passed = any(m == position.pass_move for _, m in self._sent)
        return self._genmove(position, color, cleanup=passed)

    def genmove_cleanup(self, position: Position, color: int) -> int | None:
        """The cleanup phase after two passes (``games.go.game``): ``kgs-genmove_cleanup`` when the
        engine knows it (it captures every dead stone before it passes), else ``genmove``."""
        self._sync(position)
        return self._genmove(position, color, cleanup=True)

    def _genmove(self, position: Position, color: int, *, cleanup: bool) -> int | None:
        command = "kgs-genmove_cleanup" if cleanup and self._knows_cleanup() else "genmove"
        full = f"{command} {'b' if color == BLACK else 'w'}"
        answer = self._send(full).strip()
        if answer.lower() == "resign":
            return None
        try:
            move = coords.from_gtp(answer, position.size)
        except coords.CoordError as exc:
            raise EngineError(f"GTP engine {self.command!r} answered {full!r} with {answer!r}: {exc}") from None
        self._sent.append((color, move))
        return move


def make_gtp_player(arg: str = "", *, seed: int | None = None) -> GtpPlayer:
    """Entry-point factory for the player spec ``gtp:COMMAND`` (``{seed}`` in COMMAND: a per-game seed)."""
    return GtpPlayer(arg, seed=seed)
