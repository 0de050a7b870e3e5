"""AlphaGo's networks (Silver et al. 2016): the policy CNN and the value CNN, or ResNet towers.

AlphaGo's policy network: a 5x5 convolution with k filters, then 3x3 convolutions with k filters
(ReLU after each, zero padding keeps the N x N size), then a 1x1 convolution to one plane with a
bias per point, and a softmax over the N*N points.  13 layers and k = 192 in the paper.

AlphaGo's value network: the same tower on 49 planes (the policy's 48 plus the colour to move), then a
1x1 convolution to one plane, a fully connected layer of 256 ReLU units and one tanh output: the
expected outcome z in [-1, 1] for the player to move.

``kind = "resnet"`` puts AlphaGo Zero's heads on a ResNet tower; ``kind = "transformer"`` uses a board
Transformer (``rlengine.nn.BoardTransformer``: one token per point) with heads that read the tokens.
"""

from __future__ import annotations

import torch
from torch import nn

from agents.alphago.config import NetworkSection, ValueNetworkSection
from rlengine.nn import (BoardTransformer, BoardTransformerConfig, PolicyHead, PolicyHeadConfig, ResNetConfig,
                         ResNetTower, ValueHead, ValueHeadConfig)

__all__ = ["PolicyCNN", "PolicyResNet", "PolicyTransformer", "PolicyValueResNet", "ValueCNN", "ValueResNet",
           "ValueTransformer", "build_policy_net", "build_value_net", "masked_logits"]


def _cnn_tower(in_planes: int, filters: int, layers: int) -> nn.Sequential:
    """AlphaGo's tower: a 5x5 convolution, then ``layers - 2`` 3x3 convolutions, ReLU after each.

    He initialisation keeps the activations' scale through the ReLU stack (no normalisation layers);
    with PyTorch's default init a 5x48 net barely moved in 120 SGD steps while this one learned."""
    if layers < 2:
        raise ValueError(f"an AlphaGo CNN needs at least 2 layers, got {layers}")
    convs: list[nn.Module] = [nn.Conv2d(in_planes, filters, 5, padding=2), nn.ReLU()]
    for _ in range(layers - 2):
        convs += [nn.Conv2d(filters, filters, 3, padding=1), nn.ReLU()]
    for conv in convs:
        if isinstance(conv, nn.Conv2d):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
    return nn.Sequential(*convs)


def _check_planes(name: str, planes: torch.Tensor, in_planes: int, n: int) -> None:
    if planes.dim() != 4 or planes.shape[1] != in_planes or planes.shape[2:] != (n, n):
        raise ValueError(f"{name} expects [B, {in_planes}, {n}, {n}], got {tuple(planes.shape)}")


class PolicyCNN(nn.Module):
    """uint8/float planes ``[B, P, N, N]`` -> move logits ``[B, N*N]`` (no pass)."""

    def __init__(self, in_planes: int, board_size: int, *, filters: int = 192, layers: int = 13):
        super().__init__()
        self.in_planes = in_planes
        self.board_size = board_size
        self.body = _cnn_tower(in_planes, filters, layers)
        self.out = nn.Conv2d(filters, 1, 1, bias=False)
        self.point_bias = nn.Parameter(torch.zeros(board_size * board_size))  # [N*N]
        nn.init.normal_(self.out.weight, std=0.01)  # near-uniform policy at the start

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        _check_planes("PolicyCNN", planes, self.in_planes, self.board_size)
        x = planes.to(self.out.weight.dtype)  # [B, P, N, N]
        x = self.out(self.body(x))  # [B, 1, N, N]
        return x.flatten(1) + self.point_bias  # [B, N*N]


class PolicyResNet(nn.Module):
    """ResNet tower + board-only policy head: ``[B, P, N, N]`` -> logits ``[B, N*N]``."""

    def __init__(self, in_planes: int, board_size: int, *, filters: int = 64, blocks: int = 6):
        super().__init__()
        self.board_size = board_size
        self.tower = ResNetTower(ResNetConfig(in_channels=in_planes, channels=filters, blocks=blocks))
        self.head = PolicyHead(PolicyHeadConfig(in_channels=filters, board_size=board_size, include_pass=False))

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.head(self.tower(planes))  # [B, N*N]


class PolicyTransformer(nn.Module):
    """Board Transformer (one token per point) + a per-token policy head: ``[B, P, N, N]`` -> logits ``[B, N*N]``.

    The head reads each point's token: a linear map to one logit, plus a learned bias per point (AlphaGo's
    policy output layer, on tokens). AlphaGo Zero's head (the ResNet's: 1x1 convolution to 2 planes, then a
    fully connected layer over the whole board) learned far slower on this torso: 0.02 top-1 after 300 steps
    of 32 9x9 positions, against 0.22 with this one (README, "Transformer torso")."""

    def __init__(self, in_planes: int, board_size: int, *, dim: int = 64, layers: int = 4, heads: int = 4,
                 positions: str = "relative"):
        super().__init__()
        self.board_size = board_size
        self.tower = BoardTransformer(BoardTransformerConfig(in_channels=in_planes, board_size=board_size, dim=dim,
                                                             layers=layers, heads=heads, positions=positions))
        self.logit = nn.Linear(dim, 1)
        self.point_bias = nn.Parameter(torch.zeros(board_size * board_size))  # [N*N]

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        x = self.tower(planes).flatten(2).transpose(1, 2)  # [B, T, D]
        return self.logit(x)[..., 0] + self.point_bias  # [B, N*N]


