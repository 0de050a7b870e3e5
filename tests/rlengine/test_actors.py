"""The self-play runtime on a real local Ray instance: one worker class in-process or as actors,
completion order, weights versions (loaded once per version per actor), the in-flight bound, a killed
actor, a forgotten network and a dead actor, a worker that raises, an actor that fails to start, more
actors than CPUs, an --address where nothing listens, a second node, and a result lost with its node."""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import ray.cloudpickle
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
        assert pool.num_replaced == 1 and pool.num_resubmitted >= 1
        assert victim not in pool.pids()
    assert sorted(got) == list(range(n))  # every task once: none lost, none returned twice
    assert sum(len(r["z"]) for r in got.values()) == 16 * n
    with ActorPool(_factory(), num_actors=1, backend="local") as pool:  # what each task's own seed plays
        pool.publish("learner", _weights(1))
        pool.publish("opp", _weights(2))
        want = _run_all(pool, n, games=16)
    for tid in range(n):  # a resubmitted task plays its own games again, not another task's
        assert np.array_equal(got[tid]["points"], want[tid]["points"]), tid


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


def test_address_with_nothing_listening_is_a_clear_error(ray_session):
    """Checked by ``connect_ray`` itself, even in a process already connected to Ray (this session)."""
    with pytest.raises(ValueError, match="nothing is listening"):
        connect_ray("127.0.0.1:1")
    with pytest.raises(ValueError, match="expected auto or HOST:PORT"):
        connect_ray("nowhere")
    assert connect_ray(None) is False  # already connected: nothing changes


# the end of each cluster script: shut down, and remove the address the head may leave where `ray start`
# does, or a later ray.init() on this machine would try to join the dead cluster
CLUSTER_TEARDOWN = textwrap.dedent("""
    pool.close(); ray.shutdown(); cluster.shutdown()
    try:
        with open("/tmp/ray/ray_current_cluster") as f:
            stale = f.read().strip() == cluster.address
        if stale:
            os.remove("/tmp/ray/ray_current_cluster")
    except FileNotFoundError:
        pass
""")

CLUSTER_SCRIPT = textwrap.dedent("""
    import dataclasses, functools, json, os
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
""") + CLUSTER_TEARDOWN


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


# ---- a probe worker: counts its loads, reports which weights it played with ---------------------------------


class ProbeWorker:
    """The worker protocol with no game: ``run`` returns the value of the weights each needed key holds,
    the worker's pid and every (key, version) it has loaded so far."""

    def __init__(self):
        self.versions: dict[str, int] = {}
        self.values: dict[str, float] = {}
        self.loads: list[tuple[str, int]] = []

    def load(self, key: str, version: int, weights: dict) -> None:
        self.versions[key] = version
        self.values[key] = float(weights["w"][0])
        self.loads.append((key, version))

    def run(self, task: dict) -> dict:
        time.sleep(task.get("sleep", 0.0))
        return {"index": task["index"], "worker": (os.getpid(), id(self)), "loads": list(self.loads),
                "values": {k: self.values[k] for k in task["keys"]},
                "versions": {k: self.versions[k] for k in task["keys"]}}


def _failing_factory():
    raise ImportError("no module named foo")


# the Ray workers cannot import this test module: its worker classes travel by value
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _probe(index: int, keys=("w",), **kw) -> dict:
    return {"index": index, "keys": list(keys), **kw}


def _drain(pool: ActorPool) -> dict[int, dict]:
    out = {}
    while (item := pool.next_result(timeout=120)) is not None:
        tid, payload, res = item
        assert tid not in out, f"task {tid} came back twice"
        assert res["index"] == payload["index"]
        out[tid] = res
    return out


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_weights_are_loaded_once_per_version_per_actor(ray_session, backend):
    with ActorPool(ProbeWorker, num_actors=2, backend=backend, max_in_flight=2) as pool:
        pool.publish("w", {"w": np.array([10.0])})
        first = {}
        for _ in range(3):  # rounds on one version, so both actors certainly get tasks, many each
            for i in range(8):
                pool.submit(_probe(i), needs=("w",))
            first.update({len(first) + k: v for k, v in enumerate(_drain(pool).values())})
        assert pool.publish("w", {"w": np.array([20.0])}) == 1
        for i in range(8):
            pool.submit(_probe(i), needs=("w",))
        second = _drain(pool)
    assert {r["values"]["w"] for r in first.values()} == {10.0}
    assert {r["values"]["w"] for r in second.values()} == {20.0}
    tasks = collections.Counter(r["worker"] for r in first.values())
    assert len(tasks) == 2 and min(tasks.values()) >= 3, tasks  # both workers ran several tasks per version
    final = {r["worker"]: r["loads"] for r in second.values()}  # results come in completion order
    assert len(final) == 2
    for loads in final.values():  # 12+ tasks on version 0, 4 on version 1: one load of each
        assert loads == [("w", 0), ("w", 1)], loads


