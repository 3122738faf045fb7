"""Tests for the settings object and the import layering of the oracle core."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from oracle.settings import DEFAULT_DATA_DIR, REPO_ROOT, Settings


def test_settings__no_environment__defaults_point_into_repo_and_shared_data(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("CLAIMS_ORACLE_"):
            monkeypatch.delenv(name)
    s = Settings()
    assert s.db_url.startswith("sqlite:///") and s.content_store_url.startswith("file://")
    assert s.data_dir == DEFAULT_DATA_DIR == REPO_ROOT.parent / "shared" / "data"
    assert s.tables_dir == DEFAULT_DATA_DIR / "tables"
    assert (s.max_photos, s.max_photo_bytes) == (12, 10 * 1024 * 1024)


def test_settings__env_prefix__overrides_values(monkeypatch):
    monkeypatch.setenv("CLAIMS_ORACLE_CHAIN_ID", "11155111")
    monkeypatch.setenv("CLAIMS_ORACLE_CONTENT_STORE_URL", "memory://")
    monkeypatch.setenv("CLAIMS_ORACLE_CONTRACT_ADDRESS", "0x" + "ab" * 20)
    s = Settings()
    assert (s.chain_id, s.content_store_url, s.contract_address) == (11155111, "memory://", "0x" + "ab" * 20)


@pytest.mark.parametrize(
    "name, value",
    [
        ("CLAIMS_ORACLE_CHAIN_ID", "zero"),
        ("CLAIMS_ORACLE_CONTRACT_ADDRESS", "0x12"),
        ("CLAIMS_ORACLE_ADAPTER_PORT", "70000"),
    ],
)
def test_settings__bad_env_value__raises_naming_field(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("CLAIMS_ORACLE_").lower()):
        Settings()


def test_oracle_core__imported__pulls_in_no_vision_node_adapter_or_chain():
    code = (
        "import sys, oracle.assess, oracle.explain, oracle.cas, oracle.sources.noaa, oracle.sources.open_meteo, "
        "oracle.sources.terms, oracle.settings\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['oracle','vision'],['oracle','node'],['oracle','adapter'],['oracle','chain']))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip() == ""


def test_oracle_core__source_files__read_environment_only_in_settings():
    offenders = [
        str(p.relative_to(REPO_ROOT))
        for pkg in ("assess", "explain", "cas", "sources")
        for p in (REPO_ROOT / "oracle" / pkg).rglob("*.py")
        if "os.environ" in p.read_text() or "getenv" in p.read_text()
    ]
    assert offenders == []
