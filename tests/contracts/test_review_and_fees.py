"""Issue 13, contesting must not cost the party who is right: a REFER goes to the insurer's adjuster, loser pays the
arbitration, a silent committee is escalated at no cost to a claimant who wins, and rulings award a fair amount."""

from __future__ import annotations

import ape
import pytest

from oracle.chain.report import Decision
from oracle.domain import REVIEW_DEADLINE_S, ClaimStatus, Ruling

from .conftest import ARBITRATION_FEE, DAY, ETH

BOND = ETH // 20
DEDUCTIBLE = ETH // 2
WINDOW = 3 * DAY


def _rule(arbitrator, panelists, dispute_id, ruling):
    arbitrator.vote(dispute_id, int(ruling), sender=panelists[0])
    return arbitrator.vote(dispute_id, int(ruling), sender=panelists[1])


def _assert_desk_solvent(desk):
    """The desk holds every credit, bond, held fee and reserve, to the wei."""
    assert desk.balance == desk.totalCredits() + desk.heldBonds() + desk.heldFees() + desk.totalReserves()


@pytest.fixture
def referred_claim(open_claim, decide):
    """Factory: a claim of `amount` the committee REFERred; returns (product, policy, claim)."""

    def make(amount: int = 3 * ETH, **product_overrides):
        product_id, policy_id, claim_id = open_claim(amount=amount, **product_overrides)
        decide(claim_id, decision=Decision.REFER, payout=0, confidence=5000)
        return product_id, policy_id, claim_id

    return make


@pytest.fixture
def rejected_claim(open_claim, decide):
    """Factory: a 3 ETH claim the committee REJECTed, its window open; returns (product, claim)."""

    def make(**product_overrides):
        product_id, _, claim_id = open_claim(amount=3 * ETH, **product_overrides)
        decide(claim_id, decision=Decision.REJECT, payout=0, confidence=9000)
        return product_id, claim_id

    return make


# ------------------------------------------------------------------ REFER goes to a person


def test_refer_means_denied_unless_you_pay__now_waits_for_the_adjuster_and_never_finalizes_at_zero(
    manager, referred_claim, chain, stranger
):
    _, _, claim_id = referred_claim()
    assert manager.claim(claim_id).status == ClaimStatus.REVIEW
    chain.pending_timestamp += 30 * DAY
    with ape.reverts("claims: not awaiting finalize"):
        manager.finalize(claim_id, sender=stranger)


