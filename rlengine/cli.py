"""The ``rlengine`` command.

Subcommands:

``rlengine gtp --player SPEC``      serve a player over GTP on stdin/stdout
``rlengine selfplay``               play games between two players, save SGF, print the board
``rlengine train CONFIG``           train an agent (re-running resumes)
``rlengine gen-value-data CONFIG``  the value network's games only (AlphaGo's recipe, on Ray actors)
``rlengine eval CHECKPOINT``        evaluate a checkpoint, final JSON line
``rlengine watch CHECKPOINT``       record an episode as a GIF (Atari) or a self-play game as SGF (Go)
``rlengine plot RUN...``            learning curves to PNG
``rlengine match``                  a match between two player specs, SGF per game, JSON with win rate
``rlengine gen-games``              expert games between two GTP engines (training data)
``rlengine play --opponent SPEC``   play Go against an agent in the terminal, SGF saved on exit
``rlengine tournament``             round-robin or gauntlet between players / a run's checkpoints, Elo table
``rlengine ratings PATH...``        Bradley-Terry Elo with 95% intervals from SGF collections or results files

Players are found by name through entry points (``rlengine.registry``).
Logs go to stderr; stdout carries only the command's own output (GTP
responses for ``gtp``).
"""

from __future__ import annotations

import argparse
import json
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
    gtp.add_argument("--player", default="random",
                     help="player spec: random (default), policy:CHECKPOINT, mcts:CHECKPOINT[,sims=N|seconds=S,...] "
                          "(analysis commands for GUIs), gtp:COMMAND")
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

    tr = sub.add_parser("train", help="train an agent from a TOML config (re-running resumes)",
                        description="Train the agent a TOML config names ([run] agent = ...). Writes config.toml, "
                                    "checkpoints/, tb/ and metrics.jsonl under the run directory; running the same "
                                    "command again resumes from the last checkpoint.")
    tr.add_argument("config", type=Path, help="run config, e.g. configs/dqn_pong.toml")
    tr.add_argument("--run-dir", type=Path, default=None, help="run directory (default runs/<run.name>)")
    tr.add_argument("--seed", type=int, default=None, help="seed (overrides run.seed)")
    tr.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value, e.g. --set dqn.lr=1e-4 (repeatable)")
    tr.add_argument("--address", default=None, metavar="ADDR",
                    help="self-play runs: join a running Ray cluster (auto, or HOST:PORT) instead of starting Ray "
                         "in this process (the default: runtime.num_cpus CPUs, no dashboard)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more logging on stderr")
    tr.set_defaults(func=_cmd_train)

    gv = sub.add_parser("gen-value-data", help="make a value-network config's games (AlphaGo's recipe) on Ray actors",
                        description="Play the games a value-network config (agent alphago_value) trains on: SL "
                                    "policy to a random move U, one uniformly random move, then the RL policy for "
                                    "both sides; one position per game. Shards go to data.dir atomically; "
                                    "re-running plays only the missing games. rlengine train on the same config "
                                    "does this first when games are missing. Prints a final JSON line.",
                        epilog="example: rlengine gen-value-data configs/go9_value.toml --set data.games=2000")
    gv.add_argument("config", type=Path, help="value-network run config, e.g. configs/go9_value.toml")
    gv.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value, e.g. --set data.games=2000 (repeatable)")
    gv.add_argument("--address", default=None, metavar="ADDR",
                    help="join a running Ray cluster (auto, or HOST:PORT) instead of starting Ray in this process")
    gv.add_argument("--no-progress", action="store_true", help="no progress bar")
    gv.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more logging on stderr")
    gv.set_defaults(func=_cmd_stage, stage="gen-value-data")

    ev = sub.add_parser("eval", help="evaluate a checkpoint; prints a final JSON line",
                        description="Evaluate a checkpoint (a checkpoint folder, or a run directory for its latest) "
                                    "and print one JSON line: mean_return, std_return and episodes (plus "
                                    "human_normalized for Atari); top-1/top-5 for Go SL policies; the win rate "
                                    "against the start for Go RL policies; train and test MSE for Go value "
                                    "networks.")
    ev.add_argument("checkpoint", type=Path)
    ev.add_argument("--episodes", type=int, default=None, help="episodes (default: the config's eval.episodes)")
    ev.add_argument("--seed", type=int, default=None)
    ev.add_argument("--sgf", type=Path, default=None, metavar="PATH",
                    help="Go policies: top-1/top-5 move prediction over the games of an SGF file, directory or "
                         "archive (agents that support it)")
    ev.add_argument("--data", type=Path, default=None, metavar="DIR",
                    help="Go value networks: train and test MSE on a value-data folder (rlengine gen-value-data; "
                         "default the checkpoint's data.dir); --episodes positions per figure (default its eval.positions)")
    ev.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more logging on stderr")
    ev.set_defaults(func=_cmd_eval)

    wa = sub.add_parser("watch", help="record one episode of a checkpoint (Atari: GIF, Go: SGF)",
                        description="Play one episode with the evaluation policy of a checkpoint (Atari and gym: "
                                    "epsilon-greedy at the evaluation epsilon) and save it: an animated GIF, "
                                    "written frame by frame, for DQN agents; an SGF self-play game for Go policies.")
    wa.add_argument("checkpoint", type=Path)
    wa.add_argument("--out", type=Path, required=True, help="output file, e.g. pong.gif or game.sgf")
    wa.add_argument("--seed", type=int, default=None)
    wa.add_argument("--max-frames", type=int, default=None, metavar="N",
                    help="Atari/gym: stop the episode after N frames (default 10,000; the GIF is streamed to the "
                         "file, so memory does not grow with N)")
    wa.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more logging on stderr")
    wa.set_defaults(func=_cmd_watch)

    pl = sub.add_parser("plot", help="plot a run's learning curves (metrics.jsonl) to a PNG",
                        description="Plot the training and evaluation returns of one or more run directories "
                                    "against environment steps, to a PNG file.")
    pl.add_argument("runs", type=Path, nargs="+", help="run directories (holding metrics.jsonl)")
    pl.add_argument("--out", type=Path, required=True, help="output PNG")
    pl.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more logging on stderr")
    pl.set_defaults(func=_cmd_plot)
    _add_match_parsers(sub)
    _add_play_parser(sub)
    _add_tournament_parsers(sub)
    return parser


