"""The video visit page: pre-call check, consent, waiting room and the call, for both participants."""

from __future__ import annotations

from aiohttp import web

from telehealth.http.api import path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.visits import service
from telehealth.visits.api import signaling_url
from telehealth.visits.rules import CURRENT_CONSENT


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
        },
    )


async def ended_page(request: web.Request) -> web.StreamResponse:
    """Shown after the visit ends."""
    actor = require_actor(request)
    view = await service.visit_view(
        request.app[SERVICES], caller_of(request), path_uuid(request, "appointment_id")
    )
    return render(request, "visits/ended.html", {"view": view, "zone": actor.time_zone})


def setup_routes(app: web.Application) -> None:
    """Add the visit pages."""
    app.router.add_get("/visits/{appointment_id}", visit_page)
    app.router.add_get("/visits/{appointment_id}/ended", ended_page)
