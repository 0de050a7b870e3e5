"""Batched MCTS self-play speed on 9x9 with a 6-block x 64-channel ResNet policy-value network.

    python benchmarks/mcts.py --games 16 --sims 100 --batch 8 --moves 400

Plays MCTS self-play (``agents.alphago.selfplay.MCTSSelfPlay``: ``--games`` games at once, ``--sims``
simulations per move, up to ``--batch`` leaves per game per network call under virtual loss, value
from the network alone, lambda = 0) and prints one JSON line:

``sims_per_s``          simulations per second over all games
``moves_per_s``         self-play moves per second
``net_positions_per_s`` the same network alone on random planes at the search's mean batch size,
                        measured in the same run
``search_efficiency``   sims_per_s / net_positions_per_s: 1.0 means the network is the only cost
``time_split``          seconds in leaf building + encoding, the network, and everything else
The network has random weights: its speed does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from agents.alphago.mcts import net_function
from agents.alphago.nets import PolicyValueResNet
from agents.alphago.selfplay import MCTSSelfPlay
from games.go.board import Rules
from games.go.features import num_planes
from rlengine.runtime import pick_device
from rlengine.search import SearchConfig


def net_rate(net_fn, batch: int, planes: int, size: int, seconds: float) -> float:
    x = np.random.default_rng(0).integers(0, 2, (batch, planes, size, size), dtype=np.uint8)
    net_fn(x)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        net_fn(x)
        n += batch
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--games", type=int, default=16, help="games played at once (default 16)")
    ap.add_argument("--sims", type=int, default=100, help="simulations per move (default 100)")
    ap.add_argument("--batch", type=int, default=8, help="leaves per game per network call (default 8)")
    ap.add_argument("--moves", type=int, default=400, help="self-play moves to time, all games together")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--encoder", default="agz17")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default torch's)")
    ap.add_argument("--net-seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    planes = num_planes(args.encoder)
    net = PolicyValueResNet(planes, args.size, filters=args.filters, blocks=args.blocks).to(device).eval()
    net_fn = net_function(net, device)
    timed = {"net": 0.0}

    def timed_net(x):
        t = time.perf_counter()
        out = net_fn(x)
        timed["net"] += time.perf_counter() - t
        return out

    timed_net.has_value = True
    sp = MCTSSelfPlay(timed_net, encoder=args.encoder, rules=Rules(size=args.size, komi=7.5), num_games=args.games,
                      sims=args.sims, config=SearchConfig(leaves_per_tree=args.batch), lam=0.0,
                      capacity=max(20_000, 4 * args.sims * (args.size**2 + 1)), seed=args.seed, sample_moves=8)
    sp.play_move()  # compile and warm up
    sp.stats = type(sp.stats)(0, 0, 0, 0.0, 0)
    timed["net"] = 0.0
    sp.evaluator.leaf_time = 0.0
    start_moves = sp.moves_played
    t0 = time.perf_counter()
    games_done = 0
    while sp.moves_played - start_moves < args.moves:
        games_done += len(sp.play_move())
    wall = time.perf_counter() - t0
    st = sp.stats
    sims_per_s = st.simulations / wall
    mean_batch = max(1, round(st.evaluations / max(st.batches, 1)))
    rate = net_rate(net_fn, mean_batch, planes, args.size, args.net_seconds)
    print(json.dumps({
        "device": str(device), "torch_threads": torch.get_num_threads(), "size": args.size,
        "net": f"{args.blocks}x{args.filters} resnet, {args.encoder}", "games": args.games, "sims": args.sims,
        "leaves_per_game": args.batch, "moves": sp.moves_played - start_moves, "games_finished": games_done,
        "seconds": round(wall, 2), "sims_per_s": round(sims_per_s, 1),
        "moves_per_s": round((sp.moves_played - start_moves) / wall, 2),
        "evaluations_per_s": round(st.evaluations / wall, 1), "mean_batch": mean_batch,
        "net_positions_per_s": round(rate, 1), "search_efficiency": round(sims_per_s / rate, 3),
        "time_split": {"leaves_and_encoding": round(sp.evaluator.leaf_time, 2), "network": round(timed["net"], 2),
                       "other": round(wall - sp.evaluator.leaf_time - timed["net"], 2)},
    }))


if __name__ == "__main__":
    main()
