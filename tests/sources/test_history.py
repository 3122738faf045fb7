"""Tests for the in-memory claims history and its ordering."""

from __future__ import annotations

from oracle.sources.history import ClaimsHistory, InMemoryClaimsHistory, PriorClaim, PriorPhoto, claim_order


def _claim(claim_id: int, obj: str, submitted_at: int) -> PriorClaim:
    return PriorClaim(
        claim_id=claim_id, policy_id=claim_id >> 12, insured_object_id=obj, incident_time=0, submitted_at=submitted_at
    )


def test_prior_claims__mixed_objects_and_times__only_earlier_claims_on_that_object():
    history = InMemoryClaimsHistory(
        claims=[_claim(4097, "A", 10), _claim(4098, "A", 30), _claim(8193, "B", 5), _claim(8194, "A", 20)]
    )
    assert isinstance(history, ClaimsHistory)
    assert [c.claim_id for c in history.prior_claims("A", before=claim_order(30, 4098))] == [4097, 8194]
    assert history.prior_claims("C", before=claim_order(100, 1)) == []


def test_prior_claims__larger_id_submitted_earlier__counts_as_prior():
    # claim ids are policyId * 4096 + index, so a later claim on policy 1 has a smaller id than policy 2's first
    history = InMemoryClaimsHistory(claims=[_claim(8193, "A", 100)])
    assert [c.claim_id for c in history.prior_claims("A", before=claim_order(200, 4099))] == [8193]
    assert history.prior_claims("A", before=claim_order(50, 4099)) == []


def test_prior_claims__same_block_time__smaller_id_first():
    history = InMemoryClaimsHistory(claims=[_claim(5, "A", 100), _claim(7, "A", 100)])
    assert [c.claim_id for c in history.prior_claims("A", before=claim_order(100, 7))] == [5]


def test_prior_photos__later_claims__excluded_so_replays_see_same_history():
    history = InMemoryClaimsHistory()
    history.add_photo(PriorPhoto(claim_id=1, submitted_at=10, cid="b1", sha256="0x1", phash=1, dhash=1))
    history.add_photo(PriorPhoto(claim_id=4, submitted_at=40, cid="b4", sha256="0x4", phash=4, dhash=4))
    assert [p.claim_id for p in history.prior_photos(before=claim_order(40, 4))] == [1]
    assert [p.claim_id for p in history.prior_photos(before=claim_order(41, 0))] == [1, 4]
