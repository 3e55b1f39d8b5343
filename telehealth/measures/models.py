"""Scored measure responses: appended, never rewritten."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base, uuid_pk


class MeasureResponse(Base):
    """One answered instrument: the answers as given, the score and how it was reached, and the
    instrument and table versions that scored it. A new answer is a new row."""

    __tablename__ = "measure_responses"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Who entered the answers: the patient, or staff on the patient's behalf.
    entered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(32))
    instrument_version: Mapped[str] = mapped_column(String(16))
    table_version: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "ix_measure_responses_patient_id_instrument_created_at",
            "patient_id",
            "instrument",
            "created_at",
        ),
    )
