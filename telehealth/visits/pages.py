"""The video visit page: pre-call check, consent, waiting room and the call, for both participants."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from telehealth.errors import DomainError, NotFound
from telehealth.http.api import path_uuid
from telehealth.http.auth import set_session_cookie
from telehealth.http.context import caller_of, current_token_hash, require_actor
from telehealth.http.forms import Form, parse_form, read_form
from telehealth.http.keys import SERVICES, SETTINGS, TEMPLATES
from telehealth.http.schemas import printable
from telehealth.http.templates import render
from telehealth.visits import guests, join_links, service
from telehealth.visits.api import signaling_url
from telehealth.visits.revocation import remove_guest
from telehealth.visits.rules import CURRENT_CONSENT, GUEST_ROLE_WORDS, OPENS_BEFORE
from telehealth.visits.schemas import GuestInviteIn
from telehealth.visits.timing import opens_words


async def visit_page(request: web.Request) -> web.StreamResponse:
    """The visit room (404 for anyone but the visit's patient and therapist)."""
    actor = require_actor(request)
    view = await service.visit_view(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return render(
        request,
        "visits/visit.html",
        {
            "view": view,
            "zone": actor.time_zone,
            "consent": CURRENT_CONSENT,
            "signaling_url": signaling_url(view.appointment.id),
            "now": request.app[SERVICES].clock.now(),
            "guest": None,
            "guest_token": "",
        },
    )


async def ended_page(request: web.Request) -> web.StreamResponse:
    """Shown after the visit ends."""
    actor = require_actor(request)
    view = await service.visit_view(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return render(request, "visits/ended.html", {"view": view, "zone": actor.time_zone})


# A token is 43 characters; anything much longer is not one, and is not even hashed.
_MAX_TOKEN_LENGTH = 128


def _join_token(request: web.Request) -> str:
    token = request.match_info["token"]
    return token if len(token) <= _MAX_TOKEN_LENGTH else ""


async def join_page(request: web.Request) -> web.StreamResponse:
    """What a join link opens: a button that spends it (410 when it can no longer be used)."""
    token = _join_token(request)
    live = bool(token) and await join_links.join_link_is_live(request.app[SERVICES], token)
    return render(
        request,
        "visits/join.html",
        {"live": live, "path": request.path},
        status=200 if live else 410,
    )


async def join_submit(request: web.Request) -> web.StreamResponse:
    """Spend a join link: sign its patient in and open the visit."""
    token = _join_token(request)
    redeemed = (
        await join_links.redeem_join_link(
            request.app[SERVICES], caller_of(request), token, current_token_hash(request)
        )
        if token
        else None
    )
    if redeemed is None:
        return render(
            request, "visits/join.html", {"live": False, "path": request.path}, status=410
        )
    response = web.HTTPSeeOther(f"/visits/{redeemed.appointment_id}")
    set_session_cookie(response, request.app[SETTINGS], redeemed.signed_in)
    raise response


async def join_link_submit(request: web.Request) -> web.StreamResponse:
    """Make a join link from the appointment page (the visit's therapist or an admin)."""
    actor = require_actor(request)
    services = request.app[SERVICES]
    appointment_id = path_uuid(request, "appointment_id")
    link = await join_links.create_join_link(services, caller_of(request), appointment_id)
    return render(
        request,
        "visits/join_link.html",
        {
            "url": request.app[SETTINGS].public_url.rstrip("/") + link.path,
            "expires_at": link.expires_at,
            "zone": actor.time_zone,
            "appointment_id": appointment_id,
            "patient_name": link.patient_name,
        },
        status=201,
    )


# --- guests: the visit's participants invite, the guest joins ------------------------------------


def _guests_page(
    request: web.Request,
    found: guests.GuestList,
    *,
    made: dict[str, object] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "visits/guests.html",
        {
            "found": found,
            "zone": require_actor(request).time_zone,
            "made": made,
            "error": error,
            "values": values or {"display_name": "", "role": "caregiver"},
            "role_words": GUEST_ROLE_WORDS,
        },
        status=status,
    )


async def guests_page(request: web.Request) -> web.StreamResponse:
    """The visit's invitations, with the form to invite (its therapist or patient; 404 else)."""
    require_actor(request)
    found = await guests.list_invites(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return _guests_page(request, found)


def _typed(form: Form, name: str) -> str:
    # What was typed, kept for the form shown again (length capped).
    value = form.get(name, "")
    return printable(value[:200]) if isinstance(value, str) else ""


async def guests_submit(request: web.Request) -> web.StreamResponse:
    """Invite a guest; the new link is shown once. Refusals show the form again with what was
    typed and the reason in words."""
    require_actor(request)
    services = request.app[SERVICES]
    appointment_id = path_uuid(request, "appointment_id")
    # A control character in a field is refused by read_form (422, as on every form).
    form = await read_form(request)
    values = {"display_name": _typed(form, "display_name"), "role": _typed(form, "role")}
    try:
        body = parse_form(form, GuestInviteIn)
        made = await guests.create_invite(
            services, caller_of(request), appointment_id, body.role, body.display_name
        )
    except NotFound:
        raise
    except DomainError as exc:
        error, status = exc.message, exc.status
    else:
        found = await guests.list_invites(services, caller_of(request), appointment_id)
        url = request.app[SETTINGS].public_url.rstrip("/") + made.path
        return _guests_page(request, found, made={"invite": made.invite, "url": url}, status=201)
    found = await guests.list_invites(services, caller_of(request), appointment_id)
    return _guests_page(request, found, error=error, values=values, status=status)


async def guest_revoke_submit(request: web.Request) -> web.StreamResponse:
    """Revoke an invitation and take its guest out of the room."""
    require_actor(request)
    caller = caller_of(request)
    appointment_id = path_uuid(request, "appointment_id")
    revoked = await guests.revoke_invite(
        request.app[SERVICES], caller, appointment_id, path_uuid(request, "guest_id")
    )
    await remove_guest(request.app, caller, revoked)
    raise web.HTTPSeeOther(f"/visits/{appointment_id}/guests")


def _gone(request: web.Request, exc: DomainError) -> web.Response:
    status = 404 if isinstance(exc, NotFound) else exc.status
    return render(request, "visits/guest_gone.html", {"status": status}, status=status)


def _guest_token(request: web.Request) -> str:
    token = request.match_info["token"]
    return token if len(token) <= guests.MAX_TOKEN_LENGTH else ""


def _guest_zone(request: web.Request) -> str:
    # A guest has no account and no zone of their own: the clinic's.
    return request.app[SETTINGS].clinic_time_zone


async def guest_page(request: web.Request) -> web.StreamResponse:
    """What a guest's link opens: the privacy notice to acknowledge (404/410 when it cannot be used)."""
    token = _guest_token(request)
    try:
        view = await guests.open_invite(request.app[SERVICES], caller_of(request), token)
    except (NotFound, guests.GuestLinkGone) as exc:
        return _gone(request, exc)
    return _guest_notice(request, view, token, None)


def _guest_notice(
    request: web.Request, view: guests.GuestView, token: str, error: str | None, status: int = 200
) -> web.Response:
    return render(
        request,
        "visits/guest_notice.html",
        {
            "guest": view,
            "token": token,
            "zone": _guest_zone(request),
            "role_words": {
                "caregiver": "a caregiver",
                "interpreter": "an interpreter",
                "other": "a guest",
            },
            "error": error,
        },
        status=status,
    )


async def guest_acknowledge(request: web.Request) -> web.StreamResponse:
    """The guest acknowledged the notice: on to the device check and the waiting room."""
    token = _guest_token(request)
    form = await read_form(request)
    try:
        if form.get("acknowledge") != "yes":
            view = await guests.open_invite(request.app[SERVICES], caller_of(request), token)
            return _guest_notice(
                request, view, token, "Please tick the box to say you understand.", status=422
            )
        await guests.acknowledge_notice(request.app[SERVICES], caller_of(request), token)
    except (NotFound, guests.GuestLinkGone) as exc:
        return _gone(request, exc)
    raise web.HTTPSeeOther(f"/guest/{token}/visit")


async def guest_visit_page(request: web.Request) -> web.StreamResponse:
    """The guest's device check, waiting room and call: the patient's page, as a guest."""
    token = _guest_token(request)
    try:
        view = await guests.open_invite(request.app[SERVICES], caller_of(request), token)
    except (NotFound, guests.GuestLinkGone) as exc:
        return _gone(request, exc)
    if not view.acknowledged:
        raise web.HTTPSeeOther(f"/guest/{token}")
    return render(
        request,
        "visits/visit.html",
        {
            "view": service.VisitView(
                appointment=view.appointment,
                role="guest",
                patient_name=view.patient_name,
                therapist_name=view.therapist_name,
                opens_at=view.opens_at,
                closes_at=view.closes_at,
                consent_needed=False,
            ),
            "zone": _guest_zone(request),
            "consent": CURRENT_CONSENT,
            "signaling_url": signaling_url(view.appointment.id),
            "now": request.app[SERVICES].clock.now(),
            "guest": view,
            "guest_token": token,
        },
    )


def room_opens(start: datetime) -> datetime:
    """When a video visit's room opens: the same rule the ticket service enforces."""
    return start - OPENS_BEFORE


def setup_templates(app: web.Application) -> None:
    """Give every page the room_opens filter (the agenda and visit lists show it)."""
    app[TEMPLATES].add_filter("room_opens", room_opens)
    app[TEMPLATES].add_filter("opens_words", opens_words)


def setup_routes(app: web.Application) -> None:
    """Add the visit pages."""
    app.router.add_get("/join/{token}", join_page)
    app.router.add_post("/join/{token}", join_submit)
    app.router.add_post("/visits/{appointment_id}/join-link", join_link_submit)
    app.router.add_get("/visits/{appointment_id}/guests", guests_page)
    app.router.add_post("/visits/{appointment_id}/guests", guests_submit)
    app.router.add_post("/visits/{appointment_id}/guests/{guest_id}/revoke", guest_revoke_submit)
    app.router.add_get("/guest/{token}", guest_page)
    app.router.add_post("/guest/{token}", guest_acknowledge)
    app.router.add_get("/guest/{token}/visit", guest_visit_page)
    app.router.add_get("/visits/{appointment_id}", visit_page)
    app.router.add_get("/visits/{appointment_id}/ended", ended_page)
