"""The game-agnostic search core on tiny games whose trees can be checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from rlengine.search import NOT_EXPANDED, Evaluation, Forest, SearchConfig, search
from rlengine.search import _kernels as K


class TableGame:
    """A game given as a table: path (tuple of actions) -> (priors over A actions, value, terminal).

    Paths missing from the table are leaves with uniform priors over all actions and value 0.
    Records every call so tests can see what was evaluated and in which batch.
    """

    def __init__(self, num_actions: int, table: dict[tuple, tuple[list[float], float, bool]]):
        self.a = num_actions
        self.table = table
        self.calls: list[list[tuple[int, tuple]]] = []

    def __call__(self, tree_of, paths, depths, need_priors) -> Evaluation:
        b = len(tree_of)
        priors = np.zeros((b, self.a), np.float32)
        legal = np.zeros((b, self.a), bool)
        values = np.zeros(b)
        terminal = np.zeros(b, bool)
        batch = []
        for i in range(b):
            path = tuple(int(x) for x in paths[i, :depths[i]])
            batch.append((int(tree_of[i]), path))
            p, v, term = self.table.get(path, ([1.0] * self.a, 0.0, False))
            priors[i] = p
            legal[i] = np.asarray(p) > 0
            values[i] = v
            terminal[i] = term
        self.calls.append(batch)
        return Evaluation(priors, legal, values, terminal)


def nim_evaluator(start: int, num_trees: int = 1):
    """Nim: take 1 or 2 stones (actions 0 / 1), taking the last stone wins.  The evaluator knows only
    the rules: uniform priors, value 0, and at an empty pile the player to move has lost (-1)."""

    def evaluate(tree_of, paths, depths, need_priors):
        b = len(tree_of)
        values = np.zeros(b)
        terminal = np.zeros(b, bool)
        legal = np.zeros((b, 2), bool)
        for i in range(b):
            pile = start[tree_of[i]] if isinstance(start, list) else start
            pile -= int(np.sum(paths[i, :depths[i]] + 1))
            legal[i] = [pile >= 1, pile >= 2]
            if pile == 0:
                values[i], terminal[i] = -1.0, True
        return Evaluation(np.full((b, 2), 0.5, np.float32), legal, values, terminal)

    return evaluate


def one_at_a_time(**kw) -> SearchConfig:
    return SearchConfig(leaves_per_tree=1, **kw)


def test_values_flip_sign_per_ply():
    # root (player X) -> a0 -> node (player O) -> a0 -> leaf (player X to move) valued +0.6 for X
    game = TableGame(1, {(): ([1.0], 0.0, False), (0,): ([1.0], 0.0, False), (0, 0): ([1.0], 0.6, False)})
    f = Forest(1, 1, capacity=16)
    search(f, game, 3, one_at_a_time())
    root = f.root[0]
    a = f.first_child[root]
    leaf = f.first_child[a]
    # W of a node is for the player who chose the move into it
    assert f.value_sum[leaf] == pytest.approx(-0.6)  # O chose the move into the leaf: bad for O
    assert f.value_sum[a] == pytest.approx(+0.6)  # X chose the move into a: good for X
    assert f.value_sum[root] == pytest.approx(-0.6)
    assert f.root_value(0) == pytest.approx(0.6 / 3)  # root's mean for X: (0 + 0 + 0.6) / 3
    _, visits, q, _ = f.children(0)
    assert visits.tolist() == [2] and q[0] == pytest.approx(0.3)  # (0 + 0.6) / 2 for X


def test_search_prefers_the_move_that_is_good_for_the_mover():
    # two moves from the root; after a0 the opponent (to move) stands at -0.8, after a1 at +0.8
    game = TableGame(2, {(): ([0.5, 0.5], 0.0, False), (0,): ([0.5, 0.5], -0.8, True), (1,): ([0.5, 0.5], 0.8, True)})
    f = Forest(1, 2, capacity=16)
    search(f, game, 50, one_at_a_time())
    acts, visits, q, _ = f.children(0)
    assert q[acts == 0][0] == pytest.approx(0.8) and q[acts == 1][0] == pytest.approx(-0.8)
    assert visits[acts == 0][0] > 5 * visits[acts == 1][0]


@pytest.mark.parametrize("pile,winning", [(7, 0), (8, 1), (10, 0), (11, 1)])
def test_nim_finds_the_winning_move(pile, winning):
    f = Forest(1, 2, capacity=5000)
    search(f, nim_evaluator(pile), 1500, SearchConfig(leaves_per_tree=4, c_puct=1.5))
    acts, visits, q, _ = f.children(0)
    assert acts[np.argmax(visits)] == winning
    assert f.root_value(0) > 0.5  # the player to move wins with best play


def test_visit_counts_by_hand():
    # priors 0.7 / 0.3, both children valued 0 for the player to move after them, root valued 0
    game = TableGame(2, {(): ([0.7, 0.3], 0.0, False), (0,): ([1.0, 0.0], 0.0, False),
                         (1,): ([1.0, 0.0], 0.0, False)})
    f = Forest(1, 2, capacity=32)
    search(f, game, 1, one_at_a_time(c_puct=5.0))
    assert [c[0][1] for c in game.calls] == [()]  # the root first, alone
    search(f, game, 1, one_at_a_time(c_puct=5.0))
    # FPU = parent's value (0); sum N(children) = 0 -> sqrt(max(0, 1)) = 1: a0 scores 3.5, a1 1.5
    assert game.calls[-1][0][1] == (0,)
    search(f, game, 1, one_at_a_time(c_puct=5.0))
    # sum N = 1: a0: 0 + 5*.7*1/2 = 1.75; a1 (unvisited, FPU 0): 5*.3*1 = 1.5 -> a0 again, one level down
    assert game.calls[-1][0][1] == (0, 0)
    search(f, game, 1, one_at_a_time(c_puct=5.0))
    # sum N = 2: a0: 5*.7*sqrt(2)/3 = 1.65; a1: 5*.3*sqrt(2) = 2.12 -> a1
    assert game.calls[-1][0][1] == (1,)
    _, visits, _, _ = f.children(0)
    assert visits.tolist() == [2, 1] and f.root_visits(0) == 4


def test_puct_uses_the_childrens_visits_not_the_current_descent():
    """AlphaGo's sqrt(sum_b N(s, b)): the node's own leaf evaluation and the descent now choosing are
    not counted.  Here the two formulas disagree: with sqrt(sum N + 2) (the parent's N plus the
    current descent's virtual visit) the third simulation would go to a1."""
    # a0 is good for the chooser (the opponent stands at -0.7 after it); a1 is unvisited
    game = TableGame(2, {(): ([0.5, 0.5], 0.0, False), (0,): ([1.0, 0.0], -0.7, False)})
    f = Forest(1, 2, capacity=32)
    cfg = one_at_a_time(c_puct=1.0)
    search(f, game, 2, cfg)  # the root, then a0 (a tie at sum N = 0 goes to the lowest slot)
    assert [c[0][1] for c in game.calls] == [(), (0,)]
    search(f, game, 1, cfg)
    # sum N = 1, FPU = the root's mean for the chooser (0 + 0.7) / 2 = 0.35:
    #   a0: 0.7 + 1 * .5 * sqrt(1) / 2 = 0.95;  a1: 0.35 + 1 * .5 * sqrt(1) / 1 = 0.85  -> a0
    # (with sqrt(3): a0 1.13, a1 1.22 -> a1)
    assert game.calls[-1][0][1] == (0, 0)


def _puct_reference(n, first_child, num_children, prior, visits, value_sum, virtual, c_puct, vl):
    """The documented formula in plain Python (FPU = the parent's value)."""
    lo, hi = int(first_child[n]), int(first_child[n] + num_children[n])
    s = sum(int(visits[c] + virtual[c]) for c in range(lo, hi))
    fpu = -value_sum[n] / visits[n] if visits[n] else -1.0
    scores = []
    for c in range(lo, hi):
        nc = visits[c] + virtual[c]
        q = fpu if nc == 0 else (value_sum[c] - vl * virtual[c]) / nc
        scores.append(q + c_puct * prior[c] * np.sqrt(max(s, 1)) / (1 + nc))
    return lo + int(np.argmax(scores))


def test_select_child_matches_the_formula_with_visits_in_flight():
    """Random nodes with visits in flight: select_child picks the argmax of the documented PUCT score,
    where the parent count is sum (N + V) over the children.  Two alternative parent counts (the node's
    N + V, which includes the current descent, and the completed visits alone) pick differently in
    some of these cases, so either would fail here."""
    rng = np.random.default_rng(0)
    k = 6
    differ_old = differ_completed = 0
    for _ in range(400):
        size = k + 1
        parent = np.full(size, -1, np.int32)
        first_child = np.full(size, NOT_EXPANDED, np.int32)
        num_children = np.zeros(size, np.int32)
        first_child[0], num_children[0] = 1, k
        prior = np.zeros(size, np.float32)
        prior[1:] = rng.dirichlet(np.ones(k)).astype(np.float32)
        visits = np.zeros(size, np.int32)
        virtual = np.zeros(size, np.int32)
        visits[1:] = rng.integers(0, 6, k) * (rng.random(k) < 0.7)
        virtual[1:] = rng.integers(0, 3, k) * (rng.random(k) < 0.3)
        value_sum = np.zeros(size, np.float64)
        value_sum[1:] = rng.uniform(-1, 1, k) * visits[1:]
        visits[0] = visits[1:].sum() + 1  # the root's own evaluation
        virtual[0] = virtual[1:].sum() + 1  # the descents in flight below, and the one choosing now
        value_sum[0] = -value_sum[1:].sum() + rng.uniform(-1, 1)
        c_puct = float(rng.uniform(0.5, 5.0))
        got = K.select_child(0, first_child, num_children, prior, visits, value_sum, virtual, c_puct,
                             K.FPU_PARENT, 0.0, 1.0)
        assert got == _puct_reference(0, first_child, num_children, prior, visits, value_sum, virtual, c_puct, 1.0)

        def with_parent_count(total):
            # the same choice with another parent count: scale c_puct so c * sqrt(max(S, 1)) matches
            s = max(int((visits[1:] + virtual[1:]).sum()), 1)
            return _puct_reference(0, first_child, num_children, prior, visits, value_sum, virtual,
                                   c_puct * np.sqrt(max(total, 1) / s), 1.0)

        differ_old += with_parent_count(int(visits[0] + virtual[0])) != got
        differ_completed += with_parent_count(int(visits[1:].sum())) != got
    assert differ_old >= 3 and differ_completed >= 3, (differ_old, differ_completed)


def test_fpu_loss_makes_unvisited_moves_wait():
    # after a0 the opponent stands at +0.5: a0 is worth -0.5 for the chooser
    game = TableGame(2, {(): ([0.5, 0.5], 0.0, False), (0,): ([1.0, 0.0], 0.5, False)})
    f = Forest(1, 2, capacity=64)
    search(f, game, 4, one_at_a_time(c_puct=0.1, fpu="loss"))
    _, visits, _, _ = f.children(0)
    assert visits.tolist() == [3, 0]  # a0 at -0.5 still beats unvisited a1, which counts as -1
    f2 = Forest(1, 2, capacity=64)
    game.calls.clear()
    search(f2, game, 4, one_at_a_time(c_puct=0.1, fpu="parent"))
    _, visits, _, _ = f2.children(0)
    assert visits[1] >= 1  # with the parent's value (-0.25 after a0) as FPU, a1 is tried


def test_virtual_loss_spreads_a_batch_and_is_undone():
    game = TableGame(3, {(): ([0.5, 0.3, 0.2], 0.0, False)})
    f = Forest(1, 3, capacity=64)
    search(f, game, 1, one_at_a_time())  # expand the root
    nodes = f._node_arrays()
    cap = 3
    out_tree, out_leaf = np.empty(cap, np.int64), np.empty(cap, np.int64)
    out_paths, out_depth = np.zeros((cap, 8), np.int32), np.empty(cap, np.int32)
    out_need, done = np.empty(cap, bool), np.zeros(1, np.int64)
    n = K.select_leaves(f.root, np.ones(1, bool), np.array([3]), *nodes, 5.0, K.FPU_PARENT, 0.0, 1.0, 1,
                        out_tree, out_leaf, out_paths, out_depth, out_need, done)
    assert n == 3
    assert sorted(out_paths[:3, 0].tolist()) == [0, 1, 2]  # three different children under virtual loss
    lo = f.first_child[f.root[0]]
    assert f.virtual[lo:lo + 3].tolist() == [1, 1, 1] and f.virtual[f.root[0]] == 3
    ev = game(out_tree[:n], out_paths[:n], out_depth[:n], out_need[:n])
    K.expand_and_backup(out_tree[:n], out_leaf[:n], out_need[:n], ev.priors, ev.legal, ev.values.astype(np.float64),
                        ev.terminal, n, f.used, f.capacity, *nodes)
    assert not f.virtual.any()
    assert f.visits[lo:lo + 3].tolist() == [1, 1, 1] and f.root_visits(0) == 4

    # without virtual loss the same batch would pile onto the favourite: a collision stops the tree early
    n = K.select_leaves(f.root, np.ones(1, bool), np.array([3]), *nodes, 5.0, K.FPU_PARENT, 0.0, 0.0, 1,
                        out_tree, out_leaf, out_paths, out_depth, out_need, done)
    leaves = out_leaf[:n].tolist()
    assert len(set(leaves)) == len(leaves)  # a leaf is never sent twice in one batch
    K.expand_and_backup(out_tree[:n], out_leaf[:n], out_need[:n], np.full((n, 3), 1 / 3, np.float32),
                        np.ones((n, 3), bool), np.zeros(n), np.zeros(n, bool), n, f.used, f.capacity, *nodes)
    assert not f.virtual.any()


def test_expansion_threshold():
    game = TableGame(2, {})
    f = Forest(1, 2, capacity=64)
    search(f, game, 1, one_at_a_time(expand_threshold=3))
    assert f.first_child[f.root[0]] != NOT_EXPANDED  # the root is expanded at once
    child = lambda: f.child(0, int(f.children(0)[0][np.argmax(f.children(0)[1])]))  # noqa: E731
    search(f, game, 2, one_at_a_time(expand_threshold=3, c_puct=0.0))  # c_puct 0: ties go to a0
    c = f.child(0, 0)
    assert f.visits[c] == 2 and f.first_child[c] == NOT_EXPANDED  # visited twice, still a leaf
    search(f, game, 1, one_at_a_time(expand_threshold=3, c_puct=0.0))
    assert f.visits[c] == 3 and f.first_child[c] != NOT_EXPANDED  # expanded on its third visit
    assert child() == c


def test_tree_reuse_keeps_the_subtree_statistics():
    f = Forest(2, 2, capacity=4000)
    search(f, nim_evaluator([9, 9], 2), 400, SearchConfig(leaves_per_tree=4, c_puct=1.5))
    c = f.child(0, 1)
    before = {
        "visits": int(f.visits[c]),
        "value_sum": float(f.value_sum[c]),
        "children": [x.tolist() for x in f.children(0, c)[:2]],
        "grand": f.principal_variation(0, 1, max_len=6),
    }
    used_before = f.nodes(0)
    other = (f.nodes(1), f.root_visits(1), f.children(1)[1].tolist())
    kept = f.advance(0, 1)
    assert 1 < kept < used_before  # the other branch was reclaimed
    assert f.nodes(0) == kept and f.root[0] == 0
    assert f.root_visits(0) == before["visits"]
    assert f.value_sum[f.root[0]] == pytest.approx(before["value_sum"])
    assert [x.tolist() for x in f.children(0)[:2]] == before["children"]
    assert f.principal_variation(0, before["grand"][1], max_len=5) == before["grand"][1:]
    assert f.parent[f.root[0]] == -1
    assert (f.nodes(1), f.root_visits(1), f.children(1)[1].tolist()) == other  # tree 1 untouched
    # the compacted tree is consistent: every child points back at its parent
    for n in range(kept):
        lo = f.first_child[n]
        if lo != NOT_EXPANDED:
            assert (f.parent[lo:lo + f.num_children[n]] == n).all()
    # and searching on continues from there: 7 stones left after taking 2, the winner takes 1
    search(f, nim_evaluator([7, 7], 2), 800, SearchConfig(leaves_per_tree=4, c_puct=1.5), trees=[0])
    acts, visits, _, _ = f.children(0)
    assert acts[np.argmax(visits)] == 0
    assert f.advance(0, 1) >= 1 and f.advance(0, 5) == 1  # an unexpanded action resets the tree


def test_one_evaluator_call_serves_all_trees():
    game = TableGame(3, {})
    f = Forest(5, 3, capacity=2000)
    stats = search(f, game, 40, SearchConfig(leaves_per_tree=8))
    assert all(f.root_visits(t) == 40 for t in range(5))
    assert stats.simulations == 200
    big = [c for c in game.calls if len({t for t, _ in c}) == 5]
    assert len(big) >= 4 and max(len(c) for c in game.calls) > 20  # leaves of all five trees in one call
    for batch in game.calls:
        for t in range(5):
            paths = [p for tt, p in batch if tt == t]
            assert len(paths) == len(set(paths))


def test_dirichlet_noise_at_the_root_only_once():
    game = TableGame(4, {(): ([0.25, 0.25, 0.25, 0.25], 0.0, False)})
    f = Forest(1, 4, capacity=100)
    cfg = one_at_a_time(dirichlet_epsilon=0.25, dirichlet_alpha=0.3)
    search(f, game, 2, cfg, rng=np.random.default_rng(0))
    p1 = f.children(0)[3].copy()
    assert not np.allclose(p1, 0.25) and p1.sum() == pytest.approx(1.0, abs=1e-5)
    search(f, game, 2, cfg, rng=np.random.default_rng(1))
    assert np.array_equal(f.children(0)[3], p1)  # not noised twice


def test_full_tree_keeps_leaves_as_leaves():
    f = Forest(1, 3, capacity=7)  # root + 3 children + room for nothing more than one expansion
    stats = search(f, TableGame(3, {}), 30, SearchConfig(leaves_per_tree=2))
    assert f.nodes(0) <= 7 and stats.full > 0 and f.root_visits(0) == 30


def test_bad_config_names_the_key():
    with pytest.raises(ValueError, match="expand_threshold"):
        SearchConfig(expand_threshold=0)
    with pytest.raises(ValueError, match="fpu"):
        SearchConfig(fpu="zero")
