"""rlengine plot on a supervised run: validation accuracy against training positions."""

import json

from PIL import Image

from rlengine.plots import plot_runs

ORANGE = (255, 127, 14)  # matplotlib's second line colour: the top-5 curve


def _run(tmp_path, name, rows):
    run = tmp_path / name
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def _colours(path):
    with Image.open(path) as img:
        return {c for _, c in img.convert("RGB").getcolors(maxcolors=1 << 22)}


def test_supervised_metrics_plot_both_accuracy_curves(tmp_path):
    train_only = [{"step": 100, "loss": 4.0, "positions": 6400}]
    acc = [{"step": s, "val_top1": 0.1 * k, "val_top5": 0.2 * k, "positions": s * 64}
           for k, s in enumerate((0, 250, 500))] + train_only
    with_acc = plot_runs([_run(tmp_path, "sl", acc)], tmp_path / "acc.png")
    without = plot_runs([_run(tmp_path, "none", train_only)], tmp_path / "none.png")
    assert ORANGE in _colours(with_acc)
    assert ORANGE not in _colours(without)
