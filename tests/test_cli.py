"""Smoke tests of the rlengine command at tiny size."""

import subprocess

from games.go import sgf


def test_selfplay_is_make_runs_job(tmp_path, rlengine_cmd):
    out = tmp_path / "run"
    proc = subprocess.run(rlengine_cmd + ["selfplay", "--size", "5", "--games", "2", "--seed", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("A B C D E") == 4  # two boards, top and bottom labels
    files = sorted(out.glob("*.sgf"))
    assert [f.name for f in files] == ["game-000001.sgf", "game-000002.sgf"]
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temp files
    for f in files:
        record = sgf.GameRecord.from_tree(sgf.read_sgf(f)[0], source=str(f))
        assert record.size == 5 and record.result and record.result in proc.stdout
        final = list(record.replay())[-1]
        assert final.result() == record.result  # replays to the printed score
    subprocess.run(rlengine_cmd + ["selfplay", "--size", "5", "--games", "2", "--seed", "0", "--out",
                                   str(tmp_path / "again")], capture_output=True, text=True, timeout=120)
    assert (tmp_path / "again" / "game-000002.sgf").read_text() == files[1].read_text()  # --seed reproduces


def test_selfplay_rerun_resumes_and_reproduces(tmp_path, rlengine_cmd):
    def selfplay(out, games):
        return subprocess.run(rlengine_cmd + ["selfplay", "--size", "5", "--games", str(games), "--seed", "3",
                                              "--out", str(out)], capture_output=True, text=True, timeout=120)

    full = selfplay(tmp_path / "full", 3)
    selfplay(tmp_path / "part", 1)
    first = (tmp_path / "part" / "game-000001.sgf").stat().st_mtime_ns
    resumed = selfplay(tmp_path / "part", 3)
    assert resumed.returncode == 0 and "game 1: " in resumed.stdout and "already played" in resumed.stdout
    assert (tmp_path / "part" / "game-000001.sgf").stat().st_mtime_ns == first  # kept, not replayed
    for i in (1, 2, 3):
        name = f"game-{i:06d}.sgf"
        assert (tmp_path / "part" / name).read_text() == (tmp_path / "full" / name).read_text()
    assert full.returncode == 0 and resumed.stdout.count("saved") == 2 and full.stdout.count("saved") == 3


def test_bad_arguments_get_clear_messages(rlengine_cmd):
    proc = subprocess.run(rlengine_cmd + ["selfplay", "--size", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "board size" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run(rlengine_cmd + ["gtp", "--player", "nosuch"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "unknown player 'nosuch'" in proc.stderr and "random" in proc.stderr
    proc = subprocess.run(rlengine_cmd + ["--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "gtp" in proc.stdout and "selfplay" in proc.stdout
