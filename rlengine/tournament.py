"""Tournaments between many players: round-robin or gauntlet, results in SQLite, Bradley-Terry ratings.

A tournament has a name, players (``NAME=SPEC``, or every K-th checkpoint of a training run) and a
format:

- ``round-robin``: every pair of players meets;
- ``gauntlet``: every player meets every *field* player (``--field``), field players do not meet
  each other.

A pairing is named and seeded by its players' names in sorted order (``"a vs b"``), so the order of
``--player`` does not matter: a rerun with the players listed in another order resumes the same games.
Each pairing plays ``games`` games with colours alternating; which player is black in its odd games
is chosen so that, over the whole tournament, every player is black in as many games as it is white,
or one more or one fewer (the pairings are oriented along closed walks of the pairing graph, an
Euler-tour orientation over the players sorted by name; odd ``games`` included, e.g. one game per
pairing).  Colours are balanced, not modelled: the ratings fit no first-move advantage.  Game k of
pairing (A, B) is ``rlengine.match``'s game k of the match A against B with ``swap``, on a seed
derived from the tournament's seed and the pairing, so it is the same game whenever, wherever and in
whatever order it is played (for the same set of players).  The games go through the one game loop
(``rlengine.match.play_one``): cleanup phase, Tromp-Taylor result that agrees with GNU Go's
``final_score``, forfeit on an illegal move, void on a crashed engine.

**Where games run.**  ``TournamentWorker`` is a plain class that plays one game per task with players
it builds once and keeps; it runs in this process (``workers=1``), in ``workers`` spawned processes, or
as Ray actors (``backend="ray"``, ``rlengine.runtime.ActorPool``, on this machine or a cluster).  The
driver alone writes: each finished game's SGF atomically under
``games/<tournament>/<pairing>-<hash>/`` (the hash of the two players' exact names and specs, so two
tournaments sharing one folder, or two specs that differ only in punctuation, never share a file),
then its row in the results database in one transaction.  A tournament killed at any moment resumes
with the same command: the database says which games are done, and only the others are played
(``retry_void``, ``--retry-void``: void games too).  Both players deterministic is logged as a
warning; the summary counts ``duplicates``, decided games that repeat an earlier game move for move.

**Output.** ``run_tournament`` returns the ratings (``rlengine.ratings``), a crosstable, and the
summary the CLI prints as its final JSON line; for players from a run, ``plot_elo`` draws Elo against
training step with interval bars and the run's TensorBoard gets the same figures.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from games.go import sgf
from games.go.board import Rules
from rlengine.match import (MatchSpec, count_duplicates, is_deterministic, move_digest, play_one,
                            run_pool, warn_deterministic)
from rlengine.ratings import GameRow, Ratings, RatingsError, Result, ResultsDB, format_table, rate
from rlengine.seeding import derive_seed

__all__ = ["Entrant", "TournamentError", "TournamentSpec", "TournamentWorker", "crosstable", "entrants_from_run",
           "format_report", "log_to_tensorboard", "pairing_key", "parse_entrant", "play_tournament", "plot_elo",
           "run_tournament", "tournament_duplicates", "tournament_results"]

log = logging.getLogger(__name__)

FORMATS = ("round-robin", "gauntlet")
SCHEDULE = "sorted names, balanced colours"  # stored with the settings: older tournaments keyed by --player order


class TournamentError(ValueError):
    """Bad tournament settings or players."""


@dataclass(frozen=True)
class Entrant:
    name: str
    spec: str
    step: int | None = None  # training step, for a run's checkpoint
    field: bool = False  # a gauntlet's field player


def parse_entrant(text: str, *, field: bool = False) -> Entrant:
    """``NAME=SPEC`` or a bare ``SPEC`` (then named by the spec)."""
    name, eq, spec = text.partition("=")
    if eq and re.fullmatch(r"[\w.@+-]+", name.strip()):
        return Entrant(name.strip(), spec.strip(), field=field)
    return Entrant(text.strip(), text.strip(), field=field)


def entrants_from_run(run_dir: str | Path, *, every: int = 1, template: str = "policy:{ckpt}") -> list[Entrant]:
    """Every ``every``-th checkpoint of a training run, oldest first, the newest always included.  The
    checkpoints are the run's opponent-pool snapshots (``pool/``, kept at a fixed interval) when it has
    them, else ``checkpoints/``; a newer checkpoint than the last snapshot is added.  Each is named
    ``RUN@STEP`` and played as ``template`` with ``{ckpt}`` its folder."""
    from rlengine.runtime import CheckpointError, read_state

    run = Path(run_dir)
    if not run.is_dir():
        raise TournamentError(f"--run {run}: no such run directory")
    if every < 1:
        raise TournamentError(f"--every must be at least 1, got {every}")
    if "{ckpt}" not in template:
        raise TournamentError(f"--spec-template {template!r} must contain {{ckpt}}")
    def steps_in(folder: Path) -> dict[int, Path]:
        found = {}
        for ckpt in sorted(folder.glob("step-*")):
            if (ckpt / "state.json").exists():
                try:
                    found[int(read_state(ckpt)["step"])] = ckpt
                except (CheckpointError, ValueError, KeyError) as exc:
                    raise TournamentError(f"--run {run}: {exc}") from None
        return found

    pool, ckpts = steps_in(run / "pool"), steps_in(run / "checkpoints")
    by_step = dict(pool or ckpts)
    if not by_step:
        raise TournamentError(f"--run {run}: no checkpoints under {run / 'pool'} or {run / 'checkpoints'}")
    if ckpts and max(ckpts) > max(by_step):
        by_step[max(ckpts)] = ckpts[max(ckpts)]
    steps = sorted(by_step)
    chosen = steps[::every]
    if chosen[-1] != steps[-1]:
        chosen.append(steps[-1])
    return [Entrant(f"{run.resolve().name}@{s}", template.replace("{ckpt}", str(by_step[s])), step=s)
            for s in chosen]


@dataclass(frozen=True)
class TournamentSpec:
    name: str
    players: tuple[Entrant, ...]
    games: int = 2  # per pairing
    out: Path = Path("runs/tournament")  # SGFs under out/games/, results in out/results.sqlite
    db: Path | None = None  # default out/results.sqlite
    format: str = "round-robin"
    rules: Rules = field(default_factory=lambda: Rules(size=9, komi=7.5))
    seed: int = 0
    max_moves: int | None = None
    timeout: float = 60.0
    random_opening: int = 0
    workers: int = 1
    backend: str = "process"  # "process" (workers=1: this process) or "ray"
    address: str | None = None  # Ray: join this cluster

    def __post_init__(self) -> None:
        object.__setattr__(self, "players", tuple(self.players))
        object.__setattr__(self, "out", Path(self.out))
        if self.db is None:
            object.__setattr__(self, "db", self.out / "results.sqlite")
        if not re.fullmatch(r"[\w.@+-]+", self.name):
            raise TournamentError(f"--name {self.name!r}: use letters, digits and . _ @ + - only")
        if self.format not in FORMATS:
            raise TournamentError(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.games < 1:
            raise TournamentError(f"--games (per pairing) must be at least 1, got {self.games}")
        if self.workers < 1:
            raise TournamentError(f"--workers must be at least 1, got {self.workers}")
        if self.backend not in ("process", "ray"):
            raise TournamentError(f"backend must be process or ray, got {self.backend!r}")
        names = [p.name for p in self.players]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise TournamentError(f"player names must be unique; given twice: {', '.join(dup)} (name them: NAME=SPEC)")
        if len(self.players) < 2:
            raise TournamentError(f"a tournament needs at least two players, got {len(self.players)}"
                                  f"{': ' + names[0] if names else ''}")
        if self.format == "gauntlet":
            num_field = sum(p.field for p in self.players)
            if num_field == 0 or num_field == len(self.players):
                raise TournamentError("a gauntlet needs field players (--field) and players to meet them")
        MatchSpec("a", "b", self.games, self.out, rules=self.rules, max_moves=self.max_moves, timeout=self.timeout,
                  random_opening=self.random_opening)  # the same checks as rlengine match

    def settings(self) -> dict:
        """What fixes the games (stored with the tournament; a resume must match it)."""
        r = self.rules
        return {"format": self.format, "games_per_pairing": self.games, "size": r.size, "komi": r.komi,
                "ko": r.ko, "allow_suicide": r.allow_suicide, "seed": self.seed, "max_moves": self.max_moves,
                "random_opening": self.random_opening, "schedule": SCHEDULE}

    def pairings(self) -> list[tuple[Entrant, Entrant]]:
        """Every pairing as (first, second): ``first`` is black in the pairing's odd games.  Pairings and
        colours depend on the set of players, not on their order."""
        ps = sorted(self.players, key=lambda p: p.name)
        if self.format == "round-robin":
            edges = [(a, b) for k, a in enumerate(ps) for b in ps[k + 1:]]
        else:
            edges = [(a, b) for a in ps if not a.field for b in ps if b.field]
        index = {p.name: k for k, p in enumerate(ps)}
        order = _balanced_orientation([(index[a.name], index[b.name]) for a, b in edges], len(ps))
        return [(ps[u], ps[v]) for u, v in order]

    def match(self, a: Entrant, b: Entrant) -> MatchSpec:
        """The match of pairing (a, b), ``a`` black in odd games: its games are the tournament's games of
        that pairing, saved under ``out/games/<tournament>/<pairing>-<hash of names and specs>/``."""
        x, y = sorted((a, b), key=lambda p: p.name)
        exact = hashlib.sha256(json.dumps([[x.name, x.spec], [y.name, y.spec]]).encode()).hexdigest()[:10]
        folder = self.out / "games" / self.name / f"{_safe(pairing_key(a, b))}-{exact}"
        return MatchSpec(a.spec, b.spec, self.games, folder, rules=self.rules, swap=True,
                         seed=derive_seed(self.seed, "tournament", x.name, y.name), max_moves=self.max_moves,
                         timeout=self.timeout, random_opening=self.random_opening, kind=f"tournament {self.name}",
                         names=(a.name, b.name))


def pairing_key(a: Entrant, b: Entrant) -> str:
    """The pairing's name in the results database: the two names sorted, ``"a vs b"``."""
    return " vs ".join(sorted((a.name, b.name)))


