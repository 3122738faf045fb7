# The two README commands (`make demo`, `make test`) and the rest. Setup is idempotent: it re-runs
# only when pyproject.toml or package.json change.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
ANVIL_BIN := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin
export PATH := $(CURDIR)/$(VENV)/bin:$(ANVIL_BIN):$(PATH)
# how many stateful-test steps hypothesis runs (examples x steps); raise for a longer search
STATEFUL_EXAMPLES ?= 40
STATEFUL_STEPS ?= 50
export STATEFUL_EXAMPLES STATEFUL_STEPS

.PHONY: setup demo test test-contracts bench-gas compile clean

setup: .stamp-setup

.stamp-setup: pyproject.toml package.json package-lock.json
	@echo "==> Python virtual environment and packages (torch installs from local disk, ~2 min the first time)"
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --progress-bar on -e '.[dev,train]'
	@echo "==> anvil from npm"
	npm ci --no-audit --no-fund
	anvil --version | head -1
	@echo "==> compiling contracts"
	ape compile
	touch $@

compile: setup
	ape compile

demo: setup
	claims-oracle lifecycle

# Two runs: everything on ape's embedded EVM, then the anvil-marked modules on a real anvil node.
test: setup
	pytest -m "not anvil"
	pytest -m anvil --network ethereum:local:foundry

test-contracts: setup
	pytest -m "not anvil" tests/contracts
	pytest -m anvil --network ethereum:local:foundry tests/contracts

bench-gas: setup
	claims-oracle lifecycle --gas-json bench/gas.json

clean:
	rm -rf .build .stamp-setup .pytest_cache .hypothesis
