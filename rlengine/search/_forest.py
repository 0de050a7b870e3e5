"""``Forest``: many search trees in one set of preallocated arrays, and the batched search loop.

The game is not known here.  A tree's nodes are reached by paths of integer
actions from its root; the caller's ``evaluate`` turns paths into positions
(for Go: ``games.go.batch``) and answers, for a batch of leaves::

    evaluate(tree_of: int64[B], paths: int32[B, D], depths: int32[B], need_priors: bool[B])
        -> Evaluation(priors float32[B, A], legal bool[B, A], values float[B], terminal bool[B])

``values`` are for the player to move at each leaf, in [-1, 1].  Priors and
legal actions are read only where ``need_priors`` (the leaf is expanded), and
``terminal`` marks leaves that end the game (their value is then exact and is
reused without asking again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from rlengine.search import _kernels as K

__all__ = ["FINAL_RULES", "Evaluation", "Forest", "SearchConfig", "SearchStats", "search"]

FINAL_RULES = ("visits", "lcb")  # SearchConfig.final: the move-choice rules (_kernels.FINAL_VISITS, FINAL_LCB)


@dataclass(frozen=True)
class SearchConfig:
    """Selection and batching settings (AlphaGo's defaults where it has one)."""

    c_puct: float = 5.0
    # first-play urgency, the Q of a child with no visit: "parent": the parent's mean value for the chooser minus
    # fpu_reduction * sqrt(sum of the priors of the children already tried) (Leela Zero); "loss": -1
    fpu: str = "parent"
    fpu_reduction: float = 0.0  # 0: the parent's value as it is (AlphaGo-style; Leela Zero and KataGo use ~0.2)
    # the move to play: "visits" (the most visited child) or "lcb" (Leela Zero: the highest Q - lcb_z * s / sqrt(N)
    # among the children with at least lcb_min_visits times the top child's visits, and at least 2)
    final: str = "visits"
    lcb_z: float = 1.96
    lcb_min_visits: float = 0.1
    virtual_loss: float = 1.0  # each visit in flight counts as this much loss for the chooser
    expand_threshold: int = 1  # a leaf is expanded on this visit (1: at once)
    leaves_per_tree: int = 8  # leaves gathered per tree per network call
    dirichlet_alpha: float = 0.03
    dirichlet_epsilon: float = 0.0  # 0: no root noise; AlphaGo Zero used 0.25
    max_depth: int = 256

    def __post_init__(self) -> None:
        if self.fpu not in ("parent", "loss"):
            raise ValueError(f"search: fpu must be 'parent' or 'loss', got {self.fpu!r}")
        if self.final not in FINAL_RULES:
            raise ValueError(f"search: final must be {' or '.join(map(repr, FINAL_RULES))}, got {self.final!r}")
        checks = [("c_puct", self.c_puct >= 0), ("fpu_reduction", self.fpu_reduction >= 0),
                  ("lcb_z", self.lcb_z >= 0), ("lcb_min_visits", 0 <= self.lcb_min_visits <= 1),
                  ("virtual_loss", self.virtual_loss >= 0),
                  ("expand_threshold", self.expand_threshold >= 1), ("leaves_per_tree", self.leaves_per_tree >= 1),
                  ("dirichlet_alpha", self.dirichlet_alpha > 0),
                  ("dirichlet_epsilon", 0 <= self.dirichlet_epsilon <= 1), ("max_depth", self.max_depth >= 1)]
        for key, ok in checks:
            if not ok:
                raise ValueError(f"search: {key} = {getattr(self, key)!r} is out of range")


class Evaluation(NamedTuple):
    priors: np.ndarray  # float32 [B, A]
    legal: np.ndarray  # bool [B, A]
    values: np.ndarray  # float [B], for the player to move at the leaf
    terminal: np.ndarray  # bool [B]


class SearchStats(NamedTuple):
    simulations: int  # visits added over all trees
    evaluations: int  # leaves sent to the evaluator
    batches: int  # evaluator calls
    seconds: float
    full: int  # expansions refused for lack of room


class Forest:
    """``num_trees`` trees over ``num_actions`` actions, ``capacity`` node slots each."""

    def __init__(self, num_trees: int, num_actions: int, capacity: int = 50_000):
        if num_trees < 1 or num_actions < 1 or capacity < 2:
            raise ValueError("Forest needs num_trees >= 1, num_actions >= 1 and capacity >= 2")
        self.num_trees = int(num_trees)
        self.num_actions = int(num_actions)
        self.capacity = int(capacity)
        size = self.num_trees * self.capacity
        self.parent = np.full(size, K.NO_NODE, np.int32)
        self.action = np.full(size, K.NO_ACTION, np.int32)
        self.first_child = np.full(size, K.NOT_EXPANDED, np.int32)
        self.num_children = np.zeros(size, np.int32)
        self.prior = np.zeros(size, np.float32)
        self.visits = np.zeros(size, np.int32)
        self.value_sum = np.zeros(size, np.float64)
        self.value_sq = np.zeros(size, np.float64)
        self.virtual = np.zeros(size, np.int32)
        self.terminal = np.zeros(size, np.int8)
        self.terminal_value = np.zeros(size, np.float32)
        self.root = np.arange(self.num_trees, dtype=np.int32) * self.capacity
        self.used = np.ones(self.num_trees, np.int32)
        self.noised = np.zeros(self.num_trees, bool)  # root priors already carry Dirichlet noise
        for t in range(self.num_trees):
            self.reset(t)

    # ---- arrays for the kernels ---------------------------------------------------------------
    def _node_arrays(self):
        return (self.parent, self.action, self.first_child, self.num_children, self.prior, self.visits,
                self.value_sum, self.value_sq, self.virtual, self.terminal, self.terminal_value)

    # ---- tree management ------------------------------------------------------------------------
    def reset(self, t: int) -> None:
        """Tree t becomes a single unexpanded root."""
        base = t * self.capacity
        K.clear_node(base, *self._node_arrays(), K.NO_NODE, K.NO_ACTION, 1.0)
        self.root[t] = base
        self.used[t] = 1
        self.noised[t] = False

    def child(self, t: int, action: int) -> int | None:
        """Global index of the root's child for ``action`` (None when absent)."""
        r = int(self.root[t])
        lo = int(self.first_child[r])
        if lo == K.NOT_EXPANDED:
            return None
        hi = lo + int(self.num_children[r])
        hits = np.flatnonzero(self.action[lo:hi] == action)
        return lo + int(hits[0]) if hits.size else None

    def advance(self, t: int, action: int) -> int:
        """Tree reuse: the root's child for ``action`` becomes the root, with its subtree and
        statistics; everything else is reclaimed.  Returns the nodes kept (1 after a reset when
        the action was never expanded)."""
        c = self.child(t, action)
        if c is None:
            self.reset(t)
            return 1
        self.noised[t] = False
        return int(K.reroot(t, c, self.capacity, self.root, self.used, *self._node_arrays()))

    def nodes(self, t: int) -> int:
        return int(self.used[t])

    # ---- statistics -----------------------------------------------------------------------------
    def root_visits(self, t: int) -> int:
        return int(self.visits[self.root[t]])

    def root_value(self, t: int) -> float:
        """The root's mean value for the player to move there (0 before any visit)."""
        r = self.root[t]
        n = self.visits[r]
        return float(-self.value_sum[r] / n) if n else 0.0

    def children(self, t: int, node: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(actions, visits, Q for the player choosing, priors) of a node's children (default: root)."""
        n = int(self.root[t] if node is None else node)
        lo = int(self.first_child[n])
        if lo == K.NOT_EXPANDED:
            empty = np.zeros(0)
            return empty.astype(np.int32), empty.astype(np.int32), empty, empty.astype(np.float32)
        sl = slice(lo, lo + int(self.num_children[n]))
        vis = self.visits[sl].copy()
        q = np.where(vis > 0, self.value_sum[sl] / np.maximum(vis, 1), np.nan)
        return self.action[sl].copy(), vis, q, self.prior[sl].copy()

    def best_action(self, t: int, config: SearchConfig) -> int | None:
        """The root's action to play under ``config.final`` (``final_child`` in ``_kernels``); None when the
        root has no visited child."""
        rule = K.FINAL_LCB if config.final == "lcb" else K.FINAL_VISITS
        c = int(K.final_child(int(self.root[t]), self.first_child, self.num_children, self.visits, self.value_sum,
                              self.value_sq, rule, float(config.lcb_z), float(config.lcb_min_visits)))
        return None if c == K.NO_NODE else int(self.action[c])

    def principal_variation(self, t: int, first_action: int, max_len: int = 20) -> list[int]:
        """``first_action`` then, from its node on, the most visited child at each step."""
        pv = [int(first_action)]
        n = self.child(t, first_action)
        while n is not None and len(pv) < max_len and self.first_child[n] != K.NOT_EXPANDED:
            acts, vis, _, _ = self.children(t, n)
            if vis.size == 0 or vis.max() == 0:
                break
            j = int(np.argmax(vis))
            pv.append(int(acts[j]))
            n = int(self.first_child[n]) + j
        return pv

    def add_root_noise(self, t: int, alpha: float, epsilon: float, rng: np.random.Generator) -> None:
        """Mix Dirichlet(alpha) noise into the root's priors: P = (1-eps) P + eps * eta (once per root)."""
        r = int(self.root[t])
        lo = int(self.first_child[r])
        if lo == K.NOT_EXPANDED or epsilon <= 0 or self.noised[t]:
            return
        k = int(self.num_children[r])
        eta = rng.dirichlet(np.full(k, alpha))
        self.prior[lo:lo + k] = ((1 - epsilon) * self.prior[lo:lo + k] + epsilon * eta).astype(np.float32)
        self.noised[t] = True


def search(forest: Forest, evaluate: Callable[..., Evaluation], simulations, config: SearchConfig, *,
           trees=None, rng: np.random.Generator | None = None, deadline: float | None = None,
           stop: Callable[[], bool] | None = None,
           on_batch: Callable[[], None] | None = None) -> SearchStats:
    """Add ``simulations`` visits (an int, or one per tree) to the roots of ``trees`` (default all).

    Each step gathers up to ``leaves_per_tree`` leaves from every tree that still
    needs visits and sends all of them to ``evaluate`` in one call.  Stops early at
    ``deadline`` (``time.perf_counter()`` seconds) or when ``stop()`` is true, checked
    between steps; ``on_batch`` runs after each step (progress reports).
    """
    t0 = time.perf_counter()
    trees = np.arange(forest.num_trees) if trees is None else np.asarray(trees, np.int64)
    remaining = np.zeros(forest.num_trees, np.int64)
    remaining[trees] = simulations
    cfg = config
    fpu_mode = K.FPU_PARENT if cfg.fpu == "parent" else K.FPU_LOSS
    rng = rng or np.random.default_rng()
    cap = forest.num_trees * cfg.leaves_per_tree
    out_tree = np.empty(cap, np.int64)
    out_leaf = np.empty(cap, np.int64)
    out_paths = np.zeros((cap, cfg.max_depth), np.int32)
    out_depth = np.empty(cap, np.int32)
    out_need = np.empty(cap, np.bool_)
    done = np.zeros(forest.num_trees, np.int64)
    sims = evals = batches = full = 0
    nodes = forest._node_arrays()
    while True:
        if cfg.dirichlet_epsilon > 0:
            for t in trees:
                if remaining[t] > 0:
                    forest.add_root_noise(int(t), cfg.dirichlet_alpha, cfg.dirichlet_epsilon, rng)
        active = remaining > 0
        if not active.any():
            break
        want = np.minimum(remaining, cfg.leaves_per_tree)
        # an unexpanded root is evaluated alone first, so its siblings-to-be are not sent twice
        want[forest.first_child[forest.root] == K.NOT_EXPANDED] = 1
        num = K.select_leaves(forest.root, active, want, *nodes, cfg.c_puct, fpu_mode, cfg.fpu_reduction,
                              cfg.virtual_loss, cfg.expand_threshold, out_tree, out_leaf, out_paths, out_depth,
                              out_need, done)
        remaining -= done
        sims += int(done.sum())
        if num:
            ev = evaluate(out_tree[:num], out_paths[:num], out_depth[:num], out_need[:num])
            full += K.expand_and_backup(out_tree[:num], out_leaf[:num], out_need[:num],
                                        np.ascontiguousarray(ev.priors, np.float32),
                                        np.ascontiguousarray(ev.legal, np.bool_),
                                        np.ascontiguousarray(ev.values, np.float64),
                                        np.ascontiguousarray(ev.terminal, np.bool_), num, forest.used,
                                        forest.capacity, *nodes)
            np.subtract.at(remaining, out_tree[:num], 1)
            sims += num
            evals += num
            batches += 1
        if on_batch is not None:
            on_batch()
        if (deadline is not None and time.perf_counter() >= deadline) or (stop is not None and stop()):
            break
    return SearchStats(sims, evals, batches, time.perf_counter() - t0, full)