def _balanced_orientation(edges: list[tuple[int, int]], num_players: int) -> list[tuple[int, int]]:
    """``edges`` (pairs of players), each ordered as (first, second) so that every player is first in as
    many pairings as it is second, or one more or one fewer.  Odd-degree players are joined to one extra
    vertex so that every degree is even; walks along unused edges then always close where they started,
    and each pass through a player leaves it once and enters it once."""
    degree = [0] * num_players
    for u, v in edges:
        degree[u] += 1
        degree[v] += 1
    extra = num_players
    all_edges = list(edges) + [(u, extra) for u in range(num_players) if degree[u] % 2]
    adj: list[list[tuple[int, int]]] = [[] for _ in range(num_players + 1)]  # node -> [(edge, other end)]
    for k, (u, v) in enumerate(all_edges):
        adj[u].append((k, v))
        adj[v].append((k, u))
    used = [False] * len(all_edges)
    nxt = [0] * (num_players + 1)
    oriented: list[tuple[int, int]] = list(edges)
    for start in range(num_players + 1):
        node = start
        while True:
            while nxt[node] < len(adj[node]) and used[adj[node][nxt[node]][0]]:
                nxt[node] += 1
            if nxt[node] == len(adj[node]):
                if node == start:
                    break
                raise AssertionError("an open walk in a graph of even degrees")  # pragma: no cover
            k, other = adj[node][nxt[node]]
            used[k] = True
            if k < len(edges):
                oriented[k] = (node, other)
            node = other
    return oriented


