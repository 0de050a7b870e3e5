"""Speed of the batched leaf kernels of ``games.go.batch`` (tree-search leaves).

Prints one JSON object: leaves/s for ``play_paths`` alone, ``play_paths`` + ``encode_leaves``
(one call each, as a search step does) and ``play_and_encode`` (one pass) per encoder, and
``rollout_leaves`` leaves/s with uniform random moves (policy None) and, with ``--rollout``,
the trained rollout policy.  Roots are mid-game positions of random games; paths are random
sensible moves (depth ``--depth`` +- 2).

    python benchmarks/go_batch.py [--size 9] [--batch 64] [--depth 8] [--seconds 2] [--threads N]
                                  [--rollout runs/rollout/rollout_3k.safetensors]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--roots", type=int, default=16)
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
    print(json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
