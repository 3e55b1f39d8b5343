"""The staff calendar grids: a therapist's week (/calendar/week) and one day across every
therapist (/calendar/day, admins).

Both are tables of wall-clock rows in the viewer's zone and clock; on a narrow screen the CSS
shows the same cells as a day-by-day (or therapist-by-therapist) list instead. An admin's free
cells are links to the admin booking form with the therapist, date and time filled in.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from aiohttp import web

from telehealth.accounts.access import require_admin
from telehealth.errors import DomainError
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.keys import SERVICES
from telehealth.http.templates import render
from telehealth.scheduling import staff_calendar
from telehealth.scheduling.localtime import resolve_zone

# A grid as far as anyone plans: a year either way of today.
_REACH = timedelta(days=366)


def _query_day(request: web.Request, today: date) -> date:
    """The ``day`` of the query string (today when absent); anything else is a 400 in words."""
    text = request.query.get("day", "")
    if not text:
        return today
    try:
        # Only the shape a date field writes: fromisoformat alone also reads "20250310".
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise DomainError("That date could not be read. Please pick a date such as 2025-03-10.")
    if abs(day - today) > _REACH:
        raise DomainError("Please pick a date within a year of today.")
    return day


def _query_therapist(request: web.Request) -> uuid.UUID | None:
    text = request.query.get("therapist_id", "")
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DomainError(
            "That therapist could not be read. Please pick one from the list."
        ) from None


@session_in_work
async def week_page(request: web.Request) -> web.StreamResponse:
    """One therapist's week: a therapist's own, or any therapist's for an admin."""
    services = request.app[SERVICES]
    therapist_id = _query_therapist(request)
    async with request_work(request, reads_only=True) as uow:
        today = services.clock.now().astimezone(resolve_zone(uow.actor.time_zone)).date()
        day = _query_day(request, today)
        monday = day - timedelta(days=day.weekday())
        therapist = await staff_calendar.visible_therapist_in(uow, therapist_id)
        therapists = await staff_calendar.therapists_in(uow) if uow.actor.is_admin else []
        days = [monday + timedelta(days=n) for n in range(7)]
        found = await staff_calendar.grid_in(uow, services, [therapist], days)
    return render(
        request,
        "scheduling/week_grid.html",
        {
            "grid": found,
            "therapist": therapist,
            "therapists": therapists,
            "monday": monday,
            "today": today,
            "prev": monday - timedelta(days=7),
            "next": monday + timedelta(days=7),
            "bookable": uow.actor.is_admin,
        },
    )


@session_in_work
async def day_page(request: web.Request) -> web.StreamResponse:
    """One day across every therapist (admins): columns are therapists, rows are times."""
    services = request.app[SERVICES]
    async with request_work(request, reads_only=True) as uow:
        require_admin(uow.actor)
        today = services.clock.now().astimezone(resolve_zone(uow.actor.time_zone)).date()
        day = _query_day(request, today)
        therapists = await staff_calendar.therapists_in(uow)
        found = (
            await staff_calendar.grid_in(uow, services, therapists, [day]) if therapists else None
        )
    return render(
        request,
        "scheduling/day_grid.html",
        {
            "grid": found,
            "day": day,
            "today": today,
            "prev": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "bookable": True,
        },
    )


def setup_routes(app: web.Application) -> None:
    """Add the calendar grids."""
    app.router.add_get("/calendar/week", week_page)
    app.router.add_get("/calendar/day", day_page)
