"""Guests of a video visit: a caregiver or interpreter the therapist or the patient invites.

An invitation is a capability bound to one visit: a random token shown once as a link
(`/guest/<token>`), only its hash stored. It lasts until the visit's room closes and ends at
once when revoked. A guest has no account: they acknowledge a privacy notice, check their
devices and wait in the waiting room like the patient, and the therapist admits them. At most
`rules.MAX_GUESTS` live invitations per visit; the invitation takes the appointment's row lock,
so two invitations racing for the last place queue and the second is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from telehealth.accounts.access import is_on_care_team
from telehealth.accounts.models import User
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, DomainError, NotFound
from telehealth.scheduling.access import get_visible_appointment
from telehealth.scheduling.models import Appointment
from telehealth.tokens import hash_token, new_token
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work
from telehealth.visits import rules
from telehealth.visits.models import VisitGuest
from telehealth.visits.service import AdmittedTicket, Ticket, visit_facts

GUEST_PATH = "/guest/"
# A token is 43 characters; anything much longer is not one, and is not even hashed.
MAX_TOKEN_LENGTH = 128


class GuestLinkGone(DomainError):
    """The invitation was revoked, or its visit is over or cancelled."""

    status = 410
    code = ErrorCode.GUEST_LINK_GONE


@dataclass(frozen=True)
class Invite:
    """One invitation as the visit's participants see it (never its token)."""

    id: uuid.UUID
    role: str
    display_name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def live(self) -> bool:
        """Not revoked (expiry is the room's close, shown beside it)."""
        return self.revoked_at is None


@dataclass(frozen=True)
class NewInvite:
    """A new invitation: its token goes into the link once and is never stored."""

    invite: Invite
    token: str
    path: str


@dataclass(frozen=True)
class GuestList:
    """A visit's invitations, for its therapist or patient."""

    appointment: Appointment
    role: str
    patient_name: str
    therapist_name: str
    invites: list[Invite]
    closes_at: datetime

    @property
    def may_invite(self) -> bool:
        """Whether another guest fits."""
        return sum(1 for i in self.invites if i.live) < rules.MAX_GUESTS


@dataclass(frozen=True)
class GuestView:
    """What a guest's own pages show: who they are and which visit."""

    guest_id: uuid.UUID
    appointment: Appointment
    display_name: str
    role: str
    therapist_name: str
    patient_name: str
    acknowledged: bool
    opens_at: datetime
    closes_at: datetime


def _invite(row: VisitGuest) -> Invite:
    return Invite(
        row.id, row.role, row.display_name, row.created_at, row.expires_at, row.revoked_at
    )


async def _names(uow: UnitOfWork, appointment: Appointment) -> dict[uuid.UUID, str]:
    rows = await uow.session.execute(
        select(User.id, User.display_name).where(
            User.id.in_([appointment.patient_id, appointment.therapist_id])
        )
    )
    return {user_id: name for user_id, name in rows.all()}


async def _participant_visit(
    uow: UnitOfWork, appointment_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Appointment, str]:
    # Only the visit's own therapist and patient manage its guests; an admin, who may see the
    # appointment, gets 404 like anyone else.
    appointment = await get_visible_appointment(
        uow.session, uow.actor, appointment_id, for_update=for_update
    )
    return appointment, rules.role_in_visit(visit_facts(appointment), uow.actor.id)


async def _invites_of(uow: UnitOfWork, appointment_id: uuid.UUID) -> list[Invite]:
    rows = await uow.session.scalars(
        select(VisitGuest)
        .where(VisitGuest.appointment_id == appointment_id)
        .order_by(VisitGuest.created_at, VisitGuest.id)
    )
    return [_invite(row) for row in rows.all()]


async def list_invites(services: Services, caller: Caller, appointment_id: uuid.UUID) -> GuestList:
    """A visit's invitations (404 for anyone but its therapist and patient)."""
    async with unit_of_work(services, caller) as uow:
        appointment, role = await _participant_visit(uow, appointment_id)
        names = await _names(uow, appointment)
        invites = await _invites_of(uow, appointment.id)
        uow.audit(
            AuditRecord(
                "visit.guest_list",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
            )
        )
        return GuestList(
            appointment,
            role,
            names.get(appointment.patient_id, ""),
            names.get(appointment.therapist_id, ""),
            invites,
            rules.window(visit_facts(appointment))[1],
        )


