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


# --- guests --------------------------------------------------------------------------------------

# Therapist, patient and two guests: what a mesh of peer connections carries well on a phone.
MAX_GUESTS = 2
GUEST_ROLES = ("caregiver", "interpreter", "other")
GUEST_ROLE_WORDS = {"caregiver": "caregiver", "interpreter": "interpreter", "other": "guest"}
# A guest has no account: the signaling server knows them by this prefix and the invitation's id,
# which can never be a user's id (a bare UUID).
GUEST_USER_PREFIX = "guest-"
# A guest's ticket says it is one, so the authorizer looks it up in the right place.
GUEST_TICKET_PREFIX = "guest."


def guest_user_id(guest_id: uuid.UUID) -> str:
    """The signaling user id of a guest."""
    return f"{GUEST_USER_PREFIX}{guest_id}"


def guest_id_of(user_id: str) -> uuid.UUID | None:
    """The invitation id inside a guest's signaling user id; None for anyone else."""
    if not user_id.startswith(GUEST_USER_PREFIX):
        return None
    try:
        return uuid.UUID(user_id.removeprefix(GUEST_USER_PREFIX))
    except ValueError:
        return None


def guest_label(display_name: str, role: str) -> str:
    """How the room shows a guest: "Ana (caregiver)"."""
    return f"{display_name} ({GUEST_ROLE_WORDS.get(role, 'guest')})"


def check_may_invite(live_guests: int) -> None:
    """Refuse a third guest: the room holds the therapist, the patient and two guests."""
    if live_guests >= MAX_GUESTS:
        raise Conflict(
            f"A visit can have {MAX_GUESTS} guests. Revoke one to invite someone else.",
            code=ErrorCode.TOO_MANY_GUESTS,
        )
