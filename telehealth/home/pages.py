"""Each role's home page, with real data."""

from __future__ import annotations

from aiohttp import web

from telehealth.accounts import service as accounts
from telehealth.accounts.models import Role
from telehealth.accounts.rules import CHANNEL_WORDS
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.intake import service as intake
from telehealth.notifications import admin as outbox_admin
from telehealth.scheduling import service as scheduling


@session_in_work
async def home(request: web.Request) -> web.StreamResponse:
    """Each role's home page, with real data."""
    services = request.app[SERVICES]
    # One unit of work for the whole page, the session lookup included: its reads see one
    # state, and their audit records commit together. It renders after the work has ended.
    async with request_work(request, reads_only=True) as uow:
        actor = uow.actor
        if actor.role is Role.ADMIN:
            people, total = await accounts.list_people_in(uow, None, 200, 0)
            red_flags = await intake.open_red_flags_in(uow)
            failed_messages = await outbox_admin.failed_count_in(uow)
        elif actor.role is Role.THERAPIST:
            patients = await accounts.list_patients_in(uow)
            red_flags = await intake.open_red_flags_in(uow)
        else:
            answered = await intake.latest_own_intake_in(uow)
            me = await accounts.get_self_in(uow)
            team = await accounts.care_team_in(uow, actor.id)
            visits = await scheduling.upcoming_for_patient_in(uow, services)
            past = await scheduling.past_for_patient_in(uow, services)
    if actor.role is Role.ADMIN:
        return render(
            request,
            "home/admin.html",
            {
                "people": people,
                "total": total,
                "red_flags": red_flags,
                "failed_messages": failed_messages,
            },
        )
    if actor.role is Role.THERAPIST:
        return render(
            request,
            "home/therapist.html",
            {
                "patients": patients,
                "red_flags": red_flags,
                "channel_words": {c.value: words for c, words in CHANNEL_WORDS.items()},
            },
        )
    return render(
        request,
        "home/patient.html",
        {
            "me": me,
            "care_team": team,
            "upcoming_visits": visits,
            "past_visits": past,
            "screening": answered,
            "now": services.clock.now(),
        },
    )


def setup_routes(app: web.Application) -> None:
    """Add the home page."""
    app.router.add_get("/", home)
