"""One own-eye test: every place that leaves out "filling one's own single-point eye" leaves out exactly the
points ``_core.is_eye`` names, on random positions, and ``is_eye`` follows the rule its docstring states."""

import numpy as np
import pytest

from games.go import BLACK, WHITE, Position, Rules, _core
from games.go import batch as GB
from games.go import rollout as R
from games.go.features import P_SENSIBLE, encode_position


def rule_by_hand(pos: Position, p: int, c: int) -> tuple[bool, int, int]:
    """(every on-board neighbour is c, on-board diagonals, opponent diagonals), read in Python."""
    n = pos.size
    r, col = divmod(p, n)

    def on(dr, dc):
        return 0 <= r + dr < n and 0 <= col + dc < n

    nbrs = [(r + dr) * n + col + dc for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)) if on(dr, dc)]
    diags = [(r + dr) * n + col + dc for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1)) if on(dr, dc)]
    all_own = all(pos.color_at(q) == c for q in nbrs)
    return all_own, len(diags), sum(pos.color_at(q) == 3 - c for q in diags)


def random_positions(size: int, num: int, seed: int) -> list[Position]:
    """Positions from games that mostly avoid filling eyes (so that many eyes stand on the board) and now
    and then play any legal move (so that eyes meet opponent diagonals, and some get filled)."""
    gen = np.random.default_rng(seed)
    rng = _core.seed_rng(seed)
    out = []
    for _ in range(num):
        pos = Position.empty(Rules(size=size))
        for _ in range(int(gen.integers(size * size // 2, 3 * size * size))):
            if gen.random() < 0.25:
                legal = np.flatnonzero(pos.legal_mask()[:-1])
                mv = int(gen.choice(legal)) if legal.size else pos.pass_move
            else:
                mv = pos.random_move(rng)
            if mv == pos.pass_move and pos.passes == 1:
                break
            pos = pos.play(mv)
        out.append(pos if gen.random() < 0.5 else pos.with_to_move(3 - pos.to_move))
    return out


# black to move: C5 (two white diagonals: not an eye), F3 (one white diagonal: an eye),
# G9 on the edge (a white diagonal: not an eye), J1 in the corner (an eye), A1 (a white diagonal: not an eye)
CASES = """
. . . . . X . X .
. . . . . O X . .
. . . . . . . . .
. O X . . . . . .
. X . X . . . . .
. . X O O X . . .
. . . . X . X . .
X O . . . X . . X
. X . . . . . X .
"""


@pytest.mark.parametrize("size", [5, 9])
def test_every_entry_point_leaves_out_exactly_the_eyes_of_is_eye(size):
    nb8, _dia, _ring3, canon, _perm12, _inv12 = R._tables(size)
    ones = np.ones(R.NUM_FEATURES)  # exp(weights) = 1: a candidate weighs 1, anything else 0
    m = size * size
    seen = {"eye": 0, "centre eye, 1 opp diagonal": 0, "centre, 2 opp diagonals": 0, "edge eye": 0,
            "edge, 1 opp diagonal": 0}
    positions = random_positions(size, 30, seed=size)
    if size == 9:
        positions += [Position.from_ascii(CASES, to_move=BLACK), Position.from_ascii(CASES, to_move=WHITE)]
    for pos in positions:
        geo = pos._geo
        s = pos._s
        c = pos.to_move
        legal = pos.legal_mask(c)[:m]
        eye = np.zeros(m, bool)
        for p in range(m):
            if pos.color_at(p) != 0:
                continue
            eye[p] = _core.is_eye(s, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, p, c)
            all_own, num_diag, opp = rule_by_hand(pos, p, c)
            # the rule, written out: all neighbours own; no opponent diagonal on the edge, at most one inside
            assert eye[p] == (all_own and opp <= (1 if num_diag == 4 else 0)), (p, pos)
            if all_own and legal[p]:
                seen["eye"] += eye[p]
                seen["centre eye, 1 opp diagonal"] += num_diag == 4 and opp == 1
                seen["centre, 2 opp diagonals"] += num_diag == 4 and opp >= 2
                seen["edge eye"] += num_diag < 4 and opp == 0
                seen["edge, 1 opp diagonal"] += num_diag < 4 and opp >= 1
        expected = legal & ~eye

        # the moves the tree may try (Leaves.legal) and the policy player's (batch.sensible_mask)
        row = GB.sensible_mask(pos, c)
        assert row[-1] and np.array_equal(row[:m], expected)
        if c == pos.to_move:
            leaves = GB.play_paths(GB.Roots.from_positions([pos]), np.zeros(1, np.int64),
                                   np.zeros((1, 1), np.int32), np.zeros(1, np.int32))
            assert np.array_equal(leaves.legal[0], row)

        # the sensibleness plane of the network's features (for the side to move)
        planes = encode_position(pos.with_to_move(c), "alphago48")
        sensible = planes[P_SENSIBLE].reshape(m).astype(bool)
        assert np.array_equal(sensible[legal], ~eye[legal])
        assert not (sensible & eye).any()

        # the rollout policy: its exact candidates and the cached weights of its fast playouts, both colours
        for col in (BLACK, WHITE):
            col_legal = pos.legal_mask(col)[:m]
            for p in np.flatnonzero(col_legal):
                col_eye = _core.is_eye(s, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, p, col)
                candidate = R._local(s, nb8, canon, p, col)[0]
                assert candidate == (not col_eye), (p, col, pos)
                weight = R._base_scores_both(s, nb8, canon, ones, p)[col - 1]
                assert (weight > 0) == candidate, (p, col, pos)
    # the positions hold every case of the rule (9x9: with the hand-made cases)
    wanted = seen if size == 9 else ("eye", "edge eye")
    assert all(seen[k] >= 1 for k in wanted), seen


def test_eye_rule_from_counts():
    assert _core.eye_rule(True, 4, 0) and _core.eye_rule(True, 4, 1) and not _core.eye_rule(True, 4, 2)
    assert _core.eye_rule(True, 2, 0) and not _core.eye_rule(True, 2, 1)
    assert _core.eye_rule(True, 1, 0) and not _core.eye_rule(True, 1, 1)  # a corner
    assert not _core.eye_rule(False, 4, 0)
