"""The plan of care's word on booking and on signing: a patient books a within-plan visit type only inside an
active plan, within its weekly frequency, and (by setting) not after its certification lapsed.
Scheduling asks through `Services.plan_rules`; the app wires `plan_rules_for` there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from telehealth.accounts.models import User
from telehealth.care import rules
from telehealth.care.models import CareDischarge, CareEpisode, CarePlanVersion
from telehealth.care.rules import PlanWindow
from telehealth.care.service import progress_report_due_in
from telehealth.catalog.store import CatalogStore
from telehealth.config import Settings
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict
from telehealth.scheduling.models import ACTIVE_STATUSES, Appointment
from telehealth.unit_of_work import PlannedVisit, SigningNote, UnitOfWork

_WORDS = {
    "no_plan": (
        "A {type} is booked within your plan of care, and you have no plan covering that date."
        " Your therapist writes the plan at your evaluation: please book an evaluation, or call"
        " the clinic."
    ),
    "lapsed": (
        "Your plan of care ended before that date and needs renewing by your therapist before"
        " more visits are booked. Please ask your therapist, or call the clinic."
    ),
    "frequency": (
        "Your plan of care has {per_week} a week, and you already have {count} booked in the"
        " week of {monday:%B %-d}. Please choose a time in another week, or call the clinic."
    ),
}


async def _plans(uow: UnitOfWork, patient_id: object) -> list[PlanWindow]:
    latest = (
        select(CarePlanVersion.episode_id, func.max(CarePlanVersion.version).label("version"))
        .group_by(CarePlanVersion.episode_id)
        .subquery()
    )
    rows = await uow.session.execute(
        select(CarePlanVersion)
        .join(
            latest,
            (latest.c.episode_id == CarePlanVersion.episode_id)
            & (latest.c.version == CarePlanVersion.version),
        )
        .join(CareEpisode, CareEpisode.id == CarePlanVersion.episode_id)
        .where(
            CareEpisode.patient_id == patient_id,
            ~select(CareDischarge.id).where(CareDischarge.episode_id == CareEpisode.id).exists(),
        )
    )
    return [
        PlanWindow(p.start_date, p.cert_end, p.frequency_per_week * p.amount_per_day)
        for p in rows.scalars()
    ]


def plan_rules_for(settings: Settings) -> Callable[[UnitOfWork, PlannedVisit], Awaitable[None]]:
    """The check scheduling runs before a patient books or moves a within-plan visit."""

    async def check(uow: UnitOfWork, visit: PlannedVisit) -> None:
        patient = await uow.session.get(User, visit.patient_id)
        zone = ZoneInfo(patient.time_zone if patient is not None else settings.clinic_time_zone)
        day = visit.start.astimezone(zone).date()
        monday, sunday = rules.week_of(day)
        first = datetime.combine(monday, time(0), zone)
        after = datetime.combine(sunday, time(23, 59, 59), zone)
        counted = select(func.count()).where(
            Appointment.patient_id == visit.patient_id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.start_at >= first,
            Appointment.start_at <= after,
        )
        if visit.moving is not None:
            counted = counted.where(Appointment.id != visit.moving)
        week_visits = int(await uow.session.scalar(counted) or 0)
        plans = await _plans(uow, visit.patient_id)
        refusal = rules.booking_refusal(day, plans, week_visits, settings.plan_lapse_blocks_booking)
        if refusal is None:
            return
        per_week = max((p.visits_per_week for p in plans), default=0)
        words = _WORDS[refusal].format(
            type=visit.type_name.lower(),
            per_week="1 visit" if per_week == 1 else f"{per_week} visits",
            count=week_visits,
            monday=monday,
        )
        raise Conflict(words, code=ErrorCode.OUTSIDE_PLAN, details={"reason": refusal})

    return check


def note_rules_for(
    settings: Settings, catalogs: Callable[[], CatalogStore]
) -> Callable[[UnitOfWork, SigningNote], Awaitable[None]]:
    """The check notes run before signing a billable daily note: with the setting on, the 10th
    treatment day of an episode without a progress report is refused (the caseload warns from
    the 8th whether or not the setting is on)."""

    async def check(uow: UnitOfWork, note: SigningNote) -> None:
        if not settings.progress_report_blocks_daily_notes:
            return
        catalog = await catalogs().current(uow.session)
        due = await progress_report_due_in(uow, catalog, note.patient_id, note.appointment_id)
        if due is not None:
            raise Conflict(
                f"This visit would be the 10th treatment day of the episode since its last"
                f" progress report ({due.words}). Change the note type to a progress note and"
                " report progress toward each goal, then sign.",
                code=ErrorCode.PROGRESS_REPORT_DUE,
                details={"treatment_days": due.treatment_days},
            )

    return check
