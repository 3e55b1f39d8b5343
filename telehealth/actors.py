"""Who is acting: the signed-in person and where the request came from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a person is to the clinic."""

    PATIENT = "patient"
    THERAPIST = "therapist"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """A signed-in person, as services see them."""

    id: uuid.UUID
    role: Role
    display_name: str
    email: str
    time_zone: str

    @property
    def is_admin(self) -> bool:
        """Admins manage accounts and scheduling."""
        return self.role is Role.ADMIN

    @property
    def is_therapist(self) -> bool:
        """Therapists see their own patients."""
        return self.role is Role.THERAPIST

    @property
    def is_patient(self) -> bool:
        """Patients see only themselves."""
        return self.role is Role.PATIENT


@dataclass(frozen=True)
class Caller:
    """The acting person (None before sign-in) and the request's origin, for the audit trail."""

    actor: Actor | None
    ip: str
    request_id: str | None = None
    user_agent: str = ""

    def require_actor(self) -> Actor:
        """The signed-in actor; services behind authentication call this."""
        from telehealth.errors import NotAuthenticated

        if self.actor is None:
            raise NotAuthenticated("Please sign in.")
        return self.actor
