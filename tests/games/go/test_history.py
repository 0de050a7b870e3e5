"""A position carries its own recent history: in-place and immutable play encode identically.

The encoders' history (turns since each stone was played, AlphaGo Zero's past boards) and the
rollout policy's last two moves must not depend on the parent chain, which ``play(inplace=True)``
drops.  Each check plays the same moves on two boards, one immutably and one in place.
"""

import numpy as np
import pytest

from games.go import BLACK, WHITE, Position, Rules, _core, coords
from games.go import batch as GB
from games.go.features import ENCODERS, encode_position
from games.go.rollout import OFF_SELF_ATARI, RolloutPolicy, _last_moves, num_features


def at(v: str, size: int) -> int:
    return coords.from_gtp(v, size)


def assert_same_inputs(slow: Position, fast: Position, policy: RolloutPolicy | None = None, *, symmetries=range(8)):
    assert np.array_equal(slow.stones(), fast.stones()) and slow.to_move == fast.to_move
    assert slow.move_number == fast.move_number
    for enc in ENCODERS:
        for k in symmetries:
            a = encode_position(slow, enc, symmetry=k)
            b = encode_position(fast, enc, symmetry=k)
            assert np.array_equal(a, b), (enc, k, sorted({int(i) for i in np.argwhere(a != b)[:, 0]}))
    assert _last_moves(slow) == _last_moves(fast)
    if policy is not None:
        assert np.array_equal(policy.move_probs(slow), policy.move_probs(fast))


def random_policy(size: int, seed: int = 0) -> RolloutPolicy:
    w = np.random.default_rng(seed).normal(0, 1, num_features()).astype(np.float32)
    w[OFF_SELF_ATARI] = -1.0
    return RolloutPolicy(w, size)


def test_e5_c3_g7_d4_in_place_encodes_like_immutable():
    slow = Position.empty(Rules(size=9))
    fast = Position.empty(Rules(size=9))
    for v in ("E5", "C3", "G7", "D4"):
        slow = slow.play(at(v, 9))
        same = fast.play(at(v, 9), inplace=True)
        assert same is fast
    assert fast.parent is None and slow.parent is not None
    assert_same_inputs(slow, fast, random_policy(9))
    x = encode_position(fast, "alphago48")
    ages = {v: [k for k in range(8) if x[4 + k].reshape(-1)[at(v, 9)]] for v in ("E5", "C3", "G7", "D4")}
    assert ages == {"E5": [3], "C3": [2], "G7": [1], "D4": [0]}  # turns since: 4, 3, 2, 1
    z = encode_position(fast, "agz17").reshape(17, -1)  # black to move: own = black; plane j = j moves ago
    assert z[0, at("G7", 9)] and z[1, at("G7", 9)] and not z[2, at("G7", 9)]
    assert z[8, at("D4", 9)] and not z[9, at("D4", 9)]
    assert z[3, at("E5", 9)] and not z[4, at("E5", 9)] and not z[7, at("E5", 9)]
    assert z[16].all()
    assert _last_moves(fast) == (at("D4", 9), at("G7", 9))


def _random_lines(size: int, num_moves: int, seed: int, pass_prob: float, *, want_all: bool = True, **rules):
    """The same random game (captures, passes, ko) played immutably and in place, step by step."""
    rng = _core.seed_rng(seed)
    gen = np.random.default_rng(seed)
    slow = Position.empty(Rules(size=size, **rules))
    fast = Position.empty(Rules(size=size, **rules))
    seen = {"ko": 0, "captures": 0, "passes": 0}
    for i in range(num_moves):
        mv = slow.random_move(rng)
        if slow.passes == 0 and gen.random() < pass_prob:
            mv = slow.pass_move
        elif mv == slow.pass_move and slow.passes == 1:
            break
        slow = slow.play(mv)
        assert fast.play(mv, inplace=True) is fast
        seen["ko"] += slow.ko_point is not None
        seen["passes"] += mv == slow.pass_move
        yield i, slow, fast
    seen["captures"] = slow.captures[BLACK] + slow.captures[WHITE]
    assert not want_all or min(seen.values()) > 0, seen  # the game had captures, ko and passes


