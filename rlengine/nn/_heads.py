"""Heads: features in, what the algorithm needs out.

* ``QHead``: action values from a feature vector, plain or dueling (Wang et al., 2016).
* ``PolicyHead``: move logits from board features (AlphaGo Zero style; pass optional).
* ``ValueHead``: a scalar in [-1, 1] from board features (AlphaGo Zero style).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rlengine.nn._common import as_float, check_bool, check_input, check_int, check_optional_int

__all__ = [
    "PolicyHead",
    "PolicyHeadConfig",
    "QHead",
    "QHeadConfig",
    "ValueHead",
    "ValueHeadConfig",
]


# --- Q head ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QHeadConfig:
    """``in_features`` -> ``num_actions`` values; ``hidden`` adds one ReLU layer (per stream when dueling)."""

    in_features: int
    num_actions: int
    hidden: int | None = None
    dueling: bool = False

    def __post_init__(self) -> None:
        check_int(self, "in_features")
        check_int(self, "num_actions")
        check_optional_int(self, "hidden")
        check_bool(self, "dueling")


def _stream(in_features: int, hidden: int | None, out_features: int) -> nn.Sequential:
    """Linear to ``out_features``, with one hidden ReLU layer first when ``hidden`` is set."""
    if hidden is None:
        return nn.Sequential(nn.Linear(in_features, out_features))
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features))


class QHead(nn.Module):
    """Features ``[B, F]`` -> Q values ``[B, A]``.

    Plain: one stream straight to Q. Dueling: a value stream V ``[B, 1]`` and an
    advantage stream A ``[B, A]``, combined as ``Q = V + A - mean(A)`` so that V and
    A are identifiable (a constant moved between them would change nothing else).
    """

    def __init__(self, config: QHeadConfig) -> None:
        super().__init__()
        self.config = config
        if config.dueling:
            self.value = _stream(config.in_features, config.hidden, 1)
            self.advantage = _stream(config.in_features, config.hidden, config.num_actions)
        else:
            self.q = _stream(config.in_features, config.hidden, config.num_actions)

    def value_and_advantage(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two dueling streams before they are combined: V ``[B]`` and A ``[B, A]``."""
        if not self.config.dueling:
            raise RuntimeError("QHead.value_and_advantage needs QHeadConfig.dueling = true")
        check_input(self, features, (None, self.config.in_features), "[B, F]")
        x = as_float(features, self.advantage[0].weight)  # [B, F]
        return self.value(x).squeeze(-1), self.advantage(x)  # [B], [B, A]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.config.dueling:
            value, advantage = self.value_and_advantage(features)  # [B], [B, A]
            return value.unsqueeze(-1) + advantage - advantage.mean(dim=-1, keepdim=True)  # [B, A]
        check_input(self, features, (None, self.config.in_features), "[B, F]")
        return self.q(as_float(features, self.q[0].weight))  # [B, A]


# --- board heads -------------------------------------------------------------------------------


def _board_planes(in_channels: int, planes: int, batch_norm: bool) -> nn.Sequential:
    """1x1 conv to a few planes, [batch norm,] ReLU: ``[B, C, N, N]`` -> ``[B, planes, N, N]``."""
    conv = nn.Conv2d(in_channels, planes, kernel_size=1, bias=not batch_norm)
    norm = [nn.BatchNorm2d(planes)] if batch_norm else []
    return nn.Sequential(conv, *norm, nn.ReLU())


@dataclass(frozen=True)
class PolicyHeadConfig:
    """Board features ``in_channels`` x ``board_size`` x ``board_size`` -> move logits.

    ``include_pass``: one extra logit for pass at index ``board_size**2`` (AlphaGo Zero);
    false gives the board-only distribution of AlphaGo's policy networks.
    """

    in_channels: int
    board_size: int
    planes: int = 2
    include_pass: bool = True
    batch_norm: bool = True

    def __post_init__(self) -> None:
        check_int(self, "in_channels")
        check_int(self, "board_size")
        check_int(self, "planes")
        check_bool(self, "include_pass")
        check_bool(self, "batch_norm")

    @property
    def num_moves(self) -> int:
        return self.board_size**2 + (1 if self.include_pass else 0)


class PolicyHead(nn.Module):
    """``[B, C, N, N]`` -> logits ``[B, N*N + 1]`` (``[B, N*N]`` without pass); flat index as in
    ``games.go.coords``: point ``row * N + col``, pass ``N * N``. Softmax is left to the caller."""

    def __init__(self, config: PolicyHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.num_moves = config.num_moves
        self.planes = _board_planes(config.in_channels, config.planes, config.batch_norm)
        self.fc = nn.Linear(config.planes * config.board_size**2, self.num_moves)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        n = self.config.board_size
        check_input(self, features, (None, self.config.in_channels, n, n), "[B, C, N, N]")
        x = self.planes(as_float(features, self.fc.weight))  # [B, P, N, N]
        return self.fc(x.flatten(1))  # [B, num_moves]


@dataclass(frozen=True)
class ValueHeadConfig:
    """Board features ``in_channels`` x ``board_size`` x ``board_size`` -> one value in [-1, 1]."""

    in_channels: int
    board_size: int
    hidden: int = 256
    planes: int = 1
    batch_norm: bool = True

    def __post_init__(self) -> None:
        check_int(self, "in_channels")
        check_int(self, "board_size")
        check_int(self, "hidden")
        check_int(self, "planes")
        check_bool(self, "batch_norm")


class ValueHead(nn.Module):
    """``[B, C, N, N]`` -> 1x1 conv, BN, ReLU, linear ``hidden``, ReLU, linear 1, tanh -> ``[B]``."""

    def __init__(self, config: ValueHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.planes = _board_planes(config.in_channels, config.planes, config.batch_norm)
        self.fc = nn.Sequential(
            nn.Linear(config.planes * config.board_size**2, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        n = self.config.board_size
        check_input(self, features, (None, self.config.in_channels, n, n), "[B, C, N, N]")
        x = self.planes(as_float(features, self.fc[0].weight))  # [B, P, N, N]
        return torch.tanh(self.fc(x.flatten(1))).squeeze(-1)  # [B]
