"""One visit as an .ics download, and the secret subscription feeds of a person's visits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from telehealth.accounts.models import User
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.errors import NotFound, PermissionDenied
from telehealth.scheduling import access, lifecycle
from telehealth.scheduling.appointment_types import Modality
from telehealth.scheduling.feeds.ics import CalendarEvent, build_calendar
from telehealth.scheduling.models import Appointment, CalendarFeed
from telehealth.scheduling.service import (
    AppointmentView,
    appointment_record,
    view_of,
    views_of,
    visible_or_denied,
)
from telehealth.tokens import hash_token, new_token
from telehealth.unit_of_work import Services, unit_of_work

# A feed shows the recent past (what happened) and the coming half year.
FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=183)


def _event(
    services: Services, view: AppointmentView, *, name_patient: bool, name_therapist: bool
) -> CalendarEvent:
    row = view.row
    who = []
    if name_therapist:
        who.append(f"with {view.therapist_name}")
    if name_patient:
        who.append(f"for {view.patient_name}")
    modality = "video visit" if row.modality == Modality.VIRTUAL.value else "in clinic"
    summary = f"{view.type_name} ({modality})" + (f" {' '.join(who)}" if who else "")
    lines = [f"{view.type_name} at {services.settings.clinic_name}."]
    if view.join_url:
        lines.append(f"Join the video visit: {view.join_url}")
    if row.status == lifecycle.Status.CANCELLED.value:
        lines.append("This visit was cancelled.")
    return CalendarEvent(
        uid=f"{row.id}@{urlsplit(services.settings.public_url).hostname or 'clinic'}",
        start=row.start_at,
        end=row.end_at,
        summary=summary,
        description="\n".join(lines),
        status="CANCELLED" if row.status == lifecycle.Status.CANCELLED.value else "CONFIRMED",
        sequence=row.version,
        updated=row.updated_at,
        url=view.join_url,
        location=view.join_url or services.settings.clinic_name,
    )


async def appointment_ics(services: Services, caller: Caller, appointment_id: uuid.UUID) -> bytes:
    """One visit as an .ics file for the signed-in person who may see it."""
    async with unit_of_work(services, caller) as uow:
        row = await visible_or_denied(uow, appointment_id, "appointment.calendar")
        uow.audit(appointment_record("appointment.calendar", row))
        view = await view_of(uow, services, row)
        actor = uow.actor
        event = _event(services, view, name_patient=not actor.is_patient, name_therapist=True)
        # A cancelled visit's file is the cancellation itself: the same UID, the SEQUENCE the
        # cancel raised, METHOD:CANCEL, so importing it takes the visit out of the calendar.
        cancelled = row.status == lifecycle.Status.CANCELLED.value
        return build_calendar(
            [event],
            view.zone,
            services.settings.clinic_name,
            uow.now,
            method="CANCEL" if cancelled else "PUBLISH",
        )


@dataclass(frozen=True)
class NewFeed:
    """A fresh feed: the secret URL is shown once and never stored."""

    feed: CalendarFeed
    url: str


async def create_feed(services: Services, caller: Caller) -> NewFeed:
    """A secret subscription URL for the signed-in patient or therapist's own visits."""
    async with unit_of_work(services, caller) as uow:
        if uow.actor.is_admin:
            raise PermissionDenied("Calendar feeds are for patients and therapists.")
        token = new_token()
        feed = CalendarFeed(user_id=uow.actor.id, token_hash=hash_token(token), created_at=uow.now)
        uow.session.add(feed)
        await uow.session.flush()
        uow.audit(AuditRecord("calendar_feed.create", "calendar_feed", resource_id=str(feed.id)))
        return NewFeed(feed, f"{services.settings.public_url}/calendar/{token}.ics")


async def list_feeds(services: Services, caller: Caller) -> list[CalendarFeed]:
    """The signed-in person's feeds (without their secret URLs)."""
    async with unit_of_work(services, caller) as uow:
        return list(
            (
                await uow.session.scalars(
                    select(CalendarFeed)
                    .where(CalendarFeed.user_id == uow.actor.id)
                    .order_by(CalendarFeed.created_at)
                )
            ).all()
        )


async def revoke_feed(services: Services, caller: Caller, feed_id: uuid.UUID) -> None:
    """Revoke one of one's own feeds; its URL answers 404 from then on."""
    async with unit_of_work(services, caller) as uow:
        feed = await uow.session.get(CalendarFeed, feed_id)
        if feed is None or feed.user_id != uow.actor.id:
            raise NotFound("No such calendar feed.")
        if feed.revoked_at is None:
            feed.revoked_at = uow.now
        uow.audit(AuditRecord("calendar_feed.revoke", "calendar_feed", resource_id=str(feed.id)))


async def feed_ics(services: Services, caller: Caller, token: str) -> bytes:
    """The feed behind a secret token (no session needed); unknown or revoked tokens are 404."""
    async with unit_of_work(services, caller) as uow:
        found = (
            await uow.session.execute(
                select(CalendarFeed, User)
                .join(User, User.id == CalendarFeed.user_id)
                .where(CalendarFeed.token_hash == hash_token(token))
            )
        ).first()
        if found is None or found[0].revoked_at is not None or not found[1].is_active:
            raise NotFound("No such calendar.")
        feed, user = found
        owner = actor_of(user)
        uow.caller = replace(uow.caller, actor=owner)
        rows = list(
            (
                await uow.session.scalars(
                    access.appointments_visible_to(owner)
                    .where(
                        Appointment.start_at >= uow.now - FEED_PAST,
                        Appointment.start_at < uow.now + FEED_FUTURE,
                    )
                    .order_by(Appointment.start_at)
                )
            ).all()
        )
        uow.audit(
            AuditRecord(
                "calendar_feed.read",
                "calendar_feed",
                resource_id=str(feed.id),
                patient_id=user.id if owner.is_patient else None,
                details={"count": len(rows)},
            )
        )
        views = await views_of(uow, services, rows, user.time_zone)
        events = [
            _event(services, v, name_patient=False, name_therapist=owner.is_patient) for v in views
        ]
        return build_calendar(events, user.time_zone, services.settings.clinic_name, uow.now)
