"""Parse and replay every game of an SGF collection; print one JSON line of figures on stdout.

    PYTHONPATH=. python benchmarks/sgf_replay.py [PATH] [--limit N] [--ko positional]

PATH is anything ``games.go.sgf.iter_games`` reads (a .sgf file, a directory,
a .tar.gz/.tgz/.tar or a .zip); by default the 19x19 "tom-9d" archive in the
``shared/`` folder next to the repository.  Games that fail to parse or hold
an illegal move are counted in ``errors`` and logged on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from itertools import islice
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from games.go.board import KO_RULES
from games.go.sgf import SgfError, SgfStats, iter_games

DEFAULT_PATH = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "go" / "tom-9d-19x19.tar.gz"
_log = logging.getLogger("benchmarks.sgf_replay")


def run(path: Path, *, limit: int | None = None, ko: str = "positional") -> dict:
    stats = SgfStats()
    num_games = num_errors = num_positions = 0
    start = time.perf_counter()
    games = islice(iter_games(path, stats=stats), limit)
    with logging_redirect_tqdm():
        for _name, record in tqdm(games, total=limit, unit="game", file=sys.stderr, mininterval=1.0):
            try:
                num_positions += sum(1 for _ in record.replay(ko=ko, inplace=True))
            except SgfError as e:
                num_errors += 1
                _log.warning("illegal game: %s", e)
                continue
            num_games += 1
    seconds = time.perf_counter() - start
    return {
        "games": num_games,
        "errors": num_errors + stats.errors,
        "positions": num_positions,
        "seconds": round(seconds, 3),
        "games_per_s": round(num_games / seconds, 1) if seconds > 0 else 0.0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH, help="SGF file, directory or archive")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many games")
    parser.add_argument("--ko", choices=sorted(KO_RULES), default="positional", help="ko rule for the replay")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    print(json.dumps(run(args.path, limit=args.limit, ko=args.ko)), flush=True)


if __name__ == "__main__":
    main()
