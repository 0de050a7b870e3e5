"""Device choice and the generator states a checkpoint carries (shared by the training loops)."""

from __future__ import annotations

import random

import numpy as np
import torch

from rlengine.config import ConfigError

__all__ = ["pick_device", "restore_rng_state", "rng_state"]


def pick_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``; ConfigError names
    ``run.device`` when CUDA is asked for and missing."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"run.device = {name!r} but CUDA is not available")
    return torch.device(name)


def rng_state() -> tuple[dict, dict[str, torch.Tensor]]:
    """Python's, numpy's global and torch's (CPU, CUDA) generator states: JSON-able part and tensors."""
    py = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [py[0], list(py[1]), py[2]],
             "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    return state, tensors


def restore_rng_state(state: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Undo of ``rng_state``."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
