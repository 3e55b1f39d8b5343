"""The demo clinic's calendar: working hours for the demo therapists and a few booked visits.

Maria Lopez's video visit with Dana Reyes starts at the next quarter hour after the demo loads:
its room opens 15 minutes before the start, so the video visit can be tried at once. The other
visits fall later in the week.
Idempotent: hours are set once and the later visits are booked only where the demo patient has
none. Maria's video visit is booked again whenever she has none to join now (`make run` loads the
demo at every start, so a newcomer who comes back hours later can still try a call), never twice.
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
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import WeeklyBlock
from telehealth.scheduling.lifecycle import Status
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


def round_the_clock_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about midday at `now`, for Dana's round-the-clock hours.

    A weekly block ends at 23:59 at the latest, so hours "around the clock" still miss the minute
    before each local midnight, and a first visit near it would not fit (in New York, every
    evening from about 22:45). Kept in this zone, that minute is half a day away when the demo
    loads.
    """
    offset = 12 - now.astimezone(UTC).hour  # -11 .. +12 hours from UTC
    # Etc/GMT zones count westwards: Etc/GMT-5 is five hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


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
    now = services.clock.now()
    for email in ("dana.reyes@demo.clinic", "sam.okafor@demo.clinic"):
        therapist = people[email]
        if therapist.id in has_rules:
            continue
        # Dana works around the clock in the demo so that the first visit fits whenever it loads.
        if email.startswith("dana"):
            hours, zone = ALWAYS_OPEN, round_the_clock_zone(now)
        else:
            hours, zone = DEMO_HOURS, therapist.time_zone
        await availability_service.set_weekly_hours(services, admin, therapist.id, zone, hours)
    maria, dana = people["maria.lopez@demo.clinic"], people["dana.reyes@demo.clinic"]
    if not await _video_visit_to_join(services, maria.id, now):
        await _book(services, admin, maria, dana, "follow_up", "virtual", first_visit_start(now))
    hours_zones = await _hours_zones(services)
    for patient_email, therapist_email, type_key, modality, days, hour in LATER_VISITS:
        patient, therapist = people[patient_email], people[therapist_email]
        if patient.id in booked:
            continue
        # The local hour is read in the zone the therapist's hours are written in: for Dana's
        # round-the-clock hours that zone is midday at load, so 10:00 or 14:00 there is always
        # inside them (read in her own zone, 14:00 could land on her hours' last minute).
        zone = hours_zones.get(therapist.id, therapist.time_zone)
        local = (now + timedelta(days=days)).astimezone(ZoneInfo(zone))
        start = local.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(UTC)
        await _book(services, admin, patient, therapist, type_key, modality, start)


# A visit that has not ended, in any of these states, can be joined (its room is open from 15
# minutes before the start; the next-quarter visit is never further away than that).
_ONGOING = (Status.BOOKED, Status.CHECKED_IN, Status.IN_PROGRESS)


async def _video_visit_to_join(services: Services, patient_id: uuid.UUID, now: datetime) -> bool:
    async with services.sessions() as session:
        found = await session.scalar(
            select(Appointment.id)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.modality == "virtual",
                Appointment.status.in_([s.value for s in _ONGOING]),
                Appointment.start_at <= now + timedelta(minutes=15),
                Appointment.end_at > now,
            )
            .limit(1)
        )
    return found is not None


async def _hours_zones(services: Services) -> dict[uuid.UUID, str]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(AvailabilityRules.therapist_id, AvailabilityRules.time_zone)
        )
        return {therapist_id: zone for therapist_id, zone in rows.all()}


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
