"""Replay configuration and the sampled batch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> bool:
    return _is_int(value) or (isinstance(value, (float, np.floating)) and math.isfinite(value))


@dataclass(frozen=True)
class ReplayConfig:
    """Replay memory for DQN-style agents.

    ``capacity`` counts transitions over all environments together; each of
    the ``num_envs`` rings of a buffer gets ``capacity // num_envs``.  With
    ``prioritized`` the buffer samples in proportion to ``(|td| + eps) ** alpha``
    and weighs samples by ``(N * P) ** -beta`` (``beta0`` unless ``sample`` is
    given another ``beta``, so the caller anneals it).
    """

    capacity: int = 1_000_000
    n_step: int = 1
    gamma: float = 0.99
    prioritized: bool = False
    alpha: float = 0.6
    beta0: float = 0.4
    eps: float = 1e-6

    def __post_init__(self) -> None:
        if not _is_int(self.capacity) or self.capacity < 1:
            raise ValueError(f"ReplayConfig.capacity must be a positive integer, got {self.capacity!r}")
        if not _is_int(self.n_step) or self.n_step < 1:
            raise ValueError(f"ReplayConfig.n_step must be an integer >= 1, got {self.n_step!r}")
        if not _is_real(self.gamma) or not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"ReplayConfig.gamma must be a number in [0, 1], got {self.gamma!r}")
        if not isinstance(self.prioritized, (bool, np.bool_)):
            raise ValueError(f"ReplayConfig.prioritized must be a bool, got {self.prioritized!r}")
        if not _is_real(self.alpha) or self.alpha < 0.0:
            raise ValueError(f"ReplayConfig.alpha must be a finite number >= 0, got {self.alpha!r}")
        if not _is_real(self.beta0) or not 0.0 <= self.beta0 <= 1.0:
            raise ValueError(f"ReplayConfig.beta0 must be a number in [0, 1], got {self.beta0!r}")
        if not _is_real(self.eps) or self.eps <= 0.0:
            raise ValueError(f"ReplayConfig.eps must be a finite number > 0, got {self.eps!r}")
        object.__setattr__(self, "capacity", int(self.capacity))
        object.__setattr__(self, "n_step", int(self.n_step))
        object.__setattr__(self, "prioritized", bool(self.prioritized))
        for name in ("gamma", "alpha", "beta0", "eps"):
            object.__setattr__(self, name, float(getattr(self, name)))


class Batch(NamedTuple):
    """A sampled batch of n-step transitions (B rows)."""

    obs: np.ndarray  # [B, *obs_shape] or [B, stack, *obs_shape], stored dtype
    actions: np.ndarray  # [B] int64
    rewards: np.ndarray  # [B] float32: sum_{k<K} gamma^k r_{t+k}, K <= n_step, stops at the episode end
    next_obs: np.ndarray  # [B, ...] the observation at t+K
    discounts: np.ndarray  # [B] float32: 0 when the episode terminated within the K steps, else gamma^K
    indices: np.ndarray  # [B] int64 handles for ReplayBuffer.update_priorities
    weights: np.ndarray  # [B] float32 importance weights normalised by their max (ones when uniform)
