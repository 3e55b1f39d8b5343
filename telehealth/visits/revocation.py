"""Taking people out of live visits when their access ends (deactivation, sign-out everywhere,
removal from a care team).

Called by the handler after the transaction that ended the access has committed: the change is
in the database before any socket closes, and a failure here (Redis down, say) leaves it in
place and is logged. Whatever this misses, the database still refuses: a new ticket and every
resume are checked against the person's current state (`service.redeem_ticket`,
`service.may_resume`).
"""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from signaling import SIGNALING_HUB
from telehealth.access_ended import ACCESS_ENDED, Reason
from telehealth.actors import Caller
from telehealth.http.keys import SERVICES
from telehealth.visits import guests, rules, service

log = logging.getLogger(__name__)


async def revoke_visit_access(
    app: web.Application,
    caller: Caller,
    user_id: uuid.UUID,
    reason: Reason,
    partner_id: uuid.UUID | None = None,
) -> int:
    """Close `user_id`'s visit sockets on every instance and end those sessions; with
    `partner_id`, only the rooms the two share, and both people's sockets in them.

    Each closed session is audited as `visit.access_revoked`. Returns how many were closed;
    never raises (the access has already ended in the database).
    """
    services = app[SERVICES]
    try:
        if reason is Reason.SESSIONS_ENDED:
            # The account stays active, so a ticket fetched by an ended session would still be
            # honoured: it goes. (A deactivated person's or a removed pair's ticket is refused
            # when presented, and that refusal is audited.)
            await service.drop_unused_tickets(services, user_id)
        rooms = await service.rooms_of(services, user_id, partner_id)
        people = [user_id] if partner_id is None else [user_id, partner_id]
        hub = app[SIGNALING_HUB]
        closed: list[tuple[service.VisitRoom, uuid.UUID]] = []
        for room in rooms:
            for person in people:
                if await hub.revoke(str(room.appointment_id), str(person)) is not None:
                    closed.append((room, person))
        if closed:
            await service.record_revocations(services, caller, closed, reason.value)
        return len(closed)
    except Exception:
        log.exception("visit access of %s (%s) could not be revoked", user_id, reason.value)
        return 0


async def remove_guest(app: web.Application, caller: Caller, revoked: guests.RevokedGuest) -> bool:
    """Take a guest whose invitation was just revoked out of the visit room (on whichever
    instance holds their socket), audited as `visit.access_revoked`; never raises (the
    invitation is already revoked, and a ticket or resume of it is refused)."""
    try:
        hub = app[SIGNALING_HUB]
        closed = await hub.revoke(
            str(revoked.appointment_id), rules.guest_user_id(revoked.guest_id)
        )
        if closed is not None:
            await guests.record_guest_removed(app[SERVICES], caller, revoked)
        return closed is not None
    except Exception:
        log.exception("guest %s could not be taken out of the visit", revoked.guest_id)
        return False


def setup_revocation(app: web.Application) -> None:
    """Register the hook accounts calls when a person's access ends."""
    app[ACCESS_ENDED] = revoke_visit_access
