"""The demo clinic's calendar: working hours for the demo therapists and a few booked visits.

Maria Lopez's video visit with Dana Reyes starts at the next quarter hour after the demo loads:
its room opens 15 minutes before the start, so the video visit can be tried at once. The other
visits fall later in the week.
Idempotent: hours are set once and a visit is booked only where the demo patient has none.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from telehealth.accounts.models import User
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.errors import DomainError
from telehealth.scheduling import service
from telehealth.scheduling.availability import WeeklyBlock
from telehealth.scheduling.models import Appointment, AvailabilityRules
from telehealth.scheduling.seed import ensure_seeded
from telehealth.unit_of_work import Services

# Mon-Fri 09:00-17:00 local with a lunch hour.
DEMO_HOURS = tuple(
    WeeklyBlock(day, start, end)
    for day in range(5)
    for start, end in ((time(9), time(12)), (time(13), time(17)))
)
# The first demo visit is open all day long, whenever the demo is loaded.
ALWAYS_OPEN = tuple(WeeklyBlock(day, time(0), time(23, 59)) for day in range(7))
# (patient, therapist, type, modality, days from now, local hour)
LATER_VISITS = (
    ("james.chen@demo.clinic", "dana.reyes@demo.clinic", "follow_up", "virtual", 2, 10),
    ("priya.shah@demo.clinic", "sam.okafor@demo.clinic", "initial_evaluation", "in_clinic", 3, 10),
    ("maria.lopez@demo.clinic", "dana.reyes@demo.clinic", "follow_up", "virtual", 4, 14),
)


def first_visit_start(now: datetime) -> datetime:
    """The next 15-minute boundary after now: at most 15 minutes away, so the room is open."""
    quarter = now.replace(second=0, microsecond=0, minute=now.minute - now.minute % 15)
    return quarter + timedelta(minutes=15)


async def load_demo_schedule(services: Services, ids: dict[str, uuid.UUID]) -> None:
    """Seed types, give the demo therapists hours and book the demo visits (once)."""
    await ensure_seeded(services)
    async with services.sessions() as session:
        people = {u.email: u for u in (await session.scalars(select(User))).all()}
        has_rules = set((await session.scalars(select(AvailabilityRules.therapist_id))).all())
        booked = set((await session.scalars(select(Appointment.patient_id))).all())
    admin = Caller(actor=actor_of(people["admin@demo.clinic"]), ip="local")
    for email in ("dana.reyes@demo.clinic", "sam.okafor@demo.clinic"):
        therapist = people[email]
        if therapist.id in has_rules:
            continue
        # Dana works around the clock in the demo so that the first visit fits whenever it loads.
        hours = ALWAYS_OPEN if email.startswith("dana") else DEMO_HOURS
        await service.set_weekly_hours(services, admin, therapist.id, therapist.time_zone, hours)
    now = services.clock.now()
    maria, dana = people["maria.lopez@demo.clinic"], people["dana.reyes@demo.clinic"]
    if maria.id not in booked:
        await _book(services, admin, maria, dana, "follow_up", "virtual", first_visit_start(now))
    for patient_email, therapist_email, type_key, modality, days, hour in LATER_VISITS:
        patient, therapist = people[patient_email], people[therapist_email]
        if patient.id in booked:
            continue
        local = (now + timedelta(days=days)).astimezone(ZoneInfo(therapist.time_zone))
        start = local.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(UTC)
        await _book(services, admin, patient, therapist, type_key, modality, start)


async def _book(
    services: Services,
    admin: Caller,
    patient: User,
    therapist: User,
    type_key: str,
    modality: str,
    start: datetime,
) -> None:
    request = service.BookingRequest(
        type_key=type_key,
        modality=modality,
        start=start,
        patient_id=patient.id,
        therapist_id=therapist.id,
    )
    try:
        await service.book_appointment(
            services, admin, request, lambda view: {"id": str(view.row.id)}
        )
    except DomainError:
        # A later visit that lands on a weekend or a closed day is simply left out of the demo.
        return
