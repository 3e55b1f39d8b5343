"""The admin's messages pages: every message to a patient and where it is on its way, one
message's text, and "Send again" for one that could not be sent.

The list shows no message text (it holds clinical details) and masks addresses; opening a
message shows its subject and text, and that read is audited with its patient.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import Field, ValidationError

from telehealth.accounts.access import require_admin
from telehealth.http.api import path_uuid
from telehealth.http.auth import request_work, session_in_work
from telehealth.http.context import require_actor
from telehealth.http.keys import SERVICES
from telehealth.http.schemas import QueryModel, SafeStr
from telehealth.http.templates import render
from telehealth.notifications import admin as outbox_admin
from telehealth.notifications.rules import (
    KIND_WORDS,
    STATUS_WORDS,
    Status,
    error_words,
    mask_address,
)

# The most pages anyone pages through; beyond it a filter finds a message faster.
MAX_PAGE = 10_000
FILTER_FIELDS = ("status", "patient", "person")
STATUS_CHOICES = (
    ("", "All"),
    ("waiting", "Waiting"),
    ("failed", "Could not be sent"),
    ("sent", "Sent"),
    ("withdrawn", "Withdrawn"),
)
_TIME = "%a %d %b %Y, %H:%M"


class MessagesQuery(QueryModel):
    """The list's query string: the filter form's fields and the page."""

    status: Literal["waiting", "failed", "sent", "withdrawn"] | None = None
    patient: SafeStr | None = Field(default=None, max_length=120)
    person: uuid.UUID | None = None
    page: int = Field(default=1, ge=1, le=MAX_PAGE)


_FIELD_PROBLEMS = {
    "status": "Status: choose one from the list.",
    "patient": "Patient: type part of a name or email address (one line, at most 120 characters).",
    "person": "That person link is not valid; open the person's page again.",
    "page": "That page of the list does not exist; start again from the newest messages.",
}


def parse_filter(raw: dict[str, str]) -> outbox_admin.MessageFilter | list[str]:
    """The service filter for the query string, or what is wrong with it, in words."""
    try:
        query = MessagesQuery.model_validate(raw)
    except ValidationError as exc:
        problems: list[str] = []
        for item in exc.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            message = _FIELD_PROBLEMS.get(field, "The list cannot be filtered that way.")
            if message not in problems:
                problems.append(message)
        return problems
    return outbox_admin.MessageFilter(
        status=query.status,
        person_text=query.patient.strip() or None if query.patient else None,
        person_id=query.person,
        page=query.page,
    )


@dataclass(frozen=True)
class MessageView:
    """One message as the pages show it."""

    id: uuid.UUID
    kind: str
    person_id: uuid.UUID
    person_name: str
    address: str
    status: str
    status_words: str
    attempts: int
    error_words: str
    error_raw: str
    reply: str
    written: str
    scheduled: str
    sent: str
    failed: bool


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(_TIME) if moment else ""


def view_of(row: outbox_admin.MessageRow, zone: ZoneInfo) -> MessageView:
    """The row in words, the address masked, times in the admin's zone."""
    return MessageView(
        id=row.id,
        kind=KIND_WORDS.get(row.kind, row.kind),
        person_id=row.person_id,
        person_name=row.person_name,
        address=mask_address(row.address),
        status=row.status,
        status_words=STATUS_WORDS.get(row.status, row.status),
        attempts=row.attempts,
        error_words=error_words(row.last_error),
        error_raw=row.last_error or "",
        reply=row.provider_reply or "",
        written=_when(row.created_at, zone),
        scheduled=_when(row.scheduled_for, zone),
        sent=_when(row.sent_at, zone),
        failed=row.status == Status.FAILED.value,
    )


def _link(values: dict[str, str], page: int) -> str:
    return "/admin/messages?" + urlencode({**values, "page": str(page)})


@session_in_work
async def messages_page(request: web.Request) -> web.StreamResponse:
    """The messages, newest first, 50 a page, filtered by status and patient."""
    raw = {k: v for k, v in request.query.items() if v}
    values = {k: raw[k] for k in FILTER_FIELDS if k in raw}
    flt = parse_filter(raw)
    page = None
    async with request_work(request, reads_only=True) as uow:
        require_admin(uow.actor)
        if isinstance(flt, outbox_admin.MessageFilter):
            page = await outbox_admin.list_messages_in(uow, flt)
    zone_name = require_actor(request).time_zone
    zone = ZoneInfo(zone_name)
    return render(
        request,
        "admin/messages.html",
        {
            "rows": [view_of(r, zone) for r in page.rows] if page else [],
            "values": values,
            "errors": flt if isinstance(flt, list) else [],
            "statuses": STATUS_CHOICES,
            "newer_link": _link(values, page.page - 1) if page and page.page > 1 else None,
            "older_link": _link(values, page.page + 1) if page and page.has_older else None,
            "zone": zone_name,
        },
        status=200 if page else 400,
    )


@session_in_work
async def message_page(request: web.Request) -> web.StreamResponse:
    """One message with its subject and text; the read is audited."""
    async with request_work(request, reads_only=True) as uow:
        message = await outbox_admin.read_message_in(uow, path_uuid(request, "message_id"))
    zone = ZoneInfo(require_actor(request).time_zone)
    return render(
        request,
        "admin/message.html",
        {
            "m": view_of(message.row, zone),
            "subject": message.subject,
            "body_text": message.body_text,
            "sent_again": request.query.get("sent_again") == "1",
        },
    )


@session_in_work
async def send_again_submit(request: web.Request) -> web.StreamResponse:
    """Put a failed message back in the queue; the dispatcher sends it within moments."""
    services = request.app[SERVICES]
    async with request_work(request) as uow:
        message_id = path_uuid(request, "message_id")
        await outbox_admin.send_again_in(uow, services, message_id)
    raise web.HTTPSeeOther(f"/admin/messages/{message_id}?sent_again=1")


def setup_routes(app: web.Application) -> None:
    """Add the messages pages."""
    app.router.add_get("/admin/messages", messages_page)
    app.router.add_get("/admin/messages/{message_id}", message_page)
    app.router.add_post("/admin/messages/{message_id}/send-again", send_again_submit)
