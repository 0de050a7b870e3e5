# rlengine: make run | make test | make bench
# Everything installs into a virtual environment in .venv (override with VENV=...).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# The CPU build of torch; set TORCH_SPEC=torch for your platform's default build (CUDA on Linux).
TORCH_SPEC ?= torch==2.13.0

.PHONY: install gnugo run test test-fast bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@

# The main job on its embedded default: a 9x9 game between two random players, saved as SGF and printed.
run: install
	$(VENV)/bin/rlengine selfplay --size 9 --komi 7.5 --seed 0 --out runs/selfplay

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
