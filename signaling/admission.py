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

    async def authorize(self, ticket: str) -> Admission | None:
        """Return the admission, or None when the ticket is invalid, expired, reused or early."""
        ...
