"""The append-only audit trail: events as requests record them, the chain the sealer links them into,
and the signed checkpoints of that chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Sequence, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base

# PostgreSQL numbers events from a sequence, so concurrent requests never wait on each other;
# SQLite (one writer at a time) numbers them itself. The numbers say when an event was recorded,
# not the order transactions committed in: that order is the chain's.
EVENT_SEQUENCE = Sequence("audit_events_seq")


class AuditEvent(Base):
    """One audited action, recorded in the transaction of the work it describes."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger, EVENT_SEQUENCE, primary_key=True, autoincrement=False
    )
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
    # PostgreSQL: the id of the transaction that recorded the event (a column default), which
    # tells the sealer when no transaction can still commit an event ahead of it. SQLite: NULL.
    xid: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_audit_events_actor_id", "actor_id"),
        Index("ix_audit_events_patient_id", "patient_id"),
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_action", "action"),
        Index("ix_audit_events_xid_seq", "xid", "seq"),
    )


class AuditLink(Base):
    """One link of the chain: seq is dense, in the order events committed; hash is keyed."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    sealed_at: Mapped[datetime]
    # None for the links made before keyed links (plain SHA-256); else the seal key's id.
    key_id: Mapped[str | None] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement of the chain's length and head, also written outside the database."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    head_hash: Mapped[str] = mapped_column(String(64))
    made_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(32))
    mac: Mapped[str] = mapped_column(String(64))
