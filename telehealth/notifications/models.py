"""The outbox: one row per message, written with the change that causes it, sent later."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.orm import Base, uuid_pk


class OutboxMessage(Base):
    """A message on its way to one person; status moves pending -> sending -> sent (or failed),
    or pending -> withdrawn when what it announced changed before it left."""

    __tablename__ = "outbox_messages"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), default=None
    )
    scheduled_for: Mapped[datetime]
    # The same message (kind, subject, time) is never written twice: the UNIQUE constraint holds
    # even where two writers would each have checked first.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text, default=None)
    # Fixed when the row is written, so a message sent twice (an instance stopped mid-send) is
    # the same message to the receiving mail system, which drops the copy.
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    # While sending: until when the claim holds; a claim left past it is taken again.
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    provider_reply: Mapped[str | None] = mapped_column(String(500), default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_messages_appointment_id", "appointment_id"),
    )
