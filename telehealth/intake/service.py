"""Screening intakes: a patient's red-flag answers triaged and kept, and the red flags the clinic
must act on, each scoped to who may see the patient and audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from telehealth.accounts.access import get_visible_patient, patients_visible_to
from telehealth.accounts.models import User
from telehealth.audit.chain import AuditRecord
from telehealth.errors import InvalidInput, NotFound, PermissionDenied
from telehealth.intake.models import ScreeningAcknowledgement, ScreeningIntake
from telehealth.intake.triage import Answer, IncompleteAnswers, Tier, load_table, triage
from telehealth.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IntakeView:
    """One intake as pages show it: the outcome, the concerns raised, who took charge."""

    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    tier: Tier
    patient_words: str
    concerns: tuple[str, ...]
    created_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None

    @property
    def booking_allowed(self) -> bool:
        """Only a routine outcome goes on to book the screening."""
        return self.tier is Tier.ROUTINE


def _view(
    row: ScreeningIntake,
    patient: User,
    acknowledgement: ScreeningAcknowledgement | None = None,
    by: User | None = None,
) -> IntakeView:
    table = load_table()
    concerns = {rule.id: rule.concern for rule in table.rules}
    tier = Tier[row.tier.upper()]
    return IntakeView(
        id=row.id,
        patient_id=row.patient_id,
        patient_name=patient.display_name,
        tier=tier,
        patient_words=table.patient_words[tier],
        concerns=tuple(concerns.get(rule_id, rule_id) for rule_id in row.matched),
        created_at=row.created_at,
        acknowledged_by=by.display_name if by is not None else None,
        acknowledged_at=acknowledgement.acknowledged_at if acknowledgement else None,
    )


async def submit_intake_in(
    uow: UnitOfWork, patient_id: uuid.UUID, answers: Mapping[str, Answer]
) -> IntakeView:
    """Triage and keep one intake, answered by the patient or by staff who may see them."""
    patient = await uow.guarded(
        get_visible_patient(uow.session, uow.actor, patient_id),
        "screening.intake",
        "patient",
        str(patient_id),
    )
    try:
        result = triage(answers)
    except IncompleteAnswers as exc:
        raise InvalidInput(
            "Please answer every question.", details={"problems": exc.problems}
        ) from None
    row = ScreeningIntake(
        patient_id=patient.id,
        answered_by=uow.actor.id,
        answers=dict(answers),
        table_version=result.table_version,
        tier=result.tier.key,
        matched=[rule.id for rule in result.matched],
        created_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    uow.audit(
        AuditRecord(
            "screening.intake",
            "screening_intake",
            resource_id=str(row.id),
            patient_id=patient.id,
            details={"tier": row.tier, "rules": row.matched, "table": row.table_version},
        )
    )
    return _view(row, patient)


async def get_intake_in(uow: UnitOfWork, intake_id: uuid.UUID) -> IntakeView:
    """One intake, for the patient or staff who may see them; NotFound for anyone else."""
    row = await uow.session.get(ScreeningIntake, intake_id)
    patient = await uow.guarded(
        _visible(uow, row), "screening.read", "screening_intake", str(intake_id)
    )
    assert row is not None
    acknowledgement = await uow.session.scalar(
        select(ScreeningAcknowledgement).where(ScreeningAcknowledgement.intake_id == row.id)
    )
    by = (
        await uow.session.get(User, acknowledgement.acknowledged_by)
        if acknowledgement is not None
        else None
    )
    uow.audit(
        AuditRecord(
            "screening.read", "screening_intake", resource_id=str(row.id), patient_id=patient.id
        )
    )
    return _view(row, patient, acknowledgement, by)


async def _visible(uow: UnitOfWork, row: ScreeningIntake | None) -> User:
    if row is None:
        raise NotFound("No such screening.")
    return await get_visible_patient(uow.session, uow.actor, row.patient_id)


async def open_red_flags_in(uow: UnitOfWork, limit: int = 50) -> list[IntakeView]:
    """Emergency and urgent intakes nobody has taken charge of yet, the most serious and oldest
    first, among the patients the staff member may see (admins: all)."""
    actor = uow.actor
    if actor.is_patient:
        raise PermissionDenied("Only clinic staff can see this.")
    visible = patients_visible_to(actor).subquery()
    rows = (
        await uow.session.execute(
            select(ScreeningIntake, User)
            .join(visible, visible.c.id == ScreeningIntake.patient_id)
            .join(User, User.id == ScreeningIntake.patient_id)
            .where(
                ScreeningIntake.tier.in_((Tier.EMERGENCY.key, Tier.URGENT.key)),
                ~select(ScreeningAcknowledgement.id)
                .where(ScreeningAcknowledgement.intake_id == ScreeningIntake.id)
                .exists(),
            )
            .order_by(ScreeningIntake.created_at)
            .limit(limit)
        )
    ).all()
    views = [_view(row, patient) for row, patient in rows]
    views.sort(key=lambda v: (-v.tier, v.created_at))
    for patient_id in {v.patient_id for v in views}:
        uow.audit(AuditRecord("screening.list", "screening_intake", patient_id=patient_id))
    return views


async def acknowledge_in(uow: UnitOfWork, intake_id: uuid.UUID, note: str = "") -> IntakeView:
    """A clinician takes charge of an intake's red flags. Pressed twice (or by two people at
    once), the first acknowledgement stands and the second changes nothing."""
    if uow.actor.is_patient:
        raise PermissionDenied("Only clinic staff can do this.")
    row = await uow.session.get(ScreeningIntake, intake_id)
    patient = await uow.guarded(
        _visible(uow, row), "screening.acknowledge", "screening_intake", str(intake_id)
    )
    assert row is not None
    try:
        async with uow.session.begin_nested():
            uow.session.add(
                ScreeningAcknowledgement(
                    intake_id=row.id,
                    acknowledged_by=uow.actor.id,
                    acknowledged_at=uow.now,
                    note=note.strip()[:500],
                )
            )
        uow.audit(
            AuditRecord(
                "screening.acknowledge",
                "screening_intake",
                resource_id=str(row.id),
                patient_id=patient.id,
            )
        )
    except IntegrityError:
        pass  # someone else took charge a moment ago: their acknowledgement stands
    return await get_intake_in(uow, intake_id)


async def latest_own_intake_in(uow: UnitOfWork) -> IntakeView | None:
    """The signed-in patient's latest intake, if any (for their home page)."""
    actor = uow.actor
    row = await uow.session.scalar(
        select(ScreeningIntake)
        .where(ScreeningIntake.patient_id == actor.id)
        .order_by(ScreeningIntake.created_at.desc())
        .limit(1)
    )
    if row is None:
        return None
    patient = await get_visible_patient(uow.session, actor, actor.id)
    uow.audit(
        AuditRecord(
            "screening.read", "screening_intake", resource_id=str(row.id), patient_id=actor.id
        )
    )
    return _view(row, patient)
