"""Visit API: consent, the visit, and join tickets."""

from __future__ import annotations

from aiohttp import web

from telehealth.http.api import Api, path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES, SETTINGS
from telehealth.visits import guests, join_links, service
from telehealth.visits.network_test import NETWORK_TESTS
from telehealth.visits.revocation import remove_guest
from telehealth.visits.schemas import (
    ConsentIn,
    ConsentOut,
    GuestInviteIn,
    GuestInviteOut,
    GuestListOut,
    JoinLinkOut,
    NetworkTestIn,
    NetworkTestOut,
    TicketOut,
    VisitOut,
)
from telehealth.visits.signaling_setup import SIGNALING_PATH

api = Api()


def _consent_out(status: service.ConsentStatus) -> ConsentOut:
    text = status.text
    return ConsentOut(
        version=text.version,
        title=text.title,
        paragraphs=list(text.paragraphs),
        accepted_at=status.accepted_at,
    )


def signaling_url(appointment_id: object) -> str:
    """The room's WebSocket path (same origin as the page)."""
    return f"{SIGNALING_PATH}/{appointment_id}"


@api.get(
    "/consent", response=ConsentOut, summary="The telehealth consent to accept", tags=("visits",)
)
async def get_consent(request: web.Request) -> ConsentOut:
    """Current consent text and acceptance."""
    return _consent_out(await service.consent_status(request.app[SERVICES], caller_of(request)))


@api.post(
    "/consent",
    body=ConsentIn,
    response=ConsentOut,
    summary="Accept the telehealth consent (patients)",
    tags=("visits",),
)
async def accept_consent(request: web.Request, body: ConsentIn) -> ConsentOut:
    """Record acceptance of the current version."""
    status = await service.accept_consent(request.app[SERVICES], caller_of(request), body.version)
    return _consent_out(status)