def _add_match_args(p: argparse.ArgumentParser, *, games: str) -> None:
    p.add_argument("--games", type=int, default=10, help=f"number of {games} (default 10)")
    p.add_argument("--out", type=Path, required=True,
                   help="directory for one SGF per game (game-000001.sgf ...); re-running with it resumes")
    p.add_argument("--workers", type=int, default=1, help="worker processes, each with its own players (default 1)")
    p.add_argument("--max-moves", type=int, default=None, help="move cap per game (default 3*N*N)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds an external engine may take per command before the game is voided (default 60)")
    p.add_argument("--retry-void", action="store_true",
                   help="play again the games recorded as void (a crashed or hung engine); by default they are kept")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    _add_rules_args(p, size=9)


def _add_match_parsers(sub) -> None:
    ma = sub.add_parser(
        "match", help="play a match between two player specs; prints a final JSON line with the win rate",
        description="Play --games games between player A (--black) and player B (--white), area scoring "
                    "(Tromp-Taylor) with --komi, positional superko unless --ko says otherwise. Specs: random, "
                    "gtp:COMMAND (an external engine; {seed} in COMMAND becomes a per-game seed), policy:CHECKPOINT, "
                    "mcts:CHECKPOINT[,sims=N|seconds=S,...]. One SGF per game "
                    "under --out (PB/PW the specs, RE, a comment naming the colours); re-running resumes, "
                    "playing only missing games; the settings (specs, rules, seed, move cap) are stored in "
                    "OUT/match.json and a resume with other settings is refused, naming the key. An illegal "
                    "move loses the game (RE B+F/W+F). A player that crashes or hangs (--timeout) voids the "
                    "game (RE Void), counted under errors and left out of the win rate (--retry-void plays it "
                    "again). Final JSON: games, wins {A,B}, wins_by_color, draws, errors, win_rate (A's wins / "
                    "decided games), wilson95 [lo, hi], duplicates (games that repeat an earlier one move for "
                    "move).",
        epilog="example: rlengine match --black random --white 'gtp:/usr/games/gnugo --mode gtp --level 1 "
               "--chinese-rules' --games 20 --size 9 --swap --workers 2 --seed 1 --out runs/match")
    ma.add_argument("--black", required=True, help="player A's spec (black in game 1)")
    ma.add_argument("--white", required=True, help="player B's spec (white in game 1)")
    ma.add_argument("--swap", action="store_true", help="alternate colours: A plays white in even games")
    ma.add_argument("--sprt", default=None, metavar="elo0=E0,elo1=E1[,alpha=A,beta=B]",
                    help="stop as soon as a sequential probability ratio test on A's results (in game order) "
                         "decides between H0: A is E0 Elo stronger and H1: A is E1 Elo stronger (alpha, beta "
                         "default 0.05); --games is then the cap. The final JSON adds sprt: llr, bounds, decision "
                         "(pass = H1, fail = H0, inconclusive at the cap)")
    _add_match_args(ma, games="games")
    ma.set_defaults(func=_cmd_match)

    gg = sub.add_parser(
        "gen-games", help="generate expert games between two GTP engines as SGF (training data)",
        description="Play --games games between two external GTP engines (black: --black, white: --white), "
                    "one SGF per game under --out, in --workers processes; re-running resumes. Diversity: "
                    "{seed} in a command becomes a per-game seed, and each game starts with 1..K uniformly "
                    "random opening moves (legal, not filling one's own eye; --random-opening K) played into "
                    "both engines. Prints a final JSON line: games, written, results, mean_moves, duplicates.",
        epilog="example: rlengine gen-games --black '/usr/games/gnugo --mode gtp --level 10 --chinese-rules "
               "--seed {seed}' --white '/usr/games/gnugo --mode gtp --level 10 --chinese-rules --seed {seed}' "
               "--games 1000 --size 9 --random-opening 4 --workers 2 --seed 0 --out data/gnugo9")
    gg.add_argument("--black", required=True, help="black engine's command line (gtp: prefix optional)")
    gg.add_argument("--white", required=True, help="white engine's command line (gtp: prefix optional)")
    gg.add_argument("--random-opening", type=int, default=0, metavar="K",
                    help="start each game with 1..K random opening moves (default 0: none)")
    _add_match_args(gg, games="games to write")
    gg.set_defaults(func=_cmd_gen_games)


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


