# homeval: `make up` starts the platform, `make test` runs every check.
# Both set themselves up on a fresh machine: uv, the virtualenvs, system packages (tests).

SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
export PATH := $(HOME)/.local/bin:$(PATH)

UV := uv
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced

.PHONY: help install up test lint format typecheck unit system-deps clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml uv.lock
	@command -v $(UV) >/dev/null || scripts/install-uv.sh
	$(UV) sync --frozen
	@touch $@

install: $(STAMP)  ## create .venv from uv.lock

up: install  ## start the whole platform locally (Ctrl-C stops it)
	$(VENV)/bin/homeval up

system-deps:  ## Debian packages the tests use (prometheus, chromium, wrk)
	scripts/install-system-deps.sh

lint: install  ## ruff lint + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install  ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install  ## mypy
	$(VENV)/bin/mypy

unit: install  ## pytest only (PYTEST_ARGS=... to narrow)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: install system-deps lint typecheck  ## everything CI runs
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:  ## remove local state and virtualenvs
	rm -rf .homeval $(VENV) .mypy_cache .ruff_cache .pytest_cache
