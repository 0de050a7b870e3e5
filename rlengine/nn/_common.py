"""Helpers shared by the ``rlengine.nn`` modules: config checks, input conversion, counting."""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch
from torch import nn

__all__ = ["num_parameters"]


# --- config checks -----------------------------------------------------------------------------
# Every message starts with ``Config.field`` so that a bad TOML value is easy to find.


def _where(config: Any, name: str) -> str:
    return f"{type(config).__name__}.{name}"


def check_int(config: Any, name: str, *, minimum: int = 1) -> None:
    """``config.<name>`` is an int (not a bool) no smaller than ``minimum``."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{_where(config, name)} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{_where(config, name)} must be >= {minimum}, got {value}")


def check_optional_int(config: Any, name: str, *, minimum: int = 1) -> None:
    if getattr(config, name) is not None:
        check_int(config, name, minimum=minimum)


def check_bool(config: Any, name: str) -> None:
    value = getattr(config, name)
    if not isinstance(value, bool):
        raise TypeError(f"{_where(config, name)} must be true or false, got {value!r}")


def check_float(config: Any, name: str, *, low: float, high: float = math.inf, low_open: bool = False) -> None:
    """``config.<name>`` is a finite number in ``[low, high)`` (``(low, high)`` with ``low_open``); stored as float."""
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{_where(config, name)} must be a finite number, got {value!r}")
    if value < low or (low_open and value == low) or value >= high:
        left = "(" if low_open else "["
        raise ValueError(f"{_where(config, name)} must be in {left}{low}, {high}), got {value}")
    object.__setattr__(config, name, float(value))


def check_choice(config: Any, name: str, choices: Iterable[str]) -> None:
    value = getattr(config, name)
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{_where(config, name)} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def check_int_tuple(config: Any, name: str, *, minimum: int = 1) -> None:
    """``config.<name>`` is a sequence of ints; stored as a tuple (TOML gives lists)."""
    value = getattr(config, name)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{_where(config, name)} must be a sequence of ints, got {value!r}")
    value = tuple(value)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < minimum:
            raise ValueError(f"{_where(config, name)} must hold ints >= {minimum}, got {value!r}")
    object.__setattr__(config, name, value)


# --- inputs ------------------------------------------------------------------------------------


def as_float(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` in the dtype of the parameter ``like`` (uint8 planes, float64 numpy arrays, ...).

    Under ``torch.autocast`` the parameters stay float32, so inputs become
    float32 here and autocast lowers the precision of each operation itself.
    """
    return x if x.dtype == like.dtype else x.to(like.dtype)


def check_input(module: nn.Module, x: torch.Tensor, expected: tuple[int | None, ...], layout: str) -> None:
    """A clear error when ``x`` does not match ``expected`` (``None`` = any size)."""
    ok = x.dim() == len(expected) and all(e is None or e == s for e, s in zip(expected, x.shape))
    if not ok:
        want = ", ".join("*" if e is None else str(e) for e in expected)
        raise ValueError(f"{type(module).__name__} expects {layout} = [{want}], got {tuple(x.shape)}")


# --- counting ----------------------------------------------------------------------------------


def num_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """The number of scalar parameters in ``module`` (shared tensors counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
