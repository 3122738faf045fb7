"""The deployment record: where `claims-oracle deploy` put the contracts, read by nodes, the gateway and the dApp."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD_FORMAT = 1
"""The version of the record's JSON layout; a reader refuses any other."""
RECORDED_CONTRACTS = (
    "ClaimsManager",
    "ProductGovernor",
    "DisputeDesk",
    "KeyDirectory",
    "PanelArbitrator",
    "AssessmentRequests",
)
"""The contracts a record may name; all but the OPTIONAL_CONTRACTS must be there."""
OPTIONAL_CONTRACTS = ("PanelArbitrator", "AssessmentRequests")


class DeploymentRecordError(ValueError):
    """A deployment record that cannot be read or is not a record of this format."""


@dataclass(frozen=True)
class DeployedContract:
    """One deployed contract: its address and the sha256 of the ABI it was compiled with."""

    address: str
    abi_sha256: str


@dataclass(frozen=True)
class Deployment:
    """A deployment: the chain, the first block any of its contracts lives in, the code version and contracts."""

    chain_id: int
    block_number: int
    code_version: str
    deployer: str
    contracts: dict[str, DeployedContract]
    product_ids: tuple[int, ...] = ()

    def address(self, name: str) -> str | None:
        """The address of contract `name`, or None if the deployment has none."""
        contract = self.contracts.get(name)
        return None if contract is None else contract.address

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data (the file's layout)."""
        return {
            "format": RECORD_FORMAT,
            "chainId": self.chain_id,
            "blockNumber": self.block_number,
            "codeVersion": self.code_version,
            "deployer": self.deployer,
            "contracts": {
                name: {"address": c.address, "abiSha256": c.abi_sha256} for name, c in sorted(self.contracts.items())
            },
            "productIds": list(self.product_ids),
        }

    def write(self, path: Path) -> None:
        """Write the record to `path` (a new file replaces the old one whole)."""
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        partial.replace(path)


def _address(value: Any, where: str) -> str:
    """A 0x-hex 20-byte address from a record, or a DeploymentRecordError naming `where`."""
    if not (isinstance(value, str) and value.startswith("0x") and len(value) == 42):
        raise DeploymentRecordError(f"{where} is not a 0x-prefixed 20-byte address: {value!r}")
    try:
        int(value[2:], 16)
    except ValueError:
        raise DeploymentRecordError(f"{where} is not hex: {value!r}") from None
    return value


def _count(value: Any, where: str) -> int:
    """A non-negative integer from a record, or a DeploymentRecordError naming `where`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DeploymentRecordError(f"{where} must be a non-negative integer, got {value!r}")
    return value


def read_deployment(path: Path) -> Deployment:
    """Read and check a deployment record; any problem raises DeploymentRecordError saying what and where."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise DeploymentRecordError(f"cannot read the deployment record {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DeploymentRecordError(f"the deployment record {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise DeploymentRecordError(f"{path} is not a deployment record of format {RECORD_FORMAT}")
    contracts_data = data.get("contracts")
    if not isinstance(contracts_data, dict):
        raise DeploymentRecordError(f"{path}: 'contracts' must be an object of name -> address and ABI hash")
    contracts = {}
    for name in RECORDED_CONTRACTS:
        entry = contracts_data.get(name)
        if entry is None and name in OPTIONAL_CONTRACTS:
            continue
        if not isinstance(entry, dict):
            raise DeploymentRecordError(f"{path}: contracts.{name} is missing")
        digest = entry.get("abiSha256")
        if not (isinstance(digest, str) and len(digest) == 64):
            raise DeploymentRecordError(f"{path}: contracts.{name}.abiSha256 is not a sha256 hex digest")
        contracts[name] = DeployedContract(_address(entry.get("address"), f"{path}: contracts.{name}.address"), digest)
    products = data.get("productIds", [])
    if not isinstance(products, list):
        raise DeploymentRecordError(f"{path}: 'productIds' must be a list")
    return Deployment(
        chain_id=_count(data.get("chainId"), f"{path}: chainId"),
        block_number=_count(data.get("blockNumber"), f"{path}: blockNumber"),
        code_version=str(data.get("codeVersion", "")),
        deployer=_address(data.get("deployer"), f"{path}: deployer"),
        contracts=contracts,
        product_ids=tuple(_count(p, f"{path}: productIds") for p in products),
    )
