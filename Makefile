# The two README commands (`make demo`, `make test`) and the rest. Each command sets up only what it needs, in
# layers; each layer has its own stamp and re-runs only when its inputs change (or its folder is deleted):
#
#   serving set   .venv/.stamp-serve        pip install -e .               pyproject.toml
#                 node_modules/.stamp-npm   npm ci (anvil, ethers, axe-core) package.json, package-lock.json
#                 .build/.stamp-compile     ape compile                    contracts/, ape-config.yaml, serving set
#   test set      .venv/.stamp-test         pip install -e '.[dev,train]'  serving set (+ ruff, mypy in dev)
#                 tests/contracts/solidity/node_modules/.stamp-npm  npm ci (solcjs, tests only)  its package files
#                 apt-packages              chromium, postgresql           checked with dpkg on every run
#   training      .venv/.stamp-train        pip install -e '.[train]'      serving set
#
# demo, demo-once, lifecycle, bench, bench-gas, bench-model and compile need only the serving set (no torch, no
# Debian packages); test and test-contracts the test set; train the training set. The test set installs the
# extras on top of the serving set, so `make demo` then `make test` only adds the extras, and `make test` then
# `make demo` installs nothing.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
ANVIL_BIN := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin
export PATH := $(CURDIR)/$(VENV)/bin:$(ANVIL_BIN):$(PATH)
# the stateful contract test: examples x at most STEPS steps each (about 41 on average), and the fewest
# steps the run must actually make; raise all three for a longer search
STATEFUL_EXAMPLES ?= 55
STATEFUL_STEPS ?= 50
STATEFUL_MIN_STEPS ?= 2000
export STATEFUL_EXAMPLES STATEFUL_STEPS STATEFUL_MIN_STEPS
APT_PACKAGES ?= chromium postgresql
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# `make train TRAIN_ARGS='--epochs 2'`; the defaults are the published recipe (models/MODEL_CARD.md)
TRAIN_ARGS ?=

STAMP_SERVE := $(VENV)/.stamp-serve
STAMP_TEST := $(VENV)/.stamp-test
STAMP_TRAIN := $(VENV)/.stamp-train
STAMP_NPM := node_modules/.stamp-npm
STAMP_COMPILE := .build/.stamp-compile
SOLIDITY_TESTS := tests/contracts/solidity
STAMP_SOLC := $(SOLIDITY_TESTS)/node_modules/.stamp-npm
CONTRACT_SOURCES := $(shell find contracts -type f)

.PHONY: setup setup-serve setup-test setup-train apt-packages demo demo-once lifecycle test test-contracts \
	bench bench-gas bench-model bench-load chaos fuzz compile lint train clean test-long

# Everything `make test` needs (the serving set, the dev and train extras, the Debian packages).
setup: setup-test

setup-serve: $(STAMP_SERVE) $(STAMP_NPM) $(STAMP_COMPILE)

setup-test: setup-serve $(STAMP_TEST) $(STAMP_SOLC) apt-packages

setup-train: $(STAMP_TRAIN)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_SERVE): pyproject.toml | $(VENV)/bin/python
	@echo "==> Python packages of the serving set (pip install -e .: ape, web3, aiohttp, onnxruntime; no torch)"
	$(VENV)/bin/pip install --progress-bar on -e .
	touch $@

$(STAMP_TEST): $(STAMP_SERVE)
	@echo "==> Python packages of the tests and training (pip install -e '.[dev,train]'; torch installs from local disk, ~2 min the first time)"
	$(VENV)/bin/pip install --progress-bar on -e '.[dev,train]'
	touch $@ $(STAMP_TRAIN)

$(STAMP_TRAIN): $(STAMP_SERVE)
	@echo "==> Python packages of model training (pip install -e '.[train]'; torch installs from local disk)"
	$(VENV)/bin/pip install --progress-bar on -e '.[train]'
	touch $@

$(STAMP_NPM): package.json package-lock.json
	@echo "==> anvil, the dApp's ethers and the browser tests' axe-core from npm"
	npm ci --no-audit --no-fund
	anvil --version | head -1
	touch $@

