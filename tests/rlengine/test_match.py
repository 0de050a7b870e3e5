"""rlengine match / gen-games: real GNU Go on tiny boards, a fake engine that dies or hangs mid-game."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from games.go import sgf
from games.go.board import Rules
from games.go.gtp_client import GtpClient
from games.go.players import GtpPlayer
from rlengine.match import MatchError, MatchSpec, run_match, wilson_interval

FAKE = Path(__file__).resolve().parents[1] / "games" / "go" / "fake_gtp_engine.py"


def gnugo_spec(gnugo, *extra):
    return "gtp:" + " ".join(gnugo + ["--level", "1", *extra])


def read(path: Path) -> sgf.GameRecord:
    return sgf.GameRecord.from_tree(sgf.read_sgf(path)[0], source=str(path))


def check_replays(record: sgf.GameRecord) -> None:
    final = list(record.replay())[-1]  # every move legal under our rules (positional superko)
    if record.result[1:] not in ("+R", "+F") and record.result != "Void" and "move cap" not in record.comment:
        assert final.is_over and final.result() == record.result


class PassWhenOpponentPasses:
    """GNU Go that passes as soon as its opponent passes, whatever is on the board, as our MCTS player
    did when Tromp-Taylor said it won: its own dead stones stay in the opponent's area.  In the cleanup
    phase it is GNU Go's kgs-genmove_cleanup (through ``GtpPlayer.genmove_cleanup``)."""

    name = "passer"

    def __init__(self, engine: GtpPlayer):
        self.engine = engine

    def reset(self, rules):
        self.engine.reset(rules)

    def reseed(self, seed):
        self.engine.reseed(seed)

    def observe(self, color, move):
        self.engine.observe(color, move)

    def genmove(self, position, color):
        if position.last_move == position.pass_move:
            return position.pass_move
        return self.engine.genmove(position, color)

    def genmove_cleanup(self, position, color):
        return self.engine.genmove_cleanup(position, color)


def tromp_taylor_at_first_two_passes(record: sgf.GameRecord) -> str:
    previous = None
    for pos in record.replay():
        if pos.last_move == pos.pass_move and previous == pos.pass_move:
            return pos.result()
        previous = pos.last_move
    raise AssertionError("no two passes in a row")


def test_match_results_agree_with_gnugo_final_score_after_the_cleanup_phase(tmp_path, gnugo):
    """Issue 11: two passes with dead stones on the board used to end the game, scored as it stood.
    The winner recorded must be GNU Go's (Chinese rules) on the SGF written; in these games it is
    not the Tromp-Taylor winner at the first two passes."""
    engine = gnugo + ["--level", "1", "--seed", "{seed}"]
    command = " ".join(engine)
    players = {"A": PassWhenOpponentPasses(GtpPlayer(command)), "B": GtpPlayer(command)}
    spec = MatchSpec("passer", "gtp:" + command, 4, tmp_path, rules=Rules(size=9, komi=7.5), swap=True, seed=1)
    try:
        summary = run_match(spec, players=players, progress=False)
    finally:
        for p in (players["A"].engine, players["B"]):
            p.close()
    assert summary["errors"] == 0 and summary["played"] == 4
    referee = GtpClient(gnugo, timeout=60)
    flipped = 0
    try:
        for i in range(1, 5):
            path = spec.path(i)
            record = read(path)
            assert record.result[:2] in ("B+", "W+"), record.result  # decided by the score, not resigned
            check_replays(record)
            referee.send(f"loadsgf {path}")
            assert referee.send("final_score").strip() == record.result, f"game {i}: {record.comment}"
            first = tromp_taylor_at_first_two_passes(record)
            assert f"Tromp-Taylor there {first}, at the end {record.result}" in record.comment
            flipped += first[0] != record.result[0]
    finally:
        referee.close()
    assert flipped >= 1  # the old end of game recorded the wrong winner here


