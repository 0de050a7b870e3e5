"""Training and evaluating the fast rollout policy (``games.go.rollout``) on expert games.

The weights maximise the log-likelihood of the expert's move under the rollout
softmax, by AdaGrad-scaled stochastic gradient steps, one position at a time.
Games are read once with ``games.go.sgf.iter_games`` and packed into flat
arrays; replay, features, softmax and the sparse gradient step all run in one
numba kernel.  Train and test sets are split by game: training uses the games
``[start, start + games)`` of the archive (in its order), and evaluation by
default the games right after them (the range is stored in the weights file).

    python -m agents.alphago.rollout train --sgf ARCHIVE --out rollout.safetensors --games 2000
    python -m agents.alphago.rollout eval --weights rollout.safetensors --sgf ARCHIVE --games 200

Both print one JSON line at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

from games.go import _core
from games.go import rollout as R
from games.go.sgf import iter_games

__all__ = ["RolloutWeightsError", "load_games", "load_rollout", "main", "rollout_accuracy", "save_rollout",
           "train_rollout"]

log = logging.getLogger(__name__)

FORMAT = "rlengine.rollout_policy"


class RolloutWeightsError(ValueError):
    """A rollout weights file that cannot be used; the message names the file."""


# ---- data ------------------------------------------------------------------------------------


class PackedGames:
    """Games as flat arrays: start stones [G, M] int8, moves' colour/point with per-game offsets."""

    def __init__(self, size: int, setups: np.ndarray, offsets: np.ndarray, colors: np.ndarray, points: np.ndarray,
                 names: list[str]):
        self.size = size
        self.setups = setups  # [G, M] int8
        self.offsets = offsets  # [G + 1] int64
        self.colors = colors  # [T] int8
        self.points = points  # [T] int32
        self.names = names

    @property
    def num_games(self) -> int:
        return len(self.names)

    @property
    def num_moves(self) -> int:
        return int(self.offsets[-1])


def load_games(sgf_path: str | os.PathLike, *, start: int = 0, games: int = 1000, size: int = 19,
               progress: bool = False) -> PackedGames:
    """Games ``[start, start + games)`` of ``sgf_path`` (counting only ``size`` x ``size`` games), packed.

    A game's moves stop at its first mid-game setup node (rare in records).
    """
    m = size * size
    setups, offsets, colors, points, names = [], [0], [], [], []
    it = (item for item in iter_games(sgf_path) if item[1].size == size)
    it = itertools.islice(it, start, start + games)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, total=games, desc="reading games", unit="game", file=sys.stderr)
    for name, rec in it:
        pos = rec.start()
        for node in rec.nodes:
            if node.setup is not None:
                break
            if node.move is not None:
                colors.append(node.move.color)
                points.append(node.move.point)
        setups.append(pos.stones())
        offsets.append(len(points))
        names.append(name)
    return PackedGames(
        size,
        np.array(setups, np.int8).reshape(len(names), m),
        np.array(offsets, np.int64),
        np.array(colors, np.int8),
        np.array(points, np.int32),
        names,
    )


# ---- the compiled pass over games --------------------------------------------------------------------


