# rlengine: make run | make test | make bench
# Everything installs into a virtual environment in .venv (override with VENV=...).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# The CPU build of torch; set TORCH_SPEC=torch for your platform's default build (CUDA on Linux).
TORCH_SPEC ?= torch==2.13.0

.PHONY: install gnugo run full test test-fast bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@

# The main job on its embedded default (about 10 minutes on 2 cores): RL self-play from the shipped 9x9 SL
# policy on embedded Ray (configs/go9_quickstart.toml), then a tournament of its snapshots against random and
# the shipped players. Re-running resumes both; a finished run or tournament is not redone.
QUICK := runs/go9_quickstart
run: install
	$(VENV)/bin/rlengine train configs/go9_quickstart.toml
	$(VENV)/bin/rlengine tournament --name quickstart --run $(QUICK) --format gauntlet --games 4 \
	  --field random --field go9-sl=policy:go9-sl --field go9-rl=policy:go9-rl --field "mcts-go9=mcts:go9,sims=50" \
	  --anchor go9-sl=0 --random-opening 4 --workers 2 --size 9 --komi 7.5 --seed 0 --out $(QUICK)/tournament
	@echo
	@echo "TensorBoard logs: $(QUICK)/tb  (view: $(VENV)/bin/tensorboard --logdir runs)"
	@echo "Learning curve:   $(VENV)/bin/rlengine plot $(QUICK) --out $(QUICK)/curve.png"
	@echo "Elo against training step: $(QUICK)/tournament/elo.png"
	@echo "Play against the result: $(VENV)/bin/rlengine play --opponent policy:$(QUICK)"

# The whole 9x9 pipeline for users with more time (about 45 minutes on 2 cores): the RL policy from the shipped
# SL policy (configs/go9_rl.toml, 100 iterations), the value network on its self-play data (configs/go9_value.toml),
# then a round-robin of the policies and the search with and without the new value network.
full: install
	$(VENV)/bin/rlengine train configs/go9_rl.toml
	$(VENV)/bin/rlengine train configs/go9_value.toml
	$(VENV)/bin/rlengine tournament --name full --games 10 --player random --player sl=policy:go9-sl \
	  --player rl=policy:runs/go9_rl/pool/step-000000000100 \
	  --player "mcts=mcts:go9-sl,rollout=go9-rollout,sims=200,expand=4" \
	  --player "mcts-value=mcts:go9-sl,value=runs/go9_value,rollout=go9-rollout,sims=200,expand=4" \
	  --anchor sl=0 --random-opening 4 --workers 2 --size 9 --komi 7.5 --seed 0 --out runs/go9_full_tournament
	@echo "Play the search with your value network:"
	@echo "  $(VENV)/bin/rlengine play --opponent mcts:go9-sl,value=runs/go9_value,rollout=go9-rollout,seconds=1"

# GNU Go 3.8 is the rules oracle of the differential tests; installed with apt when missing.
gnugo:
	@command -v gnugo >/dev/null || test -x /usr/games/gnugo || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq gnugo; \
	    elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq gnugo; \
	    else echo "warning: GNU Go not found; its differential tests will be skipped" >&2; fi; }

# The whole suite, slow tests included (what CI runs). `make test-fast` (= a bare `pytest -q`) skips the slow ones.
test: install gnugo
	$(PY) -m pytest -q -m ""

test-fast: install gnugo
	$(PY) -m pytest -q

bench: install
	$(PY) -m pip install -q --disable-pip-version-check -e ".[bench]"
	$(PY) benchmarks/go_board.py
	$(PY) benchmarks/replay.py
	$(PY) benchmarks/dqn_sps.py --seconds 60
	$(PY) benchmarks/features.py
	$(PY) benchmarks/rollout.py
	$(PY) benchmarks/sl_train.py --games 300 --batch 64 --seconds 8 --nets 3x32
	$(PY) benchmarks/go_batch.py
	$(PY) benchmarks/mcts.py --games 16 --sims 100 --moves 320
	$(PY) benchmarks/ratings.py

clean:
	rm -rf $(VENV) runs .pytest_cache