@api.get(
    "/visits/{appointment_id}",
    response=VisitOut,
    summary="A video visit, for its patient or therapist",
    tags=("visits",),
)
async def get_visit(request: web.Request) -> VisitOut:
    """The visit as its participant sees it."""
    view = await service.visit_view(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    a = view.appointment
    return VisitOut(
        appointment_id=a.id,
        role="host" if view.role == "host" else "guest",
        status=a.status,
        start_at=a.start_at,
        end_at=a.end_at,
        opens_at=view.opens_at,
        closes_at=view.closes_at,
        patient_name=view.patient_name,
        therapist_name=view.therapist_name,
        consent_needed=view.consent_needed,
        signaling_url=signaling_url(a.id),
    )


@api.post(
    "/visits/{appointment_id}/ticket",
    response=TicketOut,
    status=201,
    summary="A single-use ticket to enter the visit room",
    tags=("visits",),
)
async def issue_ticket(request: web.Request) -> TicketOut:
    """Issued only to the visit's patient (after consent) or therapist, inside the visit window."""
    appointment_id = path_uuid(request, "appointment_id")
    ticket = await service.issue_ticket(request.app[SERVICES], caller_of(request), appointment_id)
    return TicketOut(
        ticket=ticket.token,
        expires_at=ticket.expires_at,
        role="host" if ticket.role == "host" else "guest",
        signaling_url=signaling_url(appointment_id),
    )


@api.post(
    "/visits/{appointment_id}/join-link",
    response=JoinLinkOut,
    status=201,
    summary="A single-use link that signs the patient in and opens the visit",
    tags=("visits",),
)
async def create_join_link(request: web.Request) -> JoinLinkOut:
    """For the visit's therapist or an admin: a link for the visit's patient (a reminder carries
    it). Opening it shows a button; pressing it signs the patient in once and opens the visit.
    It ends when the visit's room closes."""
    link = await join_links.create_join_link(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return JoinLinkOut(
        url=request.app[SETTINGS].public_url.rstrip("/") + link.path,
        appointment_id=link.appointment_id,
        expires_at=link.expires_at,
    )


@api.post(
    "/network-test",
    body=NetworkTestIn,
    response=NetworkTestOut,
    summary="Answer a pre-call network test offer with an echo peer",
    tags=("visits",),
)
async def network_test(request: web.Request, body: NetworkTestIn) -> NetworkTestOut:
    """The far end of the pre-call connection test (echoes media and data for 45 s)."""
    actor = require_actor(request)
    sdp = await request.app[NETWORK_TESTS].answer(actor.id, body.sdp)
    return NetworkTestOut(sdp=sdp)


def _guest_out(invite: guests.Invite, url: str | None = None) -> GuestInviteOut:
    return GuestInviteOut(
        id=invite.id,
        display_name=invite.display_name,
        role=invite.role,
        created_at=invite.created_at,
        expires_at=invite.expires_at,
        revoked_at=invite.revoked_at,
        url=url,
    )


@api.get(
    "/visits/{appointment_id}/guests",
    response=GuestListOut,
    summary="The guests invited to a video visit",
    tags=("visits",),
)
async def list_guests(request: web.Request) -> GuestListOut:
    """For the visit's therapist or patient (404 for anyone else)."""
    found = await guests.list_invites(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return GuestListOut(
        appointment_id=found.appointment.id,
        may_invite=found.may_invite,
        guests=[_guest_out(i) for i in found.invites],
    )


@api.post(
    "/visits/{appointment_id}/guests",
    body=GuestInviteIn,
    response=GuestInviteOut,
    status=201,
    summary="Invite a caregiver or interpreter into a video visit",
    tags=("visits",),
)
async def invite_guest(request: web.Request, body: GuestInviteIn) -> GuestInviteOut:
    """For the visit's therapist or patient: a link (shown once) that lets the guest into the
    waiting room until the room closes; at most two guests (409 `too_many_guests`)."""
    made = await guests.create_invite(
        request.app[SERVICES],
        caller_of(request),
        path_uuid(request, "appointment_id"),
        body.role,
        body.display_name,
    )
    return _guest_out(made.invite, request.app[SETTINGS].public_url.rstrip("/") + made.path)


@api.delete(
    "/visits/{appointment_id}/guests/{guest_id}",
    response=GuestInviteOut,
    summary="Revoke a guest's invitation (and take them out of the room)",
    tags=("visits",),
)
async def revoke_guest(request: web.Request) -> GuestInviteOut:
    """For the visit's therapist or patient; revoking twice changes nothing."""
    caller = caller_of(request)
    appointment_id = path_uuid(request, "appointment_id")
    revoked = await guests.revoke_invite(
        request.app[SERVICES], caller, appointment_id, path_uuid(request, "guest_id")
    )
    await remove_guest(request.app, caller, revoked)
    found = await guests.list_invites(request.app[SERVICES], caller, appointment_id)
    invite = next(i for i in found.invites if i.id == revoked.guest_id)
    return _guest_out(invite)


@api.post(
    "/guest/{token}/ticket",
    response=TicketOut,
    status=201,
    summary="A single-use ticket for a guest's WebSocket hello",
    tags=("visits",),
    auth=False,
)
async def guest_ticket(request: web.Request) -> TicketOut:
    """The invitation is the credential (404 unknown, 410 revoked or over, 409 before the
    privacy notice is acknowledged or outside the visit's window)."""
    issued = await guests.issue_guest_ticket(
        request.app[SERVICES], caller_of(request), request.match_info["token"]
    )
    return TicketOut(
        ticket=issued.ticket.token,
        expires_at=issued.ticket.expires_at,
        role="guest",
        signaling_url=signaling_url(issued.appointment_id),
    )


@api.post(
    "/guest/{token}/network-test",
    body=NetworkTestIn,
    response=NetworkTestOut,
    summary="A guest's pre-call network test",
    tags=("visits",),
    auth=False,
)
async def guest_network_test(request: web.Request, body: NetworkTestIn) -> NetworkTestOut:
    """As `/network-test`, for a guest of a live invitation."""
    view = await guests.open_invite(
        request.app[SERVICES], caller_of(request), request.match_info["token"]
    )
    sdp = await request.app[NETWORK_TESTS].answer(view.guest_id, body.sdp)
    return NetworkTestOut(sdp=sdp)
