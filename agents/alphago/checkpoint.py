"""Policy checkpoints for inference: ``load_policy`` reads what the SL training loop (``agents.alphago.sl``),
the RL loop (``agents.alphago.rl``, its checkpoints and opponent-pool snapshots) and ``save_policy`` write, for the ``policy:`` and ``mcts:`` players, evaluation and benchmarks, without
importing the training loop."""

from __future__ import annotations

import tomllib
from pathlib import Path

import torch
from torch import nn

from agents.alphago.config import RLRunConfig, SLRunConfig
from agents.alphago.nets import build_policy_net
from rlengine.config import ConfigError, load_config, to_toml
from rlengine.runtime import CheckpointError, load_checkpoint, load_module_state, pick_device, save_checkpoint

__all__ = ["AGENT_NAME", "PREFIX", "load_policy", "save_policy"]

AGENT_NAME = "alphago"  # the agent a checkpoint names
PREFIX = "policy"  # tensor-name prefix of the policy network's weights
_CONFIGS = {"alphago": SLRunConfig, "alphago_rl": RLRunConfig}  # agents whose checkpoints hold a policy


def load_policy(path: str | Path, *, device: str | None = None
                ) -> tuple[SLRunConfig | RLRunConfig, nn.Module, torch.device]:
    """(config, network in eval mode, device) of an alphago SL or RL checkpoint (``cfg.board_size``,
    ``cfg.network``); CheckpointError names the path."""
    ckpt = load_checkpoint(path)
    config_class = _CONFIGS.get(ckpt.agent)
    if config_class is None:
        raise CheckpointError(f"{ckpt.path}: a checkpoint of agent {ckpt.agent!r}, not a Go policy "
                              f"({', '.join(_CONFIGS)})")
    try:
        cfg = load_config(config_class, data=tomllib.loads(ckpt.config_toml))
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise CheckpointError(f"{ckpt.path / 'config.toml'}: {exc}") from None
    dev = pick_device(device or cfg.run.device)
    net = build_policy_net(cfg.network, cfg.board_size)
    load_module_state(net, ckpt.tensors, PREFIX, source=ckpt.path)
    return cfg, net.to(dev).eval(), dev


def save_policy(cfg: SLRunConfig, net: nn.Module, directory: str | Path, *, step: int = 0) -> Path:
    """Write ``net`` as a policy checkpoint (no optimiser state) that ``load_policy`` and the ``policy:`` /
    ``mcts:`` players read; an untrained ``build_policy_net`` gives a uniform-ish baseline for tests."""
    tensors = {f"{PREFIX}.{k}": v for k, v in net.state_dict().items()}
    return save_checkpoint(directory, step, agent=AGENT_NAME, tensors=tensors, optimizer=None,
                           state={"board_size": cfg.data.board_size, "encoder": cfg.network.encoder},
                           config_toml=to_toml(cfg))
