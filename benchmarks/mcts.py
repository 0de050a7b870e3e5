"""Batched MCTS self-play speed on 9x9, and how much of it the network is.

    python benchmarks/mcts.py --games 16 --sims 100 --batch 8 --moves 320
    python benchmarks/mcts.py --checkpoint runs/go9_sl_cpu --games 16 --sims 100 --batch 8 --moves 320
    python benchmarks/mcts.py --checkpoint runs/go9_sl_cpu --value runs/go9_value --values value ...
    python benchmarks/mcts.py --checkpoint runs/go9_sl_cpu --value runs/go9_value --values mixed \
        --rollout runs/rollout/rollout_3k.safetensors ...

Plays MCTS self-play (``agents.alphago.selfplay.MCTSSelfPlay``: ``--games`` games at once, ``--sims``
simulations per move, up to ``--batch`` leaves per game per network call under virtual loss) and prints
one JSON line.  The network is a 6-block x 64-channel ``PolicyValueResNet`` with random weights (value
from the network, lambda = 0), or with ``--checkpoint`` a trained alphago policy checkpoint: its priors
are peaked, so more descents of a step meet at a leaf already in the batch (a collision stops that
tree's gathering).  A policy checkpoint has no value head: ``--values zero`` (default with a
checkpoint) gives every leaf the value 0, so the figures are about the search and the network only;
``--values rollouts`` uses one playout per leaf (lambda = 1; ``--rollout`` weights or uniform moves).
With ``--value`` (a value checkpoint, ``agents.alphago.value``): ``--values value`` is the value network
alone (lambda = 0), ``--values mixed`` AlphaGo's lambda = 0.5 (the value network and one playout per
leaf).  Then "the network" is both networks: each leaf that reaches them costs one policy and one value
evaluation, and the networks alone are timed the same way (both, on the same batch).

``requested_batch``           games x leaves per game: what one network call would hold with no collisions
``mean_batch``                leaves per evaluator call, as achieved (at most games x ``sims`` /
                              ceil(``sims`` / ``batch``) even without collisions: the last step of a
                              move gathers what is left)
``search_steps``              evaluator calls, and ``without_collisions``: ceil(``sims`` / ``batch``) per
                              move (one more where a new game's root is expanded alone)
``mean_net_batch``            positions per network call, as achieved (leaves that ended the game, two
                              passes or the move cap, are valued without the network)
``sims_per_s``                visits added per second, all of them (an ended leaf reached again is
                              backed up with its stored value and counts here)
``net_sims_per_s``            visits per second that reached the network: the search's real work (with
                              a value network: the leaves it valued)
``net_positions_per_s``       ``requested_batch``: the network alone on random planes at the requested
                              batch, timed in the same run (``--net-calls`` calls after every self-play
                              step, so that it sees the same load as the search on a shared machine);
                              ``in_the_search``: the network's own rate inside the search, at the
                              batches achieved
``search_efficiency``         net_sims_per_s / the network alone at the requested batch: 1.0 means the
                              search costs nothing and loses nothing to collisions
``search_efficiency_at_achieved_batch``  net_sims_per_s / the network's rate in the search: the share
                              of the wall time spent in the network, i.e. the search's own overhead,
                              leaving out what the smaller batches cost
``time_split``                seconds in leaf building + planes, the network, rollouts, and the rest
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


class NetAlone:
    """The network alone on random planes at one batch size: ``run(calls)`` adds timed calls."""

    def __init__(self, net_fn, batch: int, planes: int, size: int):
        self.net_fn = net_fn
        self.x = np.random.default_rng(0).integers(0, 2, (batch, planes, size, size), dtype=np.uint8)
        net_fn(self.x)  # warm up this shape
        self.seconds = 0.0
        self.positions = 0

    def run(self, calls: int) -> None:
        for _ in range(calls):
            t = time.perf_counter()
            self.net_fn(self.x)
            self.seconds += time.perf_counter() - t
            self.positions += len(self.x)

    @property
    def rate(self) -> float:
        return self.positions / max(self.seconds, 1e-9)


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
    ap.add_argument("--checkpoint", default=None, help="an alphago policy checkpoint or run directory instead "
                                                       "of the random policy-value ResNet")
    ap.add_argument("--values", choices=("net", "zero", "rollouts", "value", "mixed"), default=None,
                    help="leaf values: the network's value head (default without --checkpoint), 0 (default "
                         "with a policy-only checkpoint), one playout (lambda = 1), the --value network (lambda "
                         "= 0) or both mixed (lambda = 0.5)")
    ap.add_argument("--value", default=None, help="value checkpoint or run directory for --values value|mixed")
    ap.add_argument("--rollout", default=None, help="rollout-policy weights for --values rollouts")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default torch's)")
    ap.add_argument("--net-calls", type=int, default=2,
                    help="calls of the network alone at each batch size after every self-play step (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.checkpoint:
        from agents.alphago.checkpoint import load_policy

        cfg, net, device = load_policy(args.checkpoint, device=None if args.device == "auto" else args.device)
        encoder, size = cfg.network.encoder, cfg.board_size
        net_name = f"{args.checkpoint} ({cfg.network.kind} {cfg.network.layers}x{cfg.network.filters}, {encoder})"
    else:
        device = pick_device(args.device)
        encoder, size = args.encoder, args.size
        net = PolicyValueResNet(num_planes(encoder), size, filters=args.filters, blocks=args.blocks)
        net = net.to(device).eval()
        net_name = f"{args.blocks}x{args.filters} policy-value resnet, random weights, {encoder}"
    planes = num_planes(encoder)
    net_fn = net_function(net, device)
    values = args.values or ("net" if net_fn.has_value else "zero")
    if values == "net" and not net_fn.has_value:
        ap.error("--values net needs a network with a value head; use --values zero or rollouts")
    if (values in ("value", "mixed")) != bool(args.value):
        ap.error("--values value|mixed go with --value CHECKPOINT")
    value_fn = value_encoder = None
    timed_v = {"net": 0.0, "positions": 0}
    if args.value:
        from agents.alphago.checkpoint import load_value
        from agents.alphago.mcts import value_function

        vcfg, vnet, _ = load_value(args.value, device=str(device))
        value_encoder = vcfg.network.encoder
        raw_value = value_function(vnet, device)
        net_name += f" + value {args.value} ({vcfg.network.kind} {vcfg.network.layers}x{vcfg.network.filters})"

        def value_fn(x):
            t = time.perf_counter()
            v = raw_value(x)
            timed_v["net"] += time.perf_counter() - t
            timed_v["positions"] += len(x)
            return v
    timed = {"net": 0.0, "positions": 0, "calls": 0}

    def timed_net(x):
        t = time.perf_counter()
        logits, v = net_fn(x)
        if values == "zero":
            v = np.zeros(len(x), np.float32)
        timed["net"] += time.perf_counter() - t
        timed["positions"] += len(x)
        timed["calls"] += 1
        return logits, v

    timed_net.has_value = values in ("net", "zero")
    rollout = None
    if values in ("rollouts", "mixed") and args.rollout:
        from agents.alphago.rollout import load_rollout

        rollout = load_rollout(args.rollout)
    sp = MCTSSelfPlay(timed_net, encoder=encoder, rules=Rules(size=size, komi=7.5), num_games=args.games,
                      sims=args.sims, config=SearchConfig(leaves_per_tree=args.batch),
                      lam={"rollouts": 1.0, "mixed": 0.5}.get(values, 0.0), rollout=rollout,
                      capacity=max(20_000, 4 * args.sims * (size**2 + 1)), seed=args.seed, sample_moves=8,
                      value_fn=value_fn, value_encoder=value_encoder)
    sp.play_move()  # compile and warm up
    requested = args.games * args.batch
    if value_fn is None:
        alone_requested = NetAlone(net_fn, requested, planes, size)
    else:  # both networks on the same batch, as a leaf needs them
        alone_requested = NetAlone(lambda x: (net_fn(np.ascontiguousarray(x[:, :planes])), raw_value(x)), requested,
                                   num_planes(value_encoder), size)
    sp.stats = type(sp.stats)(0, 0, 0, 0.0, 0)
    timed.update(net=0.0, positions=0, calls=0)
    timed_v.update(net=0.0, positions=0)
    ev = sp.evaluator
    ev.leaf_time = ev.net_time = ev.rollout_time = 0.0
    start_moves = sp.moves_played
    wall = 0.0
    games_done = 0
    steps = 0
    while sp.moves_played - start_moves < args.moves:
        steps += -(-args.sims // args.batch)
        t0 = time.perf_counter()
        games_done += len(sp.play_move())
        wall += time.perf_counter() - t0
        alone_requested.run(args.net_calls)
    st = sp.stats
    mean_batch = st.evaluations / max(st.batches, 1)
    mean_net_batch = timed["positions"] / max(timed["calls"], 1)
    rate_requested = alone_requested.rate
    if value_fn is None:
        net_positions, net_seconds = timed["positions"], timed["net"]
    else:  # a leaf valued by the value network; its priors cost one policy evaluation (all of them, expand = 1)
        net_positions, net_seconds = timed_v["positions"], timed["net"] + timed_v["net"]
    rate_in_search = net_positions / max(net_seconds, 1e-9)
    sims_per_s = st.simulations / wall
    net_sims_per_s = net_positions / wall
    print(json.dumps({
        "device": str(device), "torch_threads": torch.get_num_threads(), "size": size, "net": net_name,
        "values": values, "games": args.games, "sims": args.sims, "leaves_per_game": args.batch,
        "moves": sp.moves_played - start_moves, "games_finished": games_done, "seconds": round(wall, 2),
        "requested_batch": requested, "mean_batch": round(mean_batch, 1), "mean_net_batch": round(mean_net_batch, 1),
        "search_steps": {"taken": st.batches, "without_collisions": steps},
        "simulations": st.simulations, "net_simulations": net_positions,
        "sims_per_s": round(sims_per_s, 1), "net_sims_per_s": round(net_sims_per_s, 1),
        "moves_per_s": round((sp.moves_played - start_moves) / wall, 2),
        "net_positions_per_s": {"requested_batch": round(rate_requested, 1),
                                "in_the_search": round(rate_in_search, 1)},
        "search_efficiency": round(net_sims_per_s / rate_requested, 3),
        "search_efficiency_at_achieved_batch": round(net_sims_per_s / rate_in_search, 3),
        "time_split": {"leaves_and_planes": round(ev.leaf_time, 2), "network": round(net_seconds, 2),
                       "rollouts": round(ev.rollout_time, 2),
                       "other": round(wall - ev.leaf_time - net_seconds - ev.rollout_time, 2)},
    }))


if __name__ == "__main__":
    main()
