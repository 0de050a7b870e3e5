"""Play one game between two players and keep it as a game record (``rlengine selfplay``).

A thin front to ``games.go.game.play_game``, the one game loop: two passes, a
cleanup phase in which the players capture what they believe dead, two more
passes, then Tromp-Taylor area scoring.
"""

from __future__ import annotations

from games.go.board import Position, Rules
from games.go.game import Game, default_move_cap
from games.go.game import play_game as _play
from games.go.player import Player
from games.go.sgf import GameRecord

__all__ = ["play_game"]


def play_game(black: Player, white: Player, rules: Rules, *, max_moves: int | None = None,
              black_name: str | None = None, white_name: str | None = None) -> tuple[GameRecord, Position]:
    """Play to the end of the cleanup phase, a resignation or ``max_moves`` (default 3*N*N).

    Returns the record (result by Tromp-Taylor area, or ``B+R``/``W+R``) and
    the final position.  An illegal move from a player raises
    ``IllegalMoveError`` naming it.
    """
    cap = max_moves if max_moves is not None else default_move_cap(rules.size)
    game = _play((black, white), Game(rules, max_moves=cap), illegal="raise")
    return game.record(black=black_name, white=white_name), game.position
