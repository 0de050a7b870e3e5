"""AlphaGo SL policy: SGF -> shards round trip, split by game, a real learning check on expert games,
resume, `rlengine eval --sgf`, the `policy:` player over GTP, config errors."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.alphago import SLRunConfig, train
from agents.alphago import data as sl_data
from games.go import sgf as sgf_mod
from rlengine.config import ConfigError, load_config
from rlengine.runtime import load_checkpoint

CONFIG = "configs/go19_sl.toml"

SETUP_GAME = b"(;GM[1]SZ[9]KM[5.5]RE[W+3.5]AB[cc][gc]AW[ee];W[dd];B[tt];W[cd];B[de]AE[ee]AB[ff];W[];B[ed])"
ILLEGAL_GAME = b"(;GM[1]SZ[9]KM[7]RE[B+R];B[aa];W[ab];B[aa])"  # move 3 on an occupied point
NINETEEN = b"(;GM[1]SZ[19]KM[7.5];B[pd];W[dp])"


def tiny(tmp_path: Path, *overrides: str) -> SLRunConfig:
    base = [f"data.cache_dir={json.dumps(str(tmp_path / 'cache'))}", "run.device=\"cpu\"", "network.filters=16",
            "network.layers=3", "train.batch_size=32", "train.lr=0.05", "train.warmup_steps=10",
            "train.log_every=10", "eval.positions=1024", "eval.every_steps=100", "checkpoint.every_steps=100",
            "data.val_fraction=0.1", "data.test_fraction=0.1", "checkpoint.keep=5"]
    return load_config(SLRunConfig, CONFIG, overrides=base + list(overrides))


def _board(pos) -> tuple:
    return tuple(pos.stones().tolist()), pos.to_move


# ---- data --------------------------------------------------------------------------------------------


def test_stream_replays_to_the_sgf_positions(tom_archive, tmp_path):
    (tmp_path / "setup.sgf").write_bytes(SETUP_GAME)
    games = []
    for i, (name, record) in enumerate(sgf_mod.iter_games(tom_archive)):
        games.append((name, record))
        if i == 11:
            break
    games += list(sgf_mod.iter_games(tmp_path / "setup.sgf"))
    for name, record in games:
        stream = sl_data.stream_from_records([(name, record)], record.size)
        assert stream.num_games == 1 and stream.names[0] == name
        expected = [_board(p) for p in record.replay()]
        replayed = sl_data.replay_stream(stream, 0)
        moves = np.flatnonzero(stream.colors > 0)
        assert len(moves) == record.num_moves
        assert [_board(replayed[j + 1])[0] for j in moves] == [e[0] for e in expected], name
        assert list(stream.points[moves]) == [m.point for m in record.moves]
        assert list(stream.colors[moves]) == [m.color for m in record.moves]
    setup = sl_data.stream_from_records(games[-1:], 9)
    assert list(setup.colors[:3]) == [-1, -1, -2] and setup.results[0] == -1 and setup.komi[0] == 5.5
    assert (setup.colors == -3).sum() == 1 and (setup.points[setup.colors > 0] == 81).sum() == 2  # AE, 2 passes
    assert setup.num_positions == 4  # move events that are not passes (6 moves, 2 passes)


def test_shards_split_by_game_skip_bad_games_and_reuse_the_cache(tom_archive, tmp_path, caplog):
    src = tmp_path / "sgf"
    src.mkdir()
    for i, (name, record) in enumerate(sgf_mod.iter_games(tom_archive)):
        (src / f"g{i:03d}.sgf").write_text(record.to_sgf())
        if i == 59:
            break
    (src / "broken.sgf").write_bytes(b"(;GM[1]SZ[19];B[pd];W[")  # cut short
    (src / "illegal.sgf").write_bytes(ILLEGAL_GAME.replace(b"SZ[9]", b"SZ[19]"))
    (src / "nine.sgf").write_bytes(SETUP_GAME)  # another board size: left out
    with caplog.at_level(logging.INFO):
        folder = sl_data.prepare_shards(src, 19, tmp_path / "cache", seed=3, val_fraction=0.2, test_fraction=0.2,
                                        progress=False)
    assert "broken.sgf" in caplog.text and "illegal.sgf" in caplog.text
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["malformed"] == 1 and meta["other_size"] == 1
    assert meta["games"] == 61 and len(meta["truncated"]) == 1 and meta["truncated"][0].startswith("illegal.sgf")
    parts = {s: sl_data.load_shards(folder, s) for s in sl_data.SPLITS}
    names = [set(parts[s].names.tolist()) for s in sl_data.SPLITS]
    assert sum(len(n) for n in names) == 61 and len(set.union(*names)) == 61  # disjoint, complete
    assert all(len(n) >= 3 for n in names)
    for s in sl_data.SPLITS:
        assert meta["splits"][s]["games"] == parts[s].num_games
        assert meta["splits"][s]["positions"] == parts[s].num_positions
        assert all(sl_data.game_split(n, 3, 0.2, 0.2) == s for n in parts[s].names)
    assert parts["train"].names.dtype.kind == "U"  # plain arrays: np.load(allow_pickle=False) reads them
    # the cache is reused (same folder, untouched), another seed gives another split of the same games
    mtime = (folder / "train.npz").stat().st_mtime_ns
    again = sl_data.prepare_shards(src, 19, tmp_path / "cache", seed=3, val_fraction=0.2, test_fraction=0.2,
                                   progress=False)
    assert again == folder and (folder / "train.npz").stat().st_mtime_ns == mtime
    other = sl_data.prepare_shards(src, 19, tmp_path / "cache", seed=4, val_fraction=0.2, test_fraction=0.2,
                                   progress=False)
    assert other != folder
    assert set(sl_data.load_shards(other, "val").names.tolist()) != names[1]


def test_sampler_targets_follow_the_symmetry(tom_archive):
    from games.go.features import encode_games, symmetry_table

    stream = sl_data.convert(tom_archive, 19, max_games=5)
    sampler = sl_data.BatchSampler(stream, batch_size=16, encoder="alphago48", seed=1, prefetch=1)
    try:
        planes, targets = next(sampler)
        assert planes.shape == (16, 48, 19, 19) and planes.dtype == np.uint8 and targets.dtype == np.int64
        again = sampler.batch(0)  # batch k depends on (seed, k) only
        assert np.array_equal(again[0], planes) and np.array_equal(again[1], targets)
    finally:
        sampler.close()
    # the target point is empty and legal in the sample's own frame: "empty" plane 2 is set there
    flat = planes.reshape(16, 48, -1)
    assert flat[np.arange(16), 2, targets].all()
    rng = np.random.default_rng([1, 0])  # the sampler's draw for batch 0
    events, games = sl_data.sample_events(stream)
    pick = rng.integers(len(events), size=16)
    syms = rng.integers(8, size=16)
    assert syms.any()
    table = symmetry_table(19)
    assert np.array_equal(targets, table[syms, stream.points[events[pick]]])
    ident = encode_games(stream.points, stream.colors, stream.game_offsets, games[pick], events[pick],
                         np.zeros(16, np.int64), "alphago48", 19)
    assert np.array_equal(ident.reshape(16, 48, -1)[np.arange(16), 2, stream.points[events[pick]]], np.ones(16))


# ---- learning, resume, eval, player ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tom_archive, tmp_path_factory):
    """A 3-layer x 16-filter policy trained for 60 steps of 32 positions on ~240 expert games."""
    tmp = tmp_path_factory.mktemp("sl")
    cfg = tiny(tmp, f"data.path={json.dumps(str(tom_archive))}", "data.max_games=300", "train.total_steps=60",
               "eval.every_steps=60", "eval.positions=512")
    result = train(cfg, tmp / "run", progress=False)
    return cfg, tmp / "run", result


def test_sl_policy_beats_uniform_on_held_out_positions(trained):
    cfg, run, result = trained
    assert result["step"] == 60 and result["positions"] == 60 * 32
    # uniform over ~250 empty points is 0.004.  Measured on 512 held-out positions after these 60 x 32
    # samples: this pipeline 0.12-0.14; the same run with targets not mapped through the symmetry of the
    # planes 0.010 (and 0.016 after 1,152 samples of Adam)
    assert result["val_top1"] > 0.07, result
    assert result["val_top5"] > 0.2, result
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    curve = [r for r in rows if "val_top1" in r]
    assert [r["step"] for r in curve] == [0, 60]
    assert curve[-1]["val_top1"] > curve[0]["val_top1"] and curve[-1]["positions"] == 60 * 32
    ckpt = load_checkpoint(run)
    assert ckpt.agent == "alphago" and ckpt.step == 60 and "policy.point_bias" in ckpt.tensors


def test_resume_continues_steps_and_metrics(tom_archive, tmp_path):
    cfg = tiny(tmp_path, f"data.path={json.dumps(str(tom_archive))}", "data.max_games=30", "train.total_steps=20",
               "eval.every_steps=10", "checkpoint.every_steps=10", "eval.positions=64", "network.filters=8",
               "network.layers=2", "train.batch_size=16", "train.log_every=5")
    whole = train(cfg, tmp_path / "whole", progress=False)
    first = train(cfg, tmp_path / "split", progress=False, stop_at=13)
    assert first["step"] == 13 and load_checkpoint(tmp_path / "split").step == 13
    second = train(cfg, tmp_path / "split", progress=False)
    assert second["step"] == 20
    ckpt = load_checkpoint(tmp_path / "split")
    assert ckpt.optimizer["state"][0]["momentum_buffer"] is not None
    rows = [json.loads(x) for x in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "loss" in r]
    assert steps == [5, 10, 15, 20]  # no repeat, no gap across the stop
    assert [r["step"] for r in rows if "val_top1" in r] == [0, 10, 20]
    # the same batches and optimizer state: the resumed run ends where the uninterrupted one does
    assert second["val_top1"] == pytest.approx(whole["val_top1"], abs=0.02)
    assert second["val_loss"] == pytest.approx(whole["val_loss"], rel=1e-3)
    ref = load_checkpoint(tmp_path / "whole").tensors
    for key, value in ckpt.tensors.items():
        if key.startswith("policy."):
            assert torch.allclose(value, ref[key], atol=1e-5), key


def test_cli_eval_sgf_reports_accuracy(trained, capsys, tmp_path, tom_archive):
    _, run, _ = trained
    src = tmp_path / "games"
    src.mkdir()
    for i, (name, record) in enumerate(sgf_mod.iter_games(tom_archive)):
        if i >= 300:  # games after the training slice
            (src / f"g{i}.sgf").write_text(record.to_sgf())
        if i == 304:
            break
    (src / "nine.sgf").write_bytes(SETUP_GAME)  # another size: not counted
    from rlengine.cli import main

    assert main(["eval", str(run), "--sgf", str(src)]) == 0  # in process: the same path as the command
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = sl_data.convert(src, 19).num_positions
    assert res["games"] == 5 and res["positions"] == expected
    assert 0.03 < res["top1"] <= res["top5"] <= 1


def test_policy_player_over_gtp(trained, rlengine_cmd):
    _, run, _ = trained
    script = "boardsize 19\nclear_board\ngenmove b\nplay w D4\ngenmove b\ngenmove w\nboardsize 9\ngenmove b\nquit\n"
    out = subprocess.run(rlengine_cmd + ["gtp", "--player", f"policy:{run}"], input=script, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    replies = [r for r in out.stdout.split("\n\n") if r.strip()]
    moves = [replies[i].removeprefix("= ").strip() for i in (2, 4, 5)]
    from games.go import coords

    points = [coords.from_gtp(m, 19) for m in moves]
    assert all(p < 361 for p in points) and len({*points, coords.from_gtp("D4", 19)}) == 4
    assert replies[7].startswith("?") and "19x19" in replies[7]
    from rlengine.registry import load_player

    with pytest.raises(ValueError, match="/nonexistent/run"):
        load_player("policy:/nonexistent/run")
    with pytest.raises(ValueError, match="unknown option 'temp'"):
        load_player(f"policy:{run},temp=1")
    with pytest.raises(ValueError, match="temperature must be a number, got 'hot'"):
        load_player(f"policy:{run},temperature=hot")
    sampler = load_player(f"policy:{run},temperature=1.5", seed=0)
    assert sampler.temperature == 1.5


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"train: unknown key 'learning_rate'"):
        load_config(SLRunConfig, CONFIG, overrides=["train.learning_rate=0.1"])
    with pytest.raises(ConfigError, match=r"network.encoder: unknown encoder 'planes9'"):
        load_config(SLRunConfig, CONFIG, overrides=["network.encoder=\"planes9\""])
    with pytest.raises(ConfigError, match=r"data.val_fraction"):
        load_config(SLRunConfig, CONFIG, overrides=["data.val_fraction=0.6", "data.test_fraction=0.5"])
    from rlengine.cli import main

    with pytest.raises(SystemExit, match=r"configs/go19_sl.toml: train: unknown key 'momentun'"):
        main(["train", CONFIG, "--set", "train.momentun=0.8", "--run-dir", str(tmp_path / "run")])


def test_watch_writes_a_legal_self_play_sgf(trained, tmp_path):
    from agents.alphago import watch

    _, run, _ = trained
    res = watch(run, tmp_path / "self.sgf", max_moves=12)
    record = sgf_mod.GameRecord.from_tree(sgf_mod.read_sgf(tmp_path / "self.sgf")[0])
    assert res["moves"] == record.num_moves == 12 and record.size == 19
    assert len(list(record.replay())) == 12  # every move legal


def test_policy_player_takes_the_logits_of_a_policy_value_network(tmp_path, monkeypatch):
    """A network returning (logits [B, N*N + 1], value [B]) drives the policy: player (``self.net(x)[0]`` used
    to take the whole logits tensor, and genmove crashed).  No config kind builds a policy-value network
    yet, so the checkpoint's network is built as one here."""
    from agents.alphago import checkpoint
    from agents.alphago.nets import PolicyValueResNet
    from agents.alphago.players import PolicyPlayer, sensible_mask
    from games.go.board import BLACK, Position, Rules
    from games.go.features import encode_position, num_planes

    cfg = tiny(tmp_path, "data.board_size=9", 'network.encoder="agz17"', 'network.kind="resnet"')

    def build(net_cfg, size):
        return PolicyValueResNet(num_planes(net_cfg.encoder), size, filters=8, blocks=1)

    monkeypatch.setattr(checkpoint, "build_policy_net", build)
    torch.manual_seed(0)
    net = build(cfg.network, 9).eval()
    ckpt = checkpoint.save_policy(cfg, net, tmp_path / "checkpoints")
    player = PolicyPlayer(ckpt)
    assert isinstance(player.net, PolicyValueResNet)
    pos = Position.empty(Rules(size=9, komi=7.5)).play(40).play(41)
    logits = player.move_logits(pos, BLACK)
    with torch.no_grad():
        expected = net(torch.from_numpy(encode_position(pos, "agz17")[None]))[0][0].numpy()
    assert logits.shape == (82,) and np.allclose(logits, expected, atol=1e-5)
    allowed = np.append(sensible_mask(pos, BLACK), True)
    assert player.genmove(pos, BLACK) == int(np.flatnonzero(allowed)[np.argmax(logits[allowed])])
    with torch.no_grad():  # a network that prefers pass may pass
        player.net.policy.fc.bias[81] = 1e4
    assert player.genmove(pos, BLACK) == 81


