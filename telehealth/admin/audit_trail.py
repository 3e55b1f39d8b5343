"""The admin's audit trail page and its CSV export: names, plain action names, filters, paging.

The rows carry no clinical text: the page shows who, what (the action's plain name), which
patient, when, the outcome and the request id; the stored details are never shown.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field, ValidationError

from telehealth.accounts.access import require_admin
from telehealth.actors import Actor
from telehealth.audit import service as audit
from telehealth.audit.labels import ACTION_LABELS, action_label, actor_label, outcome_label
from telehealth.http.context import caller_of, require_actor
from telehealth.http.keys import SERVICES
from telehealth.http.schemas import QueryDate, QueryModel, SafeStr
from telehealth.http.templates import render

PAGE_SIZE = 50
MAX_SEQ = 2**63 - 1  # seq is a BIGINT
# Dates outside these years are typing slips; bounding them also keeps the zone arithmetic in range.
FIRST_YEAR, LAST_YEAR = 2000, 2999
FILTER_FIELDS = ("person", "patient", "action", "outcome", "date_from", "date_to")


class TrailQuery(QueryModel):
    """The page's query string: the filter form's fields and the paging keys."""

    person: SafeStr | None = Field(default=None, max_length=120)
    patient: SafeStr | None = Field(default=None, max_length=120)
    action: SafeStr | None = Field(default=None, max_length=64)
    outcome: Literal["success", "denied", "failure"] | None = None
    date_from: QueryDate | None = None
    date_to: QueryDate | None = None
    before: int | None = Field(default=None, ge=1, le=MAX_SEQ)
    after: int | None = Field(default=None, ge=1, le=MAX_SEQ)


_FIELD_PROBLEMS = {
    "person": "Person: type part of a name or email address (one line, at most 120 characters).",
    "patient": "Patient: type part of a name or email address (one line, at most 120 characters).",
    "action": "Action: choose one from the list.",
    "outcome": "Outcome: choose success, denied or failed.",
    "date_from": "From: use a date such as 2026-03-02.",
    "date_to": "To: use a date such as 2026-03-02.",
    "before": "That page of the trail does not exist; start again from the newest rows.",
    "after": "That page of the trail does not exist; start again from the newest rows.",
}


class FilterProblem(Exception):
    """The query string cannot be used; the messages say why, in words."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _problems(error: ValidationError) -> list[str]:
    messages: list[str] = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        shown = "".join(c for c in field[:40] if c.isprintable())
        message = _FIELD_PROBLEMS.get(field, f"Unknown filter: {shown}.")
        if message not in messages:
            messages.append(message)
    return messages


def _day_start(day: date, zone: ZoneInfo, field: str) -> datetime:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise FilterProblem([f"{field}: choose a date between {FIRST_YEAR} and {LAST_YEAR}."])
    return datetime.combine(day, time(0), tzinfo=zone)


def parse_filter(raw: dict[str, str], zone_name: str) -> audit.TrailFilter:
    """The service filter for the page's query string; dates are whole days in the admin's zone."""
    try:
        query = TrailQuery.model_validate(raw)
    except ValidationError as exc:
        raise FilterProblem(_problems(exc)) from None
    if query.action and query.action not in ACTION_LABELS:
        raise FilterProblem([_FIELD_PROBLEMS["action"]])
    if query.before and query.after:
        raise FilterProblem([_FIELD_PROBLEMS["before"]])
    zone = ZoneInfo(zone_name)
    since = _day_start(query.date_from, zone, "From") if query.date_from else None
    until = _day_start(query.date_to, zone, "To") + timedelta(days=1) if query.date_to else None
    if since and until and until <= since:
        raise FilterProblem(["To: the date is before the From date."])
    return audit.TrailFilter(
        person=query.person.strip() or None if query.person else None,
        patient=query.patient.strip() or None if query.patient else None,
        action=query.action,
        outcome=query.outcome,
        since=since,
        until=until,
        before_seq=query.before,
        after_seq=query.after,
        limit=PAGE_SIZE,
    )


@dataclass(frozen=True)
class RowView:
    """One row as the page and the CSV show it."""

    seq: int
    when: str
    who: str
    who_email: str | None
    role: str
    action: str
    patient: str
    patient_email: str | None
    outcome: str
    outcome_code: str
    request_id: str


