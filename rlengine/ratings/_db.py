"""The results database of tournaments: one SQLite file, WAL, one transaction per game.

Tables:

- ``tournaments(name, settings, created)``: the settings a tournament was started with (JSON); a
  resumed tournament must match them.
- ``players(tournament, name, spec, step)``: who plays (``step``: the training step of a run's
  checkpoint, else NULL).
- ``games(tournament, pairing, game, black, white, seed, result, winner, reason, moves, sgf, started,
  ended)``: one row per finished game, unique per (tournament, pairing, game), so a game recorded twice
  (two copies of a command racing) stays one row.

The file is marked as ours with ``PRAGMA application_id``; any other SQLite file, or a file that is not
SQLite at all, is refused with a message naming it.  ``readonly=True`` (what ``rlengine ratings`` uses)
opens a database without ever writing to it: an empty or foreign file stays as it was.

Several processes may write to one file at once: each write is a short ``BEGIN IMMEDIATE`` transaction
and waits (``busy_timeout``) for the others.  ``record(row, replace_void=True)`` replaces a stored void
game (``--retry-void``), never a decided one.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["APPLICATION_ID", "DatabaseError", "GameRow", "ResultsDB", "result_reason", "result_winner"]

APPLICATION_ID = 0x524C5254  # "RLRT"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tournaments (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS players (
    tournament TEXT NOT NULL REFERENCES tournaments(name),
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    step INTEGER,
    PRIMARY KEY (tournament, name)
);
CREATE TABLE IF NOT EXISTS games (
    id INTEGER PRIMARY KEY,
    tournament TEXT NOT NULL REFERENCES tournaments(name),
    pairing TEXT NOT NULL,
    game INTEGER NOT NULL,
    black TEXT NOT NULL,
    white TEXT NOT NULL,
    seed INTEGER,
    result TEXT NOT NULL,
    winner TEXT,
    reason TEXT NOT NULL,
    moves INTEGER NOT NULL,
    sgf TEXT,
    started TEXT,
    ended TEXT,
    UNIQUE (tournament, pairing, game)
);
"""


class DatabaseError(ValueError):
    """A results file that is not ours, is corrupt, or disagrees with the tournament asked for."""


def result_winner(result: str) -> str | None:
    """``black``, ``white``, ``draw`` or None (void, unknown) from an SGF RE value."""
    r = (result or "").strip().upper()
    if r.startswith("B+"):
        return "black"
    if r.startswith("W+"):
        return "white"
    if r in ("0", "DRAW", "JIGO"):
        return "draw"
    return None


def result_reason(result: str) -> str:
    """``score``, ``resign``, ``forfeit``, ``time``, ``draw`` or ``void``."""
    r = (result or "").strip().upper()
    if result_winner(r) == "draw":
        return "draw"
    if result_winner(r) is None:
        return "void"
    tail = r[2:]
    return {"R": "resign", "RESIGN": "resign", "F": "forfeit", "FORFEIT": "forfeit", "T": "time",
            "TIME": "time"}.get(tail, "score")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class GameRow:
    tournament: str
    pairing: str
    game: int
    black: str
    white: str
    seed: int | None
    result: str
    moves: int
    sgf: str | None = None
    started: str | None = None
    ended: str | None = None

    @property
    def winner(self) -> str | None:
        return result_winner(self.result)