async def create_invite(
    services: Services, caller: Caller, appointment_id: uuid.UUID, role: str, display_name: str
) -> NewInvite:
    """Invite a guest (the visit's therapist or patient); 409 for a third guest or a visit that
    can no longer be joined."""
    async with unit_of_work(services, caller) as uow:
        # The row lock queues two invitations of one visit, so the count below cannot be stale
        # (SQLite: BEGIN IMMEDIATE already serializes writers).
        appointment, _ = await _participant_visit(uow, appointment_id, for_update=True)
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
        live = await uow.session.scalar(
            select(func.count())
            .select_from(VisitGuest)
            .where(VisitGuest.appointment_id == appointment.id, VisitGuest.revoked_at.is_(None))
        )
        try:
            rules.check_may_invite(int(live or 0))
        except Conflict:
            uow.audit(
                AuditRecord(
                    "visit.guest_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(appointment.id),
                    patient_id=appointment.patient_id,
                    details={"reason": "too_many_guests"},
                )
            )
            raise
        token = new_token()
        row = VisitGuest(
            appointment_id=appointment.id,
            token_hash=hash_token(token),
            role=role,
            display_name=display_name,
            created_by=uow.actor.id,
            created_at=uow.now,
            expires_at=closes,
        )
        uow.session.add(row)
        await uow.session.flush()
        uow.audit(
            AuditRecord(
                "visit.guest_invited",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
                details={"guest_id": str(row.id), "role": role, "expires_at": closes.isoformat()},
            )
        )
        return NewInvite(_invite(row), token, GUEST_PATH + token)


@dataclass(frozen=True)
class RevokedGuest:
    """An invitation revoked: the room to take its guest out of."""

    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    guest_id: uuid.UUID
    display_name: str


async def revoke_invite(
    services: Services, caller: Caller, appointment_id: uuid.UUID, guest_id: uuid.UUID
) -> RevokedGuest:
    """Revoke an invitation of the visit (its therapist or patient); revoking twice changes
    nothing. The caller then takes the guest out of the room (`revocation.remove_guest`)."""
    async with unit_of_work(services, caller) as uow:
        appointment, _ = await _participant_visit(uow, appointment_id)
        row = await uow.session.scalar(
            select(VisitGuest).where(
                VisitGuest.id == guest_id, VisitGuest.appointment_id == appointment.id
            )
        )
        if row is None:
            raise NotFound("No such guest.")
        if row.revoked_at is None:
            await uow.session.execute(
                update(VisitGuest)
                .where(VisitGuest.id == row.id, VisitGuest.revoked_at.is_(None))
                .values(revoked_at=uow.now, revoked_by=uow.actor.id, ticket_hash=None)
            )
            uow.audit(
                AuditRecord(
                    "visit.guest_revoked",
                    "appointment",
                    resource_id=str(appointment.id),
                    patient_id=appointment.patient_id,
                    details={"guest_id": str(row.id)},
                )
            )
        return RevokedGuest(appointment.id, appointment.patient_id, row.id, row.display_name)


# --- the guest's side ----------------------------------------------------------------------------


async def _live_guest(uow: UnitOfWork, token: str, *, for_ticket: bool = False) -> VisitGuest:
    """The invitation of a token: 404 unknown, 410 revoked, expired or its visit closed."""
    row = (
        await uow.session.scalar(
            select(VisitGuest).where(VisitGuest.token_hash == hash_token(token))
        )
        if token and len(token) <= MAX_TOKEN_LENGTH
        else None
    )
    if row is None:
        uow.audit(
            AuditRecord(
                "visit.guest_refused",
                "appointment",
                outcome="denied",
                details={"reason": "unknown"},
            )
        )
        raise NotFound("No such invitation.")
    appointment = await uow.session.get(Appointment, row.appointment_id)
    reason = None
    if row.revoked_at is not None:
        reason = "revoked"
    elif uow.now >= _closes(row, appointment):
        reason = "expired"
    elif appointment is None or appointment.status not in rules.JOINABLE_STATUSES:
        reason = "visit_closed"
    if reason is not None:
        uow.audit(
            AuditRecord(
                "visit.guest_refused",
                "appointment",
                outcome="denied",
                resource_id=str(row.appointment_id),
                patient_id=appointment.patient_id if appointment is not None else None,
                details={"guest_id": str(row.id), "reason": reason},
            )
        )
        raise GuestLinkGone(
            "This invitation has ended: it was revoked, or the visit is over. "
            "Please ask the person who invited you."
        )
    return row


