"""Visit API models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from telehealth.http.schemas import RequestModel, ResponseModel, SafeStr, SafeText


class ConsentOut(ResponseModel):
    """The current telehealth consent and whether the signed-in patient accepted it."""

    version: str
    title: str
    paragraphs: list[str]
    accepted_at: datetime | None


class ConsentIn(RequestModel):
    """Accept one version of the consent."""

    version: SafeStr = Field(min_length=1, max_length=32)


class VisitOut(ResponseModel):
    """A visit as its participant sees it."""

    appointment_id: uuid.UUID
    role: Literal["host", "guest"]
    status: str
    start_at: datetime
    end_at: datetime
    opens_at: datetime
    closes_at: datetime
    patient_name: str
    therapist_name: str
    consent_needed: bool
    signaling_url: str


class TicketOut(ResponseModel):
    """A single-use ticket for the visit's WebSocket `hello`."""

    ticket: str
    expires_at: datetime
    role: Literal["host", "guest"]
    signaling_url: str


class JoinLinkOut(ResponseModel):
    """A single-use link that signs the visit's patient in and opens the visit; shown once."""

    url: str = Field(description="Absolute; send it to the patient only")
    appointment_id: uuid.UUID
    expires_at: datetime = Field(description="When the visit's room closes")


class NetworkTestIn(RequestModel):
    """The browser's offer, with all its ICE candidates gathered."""

    sdp: SafeText = Field(min_length=10, max_length=30_000)


class NetworkTestOut(ResponseModel):
    """The echo peer's answer."""

    sdp: str


class GuestInviteIn(RequestModel):
    """Invite a caregiver or interpreter into the visit."""

    display_name: SafeStr = Field(min_length=1, max_length=80, description="Shown in the room")
    role: Literal["caregiver", "interpreter", "other"]


class GuestInviteOut(ResponseModel):
    """One invitation (its link only in the answer that made it)."""

    id: uuid.UUID
    display_name: str
    role: str
    created_at: datetime
    expires_at: datetime = Field(description="When the visit's room closes")
    revoked_at: datetime | None
    url: str | None = Field(default=None, description="Absolute; shown once, to send the guest")


class GuestListOut(ResponseModel):
    """A visit's invitations."""

    appointment_id: uuid.UUID
    may_invite: bool
    guests: list[GuestInviteOut]
