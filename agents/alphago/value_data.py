"""The value network's data: AlphaGo's recipe (Silver et al. 2016), played by self-play actors.

One position per game.  Draw U uniformly from 1..``data.u_max``; moves 1..U-1 are sampled from the SL
policy, move U is a uniformly random legal move (pass only when nothing else is legal), and from move
U+1 to the end the RL policy plays both sides.  The game ends at two passes or at the move cap and is
scored Tromp-Taylor with komi.  The training pair is (s_{U+1}, z): the position after the random move,
and the result from the side to move there (+1 win, -1 loss, 0 jigo).  One position per game keeps the
samples nearly independent; every position of the same games makes highly correlated samples that a
network memorises (the overfitting contrast of the paper; ``data.positions = "all"``).

Each game is stored whole (every move), with its seed, U and its score, so any position can be
replayed from the moves and checked; a game that ends before move U+1 exists ("short") gives no
position and is counted.  ``ValueGamesWorker`` is a plain class that ``rlengine.runtime.ActorPool``
runs in-process or as Ray actors; ``generate`` writes one shard per task (``task-NNNNNN.npz``,
atomically) under ``data.dir`` with ``meta.json`` (the settings the games depend on), and resumes by
playing only the tasks whose shard is missing.  ``load_value_data`` reads the shards; the split into
train and test is by game (a hash of the game's seed), so no game has positions on both sides.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from agents.alphago.checkpoint import load_policy
from agents.alphago.config import NetworkSection, ValueRunConfig
from agents.alphago.data import GameStream
from agents.alphago.policy_games import PolicyGamesWorker, sample_moves
from games.go.board import BLACK
from games.go.game import END_PASSES, Game
from rlengine.config import ConfigError
from rlengine.runtime import (ActorPool, CheckpointError, atomic_write_bytes, atomic_write_text, connect_ray)
from rlengine.seeding import derive_seed

__all__ = ["ValueData", "ValueGamesWorker", "generate", "game_is_test", "load_value_data", "value_samples"]

log = logging.getLogger(__name__)

FORMAT = 1
SL, RL = "sl", "rl"


class ValueGamesWorker(PolicyGamesWorker):
    """Plays value-data games: the SL policy (key ``sl``) to move U-1, a random move U, then the RL policy
    (key ``rl``) for both sides.  Every game has its own generator, seeded by the game's seed."""

    def __init__(self, *, sl_network: dict, rl_network: dict, game: dict, u_max: int, temperature: float = 1.0,
                 device: str = "cpu"):
        super().__init__(network=rl_network, game=game, temperature=temperature, device=device)
        self.sections = {SL: NetworkSection(**sl_network), RL: self.network}
        self.u_max = int(u_max)

    def section(self, key: str) -> NetworkSection:
        return self.sections[key]

    def run(self, task: dict) -> dict:
        """Play ``task["num_games"]`` games; game j's seed is ``derive_seed(task["seed"], j)``.

        Returns arrays: ``points`` int16 [E], ``colors`` int8 [E], ``offsets`` int64 [G+1] (every move of
        every game, pass = N*N), ``u`` int16 [G] (the ply of the random move: the kept position is the
        one after ``u`` moves), ``score`` float32 [G] (black minus white minus komi), ``game_seed``
        uint64 [G], ``capped`` bool [G] (ended at the move cap), ``short`` bool [G] (ended before move
        U+1: no position).
        """
        for key in (SL, RL):
            if key not in self.nets:
                raise KeyError(f"network {key!r} is not loaded in this worker")
        n = int(task["num_games"])
        seeds = np.array([derive_seed(int(task["seed"]), j) for j in range(n)], np.uint64)
        rngs = [np.random.default_rng(int(s)) for s in seeds]
        u = np.array([int(r.integers(1, self.u_max + 1)) for r in rngs], np.int64)
        games = [Game(self.rules, cleanup=False, max_moves=self.max_moves) for _ in range(n)]
        while True:
            live = [j for j in range(n) if not games[j].over]
            if not live:
                break
            for j in live:  # move U: uniformly random among the legal moves (pass only when nothing else is)
                if games[j].num_moves == u[j] - 1:
                    legal = np.flatnonzero(games[j].position.legal_mask()[:-1])
                    games[j].play(int(rngs[j].choice(legal)) if legal.size else games[j].position.pass_move)
            for key, group in ((SL, [j for j in live if games[j].num_moves < u[j] - 1]),
                               (RL, [j for j in live if games[j].num_moves >= u[j] and not games[j].over])):
                if not group:
                    continue
                logits, masks = self.logits(key, [games[j] for j in group])
                for r, j in enumerate(group):
                    move = sample_moves(logits[r:r + 1], masks[r:r + 1], self.temperature, rngs[j])[0]
                    games[j].play(int(move))
        lengths = np.array([g.num_moves for g in games], np.int64)
        return {"points": np.array([mv.point for g in games for mv in g.moves], np.int16),
                "colors": np.array([mv.color for g in games for mv in g.moves], np.int8),
                "offsets": np.concatenate([[0], np.cumsum(lengths)]), "u": u.astype(np.int16),
                "score": np.array([g.score for g in games], np.float32), "game_seed": seeds,
                "capped": np.array([g.end != END_PASSES for g in games]), "short": lengths <= u}


