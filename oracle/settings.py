"""The oracle's one typed settings object, read from environment variables prefixed CLAIMS_ORACLE_."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oracle.deployment import read_deployment
from oracle.domain import REPO_ROOT

NODE_BATCH_CLAIMS = 8  # waiting claims a node assesses together: one model call for all their photos
LOG_CHUNK_BLOCKS = 2_000  # blocks one eth_getLogs asks for at most (public RPC providers refuse long ranges)
GWEI = 10**9
MAX_FEE_CAP_GWEI = 500  # the highest maxFeePerGas a replaced vote may offer, in gwei
LOW_BALANCE_VOTES = 20  # a node warns when its balance cannot pay for this many more votes
REPLACE_AFTER_S = 30.0  # a vote unmined this long is replaced at its nonce with higher fees


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
    # a deployment record (`claims-oracle deploy --out`): the contract addresses, chain id and start block come
    # from it unless set on their own
    deployment: Path | None = None
    chain_id: int = Field(default=31337, ge=1)
    contract_address: str | None = None
    # the KeyDirectory where members publish the X25519 key claim evidence is sealed for (none: plain evidence only)
    key_directory_address: str | None = None
    confirmations: int = Field(default=2, ge=0, le=1000)
    start_block: int = Field(default=0, ge=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    log_chunk_blocks: int = Field(default=LOG_CHUNK_BLOCKS, ge=1, le=1_000_000)
    # a vote unmined after this long is replaced at the same nonce with fees 12.5% higher, up to the cap
    replace_after_s: float = Field(default=REPLACE_AFTER_S, gt=0)
    max_fee_cap_wei: int = Field(default=MAX_FEE_CAP_GWEI * GWEI, gt=0)
    # Prometheus metrics of a node on 127.0.0.1 at this port (none: not served)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    low_balance_votes: int = Field(default=LOW_BALANCE_VOTES, ge=1)
    node_batch_claims: int = Field(default=NODE_BATCH_CLAIMS, ge=1, le=256)

    # committee reports: one vote transaction per member, or one transaction carrying M signatures
    report_mode: Literal["vote", "aggregate"] = "vote"
    signature_relay_url: str | None = Field(default=None, pattern=r"^https?://")
    aggregate_fallback_s: float = Field(default=30.0, ge=0)

    # storage
    state_dir: Path = DEFAULT_STATE_DIR
    db_url: str = f"sqlite:///{DEFAULT_STATE_DIR / 'node.db'}"
    content_store_url: str = f"file://{DEFAULT_STATE_DIR / 'cas'}"
    # IPFS: with ipfs_peer the node (or gateway) runs its own Helia peer (ipfs/peer.mjs, repository in
    # state_dir/ipfs, keccak index in state_dir/ipfs-index.sqlite) as its content store instead of
    # content_store_url, dials ipfs_peers (multiaddrs with /p2p/ ids, a JSON list in the environment), and asks
    # the claims gateway at ipfs_gateway_url for keccak256 -> cid lookups and takes announcements of what it stores
    ipfs_peer: bool = False
    ipfs_peers: tuple[str, ...] = ()
    ipfs_gateway_url: str | None = Field(default=None, pattern=r"^https?://")

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

    @model_validator(mode="before")
    @classmethod
    def _from_deployment(cls, data: Any) -> Any:
        """Fill the addresses, chain id and start block from the deployment record, unless set on their own."""
        if not isinstance(data, dict) or not data.get("deployment"):
            return data
        record = read_deployment(Path(data["deployment"]))  # DeploymentRecordError is a ValueError: a clear message
        defaults = {
            "contract_address": record.address("ClaimsManager"),
            "key_directory_address": record.address("KeyDirectory"),
            "chain_id": record.chain_id,
            "start_block": record.block_number,
        }
        return {**{k: v for k, v in defaults.items() if v is not None}, **data}

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
