"""When a visit's note may be signed: pure rules over the visit's status, modality and time.

A note records care that was given, so it is signed only once the visit has begun:

* a video visit (any modality but in-clinic) once the patient has checked in, i.e. the visit is
  ``checked_in``, ``in_progress`` or ``completed``: the check-in is the app's proof of arrival;
* an in-clinic visit also once its start time has passed, because the front desk does not always
  check people in on the system while the patient is already on the table.

A cancelled or missed (no-show) visit was not held: its draft stays as it was, visible to its
therapist, and is never signed (``visit_not_held``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict

IN_CLINIC: Final = "in_clinic"
STARTED_STATUSES: Final = frozenset({"checked_in", "in_progress", "completed"})
NOT_HELD_STATUSES: Final = frozenset({"cancelled", "no_show"})

# Error codes of the signing rule (listed on the sign operation in the OpenAPI document).
VISIT_NOT_STARTED: Final = ErrorCode.VISIT_NOT_STARTED
VISIT_NOT_HELD: Final = ErrorCode.VISIT_NOT_HELD


def visit_started(modality: str, status: str, start: datetime, now: datetime) -> bool:
    """Whether the visit has begun, as far as signing its note is concerned."""
    if status in NOT_HELD_STATUSES:
        return False
    if status in STARTED_STATUSES:
        return True
    return modality == IN_CLINIC and now >= start


def require_signable_visit(modality: str, status: str, start: datetime, now: datetime) -> None:
    """Raise Conflict unless the visit has begun and was not cancelled or missed."""
    if status in NOT_HELD_STATUSES:
        raise Conflict(
            f"This visit was {'cancelled' if status == 'cancelled' else 'missed'}; "
            "its draft stays as it is and cannot be signed.",
            code=VISIT_NOT_HELD,
            details={"status": status},
        )
    if not visit_started(modality, status, start, now):
        when = (
            "once its start time has passed"
            if modality == IN_CLINIC
            else "once the patient has checked in"
        )
        raise Conflict(
            f"This visit has not started yet; its note can be signed {when}.",
            code=VISIT_NOT_STARTED,
            details={"status": status, "modality": modality, "start": start.isoformat()},
        )
