"""Appending to and reading the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.audit.chain import (
    GENESIS_HASH,
    AuditRecord,
    ChainedRow,
    ChainProblem,
    row_hash,
    verify_chain,
)
from telehealth.audit.models import AuditEvent

# Any constant works: it only has to be the same in every process that appends.
_AUDIT_LOCK_KEY = 7_305_114_292


@dataclass(frozen=True)
class Origin:
    """Who acted, and from where."""

    actor_id: uuid.UUID | None
    actor_role: str | None
    ip: str | None
    request_id: str | None


async def append(
    session: AsyncSession, records: Sequence[AuditRecord], origin: Origin, at: datetime
) -> None:
    """Append records at the end of the chain inside the caller's transaction.

    Called last before commit, so the lock that keeps the chain linear is held only briefly.
    """
    if not records:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY})
    # SQLite: the transaction began with BEGIN IMMEDIATE, so writers are already serialized.
    last = (
        await session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    for record in records:
        seq += 1
        row = ChainedRow(
            seq=seq,
            at=at,
            actor_id=origin.actor_id,
            actor_role=origin.actor_role,
            action=record.action,
            resource_type=record.resource_type,
            resource_id=record.resource_id,
            patient_id=record.patient_id,
            outcome=record.outcome,
            ip=origin.ip,
            request_id=origin.request_id,
            details=dict(record.details),
            prev_hash=prev_hash,
        )
        digest = row_hash(row)
        session.add(AuditEvent(**row.__dict__, hash=digest))
        prev_hash = digest
    await session.flush()


def _as_chained(event: AuditEvent) -> ChainedRow:
    return ChainedRow(
        seq=event.seq,
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
        prev_hash=event.prev_hash,
    )


async def _stream(
    session: AsyncSession, batch: int = 2000
) -> AsyncIterator[tuple[ChainedRow, str]]:
    after = 0
    while True:
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
        ).all()
        if not events:
            return
        for event in events:
            yield _as_chained(event), event.hash
        after = events[-1].seq
        session.expunge_all()


async def verify(session: AsyncSession) -> tuple[int, ChainProblem | None]:
    """Walk the whole trail; return how many rows were read and the first problem, if any."""
    rows = [item async for item in _stream(session)]
    return len(rows), verify_chain(rows)
