"""What sits behind ``genmove``: the ``Player`` protocol and the random player.

A player answers ``genmove(position, color)`` with a flat move index
(``position.pass_move`` to pass) or ``None`` to resign.  Optional hooks:
``reset(rules)`` on a new game, ``set_time(...)`` when the clock changes.
Players are found by name through the ``rlengine.players`` entry points.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from games.go import _core
from games.go.board import Position, Rules

__all__ = ["Player", "RandomPlayer", "make_random_player"]


@runtime_checkable
class Player(Protocol):
    name: str

    def genmove(self, position: Position, color: int) -> int | None:
        """The move to play (flat index, pass = N*N), or None to resign."""


class RandomPlayer:
    """Uniformly random legal moves that never fill the mover's own single-point eye;
    passes when nothing else is left."""

    name = "random"

    def __init__(self, seed: int | None = None):
        import random

        self._seed = seed if seed is not None else random.SystemRandom().randrange(2**62)
        self._rng = _core.seed_rng(self._seed)

    def reset(self, rules: Rules) -> None:  # stateless beyond its generator
        return None

    def reseed(self, seed: int) -> None:
        self._seed = seed
        self._rng = _core.seed_rng(seed)

    def genmove(self, position: Position, color: int) -> int:
        return position.random_move(self._rng, color)


def make_random_player(arg: str = "", *, seed: int | None = None) -> RandomPlayer:
    """Entry-point factory for the player spec ``random``."""
    if arg:
        raise ValueError(f"player 'random' takes no argument, got {arg!r}")
    return RandomPlayer(seed)
