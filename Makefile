# Avatar Service: every target sets itself up on a fresh machine (Python 3.11+, make).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Debian's Chromium, driven by the browser tests (tests/browser) through Playwright
CHROMIUM := /usr/bin/chromium

.PHONY: install serve test test-unit lint bench soak clean fuzz

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the service on http://127.0.0.1:8000 (local Ray, SQLite journal under ./data). Ctrl-C stops it.
serve: $(STAMP)
	$(VENV)/bin/avatar-service serve

$(CHROMIUM):
	bash .ci/install-chromium

## Run the whole test suite (unit, contracts, integration, browser).
test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest

## Only the fast tests that never start Ray.
test-unit: $(STAMP)
	$(PY) -m pytest tests/unit tests/contracts

## Fuzz every API operation from /openapi.json (schemathesis, 30 examples each; the suite runs 2).
## FUZZ_MATCH="POST /api/v1/avatars/render" keeps the operations whose label contains it.
FUZZ_EXAMPLES ?= 30
fuzz: $(STAMP)
	AVATAR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) AVATAR_FUZZ_MATCH="$(FUZZ_MATCH)" \
		$(PY) -m pytest tests/integration/test_fuzz.py -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check events actors serve_app assets media client
	$(VENV)/bin/mypy

## Benchmarks: print figures and append them to bench/RESULTS.md (capacity takes ~15 min).
bench: $(STAMP) $(CHROMIUM)
	$(PY) -m bench.journal
	$(PY) -m bench.speech_media
	$(PY) -m bench.render_media
	$(PY) -m bench.actors
	$(PY) -m bench.capacity
	$(PY) -m bench.speech
	$(PY) -m bench.render
	$(PY) -m bench.assets
	$(PY) -m bench.live
	$(PY) -m bench.live_browser
	$(PY) -m bench.client

## Soak: 10 min of load with faults (SQLite), then the history checked against the journal;
## figures appended to bench/RESULTS.md. SOAK_ARGS="--journal postgres" for PostgreSQL.
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info data/bench
