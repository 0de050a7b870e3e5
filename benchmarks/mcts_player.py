"""Simulations per move of an ``mcts:`` player spec in self-play from the empty board; prints one JSON line.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/mcts_player.py \
        --spec "mcts:runs/go9_sl_cpu,seconds=1,expand=4,rollout=runs/rollout/rollout_3k.safetensors" --moves 20

The player plays both sides (its tree reused between moves); the figures are the simulations each move
ran, the positions the network evaluated (a leaf is sent to it when it is expanded, on its ``expand``-th
visit, and a leaf that ended the game never is), and where the evaluator's time went (leaf building +
planes, network, rollouts).
"""

from __future__ import annotations

import argparse
import json
import time

from games.go.board import Position, Rules
from rlengine.registry import load_player


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True, help="an mcts: player spec")
    ap.add_argument("--moves", type=int, default=20)
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    player = load_player(args.spec, seed=args.seed)
    rules = Rules(size=args.size, komi=args.komi)
    player.reset(rules)
    pos = Position.empty(rules)
    player.genmove(pos, pos.to_move)  # compile and warm up
    player.reset(rules)
    ev = player.evaluator
    ev.leaf_time = ev.net_time = ev.rollout_time = 0.0
    ev.net_positions = 0
    sims = []
    t0 = time.perf_counter()
    for _ in range(args.moves):
        if pos.is_over:
            break
        move = player.genmove(pos, pos.to_move)
        sims.append(player.last_stats.simulations)
        if move is None:
            break
        pos = pos.play(move)
    wall = time.perf_counter() - t0
    print(json.dumps({
        "spec": args.spec, "moves": len(sims), "seconds": round(wall, 2),
        "sims_per_move_mean": round(sum(sims) / max(1, len(sims)), 1), "sims_per_move_min": min(sims, default=0),
        "sims_per_s": round(sum(sims) / wall, 1), "net_positions_per_s": round(ev.net_positions / wall, 1),
        "time_split": {"leaves_and_planes": round(ev.leaf_time, 2), "network": round(ev.net_time, 2),
                       "rollouts": round(ev.rollout_time, 2)},
    }))


if __name__ == "__main__":
    main()
