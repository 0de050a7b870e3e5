"""Random-agent and human scores on the 57 Atari games, and human-normalized scores.

Source of the numbers: DeepMind's DQN Zoo, file ``dqn_zoo/atari_data.py``
(John Quan and Georg Ostrovski, "DQN Zoo: Reference implementations of DQN-based agents", 2020,
https://github.com/deepmind/dqn_zoo). They are the no-op-start random and human (professional
game tester) scores used since van Hasselt et al. (2016, Double DQN) and Wang et al. (2016,
Dueling DQN) through Hessel et al. (2018, Rainbow) and Badia et al. (2020, Agent57): each is an
average undiscounted return over episodes started with 1 to 30 no-op actions and capped at 108,000
frames (30 minutes). The human scores differ from those printed in Mnih et al. (2015) for some games.

Cross-checked by script: all 57 (random, human) pairs equal those of an independent table in a
public repository (``xtils``' Atari baseline scores). One known variant: google-research's
``reincarnating_rl/atari_scores.py`` (random scores only, as used with the Agent57 / MuZero
tables) gives Video Pinball a random score of 0.0 instead of 16,256.9; its other 56 random
scores equal this table's.

Human-normalized score: ``(score - random) / (human - random)``; 0 is random play, 1 is human.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ATARI_57", "SCORES", "GameScores", "human_normalized_score"]


@dataclass(frozen=True)
class GameScores:
    """Reference scores of one game."""

    random: float
    human: float


# ROM id: (random, human)
_TABLE: dict[str, tuple[float, float]] = {
    "alien": (227.8, 7127.7),
    "amidar": (5.8, 1719.5),
    "assault": (222.4, 742.0),
    "asterix": (210.0, 8503.3),
    "asteroids": (719.1, 47388.7),
    "atlantis": (12850.0, 29028.1),
    "bank_heist": (14.2, 753.1),
    "battle_zone": (2360.0, 37187.5),
    "beam_rider": (363.9, 16926.5),
    "berzerk": (123.7, 2630.4),
    "bowling": (23.1, 160.7),
    "boxing": (0.1, 12.1),
    "breakout": (1.7, 30.5),
    "centipede": (2090.9, 12017.0),
    "chopper_command": (811.0, 7387.8),
    "crazy_climber": (10780.5, 35829.4),
    "defender": (2874.5, 18688.9),
    "demon_attack": (152.1, 1971.0),
    "double_dunk": (-18.6, -16.4),
    "enduro": (0.0, 860.5),
    "fishing_derby": (-91.7, -38.7),
    "freeway": (0.0, 29.6),
    "frostbite": (65.2, 4334.7),
    "gopher": (257.6, 2412.5),
    "gravitar": (173.0, 3351.4),
    "hero": (1027.0, 30826.4),
    "ice_hockey": (-11.2, 0.9),
    "jamesbond": (29.0, 302.8),
    "kangaroo": (52.0, 3035.0),
    "krull": (1598.0, 2665.5),
    "kung_fu_master": (258.5, 22736.3),
    "montezuma_revenge": (0.0, 4753.3),
    "ms_pacman": (307.3, 6951.6),
    "name_this_game": (2292.3, 8049.0),
    "phoenix": (761.4, 7242.6),
    "pitfall": (-229.4, 6463.7),
    "pong": (-20.7, 14.6),
    "private_eye": (24.9, 69571.3),
    "qbert": (163.9, 13455.0),
    "riverraid": (1338.5, 17118.0),
    "road_runner": (11.5, 7845.0),
    "robotank": (2.2, 11.9),
    "seaquest": (68.4, 42054.7),
    "skiing": (-17098.1, -4336.9),
    "solaris": (1236.3, 12326.7),
    "space_invaders": (148.0, 1668.7),
    "star_gunner": (664.0, 10250.0),
    "surround": (-10.0, 6.5),
    "tennis": (-23.8, -8.3),
    "time_pilot": (3568.0, 5229.2),
    "tutankham": (11.4, 167.6),
    "up_n_down": (533.4, 11693.2),
    "venture": (0.0, 1187.5),
    "video_pinball": (16256.9, 17667.9),  # random is 0.0 in the Agent57-derived tables, see above
    "wizard_of_wor": (563.5, 4756.5),
    "yars_revenge": (3092.9, 54576.9),
    "zaxxon": (32.5, 9173.3),
}

SCORES: Mapping[str, GameScores] = MappingProxyType({g: GameScores(r, h) for g, (r, h) in _TABLE.items()})
"""ROM id -> ``GameScores(random, human)`` for the 57 games."""

ATARI_57: tuple[str, ...] = tuple(sorted(SCORES))
"""The ROM ids of the 57 games, sorted."""


def human_normalized_score(game: str, score: float) -> float:
    """``(score - random) / (human - random)`` for ``game`` (a ROM id or a name like ``"Pong"``).

    Raises:
        KeyError: ``game`` is not one of the 57 games of the table.
    """
    from games.atari._roms import resolve_game

    rom = game if game in SCORES else resolve_game(game)
    if rom not in SCORES:
        raise KeyError(f"no random/human scores for Atari game {game!r}; the table covers the 57 games of ATARI_57")
    ref = SCORES[rom]
    value = (float(score) - ref.random) / (ref.human - ref.random)
    return value if math.isfinite(value) else math.nan
