"""What a message is and when it is tried again: pure, no database."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum


class Kind(StrEnum):
    """Why a message is sent."""

    BOOKED = "booked"
    CHANGED = "changed"
    CANCELLED = "cancelled"
    # A link to set a forgotten password again; sent at once, never about an appointment.
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a message kind, not a secret


class Channel(StrEnum):
    """How a message travels."""

    EMAIL = "email"


class Status(StrEnum):
    """Where a message is on its way."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


# The longest wait between two tries, however many failed before.
MAX_BACKOFF = timedelta(hours=6)


def dedupe_key(kind: Kind, subject_id: uuid.UUID, revision: int, scheduled_for: datetime) -> str:
    """One message of a kind about one version of one thing at one moment: a second write of it
    is refused. The revision tells two changes of the same thing within one instant apart."""
    return f"{kind.value}:{subject_id}:{revision}:{scheduled_for.isoformat()}"


def message_id(row_id: uuid.UUID, host: str) -> str:
    """An RFC 5322 Message-ID, fixed with the row: the same message sent twice carries it twice."""
    return f"<{row_id.hex}@{host}>"


def backoff(attempts: int, first: timedelta) -> timedelta:
    """The wait after the `attempts`-th failed try: first, then doubling, at most MAX_BACKOFF."""
    return min(first * (2 ** max(attempts - 1, 0)), MAX_BACKOFF) if attempts < 32 else MAX_BACKOFF


def gives_up(attempts: int, max_attempts: int) -> bool:
    """Whether a message that failed its `attempts`-th try is failed for good."""
    return attempts >= max_attempts