def _fail(exc: Exception) -> SystemExit:
    return SystemExit(f"rlengine: error: {exc}")


def _agent_for_config(path: Path) -> str:
    from rlengine.config import ConfigError, read_toml

    data = read_toml(path)
    agent = data.get("run", {}).get("agent") if isinstance(data.get("run"), dict) else None
    if not isinstance(agent, str):
        raise ConfigError(f"{path}: missing [run] agent = \"...\" (e.g. \"dqn\")")
    return agent


def _cmd_train(args) -> int:
    from rlengine.config import load_config
    from rlengine.registry import load_agent
    from rlengine.runtime import WorkerError

    # ConfigError and CheckpointError are ValueErrors: each names its file and key
    try:
        agent = load_agent(_agent_for_config(args.config))
        overrides = list(args.overrides) + ([f"run.seed={args.seed}"] if args.seed is not None else [])
        cfg = load_config(agent.config_class, args.config, overrides=overrides)
        run_dir = args.run_dir or Path("runs") / cfg.run.name
        extra = {}
        if args.address is not None:
            import inspect

            if "address" not in inspect.signature(agent.train).parameters:
                raise ValueError(f"agent {agent.name!r} does not run on Ray; --address does not apply")
            extra["address"] = args.address
        result = agent.train(cfg, run_dir, progress=not args.no_progress, **extra)
    except (ValueError, WorkerError) as exc:  # WorkerError: a self-play worker raised (its traceback follows)
        raise _fail(exc) from None
    print(json.dumps({"run_dir": str(run_dir), **(result or {})}))
    return 0