async def _guest_view(uow: UnitOfWork, row: VisitGuest) -> GuestView:
    appointment = await uow.session.get(Appointment, row.appointment_id)
    if appointment is None:  # pragma: no cover - the foreign key cascades
        raise NotFound("No such invitation.")
    names = await _names(uow, appointment)
    opens, closes = rules.window(visit_facts(appointment))
    return GuestView(
        guest_id=row.id,
        appointment=appointment,
        display_name=row.display_name,
        role=row.role,
        therapist_name=names.get(appointment.therapist_id, ""),
        patient_name=names.get(appointment.patient_id, ""),
        acknowledged=row.acknowledged_at is not None,
        opens_at=opens,
        closes_at=closes,
    )


async def open_invite(services: Services, caller: Caller, token: str) -> GuestView:
    """The invitation a guest's link names (404 unknown; 410 revoked, expired, visit closed)."""
    async with unit_of_work(services, caller) as uow:
        row = await _live_guest(uow, token)
        view = await _guest_view(uow, row)
        uow.audit(
            AuditRecord(
                "visit.guest_opened",
                "appointment",
                resource_id=str(row.appointment_id),
                patient_id=view.appointment.patient_id,
                details={"guest_id": str(row.id)},
            )
        )
        return view


async def acknowledge_notice(services: Services, caller: Caller, token: str) -> GuestView:
    """The guest read the privacy notice (once; again changes nothing)."""
    async with unit_of_work(services, caller) as uow:
        row = await _live_guest(uow, token)
        if row.acknowledged_at is None:
            row.acknowledged_at = uow.now
            uow.audit(
                AuditRecord(
                    "visit.guest_acknowledged",
                    "appointment",
                    resource_id=str(row.appointment_id),
                    details={"guest_id": str(row.id)},
                )
            )
        return await _guest_view(uow, row)


@dataclass(frozen=True)
class GuestTicket:
    """A guest's ticket and the room it opens."""

    ticket: Ticket
    appointment_id: uuid.UUID


async def issue_guest_ticket(services: Services, caller: Caller, token: str) -> GuestTicket:
    """A single-use, 60-second ticket for the guest's WebSocket hello, inside the visit window,
    once the privacy notice is acknowledged. A newer ticket replaces an unused older one."""
    async with unit_of_work(services, caller) as uow:
        row = await _live_guest(uow, token)
        if row.acknowledged_at is None:
            raise Conflict(
                "Please read and acknowledge the privacy notice first.",
                code=ErrorCode.NOTICE_REQUIRED,
            )
        appointment = await uow.session.get(Appointment, row.appointment_id)
        if appointment is None:  # pragma: no cover - the foreign key cascades
            raise NotFound("No such invitation.")
        rules.check_joinable(visit_facts(appointment), uow.now)
        if not await is_on_care_team(uow.session, appointment.therapist_id, appointment.patient_id):
            raise Conflict(
                "The therapist of this visit is no longer on the patient's care team.",
                code=ErrorCode.NOT_ON_CARE_TEAM,
            )
        ticket = rules.GUEST_TICKET_PREFIX + new_token()
        expires_at = uow.now + rules.TICKET_LIFETIME
        row.ticket_hash = hash_token(ticket)
        row.ticket_expires_at = expires_at
        uow.audit(
            AuditRecord(
                "visit.guest_ticket",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
                details={"guest_id": str(row.id)},
            )
        )
        return GuestTicket(Ticket(ticket, expires_at, "guest"), appointment.id)


