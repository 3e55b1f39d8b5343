"""The video visit page: pre-call check, consent, waiting room and the call, for both participants."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from telehealth.http.api import path_uuid
from telehealth.http.auth import set_session_cookie
from telehealth.http.context import caller_of, current_token_hash, require_actor
from telehealth.http.keys import SERVICES, SETTINGS, TEMPLATES
from telehealth.http.templates import render
from telehealth.visits import join_links, service
from telehealth.visits.api import signaling_url
from telehealth.visits.rules import CURRENT_CONSENT, OPENS_BEFORE
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
    app.router.add_get("/visits/{appointment_id}", visit_page)
    app.router.add_get("/visits/{appointment_id}/ended", ended_page)
