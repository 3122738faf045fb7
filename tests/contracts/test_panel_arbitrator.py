"""The panel arbitrator: ERC-792 surface, panel votes and administration."""

import ape

from .conftest import ARBITRATION_FEE, ETH


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


def test_appeal__any__disabled(arbitrator, stranger):
    dispute_id = _open(arbitrator, stranger)
    with ape.reverts("panel: appeals are disabled"):
        arbitrator.appeal(dispute_id, b"", value=ETH, sender=stranger)
    assert arbitrator.appealCost(dispute_id, b"") == 2**256 - 1
    assert arbitrator.appealPeriod(dispute_id) == (0, 0)


def test_admin__owner_only(arbitrator, deployer, stranger, panelists):
    with ape.reverts("panel: caller is not the owner"):
        arbitrator.setFee(1, sender=stranger)
    with ape.reverts("panel: caller is not the owner"):
        arbitrator.setPanel([stranger.address], 1, sender=stranger)
    with ape.reverts("panel: caller is not the owner"):
        arbitrator.withdrawFees(stranger, sender=stranger)
    with ape.reverts("panel: caller is not the owner"):
        arbitrator.transferOwnership(stranger, sender=stranger)
    arbitrator.setFee(2 * ARBITRATION_FEE, sender=deployer)
    assert arbitrator.arbitrationCost(b"") == 2 * ARBITRATION_FEE
    arbitrator.setPanel([stranger.address, panelists[0].address], 2, sender=deployer)
    assert arbitrator.isPanelist(stranger) and not arbitrator.isPanelist(panelists[2])
    with ape.reverts("panel: quorum must be 1..panel size"):
        arbitrator.setPanel([stranger.address], 2, sender=deployer)
    with ape.reverts("panel: duplicate panelist"):
        arbitrator.setPanel([stranger.address, stranger.address], 1, sender=deployer)
    arbitrator.transferOwnership(stranger, sender=deployer)
    assert arbitrator.owner() == stranger.address


def test_withdraw_fees__collected__paid_to_receiver(arbitrator, deployer, stranger, accounts):
    _open(arbitrator, stranger)
    receiver = accounts[12]
    before = receiver.balance
    arbitrator.withdrawFees(receiver, sender=deployer)
    assert receiver.balance == before + ARBITRATION_FEE
    with ape.reverts("panel: no fees"):
        arbitrator.withdrawFees(receiver, sender=deployer)
