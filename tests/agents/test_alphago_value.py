"""The value network: AlphaGo's data recipe, small but real learning (with a shuffled-label control), the
search's use of v at lambda = 0 and not at lambda = 1, the RL loop's value baseline, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.alphago import value, value_data as vd
from agents.alphago.checkpoint import VALUE_AGENT, VALUE_PREFIX, load_value, policy_tensors, save_policy
from agents.alphago.config import DataSection, NetworkSection, SLRunConfig, ValueRunConfig
from agents.alphago.mcts import MCTSOptions, MCTSPlayer, make_mcts_player
from agents.alphago.nets import build_policy_net, build_value_net
from games.go.board import BLACK, Position, Rules
from games.go.features import encode_games, encode_position
from games.go.game import Game
from rlengine.config import ConfigError, load_config, to_toml
from rlengine.runtime import CheckpointError, save_checkpoint

REPO = Path(__file__).resolve().parents[2]
SMALL_NET = {"kind": "cnn", "encoder": "alphago48", "filters": 8, "layers": 2}


def _policy(path: Path, size: int, *, seed: int = 0, ramp: float = 0.0) -> Path:
    """A random-init policy checkpoint; ``ramp`` != 0 plants a strong preference: logit = ramp * point index."""
    cfg = SLRunConfig(data=DataSection(board_size=size), network=NetworkSection(**SMALL_NET))
    torch.manual_seed(seed)
    net = build_policy_net(cfg.network, size)
    if ramp:
        with torch.no_grad():
            net.out.weight.zero_()
            net.point_bias.copy_(ramp * torch.arange(size * size, dtype=torch.float32))
    return save_policy(cfg, net, path)


def _config(tmp_path: Path, size: int = 5, **sections) -> ValueRunConfig:
    data = {"run": {"agent": "alphago_value", "name": "t", "device": "cpu"},
            "game": {"board_size": size},
            "data": {"dir": str(tmp_path / "data"), "sl": str(tmp_path / "sl"), "rl": str(tmp_path / "rl"),
                     "games": 40, "u_max": 12, "test_fraction": 0.25},
            "network": {"kind": "cnn", "filters": 16, "layers": 3, "hidden": 32},
            "train": {"total_steps": 20, "batch_size": 32, "warmup_steps": 0, "log_every": 10},
            "eval": {"every_steps": 10, "positions": 256},
            "checkpoint": {"every_steps": 10},
            "runtime": {"backend": "local", "num_actors": 1, "games_per_task": 8}}
    for key, values in sections.items():
        data[key] = {**data.get(key, {}), **values}
    return load_config(ValueRunConfig, data=data)


def _shards(folder: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(folder.glob("task-*.npz")):
        with np.load(p) as z:
            out[p.name] = {k: z[k] for k in z.files}
    return out


def _sensible(position: Position) -> np.ndarray:
    from games.go import batch as go_batch

    return np.flatnonzero(go_batch.sensible_mask(position)[:-1])


def test_value_data_recipe(tmp_path):
    """SL moves to U-1, a random move U, RL moves after; one position per game, after move U; z from the side
    to move; no game on both sides of the split; a resumed generation equals an uninterrupted one."""
    size = 5
    # planted policies: the SL policy plays the lowest sensible point, the RL policy the highest
    _policy(tmp_path / "sl", size, ramp=-40.0)
    _policy(tmp_path / "rl", size, ramp=40.0)
    cfg = _config(tmp_path)
    first = vd.generate(cfg, progress=False, stop_after=2)
    assert first["new_tasks"] == 2 and len(list((tmp_path / "data").glob("task-*.npz"))) == 2
    second = vd.generate(cfg, progress=False)  # resumes: only the missing tasks
    assert second["new_tasks"] == 3 and second["games"] == 40
    whole = _config(tmp_path, data={"dir": str(tmp_path / "whole")})
    vd.generate(whole, progress=False)
    a, b = _shards(tmp_path / "data"), _shards(tmp_path / "whole")
    assert a.keys() == b.keys()
    for name in a:
        for key in a[name]:
            assert np.array_equal(a[name][key], b[name][key]), (name, key)

    data = vd.load_value_data(tmp_path / "data", test_fraction=0.25, size=size)
    assert data.num_games == 40
    offsets, stream = data.stream.game_offsets, data.stream
    rules = Rules(size, 7.5)
    u_seen = set()
    at_u = {"sl": 0, "rl": 0}  # games whose move U is what the SL / RL policy would have played there
    for g in range(data.num_games):
        u = int(data.u[g])
        assert 1 <= u <= 12
        u_seen.add(u)
        game = Game(rules, cleanup=False)
        for ply, point in enumerate(stream.points[offsets[g]:offsets[g + 1]]):
            sensible = _sensible(game.position)
            if ply < u - 1 and sensible.size:
                assert point == sensible.min(), (g, ply)  # the SL policy
            elif ply >= u and sensible.size:
                assert point == sensible.max(), (g, ply)  # the RL policy
            elif ply == u - 1:
                assert game.position.is_legal(int(point)) and point != size * size  # the random move
                at_u["sl"] += bool(sensible.size) and point == sensible.min()
                at_u["rl"] += bool(sensible.size) and point == sensible.max()
            if ply == u:
                kept = encode_position(game.position, "alphago49")
            game.play(int(point))
        assert bool(data.short[g]) == (game.num_moves <= u)
        if not data.short[g]:
            ev = np.array([offsets[g] + u])
            planes = encode_games(stream.points, stream.colors, offsets, np.array([g]), ev, np.zeros(1, np.int64),
                                  "alphago49", size)
            assert np.array_equal(planes[0], kept)  # replayable from (game, ply)
    assert len(u_seen) > 5
    random_moves = [stream.points[offsets[g] + data.u[g] - 1] for g in range(40)]
    assert len(set(random_moves)) > 5  # not the planted policies' choices
    # uniform over at least 14 legal points: either policy's choice about 1 game in 14 (~3 of 40), not every game
    assert at_u["sl"] <= 8 and at_u["rl"] <= 8, at_u

    train = vd.value_samples(data, "train")
    test = vd.value_samples(data, "test")
    games = np.concatenate([train[1], test[1]])
    assert len(games) == len(np.unique(games)) == int((~data.short).sum())  # exactly one position per game
    assert not set(train[1]) & set(test[1]) and len(test[1]) > 0
    assert not set(data.game_seed[train[1]]) & set(data.game_seed[test[1]])
    for events, gs, z in (train, test):
        assert np.array_equal(events - offsets[gs], data.u[gs])  # the position after move U
        black_to_move = data.u[gs] % 2 == 0
        assert np.array_equal(stream.colors[events] == BLACK, black_to_move)
        assert np.array_equal(z, np.sign(data.score[gs]) * np.where(black_to_move, 1, -1))
    every = vd.value_samples(data, "train", "all")
    assert len(every[0]) == int(sum(offsets[g + 1] - offsets[g] for g in np.unique(train[1])))

    changed = _config(tmp_path, data={"u_max": 13})
    with pytest.raises(ConfigError, match="u_max"):
        vd.generate(changed, progress=False)


def _shuffle_training_scores(folder: Path, test_fraction: float, seed: int) -> None:
    """Permute the scores of the training games across those games (the test games keep theirs)."""
    rng = np.random.default_rng(seed)
    for p in sorted(folder.glob("task-*.npz")):
        with np.load(p) as z:
            arrays = {k: z[k] for k in z.files}
        train = ~vd.game_is_test(arrays["game_seed"], test_fraction)
        arrays["score"][train] = rng.permutation(arrays["score"][train])
        np.savez(p, **arrays)


def test_value_net_learns_and_a_shuffled_control_does_not(tmp_path):
    """5x5 games of two random-init policies: after training, the value net's test MSE is clearly below the
    best constant's; with the training games' results shuffled it is not."""
    size = 5
    _policy(tmp_path / "sl", size, seed=1)
    _policy(tmp_path / "rl", size, seed=2)
    common = dict(data={"games": 3000, "u_max": 30, "test_fraction": 0.2},
                  train={"total_steps": 1500, "batch_size": 64, "lr": 0.01, "warmup_steps": 50,
                         "log_every": 100},
                  eval={"every_steps": 1500, "positions": 2000}, checkpoint={"every_steps": 1500},
                  runtime={"backend": "local", "num_actors": 1, "games_per_task": 250})
    cfg = _config(tmp_path, **common)
    out = value.train(cfg, tmp_path / "run", progress=False)
    assert out["test_samples"] > 400
    assert out["test_mse"] < 0.8 * out["const_test_mse"], out  # measured 0.71 against 1.00

    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for p in (tmp_path / "data").iterdir():
        (shuffled / p.name).write_bytes(p.read_bytes())
    _shuffle_training_scores(shuffled, 0.2, seed=5)
    cfg_s = _config(tmp_path, **{**common, "data": {**common["data"], "dir": str(shuffled)}})
    ctl = value.train(cfg_s, tmp_path / "run-shuffled", progress=False)
    assert ctl["test_mse"] > 0.95 * ctl["const_test_mse"], ctl  # measured 1.00 against 1.00


class _Planted(torch.nn.Module):
    """A planted value network on alphago49 planes: +1 when the player to move has a stone on ``point``, -1
    when the opponent has, 0 otherwise."""

    def __init__(self, point: int, size: int):
        super().__init__()
        self.r, self.c = divmod(point, size)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        x = planes.float()
        return x[:, 0, self.r, self.c] - x[:, 1, self.r, self.c]


def test_search_uses_the_value_network_at_lambda_0_and_not_at_1(tmp_path):
    size, corner = 5, 0
    _policy(tmp_path / "p", size, seed=4)
    pos = Position.empty(Rules(size, 7.5))

    def play(lam, value_net):
        player = MCTSPlayer(tmp_path / "p", MCTSOptions(sims=300, lam=lam, resign=0.0), seed=3,
                            value_net=value_net, value_encoder="alphago49" if value_net is not None else None)
        player.reset(pos.rules)
        move = player.genmove(pos, BLACK)
        return move, player

    move0, p0 = play(0.0, _Planted(corner, size))
    assert move0 == corner and p0.evaluator.value_positions > 0
    move1, p1 = play(1.0, _Planted(corner, size))
    plain, pp = play(1.0, None)
    assert move1 == plain != corner
    assert p1.evaluator.value_positions == 0
    assert np.array_equal(p1.forest.children(0)[1], pp.forest.children(0)[1])  # the same visits: v unused
    analysis = p0.analyze(pos, BLACK, visits=100)
    assert analysis.moves[0].move == corner and analysis.moves[0].winrate > 0.9  # win rates are the mixed values


def _value_checkpoint(tmp_path: Path, size: int, *, name: str = "v", encoder_in_config: str | None = None) -> Path:
    cfg = _config(tmp_path, size=size)
    net = build_value_net(cfg.network, size)
    if encoder_in_config is not None:
        cfg = _config(tmp_path, size=size, network={"encoder": encoder_in_config})
    return save_checkpoint(tmp_path / name, 0, agent=VALUE_AGENT, tensors=policy_tensors(net, VALUE_PREFIX),
                           optimizer=None, state={}, config_toml=to_toml(cfg))


def test_value_network_bad_input(tmp_path):
    p5 = _policy(tmp_path / "p5", 5)
    v7 = _value_checkpoint(tmp_path, 7, name="v7")
    with pytest.raises(ValueError, match="7x7"):
        make_mcts_player(f"{p5},value={v7}")
    with pytest.raises(CheckpointError, match="not a Go value network"):
        make_mcts_player(f"{p5},value={p5}")
    wrong_planes = _value_checkpoint(tmp_path, 5, name="v-agz", encoder_in_config="agz17")
    with pytest.raises(CheckpointError, match="does not fit this network"):
        make_mcts_player(f"{p5},value={wrong_planes}")
    v5 = _value_checkpoint(tmp_path, 5, name="v5")
    for lam in ("1.5", "-0.1"):
        with pytest.raises(ValueError, match=r"lambda must be in \[0, 1\]"):
            make_mcts_player(f"{p5},value={v5},lambda={lam}")
    with pytest.raises(ValueError, match="lambda = 0.5 mixes in a value network, and there is none"):
        make_mcts_player(f"{p5},lambda=0.5")
    assert make_mcts_player(f"{p5},value={v5}").lam == 0.5  # the default with a value network
    assert make_mcts_player(f"{p5}").lam == 1.0
    from agents.alphago.config import RLSection

    with pytest.raises(ValueError, match="rl.value"):
        RLSection(baseline="value")
    with pytest.raises(ConfigError, match="data.positions"):
        _config(tmp_path, data={"positions": "some"})


def test_value_training_resumes_and_the_cli_evaluates(tmp_path):
    _policy(tmp_path / "sl", 5, seed=1)
    _policy(tmp_path / "rl", 5, seed=2)
    cfg = _config(tmp_path)
    first = value.train(cfg, tmp_path / "run", progress=False, stop_at=10)
    assert first["step"] == 10
    second = value.train(cfg, tmp_path / "run", progress=False)
    assert second["step"] == 20 and (tmp_path / "run" / "metrics.jsonl").exists()
    # the checkpoint records the komi its games were played at; games at another komi are refused by name
    from agents.alphago.checkpoint import value_komi
    from rlengine.runtime import read_state

    assert read_state(tmp_path / "run")["komi"] == 7.5 and value_komi(tmp_path / "run") == 7.5
    with pytest.raises(ConfigError, match=r"game.komi: the games in .* were played at komi 7.5, this config has 6.5"):
        value._load(_config(tmp_path, game={"komi": 6.5}))
    toml = tmp_path / "value.toml"
    toml.write_text(to_toml(cfg))
    gen = subprocess.run([sys.executable, "-m", "rlengine.cli", "gen-value-data", str(toml), "--no-progress",
                          "--set", "data.games=48"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert gen.returncode == 0, gen.stderr
    made = json.loads(gen.stdout.strip().splitlines()[-1])
    assert made["games"] == 48 and made["new_tasks"] == 1  # more games: only the new task is played
    typo = subprocess.run([sys.executable, "-m", "rlengine.cli", "gen-value-data", str(toml), "--set",
                           "data.u_maks=3"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert typo.returncode != 0 and "u_maks" in typo.stderr
    out = subprocess.run([sys.executable, "-m", "rlengine.cli", "eval", str(tmp_path / "run"), "--data",
                          str(tmp_path / "data")], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["games"] == 48 and 0 <= res["train_mse"] <= 4 and 0 <= res["test_mse"] <= 4
    assert res["one"]["test_positions"] > 0 and res["all"]["train_positions"] > res["one"]["train_positions"]


def test_rl_uses_the_value_network_as_its_baseline(tmp_path):
    """rl.baseline = "value": the advantage of each learner move is z - v(s_t), with v from rl.value."""
    from agents.alphago import rl
    from agents.alphago.config import RLRunConfig

    _policy(tmp_path / "sl", 5, seed=1)
    v5 = _value_checkpoint(tmp_path, 5, name="v5")
    data = {"run": {"agent": "alphago_rl", "name": "t", "device": "cpu"}, "game": {"board_size": 5},
            "network": SMALL_NET,
            "rl": {"init": str(tmp_path / "sl"), "iterations": 2, "games_per_iteration": 8, "pool_every": 5,
                   "baseline": "value", "value": str(v5)},
            "runtime": {"backend": "local", "num_actors": 1, "games_per_task": 8}}
    out = rl.train(load_config(RLRunConfig, data=data), tmp_path / "run", progress=False)
    assert out["iteration"] == 2
    # the logged baseline is the value network's mean over the learner's positions, not the mean z
    vcfg, vnet, _ = load_value(v5, device="cpu")
    with np.load(sorted((tmp_path / "run" / "games").glob("shard-000002-*.npz"))[0]) as z:
        games = {k: z[k] for k in z.files}
    events, game_of, _ = rl.learner_samples(games, 5)
    planes = encode_games(games["points"], games["colors"], games["offsets"], game_of, events,
                          np.zeros(len(events), np.int64), vcfg.network.encoder, 5)
    with torch.no_grad():
        expected = float(vnet(torch.from_numpy(planes)).mean())
    assert out["baseline"] == pytest.approx(expected, abs=1e-5)
    bad = {**data, "rl": {**data["rl"], "value": str(tmp_path / "sl")}}
    with pytest.raises(ConfigError, match="rl.value.*not a Go value network"):
        rl.train(load_config(RLRunConfig, data=bad), tmp_path / "run-bad", progress=False)


def test_value_data_reads_runtime_address_and_address_overrides_it(tmp_path):
    """runtime.address joins that cluster (nothing listens there here: a clear error naming it); the
    ``address`` argument (the CLI's --address) overrides it."""
    _policy(tmp_path / "sl", 5)
    _policy(tmp_path / "rl", 5)
    cfg = _config(tmp_path, runtime={"backend": "ray", "address": "127.0.0.1:1"})
    with pytest.raises(ValueError, match=r"127\.0\.0\.1:1: nothing is listening"):
        vd.generate(cfg, progress=False)
    with pytest.raises(ValueError, match=r"127\.0\.0\.1:2: nothing is listening"):
        vd.generate(cfg, progress=False, address="127.0.0.1:2")