def _safe(text: str) -> str:
    return re.sub(r"[^\w.@+-]+", "_", text)


# ---- the worker ---------------------------------------------------------------------------------------


class TournamentWorker:
    """Plays one game per task (``rlengine.runtime.ActorPool``'s worker protocol): players are built on
    first use and kept (at most ``max_players``, least recently used closed first)."""

    def __init__(self, max_players: int = 16):
        self.versions: dict[str, int] = {}  # no published weights: players load their own checkpoints
        self.max_players = int(max_players)
        self.players: OrderedDict[tuple[str, str], object] = OrderedDict()

    def load(self, key: str, version: int, weights) -> None:  # pragma: no cover - nothing is published
        self.versions[key] = version

    def _player(self, name: str, spec: str):
        from rlengine.match import _close
        from rlengine.registry import load_player

        key = (name, spec)
        if key in self.players:
            self.players.move_to_end(key)
            return self.players[key]
        try:
            player = load_player(spec, seed=0)  # reseeded before every game
        except Exception as exc:  # noqa: BLE001 - an error line naming the player, not a traceback
            raise TournamentError(f"cannot build player {name!r} from spec {spec!r}: {exc}") from None
        self.players[key] = player
        while len(self.players) > self.max_players:
            _, old = self.players.popitem(last=False)
            _close(old)
        return player

    def run(self, task: dict) -> dict:
        """``task``: ``{"match": MatchSpec, "game": k, "pairing": key}``; returns the game as SGF text and
        its result."""
        spec: MatchSpec = task["match"]
        k = int(task["game"])
        players = {"A": self._player(spec.names[0], spec.black), "B": self._player(spec.names[1], spec.white)}
        timeout = spec.timeout
        for p in players.values():
            if hasattr(p, "timeout"):
                p.timeout = timeout
        started = _now()
        record, outcome = play_one(spec, k, players)
        return {"pairing": task["pairing"], "game": k, "sgf": record.to_sgf(), "result": outcome.result,
                "moves": outcome.num_moves, "a_color": outcome.a_color, "error": outcome.error,
                "started": started, "ended": _now()}

    def close(self) -> None:
        from rlengine.match import _close

        for p in self.players.values():
            _close(p)
        self.players.clear()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---- the driver ---------------------------------------------------------------------------------------


