"""The scripted lifecycle on a real anvil node (ape's foundry provider): every path ends where it should."""

import pytest

from oracle.dev.lifecycle import ETH, GAS_KEYS, run_lifecycle

pytestmark = pytest.mark.anvil

PAID, RESOLVED = 5, 4


def test_lifecycle__on_anvil__every_path_reaches_its_outcome(chain):
    assert chain.provider.name == "foundry", "run with: pytest -m anvil --network ethereum:local:foundry"
    result = run_lifecycle()  # anvil enforces EIP-170, so the deployment itself checks the 24,576-byte limit
    assert result.outcomes == {
        "approve_window_finalize_withdraw": (PAID, 2 * ETH + ETH // 2),
        "approve_window_collect": (PAID, 2 * ETH + ETH // 2),
        "approve_instant": (RESOLVED, ETH // 2),
        "reject_vote_dispute_claimant_wins": (RESOLVED, 2 * ETH - ETH // 2),
        "refer_review_proposal_collect": (PAID, ETH // 2),
        "refer_unreviewed_arbitrator_insurer_side": (RESOLVED, 0),
        "silent_committee_escalated_claimant_wins": (RESOLVED, 3 * ETH // 2 + 3),  # claimed 2 ETH + 3 wei
        "stale_closed_by_anyone": (RESOLVED, 0),
    }
    assert set(GAS_KEYS) <= set(result.gas)
    assert result.gas["lifecycle_total"] == sum(
        result.gas[k] for k in ("submit_claim", "report_signed_2of3", "collect")
    )
    assert result.gas["lifecycle_total_two_step"] == sum(
        result.gas[k] for k in ("submit_claim", "report_signed_2of3", "finalize", "withdraw")
    )
    assert result.gas["lifecycle_total"] <= 226_813  # issue 13: the fixes must not make a claim dearer
