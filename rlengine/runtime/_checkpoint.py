"""Checkpoints: a folder per step, written whole to a temp folder and renamed.

``runs/<name>/checkpoints/step-000001000/`` holds

- ``model.safetensors``: every named tensor group (``online.*``, ``target.*``);
- ``optim.safetensors`` + ``optim.json``: optimizer state without pickle, its tensors in the first and
  its structure and scalars in the second (``optim.pt`` of older checkpoints is still read, with
  ``torch.load(weights_only=True)``);
- ``state.json``: counters, RNG states and the agent's name;
- ``config.toml``: the resolved run config;
- ``replay/`` (optional): the replay buffer's arrays, one ``.npy`` file each, read back memory-mapped so
  that restoring a buffer copies from the page cache instead of first loading a second copy of it
  (older checkpoints' ``replay.npz`` is still read).

``checkpoints/latest`` names the newest complete checkpoint; it is replaced
atomically after the folder is in place, so a run killed at any moment
resumes from a whole checkpoint.  Nothing here unpickles user data.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rlengine.runtime._atomic import atomic_write_text, fsync_dir

__all__ = ["Checkpoint", "CheckpointError", "find_checkpoint", "latest_checkpoint", "load_checkpoint",
           "load_module_state", "read_state", "save_checkpoint"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A missing, corrupt or mismatched checkpoint; the message names the file."""


@dataclass
class Checkpoint:
    path: Path
    tensors: dict[str, torch.Tensor]
    optimizer: dict | None
    state: dict[str, Any]
    config_toml: str
    replay: dict[str, np.ndarray] | None

    @property
    def step(self) -> int:
        return int(self.state["step"])

    @property
    def agent(self) -> str:
        return str(self.state["agent"])


def _step_name(step: int) -> str:
    return f"step-{step:012d}"


def save_checkpoint(directory: str | Path, step: int, *, agent: str, tensors: dict[str, torch.Tensor],
                    optimizer: dict | None, state: dict[str, Any], config_toml: str,
                    replay: dict[str, np.ndarray] | None = None, keep: int = 3) -> Path:
    """Write a checkpoint atomically and point ``latest`` at it; keep the newest ``keep``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / _step_name(step)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=directory))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; the renamed checkpoint should read like any other folder
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp / "model.safetensors"),
                  metadata={"format": str(FORMAT_VERSION), "agent": agent, "step": str(step)})
        if optimizer is not None:
            structure, optim_tensors = _flatten(optimizer)
            save_file(optim_tensors, str(tmp / "optim.safetensors"))
            (tmp / "optim.json").write_text(json.dumps(structure))
        full_state = dict(state, step=int(step), agent=agent, format=FORMAT_VERSION)
        (tmp / "state.json").write_text(json.dumps(full_state, indent=1, sort_keys=True))
        (tmp / "config.toml").write_text(config_toml)
        if replay is not None:
            (tmp / "replay").mkdir()
            for key, value in replay.items():
                np.save(tmp / "replay" / f"{key}.npy", np.asarray(value), allow_pickle=False)
        for f in [*tmp.iterdir(), *(tmp / "replay").glob("*.npy")]:
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        fsync_dir(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(directory / "latest", final.name + "\n")
    _prune(directory, keep)
    return final


def _flatten(obj: Any, tensors: dict[str, torch.Tensor] | None = None) -> tuple[Any, dict[str, torch.Tensor]]:
    """A nested optimizer state (dicts with int or str keys, lists, tensors, scalars) as (JSON-able structure,
    tensors by name): a dict becomes ``{"dict": [[key, value], ...]}``, a tuple ``{"tuple": [...]}``, a tensor
    ``{"tensor": name}``."""
    tensors = {} if tensors is None else tensors
    if isinstance(obj, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = obj.detach().contiguous().cpu()
        return {"tensor": name}, tensors
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, (int, str)):
                raise TypeError(f"optimizer state key {key!r}: only int and str keys can be stored")
            items.append([key, _flatten(value, tensors)[0]])
        return {"dict": items}, tensors
    if isinstance(obj, tuple):
        return {"tuple": [_flatten(v, tensors)[0] for v in obj]}, tensors
    if isinstance(obj, list):
        return [_flatten(v, tensors)[0] for v in obj], tensors
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj, tensors
    raise TypeError(f"optimizer state value of type {type(obj).__name__} cannot be stored without pickle")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict) and "tensor" in obj:
        return tensors[obj["tensor"]]
    if isinstance(obj, dict) and "tuple" in obj:
        return tuple(_unflatten(v, tensors) for v in obj["tuple"])
    if isinstance(obj, dict):
        return {key: _unflatten(value, tensors) for key, value in obj["dict"]}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def _read_optimizer(path: Path) -> dict:
    try:
        structure = json.loads((path / "optim.json").read_text())
        tensors = load_file(str(path / "optim.safetensors"))
        return _unflatten(structure, tensors)
    except FileNotFoundError:
        raise CheckpointError(f"{path / 'optim.safetensors'}: missing (optim.json is there)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path / 'optim.json'}: corrupt: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path / 'optim.json'}: does not match optim.safetensors: {exc!r}") from None
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise CheckpointError(f"{path / 'optim.safetensors'}: corrupt: {exc}") from None


def _prune(directory: Path, keep: int) -> None:
    steps = sorted(p for p in directory.glob("step-*") if p.is_dir())
    for old in steps[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    for stale in directory.glob(".step-*"):  # temp folders of a run that was killed mid-write
        shutil.rmtree(stale, ignore_errors=True)


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest complete checkpoint under ``directory`` (None if there is none)."""
    directory = Path(directory)
    pointer = directory / "latest"
    if pointer.exists():
        candidate = directory / pointer.read_text().strip()
        if (candidate / "state.json").exists():
            return candidate
    steps = sorted(p for p in directory.glob("step-*") if (p / "state.json").exists())
    return steps[-1] if steps else None


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder from a checkpoint, a ``checkpoints/`` folder, its ``latest`` pointer or a run directory."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} not found")
    if path.is_file() and path.name == "latest":  # the pointer training writes: follow it
        target = path.parent / path.read_text().strip()
        if not (target / "state.json").exists():
            raise CheckpointError(f"{path}: points to {target.name}, which is not a complete checkpoint")
        return target
    if (path / "state.json").exists():
        return path
    for directory in (path, path / "checkpoints"):
        found = latest_checkpoint(directory) if directory.is_dir() else None
        if found is not None:
            return found
    raise CheckpointError(f"{path}: no checkpoint here (expected state.json, or a checkpoints/ folder)")


