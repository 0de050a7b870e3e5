"""Game names: from what people type ("Pong", "PongNoFrameskip-v4", "ALE/MsPacman-v5") to ale-py ROM ids."""

from __future__ import annotations

import difflib
import functools
import re

from ale_py import roms

__all__ = ["all_rom_ids", "resolve_game"]

_SUFFIX = re.compile(r"(noframeskip|deterministic)?(-v\d+)?$", re.IGNORECASE)


def _key(name: str) -> str:
    """Lower case, letters and digits only: ``"Space-Invaders"`` -> ``"spaceinvaders"``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@functools.cache
def all_rom_ids() -> tuple[str, ...]:
    """The snake_case ROM ids that the installed ale-py ships, sorted."""
    return tuple(sorted(roms.get_all_rom_ids()))


@functools.cache
def _by_key() -> dict[str, str]:
    return {_key(rom): rom for rom in all_rom_ids()}


def resolve_game(game: str) -> str:
    """The ale-py ROM id for ``game``.

    Accepts ROM ids (``"space_invaders"``), CamelCase names (``"SpaceInvaders"``) and gym ids
    (``"SpaceInvadersNoFrameskip-v4"``, ``"ALE/SpaceInvaders-v5"``); case and separators are ignored.

    Raises:
        ValueError: no shipped ROM matches; the message names ``game`` and suggests close ROM ids.
    """
    if not isinstance(game, str) or not game.strip():
        raise ValueError(f"Atari game must be a non-empty string, got {game!r}")
    name = game.strip().rsplit("/", 1)[-1]
    name = _SUFFIX.sub("", name) or name
    rom = _by_key().get(_key(name))
    if rom is not None:
        return rom
    close = difflib.get_close_matches(_key(name), list(_by_key()), n=5, cutoff=0.6)
    hint = (
        f"did you mean {', '.join(repr(_by_key()[k]) for k in close)}?"
        if close
        else f"the {len(all_rom_ids())} shipped ROMs are listed by games.atari.all_rom_ids()"
    )
    raise ValueError(f"unknown Atari game {game!r}: no ale-py ROM of that name; {hint}")
