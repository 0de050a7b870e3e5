"""rlengine tournament / ratings / match --sprt: real games (GNU Go over GTP), real SQLite, real Ray."""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from games.go import sgf
from games.go.board import Rules
from rlengine.ratings import ResultsDB
from rlengine.tournament import (Entrant, TournamentError, TournamentSpec, pairing_key, parse_entrant,
                                 play_tournament, run_tournament)


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def _gnugo_spec(gnugo: list[str], level: int) -> str:
    return "gtp:" + " ".join(gnugo + ["--level", str(level), "--seed", "{seed}"])


def _tournament_cmd(rlengine_cmd, out, gnugo, *extra) -> list[str]:
    return rlengine_cmd + ["tournament", "--name", "kt", "--out", str(out), "--player", "random",
                           "--player", f"g0={_gnugo_spec(gnugo, 0)}", "--player", f"g1={_gnugo_spec(gnugo, 1)}",
                           "--player", "r2=random", "--games", "4", "--size", "9", "--workers", "2", "--seed", "3",
                           "--anchor", "random=0", "--no-progress", *extra]


def _rows(db_path) -> int:
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM games").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_kill_minus_9_then_resume_loses_and_duplicates_nothing(tmp_path, gnugo, rlengine_cmd):
    """kill -9 mid-tournament (driver, workers and engines), the same command again: every game once,
    and the same ratings as an uninterrupted run with the same seeds."""
    whole = _run(_tournament_cmd(rlengine_cmd, tmp_path / "whole", gnugo))
    assert whole.returncode == 0, whole.stderr[-2000:]
    expected = json.loads(whole.stdout.strip().splitlines()[-1])
    assert expected["games"] == 24 and expected["void"] == 0

    out = tmp_path / "killed"
    proc = subprocess.Popen(_tournament_cmd(rlengine_cmd, out, gnugo), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while _rows(out / "results.sqlite") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the tournament finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    partial = _rows(out / "results.sqlite")
    assert 3 <= partial < 24

    again = _run(_tournament_cmd(rlengine_cmd, out, gnugo))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "already in" in again.stderr  # it resumed
    got = json.loads(again.stdout.strip().splitlines()[-1])
    assert got["players"] == expected["players"]
    with ResultsDB(out / "results.sqlite") as db_a, ResultsDB(tmp_path / "whole" / "results.sqlite") as db_b:
        rows_a = {(g.pairing, g.game): (g.black, g.white, g.result) for g in db_a.games("kt")}
        rows_b = {(g.pairing, g.game): (g.black, g.white, g.result) for g in db_b.games("kt")}
        assert len(db_a.games("kt")) == 24 == len(rows_a)  # none lost, none twice
        assert rows_a == rows_b
    # the table, the crosstable and the SGFs are there; rlengine ratings on the SGFs agrees
    assert "crosstable" in again.stdout and "g1" in again.stdout
    sgfs = sorted((out / "games").rglob("*.sgf"))
    assert len(sgfs) == 24
    rated = _run(rlengine_cmd + ["ratings", str(out / "games"), "--anchor", "random=0", "--no-progress"])
    assert rated.returncode == 0, rated.stderr
    assert json.loads(rated.stdout.strip().splitlines()[-1])["players"] == expected["players"]


def test_two_tournaments_share_one_database(tmp_path, rlengine_cmd):
    db = tmp_path / "shared.sqlite"
    cmds = [rlengine_cmd + ["tournament", "--name", name, "--out", str(tmp_path / name), "--db", str(db),
                            "--player", "random", "--player", "r2=random", "--player", "r3=random", "--games", "10",
                            "--size", "7", "--seed", str(k), "--no-progress"] for k, name in enumerate(("ta", "tb"))]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    with ResultsDB(db) as results:
        assert len(results.games("ta")) == 30 and len(results.games("tb")) == 30
    rated = _run(rlengine_cmd + ["ratings", str(db), "--no-progress"])
    assert json.loads(rated.stdout.strip().splitlines()[-1])["games"] == 60


def test_ray_actors_play_the_same_games_as_this_process(tmp_path, ray_session):
    players = [Entrant("random", "random"), Entrant("r2", "random"), Entrant("r3", "random")]
    common = dict(games=4, rules=Rules(7, 7.5), seed=11)
    local = TournamentSpec("same", players, out=tmp_path / "local", **common)
    remote = TournamentSpec("same", players, out=tmp_path / "ray", workers=2, backend="ray", **common)
    with play_tournament(local, progress=False) as a, play_tournament(remote, progress=False) as b:
        rows_a = {(g.pairing, g.game): (g.black, g.result, g.moves) for g in a.games("same")}
        rows_b = {(g.pairing, g.game): (g.black, g.result, g.moves) for g in b.games("same")}
    assert len(rows_a) == 12 and rows_a == rows_b


def test_formats_and_settings():
    a, b, c = (Entrant(n, "random") for n in "abc")
    f1, f2 = Entrant("f1", "random", field=True), Entrant("f2", "random", field=True)
    rr = TournamentSpec("t", [a, b, c])
    assert sorted(pairing_key(x, y) for x, y in rr.pairings()) == ["a vs b", "a vs c", "b vs c"]
    g = TournamentSpec("t", [a, b, f1, f2], format="gauntlet")
    assert sorted(pairing_key(x, y) for x, y in g.pairings()) == ["a vs f1", "a vs f2", "b vs f1", "b vs f2"]
    m = rr.match(a, b)
    assert m.swap and m.a_color(1) == "black" and m.a_color(2) == "white" and m.names == ("a", "b")
    assert rr.settings()["schedule"]  # a tournament started by an older rlengine (keyed by order) is refused
    assert parse_entrant("gnugo=gtp:/usr/games/gnugo --mode gtp") == Entrant("gnugo", "gtp:/usr/games/gnugo --mode gtp")
    assert parse_entrant("policy:runs/x=y").name == "policy:runs/x=y"  # no NAME= prefix: named by its spec
    with pytest.raises(TournamentError, match="at least two players"):
        TournamentSpec("t", [a])
    with pytest.raises(TournamentError, match="given twice: a"):
        TournamentSpec("t", [a, a])
    with pytest.raises(TournamentError, match="gauntlet needs field players"):
        TournamentSpec("t", [a, b], format="gauntlet")


def test_bad_input_gets_a_clear_error(tmp_path, rlengine_cmd):
    for command in ("tournament", "ratings"):
        r = _run(rlengine_cmd + [command, "--help"])
        assert r.returncode == 0 and "usage: rlengine " + command in r.stdout
    base = rlengine_cmd + ["tournament", "--name", "bad", "--out", str(tmp_path / "bad"), "--no-progress"]
    r = _run(base + ["--player", "random", "--player", "x=nosuch:thing"])
    assert r.returncode != 0 and "cannot build player 'x' from spec 'nosuch:thing'" in r.stderr
    assert "unknown player 'nosuch'" in r.stderr
    r = _run(base + ["--player", "random"])
    assert r.returncode != 0 and "at least two players" in r.stderr
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"\x00garbage" * 200)
    r = _run(base + ["--player", "random", "--player", "r2=random", "--db", str(corrupt)])
    assert r.returncode != 0 and "corrupt.sqlite: not a usable SQLite results database" in r.stderr
    foreign = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.close()
    r = _run(base + ["--player", "random", "--player", "r2=random", "--db", str(foreign)])
    assert r.returncode != 0 and "not an rlengine results database" in r.stderr
    # a changed setting on resume names the key
    ok = _run(base + ["--player", "random", "--player", "r2=random", "--games", "1", "--size", "5"])
    assert ok.returncode == 0, ok.stderr
    r = _run(base + ["--player", "random", "--player", "r2=random", "--games", "1", "--size", "7"])
    assert r.returncode != 0 and "started with size = 5, not 7" in r.stderr
    # rlengine ratings: SGFs without player names, a collection of one player
    sgfs = tmp_path / "sgfs"
    sgfs.mkdir()
    (sgfs / "a.sgf").write_text("(;GM[1]SZ[9]PB[alice]PW[bob]RE[B+R];B[ee])")
    (sgfs / "nameless.sgf").write_text("(;GM[1]SZ[9]PB[alice]RE[W+2.5];B[ee])")
    r = _run(rlengine_cmd + ["ratings", str(sgfs), "--no-progress"])
    assert r.returncode != 0 and "nameless.sgf: no PW" in r.stderr
    r = _run(rlengine_cmd + ["ratings", str(sgfs), "--skip-unnamed", "--no-progress"])
    assert r.returncode == 0 and json.loads(r.stdout.strip().splitlines()[-1])["skipped"] == 1
    (sgfs / "void.sgf").write_text("(;GM[1]SZ[9]PB[carol]PW[dave]RE[Void])")
    r = _run(rlengine_cmd + ["ratings", str(sgfs / "void.sgf"), "--no-progress"])
    assert r.returncode != 0 and "no rated games" in r.stderr and "1 skipped" in r.stderr
    r = _run(rlengine_cmd + ["ratings", str(sgfs), "--skip-unnamed", "--anchor", "zed=0", "--no-progress"])
    assert r.returncode != 0 and "--anchor 'zed'" in r.stderr


