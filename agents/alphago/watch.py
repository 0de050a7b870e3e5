"""``rlengine watch CHECKPOINT --out GAME.sgf`` for Go policies: the policy plays itself, the game is kept as SGF.

The game is played by the one game loop (``games.go.game.play_game``): two passes, a cleanup phase,
two more passes, Tromp-Taylor area scoring; the move cap is the self-play cap (3*N*N) unless given.
"""

from __future__ import annotations

from pathlib import Path

from games.go.board import Rules
from games.go.game import Game, default_move_cap, play_game
from games.go.sgf import save_sgf

__all__ = ["watch"]


def watch(checkpoint: str | Path, out: str | Path, *, seed: int | None = None, temperature: float = 0.0,
          max_moves: int | None = None) -> dict:
    """The policy plays itself (greedy by default) to the end of the game; the game is saved as SGF to ``out``."""
    from agents.alphago.players import PolicyPlayer

    player = PolicyPlayer(checkpoint, temperature=temperature, seed=seed)
    size = player.board_size
    rules = Rules(size=size, komi=7.5)
    game = play_game((player, player), Game(rules, max_moves=max_moves or default_move_cap(size)))
    name = f"policy:{checkpoint}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_sgf(game.record(black=name, white=name), out)
    return {"out": str(out), "moves": game.num_moves, "result": game.result}
