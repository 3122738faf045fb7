"""Dispute window, ERC-792 disputes and rulings, escalation, finalization and pull payments."""

import ape
import pytest

from oracle.chain.report import Decision

from .conftest import ARBITRATION_FEE, DAY, ETH

DECIDED, DISPUTED, RESOLVED, PAID = 2, 3, 4, 5
BOND = ETH // 20


@pytest.fixture
def decided_claim(open_claim, decide):
    """A 4 ETH claim the oracle partially approved at 2 ETH, window open; returns (product, policy, claim)."""
    product_id, policy_id, claim_id = open_claim(amount=4 * ETH)
    decide(claim_id, decision=Decision.PARTIAL, payout=2 * ETH, confidence=8000)
    return product_id, policy_id, claim_id


def _rule(arbitrator, panelists, dispute_id, ruling):
    arbitrator.vote(dispute_id, ruling, sender=panelists[0])
    return arbitrator.vote(dispute_id, ruling, sender=panelists[1])


def _dispute(desk, claim_id, sender):
    receipt = desk.dispute(claim_id, value=desk.disputeCost(claim_id), sender=sender)
    return receipt.decode_logs(desk.ClaimDisputed)[0].disputeId


# ------------------------------------------------------------------ finalize


def test_finalize__after_window__resolves_with_oracle_payout(manager, decided_claim, chain, stranger):
    _, policy_id, claim_id = decided_claim
    chain.pending_timestamp += 3 * DAY
    receipt = manager.finalize(claim_id, sender=stranger)
    assert receipt.decode_logs(manager.ClaimResolved)[0].payout == 2 * ETH
    assert manager.claim(claim_id).status == RESOLVED
    assert manager.policy(policy_id).remainingCoverage == 8 * ETH


def test_finalize__window_open__reverts(manager, decided_claim, stranger):
    with ape.reverts("claims: window still open"):
        manager.finalize(decided_claim[2], sender=stranger)


def test_finalize__twice__reverts(manager, decided_claim, chain, stranger):
    chain.pending_timestamp += 3 * DAY
    manager.finalize(decided_claim[2], sender=stranger)
    with ape.reverts("claims: not awaiting finalize"):
        manager.finalize(decided_claim[2], sender=stranger)


def test_finalize__payout_above_remaining_coverage__capped(
    manager, create_product, buy_policy, submit_claim, decide, chain, stranger
):
    policy_id = buy_policy(create_product(instantLimit=0))
    first, second = submit_claim(policy_id, amount=7 * ETH), submit_claim(policy_id, amount=7 * ETH)
    decide(first, payout=6 * ETH, confidence=8000)
    decide(second, payout=6 * ETH, confidence=8000)
    chain.pending_timestamp += 3 * DAY
    manager.finalize(first, sender=stranger)
    manager.finalize(second, sender=stranger)
    assert manager.claim(second).payout == 4 * ETH  # 10 ETH coverage, 6 already paid
    assert manager.policy(policy_id).remainingCoverage == 0


# ------------------------------------------------------------------ withdrawPayout


def test_withdraw_payout__resolved__pays_holder_once(manager, decided_claim, chain, claimant):
    product_id, _, claim_id = decided_claim
    chain.pending_timestamp += 3 * DAY
    manager.finalize(claim_id, sender=claimant)
    locked_before = manager.product(product_id).locked
    before = claimant.balance
    receipt = manager.withdrawPayout(claim_id, sender=claimant)
    assert claimant.balance == before + 2 * ETH - receipt.total_fees_paid
    assert manager.claim(claim_id).status == PAID
    assert manager.product(product_id).locked == locked_before - 2 * ETH
    with ape.reverts("claims: no payout to withdraw"):
        manager.withdrawPayout(claim_id, sender=claimant)


def test_withdraw_payout__not_holder__reverts(manager, decided_claim, chain, stranger):
    chain.pending_timestamp += 3 * DAY
    manager.finalize(decided_claim[2], sender=stranger)
    with ape.reverts("claims: not the policy holder"):
        manager.withdrawPayout(decided_claim[2], sender=stranger)


def test_withdraw_payout__undecided__reverts(manager, decided_claim, claimant):
    with ape.reverts("claims: no payout to withdraw"):
        manager.withdrawPayout(decided_claim[2], sender=claimant)


