"""AlphaGo's Figure 2b on our data: the value network against rollouts, mean squared error by move number.

    python benchmarks/value_fig2b.py --value runs/go9_value --data runs/go9_value_data \\
        --rollout runs/rollout/rollout_3k.safetensors --sl runs/go9_sl_cpu --games 200 --rollouts 32 \\
        --sl-games 100 --sl-rollouts 8 --out benchmarks/results/go9_value_fig2b.png

Positions: every position (ply 0 .. end - 1) of ``--games`` held-out games of the value data (the test
split of the value checkpoint's ``data.test_fraction``: games the network never saw).  Truth: the game's
recorded result z from the side to move (+1 / -1).  Each estimator gives a value in [-1, 1]:

``value_net``          v(s) of the value checkpoint (symmetry 0)
``fast_rollouts``      mean outcome of ``--rollouts`` playouts of the fast rollout policy (``--rollout``)
``uniform_rollouts``   mean outcome of ``--rollouts`` playouts of uniformly random sensible moves
``sl_rollouts``        mean outcome of ``--sl-rollouts`` games of the SL policy (``--sl``) against itself,
                       sampled at T = 1, from every ``--sl-every``-th position of the first ``--sl-games``
                       games (it costs a network call per move; omitted with ``--sl-games 0``)

MSE = mean over positions of (z - estimate)^2 (a constant 0 scores 1).  The JSON line holds each
estimator's MSE over all positions it was run on, the same at the one-per-game positions s_{U+1} of
the same games (what the network trains on), per move-number bin, and the constant predictor's.
The PNG plots the bins.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from agents.alphago import value_data as vd
from agents.alphago.checkpoint import load_value
from agents.alphago.config import GameSection
from agents.alphago.policy_games import PolicyGamesWorker
from agents.alphago.value import predict
from games.go import batch as go_batch
from games.go.board import BLACK, Rules
from games.go.game import Game, default_move_cap
from rlengine.runtime import find_checkpoint


def positions_of(data: vd.ValueData, games: np.ndarray):
    """(game, ply) of every position of ``games`` and the positions themselves (replayed)."""
    size = data.stream.size
    rules = Rules(size, float(data.stream.komi[0]))
    offsets, points = data.stream.game_offsets, data.stream.points
    gs, plies, positions = [], [], []
    for g in games:
        game = Game(rules, cleanup=False)
        for ply, point in enumerate(points[offsets[g]:offsets[g + 1]]):
            gs.append(g)
            plies.append(ply)
            positions.append(game.position.copy())
            game.play(int(point))
    return np.array(gs), np.array(plies), positions


def rollout_values(policy, positions, k: int, seed: int) -> np.ndarray:
    """Mean outcome for the side to move of ``k`` playouts from each position."""
    out = np.empty(len(positions))
    chunk = 512
    for lo in range(0, len(positions), chunk):
        part = positions[lo:lo + chunk]
        roots = go_batch.Roots.from_positions(part)
        n = len(part) * k
        leaves = go_batch.play_paths(roots, np.repeat(np.arange(len(part)), k), np.zeros((n, 1), np.int32),
                                     np.zeros(n, np.int32))
        scores = go_batch.rollout_leaves(policy, leaves, seed=seed + lo).reshape(len(part), k)
        mover = np.array([1.0 if p.to_move == BLACK else -1.0 for p in part])
        out[lo:lo + len(part)] = np.sign(scores).mean(axis=1) * mover
    return out


def sl_rollout_values(sl_path: str, positions, moves_to, k: int, seed: int, komi: float) -> np.ndarray:
    """Mean outcome for the side to move of ``k`` SL-policy self-play games (T = 1) from each position;
    ``moves_to[i]``: the moves that lead to position i (replayed into a ``Game``, so the games keep their
    history and the move cap)."""
    from agents.alphago.checkpoint import load_policy
    from agents.alphago.policy_games import sample_moves
    from agents.alphago.rl import numpy_weights

    cfg, net, _ = load_policy(sl_path, device="cpu")
    size = cfg.board_size
    worker = PolicyGamesWorker(network=dataclasses.asdict(cfg.network),
                               game=dataclasses.asdict(GameSection(board_size=size, komi=komi)))
    worker.load("sl", 0, numpy_weights(net))
    rules = Rules(size, komi)
    rng = np.random.default_rng(seed)
    games, owner = [], []
    for i, moves in enumerate(moves_to):
        for _ in range(k):
            g = Game(rules, cleanup=False, max_moves=default_move_cap(size))
            for mv in moves:
                g.play(int(mv))
            games.append(g)
            owner.append(i)
    while True:
        live = [g for g in games if not g.over]
        if not live:
            break
        for lo in range(0, len(live), 4096):
            part = live[lo:lo + 4096]
            logits, masks = worker.logits("sl", part)
            for g, mv in zip(part, sample_moves(logits, masks, 1.0, rng)):
                g.play(int(mv))
    mover = np.array([1.0 if p.to_move == BLACK else -1.0 for p in positions])
    z = np.sign([g.score for g in games]).reshape(len(positions), k).mean(axis=1)
    return z * mover


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--value", required=True, help="value checkpoint or run directory")
    ap.add_argument("--data", default=None, help="value-data folder (default: the checkpoint's data.dir)")
    ap.add_argument("--rollout", required=True, help="fast rollout policy weights (safetensors)")
    ap.add_argument("--sl", default=None, help="SL policy checkpoint (for sl_rollouts)")
    ap.add_argument("--games", type=int, default=200)
    ap.add_argument("--rollouts", type=int, default=32)
    ap.add_argument("--sl-games", type=int, default=100)
    ap.add_argument("--sl-every", type=int, default=5)
    ap.add_argument("--sl-rollouts", type=int, default=8)
    ap.add_argument("--bin", type=int, default=10, help="move numbers per bin (default 10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="PNG")
    args = ap.parse_args()
    from agents.alphago.rollout import load_rollout

    path = find_checkpoint(args.value)
    cfg, net, device = load_value(path, device="cpu")
    folder = args.data or cfg.data.dir
    data = vd.load_value_data(folder, test_fraction=cfg.data.test_fraction, size=cfg.board_size)
    test_games = np.flatnonzero(data.test & ~data.short)[:args.games]
    gs, plies, positions = positions_of(data, test_games)
    offsets = data.stream.game_offsets
    events = offsets[gs] + plies
    mover = np.where(data.stream.colors[events] == BLACK, 1.0, -1.0)
    z = np.sign(data.score[gs]) * mover
    one = plies == data.u[gs]  # the one-per-game positions s_{U+1}
    est, seconds = {}, {}
    t = time.perf_counter()
    est["value_net"] = predict(net, data.stream, events, gs, encoder=cfg.network.encoder, device=device)
    seconds["value_net"] = time.perf_counter() - t
    t = time.perf_counter()
    est["fast_rollouts"] = rollout_values(load_rollout(args.rollout), positions, args.rollouts, args.seed)
    seconds["fast_rollouts"] = time.perf_counter() - t
    t = time.perf_counter()
    est["uniform_rollouts"] = rollout_values(None, positions, args.rollouts, args.seed + 1)
    seconds["uniform_rollouts"] = time.perf_counter() - t
    subsets = {k: np.ones(len(z), bool) for k in est}
    if args.sl and args.sl_games > 0:
        sub = np.isin(gs, test_games[:args.sl_games]) & ((plies % args.sl_every == 0) | one)
        idx = np.flatnonzero(sub)
        t = time.perf_counter()
        moves_to = [data.stream.points[offsets[gs[i]]:offsets[gs[i]] + plies[i]] for i in idx]
        vals = np.full(len(z), np.nan)
        vals[idx] = sl_rollout_values(args.sl, [positions[i] for i in idx], moves_to, args.sl_rollouts,
                                      args.seed + 2, float(data.stream.komi[0]))
        est["sl_rollouts"] = vals
        subsets["sl_rollouts"] = sub
        seconds["sl_rollouts"] = time.perf_counter() - t
    bins = (plies // args.bin) * args.bin
    result = {"checkpoint": str(path), "data": str(folder), "test_games": int(len(test_games)),
              "positions": int(len(z)), "one_per_game_positions": int(one.sum()), "rollouts": args.rollouts,
              "sl_rollouts": args.sl_rollouts, "seconds": seconds, "mse": {}, "mse_one_per_game": {},
              "mse_by_move": {}, "positions_by_estimator": {}}
    const = float(vd.value_samples(data, "train", "all")[2].mean())
    est["constant"] = np.full(len(z), const)
    subsets["constant"] = np.ones(len(z), bool)
    for name, v in est.items():
        s = subsets[name]
        err = (z - v) ** 2
        result["mse"][name] = float(err[s].mean())
        result["positions_by_estimator"][name] = int(s.sum())
        result["mse_one_per_game"][name] = float(err[s & one].mean()) if (s & one).any() else None
        result["mse_by_move"][name] = {int(b): float(err[s & (bins == b)].mean()) for b in np.unique(bins[s])
                                       if (s & (bins == b)).sum() >= 20}
    print(json.dumps(result))
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        labels = {"value_net": "value network", "fast_rollouts": f"fast rollout policy ({args.rollouts} rollouts)",
                  "uniform_rollouts": f"uniform random rollouts ({args.rollouts})",
                  "sl_rollouts": f"SL policy rollouts ({args.sl_rollouts})", "constant": "constant (train mean)"}
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, by in result["mse_by_move"].items():
            xs = sorted(by)
            ax.plot([x + args.bin / 2 for x in xs], [by[x] for x in xs], marker="o", ms=3,
                    ls="--" if name == "constant" else "-", label=labels[name])
        ax.set_xlabel("move number")
        ax.set_ylabel("mean squared error vs. game outcome")
        ax.set_title(f"9x9 value estimates on {len(test_games)} held-out self-play games (AlphaGo Fig. 2b)")
        ax.set_ylim(0, None)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=120)


if __name__ == "__main__":
    main()
