"""Game results from anywhere: SGF collections (PB/PW/RE) and results databases, rated in one call."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rlengine.ratings._bt import Ratings, RatingsError, fit_ratings
from rlengine.ratings._db import ResultsDB, result_winner

__all__ = ["Result", "ResultSet", "connected", "rate", "read_results"]

log = logging.getLogger(__name__)

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Result:
    black: str
    white: str
    result: str  # SGF RE
    source: str = ""


@dataclass
class ResultSet:
    """Games with a decisive or drawn result, and the count of those skipped (void, unknown RE)."""

    results: list[Result] = field(default_factory=list)
    skipped: int = 0
    bad_files: int = 0


def _is_sqlite(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(16) == _SQLITE_MAGIC or path.suffix.lower() in (".sqlite", ".sqlite3", ".db")


def read_results(paths: list[str | Path], *, skip_unnamed: bool = False, progress: bool = False) -> ResultSet:
    """Results of every game under ``paths``: SGF files, directories, archives (by PB, PW, RE), and
    results databases (``results.sqlite``, every tournament in it).  A game without PB or PW is an error
    naming its file, unless ``skip_unnamed`` (then it is skipped and counted)."""
    from tqdm import tqdm

    from games.go import sgf

    out = ResultSet()
    bar = tqdm(desc="reading results", unit="game", disable=not progress, dynamic_ncols=True)
    try:
        for path in map(Path, paths):
            if not path.exists():
                raise FileNotFoundError(f"{path}: no such file or directory")
            if _is_sqlite(path):
                with ResultsDB(path, readonly=True) as db:
                    for row in db.games():
                        _add(out, Result(row.black, row.white, row.result, f"{path}:{row.tournament}/"
                                         f"{row.pairing}#{row.game}"))
                        bar.update(1)
                continue
            stats = sgf.SgfStats()
            for name, root in sgf.iter_roots(path, stats=stats):
                black, white = root.get("PB"), root.get("PW")
                where = f"{path}/{name}" if path.is_dir() or name != path.name else str(path)
                missing = [k for k, v in (("PB", black), ("PW", white)) if not (v or "").strip()]
                if missing:
                    if skip_unnamed:
                        out.skipped += 1
                        continue
                    raise RatingsError(f"{where}: no {' and no '.join(missing)} (the players' names), so the game "
                                       f"cannot be rated; add them, or pass --skip-unnamed to skip such games")
                _add(out, Result(black.strip(), white.strip(), (root.get("RE") or "").strip(), where))
                bar.update(1)
            out.bad_files += stats.errors
    finally:
        bar.close()
    return out


def _add(out: ResultSet, r: Result) -> None:
    if result_winner(r.result) is None or r.black == r.white:
        out.skipped += 1
    else:
        out.results.append(r)


def connected(results: list[Result], anchor: str) -> tuple[list[Result], list[str]]:
    """(the games among players linked to ``anchor`` by a chain of games, the other players)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in results:
        parent[find(r.black)] = find(r.white)
    if anchor not in parent:
        return [], sorted(parent)
    root = find(anchor)
    keep = [r for r in results if find(r.black) == root]
    return keep, sorted(n for n in parent if find(n) != root)


def rate(results: list[Result], *, anchor: str | None = None, anchor_elo: float = 0.0, ci: str = "hessian",
         num_bootstrap: int = 200, seed: int = 0, names: list[str] | None = None) -> Ratings:
    """Bradley-Terry ratings of ``results`` (players in order of first appearance, or ``names``); the
    anchor defaults to the first player."""
    order = list(names or [])
    index = {n: k for k, n in enumerate(order)}
    for r in results:
        for n in (r.black, r.white):
            if n not in index:
                index[n] = len(order)
                order.append(n)
    i = np.fromiter((index[r.black] for r in results), np.int64, len(results))
    j = np.fromiter((index[r.white] for r in results), np.int64, len(results))
    win = {"black": 1.0, "white": 0.0, "draw": 0.5}
    s = np.fromiter((win[result_winner(r.result)] for r in results), np.float64, len(results))
    if len(order) < 2:
        raise RatingsError(f"need games between at least two players to rate, found {len(order)}"
                           f"{': ' + order[0] if order else ''}")
    return fit_ratings(order, i, j, s, anchor=anchor, anchor_elo=anchor_elo, ci=ci, num_bootstrap=num_bootstrap,
                       seed=seed)
