"""Claims submission and oracle reports: signed quorum, vote path, bindings and replay protection."""

import ape
import pytest
from eth_utils import keccak

from oracle.chain.report import Decision, Domain, report_digest, sign_report
from oracle.domain import STALE_AFTER_S

from .conftest import DAY, ETH, EVIDENCE_ROOT, OTHER_MODEL_HASH, PERIL_HAIL

SUBMITTED, DECIDED, DISPUTED, RESOLVED, PAID = 1, 2, 3, 4, 5


# ------------------------------------------------------------------ submitClaim


def test_submit_claim__holder_within_term__stores_and_emits(manager, create_product, buy_policy, claimant, chain):
    policy_id = buy_policy(create_product())
    chain.pending_timestamp += 3600
    incident = chain.pending_timestamp - 100
    receipt = manager.submitClaim(
        policy_id,
        EVIDENCE_ROOT,
        "ipfs://bafkev",
        incident,
        PERIL_HAIL,
        41_600_000,
        -93_600_000,
        3 * ETH,
        sender=claimant,
    )
    event = receipt.decode_logs(manager.ClaimSubmitted)[0]
    assert event.claimId == policy_id * 4096 + 1 and event.holder == claimant.address
    assert event.evidenceURI == "ipfs://bafkev" and event.latitudeE6 == 41_600_000 and event.peril == PERIL_HAIL
    claim = manager.claim(event.claimId)
    assert claim.status == SUBMITTED and claim.claimedAmount == 3 * ETH and claim.policyId == policy_id
    assert bytes(claim.evidenceRoot) == EVIDENCE_ROOT
    policy = manager.policy(policy_id)
    assert policy.claimCount == 1 and policy.openClaims == 1


def _submit(manager, policy_id, sender, chain, **kw):
    chain.pending_timestamp += 3600
    args = dict(root=EVIDENCE_ROOT, incident=chain.pending_timestamp - 100, peril=PERIL_HAIL, lat=0, lon=0, amount=ETH)
    args.update(kw)
    return manager.submitClaim(
        policy_id,
        args["root"],
        "ipfs://x",
        args["incident"],
        args["peril"],
        args["lat"],
        args["lon"],
        args["amount"],
        sender=sender,
    )


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"root": b"\x00" * 32}, "claims: evidence root is zero"),
        ({"amount": 0}, "claims: claimed amount is zero"),
        ({"amount": 2**96}, "claims: claimed amount too large"),
        ({"peril": 7}, "claims: peril not covered"),
        ({"peril": 300}, "claims: peril not covered"),
        ({"lat": 90_000_001}, "claims: latitude out of range"),
        ({"lon": -180_000_001}, "claims: longitude out of range"),
        ({"incident": 10**12}, "claims: incident in the future"),
        ({"incident": 1}, "claims: incident before start"),
    ],
)
def test_submit_claim__invalid_input__reverts(manager, create_product, buy_policy, claimant, chain, overrides, reason):
    policy_id = buy_policy(create_product())
    with ape.reverts(reason):
        _submit(manager, policy_id, claimant, chain, **overrides)


@pytest.mark.parametrize("place", [{"lat": 41_587_300}, {"lon": -93_624_900}, {"lat": 1}])
def test_precise_place_on_chain_is_refused(manager, create_product, buy_policy, claimant, chain, place):
    """A claim names only its 0.1-degree area on-chain, where it is public for ever; the place itself is sealed."""
    policy_id = buy_policy(create_product())
    with ape.reverts("claims: place finer than 0.1 degree"):
        _submit(manager, policy_id, claimant, chain, **place)


def test_claim_spam_beyond_the_open_claims_limit_is_refused(manager, create_product, buy_policy, claimant, chain):
    """A policy may hold at most K open claims (the product's maxOpenClaims, 3 by default), not 4,095."""
    policy_id = buy_policy(create_product())
    for _ in range(3):
        _submit(manager, policy_id, claimant, chain)
    assert manager.policy(policy_id).openClaims == 3
    with ape.reverts("claims: too many open claims"):
        _submit(manager, policy_id, claimant, chain)


