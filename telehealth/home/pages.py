"""Each role's home page, with real data."""

from __future__ import annotations

from aiohttp import web

from telehealth.accounts import service as accounts
from telehealth.accounts.models import Role
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.scheduling import service as scheduling
from telehealth.unit_of_work import unit_of_work


async def home(request: web.Request) -> web.StreamResponse:
    """Each role's home page, with real data."""
    actor = require_actor(request)
    services = request.app[SERVICES]
    caller = caller_of(request)
    if actor.role is Role.ADMIN:
        people, total = await accounts.list_people(services, caller, None, 200, 0)
        return render(request, "home/admin.html", {"people": people, "total": total})
    if actor.role is Role.THERAPIST:
        patients = await accounts.list_patients(services, caller)
        return render(request, "home/therapist.html", {"patients": patients})
    # One unit of work for the whole page: its reads see one state, and their audit records
    # commit together.
    async with unit_of_work(services, caller, reads_only=True) as uow:
        me = await accounts.get_self_in(uow)
        team = await accounts.care_team_in(uow, actor.id)
        visits = await scheduling.upcoming_for_patient_in(uow, services)
        past = await scheduling.past_for_patient_in(uow, services)
    return render(
        request,
        "home/patient.html",
        {
            "me": me,
            "care_team": team,
            "upcoming_visits": visits,
            "past_visits": past,
            "now": services.clock.now(),
        },
    )


def setup_routes(app: web.Application) -> None:
    """Add the home page."""
    app.router.add_get("/", home)
