"""Episodes of care, their plan versions, certification events, visit links and discharges.

Every table here is appended to, never rewritten: a revised plan is a new version, a moved visit
is a new link, a closed episode is a discharge row. The history of what was planned, certified
and counted stays as it was written.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base, uuid_pk


class CareEpisode(Base):
    """One course of care for one problem (a patient may have several, e.g. hip and neck)."""

    __tablename__ = "care_episodes"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The therapist who leads it: their caseload lists it.
    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[datetime]
    opened_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    __table_args__ = (
        Index("ix_care_episodes_patient_id", "patient_id"),
        Index("ix_care_episodes_therapist_id", "therapist_id"),
    )


class CarePlanVersion(Base):
    """One version of an episode's plan of care; a revision is the next version."""

    __tablename__ = "care_plan_versions"

    id: Mapped[uuid.UUID] = uuid_pk()
    episode_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("care_episodes.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    written_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    written_at: Mapped[datetime]
    start_date: Mapped[date] = mapped_column(Date)
    cert_end: Mapped[date] = mapped_column(Date)
    frequency_per_week: Mapped[int] = mapped_column(Integer)
    duration_weeks: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_visits: Mapped[int | None] = mapped_column(Integer, default=None)
    amount_per_day: Mapped[int] = mapped_column(Integer, default=1)
    diagnoses: Mapped[list[str]] = mapped_column(JSON)
    interventions: Mapped[list[str]] = mapped_column(JSON)
    modalities: Mapped[list[str]] = mapped_column(JSON)
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    change_reason: Mapped[str] = mapped_column(String(500), default="")

    # Two people revising at once: the second finds the version taken and is told so.
    __table_args__ = (UniqueConstraint("episode_id", "version"),)


class CareCertification(Base):
    """A step in getting a plan version certified by the referring practitioner."""

    __tablename__ = "care_certifications"

    id: Mapped[uuid.UUID] = uuid_pk()
    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("care_plan_versions.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(24))
    on_date: Mapped[date] = mapped_column(Date)
    practitioner: Mapped[str] = mapped_column(String(120), default="")
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime]

    __table_args__ = (Index("ix_care_certifications_plan_id", "plan_id"),)


class CareEpisodeVisit(Base):
    """A visit counted in an episode, when the dates alone cannot tell (two open episodes). The
    newest link of a visit wins; older ones stay as the record of the move."""

    __tablename__ = "care_episode_visits"

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    episode_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("care_episodes.id", ondelete="CASCADE")
    )
    linked_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime]

    __table_args__ = (Index("ix_care_episode_visits_episode_id", "episode_id"),)


class CareDischarge(Base):
    """An episode closed by its discharge note: how each goal ended and what to keep doing."""

    __tablename__ = "care_discharges"

    id: Mapped[uuid.UUID] = uuid_pk()
    episode_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("care_episodes.id", ondelete="CASCADE")
    )
    discharged_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    discharged_at: Mapped[datetime]
    goal_outcomes: Mapped[dict[str, str]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    keep_doing: Mapped[str] = mapped_column(Text, default="")

    # Discharged once: two people pressing at once record one discharge.
    __table_args__ = (UniqueConstraint("episode_id"),)
