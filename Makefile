# One verb per task, the same for people and CI. Every target sets up .venv first,
# idempotently: the stamp is rebuilt only when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean chromium

NODE_STAMP := node_modules/.installed

setup: $(STAMP) $(NODE_STAMP) chromium

# Debian's chromium for the browser tests of the pages (Playwright drives /usr/bin/chromium;
# never `playwright install`), installed only when it is missing.
chromium:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; }

# From the committed lockfile: Spectral (the NL GOV API Design Rules linter), the NL Design
# System CSS of the Rijkshuisstijl community for the pages (the design tokens are licensed for
# government use only: installed, never copied into the repository) and axe-core for the
# accessibility tests.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@dpkg -s libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core >/dev/null 2>&1 || ! command -v apt-get >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

DEMO := tests/scenarios/public/P06.claim.json

HOST ?= 127.0.0.1
PORT ?= 8000

# A demo calculation and decision, then the service with demo data: the demo claims
# (forms/demo/demo.yaml) are loaded once into the SQLite file under ./data (VANGNET_DATA_DIR),
# and `vangnet serve` prints the address it listens on. Ctrl+C stops it.
run: export VANGNET_DEMO = 1
run: setup
	@echo "== Demo: public scenario P06 (a small municipality, explicit threat)"
	$(BIN)/vangnet calculate $(DEMO)
	$(BIN)/vangnet evaluate $(DEMO) --format text
	@echo "== Demo data (forms/demo/demo.yaml), loaded once"
	$(BIN)/vangnet demo seed
	@echo "== The service: http://$(HOST):$(PORT)/v1 (try /v1/health and /v1/aanvragen)"
	$(BIN)/vangnet serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check vangnet tests benchmarks
	$(BIN)/ruff format --check vangnet tests benchmarks
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
