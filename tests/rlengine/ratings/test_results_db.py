"""The results database: refuses foreign and corrupt files, keeps every row under concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from rlengine.ratings import DatabaseError, GameRow, ResultsDB, result_reason, result_winner


def _row(t: str, k: int, result: str = "B+R") -> GameRow:
    return GameRow(t, "a vs b", k, "a", "b", k, result, 10)


def test_round_trip_and_duplicates(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultsDB(path) as db:
        assert db.start("t", {"games": 2}, [("a", "random", None), ("b", "random", 5)]) is False
        assert db.record(_row("t", 1)) is True
        assert db.record(_row("t", 1, "W+3.5")) is False  # the same game twice stays one row
        assert db.record(_row("t", 2, "Void")) is True
    with ResultsDB(path) as db:
        assert db.start("t", {"games": 2}, [("a", "random", None)]) is True
        assert db.done("t") == {("a vs b", 1), ("a vs b", 2)}
        rows = db.games("t")
        assert [r.result for r in rows] == ["B+R", "Void"] and rows[0].winner == "black" and rows[1].winner is None
        assert db.players("t") == [("a", "random", None), ("b", "random", 5)]
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # --retry-void: a void game is replaced, a decided one never is
        assert db.done("t", void=False) == {("a vs b", 1)}
        assert db.record(_row("t", 1, "W+3.5"), replace_void=True) is False
        assert db.record(_row("t", 2, "W+0.5"), replace_void=True) is True
        assert [r.result for r in db.games("t")] == ["B+R", "W+0.5"]


def test_changed_settings_or_spec_are_named(tmp_path):
    with ResultsDB(tmp_path / "r.sqlite") as db:
        db.start("t", {"games": 2, "komi": 7.5}, [("a", "random", None)])
        with pytest.raises(DatabaseError, match="started with komi = 7.5, not 6.5"):
            db.start("t", {"games": 2, "komi": 6.5}, [])
        with pytest.raises(DatabaseError, match="player 'a' is 'random', not 'gtp:x'"):
            db.start("t", {"games": 2, "komi": 7.5}, [("a", "gtp:x", None)])


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    foreign = tmp_path / "other.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE notes (x TEXT)")
    con.commit()
    con.close()
    with pytest.raises(DatabaseError, match="other.sqlite is an SQLite file but not an rlengine results database"):
        ResultsDB(foreign)
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(DatabaseError, match="corrupt.sqlite: not a usable SQLite results database"):
        ResultsDB(corrupt)
    with pytest.raises(DatabaseError, match="no such results database"):
        ResultsDB(tmp_path / "missing.sqlite", create=False)
    # read-only opening (rlengine ratings) changes nothing, whatever the file
    before = foreign.read_bytes()
    with pytest.raises(DatabaseError, match="other.sqlite is an SQLite file but not an rlengine results database"):
        ResultsDB(foreign, readonly=True)
    assert foreign.read_bytes() == before
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(DatabaseError, match="empty.sqlite: an empty file"):
        ResultsDB(empty, readonly=True)
    assert empty.stat().st_size == 0
    with ResultsDB(tmp_path / "ours.sqlite") as db:
        db.start("t", {}, [])
        db.record(_row("t", 1))
    with ResultsDB(tmp_path / "ours.sqlite", readonly=True) as db:
        assert [r.result for r in db.games("t")] == ["B+R"]


def _writer(path: str, name: str, count: int, barrier) -> None:
    with ResultsDB(path) as db:
        db.start(name, {"games": count}, [("a", "random", None), ("b", "random", None)])
        barrier.wait(60)  # both open, both registered: the rows below are written at the same time
        for k in range(1, count + 1):
            if k == count // 2:  # and meet again half-way, so that on a loaded machine one writer cannot
                barrier.wait(60)  # finish before the other has started
            db.record(_row(name, k))


def test_two_writers_at_once_lose_no_row(tmp_path):
    """Two processes write to one file at the same time, one transaction per game: started behind a
    barrier and meeting again half-way, their rows interleave (the writers really overlap), and none is
    lost."""
    path = str(tmp_path / "shared.sqlite")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(path, name, 1000, barrier)) for name in ("t1", "t2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with ResultsDB(path) as db:
        assert len(db.games("t1")) == 1000 and len(db.games("t2")) == 1000
        assert sorted(db.tournaments()) == ["t1", "t2"]
        ids = {t: [r[0] for r in db.conn.execute("SELECT id FROM games WHERE tournament = ?", (t,))]
               for t in ("t1", "t2")}
    assert min(ids["t1"]) < max(ids["t2"]) and min(ids["t2"]) < max(ids["t1"]), "the writers did not overlap"


def test_result_parsing():
    assert [result_winner(r) for r in ("B+R", "W+3.5", "0", "Draw", "Void", "?", "")] == \
        ["black", "white", "draw", "draw", None, None, None]
    assert [result_reason(r) for r in ("B+R", "W+Resign", "B+F", "W+T", "B+2.5", "0", "Void")] == \
        ["resign", "resign", "forfeit", "time", "score", "draw", "void"]
