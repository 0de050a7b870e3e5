"""Matches between two players, and expert games between two external GTP engines.

``run_match`` plays ``num_games`` games between player specs A (``black``) and
B (``white``), colours alternating with ``swap``; ``gen_games`` is the same
machinery with two ``gtp:`` engines, fixed colours and a few random opening
moves per game, for training data.  Both:

- write one SGF per game atomically (``DIR/game-000001.sgf``), with PB/PW the
  specs, RE, KM and a root comment naming the colour assignment;
- resume: games whose SGF exists are read back (result and colours), only the
  missing ones are played; with a seed, game i is the same either way (its
  players' seeds, ``{seed}`` in GTP commands and its opening derive from
  ``derive_seed(seed, "game", i, ...)``).  The settings that fix the games
  (specs, rules, seed, move cap, opening, colours) are stored beside them in
  ``DIR/match.json`` (written atomically); a resume with another setting is
  refused, naming the key.  Without ``--seed`` the stored seed is reused;
- run games in ``workers`` spawned processes, each building its own players
  (``run_pool``, which also serves ``rlengine tournament``);
- report ``duplicates``: decided games whose move sequence repeats an earlier
  game's (deterministic players with no random opening replay one game);
- play each game with the one game loop (``games.go.game``): two passes start
  a cleanup phase in which the players capture the stones they believe dead
  (``gtp:`` engines answer ``kgs-genmove_cleanup``), two more passes end it,
  and only then is the game scored, by Tromp-Taylor area with the rules given
  (positional superko by default), so that the result agrees with GNU Go's
  ``final_score`` of the SGF; the Tromp-Taylor result at the first two passes
  is noted in the comment.  A resignation gives ``B+R``/``W+R``; the move cap
  (default 3*N*N, cleanup moves included) ends a game scored as it stands,
  noted in the comment.

Failures:

- A player that answers an illegal move (by our rules: occupied, suicide,
  superko) loses the game by forfeit: ``RE[B+F]``/``RE[W+F]``, the comment
  names the move and the reason.  It counts as a decided game.
- A player that raises (an external engine that crashes, hangs past
  ``timeout`` seconds per command, or refuses a move) voids the game:
  ``RE[Void]``, the comment holds the error (with the engine's stderr tail).
  It is counted under ``errors``, left out of the win rate, and kept on resume
  (``retry_void=True``, ``--retry-void``, plays it again).  ``gtp:`` engines
  are restarted at the next game.
- A player that cannot be built (here or in a worker process) is a
  ``MatchError`` naming the spec, never a traceback.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import logging
import math
import random
import re
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable

from games.go import sgf
from games.go.board import BLACK, WHITE, Rules
from games.go.game import Game, default_move_cap, play_game
from games.go.players import RandomPlayer
from rlengine.seeding import derive_seed

__all__ = ["GameOutcome", "MatchError", "MatchSpec", "Z95", "build_player", "count_duplicates", "gen_games", "is_deterministic",
           "move_digest", "play_one", "run_games", "run_match", "run_pool", "sprt_over", "summarize_generation",
           "summarize_match", "warn_deterministic", "wilson_interval"]

log = logging.getLogger(__name__)

Z95 = 1.959964  # two-sided 95% normal quantile


class MatchError(ValueError):
    """Bad match settings, a player spec that cannot be built, or an unreadable SGF in the output folder."""


def wilson_interval(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (``(0, 1)`` when ``n`` is 0)."""
    if n < 0 or not 0 <= wins <= n:
        raise ValueError(f"need 0 <= wins <= n, got wins={wins}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class MatchSpec:
    """What to play: A (``black``) against B (``white``), ``num_games`` games into ``out``."""

    black: str
    white: str
    num_games: int
    out: Path
    rules: Rules = field(default_factory=lambda: Rules(size=9, komi=7.5))
    swap: bool = False
    seed: int | None = None
    max_moves: int | None = None  # default 3*N*N
    timeout: float = 60.0  # seconds per engine command
    random_opening: int = 0  # 1..K random opening moves (0: none)
    workers: int = 1
    kind: str = "match"  # named in SGF comments
    names: tuple[str, str] | None = None  # PB/PW of A and B (default: their specs)

    def __post_init__(self) -> None:
        if self.num_games < 1:
            raise MatchError(f"--games must be at least 1, got {self.num_games}")
        if self.workers < 1:
            raise MatchError(f"--workers must be at least 1, got {self.workers}")
        if self.max_moves is not None and self.max_moves < 1:
            raise MatchError(f"--max-moves must be at least 1, got {self.max_moves}")
        if not self.timeout > 0:
            raise MatchError(f"--timeout must be positive, got {self.timeout}")
        if self.random_opening < 0:
            raise MatchError(f"--random-opening must be 0 or more, got {self.random_opening}")
        object.__setattr__(self, "out", Path(self.out))

    def spec(self, player: str) -> str:
        return self.black if player == "A" else self.white

    def label(self, player: str) -> str:
        """The name SGF records give player ``A`` or ``B``."""
        return self.spec(player) if self.names is None else self.names[0 if player == "A" else 1]

    def a_color(self, index: int) -> str:
        """``black`` or ``white``: A's colour in game ``index`` (1-based)."""
        return "black" if not self.swap or index % 2 == 1 else "white"

    def path(self, index: int) -> Path:
        return self.out / f"game-{index:06d}.sgf"

    def settings(self) -> dict:
        """What fixes the games (stored in ``out/match.json``; a resume must match it).  ``num_games``,
        ``workers`` and ``timeout`` may change."""
        r = self.rules
        return {"kind": self.kind, "black": self.black, "white": self.white,
                "names": None if self.names is None else list(self.names), "size": r.size, "komi": r.komi,
                "ko": r.ko, "allow_suicide": r.allow_suicide, "swap": self.swap, "seed": self.seed,
                "max_moves": self.max_moves, "random_opening": self.random_opening}


@dataclass(frozen=True)
class GameOutcome:
    index: int
    a_color: str  # "black" | "white"
    result: str  # SGF RE: B+3.5, W+R, B+F, 0, Void
    num_moves: int
    error: str | None = None
    resumed: bool = False
    digest: str | None = None  # of the move sequence (move_digest)

    @property
    def winner(self) -> str | None:
        """``A``, ``B`` or None (draw, error)."""
        if self.error is not None or self.result[:2] not in ("B+", "W+"):
            return None
        black_won = self.result.startswith("B+")
        return "A" if black_won == (self.a_color == "black") else "B"

    @property
    def winner_color(self) -> str | None:
        if self.error is not None or self.result[:2] not in ("B+", "W+"):
            return None
        return "black" if self.result.startswith("B+") else "white"


# ---- one game -------------------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"game (\d+): A plays (black|white), B plays (black|white)")


def _play(spec: MatchSpec, index: int, players: dict[str, object]) -> tuple[sgf.GameRecord, GameOutcome]:
    """Play game ``index`` with ``players`` (``{"A": ..., "B": ...}``); never raises for a player's failure."""
    rules = spec.rules
    a_color = spec.a_color(index)
    by_color = {BLACK: players["A"], WHITE: players["B"]} if a_color == "black" else \
        {BLACK: players["B"], WHITE: players["A"]}
    names = {BLACK: "A" if a_color == "black" else "B", WHITE: "B" if a_color == "black" else "A"}
    notes = [f"rlengine {spec.kind}, game {index}: A plays {a_color}, B plays "
             f"{'white' if a_color == 'black' else 'black'}",
             f"A: {spec.black}", f"B: {spec.white}",
             f"rules: Tromp-Taylor area scoring after a cleanup phase (after two passes the players capture "
             f"what they believe dead; two more passes end the game), komi {rules.komi:g}, "
             f"{rules.ko} {'ko' if rules.ko == 'simple' else 'superko'}, "
             f"suicide {'allowed' if rules.allow_suicide else 'illegal'}"]
    cap = spec.max_moves if spec.max_moves is not None else default_move_cap(rules.size)
    game = Game(rules, max_moves=cap)
    error = None
    try:
        if spec.random_opening:
            opening_seed = derive_seed(spec.seed, "game", index, "opening")
            count = random.Random(opening_seed).randint(1, spec.random_opening)  # never 0: no game repeats
            # another's opening because both drew none
            chooser = RandomPlayer(opening_seed)  # legal moves that do not fill one's own eye
            for _ in range(min(count, cap)):
                move = chooser.genmove(game.position, game.to_move)
                if move == game.position.pass_move:
                    break
                game.play(move, comment="random opening move")
            notes.append(f"random opening: {game.num_moves} moves")
        play_game(by_color, game, labels=names)  # resets the players, tells them the opening, plays to the end
    except Exception as exc:  # a crashed or silent engine voids this game, not the match
        error = f"{type(exc).__name__}: {exc}"
        log.warning("game %d voided: %s", index, error)
        game.void(error)
    record = game.record(black=spec.label(names[BLACK]), white=spec.label(names[WHITE]), comment=notes)
    return record, GameOutcome(index, a_color, game.result, game.num_moves, error, digest=move_digest(record))


def move_digest(record: sgf.GameRecord) -> str:
    """A short digest of a game's move sequence (equal for games that repeat each other move for move)."""
    return hashlib.sha256(repr((record.size, list(record.moves))).encode()).hexdigest()[:16]


def count_duplicates(digests: Iterable[str | None]) -> int:
    """How many games (in the order given) repeat an earlier game's move sequence (None: not counted)."""
    seen: set[str] = set()
    repeats = 0
    for d in digests:
        if d is None:
            continue
        repeats += d in seen
        seen.add(d)
    return repeats


def is_deterministic(spec: str, player: object) -> bool:
    """Whether ``player`` (built from ``spec``) is known to play the same move in the same position
    whatever its seed: a ``deterministic`` attribute when it has one, else a temperature of 0 (greedy
    ``policy:`` players).  External engines cannot be told (GNU Go without ``--seed`` varies); the
    duplicate count of a summary catches what this misses."""
    flag = getattr(player, "deterministic", None)
    if isinstance(flag, bool):
        return flag
    return getattr(player, "temperature", None) == 0


def warn_deterministic(pairing: str, *, random_opening: int) -> None:
    """Log (stderr) that both players of ``pairing`` are deterministic: games with the same colours then
    repeat each other unless a random opening makes them differ."""
    advice = (f"only the random opening (1..{random_opening} moves) makes their games differ, and short "
              f"openings repeat" if random_opening else
              "every game with the same colours will be the same game: use --random-opening K, a temperature, "
              "or {seed} in gtp: commands")
    log.warning("%s: both players are deterministic; %s", pairing, advice)


def _read_outcome(spec: MatchSpec, index: int) -> GameOutcome:
    path = spec.path(index)
    try:
        record = sgf.GameRecord.from_tree(sgf.read_sgf(path)[0], source=str(path))
    except (sgf.SgfError, IndexError, OSError) as exc:
        raise MatchError(f"cannot resume from {path}: {exc}; move it away to replay that game") from None
    found = _ASSIGNMENT.search(record.comment or "")
    if found is None or not record.result:
        raise MatchError(f"cannot resume from {path}: no result or colour assignment in it (not written by "
                         f"rlengine {spec.kind}?); move it away to replay that game")
    lines = (record.comment or "").splitlines()
    for name in ("A", "B"):
        if f"{name}: {spec.spec(name)}" not in lines:
            stored = next((line[3:] for line in lines if line.startswith(f"{name}: ")), "?")
            raise MatchError(f"{path} was played with player {name} = {stored!r}, not {spec.spec(name)!r}; "
                             f"use another --out for a different pairing")
    error = None
    if record.result == "Void":
        error = next((line for line in lines if line.startswith("error")), "error")
    return GameOutcome(index, found.group(2), record.result, record.num_moves, error, resumed=True,
                       digest=move_digest(record))


# ---- players, in this process or in workers -------------------------------------------------


def build_player(spec: str, rules: Rules, *, seed: int | None):
    """The player of ``spec``, reset to ``rules`` so that it refuses up front what it cannot play (a value
    network's komi, a board size); closed again when that raises."""
    from rlengine.registry import load_player

    player = load_player(spec, seed=seed)
    reset = getattr(player, "reset", None)
    if reset is not None:
        try:
            reset(rules)
        except Exception:
            _close(player)
            raise
    return player


def _build_players(spec: MatchSpec) -> dict[str, object]:
    players: dict[str, object] = {}
    for name in ("A", "B"):
        try:
            player = build_player(spec.spec(name), spec.rules, seed=derive_seed(spec.seed, "player", name))
        except Exception as exc:
            for p in players.values():
                _close(p)
            raise MatchError(f"cannot build player {name} from spec {spec.spec(name)!r}: {exc}") from None
        if hasattr(player, "timeout"):
            player.timeout = spec.timeout
        players[name] = player
    return players


def _close(player) -> None:
    close = getattr(player, "close", None)
    if close is not None:
        try:
            close()
        except Exception as exc:  # closing is best effort
            log.debug("closing %s: %s", getattr(player, "name", player), exc)


def play_one(spec: MatchSpec, index: int, players: dict[str, object]) -> tuple[sgf.GameRecord, GameOutcome]:
    """Game ``index`` of ``spec`` with ``players`` (``{"A": ..., "B": ...}``), reseeded from the spec's seed
    so that game i is the same whether it is played first or on a resume; never raises for a player's
    failure (the game is voided)."""
    for name, player in players.items():
        reseed = getattr(player, "reseed", None)
        if reseed is not None:
            reseed(derive_seed(spec.seed, "game", index, name))
    return _play(spec, index, players)


def _play_and_save(spec: MatchSpec, index: int, players: dict[str, object]) -> GameOutcome:
    record, outcome = play_one(spec, index, players)
    sgf.save_sgf(record, spec.path(index))
    return outcome


class MatchWorker:
    """``run_pool``'s worker for a match: ``run(index)`` plays game ``index`` of ``spec`` and saves its SGF.
    Builds its players (closed by ``close``) unless given ``players`` (left open for their owner)."""

    def __init__(self, spec: MatchSpec, players: dict[str, object] | None = None):
        self.spec = spec
        self.owned = players is None
        self.players = _build_players(spec) if players is None else players

    def run(self, index: int) -> GameOutcome:
        return _play_and_save(self.spec, index, self.players)

    def close(self) -> None:
        if self.owned:
            for p in self.players.values():
                _close(p)
            self.players = {}


# ---- one pool of worker processes, for matches and tournaments ------------------------------

_WORKER: dict[str, Any] = {}


def _exit_with_parent(parent: int, close_fn: Callable[[], None]) -> None:
    """A worker whose parent died (killed, not interrupted) stops its engines and exits instead of
    playing on as an orphan."""
    import os
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    close_fn()
    os._exit(1)


def _in_worker(exc: Exception) -> MatchError:
    """A worker's exception as a MatchError that says where it happened (bad input, a ValueError, needs no
    type name)."""
    what = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
    return MatchError(f"in a worker process: {what}")


def _pool_init(factory: Callable[..., Any], args: tuple) -> None:
    import os
    import threading

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parent = os.getppid()
    try:
        worker = factory(*args)
    except Exception as exc:  # reported with the first task, as an error line rather than a dead pool
        _WORKER["error"] = _in_worker(exc)
        return
    _WORKER["worker"] = worker
    atexit.register(worker.close)
    threading.Thread(target=_exit_with_parent, args=(parent, worker.close), name="parent-watch", daemon=True).start()


def _pool_task(task: Any) -> Any:
    if "error" in _WORKER:
        raise _WORKER["error"]
    try:
        return _WORKER["worker"].run(task)
    except Exception as exc:  # a bad spec or checkpoint met only here: an error line, not a traceback
        raise _in_worker(exc) from None


def run_pool(tasks: Iterable[Any], *, workers: int, factory: Callable[..., Any], args: tuple = (),
             on_result: Callable[[Any, Any], bool], in_flight: int = 1, local: Any = None,
             saved_in: str = "") -> None:
    """Run ``worker.run(task)`` for every task, a worker being ``factory(*args)`` (an object with ``run``
    and ``close``): in ``workers`` spawned processes that each build one worker and keep it, or with one
    worker in this process (``local``: a worker already built, left open).  ``on_result(task, result)``
    is called here, in completion order; True from it starts no further task (tasks already running
    finish and are reported).  ``in_flight``: tasks queued per process.  A worker's failure (a player
    that cannot be built there, say) is a MatchError; ``saved_in`` says what is kept when a process dies."""
    tasks = list(tasks)
    if workers == 1 or len(tasks) <= 1:
        worker = local if local is not None else factory(*args)
        try:
            for task in tasks:
                if on_result(task, worker.run(task)):
                    break
        finally:
            if local is None:
                worker.close()
        return
    num = min(workers, len(tasks))
    queue = iter(tasks)
    with ProcessPoolExecutor(max_workers=num, mp_context=get_context("spawn"), initializer=_pool_init,
                             initargs=(factory, args)) as pool:
        try:
            running = {pool.submit(_pool_task, t): t for t in itertools.islice(queue, num * in_flight)}
            stopped = False
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        raise MatchError(f"a worker process died ({exc}); {saved_in or 'what was saved is kept'}: "
                                         f"re-run the same command to resume") from None
                    stopped = bool(on_result(task, result)) or stopped
                    if not stopped:
                        running.update((pool.submit(_pool_task, t), t) for t in itertools.islice(queue, 1))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # queued tasks are not started
            raise


# ---- many games -----------------------------------------------------------------------------


def _settings_path(spec: MatchSpec) -> Path:
    return spec.out / "match.json"


def _resume_settings(spec: MatchSpec) -> tuple[MatchSpec, bool]:
    """``spec`` with the stored seed when it has none, and whether ``out/match.json`` exists; a MatchError
    naming the key when the stored settings differ from ``spec``'s."""
    path = _settings_path(spec)
    if not path.exists():
        return spec, False
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MatchError(f"cannot resume from {path}: {exc}") from None
    if spec.seed is None and stored.get("seed") is not None:
        spec = _with_seed(spec, int(stored["seed"]))
    new = spec.settings()
    for key in sorted(set(stored) | set(new)):
        if stored.get(key) != new.get(key):
            raise MatchError(f"{spec.out} was played with {key} = {stored.get(key)!r}, not {new.get(key)!r}; "
                             f"use the same settings to resume, or another --out")
    return spec, True


def run_games(spec: MatchSpec, *, progress: bool = True, players: dict[str, object] | None = None,
              stop_fn: Callable[[dict[int, GameOutcome]], bool] | None = None,
              retry_void: bool = False) -> list[GameOutcome]:
    """Play the games of ``spec`` missing from ``spec.out`` and return all outcomes in order.

    ``players``: ``{"A": ..., "B": ...}`` already built (Player objects; the specs then only name them
    in the SGF), played in this process (``workers`` must be 1) and left open for the caller.
    ``stop_fn(outcomes)``: asked after every finished game (outcomes by game index); True starts no
    further game (games already running in workers finish and are saved).
    ``retry_void``: play the games recorded as void again (their SGFs are replaced).
    """
    from tqdm import tqdm

    from rlengine.runtime import atomic_write_text

    if players is not None:
        if set(players) != {"A", "B"}:
            raise MatchError(f"players must be {{'A': ..., 'B': ...}}, got keys {sorted(players)}")
        if spec.workers != 1:
            raise MatchError("players built by the caller play in this process: use workers=1")

    spec, stored = _resume_settings(spec)
    if spec.seed is None:  # fresh entropy, but one base seed so that each game still gets its own seeds
        spec = _with_seed(spec, random.SystemRandom().randrange(2**62))
    spec.out.mkdir(parents=True, exist_ok=True)
    outcomes: dict[int, GameOutcome] = {}
    missing = []
    for i in range(1, spec.num_games + 1):
        if spec.path(i).exists():
            outcome = _read_outcome(spec, i)
            if retry_void and outcome.error is not None:
                missing.append(i)
            else:
                outcomes[i] = outcome
        else:
            missing.append(i)
    if not stored:  # the games already here (an older rlengine's) passed the check of their players
        atomic_write_text(_settings_path(spec), json.dumps(spec.settings(), indent=1, sort_keys=True) + "\n")
    if outcomes:
        log.info("%d games already in %s; playing the %d missing", len(outcomes), spec.out, len(missing))
    if not missing or (stop_fn is not None and stop_fn(outcomes)):
        return [outcomes[i] for i in sorted(outcomes)]
    bar = tqdm(total=len(missing), desc=spec.kind, unit="game", disable=not progress, dynamic_ncols=True)
    owned = players is None
    if owned:
        players = _build_players(spec)  # in this process: proves the specs work before any worker starts
    parallel = spec.workers > 1 and len(missing) > 1

    def on_result(index: int, outcome: GameOutcome) -> bool:
        outcomes[index] = outcome
        bar.update(1)
        return stop_fn is not None and stop_fn(outcomes)

    try:
        if all(is_deterministic(spec.spec(k), players[k]) for k in ("A", "B")):
            warn_deterministic(f"{spec.kind} {spec.label('A')} vs {spec.label('B')}",
                               random_opening=spec.random_opening)
        if parallel and owned:
            for p in players.values():
                _close(p)
            players = {}
        run_pool(missing, workers=spec.workers if parallel else 1, factory=MatchWorker, args=(spec,),
                 local=None if parallel else MatchWorker(spec, players), on_result=on_result,
                 saved_in=f"the games already saved in {spec.out} are kept")
    finally:
        bar.close()
        if owned:
            for p in players.values():
                _close(p)
    return [outcomes[i] for i in sorted(outcomes)]


def _with_seed(spec: MatchSpec, seed: int) -> MatchSpec:
    from dataclasses import replace

    return replace(spec, seed=seed)


def summarize_match(spec: MatchSpec, outcomes: list[GameOutcome]) -> dict:
    wins = {"A": 0, "B": 0}
    by_color = {"A": {"black": 0, "white": 0}, "B": {"black": 0, "white": 0}}
    errors = draws = 0
    for o in outcomes:
        if o.error is not None:
            errors += 1
        elif o.winner is None:
            draws += 1
        else:
            wins[o.winner] += 1
            by_color[o.winner][o.winner_color] += 1
    decided = wins["A"] + wins["B"]
    lo, hi = wilson_interval(wins["A"], decided)
    return {
        "games": len(outcomes),
        "played": sum(not o.resumed for o in outcomes),
        "wins": wins,
        "wins_by_color": by_color,
        "draws": draws,
        "errors": errors,
        "win_rate": wins["A"] / decided if decided else None,
        "wilson95": [lo, hi],
        "duplicates": _duplicates(outcomes),
        "black": spec.black,
        "white": spec.white,
        "out": str(spec.out),
    }


def _duplicates(outcomes: list[GameOutcome]) -> int:
    """Games (void ones left out) that repeat an earlier game move for move; logged when there are any."""
    repeats = count_duplicates(o.digest for o in outcomes if o.error is None)
    if repeats:
        log.warning("%d of %d games repeat an earlier game move for move", repeats, len(outcomes))
    return repeats


def summarize_generation(spec: MatchSpec, outcomes: list[GameOutcome]) -> dict:
    counts = {"black": 0, "white": 0, "draws": 0, "errors": 0}
    for o in outcomes:
        key = "errors" if o.error is not None else (o.winner_color or "draws")
        counts[key] += 1
    good = [o.num_moves for o in outcomes if o.error is None]
    return {
        "games": len(outcomes),
        "written": sum(not o.resumed for o in outcomes),
        "results": counts,
        "mean_moves": sum(good) / len(good) if good else None,
        "duplicates": _duplicates(outcomes),
        "black": spec.black,
        "white": spec.white,
        "out": str(spec.out),
    }


def sprt_over(sprt, outcomes: dict[int, GameOutcome]) -> dict:
    """``sprt.run`` over A's scores in game order (1, 2, ... as far as they are finished; void games are
    skipped), plus ``last_game``: the index of the game that decided it (or the last one fed)."""
    prefix = []
    i = 1
    while i in outcomes:
        prefix.append(outcomes[i])
        i += 1
    decided = [o for o in prefix if o.error is None]
    scores = [1.0 if o.winner == "A" else 0.0 if o.winner == "B" else 0.5 for o in decided]
    result = sprt.run(scores)
    used = result["games"]
    result["last_game"] = decided[used - 1].index if used else 0
    if result["decision"] == "inconclusive" and prefix:
        result["last_game"] = prefix[-1].index
    return result


def run_match(spec: MatchSpec, *, progress: bool = True, players: dict[str, object] | None = None,
              sprt=None, retry_void: bool = False) -> dict:
    """Play (or resume) a match; the summary ``rlengine match`` prints (``players``, ``retry_void``: see
    ``run_games``).

    ``sprt`` (a ``rlengine.ratings.SPRT``): stop as soon as the sequential test on A's results, taken in
    game order, decides; ``num_games`` is then the cap.  The summary counts the games up to the deciding
    one and adds ``sprt`` (LLR, bounds, decision); games that finished in other workers after it are
    kept on disk and counted under ``beyond_decision``.
    """
    if sprt is None:
        return summarize_match(spec, run_games(spec, progress=progress, players=players, retry_void=retry_void))
    outcomes = run_games(spec, progress=progress, players=players, retry_void=retry_void,
                         stop_fn=lambda done: sprt_over(sprt, done)["decision"] != "inconclusive")
    test = sprt_over(sprt, {o.index: o for o in outcomes})
    used = [o for o in outcomes if o.index <= test["last_game"]]
    return {**summarize_match(spec, used), "beyond_decision": len(outcomes) - len(used), "sprt": test}


def gen_games(spec: MatchSpec, *, progress: bool = True, retry_void: bool = False) -> dict:
    """Generate (or resume) games between two GTP engines; the summary ``rlengine gen-games`` prints."""
    for name in ("A", "B"):
        if not spec.spec(name).startswith("gtp:"):
            raise MatchError(f"gen-games plays external GTP engines; got {spec.spec(name)!r}")
    if spec.swap:
        raise MatchError("gen-games keeps --black on black; swapping colours is for matches")
    return summarize_generation(spec, run_games(spec, progress=progress, retry_void=retry_void))
