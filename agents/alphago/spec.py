"""The argument of a player spec, ``policy:CHECKPOINT,key=value,...`` or ``mcts:CHECKPOINT,key=value,...``:
both players parse it here.  The checkpoint path may itself hold commas; the options are the trailing
``key=value`` parts."""

from __future__ import annotations

from typing import Callable

__all__ = ["parse_player_spec", "parse_spec_arg"]

_KIND_OF_VALUE = {int: "an integer", float: "a number", str: "a string"}


def parse_spec_arg(arg: str) -> tuple[str, dict[str, str]]:
    """(path, options) of ``PATH[,key=value]...``: trailing parts with ``=`` are options (of a repeated
    key, the first counts), the rest, commas included, is the path.

    >>> parse_spec_arg("runs/go9/checkpoints,sims=800,lambda=0.5")
    ('runs/go9/checkpoints', {'lambda': '0.5', 'sims': '800'})
    """
    parts = arg.split(",")
    options: dict[str, str] = {}
    while len(parts) > 1 and "=" in parts[-1]:
        key, _, value = parts.pop().partition("=")
        options[key.strip()] = value.strip()
    return ",".join(parts), options


def parse_player_spec(kind: str, arg: str, types: dict[str, Callable[[str], object]], *,
                      usage: str) -> tuple[str, dict[str, object]]:
    """(checkpoint path, {option: typed value}) of the argument of the player spec ``kind:arg``.

    ``types`` maps each known option to the type that parses its value (``int``, ``float``, ``str``).
    A ValueError names the spec and says what is wrong: no path (with ``usage``), an unknown option (with
    the known ones) or a value of the wrong type.
    """
    path, options = parse_spec_arg(arg)
    if not path:
        raise ValueError(f"player {kind!r} needs a checkpoint: {usage}")
    unknown = sorted(set(options) - set(types))
    if unknown:
        raise ValueError(f"player spec {kind}:{arg}: unknown option {unknown[0]!r}; known options: "
                         f"{', '.join(types)}")
    values: dict[str, object] = {}
    for key, text in options.items():
        parse = types[key]
        try:
            values[key] = parse(text)
        except ValueError:
            what = _KIND_OF_VALUE.get(parse, f"a {getattr(parse, '__name__', 'value')}")
            raise ValueError(f"player spec {kind}:{arg}: {key} must be {what}, got {text!r}") from None
    return path, values
