"""The panel arbitrator: ERC-792 surface, panel votes, administration and two-step ownership."""

import ape
import pytest

from .conftest import ARBITRATION_FEE, ETH

ZERO_ADDRESS = "0x" + "00" * 20
NOT_OWNER = "ownable: caller is not the owner"
NOT_PENDING_OWNER = "ownable_2step: caller is not the new owner"
DAY = 24 * 3600
FEE_DELAY, RULING_PERIOD = 7 * DAY, 14 * DAY


@pytest.fixture
def successor(accounts):
    """The account the panel's administration is handed to."""
    return accounts[10]


@pytest.fixture
def arbitrable(project, deployer):
    """A contract that opens disputes and records the rulings it is sent."""
    return deployer.deploy(project.MockArbitrable)


def _open_for(arbitrable, arbitrator, sender):
    receipt = arbitrable.open(arbitrator, 3, value=ARBITRATION_FEE, sender=sender)
    return receipt.decode_logs(arbitrator.DisputeCreation)[0]._disputeID


def _open(arbitrator, sender, choices=3):
    receipt = arbitrator.createDispute(choices, b"", value=ARBITRATION_FEE, sender=sender)
    return receipt.decode_logs(arbitrator.DisputeCreation)[0]._disputeID


def test_create_dispute__fee_paid__emits_dispute_creation(arbitrator, stranger):
    receipt = arbitrator.createDispute(3, b"", value=ARBITRATION_FEE, sender=stranger)
    event = receipt.decode_logs(arbitrator.DisputeCreation)[0]
    assert event._arbitrable == stranger.address
    assert arbitrator.disputeStatus(event._disputeID) == 0
    assert arbitrator.arbitrationCost(b"") == ARBITRATION_FEE
    assert arbitrator.feesCollected() == ARBITRATION_FEE


def test_create_dispute__fee_missing_or_no_choices__reverts(arbitrator, stranger):
    with ape.reverts("panel: arbitration fee not paid"):
        arbitrator.createDispute(3, b"", value=ARBITRATION_FEE - 1, sender=stranger)
    with ape.reverts("panel: no choices"):
        arbitrator.createDispute(0, b"", value=ARBITRATION_FEE, sender=stranger)


def test_vote__outsider_double_vote_bad_ruling__revert(arbitrator, panelists, stranger):
    dispute_id = _open(arbitrator, stranger)
    with ape.reverts("panel: caller is not a panelist"):
        arbitrator.vote(dispute_id, 1, sender=stranger)
    with ape.reverts("panel: ruling out of range"):
        arbitrator.vote(dispute_id, 4, sender=panelists[0])
    with ape.reverts("panel: unknown dispute"):
        arbitrator.vote(dispute_id + 1, 1, sender=panelists[0])
    arbitrator.vote(dispute_id, 1, sender=panelists[0])
    with ape.reverts("panel: already voted"):
        arbitrator.vote(dispute_id, 1, sender=panelists[0])


def test_vote__split_panel__no_ruling_until_quorum(arbitrator, panelists, stranger):
    dispute_id = _open(arbitrator, stranger)
    arbitrator.vote(dispute_id, 1, sender=panelists[0])
    arbitrator.vote(dispute_id, 2, sender=panelists[1])
    assert arbitrator.disputeStatus(dispute_id) == 0 and arbitrator.currentRuling(dispute_id) == 0
    assert arbitrator.votes(dispute_id, 1) == 1 and arbitrator.votes(dispute_id, 2) == 1


# ---------------------------------------------------------------- frozen disputes, majority, deadline (issue 13)


@pytest.mark.parametrize("panel_size, quorum", [(3, 1), (4, 2), (2, 1), (3, 4)])
def test_set_panel__quorum_not_above_half__reverts(project, arbitrator, deployer, accounts, panel_size, quorum):
    # with 3 panelists and quorum 1 (or 4 and 2) two rulings could each reach the quorum
    members = [a.address for a in accounts[10 : 10 + panel_size]]
    with ape.reverts("panel: quorum must be above half the panel"):
        arbitrator.setPanel(members, quorum, sender=deployer)
    with ape.reverts("panel: quorum must be above half the panel"):
        deployer.deploy(project.PanelArbitrator, members, quorum, ARBITRATION_FEE)


def test_set_panel__swapped_during_open_dispute__dispute_keeps_its_panel_and_quorum(
    arbitrator, arbitrable, deployer, panelists, stranger, accounts
):
    dispute_id = _open_for(arbitrable, arbitrator, stranger)
    arbitrator.vote(dispute_id, 2, sender=panelists[0])
    # the owner swaps in a panel of its own with a quorum of 1 of 1 to decide the open dispute
    arbitrator.setPanel([accounts[12].address], 1, sender=deployer)
    with ape.reverts("panel: caller is not a panelist"):
        arbitrator.vote(dispute_id, 3, sender=accounts[12])
    assert arbitrator.isPanelistOf(dispute_id, panelists[1]) and not arbitrator.isPanelistOf(dispute_id, accounts[12])
    arbitrator.vote(dispute_id, 2, sender=panelists[1])  # the dispute's own panel and quorum (2 of 3) decide
    assert arbitrator.disputeStatus(dispute_id) == 2 and arbitrable.rulings(dispute_id) == 2
    later = _open_for(arbitrable, arbitrator, stranger)  # new disputes go to the new panel
    arbitrator.vote(later, 3, sender=accounts[12])
    assert arbitrable.rulings(later) == 3


