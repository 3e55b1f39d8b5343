"""Plain-language names for what the audit trail stores as codes: actions, outcomes and roles.

The one place these words live: the admin page, its filter and its CSV export all read them
here. tests/unit/audit/test_audit_labels.py scans the code base for every action code it
writes and fails when one has no label.
"""

from __future__ import annotations

ACTION_LABELS: dict[str, str] = {
    # Signing in and out, accounts
    "login.success": "Signed in",
    "login.failure": "Sign-in failed",
    "login.blocked": "Sign-in blocked after repeated failures",
    "logout": "Signed out",
    "logout.everywhere": "Signed out on every device",
    "account.create": "Created an account",
    "account.update": "Changed an account",
    "account.deactivate": "Deactivated an account",
    "account.end_sessions": "Ended an account's sessions",
    "account.list": "Listed accounts",
    "account.read": "Viewed an account",
    "account.password_change": "Changed their own password",
    "account.password_reset_request": "Asked for a password reset link",
    "account.password_reset": "Set a new password with a reset link",
    "patient.list": "Listed patients",
    "patient.read": "Viewed a patient",
    "care_team.read": "Viewed a care team",
    "care_team.assign": "Added a therapist to a care team",
    "care_team.remove": "Removed a therapist from a care team",
    # Scheduling
    "appointment.book": "Booked an appointment",
    "appointment.reschedule": "Rescheduled an appointment",
    "appointment.cancel": "Cancelled an appointment",
    "appointment.check_in": "Checked in for an appointment",
    "appointment.start": "Started an appointment",
    "appointment.complete": "Completed an appointment",
    "appointment.mark_no_show": "Marked an appointment as a no-show",
    "appointment.read": "Viewed an appointment",
    "appointment.list": "Listed appointments",
    "appointment.calendar": "Downloaded an appointment calendar file",
    "series.book": "Booked a series of appointments",
    "series.preview": "Previewed a series of appointments",
    "appointment_type.create": "Created an appointment type",
    "appointment_type.update": "Changed an appointment type",
    "appointment_type.seed": "Added a standard appointment type",
    "availability.update": "Changed weekly availability",
    "availability.exception_add": "Added an availability exception",
    "availability.exception_remove": "Removed an availability exception",
    "closure.add": "Added a clinic closure",
    "closure.remove": "Removed a clinic closure",
    "calendar_feed.create": "Created a calendar feed",
    "calendar_feed.revoke": "Revoked a calendar feed",
    "calendar_feed.read": "Calendar feed was read",
    # Messages to patients
    "message.queue": "Wrote a message to a patient (to be sent)",
    "message.send": "Sent a message to a patient",
    "message.list": "Listed messages to patients",
    "message.read": "Viewed a message to a patient",
    "message.resend": "Sent a failed message again",
    "screening.intake": "Answered the screening questions",
    "screening.read": "Viewed screening answers",
    "screening.list": "Listed screening answers that need a clinician",
    "screening.acknowledge": "Took charge of screening answers",
    "care.episode.open": "Opened an episode of care",
    "care.episode.read": "Viewed an episode of care",
    "care.episode.list": "Listed a patient's episodes of care",
    "care.caseload": "Viewed a caseload",
    "care.plan.write": "Wrote a plan of care",
    "care.plan.read": "Viewed an earlier plan of care",
    "care.plan.certify": "Recorded a plan's certification",
    "care.episode.link_visit": "Counted a visit in an episode of care",
    "care.episode.discharge": "Discharged an episode of care",
    "measure.submit": "Answered an outcome measure",
    "measure.read": "Viewed outcome measure scores",
    "home_program.read": "Viewed today's home exercises",
    "home_program.done": "Marked a home exercise done",
    "home_program.log": "Logged a home exercise session",
    "home_program.staff_read": "Viewed a patient's home exercise logs",
    # Video visits
    "consent.accept": "Accepted the video visit consent",
    "visit.view": "Opened a video visit",
    "visit.ticket": "Was let into a video visit",
    "visit.ticket_refused": "Was refused entry to a video visit",
    "visit.join_link_created": "Made a join link for a video visit",
    "visit.join_link_used": "Signed in with a join link",
    "visit.join_link_refused": "Was refused a join link",
    "visit.join": "Joined the waiting room",
    "visit.admit": "Admitted the patient to the visit",
    "visit.deny": "Turned away from the visit",
    "visit.leave": "Left the visit",
    "visit.end": "Ended the visit",
    "visit.access_revoked": "Lost access to a video visit",
    "visit.resume_refused": "Was refused rejoining a video visit",
    "visit.guest_invited": "Invited a guest to a video visit",
    "visit.guest_list": "Looked at the guests of a video visit",
    "visit.guest_revoked": "Revoked a guest's invitation to a video visit",
    "visit.guest_refused": "Was refused an invitation to a video visit",
    "visit.guest_opened": "Opened a guest invitation to a video visit",
    "visit.guest_acknowledged": "Acknowledged the privacy notice of a video visit as a guest",
    "visit.guest_ticket": "Was let into a video visit as a guest",
    "visit.guest_join": "Joined the waiting room as a guest",
    "visit.guest_admit": "Was admitted to the visit as a guest",
    "visit.guest_deny": "Was turned away from the visit as a guest",
    "visit.guest_leave": "Left the visit as a guest",
    # Visit notes and reports
    "note.open": "Opened a visit note",
    "note.create": "Started a visit note",
    "note.read": "Viewed a visit note",
    "note.save": "Saved a visit note",
    "note.copy_forward": "Copied the last note forward",
    "note.sign": "Signed a visit note",
    "note.addendum": "Added an addendum to a note",
    "note.entered_in_error": "Marked a note as entered in error",
    "note.pdf": "Downloaded a note as PDF",
    "note.editor.open": "Opened the note editor",
    "note.exercises.read": "Viewed home exercises",
    "note.summary.read": "Viewed a visit summary",
    "note.summary.list": "Listed visit summaries",
    "note.history.read": "Viewed a patient's note history",
    "note.fhir.export": "Exported notes as FHIR",
    "note_template.update": "Changed a note template",
    "report.techniques.read": "Viewed the techniques report",
    "catalog.extend": "Added to the catalog",
    # The audit trail itself
    "audit.search": "Viewed the audit trail",
    "audit.export": "Downloaded the audit trail",
}

OUTCOME_LABELS: dict[str, str] = {
    "success": "Success",
    "denied": "Denied",
    "failure": "Failed",
}

ROLE_LABELS: dict[str, str] = {
    "patient": "Patient",
    "therapist": "Therapist",
    "admin": "Admin",
}

SIGNED_OUT = "Signed-out visitor"
SYSTEM = "System"


def action_label(code: str) -> str:
    """The plain name of an action code; an unknown code (an older release's) is shown as is."""
    return ACTION_LABELS.get(code, code)


def outcome_label(outcome: str) -> str:
    """Success, Denied or Failed."""
    return OUTCOME_LABELS.get(outcome, outcome)


def actor_label(role: str | None, *, has_request: bool) -> str:
    """The role in words, or who acted when nobody was signed in: a request without a session
    came from a signed-out visitor (a failed sign-in); no request at all is the system itself
    (the no-show pass, seeding)."""
    if role is None:
        return SIGNED_OUT if has_request else SYSTEM
    return ROLE_LABELS.get(role, role)
