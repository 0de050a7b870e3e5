"""How many validation / test positions of an SL config's game split also occur in its training split.

    python benchmarks/split_leakage.py configs/go9_sl.toml --set 'data.path="${RLENGINE_DATA}/go/gnugo-9x9-l10.tar.gz"'

The split is by game (``agents.alphago.data.game_split``), but games that share openings share positions:
the 9x9 GNU Go games start with 0-4 random moves and then follow GNU Go's deterministic play for long
stretches.  A sample is a move event that is not a pass; its position is the board before the move and
the side to move (the colour playing it).  The positions are found here by replaying every game with
``games.go.board.Position`` and comparing the exact stones, independently of the shards' own marks.

Prints one JSON object; per held-out split:

``samples``                  move events that are not passes
``in_train``                 samples whose position is also a training sample's position (fraction too)
``same_move_in_train``       samples whose (position, move) pair is also a training sample
``train_majority_top1``      top-1 of a lookup table: the most frequent training move at the sample's
                             position (a sample whose position is not in train counts as a miss): what
                             a network could score on these samples by memorising the training games
``by_move_number``           the same counts for moves 1-5, 6-10, 11-20, 21-40, 41+
``marked_by_shards``         samples the shards mark as seen in train (``GameStream.in_train``); equals
                             ``in_train`` when the data code finds the same positions
``left_after_exclusion``     samples ``fixed_samples`` draws from once the marked ones are excluded
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict

import numpy as np

from agents.alphago import SLRunConfig
from agents.alphago import data as sl_data
from agents.alphago.sl import prepare_data
from games.go.board import Position, Rules
from rlengine.config import load_config

BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, 10**9))


def samples(stream: sl_data.GameStream):
    """(key, move, move_number) of every sample; key = (stones bytes, side to move)."""
    out = []
    rules = Rules(size=stream.size)
    m = stream.size * stream.size
    for g in range(stream.num_games):
        pos = Position.empty(rules)
        number = 0
        for e in range(stream.game_offsets[g], stream.game_offsets[g + 1]):
            p, c = int(stream.points[e]), int(stream.colors[e])
            if c > 0:
                number += 1
                if p != m:
                    out.append(((pos.stones().tobytes(), c), p, number, e))
                pos = pos.play(p, c, inplace=True)
            else:
                kw = {sl_data.SETUP_BLACK: "black", sl_data.SETUP_WHITE: "white", sl_data.SETUP_EMPTY: "empty"}[c]
                pos = pos.with_setup(**{kw: [p]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="an alphago SL run config (TOML)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    args = ap.parse_args()
    cfg = load_config(SLRunConfig, args.config, overrides=args.set)
    folder = prepare_data(cfg, progress=False)
    streams = {s: sl_data.load_shards(folder, s) for s in sl_data.SPLITS}
    train = samples(streams["train"])
    train_moves: dict = defaultdict(Counter)
    for key, move, _, _ in train:
        train_moves[key][move] += 1
    report = {"data": cfg.data.path, "split_seed": cfg.data.split_seed, "shards": str(folder),
              "train": {"games": streams["train"].num_games, "samples": len(train),
                        "distinct_positions": len(train_moves)}}
    for split in ("val", "test"):
        stream = streams[split]
        rows = samples(stream)
        n = len(rows)
        in_train = [key in train_moves for key, _, _, _ in rows]
        same = [key in train_moves and train_moves[key][mv] > 0 for key, mv, _, _ in rows]
        majority = [key in train_moves and train_moves[key].most_common(1)[0][0] == mv for key, mv, _, _ in rows]
        by_number = {}
        for lo, hi in BUCKETS:
            idx = [i for i, (_, _, num, _) in enumerate(rows) if lo <= num <= hi]
            label = f"{lo}-{hi}" if hi < 10**9 else f"{lo}+"
            by_number[label] = {"samples": len(idx), "in_train": sum(in_train[i] for i in idx),
                                "in_train_fraction": round(sum(in_train[i] for i in idx) / max(len(idx), 1), 3)}
        entry = {"games": stream.num_games, "samples": n,
                 "in_train": sum(in_train), "in_train_fraction": round(sum(in_train) / max(n, 1), 3),
                 "same_move_in_train": sum(same), "same_move_fraction": round(sum(same) / max(n, 1), 3),
                 "train_majority_top1": round(sum(majority) / max(n, 1), 3),
                 "train_majority_top1_on_seen": round(sum(majority) / max(sum(in_train), 1), 3),
                 "by_move_number": by_number}
        marked = getattr(stream, "in_train", None)
        if marked is not None:
            events = np.array([e for _, _, _, e in rows], np.int64)
            entry["marked_by_shards"] = int(marked[events].sum())
            entry["marks_agree"] = bool(np.array_equal(marked[events], np.array(in_train, bool)))
            entry["left_after_exclusion"] = int(len(sl_data.sample_events(stream)[0]))
        report[split] = entry
    print(json.dumps(report))


if __name__ == "__main__":
    main()
