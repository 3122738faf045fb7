"""`claims-oracle deploy`: deploy the contracts from a locally signing account and write the deployment record."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import Web3Exception

from oracle.chain.contracts import BuildMissingError, abi_sha256
from oracle.chain.deploy import (
    ETH,
    ZERO_ADDRESS,
    Sender,
    create_product,
    demo_product_config,
    deploy_arbitrator,
    deploy_contracts,
    deploy_requests,
    sender_address,
)
from oracle.deployment import DeployedContract, Deployment
from oracle.domain import MAX_CLASS_FACTOR_BPS, MAX_VEHICLE_CLASSES, REPO_ROOT
from oracle.explain.document import describe_code_version
from oracle.node.signer import add_key_arguments, signer_from_args
from oracle.settings import load_settings

APE_CONFIG = REPO_ROOT / "ape-config.yaml"
"""Where `--network` names are looked up (ape's own configuration of the project)."""
PANEL_ARBITRATOR = "panel"
"""A product file's `arbitrator` that names the PanelArbitrator this command deploys."""
REQUIRED_PRODUCT_FIELDS = ("committee", "threshold", "models", "termsHash")


class DeployInputError(ValueError):
    """A command-line value or product file this command cannot use."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle deploy`."""
    chain = parser.add_mutually_exclusive_group()
    chain.add_argument("--rpc-url", help="JSON-RPC endpoint of the chain (CLAIMS_ORACLE_RPC_URL)")
    chain.add_argument(
        "--network",
        help="a network named in ape-config.yaml's `node:` section, as ECOSYSTEM:NETWORK or NETWORK (ethereum), "
        "e.g. ethereum:sepolia; its `uri` (environment variables expanded) is the RPC endpoint",
    )
    add_key_arguments(parser)
    parser.add_argument(
        "--panel", help="comma-separated panelist addresses: also deploy a PanelArbitrator with this panel"
    )
    parser.add_argument("--quorum", type=int, default=2, help="panelists whose votes rule a dispute (default 2)")
    parser.add_argument(
        "--fee", type=int, default=ETH // 100, help="the panel's arbitration fee in wei (default 0.01 ETH)"
    )
    parser.add_argument(
        "--product",
        type=Path,
        help="JSON file of a product to create and fund: the ProductGovernor.createProduct fields (committee, "
        "threshold, models, termsHash required; arbitrator 'panel' names the deployed panel; classFactors, each "
        "vehicle class's premium in basis points of the premium, in the terms' cost-schedule order) and capital in wei",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("deployment.json"), help="where to write the deployment record"
    )


def _hex32(value: Any, field: str) -> bytes:
    """A 0x-hex 32-byte value of the product file."""
    if not (isinstance(value, str) and value.startswith("0x") and len(value) == 66):
        raise DeployInputError(f"product field {field} must be 0x-hex of 32 bytes, got {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise DeployInputError(f"product field {field} is not hex: {value!r}") from None


def _address(value: Any, field: str) -> str:
    """A checksummed address from a product field or option."""
    if not (isinstance(value, str) and Web3.is_address(value)):
        raise DeployInputError(f"{field} must be a 0x-prefixed 20-byte address, got {value!r}")
    return Web3.to_checksum_address(value)


def _wei(value: Any, field: str) -> int:
    """A non-negative integer given as a JSON number or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DeployInputError(f"product field {field} must be an integer, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise DeployInputError(f"product field {field} must be an integer, got {value!r}") from None
    if number < 0:
        raise DeployInputError(f"product field {field} must not be negative, got {number}")
    return number


def _class_factors(value: Any) -> list[int]:
    """A product file's classFactors: 1..MAX_VEHICLE_CLASSES factors, each 1..MAX_CLASS_FACTOR_BPS basis points."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_VEHICLE_CLASSES:
        raise DeployInputError(
            f"product field classFactors must list 1..{MAX_VEHICLE_CLASSES} factors (basis points of the premium, "
            f"one per cost-schedule class), got {value!r}"
        )
    factors = [_wei(factor, "classFactors") for factor in value]
    if not all(1 <= factor <= MAX_CLASS_FACTOR_BPS for factor in factors):
        raise DeployInputError(
            f"product field classFactors must hold factors of 1..{MAX_CLASS_FACTOR_BPS}, got {factors}"
        )
    return factors


def product_from_file(path: Path) -> tuple[dict[str, Any], int]:
    """The createProduct config and the capital (wei) of a product file, with the demo product's defaults for
    the fields it leaves out; an arbitrator of 'panel' stays that placeholder until the panel is deployed."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise DeployInputError(f"cannot read the product file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DeployInputError(f"the product file {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DeployInputError(f"the product file {path} must hold a JSON object")
    missing = [name for name in REQUIRED_PRODUCT_FIELDS if name not in data]
    if missing:
        raise DeployInputError(f"the product file {path} lacks {', '.join(missing)}")
    capital = _wei(data.pop("capital", 0), "capital")
    arbitrator = data.pop("arbitrator", PANEL_ARBITRATOR)
    if arbitrator != PANEL_ARBITRATOR:
        arbitrator = _address(arbitrator, "product field arbitrator")
    committee = data.pop("committee")
    if not isinstance(committee, list) or not committee:
        raise DeployInputError("product field committee must be a non-empty list of addresses")
    models = data.pop("models")
    if not isinstance(models, list) or not models:
        raise DeployInputError("product field models must be a non-empty list of 0x-hex model hashes")
    config = demo_product_config(
        [_address(member, "committee member") for member in committee],
        _wei(data.pop("threshold"), "threshold"),
        arbitrator,
        _hex32(models[0], "models"),
        _hex32(data.pop("termsHash"), "termsHash"),
    )
    config["models"] = [_hex32(model, "models") for model in models]
    for name, value in data.items():
        if name not in config:
            raise DeployInputError(f"unknown product field {name!r}; known: {sorted(config)}")
        if name == "asset":
            config[name] = _address(value, "product field asset")
        elif name == "arbitratorExtraData":
            config[name] = bytes.fromhex(str(value).removeprefix("0x"))
        elif name == "metaEvidenceURI":
            config[name] = str(value)
        elif name == "classFactors":
            config[name] = _class_factors(value)
        else:
            config[name] = _wei(value, name)
    if config["asset"] != ZERO_ADDRESS and capital:
        raise DeployInputError("this command funds ETH products only; deposit ERC-20 capital separately")
    return config, capital


def deploy_all(
    w3: Web3,
    deployer: Sender,
    panel: list[str] | None,
    quorum: int,
    fee: int,
    product: tuple[dict[str, Any], int] | None,
    code_version: str,
) -> Deployment:
    """Deploy the arbitrator (if a panel is given) and the claims contracts, create the product, return the record."""
    start = w3.eth.block_number + 1  # no contract of this deployment can live below the next block
    contracts: dict[str, str] = {}
    panel_address = None
    if panel is not None:
        arbitrator = deploy_arbitrator(w3, deployer, panel, quorum, fee)
        panel_address = arbitrator.address
        contracts["PanelArbitrator"] = arbitrator.address
    deployed = deploy_contracts(w3, deployer)
    contracts.update(
        ClaimsManager=deployed.manager.address,
        ProductGovernor=deployed.governor.address,
        DisputeDesk=deployed.desk.address,
        KeyDirectory=deployed.keys.address,
        AssessmentRequests=deploy_requests(w3, deployer, deployed.manager.address).address,
    )
    product_ids: tuple[int, ...] = ()
    if product is not None:
        config, capital = product
        if config["arbitrator"] == PANEL_ARBITRATOR:
            config = {**config, "arbitrator": panel_address}
        product_ids = (create_product(deployed.manager, deployer, config, capital),)
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        block_number=start,
        code_version=code_version,
        deployer=sender_address(deployer),
        contracts={name: DeployedContract(address, abi_sha256(name)) for name, address in contracts.items()},
        product_ids=product_ids,
    )


def _panel(args: argparse.Namespace) -> list[str] | None:
    """The --panel addresses, checked against --quorum."""
    if not args.panel:
        return None
    panel = [_address(member.strip(), "--panel member") for member in args.panel.split(",") if member.strip()]
    if not 1 <= args.quorum <= len(panel):
        raise DeployInputError(f"--quorum must be between 1 and the panel's size {len(panel)}, got {args.quorum}")
    if args.fee < 0:
        raise DeployInputError(f"--fee must not be negative, got {args.fee}")
    return panel


def network_rpc_url(choice: str, config_path: Path | None = None) -> str:
    """The RPC endpoint ape-config.yaml gives a network (`node: ECOSYSTEM: NETWORK: uri:`), env variables expanded."""
    config_path = config_path or APE_CONFIG
    ecosystem, _, network = choice.rpartition(":")
    ecosystem = ecosystem.split(":")[0] if ecosystem else "ethereum"
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DeployInputError(f"cannot read the networks in {config_path}: {exc}") from None
    networks = (config.get("node") or {}).get(ecosystem) or {}
    entry = networks.get(network) if isinstance(networks, dict) else None
    uri = entry.get("uri") if isinstance(entry, dict) else None
    if not isinstance(uri, str):
        known = sorted(f"{ecosystem}:{name}" for name in networks) if isinstance(networks, dict) else []
        raise DeployInputError(
            f"network {choice!r} has no `node: {ecosystem}: {network}: uri:` in {config_path}; named there: "
            f"{', '.join(known) or 'none'}"
        )
    expanded = os.path.expandvars(uri)
    if "$" in expanded:
        raise DeployInputError(f"network {choice!r}: set the environment variable in its uri {uri!r}")
    return expanded


def public_endpoint(url: str) -> str:
    """An RPC URL as it may be printed: scheme, host and port only (a provider's token rides in the path, the query
    or the user info, and error output ends up in CI logs)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}" if parts.scheme else "the configured RPC endpoint"


def scrub_endpoint(text: str, url: str) -> str:
    """`text` (an error's message) with every part of `url` beyond its public endpoint replaced."""
    parts = urlsplit(url)
    secrets = [url, parts.netloc.rpartition("@")[0] if "@" in parts.netloc else "", parts.path, parts.query]
    secrets += [unquote(secret) for secret in secrets]
    for secret in sorted({s for s in secrets if len(s) > 1}, key=len, reverse=True):
        text = text.replace(secret, "...")
    return text


def run(args: argparse.Namespace) -> int:
    """Deploy, create the product if asked, write the record and print where everything is."""
    try:
        rpc_url = network_rpc_url(args.network) if args.network else args.rpc_url
    except DeployInputError as exc:
        print(f"claims-oracle deploy: {exc}", file=sys.stderr)
        return 2
    settings = load_settings(**({"rpc_url": rpc_url} if rpc_url else {}))
    try:
        panel = _panel(args)
        product = product_from_file(args.product) if args.product else None
        signer = signer_from_args(args)
    except ValueError as exc:
        print(f"claims-oracle deploy: {exc}", file=sys.stderr)
        return 2
    if product is not None and product[0]["arbitrator"] == PANEL_ARBITRATOR and panel is None:
        print("claims-oracle deploy: the product names the panel arbitrator, but no --panel is given", file=sys.stderr)
        return 2
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 60}))
    try:
        balance = w3.eth.get_balance(sender_address(signer))
        if balance == 0:
            endpoint = public_endpoint(settings.rpc_url)
            print(f"claims-oracle deploy: {signer.address} holds no ETH on {endpoint}", file=sys.stderr)
            return 1
        record = deploy_all(w3, signer, panel, args.quorum, args.fee, product, describe_code_version())
    except (RequestException, ConnectionError) as exc:
        endpoint, reason = public_endpoint(settings.rpc_url), scrub_endpoint(str(exc), settings.rpc_url)
        print(f"claims-oracle deploy: the chain at {endpoint} did not answer ({reason})", file=sys.stderr)
        return 1
    except (Web3Exception, BuildMissingError, RuntimeError, ValueError) as exc:
        reason = scrub_endpoint(str(exc), settings.rpc_url)
        print(f"claims-oracle deploy: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1
    record.write(args.out)
    for name, contract in sorted(record.contracts.items()):
        print(f"{name:16} {contract.address}")
    if record.product_ids:
        print(f"product          {record.product_ids[0]}")
    print(f"deployment record {args.out} (chain {record.chain_id}, from block {record.block_number})")
    return 0