def test_set_fee__front_running_a_dispute__cost_unchanged_until_delay(arbitrator, deployer, stranger, chain):
    # the owner sees a dispute coming and raises the fee to something nobody can pay
    arbitrator.setFee(10**30, sender=deployer)
    assert arbitrator.arbitrationCost(b"") == ARBITRATION_FEE and arbitrator.fee() == ARBITRATION_FEE
    _open(arbitrator, stranger)  # still opens at the fee in force
    chain.pending_timestamp += FEE_DELAY
    chain.mine()
    assert arbitrator.arbitrationCost(b"") == 10**30


def test_vote__split_one_two_three__default_ruling_after_deadline(arbitrator, arbitrable, panelists, stranger, chain):
    # 3 panelists, quorum 2, votes 1/2/3: nobody can rule or vote again
    dispute_id = _open_for(arbitrable, arbitrator, stranger)
    for panelist, ruling in zip(panelists, (1, 2, 3), strict=True):
        arbitrator.vote(dispute_id, ruling, sender=panelist)
    assert arbitrator.disputeStatus(dispute_id) == 0
    with ape.reverts("panel: ruling deadline not passed"):
        arbitrator.ruleByDefault(dispute_id, sender=stranger)
    chain.pending_timestamp += RULING_PERIOD
    receipt = arbitrator.ruleByDefault(dispute_id, sender=stranger)
    assert receipt.decode_logs(arbitrator.DefaultRuled)[0].ruling == 0
    assert arbitrator.disputeStatus(dispute_id) == 2 and arbitrator.currentRuling(dispute_id) == 0
    assert arbitrable.ruled(dispute_id) and arbitrable.rulings(dispute_id) == 0
    with ape.reverts("panel: dispute already ruled"):
        arbitrator.ruleByDefault(dispute_id, sender=stranger)


def test_vote__after_deadline__reverts(arbitrator, panelists, stranger, chain):
    dispute_id = _open(arbitrator, stranger)
    chain.pending_timestamp += RULING_PERIOD
    with ape.reverts("panel: ruling deadline passed"):
        arbitrator.vote(dispute_id, 1, sender=panelists[0])


def test_appeal__any__disabled(arbitrator, stranger):
    dispute_id = _open(arbitrator, stranger)
    with ape.reverts("panel: appeals are disabled"):
        arbitrator.appeal(dispute_id, b"", value=ETH, sender=stranger)
    assert arbitrator.appealCost(dispute_id, b"") == 2**256 - 1
    assert arbitrator.appealPeriod(dispute_id) == (0, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda arb, who: arb.setFee(1, sender=who),
        lambda arb, who: arb.setPanel([who.address], 1, sender=who),
        lambda arb, who: arb.withdrawFees(who, sender=who),
        lambda arb, who: arb.transfer_ownership(who, sender=who),
    ],
    ids=["setFee", "setPanel", "withdrawFees", "transfer_ownership"],
)
def test_admin__stranger__reverts(arbitrator, stranger, call):
    with ape.reverts(NOT_OWNER):
        call(arbitrator, stranger)


def test_admin__owner__sets_fee_and_panel(arbitrator, deployer, stranger, panelists, chain):
    arbitrator.setFee(2 * ARBITRATION_FEE, sender=deployer)
    assert arbitrator.arbitrationCost(b"") == ARBITRATION_FEE  # announced, not yet in force
    chain.pending_timestamp += FEE_DELAY
    chain.mine()
    assert arbitrator.arbitrationCost(b"") == 2 * ARBITRATION_FEE
    arbitrator.setPanel([stranger.address, panelists[0].address], 2, sender=deployer)
    assert arbitrator.isPanelist(stranger) and not arbitrator.isPanelist(panelists[2])
    with ape.reverts("panel: quorum must be above half the panel"):
        arbitrator.setPanel([stranger.address], 2, sender=deployer)
    with ape.reverts("panel: duplicate panelist"):
        arbitrator.setPanel([stranger.address, stranger.address], 2, sender=deployer)


def test_withdraw_fees__collected__paid_to_receiver(arbitrator, deployer, stranger, accounts):
    _open(arbitrator, stranger)
    receiver = accounts[12]
    before = receiver.balance
    arbitrator.withdrawFees(receiver, sender=deployer)
    assert receiver.balance == before + ARBITRATION_FEE
    with ape.reverts("panel: no fees"):
        arbitrator.withdrawFees(receiver, sender=deployer)


# ---------------------------------------------------------------- two-step ownership


