"""Reading the audit trail: filtered browsing for admins, and chain verification."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Select, func, or_, select

from telehealth.accounts.access import require_admin
from telehealth.accounts.models import Role, User
from telehealth.actors import Caller
from telehealth.audit import trail
from telehealth.audit.chain import AuditRecord
from telehealth.audit.models import AuditEvent
from telehealth.audit.sealer import AuditSealer, read_checkpoints
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work


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


@dataclass(frozen=True)
class TrailFilter:
    """What the admin page looks for: people by a piece of their name or email, an exact action
    code, an outcome and a time range; before_seq/after_seq page through the newest-first list."""

    person: str | None = None
    patient: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None
    after_seq: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class Person:
    """Who an audit row names, from the accounts table."""

    display_name: str
    email: str
    role: str


@dataclass(frozen=True)
class TrailRow:
    """One audit event with the people it names (None: nobody, or an account no longer there)."""

    event: AuditEvent
    actor: Person | None
    patient: Person | None


@dataclass(frozen=True)
class TrailPage:
    """One page, newest first, with the keys of the neighbouring pages (None: there is none)."""

    rows: list[TrailRow]
    older_before_seq: int | None
    newer_after_seq: int | None


# The most rows one CSV export holds; the page says so when a filter matches more.
EXPORT_LIMIT = 10_000


def _people_matching(text: str, role: Role | None = None) -> Select[uuid.UUID]:
    """Ids of the accounts whose name or email contains text, ignoring case."""
    needle = text.lower()
    query = select(User.id).where(
        or_(
            func.lower(User.display_name).contains(needle, autoescape=True),
            func.lower(User.email).contains(needle, autoescape=True),
        )
    )
    return query.where(User.role == role.value) if role else query


def _conditions(flt: TrailFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.person:
        conditions.append(AuditEvent.actor_id.in_(_people_matching(flt.person)))
    if flt.patient:
        conditions.append(AuditEvent.patient_id.in_(_people_matching(flt.patient, Role.PATIENT)))
    if flt.action:
        conditions.append(AuditEvent.action == flt.action)
    if flt.outcome:
        conditions.append(AuditEvent.outcome == flt.outcome)
    if flt.since:
        conditions.append(AuditEvent.at >= flt.since)
    if flt.until:
        conditions.append(AuditEvent.at < flt.until)
    return conditions


async def _any(uow: UnitOfWork, conditions: list[ColumnElement[bool]]) -> bool:
    return (
        await uow.session.scalar(select(AuditEvent.seq).where(*conditions).limit(1))
    ) is not None


async def _with_names(uow: UnitOfWork, events: list[AuditEvent]) -> list[TrailRow]:
    """The rows with the names of the people they concern: one query for the page's ids."""
    ids = {e.actor_id for e in events if e.actor_id} | {
        e.patient_id for e in events if e.patient_id
    }
    people: dict[uuid.UUID, Person] = {}
    if ids:
        found = await uow.session.execute(
            select(User.id, User.display_name, User.email, User.role).where(User.id.in_(ids))
        )
        people = {row.id: Person(row.display_name, row.email, row.role) for row in found}
    return [
        TrailRow(
            e,
            people.get(e.actor_id) if e.actor_id else None,
            people.get(e.patient_id) if e.patient_id else None,
        )
        for e in events
    ]


async def _single_patient(uow: UnitOfWork, flt: TrailFilter) -> uuid.UUID | None:
    """The patient a search is about, when its patient filter names exactly one."""
    if not flt.patient:
        return None
    ids = list(
        (await uow.session.scalars(_people_matching(flt.patient, Role.PATIENT).limit(2))).all()
    )
    return ids[0] if len(ids) == 1 else None


def _record(action: str, flt: TrailFilter, count: int, patient_id: uuid.UUID | None) -> AuditRecord:
    # The filter in the record says what was looked for; it holds names and codes, never notes.
    return AuditRecord(
        action,
        "audit",
        patient_id=patient_id,
        details={
            "count": count,
            "person": flt.person,
            "patient": flt.patient,
            "action": flt.action,
            "outcome": flt.outcome,
            "since": flt.since.isoformat() if flt.since else None,
            "until": flt.until.isoformat() if flt.until else None,
        },
    )


async def browse(services: Services, caller: Caller, flt: TrailFilter) -> TrailPage:
    """One page of the trail with names, newest first, keyset-paged by seq; audited."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        conditions = _conditions(flt)
        query = select(AuditEvent).where(*conditions)
        if flt.after_seq:
            # Newer: the rows just above the key, read upwards, then shown newest first.
            query = query.where(AuditEvent.seq > flt.after_seq).order_by(AuditEvent.seq)
        else:
            if flt.before_seq:
                query = query.where(AuditEvent.seq < flt.before_seq)
            query = query.order_by(AuditEvent.seq.desc())
        events = list((await uow.session.scalars(query.limit(flt.limit))).all())
        events.sort(key=lambda e: e.seq, reverse=True)
        older = newer = None
        if events:
            if await _any(uow, [*conditions, AuditEvent.seq < events[-1].seq]):
                older = events[-1].seq
            if await _any(uow, [*conditions, AuditEvent.seq > events[0].seq]):
                newer = events[0].seq
        rows = await _with_names(uow, events)
        uow.audit(_record("audit.search", flt, len(rows), await _single_patient(uow, flt)))
        return TrailPage(rows, older, newer)


async def export(services: Services, caller: Caller, flt: TrailFilter) -> list[TrailRow]:
    """Every row the filter matches (paging ignored), newest first, at most EXPORT_LIMIT; audited."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        query = (
            select(AuditEvent)
            .where(*_conditions(flt))
            .order_by(AuditEvent.seq.desc())
            .limit(EXPORT_LIMIT)
        )
        rows = await _with_names(uow, list((await uow.session.scalars(query)).all()))
        uow.audit(_record("audit.export", flt, len(rows), await _single_patient(uow, flt)))
        return rows


async def verify(services: Services, checkpoint_file: Path | None) -> trail.Verification:
    """Check the whole chain against the seal keys, a checkpoint file and the stored checkpoints
    (command line); ValueError when the checkpoint file cannot be read."""
    checkpoints = read_checkpoints(checkpoint_file) if checkpoint_file is not None else []
    async with services.sessions() as session:
        return await trail.verify(session, services.settings.seal_keys, checkpoints)


async def seal(services: Services) -> int:
    """Link every recorded event that can be linked now (command line); how many were."""
    return await AuditSealer(services.sessions, services.settings, services.clock).seal_pending(
        wait=True
    )
