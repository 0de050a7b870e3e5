"""Sampling strategies over the sampleable transitions of a buffer.

A sampler sees the sampleable range ``lo <= t < hi`` of every environment
(int64 [N] arrays, see ``_kernels``) and chooses transitions ``(env, t)``.
The buffer tells it when the ranges move (``track``); the prioritized one
keeps a sum tree in step with them.
"""

from __future__ import annotations

import numpy as np

from rlengine.replay import _kernels
from rlengine.replay._types import ReplayConfig


class UniformSampler:
    """Every sampleable transition equally likely (with replacement); weights are ones."""

    def __init__(self, config: ReplayConfig, *, num_envs: int, capacity: int) -> None:
        self.config = config

    @property
    def nbytes(self) -> int:
        return 0

    def track(self, old_lo, old_hi, lo, hi) -> None:
        pass

    def sample(self, batch_size: int, lo, hi, rng: np.random.Generator, beta: float):
        counts = np.maximum(hi - lo, 0)  # [N]
        ends = np.cumsum(counts)  # [N]
        u = rng.integers(0, ends[-1], size=batch_size)  # [B]
        env = np.searchsorted(ends, u, side="right")  # [B]
        t = lo[env] + u - (ends[env] - counts[env])  # [B]
        return env, t, np.ones(batch_size, np.float32)

    def update(self, env, t, priorities, lo, hi) -> None:
        pass  # nothing to update; the call is accepted so agents need not care

    def state_dict(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        pass


class PrioritizedSampler:
    """Proportional prioritized replay: P(i) = p_i^alpha / sum_k p_k^alpha with p = |td| + eps.

    Sampling is stratified (one draw in each of B equal slices of the total
    priority).  New transitions get the largest priority seen so far.
    """

    def __init__(self, config: ReplayConfig, *, num_envs: int, capacity: int) -> None:
        self.config = config
        self.num_envs = num_envs
        self.capacity = capacity
        self.tree = np.zeros(2 * num_envs * capacity, np.float64)  # [2M] sum tree over M leaves
        self.max_priority = 1.0  # largest |td| + eps so far (before alpha)

    @property
    def nbytes(self) -> int:
        return self.tree.nbytes

    def track(self, old_lo, old_hi, lo, hi) -> None:
        value = self.max_priority**self.config.alpha
        _kernels.tree_track(self.tree, self.capacity, old_lo, old_hi, lo, hi, value)

    def sample(self, batch_size: int, lo, hi, rng: np.random.Generator, beta: float):
        u = rng.random(batch_size)  # [B]
        leaves = _kernels.tree_sample(self.tree, u)  # [B]
        env, slot = np.divmod(leaves, self.capacity)  # [B], [B]
        t = lo[env] + (slot - lo[env]) % self.capacity  # [B]: the transition now in that slot
        num_leaves = self.tree.shape[0] // 2
        probs = self.tree[leaves + num_leaves] / self.tree[1]  # [B]
        size = float(np.maximum(hi - lo, 0).sum())
        weights = (size * probs) ** -beta  # [B]
        return env, t, (weights / weights.max()).astype(np.float32)

    def update(self, env, t, priorities, lo, hi) -> None:
        live = (t >= lo[env]) & (t < hi[env])  # [B]: stale handles are ignored
        p = np.abs(priorities[live]).astype(np.float64) + self.config.eps  # [B']
        if p.size == 0:
            return
        self.max_priority = max(self.max_priority, float(p.max()))
        leaves = env[live] * self.capacity + t[live] % self.capacity  # [B']
        _kernels.tree_set(self.tree, leaves, p**self.config.alpha)

    def state_dict(self) -> dict[str, np.ndarray]:
        num_leaves = self.tree.shape[0] // 2
        return {
            "priorities": self.tree[num_leaves:],  # leaves only; the tree is rebuilt on load
            "max_priority": np.array(self.max_priority, np.float64),
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        num_leaves = self.tree.shape[0] // 2
        self.tree[:num_leaves] = 0.0
        self.tree[num_leaves:] = state["priorities"]
        _kernels.tree_rebuild(self.tree)
        self.max_priority = float(state["max_priority"])


def make_sampler(config: ReplayConfig, *, num_envs: int, capacity: int):
    """The sampler the config asks for."""
    cls = PrioritizedSampler if config.prioritized else UniformSampler
    return cls(config, num_envs=num_envs, capacity=capacity)
