"""Policy-only self-play throughput (the RL stage's games) in four setups, and Ray's overhead.

Every setup plays the same work: ``--tasks`` tasks of ``--games`` 9x9 games each, between two copies of
the 9x9 RL network's architecture (AlphaGo's policy CNN, 7 layers x 64 filters, alphago48 planes; random
weights cost the same FLOPs as trained ones), moves sampled at temperature 1, one batched network call per
ply per side (``agents.alphago.policy_games.PolicyGamesWorker``).  Positions are moves played (passes
included); a rate is positions / wall-clock seconds from the first submit to the last result (weights
already published, kernels warm).

- ``inprocess``: the worker in this process (``ActorPool(backend="local")``), one torch/numba thread;
- ``ray_1``: one Ray actor (1 CPU); ``ray_2``: two Ray actors (1 CPU each), on an embedded ``ray.init``;
- ``cluster_2``: two actors on a two-node ``ray.cluster_utils.Cluster`` (one CPU per node, one actor each).

``ray_overhead_1`` = 1 - ray_1 / inprocess (the same work on one core: the cost of Ray itself);
``scaling_2`` = ray_2 / ray_1.  Prints one JSON object.

    python benchmarks/selfplay.py [--tasks 8] [--games 32] [--size 9]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import time

import numpy as np
import torch

from agents.alphago.config import GameSection, NetworkSection
from agents.alphago.nets import build_policy_net
from agents.alphago.policy_games import PolicyGamesWorker
from rlengine.runtime import ActorPool, set_thread_counts


def _weights(network: NetworkSection, size: int) -> dict[str, np.ndarray]:
    torch.manual_seed(0)
    return {k: v.numpy().copy() for k, v in build_policy_net(network, size).state_dict().items()}


def _measure(pool: ActorPool, weights: dict, tasks: int, games: int) -> dict:
    pool.publish("learner", weights)
    pool.publish("opponent", weights)
    # warm every actor (kernels, weights) with one small task each
    for i in range(pool.num_actors * (1 if pool.backend == "local" else pool.max_in_flight)):
        pool.submit({"learner": "learner", "opponent": "opponent", "num_games": 2, "seed": 10_000 + i},
                    needs=("learner", "opponent"))
    while pool.next_result() is not None:
        pass
    t0 = time.perf_counter()
    for i in range(tasks):
        pool.submit({"learner": "learner", "opponent": "opponent", "num_games": games, "seed": i,
                     "first_color": i % 2}, needs=("learner", "opponent"))
    positions = played = 0
    while (item := pool.next_result()) is not None:
        positions += len(item[2]["points"])
        played += len(item[2]["z"])
    wall = time.perf_counter() - t0
    return {"positions": positions, "games": played, "seconds": round(wall, 3),
            "positions_per_s": round(positions / wall, 1), "games_per_s": round(played / wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--games", type=int, default=32, help="games per task (played at once by one worker)")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--skip-cluster", action="store_true")
    args = ap.parse_args()
    import ray

    network = NetworkSection(kind="cnn", encoder="alphago48", filters=64, layers=7)
    weights = _weights(network, args.size)
    factory = functools.partial(PolicyGamesWorker, network=dataclasses.asdict(network),
                                game=dataclasses.asdict(GameSection(board_size=args.size)), temperature=1.0)
    out: dict = {"board_size": args.size, "tasks": args.tasks, "games_per_task": args.games,
                 "network": "cnn 7x64 alphago48", "cpus": os.cpu_count(), "machine": platform.processor() or
                 platform.machine(), "torch": torch.__version__, "ray": ray.__version__}
    set_thread_counts(1)
    with ActorPool(factory, backend="local") as pool:
        out["inprocess"] = _measure(pool, weights, args.tasks, args.games)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    for n in (1, 2):
        with ActorPool(factory, num_actors=n, backend="ray", max_in_flight=2) as pool:
            out[f"ray_{n}"] = _measure(pool, weights, args.tasks, args.games)
    ray.shutdown()
    if not args.skip_cluster:
        from ray.cluster_utils import Cluster

        # two nodes of one CPU each: the two 1-CPU actors land one per node
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, logging_level="WARNING")
        with ActorPool(factory, num_actors=2, backend="ray", max_in_flight=2) as pool:
            out["cluster_2"] = _measure(pool, weights, args.tasks, args.games)
            out["cluster_2"]["distinct_nodes"] = len(set(pool.nodes()))
        ray.shutdown()
        cluster.shutdown()
    base = out["inprocess"]["positions_per_s"]
    out["ray_overhead_1"] = round(1 - out["ray_1"]["positions_per_s"] / base, 4)
    out["scaling_2"] = round(out["ray_2"]["positions_per_s"] / out["ray_1"]["positions_per_s"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