def test_open_claims_limit__set_per_product(manager, create_product, buy_policy, claimant, chain):
    product_id = create_product(maxOpenClaims=1)
    assert manager.product(product_id).maxOpenClaims == 1
    policy_id = buy_policy(product_id)
    _submit(manager, policy_id, claimant, chain)
    with ape.reverts("claims: too many open claims"):
        _submit(manager, policy_id, claimant, chain)


def test_claim_nobody_answers_is_closed_by_anyone_after_its_deadlines(
    manager, create_product, buy_policy, submit_claim, stranger, chain
):
    """A silent committee and a claimant who never escalates no longer keep a claim, and its capital, open for
    ever: 30 days past the oracle timeout anyone closes it with no payout, and the policy's slot is free."""
    policy_id = buy_policy(create_product())
    claim_id = submit_claim(policy_id)
    timeout = manager.product(manager.policy(policy_id).productId).oracleTimeout
    chain.pending_timestamp += timeout + STALE_AFTER_S - 3600
    with ape.reverts("claims: not stale yet"):
        manager.closeStale(claim_id, sender=stranger)
    chain.pending_timestamp += 3600
    receipt = manager.closeStale(claim_id, sender=stranger)
    assert receipt.decode_logs(manager.ClaimClosedStale)[0].claimId == claim_id
    claim = manager.claim(claim_id)
    assert claim.status == RESOLVED and claim.payout == 0
    assert manager.policy(policy_id).openClaims == 0
    with ape.reverts("claims: not awaiting the oracle"):
        manager.closeStale(claim_id, sender=stranger)


def test_decided_claim_cannot_be_closed_as_stale(manager, open_claim, decide, stranger, chain):
    _, _, claim_id = open_claim()
    decide(claim_id, decision=Decision.REJECT, payout=0)
    chain.pending_timestamp += 400 * DAY
    with ape.reverts("claims: not awaiting the oracle"):
        manager.closeStale(claim_id, sender=stranger)


def test_submit_claim__not_holder__reverts(manager, create_product, buy_policy, stranger, chain):
    policy_id = buy_policy(create_product())
    with ape.reverts("claims: not the policy holder"):
        _submit(manager, policy_id, stranger, chain)


def test_submit_claim__after_term__reverts(manager, create_product, buy_policy, claimant, chain):
    policy_id = buy_policy(create_product())
    chain.pending_timestamp += 366 * DAY
    with ape.reverts("claims: policy expired"):
        _submit(manager, policy_id, claimant, chain)


# ------------------------------------------------------------------ signed reports


def test_report_digest__python_signer__matches_contract(manager, open_claim, make_report, domain):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    assert bytes(manager.reportDigest(report.as_tuple())) == report_digest(report, domain)


def test_signed_report__window_path__records_decision(manager, open_claim, decide, chain):
    _, _, claim_id = open_claim()
    receipt = decide(claim_id, decision=Decision.PARTIAL, payout=ETH, confidence=7000)
    event = receipt.decode_logs(manager.ClaimDecided)[0]
    assert event.decision == Decision.PARTIAL and event.payout == ETH and not event.instant
    assert event.windowEnds == manager.claim(claim_id).timestamp + 3 * DAY
    claim = manager.claim(claim_id)
    assert claim.status == DECIDED and claim.decision == Decision.PARTIAL and claim.payout == ETH


