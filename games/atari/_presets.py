"""Named Atari protocols (``nature``, ``machado``) as frozen, validated dataclasses."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["PRESETS", "AtariPreset", "get_preset"]


@dataclass(frozen=True)
class AtariPreset:
    """One Atari protocol: preprocessing, stochasticity, episode ends and reward handling.

    Fields marked *training only* act only when an env is made with ``training=True``;
    evaluation always sees whole games (no life-loss ends) and unclipped rewards.

    Attributes:
        name: the preset's name (``"nature"``, ``"machado"`` or your own).
        noop_max: at reset, play a uniform number of NOOP emulator frames in ``0..noop_max``
            (0 disables no-op starts). The frames are single emulator frames, not agent steps.
        repeat_action_probability: sticky actions: the probability that the emulator repeats the
            previous action instead of the new one, drawn on every emulator frame (Machado et al.).
        full_action_space: all 18 joystick actions instead of the game's minimal set.
        terminal_on_life_loss: *training only*: a lost life gives ``terminated=True`` and
            the game then continues with the next life (see ``make_atari_env``).
        clip_rewards: *training only*: rewards become their sign (-1, 0, +1).
        eval_epsilon: ε of the ε-greedy evaluation policy.
        frame_skip: emulator frames per agent step; the action repeats over them.
        max_pool: each observation frame is the pixelwise max of the step's last two frames.
        screen_size: observations are ``screen_size x screen_size`` grey frames.
        frame_stack: number of consecutive processed frames in one observation.
        fire_reset: press FIRE once at every reset, for games whose minimal action set has FIRE
            (or every game with the full action set). Neither paper did this.
        max_episode_frames: truncate an episode after this many emulator frames
            (108,000 = 30 minutes at 60 Hz); the reset no-op frames do not count.
    """

    name: str
    noop_max: int
    repeat_action_probability: float
    full_action_space: bool
    terminal_on_life_loss: bool
    clip_rewards: bool
    eval_epsilon: float
    frame_skip: int = 4
    max_pool: bool = True
    screen_size: int = 84
    frame_stack: int = 4
    fire_reset: bool = False
    max_episode_frames: int = 108_000

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"AtariPreset.name must be a non-empty string, got {self.name!r}")
        for field, low in (
            ("noop_max", 0),
            ("frame_skip", 1),
            ("screen_size", 8),
            ("frame_stack", 1),
            ("max_episode_frames", 1),
        ):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"AtariPreset.{field} must be an integer >= {low}, got {value!r}")
        for field in ("repeat_action_probability", "eval_epsilon"):
            value = getattr(self, field)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not 0.0 <= value <= 1.0
            ):
                raise ValueError(f"AtariPreset.{field} must be a number in [0, 1], got {value!r}")
        for field in ("full_action_space", "terminal_on_life_loss", "clip_rewards", "max_pool", "fire_reset"):
            value = getattr(self, field)
            if not isinstance(value, bool):
                raise ValueError(f"AtariPreset.{field} must be a bool, got {value!r}")


NATURE = AtariPreset(
    # Mnih et al. (2015), "Human-level control through deep reinforcement learning", Nature 518.
    name="nature",
    noop_max=30,  # "up to 30" no-op actions at the start of an episode
    repeat_action_probability=0.0,  # deterministic emulator; no-op starts are the only randomness
    full_action_space=False,  # the minimal action set of each game
    terminal_on_life_loss=True,  # life loss is terminal for learning (training only)
    clip_rewards=True,  # rewards clipped to [-1, 1] (training only)
    eval_epsilon=0.05,  # the paper's evaluation protocol: ε-greedy with ε = 0.05
)

MACHADO = AtariPreset(
    # Machado et al. (2018), "Revisiting the Arcade Learning Environment: Evaluation Protocols
    # and Open Problems for General Agents", JAIR 61. Their recommendations: sticky actions
    # (ς = 0.25) as the source of stochasticity *instead of* no-op starts, the full 18-action
    # set, and episodes that end only at game over (no life-loss signal).
    name="machado",
    noop_max=0,
    repeat_action_probability=0.25,
    full_action_space=True,
    terminal_on_life_loss=False,
    clip_rewards=True,  # reward clipping is part of the learner, kept for training only
    # Evaluation ε = 0.001 as in van Hasselt et al. (2016, Double DQN, "tuned") and Hessel et
    # al. (2018, Rainbow); also Dopamine's default (whose Atari default is this protocol).
    eval_epsilon=0.001,
)

PRESETS: Mapping[str, AtariPreset] = MappingProxyType({p.name: p for p in (NATURE, MACHADO)})

_FIELDS = tuple(f.name for f in dataclasses.fields(AtariPreset))


def get_preset(preset: str | AtariPreset = "nature", /, **overrides: Any) -> AtariPreset:
    """The preset named ``preset`` (or the given one) with ``overrides`` applied to its fields.

    Raises:
        ValueError: an unknown preset name, an unknown field (named in the message), or a bad value.
    """
    if isinstance(preset, AtariPreset):
        base = preset
    elif isinstance(preset, str) and preset.lower() in PRESETS:
        base = PRESETS[preset.lower()]
    else:
        raise ValueError(f"unknown Atari preset {preset!r}; known presets: {', '.join(sorted(PRESETS))}")
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown AtariPreset field(s) {', '.join(map(repr, unknown))}; known fields: {', '.join(_FIELDS)}"
        )
    return dataclasses.replace(base, **overrides) if overrides else base
