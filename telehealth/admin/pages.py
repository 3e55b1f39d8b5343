"""Admin pages: people (create, deactivate, care teams) and the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web
from pydantic import ValidationError

from telehealth.accounts import service as accounts
from telehealth.accounts.access import require_admin
from telehealth.accounts.models import Role
from telehealth.audit import service as audit
from telehealth.audit.schemas import AuditQuery
from telehealth.errors import DomainError, NotFound
from telehealth.http.api import path_uuid
from telehealth.http.context import caller_of, require_actor
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
        {"person": person, "care_team": team, "therapists": therapists, "error": None},
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
    form = await request.post()
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
    user_id = path_uuid(request, "user_id")
    form = await request.post()
    active = form.get("active") == "1"
    await accounts.update_person(
        request.app[SERVICES], caller_of(request), user_id, accounts.PersonChanges(is_active=active)
    )
    raise web.HTTPSeeOther(f"/admin/people/{user_id}")


async def assign_submit(request: web.Request) -> web.StreamResponse:
    """Put a therapist on a patient's care team."""
    user_id = path_uuid(request, "user_id")
    form = await request.post()
    try:
        therapist_id = uuid.UUID(str(form.get("therapist_id", "")))
    except ValueError:
        raise NotFound("No such therapist.") from None
    await accounts.assign_therapist(
        request.app[SERVICES], caller_of(request), user_id, therapist_id
    )
    raise web.HTTPSeeOther(f"/admin/people/{user_id}")


async def audit_page(request: web.Request) -> web.StreamResponse:
    """Browse and filter the audit trail."""
    raw = {k: v for k, v in request.query.items() if v}
    error = None
    try:
        query = AuditQuery.model_validate(raw)
    except ValidationError:
        query, error = AuditQuery(), "Some filters were not valid and were ignored."
    events = await audit.search(
        request.app[SERVICES], caller_of(request), audit.AuditFilter(**query.model_dump())
    )
    return render(
        request,
        "admin/audit.html",
        {"events": events, "filters": raw, "error": error, "now": datetime.now().astimezone()},
    )


def setup_routes(app: web.Application) -> None:
    """Add the admin pages."""
    app.router.add_get("/admin/people/new", new_person_page)
    app.router.add_post("/admin/people", create_person_submit)
    app.router.add_get("/admin/people/{user_id}", person_page)
    app.router.add_post("/admin/people/{user_id}/active", set_active_submit)
    app.router.add_post("/admin/people/{user_id}/care-team", assign_submit)
    app.router.add_get("/admin/audit", audit_page)
