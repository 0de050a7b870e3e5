"""GAN parts: an MLP generator and discriminator for low-dimensional data, and DCGAN's (Radford et al. 2015).

Each module takes a frozen config.  Discriminators return one logit per sample ``[B]`` (the loss decides
what to do with it).  ``spectral_norm`` wraps every weight layer of a discriminator in
``torch.nn.utils.parametrizations.spectral_norm`` (Miyato et al. 2018); the DCGAN discriminator then
drops its BatchNorm layers, which spectral normalisation replaces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rlengine.nn._common import check_bool, check_input, check_int, check_int_tuple

__all__ = ["DCGANDiscriminator", "DCGANDiscriminatorConfig", "DCGANGenerator", "DCGANGeneratorConfig",
           "MLPDiscriminator", "MLPDiscriminatorConfig", "MLPGenerator", "MLPGeneratorConfig"]


def _sn(layer: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


# --- MLP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MLPGeneratorConfig:
    """Noise ``[B, z_dim]`` -> samples ``[B, out_features]`` through ReLU layers of ``hidden`` units."""

    z_dim: int = 2
    out_features: int = 2
    hidden: tuple[int, ...] = (128, 128, 128)

    def __post_init__(self) -> None:
        check_int(self, "z_dim")
        check_int(self, "out_features")
        check_int_tuple(self, "hidden")


class MLPGenerator(nn.Module):
    def __init__(self, config: MLPGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.z_dim
        for size in config.hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, config.out_features))  # unbounded output: the data's own scale
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_input(self, z, (None, self.config.z_dim), "[B, Z]")
        return self.net(z.float())  # [B, D]


@dataclass(frozen=True)
class MLPDiscriminatorConfig:
    """Samples ``[B, in_features]`` -> logits ``[B]`` through LeakyReLU(0.2) layers of ``hidden`` units."""

    in_features: int = 2
    hidden: tuple[int, ...] = (128, 128, 128)
    spectral_norm: bool = False

    def __post_init__(self) -> None:
        check_int(self, "in_features")
        check_int_tuple(self, "hidden")
        check_bool(self, "spectral_norm")


class MLPDiscriminator(nn.Module):
    def __init__(self, config: MLPDiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.in_features
        for size in config.hidden:
            layers += [_sn(nn.Linear(width, size), config.spectral_norm), nn.LeakyReLU(0.2)]
            width = size
        layers.append(_sn(nn.Linear(width, 1), config.spectral_norm))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x, (None, self.config.in_features), "[B, D]")
        return self.net(x.float()).squeeze(-1)  # [B]


# --- DCGAN ---------------------------------------------------------------------------------------


def _stages(size: int, where: str, start: int = 4) -> int:
    """Upsampling (or downsampling) stages between ``start`` x ``start`` and ``size`` x ``size``."""
    stages = int(round(math.log2(size / start))) if size >= 2 * start else -1
    if stages < 1 or start * 2**stages != size:
        raise ValueError(f"{where} must be {start} times a power of two >= 2 ({2 * start}, {4 * start}, "
                         f"{8 * start}, ...), got {size}")
    return stages


@dataclass(frozen=True)
class DCGANGeneratorConfig:
    """Noise ``[B, z_dim]`` -> images ``[B, channels, size, size]`` in [-1, 1].

    A linear projection to ``base * 2^(stages-1)`` maps of ``start`` x ``start`` (4 in the paper; 2 gives
    small images two stages), then per stage a stride-2 transposed convolution (kernel 4) halving the maps
    and doubling the side, BatchNorm and ReLU, the last stage to ``channels`` with tanh (Radford et al. 2015)."""

    z_dim: int = 100
    channels: int = 1
    size: int = 32
    base: int = 64
    start: int = 4

    def __post_init__(self) -> None:
        check_int(self, "z_dim")
        check_int(self, "channels")
        check_int(self, "size")
        check_int(self, "base")
        check_int(self, "start")
        _stages(self.size, "DCGANGeneratorConfig.size", self.start)


class DCGANGenerator(nn.Module):
    def __init__(self, config: DCGANGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        stages = _stages(config.size, "DCGANGeneratorConfig.size", config.start)
        width = config.base * 2 ** (stages - 1)
        area = config.start**2
        self.project = nn.Sequential(nn.Linear(config.z_dim, width * area, bias=False),
                                     nn.BatchNorm1d(width * area), nn.ReLU())
        layers: list[nn.Module] = []
        for s in range(stages):
            last = s == stages - 1
            out = config.channels if last else width // 2
            layers.append(nn.ConvTranspose2d(width, out, kernel_size=4, stride=2, padding=1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU()]
            width = out
        self.up = nn.Sequential(*layers)
        self._start = config.base * 2 ** (stages - 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_input(self, z, (None, self.config.z_dim), "[B, Z]")
        k = self.config.start
        x = self.project(z.float()).view(len(z), self._start, k, k)  # [B, C0, start, start]
        return self.up(x)  # [B, channels, size, size]


@dataclass(frozen=True)
class DCGANDiscriminatorConfig:
    """Images ``[B, channels, size, size]`` in [-1, 1] -> logits ``[B]``: per stage a stride-2 convolution
    (kernel 4) doubling the maps and halving the side, BatchNorm (not on the first) and LeakyReLU(0.2),
    down to ``start`` x ``start``, then a linear logit."""

    channels: int = 1
    size: int = 32
    base: int = 64
    spectral_norm: bool = False
    start: int = 4

    def __post_init__(self) -> None:
        check_int(self, "channels")
        check_int(self, "size")
        check_int(self, "base")
        check_bool(self, "spectral_norm")
        check_int(self, "start")
        _stages(self.size, "DCGANDiscriminatorConfig.size", self.start)


class DCGANDiscriminator(nn.Module):
    def __init__(self, config: DCGANDiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        stages = _stages(config.size, "DCGANDiscriminatorConfig.size", config.start)
        sn = config.spectral_norm
        layers: list[nn.Module] = []
        width, out = config.channels, config.base
        for s in range(stages):
            layers.append(_sn(nn.Conv2d(width, out, kernel_size=4, stride=2, padding=1, bias=s == 0 or sn), sn))
            if s > 0 and not sn:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2))
            width, out = out, out * 2
        self.down = nn.Sequential(*layers)
        self.logit = _sn(nn.Linear(width * config.start**2, 1), sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        check_input(self, x, (None, c.channels, c.size, c.size), "[B, C, H, W]")
        return self.logit(self.down(x.float()).flatten(1)).squeeze(-1)  # [B]
