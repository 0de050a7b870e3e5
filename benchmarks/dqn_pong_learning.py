"""DQN learning on Pong: a time-boxed run of the real training loop, its learning curve as a PNG.

Runs ``agents.dqn.train`` on ``configs/dqn_pong.toml`` (plus ``--set`` overrides) for at most
``--minutes``, then plots ``metrics.jsonl`` and prints one JSON line: env steps reached, wall-clock
seconds, every evaluation (step, mean score), the best one, and the device. Re-running the same
command resumes the run where it stopped (it is the ordinary training loop).

    python benchmarks/dqn_pong_learning.py --minutes 60 --run-dir runs/pong_cpu \\
        --set dqn.learning_starts=20000 --set eval.every_steps=25000 --set eval.episodes=5
    # on a GPU: the config as it is, 3M env steps
    python benchmarks/dqn_pong_learning.py --minutes 600 --run-dir runs/pong_gpu
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from agents.dqn import DQNRunConfig, train
from rlengine.config import load_config
from rlengine.plots import plot_runs, read_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of this call")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/pong_learning"))
    parser.add_argument("--config", type=Path, default=Path("configs/dqn_pong.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--png", type=Path, default=None, help="learning-curve PNG (default RUN_DIR/curve.png)")
    args = parser.parse_args()
    cfg = load_config(DQNRunConfig, args.config, overrides=args.overrides)
    t0 = time.perf_counter()
    result = train(cfg, args.run_dir, progress=False, time_limit=args.minutes * 60)
    wall = time.perf_counter() - t0
    png = plot_runs([args.run_dir], args.png or args.run_dir / "curve.png", title=f"DQN on Pong ({result['device']})")
    evals = [(r["step"], r["eval_return"]) for r in read_metrics(args.run_dir) if "eval_return" in r]
    best = max(evals, key=lambda e: e[1]) if evals else None
    print(json.dumps({"env_steps": result["step"], "updates": result["updates"], "wall_s_this_call": round(wall),
                      "evals": evals, "best_eval": best, "device": result["device"],
                      "torch_threads": torch.get_num_threads(), "png": str(png)}))


if __name__ == "__main__":
    main()
