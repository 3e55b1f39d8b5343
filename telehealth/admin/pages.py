"""Admin pages: people (create, deactivate, care teams), the audit trail and the messages."""

from __future__ import annotations

from aiohttp import web

from telehealth.access_ended import Reason, announce_access_ended
from telehealth.accounts import service as accounts
from telehealth.accounts.access import require_admin
from telehealth.accounts.models import Role
from telehealth.accounts.rules import CHANNEL_WORDS
from telehealth.accounts.schemas import CareTeamIn
from telehealth.admin import audit_trail, messages
from telehealth.errors import DomainError
from telehealth.http.api import path_uuid
from telehealth.http.context import caller_of, require_actor
from telehealth.http.forms import parse_form, read_form
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render


async def person_page(request: web.Request) -> web.StreamResponse:
    """One account with its care team (patients) and actions."""
    services = request.app[SERVICES]
    caller = caller_of(request)
    person = await accounts.get_person(services, caller, path_uuid(request, "user_id"))
    team = (
        await accounts.care_team(services, caller, person.id)
        if person.role == Role.PATIENT.value
        else []
    )
    therapists, _ = await accounts.list_people(services, caller, Role.THERAPIST, 500, 0)
    return render(
        request,
        "admin/person.html",
        {
            "person": person,
            "care_team": team,
            "therapists": therapists,
            "error": None,
            "channel_words": {c.value: words for c, words in CHANNEL_WORDS.items()},
        },
    )


async def new_person_page(request: web.Request) -> web.StreamResponse:
    """The form to create an account."""
    require_admin(require_actor(request))
    return render(
        request,
        "admin/new_person.html",
        {"values": {"role": request.query.get("role", "patient")}, "error": None},
    )


async def create_person_submit(request: web.Request) -> web.StreamResponse:
    """Create an account from the form."""
    require_admin(require_actor(request))
    form = await read_form(request)
    values = {
        k: str(form.get(k, "")).strip()[:256]
        for k in ("email", "display_name", "role", "time_zone", "phone")
    }
    try:
        role = Role(values["role"])
    except ValueError:
        return render(
            request,
            "admin/new_person.html",
            {"values": values, "error": "Choose a role."},
            status=422,
        )
    person = accounts.NewPerson(
        email=values["email"],
        display_name=values["display_name"],
        role=role,
        password=str(form.get("password", ""))[:256],
        time_zone=values["time_zone"] or "America/New_York",
        phone=values["phone"] or None,
    )
    try:
        user = await accounts.create_person(request.app[SERVICES], caller_of(request), person)
    except DomainError as exc:
        return render(
            request,
            "admin/new_person.html",
            {"values": values, "error": exc.message},
            status=exc.status,
        )
    raise web.HTTPSeeOther(f"/admin/people/{user.id}")


async def set_active_submit(request: web.Request) -> web.StreamResponse:
    """Deactivate (ends sessions at once) or reactivate an account."""
    require_admin(require_actor(request))
    user_id = path_uuid(request, "user_id")
    form = await read_form(request)
    active = form.get("active") == "1"
    caller = caller_of(request)
    user = await accounts.update_person(
        request.app[SERVICES], caller, user_id, accounts.PersonChanges(is_active=active)
    )
    if not user.is_active:
        await announce_access_ended(request.app, caller, user.id, Reason.DEACTIVATED)
    raise web.HTTPSeeOther(f"/admin/people/{user_id}")


async def assign_submit(request: web.Request) -> web.StreamResponse:
    """Put a therapist on a patient's care team."""
    require_admin(require_actor(request))
    user_id = path_uuid(request, "user_id")
    body = parse_form(await read_form(request), CareTeamIn)
    await accounts.assign_therapist(
        request.app[SERVICES], caller_of(request), user_id, body.therapist_id
    )
    raise web.HTTPSeeOther(f"/admin/people/{user_id}")


def setup_routes(app: web.Application) -> None:
    """Add the admin pages."""
    app.router.add_get("/admin/people/new", new_person_page)
    app.router.add_post("/admin/people", create_person_submit)
    app.router.add_get("/admin/people/{user_id}", person_page)
    app.router.add_post("/admin/people/{user_id}/active", set_active_submit)
    app.router.add_post("/admin/people/{user_id}/care-team", assign_submit)
    app.router.add_get("/admin/audit", audit_trail.audit_page)
    app.router.add_get("/admin/audit.csv", audit_trail.audit_csv)
    messages.setup_routes(app)
