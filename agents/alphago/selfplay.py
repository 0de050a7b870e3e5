"""MCTS self-play over many games at once: one forest, one evaluator, one network call per step.

``MCTSSelfPlay.play_move()`` runs ``sims`` simulations in every live game (their leaves batched
together), plays the most visited move in each (or samples by visit count for the first
``sample_moves`` moves), reuses each game's subtree, and starts a new game where one ended.
Finished games come back as ``games.go.sgf.GameRecord``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from agents.alphago.mcts import GoEvaluator
from games.go.board import Position, Rules
from games.go.sgf import GameNode, GameRecord, Move
from rlengine.search import Forest, SearchConfig, SearchStats, search

__all__ = ["MCTSSelfPlay"]


class MCTSSelfPlay:
    def __init__(self, net_fn: Callable, *, encoder: str, rules: Rules, num_games: int, sims: int = 100,
                 config: SearchConfig | None = None, lam: float = 0.0, rollout=None, sample_moves: int = 0,
                 capacity: int = 20_000, seed: int = 0, max_moves: int | None = None):
        self.rules = rules
        self.sims = int(sims)
        self.config = config or SearchConfig()
        self.sample_moves = int(sample_moves)
        self.max_moves = int(max_moves if max_moves is not None else 2 * rules.size * rules.size)
        m = rules.size * rules.size
        self.forest = Forest(num_games, m + 1, capacity=capacity)
        self.evaluator = GoEvaluator(size=rules.size, encoder=encoder, net_fn=net_fn, rollout=rollout, lam=lam,
                                     seed=seed)
        self.rng = np.random.default_rng(seed)
        self.positions = [Position.empty(rules) for _ in range(num_games)]
        self.moves: list[list[int]] = [[] for _ in range(num_games)]
        self.moves_played = 0
        self.stats = SearchStats(0, 0, 0, 0.0, 0)

    def _choose(self, t: int) -> int:
        acts, visits, _, _ = self.forest.children(t)
        if len(self.moves[t]) < self.sample_moves:
            return int(self.rng.choice(acts, p=visits / visits.sum()))
        return int(acts[np.argmax(visits)])

    def play_move(self) -> list[GameRecord]:
        """One move in every game; returns the games that ended with it."""
        self.evaluator.set_roots(self.positions)
        st = search(self.forest, self.evaluator, self.sims, self.config, rng=self.rng)
        self.stats = SearchStats(*(a + b for a, b in zip(self.stats, st)))
        finished = []
        for t, pos in enumerate(self.positions):
            move = self._choose(t)
            pos = pos.play(move, inplace=True)
            self.moves[t].append(move)
            self.moves_played += 1
            if pos.is_over or len(self.moves[t]) >= self.max_moves:
                finished.append(self._record(t, pos))
                self.positions[t] = Position.empty(self.rules)
                self.moves[t] = []
                self.forest.reset(t)
            else:
                self.forest.advance(t, move)
        return finished

    def _record(self, t: int, final: Position) -> GameRecord:
        color = 1
        nodes = []
        for mv in self.moves[t]:
            nodes.append(GameNode(move=Move(color, mv)))
            color = 3 - color
        return GameRecord(size=self.rules.size, komi=self.rules.komi, nodes=tuple(nodes), result=final.result())
