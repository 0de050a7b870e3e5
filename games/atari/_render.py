"""A single gymnasium Atari env with the vector env's preprocessing, for watching and recording.

gymnasium's ``AtariPreprocessing`` needs OpenCV, which is not a dependency here, so the same steps
(no-op starts, frame skip with max-pool, grey, area resize) are written in numpy below; the frame
stack is gymnasium's ``FrameStackObservation`` with zero padding, like the C++ env.
"""

from __future__ import annotations

import math
from typing import Any

import ale_py
import gymnasium as gym
import numpy as np
from ale_py.env import AtariEnv
from ale_py.registration import rom_id_to_name
from gymnasium.spaces import Box
from gymnasium.wrappers import FrameStackObservation

from games.atari._presets import AtariPreset, get_preset
from games.atari._roms import resolve_game

__all__ = ["AtariFrames", "area_resize_matrix", "make_atari_render_env"]


def area_resize_matrix(src: int, dst: int) -> np.ndarray:
    """``[dst, src]`` weights of an area-averaging downscale (OpenCV's ``INTER_AREA``), rows sum to 1."""
    if not 1 <= dst <= src:
        raise ValueError(f"area resize needs 1 <= dst <= src, got dst={dst}, src={src}")
    scale = src / dst
    weights = np.zeros((dst, src), dtype=np.float64)
    for i in range(dst):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(math.floor(lo), min(math.ceil(hi), src)):
            weights[i, j] = (min(hi, j + 1) - max(lo, j)) / scale
    return weights


class AtariFrames(gym.Wrapper):
    """Frame skip with max-pool, grey, area resize, no-op starts, life-loss ends and reward clipping.

    Wraps an ALE env made with ``frameskip=1`` and ``obs_type="grayscale"``; observations are uint8
    ``[S, S]``. Training-only options as in ``AtariVecEnv``: with ``terminal_on_life_loss`` a lost
    life gives ``terminated=True`` and the next ``reset()`` (without a seed) plays on in the same game
    after one NOOP step. ``render()`` is the wrapped env's: RGB ``[210, 160, 3]``.
    Info adds ``raw_reward``, ``life_lost``, ``episode_end`` and ``episode_return`` (unclipped).
    """

    def __init__(self, env: gym.Env, *, preset: AtariPreset, training: bool) -> None:
        super().__init__(env)
        self.preset = preset
        self.training = bool(training)
        meanings = env.unwrapped.get_action_meanings()
        self._noop = meanings.index("NOOP")
        self._fire = meanings.index("FIRE") if preset.fire_reset and "FIRE" in meanings else None
        height, width = env.observation_space.shape[:2]
        size = preset.screen_size
        self._rows = area_resize_matrix(height, size).astype(np.float32)  # [S, 210]
        self._cols = area_resize_matrix(width, size).T.astype(np.float32)  # [160, S]
        self.observation_space = Box(0, 255, shape=(size, size), dtype=np.uint8)
        self._life_restart = False
        self._lives = 0
        self._frames = 0
        self._return = 0.0

    def _screen(self) -> np.ndarray:
        return self.env.unwrapped.ale.getScreenGrayscale()  # [210, 160] uint8

    def _process(self, frame: np.ndarray) -> np.ndarray:
        small = self._rows @ frame.astype(np.float32) @ self._cols  # [S, S]
        return np.clip(np.rint(small), 0, 255).astype(np.uint8)

    def _info(self, info: dict[str, Any], raw: float, life_lost: bool, end: bool) -> dict[str, Any]:
        extra = {"raw_reward": raw, "life_lost": life_lost, "episode_end": end, "episode_return": self._return}
        return {**info, **extra}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if self._life_restart and seed is None and options is None:
            self._life_restart = False
            obs, _, terminated, truncated, info = self.step(self._noop)
            if not (terminated or truncated):
                return obs, info
        self._life_restart = False
        _, info = self.env.reset(seed=seed, options=options)
        # As ale-py's C++ env: FIRE first (when asked), then U{0..noop_max} NOOP frames, less one for FIRE.
        noops = int(self.env.unwrapped.np_random.integers(0, self.preset.noop_max + 1))
        if self._fire is not None:
            _, _, _, _, info = self.env.step(self._fire)
            noops -= 1
        for _ in range(noops):
            _, _, terminated, truncated, info = self.env.step(self._noop)
            if terminated or truncated:
                _, info = self.env.reset()
        self._lives = int(info["lives"])
        self._frames = 0
        self._return = 0.0
        return self._process(self._screen()), self._info(info, 0.0, False, False)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        p = self.preset
        raw = 0.0
        last_two = np.zeros((2, *self.env.observation_space.shape[:2]), dtype=np.uint8)  # [2, 210, 160]
        terminated = truncated = life_lost = False
        info: dict[str, Any] = {}
        for _ in range(p.frame_skip):
            _, reward, terminated, truncated, info = self.env.step(action)
            raw += float(reward)
            self._frames += 1
            truncated = truncated or self._frames >= p.max_episode_frames
            life_lost = life_lost or int(info["lives"]) < self._lives
            last_two[0] = last_two[1]
            last_two[1] = self._screen()
            if terminated or truncated:
                break
        frame = last_two.max(axis=0) if p.max_pool else last_two[1]
        self._lives = int(info["lives"])
        self._return += raw
        end = bool(terminated or truncated)
        if self.training and p.terminal_on_life_loss and life_lost and not end:
            terminated = self._life_restart = True
        reward = float(np.sign(raw)) if self.training and p.clip_rewards else raw
        info = self._info(info, raw, life_lost, end)
        return self._process(frame), reward, bool(terminated), bool(truncated and not terminated), info