def test_ratings_on_sgf_collection_matches_the_known_rule(tmp_path, rlengine_cmd):
    """Ratings from PB/PW/RE of an SGF directory: 30 of 40 wins is 400*log10(3) = 190.8 Elo; a void
    game is skipped and counted; the final line has the documented keys."""
    d = tmp_path / "games"
    d.mkdir()
    for k in range(40):
        black, white = ("alice", "bob") if k % 2 == 0 else ("bob", "alice")
        alice_wins = k < 30
        re = ("B+R" if black == "alice" else "W+1.5") if alice_wins else ("W+R" if black == "alice" else "B+0.5")
        (d / f"g{k:03d}.sgf").write_text(f"(;GM[1]SZ[9]PB[{black}]PW[{white}]RE[{re}])")
    (d / "void.sgf").write_text("(;GM[1]SZ[9]PB[alice]PW[bob]RE[Void])")
    r = _run(rlengine_cmd + ["ratings", str(d), "--anchor", "bob=1000", "--no-progress"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(out) >= {"players", "games", "anchor"} and out["anchor"] == "bob" and out["games"] == 40
    assert out["skipped"] == 1
    assert out["players"]["alice"]["elo"] == pytest.approx(1000 + 190.8, abs=0.1)
    assert out["players"]["alice"]["score"] == 30 and out["players"]["alice"]["games"] == 40
    lo, hi = out["players"]["alice"]["ci95"]
    assert lo < 1190.8 < hi


def test_match_sprt_stops_early(tmp_path, gnugo, rlengine_cmd):
    """random (A) against GNU Go: the test rejects "A is 200 Elo stronger" after a handful of games."""
    r = _run(rlengine_cmd + ["match", "--black", "random", "--white", _gnugo_spec(gnugo, 0), "--swap", "--games",
                             "40", "--size", "9", "--seed", "2", "--sprt", "elo0=0,elo1=200", "--out",
                             str(tmp_path / "m"), "--no-progress"])
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["sprt"]["decision"] == "fail" and out["sprt"]["llr"] <= out["sprt"]["bounds"][0]
    assert out["games"] == out["sprt"]["games"] < 40
    assert len(list((tmp_path / "m").glob("*.sgf"))) == out["games"]  # one worker: no game past the decision
    r = _run(rlengine_cmd + ["match", "--black", "random", "--white", "random", "--games", "2", "--sprt",
                             "elo0=5,elo1=1", "--out", str(tmp_path / "m2"), "--no-progress"])
    assert r.returncode != 0 and "elo1 > elo0" in r.stderr


def _black_counts(spec: TournamentSpec) -> dict[str, list[int]]:
    """[black games, white games] of each player over the whole tournament."""
    counts = {p.name: [0, 0] for p in spec.players}
    for a, b in spec.pairings():
        m = spec.match(a, b)
        for k in range(1, spec.games + 1):
            black, white = (a, b) if m.a_color(k) == "black" else (b, a)
            counts[black.name][0] += 1
            counts[white.name][1] += 1
    return counts


@pytest.mark.parametrize("num_players,games", [(5, 1), (4, 1), (6, 3), (7, 1), (5, 2)])
def test_colours_are_balanced_per_player(num_players, games):
    """Issue 24: the first-named player was black in game 1 of every pairing (5 players, --games 1: A
    black 4 of 4 times, E 0 of 4).  Now every player's black and white counts differ by at most one."""
    players = [Entrant(chr(ord("A") + k), "random") for k in range(num_players)]
    counts = _black_counts(TournamentSpec("t", players, games=games))
    assert all(abs(b - w) <= 1 for b, w in counts.values()), counts
    if (num_players - 1) * games % 2 == 0:  # an even number of games each: exactly balanced
        assert all(b == w for b, w in counts.values()), counts
    field = [Entrant(f"f{k}", "random", field=True) for k in range(2)]
    gauntlet = TournamentSpec("g", players[:3] + field, games=games, format="gauntlet")
    assert all(abs(b - w) <= 1 for b, w in _black_counts(gauntlet).values())


def test_pairings_do_not_depend_on_player_order():
    players = [Entrant(n, f"gtp:engine {n}") for n in ("e", "b", "d", "a", "c")]
    one = TournamentSpec("t", players, games=3, seed=4)
    other = TournamentSpec("t", players[::-1], games=3, seed=4)

    def described(spec):
        return sorted((pairing_key(a, b), a.name, str(spec.match(a, b).out), spec.match(a, b).seed)
                      for a, b in spec.pairings())

    assert described(one) == described(other)


def test_rerun_with_the_players_swapped_plays_nothing_new(tmp_path):
    """Issue 24: a rerun with --player order swapped played every pairing again, and the ratings
    counted both."""
    common = dict(games=2, rules=Rules(5, 7.5), seed=1, out=tmp_path)
    a, b = Entrant("a", "random"), Entrant("b", "random")
    first, _, _ = run_tournament(TournamentSpec("t", [a, b], **common), anchor="a", progress=False)
    again, _, _ = run_tournament(TournamentSpec("t", [b, a], **common), anchor="a", progress=False)
    assert first["games"] + first["void"] == 2
    assert again["games"] == first["games"] and again["players"] == first["players"]
    with ResultsDB(tmp_path / "results.sqlite") as db:
        assert len(db.games("t")) == 2


def _check_rows_against_sgfs(db: ResultsDB, name: str, out) -> list:
    """Every row's SGF exists, is this tournament's, and says what the row says."""
    rows = db.games(name)
    for row in rows:
        record = sgf.GameRecord.from_tree(sgf.read_sgf(out / row.sgf)[0])
        assert (record.black_player, record.white_player, record.result) == (row.black, row.white, row.result), \
            row
        assert f"rlengine tournament {name}," in record.comment, (row, record.comment.splitlines()[0])
    assert len({row.sgf for row in rows}) == len(rows)
    return rows


def test_two_tournaments_in_one_folder_keep_their_own_sgfs(tmp_path):
    """Issue 24: two tournaments sharing --out overwrote each other's SGFs (the database said W+32.5,
    the file B+17.5 and tournament t2)."""
    players = [Entrant("a", "random"), Entrant("b", "random"), Entrant("c", "random")]
    for name, seed in (("t1", 1), ("t2", 2)):
        play_tournament(TournamentSpec(name, players, games=2, rules=Rules(5, 7.5), seed=seed, out=tmp_path),
                        progress=False).close()
    with ResultsDB(tmp_path / "results.sqlite") as db:
        rows = _check_rows_against_sgfs(db, "t1", tmp_path) + _check_rows_against_sgfs(db, "t2", tmp_path)
    assert len(rows) == 12 and len({r.sgf for r in rows}) == 12


def test_specs_that_differ_in_punctuation_keep_their_own_sgfs(tmp_path, gnugo):
    """Issue 24: unnamed players --level 0 and --level=0 made one folder name, so their pairings against
    a third player wrote the same files."""
    base = " ".join(gnugo + ["--seed", "{seed}"])
    players = [Entrant("random", "random"), parse_entrant(f"gtp:{base} --level 0"),
               parse_entrant(f"gtp:{base} --level=0")]
    spec = TournamentSpec("p", players, games=1, rules=Rules(5, 7.5), seed=3, out=tmp_path)
    with play_tournament(spec, progress=False) as db:
        rows = _check_rows_against_sgfs(db, "p", tmp_path)
    assert len(rows) == 3


def test_stored_colours_and_winner_agree_with_the_sgf_and_gnugo(tmp_path, gnugo):
    """A strong player against random, both colours: the row's black is the SGF's PB, its result the SGF's
    RE and GNU Go's final_score of that SGF, and the winner named by the row is always GNU Go; a swap of
    black and white anywhere between the game and its row fails this."""
    from games.go.gtp_client import GtpClient

    strong = "gtp:" + " ".join(gnugo + ["--level", "0", "--seed", "{seed}"])
    spec = TournamentSpec("c", [Entrant("random", "random"), Entrant("gnugo", strong)], games=2,
                          rules=Rules(5, 0.5), seed=5, out=tmp_path)
    with play_tournament(spec, progress=False) as db:
        rows = _check_rows_against_sgfs(db, "c", tmp_path)
    assert sorted(r.black for r in rows) == ["gnugo", "random"]
    referee = GtpClient(gnugo, timeout=60)
    try:
        for row in rows:
            referee.send(f"loadsgf {tmp_path / row.sgf}")
            assert referee.send("final_score").strip() == row.result
            assert (row.black if row.winner == "black" else row.white) == "gnugo", row
    finally:
        referee.close()


def test_every_game_gets_its_own_seed(tmp_path):
    """Seeded random players: four games of one pairing carry four seeds and are four different games."""
    spec = TournamentSpec("s", [Entrant("a", "random"), Entrant("b", "random")], games=4, rules=Rules(5, 7.5),
                          seed=2, out=tmp_path)
    summary, _, _ = run_tournament(spec, progress=False)
    with ResultsDB(tmp_path / "results.sqlite") as db:
        rows = _check_rows_against_sgfs(db, "s", tmp_path)
    assert len({r.seed for r in rows}) == 4
    moves = {tuple(sgf.GameRecord.from_tree(sgf.read_sgf(tmp_path / r.sgf)[0]).moves) for r in rows}
    assert len(moves) == 4 and summary["duplicates"] == 0


FAKE = Path(__file__).resolve().parents[1] / "games" / "go" / "fake_gtp_engine.py"
START_ONCE = Path(__file__).resolve().parent / "start_once_engine.py"


def test_retry_void_plays_void_games_again(tmp_path, gnugo, rlengine_cmd):
    """Issue 24: void games were never replayed.  An engine that dies once voids one game; a resume keeps
    it, --retry-void plays it again and its row and SGF are replaced."""
    marker = tmp_path / "died-once"
    real = " ".join(shlex.quote(a) for a in gnugo + ["--level", "0"])
    dying = f"gtp:{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} proxy-crash {shlex.quote(str(marker))} -- {real}"
    cmd = rlengine_cmd + ["tournament", "--name", "v", "--out", str(tmp_path / "t"), "--player", "random",
                          "--player", f"dies={dying}", "--games", "2", "--size", "5", "--no-progress"]
    first = _run(cmd)
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout.strip().splitlines()[-1])["void"] == 1 and marker.exists()
    kept = _run(cmd)
    assert json.loads(kept.stdout.strip().splitlines()[-1])["void"] == 1
    again = _run(cmd + ["--retry-void"])
    assert again.returncode == 0, again.stderr[-2000:]
    out = json.loads(again.stdout.strip().splitlines()[-1])
    assert out["void"] == 0 and out["games"] == 2
    with ResultsDB(tmp_path / "t" / "results.sqlite") as db:
        rows = _check_rows_against_sgfs(db, "v", tmp_path / "t")
    assert len(rows) == 2 and all(r.winner is not None for r in rows)


@pytest.mark.parametrize("command", ["match", "tournament"])
def test_a_player_that_cannot_start_in_a_worker_is_an_error_line(tmp_path, gnugo, rlengine_cmd, command):
    """Issue 24: a player that builds here but not in a worker process gave a traceback."""
    real = " ".join(shlex.quote(a) for a in gnugo + ["--level", "0"])
    marker = tmp_path / "started"
    once = f"gtp:{shlex.quote(sys.executable)} {shlex.quote(str(START_ONCE))} {shlex.quote(str(marker))} -- {real}"
    common = ["--games", "4", "--size", "5", "--workers", "2", "--no-progress", "--out", str(tmp_path / "o")]
    if command == "match":
        argv = rlengine_cmd + ["match", "--black", "random", "--white", once, *common]
    else:
        argv = rlengine_cmd + ["tournament", "--name", "w", "--player", "random", "--player", f"once={once}", *common]
    r = _run(argv)
    assert marker.exists()  # it did start once, in the driver
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    error = r.stderr[r.stderr.index("rlengine: error:"):]  # the message ends with the engine's stderr tail
    assert "in a worker process: cannot build player" in error and "no licence on this node" in error, error


def test_ratings_opens_databases_read_only(tmp_path, rlengine_cmd):
    """Issue 24: rlengine ratings turned an empty file into an rlengine database."""
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    r = _run(rlengine_cmd + ["ratings", str(empty), "--no-progress"])
    assert r.returncode != 0 and empty.stat().st_size == 0
    assert f"rlengine: error: {empty}: an empty file, not an rlengine results database" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite"]  # no -wal or -shm left behind
