# Overgang: `make run` to try it, `make test` to check it.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Re-install when pyproject.toml changes; otherwise a re-run is instant.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# mypy refuses a folder without Python files; check the packages that have some.
TYPED := $(foreach pkg,domain projections api infra,$(if $(wildcard $(pkg)/*.py),$(pkg)))
BENCHES := $(filter-out bench/_%,$(wildcard bench/*.py))

.PHONY: run install install-dev test lint format schema bench clean

run: install
	$(BIN)/overgang serve --demo

install: $(STAMP)
install-dev: $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

test: install-dev
	$(MAKE) lint
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(TYPED) tests bench

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate schema.graphql after changing the GraphQL types (a test fails on drift).
schema: install
	$(BIN)/python -c 'from api.graphql.schema import export_sdl; print(export_sdl(), end="")' > schema.graphql

bench: install-dev
	@set -e; for script in $(BENCHES); do echo "== $$script"; $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
