"""Visit services: consent, join tickets, admission of a ticket by the signaling server, visit events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from telehealth.accounts.access import is_on_care_team
from telehealth.accounts.models import User
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput
from telehealth.scheduling import lifecycle
from telehealth.scheduling import service as scheduling
from telehealth.scheduling.access import get_visible_appointment
from telehealth.scheduling.models import Appointment
from telehealth.tokens import hash_token, new_token
from telehealth.unit_of_work import Services, UnitOfWork, retrying, unit_of_work
from telehealth.visits import rules
from telehealth.visits.models import TelehealthConsent, VisitTicket


def visit_facts(appointment: Appointment) -> rules.VisitFacts:
    """What the visit rules need to know of an appointment."""
    return rules.VisitFacts(
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        therapist_id=appointment.therapist_id,
        modality=appointment.modality,
        status=appointment.status,
        start_at=appointment.start_at,
        end_at=appointment.end_at,
    )


# --- consent -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentStatus:
    """The consent a patient must accept, and whether they have."""

    text: rules.ConsentText
    accepted_at: datetime | None


async def _accepted_at(uow: UnitOfWork, patient_id: uuid.UUID, version: str) -> datetime | None:
    return await uow.session.scalar(
        select(TelehealthConsent.accepted_at).where(
            TelehealthConsent.patient_id == patient_id, TelehealthConsent.version == version
        )
    )


async def consent_status(services: Services, caller: Caller) -> ConsentStatus:
    """The current consent text and when the signed-in patient accepted it (None: not yet)."""
    async with unit_of_work(services, caller) as uow:
        text = rules.CURRENT_CONSENT
        accepted = (
            await _accepted_at(uow, uow.actor.id, text.version) if uow.actor.is_patient else None
        )
        return ConsentStatus(text, accepted)


async def accept_consent(services: Services, caller: Caller, version: str) -> ConsentStatus:
    """Record that the signed-in patient accepts the current consent (idempotent)."""
    async with unit_of_work(services, caller) as uow:
        actor = uow.actor
        if not actor.is_patient:
            raise InvalidInput("Only patients give telehealth consent.")
        current = rules.CURRENT_CONSENT
        if version != current.version:
            raise Conflict(
                "The consent text has changed; please read the new version.",
                code=ErrorCode.CONSENT_OUTDATED,
                details={"current_version": current.version},
            )
        accepted = await _accepted_at(uow, actor.id, version)
        if accepted is None:
            accepted = uow.now
            uow.session.add(
                TelehealthConsent(
                    patient_id=actor.id,
                    version=version,
                    accepted_at=accepted,
                    ip=uow.caller.ip[:64],
                    user_agent=uow.caller.user_agent[:256],
                )
            )
            uow.audit(
                AuditRecord("consent.accept", "consent", resource_id=version, patient_id=actor.id)
            )
        return ConsentStatus(current, accepted)


# --- tickets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    """A join ticket: hand it to the browser once; it works for one WebSocket hello."""

    token: str
    expires_at: datetime
    role: str


@dataclass(frozen=True)
class VisitView:
    """What the visit page needs to know."""

    appointment: Appointment
    role: str
    patient_name: str
    therapist_name: str
    opens_at: datetime
    closes_at: datetime
    consent_needed: bool


async def _load_for_participant(
    uow: UnitOfWork, appointment_id: uuid.UUID
) -> tuple[Appointment, str]:
    # Admins may see appointments, but only the visit's own patient and therapist enter the room.
    appointment = await get_visible_appointment(uow.session, uow.actor, appointment_id)
    role = rules.role_in_visit(visit_facts(appointment), uow.actor.id)
    return appointment, role


async def visit_view(services: Services, caller: Caller, appointment_id: uuid.UUID) -> VisitView:
    """The visit as its participant sees it (404 for anyone else)."""
    async with unit_of_work(services, caller) as uow:
        appointment, role = await _load_for_participant(uow, appointment_id)
        names = dict(
            (
                await uow.session.execute(
                    select(User.id, User.display_name).where(
                        User.id.in_([appointment.patient_id, appointment.therapist_id])
                    )
                )
            ).all()
        )
        consent_needed = role == "guest" and (
            await _accepted_at(uow, appointment.patient_id, rules.CURRENT_CONSENT.version) is None
        )
        opens, closes = rules.window(visit_facts(appointment))
        uow.audit(
            AuditRecord(
                "visit.view",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
            )
        )
        return VisitView(
            appointment=appointment,
            role=role,
            patient_name=names.get(appointment.patient_id, ""),
            therapist_name=names.get(appointment.therapist_id, ""),
            opens_at=opens,
            closes_at=closes,
            consent_needed=consent_needed,
        )


async def issue_ticket(services: Services, caller: Caller, appointment_id: uuid.UUID) -> Ticket:
    """A single-use, short-lived ticket for the visit's patient or therapist, inside its window."""
    return await retrying(lambda: _issue_ticket_once(services, caller, appointment_id))


