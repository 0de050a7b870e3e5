#!/usr/bin/env bash
# Every GPU check of the project, in one run of under 8 minutes on one H100/H200:
#   1. the tests marked gpu (skipped on machines without CUDA);
#   2. the GPU figures README.md quotes: SL training samples/s, RL learner positions/s, DQN env steps/s.
# Usage (repository root, after `make install`): bash benchmarks/gpu.sh [OUT_DIR]
# Each figure is one JSON line, also written to OUT_DIR (default $OUT or benchmarks/results/gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT_DIR=${1:-${OUT:-benchmarks/results/gpu}}
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT_DIR/device.txt"
timeout 180 "$PY" -m pytest -q -m gpu tests 2>&1 | tail -5 | tee "$OUT_DIR/pytest_gpu.txt"
timeout 90 "$PY" benchmarks/rl_learner.py --device cuda --seconds 20 | tee "$OUT_DIR/rl_learner.json"
timeout 90 "$PY" benchmarks/sl_train.py --games 300 --batch 256 --seconds 15 --nets 13x192 --device cuda \
    | tee "$OUT_DIR/sl_train.json" || echo '{"sl_train": "failed"}'
timeout 120 "$PY" benchmarks/dqn_sps.py --seconds 30 --device cuda | tee "$OUT_DIR/dqn_sps.json" || echo '{"dqn_sps": "failed"}'