def test_signed_report__small_confident_approval__pays_instantly(manager, open_claim, decide):
    _, policy_id, claim_id = open_claim()
    receipt = decide(claim_id, payout=ETH // 2, confidence=9500)
    assert receipt.decode_logs(manager.ClaimDecided)[0].instant
    assert receipt.decode_logs(manager.ClaimResolved)[0].payout == ETH // 2
    assert manager.claim(claim_id).status == RESOLVED
    assert manager.policy(policy_id).remainingCoverage == 10 * ETH - ETH // 2
    assert manager.policy(policy_id).openClaims == 0


def test_instant_payouts_past_the_daily_cap_open_the_window(
    manager, create_product, buy_policy, submit_claim, decide, chain
):
    """A photo that fools the model is paid at once: at most the product's daily cap a day, then humans look."""
    product_id = create_product(instantDailyCap=ETH)
    assert manager.product(product_id).instantDailyCap == ETH
    claims = [submit_claim(buy_policy(product_id)) for _ in range(3)]
    first, second, third = (decide(claim_id, payout=ETH // 2, confidence=9500) for claim_id in claims)
    assert [r.decode_logs(manager.ClaimDecided)[0].instant for r in (first, second, third)] == [True, True, False]
    assert manager.claim(claims[2]).status == DECIDED  # the window is open; the claim is not lost
    chain.pending_timestamp += DAY  # a new UTC day: the budget is fresh
    fourth = decide(submit_claim(buy_policy(product_id)), payout=ETH // 2, confidence=9500)
    assert fourth.decode_logs(manager.ClaimDecided)[0].instant


@pytest.mark.parametrize(
    "fields",
    [
        {"payout": 2 * ETH, "confidence": 9900},  # above the instant limit
        {"payout": ETH // 2, "confidence": 8999},  # below the minimum confidence
    ],
)
def test_signed_report__not_instant__opens_window(manager, open_claim, decide, fields):
    _, _, claim_id = open_claim(amount=3 * ETH)
    decide(claim_id, **fields)
    assert manager.claim(claim_id).status == DECIDED


def test_signed_report__rejection__never_final_without_window(manager, open_claim, decide):
    _, _, claim_id = open_claim()
    receipt = decide(claim_id, decision=Decision.REJECT, payout=0, confidence=10_000)
    assert not receipt.decode_logs(manager.ClaimDecided)[0].instant
    assert manager.claim(claim_id).status == DECIDED


def test_signed_report__fewer_than_m__reverts(manager, open_claim, make_report, sign, oracles, deployer):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    with ape.reverts("oracle: not enough signatures"):
        manager.submitSignedReport(report.as_tuple(), sign(report, oracles[:1]), sender=deployer)


def test_signed_report__same_signer_twice__reverts(manager, open_claim, make_report, sign, oracles, deployer):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    one = sign(report, oracles[:1])
    with ape.reverts("oracle: signers not ascending"):
        manager.submitSignedReport(report.as_tuple(), one + one, sender=deployer)


def test_signed_report__descending_order__reverts(manager, open_claim, make_report, sign, oracles, deployer):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    with ape.reverts("oracle: signers not ascending"):
        manager.submitSignedReport(report.as_tuple(), list(reversed(sign(report))), sender=deployer)


def test_signed_report__signer_outside_committee__reverts(
    manager, open_claim, make_report, sign, oracles, stranger, deployer
):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(report.as_tuple(), sign(report, [oracles[0], stranger]), sender=deployer)


def test_signed_report__replayed_on_another_claim__reverts(
    manager, create_product, buy_policy, submit_claim, make_report, sign, deployer
):
    policy_id = buy_policy(create_product())
    first, second = submit_claim(policy_id), submit_claim(policy_id)
    signatures = sign(make_report(first))
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(make_report(second).as_tuple(), signatures, sender=deployer)


def test_signed_report__replayed_after_decision__reverts(manager, open_claim, make_report, sign, deployer):
    _, _, claim_id = open_claim(amount=5 * ETH)
    report = make_report(claim_id, payout=3 * ETH, confidence=8000)
    signatures = sign(report)
    manager.submitSignedReport(report.as_tuple(), signatures, sender=deployer)
    with ape.reverts("oracle: claim not awaiting one"):
        manager.submitSignedReport(report.as_tuple(), signatures, sender=deployer)


def test_signed_report__signed_for_another_chain__reverts(manager, open_claim, make_report, sign, domain, deployer):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    foreign = Domain(chain_id=domain.chain_id + 1, verifying_contract=domain.verifying_contract)
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(report.as_tuple(), sign(report, sign_domain=foreign), sender=deployer)


def test_signed_report__signed_for_another_contract__reverts(
    project, manager, open_claim, make_report, sign, domain, deployer
):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    twin = deployer.deploy(
        project.ClaimsManager, deployer.deploy(project.ProductGovernor), deployer.deploy(project.DisputeDesk)
    )
    foreign = Domain(chain_id=domain.chain_id, verifying_contract=twin.address)
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(report.as_tuple(), sign(report, sign_domain=foreign), sender=deployer)


def test_signed_report__another_products_committee__reverts(
    manager, create_product, open_claim, make_report, sign, accounts, insurer, deployer
):
    # the same claim id space, but a product whose committee is different signers
    other_committee = [accounts[10], accounts[11]]
    _, _, claim_id = open_claim(committee=[a.address for a in other_committee])
    report = make_report(claim_id)
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)
    manager.submitSignedReport(report.as_tuple(), sign(report, other_committee), sender=deployer)


def test_signed_report__high_s_malleated_signature__reverts(
    manager, open_claim, make_report, domain, oracles, deployer
):
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    signatures = []
    for oracle in sorted(oracles[:2], key=lambda a: int(a.address, 16)):
        v, r, s = sign_report(report, domain, oracle.private_key)
        signatures.append((55 - v, r, (n - int.from_bytes(s, "big")).to_bytes(32, "big")))
    with ape.reverts("ecdsa: invalid signature `s` value"):
        manager.submitSignedReport(report.as_tuple(), signatures, sender=deployer)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"evidenceRoot": keccak(b"other evidence")}, "oracle: evidence root mismatch"),
        ({"termsHash": keccak(b"other terms")}, "oracle: terms hash mismatch"),
        ({"modelHash": OTHER_MODEL_HASH}, "oracle: model not approved"),
        ({"decision": Decision.REJECT, "payout": ETH}, "oracle: REJECT or REFER with a payout"),
        ({"decision": Decision.APPROVE, "payout": 0}, "oracle: approval without payout"),
        ({"payout": 3 * ETH}, "oracle: payout above claimed less deductible"),
    ],
)
def test_signed_report__bad_binding_or_values__reverts(
    manager, open_claim, make_report, sign, deployer, fields, reason
):
    _, _, claim_id = open_claim()
    report = make_report(claim_id, **fields)
    with ape.reverts(reason):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)


