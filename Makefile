# The two commands a newcomer needs: `make demo` and `make test`. Each installs what it needs by itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
# sam/cfn-lint must never reach a real account from the test suite.
export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0

# A Python 3.11+ for the venv (the package and CLI support 3.11+).
PYTHON ?= $(shell for p in python3.12 python3.11 python3.13 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo $$p; break; fi; done)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: need Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

.PHONY: install
install: $(STAMP) ## create .venv and install the package with its dev tools

.PHONY: demo
demo: $(STAMP) ## the whole loop on an embedded, emulated AWS (no account needed)
	PYTHONPATH=tests/harness $(BIN)/python -m emulated_aws.demo

.PHONY: lint
lint: $(STAMP) ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers tests
	@for f in functions/*/app.py; do echo "mypy $$f"; $(BIN)/mypy $$f || exit 1; done

.PHONY: unit
# 4 workers on 2 cores: the e2e and moto tests wait on the emulator's threads much of the time (a -n 2
# run keeps the load near 1); measured 285 s at -n 4 against 402 s at -n 2 for the same 779 tests.
unit: $(STAMP) ## pytest: unit, integration and end-to-end (the product, not the harness)
	$(BIN)/pytest -n 4 -q -m "not harness and not faults"

.PHONY: faults
faults: $(STAMP) ## pytest: the exhaustive fault tables of every apply step (minutes; outside `make test`)
	$(BIN)/pytest -n 2 -q -s -m faults

.PHONY: harness
harness: $(STAMP) ## pytest: the emulated AWS and the bench themselves (outside `make test`)
	$(BIN)/pytest -n 2 -q -m harness

.PHONY: template
template: $(STAMP) ## cfn-lint (the app and the member-account role) and sam validate --lint
	$(BIN)/cfn-lint template.yaml docs/member-account-role.yaml
	$(BIN)/sam validate --lint

# sam build needs a python3.12 for the Lambda runtime: from PATH, else pyenv's newest 3.12.
PY312_BIN = $(shell if python3.12 --version >/dev/null 2>&1; then dirname "$$(command -v python3.12)"; \
	elif command -v pyenv >/dev/null 2>&1; then ls -d "$$(pyenv root)"/versions/3.12.*/bin 2>/dev/null | sort -V | tail -1; fi)

.PHONY: build
build: $(STAMP) ## sam build (python3.12, arm64)
	@test -n "$(PY312_BIN)" || { echo "error: sam build needs python3.12: install it or 'pyenv install 3.12'"; exit 1; }
	PATH="$(PY312_BIN):$$PATH" $(BIN)/sam build --cached --parallel

# The layer's lock: every package the layer ships, with hashes, for the Lambda's python3.12 on arm64, without
# the SDK the runtime provides (layers/endpoint_optimizer/Makefile says why).
RUNTIME_PROVIDED := boto3 botocore s3transfer jmespath urllib3 python-dateutil six

.PHONY: lock
lock: $(STAMP) ## recompile the layer's hash-pinned requirements.txt from its requirements.in
	cd layers/endpoint_optimizer && UV_CUSTOM_COMPILE_COMMAND="make lock" $(CURDIR)/$(BIN)/uv pip compile \
		requirements.in --quiet --generate-hashes --python-version 3.12 --python-platform aarch64-manylinux2014 \
		--only-binary :all: $(RUNTIME_PROVIDED:%=--no-emit-package %) --output-file requirements.txt

.PHONY: test
# lint, template and build run beside pytest: its emulated workflows leave a core idle much of the time (they
# wait on the emulator's threads); together they stay within the 10-minute budget on 2 cores.
test: $(STAMP) ## everything that proves it works (CI runs this)
	$(MAKE) --no-print-directory -j4 --output-sync=target lint template unit build

.PHONY: bench
bench: $(STAMP) ## benchmarks: scan calls and wall time vs the common approach; decisions vs a labelled fleet
	PYTHONPATH=tests/harness $(BIN)/python -m emulated_aws.decision_bench
	PYTHONPATH=tests/harness $(BIN)/python -m emulated_aws.bench
	PYTHONPATH=tests/harness $(BIN)/python -m emulated_aws.metric_history

.PHONY: mutation
mutation: $(STAMP) ## mutants of the apply, approval and guard code vs a survivor budget (docs/mutation.md)
	$(BIN)/python tests/harness/mutation.py $(if $(FILES),--files $(FILES))

ENV ?= dev

.PHONY: deploy
deploy: build ## sam deploy --config-env $(ENV) (samconfig.toml: dev or prod; needs AWS credentials)
	$(BIN)/sam deploy --config-env $(ENV)

.PHONY: clean
clean: ## remove build output and the venv
	rm -rf .aws-sam $(VENV) .pytest_cache .mypy_cache .ruff_cache
