# grokbatch: set-up, tests, demo and benchmark. Every target sets itself up first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Locally `make test` skips the heaviest tests (marked slow); CI (CI=true) runs them all.
PYTEST_MARKS ?= $(if $(CI),,-m "not slow")
# Tests run in two processes (pytest-xdist): a test spends much of its time waiting on a
# browser or a simulated video, which leaves a core idle for another. PYTEST_WORKERS=0: one.
PYTEST_WORKERS ?= 2
PYTEST_ARGS  ?=
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal

.PHONY: setup browser test test-all test-fast lint demo bench run clean

setup: $(STAMP) browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Playwright's own Chromium when it can be downloaded; otherwise the system's
# (Debian: apt-get install chromium, as root). grokbatch finds either by itself.
browser: $(STAMP)
	@$(PY) scripts/ensure_browser.py

test: setup
	$(PYTEST) $(PYTEST_MARKS) $(PYTEST_ARGS)

test-all: setup
	$(PYTEST) $(PYTEST_ARGS)

test-fast: setup
	$(PYTEST) -m "not slow and not e2e" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check grokbatch tests scripts
	$(VENV)/bin/mypy

demo: setup
	$(PY) scripts/demo.py

bench: setup
	$(PY) scripts/bench.py

# make run CONFIG=batch.json  — a real run from a config file
run: setup
	@test -n "$(CONFIG)" || (echo "usage: make run CONFIG=path/to/config.json" && exit 2)
	$(VENV)/bin/grokbatch run start --config "$(CONFIG)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-home bench.json
