"""A pre-LayerNorm Transformer encoder over token sequences ``[B, T, dim]``.

Each block is ``x + attn(ln(x))`` then ``x + mlp(ln(x))`` (Vaswani et al., 2017, with
the LayerNorm moved in front of each sublayer). Attention is bidirectional; an optional
padding mask hides padded tokens as keys. The encoder adds positions (learned, or the
fixed sinusoids of the original paper), runs the blocks and ends with a LayerNorm.
Inputs are embeddings already: the caller owns the tokenizer/embedding (for Go, a
linear map of each point's feature planes, T = N*N).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rlengine.nn._common import check_choice, check_float, check_input, check_int

__all__ = [
    "POSITIONS",
    "BOARD_POSITIONS",
    "BoardTransformer",
    "BoardTransformerConfig",
    "TransformerBlock",
    "TransformerConfig",
    "TransformerEncoder",
    "sinusoidal_positions",
]

POSITIONS = ("learned", "sinusoidal")
BOARD_POSITIONS = ("rowcol", "relative")


@dataclass(frozen=True)
class TransformerConfig:
    """Width ``dim`` split over ``heads``; ``layers`` blocks; MLP width ``mlp_ratio * dim``;
    sequences of at most ``max_len`` tokens; ``positions`` learned or sinusoidal."""

    dim: int = 128
    heads: int = 4
    layers: int = 2
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    max_len: int = 512
    positions: str = "learned"

    def __post_init__(self) -> None:
        check_int(self, "dim")
        check_int(self, "heads")
        if self.dim % self.heads:
            raise ValueError(f"TransformerConfig.heads: {self.heads} heads do not divide dim={self.dim}")
        check_int(self, "layers", minimum=0)
        check_float(self, "mlp_ratio", low=0.0, low_open=True)
        check_float(self, "dropout", low=0.0, high=1.0)
        check_int(self, "max_len")
        check_choice(self, "positions", POSITIONS)

    @property
    def mlp_hidden(self) -> int:
        return max(1, round(self.mlp_ratio * self.dim))


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """The fixed table ``[length, dim]``: sin on even features, cos on odd ones, wavelengths
    growing geometrically from 2*pi to 10000*2*pi."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # [T, 1]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # [ceil(D/2)]
    angle = position * frequency  # [T, ceil(D/2)]
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(angle)
    table[:, 1::2] = torch.cos(angle[:, : dim // 2])
    return table  # [T, D]


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.dim, 3 * config.dim)
        self.proj = nn.Linear(config.dim, config.dim)
        self.proj_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` ``[B, T, D]``; ``keep`` ``[B, 1, 1, T]`` bool, True where a key may be attended to, or a
        float additive bias broadcastable to ``[B, H, T, T]``."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)  # 3 x [B, T, D]
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))  # 3 x [B, H, T, Dh]
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=keep, dropout_p=self.dropout if self.training else 0.0
        )  # [B, H, T, Dh]
        y = y.transpose(1, 2).reshape(b, t, d)  # [B, T, D]
        return self.proj_dropout(self.proj(y))  # [B, T, D]


class FeedForward(nn.Module):
    """Linear up to ``mlp_hidden``, GELU, linear back to ``dim``."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.dim, config.mlp_hidden)
        self.down = nn.Linear(config.mlp_hidden, config.dim)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x))))  # [B, T, D]


def _keep_mask(padding_mask: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
    """``padding_mask`` ``[B, T]`` (True = padded) -> ``[B, 1, 1, T]`` (True = attend).

    A sequence that is all padding attends to everything, so that its (meaningless)
    outputs stay finite instead of NaN.
    """
    if padding_mask is None:
        return None
    if padding_mask.shape != x.shape[:2]:
        raise ValueError(f"padding_mask must be [B, T] = {tuple(x.shape[:2])}, got {tuple(padding_mask.shape)}")
    pad = padding_mask.to(torch.bool)  # [B, T]
    keep = ~pad | pad.all(dim=-1, keepdim=True)  # [B, T]
    return keep[:, None, None, :]  # [B, 1, 1, T]


class TransformerBlock(nn.Module):
    """``x + attn(ln(x))``, then ``x + mlp(ln(x))``: ``[B, T, dim]`` -> ``[B, T, dim]``.

    ``padding_mask`` ``[B, T]`` is True at padded tokens: no token attends to them.
    Outputs at padded positions are computed but meaningless.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.ln_attn = nn.LayerNorm(config.dim)
        self.attn = SelfAttention(config)
        self.ln_mlp = nn.LayerNorm(config.dim)
        self.mlp = FeedForward(config)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        check_input(self, x, (None, None, self.config.dim), "[B, T, D]")
        return self._forward(x, _keep_mask(padding_mask, x))

    def _forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.ln_attn(x), keep)  # [B, T, D]
        return x + self.mlp(self.ln_mlp(x))  # [B, T, D]


class TransformerEncoder(nn.Module):
    """Positions added, ``layers`` blocks, final LayerNorm: ``[B, T, dim]`` -> ``[B, T, dim]``.

    ``T <= max_len``. Learned positions are a parameter ``positions`` ``[max_len, dim]``;
    sinusoidal ones a buffer of the same shape that is not saved in the state dict.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        if config.positions == "learned":
            self.positions = nn.Parameter(torch.randn(config.max_len, config.dim) * 0.02)
        else:
            self.register_buffer("positions", sinusoidal_positions(config.max_len, config.dim), persistent=False)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.layers))
        self.ln_out = nn.LayerNorm(config.dim)

    def forward(self, tokens: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``tokens`` ``[B, T, dim]`` float; ``padding_mask`` ``[B, T]`` bool, True at padded tokens."""
        check_input(self, tokens, (None, None, self.config.dim), "[B, T, D]")
        t = tokens.shape[1]
        if t > self.config.max_len:
            raise ValueError(f"TransformerEncoder got {t} tokens, more than TransformerConfig.max_len={self.config.max_len}")
        keep = _keep_mask(padding_mask, tokens)  # [B, 1, 1, T] or None
        x = self.dropout(tokens + self.positions[:t])  # [B, T, D]
        for block in self.blocks:
            x = block._forward(x, keep)  # [B, T, D]
        return self.ln_out(x)  # [B, T, D]


# --- a board torso: one token per point, 2-D positions ------------------------------------------


@dataclass(frozen=True)
class BoardTransformerConfig:
    """``in_channels`` feature planes of an ``board_size`` x ``board_size`` board -> ``dim`` features per point.

    One token per point (T = N*N): a linear embedding of that point's planes, then ``layers`` pre-LN blocks
    of ``heads`` heads and a final LayerNorm. 2-D positions: ``rowcol``, a learned row embedding plus a
    learned column embedding added to the tokens (``2 * N * dim`` parameters); ``relative``, the same plus a
    learned attention bias per head for each offset (dr, dc) between two points (``heads * (2N - 1)^2``
    parameters per block)."""

    in_channels: int
    board_size: int
    dim: int = 64
    heads: int = 4
    layers: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    positions: str = "rowcol"  # rowcol | relative (see BoardTransformer)

    def __post_init__(self) -> None:
        check_int(self, "in_channels")
        check_int(self, "board_size")
        check_choice(self, "positions", BOARD_POSITIONS)
        TransformerConfig(dim=self.dim, heads=self.heads, layers=self.layers, mlp_ratio=self.mlp_ratio,
                          dropout=self.dropout)  # validates the shared fields

    @property
    def encoder(self) -> TransformerConfig:
        return TransformerConfig(dim=self.dim, heads=self.heads, layers=self.layers, mlp_ratio=self.mlp_ratio,
                                 dropout=self.dropout, max_len=self.board_size**2)


class BoardTransformer(nn.Module):
    """Feature planes ``[B, C, N, N]`` -> point features ``[B, dim, N, N]``.

    The output is channel-first so that the convolutional board heads (``PolicyHead``, ``ValueHead``, whose
    1x1 convolution is a per-token linear map) read it exactly as they read a ``ResNetTower``'s.

    ``rowcol`` leaves attention without a mask, so ``scaled_dot_product_attention`` may take the flash
    kernel on GPU; the edges and corners, which matter in Go, are learned from the absolute row and
    column. ``relative`` adds what convolutions have built in, attention to neighbours by offset wherever
    a point is, as SDPA's additive ``attn_mask`` (the memory-efficient kernel on GPU). It keeps the
    absolute embeddings: with a bias alone, every point of an empty board gets the same features (all
    tokens equal, every attention average equal), so the network could not tell the 3-3 point from
    tengen; a convolution sees the edge through its zero padding. The ResNet comparison in README
    measures both.
    """

    def __init__(self, config: BoardTransformerConfig) -> None:
        super().__init__()
        self.config = config
        n, d = config.board_size, config.dim
        self.embed = nn.Linear(config.in_channels, d)
        self.rows = nn.Parameter(torch.randn(n, d) * 0.02)
        self.cols = nn.Parameter(torch.randn(n, d) * 0.02)
        if config.positions == "relative":
            self.bias = nn.Parameter(torch.zeros(config.layers, config.heads, (2 * n - 1) ** 2))
            r = torch.arange(n * n) // n
            c = torch.arange(n * n) % n
            offset = (r[:, None] - r[None, :] + n - 1) * (2 * n - 1) + (c[:, None] - c[None, :] + n - 1)  # [T, T]
            self.register_buffer("offset", offset, persistent=False)
        self.blocks = nn.ModuleList(TransformerBlock(config.encoder) for _ in range(config.layers))
        self.ln_out = nn.LayerNorm(d)
        self.out_channels = d

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        n = self.config.board_size
        check_input(self, planes, (None, self.config.in_channels, n, n), "[B, C, N, N]")
        x = self.embed(planes.to(self.embed.weight.dtype).flatten(2).transpose(1, 2))  # [B, T, D], T = N*N
        x = x + (self.rows[:, None, :] + self.cols[None, :, :]).reshape(n * n, -1)  # + [T, D]
        for i, block in enumerate(self.blocks):
            # relative: the additive attention bias [1, H, T, T] of this block, looked up by offset
            bias = self.bias[i][:, self.offset].to(x.dtype)[None] if self.config.positions == "relative" else None
            x = block._forward(x, bias)  # [B, T, D]
        x = self.ln_out(x)  # [B, T, D]
        return x.transpose(1, 2).reshape(x.shape[0], -1, n, n)  # [B, D, N, N]
