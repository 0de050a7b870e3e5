"""The SL policy network: AlphaGo's policy CNN (Silver et al. 2016), or a ResNet tower.

AlphaGo's policy network: a 5x5 convolution with k filters, then 3x3 convolutions with k filters
(ReLU after each, zero padding keeps the N x N size), then a 1x1 convolution to one plane with a
bias per point, and a softmax over the N*N points.  13 layers and k = 192 in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from agents.alphago.config import NetworkSection
from rlengine.nn import PolicyHead, PolicyHeadConfig, ResNetConfig, ResNetTower, ValueHead, ValueHeadConfig

__all__ = ["PolicyCNN", "PolicyResNet", "PolicyValueResNet", "build_policy_net", "masked_logits"]


class PolicyCNN(nn.Module):
    """uint8/float planes ``[B, P, N, N]`` -> move logits ``[B, N*N]`` (no pass)."""

    def __init__(self, in_planes: int, board_size: int, *, filters: int = 192, layers: int = 13):
        super().__init__()
        if layers < 2:
            raise ValueError(f"PolicyCNN needs at least 2 layers, got {layers}")
        self.in_planes = in_planes
        self.board_size = board_size
        convs: list[nn.Module] = [nn.Conv2d(in_planes, filters, 5, padding=2), nn.ReLU()]
        for _ in range(layers - 2):
            convs += [nn.Conv2d(filters, filters, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*convs)
        self.out = nn.Conv2d(filters, 1, 1, bias=False)
        self.point_bias = nn.Parameter(torch.zeros(board_size * board_size))  # [N*N]
        # He initialisation keeps the activations' scale through the ReLU stack (no normalisation layers);
        # with PyTorch's default init a 5x48 net barely moved in 120 SGD steps while this one learned.
        for conv in self.body:
            if isinstance(conv, nn.Conv2d):
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                nn.init.zeros_(conv.bias)
        nn.init.normal_(self.out.weight, std=0.01)  # near-uniform policy at the start

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        n = self.board_size
        if planes.dim() != 4 or planes.shape[1] != self.in_planes or planes.shape[2:] != (n, n):
            raise ValueError(f"PolicyCNN expects [B, {self.in_planes}, {n}, {n}], got {tuple(planes.shape)}")
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


def build_policy_net(net: NetworkSection, board_size: int) -> nn.Module:
    from games.go.features import num_planes

    planes = num_planes(net.encoder)
    if net.kind == "resnet":
        return PolicyResNet(planes, board_size, filters=net.filters, blocks=net.blocks)
    return PolicyCNN(planes, board_size, filters=net.filters, layers=net.layers)


def masked_logits(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Logits with the points not in ``allowed`` (bool ``[B, N*N]``) set to -inf (play time only)."""
    return logits.float().masked_fill(~allowed, float("-inf"))
