"""Go feature-plane speed: positions/s per encoder and board size.

Positions are real mid-game samples: every move of the first ``--games`` games
of the tom-9d 19x19 archive for 19x19, and of random-playout games (uniform
legal non-eye-filling moves) for 9x9 and 13x13.  Samples are drawn uniformly
over all moves of those games, each with a random symmetry.

Figures, per encoder and size:

``games_1thread``   ``encode_games`` on one thread (game replay included)
``encode_1thread``  the compiled encoder alone on prebuilt positions, one thread
``games_parallel``  ``encode_games`` with numba's default thread count (wall clock)

The one-thread figures divide by this process's CPU time (``time.process_time``),
so that other load on a shared machine does not count against them.

Prints one JSON object::

    python benchmarks/features.py [--seconds 1.5] [--games 200] [--archive PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit

from games.go import Position, Rules, _core
from games.go import features as F
from games.go.sgf import iter_games

from _data import data_path  # benchmarks/_data.py (the script's folder is on sys.path)
from rlengine.config import DATA_ENV

ARCHIVE = "go/tom-9d-19x19.tar.gz"  # under $RLENGINE_DATA unless --archive is given


def _archive_stream(path: Path, num_games: int):
    """(points, colors, offsets) of the first legal games of an SGF archive."""
    pts: list[int] = []
    cols: list[int] = []
    off = [0]
    for _, rec in iter_games(path):
        if len(off) > num_games:
            break
        if rec.size != 19:
            continue
        ev_p, ev_c = [], []
        pos = Position.empty(rec.rules(ko="simple"))
        try:
            for p in rec.setup.black:
                ev_p.append(p), ev_c.append(-1)
            for p in rec.setup.white:
                ev_p.append(p), ev_c.append(-2)
            pos = rec.setup.apply(pos)
            for node in rec.nodes:
                if node.setup is not None:
                    for p in node.setup.black:
                        ev_p.append(p), ev_c.append(-1)
                    for p in node.setup.white:
                        ev_p.append(p), ev_c.append(-2)
                    for p in node.setup.empty:
                        ev_p.append(p), ev_c.append(-3)
                    pos = node.setup.apply(pos)
                if node.move is not None:
                    pos = pos.play(node.move.point, node.move.color, inplace=True)
                    ev_p.append(node.move.point), ev_c.append(node.move.color)
        except ValueError:
            continue
        if sum(c > 0 for c in ev_c) < 20:
            continue
        pts += ev_p
        cols += ev_c
        off.append(len(pts))
    return np.array(pts, np.int16), np.array(cols, np.int8), np.array(off, np.int64)


def _random_stream(size: int, num_games: int, seed: int):
    rng = _core.seed_rng(seed)
    pts: list[int] = []
    cols: list[int] = []
    off = [0]
    for _ in range(num_games):
        pos = Position.empty(Rules(size=size, ko="simple"))
        while not pos.is_over and pos.move_number < 2 * size * size:
            c = pos.to_move
            mv = pos.random_move(rng)
            pos.play(mv, inplace=True)
            pts.append(mv)
            cols.append(c)
        off.append(len(pts))
    return np.array(pts, np.int16), np.array(cols, np.int8), np.array(off, np.int64)


def _samples(cols: np.ndarray, off: np.ndarray, num: int, seed: int):
    rng = np.random.default_rng(seed)
    moves = np.flatnonzero(cols > 0)
    ev = rng.choice(moves, size=num)
    game = np.searchsorted(off, ev, side="right") - 1
    sym = rng.integers(0, 8, size=num)
    return game, ev, sym


@njit
def _replay_all(points, colors, offsets, games, events, ss, kos, cs, ages, boards, want, nbr, num_nbr, zob):
    m = ss.shape[2]
    for b in range(games.shape[0]):
        s, g = F._new_state(m)
        F._replay(points, colors, offsets[games[b]], events[b], s, g, ages[b], boards[b], want, nbr, num_nbr, zob)
        ss[b] = s
        kos[b] = g[_core.KO]
        cs[b] = colors[events[b]]


@njit
def _encode_all(ss, kos, cs, ages, boards, code, tmaps, syms, nbr, num_nbr, diag, num_diag, out):
    for b in range(ss.shape[0]):
        F._encode_state(ss[b], kos[b], cs[b], ages[b], boards[b], code, tmaps[syms[b]], nbr, num_nbr, diag, num_diag,
                        out)


def _rate(fn, num: int, seconds: float, clock=time.perf_counter) -> float:
    """Positions per second of ``fn`` (``num`` positions a call) on ``clock``."""
    fn()  # warm
    done, t0, w0 = 0, clock(), time.perf_counter()
    while True:
        fn()
        done += num
        if time.perf_counter() - w0 >= seconds:
            return done / (clock() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement (default 1.5)")
    parser.add_argument("--games", type=int, default=200, help="games per board size (default 200)")
    parser.add_argument("--samples", type=int, default=2048, help="positions per batch (default 2048)")
    parser.add_argument("--archive", type=Path, default=None,
                        help=f"19x19 SGF archive (default: $RLENGINE_DATA/{ARCHIVE})")
    parser.add_argument("--sizes", type=int, nargs="+", default=[9, 13, 19])
    args = parser.parse_args()
    if args.archive is None and os.environ.get(DATA_ENV):
        args.archive = data_path(None, ARCHIVE, flag="--archive")
    if args.archive is not None and not args.archive.exists():
        raise SystemExit(f"{args.archive}: not found (--archive)")

    default_threads = numba.get_num_threads()
    result: dict = {"threads_parallel": default_threads, "samples_per_batch": args.samples, "positions_per_s": {}}
    for size in args.sizes:
        t0 = time.perf_counter()
        if size == 19 and args.archive is not None:  # else (no archive given) random-playout games
            pts, cols, off = _archive_stream(args.archive, args.games)
            source = args.archive.name
        else:
            pts, cols, off = _random_stream(size, args.games, seed=size)
            source = "random playouts"
        game, ev, sym = _samples(cols, off, args.samples, seed=size)
        geo = _core.geometry(size)
        tmaps = F.symmetry_table(size)
        m = size * size
        n = args.samples
        ss = np.empty((n, _core.NUM_ROWS, m), np.int32)
        kos = np.empty(n, np.int64)
        cs = np.empty(n, np.int64)
        ages = np.empty((n, m), np.int32)
        boards = np.empty((n, 8, m), np.int8)
        _replay_all(pts, cols, off, game, ev, ss, kos, cs, ages, boards, True, geo.nbr, geo.num_nbr, geo.zob)
        cum = np.concatenate([[0], np.cumsum(cols > 0)])
        moves_before = cum[ev] - cum[off[game]]
        per_size = {"source": source, "games": int(off.size - 1),
                    "mean_move_number": round(float(moves_before.mean()), 1)}
        for enc in F.ENCODERS:
            num = F.num_planes(enc)
            out = np.empty((n, num, size, size), np.uint8)
            one = np.empty((num, m), np.uint8)
            code = F._CODES[enc]
            numba.set_num_threads(1)
            games_1 = _rate(lambda: F.encode_games(pts, cols, off, game, ev, sym, enc, size, out=out), n, args.seconds,
                            time.process_time)
            enc_1 = _rate(lambda: _encode_all(ss, kos, cs, ages, boards, code, tmaps, sym, geo.nbr, geo.num_nbr,
                                              geo.diag, geo.num_diag, one), n, args.seconds, time.process_time)
            numba.set_num_threads(default_threads)
            games_p = _rate(lambda: F.encode_games(pts, cols, off, game, ev, sym, enc, size, out=out), n, args.seconds)
            per_size[enc] = {"games_1thread": round(games_1), "encode_1thread": round(enc_1),
                             "games_parallel": round(games_p)}
        per_size["setup_s"] = round(time.perf_counter() - t0, 1)
        result["positions_per_s"][f"{size}x{size}"] = per_size
    print(json.dumps(result))


if __name__ == "__main__":
    main()