def test_no_actor_has_more_than_max_in_flight_tasks(ray_session):
    """The bound holds after every dispatch, and is reached (the actors are kept busy)."""
    seen: list[int] = []
    with ActorPool(ProbeWorker, num_actors=2, backend="ray", max_in_flight=3) as pool:
        dispatch = pool._dispatch

        def watched() -> None:
            dispatch()
            seen.extend(len(slot.in_flight) for slot in pool._slots)

        pool._dispatch = watched
        pool.publish("w", {"w": np.array([1.0])})
        for i in range(20):
            pool.submit(_probe(i, sleep=0.05), needs=("w",))
        got = _drain(pool)
    assert sorted(got) == list(range(20))
    assert max(seen) == 3


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_forgotten_network_and_a_dead_actor_the_task_keeps_its_weights(ray_session, backend):
    """forget(k) after a task needing k was submitted (local) or dispatched, then its actor dies: the task
    runs again on the new actor with the version it was first given, not a KeyError."""
    with ActorPool(ProbeWorker, num_actors=1, backend=backend, max_in_flight=2) as pool:
        pool.publish("w", {"w": np.array([1.0])})
        pool.publish("pool-0", {"w": np.array([7.0])})
        victim = pool.pids()[0]
        for i in range(2):
            pool.submit(_probe(i, keys=("w", "pool-0"), sleep=1.0 if backend == "ray" else 0.0),
                        needs=("w", "pool-0"))
        if backend == "ray":
            assert pool.next_result(timeout=0) is None  # both dispatched to the actor, the first running
        pool.forget("pool-0")
        pool.publish("w", {"w": np.array([2.0])})  # a newer learner: the resubmission still plays version 0
        if backend == "ray":
            os.kill(victim, signal.SIGKILL)
        got = _drain(pool)
        if backend == "ray":
            assert pool.num_replaced == 1 and pool.num_resubmitted == 2 and victim not in pool.pids()
    assert sorted(got) == [0, 1]
    for r in got.values():
        assert r["values"] == {"w": 1.0 if backend == "ray" else 2.0, "pool-0": 7.0}


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_actor_that_fails_to_start_is_reported_with_its_cause_at_once(ray_session, backend, tmp_path,
                                                                       monkeypatch):
    if backend == "local":
        with pytest.raises(WorkerError, match="failed to start(.|\n)*ImportError: no module named foo"):
            ActorPool(_failing_factory, num_actors=1, backend="local")
        return
    with ActorPool(_failing_factory, num_actors=1, backend="ray", max_retries=3) as pool:
        pool.submit(_probe(0))
        with pytest.raises(WorkerError, match="failed to start(.|\n)*no module named foo"):
            pool.next_result(timeout=120)
        assert pool.num_replaced == 0 and pool.num_resubmitted == 0  # no replacement loop
    # as on a node without the package: a worker class from a module only this process can import
    (tmp_path / "only_in_the_driver.py").write_text("class Worker:\n    versions = {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import only_in_the_driver

    with ActorPool(only_in_the_driver.Worker, num_actors=1, backend="ray", max_retries=3) as pool:
        pool.submit(_probe(0))
        with pytest.raises(WorkerError, match="failed to start(.|\n)*No module named 'only_in_the_driver'"):
            pool.next_result(timeout=120)
        assert pool.num_replaced == 0


def test_more_actors_than_the_cpus_of_ray_is_a_clear_error(ray_session):
    """The session's Ray has 2 CPUs: a third actor would never be scheduled and its tasks never finish."""
    for num_actors, cpus in ((3, 1.0), (2, 1.5)):
        with pytest.raises(ValueError, match=r"do not fit(.|\n)*runtime\.num_actors(.|\n)*runtime\.cpus_per_actor"
                                             r"(.|\n)*runtime\.num_cpus"):
            ActorPool(ProbeWorker, num_actors=num_actors, cpus_per_actor=cpus, backend="ray").close()
    with ActorPool(ProbeWorker, num_actors=4, cpus_per_actor=0.5, backend="ray") as pool:  # these fit
        pool.publish("w", {"w": np.array([1.0])})
        for i in range(8):
            pool.submit(_probe(i), needs=("w",))
        assert sorted(_drain(pool)) == list(range(8))


EMBEDDED_SCRIPT = textwrap.dedent("""
    import json, os, time
    import ray
    from rlengine.runtime import ActorPool, connect_ray

    class Pid:
        versions = {}
        def run(self, task):
            time.sleep(0.5)
            return os.getpid()

    assert connect_ray(None, num_cpus=2, num_actors=3, cpus_per_actor=1.0)
    cpus = ray.cluster_resources()["CPU"]
    with ActorPool(Pid, num_actors=3, backend="ray", max_in_flight=1) as pool:
        for i in range(6):
            pool.submit(i)
        pids = set()
        while (item := pool.next_result(timeout=120)) is not None:
            pids.add(item[2])
    print(json.dumps({"cpus": cpus, "pids": len(pids)}))
    ray.shutdown()
""")


def test_embedded_ray_is_sized_to_fit_the_actors():
    """runtime.num_cpus = 2 with 3 actors of 1 CPU: the embedded Ray gets 3 CPUs and all 3 actors run
    (in a subprocess: this one is already connected to the session's Ray).  It is a new instance even
    where Ray would otherwise join another (RAY_ADDRESS here; a cluster's address left in /tmp/ray)."""
    res = subprocess.run([sys.executable, "-c", EMBEDDED_SCRIPT], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "RAY_ADDRESS": "127.0.0.1:1"},
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out == {"cpus": 3.0, "pids": 3}


NODE_LOSS_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    import ray
    from ray.cluster_utils import Cluster
    from rlengine.runtime import ActorPool

    MARK = sys.argv[1]

    class Big:
        versions = {}
        def run(self, task):
            open(MARK, "w").close()
            return {"pid": os.getpid(), "data": np.full(1_000_000, task, dtype=np.float32)}  # 4 MB: in plasma

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the driver's node runs no actor
    second = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="WARNING")
    pool = ActorPool(Big, num_actors=1, backend="ray", max_in_flight=1)
    pid = pool.pids()[0]
    pool.submit(7)
    assert pool.next_result(timeout=0) is None  # dispatched; its result is not fetched yet
    while not os.path.exists(MARK):
        time.sleep(0.05)
    time.sleep(0.5)  # the task has returned: its result lies in the second node's object store
    cluster.remove_node(second)  # ... and is lost with it
    cluster.add_node(num_cpus=1)  # room for the replacement actor
    tid, task, res = pool.next_result(timeout=120)
    print(json.dumps({"tid": tid, "first_pid": pid, "pid": res["pid"], "value": float(res["data"].mean()),
                      "replaced": pool.num_replaced, "resubmitted": pool.num_resubmitted,
                      "more": pool.next_result(timeout=0)}))
""") + CLUSTER_TEARDOWN


def test_result_lost_with_its_node_is_played_again(tmp_path):
    """A task's result lies in the object store of a node that is then removed (``ObjectLostError`` on
    ``ray.get``): the task runs again on a replacement actor, and comes back once."""
    res = subprocess.run([sys.executable, "-c", NODE_LOSS_SCRIPT, str(tmp_path / "done")], capture_output=True,
                         text=True, timeout=300,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "ObjectReconstructionFailedError" in res.stderr or "ObjectLostError" in res.stderr  # the path taken
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["tid"] == 0 and out["value"] == 7.0 and out["pid"] != out["first_pid"]
    assert out["replaced"] == 1 and out["resubmitted"] == 1 and out["more"] is None
