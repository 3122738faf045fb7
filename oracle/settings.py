"""The oracle's one typed settings object, read from environment variables prefixed CLAIMS_ORACLE_."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oracle.domain import REPO_ROOT

NODE_BATCH_CLAIMS = 8  # waiting claims a node assesses together: one model call for all their photos


DEFAULT_STATE_DIR = REPO_ROOT / "var"
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


class Settings(BaseSettings):
    """Everything configurable about an oracle node, adapter and gateway; the only reader of os.environ."""

    model_config = SettingsConfigDict(
        env_prefix="CLAIMS_ORACLE_",
        env_file=None,
        extra="ignore",
        frozen=True,
    )

    # chain
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = Field(default=31337, ge=1)
    contract_address: str | None = None
    # the KeyDirectory where members publish the X25519 key claim evidence is sealed for (none: plain evidence only)
    key_directory_address: str | None = None
    confirmations: int = Field(default=2, ge=0, le=1000)
    start_block: int = Field(default=0, ge=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    node_batch_claims: int = Field(default=NODE_BATCH_CLAIMS, ge=1, le=256)

    # committee reports: one vote transaction per member, or one transaction carrying M signatures
    report_mode: Literal["vote", "aggregate"] = "vote"
    signature_relay_url: str | None = Field(default=None, pattern=r"^https?://")
    aggregate_fallback_s: float = Field(default=30.0, ge=0)

    # storage
    state_dir: Path = DEFAULT_STATE_DIR
    db_url: str = f"sqlite:///{DEFAULT_STATE_DIR / 'node.db'}"
    content_store_url: str = f"file://{DEFAULT_STATE_DIR / 'cas'}"

    # adapter / gateway
    adapter_host: str = "127.0.0.1"
    adapter_port: int = Field(default=8080, ge=0, le=65535)
    adapter_max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    adapter_max_concurrency: int = Field(default=2, ge=1)
    # host names the dev-wallet relay answers under besides adapter_host (a JSON list in the environment)
    adapter_allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    adapter_max_queue: int = Field(default=8, ge=0)  # uncached assessments that may wait; more get a 503
    # hosts ("host" or "host:port") the bridge PATCHes async answers to: the Chainlink node's; none = no async mode
    adapter_callback_hosts: tuple[str, ...] = ()
    adapter_callback_pool: int = Field(default=8, ge=1)  # connections for those PATCHes, apart from everything else
    adapter_callback_timeout_s: float = Field(default=10.0, gt=0)
    # origins (scheme://host[:port]) upload permits must name; none: http://<each allowed host>:<the listening port>
    adapter_public_origins: tuple[str, ...] = ()

    # uploads (POST /content): per policy holder, per window; unreferenced uploads expire after the TTL
    upload_quota_count: int = Field(default=48, ge=1)  # four claims of 12 photos an hour
    upload_quota_bytes: int = Field(default=160 * 1024 * 1024, gt=0)
    upload_open_claims: int = Field(default=2, ge=1)  # claims' worth of uploads no submitted claim names yet
    upload_window_s: float = Field(default=3600.0, gt=0)
    upload_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    upload_sweep_interval_s: float = Field(default=300.0, gt=0)

    # model and data
    model_path: Path = REPO_ROOT / "models" / "damage.onnx"
    model_threads: int = Field(default=0, ge=0, le=256)  # ONNX Runtime threads per node (0: one per CPU)
    data_dir: Path = DEFAULT_DATA_DIR
    weather_api_url: str = "https://archive-api.open-meteo.com/v1/archive"
    weather_api_timeout_s: float = Field(default=10.0, gt=0)

    # limits
    max_photos: int = Field(default=12, ge=1)
    max_photo_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_blob_bytes: int = Field(default=16 * 1024 * 1024, gt=0)

    @field_validator("contract_address", "key_directory_address")
    @classmethod
    def _check_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value == "":
            return None
        if not (value.startswith("0x") and len(value) == 42):
            raise ValueError(f"{info.field_name} must be a 0x-prefixed 20-byte hex address, got {value!r}")
        try:
            int(value[2:], 16)
        except ValueError:
            raise ValueError(f"{info.field_name} is not hex: {value!r}") from None
        return value

    @property
    def tables_dir(self) -> Path:
        """Directory with the NOAA Storm Events bulk files and other tables."""
        return self.data_dir / "tables"


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with keyword overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
