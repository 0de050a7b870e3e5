"""Scoring a finished game with an ownership estimate: dead stones out, then area.

``ownership`` is float [N*N] in [-1, 1], +1 where black will own the point at
the end of the game (a search's or a rollout estimate, see
``Player.ownership``).  A chain is dead when the mean ownership over its
stones is at least ``threshold`` for the other colour.  The score removes the
dead stones, then counts Chinese area (stones plus the empty regions that
reach one colour only, Tromp-Taylor style); an empty point that still reaches
both colours counts for the side the ownership gives at least ``threshold``,
else for nobody (dame).  Komi is subtracted: black minus white minus komi.
"""

from __future__ import annotations

import numpy as np

from games.go.board import BLACK, EMPTY, WHITE, Position

__all__ = ["DEAD_THRESHOLD", "area_with_ownership", "dead_stones", "score_with_ownership"]

DEAD_THRESHOLD = 0.5


def _check(position: Position, ownership: np.ndarray) -> np.ndarray:
    own = np.asarray(ownership, dtype=np.float64)
    n = position.pass_move
    if own.shape != (n,):
        raise ValueError(f"ownership must have shape ({n},) for a {position.size}x{position.size} board, "
                         f"got {own.shape}")
    if not np.all(np.isfinite(own)):
        raise ValueError("ownership holds NaN or infinite values")
    return own


def dead_stones(position: Position, ownership: np.ndarray, threshold: float = DEAD_THRESHOLD) -> list[int]:
    """The points of the chains whose mean ownership is at least ``threshold`` for the opponent, sorted."""
    own = _check(position, ownership)
    stones = position.stones()
    seen = np.zeros(stones.shape, np.bool_)
    dead: list[int] = []
    for p in np.flatnonzero(stones != EMPTY):
        if seen[p]:
            continue
        chain = position.chain_at(int(p))
        seen[chain] = True
        sign = 1.0 if stones[p] == BLACK else -1.0
        if sign * float(own[chain].mean()) <= -threshold:
            dead.extend(chain)
    return sorted(dead)


def area_with_ownership(position: Position, ownership: np.ndarray, threshold: float = DEAD_THRESHOLD,
                        dead: list[int] | None = None) -> np.ndarray:
    """int8 [N*N]: the owner of every point (BLACK/WHITE/EMPTY) once the dead stones are removed."""
    own = _check(position, ownership)
    if dead is None:
        dead = dead_stones(position, own, threshold)
    cleared = position.with_setup(empty=dead) if dead else position
    owner = cleared.area_owner().copy()
    neutral = owner == EMPTY
    owner[neutral & (own >= threshold)] = BLACK
    owner[neutral & (own <= -threshold)] = WHITE
    return owner


def score_with_ownership(position: Position, ownership: np.ndarray, threshold: float = DEAD_THRESHOLD,
                         dead: list[int] | None = None) -> float:
    """Area score with the dead stones removed: black minus white minus komi."""
    owner = area_with_ownership(position, ownership, threshold, dead)
    return float(np.count_nonzero(owner == BLACK) - np.count_nonzero(owner == WHITE)) - position.rules.komi
