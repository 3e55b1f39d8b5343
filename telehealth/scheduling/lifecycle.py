"""The appointment status machine and who may move it.

::

    booked --check_in--> checked_in --start--> in_progress --complete--> completed
      |  \\                  |
      |   cancel           cancel
      |      \\              |
      |       +--> cancelled <+
      +--mark_no_show--> no_show

``transition`` is pure: it takes the current state, an action, the actor and ``now`` and returns the
next state or raises. Errors follow ``telehealth.errors``: acting on someone else's appointment is
``NotFound`` (no existence leak; the service's scoped query normally stops it first), a role that
may never perform the action is ``PermissionDenied``, and an action the current status or time does
not allow is ``Conflict``.

Rules in words:

* check in: the patient, the treating therapist or an admin (front desk), from ``CHECK_IN_OPENS``
  before the start until the scheduled end.
* start / complete: only the treating therapist; start needs a checked-in patient.
* cancel: the patient (own visit, before its start), the treating therapist or an admin (until the
  scheduled end), while booked or checked in. Staff must give a reason; patients may. A
  cancellation less than the type's ``cancellation_cutoff`` before the start is marked ``late``,
  whoever cancels; fees and policy act on that fact elsewhere.
* no-show: the treating therapist or an admin, only if the patient never checked in and
  ``now >= start + NO_SHOW_GRACE``.
* a visit whose note is signed is a record: it is no longer cancelled, marked a no-show or moved
  (``note_signed``); corrections go in an addendum to the note, or an "entered in error" addendum.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from telehealth.scheduling.validation import ensure_utc

CHECK_IN_OPENS = timedelta(minutes=30)
NO_SHOW_GRACE = timedelta(minutes=15)
MAX_REASON_LENGTH = 500
NOTE_SIGNED = ErrorCode.NOTE_SIGNED


class Status(StrEnum):
    """Where an appointment is in its life."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Action(StrEnum):
    """Something a person does to an appointment."""

    CHECK_IN = "check_in"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"
    MARK_NO_SHOW = "mark_no_show"


class Role(StrEnum):
    """The actor roles that touch appointments."""

    PATIENT = "patient"
    THERAPIST = "therapist"
    ADMIN = "admin"


FINAL_STATUSES: Final = frozenset({Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW})

# (status, action) -> next status; anything absent is an illegal transition.
TRANSITIONS: Final = MappingProxyType(
    {
        (Status.BOOKED, Action.CHECK_IN): Status.CHECKED_IN,
        (Status.CHECKED_IN, Action.START): Status.IN_PROGRESS,
        (Status.IN_PROGRESS, Action.COMPLETE): Status.COMPLETED,
        (Status.BOOKED, Action.CANCEL): Status.CANCELLED,
        (Status.CHECKED_IN, Action.CANCEL): Status.CANCELLED,
        (Status.BOOKED, Action.MARK_NO_SHOW): Status.NO_SHOW,
    }
)

