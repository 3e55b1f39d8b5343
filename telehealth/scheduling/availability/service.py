"""Reading and changing a therapist's hours, exceptions and the clinic's closures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select

from telehealth.accounts.access import require_admin
from telehealth.accounts.models import User
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput, NotFound
from telehealth.scheduling import access, repository
from telehealth.scheduling.availability.rules import (
    DateException,
    WeeklyAvailability,
    WeeklyBlock,
)
from telehealth.scheduling.models import (
    AvailabilityException,
    AvailabilityRules,
    ClinicClosure,
    WeeklyHours,
)
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work
from telehealth.zones import resolve_zone

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class AvailabilityView:
    """A therapist's rules as stored."""

    therapist: User
    zone: str
    weekly: list[WeeklyHours]
    exceptions: list[AvailabilityException]


async def list_therapists(services: Services, caller: Caller) -> list[User]:
    """Active therapists: any signed-in person may choose one to book with."""
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await list_therapists_in(uow)


async def list_therapists_in(uow: UnitOfWork) -> list[User]:
    """`list_therapists` inside the caller's unit of work."""
    uow.caller.require_actor()
    return await repository.active_therapists(uow.session)


async def _availability_view(uow: UnitOfWork, therapist: User) -> AvailabilityView:
    rules = await uow.session.get(AvailabilityRules, therapist.id)
    weekly = list(
        (
            await uow.session.scalars(
                select(WeeklyHours)
                .where(WeeklyHours.therapist_id == therapist.id)
                .order_by(WeeklyHours.weekday, WeeklyHours.start_local)
            )
        ).all()
    )
    exceptions = list(
        (
            await uow.session.scalars(
                select(AvailabilityException)
                .where(
                    AvailabilityException.therapist_id == therapist.id,
                    AvailabilityException.day >= uow.now.date() - _DAY,
                )
                .order_by(AvailabilityException.day, AvailabilityException.start_local)
            )
        ).all()
    )
    zone = rules.time_zone if rules else therapist.time_zone
    return AvailabilityView(therapist, zone, weekly, exceptions)


async def get_availability(
    services: Services, caller: Caller, therapist_id: uuid.UUID
) -> AvailabilityView:
    """A therapist's zone, weekly hours and upcoming exceptions (own, or any for an admin)."""
    async with unit_of_work(services, caller) as uow:
        access.require_may_edit_availability(uow.actor, therapist_id)
        therapist = await access.get_active_therapist(uow.session, therapist_id)
        return await _availability_view(uow, therapist)


async def set_weekly_hours(
    services: Services,
    caller: Caller,
    therapist_id: uuid.UUID,
    zone: str,
    blocks: Sequence[WeeklyBlock],
) -> AvailabilityView:
    """Replace a therapist's zone and weekly hours (validated by WeeklyAvailability)."""
    async with unit_of_work(services, caller) as uow:
        access.require_may_edit_availability(uow.actor, therapist_id)
        therapist = await access.get_active_therapist(uow.session, therapist_id)
        WeeklyAvailability(zone=zone, blocks=tuple(blocks))
        rules = await uow.session.get(AvailabilityRules, therapist.id)
        if rules is None:
            uow.session.add(
                AvailabilityRules(therapist_id=therapist.id, time_zone=zone, updated_at=uow.now)
            )
        else:
            rules.time_zone = zone
            rules.updated_at = uow.now
        await uow.session.execute(
            delete(WeeklyHours).where(WeeklyHours.therapist_id == therapist.id)
        )
        for b in blocks:
            uow.session.add(
                WeeklyHours(
                    therapist_id=therapist.id,
                    weekday=b.weekday,
                    start_local=b.start,
                    end_local=b.end,
                )
            )
        await uow.session.flush()
        uow.audit(
            AuditRecord(
                "availability.update",
                "therapist",
                resource_id=str(therapist.id),
                details={"zone": zone, "blocks": len(blocks)},
            )
        )
        return await _availability_view(uow, therapist)


