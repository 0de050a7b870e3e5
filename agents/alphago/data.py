"""SGF games -> game streams (the contract's numpy format) -> shards -> training batches.

``convert(path, size)`` replays every game with the Go core (no suicide, positional superko),
keeping the legal prefix of a game with an illegal move, and returns a ``GameStream``.
``prepare_shards`` splits the games by name into train/val/test (a hash of (seed, name), so a
game never lands in two splits and the split does not depend on the order of the source),
writes one ``.npz`` per split plus ``meta.json`` atomically, and reuses them when the cache key
matches.  ``BatchSampler`` draws uniform random move events (passes excluded) with a random
symmetry each, encodes them with ``games.go.features.encode_games`` in a background thread and
maps the targets through the symmetry table.

Games that share an opening (or repeat whole, as GNU Go's games with few random opening moves do)
share positions across the split.  ``prepare_shards`` therefore marks, in the validation and test
shards, the samples whose position (the stones before the move and the side to move) is also the
position of a training sample (``GameStream.in_train``), and ``sample_events`` / ``fixed_samples``
leave them out by default (``exclude_train_positions=False`` keeps them): validation and test
figures are then measured on positions the network was not trained on.
``benchmarks/split_leakage.py`` measures the overlap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from games.go import sgf as sgf_mod
from games.go.board import WHITE, IllegalMoveError, Position, Rules
from rlengine.runtime import atomic_write_text

__all__ = ["FORMAT_VERSION", "SPLITS", "BatchSampler", "ConversionStats", "GameStream", "convert", "game_split",
           "load_shards", "position_key", "prepare_shards", "replay_stream", "sample_events", "stream_from_records"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: validation and test shards carry ``in_train``
SPLITS = ("train", "val", "test")
SETUP_BLACK, SETUP_WHITE, SETUP_EMPTY = -1, -2, -3
_U64 = (1 << 64) - 1
_WHITE_KEY = 0x9E3779B97F4A7C15  # xor-ed into the stones' Zobrist hash when white is to move


@dataclass
class GameStream:
    """Games of one board size as flat event arrays (see the contract)."""

    size: int
    points: np.ndarray  # int16 [E]
    colors: np.ndarray  # int8 [E]
    game_offsets: np.ndarray  # int64 [G+1]
    results: np.ndarray  # int8 [G]: +1 black won, -1 white won, 0 unknown / draw
    komi: np.ndarray  # float32 [G]
    names: np.ndarray  # str [G]
    # uint64 [E]: the position before each event (stones' Zobrist hash, side to move); set by conversion,
    # not saved in the shards
    keys: np.ndarray | None = None
    # bool [E] (validation / test shards): the position before this move event is also the position of
    # a training sample of the same split; sample_events leaves these out by default
    in_train: np.ndarray | None = None

    @property
    def num_games(self) -> int:
        return len(self.game_offsets) - 1

    @property
    def num_positions(self) -> int:
        """Training samples: move events that are not passes."""
        return int(((self.colors > 0) & (self.points != self.size * self.size)).sum())

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"size": np.array(self.size, np.int64), "points": self.points, "colors": self.colors,
               "game_offsets": self.game_offsets, "results": self.results, "komi": self.komi,
               "names": self.names.astype(str)}
        if self.in_train is not None:
            out["in_train"] = self.in_train
        return out

    def subset(self, games: np.ndarray) -> GameStream:
        """The games with indices ``games`` (in that order)."""
        starts, ends = self.game_offsets[games], self.game_offsets[games + 1]
        lengths = ends - starts
        idx = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if len(games) else np.zeros(0, int)
        offsets = np.zeros(len(games) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return GameStream(self.size, self.points[idx], self.colors[idx], offsets, self.results[games],
                          self.komi[games], self.names[games],
                          keys=None if self.keys is None else self.keys[idx],
                          in_train=None if self.in_train is None else self.in_train[idx])


@dataclass
class ConversionStats:
    games: int = 0  # games kept
    other_size: int = 0  # games of another board size
    skipped: list[str] = field(default_factory=list)  # "name: reason" of games dropped whole
    truncated: list[str] = field(default_factory=list)  # "name: reason" of games cut at an illegal move
    malformed: int = 0  # SGF files/games the parser rejected (logged by games.go.sgf with the SgfError)


def _result_sign(result: str | None) -> int:
    text = (result or "").strip().upper()
    if text.startswith("B+"):
        return 1
    if text.startswith("W+"):
        return -1
    return 0


def _setup_events(setup, points: list[int], colors: list[int]) -> None:
    for pts, code in ((setup.empty, SETUP_EMPTY), (setup.black, SETUP_BLACK), (setup.white, SETUP_WHITE)):
        points.extend(pts)
        colors.extend([code] * len(pts))


def position_key(pos: Position, color: int) -> int:
    """A 64-bit key of (the stones of ``pos``, ``color`` to move): the Zobrist hash of the stones, with a
    constant xor-ed in for white."""
    key = int(pos.zobrist) & _U64
    return key ^ _WHITE_KEY if color == WHITE else key


def game_events(record: sgf_mod.GameRecord, keys: list[int] | None = None) -> tuple[list[int], list[int], str | None]:
    """(points, colors, error) of one game; at an illegal move the events stop there and
    ``error`` says why (the legal prefix is kept).  With ``keys``, the ``position_key`` before each kept
    move event (0 for setup events) is appended to it."""
    points: list[int] = []
    colors: list[int] = []
    rules = Rules(size=record.size, komi=record.komi)  # positional superko, suicide illegal
    pos = record.setup.apply(Position.empty(rules))
    _setup_events(record.setup, points, colors)
    if keys is not None:
        keys.extend([0] * len(points))
    number = 0
    for node in record.nodes:
        if node.setup:
            pos = node.setup.apply(pos)
            before = len(points)
            _setup_events(node.setup, points, colors)
            if keys is not None:
                keys.extend([0] * (len(points) - before))
        if node.move is not None:
            number += 1
            color, point = node.move
            key = position_key(pos, color) if keys is not None else 0
            try:
                pos = pos.play(point, color, inplace=True)
            except IllegalMoveError as exc:
                return points, colors, f"move {number}: {exc}"
            points.append(point)
            colors.append(color)
            if keys is not None:
                keys.append(key)
    return points, colors, None


def stream_from_records(records, size: int, *, stats: ConversionStats | None = None, max_games: int = 0,
                        progress: bool = False, total: int | None = None) -> GameStream:
    """A ``GameStream`` of the (name, GameRecord) pairs of board size ``size``."""
    stats = stats if stats is not None else ConversionStats()
    all_points: list[np.ndarray] = []
    all_colors: list[np.ndarray] = []
    all_keys: list[np.ndarray] = []
    lengths: list[int] = []
    results: list[int] = []
    komis: list[float] = []
    names: list[str] = []
    bar = tqdm(total=total or max_games or None, unit="game", desc="converting SGF", disable=not progress,
               dynamic_ncols=True, smoothing=0.05)
    try:
        for name, record in records:
            if record.size != size:
                stats.other_size += 1
                continue
            keys: list[int] = []
            try:
                points, colors, error = game_events(record, keys)
            except (ValueError, sgf_mod.SgfError) as exc:  # e.g. a setup point the core rejects
                stats.skipped.append(f"{name}: {exc}")
                log.warning("skipping game %s: %s", name, exc)
                continue
            num_moves = sum(c > 0 for c in colors)
            if error is not None:
                if num_moves == 0:
                    stats.skipped.append(f"{name}: {error}")
                    log.warning("skipping game %s: %s", name, error)
                    continue
                stats.truncated.append(f"{name}: {error}")
                log.info("keeping the first %d moves of %s: %s", num_moves, name, error)
            if num_moves == 0:
                stats.skipped.append(f"{name}: no moves")
                continue
            all_points.append(np.asarray(points, np.int16))
            all_colors.append(np.asarray(colors, np.int8))
            all_keys.append(np.asarray(keys, np.uint64))
            lengths.append(len(points))
            results.append(_result_sign(record.result))
            komis.append(record.komi)
            names.append(name)
            stats.games += 1
            bar.update(1)
            if max_games and stats.games >= max_games:
                break
    finally:
        bar.close()
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return GameStream(
        size=size,
        points=np.concatenate(all_points) if all_points else np.zeros(0, np.int16),
        colors=np.concatenate(all_colors) if all_colors else np.zeros(0, np.int8),
        game_offsets=offsets,
        results=np.asarray(results, np.int8),
        komi=np.asarray(komis, np.float32),
        names=np.asarray(names, dtype=str) if names else np.zeros(0, dtype="<U1"),
        keys=np.concatenate(all_keys) if all_keys else np.zeros(0, np.uint64),
    )


def convert(path: str | os.PathLike, size: int, *, max_games: int = 0, progress: bool = False,
            stats: ConversionStats | None = None) -> GameStream:
    """Every game of board size ``size`` under ``path`` (SGF file, directory, .tar.gz, .zip)."""
    stats = stats if stats is not None else ConversionStats()
    sgf_stats = sgf_mod.SgfStats()
    try:
        stream = stream_from_records(sgf_mod.iter_games(path, stats=sgf_stats), size, stats=stats,
                                     max_games=max_games, progress=progress)
    finally:
        stats.malformed = sgf_stats.errors
    if stats.malformed:
        log.warning("%s: %d malformed SGF games/files skipped (each logged above)", path, stats.malformed)
    if stats.skipped:
        log.warning("%s: %d games skipped: %s", path, len(stats.skipped), "; ".join(stats.skipped[:5]))
    return stream


def replay_stream(stream: GameStream, game: int) -> list[Position]:
    """The position before each event of game ``game`` and after the last one (for tests/debugging):
    ``positions[j]`` is the board before event ``game_offsets[game] + j``."""
    rules = Rules(size=stream.size)
    pos = Position.empty(rules)
    out = [pos]
    for i in range(stream.game_offsets[game], stream.game_offsets[game + 1]):
        p, c = int(stream.points[i]), int(stream.colors[i])
        if c > 0:
            pos = pos.play(p, c)
        else:
            kw = {SETUP_BLACK: "black", SETUP_WHITE: "white", SETUP_EMPTY: "empty"}[c]
            pos = pos.with_setup(**{kw: [p]})
        out.append(pos)
    return out


# ---- splits and shards ------------------------------------------------------------------------------


def game_split(name: str, seed: int, val_fraction: float, test_fraction: float) -> str:
    """'train', 'val' or 'test' for a game, from a hash of (seed, name): reproducible, order-free."""
    digest = hashlib.blake2b(f"{seed}\0{name}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "little") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def _cache_key(source: Path, size: int, seed: int, val_fraction: float, test_fraction: float,
               max_games: int) -> dict:
    st = source.stat()
    return {"format": FORMAT_VERSION, "source": str(source.resolve()), "source_bytes": st.st_size if source.is_file()
            else None, "source_mtime": int(st.st_mtime), "size": size, "split_seed": seed,
            "val_fraction": val_fraction, "test_fraction": test_fraction, "max_games": max_games}


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_shards(source: str | os.PathLike, size: int, cache_dir: str | os.PathLike, *, seed: int = 0,
                   val_fraction: float = 0.02, test_fraction: float = 0.02, max_games: int = 0,
                   progress: bool = True) -> Path:
    """Convert ``source`` once into ``cache_dir/<key>/{train,val,test}.npz`` + ``meta.json``; reuse a
    matching cache.  Returns the shard folder."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"SGF data {source} not found")
    key = _cache_key(source, size, seed, val_fraction, test_fraction, max_games)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache_dir) / f"{source.name}-{size}x{size}-{digest}"
    meta_path = folder / "meta.json"
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("key") == key and all((folder / f"{s}.npz").exists() for s in SPLITS):
                log.info("reusing converted games in %s", folder)
                return folder
        except (OSError, json.JSONDecodeError):
            pass
        log.info("%s does not match this source/config; converting again", folder)
    folder.mkdir(parents=True, exist_ok=True)
    stats = ConversionStats()
    stream = convert(source, size, max_games=max_games, progress=progress, stats=stats)
    which = np.array([game_split(str(n), seed, val_fraction, test_fraction) for n in stream.names])
    parts = {split: stream.subset(np.flatnonzero(which == split)) for split in SPLITS}
    train = parts["train"]
    train_keys = np.unique(train.keys[_sample_mask(train)])
    counts = {}
    for split in SPLITS:
        part = parts[split]
        if split != "train":
            part.in_train = _sample_mask(part) & np.isin(part.keys, train_keys)
        _atomic_savez(folder / f"{split}.npz", part.arrays())
        counts[split] = {"games": part.num_games, "positions": part.num_positions, "events": len(part.points)}
        if split != "train":
            counts[split]["positions_in_train"] = int(part.in_train.sum())
    meta = {"format": FORMAT_VERSION, "key": key, "source": str(source), "size": size, "split_seed": seed,
            "fractions": {"val": val_fraction, "test": test_fraction}, "max_games": max_games, "splits": counts,
            "games": stats.games, "other_size": stats.other_size, "malformed": stats.malformed,
            "skipped": stats.skipped, "truncated": stats.truncated}
    atomic_write_text(meta_path, json.dumps(meta, indent=1))  # written last: it marks the shards complete
    log.info("converted %d games of %s (%s); %d skipped, %d truncated, %d malformed -> %s", stats.games, source,
             ", ".join(f"{s} {c['games']} games / {c['positions']} positions" for s, c in counts.items()),
             len(stats.skipped), len(stats.truncated), stats.malformed, folder)
    return folder