ROLES_FOR_ACTION: Final = MappingProxyType(
    {
        Action.CHECK_IN: frozenset({Role.PATIENT, Role.THERAPIST, Role.ADMIN}),
        Action.START: frozenset({Role.THERAPIST}),
        Action.COMPLETE: frozenset({Role.THERAPIST}),
        Action.CANCEL: frozenset({Role.PATIENT, Role.THERAPIST, Role.ADMIN}),
        Action.MARK_NO_SHOW: frozenset({Role.THERAPIST, Role.ADMIN}),
    }
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a role and the acting user's id (admins act on any appointment)."""

    role: Role
    user_id: str


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Who cancelled, when, why, and whether it was inside the cancellation cutoff."""

    by_role: Role
    by_user_id: str
    at: datetime
    reason: str
    late: bool


@dataclass(frozen=True, slots=True)
class SignedNote:
    """The signed note of a visit, as far as scheduling needs to name it."""

    note_id: str
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class AppointmentState:
    """The parts of an appointment the status rules need."""

    status: Status
    start: datetime
    end: datetime
    patient_id: str
    therapist_id: str
    cancellation_cutoff: timedelta
    checked_in_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    no_show_at: datetime | None = None
    cancellation: Cancellation | None = None
    signed_note: SignedNote | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", ensure_utc(self.start, "start"))
        object.__setattr__(self, "end", ensure_utc(self.end, "end"))
        if self.end <= self.start:
            raise InvalidInput("an appointment must end after it starts")


def _involved(state: AppointmentState, actor: Actor) -> bool:
    if actor.role is Role.ADMIN:
        return True
    own = state.patient_id if actor.role is Role.PATIENT else state.therapist_id
    return actor.user_id == own


def _refuse(state: AppointmentState, action: Action, why: str, code: ErrorCode) -> Conflict:
    return Conflict(
        f"cannot {action.value.replace('_', ' ')} this appointment: {why}",
        code=code,
        details={"status": state.status.value, "action": action.value},
    )


def transition(
    state: AppointmentState,
    action: Action,
    actor: Actor,
    now: datetime,
    *,
    reason: str = "",
) -> AppointmentState:
    """Return the state after actor performs action at now, or raise why it is not allowed."""
    now = ensure_utc(now, "now")
    if not _involved(state, actor):
        raise NotFound("appointment not found")
    if actor.role not in ROLES_FOR_ACTION[action]:
        raise PermissionDenied(
            f"a {actor.role.value} may not {action.value.replace('_', ' ')} an appointment",
            details={"action": action.value, "role": actor.role.value},
        )
    target = TRANSITIONS.get((state.status, action))
    if target is not None and action in (Action.CANCEL, Action.MARK_NO_SHOW):
        require_unsigned(state, "cancelled" if action is Action.CANCEL else "marked a no-show")
    if target is None:
        raise _refuse(
            state,
            action,
            f"it is {state.status.value.replace('_', ' ')}",
            ErrorCode.ILLEGAL_TRANSITION,
        )

    if action is Action.CHECK_IN:
        if now < state.start - CHECK_IN_OPENS:
            minutes = CHECK_IN_OPENS // timedelta(minutes=1)
            raise _refuse(
                state,
                action,
                f"check-in opens {minutes} minutes before the start",
                ErrorCode.TOO_EARLY,
            )
        if now >= state.end:
            raise _refuse(state, action, "its time has passed", ErrorCode.TOO_LATE)
        return replace(state, status=target, checked_in_at=now)
    if action is Action.START:
        return replace(state, status=target, started_at=now)
    if action is Action.COMPLETE:
        return replace(state, status=target, completed_at=now)
    if action is Action.MARK_NO_SHOW:
        if now < state.start + NO_SHOW_GRACE:
            minutes = NO_SHOW_GRACE // timedelta(minutes=1)
            raise _refuse(
                state,
                action,
                f"a no-show can be recorded {minutes} minutes after the start at the earliest",
                ErrorCode.TOO_EARLY,
            )
        return replace(state, status=target, no_show_at=now)
    return _cancel(state, actor, now, reason, target)


def _cancel(
    state: AppointmentState, actor: Actor, now: datetime, reason: str, target: Status
) -> AppointmentState:
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"the cancellation reason may be at most {MAX_REASON_LENGTH} characters",
            details={"field": "reason"},
        )
    if actor.role is not Role.PATIENT and not reason:
        raise InvalidInput(
            "staff must give a reason when cancelling a patient's appointment",
            details={"field": "reason"},
        )
    if actor.role is Role.PATIENT and now >= state.start:
        raise _refuse(state, Action.CANCEL, "it has already started", ErrorCode.TOO_LATE)
    if now >= state.end:
        raise _refuse(state, Action.CANCEL, "its time has passed", ErrorCode.TOO_LATE)
    cancellation = Cancellation(
        by_role=actor.role,
        by_user_id=actor.user_id,
        at=now,
        reason=reason,
        late=is_late_cancellation(state, now),
    )
    return replace(state, status=target, cancellation=cancellation)


def require_unsigned(state: AppointmentState, what: str) -> None:
    """Raise Conflict note_signed, naming the note, when the visit's note is signed."""
    note = state.signed_note
    if note is None:
        return
    day = note.signed_at.strftime("%Y-%m-%d %H:%M UTC")
    raise Conflict(
        f"This visit's note was signed on {day} (note {note.note_id}), so the visit can no "
        f"longer be {what}. Corrections go in an addendum to that note; a note written for the "
        'wrong visit or patient is marked "entered in error" with an addendum.',
        code=NOTE_SIGNED,
        details={
            "status": state.status.value,
            "note_id": note.note_id,
            "signed_at": note.signed_at.isoformat(),
        },
    )


def is_late_cancellation(state: AppointmentState, now: datetime) -> bool:
    """Whether cancelling at now falls inside the type's cancellation cutoff before the start."""
    return state.start - ensure_utc(now, "now") < state.cancellation_cutoff


def allowed_actions(state: AppointmentState, actor: Actor, now: datetime) -> frozenset[Action]:
    """Return the actions actor could perform at now (for showing only the buttons that work)."""
    allowed: set[Action] = set()
    for action in Action:
        try:
            # A placeholder reason: the question is whether the action is open, not its wording.
            transition(state, action, actor, now, reason="-")
        except (Conflict, PermissionDenied, NotFound, InvalidInput):
            continue
        allowed.add(action)
    return frozenset(allowed)
