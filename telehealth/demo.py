"""The demo clinic: one admin, two therapists, three patients, with documented logins; Maria's
visits, her plan of care and last week's signed note with her home program.

The demo passwords are public (README); demo data is refused when the settings say production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from telehealth.accounts import service as accounts
from telehealth.accounts.models import CareAssignment, Role, User
from telehealth.care.demo import load_demo_care
from telehealth.config import SettingsError
from telehealth.notes.demo import load_demo_note
from telehealth.scheduling.demo import load_demo_schedule
from telehealth.unit_of_work import Services


@dataclass(frozen=True)
class DemoPerson:
    """One demo account."""

    email: str
    password: str
    display_name: str
    role: Role
    time_zone: str = "America/New_York"
    phone: str | None = None
    date_of_birth: date | None = None


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("admin@demo.clinic", "demo-admin-pass", "Alex Morgan", Role.ADMIN),
    DemoPerson("dana.reyes@demo.clinic", "demo-therapist-pass", "Dana Reyes, DPT", Role.THERAPIST),
    DemoPerson(
        "sam.okafor@demo.clinic",
        "demo-therapist-pass",
        "Sam Okafor, PT",
        Role.THERAPIST,
        "Europe/London",
    ),
    DemoPerson(
        "maria.lopez@demo.clinic",
        "demo-patient-pass",
        "Maria Lopez",
        Role.PATIENT,
        phone="+1 555 0101",
        date_of_birth=date(1958, 4, 12),
    ),
    DemoPerson(
        "james.chen@demo.clinic",
        "demo-patient-pass",
        "James Chen",
        Role.PATIENT,
        phone="+1 555 0102",
        date_of_birth=date(1971, 9, 3),
    ),
    DemoPerson(
        "priya.shah@demo.clinic",
        "demo-patient-pass",
        "Priya Shah",
        Role.PATIENT,
        "Europe/London",
        phone="+44 20 7946 0103",
        date_of_birth=date(1990, 1, 27),
    ),
)

# patient email -> therapist email
DEMO_CARE_TEAMS = (
    ("maria.lopez@demo.clinic", "dana.reyes@demo.clinic"),
    ("james.chen@demo.clinic", "dana.reyes@demo.clinic"),
    ("priya.shah@demo.clinic", "sam.okafor@demo.clinic"),
)


async def load_demo_data(services: Services) -> list[DemoPerson]:
    """Create the demo clinic if it is not there yet (idempotent); return the demo logins."""
    if services.settings.is_production:
        raise SettingsError("demo data is refused in production (TELEHEALTH_ENV=production)")
    async with services.sessions() as session:
        existing = set((await session.scalars(select(User.email))).all())
    for person in DEMO_PEOPLE:
        if person.email in existing:
            continue
        await accounts.create_person_unattended(
            services,
            accounts.NewPerson(
                email=person.email,
                display_name=person.display_name,
                role=person.role,
                password=person.password,
                time_zone=person.time_zone,
                phone=person.phone,
                date_of_birth=person.date_of_birth,
            ),
        )
    async with services.sessions() as session:
        ids = {u.email: u.id for u in (await session.scalars(select(User))).all()}
        now = services.clock.now()
        for patient, therapist in DEMO_CARE_TEAMS:
            key = (ids[patient], ids[therapist])
            if await session.get(CareAssignment, key) is None:
                session.add(CareAssignment(patient_id=key[0], therapist_id=key[1], created_at=now))
        await session.commit()
    await load_demo_schedule(services, ids)
    await load_demo_care(services, ids)
    await load_demo_note(services, ids)
    return list(DEMO_PEOPLE)


def describe_logins(people: list[DemoPerson], url: str) -> str:
    """The block printed at start: who can sign in, and how."""
    lines = [f"Demo clinic ready at {url}", "Sign in as:"]
    for p in people:
        lines.append(f"  {p.role.value:<10} {p.email:<28} password: {p.password}")
    return "\n".join(lines)
