"""Policy and value checkpoints.  ``load_policy`` reads what the SL training loop (``agents.alphago.sl``), the RL loop
(``agents.alphago.rl``: its checkpoints and opponent-pool snapshots) and ``save_policy`` write, for the
``policy:`` and ``mcts:`` players, evaluation and benchmarks, without importing a training loop.
``save_training`` / ``resume_training`` are the two loops' shared checkpoint of a run in progress
(weights, optimiser, RNG states, the loop's own state).  ``load_value`` reads the value network's
checkpoints (``agents.alphago.value``, agent ``alphago_value``, tensors under ``value.``) and ``value_komi`` the
komi a value network was trained at (it has no komi input: the komi of its games is baked into its output)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import torch
from torch import nn

from agents.alphago.config import RLRunConfig, SLRunConfig, ValueRunConfig
from agents.alphago.nets import build_policy_net, build_value_net
from rlengine.config import ConfigError, load_config, to_toml
from rlengine.runtime import (
    CheckpointError,
    find_checkpoint,
    load_checkpoint,
    load_module_state,
    pick_device,
    read_state,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)

__all__ = ["AGENT_NAME", "PREFIX", "VALUE_AGENT", "VALUE_PREFIX", "load_policy", "load_value", "policy_tensors",
           "resume_training", "save_policy", "save_training", "value_komi"]

AGENT_NAME = "alphago"  # the agent a checkpoint names
PREFIX = "policy"  # tensor-name prefix of the policy network's weights
_CONFIGS = {"alphago": SLRunConfig, "alphago_rl": RLRunConfig}  # agents whose checkpoints hold a policy
VALUE_AGENT = "alphago_value"
VALUE_PREFIX = "value"  # tensor-name prefix of the value network's weights


def _read(path: str | Path, configs: dict[str, type], what: str):
    """(checkpoint, config) of a checkpoint (or shipped weights' name) whose agent is one of ``configs``;
    CheckpointError names the path."""
    from agents.alphago.weights import resolve

    ckpt = load_checkpoint(resolve(path))
    config_class = configs.get(ckpt.agent)
    if config_class is None:
        raise CheckpointError(f"{ckpt.path}: a checkpoint of agent {ckpt.agent!r}, not {what} "
                              f"({', '.join(configs)})")
    try:
        cfg = load_config(config_class, data=tomllib.loads(ckpt.config_toml))
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise CheckpointError(f"{ckpt.path / 'config.toml'}: {exc}") from None
    trained = ckpt.state.get("board_size")
    if trained is not None and trained != cfg.board_size:
        raise CheckpointError(f"{ckpt.path / 'config.toml'}: board size {cfg.board_size}, but the weights were "
                              f"trained for {trained}x{trained} boards")
    return ckpt, cfg


def load_policy(path: str | Path, *, device: str | None = None
                ) -> tuple[SLRunConfig | RLRunConfig, nn.Module, torch.device]:
    """(config, network in eval mode, device) of an alphago SL or RL checkpoint (``cfg.board_size``,
    ``cfg.network``); CheckpointError names the path."""
    ckpt, cfg = _read(path, _CONFIGS, "a Go policy")
    dev = pick_device(device or cfg.run.device)
    net = build_policy_net(cfg.network, cfg.board_size)
    load_module_state(net, ckpt.tensors, PREFIX, source=ckpt.path)
    return cfg, net.to(dev).eval(), dev


def load_value(path: str | Path, *, device: str | None = None) -> tuple[ValueRunConfig, nn.Module, torch.device]:
    """(config, value network in eval mode, device) of an ``alphago_value`` checkpoint (``cfg.board_size``,
    ``cfg.network.encoder``); CheckpointError names the path, e.g. for a policy checkpoint."""
    ckpt, cfg = _read(path, {VALUE_AGENT: ValueRunConfig}, "a Go value network")
    dev = pick_device(device or cfg.run.device)
    net = build_value_net(cfg.network, cfg.board_size)
    load_module_state(net, ckpt.tensors, VALUE_PREFIX, source=ckpt.path)
    return cfg, net.to(dev).eval(), dev


def value_komi(path: str | Path) -> float | None:
    """The komi the value network of an ``alphago_value`` checkpoint was trained at: ``komi`` in its
    ``state.json`` (written since the komi check exists: the komi of the games it learned from), else
    ``game.komi`` as its ``config.toml`` spells it out (the config the games were made with), else None
    (unknown).  The tensors are not read; CheckpointError names the path."""
    from agents.alphago.weights import resolve

    state = read_state(resolve(path))
    if state.get("agent") != VALUE_AGENT:
        raise CheckpointError(f"{path}: a checkpoint of agent {state.get('agent')!r}, not a Go value network "
                              f"({VALUE_AGENT})")
    if isinstance(state.get("komi"), (int, float)):
        return float(state["komi"])
    folder = find_checkpoint(resolve(path))
    try:
        game = tomllib.loads((folder / "config.toml").read_text()).get("game", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CheckpointError(f"{folder / 'config.toml'}: {exc}") from None
    komi = game.get("komi") if isinstance(game, dict) else None
    return float(komi) if isinstance(komi, (int, float)) and not isinstance(komi, bool) else None


def save_policy(cfg: SLRunConfig, net: nn.Module, directory: str | Path, *, step: int = 0) -> Path:
    """Write ``net`` as a policy checkpoint (no optimiser state) that ``load_policy`` and the ``policy:`` /
    ``mcts:`` players read; an untrained ``build_policy_net`` gives a uniform-ish baseline for tests."""
    return save_checkpoint(directory, step, agent=AGENT_NAME, tensors=policy_tensors(net), optimizer=None,
                           state={"board_size": cfg.data.board_size, "encoder": cfg.network.encoder},
                           config_toml=to_toml(cfg))


def policy_tensors(net: nn.Module, prefix: str = PREFIX) -> dict[str, torch.Tensor]:
    """The network's weights under the checkpoint's ``policy.`` (or ``prefix.``) prefix."""
    return {f"{prefix}.{k}": v for k, v in net.state_dict().items()}


def save_training(directory: str | Path, step: int, *, agent: str, net: nn.Module, optimizer: torch.optim.Optimizer,
                  state: dict, config_toml: str, keep: int, prefix: str = PREFIX) -> Path:
    """A training run's checkpoint: weights, optimiser, the RNG states (under ``state["rng"]``) and ``state``."""
    rng_json, rng_tensors = rng_state()
    tensors = policy_tensors(net, prefix)
    tensors.update(rng_tensors)
    return save_checkpoint(directory, step, agent=agent, tensors=tensors, optimizer=optimizer.state_dict(),
                           state={**state, "rng": rng_json}, config_toml=config_toml, keep=keep)


def resume_training(path: str | Path, *, agent: str, net: nn.Module, optimizer: torch.optim.Optimizer,
                    prefix: str = PREFIX) -> dict:
    """Undo of ``save_training``: loads the weights, the optimiser and the RNG states; returns the state."""
    ckpt = load_checkpoint(path)
    if ckpt.agent != agent:
        raise CheckpointError(f"{ckpt.path}: a checkpoint of agent {ckpt.agent!r}, not {agent}")
    load_module_state(net, ckpt.tensors, prefix, source=ckpt.path)
    if ckpt.optimizer is None:
        raise CheckpointError(f"{ckpt.path}: optimizer state missing")
    optimizer.load_state_dict(ckpt.optimizer)
    restore_rng_state(ckpt.state["rng"], ckpt.tensors)
    return ckpt.state
