"""Who controls a live policy (issue 13): announced rule changes, claims judged by their epoch, cancellation."""

import ape
from eth_utils import keccak

from oracle.chain.report import Decision
from oracle.domain import STALE_AFTER_S

from .conftest import DAY, DEFAULT_PRODUCT, ETH, MODEL_HASH, OTHER_MODEL_HASH

SUBMITTED, DECIDED, RESOLVED = 1, 2, 4
EVIL_MODEL_HASH = keccak(b"insurer-made-model")


# ------------------------------------------------------------------ the insurer cannot take over a claim in flight


def _near_the_change(governor, chain, product_id: int) -> None:
    """Moves the chain to a few hours before the product's pending change may apply."""
    chain.pending_timestamp = governor.changeEffectiveAt(product_id) - 3 * 3600


def test_insurer_front_runs_vote_with_own_committee__change_waits_for_delay(
    manager, governor, open_claim, make_report, oracles, insurer
):
    # One member has voted APPROVE. Before the second vote lands, the insurer makes itself a 1-of-1
    # committee with a model of its own and votes REJECT. None of that may apply at once.
    product_id, _, claim_id = open_claim(amount=5 * ETH)
    honest = make_report(claim_id, payout=3 * ETH, confidence=8000)
    manager.voteReport(honest.as_tuple(), sender=oracles[0])
    governor.setCommittee(product_id, [insurer.address], 1, sender=insurer)
    governor.setModelApproval(product_id, EVIL_MODEL_HASH, True, sender=insurer)
    takeover = make_report(claim_id, decision=Decision.REJECT, payout=0, modelHash=EVIL_MODEL_HASH)
    with ape.reverts("oracle: model not approved"):
        manager.voteReport(takeover.as_tuple(), sender=insurer)
    with ape.reverts("oracle: caller not in committee"):
        manager.voteReport(make_report(claim_id, decision=Decision.REJECT, payout=0).as_tuple(), sender=insurer)
    manager.voteReport(honest.as_tuple(), sender=oracles[1])
    claim = manager.claim(claim_id)
    assert claim.status == DECIDED and claim.decision == Decision.APPROVE and claim.payout == 3 * ETH


def test_insurer_takes_over_committee__claim_submitted_before_stays_with_the_old_one(
    manager, governor, create_product, buy_policy, submit_claim, make_report, oracles, insurer, chain, apply_change
):
    # the takeover has waited out its delay; a claim submitted just before it applied is still not the insurer's
    product_id = create_product()
    policy_id = buy_policy(product_id)
    governor.setCommittee(product_id, [insurer.address], 1, sender=insurer)
    governor.setModelApproval(product_id, EVIL_MODEL_HASH, True, sender=insurer)
    _near_the_change(governor, chain, product_id)
    claim_id = submit_claim(policy_id, amount=5 * ETH)
    apply_change(product_id)
    assert manager.committeeEpoch(product_id) == 2 and manager.claim(claim_id).epoch == 1
    reject = make_report(claim_id, decision=Decision.REJECT, payout=0, modelHash=EVIL_MODEL_HASH)
    with ape.reverts("oracle: model not approved"):
        manager.voteReport(reject.as_tuple(), sender=insurer)
    with ape.reverts("oracle: report for another committee epoch"):
        manager.voteReport(
            make_report(claim_id, decision=Decision.REJECT, payout=0, epoch=2).as_tuple(), sender=insurer
        )
    with ape.reverts("oracle: caller not in committee"):
        manager.voteReport(make_report(claim_id, decision=Decision.REJECT, payout=0).as_tuple(), sender=insurer)
    honest = make_report(claim_id, payout=3 * ETH, confidence=8000)
    manager.voteReport(honest.as_tuple(), sender=oracles[0])
    manager.voteReport(honest.as_tuple(), sender=oracles[1])
    assert manager.claim(claim_id).status == DECIDED and manager.claim(claim_id).payout == 3 * ETH


