"""Batched leaves for tree search: play_paths / encode_leaves / rollout_leaves against Position."""

import numpy as np
import pytest

from games.go import BLACK, EMPTY, WHITE, Position, Rules, _core, coords
from games.go import batch as GB
from games.go.features import ENCODERS, encode_position
from games.go.rollout import OFF_SELF_ATARI, RolloutPolicy, num_features


def sensible(pos: Position) -> np.ndarray:
    """bool [M+1]: legal moves that do not fill the mover's own single-point eye, pass always."""
    mask = pos.legal_mask().copy()
    geo = pos._geo
    for p in np.flatnonzero(mask[:-1]):
        if _core.is_eye(pos._s, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, p, pos.to_move):
            mask[p] = False
    mask[-1] = True
    return mask


def random_game(size: int, num_moves: int, seed: int, **rules) -> Position:
    rng = _core.seed_rng(seed)
    pos = Position.empty(Rules(size=size, **rules))
    for _ in range(num_moves):
        mv = pos.random_move(rng)
        if mv == pos.pass_move and pos.passes == 1:
            break
        pos = pos.play(mv)
    return pos


def setup_game(seed: int) -> Position:
    """Moves, then setup stones (SGF AB/AW/AE) in the middle of the game, then more moves."""
    gen = np.random.default_rng(seed)
    pos = random_game(9, 12, seed).with_setup(black=[0, 1, 9], white=[80, 79], empty=[40])
    rng = _core.seed_rng(seed + 1)
    for _ in range(int(gen.integers(0, 4))):
        pos = pos.play(pos.random_move(rng))
    return pos


def random_paths(roots: list[Position], num_leaves: int, max_depth: int, seed: int, pass_prob: float = 0.08):
    """Random sensible paths; returns (tree_of, paths, depths, leaf positions)."""
    gen = np.random.default_rng(seed)
    tree_of = gen.integers(0, len(roots), num_leaves).astype(np.int64)
    paths = np.full((num_leaves, max_depth), -1, np.int32)
    depths = gen.integers(0, max_depth + 1, num_leaves).astype(np.int32)
    leaves = []
    for b in range(num_leaves):
        pos = roots[tree_of[b]]
        for i in range(depths[b]):
            mask = sensible(pos)
            mask[-1] = False
            cand = np.flatnonzero(mask)
            mv = pos.pass_move if cand.size == 0 or gen.random() < pass_prob else int(gen.choice(cand))
            paths[b, i] = mv
            pos = pos.play(mv)
        leaves.append(pos)
    return tree_of, paths, depths, leaves


def check_leaves(root_positions, tree_of, paths, depths, leaf_positions, *, encoders=tuple(ENCODERS), move_cap=None):
    roots = GB.Roots.from_positions(root_positions, move_cap=move_cap)
    leaves = GB.play_paths(roots, tree_of, paths, depths)
    m = roots.num_points
    cap = move_cap
    for b, pos in enumerate(leaf_positions):
        assert np.array_equal(leaves.s[b, _core.COLOR], pos._s[_core.COLOR]), b
        for k in (_core.TO_MOVE, _core.KO, _core.PASSES, _core.CAPS_BLACK, _core.CAPS_WHITE, _core.NUM_EMPTY,
                  _core.HASH, _core.NUM_HIST, _core.MOVES):
            assert leaves.g[b, k] == pos._g[k], (b, k)
        n = int(pos._g[_core.NUM_HIST])
        assert np.array_equal(leaves.hist[b, :, :n], pos._hist.arr[:, :n]), b
        assert np.array_equal(leaves.legal[b], sensible(pos)), b
        assert leaves.to_move[b] == pos.to_move
        assert leaves.terminal[b] == (pos.is_over or (cap is not None and pos.move_number >= cap)), b
        assert leaves.score[b] == pos.score(), b
        assert leaves.komi[b] == pos.rules.komi
        seq = [mv for mv in (pos.last_move, pos.parent.last_move if pos.parent is not None else None)]
        want = [-1 if mv is None or mv >= m else mv for mv in seq]
        assert [leaves.last[b], leaves.last2[b]] == want, b
    for enc in encoders:
        planes = GB.encode_leaves(roots, tree_of, paths, depths, enc)
        both, planes2 = GB.play_and_encode(roots, tree_of, paths, depths, enc)
        assert np.array_equal(planes, planes2)
        assert np.array_equal(both.legal, leaves.legal)
        for b, pos in enumerate(leaf_positions):
            assert np.array_equal(planes[b], encode_position(pos, enc)), (enc, b)
    return roots, leaves


