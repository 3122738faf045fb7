"""Capital per product (ETH and ERC-20, including no-bool tokens) and policies that lock it."""

import ape
import pytest
from eth_utils import keccak

from oracle.chain.deploy import DEMO_CLASS_FACTORS_BPS
from oracle.chain.deploy import DEMO_VEHICLE_CLASS as SEDAN

from .conftest import DAY, ETH


def test_deposit_capital__eth__adds_to_capital(manager, create_product, insurer):
    product_id = create_product(capital=0)
    receipt = manager.depositCapital(product_id, 5 * ETH, value=5 * ETH, sender=insurer)
    assert receipt.decode_logs(manager.CapitalDeposited)[0].amount == 5 * ETH
    assert manager.product(product_id).capital == 5 * ETH
    assert manager.balance >= 5 * ETH


@pytest.mark.parametrize("asset_fixture", ["token", "no_bool_token"])
def test_deposit_capital__token__pulls_tokens(manager, create_product, insurer, request, asset_fixture):
    asset = request.getfixturevalue(asset_fixture)
    product_id = create_product(capital=7 * ETH, asset=asset)
    assert manager.product(product_id).capital == 7 * ETH
    assert asset.balanceOf(manager) == 7 * ETH


def test_deposit_capital__wrong_eth_amount__reverts(manager, create_product, insurer):
    product_id = create_product(capital=0)
    with ape.reverts("asset: wrong ETH amount sent"):
        manager.depositCapital(product_id, 5 * ETH, value=ETH, sender=insurer)


def test_deposit_capital__eth_to_token_product__reverts(manager, create_product, insurer, token):
    product_id = create_product(capital=0, asset=token)
    with ape.reverts("asset: ETH sent for a token"):
        manager.depositCapital(product_id, ETH, value=ETH, sender=insurer)


def test_deposit_capital__token_without_allowance__reverts(manager, create_product, insurer, token):
    product_id = create_product(capital=0, asset=token)
    with ape.reverts("asset: token transfer reverted"):
        manager.depositCapital(product_id, ETH, sender=insurer)


def test_deposit_capital__unknown_product_or_zero__reverts(manager, create_product, insurer):
    with ape.reverts("capital: unknown product"):
        manager.depositCapital(999, ETH, value=ETH, sender=insurer)
    product_id = create_product(capital=0)
    with ape.reverts("capital: amount is zero"):
        manager.depositCapital(product_id, 0, sender=insurer)


def test_withdraw_capital__free_capital__pays_receiver(manager, create_product, insurer, stranger):
    product_id = create_product(capital=20 * ETH)
    before = stranger.balance
    manager.withdrawCapital(product_id, 5 * ETH, stranger, sender=insurer)
    assert stranger.balance == before + 5 * ETH
    assert manager.product(product_id).capital == 15 * ETH


def test_withdraw_capital__locked_capital__reverts(manager, create_product, buy_policy, insurer):
    product_id = create_product(capital=20 * ETH)
    buy_policy(product_id)  # locks 10 ETH of coverage; capital is 20.1 ETH with the premium
    product = manager.product(product_id)
    assert product.locked == 10 * ETH
    free = product.capital - product.locked
    with ape.reverts("capital: exceeds free capital"):
        manager.withdrawCapital(product_id, free + 1, insurer, sender=insurer)
    manager.withdrawCapital(product_id, free, insurer, sender=insurer)
    assert manager.product(product_id).capital == manager.product(product_id).locked


def test_withdraw_capital__stranger_or_bad_args__reverts(manager, create_product, insurer, stranger):
    product_id = create_product(capital=ETH)
    with ape.reverts("products: not the insurer"):
        manager.withdrawCapital(product_id, ETH, stranger, sender=stranger)
    with ape.reverts("capital: amount is zero"):
        manager.withdrawCapital(product_id, 0, insurer, sender=insurer)
    with ape.reverts("capital: receiver is zero"):
        manager.withdrawCapital(product_id, ETH, "0x" + "00" * 20, sender=insurer)