def test_rotation_mid_claim__in_flight_votes_still_count(
    manager,
    governor,
    create_product,
    buy_policy,
    submit_claim,
    make_report,
    oracles,
    insurer,
    accounts,
    chain,
    apply_change,
):
    # a rotation used to start a new epoch that voided every vote cast: the insurer could stall a claim for ever
    product_id = create_product()
    policy_id = buy_policy(product_id)
    governor.setCommittee(product_id, [accounts[10].address, accounts[11].address], 2, sender=insurer)
    _near_the_change(governor, chain, product_id)
    claim_id = submit_claim(policy_id, amount=5 * ETH)
    report = make_report(claim_id, payout=3 * ETH, confidence=8000)
    manager.voteReport(report.as_tuple(), sender=oracles[0])
    apply_change(product_id)
    assert manager.claim(claim_id).epoch == 1 and manager.claim(claim_id).status == SUBMITTED
    with ape.reverts("oracle: caller not in committee"):  # the new committee has no say over the old claim
        manager.voteReport(report.as_tuple(), sender=accounts[10])
    manager.voteReport(report.as_tuple(), sender=oracles[2])  # the vote cast before the rotation still counts
    assert manager.claim(claim_id).status == DECIDED


def test_rotation_mid_claim__signatures_for_its_epoch_still_count(
    manager,
    governor,
    create_product,
    buy_policy,
    submit_claim,
    make_report,
    sign,
    insurer,
    accounts,
    deployer,
    chain,
    apply_change,
):
    product_id = create_product()
    policy_id = buy_policy(product_id)
    governor.setCommittee(product_id, [accounts[10].address], 1, sender=insurer)
    _near_the_change(governor, chain, product_id)
    claim_id = submit_claim(policy_id)
    report = make_report(claim_id)
    signatures = sign(report)
    apply_change(product_id)
    assert manager.committeeEpoch(product_id) == 2
    manager.submitSignedReport(report.as_tuple(), signatures, sender=deployer)
    assert manager.claim(claim_id).status in (DECIDED, RESOLVED)


def test_new_claim_after_rotation__judged_by_the_new_committee(
    manager,
    governor,
    create_product,
    buy_policy,
    submit_claim,
    make_report,
    sign,
    oracles,
    accounts,
    insurer,
    deployer,
    apply_change,
):
    product_id = create_product()
    policy_id = buy_policy(product_id)
    governor.setCommittee(product_id, [accounts[10].address], 1, sender=insurer)
    apply_change(product_id)
    claim_id = submit_claim(policy_id)
    report = make_report(claim_id)
    assert report.epoch == manager.claim(claim_id).epoch == 2
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)
    manager.submitSignedReport(report.as_tuple(), sign(report, signers=[accounts[10]]), sender=deployer)


def test_model_withdrawn_mid_claim__in_flight_claim_keeps_its_models(
    manager,
    governor,
    create_product,
    buy_policy,
    submit_claim,
    make_report,
    sign,
    insurer,
    deployer,
    chain,
    apply_change,
):
    product_id = create_product()
    policy_id = buy_policy(product_id)
    governor.setModelApproval(product_id, OTHER_MODEL_HASH, True, sender=insurer)
    governor.setModelApproval(product_id, MODEL_HASH, False, sender=insurer)
    _near_the_change(governor, chain, product_id)
    claim_id = submit_claim(policy_id)
    apply_change(product_id)
    other = make_report(claim_id, modelHash=OTHER_MODEL_HASH)
    with ape.reverts("oracle: model not approved"):  # the new model was not approved when the claim came in
        manager.submitSignedReport(other.as_tuple(), sign(other), sender=deployer)
    report = make_report(claim_id)
    manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)
    later = submit_claim(buy_policy(product_id))  # a claim of the new epoch takes the new model only
    with ape.reverts("oracle: model not approved"):
        manager.submitSignedReport(make_report(later).as_tuple(), sign(make_report(later)), sender=deployer)
    manager.submitSignedReport(
        make_report(later, modelHash=OTHER_MODEL_HASH).as_tuple(),
        sign(make_report(later, modelHash=OTHER_MODEL_HASH)),
        sender=deployer,
    )


