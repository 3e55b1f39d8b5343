"""The demo clinic's plan of care: Maria's right hip, led by Dana, so the caseload, the episode
and the patient's plan have something real to show from the first start."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from telehealth.care.models import CareEpisode
from telehealth.care.rules import Goal, GoalTerm, PlanDraft
from telehealth.care.service import plan_row
from telehealth.unit_of_work import Services

PATIENT = "maria.lopez@demo.clinic"
THERAPIST = "dana.reyes@demo.clinic"


async def load_demo_care(services: Services, ids: dict[str, uuid.UUID]) -> None:
    """Open Maria's hip episode with its first plan, unless she has an episode already."""
    now = services.clock.now()
    today = now.astimezone(ZoneInfo(services.settings.clinic_time_zone)).date()
    patient, therapist = ids[PATIENT], ids[THERAPIST]
    draft = PlanDraft(
        start_date=today,
        frequency_per_week=2,
        duration_weeks=6,
        duration_visits=None,
        amount_per_day=1,
        diagnoses=("M25.551", "M62.81"),
        interventions=("therapeutic-exercise", "joint-mobilization", "myofascial-release"),
        modalities=("virtual", "in_clinic"),
        goals=(
            Goal(
                id=str(uuid.uuid4()),
                term=GoalTerm.SHORT,
                text="Sleep on the right side without waking from hip pain",
                baseline="wakes 3 nights a week",
                target="no waking",
                target_date=today + timedelta(weeks=3),
            ),
            Goal(
                id=str(uuid.uuid4()),
                term=GoalTerm.LONG,
                text="Walk to the shops and back (20 minutes) without hip pain",
                baseline="NPRS 6 after 5 minutes",
                target="NPRS 2 or less after 20 minutes",
                target_date=today + timedelta(weeks=6),
                measure="NPRS",
            ),
        ),
    )
    async with services.sessions() as session:
        if await session.scalar(select(CareEpisode.id).where(CareEpisode.patient_id == patient)):
            return
        episode = CareEpisode(
            patient_id=patient,
            therapist_id=therapist,
            title="Right hip pain",
            opened_at=now,
            opened_by=therapist,
        )
        session.add(episode)
        await session.flush()
        session.add(plan_row(episode.id, 1, draft, therapist, now))
        await session.commit()