class PolicyValueResNet(nn.Module):
    """ResNet tower with a policy head (pass included) and a value head (AlphaGo Zero's shape):
    ``[B, P, N, N]`` -> (logits ``[B, N*N + 1]``, value ``[B]`` in [-1, 1] for the side to move)."""

    def __init__(self, in_planes: int, board_size: int, *, filters: int = 64, blocks: int = 6):
        super().__init__()
        self.board_size = board_size
        self.tower = ResNetTower(ResNetConfig(in_channels=in_planes, channels=filters, blocks=blocks))
        self.policy = PolicyHead(PolicyHeadConfig(in_channels=filters, board_size=board_size, include_pass=True))
        self.value = ValueHead(ValueHeadConfig(in_channels=filters, board_size=board_size, hidden=filters))

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.tower(planes)
        return self.policy(x), self.value(x)


class ValueCNN(nn.Module):
    """AlphaGo's value network: ``[B, P, N, N]`` -> value ``[B]`` in [-1, 1] for the player to move."""

    def __init__(self, in_planes: int, board_size: int, *, filters: int = 192, layers: int = 13, hidden: int = 256):
        super().__init__()
        self.in_planes = in_planes
        self.board_size = board_size
        self.body = _cnn_tower(in_planes, filters, layers)
        self.out = nn.Conv2d(filters, 1, 1)  # [B, 1, N, N]
        self.fc = nn.Linear(board_size * board_size, hidden)
        self.head = nn.Linear(hidden, 1)
        nn.init.normal_(self.head.weight, std=0.01)  # v near 0 at the start
        nn.init.zeros_(self.head.bias)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        _check_planes("ValueCNN", planes, self.in_planes, self.board_size)
        x = planes.to(self.out.weight.dtype)
        x = torch.relu(self.out(self.body(x))).flatten(1)  # [B, N*N]
        return torch.tanh(self.head(torch.relu(self.fc(x))))[:, 0]  # [B]


class ValueResNet(nn.Module):
    """ResNet tower + AlphaGo Zero's value head: ``[B, P, N, N]`` -> value ``[B]`` in [-1, 1]."""

    def __init__(self, in_planes: int, board_size: int, *, filters: int = 64, blocks: int = 6, hidden: int = 256):
        super().__init__()
        self.board_size = board_size
        self.tower = ResNetTower(ResNetConfig(in_channels=in_planes, channels=filters, blocks=blocks))
        self.value = ValueHead(ValueHeadConfig(in_channels=filters, board_size=board_size, hidden=hidden))

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.value(self.tower(planes))  # [B]


class ValueTransformer(nn.Module):
    """Board Transformer + a value head on the mean token: ``[B, P, N, N]`` -> value ``[B]`` in [-1, 1]
    (linear ``hidden``, ReLU, linear 1, tanh, as AlphaGo Zero's head after its convolution)."""

    def __init__(self, in_planes: int, board_size: int, *, dim: int = 64, layers: int = 4, heads: int = 4,
                 positions: str = "relative", hidden: int = 256):
        super().__init__()
        self.board_size = board_size
        self.tower = BoardTransformer(BoardTransformerConfig(in_channels=in_planes, board_size=board_size, dim=dim,
                                                             layers=layers, heads=heads, positions=positions))
        self.value = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        x = self.tower(planes).mean(dim=(2, 3))  # [B, D]
        return torch.tanh(self.value(x))[:, 0]  # [B]


def build_value_net(net: ValueNetworkSection, board_size: int) -> nn.Module:
    from games.go.features import num_planes

    planes = num_planes(net.encoder)
    if net.kind == "resnet":
        return ValueResNet(planes, board_size, filters=net.filters, blocks=net.blocks, hidden=net.hidden)
    if net.kind == "transformer":
        return ValueTransformer(planes, board_size, dim=net.filters, layers=net.blocks, heads=net.heads,
                                positions=net.positions, hidden=net.hidden)
    return ValueCNN(planes, board_size, filters=net.filters, layers=net.layers, hidden=net.hidden)


def build_policy_net(net: NetworkSection, board_size: int) -> nn.Module:
    from games.go.features import num_planes

    planes = num_planes(net.encoder)
    if net.kind == "resnet":
        return PolicyResNet(planes, board_size, filters=net.filters, blocks=net.blocks)
    if net.kind == "transformer":
        return PolicyTransformer(planes, board_size, dim=net.filters, layers=net.blocks, heads=net.heads,
                                 positions=net.positions)
    return PolicyCNN(planes, board_size, filters=net.filters, layers=net.layers)


def masked_logits(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Logits with the points not in ``allowed`` (bool ``[B, N*N]``) set to -inf (play time only)."""
    return logits.float().masked_fill(~allowed, float("-inf"))