@pytest.mark.parametrize("size,num_moves,num_leaves,max_depth", [(9, 40, 48, 12), (19, 160, 16, 6)])
def test_random_games_match_position(size, num_moves, num_leaves, max_depth):
    roots = [random_game(size, num_moves + 7 * i, 10 * size + i) for i in range(3)]
    roots.append(Position.empty(Rules(size=size, komi=0.5, ko="situational")))
    tree_of, paths, depths, leaves = random_paths(roots, num_leaves, max_depth, seed=size)
    assert sum(p.captures[BLACK] + p.captures[WHITE] for p in leaves) > 0  # captures happened
    check_leaves(roots, tree_of, paths, depths, leaves)


def test_setup_stones_ascii_positions_and_mixed_rules():
    ascii_root = Position.from_ascii("""
        . . . . . . . . .
        . X X . . . O O .
        . X . X . O . O .
        . . X . . . O . .
        . . . . . . . . .
        . . . . . . . . .
        . O O O . X X . .
        O X X . O . . X .
        . O X O . . . . .
    """, Rules(size=9, komi=6.5, ko="simple", allow_suicide=True), to_move=WHITE)
    roots = [setup_game(1), setup_game(2), ascii_root, random_game(9, 30, 5, ko="situational", komi=-3.0)]
    tree_of, paths, depths, leaves = random_paths(roots, 40, 10, seed=3)
    check_leaves(roots, tree_of, paths, depths, leaves)


def test_positional_superko_from_the_root_history():
    pos = Position.from_ascii("""
        . . . . . . .
        . . X O . . .
        . X . X O . .
        . . X O . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
    """, Rules(size=7, ko="positional"), to_move=WHITE)
    c5, d5 = coords.from_gtp("C5", 7), coords.from_gtp("D5", 7)
    before = pos  # white to move; white C5 captures D5
    root = before.play(c5)
    assert root.color_at(d5) == EMPTY and root.ko_point == d5
    # after two passes the ko point is gone, but retaking at D5 repeats `before` (in the root's history)
    pas = root.pass_move
    tree_of = np.zeros(3, np.int64)
    paths = np.array([[pas, pas], [pas, pas], [0, 0]], np.int32)
    depths = np.array([2, 0, 0], np.int32)
    leaf = root.play(pas).play(pas)
    leaves = GB.play_paths(GB.Roots.from_positions([root]), tree_of, paths, depths)
    assert not leaves.legal[0, d5] and not leaves.legal[1, d5]
    assert leaf.ko_point is None and not leaf.is_legal(d5)
    simple = Position.from_ascii(pos.to_ascii(coordinates=False), Rules(size=7, ko="simple"), to_move=WHITE)
    simple_leaf = simple.play(c5).play(pas).play(pas)
    assert simple_leaf.is_legal(d5)  # only superko forbids it
    assert leaves.terminal[0] and not leaves.terminal[1]
    check_leaves([root], tree_of, paths, depths, [leaf, leaf.parent.parent, root], encoders=("alphago48",))


def test_move_cap_makes_leaves_terminal():
    root = random_game(9, 20, 7)
    tree_of, paths, depths, leaves = random_paths([root], 12, 4, seed=4, pass_prob=0.0)
    check_leaves([root], tree_of, paths, depths, leaves, encoders=(), move_cap=root.move_number + 2)


def test_empty_batch_and_a_reused_output_buffer():
    pos = random_game(9, 10, 1)
    roots = GB.Roots.from_positions([pos])
    empty = GB.play_paths(roots, np.zeros(0, np.int64), np.zeros((0, 3), np.int32), np.zeros(0, np.int32))
    assert empty.legal.shape == (0, 82) and GB.rollout_leaves(None, empty, 0).shape == (0,)
    assert GB.encode_leaves(roots, [], np.zeros((0, 1)), [], "agz17").shape == (0, 17, 9, 9)
    out = np.full((2, 48, 9, 9), 7, np.uint8)
    got = GB.encode_leaves(roots, [0, 0], [[pos.pass_move], [0]], [1, 0], "alphago48", out=out)
    assert got is out
    assert np.array_equal(out[0], encode_position(pos.play(pos.pass_move), "alphago48"))
    assert np.array_equal(out[1], encode_position(pos, "alphago48"))
    with pytest.raises(ValueError, match="out must be"):
        GB.encode_leaves(roots, [0], [[0]], [0], "agz17", out=out)


