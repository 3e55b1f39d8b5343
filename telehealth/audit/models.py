"""The append-only, hash-chained audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base


class AuditEvent(Base):
    """One audited action. seq is dense and ordered; hash covers the row and the previous hash."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    actor_role: Mapped[str | None] = mapped_column(String(16), default=None)
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(64), default=None)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_actor_id", "actor_id"),
        Index("ix_audit_events_patient_id", "patient_id"),
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_action", "action"),
    )
