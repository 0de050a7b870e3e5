"""The ``policy:CHECKPOINT[,temperature=T]`` player: an SL policy network choosing moves.

Temperature 0 (default) plays the most likely move; T > 0 samples from softmax(logits / T).  Only
sensible moves are considered (legal, and not filling the mover's own single-point eye); with none
left the player passes.  A network that scores pass itself (a policy-value network returning
``(logits [B, N*N + 1], value [B])``) may also choose to pass.  It never resigns.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from agents.alphago.checkpoint import load_policy
from agents.alphago.spec import parse_player_spec
from games.go import batch as go_batch
from games.go.board import Position, Rules
from games.go.gtp_client import GtpError

__all__ = ["BoardSizeError", "PolicyPlayer", "make_policy_player", "sensible_mask"]

log = logging.getLogger(__name__)


class BoardSizeError(GtpError, ValueError):
    """The game's board size is not the one the network was trained for."""


def sensible_mask(position: Position, color: int) -> np.ndarray:
    """bool [N*N]: legal moves of ``color`` that do not fill its own single-point eye (``_core.is_eye``);
    the compiled row the tree's leaves carry (``games.go.batch.sensible_mask``), pass left out."""
    return go_batch.sensible_mask(position, color)[:-1]


class PolicyPlayer:
    """Plays the SL policy network of an alphago checkpoint."""

    def __init__(self, checkpoint: str | Path, *, temperature: float = 0.0, seed: int | None = None,
                 device: str | None = None):
        if not (temperature >= 0 and np.isfinite(temperature)):
            raise ValueError(f"policy player: temperature must be a finite number >= 0, got {temperature!r}")
        self.checkpoint = str(checkpoint)
        self.cfg, self.net, self.device = load_policy(checkpoint, device=device or "cpu")
        self.board_size = self.cfg.board_size
        self.encoder = self.cfg.network.encoder
        self.temperature = temperature
        self.name = f"policy:{Path(checkpoint).name}"
        self._rng = np.random.default_rng(seed)
        self._size_ok = True

    def reset(self, rules: Rules) -> None:
        self._size_ok = rules.size == self.board_size
        if not self._size_ok:
            log.warning("%s: network is for %dx%d, the board is %dx%d", self.checkpoint, self.board_size,
                        self.board_size, rules.size, rules.size)

    def reseed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    @torch.no_grad()
    def move_logits(self, position: Position, color: int) -> np.ndarray:
        """float32 [N*N] logits of the network for ``color`` to move in ``position``; [N*N + 1] (pass last)
        for a network that scores pass.  A policy-value network's value is dropped."""
        from games.go.features import encode_position

        if position.size != self.board_size:
            raise BoardSizeError(f"policy checkpoint {self.checkpoint} is for {self.board_size}x{self.board_size} "
                                 f"boards, this game is {position.size}x{position.size}")
        if color != position.to_move:
            position = position.with_to_move(color)
        planes = encode_position(position, self.encoder)  # [P, N, N]
        x = torch.from_numpy(np.ascontiguousarray(planes)[None]).to(self.device)
        out = self.net(x)
        logits = out[0] if isinstance(out, tuple) else out  # [1, M] or [1, M + 1]; out[1] a value [1]
        return logits[0].float().cpu().numpy()

    def genmove(self, position: Position, color: int) -> int:
        logits = self.move_logits(position, color)  # [M] or [M + 1]
        allowed = sensible_mask(position, color)  # [M]
        if logits.shape[0] > allowed.shape[0]:  # the network scores pass (index M = the pass move)
            allowed = np.append(allowed, True)
        if not allowed.any():
            return position.pass_move
        if self.temperature == 0:
            return int(np.flatnonzero(allowed)[np.argmax(logits[allowed])])
        z = logits[allowed].astype(np.float64) / self.temperature
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        return int(np.flatnonzero(allowed)[self._rng.choice(len(probs), p=probs)])


def make_policy_player(arg: str = "", *, seed: int | None = None) -> PolicyPlayer:
    """Entry-point factory for ``policy:CHECKPOINT[,temperature=T]`` (a checkpoint or run directory)."""
    usage = "policy:CHECKPOINT[,temperature=T] (a checkpoint folder or a run directory)"
    path, options = parse_player_spec("policy", arg, {"temperature": float}, usage=usage)
    return PolicyPlayer(path, temperature=options.get("temperature", 0.0), seed=seed)
