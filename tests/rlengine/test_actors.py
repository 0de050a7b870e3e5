"""The self-play runtime on a real local Ray instance: one worker class in-process or as actors,
completion order, weights versions, a killed actor, a worker that raises, a second node."""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from agents.alphago.config import GameSection, NetworkSection
from agents.alphago.nets import build_policy_net
from agents.alphago.policy_games import PolicyGamesWorker
from rlengine.runtime import ActorPool, WorkerError, connect_ray

SIZE = 5
NETWORK = NetworkSection(kind="cnn", encoder="alphago48", filters=8, layers=2)


def _factory():
    return functools.partial(PolicyGamesWorker, network=dataclasses.asdict(NETWORK),
                             game=dataclasses.asdict(GameSection(board_size=SIZE)), temperature=1.0)


def _weights(seed: int) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    return {k: v.numpy().copy() for k, v in build_policy_net(NETWORK, SIZE).state_dict().items()}


def _task(i: int, games: int = 4, **kw) -> dict:
    return {"learner": "learner", "opponent": "opp", "num_games": games, "seed": 1000 + i, "first_color": i % 2,
            **kw}


def _run_all(pool: ActorPool, n: int, **kw) -> dict[int, dict]:
    for i in range(n):
        pool.submit(_task(i, **kw), needs=("learner", "opp"))
    out = {}
    while (item := pool.next_result(timeout=120)) is not None:
        tid, payload, res = item
        assert tid not in out, f"task {tid} came back twice"
        out[tid] = res
    return out


def test_local_and_ray_play_the_same_games(ray_session):
    """The same worker class, in-process and as Ray actors: same seeds, same games."""
    results = {}
    for backend in ("local", "ray"):
        with ActorPool(_factory(), num_actors=2, backend=backend, max_in_flight=2) as pool:
            pool.publish("learner", _weights(1))
            pool.publish("opp", _weights(2))
            results[backend] = _run_all(pool, 4)
    assert sorted(results["local"]) == sorted(results["ray"]) == [0, 1, 2, 3]
    for tid in range(4):
        a, b = results["local"][tid], results["ray"][tid]
        assert np.array_equal(a["points"], b["points"]) and np.array_equal(a["z"], b["z"])
        assert len(a["z"]) == 4 and a["offsets"][-1] == len(a["points"])


def test_new_weights_version_reaches_the_games(ray_session):
    with ActorPool(_factory(), num_actors=1, backend="ray", max_in_flight=1) as pool:
        assert pool.publish("learner", _weights(1)) == 0
        pool.publish("opp", _weights(2))
        first = _run_all(pool, 1)[0]
        sharp = _weights(3)
        sharp["point_bias"] = np.linspace(0, 30, SIZE * SIZE, dtype=np.float32)  # plays the last free point
        assert pool.publish("learner", sharp) == 1
        pool.submit(_task(0), needs=("learner", "opp"))  # the same seed, new weights
        _, _, second = pool.next_result(timeout=120)
    assert first["versions"] == {"learner": 0, "opp": 0}
    assert second["versions"] == {"learner": 1, "opp": 0}
    assert not np.array_equal(first["points"], second["points"])  # the new weights played


def test_killed_actor_is_replaced_and_no_game_is_lost_or_counted_twice(ray_session):
    n = 8
    with ActorPool(_factory(), num_actors=2, backend="ray", max_in_flight=2) as pool:
        pool.publish("learner", _weights(1))
        pool.publish("opp", _weights(2))
        for i in range(n):
            pool.submit(_task(i, games=16), needs=("learner", "opp"))
        victim = pool.pids()[0]
        got = {}
        first = pool.next_result(timeout=120)
        got[first[0]] = first[2]
        os.kill(victim, signal.SIGKILL)  # kill -9 mid-run, with tasks in flight
        while (item := pool.next_result(timeout=120)) is not None:
            assert item[0] not in got, f"task {item[0]} counted twice"
            got[item[0]] = item[2]
        assert pool.num_replaced >= 1 and pool.num_resubmitted >= 1
        assert victim not in pool.pids()
    assert sorted(got) == list(range(n))
    assert sum(len(r["z"]) for r in got.values()) == 16 * n