# ---- generation ----------------------------------------------------------------------------------------


def _meta(cfg: ValueRunConfig, sl_cfg=None, rl_cfg=None) -> dict:
    """The settings the games depend on (the networks' sections when their configs are given)."""
    d = cfg.data
    meta = {"format": FORMAT, "sl": d.sl, "rl": d.rl, "u_max": d.u_max, "temperature": d.temperature,
            "seed": d.seed, "games_per_task": cfg.runtime.games_per_task, "game": dataclasses.asdict(cfg.game)}
    if sl_cfg is not None:
        meta.update(sl_network=dataclasses.asdict(sl_cfg.network), rl_network=dataclasses.asdict(rl_cfg.network))
    return meta


def _check_meta(path: Path, old: dict, new: dict) -> None:
    diffs = [k for k in new if k != "format" and old.get(k) != new[k]]
    if old.get("format") != FORMAT or diffs:
        key = diffs[0] if diffs else "format"
        where = "runtime" if key == "games_per_task" else "data"
        raise ConfigError(f"{path}: the games in {path.parent} were made with {key} = {old.get(key)!r}, "
                          f"this config has {new.get(key)!r} ({where}.{key}); use another data.dir or the same "
                          "settings")


def _load_net(path: str, key: str, size: int):
    try:
        cfg, net, _ = load_policy(path, device="cpu")
    except (CheckpointError, FileNotFoundError, OSError) as exc:
        raise ConfigError(f"data.{key} = {path!r}: {exc}") from None
    if cfg.board_size != size:
        raise ConfigError(f"data.{key} = {path!r}: a policy for {cfg.board_size}x{cfg.board_size} boards, "
                          f"but game.board_size is {size}")
    return cfg, net