def test_wilson_interval_matches_hand_computed_values():
    # p = k/n, z = 1.959964: centre (p + z^2/2n) / (1 + z^2/n), half-width z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)
    assert wilson_interval(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.277533), abs=1e-6)
    assert wilson_interval(10, 10) == pytest.approx((0.722467, 1.0), abs=1e-6)
    assert wilson_interval(81, 100) == pytest.approx((0.722211, 0.874852), abs=1e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_match_random_vs_gnugo_swaps_counts_and_resumes(tmp_path, gnugo, rlengine_cmd):
    out = tmp_path / "m"
    gnu = gnugo_spec(gnugo, "--seed", "{seed}")
    argv = rlengine_cmd + ["match", "--black", "random", "--white", gnu, "--games", "4", "--size", "5",
                           "--swap", "--workers", "2", "--seed", "7", "--no-progress", "--out", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["games"] == 4 and summary["played"] == 4 and summary["errors"] == 0
    wins = summary["wins"]
    assert wins["A"] + wins["B"] + summary["draws"] == 4
    for name in ("A", "B"):
        assert sum(summary["wins_by_color"][name].values()) == wins[name]
    decided = wins["A"] + wins["B"]
    assert summary["win_rate"] == pytest.approx(wins["A"] / decided)
    assert summary["wilson95"] == pytest.approx(list(wilson_interval(wins["A"], decided)))
    assert summary["black"] == "random" and summary["white"] == gnu
    tally = {"A": 0, "B": 0}
    for i in range(1, 5):
        record = read(out / f"game-{i:06d}.sgf")
        a_black = i % 2 == 1  # --swap: A is black in odd games
        assert (record.black_player, record.white_player) == (("random", gnu) if a_black else (gnu, "random"))
        assert f"A plays {'black' if a_black else 'white'}" in record.comment
        assert record.komi == 7.5 and record.size == 5
        check_replays(record)
        if record.result[:2] in ("B+", "W+"):
            tally["A" if (record.result[0] == "B") == a_black else "B"] += 1
    assert tally == wins
    # resume: delete one game; only it is played again, and identically (per-game seeds)
    before = (out / "game-000003.sgf").read_text()
    kept = (out / "game-000002.sgf").stat().st_mtime_ns
    (out / "game-000003.sgf").unlink()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout.strip().splitlines()[-1])
    assert again["played"] == 1 and again["wins"] == wins and again["wins_by_color"] == summary["wins_by_color"]
    assert (out / "game-000003.sgf").read_text() == before
    assert (out / "game-000002.sgf").stat().st_mtime_ns == kept


@pytest.mark.parametrize("mode", ["proxy-crash", "proxy-hang"])
def test_engine_that_dies_or_hangs_voids_one_game_and_the_match_goes_on(tmp_path, gnugo, mode):
    marker = tmp_path / "died-once"
    real = " ".join(shlex.quote(a) for a in gnugo + ["--level", "1", "--never-resign"])
    spec = f"gtp:{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} {mode} {shlex.quote(str(marker))} -- {real}"
    match = MatchSpec("random", spec, 3, tmp_path / "m", rules=Rules(size=5, komi=7.5), seed=1, timeout=1.0)
    summary = run_match(match, progress=False)
    assert marker.exists()
    assert summary["errors"] == 1 and summary["wins"]["A"] + summary["wins"]["B"] + summary["draws"] == 2
    void = read(tmp_path / "m" / "game-000001.sgf")
    assert void.result == "Void" and "error" in void.comment
    assert ("dying on purpose" in void.comment) if mode == "proxy-crash" else ("no answer" in void.comment)
    check_replays(void)  # the moves before the failure are kept
    for i in (2, 3):  # the engine was restarted: these games finished normally
        record = read(tmp_path / "m" / f"game-{i:06d}.sgf")
        assert record.result != "Void"
        check_replays(record)
    assert run_match(match, progress=False) == {**summary, "played": 0}  # void games are kept on resume
    again = run_match(match, progress=False, retry_void=True)  # ... and played again with --retry-void
    assert again["played"] == 1 and again["errors"] == 0 and again["games"] == 3
    assert read(tmp_path / "m" / "game-000001.sgf").result != "Void"


def test_illegal_move_forfeits(tmp_path):
    spec = f"gtp:{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} illegal"
    summary = run_match(MatchSpec("random", spec, 1, tmp_path, rules=Rules(size=5), seed=2), progress=False)
    record = read(tmp_path / "game-000001.sgf")
    assert record.result == "B+F" and "illegal move A1" in record.comment
    assert summary["wins"] == {"A": 1, "B": 0} and summary["errors"] == 0
    with pytest.raises(MatchError, match="cannot build player B"):
        run_match(MatchSpec("random", "gtp:/nonexistent/engine", 1, tmp_path / "x"), progress=False)


def test_gen_games_between_two_gnugos(tmp_path, gnugo, rlengine_cmd):
    # one worker keeps this quick; the spawned-worker path is the same run_games, covered by the match test above
    engine = " ".join(gnugo + ["--level", "1", "--never-resign", "--seed", "{seed}"])
    out = tmp_path / "gen"
    proc = subprocess.run(rlengine_cmd + ["gen-games", "--black", engine, "--white", engine, "--games", "3",
                                          "--size", "5", "--random-opening", "3", "--workers", "1", "--seed", "0",
                                          "--no-progress", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["games"] == 3 and summary["written"] == 3
    assert sum(summary["results"].values()) == 3 and summary["results"]["errors"] == 0
    openings = []
    for i in range(1, 4):
        record = read(out / f"game-{i:06d}.sgf")
        check_replays(record)
        num_random = sum(n.comment == "random opening move" for n in record.nodes)
        assert num_random <= 3 and f"random opening: {num_random} moves" in record.comment
        assert all(n.comment == "random opening move" for n in record.nodes[:num_random])
        openings.append(tuple(record.moves[:num_random]))
    assert len(set(openings)) > 1  # the games differ


def test_resume_refuses_another_pairing(tmp_path):
    rules = Rules(size=5)
    run_match(MatchSpec("random", "random", 1, tmp_path, rules=rules, seed=3, max_moves=6), progress=False)
    record = read(tmp_path / "game-000001.sgf")
    assert record.num_moves == 6 and "move cap (6)" in record.comment
    with pytest.raises(MatchError, match="played with white = 'random', not 'gtp:"):
        run_match(MatchSpec("random", "gtp:/usr/games/gnugo --mode gtp", 1, tmp_path, rules=rules, max_moves=6),
                  progress=False)


def test_resume_refuses_changed_settings(tmp_path):
    """Issue 24: a 5x5 komi 0.5 match resumed with --size 7 --komi 7.5 counted the old games.  The
    settings are stored beside the games; a change is refused naming the key, more games are not."""
    first = MatchSpec("random", "random", 2, tmp_path, rules=Rules(size=5, komi=0.5), seed=3)
    run_match(first, progress=False)
    assert json.loads((tmp_path / "match.json").read_text())["komi"] == 0.5
    with pytest.raises(MatchError, match=r"was played with komi = 0.5, not 7.5"):
        run_match(MatchSpec("random", "random", 3, tmp_path, rules=Rules(size=7, komi=7.5), seed=3), progress=False)
    with pytest.raises(MatchError, match=r"was played with size = 5, not 7"):
        run_match(MatchSpec("random", "random", 3, tmp_path, rules=Rules(size=7, komi=0.5), seed=3), progress=False)
    with pytest.raises(MatchError, match=r"was played with seed = 3, not 4"):
        run_match(MatchSpec("random", "random", 3, tmp_path, rules=Rules(size=5, komi=0.5), seed=4), progress=False)
    # more games, and no seed given: the stored seed is reused, so game 3 is the one a seeded run plays
    more = run_match(MatchSpec("random", "random", 3, tmp_path, rules=Rules(size=5, komi=0.5)), progress=False)
    assert more["games"] == 3 and more["played"] == 1
    twin = tmp_path / "twin"
    run_match(MatchSpec("random", "random", 3, twin, rules=Rules(size=5, komi=0.5), seed=3), progress=False)
    assert (twin / "game-000003.sgf").read_text() == (tmp_path / "game-000003.sgf").read_text()


def test_random_opening_draws_at_least_one_move(tmp_path):
    """Issue 24: --random-opening K drew 0..K moves, so greedy players often started from the empty board
    and repeated a game; it draws 1..K."""
    summary = run_match(MatchSpec("random", "random", 8, tmp_path, rules=Rules(size=5), seed=1, random_opening=1,
                                  max_moves=4), progress=False)
    assert summary["games"] == 8
    for i in range(1, 9):
        record = read(tmp_path / f"game-{i:06d}.sgf")
        assert sum(n.comment == "random opening move" for n in record.nodes) == 1
        assert "random opening: 1 moves" in record.comment


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.add(int(entry.name))
    return out


def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_exit_when_the_match_process_is_killed(tmp_path, gnugo):
    """kill -9 of `rlengine match` must not leave its worker processes (and their engines) playing on."""
    import signal
    import time

    out = tmp_path / "m"
    proc = subprocess.Popen([sys.executable, "-m", "rlengine.cli", "match", "--black", "random", "--white",
                             gnugo_spec(gnugo), "--games", "500", "--size", "9", "--workers", "2", "--seed", "0",
                             "--out", str(out), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and any(out.glob("game-*.sgf"))):
            assert proc.poll() is None and time.monotonic() < deadline, "the match never saved a game"
            time.sleep(0.2)
        workers = {p for p in _children(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()}
        assert len(workers) == 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    while any(_running(p) for p in workers):
        assert time.monotonic() < deadline, f"orphaned workers still running: {workers}"
        time.sleep(0.2)
