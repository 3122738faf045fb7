"""Payout arithmetic: schedule estimate, capped by the claimed amount, minus the deductible, capped by coverage."""

from __future__ import annotations

from oracle.assess.types import Claim, PayoutArithmetic
from oracle.sources.terms import Terms


def compute_payout(claim: Claim, terms: Terms, severity: str | None) -> PayoutArithmetic:
    """Apply, in order: estimate = schedule[class][severity]; loss = min(estimate, claimed);
    net = max(0, loss - deductible); payout = min(net, remaining coverage).

    This is the contract's order too (a ruling for the claimant pays claimed - deductible, and every payout is
    then capped by the policy's remaining coverage). The deductible is the policy's, raised to the terms'
    minimum when the terms apply one; terms never waive it, since the contract refuses a payout above claimed
    less the policy's deductible. With no severity or no schedule row the payout is 0.
    """
    vehicle_class = claim.require_vehicle_class()
    deductible = max(claim.deductible, terms.deductible.minimum) if terms.deductible.applies else claim.deductible
    estimate = None if severity is None else terms.repair_cost(vehicle_class, severity)
    loss = 0 if estimate is None else min(estimate, claim.claimed_amount)
    net = max(0, loss - deductible)
    return PayoutArithmetic(
        vehicle_class=vehicle_class,
        severity=severity,
        estimate=estimate,
        claimed=claim.claimed_amount,
        loss=loss,
        deductible=deductible,
        net=net,
        remaining_coverage=claim.remaining_coverage,
        payout=min(net, claim.remaining_coverage),
    )
