"""Products: creation with every parameter, and the insurer-only operational settings."""

import ape
import pytest
from eth_utils import keccak

from oracle.chain.deploy import DEMO_VEHICLE_CLASS as SEDAN

from .conftest import DAY, DEFAULT_PRODUCT, ETH, MODEL_HASH, OTHER_MODEL_HASH, TERMS_HASH


def test_create_product__valid_config__stores_every_parameter_and_emits_meta_evidence(
    manager, governor, insurer, oracles, arbitrator, desk
):
    config = dict(
        DEFAULT_PRODUCT, asset="0x" + "00" * 20, committee=[o.address for o in oracles], arbitrator=arbitrator.address
    )
    receipt = governor.createProduct(config, sender=insurer)
    product_id = receipt.decode_logs(manager.ProductCreated)[0].productId
    product = manager.product(product_id)
    assert product.insurer == insurer.address
    assert product.coverageLimit == 10 * ETH and product.deductible == ETH // 2 and product.premium == ETH // 10
    assert product.term == DEFAULT_PRODUCT["term"] and product.perils == 0b111111
    assert product.threshold == 2 and product.committeeSize == 3
    assert product.instantLimit == ETH and product.minConfidence == 9000
    assert product.disputeWindow == DEFAULT_PRODUCT["disputeWindow"] and product.disputeBond == ETH // 20
    assert product.oracleTimeout == DEFAULT_PRODUCT["oracleTimeout"] and product.arbitrator == arbitrator.address
    assert bytes(product.termsHash) == TERMS_HASH and not product.paused
    assert manager.committeeEpoch(product_id) == 1 and governor.currentEpoch(product_id) == 1
    assert manager.isModelApproved(product_id, 1, MODEL_HASH)
    assert governor.committee(product_id, 1) == [o.address for o in oracles]
    assert all(manager.isCommitteeMember(product_id, 1, o) for o in oracles)
    # the change delay: oracle timeout + reserved review deadline (14 d) + window + dispute timeout (30 d) + 1 d
    expected = DEFAULT_PRODUCT["oracleTimeout"] + 14 * DAY + DEFAULT_PRODUCT["disputeWindow"] + 30 * DAY + DAY
    assert governor.changeDelay(product_id) == expected and not governor.changePending(product_id)
    meta = receipt.decode_logs(desk.MetaEvidence)[0]
    assert meta._metaEvidenceID == product_id and meta._evidence == DEFAULT_PRODUCT["metaEvidenceURI"]


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"coverageLimit": 0}, "products: coverage limit is zero"),
        ({"coverageLimit": 2**96}, "products: coverage too large"),
        ({"deductible": 10 * ETH}, "products: deductible too large"),
        ({"premium": 2**96}, "products: premium too large"),
        # every class a holder may declare has its price: none, a free or an unpriceable class is refused
        ({"classFactors": []}, "products: no vehicle class"),
        ({"classFactors": [10_000, 0]}, "products: bad class factor"),
        ({"classFactors": [2**20]}, "products: bad class factor"),
        ({"term": 0}, "products: term out of range"),
        ({"perils": 0}, "products: bad perils mask"),
        ({"perils": 2**16}, "products: bad perils mask"),
        ({"instantLimit": 11 * ETH}, "products: instant over coverage"),
        ({"minConfidence": 10_001}, "products: confidence over 10000"),
        ({"disputeWindow": 0}, "products: bad dispute window"),
        ({"oracleTimeout": 0}, "products: bad oracle timeout"),
        # bounds that keep a dispute possible (issue 13): a 1-second window or timeout, an unpayable bond
        ({"disputeWindow": 1}, "products: bad dispute window"),
        ({"disputeWindow": 86_399}, "products: bad dispute window"),
        ({"oracleTimeout": 1}, "products: bad oracle timeout"),
        ({"oracleTimeout": 3_599}, "products: bad oracle timeout"),
        ({"maxOpenClaims": 0}, "products: bad open-claims limit"),
        ({"maxOpenClaims": 256}, "products: bad open-claims limit"),
        ({"disputeBond": ETH + 1}, "products: dispute bond too large"),
        ({"disputeBond": 2**255}, "products: dispute bond too large"),
        ({"models": [keccak(b"model"), b"\x00" * 32]}, "products: model hash is zero"),
        ({"termsHash": b"\x00" * 32}, "products: terms hash is zero"),
        ({"models": []}, "products: no approved model"),
        ({"threshold": 0}, "products: bad threshold"),
        ({"threshold": 4}, "products: bad threshold"),
    ],
)
def test_create_product__invalid_parameter__reverts(create_product, overrides, reason):
    with ape.reverts(reason):
        create_product(capital=0, **overrides)