def test_deploy__any__deployer_owns_nothing_pending_and_no_renounce(arbitrator, deployer):
    assert arbitrator.owner() == deployer.address
    assert arbitrator.pending_owner() == ZERO_ADDRESS
    # renouncing would strand the fees and freeze the panel of every product that names this arbitrator
    assert hasattr(arbitrator, "accept_ownership") and not hasattr(arbitrator, "renounce_ownership")


def test_transfer_ownership__by_owner__pending_until_accepted_and_old_owner_keeps_control(
    arbitrator, deployer, successor
):
    receipt = arbitrator.transfer_ownership(successor, sender=deployer)
    started = receipt.decode_logs(arbitrator.OwnershipTransferStarted)[0]
    assert started.previous_owner == deployer.address and started.new_owner == successor.address
    assert not receipt.decode_logs(arbitrator.OwnershipTransferred)
    assert arbitrator.owner() == deployer.address and arbitrator.pending_owner() == successor.address
    arbitrator.setFee(3 * ARBITRATION_FEE, sender=deployer)
    assert arbitrator.pendingFee() == 3 * ARBITRATION_FEE
    with ape.reverts(NOT_OWNER):
        arbitrator.setFee(1, sender=successor)


def test_transfer_ownership__stranger__reverts(arbitrator, deployer, stranger, successor):
    with ape.reverts(NOT_OWNER):
        arbitrator.transfer_ownership(stranger, sender=stranger)
    arbitrator.transfer_ownership(successor, sender=deployer)
    with ape.reverts(NOT_OWNER):
        arbitrator.transfer_ownership(stranger, sender=stranger)
    assert arbitrator.pending_owner() == successor.address


def test_accept_ownership__not_pending_owner__reverts(arbitrator, deployer, stranger, successor):
    with ape.reverts(NOT_PENDING_OWNER):
        arbitrator.accept_ownership(sender=successor)  # nothing pending yet
    arbitrator.transfer_ownership(successor, sender=deployer)
    with ape.reverts(NOT_PENDING_OWNER):
        arbitrator.accept_ownership(sender=stranger)
    with ape.reverts(NOT_PENDING_OWNER):
        arbitrator.accept_ownership(sender=deployer)
    assert arbitrator.owner() == deployer.address and arbitrator.pending_owner() == successor.address


def test_accept_ownership__pending_owner__new_owner_manages_panel_and_old_owner_cannot(
    arbitrator, deployer, stranger, successor, panelists
):
    _open(arbitrator, stranger)
    arbitrator.transfer_ownership(successor, sender=deployer)
    receipt = arbitrator.accept_ownership(sender=successor)
    moved = receipt.decode_logs(arbitrator.OwnershipTransferred)[0]
    assert moved.previous_owner == deployer.address and moved.new_owner == successor.address
    assert arbitrator.owner() == successor.address and arbitrator.pending_owner() == ZERO_ADDRESS
    with ape.reverts(NOT_PENDING_OWNER):
        arbitrator.accept_ownership(sender=successor)  # the pending slot is cleared

    with ape.reverts(NOT_OWNER):
        arbitrator.setPanel([deployer.address], 1, sender=deployer)
    with ape.reverts(NOT_OWNER):
        arbitrator.setFee(1, sender=deployer)
    with ape.reverts(NOT_OWNER):
        arbitrator.withdrawFees(deployer, sender=deployer)
    with ape.reverts(NOT_OWNER):
        arbitrator.transfer_ownership(deployer, sender=deployer)

    arbitrator.setPanel([stranger.address, panelists[0].address], 2, sender=successor)
    assert arbitrator.panel(0) == stranger.address and arbitrator.quorum() == 2
    assert arbitrator.isPanelist(stranger) and not arbitrator.isPanelist(panelists[1])
    arbitrator.setFee(2 * ARBITRATION_FEE, sender=successor)
    assert arbitrator.pendingFee() == 2 * ARBITRATION_FEE
    before = successor.balance
    receipt = arbitrator.withdrawFees(successor, sender=successor)
    assert successor.balance == before + ARBITRATION_FEE - receipt.total_fees_paid


def test_transfer_ownership__to_zero_address__cancels_pending_transfer(arbitrator, deployer, successor):
    arbitrator.transfer_ownership(successor, sender=deployer)
    arbitrator.transfer_ownership(ZERO_ADDRESS, sender=deployer)
    assert arbitrator.pending_owner() == ZERO_ADDRESS and arbitrator.owner() == deployer.address
    with ape.reverts(NOT_PENDING_OWNER):
        arbitrator.accept_ownership(sender=successor)


def test_transfer_ownership__second_candidate__replaces_first(arbitrator, deployer, stranger, successor):
    arbitrator.transfer_ownership(stranger, sender=deployer)
    arbitrator.transfer_ownership(successor, sender=deployer)
    with ape.reverts(NOT_PENDING_OWNER):
        arbitrator.accept_ownership(sender=stranger)
    arbitrator.accept_ownership(sender=successor)
    assert arbitrator.owner() == successor.address
