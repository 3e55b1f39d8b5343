"""Every machine-readable code an error answer can carry, in one place.

Clients branch on `error.code`, so a code is part of the API: it is named here, described here,
and listed in the OpenAPI document (the `code` of `ErrorDetail` is this enumeration). A code
spelled inline elsewhere does not type-check (`DomainError` takes an `ErrorCode`).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The codes of the error shape `{"error": {"code", "message", "details", "request_id"}}`."""

    # --- any request ------------------------------------------------------------------------
    BAD_REQUEST = "bad_request"
    MALFORMED_JSON = "malformed_json"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_BODY = "invalid_body"
    INVALID_INPUT = "invalid_input"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    HTTP_ERROR = "http_error"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    BUSY_RETRY = "busy_retry"
    TOO_MANY_REQUESTS = "too_many_requests"
    # --- who is asking ----------------------------------------------------------------------
    NOT_AUTHENTICATED = "not_authenticated"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an error code, not a secret
    INVALID_CREDENTIALS = "invalid_credentials"
    LOGIN_LOCKED = "login_locked"
    CURRENT_PASSWORD_WRONG = "current_password_wrong"  # noqa: S105 - an error code, not a secret
    RESET_LINK_DEAD = "reset_link_dead"
    CSRF_FAILED = "csrf_failed"
    PERMISSION_DENIED = "permission_denied"
    # --- people -----------------------------------------------------------------------------
    EMAIL_TAKEN = "email_taken"
    SELF_DEACTIVATION = "self_deactivation"
    # --- scheduling -------------------------------------------------------------------------
    TYPE_EXISTS = "type_exists"
    CLOSURE_EXISTS = "closure_exists"
    TOO_SOON = "too_soon"
    BEYOND_HORIZON = "beyond_horizon"
    SLOT_TAKEN = "slot_taken"
    OUTSIDE_AVAILABILITY = "outside_availability"
    THERAPIST_BUSY = "therapist_busy"
    PATIENT_BUSY = "patient_busy"
    SERIES_CONFLICTS = "series_conflicts"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IN_PROGRESS = "in_progress"
    STALE_VERSION = "stale_version"
    ILLEGAL_TRANSITION = "illegal_transition"
    TOO_LATE = "too_late"
    NOTE_SIGNED = "note_signed"
    OUTSIDE_PLAN = "outside_plan"
    PROGRESS_REPORT_DUE = "progress_report_due"
    # --- video visits -----------------------------------------------------------------------
    NOT_VIRTUAL = "not_virtual"
    VISIT_CLOSED = "visit_closed"
    TOO_EARLY = "too_early"
    NOT_ON_CARE_TEAM = "not_on_care_team"
    CONSENT_REQUIRED = "consent_required"
    CONSENT_OUTDATED = "consent_outdated"
    TOO_MANY_GUESTS = "too_many_guests"
    GUEST_LINK_GONE = "guest_link_gone"
    NOTICE_REQUIRED = "notice_required"
    # --- visit notes ------------------------------------------------------------------------
    VISIT_NOT_STARTED = "visit_not_started"
    VISIT_NOT_HELD = "visit_not_held"
    NOTE_LOCKED = "note_locked"
    NOTE_NOT_SIGNED = "note_not_signed"
    NOTE_UNVERIFIED = "note_unverified"
    ALREADY_ENTERED_IN_ERROR = "already_entered_in_error"
    DRAFT_NOT_EMPTY = "draft_not_empty"
    NOTHING_TO_COPY = "nothing_to_copy"
    CATALOG_CHANGED = "catalog_changed"


DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "400: the request cannot be understood.",
    ErrorCode.MALFORMED_JSON: "400: the body is not valid JSON.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "415: the body is not application/json.",
    ErrorCode.INVALID_BODY: "400: a form body that cannot be read (bad encoding, NUL bytes).",
    ErrorCode.INVALID_INPUT: "422: a field breaks a rule; `details` lists each field.",
    ErrorCode.PAYLOAD_TOO_LARGE: "413: the body is larger than the server accepts.",
    ErrorCode.METHOD_NOT_ALLOWED: "405: the path exists, the method does not (see `Allow`).",
    ErrorCode.NOT_FOUND: "404: no such object, or not one the caller may see.",
    ErrorCode.CONFLICT: "409: the request collides with the current state.",
    ErrorCode.HTTP_ERROR: "Another HTTP error of the server (its status says which).",
    ErrorCode.INTERNAL_ERROR: "500: a fault of the service; quote `request_id` to the clinic.",
    ErrorCode.SERVICE_UNAVAILABLE: "503: the service cannot answer now; retry after `Retry-After`.",
    ErrorCode.DATABASE_UNAVAILABLE: "503: the database is not answering or is busy; nothing was saved.",
    ErrorCode.BUSY_RETRY: "409: many people changed the same schedule at once; try again.",
    ErrorCode.TOO_MANY_REQUESTS: "429: a rate limit applies; retry after `Retry-After`.",
    ErrorCode.NOT_AUTHENTICATED: "401: no valid session or bearer token.",
    ErrorCode.INVALID_TOKEN: "401: the bearer token is unknown or has expired.",
    ErrorCode.INVALID_CREDENTIALS: "401: the email or password is wrong.",
    ErrorCode.LOGIN_LOCKED: "429: too many failed sign-ins; retry after `Retry-After`.",
    ErrorCode.CURRENT_PASSWORD_WRONG: (
        "403: the current password given to change it is wrong; it counts as a failed sign-in."
    ),
    ErrorCode.RESET_LINK_DEAD: (
        "410: the password reset link was used or has expired (404: it never was one); "
        "ask for a new one."
    ),
    ErrorCode.CSRF_FAILED: "403: the CSRF token or the Origin of a session-cookie request is wrong.",
    ErrorCode.PERMISSION_DENIED: "403: the caller's role may not do this at all.",
    ErrorCode.EMAIL_TAKEN: "409: an account with that email exists.",
    ErrorCode.SELF_DEACTIVATION: "409: an admin cannot deactivate their own account.",
    ErrorCode.TYPE_EXISTS: "409: an appointment type with that key exists.",
    ErrorCode.CLOSURE_EXISTS: "409: the clinic is already closed that day.",
    ErrorCode.TOO_SOON: "409: the slot starts before the booking notice allows.",
    ErrorCode.BEYOND_HORIZON: "409: the slot is further ahead than booking opens.",
    ErrorCode.SLOT_TAKEN: "409: someone booked an overlapping time first.",
    ErrorCode.OUTSIDE_AVAILABILITY: "409: the therapist does not work at that time.",
    ErrorCode.PROGRESS_REPORT_DUE: (
        "409: this daily note would be the 10th treatment day of its episode without a progress"
        " report; sign it as a progress note (PROGRESS_REPORT_BLOCKS_DAILY_NOTES)."
    ),
    ErrorCode.OUTSIDE_PLAN: (
        "409: patients book this type only within an active plan of care; `details.reason` says"
        " why not this time: `no_plan`, `lapsed` or `frequency` (the week's visits are taken)."
    ),
    ErrorCode.THERAPIST_BUSY: "409: the therapist has another visit at that time.",
    ErrorCode.PATIENT_BUSY: "409: the patient has another visit at that time.",
    ErrorCode.SERIES_CONFLICTS: "409: some visits of a series collide; `details` lists them.",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "422: an Idempotency-Key was sent again with another body.",
    ErrorCode.IN_PROGRESS: "409: the same idempotent request is still being processed.",
    ErrorCode.STALE_VERSION: "409: the object changed since it was read; reload and retry.",
    ErrorCode.ILLEGAL_TRANSITION: "409: the visit's status does not allow this step.",
    ErrorCode.TOO_LATE: "409: the time for this change or visit has passed.",
    ErrorCode.NOTE_SIGNED: "409: the visit's note is signed, so the visit can no longer change.",
    ErrorCode.NOT_VIRTUAL: "409: the visit is in the clinic, not by video.",
    ErrorCode.VISIT_CLOSED: "409: the visit is cancelled, missed or over.",
    ErrorCode.TOO_EARLY: "409: the visit's room is not open yet.",
    ErrorCode.NOT_ON_CARE_TEAM: "409: the therapist is not on the patient's care team.",
    ErrorCode.CONSENT_REQUIRED: "409: the patient has not accepted the telehealth consent.",
    ErrorCode.CONSENT_OUTDATED: "409: the consent text changed since the patient accepted it.",
    ErrorCode.TOO_MANY_GUESTS: "409: the visit already has its two guests; revoke one first.",
    ErrorCode.GUEST_LINK_GONE: (
        "410: the guest link was revoked or its visit is over (404: it never was one)."
    ),
    ErrorCode.NOTICE_REQUIRED: "409: the guest has not acknowledged the privacy notice yet.",
    ErrorCode.VISIT_NOT_STARTED: "409: the visit has not started, so it takes no note yet.",
    ErrorCode.VISIT_NOT_HELD: "409: the visit was cancelled or missed; it takes no note.",
    ErrorCode.NOTE_LOCKED: "409: the note is signed and locked; add an addendum instead.",
    ErrorCode.NOTE_NOT_SIGNED: "409: only a signed note takes this (an addendum, an error mark).",
    ErrorCode.NOTE_UNVERIFIED: "409: the signed note fails its integrity check.",
    ErrorCode.ALREADY_ENTERED_IN_ERROR: "409: the note is already marked as entered in error.",
    ErrorCode.DRAFT_NOT_EMPTY: "409: copying forward would overwrite a draft with content.",
    ErrorCode.NOTHING_TO_COPY: "409: no earlier signed note to copy from.",
    ErrorCode.CATALOG_CHANGED: "409: a technique or diagnosis is no longer in the catalog.",
}
