"""rlengine tournament --run: a training run's checkpoints as players, the Elo plot and its TensorBoard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agents.alphago import rl
from rlengine.config import load_config
from agents.alphago.config import RLRunConfig

REPO = Path(__file__).resolve().parents[2]


def test_run_checkpoints_are_rated_plotted_and_logged(tmp_path):
    cfg = load_config(RLRunConfig, data={
        "run": {"agent": "alphago_rl", "name": "t", "device": "cpu"}, "game": {"board_size": 5},
        "network": {"kind": "cnn", "encoder": "alphago48", "filters": 8, "layers": 2},
        "rl": {"iterations": 4, "games_per_iteration": 8, "pool_every": 1},
        "runtime": {"backend": "local", "num_actors": 1, "games_per_task": 8}})
    run = tmp_path / "myrun"
    rl.train(cfg, run, progress=False)
    res = subprocess.run(
        [sys.executable, "-m", "rlengine.cli", "tournament", "--name", "ckpts", "--run", str(run), "--every", "2",
         "--field", "random", "--format", "gauntlet", "--games", "4", "--size", "5", "--random-opening", "2",
         "--anchor", "random=0", "--out", str(tmp_path / "t"), "--no-progress"],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(out["players"]) == {"myrun@0", "myrun@2", "myrun@4", "random"}  # every 2nd of 0..4
    assert out["games"] + out["void"] == 3 * 4 and out["format"] == "gauntlet"
    assert Path(out["plot"]).stat().st_size > 10_000
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    assert "tournament/ckpts/elo" in acc.Tags()["scalars"]
    steps = {e.step: e.value for e in acc.Scalars("tournament/ckpts/elo")}
    assert sorted(steps) == [0, 2, 4]
    assert abs(steps[4] - out["players"]["myrun@4"]["elo"]) < 0.1
    assert "tournament/ckpts/elo_plot" in acc.Tags()["images"]

    # greedy checkpoints against each other, no random opening: warned about, and the repeats are counted
    res = subprocess.run(
        [sys.executable, "-m", "rlengine.cli", "tournament", "--name", "greedy", "--run", str(run), "--every", "2",
         "--games", "4", "--size", "5", "--out", str(tmp_path / "g"), "--no-progress"],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "both players are deterministic" in res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["games"] + out["void"] == 3 * 4
    assert out["duplicates"] >= 3 * 2  # games 3 and 4 of each pairing repeat games 1 and 2
    snapshots = sorted((run / "pool").glob("step-*"))
    res = subprocess.run(
        [sys.executable, "-m", "rlengine.cli", "match", "--black", f"policy:{snapshots[0]}", "--white",
         f"policy:{snapshots[-1]}", "--games", "4", "--swap", "--size", "5", "--out", str(tmp_path / "m"),
         "--no-progress"], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "both players are deterministic" in res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1])["duplicates"] == 2
