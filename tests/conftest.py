"""Shared pytest configuration: where the project and its data live."""

from pathlib import Path

import pytest

from oracle.domain import REPO_ROOT

# fixtures every test may use: the shared factories (claim, terms, tables_dir, ...) and the chain (anvil, deployed
# contracts, the model, node worlds, PostgreSQL)
pytest_plugins = ["tests.factories", "tests.chain_fixtures"]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real photos and tables beside the project; skips the test when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    """Skip anvil-marked tests unless pytest runs on ape's foundry (anvil) network."""
    network = str(config.getoption("network", default="") or "")
    if "foundry" in network:
        return
    skip = pytest.mark.skip(reason="needs anvil: pytest -m anvil --network ethereum:local:foundry (make test does)")
    for item in items:
        if "anvil" in item.keywords:
            item.add_marker(skip)
