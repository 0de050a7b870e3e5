"""Batched games between two policy networks: the self-play worker of the RL policy stage.

``PolicyGamesWorker`` is a plain class (``rlengine.runtime.ActorPool`` runs it in-process or as a Ray
actor).  ``load(key, version, weights)`` installs a network's weights under a name (``learner``,
``pool-3``, ...); ``run(task)`` plays ``task["num_games"]`` games at once between two of them, one
batched network call per ply for each side, and returns the games as numpy arrays (moves, not planes).

Each game is a ``games.go.game.Game`` (the one game loop's state, no cleanup phase): it ends at two
passes or at the move cap and is scored Tromp-Taylor with komi.  A move is sampled from
softmax(logits / temperature) over the *sensible* moves (legal under the game's rules, superko included,
and not filling the mover's own single-point eye: ``games.go.batch.sensible_mask``); with none left the
player passes.  Every move also comes back with the mask it was sampled from (packed bits) and its
*behaviour log-probability* log softmax(logits / temperature)[move] under the network that played it, so
the learner can compute its own log-probabilities of the moves as they were played and correct for the
games that older weights played (``agents.alphago.rl``).

Networks are cached by key, at most ``max_cached`` of them, least recently used evicted first: a task's
``run`` marks its two networks used, and eviction happens at the start of ``run`` and never drops a
network that this task needs (``load`` only inserts, so a burst of loads cannot drop the learner).
"""

from __future__ import annotations

import numpy as np
import torch

from agents.alphago.config import GameSection, NetworkSection
from agents.alphago.nets import build_policy_net
from games.go import batch as go_batch
from games.go.board import BLACK, WHITE, Rules
from games.go.features import encode_position, num_planes
from games.go.game import END_PASSES, Game, default_move_cap

__all__ = ["PolicyGamesWorker", "log_probs", "rules_of", "sample_moves"]


def rules_of(game: GameSection) -> Rules:
    return Rules(game.board_size, game.komi, game.ko, game.allow_suicide)