@njit(cache=True)
def _pass_over_games(setups, offsets, colors, points, order, w, acc, lr, train, nbr, num_nbr, zob, nb8, dia,
                     perm12, inv12, canon, stats):
    """Replay the games in ``order``; at each expert stone move score the candidates and,
    when ``train``, take an AdaGrad step on -log p(expert move).

    stats (float64 [6]) += [positions, top1 hits (ties at the top share 1), sum of -log p, expert move not a candidate,
    illegal moves (game cut there), sum of 1 / number of candidates].
    """
    m = setups.shape[1]
    cand = np.empty(m, np.int32)
    feats = np.empty((m, R.MAX_ACTIVE), np.int32)
    nfeat = np.empty(m, np.int32)
    x = np.empty(m)
    allowed = np.ones(m, np.bool_)
    grad = np.zeros(w.shape[0])
    gidx = np.empty(m * R.MAX_ACTIVE, np.int64)
    s = np.zeros((_core.NUM_ROWS, m), np.int32)
    g = np.zeros(_core.NUM_SCALARS, np.int64)
    for gi in order:
        s[:] = 0
        g[:] = 0
        g[_core.KO] = _core.NO_POINT
        _core.rebuild(s, g, nbr, num_nbr, zob, setups[gi])
        last = -1
        last2 = -1
        for t in range(offsets[gi], offsets[gi + 1]):
            c = np.int64(colors[t])
            p = np.int64(points[t])
            g[_core.TO_MOVE] = c
            if p == m:
                g[_core.PASSES] += 1
                g[_core.KO] = _core.NO_POINT
                last2 = last
                last = -1
                continue
            if s[_core.COLOR, p] != _core.EMPTY or p == g[_core.KO] or not _core._legal_simple(s, g, nbr, num_nbr,
                                                                                                 p, c):
                stats[4] += 1
                break
            ko = g[_core.KO]
            if ko >= 0:
                allowed[ko] = False
            n = R.features(s, nbr, num_nbr, nb8, dia, perm12, inv12, canon, c, last, last2, allowed, cand, feats,
                           nfeat)
            if ko >= 0:
                allowed[ko] = True
            e = -1
            for i in range(n):
                if cand[i] == p:
                    e = i
                    break
            if e < 0:
                stats[3] += 1
            else:
                R.scores_of(w, feats, nfeat, n, x)
                best = 0
                for i in range(1, n):
                    if x[i] > x[best]:
                        best = i
                R.softmax_(x, n)
                stats[0] += 1
                if x[e] >= x[best]:  # ties at the top share the credit (a random tie-break)
                    ties = 0
                    for i in range(n):
                        if x[i] >= x[best]:
                            ties += 1
                    stats[1] += 1.0 / ties
                stats[2] -= math.log(max(x[e], 1e-300))
                stats[5] += 1.0 / n
                if train:
                    x[e] -= 1.0  # d(-log p_e)/d score_i = p_i - [i == e]
                    ng = 0
                    for i in range(n):
                        for j in range(nfeat[i]):
                            f = feats[i, j]
                            if grad[f] == 0.0:
                                gidx[ng] = f
                                ng += 1
                            grad[f] += x[i]
                            if grad[f] == 0.0:
                                grad[f] = 1e-300  # keep it listed
                    for k in range(ng):
                        f = gidx[k]
                        gf = grad[f]
                        grad[f] = 0.0
                        acc[f] += gf * gf
                        w[f] -= lr * gf / (math.sqrt(acc[f]) + 1e-8)
                    if w[R.OFF_SELF_ATARI] > 0.0:
                        w[R.OFF_SELF_ATARI] = 0.0
            _core.place(s, g, nbr, num_nbr, zob, p, c)
            last2 = last
            last = p


def _run(games: PackedGames, w: np.ndarray, acc: np.ndarray, order: np.ndarray, *, lr: float, train: bool,
         progress: bool, desc: str, chunk: int = 64) -> np.ndarray:
    geo = _core.geometry(games.size)
    nb8, dia, ring3, canon, perm12, inv12 = R._tables(games.size)
    stats = np.zeros(6)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(order), desc=desc, unit="game", file=sys.stderr)
    for i in range(0, len(order), chunk):
        part = np.ascontiguousarray(order[i:i + chunk], dtype=np.int64)
        _pass_over_games(games.setups, games.offsets, games.colors, games.points, part, w, acc, float(lr), train,
                         geo.nbr, geo.num_nbr, geo.zob, nb8, dia, perm12, inv12, canon, stats)
        if bar is not None:
            bar.update(len(part))
            if stats[0]:
                bar.set_postfix(top1=f"{stats[1] / stats[0]:.3f}", nll=f"{stats[2] / stats[0]:.3f}")
    if bar is not None:
        bar.close()
    return stats


