"""Atari (ALE): batched envs with the Nature / Machado protocols, evaluation, reference scores.

``make_atari_env`` wraps ale-py's C++ ``AtariVectorEnv`` (gymnasium 1.x vector API, ``NEXT_STEP``
autoreset, uint8 ``[N, 4, 84, 84]`` observations); ``make_atari_render_env`` is a single
gymnasium env with the same preprocessing whose ``render()`` gives RGB frames; ``evaluate`` plays
ε-greedy evaluation games; ``scores`` holds the random / human table of the 57 games.
"""

from games.atari._evaluate import EvalResult, evaluate
from games.atari._presets import PRESETS, AtariPreset, get_preset
from games.atari._render import make_atari_render_env
from games.atari._roms import all_rom_ids, resolve_game
from games.atari._vector import AtariVecEnv, make_atari_env
from games.atari.scores import ATARI_57, SCORES, GameScores, human_normalized_score

__all__ = [
    "ATARI_57",
    "PRESETS",
    "SCORES",
    "AtariPreset",
    "AtariVecEnv",
    "EvalResult",
    "GameScores",
    "all_rom_ids",
    "evaluate",
    "get_preset",
    "human_normalized_score",
    "make_atari_env",
    "make_atari_render_env",
    "resolve_game",
]