def test_withdraw_payout__rejected_claim__nothing_to_withdraw(manager, open_claim, decide, chain, claimant):
    _, _, claim_id = open_claim()
    decide(claim_id, decision=Decision.REJECT, payout=0, confidence=9000)
    chain.pending_timestamp += 3 * DAY
    manager.finalize(claim_id, sender=claimant)
    with ape.reverts("claims: no payout to withdraw"):
        manager.withdrawPayout(claim_id, sender=claimant)


# ------------------------------------------------------------------ collect (one transaction, any receiver)


def test_collect__window_over__finalizes_and_pays_in_one_transaction(manager, decided_claim, chain, claimant):
    product_id, policy_id, claim_id = decided_claim
    locked_before = manager.product(product_id).locked
    with ape.reverts("claims: window still open"):
        manager.collect(claim_id, claimant, sender=claimant)
    chain.pending_timestamp += 3 * DAY
    before = claimant.balance
    receipt = manager.collect(claim_id, claimant, sender=claimant)
    assert claimant.balance == before + 2 * ETH - receipt.total_fees_paid
    assert receipt.decode_logs(manager.ClaimResolved)[0].payout == 2 * ETH
    assert manager.claim(claim_id).status == PAID
    assert manager.product(product_id).locked == locked_before - 2 * ETH
    assert manager.policy(policy_id).openClaims == 0
    with ape.reverts("claims: no payout to collect"):
        manager.collect(claim_id, claimant, sender=claimant)


