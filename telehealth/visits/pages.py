"""The video visit page: pre-call check, consent, waiting room and the call, for both participants."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from telehealth.http.api import path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES, TEMPLATES
from telehealth.http.templates import render
from telehealth.visits import service
from telehealth.visits.api import signaling_url
from telehealth.visits.rules import CURRENT_CONSENT, OPENS_BEFORE
from telehealth.visits.timing import clock, opens_words


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


def room_opens(start: datetime) -> datetime:
    """When a video visit's room opens: the same rule the ticket service enforces."""
    return start - OPENS_BEFORE


def setup_templates(app: web.Application) -> None:
    """Give every page the room_opens filter (the agenda and visit lists show it)."""
    app[TEMPLATES].add_filter("room_opens", room_opens)
    app[TEMPLATES].add_filter("opens_words", opens_words)
    app[TEMPLATES].add_filter("clock", clock)


def setup_routes(app: web.Application) -> None:
    """Add the visit pages."""
    app.router.add_get("/visits/{appointment_id}", visit_page)
    app.router.add_get("/visits/{appointment_id}/ended", ended_page)
