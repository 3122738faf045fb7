# The two README commands (`make demo`, `make test`) and the rest. Setup is idempotent: it re-runs
# only when pyproject.toml or package.json change.

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

.PHONY: setup demo demo-once lifecycle test test-contracts bench bench-gas bench-model compile clean

setup: .stamp-setup

.stamp-setup: pyproject.toml package.json package-lock.json
	@echo "==> Debian packages: $(APT_PACKAGES) (browser tests drive /usr/bin/chromium; node store tests start a throwaway PostgreSQL)"
	missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi
	@echo "==> Python virtual environment and packages (torch installs from local disk, ~2 min the first time)"
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --progress-bar on -e '.[dev,train]'
	@echo "==> anvil and the dApp's ethers from npm"
	npm ci --no-audit --no-fund
	anvil --version | head -1
	@echo "==> compiling contracts"
	ape compile
	touch $@

compile: setup
	ape compile

# The whole stack with the sample claims, then the dApp served until Ctrl-C; `make demo-once` exits after the claims.
demo: setup
	claims-oracle demo

demo-once: setup
	claims-oracle demo --once

lifecycle: setup
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

bench-model: setup
	claims-oracle model bench

# End to end on anvil: claim-to-decision latency (2-of-3), one node's throughput, the bare model; bench/e2e.json.
bench: bench-gas
	claims-oracle bench

clean:
	rm -rf .build .stamp-setup .pytest_cache .hypothesis