def _view(row: audit.TrailRow, zone: ZoneInfo, time_format: str) -> RowView:
    event = row.event
    has_request = event.request_id is not None
    if event.actor_id is None:
        who = actor_label(None, has_request=has_request)
        role = ""
    else:
        who = row.actor.display_name if row.actor else "Unknown account"
        role = actor_label(event.actor_role, has_request=has_request)
    patient = ""
    if event.patient_id is not None:
        patient = row.patient.display_name if row.patient else "Unknown patient"
    return RowView(
        seq=event.seq,
        when=event.at.astimezone(zone).strftime(time_format),
        who=who,
        who_email=row.actor.email if row.actor else None,
        role=role,
        action=action_label(event.action),
        patient=patient,
        patient_email=row.patient.email if row.patient else None,
        outcome=outcome_label(event.outcome),
        outcome_code=event.outcome,
        request_id=event.request_id or "",
    )


def _filter_values(raw: dict[str, str]) -> dict[str, str]:
    return {k: raw[k] for k in FILTER_FIELDS if raw.get(k)}


def _link(values: dict[str, str], **paging: int) -> str:
    return "?" + urlencode({**values, **{k: str(v) for k, v in paging.items()}})


def _actions() -> list[tuple[str, str]]:
    return sorted(ACTION_LABELS.items(), key=lambda item: item[1])


def _page(
    request: web.Request,
    values: dict[str, str],
    page: audit.TrailPage | None,
    errors: list[str],
    status: int = 200,
) -> web.Response:
    zone_name = require_actor(request).time_zone
    zone = ZoneInfo(zone_name)
    rows = [_view(r, zone, "%a %d %b %Y, %H:%M:%S") for r in page.rows] if page else []
    older = page.older_before_seq if page else None
    newer = page.newer_after_seq if page else None
    return render(
        request,
        "admin/audit.html",
        {
            "rows": rows,
            "values": values,
            "errors": errors,
            "actions": _actions(),
            "outcomes": [("success", "Success"), ("denied", "Denied"), ("failure", "Failed")],
            "older_link": _link(values, before=older) if older else None,
            "newer_link": _link(values, after=newer) if newer else None,
            "csv_link": "/admin/audit.csv" + (_link(values) if values else ""),
            "zone": zone_name,
        },
        status=status,
    )


def _admin_filter(
    request: web.Request,
) -> tuple[Actor, dict[str, str], audit.TrailFilter | web.StreamResponse]:
    # The page and the download read the same filter: an admin only, a bad filter is the 400 page.
    actor = require_actor(request)
    require_admin(actor)
    raw = {k: v for k, v in request.query.items() if v}
    values = _filter_values(raw)
    try:
        return actor, values, parse_filter(raw, actor.time_zone)
    except FilterProblem as problem:
        return actor, values, _page(request, values, None, problem.messages, status=400)


async def audit_page(request: web.Request) -> web.StreamResponse:
    """Browse and filter the audit trail, 50 rows a page, newest first."""
    _, values, flt = _admin_filter(request)
    if isinstance(flt, web.StreamResponse):
        return flt
    page = await audit.browse(request.app[SERVICES], caller_of(request), flt)
    return _page(request, values, page, [])


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets an apostrophe first."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def trail_csv(rows: list[audit.TrailRow], zone_name: str) -> str:
    """The rows as CSV with the page's columns (and the email addresses and action code)."""
    zone = ZoneInfo(zone_name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Sequence",
            f"Time ({zone_name})",
            "Person",
            "Person email",
            "Role",
            "Action",
            "Action code",
            "Patient",
            "Patient email",
            "Outcome",
            "Request id",
        ]
    )
    for row in rows:
        view = _view(row, zone, "%Y-%m-%d %H:%M:%S")
        cells = [
            str(view.seq),
            view.when,
            view.who,
            view.who_email or "",
            view.role,
            view.action,
            row.event.action,
            view.patient,
            view.patient_email or "",
            view.outcome,
            view.request_id,
        ]
        writer.writerow([csv_cell(c) for c in cells])
    return out.getvalue()


async def audit_csv(request: web.Request) -> web.StreamResponse:
    """Download the rows of the current filter (paging ignored) as CSV; the download is audited."""
    actor, _, flt = _admin_filter(request)
    if isinstance(flt, web.StreamResponse):
        return flt
    services = request.app[SERVICES]
    rows = await audit.export(services, caller_of(request), flt)
    stamp = services.clock.now().astimezone(ZoneInfo(actor.time_zone)).strftime("%Y%m%d-%H%M")
    return web.Response(
        text=trail_csv(rows, actor.time_zone),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-trail-{stamp}.csv"'},
    )
