"""MCTS self-play over many games at once: one forest, one evaluator, one network call per step.

``MCTSSelfPlay.play_move()`` runs ``sims`` simulations in every live game (their leaves batched
together), plays the most visited move in each (or samples by visit count for the first
``sample_moves`` moves), reuses each game's subtree, and starts a new game where one ended.

Each slot holds a ``games.go.game.Game`` (the one game loop's state): the moves are played into
it, and it says when the game is over and what the result is.  Self-play games end at two passes
scored by Tromp-Taylor (no cleanup phase: the tree values a two-pass leaf the same way), or at the
move cap, which is **one** cap: the tree treats a leaf at ``max_moves`` moves as terminal and the
game stops there too (default 3*N*N).  Root Dirichlet noise is on by default (AlphaGo Zero:
epsilon 0.25) with alpha scaled to the board (``dirichlet_alpha``, as the MCTS player).
Finished games come back as ``games.go.sgf.GameRecord`` (``last_games``: the ``Game`` objects).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from agents.alphago.mcts import GoEvaluator, dirichlet_alpha
from games.go.board import Position, Rules
from games.go.game import Game, default_move_cap
from games.go.sgf import GameRecord
from rlengine.search import Forest, SearchConfig, SearchStats, search

__all__ = ["MCTSSelfPlay"]


class MCTSSelfPlay:
    """``num_games`` self-play games searched together.

    ``noise``: the root Dirichlet noise weight (default 0.25; 0 turns it off); ``noise_alpha``: its
    concentration (default ``dirichlet_alpha(N)``).  Both replace the ``dirichlet_*`` fields of
    ``config``.  ``max_moves``: the one move cap of the games and the tree (default 3*N*N).
    ``value_fn`` / ``value_encoder``: a separate value network (``GoEvaluator``), mixed in by ``lam``.
    """

    def __init__(self, net_fn: Callable, *, encoder: str, rules: Rules, num_games: int, sims: int = 100,
                 config: SearchConfig | None = None, lam: float = 0.0, rollout=None, sample_moves: int = 0,
                 capacity: int = 20_000, seed: int = 0, max_moves: int | None = None, noise: float = 0.25,
                 noise_alpha: float | None = None, value_fn: Callable | None = None, value_encoder: str | None = None):
        self.rules = rules
        self.sims = int(sims)
        alpha = dirichlet_alpha(rules.size) if noise_alpha is None else float(noise_alpha)
        self.config = replace(config or SearchConfig(), dirichlet_epsilon=float(noise), dirichlet_alpha=alpha)
        self.sample_moves = int(sample_moves)
        self.max_moves = int(max_moves if max_moves is not None else default_move_cap(rules.size))
        m = rules.size * rules.size
        self.forest = Forest(num_games, m + 1, capacity=capacity)
        self.evaluator = GoEvaluator(size=rules.size, encoder=encoder, net_fn=net_fn, rollout=rollout, lam=lam,
                                     seed=seed, value_fn=value_fn, value_encoder=value_encoder)
        self.rng = np.random.default_rng(seed)
        self.games = [self._new_game() for _ in range(num_games)]
        self.last_games: list[Game] = []  # the games that ended at the last play_move
        self.moves_played = 0
        self.stats = SearchStats(0, 0, 0, 0.0, 0)

    def _new_game(self) -> Game:
        return Game(self.rules, cleanup=False, max_moves=self.max_moves)

    @property
    def positions(self) -> list[Position]:
        """The current position of every game (played in place)."""
        return [g.position for g in self.games]

    def _choose(self, t: int) -> int:
        acts, visits, _, _ = self.forest.children(t)
        if self.games[t].num_moves < self.sample_moves:
            return int(self.rng.choice(acts, p=visits / visits.sum()))
        return int(acts[np.argmax(visits)])

    def play_move(self) -> list[GameRecord]:
        """One move in every game; returns the records of the games that ended with it."""
        # the tree's cap is the games' cap: a game never stops at a position the tree thinks goes on
        self.evaluator.set_roots(self.positions, move_cap=self.max_moves)
        st = search(self.forest, self.evaluator, self.sims, self.config, rng=self.rng)
        self.stats = SearchStats(*(a + b for a, b in zip(self.stats, st)))
        self.last_games = []
        for t, game in enumerate(self.games):
            move = self._choose(t)
            game.play(move)
            self.moves_played += 1
            if game.over:
                self.last_games.append(game)
                self.games[t] = self._new_game()
                self.forest.reset(t)
            else:
                self.forest.advance(t, move)
        return [g.record() for g in self.last_games]
