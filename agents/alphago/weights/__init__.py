"""The trained 9x9 weights that ship with rlengine, by name (model cards: ``MODELS.md`` in this folder).

Each name works wherever a checkpoint or weights path does (``policy:go9-rl``, ``mcts:go9-sl``,
``value=go9-value``, ``rollout=go9-rollout``, ``rl.init = "go9-sl"``), unless a file or folder of that name
exists in the working directory, which then wins. ``mcts:go9`` is the strongest shipped player: a preset of
``mcts:`` options (see ``PRESETS``) that the spec's own options override (a ``sims`` or ``seconds`` replaces
the preset's budget: ``mcts:go9,sims=200`` searches 200 simulations a move, with no time limit).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NAMES", "PRESETS", "WEIGHTS_DIR", "resolve"]

WEIGHTS_DIR = Path(__file__).resolve().parent

NAMES = {  # name -> file or checkpoint folder in WEIGHTS_DIR
    "go9-sl": "go9-sl",  # SL policy network (7 x 64 CNN, alphago48)
    "go9-rl": "go9-rl",  # RL policy network (the SL network after 100 REINFORCE iterations of self-play)
    "go9-value": "go9-value",  # value network (7 x 64 CNN, alphago49)
    "go9-rollout": "go9-rollout.safetensors",  # rollout policy (linear softmax over local patterns)
}

# mcts presets: name -> (policy checkpoint, default options). go9: SL priors and rollouts (lambda = 1) at one
# second per move, expansion threshold 4 (47 of 100 against GNU Go 3.8 level 10 with c_puct 5 and no FPU
# reduction, MODELS.md), and the search constants tuned by match: c_puct 1.2 and an FPU reduction of 0.2 beat
# c_puct 5 / 0 by 35-13 (SPRT pass, 200 simulations a move; README, "Search constants"). The value network is
# left out because it made this search weaker (README, "The full search").
PRESETS = {
    "go9": ("go9-sl", {"rollout": "go9-rollout", "seconds": "1", "expand": "4", "c_puct": "1.2", "fpu": "0.2"}),
}


def resolve(path: str | Path) -> str | Path:
    """``path`` itself, or the shipped file a name stands for (when no file or folder ``path`` exists)."""
    name = str(path)
    if name in NAMES and not Path(name).exists():
        return WEIGHTS_DIR / NAMES[name]
    return path