def _summary(stats: np.ndarray) -> dict:
    n = max(stats[0], 1.0)
    return {
        "positions": int(stats[0]),
        "top1": float(stats[1] / n),
        "nll": float(stats[2] / n),
        "uniform_top1": float(stats[5] / n),  # expected top-1 of a uniform pick among the candidates
        "expert_not_candidate": int(stats[3]),
        "illegal_moves": int(stats[4]),
    }


# ---- weights files ----------------------------------------------------------------------------------


def save_rollout(path: str | os.PathLike, weights: np.ndarray, *, size: int, extra: dict | None = None) -> None:
    """Write weights + metadata as safetensors atomically (temp file in the same folder, then rename)."""
    from safetensors.numpy import save_file

    path = Path(path)
    meta = {"format": FORMAT, "layout_version": str(R.LAYOUT_VERSION), "size": str(size),
            "num_features": str(R.NUM_FEATURES)}
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file({"weights": np.ascontiguousarray(weights, dtype=np.float32)}, tmp, metadata=meta)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_rollout(path: str | os.PathLike) -> R.RolloutPolicy:
    """The ``RolloutPolicy`` stored in ``path`` (``.metadata`` holds the file's metadata).

    Raises FileNotFoundError for a missing file and RolloutWeightsError, naming
    the file, for a corrupt file or one of another format/layout/shape.
    """
    from safetensors import safe_open

    from agents.alphago.weights import resolve

    path = Path(resolve(path))
    if not path.is_file():
        raise FileNotFoundError(f"rollout weights file not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = dict(f.metadata() or {})
            keys = list(f.keys())
            if "weights" not in keys:
                raise RolloutWeightsError(f"{path}: no 'weights' tensor (found {keys})")
            w = f.get_tensor("weights")
    except RolloutWeightsError:
        raise
    except Exception as e:  # safetensors raises its own error types for bad headers/data
        raise RolloutWeightsError(f"{path}: not a readable safetensors file: {e}") from None
    if meta.get("format") != FORMAT:
        raise RolloutWeightsError(f"{path}: metadata 'format' is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("layout_version") != str(R.LAYOUT_VERSION):
        raise RolloutWeightsError(f"{path}: feature layout_version {meta.get('layout_version')!r} does not match "
                                  f"this code's {R.LAYOUT_VERSION}")
    try:
        size = int(meta["size"])
    except (KeyError, ValueError):
        raise RolloutWeightsError(f"{path}: metadata 'size' missing or not an integer: {meta.get('size')!r}") from None
    if w.dtype != np.float32 or w.shape != (R.NUM_FEATURES,):
        raise RolloutWeightsError(f"{path}: 'weights' is {w.dtype} {w.shape}, expected float32 ({R.NUM_FEATURES},)")
    try:
        policy = R.RolloutPolicy(w, size)
    except ValueError as e:
        raise RolloutWeightsError(f"{path}: {e}") from None
    policy.metadata = meta
    return policy


# ---- train / evaluate --------------------------------------------------------------------------------


def train_rollout(sgf_path: str | os.PathLike, out_path: str | os.PathLike, *, games: int = 2000, start: int = 0,
                  epochs: int = 1, lr: float = 0.1, seed: int = 0, size: int = 19, eval_games: int = 0,
                  progress: bool = True) -> dict:
    """Train rollout weights on games ``[start, start + games)`` of ``sgf_path`` and save them to ``out_path``.

    With ``eval_games`` > 0 also measures accuracy on the held-out games right
    after the training range.  Returns a summary dict (also the CLI's JSON line).
    """
    t0 = time.perf_counter()
    data = load_games(sgf_path, start=start, games=games, size=size, progress=progress)
    if data.num_games == 0:
        raise ValueError(f"{sgf_path}: no {size}x{size} games in range [{start}, {start + games})")
    t_read = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    w = np.zeros(R.NUM_FEATURES, np.float32)
    acc = np.zeros(R.NUM_FEATURES, np.float64)
    history = []
    for epoch in range(epochs):
        order = rng.permutation(data.num_games).astype(np.int64)
        stats = _run(data, w, acc, order, lr=lr, train=True, progress=progress, desc=f"epoch {epoch + 1}/{epochs}")
        history.append(_summary(stats))
    t_train = time.perf_counter() - t0 - t_read
    end = start + data.num_games
    save_rollout(out_path, w, size=size, extra={
        "sgf": Path(sgf_path).name, "train_start": start, "train_end": end, "epochs": epochs, "lr": lr,
        "seed": seed})
    out = {"weights": str(out_path), "size": size, "train_games": data.num_games, "train_range": [start, end],
           "train_moves": data.num_moves, "epochs": epochs, "lr": lr, "seed": seed,
           "train_top1_last_epoch": history[-1]["top1"], "train_nll_last_epoch": history[-1]["nll"],
           "read_s": round(t_read, 2), "train_s": round(t_train, 2)}
    if eval_games > 0:
        ev = rollout_accuracy(out_path, sgf_path, games=eval_games, skip=end, progress=progress)
        out["heldout"] = ev
    return out


def rollout_accuracy(weights, sgf_path: str | os.PathLike, *, games: int = 200, skip: int | None = None,
                     progress: bool = False) -> dict:
    """Top-1 move prediction of the rollout policy on games ``[skip, skip + games)`` of ``sgf_path``.

    ``weights``: a weights file or a ``RolloutPolicy``.  ``skip`` defaults to
    the end of the file's training range, so that evaluation is held out.
    Positions are the expert's stone moves that are candidates of the policy
    (legal, not own-eye filling); "top1" counts argmax = expert move.
    """
    policy = weights if isinstance(weights, R.RolloutPolicy) else load_rollout(weights)
    meta = getattr(policy, "metadata", {})
    if skip is None:
        if "train_end" not in meta:
            raise ValueError("rollout_accuracy: give skip= (the policy does not record its training range)")
        skip = int(meta["train_end"])
    if meta.get("sgf") == Path(sgf_path).name and "train_end" in meta:
        lo, hi = int(meta["train_start"]), int(meta["train_end"])
        if skip < hi and skip + games > lo:
            log.warning("evaluation games [%d, %d) overlap the training games [%d, %d)", skip, skip + games, lo, hi)
    data = load_games(sgf_path, start=skip, games=games, size=policy.size, progress=progress)
    w = policy.weights.copy()
    stats = _run(data, w, np.zeros(1), np.arange(data.num_games, dtype=np.int64), lr=0.0, train=False,
                 progress=progress, desc="evaluating")
    out = _summary(stats)
    out.update({"games": data.num_games, "range": [skip, skip + data.num_games]})
    return out


# ---- CLI ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents.alphago.rollout", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train rollout weights on SGF games")
    tr.add_argument("--sgf", required=True)
    tr.add_argument("--out", required=True)
    tr.add_argument("--games", type=int, default=2000)
    tr.add_argument("--start", type=int, default=0)
    tr.add_argument("--epochs", type=int, default=1)
    tr.add_argument("--lr", type=float, default=0.1)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--size", type=int, default=19)
    tr.add_argument("--eval-games", type=int, default=0, help="held-out games evaluated after training")
    tr.add_argument("--no-progress", action="store_true")
    ev = sub.add_parser("eval", help="top-1 accuracy on held-out SGF games")
    ev.add_argument("--weights", required=True)
    ev.add_argument("--sgf", required=True)
    ev.add_argument("--games", type=int, default=200)
    ev.add_argument("--skip", type=int, default=None, help="games skipped first (default: end of training range)")
    ev.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.cmd == "train":
            out = train_rollout(args.sgf, args.out, games=args.games, start=args.start, epochs=args.epochs,
                                lr=args.lr, seed=args.seed, size=args.size, eval_games=args.eval_games,
                                progress=not args.no_progress)
        else:
            out = rollout_accuracy(args.weights, args.sgf, games=args.games, skip=args.skip,
                                   progress=not args.no_progress)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