def test_collect__holder_contract_that_rejects_eth__paid_to_its_receiver(
    project, manager, create_product, decide, chain, deployer, stranger
):
    # before, payouts went only to msg.sender: a holder contract without a payable fallback was never paid
    holder = deployer.deploy(project.EthRejectingHolder, manager)
    product_id = create_product()
    policy_id = (
        holder.buy(product_id, value=ETH // 10, sender=deployer).decode_logs(manager.PolicyPurchased)[0].policyId
    )
    chain.pending_timestamp += 3600
    claim_id = (
        holder.claim(policy_id, 3 * ETH, chain.pending_timestamp - 60, sender=deployer)
        .decode_logs(manager.ClaimSubmitted)[0]
        .claimId
    )
    decide(claim_id, payout=2 * ETH, confidence=8000)
    chain.pending_timestamp += 3 * DAY
    manager.finalize(claim_id, sender=stranger)
    with ape.reverts():  # paid to itself, the transfer fails and the payout stays owed
        holder.withdraw(claim_id, sender=deployer)
    before = stranger.balance
    holder.collectTo(claim_id, stranger, sender=deployer)
    assert stranger.balance == before + 2 * ETH
    assert manager.claim(claim_id).status == PAID


def test_collect__not_holder_or_zero_receiver_or_undecided__reverts(
    manager, decided_claim, open_claim, chain, claimant, stranger
):
    chain.pending_timestamp += 3 * DAY
    with ape.reverts("claims: not the policy holder"):
        manager.collect(decided_claim[2], stranger, sender=stranger)
    with ape.reverts("claims: receiver is zero"):
        manager.collect(decided_claim[2], "0x" + "00" * 20, sender=claimant)
    _, _, undecided = open_claim()
    with ape.reverts("claims: no payout to collect"):
        manager.collect(undecided, claimant, sender=claimant)


def test_withdraw_credit_to__receiver__pays_the_receiver(desk, decided_claim, claimant, stranger):
    desk.dispute(decided_claim[2], value=BOND + ARBITRATION_FEE + 123, sender=claimant)
    before = stranger.balance
    desk.withdrawCreditTo(stranger, sender=claimant)
    assert stranger.balance == before + 123 and desk.credits(claimant) == 0
    with ape.reverts("claims: receiver is zero"):
        desk.withdrawCreditTo("0x" + "00" * 20, sender=claimant)


@pytest.mark.parametrize("asset_fixture", ["token", "no_bool_token"])
def test_withdraw_payout__token_product__sends_tokens(
    manager, create_product, buy_policy, submit_claim, decide, claimant, request, asset_fixture
):
    asset = request.getfixturevalue(asset_fixture)
    policy_id = buy_policy(create_product(capital=20 * ETH, asset=asset), token=asset)
    claim_id = submit_claim(policy_id)
    decide(claim_id, payout=ETH // 2, confidence=9900)  # instant
    manager.withdrawPayout(claim_id, sender=claimant)
    assert asset.balanceOf(claimant) == ETH // 2


# ------------------------------------------------------------------ dispute and rule


def test_dispute__claimant_in_window__creates_erc792_dispute(manager, desk, decided_claim, arbitrator, claimant):
    product_id, _, claim_id = decided_claim
    receipt = desk.dispute(claim_id, value=BOND + ARBITRATION_FEE, sender=claimant)
    dispute = receipt.decode_logs(desk.Dispute)[0]
    assert dispute._arbitrator == arbitrator.address
    assert dispute._metaEvidenceID == product_id and dispute._evidenceGroupID == claim_id
    assert receipt.decode_logs(arbitrator.DisputeCreation)[0]._arbitrable == desk.address
    assert manager.claim(claim_id).status == DISPUTED
    assert desk.disputeOf(claim_id)[:2] == (claimant.address, dispute._disputeID)
    assert desk.heldBonds() == BOND and arbitrator.balance == ARBITRATION_FEE


def test_dispute__overpaid__excess_credited_back(manager, decided_claim, claimant, desk):
    desk.dispute(decided_claim[2], value=BOND + ARBITRATION_FEE + 123, sender=claimant)
    assert desk.credits(claimant) == 123


def test_dispute__after_window__reverts(manager, decided_claim, chain, claimant, desk):
    chain.pending_timestamp += 3 * DAY
    with ape.reverts("claims: window closed"):
        desk.dispute(decided_claim[2], value=BOND + ARBITRATION_FEE, sender=claimant)


def test_dispute__stranger__reverts(manager, decided_claim, stranger, desk):
    with ape.reverts("claims: not claimant or insurer"):
        desk.dispute(decided_claim[2], value=BOND + ARBITRATION_FEE, sender=stranger)


def test_dispute__bond_or_fee_missing__reverts(manager, decided_claim, claimant, desk):
    with ape.reverts("claims: bond not paid"):
        desk.dispute(decided_claim[2], value=BOND - 1, sender=claimant)
    with ape.reverts("claims: arbitration fee not paid"):
        desk.dispute(decided_claim[2], value=BOND + ARBITRATION_FEE - 1, sender=claimant)


def test_dispute__twice_or_undecided__reverts(manager, decided_claim, open_claim, claimant, insurer, desk):
    _dispute(desk, decided_claim[2], claimant)
    with ape.reverts("claims: not in dispute window"):
        desk.dispute(decided_claim[2], value=BOND + ARBITRATION_FEE, sender=insurer)
    _, _, undecided = open_claim()
    with ape.reverts("claims: not in dispute window"):
        desk.dispute(undecided, value=BOND + ARBITRATION_FEE, sender=claimant)


@pytest.mark.parametrize(
    "disputer_role, ruling, payout, bond_to, fee_back",
    [
        ("claimant", 0, 2 * ETH, "claimant", True),  # refused: the decision stands, nobody lost, all back
        ("claimant", 1, 2 * ETH, "insurer", False),  # the assessed amount: the claimant lost
        ("claimant", 2, 4 * ETH - ETH // 2, "claimant", True),  # claimed 4 less the 0.5 deductible, fee repaid
        ("claimant", 3, 0, "insurer", False),
        ("insurer", 1, 2 * ETH, "claimant", False),  # the insurer pays its own fee, the claimant never fronts one
        ("insurer", 2, 4 * ETH - ETH // 2, "claimant", False),
        ("insurer", 3, 0, "insurer", False),
    ],
)
def test_rule__each_ruling__pays_and_moves_bond_loser_pays_the_fee(
    manager,
    decided_claim,
    arbitrator,
    panelists,
    claimant,
    insurer,
    disputer_role,
    ruling,
    payout,
    bond_to,
    fee_back,
    desk,
):
    roles = {"claimant": claimant, "insurer": insurer}
    product_id, _, claim_id = decided_claim
    reserve = desk.arbitrationReserve(product_id)
    dispute_id = _dispute(desk, claim_id, roles[disputer_role])
    receipt = _rule(arbitrator, panelists, dispute_id, ruling)
    logged = receipt.decode_logs(desk.Ruling)[0]
    assert logged._disputeID == dispute_id and logged._ruling == ruling
    assert manager.claim(claim_id).status == RESOLVED and manager.claim(claim_id).payout == payout
    assert desk.credits(roles[bond_to]) == BOND + (ARBITRATION_FEE if fee_back else 0) and desk.heldBonds() == 0
    # the insurer's matching fee paid the claimant back, or went back to its reserve
    assert desk.arbitrationReserve(product_id) == reserve - (ARBITRATION_FEE if fee_back else 0)
    assert desk.heldFees() == 0
    assert arbitrator.disputeStatus(dispute_id) == 2 and arbitrator.currentRuling(dispute_id) == ruling


def test_rule__from_anyone_but_arbitrator__reverts(manager, decided_claim, claimant, stranger, insurer, desk):
    dispute_id = _dispute(desk, decided_claim[2], claimant)
    for caller in (stranger, insurer, claimant):
        with ape.reverts("claims: not the arbitrator"):
            desk.rule(dispute_id, 2, sender=caller)


@pytest.fixture
def mock_arbitrated_claim(project, deployer, create_product, buy_policy, submit_claim, decide):
    """A decided claim on a product whose arbitrator is the unchecked mock; returns (mock, claim)."""
    mock = deployer.deploy(project.MockArbitrator)
    policy_id = buy_policy(create_product(arbitrator=mock.address))
    claim_id = submit_claim(policy_id, amount=4 * ETH)
    decide(claim_id, decision=Decision.PARTIAL, payout=2 * ETH, confidence=8000)
    return mock, claim_id


# the arbitrator that never rules (issue 13): the desk's own timeout, a defined default, a harmless late `rule`
DISPUTE_TIMEOUT = 30 * DAY


def test_dispute__arbitrator_never_rules__closed_after_timeout_oracle_decision_stands_bond_returned(
    manager, desk, mock_arbitrated_claim, claimant, stranger, chain
):
    mock, claim_id = mock_arbitrated_claim
    _dispute(desk, claim_id, claimant)
    with ape.reverts("claims: dispute timeout not over"):
        desk.closeTimedOutDispute(claim_id, sender=stranger)
    chain.pending_timestamp += DISPUTE_TIMEOUT
    receipt = desk.closeTimedOutDispute(claim_id, sender=stranger)
    closed = receipt.decode_logs(desk.DisputeTimedOut)[0]
    assert closed.ruling == 0 and closed.bondReturnedTo == claimant.address
    claim = manager.claim(claim_id)
    assert claim.status == RESOLVED and claim.payout == 2 * ETH  # the oracle's PARTIAL stands
    assert desk.credits(claimant) == BOND and desk.heldBonds() == 0
    with ape.reverts("claims: no open dispute"):
        desk.closeTimedOutDispute(claim_id, sender=stranger)


def test_escalate__arbitrator_never_rules__claimant_paid_claimed_less_deductible_after_timeout(
    project, manager, desk, create_product, buy_policy, submit_claim, claimant, stranger, chain, deployer
):
    mock = deployer.deploy(project.MockArbitrator)
    claim_id = submit_claim(buy_policy(create_product(arbitrator=mock.address)), amount=3 * ETH)
    chain.pending_timestamp += DAY
    desk.escalate(claim_id, value=0, sender=claimant)  # the mock charges no fee
    chain.pending_timestamp += DISPUTE_TIMEOUT
    receipt = desk.closeTimedOutDispute(claim_id, sender=stranger)
    assert receipt.decode_logs(desk.DisputeTimedOut)[0].bondReturnedTo == "0x" + "00" * 20  # no bond
    assert manager.claim(claim_id).payout == 3 * ETH - ETH // 2


def test_rule__late_after_timeout__ignored_without_reverting(
    manager, desk, mock_arbitrated_claim, claimant, stranger, chain, deployer
):
    mock, claim_id = mock_arbitrated_claim
    dispute_id = _dispute(desk, claim_id, claimant)
    chain.pending_timestamp += DISPUTE_TIMEOUT
    desk.closeTimedOutDispute(claim_id, sender=stranger)
    receipt = mock.giveRuling(desk, dispute_id, 2, sender=deployer)  # the arbitrator wakes up
    assert receipt.decode_logs(desk.LateRulingIgnored)[0].ruling == 2
    assert not receipt.decode_logs(desk.ClaimRuled)
    assert manager.claim(claim_id).payout == 2 * ETH and desk.credits(claimant) == BOND


def test_rule__in_time__dispute_cannot_be_closed_by_timeout(
    desk, mock_arbitrated_claim, claimant, stranger, chain, deployer
):
    mock, claim_id = mock_arbitrated_claim
    dispute_id = _dispute(desk, claim_id, claimant)
    mock.giveRuling(desk, dispute_id, 3, sender=deployer)
    chain.pending_timestamp += DISPUTE_TIMEOUT
    with ape.reverts("claims: dispute already ruled"):
        desk.closeTimedOutDispute(claim_id, sender=stranger)


def test_panel_split_vote__deadline_default__escalated_claim_paid_and_disputed_claim_keeps_oracle_payout(
    manager, desk, arbitrator, panelists, decided_claim, open_claim, claimant, stranger, chain
):
    # a 1/2/3 split of the 2-of-3 panel used to leave the claim DISPUTED and its coverage locked for ever
    _, _, disputed = decided_claim
    dispute_id = _dispute(desk, disputed, claimant)
    _, _, silent = open_claim(amount=3 * ETH)
    chain.pending_timestamp += DAY
    escalated_id = (
        desk.escalate(silent, value=ARBITRATION_FEE, sender=claimant).decode_logs(desk.ClaimEscalated)[0].disputeId
    )
    for dispute in (dispute_id, escalated_id):
        for panelist, ruling in zip(panelists, (1, 2, 3), strict=True):
            arbitrator.vote(dispute, ruling, sender=panelist)
    chain.pending_timestamp += 14 * DAY
    arbitrator.ruleByDefault(dispute_id, sender=stranger)
    arbitrator.ruleByDefault(escalated_id, sender=stranger)
    assert manager.claim(disputed).status == RESOLVED and manager.claim(disputed).payout == 2 * ETH
    assert manager.claim(silent).status == RESOLVED and manager.claim(silent).payout == 3 * ETH - ETH // 2


def test_rule__ruling_out_of_range__reverts(manager, mock_arbitrated_claim, claimant, deployer, desk):
    mock, claim_id = mock_arbitrated_claim
    dispute_id = _dispute(desk, claim_id, claimant)
    with ape.reverts("claims: ruling out of range"):
        mock.giveRuling(desk, dispute_id, 4, sender=deployer)


def test_rule__twice__reverts(manager, mock_arbitrated_claim, claimant, deployer, desk):
    mock, claim_id = mock_arbitrated_claim
    dispute_id = _dispute(desk, claim_id, claimant)
    mock.giveRuling(desk, dispute_id, 1, sender=deployer)
    with ape.reverts("claims: not the arbitrator"):  # the dispute left the arbitrator's book
        mock.giveRuling(desk, dispute_id, 2, sender=deployer)


def test_dispute__arbitrator_reuses_an_open_id__reverts(
    manager, project, deployer, create_product, buy_policy, submit_claim, decide, claimant, desk
):
    mock = deployer.deploy(project.MockArbitrator)
    mock.setReuseIds(True, sender=deployer)
    policy_id = buy_policy(create_product(arbitrator=mock.address))
    first, second = submit_claim(policy_id, amount=4 * ETH), submit_claim(policy_id, amount=4 * ETH)
    for claim_id in (first, second):
        decide(claim_id, decision=Decision.PARTIAL, payout=2 * ETH, confidence=8000)
    _dispute(desk, first, claimant)
    with ape.reverts("claims: dispute id reused"):
        _dispute(desk, second, claimant)


def test_credit__bond_winner__withdraws_once(manager, decided_claim, arbitrator, panelists, claimant, desk):
    dispute_id = _dispute(desk, decided_claim[2], claimant)
    _rule(arbitrator, panelists, dispute_id, 2)
    before = claimant.balance
    receipt = desk.withdrawCredit(sender=claimant)
    assert claimant.balance == before + BOND + ARBITRATION_FEE - receipt.total_fees_paid
    with ape.reverts("claims: nothing to withdraw"):
        desk.withdrawCredit(sender=claimant)


# ------------------------------------------------------------------ escalation (oracle silent)


def test_escalate__after_timeout__arbitrator_decides(
    manager, open_claim, arbitrator, panelists, chain, claimant, make_report, sign, deployer, desk
):
    _, _, claim_id = open_claim(amount=3 * ETH)
    with ape.reverts("claims: oracle timeout not over"):
        desk.escalate(claim_id, value=ARBITRATION_FEE, sender=claimant)
    chain.pending_timestamp += DAY
    receipt = desk.escalate(claim_id, value=ARBITRATION_FEE, sender=claimant)
    dispute_id = receipt.decode_logs(desk.ClaimEscalated)[0].disputeId
    assert manager.claim(claim_id).escalated
    late = make_report(claim_id)
    with ape.reverts("oracle: claim not awaiting one"):
        manager.submitSignedReport(late.as_tuple(), sign(late), sender=deployer)
    _rule(arbitrator, panelists, dispute_id, 2)
    assert manager.claim(claim_id).payout == 3 * ETH - ETH // 2
    assert desk.totalCredits() == ARBITRATION_FEE  # no bond on escalation; the fee back to the claimant who won


def test_escalate__upheld_without_decision__pays_nothing(
    manager, desk, open_claim, arbitrator, panelists, chain, insurer
):
    _, policy_id, claim_id = open_claim()
    chain.pending_timestamp += DAY
    dispute_id = (
        desk.escalate(claim_id, value=ARBITRATION_FEE, sender=insurer).decode_logs(desk.ClaimEscalated)[0].disputeId
    )
    _rule(arbitrator, panelists, dispute_id, 1)
    assert manager.claim(claim_id).status == RESOLVED and manager.claim(claim_id).payout == 0
    assert manager.policy(policy_id).openClaims == 0


def test_escalate__stranger_or_decided__reverts(desk, open_claim, decided_claim, chain, stranger, claimant):
    _, _, claim_id = open_claim()
    chain.pending_timestamp += DAY
    with ape.reverts("claims: not claimant or insurer"):
        desk.escalate(claim_id, value=ARBITRATION_FEE, sender=stranger)
    with ape.reverts("claims: not awaiting the oracle"):
        desk.escalate(decided_claim[2], value=ARBITRATION_FEE, sender=claimant)
    with ape.reverts("claims: arbitration fee not paid"):
        desk.escalate(claim_id, value=ARBITRATION_FEE - 1, sender=claimant)


# ------------------------------------------------------------------ evidence


def test_submit_evidence__parties__emit_erc1497_evidence(
    manager, decided_claim, arbitrator, claimant, insurer, oracles, stranger, desk
):
    _, _, claim_id = decided_claim
    for party in (claimant, insurer, oracles[0]):
        event = desk.submitEvidence(claim_id, "ipfs://bafkexplanation", sender=party).decode_logs(desk.Evidence)[0]
        assert event._party == party.address and event._evidenceGroupID == claim_id
        assert event._arbitrator == arbitrator.address
    with ape.reverts("claims: not a party"):
        desk.submitEvidence(claim_id, "ipfs://spam", sender=stranger)
    with ape.reverts("claims: unknown claim"):
        desk.submitEvidence(claim_id + 1, "ipfs://x", sender=claimant)


# ------------------------------------------------------------------ reentrancy


def test_reentrancy__claimant_contract_rewithdraws_payout__blocked(
    project, manager, create_product, decide, chain, deployer
):
    attacker = deployer.deploy(project.ReentrantClaimant, manager)
    product_id = create_product()
    receipt = attacker.buy(product_id, value=ETH // 10, sender=deployer)
    policy_id = receipt.decode_logs(manager.PolicyPurchased)[0].policyId
    chain.pending_timestamp += 3600
    claim_id = (
        attacker.claim(policy_id, ETH, chain.pending_timestamp - 60, sender=deployer)
        .decode_logs(manager.ClaimSubmitted)[0]
        .claimId
    )
    decide(claim_id, payout=ETH // 2, confidence=9900)
    attacker.withdraw(claim_id, sender=deployer)
    assert attacker.reentered() and not attacker.reentrySucceeded()
    assert attacker.balance == ETH // 2  # paid exactly once


def test_reentrancy__malicious_token_reenters_withdraw__blocked(
    project, manager, create_product, buy_policy, submit_claim, decide, claimant, insurer, deployer
):
    evil = deployer.deploy(project.ReentrantToken)
    product_id = create_product(capital=0, asset=evil)
    evil.mint(insurer, 20 * ETH, sender=insurer)
    evil.approve(manager, 20 * ETH, sender=insurer)
    manager.depositCapital(product_id, 20 * ETH, sender=insurer)
    policy_id = buy_policy(product_id, token=evil)
    claim_id = submit_claim(policy_id)
    decide(claim_id, payout=ETH // 2, confidence=9900)
    evil.arm(manager, manager.withdrawCapital.encode_input(product_id, ETH, insurer.address), sender=insurer)
    manager.withdrawPayout(claim_id, sender=claimant)
    assert not evil.reentrySucceeded()
    assert evil.balanceOf(claimant) == ETH // 2