@pytest.mark.parametrize("size,num_moves,every,seed", [(9, 243, 1, 9), (19, 700, 37, 3)])
def test_random_games_in_place_encode_like_immutable(size, num_moves, every, seed):
    policy = random_policy(size, seed)
    for i, slow, fast in _random_lines(size, num_moves, seed, pass_prob=0.05):
        if i % every == 0 or i < 12:
            assert_same_inputs(slow, fast, policy, symmetries=range(8) if i % 5 == 0 else (i % 8,))
    assert_same_inputs(slow, fast, policy)


def test_setup_inside_a_game_in_place_and_immutable():
    """Setup (SGF AB/AW/AE, PL) is not a move: it keeps the history, and its stones count as old."""
    rng = _core.seed_rng(11)
    slow = Position.empty(Rules(size=9))
    fast = Position.empty(Rules(size=9))
    for _ in range(10):
        mv = slow.random_move(rng)
        slow, _ = slow.play(mv), fast.play(mv, inplace=True)
    empty = [p for p in range(81) if slow.color_at(p) != 0][:2]
    slow = slow.with_setup(black=[0, 1], white=[80], empty=empty).with_to_move(WHITE)
    fast = fast.with_setup(black=[0, 1], white=[80], empty=empty).with_to_move(WHITE)
    assert_same_inputs(slow, fast)
    x = encode_position(fast, "alphago48")
    assert x[11].reshape(-1)[0] and x[11].reshape(-1)[80]  # setup stones: >= 8 turns
    if fast.color_at(mv) != 0 and mv not in empty:
        assert x[4].reshape(-1)[mv]  # the last move before the setup: 1 turn ago (setup is no move)
    assert fast.last_move is None and _last_moves(fast) == (-1, -1)
    for _ in range(9):
        mv = slow.random_move(rng)
        slow = slow.play(mv)
        fast.play(mv, inplace=True)
        assert_same_inputs(slow, fast, symmetries=(0, 5))
    copy = fast.copy()
    fast.play(fast.random_move(rng), inplace=True)  # the copy keeps its own history
    assert_same_inputs(slow, copy, symmetries=(0,))


def test_handicap_setup_then_in_place_moves():
    pts = [at(v, 9) for v in ("C3", "G7", "C7")]
    slow = Position.empty(Rules(size=9, komi=0.5)).with_setup(black=pts).with_to_move(WHITE)
    fast = slow.copy()
    for v in ("E5", "D5", "E4", "E6"):
        slow = slow.play(at(v, 9))
        fast.play(at(v, 9), inplace=True)
        assert_same_inputs(slow, fast, symmetries=(0, 3))
    x = encode_position(fast, "alphago48")
    assert all(x[11].reshape(-1)[p] for p in pts)


@pytest.mark.parametrize("size,num_moves", [(9, 70), (19, 150)])
def test_batch_leaves_of_an_in_place_root_match_the_immutable_position(size, num_moves):
    lines = list(_random_lines(size, num_moves, seed=size, pass_prob=0.03, want_all=False))
    _, slow, fast = lines[-1]
    fast_root = fast.copy()  # played in place all along (no parent), like the loops of match and selfplay
    assert fast_root.parent is None
    gen = np.random.default_rng(size)
    rng = _core.seed_rng(size + 1)
    num_leaves, depth = 24, 10
    depths = gen.integers(0, depth + 1, num_leaves).astype(np.int32)
    paths = np.full((num_leaves, depth), -1, np.int32)
    leaf_positions = []
    for b in range(num_leaves):
        pos = slow
        for i in range(depths[b]):
            mv = pos.random_move(rng)
            paths[b, i] = mv
            pos = pos.play(mv)
        leaf_positions.append(pos)
    tree_of = np.zeros(num_leaves, np.int64)
    roots = GB.Roots.from_positions([fast_root])
    leaves = GB.play_paths(roots, tree_of, paths, depths)
    for b, pos in enumerate(leaf_positions):
        assert (int(leaves.last[b]), int(leaves.last2[b])) == _last_moves(pos), b
    for enc in ENCODERS:
        planes = GB.encode_leaves(roots, tree_of, paths, depths, enc)
        _, planes2 = GB.play_and_encode(roots, tree_of, paths, depths, enc)
        assert np.array_equal(planes, planes2)
        for b, pos in enumerate(leaf_positions):
            assert np.array_equal(planes[b], encode_position(pos, enc)), (enc, b)
