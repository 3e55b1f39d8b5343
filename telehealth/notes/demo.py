"""The demo clinic's signed visit note: Maria Lopez saw Dana Reyes by video a week before the
demo loads, and Dana signed a daily note with a home program, so Maria's Today page, her
exercises and visit summary, and Dana's copy forward have something real to show.

Everything goes through the real services, as it happened then: the visit is booked the day
before, Maria checks in, Dana starts and completes it, writes the note and signs it, each step
at its own moment of that day (a clock of its own for the demo). So the note's seal and content
hash are the ones any signed note has, and `telehealth notes verify` checks them like the rest.
Idempotent: nothing is done once Maria has a completed visit with Dana.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from telehealth.accounts.models import User
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.catalog.loader import load_catalog
from telehealth.catalog.store import CatalogStore
from telehealth.clock import ManualClock
from telehealth.errors import DomainError
from telehealth.notes import service as notes
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.lifecycle import Action, Status
from telehealth.scheduling.models import Appointment
from telehealth.unit_of_work import Services

PATIENT = "maria.lopez@demo.clinic"
THERAPIST = "dana.reyes@demo.clinic"
ADMIN = "admin@demo.clinic"
# How long before the demo loads the visit took place: last week, so it is in the past on every
# page and never on this week's calendar.
DAYS_AGO = 7
VISIT_MINUTES = 45

# The home program Maria follows: a short hold (the Today page's timer), an exercise for some
# days of the week and a long stretch twice a day.
HOME_PROGRAM: tuple[dict[str, Any], ...] = (
    {
        "exercise": "bridge",
        "sets": 2,
        "repetitions": 10,
        "hold_seconds": 5,
        "per_day": 1,
        "per_week": 7,
    },
    {
        "exercise": "clamshell",
        "sets": 2,
        "repetitions": 12,
        "per_day": 1,
        "per_week": 5,
    },
    {
        "exercise": "piriformis-stretch",
        "sets": 1,
        "repetitions": 3,
        "hold_seconds": 30,
        "per_day": 2,
        "per_week": 7,
        "note": "Use the chair version at work.",
    },
)

NOTE: dict[str, Any] = {
    "note_type": "daily",
    "subjective": "Right hip ache 5/10 after walking to the shops; woke twice this week.",
    "objective": "Hip flexion 105°, IR limited and painful on the right; gluteal strength 4-/5.",
    "assessment": "Tolerates loading well; hip pain settles within an hour of exercise.",
    "plan": "Continue hip strengthening and mobilization twice weekly; start the home program.",
    "diagnoses": [{"code": "M25.551"}, {"code": "M62.81"}],
    "interventions": [
        {
            "technique": "therapeutic-exercise",
            "region": "hip",
            "side": "right",
            "minutes": 25,
            "parameters": {"exercises": [dict(e) for e in HOME_PROGRAM[:2]]},
        },
        {
            "technique": "joint-mobilization",
            "region": "hip",
            "side": "right",
            "minutes": 10,
            "parameters": {"joint": "hip", "grade": "III", "direction": "long-axis distraction"},
        },
    ],
    "home_program": [dict(e) for e in HOME_PROGRAM],
    "pain_before": 5,
    "pain_after": 3,
    "patient_message": "Good work today. Do the bridges slowly, and the stretch twice a day.",
    "patient_location": "home",
}


def visit_start(now: datetime) -> datetime:
    """The quarter hour a week before `now`: about midday in Dana's round-the-clock hours zone
    (see scheduling.demo.round_the_clock_zone), so well inside them."""
    earlier = now - timedelta(days=DAYS_AGO)
    return earlier.replace(minute=earlier.minute - earlier.minute % 15, second=0, microsecond=0)


async def load_demo_note(services: Services, ids: dict[str, uuid.UUID]) -> None:
    """Hold Maria's visit of last week with Dana and sign its note, unless it is there already."""
    now = services.clock.now()
    patient_id, therapist_id = ids[PATIENT], ids[THERAPIST]
    async with services.sessions() as session:
        earlier = await session.scalar(
            select(Appointment.id)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.therapist_id == therapist_id,
                Appointment.status == Status.COMPLETED.value,
            )
            .limit(1)
        )
        if earlier is not None:
            return
        people = {
            u.email: u
            for u in (
                await session.scalars(select(User).where(User.id.in_(list(ids.values()))))
            ).all()
        }
    admin, maria, dana = (
        Caller(actor=actor_of(people[email]), ip="local") for email in (ADMIN, PATIENT, THERAPIST)
    )
    start = visit_start(now)
    clock = ManualClock(start - timedelta(days=1))
    then = replace(services, clock=clock)
    request = scheduling.BookingRequest(
        type_key="follow_up",
        modality="virtual",
        start=start,
        patient_id=patient_id,
        therapist_id=therapist_id,
    )
    try:
        booked = await scheduling.book_appointment(
            then, admin, request, lambda view: {"id": str(view.row.id)}
        )
    except DomainError:
        # Hours changed since the demo first loaded (an older demo database): no past visit.
        return
    visit = uuid.UUID(booked.body["id"])
    clock.set(start - timedelta(minutes=5))
    await scheduling.act(then, maria, visit, Action.CHECK_IN)
    clock.set(start)
    await scheduling.act(then, dana, visit, Action.START)
    clock.set(start + timedelta(minutes=VISIT_MINUTES))
    await scheduling.act(then, dana, visit, Action.COMPLETE)
    # The packaged catalog (the code set is parsed once per process): blocking, so in a thread.
    catalogs = CatalogStore(await asyncio.to_thread(load_catalog))
    clock.set(start + timedelta(minutes=VISIT_MINUTES + 10))
    view, _ = await notes.open_note(then, catalogs, dana, visit)
    view = await notes.save_draft(then, catalogs, dana, visit, view.note.version, NOTE)
    await notes.sign_note(then, catalogs, dana, visit, view.note.version)
