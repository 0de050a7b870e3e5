"""Finds players (and later agents) by name through package entry points.

A player spec is ``NAME`` or ``NAME:ARG`` (``random``, ``policy:ckpt.safetensors``,
``gtp:/usr/games/gnugo --mode gtp``).  ``NAME`` is looked up in the
``rlengine.players`` entry-point group; the factory is called as
``factory(ARG, seed=seed)`` and returns an object with ``genmove``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Callable

__all__ = ["AGENT_GROUP", "AgentSpec", "PLAYER_GROUP", "available_agents", "available_players", "load_agent",
           "load_player"]

PLAYER_GROUP = "rlengine.players"
AGENT_GROUP = "rlengine.agents"


@dataclass(frozen=True)
class AgentSpec:
    """What an agent package exposes to the CLI (entry point group ``rlengine.agents``)."""

    name: str
    config_class: type  # frozen run-config dataclass, loaded from TOML
    train: Callable  # train(config, run_dir, *, progress=True) -> dict (last evaluation)
    evaluate: Callable  # evaluate(checkpoint, *, episodes=None, seed=None) -> dict
    watch: Callable  # watch(checkpoint, out, *, seed=None) -> dict
    # stages a CLI command runs on their own, by command name, e.g. {"gen-value-data": generate};
    # each is called as stage(config, progress=..., address=...) -> dict
    stages: dict = field(default_factory=dict)


def available_agents() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=AGENT_GROUP)})


def load_agent(name: str) -> AgentSpec:
    for ep in entry_points(group=AGENT_GROUP):
        if ep.name == name:
            return ep.load()
    known = ", ".join(available_agents()) or "none (is rlengine installed? pip install -e .)"
    raise ValueError(f"unknown agent {name!r}; known agents: {known}")


def available_players() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=PLAYER_GROUP)})


def load_player(spec: str, *, seed: int | None = None):
    """Build the player a spec names; ValueError naming the spec when it is unknown or bad."""
    name, _, arg = spec.partition(":")
    for ep in entry_points(group=PLAYER_GROUP):
        if ep.name == name:
            factory = ep.load()
            return factory(arg, seed=seed)
    known = ", ".join(available_players()) or "none (is rlengine installed? pip install -e .)"
    raise ValueError(f"unknown player {name!r} in spec {spec!r}; known players: {known}")
