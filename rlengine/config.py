"""Run configs: frozen dataclasses loaded from TOML, with ``--set key=value`` overrides.

A run config is a frozen dataclass whose fields are section dataclasses
(``[dqn]``, ``[env]``, ...).  ``load_config`` reads a TOML file, applies
overrides such as ``dqn.lr=1e-4``, checks every key and type, and builds the
dataclasses (whose ``__post_init__`` validate values).  Every problem raises
``ConfigError`` naming the file and the key.  ``to_toml`` writes a config
back; what it writes loads to an equal config.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Mapping

__all__ = ["DATA_ENV", "ConfigError", "check", "check_device", "expand_path", "from_dict", "load_config",
           "parse_overrides", "read_toml", "to_dict", "to_toml"]

DATA_ENV = "RLENGINE_DATA"  # the folder of a user's data sets (e.g. go/tom-9d-19x19.tar.gz)


class ConfigError(ValueError):
    """A config problem; the message names the file and the key."""


def check(cond: bool, key: str, message: str) -> None:
    """For a section's ``__post_init__``: ValueError ``"KEY: MESSAGE"`` unless ``cond`` (``load_config``
    adds the file)."""
    if not cond:
        raise ValueError(f"{key}: {message}")


def check_device(device: str, key: str = "run.device") -> None:
    """``auto``, ``cpu`` or ``cuda[:N]``."""
    check(device in ("auto", "cpu") or device.startswith("cuda"), key,
          f"expected auto, cpu or cuda[:N], got {device!r}")


def expand_path(value: str, key: str) -> str:
    """A config path with ``$VAR`` / ``${VAR}`` expanded from the environment (configs name data as
    ``${RLENGINE_DATA}/go/...``, so that no path outside the repository is written into them); ConfigError
    names the key and the variable when it is not set."""
    import os
    import re

    for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", value):
        if name not in os.environ:
            hint = " (the folder that holds your data sets, e.g. go/tom-9d-19x19.tar.gz)" if name == DATA_ENV else ""
            raise ConfigError(f"{key} = {value!r}: the environment variable {name} is not set{hint}; set it, "
                              f"or give {key} a path")
    return os.path.expandvars(value)


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["dqn.lr=1e-4", "env.id=breakout"]`` -> ``{"dqn.lr": 0.0001, "env.id": "breakout"}``.

    Values are read as TOML (numbers, booleans, strings in quotes, arrays);
    anything that is not valid TOML is taken as a plain string.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. dqn.lr=1e-4")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        out[key] = value
    return out


def _apply_overrides(data: dict, overrides: Mapping[str, Any]) -> dict:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {dotted}: {part!r} is not a section")
        node[parts[-1]] = value
    return data


def _strip_optional(tp):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _coerce(value: Any, tp, where: str) -> Any:
    tp, optional = _strip_optional(tp)
    if value is None and optional:
        return None
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a section (table), got {value!r}")
        return from_dict(tp, value, where=where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected an array, got {value!r}")
        args = typing.get_args(tp)
        item_tp = args[0] if args else Any
        items = [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def from_dict(cls, data: Mapping[str, Any], *, where: str = "config"):
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys by name."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a section (table), got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}" + (f" (and {unknown[1:]})" if unknown[1:] else "")
                          + f"; known keys: {', '.join(sorted(fields))}")
    kwargs = {name: _coerce(value, hints[name], f"{where}.{name}" if where != "config" else name)
              for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where}: {exc}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict; ConfigError names the file (and the line, for a syntax error)."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config(cls, path: str | Path | None = None, *, overrides: list[str] | Mapping[str, Any] | None = None,
                data: Mapping[str, Any] | None = None):
    """Read TOML ``path`` (or a ``data`` mapping), apply overrides, build ``cls``."""
    source = str(path) if path is not None else "config"
    if path is not None:
        data = read_toml(path)
    if isinstance(overrides, list) or overrides is None:
        overrides = parse_overrides(overrides)
    merged = _apply_overrides(dict(data or {}), overrides)
    try:
        return from_dict(cls, merged, where="config")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def to_dict(config) -> dict[str, Any]:
    """A plain nested dict (tuples as lists, None values left out)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is None:
            continue
        if dataclasses.is_dataclass(value):
            value = to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, int) or value == value else "nan"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def to_toml(config) -> str:
    """TOML text of a run config (top-level scalars first, then one table per section)."""
    data = to_dict(config)
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, values in data.items():
        if isinstance(values, dict):
            if lines:
                lines.append("")
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"
