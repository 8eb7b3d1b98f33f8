# One command surface: make up / make down / make test / make bench.
# Real Kafka (KRaft, jars from Maven Central) and FerretDB (built via the Go module proxy) run without Docker;
# see deploy/local/README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
export SB_KAFKA_BOOTSTRAP ?= 127.0.0.1:9092
export SB_MONGODB_URL ?= mongodb://127.0.0.1:27017/
# Tools make installs (uv when missing, kustomize when kubectl is missing) live beside deploy/local's download
# cache, a directory a plain shell's PATH does not have: make uses them by absolute path and puts the directory
# first on the PATH of everything it runs (the scripts, the tests).
CACHE_DIR := $(or $(SB_CACHE_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/switchboard)
TOOLS_BIN := $(CACHE_DIR)/bin
export PATH := $(TOOLS_BIN):$(PATH)
# uv: the copy make installed, else the one on the PATH, else the copy `make sync` installs from PyPI.
ifeq ($(origin UV),undefined)
UV := $(firstword $(wildcard $(TOOLS_BIN)/uv) $(shell command -v uv 2>/dev/null) $(TOOLS_BIN)/uv)
endif
export UV
# uv's own certificate bundle does not know a corporate or sandbox proxy's CA; the system store does.
# (UV_NATIVE_TLS: the same switch under its name before uv 0.13.)
export UV_SYSTEM_CERTS ?= true
export UV_NATIVE_TLS ?= true

.PHONY: help sync tools infra-up infra-down infra-status up down status lint typecheck test test-unit bench soak docs generate clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

sync: ## install the workspace (one uv.lock) into .venv, uv itself from PyPI when missing, the console's htmx from npm
	@deploy/local/tools.sh uv "$(UV)" $(UV_VERSION)
	$(UV) sync --all-packages --locked
	@$(UV) run --no-sync python deploy/local/vendor_assets.py

tools: ## what the tests need beyond `make up`: docker-compose, promtool and chromium (apt), kustomize, the operators' CRDs
	@deploy/local/tools.sh test "$(TOOLS_BIN)"
	@deploy/local/tools.sh crds

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
	$(UV) run mypy shared/contracts/src shared/platform/src shared/testing/src services/*/src cli/src conftest.py shared/tests services/*/tests cli/tests tests \
		docs/generate_asyncapi.py bench deploy/local/readme_walkthrough.py deploy/observability/generate.py \
		deploy/local/vendor_assets.py

test-unit: sync ## unit tests only (no infrastructure)
	$(UV) run pytest -m unit

test: lint typecheck tools infra-up ## lint, type check and every test against real Kafka + FerretDB
	$(UV) run pytest

.PHONY: fuzz
FUZZ_EXAMPLES ?= 100
fuzz: infra-up ## schemathesis (FUZZ_EXAMPLES per operation, + coverage phase) and hostile payloads; counts in .run/fuzz-report.json
	SB_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SB_FUZZ_PHASES=examples,coverage,fuzzing SB_FUZZ_REPORT=.run/fuzz-report.json \
		$(UV) run pytest tests/fuzz -m fuzz $(FUZZ_ARGS)

BENCH ?= all
bench: infra-up ## benchmarks (BENCH=dispatch|pipeline|scale|console|deliverylog|all; BENCH_ARGS, PIPELINE_ARGS, SCALE_ARGS, CONSOLE_ARGS), results in bench/results
	$(if $(filter dispatch all,$(BENCH)),$(UV) run python bench/dispatch/run.py $(BENCH_ARGS))
	$(if $(filter pipeline all,$(BENCH)),$(UV) run python bench/pipeline/run.py $(PIPELINE_ARGS))
	$(if $(filter scale all,$(BENCH)),$(UV) run python bench/scale/run.py $(SCALE_ARGS))
	$(if $(filter console all,$(BENCH)),$(UV) run python bench/console/run.py $(CONSOLE_ARGS))
	$(if $(filter deliverylog,$(BENCH)),$(UV) run python -m bench.deliverylog.run $(BENCH_ARGS))

soak: infra-up ## the whole pipeline for 30 min (SOAK_ARGS="--minutes 5"); fails on growth, lag or loss
	$(UV) run python -m bench.soak.run $(SOAK_ARGS)

docs: sync ## regenerate docs/asyncapi.json from the FastStream apps
	$(UV) run python docs/generate_asyncapi.py

generate: sync ## rewrite the derived operations files: Strimzi topics, PrometheusRule, Grafana dashboard
	$(UV) run python deploy/observability/generate.py

clean: ## remove run state (logs, pids); keeps the download cache
	rm -rf .run