def make_atari_render_env(
    game: str,
    *,
    preset: str | AtariPreset = "nature",
    training: bool = False,
    seed: int | None = None,
    **overrides: Any,
) -> gym.Env:
    """One ``game`` env with the preset's preprocessing whose ``render()`` returns RGB frames.

    Observations are uint8 ``[stack, S, S]`` (zero-padded at reset, like ``make_atari_env``);
    ``render()`` returns the full-resolution RGB screen ``[210, 160, 3]`` of the latest frame, for
    GIFs. ``training=False`` by default: whole games and unclipped rewards (with ``training=True``,
    the "reset" after a lost life restarts the stack zero-padded, unlike the vector env). ``seed`` seeds the first
    ``reset()`` (pass it again to ``reset`` to replay). Built on ``gym.make("ALE/<Game>-v5",
    frameskip=1, ...)`` (or ``ale_py.env.AtariEnv`` for the few ROMs without a v5 id).
    """
    rom = resolve_game(game)
    p = get_preset(preset, **overrides)
    kwargs = dict(
        frameskip=1,
        repeat_action_probability=float(p.repeat_action_probability),
        full_action_space=p.full_action_space,
        obs_type="grayscale",
        render_mode="rgb_array",
        max_num_frames_per_episode=None,  # truncation is counted by AtariFrames, as in the C++ env
    )
    gym.register_envs(ale_py)
    env_id = f"ALE/{rom_id_to_name(rom)}-v5"
    env = gym.make(env_id, **kwargs) if env_id in gym.registry else AtariEnv(game=rom, **kwargs)
    env = AtariFrames(env, preset=p, training=training)
    env = FrameStackObservation(env, p.frame_stack, padding_type="zero")
    if seed is not None:
        env = _SeedFirstReset(env, seed)
    return env


class _SeedFirstReset(gym.Wrapper):
    """Uses ``seed`` for the first ``reset()`` that is given none."""

    def __init__(self, env: gym.Env, seed: int) -> None:
        super().__init__(env)
        self._seed: int | None = seed

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        if seed is None:
            seed, self._seed = self._seed, None
        else:
            self._seed = None
        return self.env.reset(seed=seed, options=options)
