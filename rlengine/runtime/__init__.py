"""Runtime: run directories, checkpoints, metrics (Ray wiring comes with the self-play issue)."""

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
]
