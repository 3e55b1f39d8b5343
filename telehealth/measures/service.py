"""Outcome measures: answers scored and kept, and a patient's scores over time, each scoped to who
may see the patient and audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from telehealth.accounts.access import get_visible_patient
from telehealth.audit.chain import AuditRecord
from telehealth.errors import InvalidInput, NotFound
from telehealth.measures.models import MeasureResponse
from telehealth.measures.packs import Instruments
from telehealth.measures.scoring import Instrument, InvalidAnswers, score
from telehealth.measures.words import change_words, number
from telehealth.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ScoreView:
    """One scored response as pages show it."""

    id: uuid.UUID
    instrument: str
    instrument_version: str
    score: float
    detail: Mapping[str, Any]
    created_at: datetime
    entered_by_patient: bool

    @property
    def score_text(self) -> str:
        """The score as a person writes it."""
        return number(self.score)


@dataclass(frozen=True)
class InstrumentHistory:
    """One instrument's scores for a patient, oldest first, and the latest change in words."""

    instrument: Instrument
    scores: tuple[ScoreView, ...]

    @property
    def change(self) -> str | None:
        """The change from the previous score to the latest, in words (None with one score)."""
        if len(self.scores) < 2:
            return None
        return change_words(self.instrument, self.scores[-2].score, self.scores[-1].score)

    @property
    def since_first(self) -> str | None:
        """The change from the first score to the latest, with three or more scores."""
        if len(self.scores) < 3:
            return None
        return change_words(self.instrument, self.scores[0].score, self.scores[-1].score)


@dataclass(frozen=True)
class PatientMeasures:
    """A patient's outcome measures, per instrument that has scores."""

    patient_id: uuid.UUID
    patient_name: str
    histories: tuple[InstrumentHistory, ...]


def _view(row: MeasureResponse) -> ScoreView:
    return ScoreView(
        id=row.id,
        instrument=row.instrument,
        instrument_version=row.instrument_version,
        score=row.score,
        detail=row.detail,
        created_at=row.created_at,
        entered_by_patient=row.entered_by == row.patient_id,
    )


def offered_instrument(instruments: Instruments, key: str) -> Instrument:
    """An instrument people may answer now; NotFound for an unknown, retired or uninstalled one."""
    instrument = instruments.get(key)
    if instrument is None or not instrument.offered or not instrument.available:
        raise NotFound("No such measure at this clinic.")
    return instrument


async def submit_in(
    uow: UnitOfWork,
    instruments: Instruments,
    patient_id: uuid.UUID,
    key: str,
    answers: Mapping[str, Any],
) -> ScoreView:
    """Score and keep one response, entered by the patient or by staff who may see them."""
    patient = await uow.guarded(
        get_visible_patient(uow.session, uow.actor, patient_id),
        "measure.submit",
        "patient",
        str(patient_id),
    )
    instrument = offered_instrument(instruments, key)
    try:
        result = score(instrument, answers)
    except InvalidAnswers as exc:
        raise InvalidInput(
            "Some answers need another look.", details={"problems": exc.problems}
        ) from None
    row = MeasureResponse(
        patient_id=patient.id,
        entered_by=uow.actor.id,
        instrument=instrument.key,
        instrument_version=instrument.version,
        table_version=instruments.table_version,
        answers=dict(answers),
        score=result.value,
        detail=dict(result.detail),
        created_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    uow.audit(
        AuditRecord(
            "measure.submit",
            "measure_response",
            resource_id=str(row.id),
            patient_id=patient.id,
            details={
                "instrument": instrument.key,
                "version": instrument.version,
                "table": instruments.table_version,
                "score": result.value,
            },
        )
    )
    return _view(row)


async def patient_measures_in(
    uow: UnitOfWork, instruments: Instruments, patient_id: uuid.UUID
) -> PatientMeasures:
    """A patient's scores per instrument, for the patient or staff who may see them."""
    patient = await uow.guarded(
        get_visible_patient(uow.session, uow.actor, patient_id),
        "measure.read",
        "patient",
        str(patient_id),
    )
    rows = (
        await uow.session.scalars(
            select(MeasureResponse)
            .where(MeasureResponse.patient_id == patient.id)
            .order_by(MeasureResponse.created_at, MeasureResponse.id)
        )
    ).all()
    by_instrument: dict[str, list[ScoreView]] = {}
    for row in rows:
        by_instrument.setdefault(row.instrument, []).append(_view(row))
    histories = tuple(
        InstrumentHistory(instrument, tuple(by_instrument[key]))
        for key, instrument in instruments.by_key.items()
        if key in by_instrument
    )
    uow.audit(
        AuditRecord(
            "measure.read",
            "measure_response",
            patient_id=patient.id,
            details={"responses": len(rows)},
        )
    )
    return PatientMeasures(patient.id, patient.display_name, histories)
