"""Replay speed and memory on Atari-shaped data (84x84 uint8 frames, stack 4).

First the sampleable capacity: a uniform buffer filled with episodes of about 1,000 steps, then with
short ones (``--short-episode``, default 40, Breakout's lives), and the fraction of ``--capacity`` that
can be sampled afterwards.  Then fills a buffer of ``--capacity`` transitions from ``--num-envs``
environments with random frames (episodes of ~1000 steps) and prints one JSON object per
line for each buffer kind and batch size: ``samples_per_s`` / ``batches_per_s``
(``sample`` alone, obs and next_obs stacks rebuilt), ``cycle_batches_per_s``
(``sample`` plus ``update_priorities``, the learner's per-step work),
``add_transitions_per_s`` (filling), ``bytes_per_transition`` (``nbytes`` over
the capacity) and ``gb_per_million``.

    python benchmarks/replay.py [--capacity 200000] [--num-envs 8] [--n-step 3] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numba
import numpy as np

from rlengine.replay import ReplayBuffer, ReplayConfig

FRAME = (84, 84)
STACK = 4


def _fill(buf: ReplayBuffer, num_envs: int, *, seed: int, episode_length: float = 1000.0) -> float:
    """Add steps until every ring has wrapped once, episodes ending with probability 1/episode_length per
    step; transitions added per second."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, size=(512, *FRAME), dtype=np.uint8)  # [P, 84, 84]
    steps = buf.capacity_per_env + 500
    ends = rng.random((steps, num_envs)) < 1.0 / episode_length  # [T, N]
    actions = rng.integers(0, 18, size=(steps, num_envs))  # [T, N]
    rewards = rng.integers(-1, 2, size=(steps, num_envs)).astype(np.float32)  # [T, N]
    no = np.zeros(num_envs, bool)
    offsets = np.arange(num_envs)[:, None] * 37 + np.arange(STACK + 1)  # [N, S+1]
    t0 = time.perf_counter()
    for i in range(steps):
        window = pool[(i + offsets) % len(pool)]  # [N, S+1, 84, 84]
        buf.add(window[:, :STACK], actions[i], rewards[i], ends[i], no, window[:, 1:])
    return steps * num_envs / (time.perf_counter() - t0)


def _rate(fn, seconds: float) -> float:
    fn()
    count, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        fn()
        count += 1
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=200_000)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--n-step", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    parser.add_argument("--short-episode", type=float, default=40.0,
                        help="mean episode length of the sampleable-capacity line (Breakout's lives: about 40)")
    args = parser.parse_args()
    # sampleable capacity: each episode start stores `stack` frames more, so short episodes use the frame
    # slack faster (the oldest transitions of a ring then lose their frames first)
    for length in (1000.0, args.short_episode):
        buf = ReplayBuffer(ReplayConfig(capacity=args.capacity, n_step=args.n_step), obs_shape=FRAME,
                           num_envs=args.num_envs, stack=STACK, seed=0)
        _fill(buf, args.num_envs, seed=1, episode_length=length)
        print(json.dumps({"mean_episode_length": length, "capacity": args.capacity, "sampleable": len(buf),
                          "sampleable_fraction": round(len(buf) / args.capacity, 4),
                          "bytes_per_transition": round(buf.nbytes / args.capacity, 1)}), flush=True)
        del buf
    for prioritized in (False, True):
        config = ReplayConfig(capacity=args.capacity, n_step=args.n_step, prioritized=prioritized)
        buf = ReplayBuffer(config, obs_shape=FRAME, num_envs=args.num_envs, stack=STACK, seed=0)
        add_rate = _fill(buf, args.num_envs, seed=1)
        td_rng = np.random.default_rng(2)
        for batch_size in (32, 256):
            batches = _rate(lambda: buf.sample(batch_size), args.seconds)

            def cycle():
                batch = buf.sample(batch_size)
                buf.update_priorities(batch.indices, td_rng.random(batch_size))

            cycles = _rate(cycle, args.seconds)
            print(json.dumps({
                "buffer": "prioritized" if prioritized else "uniform",
                "batch_size": batch_size,
                "samples_per_s": round(batches * batch_size),
                "batches_per_s": round(batches, 1),
                "cycle_batches_per_s": round(cycles, 1),
                "add_transitions_per_s": round(add_rate),
                "bytes_per_transition": round(buf.nbytes / args.capacity, 1),
                "gb_per_million": round(buf.nbytes / args.capacity * 1e6 / 1e9, 3),
                "len": len(buf),
                "capacity": args.capacity,
                "num_envs": args.num_envs,
                "n_step": args.n_step,
                "frame": list(FRAME),
                "stack": STACK,
                "cpus": os.cpu_count(),
                "numba": numba.__version__,
                "numpy": np.__version__,
            }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
