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
    again = subprocess.run(rlengine_cmd + ["selfplay", "--size", "5", "--games", "2", "--seed", "0", "--out",
                                           str(tmp_path / "again")], capture_output=True, text=True, timeout=120)
    assert (tmp_path / "again" / "game-000002.sgf").read_text() == files[1].read_text()  # --seed reproduces


def test_bad_arguments_get_clear_messages(rlengine_cmd):
    proc = subprocess.run(rlengine_cmd + ["selfplay", "--size", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "board size" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run(rlengine_cmd + ["gtp", "--player", "nosuch"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "unknown player 'nosuch'" in proc.stderr and "random" in proc.stderr
    proc = subprocess.run(rlengine_cmd + ["--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "gtp" in proc.stdout and "selfplay" in proc.stdout
