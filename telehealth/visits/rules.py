"""Pure rules of the video visit: when a room is open, who enters as what, which consent applies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, NotFound
from telehealth.visits.timing import until

# The room opens 15 minutes before the start (time for the pre-call check) and stays open
# 30 minutes after the planned end (visits overrun; a dropped call must be able to come back).
OPENS_BEFORE = timedelta(minutes=15)
CLOSES_AFTER = timedelta(minutes=30)
# Long enough to open the WebSocket after fetching it, short enough to be useless if it leaks.
TICKET_LIFETIME = timedelta(seconds=60)
JOINABLE_STATUSES = frozenset({"booked", "checked_in", "in_progress"})


@dataclass(frozen=True)
class VisitFacts:
    """What the rules need to know about an appointment."""

    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    therapist_id: uuid.UUID
    modality: str
    status: str
    start_at: datetime
    end_at: datetime


def window(facts: VisitFacts) -> tuple[datetime, datetime]:
    """When the visit's room may be entered."""
    return facts.start_at - OPENS_BEFORE, facts.end_at + CLOSES_AFTER


def role_in_visit(facts: VisitFacts, user_id: uuid.UUID) -> str:
    """'host' for the visit's therapist, 'guest' for its patient; NotFound for anyone else."""
    if user_id == facts.therapist_id:
        return "host"
    if user_id == facts.patient_id:
        return "guest"
    raise NotFound("No such visit.")


def check_joinable(facts: VisitFacts, now: datetime) -> None:
    """Refuse entry to a visit that is not a live, virtual visit inside its window."""
    if facts.modality != "virtual":
        raise Conflict("This visit is in the clinic, not by video.", code=ErrorCode.NOT_VIRTUAL)
    if facts.status not in JOINABLE_STATUSES:
        raise Conflict(
            f"This visit is {facts.status.replace('_', ' ')}.", code=ErrorCode.VISIT_CLOSED
        )
    opens, closes = window(facts)
    if now < opens:
        raise Conflict(
            f"The visit room opens 15 minutes before your visit, {until(opens - now)}.",
            code=ErrorCode.TOO_EARLY,
            details={"opens_at": opens.isoformat()},
        )
    if now >= closes:
        raise Conflict("The time for this visit has passed.", code=ErrorCode.TOO_LATE)


@dataclass(frozen=True)
class ConsentText:
    """One version of the telehealth consent shown to patients."""

    version: str
    title: str
    paragraphs: tuple[str, ...]


CURRENT_CONSENT = ConsentText(
    version="2026-11",
    title="Consent to physical therapy by video",
    paragraphs=(
        "Your physical therapist will see and hear you by live video. The video is not recorded.",
        "Video visits cannot include hands-on treatment. Your therapist will guide you through "
        "movements and exercises; stop any movement that causes sharp or shooting pain.",
        "Please be in a private, safe space with room to move, and have a chair nearby for support.",
        "If the connection drops, the visit will try to reconnect on its own. If it cannot, your "
        "therapist will call you on the phone number we have for you.",
        "Your visit notes are kept in your health record and protected like any other record.",
        "In an emergency, call 911. Video visits are not for emergencies.",
        "You can stop the visit at any time, and you can choose an in-clinic visit instead.",
    ),
)
