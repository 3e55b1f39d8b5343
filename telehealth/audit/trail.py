"""Recording audit events, sealing them into the chain, and checking the chain.

A request only inserts its events, in its own transaction: it takes no lock that another request
could wait on. The sealer (sealer.py: one pass at a time per deployment) links committed events
into the chain shortly after, in a stable order that no later commit can jump ahead of:

* PostgreSQL: each event carries the id of the transaction that recorded it. The sealer only takes
  events whose transaction id is below its snapshot's xmin, i.e. of transactions that have all
  ended: none of them can still commit an event, so the chain never needs a row inserted behind
  its head. It links them in (transaction id, event number) order and continues from there.
* SQLite: one writer at a time, so events are numbered in commit order and the sealer (itself a
  writer) sees every committed event.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.audit.chain import (
    GENESIS_HASH,
    AuditRecord,
    ChainedRow,
    ChainProblem,
    Checkpoint,
    StoredLink,
    link_problem,
    make_checkpoint,
    make_link,
    verify_chain,
)
from telehealth.audit.models import AuditCheckpoint, AuditEvent, AuditLink
from telehealth.seals import SealKeys

# Any constant works: only sealers take it, so one seals at a time and requests never wait on it.
SEALER_LOCK_KEY = 7_305_114_293


@dataclass(frozen=True)
class Origin:
    """Who acted, and from where."""

    actor_id: uuid.UUID | None
    actor_role: str | None
    ip: str | None
    request_id: str | None


async def append(
    session: AsyncSession,
    records: Sequence[AuditRecord],
    origin: Origin,
    now: Callable[[], datetime],
) -> None:
    """Record events inside the caller's transaction, dated now (just before its commit)."""
    if not records:
        return
    at = now()
    rows: list[dict[str, object]] = [
        {
            "at": at,
            "actor_id": origin.actor_id,
            "actor_role": origin.actor_role,
            "action": record.action,
            "resource_type": record.resource_type,
            "resource_id": record.resource_id,
            "patient_id": record.patient_id,
            "outcome": record.outcome,
            "ip": origin.ip,
            "request_id": origin.request_id,
            "details": dict(record.details),
        }
        for record in records
    ]
    if session.get_bind().dialect.name == "sqlite":
        # The transaction holds SQLite's one write lock (BEGIN IMMEDIATE): the next numbers are
        # free. PostgreSQL takes them from the sequence, and the transaction id from a default.
        last = await session.scalar(select(func.max(AuditEvent.seq)))
        for offset, row in enumerate(rows, start=1):
            row["seq"] = (last or 0) + offset
    # render_nulls: every row names every column, so the rows go in one batch (left out, a None
    # would drop its column and split the batch by which fields each record has).
    await session.execute(insert(AuditEvent).execution_options(render_nulls=True), rows)


def chained_row(seq: int, event: AuditEvent, prev_hash: str) -> ChainedRow:
    """The link at `seq` of a stored event, as the chain's rules see it."""
    return ChainedRow(
        seq=seq,
        event_seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        action=event.action,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        patient_id=event.patient_id,
        outcome=event.outcome,
        ip=event.ip,
        request_id=event.request_id,
        details=event.details,
        prev_hash=prev_hash,
    )


class ChainHeadInvalid(RuntimeError):
    """The last link does not verify: the sealer will not extend a tampered chain."""


@dataclass(frozen=True)
class CheckpointPolicy:
    """When the sealer signs a checkpoint: after this many new links or this long, if any;
    `always` asks for one at the head now (the stored one, if the head already has one)."""

    every_rows: int
    every: timedelta
    always: bool = False


@dataclass(frozen=True)
class Sealed:
    """What one sealing pass did."""

    linked: int
    head_seq: int
    checkpoint: Checkpoint | None


