"""Reference task 3: the small ResNet classifier on scikit-learn's handwritten digits (test accuracy).

Trains ``agents.gan.digits.DigitsClassifier`` (ResNet tower of 32 maps and 2 residual blocks, global
average pooling, linear) on the fixed stratified 80/20 split of the 1,797 8x8 digits, for each seed, and
prints one JSON line per seed (test accuracy = correct test images / 359) and a summary line; the first
seed's weights go to ``--out`` (the classifier that scores generated digits).

    python benchmarks/digits_classifier.py [--seeds 0 1 2] [--epochs 40] [--out runs/digits_classifier.safetensors]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from agents.gan.digits import train_classifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("runs/digits_classifier.safetensors"))
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    accs = []
    for k, seed in enumerate(args.seeds):
        t0 = time.perf_counter()
        _, result = train_classifier(args.out if k == 0 else None, seed=seed, epochs=args.epochs)
        accs.append(result["test_accuracy"])
        print(json.dumps({**result, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    print(json.dumps({"seeds": len(accs), "median_test_accuracy": round(statistics.median(accs), 4),
                      "min_test_accuracy": round(min(accs), 4), "weights": str(args.out)}), flush=True)


if __name__ == "__main__":
    main()
