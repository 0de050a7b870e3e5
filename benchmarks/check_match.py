"""An outsider's check of a recorded match: GNU Go scores every final SGF and we compare.

For each ``game-*.sgf`` under a match directory (``rlengine match --out DIR``; or a tournament's
``games/`` folder, one subfolder per pairing), a fresh
GNU Go board (``loadsgf``, Chinese rules) gives its own ``final_score`` of the final
position, which is compared with the recorded result ``RE``.  Games decided by
resignation, forfeit or voided cannot be scored that way and are counted apart.  For a
resigned game GNU Go's ``estimate_score`` of the final position says whether the side that
resigned was behind (a resignation while ahead would have thrown a game away).

    .venv/bin/python benchmarks/check_match.py benchmarks/results/match-go9-mcts-vs-gnugo10

prints one JSON line: games, how many were scored by the board, how many of those agree with
GNU Go, the disagreements (game, recorded, GNU Go), A's win rate counted both ways, and for the
resignations how many resigners GNU Go estimates behind and which were not (game, A or B, estimate).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from games.go.gtp_client import GtpClient
from games.go.sgf import GameRecord, read_sgf

_ASSIGNMENT = re.compile(r"A plays (black|white)")


def _winner(result: str) -> str | None:
    return {"B": "black", "W": "white"}.get(result[:1]) if result[1:2] == "+" else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("match_dir", type=Path)
    ap.add_argument("--gnugo", default=shutil.which("gnugo") or "/usr/games/gnugo")
    args = ap.parse_args()
    paths = sorted(args.match_dir.rglob("game-*.sgf"))  # a tournament keeps one folder per pairing
    if not paths:
        raise SystemExit(f"no game-*.sgf under {args.match_dir}")
    kinds = {"scored": 0, "resign": 0, "forfeit": 0, "void": 0, "other": 0}
    agree, disagree = 0, []
    resigner_behind, resigner_not_behind = 0, []
    a_wins_recorded = a_wins_gnugo = decided = 0
    with GtpClient([args.gnugo, "--mode", "gtp", "--chinese-rules"], timeout=120) as gnugo:
        for path in paths:
            name = str(path.relative_to(args.match_dir))
            record = GameRecord.from_tree(read_sgf(path)[0], source=str(path))
            result = record.result or ""
            found = _ASSIGNMENT.search(record.comment or "")
            a_color = found.group(1) if found else "black"
            if result.endswith("+R"):
                kinds["resign"] += 1
                verdict = result
                gnugo.send(f"loadsgf {path.resolve()}")
                estimate = gnugo.send("estimate_score").strip()  # e.g. "W+8.5 (upper bound: ...)"
                resigner = "W" if result[0] == "B" else "B"
                if estimate[:1] == ("B" if resigner == "W" else "W"):
                    resigner_behind += 1
                else:
                    who = "A" if (resigner == "B") == (a_color == "black") else "B"
                    resigner_not_behind.append({"game": name, "resigned": who, "gnugo_estimate": estimate})
            elif result.endswith("+F"):
                kinds["forfeit"] += 1
                verdict = result
            elif result.lower() == "void":
                kinds["void"] += 1
                continue
            elif _winner(result) is not None or result == "0":
                kinds["scored"] += 1
                gnugo.send(f"loadsgf {path.resolve()}")
                verdict = gnugo.send("final_score").strip()
                if verdict == result:
                    agree += 1
                else:
                    disagree.append({"game": name, "recorded": result, "gnugo": verdict})
            else:
                kinds["other"] += 1
                continue
            decided += 1
            a_wins_recorded += _winner(result) == a_color
            a_wins_gnugo += _winner(verdict) == a_color
    print(json.dumps({"dir": str(args.match_dir), "games": len(paths), **kinds, "scored_agree_with_gnugo": agree,
                      "disagree": disagree, "decided": decided, "a_wins_recorded": a_wins_recorded,
                      "a_wins_by_gnugo_score": a_wins_gnugo,
                      "a_win_rate_recorded": round(a_wins_recorded / decided, 4) if decided else None,
                      "resigner_behind_by_gnugo_estimate": resigner_behind,
                      "resigner_not_behind": resigner_not_behind}))


if __name__ == "__main__":
    main()
