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
# the Airflow DAG has its own environment: Airflow 3 cannot share one with kserve
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.synced
DAGS := pipelines/dags
IMAGE_TAG ?= dev
# the image parts `make images` builds (empty: all of scripts/bump_image_tags.py's list)
IMAGES ?=

.PHONY: docs help images install up test lint format typecheck unit system-deps tools reset clean airflow-env airflow-lock dag-test dag-run deploy-check bench-ingest bench-serving

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

CONTRACT := packages/contract
CONTRACT_SOURCES := $(CONTRACT)/pyproject.toml

$(STAMP): pyproject.toml uv.lock $(CONTRACT_SOURCES)
	@command -v $(UV) >/dev/null || scripts/install-uv.sh
	@echo "installing the locked packages into $(VENV); after 'Installed N packages' uv compiles their bytecode, silently, for a minute or two"
	$(UV) sync --frozen
	@touch $@

install: $(STAMP)  ## create .venv from uv.lock

$(AIRFLOW_STAMP): $(DAGS)/requirements-test.lock $(CONTRACT_SOURCES)
	@command -v $(UV) >/dev/null || scripts/install-uv.sh
	$(UV) venv --allow-existing --python 3.11 $(AIRFLOW_VENV)
	$(UV) pip sync --python $(AIRFLOW_VENV)/bin/python $(DAGS)/requirements-test.lock
	@# what the DAG shares with the platform (stdlib only; kfp comes from the lock)
	$(UV) pip install --python $(AIRFLOW_VENV)/bin/python --no-deps -e $(CONTRACT)
	@touch $@

airflow-env: $(AIRFLOW_STAMP)  ## create .venv-airflow (Airflow 3 + kfp, the DAG's tests) from its lock

airflow-lock:  ## re-pin pipelines/dags/requirements*.lock after editing requirements*.txt
	cd $(DAGS) && $(UV) pip compile --universal --python-version 3.11 requirements.txt -o requirements.lock
	cd $(DAGS) && $(UV) pip compile --universal --python-version 3.11 requirements-test.txt \
		-c requirements.lock -o requirements-test.lock

dag-test: install airflow-env  ## the Airflow DAG's tests, in .venv-airflow (DAG_PYTEST_ARGS=...)
	$(AIRFLOW_VENV)/bin/pytest tests/pipelines/dags $(DAG_PYTEST_ARGS)

DAG_CONF ?= {}
AIRFLOW_LOCAL := AIRFLOW_HOME=$(CURDIR)/.homeval/airflow AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/$(DAGS) HOMEVAL_PLATFORM_BIN=$(CURDIR)/$(VENV)/bin/homeval

dag-run: install airflow-env  ## run the DAG once here, Airflow state in .homeval/airflow (DAG_CONF='{"mode": "local"}')
	$(AIRFLOW_LOCAL) $(AIRFLOW_VENV)/bin/airflow db migrate >/dev/null
	$(AIRFLOW_LOCAL) $(AIRFLOW_VENV)/bin/airflow dags test homeval_pipeline -c '$(DAG_CONF)'

up: install  ## start the whole platform locally (Ctrl-C stops it)
	$(VENV)/bin/homeval up

bench-ingest: install  ## ingest speed: homeval's COPY vs pandas to_sql (writes bench/ingest/RESULTS.md)
	$(PY) bench/ingest/run.py --datagen --write bench/ingest/RESULTS.md

bench-serving: install system-deps  ## predictor vs MLServer, mlflow serve, plain KServe (writes bench/serving/RESULTS.md, BREAKDOWN.md, THREADS.md)
	bench/serving/setup_peers.sh
	$(PY) bench/serving/prepare.py
	$(PY) bench/serving/run.py
	$(PY) bench/serving/breakdown.py
	$(PY) bench/serving/threads.py

images: install  ## build every image here (starts Debian's docker.io when no engine runs; stand-in bases offline; IMAGE_TAG=dev)
	$(PY) scripts/images.py --tag $(IMAGE_TAG) $(IMAGES)

system-deps:  ## Debian packages the tests use (prometheus, chromium, wrk, docker.io, debootstrap, nginx)
	scripts/install-system-deps.sh

CHECKOV_VERSION := 3.2.533
tools:  ## command-line tools the tests run, each in its own uv tool environment (checkov)
	@command -v $(UV) >/dev/null || scripts/install-uv.sh
	@checkov --version 2>/dev/null | grep -qx '$(CHECKOV_VERSION)' || \
		$(UV) tool install --quiet --force checkov==$(CHECKOV_VERSION)

lint: install  ## ruff lint + format check, and which way imports flow (tests/test_layers.py)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/test_layers.py

format: install  ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install  ## mypy
	$(VENV)/bin/mypy

unit: install  ## pytest only (PYTEST_ARGS=... to narrow)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

deploy-check: install tools  ## offline cluster checks: manifests, Argo CD, workflows, Dockerfiles, dashboards
	$(VENV)/bin/pytest tests/deploy tests/scripts tests/images/test_dockerfiles.py \
		tests/images/test_airflow_dockerfile.py $(PYTEST_ARGS)

test: install airflow-env system-deps tools lint typecheck  ## everything CI runs
	$(VENV)/bin/pytest $(PYTEST_ARGS)
	$(AIRFLOW_VENV)/bin/pytest tests/pipelines/dags

docs: install  ## regenerate the generated parts of the README (settings table)
	$(PY) -m homeval.platform.settings_table README.md

reset:  ## delete the local platform's data (.homeval: store, registry, feed cursors, logs); keep the virtualenvs
	rm -rf .homeval

clean:  ## remove local state and virtualenvs
	rm -rf .homeval $(VENV) $(AIRFLOW_VENV) .mypy_cache .ruff_cache .pytest_cache
