"""Finds players (and later agents) by name through package entry points.

A player spec is ``NAME`` or ``NAME:ARG`` (``random``, ``policy:ckpt.safetensors``,
``gtp:/usr/games/gnugo --mode gtp``).  ``NAME`` is looked up in the
``rlengine.players`` entry-point group; the factory is called as
``factory(ARG, seed=seed)`` and returns an object with ``genmove``.
"""

from __future__ import annotations

from importlib.metadata import entry_points

__all__ = ["PLAYER_GROUP", "available_players", "load_player"]

PLAYER_GROUP = "rlengine.players"


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