def _cmd_stage(args) -> int:
    """A stage of an agent's run on its own (``gen-value-data``): the config names the agent."""
    from rlengine.config import load_config
    from rlengine.registry import load_agent
    from rlengine.runtime import WorkerError

    try:
        agent = load_agent(_agent_for_config(args.config))
        if args.stage not in agent.stages:
            raise ValueError(f"{args.config}: agent {agent.name!r} has no {args.stage} stage; it runs only with "
                             f"rlengine train")
        cfg = load_config(agent.config_class, args.config, overrides=list(args.overrides))
        result = agent.stages[args.stage](cfg, progress=not args.no_progress, address=args.address)
    except (ValueError, OSError, WorkerError) as exc:
        raise _fail(exc) from None
    print(json.dumps(result))
    return 0


def _on_checkpoint(path: Path, action: str, **kwargs) -> int:
    """Run the checkpoint's agent's ``evaluate`` or ``watch`` and print its JSON result."""
    from rlengine.registry import load_agent
    from rlengine.runtime import read_state

    try:
        agent = load_agent(read_state(path)["agent"])  # the agent loads the tensors itself
        fn = getattr(agent, action)
        import inspect

        params = inspect.signature(fn).parameters
        for key in kwargs:
            if key not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                raise ValueError(f"agent {agent.name!r} does not support --{key.replace('_', '-')} for {action}")
        result = fn(path, **kwargs)
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    print(json.dumps(result))
    return 0


def _cmd_eval(args) -> int:
    extra = {key: getattr(args, key) for key in ("sgf", "data") if getattr(args, key) is not None}  # only agents
    # that support an option get it (the others answer that they do not)
    return _on_checkpoint(args.checkpoint, "evaluate", episodes=args.episodes, seed=args.seed, **extra)


def _cmd_watch(args) -> int:
    extra = {} if args.max_frames is None else {"max_frames": args.max_frames}  # only agents that support it
    return _on_checkpoint(args.checkpoint, "watch", out=args.out, seed=args.seed, **extra)


def _match_spec(args, *, kind: str):
    from rlengine.match import MatchSpec

    black, white = args.black, args.white
    if kind == "gen-games":
        black, white = (s if s.startswith("gtp:") else f"gtp:{s}" for s in (black, white))
    return MatchSpec(black, white, args.games, args.out, rules=_rules(args), swap=getattr(args, "swap", False),
                     seed=args.seed, max_moves=args.max_moves, timeout=args.timeout,
                     random_opening=getattr(args, "random_opening", 0), workers=args.workers, kind=kind)


def _cmd_match(args) -> int:
    from rlengine.match import run_match
    from rlengine.ratings import parse_sprt

    try:
        sprt = parse_sprt(args.sprt) if args.sprt is not None else None
        result = run_match(_match_spec(args, kind="match"), progress=not args.no_progress, sprt=sprt,
                           retry_void=args.retry_void)
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    print(json.dumps(result))
    return 0


def _cmd_gen_games(args) -> int:
    from rlengine.match import gen_games

    try:
        result = gen_games(_match_spec(args, kind="gen-games"), progress=not args.no_progress,
                           retry_void=args.retry_void)
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    print(json.dumps(result))
    return 0


