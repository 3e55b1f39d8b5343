"""When a person's access ends, the features holding live access of their own are told.

Accounts ends the access (deactivation, every session ended, removal from a care team) and, after
its transaction has committed, calls the hook on `ACCESS_ENDED`; the visits feature registers it
at start-up and closes the person's visit sockets and drops their unused visit tickets. Neither
feature imports the other (the layering contracts forbid the cycle accounts -> visits ->
scheduling -> accounts).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Protocol

from aiohttp import web

from telehealth.actors import Caller


class Reason(StrEnum):
    """Why a person's access ended (the `reason` of the audit rows it causes)."""

    DEACTIVATED = "deactivated"
    SESSIONS_ENDED = "sessions_ended"
    CARE_TEAM_REMOVED = "care_team_removed"


class AccessEnded(Protocol):
    """Take `user_id` out of what they still hold; with `partner_id`, only what the two share.

    Called after the commit that ended the access; never raises (the access has already ended).
    """

    async def __call__(
        self,
        app: web.Application,
        caller: Caller,
        user_id: uuid.UUID,
        reason: Reason,
        partner_id: uuid.UUID | None = None,
    ) -> int: ...


ACCESS_ENDED = web.AppKey[AccessEnded]("access_ended", AccessEnded)


async def announce_access_ended(
    app: web.Application,
    caller: Caller,
    user_id: uuid.UUID,
    reason: Reason,
    partner_id: uuid.UUID | None = None,
) -> int:
    """Tell the registered hook, after the commit; returns how many live accesses it closed."""
    hook = app.get(ACCESS_ENDED)
    if hook is None:
        return 0
    return await hook(app, caller, user_id, reason, partner_id)