def read_state(path: str | Path) -> dict[str, Any]:
    """A checkpoint's ``state.json`` alone (step, agent, counters), checked; the tensors are not read."""
    path = find_checkpoint(path)
    try:
        state = json.loads((path / "state.json").read_text())
        if not isinstance(state, dict) or "step" not in state or "agent" not in state:
            raise CheckpointError(f"{path / 'state.json'}: missing 'step' or 'agent'")
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path / 'state.json'}: unreadable: {exc}") from None
    if state.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path / 'state.json'}: format {state.get('format')!r}, expected {FORMAT_VERSION}")
    return state


def load_checkpoint(path: str | Path, *, with_replay: bool = False) -> Checkpoint:
    """Read a checkpoint; CheckpointError names the file that is missing or corrupt."""
    path = find_checkpoint(path)
    state = read_state(path)
    try:
        tensors = load_file(str(path / "model.safetensors"))
    except FileNotFoundError:
        raise CheckpointError(f"{path / 'model.safetensors'}: missing") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path / 'model.safetensors'}: corrupt: {exc}") from None
    optimizer = None
    if (path / "optim.json").exists():
        optimizer = _read_optimizer(path)
    elif (path / "optim.pt").exists():  # checkpoints written before optim.json
        try:
            optimizer = torch.load(path / "optim.pt", map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for a damaged file
            raise CheckpointError(f"{path / 'optim.pt'}: corrupt: {exc}") from None
    try:
        config_toml = (path / "config.toml").read_text()
    except OSError as exc:
        raise CheckpointError(f"{path / 'config.toml'}: unreadable: {exc}") from None
    replay = None
    if with_replay and (path / "replay").is_dir():
        replay = {}
        for file in sorted((path / "replay").glob("*.npy")):
            try:  # memory-mapped: the caller copies each array into place without a second copy in memory
                replay[file.stem] = np.load(file, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise CheckpointError(f"{file}: corrupt: {exc}") from None
    elif with_replay and (path / "replay.npz").exists():  # checkpoints written before replay/
        try:
            with np.load(path / "replay.npz", allow_pickle=False) as z:
                replay = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise CheckpointError(f"{path / 'replay.npz'}: corrupt: {exc}") from None
    return Checkpoint(path, tensors, optimizer, state, config_toml, replay)


def load_module_state(module: torch.nn.Module, tensors: dict[str, torch.Tensor], prefix: str, *, source: Path) -> None:
    """Load ``prefix.*`` tensors into ``module``; CheckpointError naming missing/unexpected/mis-shaped keys."""
    sub = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    own = module.state_dict()
    missing = sorted(set(own) - set(sub))
    unexpected = sorted(set(sub) - set(own))
    shapes = [f"{k}: checkpoint {tuple(sub[k].shape)} vs network {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(sub)) if own[k].shape != sub[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}")
        if shapes:
            parts.append("shape mismatch " + "; ".join(shapes[:3]))
        raise CheckpointError(f"{source}: checkpoint does not fit this network ({prefix}): " + ", ".join(parts))
    module.load_state_dict(sub)
