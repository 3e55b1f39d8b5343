"""What a message is and when it is tried again: pure, no database."""

from __future__ import annotations

import re
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


# What the admin's list says of a message, in words.
KIND_WORDS: dict[str, str] = {
    Kind.BOOKED.value: "Visit booked",
    Kind.CHANGED.value: "Visit moved",
    Kind.CANCELLED.value: "Visit cancelled",
}

STATUS_WORDS: dict[str, str] = {
    Status.PENDING.value: "Waiting to be sent",
    Status.SENDING.value: "Being sent",
    Status.SENT.value: "Sent",
    Status.FAILED.value: "Could not be sent",
    Status.WITHDRAWN.value: "Withdrawn (no longer needed)",
}

# The admin's status filter: "waiting" is every message still on its way.
STATUS_FILTERS: dict[str, tuple[Status, ...]] = {
    "waiting": (Status.PENDING, Status.SENDING),
    "failed": (Status.FAILED,),
    "sent": (Status.SENT,),
    "withdrawn": (Status.WITHDRAWN,),
}


def mask_address(address: str) -> str:
    """An address as the admin's list shows it: enough to tell whose (the first letter and the
    domain), not a copy of the mailbox. m•••@example.com"""
    local, at, domain = address.rpartition("@")
    if not at:
        return address[:1] + "•••"
    return f"{local[:1]}•••@{domain}"


_PERMANENT_CODE = re.compile(r"\b5\d\d\b")


def error_words(last_error: str | None) -> str:
    """What went wrong with the last try, in words; the raw reply is shown beside it. The
    dispatcher stores `ExceptionName: text`."""
    if not last_error:
        return ""
    name = last_error.split(":", 1)[0]
    if "Timeout" in name:
        return "The mail server did not answer in time."
    if name in ("SMTPConnectError", "ConnectionRefusedError", "OSError", "SMTPServerDisconnected"):
        return "The mail server could not be reached."
    if name in ("SMTPRecipientsRefused", "SMTPRecipientRefused"):
        if _PERMANENT_CODE.search(last_error):
            return "The receiving mail server refused the address (it may not exist)."
        return "The receiving mail server asked to try later (the mailbox may be full)."
    if name.startswith("SMTP"):
        return "The mail server did not accept the message."
    return "The message could not be handed to the mail server."