def test_worker_that_raises_is_reported_with_its_traceback(ray_session):
    for backend in ("local", "ray"):
        with ActorPool(_factory(), num_actors=1, backend=backend) as pool:
            pool.publish("learner", _weights(1))
            pool.publish("opp", _weights(2))
            pool.submit({**_task(0), "opponent": "missing"}, needs=("learner", "opp"))
            t0 = time.monotonic()
            with pytest.raises(WorkerError, match="not loaded in this worker") as info:
                pool.next_result(timeout=120)
            assert "policy_games.py" in str(info.value) and time.monotonic() - t0 < 60, backend  # the frame that raised


def test_address_with_nothing_listening_is_a_clear_error():
    with pytest.raises(ValueError, match="nothing is listening"):
        connect_ray("127.0.0.1:1") if not __import__("ray").is_initialized() else \
            __import__("rlengine.runtime._actors", fromlist=["_check_listening"])._check_listening("127.0.0.1:1")
    with pytest.raises(ValueError, match="expected auto or HOST:PORT"):
        __import__("rlengine.runtime._actors", fromlist=["_check_listening"])._check_listening("nowhere")


CLUSTER_SCRIPT = textwrap.dedent("""
    import dataclasses, functools, json
    import ray, torch
    from ray.cluster_utils import Cluster
    from agents.alphago.config import GameSection, NetworkSection
    from agents.alphago.nets import build_policy_net
    from agents.alphago.policy_games import PolicyGamesWorker
    from rlengine.runtime import ActorPool

    net = NetworkSection(kind="cnn", encoder="alphago48", filters=8, layers=2)
    weights = {k: v.numpy() for k, v in build_policy_net(net, 5).state_dict().items()}
    factory = functools.partial(PolicyGamesWorker, network=dataclasses.asdict(net),
                                game=dataclasses.asdict(GameSection(board_size=5)))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    second = cluster.add_node(num_cpus=1, resources={"second": 1})
    ray.init(address=cluster.address, logging_level="WARNING")
    pool = ActorPool(factory, num_actors=1, backend="ray", resources={"second": 0.01})
    pool.publish("learner", weights)
    pool.publish("opp", weights)
    for i in range(2):
        pool.submit({"learner": "learner", "opponent": "opp", "num_games": 4, "seed": i}, needs=("learner", "opp"))
    games = 0
    while (item := pool.next_result(timeout=120)) is not None:
        games += len(item[2]["z"])
    print(json.dumps({"nodes": pool.nodes(), "second": second.node_id, "head": cluster.head_node.node_id,
                      "games": games}))
    pool.close(); ray.shutdown(); cluster.shutdown()
""")


def test_actors_on_a_second_node_of_a_cluster_produce_games():
    """A two-node ``ray.cluster_utils.Cluster`` (in a subprocess: it needs its own driver connection)."""
    res = subprocess.run([sys.executable, "-c", CLUSTER_SCRIPT], capture_output=True, text=True, timeout=300,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert res.returncode == 0, res.stderr[-3000:]
    out = __import__("json").loads(res.stdout.strip().splitlines()[-1])
    assert out["nodes"] == [out["second"]] and out["second"] != out["head"]
    assert out["games"] == 8


def test_results_come_in_completion_order(ray_session):
    """A slow task on one actor does not hold up the quick ones on the other."""
    with ActorPool(_factory(), num_actors=2, backend="ray", max_in_flight=1) as pool:
        pool.publish("learner", _weights(1))
        pool.publish("opp", _weights(2))
        pool.submit(_task(0, games=2), needs=("learner", "opp"))  # warm both actors
        pool.submit(_task(1, games=2), needs=("learner", "opp"))
        while pool.next_result(timeout=120) is not None:
            pass
        slow = pool.submit(_task(2, games=256), needs=("learner", "opp"))
        quick = pool.submit(_task(3, games=2), needs=("learner", "opp"))
        first = pool.next_result(timeout=120)
        second = pool.next_result(timeout=120)
    assert first[0] == quick and second[0] == slow
