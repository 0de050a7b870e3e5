"""Batched MCTS self-play (issue 11): one move cap shared by the games and the tree, root noise on by
default with alpha scaled to the board, and games kept in the one game loop's ``Game``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.alphago.mcts import net_function
from agents.alphago.nets import PolicyValueResNet
from agents.alphago.selfplay import MCTSSelfPlay
from games.go import batch as go_batch
from games.go.board import Rules
from rlengine.search import SearchConfig

RULES5 = Rules(size=5, komi=0.5)


def selfplay(**kwargs) -> MCTSSelfPlay:
    torch.manual_seed(0)
    net = PolicyValueResNet(17, 5, filters=8, blocks=1).eval()
    fn = net_function(net, torch.device("cpu"))
    return MCTSSelfPlay(fn, encoder="agz17", rules=RULES5, num_games=3, sims=12,
                        config=SearchConfig(leaves_per_tree=4), lam=0.0, seed=0, **kwargs)


def tree_says_terminal(final, move_cap: int) -> bool:
    """Whether the tree (a root built as the evaluator builds it) treats ``final`` as the end of the game."""
    roots = go_batch.Roots.from_positions([final], move_cap=move_cap)
    leaves = go_batch.play_paths(roots, np.zeros(1, np.int64), np.zeros((1, 1), np.int32), np.zeros(1, np.int32))
    return bool(leaves.terminal[0])


def test_games_stop_at_the_cap_the_tree_uses_and_never_before():
    sp = selfplay(max_moves=12)
    records = []
    for _ in range(30):
        records += sp.play_move()
        assert sp.evaluator.roots.move_cap == 12  # the tree's cap is the games' cap
    assert len(records) >= 3
    capped = 0
    for rec in records:
        final = list(rec.replay())[-1]
        assert rec.num_moves <= 12
        assert tree_says_terminal(final, sp.evaluator.roots.move_cap), \
            f"the game stopped after {rec.num_moves} moves where the tree goes on"
        if final.is_over:  # two passes: scored by Tromp-Taylor, as the tree values it
            assert rec.result == final.result()
        else:
            assert rec.num_moves == 12 and "move cap (12)" in rec.comment
            capped += 1
    assert capped >= 1
    for game in sp.games:  # live games are never past the cap
        assert game.num_moves < 12 and not game.over


def test_default_cap_is_three_n_squared_for_the_games_and_the_tree():
    sp = selfplay()
    sp.play_move()
    assert sp.max_moves == 75 == sp.evaluator.roots.move_cap
    assert all(g.max_moves == 75 for g in sp.games)


def noise_calls(sp: MCTSSelfPlay) -> list[tuple[int, float, float]]:
    """(tree, alpha, epsilon) of every root-noise draw during one play_move."""
    calls = []
    add = sp.forest.add_root_noise

    def spy(t, alpha, epsilon, rng):
        calls.append((int(t), alpha, epsilon))
        return add(t, alpha, epsilon, rng)

    sp.forest.add_root_noise = spy
    sp.play_move()
    return calls


def test_root_noise_is_on_by_default_with_alpha_scaled_to_the_board():
    sp = selfplay()
    assert sp.config.dirichlet_epsilon == 0.25
    assert sp.config.dirichlet_alpha == pytest.approx(0.03 * 361 / 25)
    assert sp.config.leaves_per_tree == 4  # the rest of the given config is kept
    calls = noise_calls(sp)
    assert {t for t, _, _ in calls} == {0, 1, 2}  # every root
    assert all(a == pytest.approx(0.4332) and e == 0.25 for _, a, e in calls)
    off = selfplay(noise=0.0)
    assert off.config.dirichlet_epsilon == 0.0 and not noise_calls(off)
    assert selfplay(noise_alpha=0.5).config.dirichlet_alpha == 0.5


def test_the_mcts_player_uses_the_same_alpha():
    from agents.alphago.mcts import MCTSOptions, MCTSPlayer

    torch.manual_seed(0)
    net = PolicyValueResNet(17, 5, filters=8, blocks=1).eval()
    player = MCTSPlayer("untrained", MCTSOptions(sims=8), net=net, encoder="agz17", board_size=5, seed=0)
    assert player.config.dirichlet_alpha == pytest.approx(selfplay().config.dirichlet_alpha)
