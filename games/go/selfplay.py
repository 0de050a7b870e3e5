"""Play one game between two players and keep it as a game record."""

from __future__ import annotations

from games.go.board import BLACK, Position, Rules, color_name, opponent
from games.go.players import Player
from games.go.sgf import GameNode, GameRecord, Move

__all__ = ["play_game"]


def play_game(black: Player, white: Player, rules: Rules, *, max_moves: int | None = None,
              black_name: str | None = None, white_name: str | None = None) -> tuple[GameRecord, Position]:
    """Play to two passes, a resignation or ``max_moves`` (default 3*N*N).

    Returns the record (result by Tromp-Taylor area, or ``B+R``/``W+R``) and
    the final position.  An illegal move from a player raises
    ``IllegalMoveError`` naming it.
    """
    cap = max_moves if max_moves is not None else 3 * rules.size * rules.size
    players = {BLACK: black, 2: white}
    for p in players.values():
        reset = getattr(p, "reset", None)
        if reset is not None:
            reset(rules)
    pos = Position.empty(rules)
    nodes: list[GameNode] = []
    result = None
    while not pos.is_over and len(nodes) < cap:
        color = pos.to_move
        move = players[color].genmove(pos, color)
        if move is None:
            result = f"{'W' if color == BLACK else 'B'}+R"
            break
        pos = pos.play(move, color, inplace=True)
        nodes.append(GameNode(move=Move(color, move)))
        for p in {id(p): p for p in players.values()}.values():  # engines with their own board (gtp:) follow
            observe = getattr(p, "observe", None)
            if observe is not None:
                observe(color, move)
    if result is None:
        result = pos.result()
    record = GameRecord(size=rules.size, komi=rules.komi, result=result, black_player=black_name,
                        white_player=white_name, nodes=tuple(nodes),
                        comment=None if pos.is_over or result.endswith("+R")
                        else f"stopped at the move cap ({cap}); {color_name(opponent(pos.to_move))} moved last")
    return record, pos
