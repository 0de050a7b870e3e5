"""Rollout policy training on real expert games: held-out accuracy, weights files, CLI."""

import json

import numpy as np
import pytest

from agents.alphago import rollout as T
from games.go import rollout as R


@pytest.fixture(scope="module")
def trained(tom_archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("rollout") / "rollout.safetensors"
    summary = T.train_rollout(tom_archive, out, games=150, epochs=1, lr=0.1, seed=0, progress=False)
    return out, summary


def test_training_beats_uniform_prediction_on_held_out_games(trained, tom_archive):
    out, summary = trained
    assert summary["train_games"] == 150 and summary["train_range"] == [0, 150]
    ev = T.rollout_accuracy(out, tom_archive, games=40)  # default: the games right after the training range
    assert ev["range"][0] >= 150  # held out by game
    assert ev["positions"] > 5000 and ev["illegal_moves"] == 0
    assert ev["expert_not_candidate"] < 0.01 * ev["positions"]
    # uniform guessing among the candidates gets ~1/250; a broken pipeline gets about that
    assert ev["top1"] > 10 * ev["uniform_top1"]
    assert ev["top1"] > 0.12
    # untrained (all-zero) weights: only tie-broken guessing
    zero = T.rollout_accuracy(R.RolloutPolicy(np.zeros(R.num_features(), np.float32), 19), tom_archive,
                              games=10, skip=150)
    assert zero["top1"] == pytest.approx(zero["uniform_top1"], rel=1e-6)
    assert zero["top1"] < ev["top1"] / 10


def test_weights_file_round_trip_and_clear_errors(trained, tmp_path):
    out, _ = trained
    pol = T.load_rollout(out)
    assert pol.size == 19 and pol.metadata["train_end"] == "150"
    assert pol.weights[R.OFF_SELF_ATARI] <= 0 and np.count_nonzero(pol.weights) > 1000
    w = np.random.default_rng(0).normal(size=R.num_features()).astype(np.float32)
    w[R.OFF_SELF_ATARI] = -1
    path = tmp_path / "w.safetensors"
    T.save_rollout(path, w, size=9)
    back = T.load_rollout(path)
    assert back.size == 9 and np.array_equal(back.weights, w)
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]  # no temp files left

    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}" + b"\x00" * 64)
    with pytest.raises(T.RolloutWeightsError, match="corrupt.safetensors"):
        T.load_rollout(bad)
    cut = tmp_path / "truncated.safetensors"
    cut.write_bytes(path.read_bytes()[: 1000])
    with pytest.raises(T.RolloutWeightsError, match="truncated.safetensors"):
        T.load_rollout(cut)
    other = tmp_path / "layout.safetensors"
    T.save_rollout(other, w, size=9, extra={"layout_version": 999})
    with pytest.raises(T.RolloutWeightsError, match="layout.safetensors.*layout_version"):
        T.load_rollout(other)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        T.load_rollout(tmp_path / "missing.safetensors")


def test_cli_train_and_eval(tom_archive, tmp_path, capsys):
    out = tmp_path / "cli.safetensors"
    assert T.main(["train", "--sgf", str(tom_archive), "--out", str(out), "--games", "12", "--no-progress"]) == 0
    train = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert train["train_games"] == 12 and out.exists()
    assert T.main(["eval", "--weights", str(out), "--sgf", str(tom_archive), "--games", "3", "--no-progress"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["range"] == [12, 15] and 0 <= ev["top1"] <= 1 and ev["positions"] > 100
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"junk")
    assert T.main(["eval", "--weights", str(bad), "--sgf", str(tom_archive), "--no-progress"]) == 2
    assert "bad.safetensors" in capsys.readouterr().err