def _add_play_parser(sub) -> None:
    pa = sub.add_parser(
        "play", help="play Go against an agent in the terminal",
        description="Play a game of Go against an agent in the terminal. Type moves as GTP vertices (D4, any "
                    "case), or pass, resign, undo (takes back your last move and the agent's reply), hint (the "
                    "agent's top 3 moves with win rates, for opponents that can analyse, e.g. mcts:), board, "
                    "help, quit. Two passes end the game, scored by area (Tromp-Taylor; stones the agent judges "
                    "dead are removed when it can estimate ownership). The game is saved as SGF on exit, also "
                    "after quit, end of input (Ctrl-D) or Ctrl-C. The game goes to stdout, logs to stderr.",
        epilog="examples: rlengine play; rlengine play --opponent random --size 9 --seed 1; "
               "rlengine play --opponent 'gtp:/usr/games/gnugo --mode gtp --level 1' --color white --handicap 2")
    pa.add_argument("--opponent", default="mcts:go9", metavar="SPEC",
                    help="the agent's player spec: random, policy:CHECKPOINT, mcts:CHECKPOINT[,sims=N], "
                         "gtp:COMMAND; names of the shipped 9x9 weights work as checkpoints (go9-sl, go9-rl; "
                         "default mcts:go9, the strongest shipped player)")
    pa.add_argument("--color", choices=["black", "white"], default="black", help="your colour (default black)")
    pa.add_argument("--handicap", type=int, default=0, metavar="H",
                    help="fixed handicap stones for black (2 to 9 on 9x9; white then moves first; default 0)")
    pa.add_argument("--sgf", type=Path, default=None, metavar="OUT.sgf",
                    help="where to save the game (default runs/play/<UTC timestamp>.sgf)")
    pa.add_argument("--hint-visits", type=int, default=200, metavar="N",
                    help="search visits for a hint (default 200)")
    _add_rules_args(pa, size=9)
    pa.set_defaults(func=_cmd_play)


def _cmd_play(args) -> int:
    from games.go import BLACK, WHITE
    from rlengine.play import PlaySession, check_handicap, default_sgf_path, run_session
    from rlengine.seeding import derive_seed, seed_everything

    if args.seed is not None:
        seed_everything(args.seed)
    rules = _rules(args)
    try:
        check_handicap(rules.size, args.handicap)
        if args.hint_visits < 1:
            raise ValueError(f"--hint-visits must be at least 1, got {args.hint_visits}")
        player = _player(args.opponent, derive_seed(args.seed, "player"))
    except (ValueError, RuntimeError) as exc:  # RuntimeError: an engine that does not start (EngineError)
        raise _fail(exc) from None
    session = PlaySession(player, rules, human_color=BLACK if args.color == "black" else WHITE,
                          handicap=args.handicap, hint_visits=args.hint_visits, opponent_name=args.opponent,
                          out=sys.stdout)
    return run_session(session, args.sgf or default_sgf_path(), stdin=sys.stdin, stdout=sys.stdout)


