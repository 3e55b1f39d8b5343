"""Visit notes and their addenda.

A signed note is immutable twice over: the service answers 409 note_locked, and database triggers
(migration 0003) refuse any UPDATE or DELETE of a signed row and of any addendum, so a change that
bypasses the service fails too. The content hash and seal make a change that bypasses both visible.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base, uuid_pk

DRAFT = "draft"
SIGNED = "signed"
# The message the database triggers raise; the service maps it to 409 note_locked.
LOCKED_MESSAGE = "note_locked"
ADDENDUM = "addendum"
ENTERED_IN_ERROR = "entered_in_error"


class VisitNote(Base):
    """The one note of a visit: a draft autosaved by its therapist, then signed and locked."""

    __tablename__ = "visit_notes"

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    therapist_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    note_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    # Bumped on every save: a save based on an older version is refused (two tabs, two devices).
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    signed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    content_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    seal: Mapped[str | None] = mapped_column(String(64), default=None)
    # Which settings key made the seal (None: a plain hash from before keyed seals).
    seal_key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # Copy forward: the signed note this draft was prefilled from (no foreign key: a column
    # added to a table with SQLite triggers is added in place, without a constraint).
    copied_from: Mapped[uuid.UUID | None] = mapped_column(default=None)

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'signed')", name="status"),
        CheckConstraint(
            "status = 'draft' OR (signed_by IS NOT NULL AND signed_at IS NOT NULL "
            "AND content_hash IS NOT NULL AND seal IS NOT NULL)",
            name="signed_complete",
        ),
        Index("ix_visit_notes_patient_id", "patient_id"),
        Index("ix_visit_notes_therapist_id", "therapist_id"),
        Index("ix_visit_notes_status_signed_at", "status", "signed_at"),
    )


class NoteAddendum(Base):
    """Text added to a signed note, with its reason; sealed and chained to the addendum before it
    (the first to the note's seal)."""

    __tablename__ = "note_addenda"

    id: Mapped[uuid.UUID] = uuid_pk()
    note_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("visit_notes.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    written_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    parent_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # ADDENDUM (a correction or a later fact) or ENTERED_IN_ERROR (the note should not exist:
    # wrong patient or wrong visit). Part of the hash for every kind but the original one.
    kind: Mapped[str] = mapped_column(String(24), default=ADDENDUM, server_default=ADDENDUM)

    __table_args__ = (Index("ix_note_addenda_note_id", "note_id", "written_at"),)


class NoteTemplateVersion(Base):
    """One version of the note template of an appointment type: section skeletons and default
    interventions a new draft of that type starts from. Edits add a version; none is changed."""

    __tablename__ = "note_templates"

    type_key: Mapped[str] = mapped_column(String(48), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
