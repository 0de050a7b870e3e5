"""Rating speed: Bradley-Terry maximum likelihood over many players and games.

Simulates ``--games`` games among ``--players`` players with ratings drawn from N(0, 200^2) Elo (random
pairs, outcomes drawn from the Elo model), then times ``rlengine.ratings.fit_ratings``: the fit with
Hessian intervals (``fit_s``), and the fit with ``--bootstrap`` resamples (``bootstrap_s``).  Prints
one JSON line: the times, ``games_per_s`` = games / fit_s, and the largest error of an estimate against
the simulated truth (Elo, relative to the anchor, player 0).

    python benchmarks/ratings.py [--players 100] [--games 100000] [--bootstrap 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from rlengine.ratings import expected_score, fit_ratings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--players", type=int, default=100)
    ap.add_argument("--games", type=int, default=100_000)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    true = rng.normal(0.0, 200.0, args.players)
    i = rng.integers(0, args.players, args.games)
    j = (i + rng.integers(1, args.players, args.games)) % args.players
    score = (rng.random(args.games) < expected_score(true[i] - true[j])).astype(np.float64)
    names = [f"p{k}" for k in range(args.players)]

    t0 = time.perf_counter()
    r = fit_ratings(names, i, j, score)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit_ratings(names, i, j, score, ci="bootstrap", num_bootstrap=args.bootstrap, seed=args.seed)
    boot_s = time.perf_counter() - t0
    est = np.array([p.elo for p in r.players])
    err = np.abs(est - (true - true[0]))
    se = np.sqrt(np.diag(r.cov))
    print(json.dumps({"players": args.players, "games": args.games, "fit_s": round(fit_s, 4),
                      "games_per_s": round(args.games / fit_s), "bootstrap": args.bootstrap,
                      "bootstrap_s": round(boot_s, 3), "max_abs_error_elo": round(float(err.max()), 1),
                      "mean_ci95_halfwidth_elo": round(float(1.959964 * se[1:].mean()), 1),
                      "within_ci95": round(float((err[1:] <= 1.959964 * se[1:]).mean()), 3)}))


if __name__ == "__main__":
    main()
