"""Playouts from a finished game (two passes recorded) play on and find the dead stones.

A playout counts its own passes, so ownership estimated by playouts from the end of a game
captures what is dead there; the score with those stones removed agrees with GNU Go's
``final_score`` under Chinese rules.
"""

import numpy as np
import pytest

from games.go import BLACK, EMPTY, WHITE, Position, Rules, _core, coords, scoring
from games.go import batch as GB
from games.go.board import score_to_result
from games.go.gtp_client import GtpClient
from games.go.rollout import OFF_SELF_ATARI, RolloutPolicy, num_features

FINISHED = """
. X . X X O . O .
X X X X X O O O O
X O O X X O . O .
X . . X X O O O O
X X X X X O . O .
. X . X X O O O O
X X X X X O . O .
. X . X X O O O O
X X X X X O . O .
"""  # white B7 C7 are dead inside black's area: black 45, white 36 once they are off (B+1.5 at komi 7.5)

DEAD = [coords.from_gtp("B7", 9), coords.from_gtp("C7", 9)]
NUM_PLAYOUTS = 24


@pytest.fixture(scope="module")
def finished() -> Position:
    pos = Position.from_ascii(FINISHED, Rules(size=9, komi=7.5))
    pos = pos.play(pos.pass_move).play(pos.pass_move)
    assert pos.is_over and pos.passes == 2
    assert pos.score() == 41 - 38 - 7.5  # Tromp-Taylor as it stands: the dead stones spoil black's area
    return pos


def policy() -> RolloutPolicy:
    w = np.random.default_rng(0).normal(0, 1, num_features()).astype(np.float32)
    w[OFF_SELF_ATARI] = -0.5
    return RolloutPolicy(w, 9)


def signed(owner: np.ndarray) -> np.ndarray:
    return np.where(owner == BLACK, 1.0, np.where(owner == WHITE, -1.0, 0.0))


def check_dead_found(pos: Position, ownership: np.ndarray) -> None:
    assert (ownership[DEAD] == 1.0).all(), ownership[DEAD]  # the white stones end up black's
    assert scoring.dead_stones(pos, ownership) == DEAD
    assert scoring.score_with_ownership(pos, ownership) == 45 - 36 - 7.5


def test_core_random_playouts_from_a_finished_game_capture_the_dead_group(finished):
    geo = finished._geo
    owners = []
    for i in range(NUM_PLAYOUTS):
        s, g = finished._s.copy(), finished._g.copy()
        area, moves = _core.playout(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, _core.seed_rng(i),
                                    3 * 81)
        assert moves >= 3 and area == 45 - 36, (i, moves, area)
        owners.append(signed(_core.area_owner(s)))
    check_dead_found(finished, np.mean(owners, axis=0))
    scores, total = _core.playouts(finished._s, finished._g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob,
                                   7, NUM_PLAYOUTS, 3 * 81)
    assert (scores == 9).all() and total >= 3 * NUM_PLAYOUTS
    assert finished.passes == 2  # the position itself is untouched


def test_rollout_policy_playouts_from_a_finished_game_capture_the_dead_group(finished):
    pol = policy()
    owners = []
    for i in range(NUM_PLAYOUTS):
        score, moves, (s, g, _), record = pol.playout(finished, _core.seed_rng(i))
        assert moves >= 3 and score == 9, (i, moves, score)
        owners.append(signed(_core.area_owner(s)))
    check_dead_found(finished, np.mean(owners, axis=0))
    scores, total = pol.playouts(finished, NUM_PLAYOUTS, seed=3)
    assert (scores == 9).all() and total >= 3 * NUM_PLAYOUTS


@pytest.mark.parametrize("use_policy", [False, True])
def test_batch_owner_leaves_from_a_two_pass_leaf_play_on(finished, use_policy):
    roots = GB.Roots.from_positions([finished])
    n = NUM_PLAYOUTS
    leaves = GB.play_paths(roots, np.zeros(n, np.int64), np.zeros((n, 1), np.int32), np.zeros(n, np.int32))
    assert leaves.terminal.all()  # the leaf's game is over, but its playouts still play
    pol = policy() if use_policy else None
    scores, owner = GB.owner_leaves(pol, leaves, seed=5)
    assert (scores == 9 - 7.5).all()
    assert np.array_equal(GB.rollout_leaves(pol, leaves, seed=5), scores)
    check_dead_found(finished, signed(owner).mean(axis=0))


def test_score_with_playout_ownership_agrees_with_gnugo(finished, gnugo):
    geo = finished._geo
    owners = []
    for i in range(NUM_PLAYOUTS):
        s, g = finished._s.copy(), finished._g.copy()
        _core.playout(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, _core.seed_rng(100 + i), 3 * 81)
        owners.append(signed(_core.area_owner(s)))
    own = np.mean(owners, axis=0)
    ours = score_to_result(scoring.score_with_ownership(finished, own))
    with GtpClient(gnugo) as engine:
        engine.send("boardsize 9")
        engine.send("clear_board")
        engine.send("komi 7.5")
        stones = finished.stones()
        for p in np.flatnonzero(stones != EMPTY):  # no chain is ever without a liberty: no captures
            engine.send(f"play {'black' if stones[p] == BLACK else 'white'} {coords.to_gtp(int(p), 9)}")
        engine.send("play black pass")
        engine.send("play white pass")
        theirs = engine.send("final_score")
        their_dead = sorted(coords.from_gtp(v, 9) for v in engine.send("final_status_list dead").split())
    assert ours == theirs == "B+1.5"
    assert scoring.dead_stones(finished, own) == their_dead == DEAD