def _save_npz(path: Path, arrays: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _shard(directory: Path, task: int) -> Path:
    return directory / f"task-{task:06d}.npz"


def generate(cfg: ValueRunConfig, *, progress: bool = True, address: str | None = None,
             stop_after: int | None = None) -> dict:
    """Play the missing games of ``data.dir`` (``data.games`` in all) on ``runtime`` actors.

    ``stop_after`` ends the call after that many new tasks (as a kill would, for tests).  Returns
    ``{"dir", "games", "tasks", "new_tasks", "seconds", "games_per_s"}``."""
    from agents.alphago.rl import numpy_weights

    d, rt, size = cfg.data, cfg.runtime, cfg.game.board_size
    out = Path(d.dir)
    meta_path = out / "meta.json"
    per_task = rt.games_per_task
    num_tasks = math.ceil(d.games / per_task)
    todo = [i for i in range(num_tasks) if not _shard(out, i).exists()]
    if not todo and meta_path.exists():  # complete: the policies need not be at hand any more
        _check_meta(meta_path, json.loads(meta_path.read_text()), _meta(cfg))
        return {"dir": str(out), "games": d.games, "tasks": num_tasks, "new_tasks": 0, "seconds": 0.0,
                "games_per_s": None}
    sl_cfg, sl_net = _load_net(d.sl, "sl", size)
    rl_cfg, rl_net = _load_net(d.rl, "rl", size)
    meta = _meta(cfg, sl_cfg, rl_cfg)
    out.mkdir(parents=True, exist_ok=True)
    if meta_path.exists():
        _check_meta(meta_path, json.loads(meta_path.read_text()), meta)
    else:
        atomic_write_text(meta_path, json.dumps(meta, indent=1))
    if stop_after is not None:
        todo = todo[:stop_after]
    size_of = {i: min(per_task, d.games - i * per_task) for i in range(num_tasks)}
    done_games = d.games - sum(size_of[i] for i in range(num_tasks) if not _shard(out, i).exists())
    t0 = time.perf_counter()
    new_games = 0
    if todo:
        factory = functools.partial(ValueGamesWorker, sl_network=dataclasses.asdict(sl_cfg.network),
                                    rl_network=dataclasses.asdict(rl_cfg.network), game=dataclasses.asdict(cfg.game),
                                    u_max=d.u_max, temperature=d.temperature)
        started_ray = connect_ray(address or rt.address or None, num_cpus=rt.num_cpus, num_actors=rt.num_actors,
                                  cpus_per_actor=rt.cpus_per_actor) if rt.backend == "ray" else False
        actors = ActorPool(factory, num_actors=rt.num_actors, backend=rt.backend, max_in_flight=rt.max_in_flight,
                           cpus_per_actor=rt.cpus_per_actor, max_retries=rt.max_retries, name="value-data actor")
        bar = tqdm(total=d.games, initial=done_games, unit="game", disable=not progress, file=sys.stderr,
                   dynamic_ncols=True, desc=f"value data {size}x{size}")
        try:
            actors.publish(SL, numpy_weights(sl_net), version=0)
            actors.publish(RL, numpy_weights(rl_net), version=0)
            queue = list(todo)
            in_flight = rt.num_actors * rt.max_in_flight
            remaining = len(queue)
            while remaining:
                while queue and actors.num_pending < in_flight:
                    i = queue.pop(0)
                    actors.submit({"index": i, "num_games": size_of[i], "seed": derive_seed(d.seed, "value-task", i)},
                                  needs=(SL, RL))
                _, task, res = actors.next_result()
                _save_npz(_shard(out, task["index"]), {**res, "task": np.array(task["index"]),
                                                        "size": np.array(size), "komi": np.array(cfg.game.komi)})
                remaining -= 1
                new_games += task["num_games"]
                bar.update(task["num_games"])
        finally:
            bar.close()
            actors.close()
            if started_ray:
                import ray

                ray.shutdown()
    seconds = time.perf_counter() - t0
    return {"dir": str(out), "games": done_games + new_games, "tasks": num_tasks, "new_tasks": len(todo),
            "seconds": seconds, "games_per_s": new_games / seconds if new_games else None}


# ---- reading -------------------------------------------------------------------------------------------


def game_is_test(game_seed: np.ndarray, test_fraction: float) -> np.ndarray:
    """bool [G]: the games of the test split, by a hash of their seeds (splitmix64's finaliser)."""
    x = np.asarray(game_seed, np.uint64).copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / 2.0**53 < test_fraction


@dataclass
class ValueData:
    """The games of a value-data folder: ``stream`` (every move; ``agents.alphago.data.GameStream``) and,
    per game, ``u``, ``score``, ``game_seed``, ``short``, ``capped`` and ``test`` (the split)."""

    stream: GameStream
    u: np.ndarray  # int64 [G]
    score: np.ndarray  # float32 [G]
    game_seed: np.ndarray  # uint64 [G]
    short: np.ndarray  # bool [G]
    capped: np.ndarray  # bool [G]
    test: np.ndarray  # bool [G]

    @property
    def num_games(self) -> int:
        return len(self.u)


def load_value_data(directory: str | Path, *, test_fraction: float, size: int | None = None) -> ValueData:
    """Every shard of a value-data folder, in task order.  FileNotFoundError names the folder when it has none."""
    directory = Path(directory)
    paths = sorted(directory.glob("task-*.npz"))
    if not paths:
        raise FileNotFoundError(f"{directory}: no value-data shards (task-*.npz); run rlengine gen-value-data first")
    parts = []
    for p in paths:
        try:
            with np.load(p, allow_pickle=False) as z:
                parts.append({k: z[k] for k in z.files})
        except (OSError, ValueError) as exc:
            raise ValueError(f"{p}: unreadable value-data shard: {exc}") from None
    board = int(parts[0]["size"])
    if size is not None and board != size:
        raise ValueError(f"{directory}: games of {board}x{board}, expected {size}x{size}")
    offsets, base = [np.zeros(1, np.int64)], 0
    for r in parts:
        offsets.append(r["offsets"][1:] + base)
        base += int(r["offsets"][-1])
    cat = {k: np.concatenate([r[k] for r in parts]) for k in ("points", "colors", "u", "score", "game_seed", "capped",
                                                             "short")}
    g = len(cat["u"])
    score = cat["score"]
    stream = GameStream(size=board, points=cat["points"], colors=cat["colors"], game_offsets=np.concatenate(offsets),
                        results=np.sign(score).astype(np.int8), komi=np.full(g, float(parts[0]["komi"]), np.float32),
                        names=np.array([f"seed-{s}" for s in cat["game_seed"]]))
    return ValueData(stream=stream, u=cat["u"].astype(np.int64), score=score, game_seed=cat["game_seed"],
                     short=cat["short"], capped=cat["capped"], test=game_is_test(cat["game_seed"], test_fraction))


def value_samples(data: ValueData, split: str, positions: str = "one") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(events int64 [S], games int64 [S], z float32 [S]) of a split (``train`` | ``test``): the position
    before each event, and the game's result for the side to move there.  ``positions``: ``one``
    (s_{U+1}: the position after the random move) or ``all`` (every position of the same games)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    keep = ~data.short & (data.test if split == "test" else ~data.test)
    games = np.flatnonzero(keep)
    offsets = data.stream.game_offsets
    if positions == "one":
        events = offsets[games] + data.u[games]
    elif positions == "all":
        lengths = offsets[games + 1] - offsets[games]
        games = np.repeat(games, lengths)
        events = np.arange(len(games)) - np.repeat(np.cumsum(lengths) - lengths, lengths) + offsets[games]
    else:
        raise ValueError(f"positions must be one or all, got {positions!r}")
    mover_sign = np.where(data.stream.colors[events] == BLACK, 1.0, -1.0)
    z = (np.sign(data.score[games]) * mover_sign).astype(np.float32)
    return events.astype(np.int64), games.astype(np.int64), z
