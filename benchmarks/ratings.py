"""Rating speed: Bradley-Terry maximum likelihood over many players and games.

Simulates ``--games`` games among ``--players`` players with ratings drawn from N(0, 200^2) Elo (random
pairs, outcomes drawn from the Elo model), then times ``rlengine.ratings.fit_ratings``: the fit with
Hessian intervals (``fit_s``), and the fit with ``--bootstrap`` resamples (``bootstrap_s``).  Prints
one JSON line: the times, ``games_per_s`` = games / fit_s, and the largest error of an estimate against
the simulated truth (Elo, relative to the anchor, player 0).

``--coverage N`` adds a line with the coverage of the 95% intervals: N simulated round-robins of five
players at 0, 60, 120, 250 and 400 Elo, 30 games per pairing, and the fraction of the intervals of the
four differences from the anchor that contain the true difference (Hessian; and bootstrap with
``--bootstrap`` resamples).  ``--sprt N`` adds a line with the SPRT's measured error rates: N simulated
tests at the true strength elo0 (the fraction that pass) and at elo1 (the fraction that fail).

    python benchmarks/ratings.py [--players 100] [--games 100000] [--bootstrap 200] [--seed 0]
    python benchmarks/ratings.py --coverage 300 --bootstrap 100 --sprt 2000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from rlengine.ratings import SPRT, expected_score, fit_ratings


def coverage(sims: int, num_bootstrap: int, seed: int) -> dict:
    true = np.array([0.0, 60.0, 120.0, 250.0, 400.0])
    names = [f"p{k}" for k in range(len(true))]
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for a in range(len(true)) for b in range(a + 1, len(true))]
    covered = {"hessian": 0, "bootstrap": 0}
    for sim in range(sims):
        i = np.repeat([a for a, _ in pairs], 30)
        j = np.repeat([b for _, b in pairs], 30)
        s = (rng.random(len(i)) < expected_score(true[i] - true[j])).astype(np.float64)
        for method in covered:
            r = fit_ratings(names, i, j, s, ci=method, num_bootstrap=num_bootstrap, seed=sim)
            for k in range(1, len(true)):
                lo, hi = r.players[k].ci95
                covered[method] += (lo is None or lo <= true[k]) and (hi is None or true[k] <= hi)
    n = sims * (len(true) - 1)
    return {"coverage_sims": sims, "intervals": n, "games_per_pairing": 30, "bootstrap": num_bootstrap,
            **{f"coverage_{m}": round(c / n, 3) for m, c in covered.items()}}


def sprt_errors(runs: int, seed: int, elo0: float = 0.0, elo1: float = 35.0, max_games: int = 5000) -> dict:
    test = SPRT(elo0=elo0, elo1=elo1)
    lower, upper = test.bounds
    rng = np.random.default_rng(seed)
    out = {"sprt_runs": runs, "elo0": elo0, "elo1": elo1, "alpha": test.alpha, "beta": test.beta}
    for label, true, wrong in (("at_elo0", elo0, 1), ("at_elo1", elo1, -1)):
        wins = np.cumsum(rng.random((runs, max_games)) < expected_score(true), 1)
        llr = test.llr(wins, 0, np.arange(1, max_games + 1) - wins)
        up = np.where((llr >= upper).any(1), (llr >= upper).argmax(1), max_games)
        lo = np.where((llr <= lower).any(1), (llr <= lower).argmax(1), max_games)
        decision = np.where(up < lo, 1, np.where(lo < up, -1, 0))
        out[f"wrong_{label}"] = round(float((decision == wrong).mean()), 4)
        out[f"undecided_{label}"] = round(float((decision == 0).mean()), 4)
        out[f"mean_games_{label}"] = round(float(np.minimum(up, lo).mean() + 1), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--players", type=int, default=100)
    ap.add_argument("--games", type=int, default=100_000)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--coverage", type=int, default=0, metavar="N", help="also measure interval coverage")
    ap.add_argument("--sprt", type=int, default=0, metavar="N", help="also measure SPRT error rates")
    args = ap.parse_args()
    if args.coverage:
        print(json.dumps(coverage(args.coverage, args.bootstrap, args.seed)))
    if args.sprt:
        print(json.dumps(sprt_errors(args.sprt, args.seed)))
    if args.coverage or args.sprt:
        return
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
