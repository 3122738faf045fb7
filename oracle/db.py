"""The node's database: the chain cursor, one row per claim job, and the claims history fraud checks read."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from oracle.sources.history import PHASH_BANDS, ClaimOrder, PriorClaim, PriorPhoto, phash_bands

# Job states, in the order a job moves through them; ORPHANED, NOT_OURS and FAILED end a job early.
DISCOVERED = "discovered"  # event seen at confirmation depth, not yet assessed
ASSESSING = "assessing"  # taken by one worker of the node for assessment, until its lease runs out
ASSESSED = "assessed"  # outcome computed and explanation stored
SENDING = "sending"  # a signed transaction is written down; it may or may not have reached the chain
DONE = "done"  # our vote or report is mined, or the claim no longer needs it
ORPHANED = "orphaned"  # a reorg removed the claim
NOT_OURS = "not-ours"  # the claim's product has a committee without this node: nothing to assess or vote
FAILED = "failed"  # gave up after repeated errors (see `error`)
OPEN_STATES = (DISCOVERED, ASSESSED, SENDING)
LEASE_SECONDS = 120.0
SCHEMA_LOCK_KEY = int.from_bytes(hashlib.sha256(b"claims-oracle node schema").digest()[:8], "big", signed=True)
"""The PostgreSQL advisory lock that workers opening one database take while they create or update its tables."""
"""How long a worker holds the jobs it took (`take_jobs`); then another worker may take them (the first crashed)."""


SHA256_HEX_CHARS = 66
"""A photo's sha256 as the assessment's findings write it: 0x and 64 hex digits."""


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
    sha256: Mapped[str] = mapped_column(String(SHA256_HEX_CHARS), index=True)  # 0x-hex, as findings carry it
    phash: Mapped[str] = mapped_column(String(20))  # 64-bit ints as decimal strings: portable across databases
    dhash: Mapped[str] = mapped_column(String(20))


class PhotoBand(Base):
    """One byte of a history photo's pHash (8 rows a photo): the index that finds photos within d < 8 bits of a
    pHash without reading every earlier photo (two such hashes agree on at least 8 - d of their 8 bytes)."""

    __tablename__ = "history_photo_bands"
    band: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0..7, most significant byte first
    value: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0..255
    claim_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cid: Mapped[str] = mapped_column(String(80), primary_key=True)


@dataclass(frozen=True)
class JobView:
    """A read-only copy of a job row."""

    claim_id: int
    state: str
    event: dict[str, Any]
    block_number: int
    block_hash: bytes
    outcome: dict[str, Any] | None
    raw_tx: bytes | None
    tx_hash: bytes | None
    attempts: int
    error: str | None


class NodeStore:
    """The node's state in SQLite (default) or PostgreSQL, by SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        """Open (and create if needed) the database at `url`."""
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._leader: Connection | None = None  # the connection holding the leader lock (PostgreSQL)
        self._prepare_schema()

    def _prepare_schema(self) -> None:
        """Create the tables and bring a database written by an earlier release up to date, in one transaction; on
        PostgreSQL under an advisory lock, since workers started together raced to create the same tables and one
        died ("duplicate key value violates unique constraint pg_type_typname_nsp_index")."""
        with self.engine.begin() as connection:
            if self.shared:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            Base.metadata.create_all(connection)
            if self.shared:  # a table created with room for 64 characters refused every 0x-prefixed sha256
                connection.execute(
                    text(f"ALTER TABLE history_photos ALTER COLUMN sha256 TYPE VARCHAR({SHA256_HEX_CHARS})")
                )
            # the pHash index: the sha256 index and every photo's bands, for a database written before it
            for index in Base.metadata.tables[HistoryPhoto.__tablename__].indexes:
                index.create(connection, checkfirst=True)
            if connection.scalar(select(func.count()).select_from(PhotoBand)):
                return
            rows = connection.execute(select(HistoryPhoto.claim_id, HistoryPhoto.cid, HistoryPhoto.phash)).all()
            if rows:
                connection.execute(
                    insert(PhotoBand),
                    [band for claim_id, cid, phash in rows for band in _bands(claim_id, cid, int(phash))],
                )

    def close(self) -> None:
        """Release the database connections (and with them the leader lock)."""
        if self._leader is not None:
            # released here, at once: closing the socket only ends the server's backend (and its locks) a moment
            # later, so another worker asking right away could still find the lock held
            self._leader.execute(text("SELECT pg_advisory_unlock_all()"))
            self._leader.commit()
            self._leader.close()
            self._leader = None
        self.engine.dispose()

    @property
    def shared(self) -> bool:
        """Whether several processes may work on this database at once (PostgreSQL; SQLite serves one)."""
        return self.engine.dialect.name == "postgresql"

    def try_lead(self, name: str) -> bool:
        """Whether this store holds the lock `name` that one worker of a node holds (taken now if free): a
        PostgreSQL advisory lock on a connection kept open, so it goes with this process; always true on SQLite."""
        if not self.shared or self._leader is not None:
            return True
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        connection = self.engine.connect()
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        connection.commit()  # the advisory lock belongs to the session, not to this transaction
        if held:
            self._leader = connection
        else:
            connection.close()
        return held

    # ------------------------------------------------------------ cursor

    def cursor(self, chain_id: int, contract: str) -> tuple[int, bytes] | None:
        """The last scanned block and its hash, or None before the first scan."""
        with self._session() as session:
            row = session.get(Cursor, (chain_id, contract))
            return (row.block_number, row.block_hash) if row else None

    def set_cursor(self, chain_id: int, contract: str, block_number: int, block_hash: bytes) -> None:
        """Move the cursor (forward after a scan, backward after a reorg)."""
        with self._session.begin() as session:
            session.merge(
                Cursor(chain_id=chain_id, contract=contract, block_number=block_number, block_hash=block_hash)
            )

    # ------------------------------------------------------------ jobs

    def add_job(
        self,
        chain_id: int,
        contract: str,
        claim_id: int,
        event: dict[str, Any],
        block_number: int,
        block_hash: bytes,
    ) -> bool:
        """Record a newly seen claim; returns False (and changes nothing) if the job already exists."""
        try:
            with self._session.begin() as session:
                if session.get(Job, (chain_id, contract, claim_id)) is not None:
                    return False
                session.add(_new_job(chain_id, contract, claim_id, event, block_number, block_hash))
        except IntegrityError:  # another connection inserted it between our read and our commit
            return False
        return True

    def add_jobs(
        self,
        chain_id: int,
        contract: str,
        jobs: Sequence[tuple[int, dict[str, Any], int, bytes]],
        policies: Sequence[tuple[int, bytes]] = (),
        cursor: tuple[int, bytes] | None = None,
    ) -> list[int]:
        """Record newly seen claims (claim id, event, block number, block hash), remember insured objects of newly
        seen policies (policy id, object) and move the cursor, all in one transaction; returns the claim ids
        recorded. A known claim is left as it is, unless a reorg had orphaned it: then it is revived."""
        with self._session.begin() as session:
            added = []
            for claim_id, record, block_number, block_hash in jobs:
                row = session.get(Job, (chain_id, contract, claim_id))
                if row is None:
                    session.add(_new_job(chain_id, contract, claim_id, record, block_number, block_hash))
                elif row.state == ORPHANED:  # a reorg had removed the claim and it came back
                    row.state, row.event_json = DISCOVERED, json.dumps(record, sort_keys=True)
                    row.block_number, row.block_hash, row.updated_at = block_number, block_hash, time.time()
                else:
                    continue
                added.append(claim_id)
            for policy_id, insured_object in policies:
                session.merge(
                    PolicyObject(
                        chain_id=chain_id, contract=contract, policy_id=policy_id, insured_object=insured_object
                    )
                )
            if cursor is not None:
                session.merge(
                    Cursor(chain_id=chain_id, contract=contract, block_number=cursor[0], block_hash=cursor[1])
                )
        return added

    def jobs(
        self, chain_id: int, contract: str, states: Iterable[str] = OPEN_STATES, limit: int | None = None
    ) -> list[JobView]:
        """Jobs in the given states, oldest claim first (the first `limit` of them if given)."""
        with self._session() as session:
            query = (
                select(Job)
                .where(Job.chain_id == chain_id, Job.contract == contract, Job.state.in_(list(states)))
                .order_by(Job.block_number, Job.claim_id)
            )
            rows = session.scalars(query if limit is None else query.limit(limit)).all()
            return [self._view(row) for row in rows]

    def take_jobs(
        self, chain_id: int, contract: str, limit: int, skip: Iterable[int] = (), lease: float = LEASE_SECONDS
    ) -> list[JobView]:
        """Take up to `limit` waiting jobs (not in `skip`) for assessment, oldest first, marking them ASSESSING:
        rows another worker is taking right now are skipped (SKIP LOCKED on PostgreSQL), and jobs taken more than
        `lease` seconds ago are taken back (their worker died)."""
        now = time.time()
        with self._session.begin() as session:
            waiting = or_(Job.state == DISCOVERED, and_(Job.state == ASSESSING, Job.updated_at < now - lease))
            query = (
                select(Job)
                .where(Job.chain_id == chain_id, Job.contract == contract, waiting, Job.claim_id.not_in(list(skip)))
                .order_by(Job.block_number, Job.claim_id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = session.scalars(query).all()
            for row in rows:
                row.state, row.updated_at = ASSESSING, now
            return [self._view(row) for row in rows]

    def release_jobs(self, chain_id: int, contract: str) -> int:
        """Put every job taken for assessment back to waiting (at the start of the only worker); returns how many."""
        with self._session.begin() as session:
            query = update(Job).where(Job.chain_id == chain_id, Job.contract == contract, Job.state == ASSESSING)
            result = session.execute(
                query.values(state=DISCOVERED, updated_at=time.time()).execution_options(synchronize_session=False)
            )
            assert isinstance(result, CursorResult)
            return int(result.rowcount)

    def job_ids(self, chain_id: int, contract: str, states: Iterable[str] = OPEN_STATES) -> list[int]:
        """The claim ids of the jobs in the given states, without reading the jobs themselves."""
        with self._session() as session:
            return list(
                session.scalars(
                    select(Job.claim_id).where(
                        Job.chain_id == chain_id, Job.contract == contract, Job.state.in_(list(states))
                    )
                ).all()
            )

    def job(self, chain_id: int, contract: str, claim_id: int) -> JobView | None:
        """One job, or None."""
        with self._session() as session:
            row = session.get(Job, (chain_id, contract, claim_id))
            return self._view(row) if row else None

    def update_job(
        self, chain_id: int, contract: str, claim_id: int, *, expect_state: str | None = None, **fields: Any
    ) -> bool:
        """Change a job's fields (outcome as a dict is stored as JSON); with expect_state, only from that state."""
        return self.update_jobs(chain_id, contract, [(claim_id, expect_state, fields)])[0]

    def update_jobs(
        self, chain_id: int, contract: str, changes: Sequence[tuple[int, str | None, Mapping[str, Any]]]
    ) -> list[bool]:
        """Apply several `update_job` changes (claim id, expected state or None, fields) in one transaction; returns
        for each change whether it applied."""
        applied = []
        with self._session.begin() as session:
            for claim_id, expect_state, change in changes:
                fields = dict(change)
                if "outcome" in fields:
                    fields["outcome_json"] = json.dumps(fields.pop("outcome"), sort_keys=True)
                fields["updated_at"] = time.time()
                query = update(Job).where(Job.chain_id == chain_id, Job.contract == contract, Job.claim_id == claim_id)
                if expect_state is not None:
                    query = query.where(Job.state == expect_state)
                # the session holds no Job objects to keep in step: skip the ORM's in-Python evaluation of the
                # WHERE clause, which cost more CPU than the SQL itself
                query = query.values(**fields).execution_options(synchronize_session=False)
                result = session.execute(query)
                assert isinstance(result, CursorResult)  # an UPDATE's result (Session.execute is typed as Result)
                applied.append(result.rowcount == 1)
        return applied

    def orphan_jobs_after(self, chain_id: int, contract: str, block_number: int) -> list[int]:
        """Mark open jobs mined after `block_number` as orphaned (a reorg); returns their claim ids."""
        with self._session.begin() as session:
            rows = session.scalars(
                select(Job).where(
                    Job.chain_id == chain_id,
                    Job.contract == contract,
                    Job.block_number > block_number,
                    Job.state.in_([DISCOVERED, ASSESSING, ASSESSED]),
                )
            ).all()
            for row in rows:
                row.state, row.updated_at = ORPHANED, time.time()
            return [row.claim_id for row in rows]

    @staticmethod
    def _view(row: Job) -> JobView:
        """Copy a row out of its session."""
        return JobView(
            claim_id=row.claim_id,
            state=row.state,
            event=json.loads(row.event_json),
            block_number=row.block_number,
            block_hash=row.block_hash,
            outcome=json.loads(row.outcome_json) if row.outcome_json else None,
            raw_tx=row.raw_tx,
            tx_hash=row.tx_hash,
            attempts=row.attempts,
            error=row.error,
        )

    # ------------------------------------------------------------ policies

    def insured_object(self, chain_id: int, contract: str, policy_id: int) -> bytes | None:
        """The remembered insured object of a policy, or None."""
        with self._session() as session:
            row = session.get(PolicyObject, (chain_id, contract, policy_id))
            return row.insured_object if row else None

    def set_insured_object(self, chain_id: int, contract: str, policy_id: int, insured_object: bytes) -> None:
        """Remember a policy's insured object (idempotent)."""
        with self._session.begin() as session:
            session.merge(
                PolicyObject(chain_id=chain_id, contract=contract, policy_id=policy_id, insured_object=insured_object)
            )

    # ------------------------------------------------------------ claims history

    def add_claim(self, claim: PriorClaim) -> None:
        """Remember an assessed claim for later frequency checks (idempotent)."""
        with self._session.begin() as session:
            session.merge(_history_claim(claim))

    def add_history(self, claims: Sequence[PriorClaim], photos: Sequence[PriorPhoto]) -> None:
        """Remember claims and photos in one transaction (idempotent: rows already there are updated in place)."""
        with self._session.begin() as session:
            known_claims = (
                {
                    row.claim_id: row
                    for row in session.scalars(
                        select(HistoryClaim).where(HistoryClaim.claim_id.in_([c.claim_id for c in claims]))
                    )
                }
                if claims
                else {}
            )
            for claim in claims:
                if claim.claim_id in known_claims:
                    session.merge(_history_claim(claim))
                else:
                    session.add(_history_claim(claim))
            keys = {(p.claim_id, p.cid) for p in photos}
            known_photos = (
                {
                    (row.claim_id, row.cid)
                    for row in session.execute(
                        select(HistoryPhoto.claim_id, HistoryPhoto.cid).where(
                            HistoryPhoto.claim_id.in_({p.claim_id for p in photos})
                        )
                    )
                }
                & keys
                if photos
                else set()
            )
            _put_photos(session, photos, known_photos)

    def add_photo(self, photo: PriorPhoto) -> None:
        """Remember a claim photo's perceptual hashes for later reused-photo checks (idempotent)."""
        with self._session.begin() as session:
            known = session.get(HistoryPhoto, (photo.claim_id, photo.cid)) is not None
            _put_photos(session, [photo], {(photo.claim_id, photo.cid)} if known else set())

    def prior_claims(self, insured_object_id: str, *, before: ClaimOrder) -> Sequence[PriorClaim]:
        """Claims on this insured object that came before `before` in (submitted_at, claim_id) order."""
        h = HistoryClaim
        with self._session() as session:
            rows = session.execute(
                select(
                    h.claim_id, h.policy_id, h.insured_object_id, h.incident_time, h.submitted_at, h.decision, h.payout
                )
                .where(h.insured_object_id == insured_object_id, _before(h, before))
                .order_by(h.submitted_at, h.claim_id)
            ).all()
            return [
                PriorClaim(
                    claim_id=r[0],
                    policy_id=r[1],
                    insured_object_id=r[2],
                    incident_time=r[3],
                    submitted_at=r[4],
                    decision=r[5],
                    payout=int(r[6]),
                )
                for r in rows
            ]

    def prior_photos(
        self, *, before: ClaimOrder, like: Sequence[tuple[str, int]] | None = None, max_distance: int | None = None
    ) -> Iterable[PriorPhoto]:
        """Photos of every claim that came before `before`, in (submitted_at, claim_id, cid) order.

        With `like` ((sha256, pHash) pairs) and a `max_distance` d below 8 bits, only the photos that could match
        are read: those with one of the sha256s, and those that agree with the pHashes on at least 8 - d of the
        8 byte positions (the pHash index); the rest cannot be within d bits. Otherwise every one is read."""
        h = HistoryPhoto
        query = select(h.claim_id, h.submitted_at, h.cid, h.sha256, h.phash, h.dhash).where(_before(h, before))
        if like is not None and max_distance is not None and max_distance < PHASH_BANDS:
            if not like:
                return []
            keys = sorted({key for _, phash in like for key in enumerate(phash_bands(phash))})
            b = PhotoBand
            # the candidates first (each a primary-key range of the index, or the sha256 index), then their rows;
            # d differing bits change at most d of the 8 bytes, so a match shares at least 8 - d of them
            banded = (
                select(b.claim_id, b.cid)
                .where(or_(*(and_(b.band == k, b.value == v) for k, v in keys)))
                .group_by(b.claim_id, b.cid)
                .having(func.count() >= PHASH_BANDS - max_distance)
            )
            candidates = banded.union(
                select(h.claim_id, h.cid).where(h.sha256.in_(sorted({sha for sha, _ in like})))
            ).subquery()
            query = query.join(candidates, and_(candidates.c.claim_id == h.claim_id, candidates.c.cid == h.cid))
        with self._session() as session:
            rows = session.execute(query.order_by(h.submitted_at, h.claim_id, h.cid)).all()
            return [
                PriorPhoto(claim_id=r[0], submitted_at=r[1], cid=r[2], sha256=r[3], phash=int(r[4]), dhash=int(r[5]))
                for r in rows
            ]


def _bands(claim_id: int, cid: str, phash: int) -> list[dict[str, int | str]]:
    """The pHash index rows of one photo."""
    return [{"band": k, "value": v, "claim_id": claim_id, "cid": cid} for k, v in enumerate(phash_bands(phash))]


def _put_photos(session: Session, photos: Sequence[PriorPhoto], known: set[tuple[int, str]]) -> None:
    """Add photos (or update the `known` ones in place) with their pHash index rows, in the caller's transaction."""
    for photo in photos:
        key = (photo.claim_id, photo.cid)
        if key in known:
            session.merge(_history_photo(photo))
            session.execute(delete(PhotoBand).where(PhotoBand.claim_id == photo.claim_id, PhotoBand.cid == photo.cid))
        else:
            session.add(_history_photo(photo))
    bands = [band for photo in photos for band in _bands(photo.claim_id, photo.cid, photo.phash)]
    if bands:
        session.flush()
        session.execute(insert(PhotoBand), bands)


def _before(table: type[HistoryClaim] | type[HistoryPhoto], before: ClaimOrder) -> ColumnElement[bool]:
    """Rows of `table` strictly before `before` in (submitted_at, claim_id) order."""
    submitted_at, claim_id = before
    return or_(table.submitted_at < submitted_at, and_(table.submitted_at == submitted_at, table.claim_id < claim_id))


def _history_claim(claim: PriorClaim) -> HistoryClaim:
    return HistoryClaim(
        claim_id=claim.claim_id,
        policy_id=claim.policy_id,
        insured_object_id=claim.insured_object_id,
        incident_time=claim.incident_time,
        submitted_at=claim.submitted_at,
        decision=claim.decision,
        payout=str(claim.payout),
    )


def _history_photo(photo: PriorPhoto) -> HistoryPhoto:
    return HistoryPhoto(
        claim_id=photo.claim_id,
        cid=photo.cid,
        submitted_at=photo.submitted_at,
        sha256=photo.sha256,
        phash=str(photo.phash),
        dhash=str(photo.dhash),
    )


def _sqlite_pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """SQLite in write-ahead-log mode: one fsync of the log per commit instead of the rollback journal's several,
    still synchronous=FULL so a committed row (a written-down transaction above all) survives a power cut; and
    wait for another connection's write lock instead of failing at once."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _new_job(
    chain_id: int, contract: str, claim_id: int, event: dict[str, Any], block_number: int, block_hash: bytes
) -> Job:
    """A job row for a claim just seen on-chain, waiting for its assessment."""
    return Job(
        chain_id=chain_id,
        contract=contract,
        claim_id=claim_id,
        state=DISCOVERED,
        event_json=json.dumps(event, sort_keys=True),
        block_number=block_number,
        block_hash=block_hash,
        attempts=0,
        updated_at=time.time(),
    )
