"""A claim's facts read from the chain, and the claimant's metadata added once its evidence manifest is read."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from oracle.assess import AssessmentError, Claim
from oracle.chain.contracts import ClaimsManagerClient, ClaimSubmitted
from oracle.explain.canonical import hex0x
from oracle.sources.terms import Terms


class ClaimContextError(ValueError):
    """The chain's facts about a claim are inconsistent (bad position, policy ending before it starts, ...)."""


class InsuredObjects(Protocol):
    """Where a node remembers each policy's insured object (the node database), so the chain is asked once."""

    def insured_object(self, chain_id: int, contract: str, policy_id: int) -> bytes | None:
        """The remembered insured object of a policy, or None."""

    def set_insured_object(self, chain_id: int, contract: str, policy_id: int, insured_object: bytes) -> None:
        """Remember a policy's insured object."""


def peril_bit(index: int) -> int:
    """Return the peril bit for the event's bit index; indexes past the known perils give bits the rules reject."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 256:
        raise ClaimContextError(f"peril index must be an integer in 0..255, got {index!r}")
    return 1 << index


def new_claim(**facts: Any) -> Claim:
    """Build a Claim from chain facts, turning a fact no chain could hold into ClaimContextError."""
    try:
        return Claim(**facts)
    except AssessmentError as exc:
        raise ClaimContextError(f"claim {facts.get('claim_id')}: {exc}") from None


def claim_from_chain(
    client: ClaimsManagerClient,
    claim_id: int,
    event: ClaimSubmitted | None = None,
    insured_objects: InsuredObjects | None = None,
    from_block: int = 0,
    *,
    block: int | str = "latest",
    products: dict[int, dict[str, Any]] | None = None,
) -> Claim | None:
    """The claim as the chain holds it (its event looked up from `from_block` if not given); None if it is gone.

    Reads are made at `block`; `products` (when given) keeps the products read, for further calls at that block."""
    claim = client.claim(claim_id, block)
    if event is None:
        event = client.claim_submitted(claim_id, from_block)
    if (
        claim["status"] == 0
        or event is None
        or bytes(claim["evidenceRoot"]) != event.evidence_root
        or claim["claimedAmount"] != event.claimed_amount
    ):
        return None
    policy = client.policy(claim["policyId"], block)
    if products is not None and policy["productId"] in products:
        product = products[policy["productId"]]
    else:
        product = client.product(policy["productId"], block)
        if products is not None:
            products[policy["productId"]] = product
    insured = insured_object(client, claim["policyId"], policy["start"], event.block_number, insured_objects)
    return new_claim(
        claim_id=claim_id,
        chain_id=client.chain_id,
        contract=client.address,
        policy_id=claim["policyId"],
        product_id=policy["productId"],
        evidence_root=event.evidence_root,
        evidence_uri=event.evidence_uri,
        terms_hash=bytes(product["termsHash"]),
        policy_start=policy["start"],
        policy_end=policy["end"],
        incident_time=event.incident_time,
        submitted_at=client.block_timestamp(event.block_number),
        lat_e6=event.latitude_e6,
        lon_e6=event.longitude_e6,
        peril=peril_bit(event.peril),
        claimed_amount=event.claimed_amount,
        remaining_coverage=policy["remainingCoverage"],
        deductible=product["deductible"],
        covered_perils=product["perils"],
        insured_object_id=hex0x(insured),
        policy_class=policy["vehicleClass"],
    )


def insured_object(
    client: ClaimsManagerClient,
    policy_id: int,
    policy_start: int,
    last_block: int,
    insured_objects: InsuredObjects | None = None,
) -> bytes:
    """A policy's insured object: remembered in `insured_objects`, else read from the chain (and then remembered)."""
    chain_id = client.chain_id
    known = insured_objects.insured_object(chain_id, client.address, policy_id) if insured_objects else None
    if known is not None:
        return known
    found = client.insured_object(policy_id, policy_start, last_block)
    if insured_objects is not None:
        insured_objects.set_insured_object(chain_id, client.address, policy_id, found)
    return found


def policy_vehicle_class(policy_class: int, terms: Terms) -> str:
    """The name of a policy's vehicle class: the `policy_class`-th class of the terms' cost schedule, in the order the
    product priced them; a class past the schedule is named by its number (the assessment then refers the claim)."""
    classes = list(terms.cost_schedule)
    return classes[policy_class] if policy_class < len(classes) else f"class #{policy_class}"


def with_claimant(claim: Claim, claimant: dict[str, str], terms: Terms) -> Claim:
    """The claim with its policy's vehicle class named from the terms, and the claimant's county and zone from its
    evidence manifest; a class the manifest names (older clients wrote one) is ignored: the class is the policy's."""
    named = claim.vehicle_class if claim.policy_class is None else policy_vehicle_class(claim.policy_class, terms)
    return dataclasses.replace(
        claim,
        vehicle_class=named,
        county_fips=claimant.get("countyFips"),
        zone_fips=claimant.get("zoneFips"),
    )