def test_instant_rules_cut_mid_claim__in_flight_claim_keeps_its_instant_rules(
    manager,
    governor,
    create_product,
    buy_policy,
    submit_claim,
    make_report,
    sign,
    insurer,
    deployer,
    chain,
    apply_change,
):
    # the claimant bought instant payouts up to 1 ETH at 90 % confidence; a cut must not reach its claim
    product_id = create_product()
    policy_id = buy_policy(product_id)
    governor.setInstantPayoutRules(product_id, 0, 10_000, 0, sender=insurer)
    _near_the_change(governor, chain, product_id)
    claim_id = submit_claim(policy_id)
    apply_change(product_id)
    assert manager.product(product_id).instantLimit == 0
    report = make_report(claim_id, payout=ETH // 2, confidence=9500)
    receipt = manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)
    assert receipt.decode_logs(manager.ClaimDecided)[0].instant
    assert manager.claim(claim_id).status == RESOLVED


# ------------------------------------------------------------------ the delay and the committee's own exit


def test_change_delay__longer_than_the_longest_claim_path(governor, create_product):
    # oracle timeout + review deadline (reserved) + dispute window + dispute timeout, and beyond a stale claim
    product_id = create_product(capital=0, oracleTimeout=3 * DAY, disputeWindow=7 * DAY)
    delay = governor.changeDelay(product_id)
    assert delay > 3 * DAY + 14 * DAY + 7 * DAY + 30 * DAY
    assert delay > 3 * DAY + STALE_AFTER_S  # after which no report on a claim counts


def test_non_member_cannot_remove_member_at_once(
    manager, governor, open_claim, make_report, oracles, insurer, stranger
):
    product_id, _, claim_id = open_claim(amount=5 * ETH)
    for outsider in (insurer, stranger):
        with ape.reverts("products: not a committee member"):
            governor.leaveCommittee(product_id, sender=outsider)
    with ape.reverts("products: not a committee member"):
        governor.leaveCommittee(product_id + 1000, sender=oracles[0])  # no such product
    # the insurer's only way is an announced change, which leaves the member in place meanwhile
    governor.setCommittee(product_id, [o.address for o in oracles[1:]], 2, sender=insurer)
    assert manager.isCommitteeMember(product_id, 1, oracles[0])
    report = make_report(claim_id, payout=3 * ETH, confidence=8000)
    manager.voteReport(report.as_tuple(), sender=oracles[0])
    manager.voteReport(report.as_tuple(), sender=oracles[1])
    assert manager.claim(claim_id).status == DECIDED


def test_member_leaves_mid_claim__its_vote_no_longer_counts(manager, governor, open_claim, make_report, oracles):
    product_id, _, claim_id = open_claim(amount=5 * ETH)
    report = make_report(claim_id, payout=3 * ETH, confidence=8000)
    manager.voteReport(report.as_tuple(), sender=oracles[0])
    governor.leaveCommittee(product_id, sender=oracles[0])
    with ape.reverts("oracle: caller not in committee"):
        manager.voteReport(report.as_tuple(), sender=oracles[0])
    manager.voteReport(report.as_tuple(), sender=oracles[1])
    assert manager.claim(claim_id).status == SUBMITTED  # the leaver's earlier vote is void
    manager.voteReport(report.as_tuple(), sender=oracles[2])
    assert manager.claim(claim_id).status == DECIDED