async def _issue_ticket_once(
    services: Services, caller: Caller, appointment_id: uuid.UUID
) -> Ticket:
    # The ticket insert share-locks its appointment row; trail.append flushes it before taking the
    # audit chain's lock, so a check-in holding that row never waits on us while we wait on it.
    async with unit_of_work(services, caller) as uow:
        appointment, role = await _load_for_participant(uow, appointment_id)
        rules.check_joinable(visit_facts(appointment), uow.now)
        if not await is_on_care_team(uow.session, appointment.therapist_id, appointment.patient_id):
            # Removing a therapist from the care team ends the pair's video visits.
            raise Conflict(
                "The therapist of this visit is no longer on the patient's care team.",
                code=ErrorCode.NOT_ON_CARE_TEAM,
            )
        if role == "guest" and (
            await _accepted_at(uow, appointment.patient_id, rules.CURRENT_CONSENT.version) is None
        ):
            raise Conflict(
                "Please read and accept the telehealth consent first.",
                code=ErrorCode.CONSENT_REQUIRED,
            )
        token = new_token()
        expires_at = uow.now + rules.TICKET_LIFETIME
        uow.session.add(
            VisitTicket(
                token_hash=hash_token(token),
                appointment_id=appointment.id,
                user_id=uow.actor.id,
                role=role,
                issued_at=uow.now,
                expires_at=expires_at,
            )
        )
        uow.audit(
            AuditRecord(
                "visit.ticket",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
                details={"role": role},
            )
        )
        return Ticket(token, expires_at, role)


@dataclass(frozen=True)
class AdmittedTicket:
    """A ticket the signaling server may accept."""

    appointment_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    role: str
    window_end: datetime


async def redeem_ticket(
    services: Services,
    token: str,
    appointment_id: uuid.UUID | None = None,
    ip: str = "signaling",
) -> AdmittedTicket | None:
    """Burn a ticket and say who it admits; None when unknown, used, expired or outside the window.

    With `appointment_id` (the room in the socket's URL) a ticket for another appointment is
    refused and stays unused, so opening the wrong room's URL does not cost the ticket. The
    conditional UPDATE is what makes a ticket single-use even when two sockets race with it.
    """
    now = services.clock.now()
    conditions = [
        VisitTicket.token_hash == hash_token(token),
        VisitTicket.used_at.is_(None),
        VisitTicket.expires_at > now,
    ]
    if appointment_id is not None:
        conditions.append(VisitTicket.appointment_id == appointment_id)
    async with unit_of_work(services, Caller(actor=None, ip=ip)) as uow:
        burned = await uow.session.execute(
            update(VisitTicket)
            .where(*conditions)
            .values(used_at=now)
            .returning(VisitTicket.appointment_id, VisitTicket.user_id, VisitTicket.role)
        )
        row = burned.first()
        if row is None:
            uow.audit(AuditRecord("visit.ticket_refused", "appointment", outcome="denied"))
            return None
        appointment_id, user_id, role = row
        appointment = await uow.session.get(Appointment, appointment_id)
        user = await uow.session.get(User, user_id)
        if appointment is None or user is None or not user.is_active:
            # Deactivated since the ticket was issued (or gone): refused, and audited like any
            # other refusal.
            uow.audit(
                AuditRecord(
                    "visit.ticket_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(appointment_id),
                    patient_id=appointment.patient_id if appointment is not None else None,
                    details={"reason": "not_found" if user is None else "inactive_user"},
                )
            )
            return None
        if not await is_on_care_team(uow.session, appointment.therapist_id, appointment.patient_id):
            uow.audit(
                AuditRecord(
                    "visit.ticket_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(appointment.id),
                    patient_id=appointment.patient_id,
                    details={"reason": "not_on_care_team"},
                )
            )
            return None
        facts = visit_facts(appointment)
        try:
            rules.check_joinable(facts, now)
        except Conflict:
            uow.audit(
                AuditRecord(
                    "visit.ticket_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(appointment.id),
                    patient_id=appointment.patient_id,
                )
            )
            return None
        return AdmittedTicket(
            appointment.id, user.id, user.display_name, role, rules.window(facts)[1]
        )


# --- what happens in the room --------------------------------------------------------------------

# Room event -> (who must be acting, the appointment action, the statuses it applies from).
_EVENT_ACTIONS: dict[str, tuple[str, lifecycle.Action, frozenset[str]]] = {
    "join": ("patient", lifecycle.Action.CHECK_IN, frozenset({"booked"})),
    "admit": ("therapist", lifecycle.Action.START, frozenset({"checked_in"})),
    "end": ("therapist", lifecycle.Action.COMPLETE, frozenset({"in_progress"})),
}


