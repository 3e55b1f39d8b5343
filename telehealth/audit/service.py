"""Reading the audit trail: filtered browsing for admins, and chain verification."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from telehealth.accounts.access import require_admin
from telehealth.actors import Caller
from telehealth.audit import trail
from telehealth.audit.chain import AuditRecord, ChainProblem
from telehealth.audit.models import AuditEvent
from telehealth.unit_of_work import Services, unit_of_work


@dataclass(frozen=True)
class AuditFilter:
    """What to look for; every field narrows the search."""

    actor_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    before_seq: int | None = None


async def search(services: Services, caller: Caller, flt: AuditFilter) -> list[AuditEvent]:
    """Newest first, for admins; the search itself is audited."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        query = select(AuditEvent)
        if flt.actor_id:
            query = query.where(AuditEvent.actor_id == flt.actor_id)
        if flt.patient_id:
            query = query.where(AuditEvent.patient_id == flt.patient_id)
        if flt.action:
            # A prefix matches a family of actions: "login" finds login.success and login.failure.
            query = query.where(AuditEvent.action.startswith(flt.action, autoescape=True))
        if flt.outcome:
            query = query.where(AuditEvent.outcome == flt.outcome)
        if flt.since:
            query = query.where(AuditEvent.at >= flt.since)
        if flt.until:
            query = query.where(AuditEvent.at < flt.until)
        if flt.before_seq:
            query = query.where(AuditEvent.seq < flt.before_seq)
        events = list(
            (
                await uow.session.scalars(query.order_by(AuditEvent.seq.desc()).limit(flt.limit))
            ).all()
        )
        uow.audit(
            AuditRecord(
                "audit.search",
                "audit",
                patient_id=flt.patient_id,
                details={"count": len(events), "action": flt.action, "outcome": flt.outcome},
            )
        )
        return events


async def verify(services: Services) -> tuple[int, ChainProblem | None]:
    """Check the whole chain (command line)."""
    async with services.sessions() as session:
        return await trail.verify(session)