def _check_players(spec: TournamentSpec) -> None:
    """Build every player once in this process, so that a bad spec fails before any game is played, and
    warn about pairings of two deterministic players."""
    from rlengine.match import _close, build_player

    deterministic = {}
    for p in spec.players:
        try:
            player = build_player(p.spec, spec.rules, seed=0)
        except Exception as exc:  # noqa: BLE001 - any failure to build is the spec's fault here
            raise TournamentError(f"cannot build player {p.name!r} from spec {p.spec!r}: {exc}") from None
        deterministic[p.name] = is_deterministic(p.spec, player)
        _close(player)
    for a, b in spec.pairings():
        if deterministic[a.name] and deterministic[b.name]:
            warn_deterministic(f"tournament {spec.name}, {pairing_key(a, b)}", random_opening=spec.random_opening)


def _tasks(spec: TournamentSpec, done: set[tuple[str, int]]) -> list[dict]:
    """The missing games, round by round (game 1 of every pairing, then game 2, ...), so that a partial
    tournament is balanced."""
    pairs = [(pairing_key(a, b), spec.match(a, b)) for a, b in spec.pairings()]
    return [{"pairing": key, "game": k, "match": m} for k in range(1, spec.games + 1) for key, m in pairs
            if (key, k) not in done]


def _store(db: ResultsDB, spec: TournamentSpec, task: dict, res: dict, *, retry_void: bool = False) -> None:
    from rlengine.runtime import atomic_write_text

    match: MatchSpec = task["match"]
    path = match.path(res["game"])
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, res["sgf"])
    black, white = (match.names if res["a_color"] == "black" else match.names[::-1])
    db.record(GameRow(spec.name, res["pairing"], res["game"], black, white,
                      derive_seed(match.seed, "game", res["game"]), res["result"], res["moves"],
                      str(path.relative_to(spec.out)) if path.is_relative_to(spec.out) else str(path),
                      res["started"], res["ended"]), replace_void=retry_void)


