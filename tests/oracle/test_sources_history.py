"""Tests for the in-memory claims history."""

from __future__ import annotations

from oracle.sources.history import ClaimsHistory, InMemoryClaimsHistory, PriorClaim, PriorPhoto


def test_prior_claims__mixed_objects_and_ids__only_earlier_claims_on_that_object():
    history = InMemoryClaimsHistory(
        claims=[
            PriorClaim(claim_id=5, policy_id=1, insured_object_id="A", incident_time=0, submitted_at=10),
            PriorClaim(claim_id=2, policy_id=1, insured_object_id="A", incident_time=0, submitted_at=5),
            PriorClaim(claim_id=3, policy_id=2, insured_object_id="B", incident_time=0, submitted_at=6),
            PriorClaim(claim_id=9, policy_id=1, insured_object_id="A", incident_time=0, submitted_at=20),
        ]
    )
    assert isinstance(history, ClaimsHistory)
    assert [c.claim_id for c in history.prior_claims("A", before_claim_id=9)] == [2, 5]
    assert history.prior_claims("C", before_claim_id=100) == []


def test_prior_photos__later_claims__excluded_so_replays_see_same_history():
    history = InMemoryClaimsHistory()
    history.add_photo(PriorPhoto(claim_id=1, cid="b1", sha256="0x1", phash=1, dhash=1))
    history.add_photo(PriorPhoto(claim_id=4, cid="b4", sha256="0x4", phash=4, dhash=4))
    assert [p.claim_id for p in history.prior_photos(before_claim_id=4)] == [1]
    assert [p.claim_id for p in history.prior_photos(before_claim_id=5)] == [1, 4]
