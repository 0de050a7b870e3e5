"""Roots of batched search: no move cap unless self-play asks for one, and ``Roots.advance``."""

import numpy as np
import pytest

from games.go import Position, Rules, _core
from games.go import batch as GB


def long_game(size: int, num_moves: int, seed: int) -> Position:
    """A game of ``num_moves`` moves that never ends by two passes (captures refill the board)."""
    rng = _core.seed_rng(seed)
    pos = Position.empty(Rules(size=size))
    while pos.move_number < num_moves or pos.passes or len(pos.legal_moves()) < 2:
        mv = pos.random_move(rng)
        if mv == pos.pass_move and pos.passes == 1:
            mv = next(p for p in pos.legal_moves() if p != pos.pass_move)  # fill an eye rather than end
        pos = pos.play(mv)
    return pos


def test_a_game_longer_than_3nn_moves_is_not_terminal_by_default():
    size = 5
    root = long_game(size, 3 * size * size + 10, seed=2)
    assert root.move_number > 3 * size * size and not root.is_over
    n = 6
    tree_of = np.zeros(n, np.int64)
    paths = np.zeros((n, 2), np.int32)
    depths = np.zeros(n, np.int32)
    pos = root
    for i in range(2):  # leaves at depth 0, 1, 2 along one line
        mv = pos.legal_moves()[0]  # a stone move if there is one, else pass
        paths[:, i] = mv
        pos = pos.play(mv)
    depths[:] = [0, 1, 2, 0, 1, 2]
    roots = GB.Roots.from_positions([root])
    leaves = GB.play_paths(roots, tree_of, paths, depths)
    assert not leaves.terminal.any()
    assert roots.move_cap is None
    assert leaves.legal[0, :-1].any()  # the tree has stone moves to try at the root, not just pass
    # the playouts keep their own cap (3 N N moves of the playout), whatever the game's length
    scores, owner = GB.owner_leaves(None, leaves, seed=1)
    assert np.isfinite(scores).all() and (owner != 0).any()
    # self-play may still cap its games, counted in the game's moves
    capped = GB.play_paths(GB.Roots.from_positions([root], move_cap=3 * size * size), tree_of, paths, depths)
    assert capped.terminal.all()
    late = GB.play_paths(GB.Roots.from_positions([root], move_cap=root.move_number + 2), tree_of, paths, depths)
    assert late.terminal.tolist() == [False, False, True] * 2


# ---- Roots.advance -------------------------------------------------------------------------


def _same_roots(a: GB.Roots, b: GB.Roots) -> None:
    assert np.array_equal(a.s, b.s)
    assert np.array_equal(a.g, b.g)
    for t in range(len(a)):
        n = int(a.g[t, _core.NUM_HIST])
        assert np.array_equal(a.hist[t, :, :n], b.hist[t, :, :n]), t
    for name in ("komi", "ko_rule", "allow_suicide", "last", "last2", "age", "boards", "trace"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def _same_leaves(a: GB.Roots, b: GB.Roots, positions, seed: int) -> None:
    gen = np.random.default_rng(seed)
    rng = _core.seed_rng(seed)
    nb, depth = 3 * len(positions), 5
    tree_of = gen.integers(0, len(positions), nb).astype(np.int64)
    depths = gen.integers(0, depth + 1, nb).astype(np.int32)
    paths = np.full((nb, depth), -1, np.int32)
    for i in range(nb):
        pos = positions[tree_of[i]]
        for k in range(depths[i]):
            paths[i, k] = mv = pos.random_move(rng)
            pos = pos.play(mv)
    la, lb = GB.play_paths(a, tree_of, paths, depths), GB.play_paths(b, tree_of, paths, depths)
    for name in ("s", "g", "legal", "terminal", "score", "to_move", "last", "last2", "komi"):
        assert np.array_equal(getattr(la, name), getattr(lb, name)), name
    for enc in ("alphago48", "alphago49", "agz17"):
        assert np.array_equal(GB.encode_leaves(a, tree_of, paths, depths, enc),
                              GB.encode_leaves(b, tree_of, paths, depths, enc)), enc


def _start_positions(size: int) -> list[Position]:
    rng = _core.seed_rng(size)
    mid = Position.empty(Rules(size=size, komi=5.5, ko="situational"))
    for _ in range(size * 2):
        mid = mid.play(mid.random_move(rng))
    setup = Position.empty(Rules(size=size, ko="simple", allow_suicide=True)).with_setup(
        black=[0, size + 1], white=[size * size - 1]).with_to_move(2)
    return [Position.empty(Rules(size=size)), mid, setup, mid.play(mid.pass_move)]


def test_advance_matches_positions_played_one_by_one():
    size = 9
    positions = _start_positions(size)
    roots = GB.Roots.from_positions(positions)
    h0 = roots.hist.shape[2]
    rng = _core.seed_rng(3)
    gen = np.random.default_rng(3)
    caps = 0
    for step in range(70):
        moves = np.full(len(positions), -1, np.int64)
        for t, pos in enumerate(positions):
            if gen.random() < 0.1:
                continue  # this root waits (a finished game, say)
            mv = pos.pass_move if gen.random() < 0.05 else pos.random_move(rng)
            moves[t] = mv
            if t % 2:
                positions[t] = pos.play(mv)
            else:
                pos.play(mv, inplace=True)
        roots.advance(moves)
        if step % 10 == 9 or step < 3:
            fresh = GB.Roots.from_positions(positions)
            _same_roots(roots, fresh)
            _same_leaves(roots, fresh, positions, seed=step)
    caps = sum(p.captures[1] + p.captures[2] for p in positions)
    assert caps > 0 and roots.hist.shape[2] > h0  # captures happened; the superko history grew


def test_advance_on_19x19_and_its_errors():
    positions = _start_positions(19)[:2]
    roots = GB.Roots.from_positions(positions)
    rng = _core.seed_rng(1)
    for _ in range(12):
        moves = np.array([pos.random_move(rng) for pos in positions], np.int64)
        positions = [pos.play(int(mv)) for pos, mv in zip(positions, moves)]
        roots.advance(moves)
    fresh = GB.Roots.from_positions(positions)
    _same_roots(roots, fresh)
    _same_leaves(roots, fresh, positions, seed=1)
    occupied = int(np.flatnonzero(positions[1].stones())[0])
    before = roots.s.copy(), roots.g.copy()
    for bad in ([0, occupied], [0, 19 * 19 + 1], [-2, 0]):
        with pytest.raises(ValueError, match="root 1|root 0"):
            roots.advance(np.array(bad, np.int64))
        assert np.array_equal(roots.s, before[0]) and np.array_equal(roots.g, before[1])  # nothing changed
    with pytest.raises(ValueError, match="shape"):
        roots.advance(np.zeros(3, np.int64))