def test_review__adjuster_proposes_payout__opens_window_then_holder_collects(
    manager, desk, referred_claim, insurer, claimant, chain
):
    _, _, claim_id = referred_claim()
    receipt = desk.proposePayout(claim_id, ETH + ETH // 2, sender=insurer)
    logged = receipt.decode_logs(desk.ReviewProposed)[0]
    assert logged.payout == ETH + ETH // 2 and logged.adjuster == insurer
    claim = manager.claim(claim_id)
    assert claim.status == ClaimStatus.DECIDED and claim.payout == ETH + ETH // 2
    assert logged.windowEnds == claim.timestamp + WINDOW
    with ape.reverts("claims: window still open"):
        manager.collect(claim_id, claimant, sender=claimant)
    chain.pending_timestamp += WINDOW
    before = claimant.balance
    paid = manager.collect(claim_id, claimant, sender=claimant)
    assert claimant.balance == before + ETH + ETH // 2 - paid.total_fees_paid


def test_review__anyone_but_the_adjuster__cannot_propose(
    desk, referred_claim, deployer, insurer, claimant, stranger, oracles
):
    adjuster = deployer  # an account with no other role in the product
    product_id, _, claim_id = referred_claim(adjuster=adjuster.address)
    for caller in (claimant, stranger, oracles[0], insurer):  # the product names an adjuster: not even the insurer
        with ape.reverts("review: not the adjuster"):
            desk.proposePayout(claim_id, ETH, sender=caller)
    assert desk.reviewTerms(product_id) == (adjuster.address, REVIEW_DEADLINE_S)
    desk.proposePayout(claim_id, ETH, sender=adjuster)


def test_review__after_the_deadline__adjuster_can_no_longer_propose(desk, referred_claim, insurer, chain):
    _, _, claim_id = referred_claim()
    chain.pending_timestamp += REVIEW_DEADLINE_S
    with ape.reverts("review: deadline passed"):
        desk.proposePayout(claim_id, ETH, sender=insurer)


def test_review__proposal_above_claimed_less_deductible__reverts(desk, referred_claim, insurer):
    _, _, claim_id = referred_claim(amount=3 * ETH)
    with ape.reverts("review: payout above claimed less deductible"):
        desk.proposePayout(claim_id, 3 * ETH - DEDUCTIBLE + 1, sender=insurer)
    desk.proposePayout(claim_id, 3 * ETH - DEDUCTIBLE, sender=insurer)


def test_review__claim_not_in_review__reverts(desk, open_claim, insurer):
    _, _, claim_id = open_claim()
    with ape.reverts("review: claim not in review"):
        desk.proposePayout(claim_id, ETH, sender=insurer)
    with ape.reverts("review: claim not in review"):
        desk.referToArbitrator(claim_id, sender=insurer)


@pytest.mark.parametrize("deadline", [3_599, 14 * DAY + 1])
def test_review__deadline_out_of_bounds__product_refused(create_product, deadline):
    with ape.reverts("products: bad review deadline"):
        create_product(reviewDeadline=deadline)


def test_review__insurer_does_nothing__anyone_sends_it_to_the_arbitrator_at_the_insurers_cost(
    manager, desk, referred_claim, arbitrator, panelists, chain, stranger, claimant
):
    product_id, _, claim_id = referred_claim(amount=3 * ETH)
    with ape.reverts("review: not the adjuster before the deadline"):
        desk.referToArbitrator(claim_id, sender=stranger)
    chain.pending_timestamp += REVIEW_DEADLINE_S
    reserve = desk.arbitrationReserve(product_id)
    receipt = desk.referToArbitrator(claim_id, sender=stranger)
    dispute_id = receipt.decode_logs(desk.ClaimReferred)[0].disputeId
    assert desk.arbitrationReserve(product_id) == reserve - ARBITRATION_FEE  # the insurer paid the whole fee
    assert manager.claim(claim_id).status == ClaimStatus.DISPUTED
    _rule(arbitrator, panelists, dispute_id, Ruling.CLAIMANT)
    assert manager.claim(claim_id).payout == 3 * ETH - DEDUCTIBLE
    assert desk.credits(claimant) == 0 and desk.credits(stranger) == 0  # nobody but the insurer paid anything
    _assert_desk_solvent(desk)


def test_review__adjuster_refers__arbitrator_awards_the_insurers_side(
    manager, desk, referred_claim, arbitrator, panelists, insurer
):
    _, _, claim_id = referred_claim()
    dispute_id = desk.referToArbitrator(claim_id, sender=insurer).decode_logs(desk.ClaimReferred)[0].disputeId
    _rule(arbitrator, panelists, dispute_id, Ruling.ASSESSED)
    assert manager.claim(claim_id).status == ClaimStatus.RESOLVED and manager.claim(claim_id).payout == 0


def test_review__insurer_cannot_pay_the_arbitrator__cannot_stall_the_claim__paid_as_claimed(
    manager, desk, referred_claim, chain, stranger
):
    product_id, policy_id, claim_id = referred_claim(amount=3 * ETH, reserve=0)
    chain.pending_timestamp += REVIEW_DEADLINE_S
    receipt = desk.referToArbitrator(claim_id, sender=stranger)
    assert receipt.decode_logs(desk.ArbitrationDefaulted)[0].payout == 3 * ETH - DEDUCTIBLE
    assert manager.claim(claim_id).status == ClaimStatus.RESOLVED
    assert manager.policy(policy_id).openClaims == 0
    _assert_desk_solvent(desk)


# ------------------------------------------------------------------ loser pays


def test_claimant_wins_its_dispute__net_cost_was_the_fee__now_gets_back_everything_it_paid(
    desk, rejected_claim, arbitrator, panelists, claimant
):
    product_id, claim_id = rejected_claim()
    reserve = desk.arbitrationReserve(product_id)
    start = claimant.balance
    receipt = desk.dispute(claim_id, value=desk.disputeCost(claim_id), sender=claimant)
    spent_gas = receipt.total_fees_paid
    assert desk.heldFees() == ARBITRATION_FEE  # the insurer's matching fee, held until the ruling
    _assert_desk_solvent(desk)
    dispute_id = receipt.decode_logs(desk.ClaimDisputed)[0].disputeId
    _rule(arbitrator, panelists, dispute_id, Ruling.CLAIMANT)
    spent_gas += desk.withdrawCredit(sender=claimant).total_fees_paid
    assert claimant.balance == start - spent_gas  # bond and fee both back
    assert desk.arbitrationReserve(product_id) == reserve - ARBITRATION_FEE  # the insurer, who lost, paid
    _assert_desk_solvent(desk)


def test_claimant_loses_its_dispute__pays_the_fee_and_the_bond__insurers_fee_returns(
    desk, rejected_claim, arbitrator, panelists, claimant, insurer
):
    product_id, claim_id = rejected_claim()
    reserve = desk.arbitrationReserve(product_id)
    receipt = desk.dispute(claim_id, value=desk.disputeCost(claim_id), sender=claimant)
    _rule(arbitrator, panelists, receipt.decode_logs(desk.ClaimDisputed)[0].disputeId, Ruling.NOTHING)
    assert desk.credits(claimant) == 0 and desk.credits(insurer) == BOND
    assert desk.arbitrationReserve(product_id) == reserve
    _assert_desk_solvent(desk)


def test_insurer_reserve_short__claimant_dispute_wins_by_default_and_everything_sent_is_credited_back(
    manager, desk, rejected_claim, claimant
):
    _, claim_id = rejected_claim(reserve=ARBITRATION_FEE - 1)
    cost = desk.disputeCost(claim_id)
    receipt = desk.dispute(claim_id, value=cost, sender=claimant)
    assert receipt.decode_logs(desk.ArbitrationDefaulted)[0].payout == 3 * ETH - DEDUCTIBLE
    assert manager.claim(claim_id).status == ClaimStatus.RESOLVED
    assert desk.credits(claimant) == cost and desk.heldBonds() == 0
    _assert_desk_solvent(desk)


def test_reserve__only_the_insurer_withdraws__and_not_the_fees_held_for_open_disputes(
    desk, rejected_claim, claimant, insurer, stranger
):
    product_id, claim_id = rejected_claim()
    desk.dispute(claim_id, value=desk.disputeCost(claim_id), sender=claimant)
    free = desk.arbitrationReserve(product_id)
    with ape.reverts("claims: not the insurer"):
        desk.withdrawArbitrationReserve(product_id, 1, stranger, sender=stranger)
    with ape.reverts("claims: exceeds the arbitration reserve"):
        desk.withdrawArbitrationReserve(product_id, free + 1, insurer, sender=insurer)
    with ape.reverts("claims: receiver is zero"):
        desk.withdrawArbitrationReserve(product_id, free, "0x" + "00" * 20, sender=insurer)
    desk.withdrawArbitrationReserve(product_id, free, stranger, sender=insurer)
    assert desk.heldFees() == ARBITRATION_FEE
    _assert_desk_solvent(desk)
    with ape.reverts("claims: unknown product"):
        desk.fundArbitration(999, value=1, sender=stranger)


# ------------------------------------------------------------------ a silent committee


def test_escalating_a_silent_committee_cost_the_fee__claimant_who_wins_gets_it_back(
    manager, desk, open_claim, arbitrator, panelists, chain, claimant
):
    product_id, _, claim_id = open_claim(amount=3 * ETH)
    chain.pending_timestamp += DAY
    receipt = desk.escalate(claim_id, value=ARBITRATION_FEE, sender=claimant)
    _rule(arbitrator, panelists, receipt.decode_logs(desk.ClaimEscalated)[0].disputeId, Ruling.CLAIMANT)
    assert manager.claim(claim_id).payout == 3 * ETH - DEDUCTIBLE
    assert desk.credits(claimant) == ARBITRATION_FEE
    _assert_desk_solvent(desk)


def test_escalation__arbitrator_never_rules__claimant_paid_and_fee_reimbursed_after_timeout(
    project, deployer, manager, desk, create_product, buy_policy, submit_claim, chain, claimant, stranger
):
    mock = deployer.deploy(project.MockArbitrator)
    claim_id = submit_claim(buy_policy(create_product(arbitrator=mock.address)), amount=3 * ETH)
    chain.pending_timestamp += DAY
    fee = mock.arbitrationCost(b"")
    desk.escalate(claim_id, value=fee, sender=claimant)
    chain.pending_timestamp += 30 * DAY
    desk.closeTimedOutDispute(claim_id, sender=stranger)
    assert manager.claim(claim_id).payout == 3 * ETH - DEDUCTIBLE
    assert desk.credits(claimant) == fee
    _assert_desk_solvent(desk)


# ------------------------------------------------------------------ fair amounts


def test_overclaiming_paid_on_dispute__final_offer__ruling_2_pays_the_claimants_counter_offer_not_its_claim(
    manager, desk, open_claim, decide, arbitrator, panelists, claimant
):
    # the oracle assessed 0.1 ETH of a 3 ETH claim; the claimant names 0.6 ETH as its side
    _, _, claim_id = open_claim(amount=3 * ETH)
    decide(claim_id, decision=Decision.PARTIAL, payout=ETH // 10, confidence=8000)
    receipt = desk.disputeWithOffer(claim_id, 6 * ETH // 10, value=desk.disputeCost(claim_id), sender=claimant)
    assert desk.counterOffer(claim_id) == 6 * ETH // 10
    _rule(arbitrator, panelists, receipt.decode_logs(desk.ClaimDisputed)[0].disputeId, Ruling.CLAIMANT)
    assert manager.claim(claim_id).payout == 6 * ETH // 10


def test_ruling_1__pays_the_assessed_amount_whatever_was_claimed(
    manager, desk, open_claim, decide, arbitrator, panelists, claimant
):
    _, _, claim_id = open_claim(amount=3 * ETH)
    decide(claim_id, decision=Decision.PARTIAL, payout=ETH // 10, confidence=8000)
    receipt = desk.dispute(claim_id, value=desk.disputeCost(claim_id), sender=claimant)
    _rule(arbitrator, panelists, receipt.decode_logs(desk.ClaimDisputed)[0].disputeId, Ruling.ASSESSED)
    assert manager.claim(claim_id).payout == ETH // 10


def test_after_review__ruling_1_awards_the_adjusters_amount(
    manager, desk, referred_claim, arbitrator, panelists, insurer, claimant
):
    _, _, claim_id = referred_claim(amount=3 * ETH)
    desk.proposePayout(claim_id, ETH, sender=insurer)
    receipt = desk.disputeWithOffer(claim_id, 2 * ETH, value=desk.disputeCost(claim_id), sender=claimant)
    _rule(arbitrator, panelists, receipt.decode_logs(desk.ClaimDisputed)[0].disputeId, Ruling.ASSESSED)
    assert manager.claim(claim_id).payout == ETH


@pytest.mark.parametrize(
    "offer, reason",
    [
        (ETH // 10, "claims: counter-offer not above the payout"),
        (3 * ETH - DEDUCTIBLE + 1, "claims: counter-offer above claimed less deductible"),
    ],
)
def test_counter_offer__out_of_range__reverts(desk, open_claim, decide, claimant, offer, reason):
    _, _, claim_id = open_claim(amount=3 * ETH)
    decide(claim_id, decision=Decision.PARTIAL, payout=ETH // 10, confidence=8000)
    with ape.reverts(reason):
        desk.disputeWithOffer(claim_id, offer, value=desk.disputeCost(claim_id), sender=claimant)


def test_counter_offer__from_the_insurer__reverts(desk, open_claim, decide, insurer):
    _, _, claim_id = open_claim(amount=3 * ETH)
    decide(claim_id, decision=Decision.PARTIAL, payout=ETH // 10, confidence=8000)
    with ape.reverts("claims: only the claimant makes a counter-offer"):
        desk.disputeWithOffer(claim_id, ETH, value=desk.disputeCost(claim_id), sender=insurer)


# ------------------------------------------------------------------ the desk-only entry points


def test_manager_desk_entry_points__from_anyone_else__revert(manager, open_claim, insurer, stranger):
    _, _, claim_id = open_claim()
    for caller in (insurer, stranger):
        with ape.reverts("claims: not the dispute desk"):
            manager.moveClaim(claim_id, 0, sender=caller)
        with ape.reverts("claims: not the dispute desk"):
            manager.settleClaim(claim_id, ETH, sender=caller)


# ------------------------------------------------------------------ reentrancy


def test_reentrancy__token_hook_reenters_while_a_reviewed_claim_is_paid__blocked(
    project, manager, desk, create_product, buy_policy, submit_claim, decide, claimant, insurer, deployer, chain
):
    evil = deployer.deploy(project.ReentrantToken)
    product_id = create_product(capital=0, asset=evil)
    evil.mint(insurer, 20 * ETH, sender=insurer)
    evil.approve(manager, 20 * ETH, sender=insurer)
    manager.depositCapital(product_id, 20 * ETH, sender=insurer)
    claim_id = submit_claim(buy_policy(product_id, token=evil), amount=3 * ETH)
    decide(claim_id, decision=Decision.REFER, payout=0, confidence=5000)
    desk.proposePayout(claim_id, ETH, sender=insurer)
    chain.pending_timestamp += WINDOW
    # the payout token calls back into the manager from its transfer, to take the capital the payout leaves
    evil.arm(manager, manager.withdrawCapital.encode_input(product_id, ETH, insurer.address), sender=insurer)
    manager.collect(claim_id, claimant, sender=claimant)
    assert not evil.reentrySucceeded()
    assert evil.balanceOf(claimant) == ETH
    assert manager.claim(claim_id).status == ClaimStatus.PAID
