"""Runtime: self-play actors (in-process or on Ray), run directories, checkpoints, metrics."""

from rlengine.runtime._actors import ActorPool, WorkerError, connect_ray, set_thread_counts
from rlengine.runtime._atomic import atomic_write_bytes, atomic_write_text
from rlengine.runtime._checkpoint import (
    Checkpoint,
    CheckpointError,
    find_checkpoint,
    latest_checkpoint,
    load_checkpoint,
    load_module_state,
    read_state,
    save_checkpoint,
)
from rlengine.runtime._run_dir import MetricsLogger, RunDir
from rlengine.runtime._torch_state import pick_device, restore_rng_state, rng_state

__all__ = [
    "ActorPool",
    "Checkpoint",
    "CheckpointError",
    "MetricsLogger",
    "RunDir",
    "atomic_write_bytes",
    "atomic_write_text",
    "find_checkpoint",
    "latest_checkpoint",
    "load_checkpoint",
    "load_module_state",
    "pick_device",
    "read_state",
    "restore_rng_state",
    "rng_state",
    "save_checkpoint",
    "set_thread_counts",
    "WorkerError",
    "connect_ray",
]