def test_member_leaves_after_rotation__out_of_both_epochs_and_the_pending_change(
    manager,
    governor,
    create_product,
    buy_policy,
    submit_claim,
    make_report,
    sign,
    oracles,
    insurer,
    accounts,
    deployer,
    chain,
    apply_change,
):
    product_id = create_product()
    policy_id = buy_policy(product_id)
    governor.setCommittee(product_id, [oracles[0].address, accounts[10].address], 1, sender=insurer)
    _near_the_change(governor, chain, product_id)
    claim_id = submit_claim(policy_id)
    apply_change(product_id)
    governor.setCommittee(product_id, [oracles[0].address, accounts[11].address], 1, sender=insurer)
    receipt = governor.leaveCommittee(product_id, sender=oracles[0])
    assert sorted(event.epoch for event in receipt.decode_logs(governor.MemberLeft)) == [1, 2]
    assert not manager.isCommitteeMember(product_id, 1, oracles[0])
    assert not manager.isCommitteeMember(product_id, 2, oracles[0])
    assert governor.committee(product_id, 2) == [accounts[10].address]
    assert governor.pendingRules(product_id).members == [accounts[11].address]
    report = make_report(claim_id)
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)
    manager.submitSignedReport(report.as_tuple(), sign(report, signers=oracles[1:]), sender=deployer)


def test_stale_claim__report_refused(manager, open_claim, make_report, sign, deployer, chain):
    # past the oracle timeout plus STALE_AFTER a claim only closes; an old quorum cannot land on it any more
    _, _, claim_id = open_claim()
    report = make_report(claim_id, deadline=2**40)
    signatures = sign(report)
    chain.pending_timestamp = manager.claim(claim_id).timestamp + DEFAULT_PRODUCT["oracleTimeout"] + STALE_AFTER_S
    with ape.reverts("oracle: claim is stale"):
        manager.submitSignedReport(report.as_tuple(), signatures, sender=deployer)


# ------------------------------------------------------------------ a holder who does not accept a change


def test_cancel_during_pending_change__pro_rata_refund_of_the_class_premium(
    manager, governor, create_product, buy_policy, claimant, insurer, stranger, oracles, chain
):
    product_id = create_product()
    luxury = 4  # the demo product's dearest class: the refund is a share of what this policy was sold at
    policy_id = buy_policy(product_id, vehicle_class=luxury)
    policy = manager.policy(policy_id)
    before = manager.product(product_id)
    governor.setCommittee(product_id, [insurer.address], 1, sender=insurer)
    chain.pending_timestamp = policy.start + 91 * DAY
    balance = stranger.balance
    receipt = manager.cancelPolicy(policy_id, stranger, sender=claimant)
    term, premium = before.term, manager.premiumOf(product_id, luxury)
    assert premium == 5 * before.premium // 2
    refund = premium * (policy.end - receipt.timestamp) // term
    assert 0 < refund < premium
    event = receipt.decode_logs(manager.PolicyCancelled)[0]
    assert event.refund == refund and event.receiver == stranger.address and event.releasedCoverage == 10 * ETH
    assert stranger.balance == balance + refund  # paid to the named receiver
    after = manager.product(product_id)
    assert after.capital == before.capital - refund and after.locked == before.locked - 10 * ETH
    assert manager.policy(policy_id).remainingCoverage == 0
    with ape.reverts("claims: no coverage left"):
        manager.submitClaim(policy_id, keccak(b"e"), "ipfs://x", receipt.timestamp, 1, 0, 0, ETH, sender=claimant)
    with ape.reverts("policies: nothing to release"):
        manager.cancelPolicy(policy_id, claimant, sender=claimant)


def test_cancel__token_product__refund_in_the_token(
    manager, governor, create_product, buy_policy, token, claimant, insurer, chain
):
    product_id = create_product(asset=token)
    policy_id = buy_policy(product_id, token=token)
    governor.setInstantPayoutRules(product_id, 0, 10_000, sender=insurer)
    chain.pending_timestamp = manager.policy(policy_id).start + DAY
    balance = token.balanceOf(claimant)
    refund = manager.cancelPolicy(policy_id, claimant, sender=claimant).decode_logs(manager.PolicyCancelled)[0].refund
    assert refund > 0 and token.balanceOf(claimant) == balance + refund


