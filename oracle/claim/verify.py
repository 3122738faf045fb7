"""`claims-oracle verify CLAIM_ID`: replay a recorded decision from its stored inputs and compare with the chain."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from eth_utils import keccak
from web3 import Web3

from oracle.assess import Explanation
from oracle.chain.contracts import ClaimsManagerClient
from oracle.claim.context import claim_from_chain
from oracle.claim.replay import replay
from oracle.claim.wiring import build_assessor, load_model
from oracle.db import NodeStore
from oracle.explain.canonical import hex0x
from oracle.explain.document import ExplanationError
from oracle.privacy import EvidenceOpener, SealError, parse_content_key
from oracle.settings import Settings, load_settings


class VerificationError(LookupError):
    """The claim, its decision or its explanation cannot be found, so there is nothing to replay."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `claims-oracle verify`."""
    parser.add_argument("claim_id", type=int, help="the claim to verify")
    parser.add_argument("--rpc-url", help="JSON-RPC endpoint (CLAIMS_ORACLE_RPC_URL)")
    parser.add_argument("--contract", help="ClaimsManager address (CLAIMS_ORACLE_CONTRACT_ADDRESS)")
    parser.add_argument("--db-url", help="node database holding the claims history (CLAIMS_ORACLE_DB_URL)")
    parser.add_argument(
        "--content-key",
        help="the claim's content key (0x + 64 hex digits), to replay a claim whose evidence is sealed",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the replay reproduces the recorded decision field by field, 1 when it does not."""
    overrides = {
        k: v
        for k, v in (("rpc_url", args.rpc_url), ("contract_address", args.contract), ("db_url", args.db_url))
        if v is not None
    }
    settings = load_settings(**overrides)
    if not settings.contract_address:
        raise SystemExit("claims-oracle verify: no contract address (--contract or CLAIMS_ORACLE_CONTRACT_ADDRESS)")
    try:
        opener = parse_content_key(args.content_key) if args.content_key else None
        report = verify_claim(settings, args.claim_id, opener)
    except (VerificationError, SealError) as exc:
        raise SystemExit(f"claims-oracle verify: {exc}") from None
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        for field, (recorded, replayed, same) in report["fields"].items():
            print(f"{'match   ' if same else 'MISMATCH'} {field:<18} recorded {recorded}  replayed {replayed}")
        print("verified: the decision reproduces" if report["match"] else "NOT verified: see mismatches above")
    return 0 if report["match"] else 1


def verify_claim(settings: Settings, claim_id: int, opener: EvidenceOpener | None = None) -> dict[str, Any]:
    """Replay one claim's assessment and compare it with its `ClaimDecided` event and stored explanation; a claim
    whose evidence is sealed needs an `opener` (its content key, or a reader holding a grant)."""
    if not settings.contract_address:
        raise VerificationError("no contract address (--contract or CLAIMS_ORACLE_CONTRACT_ADDRESS)")
    client = ClaimsManagerClient(
        Web3(Web3.HTTPProvider(settings.rpc_url)), settings.contract_address, settings.log_chunk_blocks
    )
    decided = client.claim_decided(claim_id, settings.start_block)
    if decided is None:
        raise VerificationError(f"claim {claim_id} has no recorded decision on this chain")
    history = NodeStore(settings.db_url)
    claim = claim_from_chain(client, claim_id, insured_objects=history, from_block=settings.start_block)
    if claim is None:
        raise VerificationError(f"claim {claim_id} is not on this chain")
    assessor = build_assessor(settings, history, load_model(settings), sources=[], code_version="verify", reader=opener)
    store = assessor.store
    cid = store.cid_for_keccak(bytes(decided["explanationHash"]))
    if cid is None:
        raise VerificationError(
            f"explanation {hex0x(decided['explanationHash'])} is not in the content store {settings.content_store_url}"
        )
    document = store.get(cid)
    try:
        explanation = Explanation.from_bytes(document)
    except ExplanationError as exc:
        raise VerificationError(f"explanation {cid} cannot be read: {exc}") from None
    # the coverage left when the claim was assessed is an input; the chain only knows today's
    claim = dataclasses.replace(claim, remaining_coverage=explanation.claim.remaining_coverage)
    try:
        differences = replay(assessor, claim, cid)
    finally:
        assessor.close()
    recorded_and_stored = {
        "explanationHash": (hex0x(decided["explanationHash"]), hex0x(keccak(document))),
        "decision": (decided["decision"], int(explanation.decision)),
        "payout": (str(decided["payout"]), str(explanation.payout)),
        "confidence": (decided["confidence"], explanation.confidence_bps),
    }
    fields: dict[str, tuple[object, object, bool]] = {
        name: (a, b, str(a) == str(b)) for name, (a, b) in recorded_and_stored.items()
    }
    for name, (recorded, replayed) in differences.items():
        fields[f"replay.{name}"] = (recorded, replayed, False)
    return {
        "claimId": claim_id,
        "match": all(same for _, _, same in fields.values()),
        "fields": {k: [str(a), str(b), same] for k, (a, b, same) in fields.items()},
    }