@pytest.mark.parametrize("asset_fixture", ["token", "no_bool_token"])
def test_withdraw_capital__token__sends_tokens(manager, create_product, insurer, stranger, request, asset_fixture):
    asset = request.getfixturevalue(asset_fixture)
    product_id = create_product(capital=3 * ETH, asset=asset)
    manager.withdrawCapital(product_id, 2 * ETH, stranger, sender=insurer)
    assert asset.balanceOf(stranger) == 2 * ETH


def test_buy_policy__eth__records_policy_and_locks_coverage(manager, create_product, claimant, chain):
    product_id = create_product(capital=20 * ETH)
    receipt = manager.buyPolicy(product_id, keccak(b"VIN-9"), SEDAN, value=ETH // 10, sender=claimant)
    event = receipt.decode_logs(manager.PolicyPurchased)[0]
    policy = manager.policy(event.policyId)
    assert policy.holder == claimant.address and policy.productId == product_id
    assert policy.end - policy.start == 365 * DAY and policy.remainingCoverage == 10 * ETH
    assert bytes(event.insuredObject) == keccak(b"VIN-9")
    product = manager.product(product_id)
    assert product.locked == 10 * ETH and product.capital == 20 * ETH + ETH // 10


def test_buy_policy__token__pulls_premium(manager, create_product, buy_policy, token, claimant):
    product_id = create_product(capital=20 * ETH, asset=token)
    policy_id = buy_policy(product_id, token=token)
    assert manager.policy(policy_id).holder == claimant.address
    assert token.balanceOf(manager) == 20 * ETH + ETH // 10


def test_buy_policy__wrong_premium__reverts(manager, create_product, claimant):
    product_id = create_product()
    with ape.reverts("asset: wrong ETH amount sent"):
        manager.buyPolicy(product_id, keccak(b"x"), SEDAN, value=ETH // 20, sender=claimant)


def test_buy_policy__not_enough_free_capital__reverts(manager, create_product, claimant):
    product_id = create_product(capital=9 * ETH)
    with ape.reverts("policies: not enough capital"):
        manager.buyPolicy(product_id, keccak(b"x"), SEDAN, value=ETH // 10, sender=claimant)


def test_buy_policy__unknown_product__reverts(manager, claimant):
    with ape.reverts("policies: unknown product"):
        manager.buyPolicy(12345, keccak(b"x"), SEDAN, value=ETH // 10, sender=claimant)


def test_premium_depends_on_declared_class(manager, create_product, claimant):
    product_id = create_product(capital=30 * ETH)
    base = manager.product(product_id).premium
    premiums = [manager.premiumOf(product_id, k) for k in range(len(DEMO_CLASS_FACTORS_BPS))]
    assert premiums == [base * factor // 10_000 for factor in DEMO_CLASS_FACTORS_BPS]
    compact, luxury = 0, 4
    assert premiums[compact] < premiums[SEDAN] == base < premiums[luxury] == 5 * base // 2
    for vehicle_class in (compact, luxury):
        receipt = manager.buyPolicy(
            product_id, keccak(b"VIN-%d" % vehicle_class), vehicle_class, value=premiums[vehicle_class], sender=claimant
        )
        event = receipt.decode_logs(manager.PolicyPurchased)[0]
        assert event.vehicleClass == vehicle_class and event.premium == premiums[vehicle_class]
        assert manager.policy(event.policyId).vehicleClass == vehicle_class
    assert manager.product(product_id).capital == 30 * ETH + premiums[compact] + premiums[luxury]


def test_declaring_a_dearer_class_at_the_cheaper_premium__reverts(manager, create_product, claimant):
    product_id = create_product()
    with ape.reverts("asset: wrong ETH amount sent"):
        manager.buyPolicy(product_id, keccak(b"x"), 4, value=manager.premiumOf(product_id, SEDAN), sender=claimant)


@pytest.mark.parametrize("vehicle_class", [len(DEMO_CLASS_FACTORS_BPS), 8, 15, 16, 2**255])
def test_buy_policy__class_the_product_does_not_offer__reverts(manager, create_product, claimant, vehicle_class):
    product_id = create_product()
    with ape.reverts("policies: vehicle class not offered"):
        manager.buyPolicy(product_id, keccak(b"x"), vehicle_class, value=ETH // 10, sender=claimant)
    with ape.reverts("policies: vehicle class not offered"):
        manager.premiumOf(product_id, vehicle_class)


def test_claimant_cannot_choose_a_dearer_class_at_claim_time(
    manager, create_product, buy_policy, submit_claim, decide, claimant
):
    """Only `buyPolicy` takes a class; a claim's whole life leaves the policy's class as bought."""
    takes_a_class = {
        method.name
        for method in manager.contract_type.mutable_methods
        if any("class" in (field.name or "").lower() for field in method.inputs)
    }
    assert takes_a_class == {"buyPolicy"}
    product_id = create_product()
    policy_id = buy_policy(product_id, vehicle_class=0)  # compact, the cheapest class
    claim_id = submit_claim(policy_id, amount=2 * ETH)
    decide(claim_id, payout=ETH // 2, confidence=9500)
    manager.withdrawPayout(claim_id, sender=claimant)
    policy = manager.policy(policy_id)
    assert policy.vehicleClass == 0 and policy.claimCount == 1 and policy.remainingCoverage == 10 * ETH - ETH // 2
    assert policy.end - policy.start == 365 * DAY  # the class shares the end's word: the end is intact


def test_release_policy__expired_without_claims__unlocks_coverage(manager, create_product, buy_policy, chain, stranger):
    product_id = create_product(capital=20 * ETH)
    policy_id = buy_policy(product_id)
    with ape.reverts("policies: policy not expired"):
        manager.releasePolicy(policy_id, sender=stranger)
    chain.pending_timestamp += 366 * DAY
    receipt = manager.releasePolicy(policy_id, sender=stranger)
    assert receipt.decode_logs(manager.PolicyReleased)[0].releasedCoverage == 10 * ETH
    assert manager.product(product_id).locked == 0
    with ape.reverts("policies: nothing to release"):
        manager.releasePolicy(policy_id, sender=stranger)


def test_release_policy__open_claim__reverts(manager, open_claim, chain, stranger):
    _, policy_id, _ = open_claim()
    chain.pending_timestamp += 366 * DAY
    with ape.reverts("policies: open claims"):
        manager.releasePolicy(policy_id, sender=stranger)


def test_release_policy__unknown__reverts(manager, stranger):
    with ape.reverts("policies: unknown policy"):
        manager.releasePolicy(777, sender=stranger)


def test_deposit_capital__token_reenters_release_policy_from_transfer_from__locked_stays_correct(
    project, manager, create_product, buy_policy, chain, insurer, stranger, deployer
):
    # An ERC-777-style payout token calls back from `transferFrom`. Before the fix, `depositCapital`
    # read the books, let the hook release an expired policy (zeroing its coverage and `locked`), then
    # wrote the stale `locked` back: the coverage was gone but the capital stayed locked for good.
    evil = deployer.deploy(project.ReentrantToken)
    product_id = create_product(capital=0, asset=evil)
    evil.mint(insurer, 20 * ETH, sender=insurer)
    evil.approve(manager, 20 * ETH, sender=insurer)
    manager.depositCapital(product_id, 20 * ETH, sender=insurer)
    policy_id = buy_policy(product_id, token=evil)
    chain.pending_timestamp += 366 * DAY

    evil.mint(stranger, 1, sender=stranger)
    evil.approve(manager, 1, sender=stranger)
    evil.armTransferFrom(manager, manager.releasePolicy.encode_input(policy_id), sender=stranger)
    manager.depositCapital(product_id, 1, sender=stranger)

    # the books agree with the policies whether or not the hook got through: whatever coverage the
    # policy still has is locked, and nothing else
    assert manager.product(product_id).locked == manager.policy(policy_id).remainingCoverage
    assert not evil.reentrySucceeded()
    manager.releasePolicy(policy_id, sender=stranger)
    product = manager.product(product_id)
    assert product.locked == 0 and product.capital == 20 * ETH + ETH // 10 + 1
