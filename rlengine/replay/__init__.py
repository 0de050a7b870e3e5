"""Replay memory: per-environment rings of single frames, n-step returns, uniform or prioritized sampling.

Frames are stored once and stacks are rebuilt on sampling, so an Atari
transition (84x84 uint8, stack 4) costs about 7.1 KB.  numpy and numba only.
"""

from rlengine.replay._buffer import ReplayBuffer
from rlengine.replay._types import Batch, ReplayConfig

__all__ = ["Batch", "ReplayBuffer", "ReplayConfig"]
