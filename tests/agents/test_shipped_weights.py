"""The trained 9x9 weights that ship in agents/alphago/weights: checksums against their model cards, names
that resolve in player specs, a full game of each shipped player over GTP, and the strongest one beating
``random`` in 10 of 10 games."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest

from agents.alphago.weights import NAMES, PRESETS, WEIGHTS_DIR, resolve

CARDS = WEIGHTS_DIR / "MODELS.md"
# each shipped player: the named policies, the strongest preset, and the search with the value network
SHIPPED_PLAYERS = ["policy:go9-sl", "policy:go9-rl", "mcts:go9,sims=64", "mcts:go9-sl,value=go9-value,sims=64"]


def _shipped_files() -> list[str]:
    return sorted(str(p.relative_to(WEIGHTS_DIR)) for p in WEIGHTS_DIR.rglob("*")
                  if p.is_file() and p.suffix not in (".py", ".md", ".pyc"))


def test_checksums_match_the_model_cards_and_the_size_limit():
    table = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", CARDS.read_text(), flags=re.M))
    assert sorted(table) == _shipped_files()  # every file has a card entry, every entry a file
    for name, digest in table.items():
        assert hashlib.sha256((WEIGHTS_DIR / name).read_bytes()).hexdigest() == digest, name
    assert sum((WEIGHTS_DIR / name).stat().st_size for name in table) <= 20 * 2**20
    assert all(p.exists() for p in map(resolve, NAMES))
    assert resolve("runs/some_run") == "runs/some_run"  # a path that is not a name passes through


def test_the_names_load_and_a_local_path_of_the_same_name_wins(tmp_path, monkeypatch):
    from agents.alphago.checkpoint import load_policy, load_value
    from agents.alphago.rollout import load_rollout

    sl_cfg, _, _ = load_policy("go9-sl", device="cpu")
    rl_cfg, _, _ = load_policy("go9-rl", device="cpu")
    value_cfg, _, _ = load_value("go9-value", device="cpu")
    assert sl_cfg.board_size == rl_cfg.board_size == value_cfg.board_size == 9
    assert load_rollout("go9-rollout").weights.size > 0
    assert set(PRESETS) == {"go9"} and PRESETS["go9"][0] in NAMES
    from agents.alphago.mcts import make_mcts_player

    preset = make_mcts_player("go9", seed=0).options
    assert (preset.seconds, preset.sims, preset.expand, preset.rollout) == (1.0, None, 4, "go9-rollout")
    assert (preset.c_puct, preset.fpu, preset.final) == (1.2, 0.2, "visits")  # the constants tuned by match
    own = make_mcts_player("go9,sims=50,expand=2", seed=0).options  # the spec's budget replaces the preset's
    assert (own.seconds, own.sims, own.expand) == (None, 50, 2)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "go9-sl").mkdir()  # a folder of that name in the working directory is taken as the path
    from rlengine.runtime import CheckpointError

    with pytest.raises(CheckpointError, match="go9-sl: no checkpoint here"):
        load_policy("go9-sl", device="cpu")


def _match(black: str, games: int, out, *, swap: bool = True) -> dict:
    cmd = [sys.executable, "-m", "rlengine.cli", "match", "--black", black, "--white", "random", "--games",
           str(games), "--size", "9", "--komi", "7.5", "--seed", "0", "--out", str(out), "--timeout", "120"]
    res = subprocess.run(cmd + (["--swap"] if swap else []), capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("spec", SHIPPED_PLAYERS)
def test_each_shipped_player_plays_a_full_game_over_gtp(spec, tmp_path):
    gtp = f"gtp:{sys.executable} -m rlengine.cli gtp --player {spec} --size 9"
    result = _match(gtp, 1, tmp_path / "m", swap=False)
    assert result["played"] == 1 and result["errors"] == 0, result
    sgf = next((tmp_path / "m").glob("*.sgf")).read_text()
    assert "RE[" in sgf and sgf.count(";B[") >= 5, sgf[:300]


@pytest.mark.slow  # ten games; `make test` and CI run it
def test_the_strongest_shipped_player_beats_random_10_of_10(tmp_path):
    """``mcts:go9`` at 200 simulations a move (its own budget is one second a move), over GTP."""
    gtp = f"gtp:{sys.executable} -m rlengine.cli gtp --player mcts:go9,sims=200 --size 9"
    result = _match(gtp, 10, tmp_path / "m")
    assert result["played"] == 10 and result["wins"]["A"] == 10, result
