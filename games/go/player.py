"""What sits behind ``genmove``: the ``Player`` protocol and the analysis records.

A player answers ``genmove(position, color)`` with a flat move index
(``position.pass_move`` to pass) or ``None`` to resign.  Optional hooks:
``reset(rules)`` on a new game, ``observe(color, move)`` after every move of
the game (either side's), ``reseed(seed)`` before a game, ``set_time(settings)``
(a ``games.go.timecontrol.TimeSettings``; ``timecontrol.move_budget`` turns it
into seconds per move) when the clock changes, ``close()`` to free what it holds.

Optional search methods (``GtpEngine`` checks them with ``getattr`` and offers
the GTP commands that need them only when they exist):

- ``analyze(position, color, *, visits=None, seconds=None, stop=None, callback=None,
  interval=1.0) -> Analysis``: search for ``color`` in ``position`` until the
  budget is used (``visits`` root visits to add, ``seconds``) or ``stop`` (a
  ``threading.Event``) is set; with no budget at all it runs until ``stop``
  (which is then required).  Calls ``callback(Analysis)`` about every
  ``interval`` seconds; commits no move.  GTP ``lz-analyze`` needs it.
- ``genmove_analyze(position, color, *, callback=None, interval=1.0) -> int | None``:
  exactly ``genmove`` (same budget, from the clock or the player's own
  visit count; same move choice and resign rule), calling
  ``callback(Analysis)`` about every ``interval`` seconds while it thinks.
  GTP ``lz-genmove_analyze`` needs it.
- ``ownership(position) -> np.ndarray``: float [N*N] in [-1, 1], +1 = black owns
  the point at the end of the game.  GTP ``final_score`` and
  ``final_status_list`` use it to find dead stones.
- ``genmove_cleanup(position, color)``: like ``genmove``, but keeps playing
  (never passes) while the opponent's dead stones remain on the board
  (GTP ``kgs-genmove_cleanup``; plain ``genmove`` otherwise).

Players are found by name through the ``rlengine.players`` entry points; the
ones that ship with ``games.go`` are in ``games.go.players``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from games.go.board import Position

__all__ = ["Analysis", "MoveInfo", "Player"]


@dataclass(frozen=True)
class MoveInfo:
    """Search statistics of one move at the root."""

    move: int  # flat index, pass = N*N
    visits: int
    winrate: float  # in [0, 1], for the colour that is searching (the one to move at the root)
    prior: float  # in [0, 1]
    pv: tuple[int, ...]  # principal variation, starting with `move`


@dataclass(frozen=True)
class Analysis:
    """A snapshot of a search: the root's statistics and its children's."""

    color: int  # who is to move (BLACK=1 / WHITE=2)
    moves: tuple[MoveInfo, ...]  # children with visits > 0, most visited first
    visits: int  # root visits
    winrate: float  # root value as a win probability for `color`
    # float [N*N] in [-1, 1], +1 = black owns (None when unknown); not compared (arrays have no truth value)
    ownership: np.ndarray | None = field(default=None, compare=False)


@runtime_checkable
class Player(Protocol):
    name: str

    def genmove(self, position: Position, color: int) -> int | None:
        """The move to play (flat index, pass = N*N), or None to resign."""
