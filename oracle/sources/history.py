"""Claims history: the view of earlier claims and their photos the fraud checks need, and an in-memory version."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

ClaimOrder = tuple[int, int]
"""Where a claim sits in history: (submission block time, claim id). Claim ids alone are not chronological
(the contract numbers claims policyId * 4096 + index), so history is ordered by time, then id."""


def claim_order(submitted_at: int, claim_id: int) -> ClaimOrder:
    """Return the history position of a claim submitted at a block time with an id."""
    return (submitted_at, claim_id)


PHASH_BANDS = 8  # a pHash cut into its 8 bytes: two hashes within 7 bits agree on at least one byte (pigeonhole)


def phash_bands(phash: int) -> tuple[int, ...]:
    """The 8 bytes of a 64-bit pHash, most significant first: the keys of a similar-photo index."""
    return tuple((phash >> (8 * (PHASH_BANDS - 1 - k))) & 0xFF for k in range(PHASH_BANDS))


@dataclass(frozen=True)
class PriorClaim:
    """An earlier claim on the same insured object, as the chain and node database recorded it."""

    claim_id: int
    policy_id: int
    insured_object_id: str
    incident_time: int
    submitted_at: int
    decision: int | None = None
    payout: int = 0


@dataclass(frozen=True)
class PriorPhoto:
    """A photo of an earlier claim with its perceptual hashes (64-bit integers) and content id."""

    claim_id: int
    submitted_at: int
    cid: str
    sha256: str
    phash: int
    dhash: int


@runtime_checkable
class ClaimsHistory(Protocol):
    """Read-only history; 'prior' means earlier in ClaimOrder, so a replay later sees the same history."""

    def prior_claims(self, insured_object_id: str, *, before: ClaimOrder) -> Sequence[PriorClaim]:
        """Return claims on this insured object whose (submitted_at, claim_id) is below `before`."""
        ...

    def prior_photos(
        self, *, before: ClaimOrder, like: Sequence[tuple[str, int]] | None = None, max_distance: int | None = None
    ) -> Iterable[PriorPhoto]:
        """Return the photos of all claims whose (submitted_at, claim_id) is below `before`, in (submitted_at,
        claim_id, cid) order. Given `like` ((sha256, pHash) pairs) and `max_distance`, a history may leave out
        photos that neither share one of those sha256s nor lie within `max_distance` bits of one of those pHashes."""
        ...


class InMemoryClaimsHistory:
    """A ClaimsHistory held in lists, for tests and the demo; the node implements the protocol over its database."""

    def __init__(self, claims: Iterable[PriorClaim] = (), photos: Iterable[PriorPhoto] = ()) -> None:
        self._claims: list[PriorClaim] = list(claims)
        self._photos: list[PriorPhoto] = list(photos)

    def add_claim(self, claim: PriorClaim) -> None:
        """Record a claim."""
        self._claims.append(claim)

    def add_photo(self, photo: PriorPhoto) -> None:
        """Record a photo of a claim."""
        self._photos.append(photo)

    def prior_claims(self, insured_object_id: str, *, before: ClaimOrder) -> Sequence[PriorClaim]:
        """Return claims on this insured object whose (submitted_at, claim_id) is below `before`."""
        return sorted(
            (
                c
                for c in self._claims
                if c.insured_object_id == insured_object_id and claim_order(c.submitted_at, c.claim_id) < before
            ),
            key=lambda c: claim_order(c.submitted_at, c.claim_id),
        )

    def prior_photos(
        self, *, before: ClaimOrder, like: Sequence[tuple[str, int]] | None = None, max_distance: int | None = None
    ) -> Iterable[PriorPhoto]:
        """Return the photos of all claims whose (submitted_at, claim_id) is below `before` (every one: the
        `like` and `max_distance` hints are for histories with an index)."""
        return sorted(
            (p for p in self._photos if claim_order(p.submitted_at, p.claim_id) < before),
            key=lambda p: (p.submitted_at, p.claim_id, p.cid),
        )
