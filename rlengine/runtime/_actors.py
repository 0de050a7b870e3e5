"""Self-play actors: one plain worker class, run in-process or as Ray actors, behind one pool.

A *worker* is a plain class (game-agnostic here) with two methods::

    load(key: str, version: int, weights: dict[str, np.ndarray]) -> None   # new weights for `key`
    run(task) -> result                                                     # e.g. play a batch of games
    versions: dict[str, int]   # the version of each key it holds now (it may drop keys to save memory)

``ActorPool`` runs ``num_actors`` such workers, either in this process (``backend="local"``, what tests
and the throughput baseline use) or as Ray actors (``backend="ray"``).  Both go through the same
``_Shell``, which holds the worker, sets its thread counts and loads weights when a task needs a newer
version, so there is no second copy of the loop.

- **Weights**: ``publish(key, weights)`` makes a new version of ``key`` with one ``ray.put``; a task
  names the keys it needs, and an actor fetches a key's object only when its cached version is older.
  A task's networks (version and object) are resolved when it is first dispatched and stay with the
  task, so a resubmission plays with the same ones even after ``forget(key)`` or a newer ``publish``.
- **Flow**: ``submit(task, needs)`` queues a task; each actor has at most ``max_in_flight`` tasks in
  flight; ``next_result()`` returns finished tasks in completion order (``ray.wait``), so one slow
  actor never holds up the results of the others.
- **Faults**: an actor that dies (``kill -9``, out of memory, node lost) is replaced by a fresh one
  and its in-flight tasks are submitted again (at most ``max_retries`` times each); a result lost
  with its node (``ObjectLostError``) counts as the death of the actor that made it.  A task id is
  returned once only.  A worker that *raises* stops the pool with ``WorkerError`` carrying the
  remote traceback; so does an actor that fails to start (its factory raises, or cannot even be
  unpickled, as on a node without rlengine installed): at once, with that cause, and without a
  replacement that would fail the same way.  It never hangs.
- **Sizing**: on Ray, the pool refuses at construction (a ``ValueError`` naming the config keys) when
  the cluster's nodes cannot hold ``num_actors`` actors of ``cpus_per_actor`` CPUs, since an actor
  that is never scheduled would leave its tasks in flight forever.  ``connect_ray`` sizes the embedded
  instance to fit the actors it is told about.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["ActorPool", "WorkerError", "connect_ray", "set_thread_counts"]

log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """A worker raised while running a task or while being built (the message carries its traceback),
    or a task failed on more dead actors than ``max_retries`` allows."""


def set_thread_counts(num_threads: int) -> None:
    """torch's and numba's thread pools to ``num_threads`` (the CPUs an actor was given)."""
    n = max(1, int(num_threads))
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:  # pragma: no cover - numba is a dependency
        pass


class _Shell:
    """Holds one worker: thread counts, weights versions, task execution.  The same class runs
    in-process and (wrapped by ``ray.remote``) as a Ray actor."""

    def __init__(self, factory: Callable[[], Any], num_threads: int):
        set_thread_counts(num_threads)
        self.worker = factory()

    def run(self, task: Any, needs: dict[str, tuple[int, list]]) -> Any:
        for key, (version, box) in needs.items():
            if self.worker.versions.get(key) != version:
                weights = box[0]
                if not isinstance(weights, dict):  # a Ray ObjectRef (kept in a list so Ray does not fetch it)
                    import ray

                    weights = ray.get(weights)
                self.worker.load(key, version, weights)
        return self.worker.run(task)

    def pid(self) -> int:
        return os.getpid()

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()


@dataclass
class _Task:
    id: int
    payload: Any
    needs: tuple[str, ...]
    tries: int = 0
    # key -> (version, [weights or ObjectRef]), filled at the first dispatch (or by ``forget`` while queued)
    # and kept for resubmissions, so they never look up a key the pool has since dropped or replaced
    resolved: dict = field(default_factory=dict)


@dataclass
class _Slot:
    handle: Any  # a Ray actor handle, or a _Shell for the local backend
    in_flight: dict = field(default_factory=dict)  # ObjectRef -> _Task (local: task id -> _Task)


class ActorPool:
    """``num_actors`` workers built by ``factory`` (picklable for Ray: a class or a top-level function)."""

    def __init__(self, factory: Callable[[], Any], *, num_actors: int = 1, backend: str = "ray",
                 max_in_flight: int = 2, cpus_per_actor: float = 1.0, max_retries: int = 3,
                 resources: dict[str, float] | None = None, name: str = "actor"):
        if backend not in ("ray", "local"):
            raise ValueError(f"backend must be ray or local, got {backend!r}")
        if num_actors < 1 or max_in_flight < 1:
            raise ValueError(f"num_actors and max_in_flight must be >= 1, got {num_actors}, {max_in_flight}")
        self.backend = backend
        self.factory = factory
        self.max_in_flight = int(max_in_flight)
        self.cpus_per_actor = float(cpus_per_actor)
        self.max_retries = int(max_retries)
        self.resources = dict(resources or {})
        self.name = name
        self._queue: collections.deque[_Task] = collections.deque()
        self._objects: dict[str, tuple[int, list]] = {}  # key -> (version, [weights or ObjectRef])
        self._next_id = 0
        self.num_resubmitted = 0
        self.num_replaced = 0
        self._slots: list[_Slot] = []
        if backend == "ray":
            self._check_fits(num_actors)
        self._slots = [_Slot(self._new_handle()) for _ in range(num_actors)]

    # ---- actors ---------------------------------------------------------------------------------------
    def _check_fits(self, num_actors: int) -> None:
        """A ValueError, naming the config keys, when the live Ray nodes cannot hold ``num_actors`` actors
        (each ``cpus_per_actor`` CPUs plus ``resources``): an unscheduled actor would never run its tasks."""
        import ray

        need = {"CPU": self.cpus_per_actor, **self.resources}
        fits, total = 0, 0.0
        for node in ray.nodes():
            if not node.get("Alive"):
                continue
            have = node.get("Resources", {})
            total += have.get("CPU", 0.0)
            fits += min(int(math.floor(have.get(k, 0.0) / v + 1e-9)) if v > 0 else num_actors
                        for k, v in need.items())
        if fits < num_actors:
            extra = "".join(f" and {v:g} {k}" for k, v in self.resources.items())
            raise ValueError(
                f"{num_actors} {self.name}s of {self.cpus_per_actor:g} CPU{extra} each do not fit this Ray "
                f"instance ({total:g} CPUs; {fits} such actor(s) fit), so the rest would never start: lower "
                f"runtime.num_actors or runtime.cpus_per_actor, or give Ray more CPUs (runtime.num_cpus sizes "
                f"the embedded instance; a cluster joined with --address needs more nodes)")

    def _new_handle(self):
        threads = max(1, int(self.cpus_per_actor))
        if self.backend == "local":
            try:
                return _Shell(self.factory, threads)
            except Exception:
                raise WorkerError(f"{self.name} failed to start (building its worker raised):\n"
                                  f"{traceback.format_exc()}") from None
        import ray

        remote = ray.remote(_Shell).options(num_cpus=self.cpus_per_actor, resources=self.resources or None,
                                            max_restarts=0, max_task_retries=0)
        return remote.remote(self.factory, threads)

    def pids(self) -> list[int]:
        """The process id of every actor (this process's for the local backend)."""
        if self.backend == "local":
            return [os.getpid() for _ in self._slots]
        import ray

        return ray.get([s.handle.pid.remote() for s in self._slots])

    def nodes(self) -> list[str]:
        """The Ray node id of every actor."""
        import ray

        return ray.get([s.handle.node.remote() for s in self._slots])

    @property
    def num_actors(self) -> int:
        return len(self._slots)

    # ---- weights ---------------------------------------------------------------------------------------
    def publish(self, key: str, weights: dict, *, version: int | None = None) -> int:
        """A new version of ``key`` (one ``ray.put``); tasks dispatched from now on get it.  ``version``:
        its number (e.g. the learner's iteration; default the last one + 1)."""
        version = self._objects.get(key, (-1, None))[0] + 1 if version is None else int(version)
        if self.backend == "ray":
            import ray

            box = [ray.put(weights)]
        else:
            box = [weights]
        self._objects[key] = (version, box)
        return version

    def version(self, key: str) -> int:
        return self._objects[key][0] if key in self._objects else -1

    def forget(self, key: str) -> None:
        """Drop a published object: tasks submitted from now on may not need it; tasks already submitted
        keep the version they were given (queued ones: the last one), resubmissions included."""
        if key not in self._objects:
            return
        for task in self._queue:
            if key in task.needs and key not in task.resolved:
                task.resolved[key] = self._objects[key]
        del self._objects[key]

    # ---- tasks ------------------------------------------------------------------------------------------
    def submit(self, payload: Any, needs: tuple[str, ...] | list[str] = ()) -> int:
        """Queue a task; returns its id.  ``needs``: the published keys its worker must have loaded."""
        for key in needs:
            if key not in self._objects:
                raise KeyError(f"task needs {key!r}, which was never published")
        task = _Task(self._next_id, payload, tuple(needs))
        self._next_id += 1
        self._queue.append(task)
        return task.id

    @property
    def num_pending(self) -> int:
        """Tasks queued or in flight."""
        return len(self._queue) + sum(len(s.in_flight) for s in self._slots)

    def _needs(self, task: _Task) -> dict[str, tuple[int, list]]:
        """The task's networks, resolved at its first dispatch and kept with it."""
        for k in task.needs:
            if k not in task.resolved:
                task.resolved[k] = self._objects[k]
        return task.resolved

    def _dispatch(self) -> None:
        if self.backend == "local":
            return
        for slot in self._slots:
            while self._queue and len(slot.in_flight) < self.max_in_flight:
                task = self._queue.popleft()
                ref = slot.handle.run.remote(task.payload, self._needs(task))
                slot.in_flight[ref] = task

    def next_result(self, timeout: float | None = None) -> tuple[int, Any, Any] | None:
        """(task id, payload, result) of the next task to finish, in completion order; None when nothing
        is pending or ``timeout`` seconds passed."""
        if self.backend == "local":
            return self._next_local()
        import ray
        from ray.exceptions import ActorUnavailableError, ObjectLostError, RayActorError, RayTaskError

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._dispatch()
            refs = [ref for s in self._slots for ref in s.in_flight]
            if not refs:
                return None
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _ = ray.wait(refs, num_returns=1, timeout=left)
            if not ready:
                return None
            ref = ready[0]
            slot = next(s for s in self._slots if ref in s.in_flight)
            task = slot.in_flight.pop(ref)
            try:
                result = ray.get(ref)
            except RayTaskError as exc:  # the worker raised: report it with its traceback, stop
                raise WorkerError(f"{self.name} {self._slots.index(slot)} raised on task {task.id}:\n{exc}") from None
            except (RayActorError, ActorUnavailableError) as exc:
                # its creation task raised (the factory, or unpickling it where a module is missing):
                # a new actor would fail the same way
                if getattr(exc, "actor_init_failed", False):
                    raise WorkerError(f"{self.name} {self._slots.index(slot)} failed to start (building its "
                                      f"worker raised), so it is not replaced:\n{exc}") from None
                self._replace(slot, task, exc)
                continue
            except ObjectLostError as exc:  # the result was lost with its node, and the actor with it
                self._replace(slot, task, exc)
                continue
            return task.id, task.payload, result

    def _replace(self, slot: _Slot, task: _Task, exc: Exception) -> None:
        """The actor of ``slot`` died running ``task``: a fresh actor takes its place, and ``task`` and the
        slot's other in-flight tasks go back to the front of the queue."""
        import ray

        lost = [task] + [slot.in_flight.pop(ref) for ref in list(slot.in_flight)]  # all resolved at dispatch
        index = self._slots.index(slot)
        log.warning("%s %d died (%s); starting a new one and resubmitting %d task(s)", self.name, index,
                    type(exc).__name__, len(lost))
        try:
            ray.kill(slot.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        slot.handle = self._new_handle()
        self.num_replaced += 1
        for t in sorted(lost, key=lambda t: t.id, reverse=True):
            self._requeue(t, type(exc).__name__)

    def _requeue(self, task: _Task, why: str) -> None:
        task.tries += 1
        if task.tries > self.max_retries:
            raise WorkerError(f"{self.name}: task {task.id} failed on {task.tries} actors in a row ({why}); giving up")
        self.num_resubmitted += 1
        self._queue.appendleft(task)

    def _next_local(self) -> tuple[int, Any, Any] | None:
        if not self._queue:
            return None
        task = self._queue.popleft()
        shell = self._slots[task.id % len(self._slots)].handle
        try:
            result = shell.run(task.payload, self._needs(task))
        except Exception:
            raise WorkerError(f"{self.name} raised on task {task.id}:\n{traceback.format_exc()}") from None
        return task.id, task.payload, result

    def close(self) -> None:
        """Kill the Ray actors (the local workers are just dropped)."""
        if self.backend == "ray":
            import ray

            for slot in self._slots:
                try:
                    ray.kill(slot.handle, no_restart=True)
                except Exception:  # noqa: BLE001 - already dead
                    pass
        self._slots = []
        self._queue.clear()

    def __enter__(self) -> ActorPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---- joining Ray ---------------------------------------------------------------------------------------


def _check_listening(address: str, timeout: float = 3.0) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--address {address!r}: expected auto or HOST:PORT (e.g. 127.0.0.1:6379)")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ValueError(f"--address {address}: nothing is listening there ({exc.strerror or exc}); start a Ray "
                         f"head with `ray start --head --port {port}` or leave --address out for the embedded "
                         f"default") from None


def connect_ray(address: str | None = None, *, num_cpus: int | None = None, num_actors: int = 0,
                cpus_per_actor: float = 1.0) -> bool:
    """Make sure this process is connected to Ray; True when this call started it.

    ``address`` (``auto`` or ``HOST:PORT``) joins an existing cluster; a clear ValueError says when the
    address is malformed or nothing listens there (checked first, even when this process is already
    connected).  Already connected (a test session, a notebook): nothing else changes.  Otherwise a new
    Ray instance starts in-process (the embedded default) with no dashboard and ``num_cpus`` CPUs,
    raised to ``ceil(num_actors * cpus_per_actor)`` when the actors this run will start need more
    (``ActorPool`` refuses actors that do not fit a joined cluster).

    Network exposure: Ray 2.60's GCS, raylet and worker gRPC servers listen on every interface, and
    ``ray.init`` turns a 127.0.0.1 node address into the machine's reachable address, so they cannot be
    held to 127.0.0.1 from here.  What this does: no dashboard (the one HTTP service), and Ray's token
    authentication, on by default in this version, guards the gRPC ports.
    """
    import ray

    if address and address != "auto":
        _check_listening(address)
    if ray.is_initialized():
        return False
    if address:
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ValueError(f"--address {address}: cannot join a Ray cluster: {exc}") from None
        return True
    need = math.ceil(num_actors * cpus_per_actor - 1e-9) if num_actors > 0 else 0
    if num_cpus is not None and need > num_cpus:
        log.info("embedded Ray gets %d CPUs instead of %d, so that %d actors of %g CPU fit", need, num_cpus,
                 num_actors, cpus_per_actor)
        num_cpus = need
    # address="local": a new instance in any case, never one that `ray start` or a test cluster left on
    # this machine (/tmp/ray/ray_current_cluster) or RAY_ADDRESS names
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    return True
