#!/usr/bin/env bash
# Every GPU check of the project, in one run of about 12 minutes on one H100/H200 (PONG_MINUTES=0: 8):
#   1. the tests marked gpu (skipped on machines without CUDA);
#   2. the GPU figures README.md quotes: SL training samples/s, RL learner positions/s, DQN env steps/s
#      against the CleanRL-style loop, MCTS simulations/s with many games,
#      the Go Transformer and ResNet torsos' training and inference positions/s;
#   3. Pong learning curves with Rainbow and the DQN config (PONG_MINUTES each; untested: no device yet).
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
# MCTS simulations/s with many games at once: the batched search on a 19x19 ResNet (one network call per step)
timeout 120 "$PY" benchmarks/mcts.py --games 256 --sims 100 --batch 8 --moves 2560 --size 19 --device cuda \
    | tee "$OUT_DIR/mcts_sims.json" || echo '{"mcts": "failed"}'
for size in 9 19; do  # Go policy torsos at equal FLOPs: ResNet vs Transformer, training and inference
  timeout 120 "$PY" benchmarks/transformer_vs_resnet.py speed --size $size --batch 256 --seconds 5 --device cuda \
      | tee "$OUT_DIR/transformer_speed_$size.json" || echo '{"transformer_speed": "failed"}'
done
# 3. Pong learning for a fixed wall-clock budget with Rainbow and with the DQN config (PONG_MINUTES each,
#    default 1, 0 skips), the curves (PNG) and the evaluations into OUT_DIR. CleanRL's DQN reaches 20.25 at
#    10M frames; a few minutes here show the first part of the curve only.
PONG_MINUTES=${PONG_MINUTES:-1}
if [ "$PONG_MINUTES" != "0" ]; then
  for cfg in rainbow_pong dqn_pong; do
    timeout $(( PONG_MINUTES * 60 + 120 )) "$PY" benchmarks/dqn_pong_learning.py --minutes "$PONG_MINUTES" \
        --config "configs/$cfg.toml" --run-dir "$OUT_DIR/$cfg" --png "$OUT_DIR/$cfg.png" \
        --set eval.every_steps=25000 --set eval.episodes=3 --set checkpoint.every_steps=25000 \
        | tee "$OUT_DIR/$cfg.json" || echo "{\"$cfg\": \"failed\"}"
  done
fi