# solcjs, only for the tests' second ERC-792 arbitrator (Solidity, sharing no code with PanelArbitrator)
$(STAMP_SOLC): $(SOLIDITY_TESTS)/package.json $(SOLIDITY_TESTS)/package-lock.json
	@echo "==> solcjs from npm for the tests' Solidity arbitrator"
	npm ci --no-audit --no-fund --prefix $(SOLIDITY_TESTS)
	touch $@

$(STAMP_COMPILE): $(CONTRACT_SOURCES) ape-config.yaml $(STAMP_SERVE)
	@echo "==> compiling contracts"
	ape compile
	touch $@

# Browser tests drive /usr/bin/chromium; node store tests start a throwaway PostgreSQL. Installed only if missing.
apt-packages:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "==> Debian packages:" $$missing; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

compile: setup-serve
	ape compile

# The whole stack with the sample claims, then the dApp served until Ctrl-C; `make demo-once` exits after the claims.
demo: setup-serve
	claims-oracle demo

demo-once: setup-serve
	claims-oracle demo --once

lifecycle: setup-serve
	claims-oracle lifecycle

# Two runs: everything on ape's embedded EVM, then the anvil-marked modules on a real anvil node.
test: setup-test lint
	pytest -m "not anvil"
	pytest -m anvil --network ethereum:local:foundry

# The contract tests need neither chromium nor PostgreSQL.
test-contracts: setup-serve $(STAMP_TEST)
	pytest -m "not anvil" tests/contracts
	pytest -m anvil --network ethereum:local:foundry tests/contracts

# The contracts' state machine for at least 100,000 steps (outside CI; the README reports its last run).
test-long: STATEFUL_EXAMPLES = 2100
test-long: STATEFUL_MIN_STEPS = 100000
test-long: setup-serve $(STAMP_TEST)
	@start=$$(date +%s); pytest -q -s -p no:cacheprovider -m anvil --network ethereum:local:foundry \
		tests/contracts/test_stateful.py > bench/test-long.log 2>&1; \
		status=$$?; grep -E "stateful machine ran|passed|failed" bench/test-long.log; \
		echo "test-long: exit $$status after $$(( $$(date +%s) - start )) s" | tee -a bench/test-long.log; exit $$status

# ruff (lint and format) and mypy, the first step of `make test`: all three run, and the target fails if any fails.
# The format check names the files only (`ruff format --diff oracle tests` shows the changes).
lint: $(STAMP_TEST)
	@status=0; \
	( set -x; ruff check oracle tests ) || status=1; \
	( set -x; ruff format --check --output-format concise oracle tests ) || status=1; \
	( set -x; mypy oracle ) || status=1; \
	exit $$status

bench-gas: setup-serve
	claims-oracle lifecycle --gas-json bench/gas.json

bench-model: setup-serve
	claims-oracle model bench

# End to end on anvil: claim-to-decision latency (2-of-3), one node's throughput, the bare model; bench/e2e.json.
bench: bench-gas
	claims-oracle bench

# The gateway's bridge (uncached real claims) and uploads at 20, 50 and 100 concurrent clients: accepted per second,
# p50 and p95 of accepted requests, shed rate; bench/load.json (no nodes run: the gateway has the machine).
bench-load: setup-serve
	claims-oracle load

# 100 claims with real photos while 20 random SIGKILLs hit the 2-of-3 committee's node processes; each claim must be
# decided exactly once, with no conflicting votes or reports (exit 1 otherwise); bench/chaos.json.
chaos: setup-serve
	claims-oracle chaos --claims 100 --kills 20

# 10,000 generated requests across every gateway route on anvil, counted by status (target: no 5xx); bench/fuzz.json.
fuzz: setup-serve
	claims-oracle fuzz --requests 10000

# Trains from the ImageNet weights into models/runs/train (about an hour on 2 cores); `claims-oracle model export`
# then writes models/damage.onnx, which changes the on-chain model hash.
train: setup-train
	claims-oracle model train $(TRAIN_ARGS)

clean:
	rm -rf .build .stamp-setup $(STAMP_SERVE) $(STAMP_TEST) $(STAMP_TRAIN) $(STAMP_NPM) .pytest_cache .hypothesis .ruff_cache .mypy_cache
