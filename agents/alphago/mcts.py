"""AlphaGo's search: batched PUCT over ``rlengine.search`` with SL-policy priors and mixed leaf values.

A leaf's value is ``V = (1 - lambda) * v_theta + lambda * z`` (Silver et al. 2016): ``v_theta`` from a
value network (``value=VALUE_CKPT``, ``agents.alphago.value``; or the value head of a policy-value
network), ``z`` the outcome (+1 win / -1 loss / 0 jigo, for the player to move at the leaf) of one
playout of the fast rollout policy (``games.go.rollout``; uniformly random sensible moves without
rollout weights).  With a value network lambda defaults to 0.5 (AlphaGo's strongest setting), without
one to 1 (rollouts only); ``lambda = 0`` uses the value network alone and plays no rollouts.  The win
rates that ``lz-analyze`` and ``hint`` show are the tree's mean of these mixed values.  Priors come from
the SL policy network over the sensible moves (legal, not filling one's own single-point eye); pass,
which the SL policy does not score, gets ``pass_prior``.  The move played is the most visited one
(``final=visits``, the default) or the one with the best lower confidence bound (``final=lcb``); an
unvisited child's Q is the node's mean value less the first-play-urgency reduction ``fpu`` (default 0; see
``make_mcts_player``).

The value network has no komi input: the komi of the games it learned from is baked into its output.  A
value checkpoint says which komi that was (``agents.alphago.checkpoint.value_komi``), and a game at another
komi is refused with a ``KomiError`` that names both (at ``reset`` and whenever a search sets its roots),
unless ``lambda = 1`` leaves the value network out.

A leaf after two passes ends the search there, and its value follows the scoring in force
(``scoring``):

``area`` (the player's default)   dead stones are removed first, as a GUI, a human or a KGS
    cleanup phase does: the leaf is valued by ``end_playouts`` playouts that continue the game
    from it (whatever lambda is), so passing with one's own dead stones in the opponent's area
    is valued as the loss it is.  Right for GTP play against people and GUIs, and for
    ``rlengine match``, whose first two passes start a cleanup phase rather than end the game.
``tromp-taylor``  the exact Tromp-Taylor score of the board as it stands: right where two
    passes really end the game as it stands (self-play scored by Tromp-Taylor, and the cleanup
    phase itself, which ``genmove_cleanup`` searches this way).

``GoEvaluator`` turns a batch of leaves (paths of moves from the roots of many games) into
priors and values with compiled code (``games.go.batch``): one policy-network call for the leaves that
need priors, one value-network call for the live leaves (the planes are built once when the value
network's features extend the policy's, as alphago49 extends alphago48), and the rollouts in one
compiled batch.  ``MCTSPlayer`` is the ``mcts:CHECKPOINT[,value=VALUE][,sims=N][,lambda=L]
[,rollout=WEIGHTS][,...]`` player for GTP, matches and ``rlengine play``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from agents.alphago.checkpoint import load_policy, load_value, value_komi
from agents.alphago.spec import parse_player_spec, parse_spec_arg
from games.go import _core
from games.go import batch as go_batch
from games.go.board import BLACK, EMPTY, Position, Rules
from games.go.features import num_planes
from games.go.gtp_client import GtpError
from games.go.player import Analysis, MoveInfo
from rlengine.search import FINAL_RULES, Evaluation, Forest, SearchConfig, search

__all__ = ["SCORINGS", "GoEvaluator", "KomiError", "MCTSOptions", "MCTSPlayer", "dirichlet_alpha", "make_mcts_player",
           "net_function", "value_function"]

# (policy encoder, value encoder) pairs whose value planes start with the policy's planes: one encoding serves both
_EXTENDS = {("alphago48", "alphago49")}

SCORINGS = ("area", "tromp-taylor")  # how a leaf after two passes is valued (module docstring)

log = logging.getLogger(__name__)


class KomiError(GtpError, ValueError):
    """A value network used at another komi than the one it was trained at (it has no komi input, so its
    training komi is baked into its output: go9-value says -0.19 for Black on the empty board at 7.5)."""


def _trained_komi(path: str) -> float:
    """The komi the value checkpoint ``path`` was trained at; a ValueError when it records none."""
    komi = value_komi(path)
    if komi is None:
        raise ValueError(f"value network {path} records no komi (no komi in its state.json, no game.komi in its "
                         "config.toml), so the komi it was trained at is unknown; add game.komi to its config.toml "
                         "once you know it")
    return komi


def _check_komi(value_komi: float | None, komi: float, *, what: str = "the value network") -> None:
    """KomiError naming both komis when a game's ``komi`` is not the value network's ``value_komi``
    (None: the caller vouches for it)."""
    if value_komi is not None and float(komi) != float(value_komi):
        raise KomiError(f"{what} was trained at komi {value_komi:g}, this game has komi {float(komi):g}; the "
                        f"network has no komi input: use it at komi {value_komi:g}, or train one for "
                        f"komi {float(komi):g}")


def dirichlet_alpha(board_size: int) -> float:
    """AlphaGo Zero's root-noise concentration, 0.03 on 19x19, scaled to the number of points:
    0.03 * 361 / N^2 (about 10 / the number of moves; 0.134 on 9x9).  The player and self-play use it."""
    return 0.03 * 361 / board_size**2


def net_function(net: torch.nn.Module, device: torch.device) -> Callable:
    """``planes uint8 [B, P, N, N] -> (logits [B, N*N] or [B, N*N+1], values [B] or None)`` (numpy) for a
    policy network (logits only) or a policy-value network (``(logits, value)``)."""

    @torch.inference_mode()
    def run(planes: np.ndarray):
        out = net(torch.from_numpy(planes).to(device))
        if isinstance(out, tuple):
            return out[0].float().cpu().numpy(), out[1].float().cpu().numpy()
        return out.float().cpu().numpy(), None

    run.has_value = isinstance(getattr(net, "value", None), torch.nn.Module)
    return run


def value_function(net: torch.nn.Module, device: torch.device) -> Callable:
    """``planes uint8 [B, P, N, N] -> values float32 [B]`` (numpy) of a value network."""

    @torch.inference_mode()
    def run(planes: np.ndarray) -> np.ndarray:
        return net(torch.from_numpy(planes).to(device)).float().cpu().numpy()

    return run


class GoEvaluator:
    """The injected ``evaluate`` for Go: leaves -> (priors, legal moves, values, terminal).

    ``net_fn(planes) -> (logits [B, N*N] or [B, N*N+1], values [B] or None)`` (``net_function``);
    ``value_fn(planes) -> values [B]`` (``value_function``): a separate value network reading
    ``value_encoder`` planes (None: the policy-value network's own value, when lambda < 1);
    ``rollout``: a ``RolloutPolicy`` or None (uniform sensible moves) for the rollouts.
    ``scoring``: how a leaf after two passes is valued, ``"tromp-taylor"`` (the board as it stands;
    the default here, as self-play scores its games) or ``"area"`` (the mean outcome of
    ``end_playouts`` playouts that continue the game, so dead stones are removed); see the module
    docstring.
    ``value_komi``: the komi ``value_fn``'s network was trained at; roots at another komi are refused
    (``KomiError``, in ``set_roots``) while the value network is mixed in (lambda < 1).  None: not checked
    (the caller vouches for it).
    """

    def __init__(self, *, size: int, encoder: str, net_fn: Callable, rollout=None, lam: float = 1.0,
                 pass_prior: float = 0.01, seed: int = 0, scoring: str = "tromp-taylor", end_playouts: int = 16,
                 value_fn: Callable | None = None, value_encoder: str | None = None,
                 value_komi: float | None = None, value_name: str = "the value network"):
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lambda must be in [0, 1], got {lam}")
        if scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
        if end_playouts < 1:
            raise ValueError(f"end_playouts must be >= 1, got {end_playouts}")
        if value_fn is not None and value_encoder is None:
            raise ValueError("a value_fn needs the value_encoder its planes are built with")
        if lam < 1.0 and value_fn is None and not getattr(net_fn, "has_value", False):
            raise ValueError(f"lambda = {lam} mixes in a value network, and there is none (no value=VALUE_CKPT, "
                             "and the policy network has no value head); give one or use lambda=1 (rollouts only)")
        self.size = size
        self.encoder = encoder
        self.net_fn = net_fn
        self.rollout = rollout
        self.lam = float(lam)
        self.pass_prior = float(pass_prior)
        self.seed = int(seed)
        self.scoring = scoring
        self.end_playouts = int(end_playouts)
        self.value_fn = value_fn
        self.value_encoder = value_encoder
        self.value_komi = None if value_komi is None else float(value_komi)
        self.value_name = value_name
        # the planes the leaves are encoded with: the value network's when they extend the policy's
        self.policy_planes = num_planes(encoder)
        self.plane_encoder = value_encoder if value_fn is not None and lam < 1 and (
            value_encoder == encoder or (encoder, value_encoder) in _EXTENDS) else encoder
        self.calls = 0
        self.net_positions = 0  # positions sent to the network so far (leaves that ended the game are not)
        self.value_positions = 0  # positions sent to the separate value network
        # v of the leaves valued since the roots were set, by (tree, path): a leaf visited again before it
        # is expanded (expand > 1) is not sent to the value network again
        self._values: dict[tuple[int, bytes], float] = {}
        self.roots = None
        self.leaf_time = self.net_time = self.rollout_time = 0.0

    def set_roots(self, positions: list[Position], *, move_cap: int | None = None) -> None:
        """The roots of the next search; ``move_cap``: leaves at that many game moves are terminal
        (self-play's cap; None, for GTP games, means no cap).  ``KomiError`` when the value network is
        mixed in and a position's komi is not the one it was trained at."""
        if self.value_fn is not None and self.lam < 1:
            for pos in positions:
                _check_komi(self.value_komi, pos.rules.komi, what=self.value_name)
        self.roots = go_batch.Roots.from_positions(positions, move_cap=move_cap)
        self._values.clear()  # keyed by paths from these roots

    def __call__(self, tree_of, paths, depths, need_priors) -> Evaluation:
        t0 = time.perf_counter()
        m = self.size * self.size
        b = len(tree_of)
        if need_priors.any() or self.lam < 1:
            leaves, planes = go_batch.play_and_encode(self.roots, tree_of, paths, depths, self.plane_encoder)
        else:
            leaves, planes = go_batch.play_paths(self.roots, tree_of, paths, depths), None
        live = ~leaves.terminal
        mover_sign = np.where(leaves.to_move == BLACK, 1.0, -1.0)
        values = np.sign(leaves.score) * mover_sign  # exact at terminal leaves
        priors = np.zeros((b, m + 1), np.float32)
        want_value = live if self.lam < 1 else np.zeros(b, bool)
        want_net = (need_priors & live) | (want_value if self.value_fn is None else False)
        t1 = time.perf_counter()
        if want_net.any():
            idx = np.flatnonzero(want_net)
            x = planes[idx] if idx.size < b else planes
            if x.shape[1] != self.policy_planes:  # value planes that extend the policy's
                x = np.ascontiguousarray(x[:, :self.policy_planes])
            logits, v = self.net_fn(x)
            self.net_positions += idx.size
            legal = leaves.legal[idx]
            k = logits.shape[1]  # m + 1 when the network scores pass itself
            z = np.where(legal[:, :k], logits, -np.inf)
            top = z.max(axis=1, keepdims=True)
            p = np.exp(z - np.where(np.isfinite(top), top, 0.0))  # rows with nothing legal stay 0
            p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-30)
            if k == m:  # a board-only policy: pass gets pass_prior, or everything when nothing else is left
                only_pass = ~legal[:, :m].any(axis=1)
                p[only_pass] = 0.0
                p[~only_pass] *= 1 - self.pass_prior
                priors[idx, m] = np.where(only_pass, 1.0, self.pass_prior)
            priors[idx, :k] = p
            if self.lam < 1 and self.value_fn is None:
                values[idx] = v  # mixed with the rollouts' z below
        if self.value_fn is not None and want_value.any():
            self._value_leaves(np.flatnonzero(want_value), tree_of, paths, depths, planes, values)
        t2 = time.perf_counter()
        if self.lam > 0 and live.any():
            idx = np.flatnonzero(live)
            sub = _take(leaves, idx)
            scores = go_batch.rollout_leaves(self.rollout, sub, seed=(self.seed * 1_000_003 + self.calls) % 2**62)
            z = np.sign(scores) * mover_sign[idx]
            if self.lam < 1:
                values[idx] = (1 - self.lam) * values[idx] + self.lam * z
            else:
                values[idx] = z
        if self.scoring == "area":
            ended = np.flatnonzero(leaves.terminal & (leaves.g[:, _core.PASSES] >= 2))
            if ended.size:
                values[ended] = self._continued_value(leaves, ended, mover_sign[ended])
        self.calls += 1
        t3 = time.perf_counter()
        self.leaf_time += t1 - t0
        self.net_time += t2 - t1
        self.rollout_time += t3 - t2
        return Evaluation(priors, leaves.legal, values, leaves.terminal)

    def _value_leaves(self, idx: np.ndarray, tree_of, paths, depths, planes, values: np.ndarray) -> None:
        """values[idx] = v of those leaves: from the cache, or one value-network call for the rest."""
        keys = [(int(tree_of[i]), paths[i, :depths[i]].tobytes()) for i in idx]
        known = np.array([k in self._values for k in keys], bool)
        for i, k in zip(idx[known], (k for k, h in zip(keys, known) if h)):
            values[i] = self._values[k]
        new = idx[~known]
        if new.size:
            if self.plane_encoder == self.value_encoder:
                x = planes[new]
            else:
                x = go_batch.encode_leaves(self.roots, tree_of[new], paths[new], depths[new], self.value_encoder)
            v = self.value_fn(x)
            values[new] = v
            self.value_positions += new.size
            for k, vi in zip((k for k, h in zip(keys, known) if not h), v):
                self._values[k] = float(vi)

    def _continued_value(self, leaves, idx: np.ndarray, mover_sign: np.ndarray) -> np.ndarray:
        """Mean outcome, for the player to move, of ``end_playouts`` playouts from each of the leaves
        ``idx`` (ended by two passes) that play on as if the passes had not ended the game: the
        playouts capture the stones that are dead, as a cleanup phase or an agreement would."""
        k = self.end_playouts
        sub = _take(leaves, np.repeat(idx, k))
        sub.g[:, _core.PASSES] = 0  # a copy: the game goes on from here
        seed = (self.seed * 1_000_003 + self.calls) % 2**62 ^ 0x5EED
        scores = go_batch.rollout_leaves(self.rollout, sub, seed=seed).reshape(idx.size, k)
        return np.sign(scores).mean(axis=1) * mover_sign


def _take(leaves, idx: np.ndarray):
    """The leaves ``idx`` of a ``games.go.batch.Leaves`` (every field has the leaf axis first)."""
    return type(leaves)(*(f[idx] for f in leaves))


@dataclass(frozen=True)
class MCTSOptions:
    """What ``mcts:CHECKPOINT,key=value,...`` may set."""

    sims: int | None = None  # simulations per move (default 800 when neither sims nor seconds is set)
    seconds: float | None = None  # thinking time per move (a GTP clock, when set, takes over)
    value: str | None = None  # value-network checkpoint (agents.alphago.value); None: rollouts only
    lam: float | None = None  # V = (1 - lambda) v + lambda z; default 0.5 with a value network, 1 without
    rollout: str | None = None  # rollout-policy weights (safetensors); None: uniform sensible moves
    resign: float = 0.05  # resign when the root's win probability falls below this (0: never)
    c_puct: float = 5.0  # PUCT exploration constant (AlphaGo 2016: 5)
    # first-play-urgency reduction R: an unvisited child's Q is the node's mean value for the player to move
    # minus R * sqrt(sum of the priors of the children already tried) (Leela Zero); 0: the node's value as is
    fpu: float = 0.0
    final: str = "visits"  # the move played: "visits" (most visited) or "lcb" (Leela Zero's lower confidence bound)
    lcb_z: float = 1.96  # final=lcb: the bound is Q - lcb_z * stddev / sqrt(N)
    lcb_min: float = 0.1  # final=lcb: only children with at least this fraction of the top child's visits
    batch: int = 16  # leaves per network call (under virtual loss)
    expand: int = 1  # expansion threshold (visits before a leaf gets priors and children)
    capacity: int = 400_000  # tree nodes
    noise: float = 0.0  # Dirichlet noise weight at the root (self-play)
    # how a two-pass leaf is valued: "area" (dead stones removed, as GUIs, people and a cleanup phase
    # do) or "tromp-taylor" (the board as it stands); see the module docstring
    scoring: str = "area"

    def __post_init__(self) -> None:
        if self.sims is not None and self.sims < 1:
            raise ValueError(f"sims must be >= 1, got {self.sims}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be > 0, got {self.seconds}")
        if self.lam is not None and not 0 <= self.lam <= 1:
            raise ValueError(f"lambda must be in [0, 1], got {self.lam}")
        if not 0 <= self.resign < 0.5:
            raise ValueError(f"resign must be in [0, 0.5), got {self.resign}")
        if self.batch < 1 or self.expand < 1 or self.capacity < 1000:
            raise ValueError("batch and expand must be >= 1, capacity >= 1000")
        if self.scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {', '.join(SCORINGS)}, got {self.scoring!r}")
        if not self.c_puct >= 0:
            raise ValueError(f"c_puct must be >= 0, got {self.c_puct}")
        if not self.fpu >= 0:
            raise ValueError(f"fpu must be >= 0, got {self.fpu}")
        if self.final not in FINAL_RULES:
            raise ValueError(f"final must be one of {', '.join(FINAL_RULES)}, got {self.final!r}")
        if not self.lcb_z >= 0:
            raise ValueError(f"lcb_z must be >= 0, got {self.lcb_z}")
        if not 0 <= self.lcb_min <= 1:
            raise ValueError(f"lcb_min must be in [0, 1], got {self.lcb_min}")


_OPTION_TYPES = {"value": str, "sims": int, "seconds": float, "lambda": float, "rollout": str, "resign": float,
                 "c_puct": float, "fpu": float, "final": str, "lcb_z": float, "lcb_min": float, "batch": int,
                 "expand": int, "capacity": int, "noise": float, "scoring": str}


class MCTSPlayer:
    """Batched MCTS with an SL policy checkpoint's priors; tree reused between moves.

    ``value_net`` / ``value_encoder`` / ``value_komi`` inject a value network instead of ``options.value``;
    ``value_komi`` None leaves the komi unchecked (the caller vouches for it)."""

    def __init__(self, checkpoint: str | Path, options: MCTSOptions | None = None, *, seed: int | None = None,
                 device: str | None = None, net: torch.nn.Module | None = None, encoder: str | None = None,
                 board_size: int | None = None, rollout_policy=None, value_net: torch.nn.Module | None = None,
                 value_encoder: str | None = None, value_komi: float | None = None):
        from agents.alphago.rollout import load_rollout

        self.options = opts = options or MCTSOptions()
        self.checkpoint = str(checkpoint)
        if net is None:
            cfg, net, dev = load_policy(checkpoint, device=device or "cpu")
            encoder, board_size = cfg.network.encoder, cfg.board_size
        else:
            dev = torch.device(device or "cpu")
        self.board_size = int(board_size)
        self.encoder = encoder
        self.name = f"mcts:{Path(checkpoint).name}"
        net_fn = net_function(net, dev)
        value_name = "the value network"
        if value_net is None and opts.value:
            value_cfg, value_net, _ = load_value(opts.value, device=str(dev))
            value_encoder = value_cfg.network.encoder
            if value_cfg.board_size != self.board_size:
                raise ValueError(f"value network {opts.value} is for {value_cfg.board_size}x{value_cfg.board_size} "
                                 f"boards, the policy {checkpoint} for {self.board_size}x{self.board_size}")
            value_komi = _trained_komi(opts.value)
            value_name = f"value network {opts.value}"
        value_fn = value_function(value_net, dev) if value_net is not None else None
        self.lam = opts.lam if opts.lam is not None else (0.5 if value_net is not None else 1.0)
        # the komi the value network was trained at: games at another komi are refused (reset, and every search)
        self.value_komi = value_komi if value_fn is not None and self.lam < 1 else None
        self._value_name = value_name
        rollout = rollout_policy or (load_rollout(opts.rollout) if opts.rollout else None)
        if rollout is not None and rollout.size != self.board_size:
            rollout = type(rollout)(rollout.weights, self.board_size)
        self._seed = int(seed if seed is not None else random.SystemRandom().randrange(2**31))
        self.evaluator = GoEvaluator(size=self.board_size, encoder=encoder, net_fn=net_fn, rollout=rollout,
                                     lam=self.lam, seed=self._seed, scoring=opts.scoring, value_fn=value_fn,
                                     value_encoder=value_encoder, value_komi=self.value_komi,
                                     value_name=value_name)
        self.scoring = opts.scoring  # shown by the GTP engine's version
        self.config = SearchConfig(c_puct=opts.c_puct, fpu_reduction=opts.fpu, final=opts.final, lcb_z=opts.lcb_z,
                                   lcb_min_visits=opts.lcb_min, leaves_per_tree=opts.batch,
                                   expand_threshold=opts.expand, dirichlet_epsilon=opts.noise,
                                   dirichlet_alpha=dirichlet_alpha(self.board_size))
        m = self.board_size ** 2
        self.forest = Forest(1, m + 1, capacity=opts.capacity)
        self._rng = np.random.default_rng(self._seed)
        self._tree_pos: Position | None = None  # the position at the tree's root
        self._last_choice: int | None = None  # the move genmove returned last
        self._time = None  # games.go.timecontrol.TimeSettings from set_time
        self._lock = threading.Lock()
        self.last_stats = None

    # ---- Player hooks ----------------------------------------------------------------------
    def reset(self, rules: Rules) -> None:
        _check_komi(self.value_komi, rules.komi, what=self._value_name)  # KomiError: a GTP "? ..." answer
        if rules.size != self.board_size:
            log.warning("%s: network is for %dx%d, the board is %dx%d", self.checkpoint, self.board_size,
                        self.board_size, rules.size, rules.size)
        self.forest.reset(0)
        self._tree_pos = None

    def reseed(self, seed: int) -> None:
        self._seed = int(seed)
        self._rng = np.random.default_rng(seed)
        self.evaluator.seed = int(seed)
        self.evaluator.calls = 0

    def set_time(self, settings) -> None:
        self._time = settings

    def close(self) -> None:
        return None

    # ---- the tree ----------------------------------------------------------------------------
    def _check_size(self, position: Position) -> None:
        if position.size != self.board_size:
            from agents.alphago.players import BoardSizeError

            raise BoardSizeError(f"mcts checkpoint {self.checkpoint} is for {self.board_size}x{self.board_size} "
                                 f"boards, this game is {position.size}x{position.size}")

    def _root_at(self, position: Position) -> None:
        """Point the tree at ``position``: keep the subtree when it follows from the last root by one or
        two moves (the opponent's reply, or our move and the reply), else start afresh."""
        old = self._tree_pos
        kept = False
        if old is not None:
            line = _moves_between(old, position, self._last_choice)
            if line is not None:
                kept = True
                for mv in line:
                    self.forest.advance(0, mv)
        if not kept:
            self.forest.reset(0)
        self._tree_pos = position.copy()
        self.evaluator.set_roots([self._tree_pos])

    def _budget(self, position: Position, color: int, visits: int | None, seconds: float | None):
        opts = self.options
        if visits is None and seconds is None:
            seconds = self._clock_budget(position, color)
            if seconds is None:
                seconds = opts.seconds
                visits = opts.sims if (opts.sims or not opts.seconds) else None
                if visits is None and seconds is None:
                    visits = 800
        return visits, seconds

    def _clock_budget(self, position: Position, color: int) -> float | None:
        if self._time is None:
            return None
        from games.go.timecontrol import move_budget

        return move_budget(self._time, color, moves_played=position.move_number, board_size=position.size)

    def _search(self, position: Position, color: int, *, visits: int | None, seconds: float | None,
                stop: threading.Event | None = None, callback=None, interval: float = 1.0):
        self._check_size(position)
        if color != position.to_move:
            position = position.with_to_move(color)
        self._root_at(position)
        deadline = None if seconds is None else time.perf_counter() + seconds
        target = visits if visits is not None else 10**9
        next_report = [time.perf_counter() + interval]

        def on_batch():
            if callback is not None and time.perf_counter() >= next_report[0]:
                next_report[0] = time.perf_counter() + interval
                callback(self._analysis(color))

        stats = search(self.forest, self.evaluator, target, self.config, rng=self._rng, deadline=deadline,
                       stop=(stop.is_set if stop is not None else None), on_batch=on_batch)
        self.last_stats = stats
        return self._analysis(color)

    def _analysis(self, color: int) -> Analysis:
        acts, vis, q, prior = self.forest.children(0)
        order = np.argsort(-vis, kind="stable")
        moves = tuple(
            MoveInfo(move=int(acts[j]), visits=int(vis[j]), winrate=float((q[j] + 1) / 2), prior=float(prior[j]),
                     pv=tuple(self.forest.principal_variation(0, int(acts[j]))))
            for j in order if vis[j] > 0)
        return Analysis(color=color, moves=moves, visits=self.forest.root_visits(0),
                        winrate=(self.forest.root_value(0) + 1) / 2)

    # ---- playing -------------------------------------------------------------------------------
    def analyze(self, position: Position, color: int, *, visits: int | None = None, seconds: float | None = None,
                stop: threading.Event | None = None, callback=None, interval: float = 1.0) -> Analysis:
        if visits is None and seconds is None and stop is None:
            raise ValueError("analyze needs visits, seconds or a stop event")
        with self._lock:
            self._use_scoring(self.options.scoring)
            return self._search(position, color, visits=visits, seconds=seconds, stop=stop, callback=callback,
                                interval=interval)

    def _use_scoring(self, scoring: str) -> None:
        """Value two-pass leaves by ``scoring`` from now on; the tree, whose ended leaves keep the value
        they were given, starts afresh when that changes."""
        if self.evaluator.scoring != scoring:
            self.evaluator.scoring = scoring
            self.forest.reset(0)
            self._tree_pos = None

    def genmove(self, position: Position, color: int, *, callback=None, interval: float = 1.0) -> int | None:
        return self._genmove(position, color, self.options.scoring, callback=callback, interval=interval)

    def _genmove(self, position: Position, color: int, scoring: str, *, callback=None,
                 interval: float = 1.0) -> int | None:
        visits, seconds = self._budget(position, color, None, None)
        with self._lock:
            self._use_scoring(scoring)
            info = self._search(position, color, visits=visits, seconds=seconds, callback=callback,
                                interval=interval)
            if not info.moves:
                return position.pass_move
            chosen = self.forest.best_action(0, self.config)  # final=visits: info.moves[0]; final=lcb: its bound
            best = next((m for m in info.moves if m.move == chosen), info.moves[0])
            if self.options.resign > 0 and info.visits >= 50 and best.winrate < self.options.resign:
                return None
            self._last_choice = best.move
            return best.move

    def genmove_analyze(self, position: Position, color: int, *, callback=None, interval: float = 1.0) -> int | None:
        """``genmove`` that reports its search through ``callback(Analysis)`` (GTP lz-genmove_analyze)."""
        return self.genmove(position, color, callback=callback, interval=interval)

    def genmove_cleanup(self, position: Position, color: int) -> int:
        """Play on (never pass) while the opponent has stones the rollouts say are dead.

        The cleanup phase ends at two more passes and is then scored by Tromp-Taylor as the board
        stands, so it is searched with ``scoring=tromp-taylor`` whatever the option says; a position
        whose two passes started the phase is searched as if they had not ended the game.
        """
        if position.is_over:  # the two passes that started the cleanup phase: play on from there
            position = position.playing_on()
        move = self._genmove(position, color, "tromp-taylor")
        if move is None or move != position.pass_move:
            return position.pass_move if move is None else move
        own = self.ownership(position)
        stones = position.stones()
        opp = 3 - color
        opp_sign = 1.0 if opp == BLACK else -1.0
        if not np.any((stones == opp) & (own * opp_sign < -0.5)):
            return move
        info = self._analysis(color)
        for mi in info.moves:
            if mi.move != position.pass_move:
                return mi.move
        return move

    def ownership(self, position: Position, playouts: int = 64) -> np.ndarray:
        """float [N*N] in [-1, 1]: mean final owner (+1 black) over rollouts from ``position``."""
        roots = go_batch.Roots.from_positions([position])
        n = int(playouts)
        leaves = go_batch.play_paths(roots, np.zeros(n, np.int64), np.zeros((n, 1), np.int32), np.zeros(n, np.int32))
        _, owner = go_batch.owner_leaves(self.evaluator.rollout, leaves, seed=self._seed % 2**62)
        signed = np.where(owner == BLACK, 1.0, np.where(owner == EMPTY, 0.0, -1.0))
        return signed.mean(axis=0)

    def stats(self) -> dict:
        st = self.last_stats
        return {} if st is None else st._asdict()


def _moves_between(old: Position, new: Position, guess: int | None = None, max_moves: int = 2) -> list[int] | None:
    """The moves leading from ``old`` to ``new`` (at most ``max_moves``), found through ``new``'s
    parent chain, or, for positions played in place (no parents), by trying the opponent's reply
    alone or after ``guess`` (the move we chose last); None when ``new`` does not follow from ``old``."""
    chain: list[int] = []
    pos = new
    for _ in range(max_moves + 1):
        if _same_state(pos, old):
            return chain[::-1]
        if pos.parent is None or pos.last_move is None:
            break
        chain.append(int(pos.last_move))
        pos = pos.parent
    if new.last_move is None:
        return None
    for line in ([int(new.last_move)], [guess, int(new.last_move)]):
        if None in line or new.move_number != old.move_number + len(line):
            continue
        pos = old
        for mv in line:
            if not pos.is_legal(mv):
                break
            pos = pos.play(mv)
        else:
            if _same_state(pos, new):
                return line
    return None


def _same_state(a: Position, b: Position) -> bool:
    return (a.size == b.size and a.to_move == b.to_move and a.zobrist == b.zobrist and a.ko_point == b.ko_point
            and a.move_number == b.move_number and a.passes == b.passes)


def make_mcts_player(arg: str = "", *, seed: int | None = None) -> MCTSPlayer:
    """Entry-point factory for ``mcts:CHECKPOINT[,value=VALUE][,sims=N][,seconds=S][,lambda=L][,rollout=WEIGHTS]
    [,resign=R][,c_puct=C][,fpu=R][,final=visits|lcb][,lcb_z=Z][,lcb_min=F][,batch=B][,expand=E][,capacity=NODES]
    [,noise=EPS][,scoring=area|tromp-taylor]``.

    ``value`` names a value-network checkpoint or run directory; lambda then defaults to 0.5 (0: the value
    network alone, 1: rollouts alone).

    ``scoring`` (default ``area``) says how the search values a game ended by two passes: ``area``
    removes dead stones first (GUIs, people, and ``rlengine match``, whose two passes start a cleanup
    phase); ``tromp-taylor`` scores the board as it stands.

    The search constants (defaults: AlphaGo 2016's, today's behaviour):

    - ``c_puct`` (default 5): the PUCT exploration constant.
    - ``fpu`` (default 0): the first-play-urgency reduction R.  A child not yet visited counts with
      ``Q = the node's mean value for the player to move - R * sqrt(sum of the priors of the children
      already tried)`` (Leela Zero's rule; with 0, the node's mean value as it is).
    - ``final`` (default ``visits``): the move played is the most visited (``visits``), or (``lcb``) the one
      with the highest lower confidence bound ``mean - lcb_z * stddev / sqrt(N)`` of its backed-up values
      among the moves with at least 2 visits and ``lcb_min`` (default 0.1) of the top move's visits
      (``lcb_z`` default 1.96); the most visited when none qualifies.
    """
    usage = ("mcts:CHECKPOINT[,value=VALUE][,sims=N][,seconds=S][,lambda=L][,rollout=WEIGHTS][,resign=R][,c_puct=C]"
             "[,fpu=R][,final=visits|lcb][,lcb_z=Z][,lcb_min=F][,batch=B][,expand=E][,capacity=NODES][,noise=EPS]"
             "[,scoring=area|tromp-taylor]")
    from agents.alphago.weights import PRESETS

    name = arg.split(",", 1)[0]
    if name in PRESETS and not Path(name).exists():  # a shipped player: its options, then the spec's own
        policy, preset = PRESETS[name]
        _, own = parse_spec_arg(arg)
        if own.keys() & {"sims", "seconds"}:  # the spec's own budget replaces the preset's
            preset = {k: v for k, v in preset.items() if k not in ("sims", "seconds")}
        arg = ",".join([policy, *(f"{k}={v}" for k, v in {**preset, **own}.items())])
    path, options = parse_player_spec("mcts", arg, _OPTION_TYPES, usage=usage)
    kw = {"lam" if key == "lambda" else key: value for key, value in options.items()}
    return MCTSPlayer(path, MCTSOptions(**kw), seed=seed)
