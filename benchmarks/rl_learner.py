"""Throughput of the RL policy's learner: REINFORCE update positions/s (training samples/s).

A fixed minibatch of 9x9 self-play games (``--games`` games played once by ``PolicyGamesWorker``
between two random 7x64 policy CNNs) is fed to ``agents.alphago.rl.update`` repeatedly: replay of the
moves into planes (compiled ``encode_games``), forward + backward over the learner's own moves, one SGD
step.  positions_per_s = learner positions trained on / wall seconds of the updates (bf16 autocast on
CUDA, as the RL config's ``amp``).  Prints one JSON line.

    python benchmarks/rl_learner.py [--device cpu|cuda] [--games 128] [--seconds 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch

from agents.alphago.config import GameSection, NetworkSection, RLSection
from agents.alphago.nets import build_policy_net
from agents.alphago.policy_games import PolicyGamesWorker
from agents.alphago.rl import update


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--games", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--layers", type=int, default=7)
    args = ap.parse_args()
    size = 9
    network = NetworkSection(kind="cnn", encoder="alphago48", filters=args.filters, layers=args.layers)
    torch.manual_seed(0)
    net = build_policy_net(network, size)
    weights = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    worker = PolicyGamesWorker(network=dataclasses.asdict(network), game=dataclasses.asdict(GameSection()))
    worker.load("a", 0, weights)
    worker.load("b", 0, weights)
    games = worker.run({"learner": "a", "opponent": "b", "num_games": args.games, "seed": 0})
    device = torch.device(args.device)
    net = net.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4)
    kw = dict(rl=RLSection(baseline="mean", grad_clip=0.0), encoder=network.encoder, size=size, device=device, amp=True)
    update(net, opt, games, **kw)  # warm up (kernels, cuDNN autotune)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, positions, steps = time.perf_counter(), 0, 0
    while time.perf_counter() - t0 < args.seconds:
        positions += update(net, opt, games, **kw)["positions"]
        steps += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(json.dumps({"device": name, "threads": torch.get_num_threads(), "network": f"cnn {args.layers}x{args.filters}",
                      "games_per_update": args.games, "positions_per_update": positions // max(steps, 1),
                      "updates": steps, "seconds": round(wall, 2), "positions_per_s": round(positions / wall, 1),
                      "games_per_s": round(steps * args.games / wall, 2),
                      "mean_game_length": float(np.diff(games["offsets"]).mean())}))


if __name__ == "__main__":
    main()
