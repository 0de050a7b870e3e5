"""Learning-curve plots from ``metrics.jsonl``."""

from __future__ import annotations

import json
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


def plot_runs(run_dirs: list[str | Path], out: str | Path, *, title: str | None = None) -> Path:
    """Training returns (smoothed) and evaluation returns against environment steps, or for supervised runs
    (metrics with ``val_top1``) validation top-1/top-5 accuracy against training positions."""
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