def _add_tournament_parsers(sub) -> None:
    to = sub.add_parser(
        "tournament", help="a round-robin or gauntlet between players and a run's checkpoints; Elo table",
        description="Play a tournament: every pairing plays --games games, colours alternating, and who is "
                    "black first is chosen so that each player's black and white games differ by at most one "
                    "over the tournament (odd --games too); pairings are keyed and seeded by the sorted names, "
                    "so the order of --player does not matter. Players: "
                    "--player [NAME=]SPEC (random, policy:CKPT, mcts:CKPT[,...], gtp:COMMAND with {seed} a "
                    "per-game seed), and every K-th checkpoint of a training run (--run RUN --every K, named "
                    "RUN@STEP). Games run in --workers processes, or as Ray actors (--ray / --address). Each "
                    "game is saved as SGF under OUT/games/NAME/PAIRING-HASH/ and recorded in OUT/results.sqlite "
                    "(SQLite, WAL, one transaction per game): re-running the same command resumes, playing only missing "
                    "games (--retry-void: void ones too), and several tournaments may share one --db or --out. "
                    "Two deterministic players in a pairing are warned about, and the JSON counts duplicates "
                    "(games that repeat an earlier one move for move). Prints the ratings table (Bradley-Terry, Elo "
                    "scale, 95% intervals) and a crosstable, then one JSON line; with --run also a PNG of Elo "
                    "against training step, also logged to the run's TensorBoard.",
        epilog="example: rlengine tournament --name go9-rl --run runs/go9_rl --every 4 --player "
               "gnugo1='gtp:/usr/games/gnugo --mode gtp --level 1 --chinese-rules --seed {seed}' --games 10 "
               "--anchor gnugo1=0 --workers 2")
    to.add_argument("--name", required=True, help="tournament name (letters, digits, . _ @ + -)")
    to.add_argument("--player", action="append", default=[], metavar="[NAME=]SPEC", help="a player (repeatable)")
    to.add_argument("--field", action="append", default=[], metavar="[NAME=]SPEC",
                    help="a field player (repeatable): in a gauntlet every other player meets each field player; "
                         "in a round-robin it is a player like the others")
    to.add_argument("--run", type=Path, default=None, metavar="RUN_DIR",
                    help="add the checkpoints of a training run (pool/ snapshots and checkpoints/), named RUN@STEP")
    to.add_argument("--every", type=int, default=1, metavar="K", help="with --run: every K-th checkpoint, the "
                    "newest always included (default 1)")
    to.add_argument("--spec-template", default="policy:{ckpt}", metavar="SPEC",
                    help="with --run: the player spec of a checkpoint, {ckpt} its folder (default policy:{ckpt}; "
                         "e.g. 'mcts:{ckpt},sims=200')")
    to.add_argument("--format", choices=["round-robin", "gauntlet"], default="round-robin",
                    help="round-robin (default) or gauntlet (players against the --field players only)")
    to.add_argument("--games", type=int, default=10, help="games per pairing, colours alternating (default 10)")
    to.add_argument("--out", type=Path, default=None, help="tournament folder (default runs/<name>)")
    to.add_argument("--db", type=Path, default=None, help="results database (default OUT/results.sqlite)")
    to.add_argument("--anchor", default=None, metavar="NAME=ELO",
                    help="the player held at a fixed rating (default: the first player at 0)")
    to.add_argument("--ci", choices=["hessian", "bootstrap"], default="hessian",
                    help="95%% intervals: Wald from the Hessian (default) or bootstrap percentiles over games")
    to.add_argument("--workers", type=int, default=1, help="worker processes, or Ray actors with --ray (default 1)")
    to.add_argument("--ray", action="store_true", help="play the games on Ray actors (in this process's Ray)")
    to.add_argument("--address", default=None, metavar="ADDR",
                    help="play on the actors of a running Ray cluster (auto, or HOST:PORT); implies --ray")
    to.add_argument("--max-moves", type=int, default=None, help="move cap per game (default 3*N*N)")
    to.add_argument("--timeout", type=float, default=60.0,
                    help="seconds an external engine may take per command before the game is voided (default 60)")
    to.add_argument("--random-opening", type=int, default=0, metavar="K",
                    help="start each game with 1..K random opening moves (default 0: none; diversity for greedy "
                         "players)")
    to.add_argument("--retry-void", action="store_true",
                    help="play again the games recorded as void (a crashed or hung engine); by default they are kept")
    to.add_argument("--plot", type=Path, default=None, metavar="PNG",
                    help="with --run: where to draw Elo against training step (default OUT/elo.png)")
    to.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    _add_rules_args(to, size=9)
    for action in to._actions:
        if action.dest == "seed":  # a tournament is reproducible by default: its resume replays the same games
            action.default, action.help = 0, "seed every game derives from (default 0)"
    to.set_defaults(func=_cmd_tournament)

    ra = sub.add_parser(
        "ratings", help="Elo ratings with 95%% intervals from SGF collections or tournament results",
        description="Rate the players of any SGF collection (files, directories, .tar.gz/.zip archives) by "
                    "PB, PW and RE, or of results databases (results.sqlite of rlengine tournament): "
                    "Bradley-Terry maximum likelihood on the Elo scale, one player anchored. A draw counts half "
                    "a win for each side; games without a decisive or drawn RE (Void, ?) are counted and "
                    "skipped. Players with no chain of games to the anchor are listed and left out. Prints the "
                    "table, then one JSON line: {\"players\": {NAME: {\"elo\", \"ci95\", \"games\", "
                    "\"score\"}}, \"games\", \"anchor\", \"skipped\", \"unconnected\"}.",
        epilog="example: rlengine ratings runs/go9-rl/results.sqlite --anchor gnugo1=0")
    ra.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="SGF file, directory, archive, or .sqlite")
    ra.add_argument("--anchor", default=None, metavar="NAME=ELO",
                    help="the player held at a fixed rating (default: the first player read, at 0)")
    ra.add_argument("--ci", choices=["hessian", "bootstrap"], default="hessian",
                    help="95%% intervals: Wald from the Hessian (default) or bootstrap percentiles over games")
    ra.add_argument("--skip-unnamed", action="store_true", help="skip (and count) games without PB or PW "
                    "instead of stopping at the first")
    ra.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    ra.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more logging on stderr")
    ra.set_defaults(func=_cmd_ratings)