class ResultsDB:
    """A results database; ``ResultsDB(path)`` creates it, or opens one of ours (DatabaseError otherwise);
    ``readonly=True`` opens an existing one of ours for reading and changes nothing on disk."""

    def __init__(self, path: str | Path, *, create: bool = True, readonly: bool = False, timeout: float = 60.0):
        self.path = Path(path)
        self.readonly = readonly
        if not self.path.exists() and (readonly or not create):
            raise DatabaseError(f"{self.path}: no such results database")
        if readonly:
            self._open_readonly(timeout)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        while True:
            self.conn = None
            try:
                self.conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
                self._check_and_init(timeout)
                return
            except sqlite3.OperationalError as exc:
                # two processes creating (or switching to WAL) one file at once: SQLite may answer "locked"
                # without waiting; try again
                self._drop()
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise DatabaseError(f"{self.path}: not a usable SQLite results database ({exc})") from None
                time.sleep(0.05 + 0.1 * random.random())
            except DatabaseError:
                self._drop()
                raise
            except sqlite3.DatabaseError as exc:
                self._drop()
                raise DatabaseError(f"{self.path}: not a usable SQLite results database ({exc})") from None

    def _open_readonly(self, timeout: float) -> None:
        if self.path.stat().st_size == 0:
            raise DatabaseError(f"{self.path}: an empty file, not an rlengine results database")
        try:
            self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout,
                                        isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.path}: cannot open the results database read-only ({exc})") from None
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            app = self.conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            self._drop()
            raise DatabaseError(f"{self.path}: not a usable SQLite results database ({exc})") from None
        problem = self._foreign(app, tables) if app != APPLICATION_ID else \
            self._schema(version) if version != SCHEMA_VERSION else None
        if problem is not None:
            self._drop()
            raise DatabaseError(problem)

    def _foreign(self, app: int, tables: set[str]) -> str:
        return (f"{self.path} is an SQLite file but not an rlengine results database (application_id {app:#x}, "
                f"tables: {', '.join(sorted(tables)) or 'none'}); give another path")

    def _schema(self, version: int) -> str:
        return f"{self.path}: results database schema {version}, this rlengine reads {SCHEMA_VERSION}"

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def _check_and_init(self, timeout: float) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        # one write transaction: what is in the file and the schema we add are one consistent step, even
        # with another process creating the same file at the same moment; a foreign file is not changed
        with self._write():
            app = c.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if app != APPLICATION_ID and (app != 0 or tables):
                raise DatabaseError(self._foreign(app, tables))
            if app == 0:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if c.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise DatabaseError(f"{self.path}: cannot switch to WAL journaling (a network file system?)")
        c.execute("PRAGMA synchronous = NORMAL")
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise DatabaseError(self._schema(version))
        c.execute("PRAGMA foreign_keys = ON")

    class _Tx:
        def __init__(self, conn: sqlite3.Connection):
            self.conn = conn

        def __enter__(self):
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, kind, exc, tb):
            self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
            return False

    def _write(self) -> ResultsDB._Tx:
        return ResultsDB._Tx(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- tournaments and players --------------------------------------------------------------------
    def start(self, name: str, settings: dict, players: list[tuple[str, str, int | None]]) -> bool:
        """Register tournament ``name`` with ``settings`` and ``players`` ``(name, spec, step)``, or check
        that they match what it was started with; True when it already existed.  A player may be added
        to a running tournament; a changed setting or spec is a DatabaseError naming it."""
        text = json.dumps(settings, sort_keys=True)
        with self._write() as c:
            row = c.execute("SELECT settings FROM tournaments WHERE name = ?", (name,)).fetchone()
            existed = row is not None
            if existed:
                old = json.loads(row[0])
                for key in sorted(set(old) | set(settings)):
                    if old.get(key) != settings.get(key):
                        raise DatabaseError(
                            f"{self.path}: tournament {name!r} was started with {key} = {old.get(key)!r}, not "
                            f"{settings.get(key)!r}; use the same settings to resume, or another --name")
            else:
                c.execute("INSERT INTO tournaments VALUES (?, ?, ?)", (name, text, _now()))
            known = {r[0]: (r[1], r[2]) for r in
                     c.execute("SELECT name, spec, step FROM players WHERE tournament = ?", (name,))}
            for pname, spec, step in players:
                if pname in known:
                    if known[pname][0] != spec:
                        raise DatabaseError(f"{self.path}: in tournament {name!r}, player {pname!r} is "
                                            f"{known[pname][0]!r}, not {spec!r}; give the new one another name")
                else:
                    c.execute("INSERT INTO players VALUES (?, ?, ?, ?)", (name, pname, spec, step))
        return existed

    def tournaments(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM tournaments ORDER BY created, name")]

    def settings(self, name: str) -> dict:
        row = self.conn.execute("SELECT settings FROM tournaments WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise DatabaseError(f"{self.path}: no tournament {name!r}; it has: {', '.join(self.tournaments())}")
        return json.loads(row[0])

    def players(self, name: str) -> list[tuple[str, str, int | None]]:
        return [tuple(r) for r in self.conn.execute(
            "SELECT name, spec, step FROM players WHERE tournament = ? ORDER BY rowid", (name,))]

    # ---- games ---------------------------------------------------------------------------------------
    def record(self, row: GameRow, *, replace_void: bool = False) -> bool:
        """Store one finished game in its own transaction; False when that game was already stored
        (``replace_void``: unless the stored one is void, which the new row then replaces)."""
        conflict = (" ON CONFLICT (tournament, pairing, game) DO UPDATE SET black = excluded.black, "
                    "white = excluded.white, seed = excluded.seed, result = excluded.result, winner = excluded.winner, "
                    "reason = excluded.reason, moves = excluded.moves, sgf = excluded.sgf, "
                    "started = excluded.started, ended = excluded.ended WHERE games.reason = 'void'"
                    if replace_void else " ON CONFLICT DO NOTHING")
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO games (tournament, pairing, game, black, white, seed, result, winner, "
                "reason, moves, sgf, started, ended) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + conflict,
                (row.tournament, row.pairing, row.game, row.black, row.white, row.seed, row.result,
                 result_winner(row.result), result_reason(row.result), row.moves, row.sgf, row.started,
                 row.ended or _now()))
            return cur.rowcount == 1

    def done(self, name: str, *, void: bool = True) -> set[tuple[str, int]]:
        """(pairing, game) of every game of tournament ``name`` already stored (``void=False``: void games
        left out, as not done)."""
        q = "SELECT pairing, game FROM games WHERE tournament = ?" + ("" if void else " AND reason != 'void'")
        return {(r[0], r[1]) for r in self.conn.execute(q, (name,))}

    def games(self, name: str | None = None) -> list[GameRow]:
        """Every stored game (of tournament ``name``, or of all), in the order they were stored."""
        q = "SELECT tournament, pairing, game, black, white, seed, result, moves, sgf, started, ended FROM games"
        args: tuple = ()
        if name is not None:
            q += " WHERE tournament = ?"
            args = (name,)
        return [GameRow(*r) for r in self.conn.execute(q + " ORDER BY id", args)]