def load_shards(folder: str | os.PathLike, split: str) -> GameStream:
    path = Path(folder) / f"{split}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            return GameStream(size=int(z["size"]), points=z["points"], colors=z["colors"],
                              game_offsets=z["game_offsets"], results=z["results"], komi=z["komi"],
                              names=z["names"], in_train=z["in_train"] if "in_train" in z.files else None)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: unreadable shard: {exc}") from None


# ---- sampling ------------------------------------------------------------------------------------------


def _sample_mask(stream: GameStream) -> np.ndarray:
    """bool [E]: the move events that are not passes."""
    return (stream.colors > 0) & (stream.points != stream.size * stream.size)


def sample_events(stream: GameStream, *, exclude_train_positions: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(event, game) int64 arrays of every sample: move events that are not passes, less (by default)
    those a validation / test shard marks as positions of the training split (``in_train``)."""
    mask = _sample_mask(stream)
    if exclude_train_positions and stream.in_train is not None:
        mask &= ~stream.in_train
    events = np.flatnonzero(mask)
    games = np.searchsorted(stream.game_offsets, events, side="right") - 1
    return events.astype(np.int64), games.astype(np.int64)


def encode_samples(stream: GameStream, events: np.ndarray, games: np.ndarray, syms: np.ndarray,
                   encoder: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 planes [B, P, N, N] and int64 targets [B] (through the symmetry table)."""
    from games.go.features import encode_games, symmetry_table

    planes = encode_games(stream.points, stream.colors, stream.game_offsets, games, events, syms, encoder,
                          stream.size)
    table = symmetry_table(stream.size)  # [8, M+1]
    targets = table[syms, stream.points[events].astype(np.int64)].astype(np.int64)
    return planes, targets


class BatchSampler:
    """Uniform random training samples with random symmetries, prepared ahead in a thread.

    Batch ``k`` depends only on (seed, k), so a resumed run draws the same batches as an
    uninterrupted one.  Iterate with ``next(sampler)``; ``close()`` stops the thread.
    """

    def __init__(self, stream: GameStream, *, batch_size: int, encoder: str, seed: int, start: int = 0,
                 prefetch: int = 4, augment: bool = True,
                 samples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
        """``samples``: (events, games, values float32 [S]) to draw from instead of every move event of
        ``stream``; a batch's targets are then the values (a value network's), not the moves."""
        self.stream = stream
        self.values = None
        if samples is None:
            self.events, self.games = sample_events(stream)
        else:
            self.events, self.games, self.values = samples
        if len(self.events) == 0:
            raise ValueError("no training positions in this data (every game is empty or all passes)")
        self.batch_size = batch_size
        self.encoder = encoder
        self.seed = seed
        self.augment = augment
        self._next = start
        self._queue: queue.Queue = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="sl-batch-sampler", daemon=True)
        self._thread.start()

    def batch(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, k])
        pick = rng.integers(len(self.events), size=self.batch_size)
        syms = rng.integers(8, size=self.batch_size) if self.augment else np.zeros(self.batch_size, np.int64)
        planes, targets = encode_samples(self.stream, self.events[pick], self.games[pick], syms.astype(np.int64),
                                         self.encoder)
        return planes, (targets if self.values is None else self.values[pick])

    def _work(self) -> None:
        k = self._next
        while not self._stop.is_set():
            try:
                item = self.batch(k)
            except BaseException as exc:  # handed to the consumer, raised there
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return
            k += 1

    def __iter__(self):
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def fixed_samples(stream: GameStream, num: int, seed: int, *,
                  exclude_train_positions: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(events, games) of ``num`` samples drawn once without replacement (all when fewer), in order;
    ``exclude_train_positions`` as in ``sample_events``."""
    events, games = sample_events(stream, exclude_train_positions=exclude_train_positions)
    if num < len(events):
        pick = np.sort(np.random.default_rng(seed).choice(len(events), size=num, replace=False))
        events, games = events[pick], games[pick]
    return events, games
