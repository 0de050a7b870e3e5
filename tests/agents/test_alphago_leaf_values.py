"""The value network inside the search: the leaf mix V = (1 - lambda) v + lambda z with exact numbers, the
evaluator's cache of v (a cached v equals a fresh one), and the komi a value network was trained at."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.alphago.checkpoint import VALUE_AGENT, VALUE_PREFIX, policy_tensors, save_policy, value_komi
from agents.alphago.config import DataSection, NetworkSection, SLRunConfig, ValueNetworkSection, ValueRunConfig
from agents.alphago.mcts import (GoEvaluator, KomiError, MCTSOptions, MCTSPlayer, make_mcts_player, net_function,
                                 value_function)
from agents.alphago.nets import build_policy_net, build_value_net
from games.go.board import BLACK, WHITE, Position, Rules
from rlengine.config import load_config, to_toml
from rlengine.runtime import save_checkpoint
from rlengine.search import NO_NODE, NOT_EXPANDED

CPU = torch.device("cpu")
SMALL_POLICY = NetworkSection(kind="cnn", encoder="alphago48", filters=8, layers=2)
SMALL_VALUE = ValueNetworkSection(kind="cnn", encoder="alphago49", filters=8, layers=2, hidden=16)

# Black owns the whole 5x5 board with two single-point eyes: nobody has a sensible move (white's are
# suicide, black's fill its own eyes), so every rollout passes twice at once and Black wins by 25 - 7.5
SETTLED = """
X X X X X
X . X X X
X X X X X
X X X . X
X X X X X
"""


def _policy_fn(size: int, seed: int = 0):
    torch.manual_seed(seed)
    return net_function(build_policy_net(SMALL_POLICY, size).eval(), CPU)


def _constant_value_net(size: int, c: float) -> torch.nn.Module:
    """A real ValueCNN whose output is ``c`` for every position: the last layer's weights zeroed and its bias
    set to atanh(c), so tanh gives back c."""
    net = build_value_net(SMALL_VALUE, size).eval()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.fill_(math.atanh(c))
    return net


def _evaluator(lam: float, c: float, **kw) -> GoEvaluator:
    return GoEvaluator(size=5, encoder="alphago48", net_fn=_policy_fn(5), lam=lam, seed=0,
                       value_fn=value_function(_constant_value_net(5, c), CPU), value_encoder="alphago49", **kw)


def _settled_leaves(ev: GoEvaluator, rules: Rules = Rules(5, 7.5)):
    """(values, terminal) of two leaves of the settled board: the root (Black to move) and after a pass
    (White to move)."""
    ev.set_roots([Position.from_ascii(SETTLED, rules, to_move=BLACK)])
    paths = np.array([[0], [25]], np.int32)  # 25: pass on 5x5
    res = ev(np.zeros(2, np.int64), paths, np.array([0, 1], np.int32), np.zeros(2, bool))
    return res.values, res.terminal


def test_the_rollouts_of_the_settled_board_are_forced():
    for seed in range(5):
        ev = GoEvaluator(size=5, encoder="alphago48", net_fn=_policy_fn(5), lam=1.0, seed=seed)
        values, terminal = _settled_leaves(ev)
        assert values.tolist() == [1.0, -1.0] and not terminal.any()  # z: Black to move wins, White loses


@pytest.mark.parametrize("lam", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_leaf_value_mixes_v_and_z_with_the_right_weights(lam):
    """v = -0.6 (the value network, for the player to move), z = +1 for Black to move and -1 for White (the
    forced rollout).  At lambda 0.25 the mix is 0.75 * -0.6 + 0.25 * 1 = -0.2 for Black; the weights swapped
    would give 0.25 * -0.6 + 0.75 * 1 = 0.6."""
    c = -0.6
    values, _ = _settled_leaves(_evaluator(lam, c))
    expected = [(1 - lam) * c + lam * 1.0, (1 - lam) * c + lam * -1.0]
    assert values == pytest.approx(expected, abs=1e-6)
    if lam == 0.25:
        assert values == pytest.approx([-0.2, -0.7], abs=1e-6)


def test_a_cached_v_equals_a_fresh_one():
    torch.manual_seed(1)
    vnet = build_value_net(SMALL_VALUE, 5).eval()
    with torch.no_grad():
        vnet.head.weight.normal_(std=2.0)  # v spread over (-1, 1), not near 0
    vfn = value_function(vnet, CPU)

    def evaluator():
        return GoEvaluator(size=5, encoder="alphago48", net_fn=_policy_fn(5), lam=0.0, seed=0, value_fn=vfn,
                           value_encoder="alphago49")

    pos = Position.empty(Rules(5, 7.5))
    paths = np.array([[0, 0], [6, 12], [24, 0]], np.int32)
    depths = np.array([0, 2, 1], np.int32)
    ev = evaluator()
    ev.set_roots([pos])
    fresh = ev(np.zeros(3, np.int64), paths, depths, np.zeros(3, bool)).values.copy()
    assert ev.value_positions == 3 and np.abs(fresh).max() > 0.05
    again = ev(np.zeros(3, np.int64), paths, depths, np.zeros(3, bool)).values
    assert ev.value_positions == 3  # all three were cache hits
    assert again == pytest.approx(fresh, abs=1e-6)


def test_player_at_expand_3_backs_up_cached_values_equal_to_fresh_ones(tmp_path):
    """expand=3: a leaf is valued on its first two visits before it is expanded; the second value comes from
    the evaluator's cache.  With lambda = 0 (v alone) each such child's mean must be exactly -v(child)."""
    cfg = SLRunConfig(data=DataSection(board_size=5), network=SMALL_POLICY)
    torch.manual_seed(0)
    ckpt = save_policy(cfg, build_policy_net(cfg.network, 5), tmp_path / "p")
    torch.manual_seed(2)
    vnet = build_value_net(SMALL_VALUE, 5).eval()
    with torch.no_grad():
        vnet.head.weight.normal_(std=2.0)
    player = MCTSPlayer(ckpt, MCTSOptions(sims=150, lam=0.0, expand=3, batch=4, resign=0.0), seed=0,
                        value_net=vnet, value_encoder="alphago49", value_komi=7.5)
    pos = Position.empty(Rules(5, 7.5))
    player.reset(pos.rules)
    player.genmove(pos, BLACK)
    f, ev = player.forest, player.evaluator
    assert ev.value_positions < f.root_visits(0)  # some values came from the cache
    checked = 0
    fresh = GoEvaluator(size=5, encoder="alphago48", net_fn=_policy_fn(5), lam=0.0, seed=0,
                        value_fn=value_function(vnet, CPU), value_encoder="alphago49")
    fresh.set_roots([pos])
    for n in range(int(f.used[0])):  # every node of the tree valued at least twice but never expanded
        if f.visits[n] < 2 or f.first_child[n] != NOT_EXPANDED or f.terminal[n]:
            continue
        path, m = [], n
        while f.parent[m] != NO_NODE:
            path.append(int(f.action[m]))
            m = int(f.parent[m])
        path = path[::-1]
        v = fresh(np.zeros(1, np.int64), np.array([path], np.int32), np.array([len(path)], np.int32),
                  np.zeros(1, bool)).values[0]
        # W of a node is for the player who moved into it: every visit added -v
        assert f.value_sum[n] / f.visits[n] == pytest.approx(-v, abs=1e-5), path
        checked += 1
    assert checked >= 3, checked


# ---- komi ------------------------------------------------------------------------------------------------


def _value_checkpoint(folder: Path, *, komi: float | None, in_state: bool = False) -> Path:
    """A 5x5 value checkpoint whose config says game.komi = ``komi`` (None: no [game] komi line); with
    ``in_state`` the komi is also in state.json, as value.train now writes it."""
    cfg = load_config(ValueRunConfig, data={"game": {"board_size": 5, "komi": 7.5 if komi is None else komi},
                                            "network": {"filters": 8, "layers": 2, "hidden": 16}})
    net = build_value_net(cfg.network, 5)
    text = to_toml(cfg)
    if komi is None:
        text = "\n".join(line for line in text.splitlines() if not line.startswith("komi"))
    state = {"board_size": 5, "encoder": "alphago49", **({"komi": komi} if in_state else {})}
    return save_checkpoint(folder, 0, agent=VALUE_AGENT, tensors=policy_tensors(net, VALUE_PREFIX), optimizer=None,
                           state=state, config_toml=text)


def test_the_komi_of_a_value_checkpoint(tmp_path):
    assert value_komi(_value_checkpoint(tmp_path / "a", komi=6.5)) == 6.5
    assert value_komi(_value_checkpoint(tmp_path / "b", komi=6.5, in_state=True)) == 6.5
    assert value_komi(_value_checkpoint(tmp_path / "c", komi=None)) is None
    assert value_komi("go9-value") == 7.5  # the shipped network: its config says 7.5


def _policy_ckpt(tmp_path: Path) -> Path:
    cfg = SLRunConfig(data=DataSection(board_size=5), network=SMALL_POLICY)
    return save_policy(cfg, build_policy_net(cfg.network, 5), tmp_path / "p")


def test_a_value_network_is_refused_at_another_komi(tmp_path):
    p = _policy_ckpt(tmp_path)
    v65 = _value_checkpoint(tmp_path / "v65", komi=6.5, in_state=True)
    player = make_mcts_player(f"{p},value={v65},sims=8", seed=0)
    assert player.value_komi == 6.5
    player.reset(Rules(5, 6.5))  # its own komi: fine
    assert player.genmove(Position.empty(Rules(5, 6.5)), BLACK) is not None
    with pytest.raises(KomiError, match=r"trained at komi 6\.5, this game has komi 7\.5"):
        player.reset(Rules(5, 7.5))
    with pytest.raises(KomiError, match=r"komi 6\.5.*komi 7\.5"):  # a search at another komi, without a reset
        player.genmove(Position.empty(Rules(5, 7.5)), WHITE)
    assert isinstance(KomiError("x"), ValueError)
    # lambda = 1 never asks the value network: any komi will do
    rollouts_only = make_mcts_player(f"{p},value={v65},lambda=1,sims=4", seed=0)
    rollouts_only.reset(Rules(5, 7.5))
    assert rollouts_only.genmove(Position.empty(Rules(5, 7.5)), BLACK) is not None
    unknown = _value_checkpoint(tmp_path / "v-unknown", komi=None)
    with pytest.raises(ValueError, match="records no komi"):
        make_mcts_player(f"{p},value={unknown}", seed=0)


def test_the_evaluator_refuses_roots_at_another_komi():
    ev = _evaluator(0.5, 0.1, value_komi=6.5)
    with pytest.raises(KomiError, match=r"trained at komi 6\.5, this game has komi 7\.5"):
        _settled_leaves(ev)
    values, _ = _settled_leaves(ev, Rules(5, 6.5))
    assert values[0] == pytest.approx(0.5 * 0.1 + 0.5, abs=1e-6)


def test_gtp_komi_command_is_answered_with_the_refusal(tmp_path):
    p = _policy_ckpt(tmp_path)
    v = _value_checkpoint(tmp_path / "v", komi=7.5, in_state=True)
    commands = "boardsize 5\nclear_board\nkomi 6.5\nclear_board\nkomi 7.5\nclear_board\ngenmove b\nquit\n"
    out = subprocess.run([sys.executable, "-m", "rlengine.cli", "gtp", "--player", f"mcts:{p},value={v},sims=8",
                          "--size", "5"], input=commands, capture_output=True, text=True, timeout=300)
    answers = [a for a in out.stdout.split("\n\n") if a.strip()]
    assert answers[0] == "=" and answers[1] == "="
    refusals = [a for a in answers if a.startswith("?")]
    assert refusals and "trained at komi 7.5, this game has komi 6.5" in refusals[0], out.stdout
    assert answers[-2].startswith("= ") and answers[-1] == "="  # back at 7.5 it plays


def test_match_refuses_a_value_network_at_another_komi_with_an_error_line(tmp_path):
    """The refusal reaches `rlengine match` as its one error line, before any game is played or voided."""
    p = _policy_ckpt(tmp_path)
    v = _value_checkpoint(tmp_path / "v", komi=7.5, in_state=True)
    out = subprocess.run([sys.executable, "-m", "rlengine.cli", "match", "--black", f"mcts:{p},value={v},sims=4",
                          "--white", "random", "--games", "2", "--size", "5", "--komi", "6.5", "--seed", "0",
                          "--no-progress", "--out", str(tmp_path / "m")], capture_output=True, text=True, timeout=300)
    assert out.returncode != 0, out.stdout
    assert "rlengine: error:" in out.stderr and "trained at komi 7.5, this game has komi 6.5" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "voided" not in out.stderr  # refused before any game
    assert not list((tmp_path / "m").glob("**/*.sgf"))


def test_tournament_refuses_a_value_network_at_another_komi_with_an_error_line(tmp_path):
    p = _policy_ckpt(tmp_path)
    v = _value_checkpoint(tmp_path / "v", komi=7.5, in_state=True)
    out = subprocess.run([sys.executable, "-m", "rlengine.cli", "tournament", "--name", "t", "--player",
                          f"s=mcts:{p},value={v},sims=4", "--player", "random", "--games", "1", "--size", "5",
                          "--komi", "6.5", "--seed", "0", "--no-progress", "--out", str(tmp_path / "t")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0, out.stdout
    assert "rlengine: error:" in out.stderr and "trained at komi 7.5, this game has komi 6.5" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "voided" not in out.stderr  # refused before any game