# reports are bound to the committee epoch and a deadline (issue 13)


def test_signed_report__naming_another_epoch__reverts(manager, open_claim, make_report, sign, deployer):
    # a signature binds the rules epoch the claim was submitted under, and no other
    _, _, claim_id = open_claim()
    report = make_report(claim_id, epoch=manager.claim(claim_id).epoch + 1)
    with ape.reverts("oracle: report for another committee epoch"):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)


def test_signed_report__past_its_deadline__reverts(manager, open_claim, make_report, sign, deployer, chain):
    # signatures never expired: one collected long ago could be replayed while the claim still waited
    _, _, claim_id = open_claim()
    report = make_report(claim_id)
    signatures = sign(report)
    chain.pending_timestamp = report.deadline + 1
    with ape.reverts("oracle: report expired"):
        manager.submitSignedReport(report.as_tuple(), signatures, sender=deployer)


def test_vote_report__another_epoch_or_expired__reverts(manager, open_claim, make_report, oracles, chain):
    _, _, claim_id = open_claim()
    with ape.reverts("oracle: report for another committee epoch"):
        manager.voteReport(make_report(claim_id, epoch=2).as_tuple(), sender=oracles[0])
    report = make_report(claim_id)
    chain.pending_timestamp = report.deadline + 1
    with ape.reverts("oracle: report expired"):
        manager.voteReport(report.as_tuple(), sender=oracles[0])


# the payout rules the off-chain assessment follows, enforced by the contract itself (issue 13)


@pytest.mark.parametrize("decision", [Decision.APPROVE, Decision.PARTIAL])
def test_signed_report__approval_of_full_claimed_amount_ignoring_deductible__reverts(
    manager, open_claim, make_report, sign, deployer, decision
):
    # a 2 ETH claim under a 0.5 ETH deductible can pay at most 1.5 ETH, however the committee votes
    _, _, claim_id = open_claim(amount=2 * ETH)
    report = make_report(claim_id, decision=decision, payout=2 * ETH)
    with ape.reverts("oracle: payout above claimed less deductible"):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)
    report = make_report(claim_id, decision=decision, payout=2 * ETH - ETH // 2, confidence=8000)
    manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)
    assert manager.claim(claim_id).payout == 2 * ETH - ETH // 2


