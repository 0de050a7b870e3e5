"""The batched Atari env: ale-py's C++ ``AtariVectorEnv`` plus a thin numpy layer for the protocol.

What ale-py 0.12's ``AtariVectorEnv`` does (read from its C++ ``PreprocessedEnv`` and checked
against the real thing in ``tests/games/atari/test_atari.py``):

* one ALE emulator per sub-env, stepped by a pool of C++ threads; observations are uint8
  ``[N, stack, H, W]``, oldest frame first;
* ``reset`` plays ``U{0, ..., noop_max - 1}`` NOOP *emulator frames* (minus one when it pressed
  FIRE, ``use_fire_reset``), then returns a stack of zero frames with the current frame last;
* a step repeats the action for ``frameskip`` emulator frames, sums their rewards and max-pools the
  last two frames, then grey (ALE palette), resizes with OpenCV ``INTER_AREA`` and pushes the frame;
* a step that ends the game (or hits the frame cap) stops repeating the action at that frame and
  does not grab it: its observation's newest frame is built from the previous step's last frames;
* sticky actions (``repeat_action_probability``) are drawn by ALE on every emulator frame;
* ``max_num_frames_per_episode`` counts emulator frames of agent steps (not the reset no-ops) and
  sets ``truncated``; ``terminated`` is the ALE game-over signal;
* ``autoreset_mode=NEXT_STEP``: the step after a terminated/truncated one resets that sub-env
  (action ignored, reward 0, both flags False) and returns the reset observation;
* ``episodic_life=True`` does **not** do what DeepMind did: on a lost life it ends the episode and
  the next step *restarts the whole game* (all lives back), so an agent would never see its later
  lives. ``life_loss_info=True`` sets ``terminated`` on a lost life and plays on, without a reset;
* ``reward_clipping`` clamps the summed reward of a step to [-1, 1] (the sign, for integer rewards);
* info holds ``env_id``, ``lives``, ``frame_number`` and ``episode_frame_number`` (no
  ``final_observation``, no episode statistics).

This module therefore runs the C++ env with no life-loss options and no clipping, and applies
both in numpy so that it can also report unclipped rewards and whole-game returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ale_py
import numpy as np
from ale_py.vector_env import AtariVectorEnv
from gymnasium.vector import AutoresetMode, VectorWrapper

from games.atari._presets import AtariPreset, get_preset
from games.atari._roms import resolve_game

if TYPE_CHECKING:
    import gymnasium as gym

__all__ = ["AtariVecEnv", "make_atari_env"]

ALE_SEED_LIMIT = 2**31  # ALE takes 32-bit signed seeds; sub-env i gets seed + i


class AtariVecEnv(VectorWrapper):
    """A batch of Atari games with gymnasium 1.x vector semantics and ``NEXT_STEP`` autoreset.

    ``step(actions)`` takes int actions ``[N]`` and returns ``obs`` uint8 ``[N, stack, S, S]``,
    ``reward`` float32 ``[N]`` (the sign when training with ``clip_rewards``), ``terminated`` and
    ``truncated`` bool ``[N]`` and ``info``. After a step with ``terminated | truncated``, the next
    step of that sub-env ignores its action, returns reward 0 and the reset observation.

    Life loss (training with ``terminal_on_life_loss``): the step that loses a life (and leaves the
    game running) has ``terminated=True``. Its "reset" step then plays one NOOP agent step in the
    *same* game (the action is ignored, reward reported 0) and returns that observation: the game is
    not restarted, which is what DeepMind's DQN did. The frame stack carries over from the lost life.
    Points scored during that NOOP step are not lost: they are added to the next step's reward (before
    clipping), the first transition of the new life.

    Info keys (arrays of length N), on reset and on every step:
        ``env_id``, ``lives``, ``frame_number``, ``episode_frame_number``: from ALE
            (``episode_frame_number`` counts from the game's reset, including the no-op frames);
        ``raw_reward`` float32: the unclipped reward of this step (0 on reset steps);
        ``life_lost`` bool: the number of lives dropped during this step;
        ``episode_end`` bool: the *game* ended this step (game over or frame cap), so the next
            step resets it. Unlike ``terminated``, never set by a lost life;
        ``episode_return`` float64: unclipped score of the current game so far, including this
            step; at ``episode_end`` it is the game's final score (all lives).
    """

    def __init__(
        self,
        env: AtariVectorEnv,
        *,
        game: str,
        preset: AtariPreset,
        training: bool,
        seed: int | None = None,
    ) -> None:
        super().__init__(env)
        self.game = game
        self.preset = preset
        self.training = bool(training)
        self._seed = seed
        self._seeded = False
        self._life_ends = self.training and preset.terminal_on_life_loss
        self._clip = self.training and preset.clip_rewards
        action_set = list(env.ale.get_action_set())
        self.action_meanings: tuple[str, ...] = tuple(a.name for a in action_set)
        self._noop = action_set.index(ale_py.Action.NOOP) if ale_py.Action.NOOP in action_set else 0
        n = env.num_envs
        self._lives = np.zeros(n, dtype=np.int32)  # [N]
        self._returns = np.zeros(n, dtype=np.float64)  # [N]
        self._game_over = np.zeros(n, dtype=bool)  # [N] the C++ env resets on the next step
        self._life_restart = np.zeros(n, dtype=bool)  # [N] the next step is the life-loss "reset"
        self._carry = np.zeros(n, dtype=np.float32)  # [N] raw points of a life-loss NOOP step, for the next step

    @property
    def num_actions(self) -> int:
        return int(self.single_action_space.n)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the sub-envs (all, or those in ``options["reset_mask"]``).

        An int ``seed`` seeds sub-env ``i`` with ``seed + i`` (ALE's emulator RNG, which drives sticky
        actions, and the no-op RNG); any Python int is accepted and folded into ALE's 32-bit range.
        The first reset uses the ``seed`` given at construction.
        """
        if seed is None and not self._seeded:
            seed = self._seed
        self._seeded = True
        if seed is not None:  # ALE seeds are C ints: fold any Python int (derived seeds reach 2**62) into range
            seed = int(seed) % (ALE_SEED_LIMIT - self.num_envs)
        obs, info = self.env.reset(seed=seed, options=options)
        mask = np.ones(self.num_envs, dtype=bool)
        if options is not None and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"], dtype=bool)
        self._lives[mask] = info["lives"][mask]
        self._returns[mask] = 0.0
        self._game_over[mask] = False
        self._life_restart[mask] = False
        self._carry[mask] = 0.0
        zeros = np.zeros(self.num_envs, dtype=bool)
        info.update(
            raw_reward=np.zeros(self.num_envs, dtype=np.float32),
            life_lost=zeros,
            episode_end=zeros.copy(),
            episode_return=self._returns.copy(),
        )
        return obs, info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions)  # [N]
        if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(
                f"actions must be integers of shape ({self.num_envs},), got {actions.dtype} {actions.shape}"
            )
        bad = (actions < 0) | (actions >= self.num_actions)
        if bad.any():
            raise ValueError(f"actions out of range [0, {self.num_actions}): {actions[bad].tolist()}")
        actions = np.where(self._life_restart, self._noop, actions).astype(np.int64)

        obs, reward, terminated, truncated, info = self.env.step(actions)
        raw = reward.astype(np.float32)  # [N]
        resetting = self._game_over  # these sub-envs were reset by this step
        restarting = self._life_restart & ~resetting
        lives = info["lives"]
        life_lost = (lives < self._lives) & ~resetting  # [N]

        self._returns[resetting] = 0.0
        self._returns += raw
        self._carry[resetting] = 0.0
        given = raw + self._carry  # [N] this step's points plus those of a life-loss NOOP just before
        self._carry = np.where(restarting, given, 0.0).astype(np.float32)  # a NOOP step's points go to the next
        out_reward = np.sign(given) if self._clip else given
        out_reward[restarting] = 0.0
        episode_end = terminated | truncated  # [N] the game ended; C++ resets next step
        out_terminated = terminated | (life_lost & self._life_ends)
        out_truncated = truncated & ~out_terminated

        self._game_over = episode_end
        self._life_restart = out_terminated & ~episode_end
        self._lives = lives.astype(np.int32, copy=True)
        info.update(
            raw_reward=raw,
            life_lost=life_lost,
            episode_end=episode_end.copy(),
            episode_return=self._returns.copy(),
        )
        return obs, out_reward.astype(np.float32, copy=False), out_terminated, out_truncated, info


