"""The tunable search constants on exact small trees: first-play urgency (FPU) reduction and the final
move rule (most visits, or Leela Zero's lower confidence bound), plus the per-node sum of squared values
that the bound needs."""

from __future__ import annotations

import numpy as np
import pytest

from rlengine.search import FINAL_RULES, Forest, SearchConfig, search
from rlengine.search import _kernels as K
from tests.rlengine.search.test_search import TableGame, one_at_a_time


def _root_with_children(priors, visits, value_sum, value_sq=None, *, root_visits, root_value_sum):
    """A forest of one tree whose root (slot 0) has ``len(priors)`` children in slots 1.. with the given
    statistics (W for the player choosing at the root)."""
    k = len(priors)
    f = Forest(1, k, capacity=k + 1)
    f.first_child[0] = 1
    f.num_children[0] = k
    f.visits[0] = root_visits
    f.value_sum[0] = root_value_sum
    sl = slice(1, k + 1)
    f.parent[sl] = 0
    f.action[sl] = np.arange(k)
    f.prior[sl] = priors
    f.visits[sl] = visits
    f.value_sum[sl] = value_sum
    f.value_sq[sl] = 0.0 if value_sq is None else value_sq
    f.used[0] = k + 1
    return f


def _select(f, c_puct, reduction, fpu_mode=K.FPU_PARENT):
    return int(K.select_child(0, f.first_child, f.num_children, f.prior, f.visits, f.value_sum, f.virtual, c_puct,
                              fpu_mode, reduction, 1.0))


def _fpu_tree():
    # priors .5 / .3 / .2; a0 tried 4 times at Q = 0.1 for the chooser; a1, a2 never tried.
    # The root's mean for the chooser is -W / N = 0.2 (5 visits: its own evaluation and a0's four).
    return _root_with_children([0.5, 0.3, 0.2], [4, 0, 0], [0.4, 0.0, 0.0], root_visits=5, root_value_sum=-1.0)


def test_fpu_reduction_by_hand():
    """c_puct = 1, S = 4, sqrt(S) = 2.  a0: 0.1 + .5 * 2 / 5 = 0.3.  a1 (unvisited): FPU + .3 * 2 = FPU + 0.6,
    with FPU = 0.2 - R * sqrt(0.5) (a0's prior is the mass already tried).  a1 wins while R < 0.5 / sqrt(.5)
    = 0.7071; a flat reduction (0.2 - R) would give the move to a0 already at R = 0.6."""
    f = _fpu_tree()
    assert _select(f, 1.0, 0.0) == 2  # slot 2 = a1: FPU 0.2 -> 0.8 against 0.3
    assert _select(f, 1.0, 0.6) == 2  # FPU 0.2 - 0.424 = -0.224 -> 0.376 > 0.3
    assert _select(f, 1.0, 0.70) == 2  # -0.295 -> 0.305 > 0.3
    assert _select(f, 1.0, 0.72) == 1  # -0.309 -> 0.291 < 0.3: a0 again
    assert _select(f, 1.0, 5.0, K.FPU_LOSS) == 1  # FPU -1: 0.2 < 0.3 (the reduction plays no part)


def test_fpu_reduction_counts_the_children_in_flight_as_tried():
    f = _fpu_tree()
    f.virtual[3] = 1  # a2 (prior .2) has a descent in flight: tried mass .7, S = 5
    # a0: 0.1 + .5 * sqrt(5) / 5 = 0.3236; a1: 0.2 - R * sqrt(.7) + .3 * sqrt(5)
    r = (0.2 + 0.3 * np.sqrt(5) - 0.3236) / np.sqrt(0.7)
    assert _select(f, 1.0, r - 0.01) == 2
    assert _select(f, 1.0, r + 0.01) == 1


def test_no_reduction_before_any_child_is_tried():
    # a freshly expanded node: nothing tried, so FPU = the parent's value whatever R is and the prior decides
    f = _root_with_children([0.2, 0.5, 0.3], [0, 0, 0], [0.0] * 3, root_visits=1, root_value_sum=0.3)
    assert _select(f, 1.0, 0.0) == _select(f, 1.0, 10.0) == 2


def test_fpu_reduction_makes_the_search_narrower():
    # every position is worth 0: only the priors and the FPU steer; with a large reduction the search stays
    # on the first-tried moves, with none it spreads over all ten
    priors = [0.3, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03]
    game = TableGame(10, {(): (priors, 0.0, False)})
    tried = []
    for r in (0.0, 1.0):
        f = Forest(1, 10, capacity=4000)
        search(f, game, 200, one_at_a_time(c_puct=1.0, fpu_reduction=r))
        _, visits, _, _ = f.children(0)
        tried.append(int((visits > 0).sum()))
    assert tried[0] == 10 and tried[1] < 10, tried