def test_signed_report__refer_carrying_a_payout__reverts(manager, open_claim, make_report, sign, deployer):
    # a referral sends the claim to a human; it must not smuggle a payout through `finalize`
    _, _, claim_id = open_claim(amount=4 * ETH)
    report = make_report(claim_id, decision=Decision.REFER, payout=3 * ETH)
    with ape.reverts("oracle: REJECT or REFER with a payout"):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)


def test_vote_report__refer_carrying_a_payout__reverts(manager, open_claim, make_report, oracles):
    _, _, claim_id = open_claim(amount=4 * ETH)
    report = make_report(claim_id, decision=Decision.REFER, payout=3 * ETH)
    with ape.reverts("oracle: REJECT or REFER with a payout"):
        manager.voteReport(report.as_tuple(), sender=oracles[0])


def test_signed_report__unknown_decision_or_confidence__reverts(manager, open_claim, make_report, sign, deployer):
    _, _, claim_id = open_claim()
    good = make_report(claim_id)
    for values, reason in (((5,), "oracle: unknown decision"), ((None, 10_001), "oracle: confidence over 10000")):
        fields = list(good.as_tuple())
        if values[0] is not None:
            fields[1] = values[0]
        if len(values) > 1:
            fields[3] = values[1]
        with ape.reverts(reason):
            manager.submitSignedReport(tuple(fields), [], sender=deployer)


def test_signed_report__unknown_claim__reverts(
    manager, make_report, create_product, buy_policy, submit_claim, sign, deployer
):
    policy_id = buy_policy(create_product())
    claim_id = submit_claim(policy_id)
    report = make_report(claim_id, claimId=claim_id + 1)
    with ape.reverts("oracle: claim not awaiting one"):
        manager.submitSignedReport(report.as_tuple(), sign(report), sender=deployer)


# ------------------------------------------------------------------ vote path


def test_vote_report__m_matching_votes__records_decision(manager, open_claim, make_report, oracles):
    _, _, claim_id = open_claim(amount=5 * ETH)
    report = make_report(claim_id, payout=3 * ETH, confidence=8000)
    first = manager.voteReport(report.as_tuple(), sender=oracles[0])
    assert first.decode_logs(manager.ReportVoted)[0].votes == 1
    assert manager.claim(claim_id).status == SUBMITTED
    manager.voteReport(report.as_tuple(), sender=oracles[2])
    assert manager.claim(claim_id).status == DECIDED and manager.claim(claim_id).payout == 3 * ETH


def test_vote_report__differing_reports__no_quorum(manager, open_claim, make_report, oracles):
    _, _, claim_id = open_claim(amount=5 * ETH)
    manager.voteReport(make_report(claim_id, payout=3 * ETH, confidence=8000).as_tuple(), sender=oracles[0])
    manager.voteReport(make_report(claim_id, payout=2 * ETH, confidence=8000).as_tuple(), sender=oracles[1])
    assert manager.claim(claim_id).status == SUBMITTED


def test_vote_report__same_member_twice__reverts(manager, open_claim, make_report, oracles):
    _, _, claim_id = open_claim(amount=5 * ETH)
    report = make_report(claim_id, payout=3 * ETH, confidence=8000)
    manager.voteReport(report.as_tuple(), sender=oracles[0])
    with ape.reverts("oracle: already voted"):
        manager.voteReport(report.as_tuple(), sender=oracles[0])


def test_vote_report__outsider__reverts(manager, open_claim, make_report, stranger):
    _, _, claim_id = open_claim()
    with ape.reverts("oracle: caller not in committee"):
        manager.voteReport(make_report(claim_id).as_tuple(), sender=stranger)


def test_vote_report__bad_binding__reverts(manager, open_claim, make_report, oracles):
    _, _, claim_id = open_claim()
    with ape.reverts("oracle: evidence root mismatch"):
        manager.voteReport(make_report(claim_id, evidenceRoot=keccak(b"x")).as_tuple(), sender=oracles[0])
