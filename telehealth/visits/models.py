"""Visit tables: single-use join tickets and telehealth consent records."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base, uuid_pk


class VisitTicket(Base):
    """A short-lived, single-use ticket to enter one visit's room; only its hash is stored."""

    __tablename__ = "visit_tickets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_visit_tickets_expires_at", "expires_at"),)


class TelehealthConsent(Base):
    """A patient's acceptance of one version of the telehealth consent."""

    __tablename__ = "telehealth_consents"

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(256))

    __table_args__ = (UniqueConstraint("patient_id", "version"),)


class VisitJoinLink(Base):
    """A single-use link that signs a patient in and opens one visit, for a reminder or a message;
    only its hash is stored. It lasts until the visit's room closes."""

    __tablename__ = "visit_join_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_visit_join_links_appointment_id", "appointment_id"),)


class VisitGuest(Base):
    """A caregiver or interpreter invited into one video visit, without an account.

    The invitation is a capability: whoever holds the link's token enters that visit's waiting
    room as this guest, until the room closes or the invitation is revoked. Only the token's hash
    is stored. The guest's single-use WebSocket ticket lives on the same row (one at a time: a
    newer ticket replaces an unused older one), as guests have no user row a visit ticket could
    name.
    """

    __tablename__ = "visit_guests"

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    ticket_expires_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_visit_guests_appointment_id", "appointment_id"),)
