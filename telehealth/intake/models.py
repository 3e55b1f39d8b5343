"""Screening intakes and their acknowledgements: both appended, never rewritten."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base, uuid_pk


class ScreeningIntake(Base):
    """One answered red-flag screen: the answers, the table version that triaged them, the tier
    and every rule that matched. A new answer is a new row; the old one stays as it was."""

    __tablename__ = "screening_intakes"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Who typed the answers: the patient, or staff on the patient's behalf (a phone call).
    answered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    table_version: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    matched: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_screening_intakes_patient_id_created_at", "patient_id", "created_at"),
        Index("ix_screening_intakes_tier_created_at", "tier", "created_at"),
    )


class ScreeningAcknowledgement(Base):
    """A clinician took charge of an intake's red flags (called the patient, sent them on)."""

    __tablename__ = "screening_acknowledgements"

    id: Mapped[uuid.UUID] = uuid_pk()
    intake_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("screening_intakes.id", ondelete="CASCADE")
    )
    acknowledged_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    acknowledged_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(500), default="")

    # One acknowledgement per intake: two clinicians pressing at once record one.
    __table_args__ = (UniqueConstraint("intake_id"),)
