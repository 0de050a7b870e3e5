"""Evaluation protocol: ε-greedy, whole games, unclipped scores, a fixed number of episodes."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from games.atari._presets import AtariPreset, get_preset
from games.atari._roms import resolve_game
from games.atari._vector import make_atari_env
from games.atari.scores import SCORES, human_normalized_score

__all__ = ["EvalResult", "evaluate"]

logger = logging.getLogger(__name__)

ActFn = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class EvalResult:
    """Scores of ``episodes`` evaluation games.

    Attributes:
        game: ROM id.
        preset: name of the preset used.
        epsilon: ε of the ε-greedy policy.
        episodes: number of games played (``len(returns)``).
        returns: unclipped score of each game, grouped by sub-env (env 0's games first).
        lengths: emulator frames of each game (including the reset no-op frames), same order.
        mean_return: mean of ``returns``.
        std_return: population standard deviation of ``returns`` (ddof=0).
        human_normalized: human-normalized ``mean_return``, or None for games outside the 57 table.
    """

    game: str
    preset: str
    epsilon: float
    episodes: int
    returns: list[float]
    lengths: list[int]
    mean_return: float
    std_return: float
    human_normalized: float | None


def evaluate(
    act_fn: ActFn,
    game: str,
    *,
    episodes: int,
    preset: str | AtariPreset = "nature",
    epsilon: float | None = None,
    seed: int | None = None,
    max_frames: int = 108_000,
    num_envs: int | None = None,
    num_threads: int = 0,
    **overrides: Any,
) -> EvalResult:
    """Play ``episodes`` whole games of ``game`` with ε-greedy ``act_fn`` and report their scores.

    The env is the preset's *evaluation* env: no life-loss ends, unclipped rewards, the preset's
    no-op starts and sticky actions, and games truncated after ``max_frames`` emulator frames
    (108,000 = 30 minutes at 60 Hz, the cap of the random/human score table).

    Args:
        act_fn: maps a uint8 batch ``[N, stack, S, S]`` to greedy int actions ``[N]``.
        game: ROM id or game name.
        episodes: number of games to score.
        preset: ``"nature"``, ``"machado"`` or an ``AtariPreset``; ``overrides`` replace its fields.
        epsilon: probability of a uniformly random action instead of ``act_fn``'s; None means the
            preset's ``eval_epsilon`` (0.05 for ``nature`` as in Mnih et al. 2015; 0.001 for
            ``machado``, as in van Hasselt et al. 2016 and Rainbow).
        seed: seeds the envs (sub-env ``i`` gets ``seed + i``) and the ε draws.
        max_frames: per-game frame cap.
        num_envs: parallel envs; default ``min(episodes, 16)``.
        num_threads: C++ env threads (0: one per core, ale-py's default).

    Each sub-env is assigned its number of games up front (``episodes`` split as evenly as
    possible) and only its first that-many games count, so short games are not over-sampled.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if "max_episode_frames" in overrides:
        raise ValueError("evaluate() takes the frame cap as max_frames, not max_episode_frames")
    rom = resolve_game(game)
    p = get_preset(preset, **overrides, max_episode_frames=max_frames)
    eps = p.eval_epsilon if epsilon is None else float(epsilon)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
    n = min(episodes, 16) if num_envs is None else num_envs
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
    n = min(n, episodes)
    quota = np.full(n, episodes // n, dtype=np.int64)  # [N] games each sub-env must play
    quota[: episodes % n] += 1
    done = np.zeros(n, dtype=np.int64)  # [N]
    returns: list[list[float]] = [[] for _ in range(n)]
    lengths: list[list[int]] = [[] for _ in range(n)]

    env = make_atari_env(rom, num_envs=n, preset=p, training=False, seed=seed, num_threads=num_threads)
    rng = np.random.default_rng(seed)
    num_actions = env.num_actions
    try:
        obs, _ = env.reset()
        while (done < quota).any():
            greedy = np.asarray(act_fn(obs)).reshape(-1)
            if greedy.shape != (n,) or not np.issubdtype(greedy.dtype, np.integer):
                raise ValueError(f"act_fn must return {n} int actions, got {greedy.dtype} {greedy.shape}")
            explore = rng.random(n) < eps  # [N]
            actions = np.where(explore, rng.integers(0, num_actions, size=n), greedy)
            obs, _, _, _, info = env.step(actions)
            for i in np.flatnonzero(info["episode_end"] & (done < quota)):
                returns[i].append(float(info["episode_return"][i]))
                lengths[i].append(int(info["episode_frame_number"][i]))
                done[i] += 1
                logger.debug("eval %s: game %d/%d scored %g", rom, int(done.sum()), episodes, returns[i][-1])
    finally:
        env.close()

    flat = [r for per_env in returns for r in per_env]
    mean = float(np.mean(flat))
    normalized = human_normalized_score(rom, mean) if rom in SCORES else None
    logger.info("eval %s (%s, epsilon=%g): %d games, mean score %g", rom, p.name, eps, episodes, mean)
    return EvalResult(
        game=rom,
        preset=p.name,
        epsilon=eps,
        episodes=episodes,
        returns=flat,
        lengths=[x for per_env in lengths for x in per_env],
        mean_return=mean,
        std_return=float(np.std(flat)),
        human_normalized=None if normalized is None or math.isnan(normalized) else normalized,
    )