def _lcb_tree():
    # a0: 100 visits, every value 0.1 (no spread).  a1: 40 visits, half 1.0 and half 0.0: mean 0.5, sample
    # variance .25 * 40 / 39, so s / sqrt(N) = 0.080064 and Q - z s / sqrt(N) = 0.1 exactly at z = 4.9960
    return _root_with_children([0.6, 0.4], [100, 40], [10.0, 20.0], [1.0, 20.0], root_visits=141,
                               root_value_sum=-30.0)


def _final(f, rule, z, fraction):
    c = int(K.final_child(0, f.first_child, f.num_children, f.visits, f.value_sum, f.value_sq, rule, z, fraction))
    return int(f.action[c])


def test_lcb_by_hand():
    f = _lcb_tree()
    s_over_sqrt_n = np.sqrt(0.25 * 40 / 39) / np.sqrt(40)
    assert K.lower_confidence_bound(2, f.visits, f.value_sum, f.value_sq, 1.96) == pytest.approx(
        0.5 - 1.96 * s_over_sqrt_n)
    assert K.lower_confidence_bound(1, f.visits, f.value_sum, f.value_sq, 1.96) == pytest.approx(0.1)
    z_tie = 0.4 / s_over_sqrt_n  # 4.996
    assert _final(f, K.FINAL_VISITS, 1.96, 0.1) == 0  # max visits: a0
    assert _final(f, K.FINAL_LCB, 1.96, 0.1) == 1  # clearly better and visited enough: a1
    assert _final(f, K.FINAL_LCB, z_tie - 0.01, 0.1) == 1
    assert _final(f, K.FINAL_LCB, z_tie + 0.01, 0.1) == 0  # not clearly better at this confidence
    assert _final(f, K.FINAL_LCB, 1.96, 0.4) == 1  # 40 >= 0.4 * 100: allowed
    assert _final(f, K.FINAL_LCB, 1.96, 0.41) == 0  # 40 < 41: not allowed, the most visited plays


def test_lcb_falls_back_to_the_most_visited_and_needs_two_visits():
    # a1 has the better mean but one visit (no spread to measure): never chosen by LCB
    f = _root_with_children([0.5, 0.5], [1, 1], [0.0, 0.9], [0.0, 0.81], root_visits=3, root_value_sum=-0.9)
    assert _final(f, K.FINAL_LCB, 1.96, 0.0) == 0  # nobody qualifies: the most visited (the lowest slot)
    f2 = _root_with_children([0.5, 0.5], [1, 0], [0.5, 0.0], [0.25, 0.0], root_visits=2, root_value_sum=-0.5)
    assert _final(f2, K.FINAL_LCB, 1.96, 0.0) == 0
    f3 = Forest(1, 2, capacity=4)  # an unexpanded root
    assert K.final_child(0, f3.first_child, f3.num_children, f3.visits, f3.value_sum, f3.value_sq, K.FINAL_LCB,
                         1.96, 0.1) == K.NO_NODE


def test_forest_best_action_follows_the_config():
    f = _lcb_tree()
    assert f.best_action(0, SearchConfig()) == 0
    assert f.best_action(0, SearchConfig(final="lcb")) == 1
    assert f.best_action(0, SearchConfig(final="lcb", lcb_z=6.0)) == 0
    assert f.best_action(0, SearchConfig(final="lcb", lcb_min_visits=0.5)) == 0
    assert f.best_action(0, SearchConfig(final="lcb")) == 1
    assert Forest(1, 2, capacity=4).best_action(0, SearchConfig(final="lcb")) is None
    assert FINAL_RULES == ("visits", "lcb")


def test_value_squares_are_backed_up_and_kept_by_reroot():
    # root -> a0 (value -0.6 for the player to move there) or a1 (+0.2); both terminal, so exact and reused
    game = TableGame(2, {(): ([0.5, 0.5], 0.3, False), (0,): ([1.0, 0.0], -0.6, True),
                         (1,): ([1.0, 0.0], 0.2, True)})
    f = Forest(1, 2, capacity=16)
    search(f, game, 20, one_at_a_time(c_puct=1.0))
    acts, visits, q, _ = f.children(0)
    lo = int(f.first_child[f.root[0]])
    for j, v in ((0, -0.6), (1, 0.2)):
        assert f.value_sq[lo + j] == pytest.approx(visits[j] * v * v)
    r = f.root[0]
    assert f.value_sq[r] == pytest.approx(0.3**2 + visits[0] * 0.36 + visits[1] * 0.04)
    before = (int(visits[0]), float(f.value_sq[lo]))
    f.advance(0, 0)
    assert (f.root_visits(0), float(f.value_sq[f.root[0]])) == pytest.approx(before)
    f.reset(0)
    assert f.value_sq[f.root[0]] == 0.0


@pytest.mark.parametrize("key,value", [("final", "best"), ("fpu_reduction", -0.1), ("lcb_z", -1.0),
                                       ("lcb_min_visits", 1.5)])
def test_bad_constants_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        SearchConfig(**{key: value})