def play_tournament(spec: TournamentSpec, *, progress: bool = True, retry_void: bool = False) -> ResultsDB:
    """Play every game of ``spec`` missing from its database (``retry_void``: and every void one); returns
    the open database."""
    from tqdm import tqdm

    db = ResultsDB(spec.db)
    try:
        _check_players(spec)  # before the tournament is registered: a bad spec leaves nothing behind
        db.start(spec.name, spec.settings(), [(p.name, p.spec, p.step) for p in spec.players])
        done = db.done(spec.name, void=not retry_void)
        tasks = _tasks(spec, done)
        total = len(spec.pairings()) * spec.games
        if total - len(tasks):
            log.info("tournament %s: %d of %d games already in %s; playing the %d missing", spec.name,
                     total - len(tasks), total, spec.db, len(tasks))
        if tasks:
            bar = tqdm(total=total, initial=total - len(tasks), desc=f"tournament {spec.name}", unit="game",
                       disable=not progress, dynamic_ncols=True)

            def store(task: dict, res: dict) -> bool:
                _store(db, spec, task, res, retry_void=retry_void)
                bar.update(1)
                return False

            try:
                if spec.backend == "ray":
                    _run_ray(spec, tasks, store)
                else:
                    run_pool(tasks, workers=spec.workers, factory=TournamentWorker, on_result=store, in_flight=2,
                             saved_in=f"the games already recorded in {spec.db} are kept")
            finally:
                bar.close()
    except BaseException:
        db.close()
        raise
    return db


def _run_ray(spec: TournamentSpec, tasks: list[dict], store) -> None:
    from rlengine.runtime import ActorPool, connect_ray

    started = connect_ray(spec.address, num_cpus=max(spec.workers, 1))
    pool = ActorPool(TournamentWorker, num_actors=spec.workers, backend="ray", max_in_flight=2,
                     name="tournament actor")
    try:
        for task in tasks:
            pool.submit(task)
        while True:
            got = pool.next_result()
            if got is None:
                break
            _, task, res = got
            store(task, res)
    finally:
        pool.close()
        if started:
            import ray

            ray.shutdown()


# ---- results ------------------------------------------------------------------------------------------


def tournament_results(db: ResultsDB, name: str) -> tuple[list[Result], int]:
    """(decided and drawn games of tournament ``name``, the number of void games)."""
    rows = db.games(name)
    results = [Result(g.black, g.white, g.result, f"{g.pairing}#{g.game}") for g in rows if g.winner is not None]
    return results, len(rows) - len(results)


def tournament_duplicates(db: ResultsDB, spec: TournamentSpec) -> int:
    """Decided games of ``spec``'s tournament (in the order they were stored) whose move sequence repeats
    an earlier one's, read from their SGFs; logged as a warning when there are any."""
    digests = []
    for g in db.games(spec.name):
        if g.winner is None or not g.sgf:
            continue
        path = spec.out / g.sgf
        try:
            digests.append(move_digest(sgf.GameRecord.from_tree(sgf.read_sgf(path)[0], source=str(path))))
        except (sgf.SgfError, IndexError, OSError) as exc:
            log.warning("tournament %s: cannot read %s (%s); left out of the duplicate count", spec.name, path, exc)
    repeats = count_duplicates(digests)
    if repeats:
        log.warning("tournament %s: %d of %d decided games repeat an earlier game move for move", spec.name,
                    repeats, len(digests))
    return repeats


def crosstable(results: list[Result], names: list[str]) -> str:
    """Points each row player took from each column player, as ``points/games``."""
    pts = {(a, b): [0.0, 0] for a in names for b in names}
    for r in results:
        s = {"B+": 1.0, "W+": 0.0}.get(r.result[:2].upper(), 0.5)
        if (r.black, r.white) in pts:
            pts[(r.black, r.white)][0] += s
            pts[(r.black, r.white)][1] += 1
            pts[(r.white, r.black)][0] += 1.0 - s
            pts[(r.white, r.black)][1] += 1
    short = [f"#{k + 1}" for k in range(len(names))]
    width = max(6, *(len(n) for n in names)) + 4
    cell = max(7, *(len(f"{v[0]:g}/{v[1]}") for v in pts.values()))
    lines = [" " * width + " ".join(f"{s:>{cell}}" for s in short)]
    for k, a in enumerate(names):
        row = []
        for b in names:
            p, n = pts[(a, b)]
            row.append("." if a == b else (f"{p:g}/{n}" if n else "-"))
        lines.append(f"{short[k]:>3} {a:<{width - 4}}" + " ".join(f"{c:>{cell}}" for c in row))
    return "\n".join(lines)


