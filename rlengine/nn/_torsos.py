"""Torsos: observations in, features out.

* ``NatureCNN``: the convolutional torso of the Nature DQN paper (Mnih et al., 2015), for
  stacks of 84x84 Atari frames.
* ``MLP``: fully connected layers for vector observations (CartPole and friends).
* ``ResNetTower``: a stem convolution and residual blocks that keep the board size
  (AlphaGo Zero style), for Go feature planes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rlengine.nn._common import (
    as_float,
    check_bool,
    check_choice,
    check_float,
    check_input,
    check_int,
    check_int_tuple,
)

__all__ = [
    "ACTIVATIONS",
    "FRAME_SIZE",
    "MLP",
    "MLPConfig",
    "NatureCNN",
    "NatureCNNConfig",
    "ResNetConfig",
    "ResNetTower",
]

FRAME_SIZE = 84  # the Nature CNN is built for 84x84 frames

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}


def _conv_out(size: int, kernel: int, stride: int) -> int:
    """Output length of an unpadded convolution."""
    return (size - kernel) // stride + 1


# --- Nature CNN --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NatureCNNConfig:
    """``in_channels`` stacked frames; integer inputs are multiplied by ``scale`` in ``forward``."""

    in_channels: int = 4
    scale: float = 1 / 255
    fc: bool = True  # False: stop after the convolutions (a dueling head then brings its own 512-unit streams)

    def __post_init__(self) -> None:
        check_int(self, "in_channels")
        check_float(self, "scale", low=0.0, low_open=True)
        check_bool(self, "fc")


class NatureCNN(nn.Module):
    """Conv 32 8x8/4, conv 64 4x4/2, conv 64 3x3/1, flatten, linear 512; ReLU after each.

    Input ``[B, C, 84, 84]``. An integer tensor (the uint8 frames from replay) is
    converted to float and multiplied by ``config.scale`` here; a float tensor is
    taken as already scaled. Output ``[B, 512]``, or with ``config.fc = False`` the
    flattened convolution features ``[B, 3136]``.
    """

    def __init__(self, config: NatureCNNConfig) -> None:
        super().__init__()
        self.config = config
        side = _conv_out(_conv_out(_conv_out(FRAME_SIZE, 8, 4), 4, 2), 3, 1)  # 84 -> 20 -> 9 -> 7
        self.conv = nn.Sequential(
            nn.Conv2d(config.in_channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
        )
        self.fc = nn.Linear(64 * side * side, 512) if config.fc else None
        self.out_features = 512 if config.fc else 64 * side * side

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        check_input(self, frames, (None, self.config.in_channels, FRAME_SIZE, FRAME_SIZE), "[B, C, H, W]")
        weight = self.conv[0].weight
        if frames.is_floating_point():
            x = as_float(frames, weight)  # [B, C, 84, 84], already scaled
        else:
            x = as_float(frames, weight) * self.config.scale  # [B, C, 84, 84]
        x = self.conv(x)  # [B, 64, 7, 7]
        x = x.flatten(1)  # [B, 3136]
        return x if self.fc is None else torch.relu(self.fc(x))  # [B, 512]


# --- MLP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MLPConfig:
    """``in_features`` inputs, one linear layer per entry of ``hidden``, each followed by ``activation``."""

    in_features: int
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "relu"

    def __post_init__(self) -> None:
        check_int(self, "in_features")
        check_int_tuple(self, "hidden")
        check_choice(self, "activation", ACTIVATIONS)


class MLP(nn.Module):
    """Linear + activation per hidden layer. Input ``[B, in_features]`` (any real dtype), output
    ``[B, out_features]``; with no hidden layers it is the identity (on float inputs)."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.in_features
        for size in config.hidden:
            layers += [nn.Linear(width, size), ACTIVATIONS[config.activation]()]
            width = size
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        check_input(self, obs, (None, self.config.in_features), "[B, F]")
        x = as_float(obs, self.layers[0].weight) if len(self.layers) else obs.float()  # [B, F]
        return self.layers(x)  # [B, out_features]


# --- ResNet tower ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResNetConfig:
    """A stem conv to ``channels`` planes, then ``blocks`` residual blocks; ``kernel_size`` is odd."""

    in_channels: int
    channels: int = 64
    blocks: int = 6
    kernel_size: int = 3
    batch_norm: bool = True

    def __post_init__(self) -> None:
        check_int(self, "in_channels")
        check_int(self, "channels")
        check_int(self, "blocks", minimum=0)
        check_int(self, "kernel_size")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"ResNetConfig.kernel_size must be odd to keep the board size, got {self.kernel_size}")
        check_bool(self, "batch_norm")


def _conv_norm(channels_in: int, channels_out: int, config: ResNetConfig) -> nn.Sequential:
    """A same-size convolution, followed by batch norm when the config asks for it."""
    conv = nn.Conv2d(
        channels_in,
        channels_out,
        kernel_size=config.kernel_size,
        padding=config.kernel_size // 2,
        bias=not config.batch_norm,  # batch norm brings its own shift
    )
    return nn.Sequential(conv, nn.BatchNorm2d(channels_out)) if config.batch_norm else nn.Sequential(conv)


class ResidualBlock(nn.Module):
    """relu(x + bn(conv(relu(bn(conv(x)))))), at constant size ``[B, C, H, W]``."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.first = _conv_norm(config.channels, config.channels, config)
        self.second = _conv_norm(config.channels, config.channels, config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.first(x))  # [B, C, H, W]
        y = self.second(y)  # [B, C, H, W]
        return torch.relu(x + y)  # [B, C, H, W]


class ResNetTower(nn.Module):
    """Stem conv-BN-ReLU, then residual blocks. Input ``[B, in_channels, H, W]`` (float, or
    integer/bool planes converted to float unscaled), output ``[B, channels, H, W]``."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        self.stem = _conv_norm(config.in_channels, config.channels, config)
        self.blocks = nn.Sequential(*(ResidualBlock(config) for _ in range(config.blocks)))
        self.out_channels = config.channels

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        check_input(self, planes, (None, self.config.in_channels, None, None), "[B, C, H, W]")
        x = as_float(planes, self.stem[0].weight)  # [B, C_in, H, W]
        x = torch.relu(self.stem(x))  # [B, C, H, W]
        return self.blocks(x)  # [B, C, H, W]
