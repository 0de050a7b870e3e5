"""The replay buffer: per-environment rings of single frames plus per-transition arrays."""

from __future__ import annotations

import math

import numpy as np

from rlengine.replay import _kernels
from rlengine.replay._sampling import make_sampler
from rlengine.replay._types import Batch, ReplayConfig

# Extra frames per ring beyond one per transition.  An episode start stores
# ``stack`` frames more than a later step, so a ring of C transitions within
# one episode spans C + stack frames; the slack of C // FRAME_SLACK_DIV
# frames absorbs ``C // (FRAME_SLACK_DIV * stack)`` further episode starts
# (episodes of >= FRAME_SLACK_DIV * stack steps lose nothing; shorter ones lose
# the oldest few transitions).  Tiny frames (vector observations) get rings
# large enough for the worst case instead.
FRAME_SLACK_DIV = 128
TINY_STACK_BYTES = 256

_COUNTERS = ("num_added", "num_frames", "last_end", "lo", "hi")


class ReplayBuffer:
    """Replay memory over ``num_envs`` parallel environments that stores each frame once.

    ``add`` takes one step of all environments; ``obs``/``next_obs`` are
    ``[N, stack, *obs_shape]`` when ``stack > 1``, else ``[N, *obs_shape]``.
    Within an episode each ``obs`` must be the previous ``next_obs`` of that
    environment (so do not mask out rows in the middle of an episode).  The
    first add of an episode stores all ``stack`` frames of ``obs``; every add
    stores the newest frame of ``next_obs``.  ``sample`` rebuilds the stacks
    and the n-step returns; it only returns transitions whose frames are
    still stored and whose n-step window is complete (or ended the episode).
    """

    def __init__(
        self,
        config: ReplayConfig,
        *,
        obs_shape: tuple[int, ...],
        obs_dtype=np.uint8,
        num_envs: int = 1,
        stack: int = 1,
        seed: int | None = None,
    ) -> None:
        if not isinstance(config, ReplayConfig):
            raise TypeError(f"config must be a ReplayConfig, got {type(config).__name__}")
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if isinstance(stack, bool) or not isinstance(stack, (int, np.integer)) or stack < 1:
            raise ValueError(f"stack must be a positive integer, got {stack!r}")
        obs_shape = tuple(int(d) for d in obs_shape)
        if any(d < 1 for d in obs_shape):
            raise ValueError(f"obs_shape must have positive sizes, got {obs_shape}")
        capacity = config.capacity // int(num_envs)
        if capacity < config.n_step:
            raise ValueError(
                f"capacity {config.capacity} over {num_envs} environments leaves {capacity} transitions "
                f"per environment, fewer than n_step={config.n_step}"
            )
        self.config = config
        self.obs_shape = obs_shape
        self.obs_dtype = np.dtype(obs_dtype)
        self.num_envs = int(num_envs)
        self.stack = int(stack)
        self.capacity_per_env = capacity
        frame_size = math.prod(obs_shape)
        if frame_size * self.obs_dtype.itemsize * self.stack <= TINY_STACK_BYTES:
            num_frames = (self.stack + 1) * capacity
        else:
            num_frames = capacity + self.stack + capacity // FRAME_SLACK_DIV
        n, c = self.num_envs, capacity
        # np.zeros: the pages are only touched when written
        self._frames = np.zeros((n, num_frames, frame_size), self.obs_dtype)  # [N, F, D]
        self._actions = np.zeros((n, c), np.int32)  # [N, C]
        self._rewards = np.zeros((n, c), np.float32)  # [N, C]
        self._terminated = np.zeros((n, c), np.bool_)  # [N, C]
        self._truncated = np.zeros((n, c), np.bool_)  # [N, C]
        self._frame_index = np.zeros((n, c), np.int64)  # [N, C]
        self._num_added = np.zeros(n, np.int64)  # [N]
        self._num_frames = np.zeros(n, np.int64)  # [N]
        self._last_end = np.full(n, -1, np.int64)  # [N]
        self._lo = np.zeros(n, np.int64)  # [N]
        self._hi = np.zeros(n, np.int64)  # [N]
        self._episode_start = np.ones(n, np.bool_)  # [N]
        self._all_rows = np.ones(n, np.bool_)  # [N]
        self._sampler = make_sampler(config, num_envs=n, capacity=c)
        self._rng = np.random.Generator(np.random.PCG64(seed))

    # ---- writing -------------------------------------------------------------

    def add(self, obs, actions, rewards, terminated, truncated, next_obs, *, mask=None) -> None:
        """Store one step of the ``num_envs`` environments (rows with ``mask`` False are skipped)."""
        obs = self._stacked(obs, "obs")  # [N, S, D]
        next_obs = self._stacked(next_obs, "next_obs")  # [N, S, D]
        actions = self._column(actions, "actions", np.int32)  # [N]
        rewards = self._column(rewards, "rewards", np.float32)  # [N]
        terminated = self._column(terminated, "terminated", np.bool_)  # [N]
        truncated = self._column(truncated, "truncated", np.bool_)  # [N]
        mask = self._all_rows if mask is None else self._column(mask, "mask", np.bool_)  # [N]
        if not np.all(np.isfinite(rewards)):
            raise ValueError("rewards must be finite")
        old_lo, old_hi = self._lo.copy(), self._hi.copy()  # [N], [N]
        _kernels.add_step(
            self._frames, self._actions, self._rewards, self._terminated, self._truncated, self._frame_index,
            self._num_added, self._num_frames, self._last_end, self._episode_start, self._lo, self._hi,
            obs, next_obs, actions, rewards, terminated, truncated, mask, self.config.n_step,
        )  # fmt: skip
        self._sampler.track(old_lo, old_hi, self._lo, self._hi)

    def _stacked(self, x, name: str) -> np.ndarray:
        x = np.asarray(x)
        want = (self.num_envs, self.stack, *self.obs_shape) if self.stack > 1 else (self.num_envs, *self.obs_shape)
        if x.shape != want:
            raise ValueError(f"{name} must have shape {want}, got {x.shape}")
        if x.dtype != self.obs_dtype:
            if not np.can_cast(x.dtype, self.obs_dtype, casting="same_kind"):
                raise ValueError(f"{name} has dtype {x.dtype}, which does not cast to the stored {self.obs_dtype}")
            x = x.astype(self.obs_dtype)
        return np.ascontiguousarray(x).reshape(self.num_envs, self.stack, -1)

    def _column(self, x, name: str, dtype) -> np.ndarray:
        x = np.asarray(x)
        if x.shape != (self.num_envs,):
            raise ValueError(f"{name} must have shape ({self.num_envs},), got {x.shape}")
        return np.ascontiguousarray(x, dtype=dtype)

    def break_episodes(self) -> None:
        """End every environment's stored episode here: its newest transition is marked truncated (the
        n-step returns before it bootstrap from its next observation instead of running into what comes
        next) and the next ``add`` starts a new episode (its ``obs`` stack is stored whole).  For a buffer
        restored from a checkpoint whose environments were reset: without this, the first new transition
        would stack frames of the old episode and the last old ones would take rewards from the new."""
        for e in range(self.num_envs):
            if self._episode_start[e] or self._num_added[e] == 0:
                continue  # already at an episode boundary
            t = int(self._num_added[e]) - 1
            self._truncated[e, t % self.capacity_per_env] = True
            self._last_end[e] = t
            old_lo, old_hi = self._lo.copy(), self._hi.copy()
            self._hi[e] = max(self._hi[e], t + 1)
            self._episode_start[e] = True
            self._sampler.track(old_lo, old_hi, self._lo, self._hi)

    # ---- reading -------------------------------------------------------------

    def __len__(self) -> int:
        """Transitions that can be sampled now."""
        return int(np.maximum(self._hi - self._lo, 0).sum())

    @property
    def nbytes(self) -> int:
        """Bytes of all preallocated storage."""
        arrays = (
            self._frames, self._actions, self._rewards, self._terminated, self._truncated, self._frame_index,
            self._num_added, self._num_frames, self._last_end, self._lo, self._hi, self._episode_start,
        )  # fmt: skip
        return sum(a.nbytes for a in arrays) + self._sampler.nbytes

    def sample(self, batch_size: int, *, beta: float | None = None) -> Batch:
        """A batch of ``batch_size`` transitions, drawn with replacement."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        beta = self.config.beta0 if beta is None else float(beta)
        if not math.isfinite(beta) or beta < 0.0:
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        if len(self) == 0:
            raise ValueError("cannot sample from a replay buffer with no complete transitions")
        b = int(batch_size)
        env, t, weights = self._sampler.sample(b, self._lo, self._hi, self._rng, beta)  # [B], [B], [B]
        # one allocation for both: a single large block is recycled by malloc rather than
        # returned to the OS and page-faulted in again at every call
        pair = np.empty((2, b, self.stack, self._frames.shape[2]), self.obs_dtype)  # [2, B, S, D]
        obs, next_obs = pair[0], pair[1]  # [B, S, D] each, contiguous
        actions = np.empty(b, np.int64)  # [B]
        rewards = np.empty(b, np.float32)  # [B]
        discounts = np.empty(b, np.float32)  # [B]
        _kernels.gather(
            self._frames, self._actions, self._rewards, self._terminated, self._truncated, self._frame_index,
            env, t, self.config.n_step, self.config.gamma, obs, next_obs, actions, rewards, discounts,
        )  # fmt: skip
        shape = (b, self.stack, *self.obs_shape) if self.stack > 1 else (b, *self.obs_shape)
        return Batch(
            obs=obs.reshape(shape),
            actions=actions,
            rewards=rewards,
            next_obs=next_obs.reshape(shape),
            discounts=discounts,
            indices=t * self.num_envs + env,
            weights=weights,
        )

    def update_priorities(self, indices, priorities) -> None:
        """Set the priorities (|td error|; eps and alpha are applied here) of sampled transitions.

        Handles of transitions that have left the buffer since they were sampled
        are ignored.  A no-op for a uniform buffer.
        """
        indices = np.asarray(indices)
        priorities = np.asarray(priorities, dtype=np.float64)
        if indices.ndim != 1 or priorities.shape != indices.shape:
            raise ValueError(
                f"indices and priorities must be 1-d of the same length, got {indices.shape} and {priorities.shape}"
            )
        if not np.issubdtype(indices.dtype, np.integer) and indices.size:
            raise ValueError(f"indices must be integers, got dtype {indices.dtype}")
        if not np.all(np.isfinite(priorities)):
            raise ValueError("priorities must be finite")
        t, env = np.divmod(indices.astype(np.int64), self.num_envs)  # [B], [B]
        if np.any(t < 0):
            raise ValueError("indices must come from sample()")
        self._sampler.update(env, t, priorities, self._lo, self._hi)

    # ---- checkpointing ---------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to restore the buffer exactly, the sampling RNG included.

        The large arrays are views of the live storage (no copy of the frames):
        save or copy them before adding to or sampling from the buffer again.
        """
        rng = self._rng.bit_generator.state
        mask64 = (1 << 64) - 1
        state = {
            "frames": self._frames.reshape(self.num_envs, -1, *self.obs_shape),
            "actions": self._actions,
            "rewards": self._rewards,
            "terminated": self._terminated,
            "truncated": self._truncated,
            "frame_index": self._frame_index,
            **{name: getattr(self, "_" + name).copy() for name in _COUNTERS},
            "episode_start": self._episode_start.copy(),
            "n_step": np.array(self.config.n_step, np.int64),
            "stack": np.array(self.stack, np.int64),
            "rng_state": np.array(
                [
                    rng["state"]["state"] >> 64, rng["state"]["state"] & mask64,
                    rng["state"]["inc"] >> 64, rng["state"]["inc"] & mask64,
                    rng["has_uint32"], rng["uinteger"],
                ],
                np.uint64,
            ),  # fmt: skip
        }
        state.update(self._sampler.state_dict())
        return state

    def load_state_dict(self, state) -> None:
        """Restore from ``state_dict()``; a missing, unknown or mismatching entry raises ValueError naming it."""
        want = self.state_dict()
        for key in state:
            if key not in want:
                raise ValueError(f"unexpected key {key!r} in replay state")
        for key, ref in want.items():
            if key not in state:
                raise ValueError(f"missing key {key!r} in replay state")
            value = np.asarray(state[key])
            if value.shape != ref.shape:
                raise ValueError(f"replay state {key!r} has shape {value.shape}, expected {ref.shape}")
            if value.dtype != ref.dtype:
                raise ValueError(f"replay state {key!r} has dtype {value.dtype}, expected {ref.dtype}")
        for key in ("n_step", "stack"):
            if int(state[key]) != int(want[key]):
                raise ValueError(f"replay state {key!r} is {int(state[key])}, this buffer has {int(want[key])}")
        self._frames.reshape(want["frames"].shape)[...] = state["frames"]
        for key in ("actions", "rewards", "terminated", "truncated", "frame_index", *_COUNTERS, "episode_start"):
            getattr(self, "_" + key)[...] = state[key]
        self._sampler.load_state_dict(state)
        words = [int(w) for w in np.asarray(state["rng_state"])]
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": (words[0] << 64) | words[1], "inc": (words[2] << 64) | words[3]},
            "has_uint32": words[4],
            "uinteger": words[5],
        }