def run_tournament(spec: TournamentSpec, *, anchor: str | None = None, anchor_elo: float = 0.0,
                   ci: str = "hessian", progress: bool = True, retry_void: bool = False) -> tuple[dict, Ratings, str]:
    """Play (or resume) the tournament and rate it: (summary, ratings, crosstable text)."""
    names = [p.name for p in spec.players]
    if anchor is not None and anchor not in names:
        raise TournamentError(f"--anchor {anchor!r} is not a player of this tournament; players: {', '.join(names)}")
    with play_tournament(spec, progress=progress, retry_void=retry_void) as db:
        results, void = tournament_results(db, spec.name)
        duplicates = tournament_duplicates(db, spec)
    results = [r for r in results if r.black in names and r.white in names]
    try:
        ratings = rate(results, anchor=anchor or names[0], anchor_elo=anchor_elo, ci=ci, names=names)
    except RatingsError as exc:
        raise TournamentError(f"tournament {spec.name}: {exc}") from None
    summary = {**ratings.as_dict(), "void": void, "duplicates": duplicates, "tournament": spec.name, "db": str(spec.db),
               "format": spec.format, "ci": ci}
    return summary, ratings, crosstable(results, names)


def plot_elo(spec: TournamentSpec, ratings: Ratings, out: str | Path, *, title: str | None = None) -> Path:
    """Elo against training step (players with a step) with 95% interval bars; other players (anchors)
    as horizontal lines with their interval shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlengine.runtime import atomic_write_bytes

    steps = [(p.step, ratings[p.name]) for p in spec.players if p.step is not None]
    fixed = [ratings[p.name] for p in spec.players if p.step is None]
    if not steps:
        raise TournamentError("no player has a training step to plot against (use --run)")
    steps.sort(key=lambda t: t[0])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    xs = [s for s, _ in steps]
    ys = [r.elo for _, r in steps]
    top = max([r.ci95[1] for _, r in steps if r.ci95[1] is not None] + ys) + 50
    bottom = min([r.ci95[0] for _, r in steps if r.ci95[0] is not None] + ys) - 50
    lo = [r.elo - (r.ci95[0] if r.ci95[0] is not None else bottom) for _, r in steps]
    hi = [(r.ci95[1] if r.ci95[1] is not None else top) - r.elo for _, r in steps]
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", capsize=3, label="checkpoints (95% interval)")
    for k, r in enumerate(fixed):
        colour = f"C{k + 1}"
        ax.axhline(r.elo, color=colour, ls="--", lw=1, label=f"{r.name}: {r.elo:.0f}")
        if r.ci95[0] is not None and r.ci95[1] is not None and r.ci95[1] > r.ci95[0]:
            ax.axhspan(r.ci95[0], r.ci95[1], color=colour, alpha=0.12)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"Elo (anchor {ratings.anchor} = {ratings.anchor_elo:g})")
    ax.set_title(title or f"tournament {spec.name}: {ratings.games} games")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    out = Path(out)
    atomic_write_bytes(out, buf.getvalue())
    return out


def log_to_tensorboard(run_dir: str | Path, spec: TournamentSpec, ratings: Ratings, png: Path | None) -> None:
    """The run's checkpoints' Elo as scalars (``tournament/<name>/elo`` at each step) and the plot."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(Path(run_dir) / "tb"))
    try:
        for p in spec.players:
            if p.step is None:
                continue
            r = ratings[p.name]
            writer.add_scalar(f"tournament/{spec.name}/elo", r.elo, p.step)
            for side, value in zip(("lo95", "hi95"), r.ci95):
                if value is not None:
                    writer.add_scalar(f"tournament/{spec.name}/elo_{side}", value, p.step)
        if png is not None:
            import numpy as np
            from PIL import Image

            image = np.asarray(Image.open(png).convert("RGB"))
            writer.add_image(f"tournament/{spec.name}/elo_plot", image, max(p.step or 0 for p in spec.players),
                             dataformats="HWC")
    finally:
        writer.close()


def format_report(ratings: Ratings, table: str) -> str:
    return format_table(ratings) + "\n\ncrosstable (points/games, row player against column player):\n" + table

