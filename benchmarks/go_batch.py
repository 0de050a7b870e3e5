"""Speed of the batched leaf kernels of ``games.go.batch`` (tree-search leaves).

Prints one JSON object: leaves/s for ``play_paths`` alone, ``play_paths`` + ``encode_leaves``
(one call each, as a search step does) and ``play_and_encode`` (one pass) per encoder, and
``rollout_leaves`` leaves/s with uniform random moves (policy None) and, with ``--rollout``,
the trained rollout policy.  Roots are mid-game positions of random games; paths are random
sensible moves (depth ``--depth`` +- 2).  ``advance_root_moves_per_s``: ``--games`` roots moved on
by one move each with ``Roots.advance``, against ``positions_play+from_positions_root_moves_per_s``,
the same games played with ``Position.play`` and restacked by ``Roots.from_positions`` every move.

    python benchmarks/go_batch.py [--size 9] [--batch 64] [--depth 8] [--seconds 2] [--threads N]
                                  [--games 128] [--rollout runs/rollout/rollout_3k.safetensors]
"""

from __future__ import annotations

import argparse
import json
import time

import numba
import numpy as np

from games.go import Position, Rules, _core
from games.go import batch as GB


def _roots_and_paths(size: int, num_roots: int, batch: int, depth: int, seed: int):
    rng = _core.seed_rng(seed)
    gen = np.random.default_rng(seed)
    roots = []
    for i in range(num_roots):
        pos = Position.empty(Rules(size=size))
        for _ in range(int(gen.integers(size * size // 4, size * size // 2))):
            mv = pos.random_move(rng)
            if mv == pos.pass_move:
                break
            pos = pos.play(mv)
        roots.append(pos)
    tree_of = gen.integers(0, num_roots, batch).astype(np.int64)
    depths = np.clip(gen.integers(depth - 2, depth + 3, batch), 0, None).astype(np.int32)
    paths = np.zeros((batch, int(depths.max())), np.int32)
    for b in range(batch):
        pos = roots[tree_of[b]]
        for i in range(depths[b]):
            mv = pos.random_move(rng)
            paths[b, i] = mv
            pos = pos.play(mv)
    return GB.Roots.from_positions(roots), tree_of, paths, depths


def _rate(fn, batch: int, seconds: float) -> float:
    fn()  # warm
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += batch
    return n / (time.perf_counter() - t0)


def _advance_rates(size: int, num_games: int, num_steps: int, seconds: float) -> tuple[float, float]:
    """Root moves/s: ``Roots.advance`` against ``Position.play`` + ``Roots.from_positions``."""
    rng = _core.seed_rng(7)
    start = [Position.empty(Rules(size=size)) for _ in range(num_games)]
    moves = np.empty((num_steps, num_games), np.int64)
    positions = list(start)
    for k in range(num_steps):
        for t, pos in enumerate(positions):
            moves[k, t] = pos.random_move(rng)
            positions[t] = pos.play(int(moves[k, t]))

    def with_advance():
        roots = GB.Roots.from_positions(start)
        for k in range(num_steps):
            roots.advance(moves[k])

    def with_positions():
        ps = [p.copy() for p in start]
        for k in range(num_steps):
            for t, p in enumerate(ps):
                p.play(int(moves[k, t]), inplace=True)
            GB.Roots.from_positions(ps)

    return (_rate(with_advance, num_games * num_steps, seconds),
            _rate(with_positions, num_games * num_steps, seconds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--roots", type=int, default=16)
    ap.add_argument("--games", type=int, default=128, help="roots moved on by Roots.advance")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=None, help="default: numba.get_num_threads()")
    ap.add_argument("--rollout", default=None, help="rollout weights (safetensors) for the policy rollouts")
    args = ap.parse_args()
    roots, tree_of, paths, depths = _roots_and_paths(args.size, args.roots, args.batch, args.depth, 0)
    th = args.threads
    out = {"size": args.size, "batch": args.batch, "depth_mean": float(depths.mean()),
           "threads": th or numba.get_num_threads()}
    out["play_paths_leaves_per_s"] = _rate(lambda: GB.play_paths(roots, tree_of, paths, depths, num_threads=th),
                                           args.batch, args.seconds)
    for enc in ("agz17", "alphago48"):
        def both(enc=enc):
            GB.play_paths(roots, tree_of, paths, depths, num_threads=th)
            GB.encode_leaves(roots, tree_of, paths, depths, enc, num_threads=th)

        out[f"play_paths+encode_leaves_{enc}_leaves_per_s"] = _rate(both, args.batch, args.seconds)
        out[f"play_and_encode_{enc}_leaves_per_s"] = _rate(
            lambda enc=enc: GB.play_and_encode(roots, tree_of, paths, depths, enc, num_threads=th), args.batch,
            args.seconds)
    leaves = GB.play_paths(roots, tree_of, paths, depths)
    seed = iter(range(10**9))
    out["rollout_uniform_leaves_per_s"] = _rate(lambda: GB.rollout_leaves(None, leaves, next(seed), num_threads=th),
                                                args.batch, args.seconds)
    if args.rollout:
        from agents.alphago.rollout import load_rollout

        policy = load_rollout(args.rollout)
        out["rollout_policy_leaves_per_s"] = _rate(
            lambda: GB.rollout_leaves(policy, leaves, next(seed), num_threads=th), args.batch, args.seconds)
    adv, rebuild = _advance_rates(args.size, args.games, args.size * args.size // 2, args.seconds)
    out["advance_root_moves_per_s"] = adv
    out["positions_play+from_positions_root_moves_per_s"] = rebuild
    print(json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