def test_create_product__bounds_at_their_limits__accepted(manager, create_product):
    product_id = create_product(capital=0, disputeWindow=86_400, oracleTimeout=3_600, disputeBond=ETH)
    product = manager.product(product_id)
    assert (product.disputeWindow, product.oracleTimeout, product.disputeBond) == (86_400, 3_600, ETH)


def test_create_product__arbitrator_without_code__reverts(create_product, stranger):
    with ape.reverts("products: arbitrator has no code"):
        create_product(capital=0, arbitrator=stranger.address)


def test_create_product__asset_without_code__reverts(create_product, stranger):
    with ape.reverts("products: asset has no code"):
        create_product(capital=0, asset=stranger)


def test_create_product__duplicate_or_zero_member__reverts(create_product, oracles):
    with ape.reverts("products: duplicate member"):
        create_product(capital=0, committee=[oracles[0].address, oracles[0].address])
    with ape.reverts("products: zero member"):
        create_product(capital=0, committee=[oracles[0].address, "0x" + "00" * 20], threshold=1)


def test_set_paused__insurer__blocks_new_policies_only(
    manager, governor, create_product, buy_policy, insurer, claimant
):
    product_id = create_product()
    policy_id = buy_policy(product_id)
    receipt = governor.setPaused(product_id, True, sender=insurer)
    assert receipt.decode_logs(manager.ProductPaused)[0].paused == 1
    assert manager.product(product_id).paused
    with ape.reverts("policies: product is paused"):
        manager.buyPolicy(product_id, keccak(b"x"), SEDAN, value=ETH // 10, sender=claimant)
    assert manager.policy(policy_id).holder == claimant.address  # existing policy untouched
    governor.setPaused(product_id, False, sender=insurer)
    assert buy_policy(product_id) == policy_id + 1


@pytest.mark.parametrize("call", ["setPaused", "setCommittee", "setModelApproval", "setInstantPayoutRules"])
def test_insurer_settings__stranger__reverts(manager, create_product, stranger, oracles, call, governor):
    product_id = create_product(capital=0)
    args = {
        "setPaused": (True,),
        "setCommittee": ([oracles[0].address], 1),
        "setModelApproval": (OTHER_MODEL_HASH, True),
        "setInstantPayoutRules": (0, 0),
    }[call]
    with ape.reverts("products: not the insurer"):
        getattr(governor, call)(product_id, *args, sender=stranger)


def test_set_committee__announced__applies_to_the_next_epoch_after_the_delay(
    manager, governor, create_product, insurer, oracles, stranger, chain, apply_change
):
    product_id = create_product(capital=0)
    receipt = governor.setCommittee(product_id, [oracles[2].address, stranger.address], 2, sender=insurer)
    announced = receipt.decode_logs(governor.RulesChangeAnnounced)[0]
    assert announced.members == [oracles[2].address, stranger.address] and announced.threshold == 2
    assert announced.models == [MODEL_HASH] and announced.instantLimit == ETH and announced.dailyCap == 5 * ETH
    assert announced.effectiveAt == receipt.timestamp + governor.changeDelay(product_id)
    assert governor.changePending(product_id) and governor.pendingRules(product_id).members == announced.members
    assert manager.committeeEpoch(product_id) == 1 and not manager.isCommitteeMember(product_id, 1, stranger)
    chain.pending_timestamp = announced.effectiveAt - 10
    with ape.reverts("products: change delay not over"):
        governor.applyChange(product_id, sender=stranger)
    applied = apply_change(product_id).decode_logs(governor.RulesApplied)[0]
    assert applied.epoch == 2 and applied.members == [oracles[2].address, stranger.address]
    assert manager.committeeEpoch(product_id) == 2 and not governor.changePending(product_id)
    assert manager.isCommitteeMember(product_id, 2, stranger) and not manager.isCommitteeMember(
        product_id, 2, oracles[0]
    )
    assert manager.isCommitteeMember(product_id, 1, oracles[0])  # epoch 1 keeps its committee for its claims
    assert manager.product(product_id).committeeSize == 2 and manager.product(product_id).threshold == 2
    with ape.reverts("products: no change pending"):
        governor.applyChange(product_id, sender=stranger)


def test_set_committee__threshold_above_size_or_duplicate__reverts(manager, create_product, insurer, oracles, governor):
    product_id = create_product(capital=0)
    with ape.reverts("products: bad threshold"):
        governor.setCommittee(product_id, [oracles[0].address], 2, sender=insurer)
    with ape.reverts("products: duplicate member"):
        governor.setCommittee(
            product_id, [oracles[0].address, oracles[1].address, oracles[0].address], 2, sender=insurer
        )
    with ape.reverts("products: zero member"):
        governor.setCommittee(product_id, [oracles[0].address, "0x" + "00" * 20], 1, sender=insurer)


def test_set_model_approval__announced__toggles_in_the_next_epoch_and_rejects_bad_input(
    manager, create_product, insurer, governor, apply_change
):
    product_id = create_product(capital=0)
    governor.setModelApproval(product_id, OTHER_MODEL_HASH, True, sender=insurer)
    governor.setModelApproval(product_id, MODEL_HASH, False, sender=insurer)  # amends the pending change
    assert governor.pendingRules(product_id).models == [OTHER_MODEL_HASH]
    assert manager.isModelApproved(product_id, 1, MODEL_HASH)  # nothing applies before the delay
    with ape.reverts("products: model approval unchanged"):
        governor.setModelApproval(product_id, MODEL_HASH, False, sender=insurer)
    with ape.reverts("products: model hash is zero"):
        governor.setModelApproval(product_id, b"\x00" * 32, True, sender=insurer)
    apply_change(product_id)
    assert manager.isModelApproved(product_id, 2, OTHER_MODEL_HASH) and not manager.isModelApproved(
        product_id, 2, MODEL_HASH
    )
    assert manager.isModelApproved(product_id, 1, MODEL_HASH)


def test_set_instant_payout_rules__announced__updates_next_epoch_and_checks_bounds(
    manager, create_product, insurer, governor, apply_change
):
    product_id = create_product(capital=0)
    governor.setInstantPayoutRules(product_id, 2 * ETH, 8000, sender=insurer)
    assert manager.product(product_id).instantLimit == ETH  # still the rules in force
    apply_change(product_id)
    product = manager.product(product_id)
    assert product.instantLimit == 2 * ETH and product.minConfidence == 8000
    assert product.threshold == 2 and product.perils == 0b111111  # neighbours intact
    assert product.instantDailyCap == 5 * ETH  # left out: unchanged
    governor.setInstantPayoutRules(product_id, 2 * ETH, 8000, 3 * ETH, sender=insurer)
    apply_change(product_id)
    assert manager.product(product_id).instantDailyCap == 3 * ETH
    with ape.reverts("products: daily cap too large"):
        governor.setInstantPayoutRules(product_id, 2 * ETH, 8000, 2**96, sender=insurer)
    with ape.reverts("products: instant over coverage"):
        governor.setInstantPayoutRules(product_id, 11 * ETH, 8000, sender=insurer)
    with ape.reverts("products: confidence over 10000"):
        governor.setInstantPayoutRules(product_id, ETH, 10_001, sender=insurer)


def test_cancel_change__insurer__rules_stay_and_apply_refused(
    manager, governor, create_product, insurer, oracles, stranger, chain
):
    product_id = create_product(capital=0)
    with ape.reverts("products: no change pending"):
        governor.cancelChange(product_id, sender=insurer)
    governor.setCommittee(product_id, [stranger.address], 1, sender=insurer)
    with ape.reverts("products: not the insurer"):
        governor.cancelChange(product_id, sender=stranger)
    receipt = governor.cancelChange(product_id, sender=insurer)
    assert receipt.decode_logs(governor.RulesChangeCancelled)[0].productId == product_id
    assert not governor.changePending(product_id) and governor.changeEffectiveAt(product_id) == 0
    chain.pending_timestamp += governor.changeDelay(product_id) + 1
    with ape.reverts("products: no change pending"):
        governor.applyChange(product_id, sender=stranger)
    assert manager.committeeEpoch(product_id) == 1 and governor.committee(product_id, 1) == [o.address for o in oracles]


def test_amending_a_pending_change__restarts_the_delay(governor, create_product, insurer, oracles, chain):
    # an insurer must not announce something harmless and swap it for something else just before it applies
    product_id = create_product(capital=0)
    governor.setInstantPayoutRules(product_id, ETH, 9500, sender=insurer)
    first = governor.changeEffectiveAt(product_id)
    chain.pending_timestamp = first - 60
    receipt = governor.setCommittee(product_id, [oracles[0].address], 1, sender=insurer)
    assert governor.changeEffectiveAt(product_id) == receipt.timestamp + governor.changeDelay(product_id) > first
    pending = governor.pendingRules(product_id)
    assert pending.minConfidence == 9500 and pending.members == [oracles[0].address]  # both amendments kept


def test_eip712_domain__deployed__names_this_chain_and_contract(manager, chain):
    domain = manager.eip712Domain()
    assert domain[1] == "ClaimsOracle" and domain[2] == "1"
    assert domain[3] == chain.chain_id and domain[4] == manager.address


def test_arbitrator_extra_data__set_at_creation__returned_and_bounded(manager, create_product, desk):
    product_id = create_product(capital=0, arbitratorExtraData=b"\x00" * 31 + b"\x03")  # e.g. a Kleros court id
    assert bytes(desk.arbitratorExtraData(product_id)) == b"\x00" * 31 + b"\x03"
    with ape.reverts():  # Vyper's ABI decoder refuses a Bytes[256] argument that is longer, without a reason
        create_product(capital=0, arbitratorExtraData=b"\x01" * 257)


# a committee member may remove itself at once (issue 13); nobody else can


def test_leave_committee__member_with_compromised_key__removed_at_once_and_its_signature_void(
    manager, governor, open_claim, make_report, sign, oracles, deployer
):
    product_id, _, claim_id = open_claim()
    report = make_report(claim_id)
    signatures = sign(report)  # oracles[0] and oracles[1]
    receipt = governor.leaveCommittee(product_id, sender=oracles[0])
    event = receipt.decode_logs(governor.MemberLeft)[0]
    assert event.member == oracles[0].address and event.epoch == 1
    assert governor.committee(product_id, 1) == [oracles[1].address, oracles[2].address]
    assert not manager.isCommitteeMember(product_id, 1, oracles[0])
    assert manager.product(product_id).committeeSize == 2 and manager.product(product_id).threshold == 2
    # the claim in flight no longer counts the leaver's signature; the others' signatures still do
    with ape.reverts("oracle: signer not in committee"):
        manager.submitSignedReport(report.as_tuple(), signatures, sender=deployer)
    manager.submitSignedReport(report.as_tuple(), sign(report, signers=oracles[1:]), sender=deployer)


def test_leave_committee__not_a_member_or_twice__reverts(governor, create_product, oracles, insurer, stranger):
    product_id = create_product(capital=0)
    with ape.reverts("products: not a committee member"):
        governor.leaveCommittee(product_id, sender=stranger)
    with ape.reverts("products: not a committee member"):
        governor.leaveCommittee(product_id, sender=insurer)  # the insurer cannot remove anyone at once this way
    governor.leaveCommittee(product_id, sender=oracles[2])
    with ape.reverts("products: not a committee member"):
        governor.leaveCommittee(product_id, sender=oracles[2])


def test_leave_committee__threshold_above_remaining__never_lowered(
    manager, governor, create_product, buy_policy, submit_claim, make_report, sign, oracles, deployer
):
    # a 2-of-2 committee loses a member: the other cannot decide alone; the claim waits for escalation
    product_id = create_product(committee=[o.address for o in oracles[:2]], threshold=2)
    claim_id = submit_claim(buy_policy(product_id))
    governor.leaveCommittee(product_id, sender=oracles[1])
    report = make_report(claim_id)
    with ape.reverts("oracle: not enough signatures"):
        manager.submitSignedReport(report.as_tuple(), sign(report, signers=oracles[:1]), sender=deployer)
    assert manager.product(product_id).threshold == 2 and manager.product(product_id).committeeSize == 1
    assert governor.rulesAt(product_id, 1).threshold == 2
