"""The node's database: the chain cursor, one row per claim job, and the claims history fraud checks read."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, create_engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from oracle.sources.history import ClaimOrder, PriorClaim, PriorPhoto

# Job states, in the order a job moves through them; ORPHANED and FAILED end a job early.
DISCOVERED = "discovered"  # event seen at confirmation depth, not yet assessed
ASSESSED = "assessed"  # outcome computed and explanation stored
SENDING = "sending"  # a signed transaction is written down; it may or may not have reached the chain
DONE = "done"  # our vote or report is mined, or the claim no longer needs it
ORPHANED = "orphaned"  # a reorg removed the claim
FAILED = "failed"  # gave up after repeated errors (see `error`)
OPEN_STATES = (DISCOVERED, ASSESSED, SENDING)


class Base(DeclarativeBase):
    """Declarative base of the node's tables."""


class Cursor(Base):
    """How far the node has scanned one contract on one chain."""

    __tablename__ = "cursor"
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Job(Base):
    """One claim the node must decide, with everything needed to resume after a crash."""

    __tablename__ = "jobs"
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    event_json: Mapped[str] = mapped_column(Text)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    outcome_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    tx_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[float] = mapped_column()


class PolicyObject(Base):
    """The insured object a policy was bought for, read once from its `PolicyPurchased` event."""

    __tablename__ = "policy_objects"
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contract: Mapped[str] = mapped_column(String(42), primary_key=True)
    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    insured_object: Mapped[bytes] = mapped_column(LargeBinary(32))


class HistoryClaim(Base):
    """A claim as history sees it: its insured object and when it was submitted."""

    __tablename__ = "history_claims"
    claim_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    policy_id: Mapped[int] = mapped_column(BigInteger)
    insured_object_id: Mapped[str] = mapped_column(String(66), index=True)
    incident_time: Mapped[int] = mapped_column(BigInteger)
    submitted_at: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payout: Mapped[str] = mapped_column(String(80), default="0")


class HistoryPhoto(Base):
    """A photo of a claim with its perceptual hashes, for the reused-photo check."""

    __tablename__ = "history_photos"
    claim_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cid: Mapped[str] = mapped_column(String(80), primary_key=True)
    submitted_at: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    phash: Mapped[str] = mapped_column(String(20))  # 64-bit ints as decimal strings: portable across databases
    dhash: Mapped[str] = mapped_column(String(20))


@dataclass(frozen=True)
class JobView:
    """A read-only copy of a job row."""

    claim_id: int
    state: str
    event: dict
    block_number: int
    block_hash: bytes
    outcome: dict | None
    raw_tx: bytes | None
    tx_hash: bytes | None
    attempts: int
    error: str | None


