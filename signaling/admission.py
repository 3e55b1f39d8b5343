"""What the application tells the signaling server about a ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    """Host (therapist) runs the visit; guests (patient, companions) wait to be admitted."""

    HOST = "host"
    GUEST = "guest"


@dataclass(frozen=True, slots=True)
class Admission:
    """A valid ticket: who enters which room, as what, until when."""

    room_id: str
    user_id: str
    display_name: str
    role: Role
    window_end: datetime


class Authorizer(Protocol):
    """Validates the ticket of a `hello`; the application issues tickets and burns used ones."""

    async def authorize(self, ticket: str, room_id: str | None) -> Admission | None:
        """Return the admission, or None when the ticket is invalid, expired, reused or early.

        `room_id` is the room named in the URL (None: the bare path); a ticket for another
        room must be refused without being used up.
        """
        ...


class ResumeGuard(Protocol):
    """Asked on every `resume`: may this user still be in this room?"""

    async def may_resume(self, room_id: str, user_id: str) -> bool:
        """False refuses the resume (close 4007): the user's access was revoked."""
        ...
