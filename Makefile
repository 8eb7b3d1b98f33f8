# One command surface: make up / make down / make test / make bench.
# Real Kafka (KRaft, jars from Maven Central) and FerretDB (built via the Go module proxy) run without Docker;
# see deploy/local/README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
# uv from PATH, else the copy `make` installs from PyPI into ~/.local/bin on first use.
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export SB_KAFKA_BOOTSTRAP ?= 127.0.0.1:9092
export SB_MONGODB_URL ?= mongodb://127.0.0.1:27017/
# Tools built on demand (kustomize when kubectl is missing) live beside deploy/local's download cache.
TOOLS_BIN := $(or $(SB_CACHE_DIR),$(HOME)/.cache/switchboard)/bin
export PATH := $(TOOLS_BIN):$(PATH)

.PHONY: help sync tools infra-up infra-down infra-status up down status lint typecheck test test-unit bench soak docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

sync: ## install the workspace (one uv.lock) into .venv
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check --user uv==$(UV_VERSION)
	$(UV) sync --all-packages --locked

tools: ## kustomize for the deploy/k8s tests when kubectl (which contains it) is missing, via the Go module proxy
	@command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1 \
		|| GOBIN=$(TOOLS_BIN) go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0

infra-up: sync ## start Kafka + FerretDB on loopback (idempotent; cached downloads)
	deploy/local/infra.sh up

infra-down: ## stop the local Kafka + FerretDB started by infra-up
	deploy/local/infra.sh down

infra-status: ## show whether the local Kafka + FerretDB are running
	deploy/local/infra.sh status

up: infra-up ## start infrastructure and the four services in the background; waits for /readyz
	deploy/local/services.sh up

down: ## stop what `make up` started (services, then infrastructure it started)
	deploy/local/services.sh down
	deploy/local/infra.sh down

status: ## show the services' and infrastructure's state
	deploy/local/services.sh status
	deploy/local/infra.sh status

lint: sync ## ruff lint + format check
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: sync ## mypy strict over every package and its tests
	$(UV) run mypy shared/src services/*/src conftest.py shared/tests services/*/tests tests docs/generate_asyncapi.py bench

test-unit: sync ## unit tests only (no infrastructure)
	$(UV) run pytest -m unit

test: lint typecheck tools infra-up ## lint, type check and every test against real Kafka + FerretDB
	$(UV) run pytest

bench: infra-up ## benchmarks under bench/, results recorded in bench/results
	$(UV) run python bench/dispatch/run.py $(BENCH_ARGS)

soak: infra-up ## the whole pipeline for 30 min (SOAK_ARGS="--minutes 5"); fails on growth, lag or loss
	$(UV) run python -m bench.soak.run $(SOAK_ARGS)

docs: sync ## regenerate docs/asyncapi.json from the FastStream apps
	$(UV) run python docs/generate_asyncapi.py

clean: ## remove run state (logs, pids); keeps the download cache
	rm -rf .run
