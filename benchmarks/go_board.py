"""Go board speed: random playouts/s and moves/s on 9x9 and 19x19, plus start-up time.

Prints one JSON object per line per board size:
``playouts_per_s`` over all cores (numba threads, one process),
``playouts_per_s_1thread`` with one thread, ``moves_per_s`` (moves inside
playouts, all cores), ``api_moves_per_s`` (Position.play in place from
Python, with full superko legality and the position's own history for the
encoders; ``random_move`` included), ``api_moves_per_s_immutable`` (the same
with immutable play), and ``startup_s``: a fresh process
importing the core and finishing its first playout from the JIT cache.

    python benchmarks/go_board.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numba
import numpy as np

from games.go import Position, Rules, _core


def _playouts(size: int, num: int, seed: int) -> tuple[float, int]:
    geo = _core.geometry(size)
    s, g, _ = _core.new_state(size)
    t = time.perf_counter()
    _, moves = _core.playouts(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, seed, num, 3 * size * size)
    return time.perf_counter() - t, int(moves)


def _rate(size: int, seconds: float) -> tuple[float, float]:
    _playouts(size, 64, 0)  # warm the JIT
    num, total_t, total_n, total_moves, seed = 256, 0.0, 0, 0, 1
    while total_t < seconds:
        dt, moves = _playouts(size, num, seed)
        total_t += dt
        total_n += num
        total_moves += moves
        seed += 1
        num = min(num * 2, 65536)
    return total_n / total_t, total_moves / total_t


def _api_moves(size: int, seconds: float, inplace: bool = True) -> float:
    rng = _core.seed_rng(5)
    rules = Rules(size=size)
    moves, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pos = Position.empty(rules)
        while not pos.is_over and pos.move_number < 3 * size * size:
            if inplace:
                pos.play(pos.random_move(rng), inplace=True)
            else:
                pos = pos.play(pos.random_move(rng))
            moves += 1
    return moves / (time.perf_counter() - t0)


STARTUP = """
import time; t = time.perf_counter()
from games.go import _core
geo = _core.geometry(9); s, g, _ = _core.new_state(9)
_core.playout(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, _core.seed_rng(1), 243)
print(time.perf_counter() - t)
"""


def _startup() -> float:
    subprocess.run([sys.executable, "-c", STARTUP], check=True, capture_output=True)  # fills the cache
    out = subprocess.run([sys.executable, "-c", STARTUP], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[9, 19])
    args = parser.parse_args()
    startup = _startup()
    threads = numba.get_num_threads()
    for size in args.sizes:
        playouts, moves = _rate(size, args.seconds)
        numba.set_num_threads(1)
        playouts_1, _ = _rate(size, args.seconds)
        numba.set_num_threads(threads)
        _api_moves(size, 0.2)  # warm the JIT
        api_moves = _api_moves(size, args.seconds)
        api_moves_immutable = _api_moves(size, args.seconds, inplace=False)
        print(json.dumps({
            "board_size": size,
            "playouts_per_s": round(playouts),
            "moves_per_s": round(moves),
            "playouts_per_s_1thread": round(playouts_1),
            "api_moves_per_s": round(api_moves),
            "api_moves_per_s_immutable": round(api_moves_immutable),
            "threads": threads,
            "cpus": os.cpu_count(),
            "startup_s": round(startup, 3),
            "numba": numba.__version__,
            "numpy": np.__version__,
        }), flush=True)


if __name__ == "__main__":
    main()
