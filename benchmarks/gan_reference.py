"""The GAN reference tasks over several seeds: the Gaussian mixtures (modes covered, high-quality samples)
and the DCGAN on 8x8 digits (classes covered, Fréchet distance as a ratio to the real-test floor).

For each dataset (``configs/gan_ring8.toml``, ``configs/gan_grid25.toml``) and each seed, trains the
config as it is (``rlengine train`` does the same; an existing run directory resumes), scores 2,500 samples
of the final generator (a sample is high quality within 3 sd of its nearest mode; a mode is covered with
at least one of them) and prints one JSON line per run, then one per dataset with the medians over the
seeds, and draws the first seed's samples to ``--png-dir``.  The papers (VEEGAN, PacGAN) report the grid
as modes covered out of 25 and % high-quality samples over 2,500 samples.  ``--datasets digits`` trains
``configs/gan_digits.toml`` (its classifier is trained at the start of each run) and scores 2,500 samples:
classes with at least 25 of them, and the Fréchet distance in the classifier's features, divided by the
distance of the real test images to the same training images.

    python benchmarks/gan_reference.py [--seeds 0 1 2 3 4] [--datasets ring8 grid25 digits] [--runs runs/gan_bench]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from agents.gan import GANRunConfig, evaluate, train, watch
from rlengine.config import load_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--datasets", nargs="+", default=["ring8", "grid25"])
    ap.add_argument("--runs", type=Path, default=Path("runs/gan_bench"))
    ap.add_argument("--png-dir", type=Path, default=Path("benchmarks/results"))
    args = ap.parse_args()
    for ds in args.datasets:
        rows = []
        for seed in args.seeds:
            cfg = load_config(GANRunConfig, f"configs/gan_{ds}.toml", overrides=[f"run.seed={seed}"])
            run = args.runs / f"{ds}-seed{seed}"
            t0 = time.perf_counter()
            train(cfg, run, progress=False)
            score = evaluate(run, seed=seed)
            rows.append({**score, "seed": seed, "steps": cfg.train.steps, "seconds": round(time.perf_counter() - t0)})
            print(json.dumps(rows[-1]), flush=True)
            if seed == args.seeds[0]:
                watch(run, args.png_dir / f"gan_{ds}.png", seed=seed)
        if ds == "digits":
            print(json.dumps({"dataset": ds, "seeds": len(rows),
                              "median_classes": statistics.median(r["classes"] for r in rows),
                              "median_fd_ratio": round(statistics.median(r["fd_ratio"] for r in rows), 2),
                              "max_fd_ratio": round(max(r["fd_ratio"] for r in rows), 2),
                              "fd_floor": round(rows[0]["fd_floor"], 4)}), flush=True)
            continue
        print(json.dumps({"dataset": ds, "seeds": len(rows),
                          "median_modes": statistics.median(r["modes"] for r in rows),
                          "num_modes": rows[0]["num_modes"],
                          "median_high_quality": round(statistics.median(r["high_quality"] for r in rows), 4),
                          "min_modes": min(r["modes"] for r in rows),
                          "min_high_quality": min(r["high_quality"] for r in rows)}), flush=True)


if __name__ == "__main__":
    main()