async def seal(
    session: AsyncSession,
    keys: SealKeys,
    now: Callable[[], datetime],
    policy: CheckpointPolicy,
    limit: int = 500,
    wait: bool = False,
) -> Sealed | None:
    """Link up to `limit` committed events inside the caller's transaction.

    None when another sealer holds the sealing lock (PostgreSQL) and `wait` is false: that one
    links them instead. With `wait`, the pass queues behind it (the command line does).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEALER_LOCK_KEY})
    elif postgres and not await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEALER_LOCK_KEY}
    ):
        return None
    head = (
        await session.execute(
            select(AuditLink, AuditEvent)
            .outerjoin(AuditEvent, AuditEvent.seq == AuditLink.event_seq)
            .order_by(AuditLink.seq.desc())
            .limit(1)
        )
    ).first()
    query = select(AuditEvent).limit(limit)
    if head is None:
        seq, prev_hash, after_event, after_xid = 0, GENESIS_HASH, 0, 0
        sealed_at = now()
    else:
        link, event = head
        if event is None or (
            link_problem(chained_row(link.seq, event, link.prev_hash), link.hash, link.key_id, keys)
            is not None
        ):
            raise ChainHeadInvalid(f"audit chain head {link.seq} does not verify")
        seq, prev_hash, after_event, after_xid = link.seq, link.hash, event.seq, event.xid or 0
        # The chain's own clock runs forwards, even when the system clock steps back.
        sealed_at = max(now(), link.sealed_at)
    if postgres:
        xmin = await session.scalar(
            text("SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)")
        )
        query = query.where(
            AuditEvent.xid < xmin,
            tuple_(AuditEvent.xid, AuditEvent.seq) > tuple_(after_xid, after_event),
        ).order_by(AuditEvent.xid, AuditEvent.seq)
    else:
        query = query.where(AuditEvent.seq > after_event).order_by(AuditEvent.seq)
    events = (await session.scalars(query)).all()
    links: list[dict[str, object]] = []
    for event in events:
        seq += 1
        key_id, digest = make_link(chained_row(seq, event, prev_hash), keys)
        links.append(
            {
                "seq": seq,
                "event_seq": event.seq,
                "sealed_at": sealed_at,
                "key_id": key_id,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    if links:
        await session.execute(insert(AuditLink), links)
    checkpoint = await _checkpoint_due(session, seq, prev_hash, sealed_at, keys, policy)
    return Sealed(len(links), seq, checkpoint)


async def _checkpoint_due(
    session: AsyncSession,
    seq: int,
    head_hash: str,
    now: datetime,
    keys: SealKeys,
    policy: CheckpointPolicy,
) -> Checkpoint | None:
    if seq == 0:
        return None
    last = await session.scalar(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    )
    if last is not None and last.seq >= seq:
        if policy.always:
            return Checkpoint(last.seq, last.head_hash, last.made_at, last.key_id, last.mac)
        return None
    if (
        last is not None
        and not policy.always
        and seq - last.seq < policy.every_rows
        and now - last.made_at < policy.every
    ):
        return None
    checkpoint = make_checkpoint(seq, head_hash, now, keys)
    session.add(
        AuditCheckpoint(
            seq=checkpoint.seq,
            head_hash=checkpoint.head_hash,
            made_at=checkpoint.made_at,
            key_id=checkpoint.key_id,
            mac=checkpoint.mac,
        )
    )
    await session.flush()
    return checkpoint


async def _links(session: AsyncSession, batch: int = 2000) -> AsyncIterator[StoredLink]:
    after = 0
    while True:
        rows = (
            await session.execute(
                select(AuditLink, AuditEvent)
                .outerjoin(AuditEvent, AuditEvent.seq == AuditLink.event_seq)
                .where(AuditLink.seq > after)
                .order_by(AuditLink.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        for link, event in rows:
            row = None if event is None else chained_row(link.seq, event, link.prev_hash)
            yield StoredLink(link.seq, row, link.hash, link.key_id)
        after = rows[-1][0].seq
        session.expunge_all()


async def stored_checkpoints(session: AsyncSession) -> list[Checkpoint]:
    """The checkpoints the database holds (a copy: the trusted ones are kept outside it)."""
    rows = (await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))).all()
    return [Checkpoint(r.seq, r.head_hash, r.made_at, r.key_id, r.mac) for r in rows]


async def unsealed_count(session: AsyncSession) -> int:
    """Events recorded but not yet linked into the chain."""
    linked = select(AuditLink.event_seq).where(AuditLink.event_seq == AuditEvent.seq).exists()
    return int(
        await session.scalar(select(func.count()).select_from(AuditEvent).where(~linked)) or 0
    )


@dataclass(frozen=True)
class Verification:
    """What `verify` found: links read, events awaiting the sealer, the first problem."""

    linked: int
    unsealed: int
    problem: ChainProblem | None


async def verify(
    session: AsyncSession, keys: SealKeys, checkpoints: Sequence[Checkpoint] = ()
) -> Verification:
    """Walk the whole chain against the keys, the given checkpoints and the stored ones."""
    known = {(c.seq, c.mac): c for c in [*checkpoints, *await stored_checkpoints(session)]}
    links = [link async for link in _links(session)]
    count, problem = verify_chain(links, keys, list(known.values()))
    return Verification(count, await unsealed_count(session), problem)
