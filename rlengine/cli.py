"""The ``rlengine`` command.

Subcommands:

``rlengine gtp --player SPEC``      serve a player over GTP on stdin/stdout
``rlengine selfplay``               play games between two players, save SGF, print the board

Players are found by name through entry points (``rlengine.registry``).
Logs go to stderr; stdout carries only the command's own output (GTP
responses for ``gtp``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

log = logging.getLogger("rlengine")


def _add_rules_args(p: argparse.ArgumentParser, *, size: int) -> None:
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                   help="more logging on stderr (-vv for debug)")
    p.add_argument("--size", type=int, default=size, help=f"board size, 2 to 25 (default {size})")
    p.add_argument("--komi", type=float, default=7.5, help="komi (default 7.5)")
    p.add_argument("--ko", choices=["positional", "situational", "simple"], default="positional",
                   help="ko rule (default positional superko)")
    p.add_argument("--allow-suicide", action="store_true", help="allow multi-stone suicide (default: illegal)")
    p.add_argument("--seed", type=int, default=None, help="seed for every random choice (default: fresh entropy)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlengine", description="rlengine: Go and Atari reinforcement learning.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gtp = sub.add_parser("gtp", help="serve a player over the Go Text Protocol on stdin/stdout",
                         description="Serve a player over GTP v2 on stdin/stdout (for Sabaki, GoGui, Lizzie, "
                                     "or a match runner). Logs go to stderr only.")
    gtp.add_argument("--player", default="random", help="player spec, e.g. random (default random)")
    gtp.add_argument("--name", default="rlengine", help="name the engine reports")
    _add_rules_args(gtp, size=19)
    gtp.set_defaults(func=_cmd_gtp)

    sp = sub.add_parser("selfplay", help="play games between two players, save them as SGF, print the board",
                        description="Play games between two players (random by default), save one SGF per game "
                                    "atomically under OUT, and print each final board and result.")
    sp.add_argument("--black", default="random", help="black player spec (default random)")
    sp.add_argument("--white", default="random", help="white player spec (default random)")
    sp.add_argument("--games", type=int, default=1, help="number of games (default 1)")
    sp.add_argument("--out", type=Path, default=Path("runs/selfplay"), help="directory for SGF files")
    sp.add_argument("--max-moves", type=int, default=None, help="move cap per game (default 3*N*N)")
    _add_rules_args(sp, size=9)
    sp.set_defaults(func=_cmd_selfplay)
    return parser


def _rules(args):
    from games.go import Rules

    try:
        return Rules(args.size, args.komi, args.ko, args.allow_suicide)
    except ValueError as exc:
        raise SystemExit(f"rlengine: error: {exc}") from None


def _player(spec: str, seed):
    from rlengine.registry import load_player

    try:
        return load_player(spec, seed=seed)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"rlengine: error: {exc}") from None


def _cmd_gtp(args) -> int:
    from games.go.gtp import GtpEngine
    from rlengine.seeding import derive_seed, seed_everything

    if args.seed is not None:
        seed_everything(args.seed)
    engine = GtpEngine(_player(args.player, derive_seed(args.seed, "player")), _rules(args), name=args.name)
    log.info("serving %s over GTP on stdin/stdout", args.player)
    engine.serve(sys.stdin, sys.stdout)
    return 0


def _cmd_selfplay(args) -> int:
    """Games already saved under OUT are kept and shown, so a re-run resumes where it stopped."""
    from games.go import sgf
    from games.go.selfplay import play_game
    from rlengine.seeding import derive_seed, seed_everything

    if args.games < 1:
        raise SystemExit("rlengine: error: --games must be at least 1")
    if args.seed is not None:
        seed_everything(args.seed)
    rules = _rules(args)
    black = _player(args.black, derive_seed(args.seed, "black"))
    white = _player(args.white, derive_seed(args.seed, "white"))
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(1, args.games + 1):
        path = args.out / f"game-{i:06d}.sgf"
        if path.exists():
            try:
                record = sgf.GameRecord.from_tree(sgf.read_sgf(path)[0], source=str(path))
                final = list(record.replay())[-1] if record.num_moves else record.start()
            except (sgf.SgfError, IndexError) as exc:
                raise SystemExit(f"rlengine: error: cannot resume from {path}: {exc}; move it away to replay "
                                 f"that game") from None
            status = "already played"
        else:
            for player, colour in ((black, "black"), (white, "white")):
                reseed = getattr(player, "reseed", None)
                if reseed is not None and args.seed is not None:
                    reseed(derive_seed(args.seed, colour, i))  # game i is the same whether resumed or not
            record, final = play_game(black, white, rules, max_moves=args.max_moves,
                                      black_name=args.black, white_name=args.white)
            sgf.save_sgf(record, path)
            status = "saved"
        print(final.to_ascii())
        print(f"game {i}: {record.result} after {record.num_moves} moves; {status} {path}")
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = max(logging.INFO - 10 * args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
