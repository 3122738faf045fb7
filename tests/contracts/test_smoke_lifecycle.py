"""A claim's whole happy path, as a first check of the wiring."""

from .conftest import ETH, DAY


def test_lifecycle__window_then_finalize__pays_holder(manager, open_claim, decide, chain, claimant):
    _, _, claim_id = open_claim()
    decide(claim_id, payout=2 * ETH, confidence=8000)
    assert manager.claim(claim_id).status == 2
    chain.pending_timestamp += 3 * DAY
    manager.finalize(claim_id, sender=claimant)
    before = claimant.balance
    receipt = manager.withdrawPayout(claim_id, sender=claimant)
    assert claimant.balance == before + 2 * ETH - receipt.total_fees_paid