def make_atari_env(
    game: str,
    *,
    num_envs: int = 1,
    preset: str | AtariPreset = "nature",
    training: bool = True,
    seed: int | None = None,
    render: bool = False,
    num_threads: int = 0,
    **overrides: Any,
) -> AtariVecEnv | gym.Env:
    """A vector env of ``num_envs`` copies of ``game`` under the protocol ``preset``.

    Args:
        game: a ROM id (``"breakout"``) or a name like ``"Breakout"`` / ``"BreakoutNoFrameskip-v4"``.
        num_envs: number of sub-envs, stepped in parallel by C++ threads.
        preset: ``"nature"``, ``"machado"`` or an ``AtariPreset``; ``overrides`` replace its fields
            (``make_atari_env("pong", noop_max=0)``).
        training: apply the preset's training-only options (life-loss terminals, reward clipping).
        seed: seed of the first ``reset()`` (sub-env ``i`` gets ``seed + i``); None draws one.
        render: return ``make_atari_render_env(...)`` instead, a single gymnasium env whose
            ``render()`` gives RGB frames (``num_envs`` must then be 1).
        num_threads: C++ worker threads; 0 means ``min(num_envs, cpu count)``.

    Returns:
        an ``AtariVecEnv`` (see its docstring for step semantics and info keys).

    Raises:
        ValueError: unknown game (with suggestions), unknown preset or preset field, bad values.
    """
    if render:
        if num_envs != 1:
            raise ValueError(f"render=True makes a single env; num_envs must be 1, got {num_envs!r}")
        from games.atari._render import make_atari_render_env

        return make_atari_render_env(game, preset=preset, training=training, seed=seed, **overrides)
    rom = resolve_game(game)
    p = get_preset(preset, **overrides)
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
        raise ValueError(f"num_threads must be an integer >= 0, got {num_threads!r}")
    env = AtariVectorEnv(
        rom,
        num_envs,
        num_threads=num_threads,
        max_num_frames_per_episode=p.max_episode_frames,
        repeat_action_probability=float(p.repeat_action_probability),
        full_action_space=p.full_action_space,
        autoreset_mode=AutoresetMode.NEXT_STEP,
        img_height=p.screen_size,
        img_width=p.screen_size,
        grayscale=True,
        stack_num=p.frame_stack,
        frameskip=p.frame_skip,
        maxpool=p.max_pool,
        noop_max=p.noop_max + 1,  # ale-py draws U{0, ..., noop_max - 1}; ours is U{0, ..., noop_max}
        episodic_life=False,
        life_loss_info=False,
        reward_clipping=False,
        use_fire_reset=p.fire_reset,
    )
    return AtariVecEnv(env, game=rom, preset=p, training=training, seed=seed)
