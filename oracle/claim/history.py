"""Adding a decided claim and its photos' perceptual hashes to a claims history (memory or the node database)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from oracle.assess import Claim
from oracle.claim.batch import ClaimOutcome
from oracle.sources.history import PriorClaim, PriorPhoto


@runtime_checkable
class HistoryWriter(Protocol):
    """A claims history that takes claims and photos one at a time (oracle.sources.history.InMemoryClaimsHistory)."""

    def add_claim(self, claim: PriorClaim) -> None:
        """Record a claim."""

    def add_photo(self, photo: PriorPhoto) -> None:
        """Record a photo of a claim."""


@runtime_checkable
class BatchHistoryWriter(Protocol):
    """A claims history that takes claims and photos in one go (the node's database, oracle.db.NodeStore)."""

    def add_history(self, claims: Sequence[PriorClaim], photos: Sequence[PriorPhoto]) -> None:
        """Record claims and photos together."""


def record_in_history(history: HistoryWriter | BatchHistoryWriter, claim: Claim, outcome: ClaimOutcome) -> None:
    """Add an assessed claim and its photos' perceptual hashes to a history with add_claim/add_photo (in one
    go where the history offers add_history, as the node's database does)."""
    prior, photos = outcome.history_records(claim)
    if isinstance(history, BatchHistoryWriter):
        history.add_history([prior], photos)
        return
    history.add_claim(prior)
    for photo in photos:
        history.add_photo(photo)
