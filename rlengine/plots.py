"""Learning-curve plots from ``metrics.jsonl``."""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["plot_runs", "read_metrics"]


def read_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no metrics (is {run_dir} a run directory?)")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ValueError(f"{path}: line {n} is not JSON") from None
    return rows


def _board_points(run_dir: str | Path) -> int:
    """N*N of a self-play run's board (its config.toml's game.board_size; 81 when it says nothing)."""
    import tomllib

    try:
        size = tomllib.loads((Path(run_dir) / "config.toml").read_text()).get("game", {}).get("board_size", 9)
    except (OSError, tomllib.TOMLDecodeError):
        size = 9
    return max(int(size) ** 2, 2)


def plot_runs(run_dirs: list[str | Path], out: str | Path, *, title: str | None = None) -> Path:
    """Training returns (smoothed) and evaluation returns against environment steps; for supervised runs
    (metrics with ``val_top1``) validation top-1/top-5 accuracy against training positions; for self-play
    runs (metrics with ``win_rate``) the win rate against the opponent pool and the policy's entropy
    (divided by log(N*N)) against self-play games."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    accuracy = False  # supervised runs (metrics with val_top1) plot accuracy against training positions
    for run in run_dirs:
        rows = read_metrics(run)
        name = Path(run).name
        for key, label in (("val_top1", "top-1"), ("val_top5", "top-5")):
            points = [(r.get("positions", r["step"]), r[key]) for r in rows if key in r]
            if points:
                accuracy = True
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o", label=f"{name}: validation {label}")
        train = [(r["step"], r["train_return"]) for r in rows if "train_return" in r]
        if train:
            steps, values = zip(*train)
            window = max(1, len(values) // 50)
            smooth = [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1])
                      for i in range(len(values))]
            ax.plot(steps, smooth, alpha=0.6, label=f"{name}: training return (mean of {window})")
        evals = [(r["step"], r["eval_return"], r.get("eval_std", 0.0)) for r in rows if "eval_return" in r]
        if evals:
            steps, means, stds = zip(*evals)
            ax.errorbar(steps, means, yerr=stds, marker="o", capsize=3, label=f"{name}: evaluation return")
    selfplay = False  # self-play runs (metrics with win_rate): win rate against the pool and entropy vs games
    for run in run_dirs:
        rows = [r for r in read_metrics(run) if "win_rate" in r and "games" in r]
        if not rows:
            continue
        selfplay = True
        name = Path(run).name
        games = [r["games"] for r in rows]
        points = _board_points(run)
        for key, label, style in (("win_rate", "win rate against the pool", "-"),
                                  ("entropy", f"policy entropy / log({points})", "--")):
            values = [r[key] / (math.log(points) if key == "entropy" else 1.0) for r in rows if key in r]
            window = max(1, len(values) // 40)
            smooth = [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1])
                      for i in range(len(values))]
            ax.plot(games, smooth, style, label=f"{name}: {label} (mean of {window})")
        ax.set_ylim(0, 1)
    if selfplay:
        ax.set_xlabel("self-play games")
        ax.set_ylabel("win rate / scaled entropy")
    else:
        ax.set_xlabel("training positions" if accuracy else "environment steps")
        ax.set_ylabel("move-prediction accuracy" if accuracy else "episode return")
    ax.set_title(title or ", ".join(Path(r).name for r in run_dirs))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