def test_held_out_samples_whose_position_is_in_train_are_left_out(tmp_path):
    """Games that share openings share positions across a split by game: validation / test samples whose
    position (stones and side to move) is a training sample's position are marked and left out."""
    from games.go import coords

    def name_in(split: str, prefix: str) -> str:
        return next(f"{prefix}{i}" for i in range(1000)
                    if sl_data.game_split(f"{prefix}{i}.sgf", 0, 0.5, 0.0) == split) + ".sgf"

    def sgf(moves: str) -> str:
        body = "".join(f";{'BW'[k % 2]}[{'' if m == 'pass' else coords.to_sgf(coords.from_gtp(m, 9), 9)}]"
                       for k, m in enumerate(moves.split()))
        return f"(;GM[1]SZ[9]KM[7]{body})"

    src = tmp_path / "sgf"
    src.mkdir()
    train_game = name_in("train", "t")
    (src / train_game).write_text(sgf("E5 C3 G7 D4"))
    held = {  # moves, and whether each move's position is a training position (None: a pass, no sample)
        "v": ("E5 C3 G7 F4 H2", [True, True, True, True, False]),  # the same opening, then new
        "w": ("G7 C3 E5 D4 J1", [True, False, False, True, False]),  # move 4: the training game transposed
        "x": ("E5 pass C3", [True, None, False]),  # move 3: train's stones after E5, but black to move
    }
    names = {}
    for prefix, (moves, _) in held.items():
        names[prefix] = name_in("val", prefix)
        (src / names[prefix]).write_text(sgf(moves))
    folder = sl_data.prepare_shards(src, 9, tmp_path / "cache", seed=0, val_fraction=0.5, test_fraction=0.0,
                                    progress=False)
    val = sl_data.load_shards(folder, "val")
    assert sorted(val.names.tolist()) == sorted(names.values())
    for prefix, (moves, flags) in held.items():
        g = val.names.tolist().index(names[prefix])
        marks = val.in_train[val.game_offsets[g]:val.game_offsets[g + 1]]
        assert marks.tolist() == [bool(f) for f in flags], prefix
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["splits"]["val"]["positions_in_train"] == 7
    assert len(sl_data.sample_events(val)[0]) == 12 - 7
    assert len(sl_data.sample_events(val, exclude_train_positions=False)[0]) == 12
    assert len(sl_data.fixed_samples(val, 100, 0)[0]) == 5
    kept, _ = sl_data.sample_events(val)
    assert not val.in_train[kept].any()
    train = sl_data.load_shards(folder, "train")
    assert train.in_train is None and len(sl_data.sample_events(train)[0]) == 4
