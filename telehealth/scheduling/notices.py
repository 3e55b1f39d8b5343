"""Messages to the patient about their appointment: booked, moved, cancelled.

Written into the outbox in the unit of work that books, moves or cancels, so a message exists
exactly when the change committed. Each waits MAIL_GRACE_SECONDS before it leaves: a change
within that time replaces the waiting message instead of sending a second one (a booking
cancelled at once sends nothing; a booking moved at once is announced once, at its new time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from telehealth.accounts.models import User
from telehealth.notifications import outbox
from telehealth.notifications.compose import AppointmentNotice, compose_appointment
from telehealth.notifications.rules import Kind
from telehealth.scheduling import booking_guide
from telehealth.scheduling.appointment_types import Modality
from telehealth.scheduling.feeds.ics import CalendarEvent, build_calendar
from telehealth.scheduling.models import Appointment, AppointmentTypeRow
from telehealth.time_words import clock_range
from telehealth.unit_of_work import Services, UnitOfWork

# The calendar file's reminder: time to find the link or the way to the clinic.
ALARM_BEFORE = timedelta(minutes=30)


def reads_12_hour_clock(zone: str) -> bool:
    """Whether people in a zone read a 12-hour clock. A message has no browser languages to
    ask (the pages' rule), so the patient's zone stands in: the Americas and Hawaii read
    "2:00 PM", most of the rest of the world "14:00"."""
    return zone.startswith("America/") or zone == "Pacific/Honolulu"


def when_words(start: datetime, end: datetime, zone: str) -> str:
    """When a visit is, in the reader's zone: "Tuesday, March 3, 2026, 10:00-10:45 AM EST"
    (with an en dash)."""
    tz = ZoneInfo(zone)
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = f"{local_start:%A}, {local_start:%B} {local_start.day}, {local_start.year}"
    span = clock_range(local_start, local_end, reads_12_hour_clock(zone))
    return f"{day}, {span} {local_start.tzname()}"


def _ics(
    services: Services,
    row: Appointment,
    type_name: str,
    therapist_name: str,
    zone: str,
    url: str,
    cancelled: bool,
    now: datetime,
) -> str:
    settings = services.settings
    virtual = row.modality == Modality.VIRTUAL.value
    lines = [f"{type_name} at {settings.clinic_name}."]
    if virtual:
        lines.append(f"Join the video visit: {url}")
    event = CalendarEvent(
        # The UID of the visit's own .ics download: the calendar app updates the same event.
        uid=f"{row.id}@{urlsplit(settings.public_url).hostname or 'clinic'}",
        start=row.start_at,
        end=row.end_at,
        summary=f"{type_name} ({'video visit' if virtual else 'in clinic'}) with {therapist_name}",
        description="\n".join(lines),
        status="CANCELLED" if cancelled else "CONFIRMED",
        sequence=row.version,
        updated=row.updated_at,
        url=url if virtual else None,
        location=url if virtual else settings.clinic_name,
        alarm_before=None if cancelled else ALARM_BEFORE,
    )
    calendar = build_calendar(
        [event], zone, settings.clinic_name, now, method="CANCEL" if cancelled else "PUBLISH"
    )
    return calendar.decode("utf-8")


async def announce_in(
    uow: UnitOfWork,
    services: Services,
    row: Appointment,
    change: Kind,
    previous_start: datetime | None = None,
) -> None:
    """Write the patient's message about a change of `row`, withdrawing what it makes stale."""
    kind = change
    if change is not Kind.BOOKED:
        withdrawn = await outbox.withdraw_pending_in(uow, row.id)
        if Kind.BOOKED in withdrawn:
            if change is Kind.CANCELLED:
                return  # the patient never heard of it: nothing to take back
            kind = Kind.BOOKED  # never heard of it: announced once, at its new time
        if withdrawn:
            previous_start = None  # the time they last heard of is not this move's old time
    patient = await uow.session.get(User, row.patient_id)
    therapist = await uow.session.get(User, row.therapist_id)
    type_row = await uow.session.get(AppointmentTypeRow, row.type_id)
    assert patient is not None and therapist is not None and type_row is not None
    settings = services.settings
    zone = patient.time_zone
    url = f"{settings.public_url}/appointments/{row.id}"
    policy = booking_guide.policy_words(
        timedelta(minutes=type_row.min_notice_minutes),
        timedelta(minutes=type_row.cancellation_cutoff_minutes),
    )
    previous = None
    if kind is Kind.CHANGED and previous_start is not None:
        previous = when_words(previous_start, previous_start + (row.end_at - row.start_at), zone)
    composed = compose_appointment(
        AppointmentNotice(
            kind=kind,
            clinic_name=settings.clinic_name,
            clinic_phone=settings.clinic_phone,
            patient_name=patient.display_name,
            type_name=type_row.name,
            therapist_name=therapist.display_name,
            when=when_words(row.start_at, row.end_at, zone),
            virtual=row.modality == Modality.VIRTUAL.value,
            appointment_url=url,
            book_url=f"{settings.public_url}/book",
            policy=policy.late_window,
            previous_when=previous,
        )
    )
    cancelled = kind is Kind.CANCELLED
    await outbox.queue_in(
        uow,
        services,
        outbox.NewMessage(
            kind=kind,
            person_id=patient.id,
            address=patient.email,
            subject=composed.subject,
            body_text=composed.text,
            body_html=composed.html,
            appointment_id=row.id,
            ics=_ics(
                services, row, type_row.name, therapist.display_name, zone, url, cancelled, uow.now
            ),
            revision=row.version,
        ),
        uow.now + settings.mail_grace,
    )