async def record_visit_event(
    services: Services, event: str, appointment_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Audit a room event and move the appointment: patient joins -> checked in, admitted ->
    in progress, therapist ends -> completed. A repeated event (a rejoin) changes nothing."""
    async with services.sessions() as session:
        appointment = await session.get(Appointment, appointment_id)
        participant = await session.get(User, user_id)
        if appointment is None or participant is None:
            return
        patient = await session.get(User, appointment.patient_id)
        therapist = await session.get(User, appointment.therapist_id)
    async with unit_of_work(services, Caller(actor=actor_of(participant), ip="signaling")) as uow:
        uow.audit(
            AuditRecord(
                f"visit.{event}",
                "appointment",
                resource_id=str(appointment.id),
                patient_id=appointment.patient_id,
            )
        )
    planned = _EVENT_ACTIONS.get(event)
    if planned is None:
        return
    who, action, statuses = planned
    # "join" and "admit" move the visit only when they concern the patient: the therapist entering
    # the room is also reported as joined and admitted, and must neither check the patient in nor
    # start a visit the patient has not been let into.
    if event in ("join", "admit") and user_id != appointment.patient_id:
        return
    status = appointment.status
    if event == "admit" and status == "booked" and patient is not None:
        # The lobby shows the patient before their join is recorded, and a quick therapist admits
        # them in between: the admission checks the visit in itself, or the start would be lost
        # and the visit could never be completed.
        await _move(services, patient, appointment.id, lifecycle.Action.CHECK_IN)
        status = "checked_in"
    if status not in statuses:
        return
    acting = patient if who == "patient" else therapist
    if acting is not None:
        await _move(services, acting, appointment.id, action)


async def _move(
    services: Services, acting: User, appointment_id: uuid.UUID, action: lifecycle.Action
) -> None:
    # Room events of one visit are recorded concurrently (the patient's join on one instance, the
    # admission on another), so a visit may already be where this event would take it.
    try:
        await scheduling.act(
            services, Caller(actor=actor_of(acting), ip="signaling"), appointment_id, action
        )
    except Conflict as exc:
        if exc.code != ErrorCode.ILLEGAL_TRANSITION:
            raise


# --- revoked access ------------------------------------------------------------------------------

# The signaling bus keeps a room for up to 12 hours and a socket is not closed when the window
# passes, so a room whose window closed that long ago may still hold a live socket.
ROOM_LOOKBACK = timedelta(hours=12)


@dataclass(frozen=True)
class VisitRoom:
    """A visit room a person may be in: its appointment and the pair it is between."""

    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    therapist_id: uuid.UUID


async def rooms_of(
    services: Services, user_id: uuid.UUID, partner_id: uuid.UUID | None = None
) -> list[VisitRoom]:
    """The virtual visits whose room may hold `user_id` now (only those with `partner_id`)."""
    now = services.clock.now()
    conditions = [
        or_(Appointment.patient_id == user_id, Appointment.therapist_id == user_id),
        Appointment.modality == "virtual",
        Appointment.start_at <= now + rules.OPENS_BEFORE,
        Appointment.end_at > now - rules.CLOSES_AFTER - ROOM_LOOKBACK,
    ]
    if partner_id is not None:
        conditions.append(
            or_(Appointment.patient_id == partner_id, Appointment.therapist_id == partner_id)
        )
    async with services.sessions() as session:
        rows = await session.execute(
            select(Appointment.id, Appointment.patient_id, Appointment.therapist_id).where(
                *conditions
            )
        )
        return [VisitRoom(*row) for row in rows.all()]


async def drop_unused_tickets(services: Services, user_id: uuid.UUID) -> None:
    """Delete the visit tickets `user_id` fetched and has not used yet."""
    async with services.sessions() as session:
        await session.execute(
            delete(VisitTicket).where(VisitTicket.user_id == user_id, VisitTicket.used_at.is_(None))
        )
        await session.commit()


async def record_revocations(
    services: Services,
    caller: Caller,
    closed: list[tuple[VisitRoom, uuid.UUID]],
    reason: str,
) -> None:
    """Audit each visit a person was taken out of: (room, the person whose access ended)."""
    async with unit_of_work(services, caller) as uow:
        for room, user_id in closed:
            uow.audit(
                AuditRecord(
                    "visit.access_revoked",
                    "appointment",
                    resource_id=str(room.appointment_id),
                    patient_id=room.patient_id,
                    details={"user_id": str(user_id), "reason": reason},
                )
            )


async def may_resume(services: Services, appointment_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether a visit session may be resumed: the person is active, is the visit's patient or
    therapist, and the two are still on one care team. A refusal is audited."""
    async with unit_of_work(services, Caller(actor=None, ip="signaling")) as uow:
        appointment = await uow.session.get(Appointment, appointment_id)
        user = await uow.session.get(User, user_id)
        allowed = (
            appointment is not None
            and user is not None
            and user.is_active
            and user_id in (appointment.patient_id, appointment.therapist_id)
            and await is_on_care_team(uow.session, appointment.therapist_id, appointment.patient_id)
        )
        if not allowed:
            uow.audit(
                AuditRecord(
                    "visit.resume_refused",
                    "appointment",
                    outcome="denied",
                    resource_id=str(appointment_id),
                    patient_id=appointment.patient_id if appointment is not None else None,
                    details={"user_id": str(user_id)},
                )
            )
        return allowed
