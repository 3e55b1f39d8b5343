"""The appointment status machine: every status x action x role, time rules, late cancellation."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from telehealth.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from telehealth.scheduling.lifecycle import (
    Action,
    Actor,
    AppointmentState,
    Role,
    SignedNote,
    Status,
    allowed_actions,
    is_late_cancellation,
    require_unsigned,
    transition,
)

from .helpers import NEW_YORK, minutes, utc

START = utc(2026, 6, 1, 14)
END = START + minutes(45)
PATIENT = Actor(Role.PATIENT, "patient-1")
THERAPIST = Actor(Role.THERAPIST, "therapist-1")
ADMIN = Actor(Role.ADMIN, "admin-1")
ACTORS = {Role.PATIENT: PATIENT, Role.THERAPIST: THERAPIST, Role.ADMIN: ADMIN}

# The specification, written out independently of the module's tables.
LEGAL = {
    (Status.BOOKED, Action.CHECK_IN): Status.CHECKED_IN,
    (Status.CHECKED_IN, Action.START): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.COMPLETE): Status.COMPLETED,
    (Status.BOOKED, Action.CANCEL): Status.CANCELLED,
    (Status.CHECKED_IN, Action.CANCEL): Status.CANCELLED,
    (Status.BOOKED, Action.MARK_NO_SHOW): Status.NO_SHOW,
}
MAY = {
    Role.PATIENT: {Action.CHECK_IN, Action.CANCEL},
    Role.THERAPIST: set(Action),
    Role.ADMIN: {Action.CHECK_IN, Action.CANCEL, Action.MARK_NO_SHOW},
}
# A moment at which each action's time rule is satisfied.
WHEN = {
    Action.CHECK_IN: START - minutes(10),
    Action.START: START + minutes(1),
    Action.COMPLETE: START + minutes(40),
    Action.CANCEL: START - timedelta(days=2),
    Action.MARK_NO_SHOW: START + minutes(20),
}


def state(status: Status = Status.BOOKED) -> AppointmentState:
    return AppointmentState(
        status=status,
        start=START,
        end=END,
        patient_id="patient-1",
        therapist_id="therapist-1",
        cancellation_cutoff=timedelta(hours=24),
    )


@pytest.mark.parametrize(
    ("status", "action", "role"), list(itertools.product(Status, Action, Role))
)
def test_transition_table(status: Status, action: Action, role: Role) -> None:
    actor, now = ACTORS[role], WHEN[action]
    if action not in MAY[role]:
        with pytest.raises(PermissionDenied, match=f"a {role.value} may not"):
            transition(state(status), action, actor, now, reason="schedule change")
    elif (status, action) not in LEGAL:
        with pytest.raises(Conflict, match=f"it is {status.value.replace('_', ' ')}") as error:
            transition(state(status), action, actor, now, reason="schedule change")
        assert error.value.code == "illegal_transition"
    else:
        after = transition(state(status), action, actor, now, reason="schedule change")
        assert after.status is LEGAL[(status, action)]
        assert (after.start, after.end, after.patient_id) == (START, END, "patient-1")


def test_timestamps_are_recorded() -> None:
    checked_in = transition(state(), Action.CHECK_IN, PATIENT, START - minutes(5))
    assert checked_in.checked_in_at == START - minutes(5)
    started = transition(checked_in, Action.START, THERAPIST, START)
    assert started.started_at == START
    done = transition(started, Action.COMPLETE, THERAPIST, END)
    assert (done.status, done.completed_at) == (Status.COMPLETED, END)
    missed = transition(state(), Action.MARK_NO_SHOW, ADMIN, START + minutes(15))
    assert missed.no_show_at == START + minutes(15)


@pytest.mark.parametrize(
    ("before_start", "late"),
    [
        (timedelta(hours=25), False),
        (timedelta(hours=24), False),  # exactly at the cutoff is still in time
        (timedelta(hours=23, minutes=59), True),
        (timedelta(minutes=5), True),
    ],
)
def test_late_cancellation(before_start: timedelta, late: bool) -> None:
    now = START - before_start
    cancelled = transition(state(), Action.CANCEL, PATIENT, now, reason="  flu  ")
    assert cancelled.status is Status.CANCELLED
    assert cancelled.cancellation is not None
    assert cancelled.cancellation.late is late
    assert cancelled.cancellation.at == now
    assert cancelled.cancellation.by_role is Role.PATIENT
    assert cancelled.cancellation.by_user_id == "patient-1"
    assert cancelled.cancellation.reason == "flu"
    assert is_late_cancellation(state(), now) is late


def test_patient_cancels_without_reason_but_staff_must_give_one() -> None:
    assert transition(state(), Action.CANCEL, PATIENT, WHEN[Action.CANCEL]).cancellation
    for staff in (THERAPIST, ADMIN):
        with pytest.raises(InvalidInput, match="staff must give a reason"):
            transition(state(), Action.CANCEL, staff, WHEN[Action.CANCEL], reason="   ")
    with pytest.raises(InvalidInput, match="at most 500 characters"):
        transition(state(), Action.CANCEL, PATIENT, WHEN[Action.CANCEL], reason="x" * 501)


def test_cancelling_after_the_start() -> None:
    with pytest.raises(Conflict, match="already started"):
        transition(state(), Action.CANCEL, PATIENT, START)
    staff = transition(state(), Action.CANCEL, THERAPIST, START + minutes(5), reason="sick")
    assert staff.cancellation is not None and staff.cancellation.late
    with pytest.raises(Conflict, match="time has passed"):
        transition(state(), Action.CANCEL, ADMIN, END, reason="cleanup")


@pytest.mark.parametrize(
    ("now", "ok"),
    [
        (START - minutes(31), False),
        (START - minutes(30), True),
        (END - minutes(1), True),
        (END, False),
    ],
)
def test_check_in_window(now: datetime, ok: bool) -> None:
    if ok:
        assert transition(state(), Action.CHECK_IN, PATIENT, now).status is Status.CHECKED_IN
    else:
        with pytest.raises(Conflict, match="check in"):
            transition(state(), Action.CHECK_IN, PATIENT, now)


def test_no_show_needs_the_grace_period_and_no_check_in() -> None:
    with pytest.raises(Conflict, match="15 minutes after the start") as early:
        transition(state(), Action.MARK_NO_SHOW, THERAPIST, START + minutes(14))
    assert early.value.code == "too_early"
    assert (
        transition(state(), Action.MARK_NO_SHOW, THERAPIST, START + minutes(15)).status
        is Status.NO_SHOW
    )
    with pytest.raises(Conflict, match="checked in"):
        transition(state(Status.CHECKED_IN), Action.MARK_NO_SHOW, ADMIN, START + minutes(30))


@pytest.mark.parametrize(
    "stranger", [Actor(Role.PATIENT, "patient-2"), Actor(Role.THERAPIST, "therapist-2")]
)
def test_other_peoples_appointments_are_not_found(stranger: Actor) -> None:
    with pytest.raises(NotFound):
        transition(state(), Action.CANCEL, stranger, WHEN[Action.CANCEL], reason="x")


def test_allowed_actions_match_the_buttons_to_show() -> None:
    two_days_before = START - timedelta(days=2)
    assert allowed_actions(state(), PATIENT, two_days_before) == {Action.CANCEL}
    assert allowed_actions(state(Status.CHECKED_IN), THERAPIST, START) == {
        Action.START,
        Action.CANCEL,
    }
    assert allowed_actions(state(), ADMIN, START + minutes(20)) == {
        Action.CHECK_IN,
        Action.CANCEL,
        Action.MARK_NO_SHOW,
    }
    assert allowed_actions(state(Status.COMPLETED), ADMIN, START) == frozenset()


def test_state_requires_aware_ordered_times() -> None:
    with pytest.raises(InvalidInput, match="end after it starts"):
        AppointmentState(Status.BOOKED, END, START, "p", "t", timedelta(hours=24))
    with pytest.raises(InvalidInput, match="time zone"):
        AppointmentState(
            Status.BOOKED, START.replace(tzinfo=None), END, "p", "t", timedelta(hours=24)
        )
    local = AppointmentState(
        Status.BOOKED, START.astimezone(NEW_YORK), END, "p", "t", timedelta(hours=24)
    )
    assert local.start == START and local.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", [Status.BOOKED, Status.CHECKED_IN])
def test_a_signed_note_locks_cancel_and_no_show(role: Role, status: Status) -> None:
    signed = replace(state(status), signed_note=SignedNote("note-1", START + minutes(5)))
    for action in (Action.CANCEL, Action.MARK_NO_SHOW):
        if action not in MAY[role] or (status, action) not in LEGAL:
            continue
        with pytest.raises(Conflict) as refused:
            transition(signed, action, ACTORS[role], WHEN[action], reason="why")
        assert refused.value.code == "note_signed"
        assert refused.value.details["note_id"] == "note-1"
        assert "note-1" in refused.value.message and "addendum" in refused.value.message
        assert action not in allowed_actions(signed, ACTORS[role], WHEN[action])
        # The same visit without the note: allowed.
        transition(state(status), action, ACTORS[role], WHEN[action], reason="why")
    with pytest.raises(Conflict):
        require_unsigned(signed, "moved")
    require_unsigned(state(status), "moved")