def _anchor(text: str | None) -> tuple[str | None, float]:
    if text is None:
        return None, 0.0
    name, eq, value = text.rpartition("=")
    if not eq or not name:
        return text, 0.0
    try:
        return name, float(value)
    except ValueError:
        raise ValueError(f"--anchor {text!r}: the rating after = must be a number (NAME=ELO)") from None


def _cmd_tournament(args) -> int:
    from rlengine.ratings import DatabaseError
    from rlengine.runtime import WorkerError
    from rlengine.tournament import (
        TournamentSpec,
        entrants_from_run,
        format_report,
        log_to_tensorboard,
        parse_entrant,
        plot_elo,
        run_tournament,
    )

    try:
        anchor, anchor_elo = _anchor(args.anchor)
        players = [parse_entrant(p) for p in args.player]
        if args.run is not None:
            players = entrants_from_run(args.run, every=args.every, template=args.spec_template) + players
        players += [parse_entrant(p, field=True) for p in args.field]
        out = args.out or Path("runs") / args.name
        spec = TournamentSpec(args.name, players, games=args.games, out=out, db=args.db, format=args.format,
                              rules=_rules(args), seed=args.seed,
                              max_moves=args.max_moves, timeout=args.timeout, random_opening=args.random_opening,
                              workers=args.workers, backend="ray" if (args.ray or args.address) else "process",
                              address=args.address)
        summary, ratings, table = run_tournament(spec, anchor=anchor, anchor_elo=anchor_elo, ci=args.ci,
                                                 progress=not args.no_progress, retry_void=args.retry_void)
        if args.run is not None:
            png = plot_elo(spec, ratings, args.plot or out / "elo.png")
            log_to_tensorboard(args.run, spec, ratings, png)
            summary["plot"] = str(png)
    except (ValueError, OSError, DatabaseError, WorkerError) as exc:
        raise _fail(exc) from None
    print(format_report(ratings, table))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _cmd_ratings(args) -> int:
    from rlengine.ratings import connected, format_table, rate, read_results

    try:
        anchor, anchor_elo = _anchor(args.anchor)
        found = read_results(args.paths, skip_unnamed=args.skip_unnamed, progress=not args.no_progress)
        if not found.results:
            raise ValueError(f"no rated games in {', '.join(map(str, args.paths))} ({found.skipped} skipped: void "
                             f"or unknown results, or the same name on both sides)")
        anchor = anchor or found.results[0].black
        results, unconnected = connected(found.results, anchor)
        if not results:
            raise ValueError(f"--anchor {anchor!r}: no game of that player in {', '.join(map(str, args.paths))}")
        if unconnected:
            log.warning("%d player(s) have no chain of games to %s and are not rated: %s", len(unconnected), anchor,
                        ", ".join(unconnected[:20]) + (" ..." if len(unconnected) > 20 else ""))
        ratings = rate(results, anchor=anchor, anchor_elo=anchor_elo, ci=args.ci)
    except (ValueError, OSError) as exc:
        raise _fail(exc) from None
    print(format_table(ratings))
    print(json.dumps({**ratings.as_dict(), "skipped": found.skipped, "unconnected": len(unconnected),
                      "ci": args.ci}, ensure_ascii=False))
    return 0


def _cmd_plot(args) -> int:
    from rlengine.plots import plot_runs

    try:
        plot_runs(args.runs, args.out)
    except (OSError, ValueError) as exc:
        raise _fail(exc) from None
    print(json.dumps({"out": str(args.out)}))
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