def test_cancel__no_pending_change_or_bad_caller__reverts(
    manager, governor, create_product, buy_policy, submit_claim, claimant, insurer, stranger, chain, apply_change
):
    product_id = create_product()
    policy_id = buy_policy(product_id)
    with ape.reverts("policies: no rules change pending"):
        manager.cancelPolicy(policy_id, claimant, sender=claimant)
    governor.setCommittee(product_id, [insurer.address], 1, sender=insurer)
    with ape.reverts("policies: not the policy holder"):
        manager.cancelPolicy(policy_id, stranger, sender=stranger)
    with ape.reverts("policies: receiver is zero"):
        manager.cancelPolicy(policy_id, "0x" + "00" * 20, sender=claimant)
    submit_claim(policy_id)
    with ape.reverts("policies: open claims"):
        manager.cancelPolicy(policy_id, claimant, sender=claimant)
    apply_change(product_id)  # once applied, the change is accepted: no more cancelling for it
    other = buy_policy(product_id)
    with ape.reverts("policies: no rules change pending"):
        manager.cancelPolicy(other, claimant, sender=claimant)
    governor.setCommittee(product_id, [stranger.address], 1, sender=insurer)
    chain.pending_timestamp = manager.policy(other).end + 1
    with ape.reverts("policies: policy expired"):
        manager.cancelPolicy(other, claimant, sender=claimant)


def test_cancel_reentered_from_holder_hook__refunded_once(
    project, manager, governor, create_product, insurer, deployer
):
    attacker = deployer.deploy(project.ReentrantClaimant, manager)
    product_id = create_product()
    policy_id = (
        attacker.buy(product_id, value=ETH // 10, sender=deployer).decode_logs(manager.PolicyPurchased)[0].policyId
    )
    governor.setCommittee(product_id, [insurer.address], 1, sender=insurer)
    capital = manager.product(product_id).capital
    attacker.cancel(policy_id, sender=deployer)
    assert attacker.reentered() and not attacker.reentrySucceeded()
    assert manager.product(product_id).capital == capital - attacker.balance  # one refund left the pool


def test_cancel_reentered_from_token_hooks__blocked_and_books_consistent(
    project, manager, governor, create_product, buy_policy, chain, insurer, claimant, stranger, deployer
):
    # an ERC-777-style payout token calls back into the manager while the refund is sent, releasing another
    # expired policy in the middle: the re-entry is refused and the books come out right
    evil = deployer.deploy(project.ReentrantToken)
    product_id = create_product(capital=0, asset=evil)
    evil.mint(insurer, 30 * ETH, sender=insurer)
    evil.approve(manager, 30 * ETH, sender=insurer)
    manager.depositCapital(product_id, 30 * ETH, sender=insurer)
    expired = buy_policy(product_id, token=evil, holder=stranger)
    chain.pending_timestamp += 366 * DAY
    policy_id = buy_policy(product_id, token=evil)
    governor.setCommittee(product_id, [insurer.address], 1, sender=insurer)
    evil.arm(manager, manager.releasePolicy.encode_input(expired), sender=insurer)
    manager.cancelPolicy(policy_id, claimant, sender=claimant)
    assert not evil.reentrySucceeded()
    assert manager.product(product_id).locked == manager.policy(expired).remainingCoverage == 10 * ETH
    manager.releasePolicy(expired, sender=stranger)
    product = manager.product(product_id)
    assert product.locked == 0  # both policies released, each exactly once
    assert evil.balanceOf(manager) == product.capital


# ------------------------------------------------------------------ room to grow


def test_every_deployed_contract__keeps_3_kib_under_eip_170(project):
    # the governance of live policies lives in the governor; the manager's additions must stay small
    for name in (
        "ClaimsManager",
        "ProductGovernor",
        "DisputeDesk",
        "PanelArbitrator",
        "KeyDirectory",
        "AssessmentRequests",
    ):
        runtime = getattr(project, name).contract_type.runtime_bytecode.bytecode
        size = (len(runtime) - 2) // 2
        assert 24_576 - size >= 3_072, f"{name}: {size} bytes, {24_576 - size} under EIP-170"