async def add_exception(
    services: Services,
    caller: Caller,
    therapist_id: uuid.UUID,
    exception: DateException,
    note: str = "",
) -> AvailabilityException:
    """Add time off or extra hours on one local date."""
    async with unit_of_work(services, caller) as uow:
        access.require_may_edit_availability(uow.actor, therapist_id)
        therapist = await access.get_active_therapist(uow.session, therapist_id)
        view = await _availability_view(uow, therapist)
        same_day = [repository.exception_of(e) for e in view.exceptions if e.day == exception.day]
        # The pure constructor refuses overlapping extra hours on one date.
        WeeklyAvailability(zone=view.zone, blocks=(), exceptions=(*same_day, exception))
        row = AvailabilityException(
            therapist_id=therapist.id,
            day=exception.day,
            kind=exception.kind.value,
            start_local=exception.start,
            end_local=exception.end,
            note=note[:200],
        )
        uow.session.add(row)
        await uow.session.flush()
        uow.audit(
            AuditRecord(
                "availability.exception_add",
                "therapist",
                resource_id=str(therapist.id),
                details={"day": exception.day.isoformat(), "kind": exception.kind.value},
            )
        )
        return row


async def remove_exception(
    services: Services, caller: Caller, therapist_id: uuid.UUID, exception_id: uuid.UUID
) -> None:
    """Remove one exception."""
    async with unit_of_work(services, caller) as uow:
        access.require_may_edit_availability(uow.actor, therapist_id)
        row = await uow.session.get(AvailabilityException, exception_id)
        if row is None or row.therapist_id != therapist_id:
            raise NotFound("No such exception.")
        await uow.session.delete(row)
        uow.audit(
            AuditRecord(
                "availability.exception_remove",
                "therapist",
                resource_id=str(therapist_id),
                details={"day": row.day.isoformat()},
            )
        )


async def list_closures(services: Services, caller: Caller) -> list[ClinicClosure]:
    """Clinic closures from yesterday on."""
    async with unit_of_work(services, caller) as uow:
        uow.caller.require_actor()
        return list(
            (
                await uow.session.scalars(
                    select(ClinicClosure)
                    .where(ClinicClosure.day >= uow.now.date() - _DAY)
                    .order_by(ClinicClosure.day)
                )
            ).all()
        )


async def add_closure(services: Services, caller: Caller, day: date, reason: str) -> ClinicClosure:
    """An admin closes the clinic for a day (idempotent)."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        row = await uow.session.get(ClinicClosure, day)
        if row is None:
            row = ClinicClosure(day=day, reason=reason[:200])
            uow.session.add(row)
        else:
            row.reason = reason[:200]
        uow.audit(AuditRecord("closure.add", "clinic", resource_id=day.isoformat()))
        return row


async def close_day(services: Services, caller: Caller, day: date, reason: str) -> ClinicClosure:
    """An admin closes a day to come (the closures page): a day already past, or one already
    closed, is refused in words, where the API's `add_closure` is idempotent."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        # "Past" is read on the admin's own calendar: the day she sees as today may still be closed.
        today = uow.now.astimezone(resolve_zone(uow.actor.time_zone)).date()
        if day < today:
            raise InvalidInput(
                f"{day:%A %-d %B %Y} has already passed. Please choose today or a later day.",
                details={"field": "day"},
            )
        existing = await uow.session.get(ClinicClosure, day)
        if existing is not None:
            raise Conflict(
                f"The clinic is already closed on {day:%A %-d %B %Y}"
                + (f" ({existing.reason})." if existing.reason else "."),
                code=ErrorCode.CLOSURE_EXISTS,
                details={"field": "day"},
            )
        row = ClinicClosure(day=day, reason=reason[:200])
        uow.session.add(row)
        uow.audit(AuditRecord("closure.add", "clinic", resource_id=day.isoformat()))
        return row


async def remove_closure(services: Services, caller: Caller, day: date) -> None:
    """An admin reopens a day."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        row = await uow.session.get(ClinicClosure, day)
        if row is None:
            raise NotFound("The clinic is not closed that day.")
        await uow.session.delete(row)
        uow.audit(AuditRecord("closure.remove", "clinic", resource_id=day.isoformat()))
