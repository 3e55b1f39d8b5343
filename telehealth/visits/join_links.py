"""Join links: one message, one tap, and the patient is in her visit's waiting room.

A patient who forgot her password should still reach her visit. The visit's therapist or an
admin makes a link for one visit (a reminder carries it); it signs that patient in once and opens
that visit. It is single-use (a conditional UPDATE burns it, so two taps race to one session),
it ends when the visit's room closes, and it is refused when the visit is cancelled or the
patient deactivated. Only the token's hash is stored. Opening the link only shows a button: the
link is spent by pressing it (a POST), so a mail scanner that follows links cannot spend it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete, select, update

from telehealth.accounts.models import AuthSession, User
from telehealth.accounts.service import SignedIn, open_session
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, NotFound
from telehealth.scheduling.access import get_visible_appointment
from telehealth.scheduling.models import Appointment
from telehealth.tokens import hash_token, new_token
from telehealth.unit_of_work import Services, unit_of_work
from telehealth.visits import rules
from telehealth.visits.models import VisitJoinLink
from telehealth.visits.service import visit_facts

JOIN_PATH = "/join/"


@dataclass(frozen=True)
class JoinLink:
    """A new link: its token goes into the message once and is never stored."""

    token: str
    path: str
    appointment_id: uuid.UUID
    expires_at: datetime
    patient_name: str


@dataclass(frozen=True)
class Redeemed:
    """A link spent: the patient's new session and the visit to open."""

    signed_in: SignedIn
    appointment_id: uuid.UUID


async def create_join_link(
    services: Services, caller: Caller, appointment_id: uuid.UUID
) -> JoinLink:
    """A link for the visit's patient, made by the visit's therapist or an admin (404 for anyone
    else, as for any appointment they may not see); 409 when the visit cannot be joined."""
    async with unit_of_work(services, caller) as uow:
        appointment = await get_visible_appointment(uow.session, uow.actor, appointment_id)
        if not (uow.actor.is_admin or uow.actor.id == appointment.therapist_id):
            raise NotFound("No such appointment.")
        facts = visit_facts(appointment)
        if facts.modality != "virtual":
            raise Conflict("This visit is in the clinic, not by video.", code=ErrorCode.NOT_VIRTUAL)
        if facts.status not in rules.JOINABLE_STATUSES:
            raise Conflict(
                f"This visit is {facts.status.replace('_', ' ')}.", code=ErrorCode.VISIT_CLOSED
            )
        closes = rules.window(facts)[1]
        if uow.now >= closes:
            raise Conflict("The time for this visit has passed.", code=ErrorCode.TOO_LATE)
        token = new_token()
        uow.session.add(
            VisitJoinLink(
                token_hash=hash_token(token),
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                created_by=uow.actor.id,
                created_at=uow.now,
                expires_at=closes,
            )
        )
        uow.audit(
            AuditRecord(
                "visit.join_link_created",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
                details={"expires_at": closes.isoformat()},
            )
        )
        patient = await uow.session.get(User, appointment.patient_id)
        name = patient.display_name if patient is not None else ""
        return JoinLink(token, JOIN_PATH + token, appointment.id, closes, name)


async def join_link_is_live(services: Services, token: str) -> bool:
    """Whether a link could still be spent (for the page that offers the button)."""
    async with services.sessions() as session:
        found = await session.scalar(
            select(VisitJoinLink.token_hash).where(
                VisitJoinLink.token_hash == hash_token(token),
                VisitJoinLink.used_at.is_(None),
                VisitJoinLink.expires_at > services.clock.now(),
            )
        )
    return found is not None


async def redeem_join_link(
    services: Services, caller: Caller, token: str, replaces_token_hash: str | None
) -> Redeemed | None:
    """Spend a link: a new session for its patient and the visit to open; None (audited) when the
    link is unknown, used, expired, or its visit or patient can no longer be let in."""
    async with unit_of_work(services, caller) as uow:
        burned = await uow.session.execute(
            update(VisitJoinLink)
            .where(
                VisitJoinLink.token_hash == hash_token(token),
                VisitJoinLink.used_at.is_(None),
                VisitJoinLink.expires_at > uow.now,
            )
            .values(used_at=uow.now)
            .returning(VisitJoinLink.appointment_id, VisitJoinLink.patient_id)
        )
        row = burned.first()
        if row is None:
            uow.audit(AuditRecord("visit.join_link_refused", "appointment", outcome="denied"))
            return None
        appointment_id, patient_id = row
        appointment = await uow.session.get(Appointment, appointment_id)
        user = await uow.session.get(User, patient_id)
        reason = None
        if appointment is None or user is None:
            reason = "not_found"
        elif not user.is_active:
            reason = "inactive_user"
        elif appointment.status not in rules.JOINABLE_STATUSES:
            reason = "visit_closed"
        if reason is not None or user is None or appointment is None:
            uow.audit(
                AuditRecord(
                    "visit.join_link_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(appointment_id),
                    patient_id=patient_id,
                    details={"reason": reason},
                )
            )
            return None
        if replaces_token_hash is not None:
            # Whoever was signed in on this browser before: the link is the patient's.
            await uow.session.execute(
                delete(AuthSession).where(AuthSession.token_hash == replaces_token_hash)
            )
        signed_in = open_session(uow, user, services)
        uow.caller = replace(uow.caller, actor=signed_in.actor)
        uow.audit(
            AuditRecord(
                "login.success",
                "session",
                resource_id=str(user.id),
                details={"method": "join_link"},
            )
        )
        uow.audit(
            AuditRecord(
                "visit.join_link_used",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
            )
        )
        return Redeemed(signed_in, appointment.id)