def sample_moves(logits: np.ndarray, allowed: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """int64 [B]: one move per row sampled from softmax(logits / temperature) over ``allowed`` (bool [B, M])
    by the Gumbel-max trick; M (pass) for a row with nothing allowed."""
    b, m = logits.shape
    z = logits.astype(np.float64) / temperature - np.log(-np.log(rng.random((b, m)) + 1e-300) + 1e-300)
    z[~allowed] = -np.inf
    moves = z.argmax(1)
    moves[~allowed.any(1)] = m
    return moves


def log_probs(logits: np.ndarray, allowed: np.ndarray, moves: np.ndarray, temperature: float) -> np.ndarray:
    """float32 [B]: log softmax(logits / temperature)[move] over ``allowed`` (bool [B, M]) of each row's
    ``moves`` (int [B]); 0 for a pass played because nothing was allowed (the only choice)."""
    b, m = logits.shape
    out = np.zeros(b, np.float64)
    played = np.flatnonzero(moves < m)  # a pass is played only when nothing is allowed: probability 1
    z = np.where(allowed[played], logits[played].astype(np.float64) / temperature, -np.inf)  # [B', M]
    top = z.max(1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(1))  # [B']
    out[played] = z[np.arange(len(played)), moves[played]] - lse
    return out.astype(np.float32)


class PolicyGamesWorker:
    """Plays batches of games between two loaded policy networks (CPU inference by default)."""

    def __init__(self, *, network: dict, game: dict, temperature: float = 1.0, device: str = "cpu",
                 max_cached: int = 8):
        self.network = NetworkSection(**network)
        self.game = GameSection(**game)
        self.rules = rules_of(self.game)
        self.size = self.game.board_size
        self.max_moves = self.game.max_moves or default_move_cap(self.size)
        self.temperature = float(temperature)
        self.device = torch.device(device)
        self.max_cached = int(max_cached)
        self.nets: dict[str, torch.nn.Module] = {}
        self.versions: dict[str, int] = {}
        self._warm()

    def _warm(self) -> None:
        """Compile (or load from numba's cache) the kernels once, before the first task."""
        g = Game(self.rules, cleanup=False)
        encode_position(g.position, self.network.encoder)
        go_batch.sensible_mask(g.position)

    def section(self, key: str) -> NetworkSection:
        """The network section of the network loaded under ``key`` (one for all here)."""
        return self.network

    def load(self, key: str, version: int, weights: dict[str, np.ndarray]) -> None:
        """Install ``weights`` as network ``key`` (most recently used); never evicts (``run`` does)."""
        net = self.nets.pop(key, None)
        if net is None:
            net = build_policy_net(self.section(key), self.size).to(self.device).eval()
        # a copy: Ray hands read-only arrays
        net.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in weights.items()})
        self.nets[key] = net  # dict order = least recently used first
        self.versions[key] = version

    def use(self, *keys: str) -> None:
        """Mark ``keys`` most recently used, then evict the least recently used networks beyond
        ``max_cached``, never one of ``keys`` (the networks of the task about to run).  KeyError names a
        key that is not loaded."""
        for key in keys:
            if key not in self.nets:
                raise KeyError(f"network {key!r} is not loaded in this worker")
            self.nets[key] = self.nets.pop(key)
        for old in [k for k in self.nets if k not in keys][:max(0, len(self.nets) - max(self.max_cached, len(keys)))]:
            del self.nets[old]
            del self.versions[old]

    @torch.no_grad()
    def logits(self, key: str, games: list[Game]) -> tuple[np.ndarray, np.ndarray]:
        """(logits float32 [B, M], sensible masks bool [B, M]) of network ``key`` for the side to move in each
        of ``games``: one network call."""
        m = self.size * self.size
        encoder = self.section(key).encoder
        planes = np.empty((len(games), num_planes(encoder), self.size, self.size), np.uint8)
        masks = np.empty((len(games), m), np.bool_)
        for r, g in enumerate(games):
            encode_position(g.position, encoder, out=planes[r])
            masks[r] = go_batch.sensible_mask(g.position)[:m]
        out = self.nets[key](torch.from_numpy(planes).to(self.device))
        return (out[0] if isinstance(out, tuple) else out)[:, :m].float().cpu().numpy(), masks

    def _choose(self, key: str, games: list[Game],
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(moves int64 [B], masks bool [B, M], behaviour log-probabilities float32 [B]) for the side to move
        in each of ``games``."""
        logits, masks = self.logits(key, games)
        moves = sample_moves(logits, masks, self.temperature, rng)
        return moves, masks, log_probs(logits, masks, moves, self.temperature)

    def run(self, task: dict) -> dict:
        """Play ``task["num_games"]`` games of ``task["learner"]`` against ``task["opponent"]``.

        The learner plays black in game j when ``(task["first_color"] + j)`` is even (colours alternate).
        Returns arrays: ``points`` int16 [E] and ``colors`` int8 [E] (every move, pass = N*N),
        ``offsets`` int64 [G+1], ``learner`` bool [E] (a learner move), ``masks`` uint8 [E, ceil(M/8)]
        (the packed sensible mask each move was sampled from), ``learner_color`` int8 [G], ``score``
        float32 [G] (black minus white minus komi), ``z`` int8 [G] (+1 the learner won, -1 lost, 0 draw),
        ``capped`` bool [G], ``logp`` float32 [E] (each move's log-probability under the network that
        sampled it, at the worker's temperature: the behaviour policy of the learner's moves); and
        ``versions`` (the versions of the two networks that played), ``sgf`` (the first game as SGF text
        when ``task["sgf"]``).
        """
        learner, opponent = task["learner"], task["opponent"]
        self.use(learner, opponent)
        n = int(task["num_games"])
        rng = np.random.default_rng(int(task["seed"]))
        lcolor = np.array([BLACK if (int(task.get("first_color", 0)) + j) % 2 == 0 else WHITE for j in range(n)],
                          np.int8)
        games = [Game(self.rules, cleanup=False, max_moves=self.max_moves) for _ in range(n)]
        masks: list[list[np.ndarray]] = [[] for _ in range(n)]
        logps: list[list[float]] = [[] for _ in range(n)]
        while True:
            live = [j for j in range(n) if not games[j].over]
            if not live:
                break
            groups = {side: [j for j in live if (games[j].to_move == lcolor[j]) == side] for side in (True, False)}
            for key, side in ((learner, True), (opponent, False)):
                group = groups[side]  # one move per live game per ply
                if not group:
                    continue
                moves, rows, logp = self._choose(key, [games[j] for j in group], rng)
                for r, j in enumerate(group):
                    masks[j].append(rows[r])
                    logps[j].append(logp[r])
                    games[j].play(int(moves[r]))
        lengths = np.array([g.num_moves for g in games], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        points = np.array([mv.point for g in games for mv in g.moves], np.int16)
        colors = np.array([mv.color for g in games for mv in g.moves], np.int8)
        learner_moves = np.repeat(lcolor, lengths) == colors
        packed = np.packbits(np.concatenate([np.stack(mk) for mk in masks]), axis=1)  # [E, ceil(M/8)]
        score = np.array([g.score for g in games], np.float32)
        won = np.where(score > 0, BLACK, np.where(score < 0, WHITE, 0))
        z = np.where(won == 0, 0, np.where(won == lcolor, 1, -1)).astype(np.int8)
        result = {"points": points, "colors": colors, "offsets": offsets, "learner": learner_moves,
                  "masks": packed, "logp": np.array([x for lp in logps for x in lp], np.float32),
                  "learner_color": lcolor, "score": score, "z": z,
                  "capped": np.array([g.end != END_PASSES for g in games]),
                  "versions": {learner: self.versions[learner], opponent: self.versions[opponent]}}
        if task.get("sgf"):
            names = {True: f"{learner} v{self.versions[learner]}", False: f"{opponent} v{self.versions[opponent]}"}
            rec = games[0].record(black=names[bool(lcolor[0] == BLACK)], white=names[bool(lcolor[0] == WHITE)],
                                  comment=f"RL self-play, task seed {task['seed']}")
            result["sgf"] = rec.to_sgf()
        return result