def test_bad_batches_raise_clear_errors():
    roots = GB.Roots.from_positions([Position.empty(Rules(size=5))])
    with pytest.raises(ValueError, match="outside 0..25"):
        GB.play_paths(roots, np.zeros(2, np.int64), np.array([[3, 4], [1, 26]], np.int32), np.array([2, 2], np.int32))
    with pytest.raises(ValueError, match="leaf 1: .* occupied"):
        GB.play_paths(roots, np.zeros(2, np.int64), np.array([[3, 4], [7, 7]], np.int32), np.array([2, 2], np.int32))
    with pytest.raises(ValueError, match="tree_of"):
        GB.play_paths(roots, np.ones(1, np.int64), np.zeros((1, 1), np.int32), np.zeros(1, np.int32))
    with pytest.raises(ValueError, match="depths"):
        GB.play_paths(roots, np.zeros(1, np.int64), np.zeros((1, 1), np.int32), np.full(1, 2, np.int32))
    with pytest.raises(ValueError, match="do not fit"):
        GB.play_paths(roots, np.zeros(2, np.int64), np.zeros((1, 1), np.int32), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="7x7"):
        GB.Roots.from_positions([Position.empty(Rules(size=5)), Position.empty(Rules(size=7))])
    with pytest.raises(ValueError, match="unknown encoder"):
        GB.encode_leaves(roots, np.zeros(1, np.int64), np.zeros((1, 1), np.int32), np.zeros(1, np.int32), "nope")


def small_policy(size: int, seed: int = 0) -> RolloutPolicy:
    w = (np.random.default_rng(seed).normal(size=num_features()) * 0.5).astype(np.float32)
    w[OFF_SELF_ATARI] = -1.0
    return RolloutPolicy(w, size)


# black: a living checkerboard (every empty point of it an eye) over six columns; three columns open
WON_FOR_BLACK = """
    X . X . X . . . .
    . X . X . X . . .
    X . X . X . . . .
    . X . X . X . . .
    X . X . X . . . .
    . X . X . X . . .
    X . X . X . . . .
    . X . X . X . . .
    X . X . X . . . .
"""


@pytest.mark.parametrize("use_policy", [False, True])
def test_rollouts_are_seeded_thread_independent_and_see_who_wins(use_policy):
    black = Position.from_ascii(WON_FOR_BLACK, Rules(size=9))
    flipped = "\n".join(line.replace("X", "o").replace("O", "X").replace("o", "O") for line in WON_FOR_BLACK.splitlines())
    white = Position.from_ascii(flipped, Rules(size=9), to_move=WHITE)
    roots = GB.Roots.from_positions([black, white])
    num = 64
    tree_of = np.repeat(np.arange(2, dtype=np.int64), num)
    leaves = GB.play_paths(roots, tree_of, np.zeros((2 * num, 1), np.int32), np.zeros(2 * num, np.int32))
    policy = small_policy(9) if use_policy else None
    one = GB.rollout_leaves(policy, leaves, seed=11, num_threads=1)
    two = GB.rollout_leaves(policy, leaves, seed=11, num_threads=2)
    assert np.array_equal(one, two)
    assert not np.array_equal(one, GB.rollout_leaves(policy, leaves, seed=12))
    assert len(set(one[:num].tolist())) > 1  # the playouts differ from leaf to leaf
    assert one[:num].mean() > 5 and one[num:].mean() < -5
    if use_policy:  # the weights do not depend on the board size
        other = RolloutPolicy(policy.weights, 19)
        assert np.array_equal(GB.rollout_leaves(other, leaves, seed=11), one)
    scores, owner = GB.owner_leaves(policy, leaves, seed=11, num_threads=2)
    assert np.array_equal(scores, one) and owner.shape == (2 * num, 81) and owner.dtype == np.int8
    area = (owner == BLACK).sum(1) - (owner == WHITE).sum(1)
    assert np.array_equal(area - leaves.komi, scores)
    left = owner[:num].reshape(num, 9, 9)[:, :, :5]
    assert (left == BLACK).mean() > 0.6


def test_rollout_from_terminal_leaf_is_its_score():
    root = random_game(9, 200, 3)
    pas = root.pass_move
    roots = GB.Roots.from_positions([root])
    leaves = GB.play_paths(roots, np.zeros(1, np.int64), np.array([[pas, pas]], np.int32), np.array([2], np.int32))
    assert leaves.terminal[0]
    assert GB.rollout_leaves(None, leaves, seed=0)[0] == leaves.score[0]
