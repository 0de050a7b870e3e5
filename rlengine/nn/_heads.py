"""Heads: features in, what the algorithm needs out.

* ``QHead``: action values from a feature vector, plain or dueling (Wang et al., 2016), optionally as
  C51 distributions (Bellemare et al., 2017) and with noisy layers (``NoisyLinear``, Fortunato et al., 2018).
* ``PolicyHead``: move logits from board features (AlphaGo Zero style; pass optional).
* ``ValueHead``: a scalar in [-1, 1] from board features (AlphaGo Zero style).
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import torch
from torch import nn

from rlengine.nn._common import as_float, check_bool, check_input, check_int, check_optional_int

__all__ = [
    "NoisyLinear",
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
    """``in_features`` -> ``num_actions`` values; ``hidden`` adds one ReLU layer (per stream when dueling).

    ``num_atoms > 1``: a distribution over that many atoms per action (C51, Bellemare et al. 2017): the
    head returns logits ``[B, A, atoms]``.  ``noisy``: every linear layer is a ``NoisyLinear``
    (Fortunato et al. 2018, factorised Gaussian noise, ``sigma0``)."""

    in_features: int
    num_actions: int
    hidden: int | None = None
    dueling: bool = False
    num_atoms: int = 1
    noisy: bool = False
    sigma0: float = 0.5

    def __post_init__(self) -> None:
        check_int(self, "in_features")
        check_int(self, "num_actions")
        check_optional_int(self, "hidden")
        check_bool(self, "dueling")
        check_int(self, "num_atoms")
        check_bool(self, "noisy")
        if not self.sigma0 > 0:
            raise ValueError(f"QHeadConfig.sigma0 must be > 0, got {self.sigma0!r}")


class NoisyLinear(nn.Module):
    """A linear layer with learned factorised Gaussian noise (Fortunato et al. 2018):
    ``w = mu_w + sigma_w * (f(e_out) f(e_in)^T)``, ``b = mu_b + sigma_b * f(e_out)``, f(x) = sgn(x) sqrt|x|.

    ``mu`` starts uniform in +-1/sqrt(in), ``sigma`` at ``sigma0 / sqrt(in)``.  The noise is drawn by
    ``reset_noise()`` and held until the next call; in eval mode the layer uses ``mu`` alone."""

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))  # mu_w
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))  # mu_b
        self.weight_sigma = nn.Parameter(torch.full((out_features, in_features), sigma0 * bound))
        self.bias_sigma = nn.Parameter(torch.full((out_features,), sigma0 * bound))
        self.register_buffer("eps_in", torch.zeros(in_features), persistent=False)
        self.register_buffer("eps_out", torch.zeros(out_features), persistent=False)
        self.reset_noise()

    @staticmethod
    def _f(x: torch.Tensor) -> torch.Tensor:
        return x.sign() * x.abs().sqrt()

    @torch.no_grad()
    def reset_noise(self) -> None:
        self.eps_in.copy_(self._f(torch.randn(self.in_features, device=self.eps_in.device)))
        self.eps_out.copy_(self._f(torch.randn(self.out_features, device=self.eps_out.device)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return nn.functional.linear(x, self.weight, self.bias)
        weight = self.weight + self.weight_sigma * torch.outer(self.eps_out, self.eps_in)
        bias = self.bias + self.bias_sigma * self.eps_out
        return nn.functional.linear(x, weight, bias)


def _stream(in_features: int, hidden: int | None, out_features: int, *, noisy: bool = False,
            sigma0: float = 0.5) -> nn.Sequential:
    """Linear to ``out_features``, with one hidden ReLU layer first when ``hidden`` is set."""
    def linear(i: int, o: int) -> nn.Module:
        return NoisyLinear(i, o, sigma0) if noisy else nn.Linear(i, o)

    if hidden is None:
        return nn.Sequential(linear(in_features, out_features))
    return nn.Sequential(linear(in_features, hidden), nn.ReLU(), linear(hidden, out_features))


class QHead(nn.Module):
    """Features ``[B, F]`` -> Q values ``[B, A]`` (or, with ``num_atoms > 1``, logits ``[B, A, atoms]``).

    Plain: one stream straight to Q. Dueling: a value stream V ``[B, 1]`` and an
    advantage stream A ``[B, A]``, combined as ``Q = V + A - mean(A)`` so that V and
    A are identifiable (a constant moved between them would change nothing else).
    Distributional dueling combines the logits the same way, atom by atom (as Rainbow does).
    """

    def __init__(self, config: QHeadConfig) -> None:
        super().__init__()
        self.config = config
        k, a = config.num_atoms, config.num_actions
        kw = dict(noisy=config.noisy, sigma0=config.sigma0)
        if config.dueling:
            self.value = _stream(config.in_features, config.hidden, k, **kw)
            self.advantage = _stream(config.in_features, config.hidden, a * k, **kw)
        else:
            self.q = _stream(config.in_features, config.hidden, a * k, **kw)

    def reset_noise(self) -> None:
        """Draw new noise in every noisy layer (nothing without ``noisy``)."""
        for m in self.modules():
            if isinstance(m, NoisyLinear):
                m.reset_noise()

    def _shape(self, x: torch.Tensor) -> torch.Tensor:
        k = self.config.num_atoms
        return x if k == 1 else x.unflatten(-1, (self.config.num_actions, k))  # [B, A] or [B, A, K]

    def value_and_advantage(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two dueling streams before they are combined: V ``[B]`` and A ``[B, A]`` (with atoms:
        ``[B, K]`` and ``[B, A, K]``)."""
        if not self.config.dueling:
            raise RuntimeError("QHead.value_and_advantage needs QHeadConfig.dueling = true")
        check_input(self, features, (None, self.config.in_features), "[B, F]")
        x = as_float(features, self.advantage[0].weight)  # [B, F]
        value = self.value(x)  # [B, K]
        return (value.squeeze(-1) if self.config.num_atoms == 1 else value), self._shape(self.advantage(x))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.config.dueling:
            value, advantage = self.value_and_advantage(features)  # [B](, K), [B, A](, K)
            return value.unsqueeze(1) + advantage - advantage.mean(dim=1, keepdim=True)  # [B, A](, K)
        check_input(self, features, (None, self.config.in_features), "[B, F]")
        return self._shape(self.q(as_float(features, self.q[0].weight)))  # [B, A](, K)


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
