"""Rollout policy speed (moves/s inside compiled playouts) and move-prediction accuracy.

Prints one JSON object: per board size (19, 9) ``moves_per_s_1core`` (one
thread, wall clock), ``moves_per_s_1core_cpu`` (the same moves over the
process CPU time, which a busy shared machine does not deflate),
``moves_per_s_threads`` (all numba threads) and, for scale, the uniform random
playout of ``_core`` on one thread.  With ``--weights`` and ``--sgf`` it also
measures top-1 accuracy on held-out games (by default the games right after
the weights' training range).

    python benchmarks/rollout.py [--weights W.safetensors] [--sgf ARCHIVE --games 500] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import time

import numba
import numpy as np

from games.go import Position, Rules, _core
from games.go import rollout as R


def _rate(policy: R.RolloutPolicy, size: int, seconds: float, threads: int) -> tuple[float, float]:
    pos = Position.empty(Rules(size=size))
    policy.playouts(pos, 2 * threads, seed=0, num_threads=threads)  # warm the JIT
    batch, seed, moves, wall, cpu = 16 * threads, 1, 0, 0.0, 0.0
    while wall < seconds:
        t, c = time.perf_counter(), time.process_time()
        _, n = policy.playouts(pos, batch, seed=seed, num_threads=threads)
        wall += time.perf_counter() - t
        cpu += time.process_time() - c
        moves += n
        seed += 1
        batch = min(batch * 2, 4096)
    return moves / wall, moves / max(cpu, 1e-9)


def _random_rate(size: int, seconds: float) -> float:
    geo = _core.geometry(size)
    s, g, _ = _core.new_state(size)
    numba.set_num_threads(1)
    _core.playouts(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, 0, 4, 3 * size * size)
    moves, wall, seed = 0, 0.0, 1
    while wall < seconds:
        t = time.perf_counter()
        _, n = _core.playouts(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, seed, 256,
                              3 * size * size)
        wall += time.perf_counter() - t
        moves += int(n)
        seed += 1
    return moves / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", help="trained weights (safetensors); random small weights without it")
    ap.add_argument("--sgf", help="SGF archive for the accuracy measurement (needs --weights)")
    ap.add_argument("--games", type=int, default=500, help="held-out games for accuracy")
    ap.add_argument("--skip", type=int, default=None, help="first held-out game (default: end of training range)")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    if args.weights:
        from agents.alphago.rollout import load_rollout

        trained = load_rollout(args.weights)
        weights, source = trained.weights, args.weights
    else:
        weights = (np.random.default_rng(0).normal(size=R.num_features()) * 0.1).astype(np.float32)
        weights[R.OFF_SELF_ATARI] = -1.0
        source = "random N(0, 0.1)"
    threads = numba.config.NUMBA_NUM_THREADS
    out: dict = {"weights": source, "threads": threads}
    for size in (19, 9):
        policy = R.RolloutPolicy(weights, size)
        numba.set_num_threads(1)
        wall1, cpu1 = _rate(policy, size, args.seconds, 1)
        numba.set_num_threads(threads)
        wall_n, _ = _rate(policy, size, args.seconds, threads)
        out[f"{size}x{size}"] = {
            "moves_per_s_1core": round(wall1),
            "moves_per_s_1core_cpu": round(cpu1),
            "us_per_move_1core": round(1e6 / wall1, 2),
            "moves_per_s_threads": round(wall_n),
            "random_playout_moves_per_s_1core": round(_random_rate(size, args.seconds / 2)),
        }
    if args.sgf and args.weights:
        from agents.alphago.rollout import rollout_accuracy

        t = time.perf_counter()
        out["accuracy"] = rollout_accuracy(args.weights, args.sgf, games=args.games, skip=args.skip)
        out["accuracy"]["eval_s"] = round(time.perf_counter() - t, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
