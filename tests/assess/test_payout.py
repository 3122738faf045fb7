"""Tests for the payout arithmetic."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.assess import compute_payout
from oracle.sources.terms import Deductible
from tests.factories import ETH


def test_compute_payout__estimate_below_claim__pays_estimate_minus_deductible(claim, terms):
    c = replace(claim, claimed_amount=2 * ETH, deductible=ETH // 10)
    a = compute_payout(c, terms, "moderate")  # sedan moderate = 0.8 ETH
    assert (a.estimate, a.loss, a.deductible, a.net) == (8 * ETH // 10, 8 * ETH // 10, ETH // 10, 7 * ETH // 10)
    assert a.payout == 7 * ETH // 10


def test_compute_payout__claim_below_estimate__capped_by_claim(claim, terms):
    a = compute_payout(replace(claim, claimed_amount=ETH // 2), terms, "severe")
    assert a.loss == ETH // 2 and a.payout == ETH // 2 - ETH // 10


def test_compute_payout__remaining_coverage_low__deductible_first_then_coverage_cap(claim, terms):
    # as the contract does: (claimed - deductible), then capped by what is left of the coverage
    a = compute_payout(replace(claim, claimed_amount=3 * ETH, remaining_coverage=ETH), terms, "severe")
    assert a.net == 3 * ETH - ETH // 10 and a.payout == ETH


def test_compute_payout__loss_below_deductible__saturates_at_zero(claim, terms):
    a = compute_payout(replace(claim, deductible=ETH), terms, "minor")
    assert a.loss == 2 * ETH // 10 and a.net == 0 and a.payout == 0


def test_compute_payout__no_severity_or_unknown_class__zero(claim, terms):
    assert compute_payout(claim, terms, None).payout == 0
    a = compute_payout(replace(claim, vehicle_class="tank"), terms, "severe")
    assert a.estimate is None and a.payout == 0


def test_compute_payout__terms_minimum_deductible__raises_policy_deductible(claim, terms):
    strict = terms.model_copy(update={"deductible": Deductible(applies=True, minimum=ETH // 4)})
    assert compute_payout(replace(claim, deductible=0), strict, "severe").deductible == ETH // 4


def test_compute_payout__terms_waive_the_deductible__policy_deductible_still_applies_as_the_contract_enforces(
    claim, terms
):
    lax = terms.model_copy(update={"deductible": Deductible(applies=False, minimum=ETH)})
    arithmetic = compute_payout(claim, lax, "severe")
    assert arithmetic.deductible == claim.deductible > 0
    assert arithmetic.payout <= claim.claimed_amount - claim.deductible


@settings(max_examples=200, deadline=None)
@given(
    claimed=st.integers(0, 10**22),
    remaining=st.integers(0, 10**22),
    deductible=st.integers(0, 10**21),
    severity=st.sampled_from(["minor", "moderate", "severe"]),
)
def test_compute_payout__any_amounts__never_exceeds_claim_coverage_or_estimate(
    claim, terms, claimed, remaining, deductible, severity
):
    c = replace(claim, claimed_amount=claimed, remaining_coverage=remaining, deductible=deductible)
    a = compute_payout(c, terms, severity)
    assert 0 <= a.payout <= min(claimed, remaining, a.estimate)
    assert a.payout == min(max(0, min(a.estimate, claimed) - deductible), remaining)