class NodeStore:
    """The node's state in SQLite (default) or PostgreSQL, by SQLAlchemy URL."""

    def __init__(self, url: str):
        """Open (and create if needed) the database at `url`."""
        self.engine = create_engine(url, future=True)
        Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # ------------------------------------------------------------ cursor

    def cursor(self, chain_id: int, contract: str) -> tuple[int, bytes] | None:
        """The last scanned block and its hash, or None before the first scan."""
        with self._session() as session:
            row = session.get(Cursor, (chain_id, contract))
            return (row.block_number, row.block_hash) if row else None

    def set_cursor(self, chain_id: int, contract: str, block_number: int, block_hash: bytes) -> None:
        """Move the cursor (forward after a scan, backward after a reorg)."""
        with self._session.begin() as session:
            session.merge(Cursor(chain_id=chain_id, contract=contract, block_number=block_number,
                                 block_hash=block_hash))

    # ------------------------------------------------------------ jobs

    def add_job(self, chain_id: int, contract: str, claim_id: int, event: dict, block_number: int,
                block_hash: bytes) -> bool:
        """Record a newly seen claim; returns False (and changes nothing) if the job already exists."""
        try:
            with self._session.begin() as session:
                if session.get(Job, (chain_id, contract, claim_id)) is not None:
                    return False
                session.add(Job(chain_id=chain_id, contract=contract, claim_id=claim_id, state=DISCOVERED,
                                event_json=json.dumps(event, sort_keys=True), block_number=block_number,
                                block_hash=block_hash, attempts=0, updated_at=time.time()))
        except IntegrityError:  # another connection inserted it between our read and our commit
            return False
        return True

    def jobs(self, chain_id: int, contract: str, states: Iterable[str] = OPEN_STATES) -> list[JobView]:
        """Jobs in the given states, oldest claim first."""
        with self._session() as session:
            rows = session.scalars(
                select(Job).where(Job.chain_id == chain_id, Job.contract == contract, Job.state.in_(list(states)))
                .order_by(Job.block_number, Job.claim_id)
            ).all()
            return [self._view(row) for row in rows]

    def job(self, chain_id: int, contract: str, claim_id: int) -> JobView | None:
        """One job, or None."""
        with self._session() as session:
            row = session.get(Job, (chain_id, contract, claim_id))
            return self._view(row) if row else None

    def update_job(self, chain_id: int, contract: str, claim_id: int, *, expect_state: str | None = None,
                   **fields) -> bool:
        """Change a job's fields (outcome as a dict is stored as JSON); with expect_state, only from that state."""
        if "outcome" in fields:
            fields["outcome_json"] = json.dumps(fields.pop("outcome"), sort_keys=True)
        fields["updated_at"] = time.time()
        query = update(Job).where(Job.chain_id == chain_id, Job.contract == contract, Job.claim_id == claim_id)
        if expect_state is not None:
            query = query.where(Job.state == expect_state)
        with self._session.begin() as session:
            return session.execute(query.values(**fields)).rowcount == 1

    def orphan_jobs_after(self, chain_id: int, contract: str, block_number: int) -> list[int]:
        """Mark open jobs mined after `block_number` as orphaned (a reorg); returns their claim ids."""
        with self._session.begin() as session:
            rows = session.scalars(select(Job).where(
                Job.chain_id == chain_id, Job.contract == contract, Job.block_number > block_number,
                Job.state.in_([DISCOVERED, ASSESSED]))).all()
            for row in rows:
                row.state, row.updated_at = ORPHANED, time.time()
            return [row.claim_id for row in rows]

    @staticmethod
    def _view(row: Job) -> JobView:
        """Copy a row out of its session."""
        return JobView(claim_id=row.claim_id, state=row.state, event=json.loads(row.event_json),
                       block_number=row.block_number, block_hash=row.block_hash,
                       outcome=json.loads(row.outcome_json) if row.outcome_json else None,
                       raw_tx=row.raw_tx, tx_hash=row.tx_hash, attempts=row.attempts, error=row.error)

    # ------------------------------------------------------------ policies

    def insured_object(self, chain_id: int, contract: str, policy_id: int) -> bytes | None:
        """The remembered insured object of a policy, or None."""
        with self._session() as session:
            row = session.get(PolicyObject, (chain_id, contract, policy_id))
            return row.insured_object if row else None

    def set_insured_object(self, chain_id: int, contract: str, policy_id: int, insured_object: bytes) -> None:
        """Remember a policy's insured object (idempotent)."""
        with self._session.begin() as session:
            session.merge(PolicyObject(chain_id=chain_id, contract=contract, policy_id=policy_id,
                                       insured_object=insured_object))

    # ------------------------------------------------------------ claims history

    def add_claim(self, claim: PriorClaim) -> None:
        """Remember an assessed claim for later frequency checks (idempotent)."""
        with self._session.begin() as session:
            session.merge(HistoryClaim(claim_id=claim.claim_id, policy_id=claim.policy_id,
                                       insured_object_id=claim.insured_object_id, incident_time=claim.incident_time,
                                       submitted_at=claim.submitted_at, decision=claim.decision,
                                       payout=str(claim.payout)))

    def add_photo(self, photo: PriorPhoto) -> None:
        """Remember a claim photo's perceptual hashes for later reused-photo checks (idempotent)."""
        with self._session.begin() as session:
            session.merge(HistoryPhoto(claim_id=photo.claim_id, cid=photo.cid, submitted_at=photo.submitted_at,
                                       sha256=photo.sha256, phash=str(photo.phash), dhash=str(photo.dhash)))

    def prior_claims(self, insured_object_id: str, *, before: ClaimOrder) -> Sequence[PriorClaim]:
        """Claims on this insured object that came before `before` in (submitted_at, claim_id) order."""
        with self._session() as session:
            rows = session.scalars(select(HistoryClaim).where(HistoryClaim.insured_object_id == insured_object_id)
                                   .order_by(HistoryClaim.submitted_at, HistoryClaim.claim_id)).all()
            return [PriorClaim(claim_id=r.claim_id, policy_id=r.policy_id, insured_object_id=r.insured_object_id,
                               incident_time=r.incident_time, submitted_at=r.submitted_at, decision=r.decision,
                               payout=int(r.payout))
                    for r in rows if (r.submitted_at, r.claim_id) < before]

    def prior_photos(self, *, before: ClaimOrder) -> Iterable[PriorPhoto]:
        """Photos of every claim that came before `before`."""
        with self._session() as session:
            rows = session.scalars(select(HistoryPhoto).order_by(HistoryPhoto.submitted_at,
                                                                 HistoryPhoto.claim_id)).all()
            return [PriorPhoto(claim_id=r.claim_id, submitted_at=r.submitted_at, cid=r.cid, sha256=r.sha256,
                               phash=int(r.phash), dhash=int(r.dhash))
                    for r in rows if (r.submitted_at, r.claim_id) < before]
