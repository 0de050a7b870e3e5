"""One shared thread pool for the GIL-free compiled Go kernels (features, rollouts, leaf batches).

A numba kernel compiled with ``nogil=True`` runs in parallel from several Python
threads: the same parallelism as a ``prange`` kernel, without its long
first-call compile.  Callers split a batch into contiguous slices and run one
slice per thread (``run_slices``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def executor(num_threads: int) -> ThreadPoolExecutor:
    """The shared pool, grown on demand to at least ``num_threads`` threads."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < num_threads:
            old, _POOL = _POOL, ThreadPoolExecutor(num_threads, thread_name_prefix="go-kernels")
            _POOL_SIZE = num_threads
            if old is not None:
                old.shutdown(wait=False)
        return _POOL


def run_slices(job: Callable[[int, int], object], n: int, num_slices: int) -> list:
    """``job(lo, hi)`` over ``num_slices`` contiguous slices of range(n), one per pool thread (in the
    calling thread when there is one slice); returns the results in slice order."""
    k = max(1, int(num_slices))
    if k == 1:
        return [job(0, n)]
    bounds = [n * j // k for j in range(k + 1)]
    futures = [executor(k).submit(job, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return [f.result() for f in futures]