def _closes(row: VisitGuest, appointment: Appointment | None) -> datetime:
    """When an invitation ends: when the visit's room closes now. A visit moved after the
    invitation carries it along; `expires_at` is the close as it stood when invited."""
    if appointment is None:
        return row.expires_at
    return rules.window(visit_facts(appointment))[1]


async def redeem_guest_ticket(
    services: Services, ticket: str, appointment_id: uuid.UUID | None, ip: str = "signaling"
) -> AdmittedTicket | None:
    """Burn a guest's ticket and say whom it admits; None (audited) when unknown, used, expired,
    revoked, or outside the visit's window. A ticket for another room than `appointment_id`
    stays unused."""
    now = services.clock.now()
    conditions = [
        VisitGuest.ticket_hash == hash_token(ticket),
        VisitGuest.ticket_expires_at > now,
        VisitGuest.revoked_at.is_(None),
    ]
    if appointment_id is not None:
        conditions.append(VisitGuest.appointment_id == appointment_id)
    async with unit_of_work(services, Caller(actor=None, ip=ip)) as uow:
        # The conditional UPDATE makes the ticket single-use even when two sockets race with it.
        burned = await uow.session.execute(
            update(VisitGuest)
            .where(*conditions)
            .values(ticket_hash=None, ticket_expires_at=None)
            .returning(
                VisitGuest.id, VisitGuest.appointment_id, VisitGuest.display_name, VisitGuest.role
            )
        )
        row = burned.first()
        if row is None:
            uow.audit(AuditRecord("visit.ticket_refused", "appointment", outcome="denied"))
            return None
        guest_id, room, name, role = row
        appointment = await uow.session.get(Appointment, room)
        refused = appointment is None or not await is_on_care_team(
            uow.session, appointment.therapist_id, appointment.patient_id
        )
        if appointment is not None and not refused:
            try:
                rules.check_joinable(visit_facts(appointment), now)
            except Conflict:
                refused = True
        if refused or appointment is None:
            uow.audit(
                AuditRecord(
                    "visit.ticket_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(room),
                    patient_id=appointment.patient_id if appointment is not None else None,
                    details={"guest_id": str(guest_id)},
                )
            )
            return None
        return AdmittedTicket(
            appointment_id=appointment.id,
            user_id=guest_id,
            display_name=rules.guest_label(name, role),
            role="guest",
            window_end=rules.window(visit_facts(appointment))[1],
        )


async def may_resume_guest(
    services: Services, appointment_id: uuid.UUID, guest_id: uuid.UUID
) -> bool:
    """Whether a guest's session may be resumed: the invitation is this visit's and still live."""
    async with unit_of_work(services, Caller(actor=None, ip="signaling")) as uow:
        row = await uow.session.get(VisitGuest, guest_id)
        appointment = await uow.session.get(Appointment, appointment_id)
        allowed = (
            row is not None
            and row.appointment_id == appointment_id
            and row.revoked_at is None
            and uow.now < _closes(row, appointment)
        )
        if not allowed:
            uow.audit(
                AuditRecord(
                    "visit.resume_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(appointment_id),
                    details={"guest_id": str(guest_id)},
                )
            )
        return allowed


async def record_guest_event(
    services: Services, event: str, appointment_id: uuid.UUID, guest_id: uuid.UUID
) -> None:
    """Audit a guest's room event; a guest never moves the appointment along."""
    async with unit_of_work(services, Caller(actor=None, ip="signaling")) as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        if appointment is None:
            return
        uow.audit(
            AuditRecord(
                f"visit.guest_{event}",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
                details={"guest_id": str(guest_id)},
            )
        )


async def record_guest_removed(services: Services, caller: Caller, revoked: RevokedGuest) -> None:
    """Audit a revoked guest's session closed in the room."""
    async with unit_of_work(services, caller) as uow:
        uow.audit(
            AuditRecord(
                "visit.access_revoked",
                "appointment",
                resource_id=str(revoked.appointment_id),
                patient_id=revoked.patient_id,
                details={"guest_id": str(revoked.guest_id), "reason": "guest_revoked"},
            )
        )
